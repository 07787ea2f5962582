/*
 * previous.c — the previous-period rules against the counted revisions; see previous.h.
 *
 * kh_validate_previous asks for each previous value through prev_lookup; the counted
 * verdict of the period asked for is read once and kept while that period stays the
 * same (one read per report, not one per value).
 */
#include "previous.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_catalog.h"
#include "kh_findings.h"
#include "kh_validate.h"
#include "kh_value.h"
#include "store.h"

/* What prev_lookup reads from: the district, and the period whose verdict it holds. */
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
                c->pv = ag_store_unpack(sqlite3_column_blob(vs, 0),
                                        (size_t)sqlite3_column_bytes(vs, 0));
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

int ag_previous_warnings(agg_t *a, const Kh__Verdict *v, kh_findings_t *extra,
                         Kh__Finding ***out)
{
    prev_ctx_t ctx = {.a = a, .district = v->report->district};
    kh_validate_previous(a->cat, v->report, prev_lookup, &ctx, extra);
    if (ctx.pv)
        kh__verdict__free_unpacked(ctx.pv, NULL);
    /* the rules could not run (memory): fail, so the verdict is applied again later,
     * rather than count it as if they had found nothing */
    for (size_t i = 0; i < extra->n; i++)
        if (strcmp(extra->items[i]->code, "INTERNAL") == 0)
            return -1;
    Kh__Finding **w = malloc((v->n_findings + extra->n + 1) * sizeof *w);
    if (!w)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < v->n_findings; i++)
        if (!v->findings[i]->is_error)
            w[n++] = v->findings[i];
    /* only warnings are kept: the report is counted already, and the validator has
     * judged it (an error-level previous-period rule is dropped here, as before) */
    for (size_t i = 0; i < extra->n; i++)
        if (!extra->items[i]->is_error)
            w[n++] = extra->items[i];
    *out = w;
    return (int)n;
}
