/*
 * test_ledger.c — unit tests of the aggregator's ledger (services/aggregator/ledger.c)
 * and of the modules it is made of: the FeedUpdate builder (update.c), the audit
 * entries (audit.c), the schema and statements (store.c) and the reads kh-admin makes
 * through it (ag_store_stage_of …), the previous-period rules (previous.c), and the
 * counted revisions' cells kept in memory (cache.c).  A real
 * SQLite database is made with the aggregator's own migrations in a temporary directory;
 * the real catalogue (data/) is loaded: run from the repository root.
 *
 * The expected cells, sums, tombstones and audit entries are computed here from the
 * values the tests report (a model of the arithmetic: a reporting unit's cell is the sum
 * and count of its rows of an indicator, an ancestor's the sum over the reporting units
 * under it), never written out.
 *
 * The Makefile links this test with those modules (MOD_test_ledger).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../services/aggregator/agg.h"
#include "../../services/aggregator/audit.h"
#include "../../services/aggregator/cache.h"
#include "../../services/aggregator/ledger.h"
#include "../../services/aggregator/previous.h"
#include "../../services/aggregator/store.h"
#include "../../services/aggregator/update.h"
#include "kh_cells.h"
#include "kh_db.h"
#include "kh_sign.h"
#include "kh_wire.h"
#include "report_fixture.h"

static kh_catalog_t *g_cat;

static int group_setup(void **state)
{
    (void)state;
    char err[512] = "";
    g_cat = kh_catalog_load("data", 620, 1205, err, sizeof err);
    if (!g_cat) {
        fprintf(stderr, "kh_catalog_load(data): %s (run from the repository root)\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    kh_catalog_destroy(&g_cat);
    return 0;
}

typedef struct {
    char dir[64], path[96];
    agg_t a;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/kh-test-ledger-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/aggregator.db", f->dir);
    char err[256];
    if (ag_store_open(&f->a.db, f->path, err, sizeof err) < 0) {
        fprintf(stderr, "ag_store_open: %s\n", err);
        return -1;
    }
    if (ag_store_prepare(&f->a) < 0 || !(f->a.audit = kh_audit_new(f->a.db)) ||
        !(f->a.cache = ag_cache_new(f->a.db)))
        return -1;
    f->a.cat = g_cat;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    ag_store_finalize(&f->a);
    ag_cache_destroy(&f->a.cache);
    kh_audit_destroy(&f->a.audit);
    kh_db_close(&f->a.db);
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s%s", f->path, sfx[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- the model: cells computed from the rows a test reports -------------------------- */

typedef struct {
    const char *org, *ind;
    double v;
} row_t;

typedef struct {
    char org[KH_CODE_MAX], ind[KH_CODE_MAX + 24];
    double sum;
    uint32_t n;
} mcell_t;

typedef struct {
    mcell_t c[64];
    size_t n;
} model_t;

static mcell_t *model_find(model_t *m, const char *org, const char *ind)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->c[i].org, org) == 0 && strcmp(m->c[i].ind, ind) == 0)
            return &m->c[i];
    return NULL;
}

/* Adds (sum, n) to the cell (org, ind), made when missing. */
static void model_add(model_t *m, const char *org, const char *ind, double sum, uint32_t n)
{
    mcell_t *c = model_find(m, org, ind);
    if (!c) {
        assert_true(m->n < sizeof m->c / sizeof *m->c);
        c = &m->c[m->n++];
        snprintf(c->org, sizeof c->org, "%s", org);
        snprintf(c->ind, sizeof c->ind, "%s", ind);
    }
    c->sum += sum;
    c->n += n;
}

/* The cells of a report of `unit` with these rows: `below` one per row of a unit under
 * it, `own` the unit's: per indicator, the sum and count of all its rows (every value
 * here is a count or a flag). */
static void model_report(const char *unit, const row_t *rows, size_t n, model_t *below,
                         model_t *own)
{
    for (size_t i = 0; i < n; i++) {
        if (below && strcmp(rows[i].org, unit) != 0)
            model_add(below, rows[i].org, rows[i].ind, rows[i].v, 1);
        if (own)
            model_add(own, unit, rows[i].ind, rows[i].v, 1);
    }
}

/* An ancestor's cells: the sum over the reporting units' own cells, per indicator. */
static void model_rollup(const model_t *own, const char *anc, model_t *out)
{
    for (size_t i = 0; i < own->n; i++)
        model_add(out, anc, own->c[i].ind, own->c[i].sum, own->c[i].n);
}

/* The total table with two reporting units counted (their own cells x and y): their
 * cells, and their province's sums, which also go to *provm. */
static void model_table(const model_t *x, const model_t *y, const char *prov, model_t *table,
                        model_t *provm)
{
    model_rollup(x, prov, provm);
    model_rollup(y, prov, provm);
    const model_t *parts[] = {x, y, provm};
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < parts[k]->n; i++)
            model_add(table, parts[k]->c[i].org, parts[k]->c[i].ind, parts[k]->c[i].sum,
                      parts[k]->c[i].n);
}

/* How many cells differ from `before` to `after` (a cell missing is 0, n 0). */
static size_t model_changes(model_t *before, model_t *after)
{
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        model_t *m = pass ? before : after;
        for (size_t i = 0; i < m->n; i++) {
            mcell_t *b = model_find(before, m->c[i].org, m->c[i].ind);
            mcell_t *a = model_find(after, m->c[i].org, m->c[i].ind);
            if (pass && a)
                continue;                  /* seen in the first pass */
            n += (b ? b->sum : 0) != (a ? a->sum : 0) || (b ? b->n : 0) != (a ? a->n : 0);
        }
    }
    return n;
}

static Kh__Report *report_of(const char *unit, const char *period, uint32_t revision,
                             const row_t *rows, size_t n)
{
    Kh__Report *r = report_new(unit, period);
    r->revision = revision;
    for (size_t i = 0; i < n; i++) {
        char raw[32];
        snprintf(raw, sizeof raw, "%.0f", rows[i].v);
        report_add(r, rows[i].org, rows[i].ind, raw);
    }
    return r;
}

/* Stores r's verdict as accepted (what apply does before counting) and counts it;
 * returns the feed seq. */
