/*
 * ledger.c — counting a revision and keeping a rejected one; see ledger.h.
 *
 * The old revision's cells are not read from the total table but recomputed from its
 * stored verdict (ag_ledger_load_cells) with the catalogue loaded now, by the arithmetic
 * (lib/model/kh_cells.h) that made the rows now taken out; the counted revision's cells are
 * kept in memory when it is counted (cache.h), so that the next revision usually finds
 * them there (the same cells: one catalogue per process).  Two sorted lists,
 * old and new, are merged: by (orgunit, indicator) for the feed's tombstones and the
 * district's audit entries, by indicator for each ancestor's difference.  Only the rows
 * that change are written: the reporting unit's stored rows and each ancestor's are read
 * at once (one range of the table's key, in the cells' order) and merged in too.
 */
#include "ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cache.h"
#include "kh_log.h"
#include "kh_report.h"
#include "kh_util.h"
#include "kh_wire.h"
#include "store.h"
#include "update.h"

int ag_ledger_load_cells(agg_t *a, const char *report_id, int64_t revision,
                         kh_cells_t *communes, kh_cells_t *district)
{
    if (ag_cache_get(a->cache, report_id, revision, communes, district) == KH_OK)
        return 0;
    sqlite3_stmt *st = a->st_verdict_get;
    sqlite3_bind_text(st, 1, report_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, revision);
    int rc = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        Kh__Verdict *v = ag_store_unpack(sqlite3_column_blob(st, 0),
                                         (size_t)sqlite3_column_bytes(st, 0));
        if (v && v->report)
            rc = kh_cells_from_report(a->cat, v->report, communes, district);
        if (v)
            kh__verdict__free_unpacked(v, NULL);
    }
    sqlite3_reset(st);
    return rc;
}

/* The rows of the total table of (period, orgunit), sorted by indicator (the table's key
 * order, BINARY: strcmp's), into *out (empty).  Returns 1, or 0 on a database or memory
 * error. */
static int read_rows(agg_t *a, const char *period, const char *orgunit, kh_cells_t *out)
{
    sqlite3_stmt *st = a->st_total_rows;
    sqlite3_bind_text(st, 1, period, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, orgunit, -1, SQLITE_STATIC);
    int step, ok = 1;
    while (ok && (step = sqlite3_step(st)) == SQLITE_ROW)
        ok = kh_cells_push(out, orgunit, (const char *)sqlite3_column_text(st, 0),
                           sqlite3_column_double(st, 1),
                           (uint32_t)sqlite3_column_int64(st, 2)) == 0;
    ok = ok && step == SQLITE_DONE;
    sqlite3_reset(st);
    return ok;
}

/* One row of the total table: deleted (c NULL), or set to c's sum and n.  Returns 1, or
 * 0 on a database error. */
static int write_row(agg_t *a, const char *period, const char *orgunit, const char *indicator,
                     const kh_cell_t *c)
{
    sqlite3_stmt *st = c ? a->st_total_set : a->st_total_del_key;
    sqlite3_bind_text(st, 1, period, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, orgunit, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, indicator, -1, SQLITE_STATIC);
    if (c) {
        sqlite3_bind_double(st, 4, c->sum);
        sqlite3_bind_int64(st, 5, c->n);
    }
    int ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
    return ok;
}

/* The reporting unit's own rows of the total table made nd's (sorted by indicator),
 * writing only the rows that change.  A unit that reports for its subtree owns all its
 * rows (no reporting unit is below it): a row nd has not goes, whatever catalogue made
 * it.  A unit reporting its own work only (scope self) may also be an ancestor of other
 * reporting units, whose sums share its rows: only its old revision's keys (od's) go,
 * and nd's keys are set, should a stored row have been made under another catalogue
 * than the one that recomputed the old cells.  Returns 1, or 0 on a database or memory
 * error. */
static int replace_own(agg_t *a, const Kh__Report *r, int self, const kh_cells_t *od,
                       const kh_cells_t *nd)
{
    kh_cells_t have = {0};
    const kh_cells_t *old = self ? od : &have;
    int ok = self || read_rows(a, r->period, r->district, &have);
    size_t i = 0, j = 0;
    while (ok && (i < old->n || j < nd->n)) {
        int c = i >= old->n  ? 1
                : j >= nd->n ? -1
                             : strcmp(old->v[i].indicator, nd->v[j].indicator);
        const kh_cell_t *o = c <= 0 ? &old->v[i++] : NULL, *n = c >= 0 ? &nd->v[j++] : NULL;
        if (self || !o || !n || o->sum != n->sum || o->n != n->n)
            ok = write_row(a, r->period, r->district, n ? n->indicator : o->indicator, n);
    }
    kh_cells_free(&have);
    return ok;
}

/* Moves the cells of ancestor `anc` by the difference between the reporting unit's old
 * cells `od` and new cells `nd` (both sorted), per indicator (a merge of the two lists
 * and of the ancestor's rows, read at once), adding each changed cell to the feed update
 * and the audit log.  A cell's new value is the one the upsert stores (its sum plus the
 * difference, as SQLite adds two reals; the difference itself for a new row).  Returns
 * 1, or 0 on a database or memory error. */
