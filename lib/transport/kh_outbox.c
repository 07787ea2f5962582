/*
 * kh_outbox.c — durable outbox; see kh_outbox.h for the contract.
 *
 * Design notes.  Per destination we keep `cursor` (the highest seq handed to the
 * socket since start) and the in-flight set {seq, deadline} of at most `window`
 * entries.  Invariants: every row with seq <= cursor is either acked (deleted) or in
 * the in-flight set or was skipped because its destination was unreachable — in the
 * last case the cursor is not advanced past it, so it is tried again.  After a
 * restart cursors are 0, so every remaining row is sent again.  One exception is
 * repaired, not prevented: an ack's DELETE undone by the rollback of the transaction
 * around it leaves a row behind the cursor and out of flight (see sweep()).
 */
#include "kh_outbox.h"
#include "kh_log.h"
#include "kh_metrics.h"
#include "kh_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t seq;
    int64_t deadline;
    int64_t sent_at;         /* when it was last handed to the socket */
    int64_t first_sent;      /* when it was first handed to the socket (this process) */
    int waits;               /* resends put off while the destination was busy */
} flight_t;

/* A due row is resent anyway after this many resend periods of a busy destination. */
#define MAX_WAITS 8

typedef struct {
    char *dest;
    int64_t cursor;
    int64_t blocked_until;   /* destination unreachable: wait until then */
    int64_t next_sweep;      /* when to look for rows lost from the in-flight set */
    int64_t last_ack;        /* when the destination last acknowledged anything */
    int64_t acked_sent;      /* the latest first_sent of a row it acknowledged */
    int64_t last_probe;      /* seq of the last row resent as a probe */
    int64_t next_probe;      /* no other probe before then */
    int n_flight;
    flight_t *flight;        /* window entries */
    int drained;             /* the last look found no row after the cursor, and none has
                              * been put or rewound since: no query until one is (the
                              * collector has a destination per district, pumped after
                              * every message) */
} dest_t;

struct kh_outbox {
    sqlite3 *db;
    char name[48];
    int window, resend_ms;
    dest_t *dests;
    size_t n_dests, cap_dests;
    uint64_t resent, queued, acked;   /* since start: rows resent, put, acknowledged */
    uint64_t expired;                 /* since start: rows expired (kh_outbox_expire) */
    int64_t next_expire;              /* kh_mono_ms: no expiry pass before then */
    kh_metric_t *m[5];                /* depth, queued, resent, acked, expired */
    int m_init;
    sqlite3_stmt *st_put, *st_next, *st_get, *st_del, *st_del_dest, *st_count, *st_dests, *st_below;
    sqlite3_stmt *st_exp_any, *st_exp_copy, *st_exp_del;
    sqlite3_stmt *st_version;    /* PRAGMA data_version: another process wrote (kh-node submit) */
    int64_t data_version;
};

static dest_t *dest_get(kh_outbox_t *ob, const char *dest, int create);

static sqlite3_stmt *prep(kh_outbox_t *ob, const char *fmt)
{
    char sql[640];
    snprintf(sql, sizeof sql, fmt, ob->name, ob->name, ob->name);   /* each %s: the name */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(ob->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        KH_ERROR("outbox.prepare", sqlite3_errmsg(ob->db), "outbox", ob->name);
        return NULL;
    }
    return st;
}