static uint64_t accept_and_count(fx_t *f, Kh__Report *r, const char *old_id, int64_t old_rev)
{
    Kh__Verdict v = KH__VERDICT__INIT;
    v.report = r;
    v.accepted = 1;
    uint8_t *msg, *buf;
    size_t msg_len, len;
    assert_int_equal(kh_wire_pack(&v.base, &msg, &msg_len), 0);
    assert_int_equal(ag_store_pack(msg, msg_len, &buf, &len), 0);   /* as apply stores it */
    free(msg);
    sqlite3_stmt *st = f->a.st_accept;
    sqlite3_bind_text(st, 1, r->report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->revision);
    sqlite3_bind_text(st, 3, r->district, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->period, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, r->received_at);
    sqlite3_bind_int64(st, 6, 0);
    sqlite3_bind_int64(st, 7, 0);
    sqlite3_bind_blob(st, 8, buf, (int)len, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
    free(buf);
    return ag_ledger_count(&f->a, &v, old_id, old_rev, NULL, 0);
}

/* The rows of the total table for period with n > 0 are exactly `want`'s cells. */
static void assert_totals(fx_t *f, const char *period, const model_t *want)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->a.db, "SELECT orgunit,indicator,sum,n FROM total "
                                                 "WHERE period=? AND n > 0", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, period, -1, SQLITE_STATIC);
    size_t rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *org = (const char *)sqlite3_column_text(st, 0);
        const char *ind = (const char *)sqlite3_column_text(st, 1);
        mcell_t *c = model_find((model_t *)want, org, ind);
        if (!c)
            fail_msg("total (%s, %s) = %g/%lld not expected", org, ind,
                     sqlite3_column_double(st, 2), (long long)sqlite3_column_int64(st, 3));
        if (sqlite3_column_double(st, 2) != c->sum || sqlite3_column_int64(st, 3) != c->n)
            fail_msg("total (%s, %s) = %g/%lld, expected %g/%u", org, ind,
                     sqlite3_column_double(st, 2), (long long)sqlite3_column_int64(st, 3),
                     c->sum, c->n);
        rows++;
    }
    sqlite3_finalize(st);
    size_t want_n = 0;
    for (size_t i = 0; i < want->n; i++)
        want_n += want->c[i].n > 0;
    assert_int_equal(rows, want_n);
}

/* The FeedUpdate stored with seq. */
static Kh__FeedUpdate *feed_row(fx_t *f, uint64_t seq)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->a.db, "SELECT payload FROM feed WHERE seq=?", -1,
                                        &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, (int64_t)seq);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    Kh__FeedUpdate *u = kh__feed_update__unpack(NULL, (size_t)sqlite3_column_bytes(st, 0),
                                                sqlite3_column_blob(st, 0));
    sqlite3_finalize(st);
    assert_non_null(u);
    return u;
}

/* An expected cell of a feed update. */
typedef struct {
    char org[KH_CODE_MAX], ind[KH_CODE_MAX + 24];
    double sum;
    uint32_t n;
    int deleted, seen;
} ucell_t;

typedef struct {
    ucell_t c[64];
    size_t n;
} uwant_t;

static void uwant_add(uwant_t *w, const char *org, const char *ind, double sum, uint32_t n,
                      int deleted)
{
    assert_true(w->n < sizeof w->c / sizeof *w->c);
    ucell_t *c = &w->c[w->n++];
    snprintf(c->org, sizeof c->org, "%s", org);
    snprintf(c->ind, sizeof c->ind, "%s", ind);
    c->sum = sum;
    c->n = n;
    c->deleted = deleted;
    c->seen = 0;
}

/* A reporting unit's cells going from `before` to `now`: each cell of now that is new or
 * changed (sum or n), and a tombstone for each cell of before that is gone; a cell left
 * as it was is not sent. */
static void uwant_diff(uwant_t *w, model_t *before, model_t *now)
{
    for (size_t i = 0; i < now->n; i++) {
        const mcell_t *b = model_find(before, now->c[i].org, now->c[i].ind);
        if (b && b->sum == now->c[i].sum && b->n == now->c[i].n)
            continue;
        uwant_add(w, now->c[i].org, now->c[i].ind, now->c[i].sum, now->c[i].n, 0);
    }
    for (size_t i = 0; i < before->n; i++)
        if (!model_find(now, before->c[i].org, before->c[i].ind))
            uwant_add(w, before->c[i].org, before->c[i].ind, 0, 0, 1);
}

/* The update's cells are exactly `want`'s, each once, all of period. */
static void assert_update_cells(const Kh__FeedUpdate *u, const char *period, uwant_t *want)
{
    for (size_t i = 0; i < u->n_cells; i++) {
        const Kh__Cell *c = u->cells[i];
        assert_string_equal(c->period, period);
        ucell_t *w = NULL;
        for (size_t k = 0; k < want->n && !w; k++)
            if (strcmp(want->c[k].org, c->orgunit) == 0 &&
                strcmp(want->c[k].ind, c->indicator) == 0)
                w = &want->c[k];
        if (!w)
            fail_msg("update cell (%s, %s) = %g/%u%s not expected", c->orgunit, c->indicator,
                     c->sum, c->n, c->deleted ? " deleted" : "");
        if (w->seen)
            fail_msg("update cell (%s, %s) twice", c->orgunit, c->indicator);
        w->seen = 1;
        if (c->sum != w->sum || c->n != w->n || (c->deleted != 0) != (w->deleted != 0))
            fail_msg("update cell (%s, %s) = %g/%u%s, expected %g/%u%s", c->orgunit,
                     c->indicator, c->sum, c->n, c->deleted ? " deleted" : "", w->sum, w->n,
                     w->deleted ? " deleted" : "");
    }
    assert_int_equal(u->n_cells, want->n);
}

/* A cell's value in an audit body: {"sum","n"} or null (no cell, or n 0). */
static void assert_audit_cell(const json_t *j, const mcell_t *c, const char *subject)
{
    if (!c || c->n == 0) {
        if (!json_is_null(j))
            fail_msg("%s: expected null", subject);
        return;
    }
    if (!json_is_object(j) || json_number_value(json_object_get(j, "sum")) != c->sum ||
        json_integer_value(json_object_get(j, "n")) != (json_int_t)c->n)
        fail_msg("%s: expected {sum %g, n %u}", subject, c->sum, c->n);
}

/* The commune-level units of `unit` in force at the end of 2020. */
static size_t communes_of(const char *unit, const kh_unit_t **out, size_t cap)
{
    size_t n = kh_catalog_units_on(g_cat, 3, unit, 20201231, out, cap);
    return n < cap ? n : cap;
}

/* The one ancestor of `unit` at `period`: its province. */
static const char *province_of(const char *unit, const char *period)
{
    const kh_unit_t *anc[KH_MAX_LEVELS];
    assert_int_equal(kh_cells_ancestors(g_cat, unit, period, anc, KH_MAX_LEVELS), 1);
    return anc[0]->code;
}

/* Another reporting unit than `unit` under prov, reporting for its subtree, with
 * communes of its own (the first one in *cm); NULL when there is none. */
