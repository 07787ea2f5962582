/*
 * kh-aggregator — applies accepted reports and publishes the province feed.
 *
 * For each accepted VERDICT (key report_id/revision, applied once by a UNIQUE key):
 * the report is kept whole (one blob row: every revision stays in the history);
 * if it is the latest revision of its district and half-year it becomes the counted
 * one: its district cells replace the previous revision's exactly, and the province
 * cells move by the difference (about 40 upserts, not 720).  Each change is one
 * FeedUpdate with the next sequence number, stored in the feed table in the same
 * transaction, published on PUB after the commit, and served again on request
 * (snapshot or a range of missed updates: the zguide's Clone pattern).  Events
 * (ACCEPTED, COUNTED with the feed sequence, SUPERSEDED) go to the notifier.
 *
 * Before anything is counted, the report's signature is checked with its district's
 * registered key (lib/security/kh_sign.h, [security] verify_signatures): a report whose
 * signature does not verify is kept as rejected (BAD_SIGNATURE) and its district told.
 * Every revision applied (accepted or rejected) and every change of a district or
 * province cell goes into the hash-chained audit log (lib/security/kh_audit.h), in the same
 * transaction as what it records.  After each commit the entries it added are signed
 * with the aggregator's own audit key ([aggregator] audit_key, made at the first start,
 * kept outside the database) as one line of the checkpoint file ([aggregator]
 * audit_checkpoints) and logged (audit.checkpoint), so that `kh-admin audit verify` names
 * an entry rewritten (even with every later hash recomputed) or cut off.  At start the
 * checkpoint file is checked against the database: if entries it signed are gone or
 * changed, the aggregator does not start (it says what to do).
 *
 * The logic is in modules of its own (agg.h lists them); this file is the stage's
 * definition for the skeleton (lib/process/kh_stage.h): the state set up, each inbox message
 * dispatched (apply), the feed's sockets, the stop.
 *
 * Sockets: listen (ROUTER, from validators) · notifier (DEALER) · feed (PUB) ·
 * snapshot (ROUTER) · log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "audit.h"
#include "events.h"
#include "feed.h"
#include "kh.pb-c.h"
#include "kh_audit.h"
#include "kh_cells.h"
#include "kh_db.h"
#include "kh_findings.h"
#include "kh_inbox.h"
#include "kh_link.h"
#include "kh_log.h"
#include "kh_service.h"
#include "kh_sign.h"
#include "kh_util.h"
#include "kh_zap.h"
#include "ledger.h"
#include "previous.h"
#include "signatures.h"
#include "store.h"

/* ---- applying a verdict ------------------------------------------------------------------ */

/* The inbox's apply (lib/transport/kh_inbox.h), inside its batch transaction: a rejected VERDICT is
 * kept (ledger), an accepted one checked (signatures, previous-period rules), stored,
 * told, and counted unless a later revision is (ledger).  Returns KH_APPLY_*. */