/* The metrics source (kh_metrics.h): copies the counts (every KH_METRICS_COLLECT_MS). */
static void outbox_metrics(void *arg)
{
    kh_outbox_t *ob = arg;
    if (!ob->m_init) {
        ob->m_init = 1;
        ob->m[0] = kh_metrics_gauge("kh_outbox_depth", "Messages in the outbox: waiting or "
                                    "not yet acknowledged.", "outbox", ob->name);
        ob->m[1] = kh_metrics_counter("kh_outbox_queued_total", "Messages put into the outbox.",
                                      "outbox", ob->name);
        ob->m[2] = kh_metrics_counter("kh_outbox_resent_total", "Messages sent again (not "
                                      "acknowledged in time, or the peer came back).", "outbox",
                                      ob->name);
        ob->m[3] = kh_metrics_counter("kh_outbox_acked_total", "Messages the receiver "
                                      "acknowledged.", "outbox", ob->name);
        ob->m[4] = kh_metrics_counter("kh_outbox_expired_total", "Messages dropped "
                                      "undelivered because their expiry passed (a reminder "
                                      "after its due date).", "outbox", ob->name);
    }
    int64_t depth = kh_outbox_depth(ob);
    if (depth >= 0)
        kh_metric_set(ob->m[0], depth);
    kh_metric_set(ob->m[1], (int64_t)ob->queued);
    kh_metric_set(ob->m[2], (int64_t)ob->resent);
    kh_metric_set(ob->m[3], (int64_t)ob->acked);
    kh_metric_set(ob->m[4], (int64_t)ob->expired);
}

kh_outbox_t *kh_outbox_new(sqlite3 *db, const char *name, int window, int resend_ms)
{
    kh_outbox_t *ob = calloc(1, sizeof *ob);
    if (!ob)
        return NULL;
    ob->db = db;
    kh_strlcpy(ob->name, name, sizeof ob->name);
    ob->window = window > 0 ? window : 1;
    ob->resend_ms = resend_ms > 0 ? resend_ms : 1000;
    ob->st_put = prep(ob, "INSERT INTO outbox_%s(key,dest,type,payload,created_at,expires_at) "
                          "VALUES(?,?,?,?,?,?) ON CONFLICT(key) DO NOTHING");
    ob->st_next = prep(ob, "SELECT seq,key,type,payload FROM outbox_%s "
                           "WHERE dest=? AND seq>? ORDER BY seq LIMIT ?");
    ob->st_get = prep(ob, "SELECT key,type,payload,dest FROM outbox_%s WHERE seq=?");
    ob->st_del = prep(ob, "DELETE FROM outbox_%s WHERE key=? RETURNING seq,dest");
    ob->st_del_dest = prep(ob, "DELETE FROM outbox_%s WHERE key=? AND dest=? RETURNING seq,dest");
    ob->st_version = prep(ob, "PRAGMA data_version");
    ob->st_count = prep(ob, "SELECT count(*) FROM outbox_%s");
    ob->st_dests = prep(ob, "SELECT DISTINCT dest FROM outbox_%s");
    ob->st_below = prep(ob, "SELECT count(*) FROM outbox_%s WHERE dest=? AND seq<=?");
    ob->st_exp_any = prep(ob, "SELECT 1 FROM outbox_%s WHERE expires_at IS NOT NULL AND "
                              "expires_at<=? LIMIT 1");
    /* the same rows for both (one write transaction: nothing else writes between) */
#define EXPIRED_ROWS "SELECT seq FROM outbox_%s WHERE expires_at IS NOT NULL AND " \
                     "expires_at<=?1 ORDER BY seq LIMIT ?2"
    ob->st_exp_copy = prep(ob, "INSERT INTO outbox_%s_expired(key,dest,type,created_at,"
                               "expires_at,expired_at) SELECT key,dest,type,created_at,"
                               "expires_at,?1 FROM outbox_%s WHERE seq IN (" EXPIRED_ROWS ") "
                               "ON CONFLICT(key) DO NOTHING");
    ob->st_exp_del = prep(ob, "DELETE FROM outbox_%s WHERE seq IN (" EXPIRED_ROWS ") "
                              "RETURNING seq,dest,key,type");
    if (!ob->st_put || !ob->st_next || !ob->st_get || !ob->st_del || !ob->st_del_dest ||
        !ob->st_count || !ob->st_dests || !ob->st_below || !ob->st_version ||
        !ob->st_exp_any || !ob->st_exp_copy || !ob->st_exp_del) {
        kh_outbox_destroy(&ob);
        return NULL;
    }
    /* the single peer (rows may also be put by another process, e.g. kh-node
     * submit), then destinations named by rows left from before a restart */
    if (!dest_get(ob, "", 1)) {
        kh_outbox_destroy(&ob);
        return NULL;
    }
    int rc;
    while ((rc = sqlite3_step(ob->st_dests)) == SQLITE_ROW)
        if (!dest_get(ob, (const char *)sqlite3_column_text(ob->st_dests, 0), 1))
            break;
    sqlite3_reset(ob->st_dests);
    kh_metrics_source_add(outbox_metrics, ob);
    return ob;
}

