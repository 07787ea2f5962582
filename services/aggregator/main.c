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
 * registered key (lib/kh_sign.h, [security] verify_signatures): a report whose
 * signature does not verify is kept as rejected (BAD_SIGNATURE) and its district told.
 * Every revision applied (accepted or rejected) and every change of a district or
 * province cell goes into the hash-chained audit log (lib/kh_audit.h), in the same
 * transaction as what it records.  After each commit the entries it added are signed
 * with the aggregator's own audit key ([aggregator] audit_key, made at the first start,
 * kept outside the database) as one line of the checkpoint file ([aggregator]
 * audit_checkpoints) and logged (audit.checkpoint), so that `kh-admin audit verify` names
 * an entry rewritten (even with every later hash recomputed) or cut off.  At start the
 * checkpoint file is checked against the database: if entries it signed are gone or
 * changed, the aggregator does not start (it says what to do).
 *
 * Sockets: listen (ROUTER, from validators) · notifier (DEALER) · feed (PUB) ·
 * snapshot (ROUTER) · log.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh.pb-c.h"
#include "kh_audit.h"
#include "kh_cells.h"
#include "kh_db.h"
#include "kh_inbox.h"
#include "kh_link.h"
#include "kh_log.h"
#include "kh_report.h"
#include "kh_service.h"
#include "kh_sign.h"
#include "kh_util.h"
#include "kh_zap.h"

#define RANGE_MAX 10000     /* feed updates served per range request */

static const char *const migrations[] = {
    "CREATE TABLE accepted (report_id TEXT NOT NULL, revision INTEGER NOT NULL,"
    " district TEXT NOT NULL, period TEXT NOT NULL, received_at INTEGER NOT NULL,"
    " accepted_at INTEGER NOT NULL, warnings INTEGER NOT NULL, verdict BLOB NOT NULL,"
    " PRIMARY KEY (report_id, revision));"
    "CREATE TABLE counted (district TEXT NOT NULL, period TEXT NOT NULL,"
    " report_id TEXT NOT NULL, revision INTEGER NOT NULL, received_at INTEGER NOT NULL,"
    " counted_at INTEGER NOT NULL, warnings INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY (district, period));"
    "CREATE TABLE total (period TEXT NOT NULL, orgunit TEXT NOT NULL, indicator TEXT NOT NULL,"
    " sum REAL NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (period, orgunit, indicator));"
    "CREATE TABLE feed (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,"
    " payload BLOB NOT NULL);"
    KH_OUTBOX_SCHEMA("notifier"),
    /* 2: rejected revisions kept for the history; the counted revision's warnings */
    "CREATE TABLE rejected (report_id TEXT NOT NULL, revision INTEGER NOT NULL,"
    " district TEXT NOT NULL, period TEXT NOT NULL, received_at INTEGER NOT NULL,"
    " rejected_at INTEGER NOT NULL, verdict BLOB NOT NULL, PRIMARY KEY (report_id, revision));"
    "ALTER TABLE counted ADD COLUMN warning_list BLOB;",
    /* 3: the tamper-evident audit log (revisions applied, district and province cells changed) */
    KH_AUDIT_SCHEMA,
    /* 4: outbox expiry (issue 10) */
    KH_OUTBOX_EXPIRY("notifier"),
};

#define SNAPSHOT_CELLS 4096      /* cells in one snapshot message of the totals */
#define MAX_WARNINGS_KEPT 200   /* warnings carried on the feed per report */

typedef struct {
    kh_service_t svc;
    kh_catalog_t *cat;
    sqlite3 *db;
    kh_zsock_t *in, *pub, *snap;
    kh_inbox_t *inbox;
    kh_link_t *to_notifier;
    uv_timer_t pump_timer;
    uint64_t published_seq;
    int curve;                  /* CURVE on the feed sockets */
    kh_key_t server;
    sqlite3 *keys;
    kh_zap_t *zap;
    uint64_t counted, superseded, malformed, bad_signatures;
    uint64_t rejected_kept;     /* rejected verdicts kept for the history */
    int verify_signatures;      /* [security] verify_signatures (checked with a->keys) */
    kh_audit_t *audit;
    sqlite3_stmt *st_accept, *st_reject, *st_counted_get, *st_verdict_get, *st_total_del,
        *st_total_del_key, *st_total_ins,
        *st_prov_upd, *st_prov_get, *st_feed_ins, *st_counted_put;
} agg_t;

/* ---- events to the notifier ---------------------------------------------------------- */

static int event(agg_t *a, const Kh__Report *r, Kh__Stage stage, const char *tag,
                 Kh__Finding **findings, size_t n_findings, uint64_t seq)
{
    Kh__Receipt ev = KH__RECEIPT__INIT;
    char id[KH_KEY_MAX];
    snprintf(id, sizeof id, "%.64s/%u/%s", r->report_id, r->revision, tag);
    ev.event_id = id;
    ev.report_id = r->report_id;
    ev.revision = r->revision;
    ev.district = r->district;
    ev.period = r->period;
    ev.stage = stage;
    ev.findings = findings;
    ev.n_findings = n_findings;
    ev.feed_seq = seq;
    ev.at = kh_now_ms();
    ev.source_name = r->source_name;
    return kh_link_put_msg(a->to_notifier, "", id, KH_T_EVENT, &ev.base) < 0 ? -1 : 0;
}

/* ---- the audit log ------------------------------------------------------------------------ */

/* Appends (kind, subject, body) to the audit log; takes the reference to body.
 * Returns 0 or -1 (the batch then rolls back: nothing is recorded without its entry). */
static int audit_add(agg_t *a, const char *kind, const char *subject, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    int rc = text ? kh_audit_add(a->audit, kind, subject, text) : -1;
    free(text);
    return rc;
}

/* A number as JSON: an integer when it is one (counts, money), else a real. */
static json_t *num_json(double x)
{
    if (x == (double)(json_int_t)x && x > -9007199254740992.0 && x < 9007199254740992.0)
        return json_integer((json_int_t)x);
    return json_real(x);
}

/* A cell's value as JSON: {"sum":…,"n":…}, or null when it does not exist. */
static json_t *cell_json(int exists, double sum, int64_t n)
{
    return exists ? json_pack("{s:o, s:I}", "sum", num_json(sum), "n", (json_int_t)n)
                  : json_null();
}

/* One "revision" entry: what was applied, who signed it, the digest of what was signed. */
static int audit_revision(agg_t *a, const Kh__Report *r, int accepted, const char *reason)
{
    char subject[96], digest[65], sig[2 * 64 + 1];
    snprintf(subject, sizeof subject, "%.64s/%u", r->report_id, r->revision);
    kh_sign_digest(r, digest);
    size_t slen = r->signature.len <= 64 ? r->signature.len : 64;   /* a valid one is 64 */
    kh_sign_hex(r->signature.data, r->signature.data ? slen : 0, sig, sizeof sig);
    json_t *b = json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:I}", "district", r->district,
                          "period", r->period, "accepted", accepted, "signer",
                          r->signer ? r->signer : "", "signature", sig, "digest", digest,
                          "received_at", (json_int_t)r->received_at);
    if (b && reason)
        json_object_set_new(b, "reason", json_string(reason));
    return audit_add(a, "revision", subject, b);
}