static int apply(void *arg, const kh_wmsg_t *m, char *key, size_t keycap)
{
    agg_t *a = arg;
    Kh__Verdict *v = kh__verdict__unpack(NULL, m->len, m->payload);
    /* A rejected revision is only kept for the history: its period or district may be
     * the very reason it was rejected (refusing it would leave it unacknowledged at the
     * validator, resent forever).  Only an accepted one must name a known district. */
    if (!v || !v->report || !v->report->report_id[0] || strlen(v->report->report_id) > 64 ||
        v->report->revision == 0 ||
        (v->accepted &&
         kh_cells_ancestors(a->cat, v->report->district, v->report->period, NULL, 0) < 0)) {
        kh_stage_malformed(a->st);
        KH_WARN("verdict.malformed", "a VERDICT does not decode, has no id or revision, or "
                "(accepted) names no unit in force at its period's end");
        if (v)
            kh__verdict__free_unpacked(v, NULL);
        return KH_APPLY_BAD;
    }
    const Kh__Report *r = v->report;
    snprintf(key, keycap, "%s/%u", r->report_id, r->revision);
    if (!v->accepted) {
        int rc = ag_ledger_reject(a, v, m->payload, m->len, NULL);
        a->rejected_kept += rc == KH_APPLY_NEW;
        kh__verdict__free_unpacked(v, NULL);
        return rc;
    }
    /* nothing is counted before the district's signature is checked; the check makes
     * the digest the audit entry records too (one pass over the report's bytes) */
    char digest[65] = "";
    if (a->verify_signatures) {
        char vi[512], en[512];
        int sig = kh_sign_check(a->keys, r, kh_sign_key_time(r), NULL, digest, NULL, vi,
                                sizeof vi, en, sizeof en);
        if (sig == KH_ERR)
            KH_ERROR("security.registry", en, "report_id", r->report_id, "district",
                     r->district);
        if (sig != KH_OK) {
            /* the registry's trouble is retried, never held against the district */
            int rc = sig == KH_ERR ? KH_APPLY_FAIL : ag_signatures_refuse(a, v, vi, en);
            kh__verdict__free_unpacked(v, NULL);
            return rc;
        }
    }
    int rc = KH_APPLY_FAIL;
    kh_findings_t extra = {0};
    Kh__Finding **warn = NULL;
    uint8_t *stored = NULL;      /* the verdict in its stored form (store.h) */
    size_t stored_len = 0;
    int n_warn = ag_previous_warnings(a, v, &extra, &warn);
    if (n_warn < 0 || ag_store_pack(m->payload, m->len, &stored, &stored_len) < 0)
        goto out;
    sqlite3_stmt *st = a->st_accept;
    sqlite3_bind_text(st, 1, r->report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->revision);
    sqlite3_bind_text(st, 3, r->district, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->period, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, r->received_at);
    sqlite3_bind_int64(st, 6, kh_now_ms());
    sqlite3_bind_int64(st, 7, n_warn);
    sqlite3_bind_blob64(st, 8, stored, stored_len, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step != SQLITE_DONE)
        goto out;
    if (sqlite3_changes(a->db) == 0) {
        KH_INFO("report.duplicate", "verdict already applied: acknowledged again",
                "report_id", r->report_id, "district", r->district);
        rc = KH_APPLY_DUP;
        goto out;
    }
    if (ag_audit_revision(a, r, 1, NULL, digest[0] ? digest : NULL) < 0)
        goto out;
    if (ag_events_put(a, r, KH__STAGE__STAGE_ACCEPTED, "accepted", warn, (size_t)n_warn, 0) < 0)
        goto out;
    /* which revision counts now? */
    st = a->st_counted_get;
    sqlite3_bind_text(st, 1, r->district, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->period, -1, SQLITE_STATIC);
    char old_id[80] = "";
    int64_t old_rev = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(old_id, sizeof old_id, "%s", (const char *)sqlite3_column_text(st, 0));
        old_rev = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (old_id[0] && old_rev >= (int64_t)r->revision) {
        a->superseded++;
        KH_INFO("report.superseded", "a later revision is already counted", "report_id",
                r->report_id, "district", r->district, "period", r->period);
        rc = ag_events_put(a, r, KH__STAGE__STAGE_SUPERSEDED, "superseded", NULL, 0, 0) < 0
                 ? KH_APPLY_FAIL : KH_APPLY_NEW;
        goto out;
    }
    uint64_t seq = ag_ledger_count(a, v, old_id[0] ? old_id : NULL, old_rev, warn,
                                   (size_t)n_warn);
    if (seq == 0 || ag_events_put(a, r, KH__STAGE__STAGE_COUNTED, "counted", NULL, 0, seq) < 0)
        goto out;
    a->counted++;
    char msg[200], seqs[24];
    snprintf(msg, sizeof msg, "counted revision %u (replaces %lld), %d warning(s), feed seq %llu",
             r->revision, (long long)old_rev, n_warn, (unsigned long long)seq);
    snprintf(seqs, sizeof seqs, "%llu", (unsigned long long)seq);
    KH_INFO("report.counted", msg, "report_id", r->report_id, "district", r->district,
            "period", r->period, "seq", seqs);
    rc = KH_APPLY_NEW;
out:
    if (rc == KH_APPLY_FAIL) {
        /* undone with the batch, or alone to its savepoint (a dead letter): its count too */
        ag_cache_drop(a->cache, r->report_id);
        KH_ERROR("report.apply", "could not apply; the batch is rolled back and will be resent",
                 "report_id", r->report_id, "error", sqlite3_errmsg(a->db));
    }
    free(warn);
    free(stored);
    kh_findings_clear(&extra);
    kh__verdict__free_unpacked(v, NULL);
    return rc;
}

/* ---- the stage ------------------------------------------------------------------------- */

static void committed(void *arg)
{
    agg_t *a = arg;
    ag_cache_committed(a->cache);
    kh_audit_checkpoint(a->audit);     /* logs its own failure; retried after the next commit */
    ag_feed_publish(a);
}

static void say_ready(void *arg)
{
    agg_t *a = arg;
    char seqs[24];
    snprintf(seqs, sizeof seqs, "%llu", (unsigned long long)a->published_seq);
    kh_service_ready(a->svc, a->curve ? "counting; feed on CURVE, registered keys only"
                                      : "counting; feed WITHOUT CURVE", "seq", seqs);
}