void kh_outbox_destroy(kh_outbox_t **self_p)
{
    kh_outbox_t *ob = *self_p;
    if (!ob)
        return;
    kh_metrics_source_remove(ob);
    sqlite3_finalize(ob->st_put);
    sqlite3_finalize(ob->st_next);
    sqlite3_finalize(ob->st_get);
    sqlite3_finalize(ob->st_del);
    sqlite3_finalize(ob->st_del_dest);
    sqlite3_finalize(ob->st_version);
    sqlite3_finalize(ob->st_count);
    sqlite3_finalize(ob->st_dests);
    sqlite3_finalize(ob->st_below);
    sqlite3_finalize(ob->st_exp_any);
    sqlite3_finalize(ob->st_exp_copy);
    sqlite3_finalize(ob->st_exp_del);
    for (size_t i = 0; i < ob->n_dests; i++) {
        free(ob->dests[i].dest);
        free(ob->dests[i].flight);
    }
    free(ob->dests);
    free(ob);
    *self_p = NULL;
}

static dest_t *dest_get(kh_outbox_t *ob, const char *dest, int create)
{
    for (size_t i = 0; i < ob->n_dests; i++)
        if (strcmp(ob->dests[i].dest, dest) == 0)
            return &ob->dests[i];
    if (!create || ob->n_dests >= KH_OUTBOX_MAX_DESTS)
        return NULL;
    if (KH_GROW(ob->dests, ob->n_dests, ob->cap_dests, 8) < 0)
        return NULL;
    dest_t *d = &ob->dests[ob->n_dests];
    memset(d, 0, sizeof *d);
    d->dest = strdup(dest);
    d->flight = calloc((size_t)ob->window, sizeof *d->flight);
    if (!d->dest || !d->flight) {
        free(d->dest);
        free(d->flight);
        return NULL;
    }
    ob->n_dests++;
    return d;
}

int kh_outbox_put(kh_outbox_t *ob, const char *dest, const char *key, const char *type,
                  const void *payload, size_t len)
{
    return kh_outbox_put_until(ob, dest, key, type, payload, len, 0);
}

int kh_outbox_put_until(kh_outbox_t *ob, const char *dest, const char *key, const char *type,
                        const void *payload, size_t len, int64_t expires_at)
{
    if (!dest)
        dest = "";
    dest_t *d = dest_get(ob, dest, 1);
    if (!d) {
        KH_ERROR("outbox.put", "too many destinations", "outbox", ob->name, "key", key);
        return -1;
    }
    d->drained = 0;
    if (expires_at > 0 && expires_at <= kh_now_ms())
        ob->next_expire = 0;         /* expired already: the next pump drops it before sending */
    sqlite3_stmt *st = ob->st_put;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, dest, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, payload, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, kh_real_ms());
    if (expires_at > 0)
        sqlite3_bind_int64(st, 6, expires_at);
    else
        sqlite3_bind_null(st, 6);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        KH_ERROR("outbox.put", sqlite3_errmsg(ob->db), "outbox", ob->name, "key", key);
        return -1;
    }
    if (sqlite3_changes(ob->db) == 0)
        return 0;
    ob->queued++;
    return 1;
}

