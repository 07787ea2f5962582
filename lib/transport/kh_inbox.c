/*
 * kh_inbox.c — group commit and acknowledgement; see kh_inbox.h.
 *
 * Design notes.  `n` pending entries remember (routing id, key, duplicate) of the
 * messages applied in the open transaction; n <= batch_max always, so memory is
 * bounded whatever the peers send.  The transaction is open iff n > 0 or a message
 * failed to apply after BEGIN (then it is empty and committed at the next flush).
 */
#include "kh_inbox.h"
#include "kh_log.h"
#include "kh_metrics.h"
#include "kh_util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RID_MAX 256
#define FULL_LOG_MS 10000    /* a full disk is logged at most this often */
#define REPLAY_MS 1000       /* dead letters an admin asked to replay are looked for this often */
#define REPLAY_MAX 16        /* … and at most this many replayed per turn */

/* The savepoint statements run for every message, prepared once (parsing them each time
 * was 3% of a stage's time); sp_run falls back to sqlite3_exec when one is missing. */
enum { SP_BEGIN, SP_RELEASE, SP_UNDO, SP_N };
static const char *const sp_sql[SP_N] = {"SAVEPOINT msg", "RELEASE msg", "ROLLBACK TO msg"};

typedef struct {
    uint8_t rid[RID_MAX];
    size_t rid_len;
    char key[KH_KEY_MAX];
    int dup;
    kh_zsock_t *router;
} pending_t;

struct kh_inbox {
    sqlite3 *db;
    sqlite3_stmt *sp[SP_N];  /* sp_sql, prepared (NULL: not) */
    uv_timer_t timer, replay_timer;
    int handles_open;
    int batch_max, batch_ms;
    kh_inbox_apply_fn apply;
    kh_inbox_commit_fn committed;
    void *arg;
    int in_txn;
    int closing;
    pending_t *pending;
    int n;
    kh_inbox_stats_t stats;
    kh_metric_t *m[6];       /* the stats as kh_inbox_*_total (kh_metrics.h) */
    int m_init;
    kh_metric_t *m_dead;     /* kh_inbox_dead_letters_total */
    const char *origin;      /* kh_inbox_add_from: who sent the message being applied */
    char replay_origin[64];  /* the origin of the dead letter being replayed */
    int64_t full_logged_at;  /* the last "disk full" line; 0: the disk is not full */
    uint64_t full_failures;  /* failed commits since that line */
};

static void on_timer(uv_timer_t *t) { kh_inbox_flush(t->data); }

/* Runs savepoint statement k (SP_*).  Returns SQLITE_OK, or the error (the database's
 * error code and message say it, as sqlite3_exec's would). */
static int sp_run(kh_inbox_t *in, int k)
{
    if (!in->sp[k])
        return sqlite3_exec(in->db, sp_sql[k], NULL, NULL, NULL);
    int rc = sqlite3_step(in->sp[k]);
    sqlite3_reset(in->sp[k]);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}
static void on_replay_timer(uv_timer_t *t);

/* The metrics source (kh_metrics.h): copies the stats (every KH_METRICS_COLLECT_MS).  One inbox per
 * process is the rule; a second one would share these series. */
static void inbox_metrics(void *arg)
{
    static const char *const names[6][2] = {
        {"kh_inbox_received_total", "Messages received (new, duplicate or malformed)."},
        {"kh_inbox_applied_total", "Messages applied and stored for the first time."},
        {"kh_inbox_duplicates_total", "Messages already stored (resends), acknowledged again."},
        {"kh_inbox_malformed_total", "Messages the service refused as malformed."},
        {"kh_inbox_commits_total", "Group commits."},
        {"kh_inbox_failed_commits_total", "Batches rolled back (their senders resend them)."},
    };
    kh_inbox_t *in = arg;
    if (!in->m_init) {
        in->m_init = 1;
        for (int i = 0; i < 6; i++)
            in->m[i] = kh_metrics_counter(names[i][0], names[i][1], NULL, NULL);
        in->m_dead = kh_metrics_counter("kh_inbox_dead_letters_total", "Messages this "
                                        "service could not apply, set aside (kh-admin "
                                        "dead-letters).", NULL, NULL);
    }
    kh_metric_set(in->m_dead, (int64_t)in->stats.dead_letters);
    const uint64_t v[6] = {in->stats.received, in->stats.applied, in->stats.duplicates,
                           in->stats.malformed, in->stats.commits, in->stats.failed_commits};
    for (int i = 0; i < 6; i++)
        kh_metric_set(in->m[i], (int64_t)v[i]);
}