/* One "value" entry for a district or province cell that changed. */
static int audit_value(agg_t *a, const Kh__Report *r, const char *orgunit, const char *indicator,
                       json_t *before, json_t *after)
{
    char subject[160];
    snprintf(subject, sizeof subject, "%s/%s/%s", r->period, orgunit, indicator);
    json_t *b = json_pack("{s:s, s:i, s:o, s:o}", "report_id", r->report_id, "revision",
                          (int)r->revision, "before", before, "after", after);
    return audit_add(a, "value", subject, b);
}

/* The district cells that differ between `before` and `now` (both sorted). */
static int audit_district_cells(agg_t *a, const Kh__Report *r, const kh_cells_t *before,
                                const kh_cells_t *now)
{
    size_t i = 0, j = 0;
    while (i < before->n || j < now->n) {
        int c = i >= before->n ? 1 : j >= now->n ? -1 : kh_cell_cmp(&before->v[i], &now->v[j]);
        const kh_cell_t *b = c <= 0 ? &before->v[i] : NULL, *n = c >= 0 ? &now->v[j] : NULL;
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
        if (b && n && b->sum == n->sum && b->n == n->n)
            continue;
        const kh_cell_t *k = b ? b : n;
        if (audit_value(a, r, k->orgunit, k->indicator,
                        cell_json(b != NULL, b ? b->sum : 0, b ? b->n : 0),
                        cell_json(n != NULL, n ? n->sum : 0, n ? n->n : 0)) < 0)
            return -1;
    }
    return 0;
}

/* ---- feed update construction ---------------------------------------------------------- */

typedef struct {
    Kh__FeedUpdate u;
    Kh__Cell *cells;
    Kh__Cell **cellp;
    size_t n, cap;
    char (*names)[2][KH_CODE_MAX + 24];   /* owned copies of orgunit / indicator */
} update_t;

static int upd_add(update_t *u, const char *period, const char *orgunit, const char *indicator,
                   double sum, uint32_t n, int deleted)
{
    if (u->n == u->cap) {
        size_t nc = u->cap ? u->cap * 2 : 512;
        Kh__Cell *c = realloc(u->cells, nc * sizeof *c);
        if (!c)
            return -1;
        u->cells = c;
        void *nm = realloc(u->names, nc * sizeof *u->names);
        if (!nm)
            return -1;
        u->names = nm;
        u->cap = nc;
    }
    Kh__Cell *c = &u->cells[u->n];
    kh__cell__init(c);
    snprintf(u->names[u->n][0], sizeof u->names[0][0], "%s", orgunit);
    snprintf(u->names[u->n][1], sizeof u->names[0][1], "%s", indicator);
    c->period = (char *)period;
    c->sum = sum;
    c->n = n;
    c->deleted = deleted;
    u->n++;
    return 0;
}

/* Initialises the message and fixes the pointers (the arrays may have moved while
 * growing).  Call after the last upd_add, before setting seq and statuses. */
static int upd_finish(update_t *u)
{
    free(u->cellp);
    u->cellp = malloc((u->n ? u->n : 1) * sizeof *u->cellp);
    if (!u->cellp)
        return -1;
    kh__feed_update__init(&u->u);
    for (size_t i = 0; i < u->n; i++) {
        u->cells[i].orgunit = u->names[i][0];
        u->cells[i].indicator = u->names[i][1];
        u->cellp[i] = &u->cells[i];
    }
    u->u.cells = u->cellp;
    u->u.n_cells = u->n;
    return 0;
}

static void upd_free(update_t *u)
{
    free(u->cells);
    free(u->cellp);
    free(u->names);
    memset(u, 0, sizeof *u);
}

/* Adds `now` cells, and tombstones for `before` cells whose key is gone. */
static int upd_diff(update_t *u, const char *period, const kh_cells_t *before,
                    const kh_cells_t *now)
{
    size_t i = 0, j = 0;
    while (i < before->n || j < now->n) {
        int c = i >= before->n ? 1 : j >= now->n ? -1 : kh_cell_cmp(&before->v[i], &now->v[j]);
        if (c < 0) {
            if (upd_add(u, period, before->v[i].orgunit, before->v[i].indicator, 0, 0, 1) < 0)
                return -1;
            i++;
        } else {
            if (upd_add(u, period, now->v[j].orgunit, now->v[j].indicator, now->v[j].sum,
                        now->v[j].n, 0) < 0)
                return -1;
            if (c == 0)
                i++;
            j++;
        }
    }
    return 0;
}

/* Loads the cells of the counted revision (report_id, revision). */
static int load_cells(agg_t *a, const char *report_id, int64_t revision, kh_cells_t *communes,
                      kh_cells_t *district)
{
    sqlite3_stmt *st = a->st_verdict_get;
    sqlite3_bind_text(st, 1, report_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, revision);
    int rc = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        Kh__Verdict *v = kh__verdict__unpack(NULL, (size_t)sqlite3_column_bytes(st, 0),
                                             sqlite3_column_blob(st, 0));
        if (v && v->report)
            rc = kh_cells_from_report(a->cat, v->report, communes, district);
        if (v)
            kh__verdict__free_unpacked(v, NULL);
    }
    sqlite3_reset(st);
    return rc;
}

/* ---- applying a verdict ------------------------------------------------------------------ */

/* Moves the cells of ancestor `anc` by the difference between the reporting unit's old
 * cells `od` and new cells `nd` (both sorted), per indicator (a merge of the two lists),
 * adding each changed cell to the feed update and the audit log.  Returns 1, or 0 on a
 * database or memory error. */
static int move_ancestor(agg_t *a, const Kh__Report *r, const char *anc, const kh_cells_t *od,
                         const kh_cells_t *nd, update_t *u)
{
    int ok = 1;
    size_t i = 0, j = 0;
    while (ok && (i < od->n || j < nd->n)) {
        int c = i >= od->n ? 1 : j >= nd->n ? -1 : strcmp(od->v[i].indicator, nd->v[j].indicator);
        const char *ind = c < 0 ? od->v[i].indicator : nd->v[j].indicator;
        double dsum = (c <= 0 ? -od->v[i].sum : 0) + (c >= 0 ? nd->v[j].sum : 0);
        int64_t dn = (c <= 0 ? -(int64_t)od->v[i].n : 0) + (c >= 0 ? (int64_t)nd->v[j].n : 0);
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
        /* the ancestor's cell before, for the audit log */
        double b_sum = 0;
        int64_t b_n = 0;
        sqlite3_stmt *st = a->st_prov_get;
        sqlite3_bind_text(st, 1, r->period, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, anc, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, ind, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            b_sum = sqlite3_column_double(st, 0);
            b_n = sqlite3_column_int64(st, 1);
        }
        sqlite3_reset(st);
        st = a->st_prov_upd;
        sqlite3_bind_text(st, 1, r->period, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, anc, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, ind, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 4, dsum);
        sqlite3_bind_int64(st, 5, dn);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
        /* read back the new cell for the feed */
        st = a->st_prov_get;
        sqlite3_bind_text(st, 1, r->period, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, anc, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, ind, -1, SQLITE_STATIC);
        if (ok && sqlite3_step(st) == SQLITE_ROW) {
            int64_t n = sqlite3_column_int64(st, 1);
            double sum = sqlite3_column_double(st, 0);
            ok = upd_add(u, r->period, anc, ind, n > 0 ? sum : 0,
                         (uint32_t)(n > 0 ? n : 0), n <= 0) == 0;
            if (ok && (sum != b_sum || n != b_n))
                ok = audit_value(a, r, anc, ind, cell_json(b_n > 0, b_sum, b_n),
                                 cell_json(n > 0, sum, n)) == 0;
        }
        sqlite3_reset(st);
    }
    return ok;
}