/* Sends the row `seq` again.  Returns send()'s result, or 2 when the row is gone. */
static int resend_one(kh_outbox_t *ob, int64_t seq, kh_outbox_send_fn send, void *arg)
{
    sqlite3_stmt *st = ob->st_get;
    sqlite3_bind_int64(st, 1, seq);
    int rc = 2;
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = send(arg, (const char *)sqlite3_column_text(st, 3),
                  (const char *)sqlite3_column_text(st, 0),
                  (const char *)sqlite3_column_text(st, 1), sqlite3_column_blob(st, 2),
                  (size_t)sqlite3_column_bytes(st, 2));
    sqlite3_reset(st);
    return rc;
}

static int in_flight(const dest_t *d, int64_t seq)
{
    for (int i = 0; i < d->n_flight; i++)
        if (d->flight[i].seq == seq)
            return 1;
    return 0;
}

/* An ACK handled while a group-commit batch is open deletes its row inside that batch;
 * if the batch then fails to commit (disk full) the row comes back, but it has left the
 * in-flight set and the cursor is past it.  Once per resend_ms: more rows at or below
 * the cursor than in flight means such rows exist; rewind (rows in flight are skipped). */
static void sweep(kh_outbox_t *ob, dest_t *d, int64_t now)
{
    if (d->cursor == 0 || now < d->next_sweep)
        return;
    d->next_sweep = now + ob->resend_ms;
    sqlite3_stmt *st = ob->st_below;
    sqlite3_bind_text(st, 1, d->dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, d->cursor);
    int64_t below = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (below > d->n_flight) {
        KH_WARN("outbox.rewind", "rows whose acknowledgement was rolled back are sent again",
                "outbox", ob->name, "dest", d->dest);
        d->cursor = 0;
        d->drained = 0;
    }
}

static int pump_dest(kh_outbox_t *ob, dest_t *d, int64_t now, kh_outbox_send_fn send,
                     void *arg)
{
    int sent = 0;
    if (d->blocked_until > now)
        return 0;
    sweep(ob, d, now);
    /* 1. in-flight rows past their deadline: again — but a copy that would only join
     * the first one in a queue adds load and memory (a stopped peer collected the whole
     * window again every resend_ms, up to the high-water mark).  So:
     *  - a due row all of whose copies left before the first copy of a row the
     *    destination has acknowledged since was lost (on one connection delivery and
     *    acks keep their order): again, now;
     *  - a due row with nothing acknowledged since it was sent means a silent peer
     *    (stopped, hung, unreachable): one such row goes per resend_ms, a probe, the
     *    rows in turn, and the others wait;
     *  - any other due row waits for a peer that does acknowledge, just not these yet
     *    (it is working through its queue, or has stopped taking input for a while:
     *    kh_service_gate), at most MAX_WAITS periods.
     * A peer that restarts loses what was in flight to it: its new connection resets
     * the destination (kh_link watches the handshakes), so all of that goes again. */
    int64_t probe_seq = -1, first = -1;      /* next after the last probe, or first */
    for (int i = 0; now >= d->next_probe && i < d->n_flight; i++) {
        const flight_t *f = &d->flight[i];
        if (f->deadline > now || f->sent_at < d->last_ack)
            continue;
        if (first < 0 || f->seq < first)
            first = f->seq;
        if (f->seq > d->last_probe && (probe_seq < 0 || f->seq < probe_seq))
            probe_seq = f->seq;
    }
    if (probe_seq < 0)
        probe_seq = first;
    if (probe_seq >= 0) {
        d->last_probe = probe_seq;
        d->next_probe = now + ob->resend_ms;
    }
    for (int i = 0; i < d->n_flight; i++) {
        flight_t *f = &d->flight[i];
        if (f->deadline > now)
            continue;
        if (f->sent_at >= d->acked_sent) {                 /* not known to be lost */
            if (f->sent_at >= d->last_ack) {               /* silent peer */
                if (f->seq != probe_seq) {
                    f->deadline = d->next_probe > now ? d->next_probe : now + ob->resend_ms;
                    continue;
                }
            } else if (f->waits < MAX_WAITS) {             /* the peer is answering */
                f->deadline = now + ob->resend_ms;
                f->waits++;
                continue;
            }
        }
        int rc = resend_one(ob, d->flight[i].seq, send, arg);
        if (rc == 2) {                      /* acked meanwhile */
            d->flight[i--] = d->flight[--d->n_flight];
            continue;
        }
        if (rc < 0)
            return sent;
        if (rc == 1) {
            d->blocked_until = now + ob->resend_ms;
            return sent;
        }
        d->flight[i].deadline = now + ob->resend_ms;
        d->flight[i].sent_at = now;
        d->flight[i].waits = 0;
        ob->resent++;
        sent++;
    }
    /* 2. new rows while the window has room */
    int room = ob->window - d->n_flight;
    if (room <= 0 || d->drained)
        return sent;
    sqlite3_stmt *st = ob->st_next;
    sqlite3_bind_text(st, 1, d->dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, d->cursor);
    sqlite3_bind_int(st, 3, room);
    int rc, rows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rows++;
        int64_t seq = sqlite3_column_int64(st, 0);
        if (in_flight(d, seq)) {            /* after a rewind */
            d->cursor = seq;
            continue;
        }
        int r = send(arg, d->dest, (const char *)sqlite3_column_text(st, 1),
                     (const char *)sqlite3_column_text(st, 2), sqlite3_column_blob(st, 3),
                     (size_t)sqlite3_column_bytes(st, 3));
        if (r < 0)
            break;
        if (r == 1) {
            d->blocked_until = now + ob->resend_ms;
            break;
        }
        d->cursor = seq;
        d->flight[d->n_flight].seq = seq;
        d->flight[d->n_flight].deadline = now + ob->resend_ms;
        d->flight[d->n_flight].sent_at = now;
        d->flight[d->n_flight].first_sent = now;
        d->flight[d->n_flight].waits = 0;
        d->n_flight++;
        sent++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        KH_ERROR("outbox.pump", sqlite3_errmsg(ob->db), "outbox", ob->name);
        sent = -1;
    } else if (rc == SQLITE_DONE && rows < room) {
        d->drained = 1;                  /* everything after the cursor is in flight */
    }
    sqlite3_reset(st);
    return sent;
}