kh_inbox_t *kh_inbox_new(uv_loop_t *loop, sqlite3 *db, int batch_max, int batch_ms,
                         kh_inbox_apply_fn apply, kh_inbox_commit_fn committed,
                         void *arg)
{
    kh_inbox_t *in = calloc(1, sizeof *in);
    if (!in)
        return NULL;
    in->batch_max = batch_max > 0 ? batch_max : 1;
    in->batch_ms = batch_ms >= 0 ? batch_ms : 0;
    in->pending = calloc((size_t)in->batch_max, sizeof *in->pending);
    if (!in->pending) {
        free(in);
        return NULL;
    }
    if (sqlite3_exec(db, KH_DEAD_LETTER_SCHEMA, NULL, NULL, NULL) != SQLITE_OK) {
        KH_ERROR("db.error", "cannot create the dead-letter table", "error", sqlite3_errmsg(db));
        free(in->pending);
        free(in);
        return NULL;
    }
    in->db = db;
    for (int k = 0; k < SP_N; k++)
        if (sqlite3_prepare_v2(db, sp_sql[k], -1, &in->sp[k], NULL) != SQLITE_OK)
            in->sp[k] = NULL;
    in->apply = apply;
    in->committed = committed;
    in->arg = arg;
    uv_timer_init(loop, &in->timer);
    in->timer.data = in;
    uv_timer_init(loop, &in->replay_timer);
    in->replay_timer.data = in;
    uv_timer_start(&in->replay_timer, on_replay_timer, REPLAY_MS, REPLAY_MS);
    in->handles_open = 2;
    kh_metrics_source_add(inbox_metrics, in);
    return in;
}

/* A full disk is what an admin must act on, and it fails every batch until space comes
 * back: say which database and what to do, once per FULL_LOG_MS, not once per batch. */
static void log_full(kh_inbox_t *in)
{
    in->full_failures++;
    int64_t now = kh_mono_ms();
    if (in->full_logged_at && now - in->full_logged_at < FULL_LOG_MS)
        return;
    const char *path = sqlite3_db_filename(in->db, "main");
    char msg[1024];
    snprintf(msg, sizeof msg, "the disk holding %.600s is full: nothing was stored or "
             "acknowledged (the senders keep their messages and resend them); free space "
             "on that disk: this service retries by itself, no restart needed "
             "(%llu failed commit(s) since the last such line)", path ? path : "?",
             (unsigned long long)in->full_failures);
    KH_ERROR("db.full", msg, "db", path, "error", sqlite3_errmsg(in->db));
    in->full_logged_at = now;
    in->full_failures = 0;
}

static void rollback(kh_inbox_t *in, const char *why)
{
    if ((sqlite3_extended_errcode(in->db) & 0xff) == SQLITE_FULL)
        log_full(in);
    else
        KH_ERROR("inbox.rollback", why, "error", sqlite3_errmsg(in->db));
    sqlite3_exec(in->db, "ROLLBACK", NULL, NULL, NULL);
    in->in_txn = 0;
    in->n = 0;
    in->stats.failed_commits++;
}