/* Makes r the counted revision: district cells replaced, province moved by the
 * difference, one feed update stored.  Returns the feed seq, or 0 on error. */
static uint64_t count_report(agg_t *a, const Kh__Verdict *v, const char *old_id, int64_t old_rev,
                             Kh__Finding **warn, size_t n_warn)
{
    const Kh__Report *r = v->report;
    const kh_unit_t *anc[KH_MAX_LEVELS];
    int n_anc = kh_cells_ancestors(a->cat, r->district, r->period, anc, KH_MAX_LEVELS);
    if (n_anc < 0)
        return 0;
    kh_cells_t oc = {0}, od = {0}, nc = {0}, nd = {0};
    update_t u = {0};
    Kh__Status stt = KH__STATUS__INIT, *sttp = &stt;
    uint64_t seq = 0;
    if (old_id && load_cells(a, old_id, old_rev, &oc, &od) < 0)
        goto out;
    if (kh_cells_from_report(a->cat, r, &nc, &nd) < 0)
        goto out;
    if (upd_diff(&u, r->period, &oc, &nc) < 0 || upd_diff(&u, r->period, &od, &nd) < 0)
        goto out;
    /* the reporting unit's own cells: the old revision's replaced by the new one's.  A
     * unit that reports for its subtree owns all its rows of the table (no reporting unit
     * is below it): all are deleted, whatever catalogue made them.  A unit reporting its
     * own work only (scope self) may also be an ancestor of other reporting units, whose
     * sums share its rows: only its old revision's own keys go. */
    kh_period_t pp;
    int self = kh_period_parse(r->period, &pp) == 0 &&
               kh_catalog_reports_self(a->cat, r->district, kh_period_end(&pp)) == 1;
    int ok = 1;
    /* (self: the new revision's keys go too, should a stored row have been made under
     * another catalogue than the one that recomputed the old cells) */
    for (size_t i = 0; ok && i < (self ? od.n + nd.n : 1); i++) {
        sqlite3_stmt *st = self ? a->st_total_del_key : a->st_total_del;
        sqlite3_bind_text(st, 1, r->period, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r->district, -1, SQLITE_STATIC);
        if (self)
            sqlite3_bind_text(st, 3, i < od.n ? od.v[i].indicator : nd.v[i - od.n].indicator,
                              -1, SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
    }
    for (size_t i = 0; ok && i < nd.n; i++) {
        sqlite3_stmt *st = a->st_total_ins;
        sqlite3_bind_text(st, 1, r->period, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, nd.v[i].orgunit, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, nd.v[i].indicator, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 4, nd.v[i].sum);
        sqlite3_bind_int64(st, 5, nd.v[i].n);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
    }
    ok = ok && audit_district_cells(a, r, &od, &nd) == 0;
    /* every ancestor (the province, and any level between): add new − old */
    for (int k = 0; ok && k < n_anc; k++)
        ok = move_ancestor(a, r, anc[k]->code, &od, &nd, &u);
    if (!ok) {
        KH_ERROR("db.error", sqlite3_errmsg(a->db), "report_id", r->report_id);
        goto out;
    }
    int64_t now = kh_now_ms();
    size_t warnings = n_warn;
    stt.warning_list = warn;
    stt.n_warning_list = n_warn < MAX_WARNINGS_KEPT ? n_warn : MAX_WARNINGS_KEPT;
    stt.district = r->district;
    stt.period = r->period;
    stt.report_id = r->report_id;
    stt.revision = r->revision;
    stt.received_at = r->received_at;
    stt.counted_at = now;
    stt.warnings = (uint32_t)warnings;
    if (upd_finish(&u) < 0)
        goto out;
    u.u.statuses = &sttp;
    u.u.n_statuses = 1;
    /* the sequence number is the feed row's: insert, then rewrite with seq inside */
    sqlite3_stmt *st = a->st_feed_ins;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_zeroblob(st, 2, 0);
    ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
    if (!ok)
        goto out;
    u.u.seq = (uint64_t)sqlite3_last_insert_rowid(a->db);
    uint8_t *buf;
    size_t len;
    if (kh_wire_pack(&u.u.base, &buf, &len) < 0)
        goto out;
    char sql[96];
    snprintf(sql, sizeof sql, "UPDATE feed SET payload=? WHERE seq=%llu",
             (unsigned long long)u.u.seq);
    sqlite3_stmt *up;
    ok = sqlite3_prepare_v2(a->db, sql, -1, &up, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_blob(up, 1, buf, (int)len, SQLITE_STATIC);
        ok = sqlite3_step(up) == SQLITE_DONE;
        sqlite3_finalize(up);
    }
    free(buf);
    st = a->st_counted_put;
    sqlite3_bind_text(st, 1, r->district, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->period, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, r->revision);
    sqlite3_bind_int64(st, 5, r->received_at);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_int64(st, 7, (int64_t)warnings);
    sqlite3_bind_int64(st, 8, (int64_t)u.u.seq);
    Kh__Findings fl = KH__FINDINGS__INIT;
    fl.items = stt.warning_list;
    fl.n_items = stt.n_warning_list;
    uint8_t *wbuf = NULL;
    size_t wlen = 0;
    ok = ok && kh_wire_pack(&fl.base, &wbuf, &wlen) == 0;
    sqlite3_bind_blob(st, 9, wbuf, (int)wlen, SQLITE_STATIC);
    ok = ok && sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
    free(wbuf);
    if (ok)
        seq = u.u.seq;
out:
    kh_cells_free(&oc);
    kh_cells_free(&od);
    kh_cells_free(&nc);
    kh_cells_free(&nd);
    upd_free(&u);
    return seq;
}

/* ---- previous-period rules ------------------------------------------------------------------ */

/* The validator keeps no state, so rules that compare with the previous half-year
 * ("HO.TONG within 25% of previous") run here, against the counted revision of the
 * district's previous report.  Only warnings come out of them. */
typedef struct {
    agg_t *a;
    const char *district;
    char period[16];
    Kh__Verdict *pv;          /* that period's counted verdict, or NULL */
} prev_ctx_t;

static int prev_lookup(void *arg, const char *period, const char *orgunit, const char *indicator,
                       double *out)
{
    prev_ctx_t *c = arg;
    if (strcmp(c->period, period) != 0) {
        if (c->pv)
            kh__verdict__free_unpacked(c->pv, NULL);
        c->pv = NULL;
        snprintf(c->period, sizeof c->period, "%s", period);
        sqlite3_stmt *st = c->a->st_counted_get, *vs = c->a->st_verdict_get;
        sqlite3_bind_text(st, 1, c->district, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            sqlite3_bind_text(vs, 1, (const char *)sqlite3_column_text(st, 0), -1,
                              SQLITE_TRANSIENT);
            sqlite3_bind_int64(vs, 2, sqlite3_column_int64(st, 1));
            if (sqlite3_step(vs) == SQLITE_ROW)
                c->pv = kh__verdict__unpack(NULL, (size_t)sqlite3_column_bytes(vs, 0),
                                            sqlite3_column_blob(vs, 0));
            sqlite3_reset(vs);
        }
        sqlite3_reset(st);
    }
    if (!c->pv || !c->pv->report)
        return -1;
    const kh_indicator_t *ind =
        kh_catalog_indicator(kh_catalog_for_period(c->a->cat, period), indicator);
    const Kh__Report *r = c->pv->report;
    char vi[8], en[8];
    for (size_t i = 0; ind && i < r->n_values; i++) {
        kh_value_t pv;
        if (strcmp(r->values[i]->orgunit, orgunit) == 0 &&
            strcmp(r->values[i]->indicator, indicator) == 0 &&
            kh_value_parse(ind, r->values[i]->raw, &pv, vi, sizeof vi, en, sizeof en) == 0 &&
            !pv.is_empty) {
            *out = pv.num;
            return 0;
        }
    }
    return -1;
}

/* The verdict's warnings plus those of the previous-period rules, the one check the
 * validator could not make (it has no counted values), into `out` (the pointers are
 * borrowed from v and from extra).  Returns the count, or -1. */
static int all_warnings(agg_t *a, const Kh__Verdict *v, kh_findings_t *extra, Kh__Finding ***out)
{
    prev_ctx_t ctx = {.a = a, .district = v->report->district};
    kh_validate_previous(a->cat, v->report, prev_lookup, &ctx, extra);
    if (ctx.pv)
        kh__verdict__free_unpacked(ctx.pv, NULL);
    Kh__Finding **w = malloc((v->n_findings + extra->n + 1) * sizeof *w);
    if (!w)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < v->n_findings; i++)
        if (!v->findings[i]->is_error)
            w[n++] = v->findings[i];
    /* a previous-period rule is a warning here: the report is counted already */
    for (size_t i = 0; i < extra->n; i++)
        if (!extra->items[i]->is_error)
            w[n++] = extra->items[i];
    *out = w;
    return (int)n;
}