int kh_outbox_pump(kh_outbox_t *ob, kh_outbox_send_fn send, void *arg)
{
    /* Inside a transaction (a service's open group-commit batch) the rows of the batch
     * are visible to us but not yet durable: sending them would let the next hop apply
     * what a crash before COMMIT undoes.  The pump after the commit sends them. */
    if (!sqlite3_get_autocommit(ob->db))
        return 0;
    int64_t now = kh_mono_ms();
    int total = 0;
    if (now >= ob->next_expire) {
        ob->next_expire = now + 1000;
        kh_outbox_expire(ob);        /* a failure is logged; rows stay and are tried again */
    }
    /* rows put by another connection (kh-node submit writes the node's outbox): every
     * destination looks again; our own puts clear their destination's flag themselves */
    int64_t version = sqlite3_step(ob->st_version) == SQLITE_ROW
                          ? sqlite3_column_int64(ob->st_version, 0) : -1;
    sqlite3_reset(ob->st_version);
    if (version < 0 || version != ob->data_version) {
        ob->data_version = version;
        for (size_t i = 0; i < ob->n_dests; i++)
            ob->dests[i].drained = 0;
    }
    for (size_t i = 0; i < ob->n_dests; i++) {
        int n = pump_dest(ob, &ob->dests[i], now, send, arg);
        if (n < 0)
            return -1;
        total += n;
    }
    return total;
}

/* Rows expired per pass at most (the rest at the next pass, a second later). */
#define EXPIRE_MAX 256

/* Forgets seq from dest's in-flight set (acknowledged or expired). */
static void flight_drop(dest_t *d, int64_t seq)
{
    for (int i = 0; d && i < d->n_flight; i++)
        if (d->flight[i].seq == seq) {
            d->flight[i] = d->flight[--d->n_flight];
            return;
        }
}