int kh_inbox_flush(kh_inbox_t *in)
{
    uv_timer_stop(&in->timer);
    if (!in->in_txn)
        return 0;
    if (sqlite3_exec(in->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rollback(in, "commit failed: nothing acknowledged, senders will resend");
        return -1;
    }
    in->in_txn = 0;
    in->stats.commits++;
    if (in->full_logged_at) {
        char msg[128];
        snprintf(msg, sizeof msg, "the disk has room again: commits succeed (%llu failed "
                 "since the last disk-full line)", (unsigned long long)in->full_failures);
        KH_INFO("db.space", msg, "db", sqlite3_db_filename(in->db, "main"));
        in->full_logged_at = 0;
        in->full_failures = 0;
    }
    /* acknowledge, one Ack per peer (peers are few within one batch) */
    char *keys[in->n > 0 ? in->n : 1];
    int dups[in->n > 0 ? in->n : 1];
    int done[in->n > 0 ? in->n : 1];
    memset(done, 0, sizeof done);
    for (int i = 0; i < in->n; i++) {
        if (done[i])
            continue;
        size_t k = 0;
        for (int j = i; j < in->n; j++) {
            if (done[j] || in->pending[j].router != in->pending[i].router ||
                in->pending[j].rid_len != in->pending[i].rid_len ||
                memcmp(in->pending[j].rid, in->pending[i].rid, in->pending[i].rid_len) != 0)
                continue;
            keys[k] = in->pending[j].key;
            dups[k++] = in->pending[j].dup;
            done[j] = 1;
        }
        if (kh_wire_ack(in->pending[i].router, in->pending[i].rid, in->pending[i].rid_len, keys, dups,
                        k) < 0)
            KH_DEBUG("inbox.ack", "ack not sent (peer gone or full); it will resend");
    }
    in->n = 0;
    if (in->committed)
        in->committed(in->arg);
    return 0;
}

/* A failure that says nothing about the message: the disk, memory, a lock.  The batch is
 * rolled back and resent later, as it always was. */
static int transient(sqlite3 *db)
{
    switch (sqlite3_extended_errcode(db) & 0xff) {
    case SQLITE_FULL: case SQLITE_IOERR: case SQLITE_BUSY: case SQLITE_LOCKED:
    case SQLITE_NOMEM: case SQLITE_READONLY: case SQLITE_CANTOPEN: case SQLITE_INTERRUPT:
    case SQLITE_PROTOCOL: case SQLITE_CORRUPT: case SQLITE_NOTADB:
        return 1;
    default:
        return 0;
    }
}

/* Keeps a message the service could not apply in dead_letter (inside the savepoint, which
 * the caller rolled back to, with `why` the database's error read before that: the undo
 * resets it) and says KH_APPLY_NEW, so that its sender stops resending it and its
 * neighbours in the batch commit.  KH_APPLY_FAIL when even that cannot be stored. */
static int dead_letter(kh_inbox_t *in, const kh_wmsg_t *m, char *key, const char *why)
{
    if (!key[0]) {            /* it failed before naming itself: a key from its bytes */
        uint8_t h[16];
        char hex[33];
        crypto_generichash(h, sizeof h, m->payload, m->len, NULL, 0);
        sodium_bin2hex(hex, sizeof hex, h, sizeof h);
        snprintf(key, KH_KEY_MAX, "payload:%s", hex);
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(in->db, "INSERT INTO dead_letter(key,type,payload,origin,error,at,"
                           "attempts) VALUES(?,?,?,?,?,?,1) ON CONFLICT(key) DO UPDATE SET "
                           "attempts=attempts+1, error=excluded.error, replay=0", -1, &st,
                           NULL) != SQLITE_OK)
        return KH_APPLY_FAIL;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->type, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, m->payload, (int)m->len, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, in->origin ? in->origin : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, why, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, kh_real_ms());
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step != SQLITE_DONE)
        return KH_APPLY_FAIL;
    in->stats.dead_letters++;
    KH_ERROR("inbox.dead_letter", "a message this service cannot apply was set aside (the "
             "rest goes on): see kh-admin status; fix the cause, then kh-admin dead-letters "
             "replay", "key", key, "type", m->type, "district", in->origin, "error", why);
    return KH_APPLY_NEW;
}

/* Dead letters an admin marked for replay (kh-admin dead-letters replay): applied again in
 * a batch of their own; one that applies leaves the table, one that fails again stays. */