static void on_stop(void *arg)
{
    agg_t *a = arg;
    kh_zap_close(a->zap);
    a->zap = NULL;
    kh_zsock_close(a->pub);
    kh_zsock_close(a->snap);
}

/* What the skeleton does not: the statements, the audit log's anchor, the feed's sockets
 * (PUB and its snapshot ROUTER, which may cross machines: CURVE, and only registered
 * province, analyst and admin keys get in, fail closed like the collector), the signature
 * check. */
static int setup(kh_stage_t *st, void *arg)
{
    agg_t *a = arg;
    kh_service_t *s = kh_stage_service(st);
    a->st = st;
    a->svc = s;
    a->cat = kh_stage_catalog(st);
    a->db = kh_stage_db(st);
    a->inbox = kh_stage_inbox(st);
    a->to_notifier = kh_stage_link(st, 0);
    char feed[1024], snap[1024];
    if (kh_service_str(s, "aggregator", "feed", feed, sizeof feed) ||
        kh_service_str(s, "aggregator", "snapshot", snap, sizeof snap))
        return -1;
    if (ag_store_prepare(a) < 0 || !(a->cache = ag_cache_new(a->db)))
        return -1;
    if (!(a->audit = kh_audit_new(a->db)) || ag_audit_anchor(a) < 0)
        return -1;
    a->published_seq = ag_feed_max_seq(a, NULL);
    kh_zopts_t so = s->zopts;
    so.router = 1;
    kh_zopts_t po = s->zopts;
    if ((a->curve = kh_service_curve(s)) < 0)
        return -1;
    if (a->curve) {
        if (kh_service_curve_server(s, "feed:province,analyst,admin", &a->server, &a->keys, &a->zap) < 0)
            return -1;
        so.curve_server_sk = po.curve_server_sk = a->server.curve_sk;
        so.zap_domain = po.zap_domain = "feed";
    }
    a->snap = kh_zsock_new(&s->loop, s->zctx, ZMQ_ROUTER, &so, ag_feed_on_request, a);
    po.hwm = 100000;   /* a PUB drops at its mark; be generous, gaps are refilled anyway */
    a->pub = kh_zsock_new(&s->loop, s->zctx, ZMQ_PUB, &po, NULL, NULL);
    if (!a->snap || !a->pub || kh_zsock_bind(a->snap, snap) < 0 ||
        kh_zsock_bind(a->pub, feed) < 0) {
        KH_ERROR("service.start", "cannot bind", "feed", feed, "snapshot", snap, "error",
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    if (ag_signatures_setup(a) < 0)
        return -1;
    /* health (kh-admin status, GET /metrics; lib/process/kh_metrics.h) */
    kh_service_watch_count(s, "kh_reports_counted_total", "Revisions counted (each replaces "
                           "the one counted before for its reporting unit and period).", NULL,
                           NULL, &a->counted);
    kh_service_watch_count(s, "kh_reports_superseded_total", "Accepted revisions not counted: "
                           "a later one was counted already.", NULL, NULL, &a->superseded);
    kh_service_watch_count(s, "kh_reports_rejected_total", "Accepted reports not counted: "
                           "their signature does not verify.", "reason", "signature",
                           &a->bad_signatures);
    kh_service_watch_count(s, "kh_verdicts_rejected_total", "Rejected revisions received "
                           "from the validator, kept for the history.", NULL, NULL,
                           &a->rejected_kept);
    /* with CURVE, prove that a client with an unknown key is refused before saying ready */
    return a->curve ? kh_stage_selfcheck(st, a->snap, a->server.curve_pk) : 0;
}

static void fini(void *arg)
{
    agg_t *a = arg;
    ag_store_finalize(a);
    ag_cache_destroy(&a->cache);
    kh_audit_checkpoint(a->audit);     /* nothing committed stays unsigned (done at each commit) */
    kh_audit_destroy(&a->audit);
    kh_keys_destroy(&a->keys);
}

static const kh_stage_def_t stage = {
    .name = "aggregator",
    .usage = "Counts accepted reports and publishes the province feed.\n",
    .open_db = ag_store_open,
    .types = {KH_T_VERDICT},
    .links = {{"notifier", "notifier", "listen"}},
    .malformed_help = "Malformed messages refused (inbox, snapshot and history requests).",
    .setup = setup,
    .apply = apply,
    .committed = committed,
    .ready = say_ready,
    .stop = on_stop,
    .fini = fini,
};

int main(int argc, char **argv)
{
    static agg_t a;
    return kh_stage_main(&stage, &a, argc, argv);
}