/* ---- applying a verdict ------------------------------------------------------------------------ */

/* A rejected revision: kept for the history (payload: the verdict as stored), nothing
 * counted (the validator has told the notifier already, or refuse_bad_signature does);
 * an audit entry when it is new (reason: why the aggregator refused it, or NULL). */
static int apply_rejected(agg_t *a, const Kh__Verdict *v, const void *payload, size_t len,
                          const char *reason)
{
    const Kh__Report *r = v->report;
    sqlite3_stmt *st = a->st_reject;
    sqlite3_bind_text(st, 1, r->report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->revision);
    sqlite3_bind_text(st, 3, r->district, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->period, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, r->received_at);
    sqlite3_bind_int64(st, 6, v->validated_at);
    sqlite3_bind_blob(st, 7, payload, (int)len, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step != SQLITE_DONE)
        return KH_APPLY_FAIL;
    if (sqlite3_changes(a->db) == 0)
        return KH_APPLY_DUP;
    return audit_revision(a, r, 0, reason) < 0 ? KH_APPLY_FAIL : KH_APPLY_NEW;
}

/* ---- signatures ---------------------------------------------------------------------------- */

/* [security] verify_signatures = yes|no (default yes): count a report only when it is
 * signed by a key registered for its district and valid when it was received.  "no"
 * is for the transition while nodes have no keys, and is logged as a warning.  Opens
 * the key registry ([security] keys_db) when on.  Returns 0, or -1 after logging. */
static int signatures_setup(agg_t *a)
{
    const char *v = kh_config_raw(a->svc.cfg, "security", "verify_signatures", "yes");
    if (!strcmp(v, "yes")) {
        a->verify_signatures = 1;
    } else if (!strcmp(v, "no")) {
        a->verify_signatures = 0;
        KH_WARN("security.signatures_off", "[security] verify_signatures = no: reports are "
                "counted WITHOUT checking their reporting unit's signature (only for the "
                "transition while nodes have no keys)");
        return 0;
    } else {
        KH_ERROR("config.error", "[security] verify_signatures must be yes or no");
        return -1;
    }
    /* one connection to the registry serves the feed's ZAP handler and this check */
    return a->keys || kh_service_keys_db(&a->svc, &a->keys) == 0 ? 0 : -1;
}

/* An accepted verdict whose signature does not verify: nothing is counted; it is kept
 * as rejected with the finding BAD_SIGNATURE, and the district is told (EVENT
 * REJECTED).  Returns KH_APPLY_*. */
static int refuse_bad_signature(agg_t *a, const Kh__Verdict *v, const char *vi, const char *en)
{
    const Kh__Report *r = v->report;
    /* a resend of a verdict counted before (its key revoked since): already applied */
    sqlite3_stmt *st = a->st_verdict_get;
    sqlite3_bind_text(st, 1, r->report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->revision);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step == SQLITE_ROW)
        return KH_APPLY_DUP;
    if (step != SQLITE_DONE)
        return KH_APPLY_FAIL;
    char mvi[768], men[768];
    snprintf(mvi, sizeof mvi, "Báo cáo không được tổng hợp: %s", vi);
    snprintf(men, sizeof men, "The report is not counted: %s", en);
    kh_findings_t f = {0};
    int rc = KH_APPLY_FAIL;
    uint8_t *buf = NULL;
    size_t len;
    if (kh_findings_add(&f, "BAD_SIGNATURE", 1, 0, "", "", "", mvi, men) < 0)
        goto out;
    Kh__Verdict rv = *v;
    rv.accepted = 0;
    rv.findings = f.items;
    rv.n_findings = f.n;
    rv.validated_at = kh_now_ms();
    if (kh_wire_pack(&rv.base, &buf, &len) < 0)
        goto out;
    rc = apply_rejected(a, &rv, buf, len, "BAD_SIGNATURE");
    if (rc != KH_APPLY_NEW)
        goto out;
    if (event(a, r, KH__STAGE__STAGE_REJECTED, "rejected", f.items, f.n, 0) < 0) {
        rc = KH_APPLY_FAIL;
        goto out;
    }
    a->bad_signatures++;
    KH_WARN("report.bad_signature", men, "report_id", r->report_id, "district", r->district,
            "period", r->period, "signer", r->signer ? r->signer : "");
out:
    free(buf);
    kh_findings_clear(&f);
    return rc;
}