static const char *other_unit(const char *prov, const char *unit, const kh_unit_t **cm)
{
    const kh_unit_t *ds[64], *c[64];
    size_t nds = kh_catalog_units_on(g_cat, 2, prov, 20201231, ds, 64);
    for (size_t i = 0; i < nds && i < 64; i++)
        if (strcmp(ds[i]->code, unit) != 0 && communes_of(ds[i]->code, c, 64) > 0 &&
            kh_catalog_reports_self(g_cat, ds[i]->code, 20201231) != 1) {
            *cm = c[0];
            return ds[i]->code;
        }
    return NULL;
}

/* ---- counting, then counting a corrected revision ------------------------------------ */

static void test_count_then_correct(void **state)
{
    fx_t *f = *state;
    const char *period = "2020S2", *unit = "829";
    const char *prov = province_of(unit, period);
    const kh_unit_t *cm[64];
    assert_true(communes_of(unit, cm, 64) >= 3);
    /* another reporting unit under the same province, with communes of its own */
    const kh_unit_t *cm2;
    const char *other = other_unit(prov, unit, &cm2);
    assert_non_null(other);

    row_t o1[] = {{cm2->code, "HO.TONG", 500}, {other, "TT.TIN_BAI", 3}};
    row_t r1[] = {{cm[0]->code, "HO.TONG", 1200}, {cm[1]->code, "HO.TONG", 980},
                  {cm[0]->code, "TTHTCD.CO", 1}, {cm[0]->code, "HKH.HOI_VIEN", 50},
                  {unit, "TT.TIN_BAI", 14}};
    /* the correction: commune 0 changed, commune 1's row gone, commune 2 new; one
     * indicator gone (its province cell falls to n 0); a flag whose sum stays and whose
     * count grows; the district's own value the same */
    row_t r2[] = {{cm[0]->code, "HO.TONG", 1300}, {cm[2]->code, "HO.TONG", 700},
                  {cm[0]->code, "TTHTCD.CO", 1}, {cm[2]->code, "TTHTCD.CO", 0},
                  {unit, "TT.TIN_BAI", 14}};
    size_t no1 = sizeof o1 / sizeof *o1, nr1 = sizeof r1 / sizeof *r1,
           nr2 = sizeof r2 / sizeof *r2;

    Kh__Report *ro = report_of(other, period, 1, o1, no1);
    Kh__Report *rv1 = report_of(unit, period, 1, r1, nr1);
    Kh__Report *rv2 = report_of(unit, period, 2, r2, nr2);

    uint64_t s0 = accept_and_count(f, ro, NULL, 0);
    uint64_t s1 = accept_and_count(f, rv1, NULL, 0);
    assert_true(s0 > 0 && s1 > s0);

    model_t own_o = {0}, below1 = {0}, own1 = {0}, below2 = {0}, own2 = {0};
    model_report(other, o1, no1, NULL, &own_o);
    model_report(unit, r1, nr1, &below1, &own1);
    model_report(unit, r2, nr2, &below2, &own2);
    /* the table: each reporting unit's own cells and the province's sums */
    model_t t1 = {0}, prov1 = {0};
    model_table(&own_o, &own1, prov, &t1, &prov1);
    assert_totals(f, period, &t1);

    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->a.db, "SELECT ifnull(max(seq),0) FROM audit", -1,
                                        &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t audit_before = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);

    /* the corrected revision: the old values out, the new in */
    uint64_t s2 = accept_and_count(f, rv2, rv1->report_id, 1);
    assert_true(s2 > s1);
    model_t t2 = {0}, prov2 = {0};
    model_table(&own_o, &own2, prov, &t2, &prov2);
    /* an indicator only the old revision had: the province's cell falls to n 0 */
    for (size_t i = 0; i < prov1.n; i++)
        if (!model_find(&prov2, prov, prov1.c[i].ind))
            model_add(&prov2, prov, prov1.c[i].ind, 0, 0);
    assert_totals(f, period, &t2);

    /* the counted row names the new revision and its feed seq */
    assert_int_equal(sqlite3_prepare_v2(f->a.db, "SELECT report_id,revision,seq FROM counted "
                                                 "WHERE district=? AND period=?", -1, &st,
                                        NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), rv2->report_id);
    assert_int_equal(sqlite3_column_int64(st, 1), rv2->revision);
    assert_int_equal(sqlite3_column_int64(st, 2), (int64_t)s2);
    sqlite3_finalize(st);

    /* the feed update carries the changes only: the unit's cells that are new or changed,
     * a tombstone for each cell gone, the province's cells that moved (a tombstone at n 0) */
    Kh__FeedUpdate *u = feed_row(f, s2);
    assert_int_equal(u->seq, s2);
    assert_int_equal(u->n_statuses, 1);
    assert_string_equal(u->statuses[0]->report_id, rv2->report_id);
    assert_int_equal(u->statuses[0]->revision, rv2->revision);
    assert_string_equal(u->statuses[0]->district, unit);
    uwant_t want = {0};
    uwant_diff(&want, &below1, &below2);
    uwant_diff(&want, &own1, &own2);
    for (size_t i = 0; i < prov2.n; i++) {
        const mcell_t *c = &prov2.c[i];
        const mcell_t *b = model_find(&prov1, prov, c->ind);
        int moved = !b || b->sum != c->sum || b->n != c->n;
        if (moved && (model_find(&own1, unit, c->ind) || model_find(&own2, unit, c->ind)))
            uwant_add(&want, prov, c->ind, c->n ? c->sum : 0, c->n, c->n == 0);
    }
    assert_update_cells(u, period, &want);
    /* named: the cells the correction left as they were are not in it */
    for (size_t i = 0; i < u->n_cells; i++) {
        const Kh__Cell *c = u->cells[i];
        if ((!strcmp(c->orgunit, cm[0]->code) && !strcmp(c->indicator, "TTHTCD.CO")) ||
            (!strcmp(c->orgunit, unit) && !strcmp(c->indicator, "TT.TIN_BAI")) ||
            (!strcmp(c->orgunit, prov) && !strcmp(c->indicator, "TT.TIN_BAI")))
            fail_msg("update cell (%s, %s) did not change and was sent", c->orgunit,
                     c->indicator);
    }
    kh__feed_update__free_unpacked(u, NULL);

    /* the audit log: one "value" entry per cell of the district or the province that
     * changed, with its value before and after; none for a cell that did not */
    size_t want_entries = model_changes(&own1, &own2) + model_changes(&prov1, &prov2);
    assert_int_equal(sqlite3_prepare_v2(f->a.db, "SELECT subject,body FROM audit WHERE seq>? "
                                                 "AND kind='value'", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, audit_before);
    size_t entries = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *subject = (const char *)sqlite3_column_text(st, 0);
        char org[KH_CODE_MAX], ind[KH_CODE_MAX + 24], per[16];
        const char *p1 = strchr(subject, '/'), *p2 = p1 ? strchr(p1 + 1, '/') : NULL;
        assert_non_null(p2);
        snprintf(per, sizeof per, "%.*s", (int)(p1 - subject), subject);
        snprintf(org, sizeof org, "%.*s", (int)(p2 - p1 - 1), p1 + 1);
        snprintf(ind, sizeof ind, "%s", p2 + 1);
        assert_string_equal(per, period);
        int is_prov = strcmp(org, prov) == 0;
        assert_true(is_prov || strcmp(org, unit) == 0);
        model_t *b = is_prov ? &prov1 : &own1, *a = is_prov ? &prov2 : &own2;
        mcell_t *cb = model_find(b, org, ind), *ca = model_find(a, org, ind);
        assert_true(cb || ca);
        json_t *body = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        assert_non_null(body);
        assert_string_equal(json_string_value(json_object_get(body, "report_id")),
                            rv2->report_id);
        assert_int_equal(json_integer_value(json_object_get(body, "revision")), 2);
        assert_audit_cell(json_object_get(body, "before"), cb, subject);
        assert_audit_cell(json_object_get(body, "after"), ca, subject);
        json_decref(body);
        entries++;
    }
    sqlite3_finalize(st);
    assert_true(want_entries > 0);
    assert_int_equal(entries, want_entries);

    /* the stored cells of the counted revision read back as they were counted */
    kh_cells_t lc = {0}, ld = {0};
    assert_int_equal(ag_ledger_load_cells(&f->a, rv2->report_id, 2, &lc, &ld), 0);
    assert_int_equal(lc.n, below2.n);
    assert_int_equal(ld.n, own2.n);
    for (size_t i = 0; i < ld.n; i++) {
        mcell_t *c = model_find(&own2, ld.v[i].orgunit, ld.v[i].indicator);
        assert_non_null(c);
        assert_true(ld.v[i].sum == c->sum && ld.v[i].n == c->n);
    }
    kh_cells_free(&lc);
    kh_cells_free(&ld);

    report_free(ro);
    report_free(rv1);
    report_free(rv2);
}