int kh_outbox_expire(kh_outbox_t *ob)
{
    if (!sqlite3_get_autocommit(ob->db))
        return 0;                    /* inside a batch: the next pump after COMMIT */
    int64_t now = kh_now_ms();
    /* a read first (the partial index): no write transaction while nothing is due */
    sqlite3_bind_int64(ob->st_exp_any, 1, now);
    int any = sqlite3_step(ob->st_exp_any);
    sqlite3_reset(ob->st_exp_any);
    if (any == SQLITE_DONE)
        return 0;
    if (any != SQLITE_ROW) {
        KH_ERROR("outbox.expire", sqlite3_errmsg(ob->db), "outbox", ob->name);
        return -1;
    }
    if (sqlite3_exec(ob->db, "SAVEPOINT outbox_expire", NULL, NULL, NULL) != SQLITE_OK) {
        KH_ERROR("outbox.expire", sqlite3_errmsg(ob->db), "outbox", ob->name);
        return -1;
    }
    sqlite3_bind_int64(ob->st_exp_copy, 1, now);
    sqlite3_bind_int(ob->st_exp_copy, 2, EXPIRE_MAX);
    int rc = sqlite3_step(ob->st_exp_copy);
    sqlite3_reset(ob->st_exp_copy);
    int n = 0;
    /* the log lines and the in-flight set wait for the commit (a rollback brings the
     * rows back, and they must still be in flight then): what they need is copied out
     * of the statement, the in-flight entries of at most EXPIRE_MAX rows per pass */
    char keys[16][160], dests[16][64];
    struct {
        dest_t *d;
        int64_t seq;
    } gone[EXPIRE_MAX];
    if (rc == SQLITE_DONE) {
        sqlite3_bind_int64(ob->st_exp_del, 1, now);
        sqlite3_bind_int(ob->st_exp_del, 2, EXPIRE_MAX);
        while ((rc = sqlite3_step(ob->st_exp_del)) == SQLITE_ROW) {
            const char *dest = (const char *)sqlite3_column_text(ob->st_exp_del, 1);
            const char *key = (const char *)sqlite3_column_text(ob->st_exp_del, 2);
            if (n < EXPIRE_MAX) {
                gone[n].d = dest_get(ob, dest ? dest : "", 0);
                gone[n].seq = sqlite3_column_int64(ob->st_exp_del, 0);
            }
            if (n < 16) {
                kh_strlcpy(keys[n], key ? key : "", sizeof keys[n]);
                kh_strlcpy(dests[n], dest ? dest : "", sizeof dests[n]);
            }
            n++;
        }
        sqlite3_reset(ob->st_exp_del);
    }
    if (rc != SQLITE_DONE ||
        sqlite3_exec(ob->db, "RELEASE outbox_expire", NULL, NULL, NULL) != SQLITE_OK) {
        KH_ERROR("outbox.expire", sqlite3_errmsg(ob->db), "outbox", ob->name);
        sqlite3_exec(ob->db, "ROLLBACK TO outbox_expire; RELEASE outbox_expire", NULL, NULL,
                     NULL);
        return -1;
    }
    for (int i = 0; i < n && i < EXPIRE_MAX; i++)
        flight_drop(gone[i].d, gone[i].seq);
    if (n == 0)
        return 0;
    ob->expired += (uint64_t)n;
    for (int i = 0; i < n && i < 16; i++)
        KH_WARN("outbox.expired", "a message was never delivered before its expiry (a "
                "reminder after its due date): dropped and recorded, not resent",
                "outbox", ob->name, "key", keys[i], "dest", dests[i]);
    if (n > 16) {
        char more[32];
        snprintf(more, sizeof more, "%d", n - 16);
        KH_WARN("outbox.expired", "more messages expired undelivered at the same time",
                "outbox", ob->name, "count", more);
    }
    return n;
}

int kh_outbox_ack(kh_outbox_t *ob, char *const *keys, size_t n)
{
    return kh_outbox_ack_from(ob, NULL, keys, n);
}

