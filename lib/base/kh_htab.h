/*
 * kh_htab.h — a fixed-size map from strings to small non-negative integers (an index
 * into the caller's array): the catalogue's code → row indexes and the validator's
 * "reported once" keys.  Open addressing with linear probing over a power-of-two
 * table sized at creation for twice the keys it will hold, FNV-1a hashing.
 *
 * Invariants: the table does not copy its keys (each must stay alive and unchanged
 * while the table is used); it never holds more than the `expected` keys it was made
 * for, so a probe always ends at an empty slot; nothing is ever removed.  Lookups do
 * not write, so a filled table may be read from several threads at once.
 *
 * Why not glibc's hsearch_r: its hash keeps only the first 8 bytes of a key (indicator
 * codes and the validator's "kind\x1fcode" keys share longer prefixes, which made every
 * lookup walk the same probe chain), it takes non-const keys and table for a lookup,
 * and a lookup in a table never created divides by zero.
 */
#ifndef KH_HTAB_H
#define KH_HTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct kh_htab kh_htab_t;

/* A table for at most `expected` keys.  Returns NULL when out of memory. */
kh_htab_t *kh_htab_new(size_t expected);
void kh_htab_destroy(kh_htab_t **self_p);

/* The value of `key`, or -1 when absent (also when t or key is NULL). */
int32_t kh_htab_get(const kh_htab_t *t, const char *key);

/* Inserts key → val (val >= 0) unless key is present.  Returns -1 when inserted, the
 * existing value when present, and KH_HTAB_FULL (not inserted) when the table holds
 * its `expected` keys already. */
#define KH_HTAB_FULL (-2)
int32_t kh_htab_put(kh_htab_t *t, const char *key, int32_t val);

#endif