static int apply(void *arg, const kh_wmsg_t *m, char *key, size_t keycap)
{
    agg_t *a = arg;
    if (strcmp(m->type, KH_T_VERDICT) != 0) {
        a->malformed++;
        KH_WARN("message.malformed", "unexpected message type", "type", m->type);
        return KH_APPLY_BAD;
    }
    Kh__Verdict *v = kh__verdict__unpack(NULL, m->len, m->payload);
    /* A rejected revision is only kept for the history: its period or district may be
     * the very reason it was rejected (refusing it would leave it unacknowledged at the
     * validator, resent forever).  Only an accepted one must name a known district. */
    if (!v || !v->report || !v->report->report_id[0] || strlen(v->report->report_id) > 64 ||
        v->report->revision == 0 ||
        (v->accepted &&
         kh_cells_ancestors(a->cat, v->report->district, v->report->period, NULL, 0) < 0)) {
        a->malformed++;
        KH_WARN("verdict.malformed", "a VERDICT does not decode, has no id or revision, or "
                "(accepted) names no unit in force at its period's end");
        if (v)
            kh__verdict__free_unpacked(v, NULL);
        return KH_APPLY_BAD;
    }
    const Kh__Report *r = v->report;
    snprintf(key, keycap, "%s/%u", r->report_id, r->revision);
    if (!v->accepted) {
        int rc = apply_rejected(a, v, m->payload, m->len, NULL);
        a->rejected_kept += rc == KH_APPLY_NEW;
        kh__verdict__free_unpacked(v, NULL);
        return rc;
    }
    /* nothing is counted before the district's signature is checked */
    if (a->verify_signatures) {
        char vi[512], en[512];
        int64_t at = r->arrived_at ? r->arrived_at : r->received_at;
        int sig = kh_sign_check(a->keys, r, at, NULL, NULL, vi, sizeof vi, en, sizeof en);
        if (sig == KH_ERR)
            KH_ERROR("security.registry", en, "report_id", r->report_id, "district",
                     r->district);
        if (sig != KH_OK) {
            /* the registry's trouble is retried, never held against the district */
            int rc = sig == KH_ERR ? KH_APPLY_FAIL : refuse_bad_signature(a, v, vi, en);
            kh__verdict__free_unpacked(v, NULL);
            return rc;
        }
    }
    int rc = KH_APPLY_FAIL;
    kh_findings_t extra = {0};
    Kh__Finding **warn = NULL;
    int n_warn = all_warnings(a, v, &extra, &warn);
    if (n_warn < 0)
        goto out;
    sqlite3_stmt *st = a->st_accept;
    sqlite3_bind_text(st, 1, r->report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->revision);
    sqlite3_bind_text(st, 3, r->district, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->period, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, r->received_at);
    sqlite3_bind_int64(st, 6, kh_now_ms());
    sqlite3_bind_int64(st, 7, n_warn);
    sqlite3_bind_blob(st, 8, m->payload, (int)m->len, SQLITE_STATIC);
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
    if (audit_revision(a, r, 1, NULL) < 0)
        goto out;
    if (event(a, r, KH__STAGE__STAGE_ACCEPTED, "accepted", warn, (size_t)n_warn, 0) < 0)
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
        rc = event(a, r, KH__STAGE__STAGE_SUPERSEDED, "superseded", NULL, 0, 0) < 0
                 ? KH_APPLY_FAIL : KH_APPLY_NEW;
        goto out;
    }
    uint64_t seq = count_report(a, v, old_id[0] ? old_id : NULL, old_rev, warn, (size_t)n_warn);
    if (seq == 0 || event(a, r, KH__STAGE__STAGE_COUNTED, "counted", NULL, 0, seq) < 0)
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
    if (rc == KH_APPLY_FAIL)
        KH_ERROR("report.apply", "could not apply; the batch is rolled back and will be resent",
                 "report_id", r->report_id, "error", sqlite3_errmsg(a->db));
    free(warn);
    kh_findings_clear(&extra);
    kh__verdict__free_unpacked(v, NULL);
    return rc;
}

/* ---- publishing and serving the feed -------------------------------------------------------- */

static void publish(agg_t *a)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(a->db, "SELECT seq,payload FROM feed WHERE seq>? ORDER BY seq", -1,
                           &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, (int64_t)a->published_seq);
    while (sqlite3_step(st) == SQLITE_ROW) {
        /* PUB never blocks: a slow subscriber loses updates and fills the gap from
         * the snapshot socket, by sequence number */
        kh_wire_send_raw(a->pub, NULL, 0, KH_T_FEED, sqlite3_column_blob(st, 1),
                         (size_t)sqlite3_column_bytes(st, 1));
        a->published_seq = (uint64_t)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
}

static uint64_t max_seq(agg_t *a, uint64_t *min_out)
{
    sqlite3_stmt *st;
    uint64_t mx = 0, mn = 0;
    if (sqlite3_prepare_v2(a->db, "SELECT ifnull(max(seq),0), ifnull(min(seq),0) FROM feed", -1,
                           &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            mx = (uint64_t)sqlite3_column_int64(st, 0);
            mn = (uint64_t)sqlite3_column_int64(st, 1);
        }
        sqlite3_finalize(st);
    }
    if (min_out)
        *min_out = mn;
    return mx;
}

/* Whole state: per counted (reporting unit, period) the cells of its units and its
 * status; per period every cell of the total table (the ancestors' sums).  Returns 0, or -1 when
 * a send failed. */
static int send_snapshot(agg_t *a, const kh_wmsg_t *m)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(a->db, "SELECT district,period,report_id,revision,received_at,"
                                  "counted_at,warnings,warning_list FROM counted "
                                  "ORDER BY period,district",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        Kh__Status stt = KH__STATUS__INIT, *sttp = &stt;
        stt.district = (char *)sqlite3_column_text(st, 0);
        stt.period = (char *)sqlite3_column_text(st, 1);
        stt.report_id = (char *)sqlite3_column_text(st, 2);
        stt.revision = (uint32_t)sqlite3_column_int64(st, 3);
        stt.received_at = sqlite3_column_int64(st, 4);
        stt.counted_at = sqlite3_column_int64(st, 5);
        stt.warnings = (uint32_t)sqlite3_column_int64(st, 6);
        Kh__Findings *wl = sqlite3_column_bytes(st, 7) > 0
                               ? kh__findings__unpack(NULL, (size_t)sqlite3_column_bytes(st, 7),
                                                      sqlite3_column_blob(st, 7))
                               : NULL;
        if (wl) {
            stt.warning_list = wl->items;
            stt.n_warning_list = wl->n_items;
        }
        kh_cells_t c = {0}, d = {0}, none = {0};
        update_t u = {0};
        rc = load_cells(a, stt.report_id, stt.revision, &c, &d);
        if (rc == 0)
            rc = upd_diff(&u, stt.period, &none, &c) | upd_diff(&u, stt.period, &none, &d);
        if (rc == 0 && upd_finish(&u) == 0) {
            u.u.statuses = &sttp;
            u.u.n_statuses = 1;
            rc = kh_wire_send(a->snap, m->rid, m->rid_len, KH_T_FEED, &u.u.base);
        }
        kh_cells_free(&c);
        kh_cells_free(&d);
        upd_free(&u);
        if (wl)
            kh__findings__free_unpacked(wl, NULL);
    }
    sqlite3_finalize(st);
    if (rc < 0 || sqlite3_prepare_v2(a->db, "SELECT period,orgunit,indicator,sum,n FROM total "
                                            "WHERE n > 0 ORDER BY period", -1,
                                     &st, NULL) != SQLITE_OK)
        return -1;
    update_t u = {0};
    char period[16] = "";
    int more;
    do {
        more = sqlite3_step(st) == SQLITE_ROW;
        const char *p = more ? (const char *)sqlite3_column_text(st, 0) : "";
        /* one message per period, and per SNAPSHOT_CELLS cells: a large tree's period
         * (3,300 communes) would not fit in one message */
        if (u.n && (!more || strcmp(p, period) != 0 || u.n >= SNAPSHOT_CELLS)) {
            if (upd_finish(&u) < 0 ||
                kh_wire_send(a->snap, m->rid, m->rid_len, KH_T_FEED, &u.u.base) < 0)
                rc = -1;
            upd_free(&u);
        }
        if (more && rc == 0) {
            /* every stored cell: the ancestors' sums, and the reporting units' own cells
             * once more (they went with their reports above; the same values) */
            snprintf(period, sizeof period, "%s", p);
            if (upd_add(&u, period, (const char *)sqlite3_column_text(st, 1),
                        (const char *)sqlite3_column_text(st, 2), sqlite3_column_double(st, 3),
                        (uint32_t)sqlite3_column_int64(st, 4), 0) < 0)
                rc = -1;
        }
    } while (more && rc == 0);
    upd_free(&u);
    sqlite3_finalize(st);
    return rc;
}

