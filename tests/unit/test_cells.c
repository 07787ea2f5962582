/*
 * test_cells.c — unit tests of the aggregator's arithmetic (lib/model/kh_cells.c):
 * a report becomes commune cells and district cells, sorted by (orgunit, indicator);
 * districts roll up into their province.
 *
 * The real catalogue (data/) is loaded: run from the repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_cells.h"

static kh_catalog_t *cat;

static int group_setup(void **state)
{
    (void)state;
    char err[512] = "";
    cat = kh_catalog_load("data", 620, 1205, err, sizeof err);
    if (!cat) {
        fprintf(stderr, "kh_catalog_load(data): %s (run from the repository root)\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    kh_catalog_destroy(&cat);
    return 0;
}

/* ---- a report built by hand --------------------------------------------------------- */

typedef struct {
    Kh__Report r;
    Kh__Value v[32];
    Kh__Value *pv[32];
    kh_cells_t communes, district;
} fx_t;

static void add(fx_t *fx, const char *org, const char *ind, const char *raw)
{
    size_t i = fx->r.n_values;
    assert_true(i < 32);
    Kh__Value init = KH__VALUE__INIT;
    fx->v[i] = init;
    fx->v[i].orgunit = (char *)org;
    fx->v[i].indicator = (char *)ind;
    fx->v[i].raw = (char *)raw;
    fx->v[i].line = (uint32_t)i + 2;
    fx->pv[i] = &fx->v[i];
    fx->r.n_values = i + 1;
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    Kh__Report init = KH__REPORT__INIT;
    fx->r = init;
    fx->r.report_id = "829-2020S2";
    fx->r.revision = 1;
    fx->r.district = "829";
    fx->r.period = "2020S2";
    fx->r.values = fx->pv;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    kh_cells_free(&fx->communes);
    kh_cells_free(&fx->district);
    free(fx);
    return 0;
}

/* The report of the brief, in an order that is not the sorted one. */
static void build_report(fx_t *fx)
{
    add(fx, "829", "TT.TIN_BAI", "14");
    add(fx, "28757", "HO.TONG", "980");
    add(fx, "28756", "HO.TONG", "1200");
    add(fx, "28757", "CDX.DIEM", "70");
    add(fx, "28756", "CDX.DIEM", "85.5");
    add(fx, "28756", "CDX.XEP_LOAI", "TOT");
    add(fx, "28757", "CDX.XEP_LOAI", "KHA");
    add(fx, "28759", "CDX.XEP_LOAI", "");       /* empty option: no cell */
    add(fx, "28756", "TTHTCD.CO", "1");
    add(fx, "28757", "TTHTCD.CO", "0");
}

static const kh_cell_t *find(const kh_cells_t *c, const char *org, const char *ind)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].orgunit, org) == 0 && strcmp(c->v[i].indicator, ind) == 0)
            return &c->v[i];
    return NULL;
}

static void assert_cell(const kh_cells_t *c, size_t i, const char *org, const char *ind,
                        double sum, uint32_t n)
{
    if (i >= c->n)
        fail_msg("cell %zu (%s %s) missing: only %zu cells", i, org, ind, c->n);
    const kh_cell_t *e = &c->v[i];
    if (strcmp(e->orgunit, org) != 0 || strcmp(e->indicator, ind) != 0)
        fail_msg("cell %zu is (%s, %s), expected (%s, %s)", i, e->orgunit, e->indicator, org,
                 ind);
    if (fabs(e->sum - sum) > 1e-9)
        fail_msg("cell (%s, %s): sum %g, expected %g", org, ind, e->sum, sum);
    assert_int_equal(e->n, n);
}

