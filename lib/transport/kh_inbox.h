/*
 * kh_inbox.h — the receiving half of a hop: group commit, then acknowledge.
 *
 * Messages from a ROUTER socket are applied inside one open transaction (each under
 * its own savepoint, so a bad one is undone alone); the transaction is committed
 * after `batch_max` messages or `batch_ms` milliseconds, and only then are their
 * keys acknowledged to the peers that sent them (persist before ack).  If the commit
 * fails nothing is acknowledged and the senders will resend.
 *
 * Dead letters (issue 11: one message must never roll its neighbours back for ever).
 * When apply fails (KH_APPLY_FAIL) and the database's error is not one of the storage's
 * own (a full disk, I/O, a lock, memory: then the batch rolls back and is resent, as
 * always), the message itself is the trouble: it is undone alone, kept in the table
 * dead_letter of the service's database (created here), logged (inbox.dead_letter),
 * counted (kh_inbox_dead_letters_total) and acknowledged, and the batch goes on.
 * `kh-admin dead-letters` lists them and marks one for replay (replay = 1): the inbox
 * applies it again within a second; applied, it leaves the table.
 */
#ifndef KH_INBOX_H
#define KH_INBOX_H

#include <sqlite3.h>
#include <stdint.h>
#include <uv.h>

#include "kh_wire.h"
#include "kh_zuv.h"

#define KH_STR_(x) #x
#define KH_STR(x) KH_STR_(x)

#define KH_DEAD_LETTER_SCHEMA                                                                  \
    "CREATE TABLE IF NOT EXISTS dead_letter (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE," \
    " type TEXT NOT NULL, payload BLOB NOT NULL, origin TEXT NOT NULL, error TEXT NOT NULL,"   \
    " at INTEGER NOT NULL, attempts INTEGER NOT NULL, replay INTEGER NOT NULL DEFAULT 0);"



enum {
    KH_APPLY_NEW = 0,    /* stored: acknowledge */
    KH_APPLY_DUP = 1,    /* already stored: acknowledge as duplicate */
    KH_APPLY_BAD = -1,   /* malformed: undone, counted, not acknowledged */
    KH_APPLY_FAIL = -2,  /* storage failed: the whole batch is rolled back */
};

/* Applies one message inside the batch transaction; writes its key (for the Ack)
 * into key.  Returns one of KH_APPLY_*. */
typedef int (*kh_inbox_apply_fn)(void *arg, const kh_wmsg_t *m, char *key, size_t keycap);
/* Called after each successful commit (pump outboxes here). */
typedef void (*kh_inbox_commit_fn)(void *arg);

typedef struct {
    uint64_t received, applied, duplicates, malformed, commits, failed_commits, dead_letters;
} kh_inbox_stats_t;

typedef struct kh_inbox kh_inbox_t;

kh_inbox_t *kh_inbox_new(uv_loop_t *loop, sqlite3 *db, int batch_max, int batch_ms,
                         kh_inbox_apply_fn apply, kh_inbox_commit_fn committed,
                         void *arg);
/* Applies m, received on `router` with its routing id; the Ack goes back there.
 * One inbox may serve several ROUTER sockets of a process (one transaction per
 * database connection).  Returns 0, or -1 when the batch had to be rolled back. */
int kh_inbox_add(kh_inbox_t *in, kh_zsock_t *router, const kh_wmsg_t *m);
/* The same, saying who sent it (e.g. the district of a node's key): kept with a dead
 * letter, and given back by kh_inbox_replay_origin while it is replayed. */
int kh_inbox_add_from(kh_inbox_t *in, kh_zsock_t *router, const kh_wmsg_t *m,
                      const char *origin);
/* While a dead letter is being replayed (inside apply): its origin, else NULL. */
const char *kh_inbox_replay_origin(const kh_inbox_t *in);
/* Commits the open batch now.  Returns 0 or -1. */
int kh_inbox_flush(kh_inbox_t *in);
const kh_inbox_stats_t *kh_inbox_stats(const kh_inbox_t *in);
/* Flushes, then frees (asynchronously, after its timer is closed). */
void kh_inbox_close(kh_inbox_t *in);

/* ---- dead letters, offline (kh-admin dead-letters, status) ---------------------------
 * On a service's database opened by the caller (the service may be running: its inbox
 * sees a replay asked within a second).  Parameters are bound, never written into SQL. */

/* The dead letters set aside: their number; 0 also when the database has no dead_letter
 * table (the service never set anything aside); -1 on a database error. */
int64_t kh_inbox_dead_letter_count(sqlite3 *db);

/* Every dead letter, by id: a statement to step (the caller finalizes it), one row each:
 *   0 id (integer, the #N kh-admin shows)  1 key  2 type  3 origin ("" when none)
 *   4 error  5 at (unix ms, when it was set aside)  6 attempts  7 replay (1: asked)
 *   8 the payload's length in bytes
 * NULL when it does not prepare (no dead_letter table: none). */
sqlite3_stmt *kh_inbox_dead_letter_list(sqlite3 *db);

/* Marks dead letter `id` (> 0), or every one (id 0), for replay.  Returns the number
 * marked (0: no such dead letter), or -1 on a database error (sqlite3_errmsg). */
int64_t kh_inbox_dead_letter_replay(sqlite3 *db, int64_t id);

/* Forgets dead letter `id` for good.  Returns 1 dropped, 0 no such dead letter, -1 on a
 * database error (sqlite3_errmsg). */
int64_t kh_inbox_dead_letter_drop(sqlite3 *db, int64_t id);

#endif
