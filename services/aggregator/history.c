/*
 * history.c — one district's revisions for one half-year; see history.h.
 *
 * The reply borrows its strings from the stored verdicts, kept unpacked until it is
 * sent; changes are found by a merge of the two revisions' values sorted by (orgunit,
 * indicator), compared by their text as received.
 */
#include "history.h"

#include <stdlib.h>
#include <string.h>

#include "kh_inbox.h"
#include "kh_log.h"
#include "kh_report.h"
#include "store.h"

#define HISTORY_MAX_REVISIONS 100    /* revisions in one reply (more: truncated) */
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

void ag_history_serve(agg_t *a, const kh_wmsg_t *m)
{
    Kh__HistoryRequest *req = kh__history_request__unpack(NULL, m->len, m->payload);
    if (!req || strlen(req->district) >= KH_CODE_MAX || strlen(req->period) > 16) {
        kh_stage_malformed(a->st);
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
            Kh__Verdict *v = ag_store_unpack(sqlite3_column_blob(q, 4),
                                             (size_t)sqlite3_column_bytes(q, 4));
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