static void assert_sorted(const kh_cells_t *c)
{
    for (size_t i = 1; i < c->n; i++)
        if (kh_cell_cmp(&c->v[i - 1], &c->v[i]) >= 0)
            fail_msg("cells %zu (%s %s) and %zu (%s %s) out of order or repeated", i - 1,
                     c->v[i - 1].orgunit, c->v[i - 1].indicator, i, c->v[i].orgunit,
                     c->v[i].indicator);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_catalogue_has_the_indicators(void **state)
{
    (void)state;
    const kh_indicator_t *i = kh_catalog_indicator(cat, "CDX.XEP_LOAI");
    assert_non_null(i);
    assert_int_equal(i->vtype, KH_VT_OPTION);
    assert_int_equal(i->level, 3);
    assert_int_equal(kh_catalog_indicator(cat, "TT.TIN_BAI")->level, 2);
    assert_int_equal(kh_catalog_indicator(cat, "CDX.DIEM")->vtype, KH_VT_SCORE);
    assert_int_equal(kh_catalog_indicator(cat, "TTHTCD.CO")->vtype, KH_VT_FLAG);
    assert_int_equal(kh_catalog_indicator(cat, "HO.TONG")->vtype, KH_VT_COUNT);
}

static void test_commune_cells(void **state)
{
    fx_t *fx = *state;
    build_report(fx);
    assert_int_equal(kh_cells_from_report(cat, &fx->r, &fx->communes, &fx->district), 0);
    const kh_cells_t *c = &fx->communes;
    assert_int_equal(c->n, 8);
    assert_cell(c, 0, "28756", "CDX.DIEM", 85.5, 1);
    assert_cell(c, 1, "28756", "CDX.XEP_LOAI=TOT", 1, 1);
    assert_cell(c, 2, "28756", "HO.TONG", 1200, 1);
    assert_cell(c, 3, "28756", "TTHTCD.CO", 1, 1);
    assert_cell(c, 4, "28757", "CDX.DIEM", 70, 1);
    assert_cell(c, 5, "28757", "CDX.XEP_LOAI=KHA", 1, 1);
    assert_cell(c, 6, "28757", "HO.TONG", 980, 1);
    assert_cell(c, 7, "28757", "TTHTCD.CO", 0, 1);
    /* the empty option made no cell, under any name */
    for (size_t i = 0; i < c->n; i++)
        assert_string_not_equal(c->v[i].orgunit, "28759");
    for (size_t i = 0; i < fx->district.n; i++) {
        const char *ind = fx->district.v[i].indicator;
        assert_int_not_equal(ind[strlen(ind) - 1], '=');
    }
    /* the district-level indicator is not a commune cell */
    assert_null(find(c, "829", "TT.TIN_BAI"));
    assert_sorted(c);
}

static void test_district_cells(void **state)
{
    fx_t *fx = *state;
    build_report(fx);
    assert_int_equal(kh_cells_from_report(cat, &fx->r, &fx->communes, &fx->district), 0);
    const kh_cells_t *d = &fx->district;
    assert_int_equal(d->n, 6);
    assert_cell(d, 0, "829", "CDX.DIEM", 155.5, 2);            /* score: sum and n */
    assert_cell(d, 1, "829", "CDX.XEP_LOAI=KHA", 1, 1);        /* option counts */
    assert_cell(d, 2, "829", "CDX.XEP_LOAI=TOT", 1, 1);
    assert_cell(d, 3, "829", "HO.TONG", 2180, 2);
    assert_cell(d, 4, "829", "TT.TIN_BAI", 14, 1);             /* as given */
    assert_cell(d, 5, "829", "TTHTCD.CO", 1, 2);               /* flags: how many have one */
    assert_sorted(d);
    /* a score's value is sum / n */
    assert_true(fabs(d->v[0].sum / d->v[0].n - 77.75) < 1e-9);
}

static void test_option_counts_add_up(void **state)
{
    fx_t *fx = *state;
    add(fx, "28756", "CDX.XEP_LOAI", "TOT");
    add(fx, "28757", "CDX.XEP_LOAI", "TOT");
    add(fx, "28759", "CDX.XEP_LOAI", " TOT ");
    add(fx, "28762", "CDX.XEP_LOAI", "CHUA");
    add(fx, "28765", "CDX.XEP_LOAI", "   ");                 /* blank: empty */
    assert_int_equal(kh_cells_from_report(cat, &fx->r, &fx->communes, &fx->district), 0);
    assert_int_equal(fx->communes.n, 4);
    assert_int_equal(fx->district.n, 2);
    assert_cell(&fx->district, 0, "829", "CDX.XEP_LOAI=CHUA", 1, 1);
    assert_cell(&fx->district, 1, "829", "CDX.XEP_LOAI=TOT", 3, 3);
    assert_cell(&fx->communes, 2, "28759", "CDX.XEP_LOAI=TOT", 1, 1);
}

static void test_unparseable_values_skipped(void **state)
{
    fx_t *fx = *state;
    build_report(fx);
    add(fx, "28762", "HO.TONG", "abc");            /* not a number */
    add(fx, "28762", "TTHTCD.CO", "2");            /* a flag is 0 or 1 */
    add(fx, "28762", "CDX.XEP_LOAI", "GIOI");      /* not an option */
    add(fx, "28762", "CDX.DIEM", "");              /* empty number */
    add(fx, "28762", "NO.SUCH", "5");              /* unknown indicator */
    add(fx, "829", "TT.TIN_BAI", "-3");            /* a count is never negative */
    assert_int_equal(kh_cells_from_report(cat, &fx->r, &fx->communes, &fx->district), 0);
    assert_int_equal(fx->communes.n, 8);
    for (size_t i = 0; i < fx->communes.n; i++)
        assert_string_not_equal(fx->communes.v[i].orgunit, "28762");
    assert_int_equal(fx->district.n, 6);
    assert_cell(&fx->district, 3, "829", "HO.TONG", 2180, 2);
    assert_cell(&fx->district, 4, "829", "TT.TIN_BAI", 14, 1);
    assert_null(find(&fx->district, "829", "NO.SUCH"));
    assert_null(find(&fx->district, "829", "CDX.XEP_LOAI=GIOI"));
}

static void test_thousands_separators(void **state)
{
    fx_t *fx = *state;
    add(fx, "28756", "HO.TONG", "1.200");
    add(fx, "28757", "HO.TONG", "2,345");
    assert_int_equal(kh_cells_from_report(cat, &fx->r, &fx->communes, &fx->district), 0);
    assert_int_equal(fx->district.n, 1);
    assert_cell(&fx->district, 0, "829", "HO.TONG", 3545, 2);
}

static void test_empty_report(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(kh_cells_from_report(cat, &fx->r, &fx->communes, &fx->district), 0);
    assert_int_equal(fx->communes.n, 0);
    assert_int_equal(fx->district.n, 0);
}

static void test_many_communes_grow_and_sort(void **state)
{
    fx_t *fx = *state;
    /* every commune of district 829 in force at the end of 2020S2, in reverse order */
    const kh_unit_t *units[64];
    size_t n = kh_catalog_units_on(cat, 3, "829", 20201231, units, 64);
    assert_true(n >= 2 && n <= 16);
    static char raws[16][8];
    double total = 0;
    for (size_t k = n; k-- > 0;) {
        snprintf(raws[k], sizeof raws[k], "%zu", 100 + k);
        total += 100 + (double)k;
        add(fx, units[k]->code, "HO.TONG", raws[k]);
        add(fx, units[k]->code, "TTHTCD.CO", "1");
    }
    assert_int_equal(kh_cells_from_report(cat, &fx->r, &fx->communes, &fx->district), 0);
    assert_int_equal(fx->communes.n, 2 * n);
    assert_sorted(&fx->communes);
    assert_int_equal(fx->district.n, 2);
    assert_cell(&fx->district, 0, "829", "HO.TONG", total, (uint32_t)n);
    assert_cell(&fx->district, 1, "829", "TTHTCD.CO", (double)n, (uint32_t)n);
}

static void test_push_sort_free(void **state)
{
    (void)state;
    kh_cells_t c = {0};
    for (int i = 0; i < 600; i++) {            /* past the first allocation */
        char org[16];
        snprintf(org, sizeof org, "%05d", 599 - i);
        assert_int_equal(kh_cells_push(&c, org, i % 2 ? "B" : "A", i, 1), 0);
    }
    assert_int_equal(kh_cells_push(&c, "00000", "A", 1, 1), 0);   /* a repeat is kept */
    kh_cells_sort(&c);
    assert_int_equal(c.n, 601);
    assert_string_equal(c.v[0].orgunit, "00000");
    for (size_t i = 1; i < c.n; i++)
        assert_true(kh_cell_cmp(&c.v[i - 1], &c.v[i]) <= 0);
    kh_cell_t a = {.orgunit = "1", .indicator = "B"}, b = {.orgunit = "1", .indicator = "C"};
    assert_true(kh_cell_cmp(&a, &b) < 0);
    assert_true(kh_cell_cmp(&b, &a) > 0);
    assert_int_equal(kh_cell_cmp(&a, &a), 0);
    kh_cells_free(&c);
    assert_null(c.v);
    assert_int_equal(c.n, 0);
    assert_int_equal(c.cap, 0);
}

/* Districts roll up into their province: one cell per indicator, sums and counts added. */
static void test_rollup_to_province(void **state)
{
    (void)state;
    kh_cells_t d = {0}, p = {0};
    assert_int_equal(kh_cells_push(&d, "829", "HO.TONG", 2180, 2), 0);
    assert_int_equal(kh_cells_push(&d, "833", "CDX.DIEM", 70.25, 1), 0);
    assert_int_equal(kh_cells_push(&d, "833", "HO.TONG", 1000, 3), 0);
    assert_int_equal(kh_cells_push(&d, "829", "CDX.DIEM", 155.5, 2), 0);
    assert_int_equal(kh_cells_push(&d, "831", "TT.TIN_BAI", 7, 1), 0);
    assert_int_equal(kh_cells_push(&p, "83", "AAA", 1, 1), 0);     /* kept: rollup appends */
    assert_int_equal(kh_cells_rollup(&d, "83", &p), 0);
    assert_int_equal(p.n, 4);
    assert_cell(&p, 0, "83", "AAA", 1, 1);
    assert_cell(&p, 1, "83", "CDX.DIEM", 225.75, 3);
    assert_cell(&p, 2, "83", "HO.TONG", 3180, 5);
    assert_cell(&p, 3, "83", "TT.TIN_BAI", 7, 1);
    assert_int_equal(d.n, 5);                                       /* src untouched */
    assert_string_equal(d.v[0].orgunit, "829");
    kh_cells_t none = {0};
    assert_int_equal(kh_cells_rollup(&none, "83", &p), 0);
    assert_int_equal(p.n, 4);
    kh_cells_free(&d);
    kh_cells_free(&p);
}

/* A reporting unit's ancestors are those in force when the half-year ends, nearest
 * first, up to the root. */
static void test_ancestors_of_district(void **state)
{
    (void)state;
    const kh_unit_t *anc[KH_MAX_LEVELS];
    assert_int_equal(kh_cells_ancestors(cat, "829", "2020S2", anc, KH_MAX_LEVELS), 1);
    assert_string_equal(anc[0]->code, "83");
    assert_int_equal(kh_cells_ancestors(cat, "838", "2017S1", anc, KH_MAX_LEVELS), 1);
    assert_string_equal(anc[0]->code, "83");
    /* a commune: its district, then the province */
    assert_int_equal(kh_cells_ancestors(cat, "28756", "2020S2", anc, KH_MAX_LEVELS), 2);
    assert_string_equal(anc[0]->code, "829");
    assert_string_equal(anc[1]->code, "83");
    /* cap smaller than the count: the count is still told, only cap filled */
    anc[1] = NULL;
    assert_int_equal(kh_cells_ancestors(cat, "28756", "2020S2", anc, 1), 2);
    assert_null(anc[1]);
    assert_int_equal(kh_cells_ancestors(cat, "83", "2020S2", anc, KH_MAX_LEVELS), 0);
    assert_int_equal(kh_cells_ancestors(cat, "999", "2020S2", anc, KH_MAX_LEVELS), -1);
    assert_int_equal(kh_cells_ancestors(cat, "829", "2020S3", anc, KH_MAX_LEVELS), -1);
    assert_int_equal(kh_cells_ancestors(cat, "829", "", anc, KH_MAX_LEVELS), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogue_has_the_indicators),
        cmocka_unit_test_setup_teardown(test_commune_cells, setup, teardown),
        cmocka_unit_test_setup_teardown(test_district_cells, setup, teardown),
        cmocka_unit_test_setup_teardown(test_option_counts_add_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unparseable_values_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thousands_separators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_communes_grow_and_sort, setup, teardown),
        cmocka_unit_test(test_push_sort_free),
        cmocka_unit_test(test_rollup_to_province),
        cmocka_unit_test(test_ancestors_of_district),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