/* ---- history of one district's report for one half-year -------------------------------------- */

#define HISTORY_MAX_REVISIONS 100
#define HISTORY_MAX_CHANGES 5000     /* per revision */

static int cmp_value(const void *x, const void *y)
{
    const Kh__Value *a = *(Kh__Value *const *)x, *b = *(Kh__Value *const *)y;
    int c = strcmp(a->orgunit, b->orgunit);
    return c ? c : strcmp(a->indicator, b->indicator);
}

/* Sorted copy of r's value pointers; NULL when out of memory. */
static Kh__Value **sorted_values(const Kh__Report *r)
{
    Kh__Value **v = malloc((r->n_values + 1) * sizeof *v);
    if (!v)
        return NULL;
    memcpy(v, r->values, r->n_values * sizeof *v);
    qsort(v, r->n_values, sizeof *v, cmp_value);
    return v;
}

/* Fills e->changes with what differs from prev to cur (strings borrowed).
 * Returns 0 or -1. */
static int diff_values(Kh__HistoryEntry *e, const Kh__Report *prev, const Kh__Report *cur)
{
    Kh__Value **p = sorted_values(prev), **c = sorted_values(cur);
    size_t cap = prev->n_values + cur->n_values;
    Kh__Change *ch = calloc(cap + 1, sizeof *ch);
    Kh__Change **chp = calloc(cap + 1, sizeof *chp);
    if (!p || !c || !ch || !chp) {
        free(p), free(c), free(ch), free(chp);
        return -1;
    }
    size_t i = 0, j = 0, n = 0;
    while ((i < prev->n_values || j < cur->n_values) && n < HISTORY_MAX_CHANGES) {
        int k = i >= prev->n_values ? 1 : j >= cur->n_values ? -1 : cmp_value(&p[i], &c[j]);
        const Kh__Value *before = k <= 0 ? p[i] : NULL, *after = k >= 0 ? c[j] : NULL;
        if (k <= 0)
            i++;
        if (k >= 0)
            j++;
        if (before && after && strcmp(before->raw, after->raw) == 0)
            continue;
        kh__change__init(&ch[n]);
        const Kh__Value *any = before ? before : after;
        ch[n].orgunit = any->orgunit;
        ch[n].indicator = any->indicator;
        ch[n].before = before ? before->raw : "";
        ch[n].after = after ? after->raw : "";
        chp[n] = &ch[n];
        n++;
    }
    free(p);
    free(c);
    if (n == 0) {
        free(ch);
        free(chp);
        return 0;
    }
    e->changes = chp;
    e->n_changes = n;
    return 0;
}

static void on_history(agg_t *a, const kh_wmsg_t *m)
{
    Kh__HistoryRequest *req = kh__history_request__unpack(NULL, m->len, m->payload);
    if (!req || strlen(req->district) >= KH_CODE_MAX || strlen(req->period) > 16) {
        a->malformed++;
        KH_WARN("history.malformed", "bad history request");
        if (req)
            kh__history_request__free_unpacked(req, NULL);
        return;
    }
    kh_inbox_flush(a->inbox);
    char report_id[KH_REPORT_ID_MAX];
    kh_report_id(report_id, sizeof report_id, req->district, req->period);   /* too long: "" */
    Kh__History h = KH__HISTORY__INIT;
    h.district = req->district;
    h.period = req->period;
    Kh__HistoryEntry *entries = calloc(HISTORY_MAX_REVISIONS, sizeof *entries);
    Kh__HistoryEntry **ep = calloc(HISTORY_MAX_REVISIONS, sizeof *ep);
    Kh__Verdict **keep = calloc(HISTORY_MAX_REVISIONS, sizeof *keep);
    int64_t counted_rev = -1;
    sqlite3_stmt *st = a->st_counted_get;
    sqlite3_bind_text(st, 1, req->district, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, req->period, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        counted_rev = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    sqlite3_stmt *q = NULL;
    if (entries && ep && keep &&
        sqlite3_prepare_v2(a->db, "SELECT revision,received_at,accepted_at,1,verdict FROM accepted "
                                  "WHERE report_id=?1 UNION ALL SELECT revision,received_at,"
                                  "rejected_at,0,verdict FROM rejected WHERE report_id=?1 "
                                  "ORDER BY 1 LIMIT ?2", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, report_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 2, HISTORY_MAX_REVISIONS + 1);
        const Kh__Report *prev = NULL;
        while (sqlite3_step(q) == SQLITE_ROW) {
            if (h.n_entries == HISTORY_MAX_REVISIONS) {
                h.truncated = 1;
                break;
            }
            Kh__Verdict *v = kh__verdict__unpack(NULL, (size_t)sqlite3_column_bytes(q, 4),
                                                 sqlite3_column_blob(q, 4));
            if (!v || !v->report) {
                if (v)
                    kh__verdict__free_unpacked(v, NULL);
                continue;
            }
            Kh__HistoryEntry *e = &entries[h.n_entries];
            kh__history_entry__init(e);
            keep[h.n_entries] = v;
            ep[h.n_entries++] = e;
            e->revision = (uint32_t)sqlite3_column_int64(q, 0);
            e->received_at = sqlite3_column_int64(q, 1);
            e->decided_at = sqlite3_column_int64(q, 2);
            e->accepted = sqlite3_column_int(q, 3) != 0;
            e->counted = (int64_t)e->revision == counted_rev;
            e->findings = v->findings;
            e->n_findings = v->n_findings;
            e->source_name = v->report->source_name;
            e->n_values = (uint32_t)v->report->n_values;
            if (e->accepted) {
                if (prev)
                    diff_values(e, prev, v->report);
                prev = v->report;
            }
        }
        sqlite3_finalize(q);
    }
    h.entries = ep;
    if (kh_wire_send(a->snap, m->rid, m->rid_len, KH_T_HISTORY, &h.base) < 0)
        KH_WARN("history.send", "history reply not sent (client slow or gone)");
    for (size_t i = 0; i < h.n_entries; i++) {
        if (entries[i].n_changes) {
            free(entries[i].changes[0]);     /* the Kh__Change array */
            free(entries[i].changes);
        }
        kh__verdict__free_unpacked(keep[i], NULL);
    }
    free(entries);
    free(ep);
    free(keep);
    kh__history_request__free_unpacked(req, NULL);
}

static void on_snapshot(kh_zsock_t *s, zmq_msg_t *parts, int n, void *arg)
{
    agg_t *a = arg;
    (void)s;
    kh_wmsg_t m;
    Kh__FeedRequest *req = NULL;
    if (kh_wire_parse(parts, n, 1, &m) == 0 && strcmp(m.type, KH_T_HIST_REQ) == 0) {
        on_history(a, &m);
        return;
    }
    if (kh_wire_parse(parts, n, 1, &m) < 0 || strcmp(m.type, KH_T_FEED_REQ) != 0 ||
        !(req = kh__feed_request__unpack(NULL, m.len, m.payload))) {
        a->malformed++;
        KH_WARN("feed.malformed", "bad snapshot request");
        return;
    }
    kh_inbox_flush(a->inbox);     /* serve committed state only */
    uint64_t mn, mx = max_seq(a, &mn);
    Kh__FeedEnd end = KH__FEED_END__INIT;
    end.seq = mx;
    end.complete = 1;
    int rc = 0;
    if (req->from_seq == 0) {
        rc = send_snapshot(a, &m);
    } else {
        uint64_t to = req->to_seq && req->to_seq < mx ? req->to_seq : mx;
        if (to < req->from_seq)
            to = req->from_seq - 1;             /* nothing newer: an empty range */
        else if (to - req->from_seq >= RANGE_MAX)
            to = req->from_seq + RANGE_MAX - 1;
        end.seq = to;
        /* a subscriber ahead of the feed (its seq from a feed since reset) must take a
         * snapshot: an empty "complete" range would leave it waiting for seqs never sent */
        end.complete = mn != 0 && req->from_seq >= mn && req->from_seq <= mx + 1;
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(a->db, "SELECT payload FROM feed WHERE seq BETWEEN ? AND ? "
                                      "ORDER BY seq", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, (int64_t)req->from_seq);
            sqlite3_bind_int64(st, 2, (int64_t)to);
            while (rc == 0 && sqlite3_step(st) == SQLITE_ROW)
                rc = kh_wire_send_raw(a->snap, m.rid, m.rid_len, KH_T_FEED,
                                      sqlite3_column_blob(st, 0),
                                      (size_t)sqlite3_column_bytes(st, 0));
            sqlite3_finalize(st);
        }
    }
    if (rc == 0)
        kh_wire_send(a->snap, m.rid, m.rid_len, KH_T_FEED_END, &end.base);
    else
        KH_WARN("feed.snapshot", "snapshot reply cut short (subscriber slow or gone)");
    kh__feed_request__free_unpacked(req, NULL);
}