static void on_replay_timer(uv_timer_t *t)
{
    kh_inbox_t *in = t->data;
    if (in->closing || in->in_txn)
        return;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(in->db, "SELECT id,key,type,payload,origin FROM dead_letter WHERE "
                           "replay=1 ORDER BY id LIMIT " KH_STR(REPLAY_MAX), -1, &st,
                           NULL) != SQLITE_OK)
        return;
    struct { int64_t id; char key[KH_KEY_MAX], type[KH_TYPE_MAX], origin[64]; uint8_t *p;
             size_t len; } row[REPLAY_MAX];
    int n = 0;
    while (n < REPLAY_MAX && sqlite3_step(st) == SQLITE_ROW) {
        row[n].id = sqlite3_column_int64(st, 0);
        snprintf(row[n].key, sizeof row[n].key, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(row[n].type, sizeof row[n].type, "%s", (const char *)sqlite3_column_text(st, 2));
        snprintf(row[n].origin, sizeof row[n].origin, "%s",
                 (const char *)sqlite3_column_text(st, 4));
        row[n].len = (size_t)sqlite3_column_bytes(st, 3);
        row[n].p = malloc(row[n].len ? row[n].len : 1);
        if (!row[n].p)
            break;
        memcpy(row[n].p, sqlite3_column_blob(st, 3), row[n].len);
        n++;
    }
    sqlite3_finalize(st);
    for (int i = 0; i < n; i++) {
        kh_wmsg_t m = {.rid = NULL, .rid_len = 0, .payload = row[i].p, .len = row[i].len};
        kh_strlcpy(m.type, row[i].type, sizeof m.type);
        kh_strlcpy(in->replay_origin, row[i].origin, sizeof in->replay_origin);
        char key[KH_KEY_MAX] = "", sql[160], ids[24];
        int ok = sqlite3_exec(in->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
        int rc = ok ? in->apply(in->arg, &m, key, sizeof key) : KH_APPLY_FAIL;
        snprintf(ids, sizeof ids, "%lld", (long long)row[i].id);
        if (rc == KH_APPLY_NEW || rc == KH_APPLY_DUP) {
            ok = kh_inbox_dead_letter_drop(in->db, row[i].id) >= 0 &&
                 sqlite3_exec(in->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
            if (ok)
                KH_INFO("inbox.replayed", "a dead letter was applied on replay", "key",
                        row[i].key, "district", row[i].origin[0] ? row[i].origin : NULL);
        } else {
            ok = 0;
        }
        if (!ok) {
            sqlite3_exec(in->db, "ROLLBACK", NULL, NULL, NULL);
            snprintf(sql, sizeof sql, "UPDATE dead_letter SET replay=0, attempts=attempts+1 "
                     "WHERE id=%lld", (long long)row[i].id);
            sqlite3_exec(in->db, sql, NULL, NULL, NULL);
            KH_ERROR("inbox.replay_failed", "a dead letter failed again on replay: it stays "
                     "set aside (see its error in kh-admin dead-letters list)", "key",
                     row[i].key, "id", ids);
        }
        free(row[i].p);
    }
    in->replay_origin[0] = '\0';
    if (n > 0 && in->committed)
        in->committed(in->arg);
}

const char *kh_inbox_replay_origin(const kh_inbox_t *in)
{
    return in->replay_origin[0] ? in->replay_origin : NULL;
}

int kh_inbox_add_from(kh_inbox_t *in, kh_zsock_t *router, const kh_wmsg_t *m, const char *origin)
{
    in->origin = origin;
    int rc = kh_inbox_add(in, router, m);
    in->origin = NULL;
    return rc;
}

int kh_inbox_add(kh_inbox_t *in, kh_zsock_t *router, const kh_wmsg_t *m)
{
    in->stats.received++;
    if (m->rid_len == 0 || m->rid_len > RID_MAX) {
        in->stats.malformed++;
        return 0;
    }
    if (!in->in_txn) {
        if (sqlite3_exec(in->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
            KH_ERROR("inbox.begin", sqlite3_errmsg(in->db));
            in->stats.failed_commits++;
            return -1;
        }
        in->in_txn = 1;
    }
    if (sp_run(in, SP_BEGIN) != SQLITE_OK) {
        rollback(in, "savepoint failed");
        return -1;
    }
    pending_t *p = &in->pending[in->n];
    p->key[0] = '\0';
    int rc = in->apply(in->arg, m, p->key, sizeof p->key);
    if (rc == KH_APPLY_FAIL && !transient(in->db)) {
        /* this message, not the storage, is the trouble: set it aside, go on */
        char why[256];
        snprintf(why, sizeof why, "%s", sqlite3_errmsg(in->db));
        sp_run(in, SP_UNDO);
        rc = dead_letter(in, m, p->key, why);
    }
    if (rc == KH_APPLY_FAIL) {
        rollback(in, "apply failed: batch rolled back, senders will resend");
        return -1;
    }
    if (rc == KH_APPLY_BAD) {
        sp_run(in, SP_UNDO);
        sp_run(in, SP_RELEASE);
        in->stats.malformed++;
    } else {
        if (sp_run(in, SP_RELEASE) != SQLITE_OK) {
            rollback(in, "release failed");
            return -1;
        }
        memcpy(p->rid, m->rid, m->rid_len);
        p->rid_len = m->rid_len;
        p->router = router;
        p->dup = rc == KH_APPLY_DUP;
        if (p->dup)
            in->stats.duplicates++;
        else
            in->stats.applied++;
        in->n++;
    }
    if (in->n >= in->batch_max)
        return kh_inbox_flush(in);
    if (!uv_is_active((uv_handle_t *)&in->timer))
        uv_timer_start(&in->timer, on_timer, (uint64_t)in->batch_ms, 0);
    return 0;
}

const kh_inbox_stats_t *kh_inbox_stats(const kh_inbox_t *in) { return &in->stats; }

static void on_closed(uv_handle_t *h)
{
    kh_inbox_t *in = h->data;
    if (--in->handles_open > 0)
        return;
    free(in->pending);
    free(in);
}

void kh_inbox_close(kh_inbox_t *in)
{
    if (!in || in->closing)
        return;
    kh_inbox_flush(in);
    kh_metrics_source_remove(in);
    in->closing = 1;
    for (int k = 0; k < SP_N; k++) {        /* the database may close before the loop ends */
        sqlite3_finalize(in->sp[k]);
        in->sp[k] = NULL;
    }
    uv_close((uv_handle_t *)&in->timer, on_closed);
    uv_close((uv_handle_t *)&in->replay_timer, on_closed);
}

/* ---- dead letters, offline ---------------------------------------------------------------- */

int64_t kh_inbox_dead_letter_count(sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM dead_letter", -1, &st, NULL) != SQLITE_OK)
        return sqlite3_errcode(db) == SQLITE_ERROR ? 0 : -1;    /* no such table: none */
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

sqlite3_stmt *kh_inbox_dead_letter_list(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id,key,type,origin,error,at,attempts,replay,"
                               "length(payload) FROM dead_letter ORDER BY id", -1, &st,
                           NULL) != SQLITE_OK)
        return NULL;
    return st;
}

/* sql with ?1 = id (when id > 0): the number of rows it changed, or -1 */
static int64_t dead_letter_change(sqlite3 *db, const char *sql, int64_t id)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (id > 0)
        sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? sqlite3_changes64(db) : -1;
}

int64_t kh_inbox_dead_letter_replay(sqlite3 *db, int64_t id)
{
    return dead_letter_change(db, id > 0 ? "UPDATE dead_letter SET replay=1 WHERE id=?1"
                                         : "UPDATE dead_letter SET replay=1", id);
}

int64_t kh_inbox_dead_letter_drop(sqlite3 *db, int64_t id)
{
    return dead_letter_change(db, "DELETE FROM dead_letter WHERE id=?1", id);
}