/* A revision never stored has no cells to load. */
static void test_load_cells_not_stored(void **state)
{
    fx_t *f = *state;
    kh_cells_t c = {0}, d = {0};
    assert_int_equal(ag_ledger_load_cells(&f->a, "829-2020S2", 1, &c, &d), -1);
    assert_int_equal(c.n + d.n, 0);
}

/* ---- a rejected revision ------------------------------------------------------------- */

static int64_t count_rows(fx_t *f, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->a.db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void test_reject_kept_once(void **state)
{
    fx_t *f = *state;
    row_t rows[] = {{"829", "TT.TIN_BAI", 5}};
    Kh__Report *r = report_of("829", "2020S2", 3, rows, 1);
    Kh__Verdict v = KH__VERDICT__INIT;
    v.report = r;
    v.accepted = 0;
    v.validated_at = 1234567;
    uint8_t *buf;
    size_t len;
    assert_int_equal(kh_wire_pack(&v.base, &buf, &len), 0);
    const char *reason = "BAD_SIGNATURE";
    assert_int_equal(ag_ledger_reject(&f->a, &v, buf, len, reason), KH_APPLY_NEW);
    assert_int_equal(ag_ledger_reject(&f->a, &v, buf, len, reason), KH_APPLY_DUP);
    free(buf);

    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->a.db, "SELECT report_id,revision,rejected_at "
                                                 "FROM rejected", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), r->report_id);
    assert_int_equal(sqlite3_column_int64(st, 1), r->revision);
    assert_int_equal(sqlite3_column_int64(st, 2), v.validated_at);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    /* nothing counted, one audit entry for the revision, with why it was refused */
    assert_int_equal(count_rows(f, "SELECT count(*) FROM total"), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM counted"), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM audit"), 1);
    assert_int_equal(sqlite3_prepare_v2(f->a.db, "SELECT kind,subject,body FROM audit", -1, &st,
                                        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char subject[96];
    snprintf(subject, sizeof subject, "%s/%u", r->report_id, r->revision);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "revision");
    assert_string_equal((const char *)sqlite3_column_text(st, 1), subject);
    json_t *body = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
    assert_non_null(body);
    assert_true(json_is_false(json_object_get(body, "accepted")));
    assert_string_equal(json_string_value(json_object_get(body, "reason")), reason);
    assert_string_equal(json_string_value(json_object_get(body, "district")), r->district);
    json_decref(body);
    sqlite3_finalize(st);
    report_free(r);
}

/* ---- the reads kh-admin makes (store.h) ---------------------------------------------- */

