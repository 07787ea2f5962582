/*
 * kh_outbox.h — the durable outbox: keep until acked, resend after.
 *
 * A service writes what it must pass on into an outbox table in its own database,
 * in the same transaction as the state change that produced it; the pump sends
 * rows in order, at most `window` unacknowledged per destination, and resends a
 * row whose acknowledgement has not come within `resend_ms` — not blindly: while the
 * destination is acknowledging other rows (working through a queue) due rows wait a
 * while, and while it acknowledges nothing (stopped) one row per resend_ms is resent,
 * in turn; so copies of the window do not pile up in the queues (see pump_dest).  An Ack deletes the
 * row.  After a restart nothing is in flight, so everything still in the table is
 * sent again: receivers apply by key, so a resend is harmless.
 *
 * Which rows are in flight is memory only (bounded by window × destinations); the
 * table is the truth.  Destinations ("" for a single peer, a district code for the
 * receipts the collector routes to nodes) each have their own window, so one
 * unreachable district never holds up the others.
 *
 * A row may carry an expiry (kh_outbox_put_until: a reminder is worth nothing after its
 * due date).  Once the pipeline's clock (kh_now_ms) has passed it, the pump deletes the
 * row, sent or not, and records it in outbox_NAME_expired (key, dest, type, times): it
 * is never resent, and what was never delivered can be counted (kh-admin status).
 *
 * Schema: put KH_OUTBOX_SCHEMA("name") in the service's migrations, then, in a later
 * step, KH_OUTBOX_EXPIRY("name") (the expiry column and the expired table).
 */
#ifndef KH_OUTBOX_H
#define KH_OUTBOX_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define KH_OUTBOX_SCHEMA(name)                                                        \
    "CREATE TABLE outbox_" name " (seq INTEGER PRIMARY KEY AUTOINCREMENT,"            \
    " key TEXT NOT NULL UNIQUE, dest TEXT NOT NULL DEFAULT '', type TEXT NOT NULL,"   \
    " payload BLOB NOT NULL, created_at INTEGER NOT NULL);"                           \
    "CREATE INDEX outbox_" name "_dest ON outbox_" name "(dest, seq);"

/* Schema step 2 of an outbox (databases made before it are migrated). */
#define KH_OUTBOX_EXPIRY(name)                                                        \
    "ALTER TABLE outbox_" name " ADD COLUMN expires_at INTEGER;"                     \
    "CREATE INDEX outbox_" name "_expiry ON outbox_" name "(expires_at)"              \
    " WHERE expires_at IS NOT NULL;"                                                  \
    "CREATE TABLE outbox_" name "_expired (key TEXT PRIMARY KEY, dest TEXT NOT NULL," \
    " type TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"  \
    " expired_at INTEGER NOT NULL);"

#define KH_OUTBOX_MAX_DESTS 4096

typedef struct kh_outbox kh_outbox_t;

/* Returns NULL when the table is missing or memory is short. */
kh_outbox_t *kh_outbox_new(sqlite3 *db, const char *name, int window, int resend_ms);
void kh_outbox_destroy(kh_outbox_t **self_p);

/* Adds a row (inside the caller's transaction, if one is open).  Returns 1 when
 * added, 0 when the key was already queued, -1 on a database error. */
int kh_outbox_put(kh_outbox_t *ob, const char *dest, const char *key, const char *type,
                  const void *payload, size_t len);

/* The same with an expiry: expires_at is unix ms on the pipeline's clock (kh_now_ms);
 * 0: never.  Returns as kh_outbox_put. */
int kh_outbox_put_until(kh_outbox_t *ob, const char *dest, const char *key, const char *type,
                        const void *payload, size_t len, int64_t expires_at);

/* Sends one row.  Returns 0 when sent, 1 when the destination is not reachable now
 * (it is tried again after resend_ms), -1 when the socket is full (backpressure:
 * this destination waits for the next pump; the others go on). */
typedef int (*kh_outbox_send_fn)(void *arg, const char *dest, const char *key,
                                 const char *type, const void *payload, size_t len);

/* Sends due rows: expired ones again, then new ones while windows allow.  Returns
 * the number sent, or -1 on a database error.  Sends nothing while the connection is
 * inside a transaction: only committed rows leave (pump again after the COMMIT). */
int kh_outbox_pump(kh_outbox_t *ob, kh_outbox_send_fn send, void *arg);

/* Deletes the rows whose expiry has passed on the pipeline's clock and records them in
 * the expired table (the pump calls it at most once a second; outside a transaction
 * only).  Returns the number expired, or -1 on a database error (nothing changed). */
int kh_outbox_expire(kh_outbox_t *ob);

/* Deletes acknowledged rows (one savepoint for all).  Unknown keys are ignored.
 * Returns the number deleted, or -1 on a database error. */
int kh_outbox_ack(kh_outbox_t *ob, char *const *keys, size_t n);
/* The same for rows addressed to `dest` only (NULL: any): a peer acknowledges only what
 * was sent to it — one district's node cannot delete another's receipts. */
int kh_outbox_ack_from(kh_outbox_t *ob, const char *dest, char *const *keys, size_t n);

/* Forgets what is in flight for `dest` (its peer reconnected): resent at next pump. */
void kh_outbox_reset_dest(kh_outbox_t *ob, const char *dest);

int64_t kh_outbox_depth(kh_outbox_t *ob);        /* rows waiting or in flight; -1 error */
uint64_t kh_outbox_resent(const kh_outbox_t *ob); /* resends since start */
uint64_t kh_outbox_queued(const kh_outbox_t *ob); /* rows added since start (a batch
                                                    rolled back still counts) */
uint64_t kh_outbox_expired(const kh_outbox_t *ob); /* rows expired since start */

/* ---- offline reads: another process's outbox (kh-admin status) -----------------------
 * On a database opened by the caller (read-only is enough), for the outbox `name` (as the
 * service named it: letters, digits and '_').  Each is one query; nothing is kept. */

/* Rows waiting with an expiry (a reminder not yet acknowledged), or -1 when the table
 * cannot be read (no such outbox, a database from before KH_OUTBOX_EXPIRY, an error). */
int64_t kh_outbox_count_expiring(sqlite3 *db, const char *name);

/* Rows recorded in outbox_NAME_expired (dropped undelivered), or -1 as above. */
int64_t kh_outbox_count_expired(sqlite3 *db, const char *name);

/* The destinations of the expired rows, distinct and sorted: a statement to step, one row
 * each, column 0 the destination (text); the caller finalizes it.  NULL when the table
 * cannot be read. */
sqlite3_stmt *kh_outbox_expired_dests(sqlite3 *db, const char *name);

#endif