/* ---- the audit log's checkpoints ------------------------------------------------------------ */

/* [aggregator] audit_key (made with its .pub at the first start) and audit_checkpoints:
 * anchors the audit log (lib/kh_audit.h).  Returns 0, or -1 after logging why and what
 * to do (the aggregator does not start: entries signed before are gone or changed, the
 * key is lost, or a file cannot be written). */
static int audit_anchor(agg_t *a)
{
    char key_path[1024], cp_path[1024], err[1536], fp[17];
    if (kh_service_str(&a->svc, "aggregator", "audit_key", KH_AUDIT_KEY_DEFAULT, key_path,
                       sizeof key_path) ||
        kh_service_str(&a->svc, "aggregator", "audit_checkpoints", KH_AUDIT_CHECKPOINTS_DEFAULT,
                       cp_path, sizeof cp_path))
        return -1;
    kh_key_t k;
    int created = 0;
    if (kh_key_own(key_path, "audit", "aggregator", &k, &created, err, sizeof err) < 0) {
        KH_ERROR("audit.key", err, "key", key_path);
        return -1;
    }
    kh_key_fingerprint(k.ed_pk, fp);
    if (created)
        KH_WARN("audit.key_created", "a new audit key signs the audit log's checkpoints from "
                "now on: keep a copy of its .pub (and a backup of the key) off this machine; "
                "kh-admin audit verify checks with the .pub", "key", key_path,
                "fingerprint", fp);
    int rc = kh_audit_anchor(a->audit, cp_path, &k, created, err, sizeof err);
    sodium_memzero(&k, sizeof k);
    if (rc < 0) {
        KH_ERROR("audit.anchor", err, "checkpoints", cp_path, "key", key_path,
                 "fingerprint", fp);
        return -1;
    }
    return 0;
}

/* ---- wiring ----------------------------------------------------------------------------------- */

static void pump(agg_t *a)
{
    kh_link_pump(a->to_notifier);
    kh_service_gate(&a->svc, a->in, kh_outbox_depth(kh_link_outbox(a->to_notifier)));
}

static void committed(void *arg)
{
    agg_t *a = arg;
    kh_audit_checkpoint(a->audit);     /* logs its own failure; retried after the next commit */
    publish(a);
    pump(a);
}

static void on_pump_timer(uv_timer_t *t) { pump(t->data); }

static void on_router(kh_zsock_t *s, zmq_msg_t *parts, int n, void *arg)
{
    agg_t *a = arg;
    kh_wmsg_t m;
    if (kh_wire_parse(parts, n, 1, &m) < 0) {
        a->malformed++;
        KH_WARN("message.malformed", "wrong frames");
        return;
    }
    kh_inbox_add(a->inbox, s, &m);
}

static void say_ready(void *arg)
{
    agg_t *a = arg;
    char seqs[24];
    snprintf(seqs, sizeof seqs, "%llu", (unsigned long long)a->published_seq);
    kh_service_ready(&a->svc, a->curve ? "counting; feed on CURVE, registered keys only"
                                      : "counting; feed WITHOUT CURVE", "seq", seqs);
}

static void on_stop(kh_service_t *s)
{
    agg_t *a = (agg_t *)s;
    kh_zap_close(a->zap);
    a->zap = NULL;
    kh_inbox_close(a->inbox);
    uv_close((uv_handle_t *)&a->pump_timer, NULL);
    kh_zsock_close(a->in);
    kh_zsock_close(a->pub);
    kh_zsock_close(a->snap);
    kh_link_destroy(&a->to_notifier);
}