/* An accepted row with these bytes as its verdict, nothing counted. */
static void accepted_row(fx_t *f, const char *id, int64_t rev, const void *blob, int len)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->a.db, "INSERT INTO accepted(report_id,revision,"
                                                 "district,period,received_at,accepted_at,"
                                                 "warnings,verdict) VALUES(?,?,'829','2020S2',"
                                                 "0,0,0,?)", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, rev);
    sqlite3_bind_blob(st, 3, blob, len, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

/* The stored form of a verdict (store.h): compressed, read back whole; a blob stored
 * before the compression (the message itself) reads alike; a damaged one is NULL. */
static void test_store_pack(void **state)
{
    (void)state;
    Kh__Report *r = report_new("829", "2020S2");
    for (int i = 0; i < 470; i++) {
        char org[16], raw[16];
        snprintf(org, sizeof org, "829%03d", i % 16);
        snprintf(raw, sizeof raw, "%d", i * 7);
        report_add(r, org, i % 2 ? "TT.TIN_BAI" : "HT.SO_TT", raw);
    }
    Kh__Verdict v = KH__VERDICT__INIT;
    v.report = r;
    v.accepted = 1;
    uint8_t *msg, *packed;
    size_t msg_len, packed_len;
    assert_int_equal(kh_wire_pack(&v.base, &msg, &msg_len), 0);
    assert_int_equal(ag_store_pack(msg, msg_len, &packed, &packed_len), 0);
    assert_true(packed_len * 2 < msg_len);                 /* a report compresses well */
    Kh__Verdict *back = ag_store_unpack(packed, packed_len);
    assert_non_null(back);
    assert_int_equal(back->report->n_values, 470);
    assert_string_equal(back->report->values[469]->raw, "3283");
    kh__verdict__free_unpacked(back, NULL);
    back = ag_store_unpack(msg, msg_len);                  /* stored before packing */
    assert_non_null(back);
    assert_int_equal(back->report->n_values, 470);
    kh__verdict__free_unpacked(back, NULL);
    assert_null(ag_store_unpack(packed, packed_len / 2));  /* cut short */
    packed[packed_len - 1] ^= 0xff;                        /* its checksum or data changed */
    back = ag_store_unpack(packed, packed_len);
    if (back)                                              /* a flipped literal may still */
        kh__verdict__free_unpacked(back, NULL);            /* decode: never a crash */
    assert_null(ag_store_unpack(NULL, 0));
    free(packed);
    free(msg);
    report_free(r);
}

static void test_store_reads(void **state)
{
    fx_t *f = *state;
    row_t rows[] = {{"829", "TT.TIN_BAI", 5}};
    Kh__Report *r1 = report_of("829", "2020S2", 1, rows, 1);
    Kh__Report *r2 = report_of("829", "2020S2", 2, rows, 1);
    Kh__Report *r3 = report_of("829", "2020S2", 3, rows, 1);
    const char *id = r1->report_id;
    /* revision 1 counted, then 2 (1 superseded); 3 rejected; 4 accepted, not counted; 5
     * accepted with bytes that are no verdict */
    assert_true(accept_and_count(f, r1, NULL, 0) > 0);
    assert_true(accept_and_count(f, r2, id, 1) > 0);
    Kh__Verdict v = KH__VERDICT__INIT;
    v.report = r3;
    uint8_t *buf;
    size_t len;
    assert_int_equal(kh_wire_pack(&v.base, &buf, &len), 0);
    assert_int_equal(ag_ledger_reject(&f->a, &v, buf, len, NULL), KH_APPLY_NEW);
    r3->revision = 4;
    v.accepted = 1;
    free(buf);
    assert_int_equal(kh_wire_pack(&v.base, &buf, &len), 0);
    accepted_row(f, id, 4, buf, (int)len);
    free(buf);
    accepted_row(f, id, 5, "\xff\xff\xff", 3);

    const char *stage = NULL;
    static const char *const want[] = {"superseded", "counted", "rejected", "accepted",
                                       "accepted"};
    for (int rev = 1; rev <= 5; rev++) {
        assert_int_equal(ag_store_stage_of(f->a.db, id, rev, &stage), KH_OK);
        assert_string_equal(stage, want[rev - 1]);
    }
    stage = "untouched";
    assert_int_equal(ag_store_stage_of(f->a.db, id, 6, &stage), KH_NO);
    assert_int_equal(ag_store_stage_of(f->a.db, "830-2020S2", 1, &stage), KH_NO);
    assert_string_equal(stage, "untouched");

    int64_t rev = 0;
    assert_int_equal(ag_store_counted_revision(f->a.db, id, &rev), KH_OK);
    assert_int_equal(rev, 2);
    assert_int_equal(ag_store_counted_revision(f->a.db, "830-2020S2", &rev), KH_NO);

    Kh__Verdict *got = NULL;
    int accepted = -1;
    assert_int_equal(ag_store_verdict(f->a.db, id, 2, &got, &accepted), KH_OK);
    assert_int_equal(accepted, 1);
    assert_non_null(got);
    assert_non_null(got->report);
    assert_string_equal(got->report->report_id, id);
    assert_int_equal(got->report->revision, 2);
    kh__verdict__free_unpacked(got, NULL);
    assert_int_equal(ag_store_verdict(f->a.db, id, 3, &got, &accepted), KH_OK);
    assert_int_equal(accepted, 0);
    assert_non_null(got);
    assert_int_equal(got->report->revision, 3);
    kh__verdict__free_unpacked(got, NULL);
    assert_int_equal(ag_store_verdict(f->a.db, id, 5, &got, &accepted), KH_OK);
    assert_null(got);                                /* stored, but does not decode */
    got = (Kh__Verdict *)&v;
    assert_int_equal(ag_store_verdict(f->a.db, id, 6, &got, &accepted), KH_NO);
    assert_null(got);

    /* every counted revision: 829's with its verdict and its audit entry's body; another
     * unit counted with no accepted row and no audit entry */
    char digest[65];
    kh_sign_digest(r2, digest);
    assert_int_equal(ag_audit_revision(&f->a, r2, 1, NULL, NULL), 0);
    assert_int_equal(sqlite3_exec(f->a.db, "INSERT INTO counted(district,period,report_id,"
                                           "revision,received_at,counted_at,warnings,seq) "
                                           "VALUES('830','2020S1','830-2020S1',7,0,0,0,0)",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *st = ag_store_counted_all(f->a.db);
    assert_non_null(st);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);          /* 2020S1 first */
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "830");
    assert_int_equal(sqlite3_column_int64(st, 3), 7);
    assert_int_equal(sqlite3_column_type(st, 4), SQLITE_NULL);
    assert_int_equal(sqlite3_column_type(st, 5), SQLITE_NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "829");
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "2020S2");
    assert_string_equal((const char *)sqlite3_column_text(st, 2), id);
    assert_int_equal(sqlite3_column_int64(st, 3), 2);
    got = kh__verdict__unpack(NULL, (size_t)sqlite3_column_bytes(st, 4),
                              sqlite3_column_blob(st, 4));
    assert_non_null(got);
    assert_int_equal(got->report->revision, 2);
    kh__verdict__free_unpacked(got, NULL);
    json_t *body = json_loads((const char *)sqlite3_column_text(st, 5), 0, NULL);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "digest")), digest);
    json_decref(body);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);

    /* every stored total, in (period, orgunit, indicator) order, as the table holds them */
    st = ag_store_totals_all(f->a.db);
    assert_non_null(st);
    int64_t rows_read = 0;
    char last[256] = "";
    while (sqlite3_step(st) == SQLITE_ROW) {
        char key[256];
        snprintf(key, sizeof key, "%s/%s/%s", (const char *)sqlite3_column_text(st, 0),
                 (const char *)sqlite3_column_text(st, 1),
                 (const char *)sqlite3_column_text(st, 2));
        assert_true(strcmp(last, key) < 0);
        snprintf(last, sizeof last, "%s", key);
        assert_true(sqlite3_column_int64(st, 4) >= 0);
        rows_read++;
    }
    sqlite3_finalize(st);
    assert_true(rows_read > 0);
    assert_int_equal(rows_read, count_rows(f, "SELECT count(*) FROM total"));
    report_free(r1);
    report_free(r2);
    report_free(r3);
}

/* A database without the aggregator's tables cannot be read: KH_ERR, never "not found". */
static void test_store_reads_without_tables(void **state)
{
    (void)state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    const char *stage = NULL;
    int64_t rev = 0;
    Kh__Verdict *v = NULL;
    int accepted = 0;
    assert_int_equal(ag_store_stage_of(db, "829-2020S2", 1, &stage), KH_ERR);
    assert_int_equal(ag_store_counted_revision(db, "829-2020S2", &rev), KH_ERR);
    assert_int_equal(ag_store_verdict(db, "829-2020S2", 1, &v, &accepted), KH_ERR);
    assert_null(v);
    assert_null(ag_store_counted_all(db));
    assert_null(ag_store_totals_all(db));
    sqlite3_close(db);
}