static int move_ancestor(agg_t *a, const Kh__Report *r, const char *anc, const kh_cells_t *od,
                         const kh_cells_t *nd, ag_update_t *u)
{
    kh_cells_t have = {0};
    int ok = read_rows(a, r->period, anc, &have);
    size_t i = 0, j = 0, h = 0;
    while (ok && (i < od->n || j < nd->n)) {
        int c = i >= od->n ? 1 : j >= nd->n ? -1 : strcmp(od->v[i].indicator, nd->v[j].indicator);
        const char *ind = c < 0 ? od->v[i].indicator : nd->v[j].indicator;
        double dsum = (c <= 0 ? -od->v[i].sum : 0) + (c >= 0 ? nd->v[j].sum : 0);
        int64_t dn = (c <= 0 ? -(int64_t)od->v[i].n : 0) + (c >= 0 ? (int64_t)nd->v[j].n : 0);
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
        /* the ancestor's cell does not move: nothing to write, send or audit */
        if (dsum == 0 && dn == 0)
            continue;
        /* the ancestor's cell before (its row, if any: the rows are sorted as ind) */
        while (h < have.n && strcmp(have.v[h].indicator, ind) < 0)
            h++;
        int found = h < have.n && strcmp(have.v[h].indicator, ind) == 0;
        double b_sum = found ? have.v[h].sum : 0;
        int64_t b_n = found ? have.v[h].n : 0;
        sqlite3_stmt *st = a->st_prov_upd;
        sqlite3_bind_text(st, 1, r->period, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, anc, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, ind, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 4, dsum);
        sqlite3_bind_int64(st, 5, dn);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
        /* the new cell, for the feed */
        double sum = found ? b_sum + dsum : dsum;
        int64_t n = found ? b_n + dn : dn;
        ok = ok && ag_update_add(u, r->period, anc, ind, n > 0 ? sum : 0,
                                 (uint32_t)(n > 0 ? n : 0), n <= 0) == 0;
        if (ok && (sum != b_sum || n != b_n))
            ok = ag_audit_value(a, r, anc, ind, ag_audit_cell(b_n > 0, b_sum, b_n),
                                ag_audit_cell(n > 0, sum, n)) == 0;
    }
    kh_cells_free(&have);
    return ok;
}

uint64_t ag_ledger_count(agg_t *a, const Kh__Verdict *v, const char *old_id, int64_t old_rev,
                         Kh__Finding **warn, size_t n_warn)
{
    const Kh__Report *r = v->report;
    const kh_unit_t *anc[KH_MAX_LEVELS];
    int n_anc = kh_cells_ancestors(a->cat, r->district, r->period, anc, KH_MAX_LEVELS);
    if (n_anc < 0)
        return 0;
    kh_cells_t oc = {0}, od = {0}, nc = {0}, nd = {0};
    ag_update_t u = {0};
    Kh__Status stt = KH__STATUS__INIT, *sttp = &stt;
    uint64_t seq = 0;
    if (old_id && ag_ledger_load_cells(a, old_id, old_rev, &oc, &od) < 0)
        goto out;
    if (kh_cells_from_report(a->cat, r, &nc, &nd) < 0)
        goto out;
    if (ag_update_diff(&u, r->period, &oc, &nc) < 0 ||
        ag_update_diff(&u, r->period, &od, &nd) < 0)
        goto out;
    /* the reporting unit's own cells: the old revision's replaced by the new one's */
    kh_period_t pp;
    int self = kh_period_parse(r->period, &pp) == 0 &&
               kh_catalog_reports_self(a->cat, r->district, kh_period_end(&pp)) == 1;
    int ok = replace_own(a, r, self, &od, &nd);
    ok = ok && ag_audit_district_cells(a, r, &od, &nd) == 0;
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
    stt.n_warning_list = n_warn < AG_LEDGER_WARNINGS_KEPT ? n_warn : AG_LEDGER_WARNINGS_KEPT;
    stt.district = r->district;
    stt.period = r->period;
    stt.report_id = r->report_id;
    stt.revision = r->revision;
    stt.received_at = r->received_at;
    stt.counted_at = now;
    stt.warnings = (uint32_t)warnings;
    if (ag_update_finish(&u) < 0)
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
    st = a->st_feed_upd;
    sqlite3_bind_blob(st, 1, buf, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)u.u.seq);
    ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
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
    if (ok) {
        seq = u.u.seq;
        /* the next revision's count reads these cells back (undone with this count: see
         * cache.h) */
        if (old_id && strcmp(old_id, r->report_id) != 0)
            ag_cache_drop(a->cache, old_id);
        ag_cache_put(a->cache, r->report_id, r->revision, &nc, &nd);
    }
out:
    kh_cells_free(&oc);
    kh_cells_free(&od);
    kh_cells_free(&nc);
    kh_cells_free(&nd);
    ag_update_free(&u);
    return seq;
}

/* Nothing is told here: the validator has told the notifier already, or
 * ag_signatures_refuse does. */
int ag_ledger_reject(agg_t *a, const Kh__Verdict *v, const void *payload, size_t len,
                     const char *reason)
{
    const Kh__Report *r = v->report;
    uint8_t *stored;             /* the verdict in its stored form (store.h) */
    size_t stored_len;
    if (ag_store_pack(payload, len, &stored, &stored_len) < 0)
        return KH_APPLY_FAIL;
    sqlite3_stmt *st = a->st_reject;
    sqlite3_bind_text(st, 1, r->report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->revision);
    sqlite3_bind_text(st, 3, r->district, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->period, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, r->received_at);
    sqlite3_bind_int64(st, 6, v->validated_at);
    sqlite3_bind_blob64(st, 7, stored, stored_len, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    free(stored);
    if (step != SQLITE_DONE)
        return KH_APPLY_FAIL;
    if (sqlite3_changes(a->db) == 0)
        return KH_APPLY_DUP;
    return ag_audit_revision(a, r, 0, reason, NULL) < 0 ? KH_APPLY_FAIL : KH_APPLY_NEW;
}