int kh_outbox_ack_from(kh_outbox_t *ob, const char *dest, char *const *keys, size_t n)
{
    if (sqlite3_exec(ob->db, "SAVEPOINT outbox_ack", NULL, NULL, NULL) != SQLITE_OK) {
        KH_ERROR("outbox.ack", sqlite3_errmsg(ob->db), "outbox", ob->name);
        return -1;
    }
    int removed = 0;
    for (size_t k = 0; k < n; k++) {
        sqlite3_stmt *st = dest ? ob->st_del_dest : ob->st_del;
        sqlite3_bind_text(st, 1, keys[k], -1, SQLITE_STATIC);
        if (dest)
            sqlite3_bind_text(st, 2, dest, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            int64_t seq = sqlite3_column_int64(st, 0);
            dest_t *d = dest_get(ob, (const char *)sqlite3_column_text(st, 1), 0);
            for (int i = 0; d && i < d->n_flight; i++)
                if (d->flight[i].seq == seq) {
                    if (d->flight[i].first_sent > d->acked_sent)
                        d->acked_sent = d->flight[i].first_sent;
                    d->flight[i] = d->flight[--d->n_flight];
                    break;
                }
            if (d) {
                d->blocked_until = 0;
                d->last_ack = kh_mono_ms();
            }
            removed++;
            rc = sqlite3_step(st);
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            KH_ERROR("outbox.ack", sqlite3_errmsg(ob->db), "outbox", ob->name);
            sqlite3_exec(ob->db, "ROLLBACK TO outbox_ack; RELEASE outbox_ack", NULL, NULL,
                         NULL);
            return -1;
        }
    }
    if (sqlite3_exec(ob->db, "RELEASE outbox_ack", NULL, NULL, NULL) != SQLITE_OK) {
        KH_ERROR("outbox.ack", sqlite3_errmsg(ob->db), "outbox", ob->name);
        sqlite3_exec(ob->db, "ROLLBACK TO outbox_ack; RELEASE outbox_ack", NULL, NULL, NULL);
        return -1;
    }
    ob->acked += (uint64_t)removed;
    return removed;
}

void kh_outbox_reset_dest(kh_outbox_t *ob, const char *dest)
{
    dest_t *d = dest_get(ob, dest, 0);
    if (!d)
        return;
    d->cursor = 0;
    d->n_flight = 0;
    d->blocked_until = 0;
    d->drained = 0;
}

int64_t kh_outbox_depth(kh_outbox_t *ob)
{
    sqlite3_stmt *st = ob->st_count;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return n;
}

uint64_t kh_outbox_resent(const kh_outbox_t *ob) { return ob->resent; }
uint64_t kh_outbox_queued(const kh_outbox_t *ob) { return ob->queued; }
uint64_t kh_outbox_expired(const kh_outbox_t *ob) { return ob->expired; }

/* ---- offline reads ---------------------------------------------------------------------- */

/* fmt (one %s: the name) prepared on db; NULL when name is no outbox name or it does not
 * prepare */
static sqlite3_stmt *offline_prep(sqlite3 *db, const char *fmt, const char *name)
{
    static const char ident[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof ((kh_outbox_t *)0)->name || strspn(name, ident) != n)
        return NULL;
    char sql[160];
    snprintf(sql, sizeof sql, fmt, name);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    return st;
}

static int64_t offline_count(sqlite3 *db, const char *fmt, const char *name)
{
    sqlite3_stmt *st = offline_prep(db, fmt, name);
    if (!st)
        return -1;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

int64_t kh_outbox_count_expiring(sqlite3 *db, const char *name)
{
    return offline_count(db, "SELECT count(*) FROM outbox_%s WHERE expires_at IS NOT NULL",
                         name);
}

int64_t kh_outbox_count_expired(sqlite3 *db, const char *name)
{
    return offline_count(db, "SELECT count(*) FROM outbox_%s_expired", name);
}

sqlite3_stmt *kh_outbox_expired_dests(sqlite3 *db, const char *name)
{
    return offline_prep(db, "SELECT DISTINCT dest FROM outbox_%s_expired ORDER BY dest", name);
}