/* ---- the FeedUpdate builder ---------------------------------------------------------- */

static void test_update_grows_and_keeps_names(void **state)
{
    (void)state;
    ag_update_t u = {0};
    const char *period = "2020S2";
    size_t n = 1500;                 /* past the first allocation, and the second */
    for (size_t i = 0; i < n; i++) {
        char org[16], ind[16];
        snprintf(org, sizeof org, "U%zu", i);
        snprintf(ind, sizeof ind, "I%zu", n - i);
        assert_int_equal(ag_update_add(&u, period, org, ind, (double)i, (uint32_t)(i % 7),
                                       i % 3 == 0), 0);
    }
    /* a name longer than a cell keeps: cut to the room a catalogue code has */
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(ag_update_add(&u, period, longname, "HO.TONG", 1, 1, 0), 0);
    assert_int_equal(u.n, n + 1);
    assert_int_equal(ag_update_finish(&u), 0);
    assert_int_equal(u.u.n_cells, n + 1);
    for (size_t i = 0; i < n; i++) {
        const Kh__Cell *c = u.u.cells[i];
        char org[16], ind[16];
        snprintf(org, sizeof org, "U%zu", i);
        snprintf(ind, sizeof ind, "I%zu", n - i);
        assert_string_equal(c->orgunit, org);
        assert_string_equal(c->indicator, ind);
        assert_ptr_equal(c->period, period);
        assert_true(c->sum == (double)i);
        assert_int_equal(c->n, i % 7);
        assert_int_equal(c->deleted, i % 3 == 0);
    }
    assert_int_equal(strlen(u.u.cells[n]->orgunit), KH_CODE_MAX + 24 - 1);
    /* the message packs and reads back the same */
    uint8_t *buf;
    size_t len;
    assert_int_equal(kh_wire_pack(&u.u.base, &buf, &len), 0);
    Kh__FeedUpdate *back = kh__feed_update__unpack(NULL, len, buf);
    assert_non_null(back);
    assert_int_equal(back->n_cells, n + 1);
    assert_string_equal(back->cells[n - 1]->orgunit, u.u.cells[n - 1]->orgunit);
    kh__feed_update__free_unpacked(back, NULL);
    free(buf);
    ag_update_free(&u);
    assert_null(u.cells);
    assert_int_equal(u.n, 0);
    assert_int_equal(u.cap, 0);
}

/* ag_update_diff: every cell of now, a tombstone for each key of before that is gone,
 * in key order. */
static void test_update_diff(void **state)
{
    (void)state;
    kh_cells_t before = {0}, now = {0};
    assert_int_equal(kh_cells_push(&before, "A", "X", 1, 1), 0);
    assert_int_equal(kh_cells_push(&before, "B", "X", 2, 1), 0);
    assert_int_equal(kh_cells_push(&before, "C", "X", 3, 1), 0);
    assert_int_equal(kh_cells_push(&now, "B", "X", 20, 2), 0);
    assert_int_equal(kh_cells_push(&now, "D", "X", 4, 1), 0);
    ag_update_t u = {0};
    assert_int_equal(ag_update_diff(&u, "2020S2", &before, &now), 0);
    assert_int_equal(ag_update_finish(&u), 0);
    const char *org[] = {"A", "B", "C", "D"};
    const int deleted[] = {1, 0, 1, 0};
    assert_int_equal(u.u.n_cells, 4);
    for (size_t i = 0; i < 4; i++) {
        const Kh__Cell *c = u.u.cells[i];
        assert_string_equal(c->orgunit, org[i]);
        assert_int_equal(c->deleted, deleted[i]);
        const kh_cell_t *src = NULL;
        for (size_t k = 0; k < now.n; k++)
            if (strcmp(now.v[k].orgunit, org[i]) == 0)
                src = &now.v[k];
        assert_true(c->sum == (src ? src->sum : 0));
        assert_int_equal(c->n, src ? src->n : 0);
    }
    ag_update_free(&u);
    kh_cells_free(&before);
    kh_cells_free(&now);
}

/* ---- the previous-period rules ------------------------------------------------------- */

static void test_previous_period_warnings(void **state)
{
    fx_t *f = *state;
    const char *unit = "829";
    const kh_unit_t *cm[64];
    assert_true(communes_of(unit, cm, 64) >= 2);
    /* the previous half-year, counted: two communes with the same households */
    double before = 1000;
    row_t s1[] = {{cm[0]->code, "HO.TONG", before}, {cm[1]->code, "HO.TONG", before}};
    Kh__Report *r1 = report_of(unit, "2020S1", 1, s1, 2);
    assert_true(accept_and_count(f, r1, NULL, 0) > 0);
    /* this half-year: commune 0 doubled (far past the rule's 25%), commune 1 up 10% */
    row_t s2[] = {{cm[0]->code, "HO.TONG", before * 2}, {cm[1]->code, "HO.TONG", before * 1.1}};
    Kh__Report *r2 = report_of(unit, "2020S2", 1, s2, 2);
    /* the verdict's own findings: its warnings are kept, its errors not */
    kh_findings_t own = {0};
    assert_int_equal(kh_findings_add(&own, "NORMALISED", 0, 2, cm[0]->code, "HO.TONG", "",
                                     "vi", "en"), 0);
    assert_int_equal(kh_findings_add(&own, "BAD_VALUE", 1, 3, cm[1]->code, "HO.TONG", "",
                                     "vi", "en"), 0);
    Kh__Verdict v = KH__VERDICT__INIT;
    v.report = r2;
    v.accepted = 1;
    v.findings = own.items;
    v.n_findings = own.n;
    kh_findings_t extra = {0};
    Kh__Finding **w = NULL;
    int n = ag_previous_warnings(&f->a, &v, &extra, &w);
    assert_int_equal(n, 2);
    assert_ptr_equal(w[0], own.items[0]);
    assert_false(w[1]->is_error);
    assert_string_equal(w[1]->orgunit, cm[0]->code);
    assert_string_equal(w[1]->indicator, "HO.TONG");
    free(w);
    kh_findings_clear(&extra);

    /* no previous half-year counted (2019S2 for 2020S1): no rule fires */
    v.report = r1;
    v.findings = NULL;
    v.n_findings = 0;
    w = NULL;
    assert_int_equal(ag_previous_warnings(&f->a, &v, &extra, &w), 0);
    free(w);
    kh_findings_clear(&extra);
    kh_findings_clear(&own);
    report_free(r1);
    report_free(r2);
}

/* ---- the counted revisions' cells in memory (cache.c) -------------------------------- */

