/*
 * kh_buf.c — a growable byte buffer for canonical encodings; see kh_buf.h.
 */
#include "kh_buf.h"

#include <stdlib.h>
#include <string.h>

#include "kh_result.h"

void kh_buf_reserve(kh_buf_t *b, size_t cap)
{
    if (b->fail || cap <= b->cap)
        return;
    uint8_t *nb = realloc(b->b, cap);
    if (!nb) {
        b->fail = 1;
        return;
    }
    b->b = nb;
    b->cap = cap;
}

void kh_buf_put(kh_buf_t *b, const void *p, size_t len)
{
    if (b->fail || len == 0)
        return;
    if (len > SIZE_MAX / 2 - b->n) {
        b->fail = 1;
        return;
    }
    if (b->n + len > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + len)
            nc *= 2;
        kh_buf_reserve(b, nc);
        if (b->fail)
            return;
    }
    memcpy(b->b + b->n, p, len);
    b->n += len;
}

void kh_buf_u32(kh_buf_t *b, uint32_t x)
{
    uint8_t v[4] = {(uint8_t)(x >> 24), (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x};
    kh_buf_put(b, v, 4);
}

void kh_buf_i64(kh_buf_t *b, int64_t x)
{
    uint64_t u = (uint64_t)x;
    uint8_t v[8];
    for (int i = 0; i < 8; i++)
        v[i] = (uint8_t)(u >> (56 - 8 * i));
    kh_buf_put(b, v, 8);
}

void kh_buf_str(kh_buf_t *b, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (len > UINT32_MAX) {
        b->fail = 1;
        return;
    }
    kh_buf_u32(b, (uint32_t)len);
    kh_buf_put(b, s, len);
}

int kh_buf_take(kh_buf_t *b, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (b->fail) {
        kh_buf_free(b);
        return KH_ERR;
    }
    *out = b->b;
    *len = b->n;
    memset(b, 0, sizeof *b);
    return KH_OK;
}

void kh_buf_free(kh_buf_t *b)
{
    free(b->b);
    memset(b, 0, sizeof *b);
}