int main(int argc, char **argv)
{
    static agg_t a;
    int rc = kh_service_init(&a.svc, "aggregator", "aggregator", argc, argv,
                             "Counts accepted reports and publishes the province feed.\n");
    if (rc)
        return rc > 0 ? 0 : 1;
    kh_service_t *s = &a.svc;
    char db_path[1024], listen[1024], notif[1024], feed[1024], snap[1024], err[512];
    if (kh_service_str(s, "aggregator", "db", "%RUN%/aggregator.db", db_path, sizeof db_path) ||
        kh_service_str(s, "aggregator", "listen", NULL, listen, sizeof listen) ||
        kh_service_str(s, "aggregator", "feed", NULL, feed, sizeof feed) ||
        kh_service_str(s, "aggregator", "snapshot", NULL, snap, sizeof snap) ||
        kh_service_str(s, "notifier", "listen", NULL, notif, sizeof notif))
        return 1;
    if (!(a.cat = kh_service_catalog(s)))
        return 1;
    if (kh_db_open(&a.db, db_path, migrations, sizeof migrations / sizeof *migrations, err,
                   sizeof err) < 0) {
        KH_ERROR("db.open", err);
        return 1;
    }
    a.st_accept = kh_db_prepare(a.db, "INSERT INTO accepted(report_id,revision,district,period,"
                                      "received_at,accepted_at,warnings,verdict) "
                                      "VALUES(?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING");
    a.st_reject = kh_db_prepare(a.db, "INSERT INTO rejected(report_id,revision,district,period,"
                                      "received_at,rejected_at,verdict) VALUES(?,?,?,?,?,?,?) "
                                      "ON CONFLICT DO NOTHING");
    a.st_counted_get = kh_db_prepare(a.db, "SELECT report_id,revision FROM counted "
                                           "WHERE district=? AND period=?");
    a.st_verdict_get = kh_db_prepare(a.db, "SELECT verdict FROM accepted "
                                           "WHERE report_id=? AND revision=?");
    a.st_total_del = kh_db_prepare(a.db, "DELETE FROM total WHERE period=? AND orgunit=?");
    a.st_total_del_key = kh_db_prepare(a.db, "DELETE FROM total WHERE period=? AND orgunit=? "
                                             "AND indicator=?");
    a.st_total_ins = kh_db_prepare(a.db, "INSERT INTO total(period,orgunit,indicator,sum,n) "
                                         "VALUES(?,?,?,?,?)");
    a.st_prov_upd = kh_db_prepare(a.db, "INSERT INTO total(period,orgunit,indicator,sum,n) "
                                        "VALUES(?1,?2,?3,?4,?5) ON CONFLICT DO UPDATE SET "
                                        "sum=sum+excluded.sum, n=n+excluded.n");
    a.st_prov_get = kh_db_prepare(a.db, "SELECT sum,n FROM total WHERE period=? AND orgunit=? "
                                        "AND indicator=?");
    a.st_feed_ins = kh_db_prepare(a.db, "INSERT INTO feed(at,payload) VALUES(?,?)");
    a.st_counted_put = kh_db_prepare(a.db, "INSERT OR REPLACE INTO counted(district,period,"
                                           "report_id,revision,received_at,counted_at,warnings,"
                                           "seq,warning_list) VALUES(?,?,?,?,?,?,?,?,?)");
    if (!a.st_accept || !a.st_reject || !a.st_counted_get || !a.st_verdict_get || !a.st_total_del ||
        !a.st_total_del_key ||
        !a.st_total_ins || !a.st_prov_upd || !a.st_prov_get || !a.st_feed_ins ||
        !a.st_counted_put)
        return 1;
    if (!(a.audit = kh_audit_new(a.db)) || audit_anchor(&a) < 0)
        return 1;
    a.published_seq = max_seq(&a, NULL);
    kh_zopts_t ro = s->zopts;
    ro.router = 1;
    a.in = kh_zsock_new(&s->loop, s->zctx, ZMQ_ROUTER, &ro, on_router, &a);
    /* the province feed (PUB and its snapshot ROUTER) may cross machines: CURVE, and only
     * registered province and admin keys get in (fail closed, like the collector) */
    kh_zopts_t so = ro;
    kh_zopts_t po = s->zopts;
    if ((a.curve = kh_service_curve(s)) < 0)
        return 1;
    if (a.curve) {
        if (kh_service_curve_server(s, "feed:province,admin", &a.server, &a.keys, &a.zap) < 0)
            return 1;
        so.curve_server_sk = po.curve_server_sk = a.server.curve_sk;
        so.zap_domain = po.zap_domain = "feed";
    }
    a.snap = kh_zsock_new(&s->loop, s->zctx, ZMQ_ROUTER, &so, on_snapshot, &a);
    po.hwm = 100000;   /* a PUB drops at its mark; be generous, gaps are refilled anyway */
    a.pub = kh_zsock_new(&s->loop, s->zctx, ZMQ_PUB, &po, NULL, NULL);
    if (!a.in || !a.snap || !a.pub || kh_zsock_bind(a.in, listen) < 0 ||
        kh_zsock_bind(a.snap, snap) < 0 || kh_zsock_bind(a.pub, feed) < 0) {
        KH_ERROR("service.start", "cannot bind", "listen", listen, "feed", feed, "snapshot",
                 snap, "error", zmq_strerror(zmq_errno()));
        return 1;
    }
    a.to_notifier = kh_link_new(&s->loop, s->zctx, &s->zopts, notif, a.db, "notifier",
                                (int)s->window, (int)s->resend_ms);
    a.inbox = kh_inbox_new(&s->loop, a.db, (int)s->batch_max, (int)s->batch_ms, apply,
                           committed, &a);
    if (!a.to_notifier || !a.inbox || signatures_setup(&a) < 0)
        return 1;
    uv_timer_init(&s->loop, &a.pump_timer);
    a.pump_timer.data = &a;
    uv_timer_start(&a.pump_timer, on_pump_timer, 100, 100);
    s->on_stop = on_stop;
    /* health (kh-admin status, GET /metrics; lib/kh_metrics.h) */
    kh_service_watch_count(s, "kh_reports_counted_total", "Revisions counted (each replaces "
                           "the one counted before for its reporting unit and period).", NULL,
                           NULL, &a.counted);
    kh_service_watch_count(s, "kh_reports_superseded_total", "Accepted revisions not counted: "
                           "a later one was counted already.", NULL, NULL, &a.superseded);
    kh_service_watch_count(s, "kh_reports_rejected_total", "Accepted reports not counted: "
                           "their signature does not verify.", "reason", "signature",
                           &a.bad_signatures);
    kh_service_watch_count(s, "kh_verdicts_rejected_total", "Rejected revisions received "
                           "from the validator, kept for the history.", NULL, NULL,
                           &a.rejected_kept);
    kh_service_watch_count(s, "kh_messages_malformed_total", "Malformed messages refused "
                           "(inbox, snapshot and history requests).", NULL, NULL, &a.malformed);
    if (!a.curve)
        kh_service_on_ready(s, say_ready, &a);
    else if (kh_service_selfcheck(s, a.snap, a.server.curve_pk, say_ready, &a) < 0)
        return 1;
    kh_service_run(s);
    sqlite3_stmt *sts[] = {a.st_accept, a.st_reject, a.st_counted_get, a.st_verdict_get, a.st_total_del,
                           a.st_total_del_key,
                           a.st_total_ins, a.st_prov_upd, a.st_prov_get, a.st_feed_ins,
                           a.st_counted_put};
    for (size_t i = 0; i < sizeof sts / sizeof *sts; i++)
        sqlite3_finalize(sts[i]);
    kh_audit_checkpoint(a.audit);      /* nothing committed stays unsigned (done at each commit) */
    kh_audit_destroy(&a.audit);
    kh_db_close(&a.db);
    kh_db_close(&a.keys);
    kh_catalog_destroy(&a.cat);
    kh_service_fini(s);
    return s->exit_code;
}
