/*
 * kh_htab.c — the string → int map of kh_htab.h: FNV-1a, linear probing, a
 * power-of-two table of at least 2 × expected + 1 slots, so that at most half of it is
 * ever full and every probe ends at an empty slot.
 */
#include "kh_htab.h"
#include "kh_util.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *key;        /* NULL: an empty slot */
    int32_t val;
} slot_t;

struct kh_htab {
    slot_t *slots;
    size_t mask;            /* slots - 1 */
    size_t n, max;          /* keys held, and at most */
};

kh_htab_t *kh_htab_new(size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2 + 1)
        cap <<= 1;
    kh_htab_t *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    t->slots = calloc(cap, sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return NULL;
    }
    t->mask = cap - 1;
    t->n = 0;
    t->max = expected;
    return t;
}

void kh_htab_destroy(kh_htab_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

int32_t kh_htab_get(const kh_htab_t *t, const char *key)
{
    if (!t || !key)
        return -1;
    for (size_t i = kh_hash_str(key) & t->mask;; i = (i + 1) & t->mask) {
        if (!t->slots[i].key)
            return -1;
        if (strcmp(t->slots[i].key, key) == 0)
            return t->slots[i].val;
    }
}

int32_t kh_htab_put(kh_htab_t *t, const char *key, int32_t val)
{
    for (size_t i = kh_hash_str(key) & t->mask;; i = (i + 1) & t->mask) {
        if (!t->slots[i].key) {
            if (t->n >= t->max)
                return KH_HTAB_FULL;
            t->slots[i].key = key;
            t->slots[i].val = val;
            t->n++;
            return -1;
        }
        if (strcmp(t->slots[i].key, key) == 0)
            return t->slots[i].val;
    }
}
