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

#include <stdlib.h>
#include <string.h>

#define RID_MAX 256
#define FULL_LOG_MS 10000    /* a full disk is logged at most this often */

typedef struct {
    uint8_t rid[RID_MAX];
    size_t rid_len;
    char key[KH_KEY_MAX];
    int dup;
    kh_zsock_t *router;
} pending_t;

struct kh_inbox {
    sqlite3 *db;
    uv_timer_t timer;
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
    int64_t full_logged_at;  /* the last "disk full" line; 0: the disk is not full */
    uint64_t full_failures;  /* failed commits since that line */
};

static void on_timer(uv_timer_t *t) { kh_inbox_flush(t->data); }

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
    }
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
    in->db = db;
    in->apply = apply;
    in->committed = committed;
    in->arg = arg;
    uv_timer_init(loop, &in->timer);
    in->timer.data = in;
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
    if (sqlite3_exec(in->db, "SAVEPOINT msg", NULL, NULL, NULL) != SQLITE_OK) {
        rollback(in, "savepoint failed");
        return -1;
    }
    pending_t *p = &in->pending[in->n];
    p->key[0] = '\0';
    int rc = in->apply(in->arg, m, p->key, sizeof p->key);
    if (rc == KH_APPLY_FAIL) {
        rollback(in, "apply failed: batch rolled back, senders will resend");
        return -1;
    }
    if (rc == KH_APPLY_BAD) {
        sqlite3_exec(in->db, "ROLLBACK TO msg", NULL, NULL, NULL);
        sqlite3_exec(in->db, "RELEASE msg", NULL, NULL, NULL);
        in->stats.malformed++;
    } else {
        if (sqlite3_exec(in->db, "RELEASE msg", NULL, NULL, NULL) != SQLITE_OK) {
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
    uv_close((uv_handle_t *)&in->timer, on_closed);
}