static void exec_ok(fx_t *f, const char *sql)
{
    assert_int_equal(sqlite3_exec(f->a.db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/* below and own are the cells kh_cells_from_report makes of r, in the same order. */
static void assert_cells_of(const Kh__Report *r, const kh_cells_t *below, const kh_cells_t *own)
{
    kh_cells_t wb = {0}, wo = {0};
    assert_int_equal(kh_cells_from_report(g_cat, r, &wb, &wo), 0);
    const kh_cells_t *got[] = {below, own}, *want[] = {&wb, &wo};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(got[k]->n, want[k]->n);
        for (size_t i = 0; i < want[k]->n; i++) {
            const kh_cell_t *g = &got[k]->v[i], *w = &want[k]->v[i];
            assert_string_equal(g->orgunit, w->orgunit);
            assert_string_equal(g->indicator, w->indicator);
            assert_true(g->sum == w->sum);
            assert_int_equal(g->n, w->n);
        }
    }
    kh_cells_free(&wb);
    kh_cells_free(&wo);
}

/* What the cache holds for (id, revision): KH_OK with r's cells, or KH_NO (r NULL). */
static void assert_cached(fx_t *f, const char *id, int64_t revision, const Kh__Report *r)
{
    kh_cells_t c = {0}, d = {0};
    int rc = ag_cache_get(f->a.cache, id, revision, &c, &d);
    if (!r) {
        assert_int_equal(rc, KH_NO);
        assert_int_equal(c.n + d.n, 0);
        return;
    }
    assert_int_equal(rc, KH_OK);
    assert_cells_of(r, &c, &d);
    kh_cells_free(&c);
    kh_cells_free(&d);
}

/* Counted in a committed transaction (the inbox's batch), as apply and committed do. */
static uint64_t count_committed(fx_t *f, Kh__Report *r, const char *old_id, int64_t old_rev)
{
    exec_ok(f, "BEGIN IMMEDIATE");
    uint64_t seq = accept_and_count(f, r, old_id, old_rev);
    exec_ok(f, "COMMIT");
    ag_cache_committed(f->a.cache);
    return seq;
}

/* The cells of the revision counted are kept, and read back from memory; a restart
 * starts empty and decodes the stored verdict. */
static void test_cache_counted_cells(void **state)
{
    fx_t *f = *state;
    const kh_unit_t *cm[64];
    assert_true(communes_of("829", cm, 64) >= 2);
    row_t r1[] = {{cm[0]->code, "HO.TONG", 1000}, {cm[1]->code, "HO.TONG", 800},
                  {cm[1]->code, "TTHTCD.CO", 1}, {"829", "TT.TIN_BAI", 4}};
    Kh__Report *rv1 = report_of("829", "2020S2", 1, r1, sizeof r1 / sizeof *r1);
    assert_true(count_committed(f, rv1, NULL, 0) > 0);
    assert_cached(f, rv1->report_id, 1, rv1);
    assert_cached(f, rv1->report_id, 2, NULL);             /* another revision */
    assert_cached(f, "829-2020S1", 1, NULL);               /* another half-year */
    assert_int_equal(ag_cache_entries(f->a.cache), 1);
    assert_true(ag_cache_bytes(f->a.cache) > 0);

    /* ag_ledger_load_cells takes them from memory: the stored verdict is not read (here
     * it no longer decodes) */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->a.db, "UPDATE accepted SET verdict=x'ff' WHERE "
                                        "report_id=? AND revision=1", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, rv1->report_id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    kh_cells_t c = {0}, d = {0};
    assert_int_equal(ag_ledger_load_cells(&f->a, rv1->report_id, 1, &c, &d), 0);
    assert_cells_of(rv1, &c, &d);
    kh_cells_free(&c);
    kh_cells_free(&d);

    /* a restart: nothing in memory, the stored verdict decoded (it fails here) */
    ag_cache_destroy(&f->a.cache);
    assert_null(f->a.cache);
    assert_non_null(f->a.cache = ag_cache_new(f->a.db));
    assert_int_equal(ag_ledger_load_cells(&f->a, rv1->report_id, 1, &c, &d), -1);
    report_free(rv1);
}

/* A count undone (the batch rolled back, or one message to its savepoint) leaves nothing
 * of it in memory: the same revision stored again with other numbers, then corrected,
 * moves the totals from what the database holds. */
static void test_cache_rollback(void **state)
{
    fx_t *f = *state;
    const char *period = "2020S2", *unit = "829";
    const char *prov = province_of(unit, period);
    const kh_unit_t *cm[64], *cm2;
    assert_true(communes_of(unit, cm, 64) >= 2);
    const char *other = other_unit(prov, unit, &cm2);
    assert_non_null(other);
    row_t ro[] = {{other, "TT.TIN_BAI", 3}};
    row_t r1[] = {{cm[0]->code, "HO.TONG", 1000}, {cm[1]->code, "HO.TONG", 800}};
    row_t r2a[] = {{cm[0]->code, "HO.TONG", 5000}, {cm[1]->code, "HKH.HOI_VIEN", 70}};
    row_t r2b[] = {{cm[0]->code, "HO.TONG", 1100}};
    row_t r3[] = {{cm[1]->code, "HO.TONG", 900}, {cm[0]->code, "HKH.HOI_VIEN", 40}};
    row_t r4[] = {{cm[0]->code, "HO.TONG", 1200}, {cm[1]->code, "TTHTCD.CO", 1}};
    Kh__Report *o = report_of(other, period, 1, ro, 1);
    Kh__Report *rv1 = report_of(unit, period, 1, r1, 2);
    Kh__Report *rv2a = report_of(unit, period, 2, r2a, 2);
    Kh__Report *rv2b = report_of(unit, period, 2, r2b, 1);
    Kh__Report *rv3 = report_of(unit, period, 3, r3, 2);
    Kh__Report *rv4 = report_of(unit, period, 4, r4, 2);
    const char *id = rv1->report_id;
    assert_true(count_committed(f, o, NULL, 0) > 0);
    assert_true(count_committed(f, rv1, NULL, 0) > 0);

    /* counted in a batch that rolls back: seen inside it, gone after */
    exec_ok(f, "BEGIN IMMEDIATE");
    assert_true(accept_and_count(f, rv2a, id, 1) > 0);
    assert_cached(f, id, 2, rv2a);
    exec_ok(f, "ROLLBACK");
    assert_cached(f, id, 2, NULL);
    assert_cached(f, o->report_id, 1, o);        /* committed before: kept */
    kh_cells_t c = {0}, d = {0};
    assert_int_equal(ag_ledger_load_cells(&f->a, id, 1, &c, &d), 0);
    assert_cells_of(rv1, &c, &d);
    kh_cells_free(&c);
    kh_cells_free(&d);

    /* revision 2 again, with other numbers: its cells are these */
    assert_true(count_committed(f, rv2b, id, 1) > 0);
    assert_cached(f, id, 2, rv2b);
    assert_true(count_committed(f, rv3, id, 2) > 0);
    model_t own_o = {0}, own3 = {0}, t3 = {0}, prov3 = {0};
    model_report(other, ro, 1, NULL, &own_o);
    model_report(unit, r3, 2, NULL, &own3);
    model_table(&own_o, &own3, prov, &t3, &prov3);
    assert_totals(f, period, &t3);

    /* one message undone to its savepoint (a dead letter): apply drops its entry */
    exec_ok(f, "BEGIN IMMEDIATE");
    exec_ok(f, "SAVEPOINT msg");
    assert_true(accept_and_count(f, rv4, id, 3) > 0);
    exec_ok(f, "ROLLBACK TO msg");
    exec_ok(f, "RELEASE msg");
    ag_cache_drop(f->a.cache, id);
    exec_ok(f, "COMMIT");
    ag_cache_committed(f->a.cache);
    assert_cached(f, id, 4, NULL);
    assert_true(count_committed(f, rv4, id, 3) > 0);
    assert_cached(f, id, 4, rv4);
    model_t own4 = {0}, t4 = {0}, prov4 = {0};
    model_report(unit, r4, 2, NULL, &own4);
    model_table(&own_o, &own4, prov, &t4, &prov4);
    assert_totals(f, period, &t4);

    Kh__Report *all[] = {o, rv1, rv2a, rv2b, rv3, rv4};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        report_free(all[i]);
}

/* The bound: bytes and entries; the least recently used go first; what does not fit is
 * not kept; a NULL cache keeps nothing. */
static void test_cache_bound(void **state)
{
    (void)state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    ag_cache_t *c = ag_cache_new(db);
    assert_non_null(c);
    /* entries of 1,000 cells (~30 KB packed each): far more than the bound holds */
    kh_cells_t below = {0}, own = {0}, got = {0}, got2 = {0};
    for (int i = 0; i < 1000; i++) {
        char org[16];
        snprintf(org, sizeof org, "X%07d", i);
        assert_int_equal(kh_cells_push(&below, org, "HO.TONG", i, 1), 0);
    }
    assert_int_equal(kh_cells_push(&own, "X", "HO.TONG", 1, 1000), 0);
    size_t each = 0, n = 0;
    for (; ag_cache_bytes(c) + each <= AG_CACHE_BYTES; n++) {
        char id[32];
        snprintf(id, sizeof id, "U%zu-2020S2", n);
        ag_cache_put(c, id, 1, &below, &own);
        each = ag_cache_bytes(c) / (n + 1);
        if (n == 2)                               /* U0 used again: U1 is the oldest */
            assert_int_equal(ag_cache_get(c, "U0-2020S2", 1, &got, &got2), KH_OK);
        kh_cells_free(&got);
        kh_cells_free(&got2);
    }
    assert_true(n > 10 && n == ag_cache_entries(c));
    ag_cache_put(c, "U-last-2020S2", 1, &below, &own);  /* one more: one goes */
    assert_true(ag_cache_bytes(c) <= AG_CACHE_BYTES);
    assert_int_equal(ag_cache_entries(c), n);
    assert_int_equal(ag_cache_get(c, "U1-2020S2", 1, &got, &got2), KH_NO);
    assert_int_equal(ag_cache_get(c, "U0-2020S2", 1, &got, &got2), KH_OK);
    assert_int_equal(got.n, below.n);
    assert_string_equal(got.v[999].orgunit, "X0000999");
    assert_true(got.v[999].sum == 999);
    assert_int_equal(got2.n, 1);
    assert_int_equal(got2.v[0].n, 1000);
    kh_cells_free(&got);
    kh_cells_free(&got2);
    assert_int_equal(ag_cache_get(c, "U-last-2020S2", 1, &got, &got2), KH_OK);
    kh_cells_free(&got);
    kh_cells_free(&got2);

    /* more entries than slots: AG_CACHE_SLOTS at most */
    kh_cells_t none = {0};
    for (size_t i = 0; i < AG_CACHE_SLOTS + 10; i++) {
        char id[32];
        snprintf(id, sizeof id, "S%zu-2020S2", i);
        ag_cache_put(c, id, 1, &own, &none);
    }
    assert_int_equal(ag_cache_entries(c), AG_CACHE_SLOTS);
    assert_int_equal(ag_cache_get(c, "S0-2020S2", 1, &got, &got2), KH_NO);

    /* cells that do not fit in the bound: not kept, and the older revision is gone */
    kh_cells_t huge = {0};
    char ind[KH_CODE_MAX + 24];
    memset(ind, 'i', sizeof ind - 1);
    ind[sizeof ind - 1] = '\0';
    for (size_t i = 0; (i + 1) * (sizeof ind + 20) <= AG_CACHE_BYTES + 2 * sizeof ind; i++)
        assert_int_equal(kh_cells_push(&huge, "X0000001", ind, 1, 1), 0);
    ag_cache_put(c, "S5-2020S2", 2, &huge, &none);
    assert_int_equal(ag_cache_get(c, "S5-2020S2", 2, &got, &got2), KH_NO);
    assert_int_equal(ag_cache_get(c, "S5-2020S2", 1, &got, &got2), KH_NO);
    assert_true(ag_cache_bytes(c) <= AG_CACHE_BYTES);

    /* the rollback hook goes with the cache */
    ag_cache_destroy(&c);
    assert_null(c);
    assert_int_equal(sqlite3_exec(db, "BEGIN; CREATE TABLE t(x); ROLLBACK", NULL, NULL, NULL),
                     SQLITE_OK);

    /* no cache: nothing kept, every get misses */
    ag_cache_put(NULL, "U0-2020S2", 1, &below, &own);
    ag_cache_drop(NULL, "U0-2020S2");
    ag_cache_committed(NULL);
    assert_int_equal(ag_cache_get(NULL, "U0-2020S2", 1, &got, &got2), KH_NO);
    assert_int_equal(ag_cache_bytes(NULL) + ag_cache_entries(NULL), 0);
    kh_cells_free(&below);
    kh_cells_free(&own);
    kh_cells_free(&huge);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_count_then_correct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_cells_not_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_kept_once, setup, teardown),
        cmocka_unit_test(test_store_pack),
        cmocka_unit_test_setup_teardown(test_store_reads, setup, teardown),
        cmocka_unit_test(test_store_reads_without_tables),
        cmocka_unit_test(test_update_grows_and_keeps_names),
        cmocka_unit_test(test_update_diff),
        cmocka_unit_test_setup_teardown(test_previous_period_warnings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_counted_cells, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_rollback, setup, teardown),
        cmocka_unit_test(test_cache_bound),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
