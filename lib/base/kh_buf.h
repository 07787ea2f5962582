/*
 * kh_buf.h — a growable byte buffer for canonical encodings (what is signed or hashed:
 * lib/security/kh_sign.c's report bytes, lib/security/kh_audit.c's checkpoint message).
 * Integers are big-endian; a string is its length (u32) and its bytes.  A failed
 * allocation is remembered: later puts do nothing and kh_buf_take says KH_ERR, so an
 * encoder writes its fields without a check after each and checks once at the end.
 *
 *     kh_buf_t b = {0};
 *     kh_buf_str(&b, "v1"); kh_buf_u32(&b, n); …
 *     if (kh_buf_take(&b, &bytes, &len) != KH_OK) return -1;
 */
#ifndef KH_BUF_H
#define KH_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *b;
    size_t n, cap;
    int fail;                   /* an allocation failed, or a string was too long */
} kh_buf_t;

/* Makes room for at least `cap` bytes in all (a hint: saves the regrowing). */
void kh_buf_reserve(kh_buf_t *b, size_t cap);
void kh_buf_put(kh_buf_t *b, const void *p, size_t len);
void kh_buf_u32(kh_buf_t *b, uint32_t x);
void kh_buf_i64(kh_buf_t *b, int64_t x);
/* s's length as u32, then its bytes; NULL is written as "" (length 0). */
void kh_buf_str(kh_buf_t *b, const char *s);
/* Hands the bytes over (*out is the caller's to free; NULL when empty) and resets b.
 * Returns KH_OK, or KH_ERR when a put failed (the bytes are freed, *out NULL). */
int kh_buf_take(kh_buf_t *b, uint8_t **out, size_t *len);
/* Frees the bytes and resets b. */
void kh_buf_free(kh_buf_t *b);

#endif
