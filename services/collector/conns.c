/*
 * conns.c — the collector's connection table; see conns.h.
 *
 * A flat array scanned linearly: max_total is a few thousand at most (one node per
 * district, a few spare for key rotation), and the scan is a memcmp of a 5-byte id.
 */
#include "conns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_MAX 64

typedef struct {
    uint8_t rid[CONNS_RID_MAX];
    size_t rid_len;
    int fd;
    int open;
    int used;
    char key_id[ID_MAX];
    char district[ID_MAX];
    int64_t last;
} conn_t;

/* A handshake let in whose connection has not spoken yet (conns_admit). */
typedef struct {
    char key_id[ID_MAX];
    int64_t until;
} pending_t;

struct conns {
    conn_t *c;
    int max_total, max_per_key;
    pending_t *pend;            /* max_total entries; until == 0: free */
};

conns_t *conns_new(int max_total, int max_per_key)
{
    if (max_total < 1 || max_per_key < 1)
        return NULL;
    conns_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->c = calloc((size_t)max_total, sizeof *t->c);
    t->pend = calloc((size_t)max_total, sizeof *t->pend);
    if (!t->c || !t->pend) {
        free(t->c);
        free(t->pend);
        free(t);
        return NULL;
    }
    t->max_total = max_total;
    t->max_per_key = max_per_key;
    return t;
}

void conns_destroy(conns_t **self_p)
{
    if (!*self_p)
        return;
    free((*self_p)->c);
    free((*self_p)->pend);
    free(*self_p);
    *self_p = NULL;
}

static conn_t *find(const conns_t *t, const void *rid, size_t len)
{
    for (int i = 0; i < t->max_total; i++)
        if (t->c[i].used && t->c[i].rid_len == len && memcmp(t->c[i].rid, rid, len) == 0)
            return &t->c[i];
    return NULL;
}

const char *conns_district(const conns_t *t, const void *rid, size_t len)
{
    const conn_t *c = find(t, rid, len);
    return c ? c->district : NULL;
}

int conns_open_for_key(const conns_t *t, const char *key_id)
{
    int n = 0;
    for (int i = 0; i < t->max_total; i++)
        n += t->c[i].used && t->c[i].open && strcmp(t->c[i].key_id, key_id) == 0;
    return n;
}

/* Handshakes of the key let in and not yet heard from, still within their time. */
static int pending_for_key(const conns_t *t, const char *key_id, int64_t now)
{
    int n = 0;
    for (int i = 0; i < t->max_total; i++)
        n += t->pend[i].until > now && strcmp(t->pend[i].key_id, key_id) == 0;
    return n;
}

int conns_key_full(const conns_t *t, const char *key_id, int64_t now)
{
    return key_id[0] &&
           conns_open_for_key(t, key_id) + pending_for_key(t, key_id, now) >= t->max_per_key;
}

int conns_admit(conns_t *t, const char *key_id, int64_t now, int64_t ttl_ms)
{
    if (!key_id[0] || strlen(key_id) >= ID_MAX || conns_key_full(t, key_id, now))
        return -1;
    for (int i = 0; i < t->max_total; i++)
        if (t->pend[i].until <= now) {
            snprintf(t->pend[i].key_id, sizeof t->pend[i].key_id, "%s", key_id);
            t->pend[i].until = now + ttl_ms;
            return 0;
        }
    return -1;                  /* max_total handshakes in flight at once */
}

/* The key's connection spoke: one of its admitted handshakes is now a connection. */
static void pending_done(conns_t *t, const char *key_id, int64_t now)
{
    for (int i = 0; i < t->max_total; i++)
        if (t->pend[i].until > now && strcmp(t->pend[i].key_id, key_id) == 0) {
            t->pend[i].until = 0;
            return;
        }
}

int conns_open(const conns_t *t)
{
    int n = 0;
    for (int i = 0; i < t->max_total; i++)
        n += t->c[i].used && t->c[i].open;
    return n;
}

/* A free entry, else the closed one idle longest; NULL when all are open. */
static conn_t *slot(conns_t *t)
{
    conn_t *best = NULL;
    for (int i = 0; i < t->max_total; i++) {
        conn_t *c = &t->c[i];
        if (!c->used)
            return c;
        if (!c->open && (!best || c->last < best->last))
            best = c;
    }
    return best;
}

/* An entry for a connection, open or already closed (lengths checked by the caller). */
static void fill(conn_t *c, const void *rid, size_t rid_len, int fd, const char *key_id,
                 const char *district, int64_t now, int open)
{
    memset(c, 0, sizeof *c);
    memcpy(c->rid, rid, rid_len);
    c->rid_len = rid_len;
    c->fd = fd;
    c->open = open;
    c->used = 1;
    snprintf(c->key_id, sizeof c->key_id, "%s", key_id);
    snprintf(c->district, sizeof c->district, "%s", district);
    c->last = now;
}

int conns_seen(conns_t *t, const void *rid, size_t rid_len, int fd, int live,
               const char *key_id, const char *district, int64_t now)
{
    if (rid_len == 0 || rid_len > CONNS_RID_MAX || !district[0] ||
        strlen(district) >= ID_MAX || strlen(key_id) >= ID_MAX)
        return CONN_BAD;
    conn_t *c = find(t, rid, rid_len);
    if (c && c->open) {
        if (strcmp(c->key_id, key_id) != 0 || strcmp(c->district, district) != 0)
            return CONN_MISMATCH;
        c->last = now;
        c->fd = fd;
        return CONN_KNOWN;
    }
    if (c)                      /* closed: what it sent before its close, read late */
        return CONN_GONE;
    if (!live) {                /* closed before its first message was read */
        pending_done(t, key_id, now);   /* it spoke: its handshake is no longer pending */
        if ((c = slot(t)) != NULL)      /* remembered closed: its later messages too */
            fill(c, rid, rid_len, fd, key_id, district, now, 0);
        return CONN_GONE;
    }
    /* new (its handshake, admitted, is counted until now: it stops being "pending") */
    pending_done(t, key_id, now);
    if (conns_key_full(t, key_id, now))
        return CONN_KEY_LIMIT;
    if (!(c = slot(t)))
        return CONN_FULL;
    fill(c, rid, rid_len, fd, key_id, district, now, 1);
    return CONN_NEW;
}

void conns_closed_fd(conns_t *t, int fd)
{
    for (int i = 0; i < t->max_total; i++)
        if (t->c[i].used && t->c[i].open && t->c[i].fd == fd)
            t->c[i].open = 0;
}

int conns_route(const conns_t *t, const char *district, const void **rid, size_t *len)
{
    const conn_t *best = NULL;
    for (int i = 0; i < t->max_total; i++) {
        const conn_t *c = &t->c[i];
        if (!c->used || strcmp(c->district, district) != 0)
            continue;
        if (!best || (c->open && !best->open) ||
            (c->open == best->open && c->last > best->last))
            best = c;
    }
    if (!best)
        return -1;
    *rid = best->rid;
    *len = best->rid_len;
    return 0;
}

int conns_list_open(const conns_t *t, int *from, conns_entry_t *out, int cap)
{
    int n = 0, i = *from;
    for (; i < t->max_total && n < cap; i++) {
        const conn_t *c = &t->c[i];
        if (!c->used || !c->open)
            continue;
        out[n].fd = c->fd;
        memcpy(out[n].key_id, c->key_id, sizeof out[n].key_id);
        memcpy(out[n].district, c->district, sizeof out[n].district);
        n++;
    }
    *from = i;
    return n;
}
