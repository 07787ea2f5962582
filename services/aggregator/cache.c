/*
 * cache.c — the counted revisions' cells in memory; see cache.h.
 *
 * Design notes.  A fixed array of AG_CACHE_SLOTS entries, found by a linear scan that
 * compares a hash of the report id first (a scan of 1,024 integers is well under the
 * microsecond; one lookup and one put per revision counted).  An entry's cells are one
 * malloc'd block, cell after cell: u8 length of orgunit, u8 length of indicator, the two
 * names (no terminator), the sum (8 bytes) and n (4 bytes), as in memory; below's cells
 * first, then own's.  (kh_cell_t's names are shorter than 256 bytes.)
 * Each entry remembers the generation it was put in; ag_cache_committed starts a new
 * one, and a rollback drops the entries of the current one: those its transaction made.
 */
#include "cache.h"

#include <stdlib.h>
#include <string.h>

#include "kh_result.h"
#include "kh_util.h"

#define ID_MAX     72 /* a report id the aggregator counts is at most 64 bytes */
#define CELL_FIXED (2 + sizeof(double) + sizeof(uint32_t)) /* a packed cell but names */

typedef struct {
    char id[ID_MAX]; /* "": a free slot */
    uint64_t hash;
    int64_t revision;
    uint64_t gen;  /* the generation it was put in */
    uint64_t used; /* the tick of its last put or get (least recently used goes) */
    uint8_t *data; /* the packed cells, len bytes */
    size_t len, n_below, n_own;
} entry_t;

struct ag_cache {
    sqlite3 *db;
    size_t bytes, entries;
    uint64_t gen, tick;
    entry_t slot[AG_CACHE_SLOTS];
};

static entry_t *find(ag_cache_t *c, const char *id)
{
    uint64_t h = kh_hash_str(id);
    for (size_t i = 0; i < AG_CACHE_SLOTS; i++)
        if (c->slot[i].hash == h && c->slot[i].id[0] && strcmp(c->slot[i].id, id) == 0)
            return &c->slot[i];
    return NULL;
}

static void forget(ag_cache_t *c, entry_t *e)
{
    free(e->data);
    c->bytes -= e->len;
    c->entries--;
    memset(e, 0, sizeof *e);
}

/* The rollback hook (sqlite3_rollback_hook): what the rolled-back transaction put goes. */
static void on_rollback(void *arg)
{
    ag_cache_t *c = arg;
    for (size_t i = 0; i < AG_CACHE_SLOTS; i++)
        if (c->slot[i].id[0] && c->slot[i].gen == c->gen)
            forget(c, &c->slot[i]);
}

ag_cache_t *ag_cache_new(sqlite3 *db)
{
    ag_cache_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->db = db;
    sqlite3_rollback_hook(db, on_rollback, c);
    return c;
}

void ag_cache_destroy(ag_cache_t **cp)
{
    ag_cache_t *c = *cp;
    if (!c)
        return;
    sqlite3_rollback_hook(c->db, NULL, NULL);
    for (size_t i = 0; i < AG_CACHE_SLOTS; i++)
        free(c->slot[i].data);
    free(c);
    *cp = NULL;
}

static size_t packed_len(const kh_cells_t *s)
{
    size_t len = 0;
    for (size_t i = 0; i < s->n; i++)
        len += CELL_FIXED + strlen(s->v[i].orgunit) + strlen(s->v[i].indicator);
    return len;
}

static uint8_t *pack(uint8_t *p, const kh_cells_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        const kh_cell_t *x = &s->v[i];
        size_t lo = strlen(x->orgunit), li = strlen(x->indicator);
        *p++ = (uint8_t) lo;
        *p++ = (uint8_t) li;
        memcpy(p, x->orgunit, lo);
        p += lo;
        memcpy(p, x->indicator, li);
        p += li;
        memcpy(p, &x->sum, sizeof x->sum);
        p += sizeof x->sum;
        memcpy(p, &x->n, sizeof x->n);
        p += sizeof x->n;
    }
    return p;
}

/* Unpacks n cells from p into d (allocated here, exactly n); returns the end, or NULL
 * when out of memory. */
static const uint8_t *unpack(const uint8_t *p, size_t n, kh_cells_t *d)
{
    if (n == 0)
        return p;
    if (!(d->v = malloc(n * sizeof *d->v)))
        return NULL;
    d->n = d->cap = n;
    for (size_t i = 0; i < n; i++) {
        kh_cell_t *x = &d->v[i];
        size_t lo = *p++, li = *p++;
        memcpy(x->orgunit, p, lo);
        x->orgunit[lo] = '\0';
        p += lo;
        memcpy(x->indicator, p, li);
        x->indicator[li] = '\0';
        p += li;
        memcpy(&x->sum, p, sizeof x->sum);
        p += sizeof x->sum;
        memcpy(&x->n, p, sizeof x->n);
        p += sizeof x->n;
    }
    return p;
}

int ag_cache_get(ag_cache_t *c, const char *report_id, int64_t revision, kh_cells_t *below,
                 kh_cells_t *own)
{
    entry_t *e = c ? find(c, report_id) : NULL;
    if (!e || e->revision != revision)
        return KH_NO;
    const uint8_t *p = unpack(e->data, e->n_below, below);
    if (!p || !unpack(p, e->n_own, own)) {
        kh_cells_free(below);
        kh_cells_free(own);
        return KH_ERR;
    }
    e->used = ++c->tick;
    return KH_OK;
}

void ag_cache_put(ag_cache_t *c, const char *report_id, int64_t revision, const kh_cells_t *below,
                  const kh_cells_t *own)
{
    if (!c)
        return;
    entry_t *e = find(c, report_id);
    if (e)
        forget(c, e);
    size_t len = packed_len(below) + packed_len(own);
    if (strlen(report_id) >= ID_MAX || len > AG_CACHE_BYTES)
        return;
    uint8_t *data = malloc(len ? len : 1);
    if (!data)
        return;
    pack(pack(data, below), own);
    /* room: the least recently used go first */
    while (c->entries >= AG_CACHE_SLOTS || c->bytes + len > AG_CACHE_BYTES) {
        entry_t *old = NULL;
        for (size_t i = 0; i < AG_CACHE_SLOTS; i++)
            if (c->slot[i].id[0] && (!old || c->slot[i].used < old->used))
                old = &c->slot[i];
        forget(c, old);
    }
    for (e = c->slot; e->id[0]; e++)
        ; /* a free slot: entries < AG_CACHE_SLOTS */
    memcpy(e->id, report_id, strlen(report_id) + 1);
    e->hash = kh_hash_str(report_id);
    e->revision = revision;
    e->gen = c->gen;
    e->used = ++c->tick;
    e->data = data;
    e->len = len;
    e->n_below = below->n;
    e->n_own = own->n;
    c->bytes += len;
    c->entries++;
}

void ag_cache_drop(ag_cache_t *c, const char *report_id)
{
    entry_t *e = c ? find(c, report_id) : NULL;
    if (e)
        forget(c, e);
}

void ag_cache_committed(ag_cache_t *c)
{
    if (c)
        c->gen++;
}

size_t ag_cache_bytes(const ag_cache_t *c)
{
    return c ? c->bytes : 0;
}

size_t ag_cache_entries(const ag_cache_t *c)
{
    return c ? c->entries : 0;
}
