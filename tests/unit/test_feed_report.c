/*
 * test_feed_report.c — kh-feed's summaries and exports (tools/kh-feed/report.c), driven
 * from a hand-filled mirror database: every expected value below is computed by hand
 * from the cells inserted by the test, so a failure points at a roll-up rule (time
 * roll-up sum / last / max, options counted per option, scores averaged, rates from
 * aggregated numerator and denominator, completeness against the due dates).
 * The Makefile links this test with report.o (MOD_test_feed_report).
 */
#include "../../tools/kh-feed/report.h"
#include "../../tools/kh-feed/book.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uniwidth.h>
#include <xlsxwriter.h>
#include <zip.h>

#include "kh_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static kh_catalog_t *cat;

typedef struct {
    char dir[64];
    char db_path[128];
    sqlite3 *db;
} fx_t;

/* ---- fixtures ----------------------------------------------------------------------- */

/* the data folder the catalogue was loaded from (document.csv of the workbook) */
static char data_dir[512];

static int load_catalog(void **state)
{
    (void)state;
    char err[256] = "";
    const char *env = getenv("KH_DATA_DIR");
    char from_src[512];
    /* __FILE__ is tests/unit/test_feed_report.c when built from the repository root */
    snprintf(from_src, sizeof from_src, "%.*s../../data",
             (int)(strrchr(__FILE__, '/') ? strrchr(__FILE__, '/') - __FILE__ + 1 : 0),
             __FILE__);
    const char *dirs[] = {env, "data", from_src, "../data", "../../data"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0] && !cat; i++)
        if (dirs[i] && (cat = kh_catalog_load(dirs[i], 620, 1205, err, sizeof err)))
            kh_strlcpy(data_dir, dirs[i], sizeof data_dir);
    if (!cat) fprintf(stderr, "catalogue: %s\n", err);
    return cat ? 0 : -1;
}

static int free_catalog(void **state)
{
    (void)state;
    kh_catalog_destroy(&cat);
    return 0;
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    if (!fx) return -1;
    kh_strlcpy(fx->dir, "/tmp/kh-feed-test-XXXXXX", sizeof fx->dir);
    if (!mkdtemp(fx->dir)) { free(fx); return -1; }
    snprintf(fx->db_path, sizeof fx->db_path, "%s/mirror.db", fx->dir);
    if (sqlite3_open(fx->db_path, &fx->db) != SQLITE_OK) { free(fx); return -1; }
    const char *schema =
        "CREATE TABLE cell(period TEXT NOT NULL, orgunit TEXT NOT NULL, indicator TEXT NOT NULL,"
        " sum REAL NOT NULL, n INTEGER NOT NULL, PRIMARY KEY(period, orgunit, indicator));"
        "CREATE TABLE status(district TEXT NOT NULL, period TEXT NOT NULL, report_id TEXT NOT NULL,"
        " revision INTEGER NOT NULL, received_at INTEGER NOT NULL, counted_at INTEGER NOT NULL,"
        " warnings INTEGER NOT NULL, PRIMARY KEY(district, period));"
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
        "CREATE TABLE warning(district TEXT NOT NULL, period TEXT NOT NULL, code TEXT NOT NULL,"
        " line INTEGER NOT NULL, orgunit TEXT NOT NULL, indicator TEXT NOT NULL, value TEXT NOT"
        " NULL, message_vi TEXT NOT NULL, message_en TEXT NOT NULL);";
    if (sqlite3_exec(fx->db, schema, NULL, NULL, NULL) != SQLITE_OK) return -1;
    *state = fx;
    return 0;
}

static void rm_dir(const char *dir)
{
    const char *names[] = {"mirror.db", "out.csv", "out.json", "out.xlsx", "out.xlsx.tmp"};
    char p[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    sqlite3_close(fx->db);
    rm_dir(fx->dir);
    free(fx);
    return 0;
}

static void cell(fx_t *fx, const char *period, const char *org, const char *ind, double sum,
                 int n)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(fx->db, "INSERT INTO cell VALUES(?1, ?2, ?3, ?4, ?5)", -1,
                                        &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, period, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, org, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ind, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 4, sum);
    sqlite3_bind_int(st, 5, n);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

/* Unix ms of y-m-d at 12:00 UTC: the same calendar day in every time zone from UTC−11
 * to UTC+11 (Bến Tre is UTC+7), so on-time checks do not depend on TZ. */
static int64_t noon_ms(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return (days * 86400 + 12 * 3600) * 1000;
}

static void status(fx_t *fx, const char *district, const char *period, int revision,
                   int64_t received_ms)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(fx->db,
                                        "INSERT INTO status VALUES(?1, ?2, ?3, ?4, ?5, ?5, 0)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    char id[32];
    snprintf(id, sizeof id, "%s-%s", district, period);
    sqlite3_bind_text(st, 1, district, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, revision);
    sqlite3_bind_int64(st, 5, received_ms);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

/* The value of one row, failing the test when the row is absent. */
static double val(const kh_feed_rows_t *rows, const char *period, const char *org,
                  const char *ind)
{
    const kh_feed_row_t *r = kh_feed_rows_find(rows, period, org, ind);
    if (!r) fail_msg("no row %s %s %s", period ? period : "*", org, ind);
    return r->value;
}

static char *slurp(const char *path, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    assert_int_equal(kh_read_file(path, 16u << 20, &buf, &n), 0);
    if (len) *len = n;
    return buf;
}

/* ---- time roll-up ------------------------------------------------------------------- */

static void test_year_sum_last_max(void **state)
{
    fx_t *fx = *state;
    /* two communes of Thành phố Bến Tre: Phú Khương 28756, Phú Tân 28757 */
    cell(fx, "2019S1", "28756", "TTHTCD.LOP", 5, 1);
    cell(fx, "2019S2", "28756", "TTHTCD.LOP", 7, 1);
    cell(fx, "2019S1", "28757", "TTHTCD.LOP", 2, 1);
    cell(fx, "2019S1", "829", "TTHTCD.LOP", 7, 2);
    cell(fx, "2019S2", "829", "TTHTCD.LOP", 7, 1);
    cell(fx, "2019S1", "83", "TTHTCD.LOP", 7, 2);
    cell(fx, "2019S2", "83", "TTHTCD.LOP", 7, 1);

    /* households; Châu Thành (831, commune Tân Thạch 28804) did not report in S2 */
    cell(fx, "2019S1", "28756", "HO.TONG", 1000, 1);
    cell(fx, "2019S2", "28756", "HO.TONG", 1010, 1);
    cell(fx, "2019S1", "28757", "HO.TONG", 500, 1);
    cell(fx, "2019S2", "28757", "HO.TONG", 505, 1);
    cell(fx, "2019S1", "28804", "HO.TONG", 700, 1);
    cell(fx, "2019S1", "829", "HO.TONG", 1500, 2);
    cell(fx, "2019S2", "829", "HO.TONG", 1515, 2);
    cell(fx, "2019S1", "831", "HO.TONG", 700, 1);
    cell(fx, "2019S1", "83", "HO.TONG", 2200, 3);
    cell(fx, "2019S2", "83", "HO.TONG", 1515, 2);

    /* funded: Phú Khương in S1 only, Phú Tân in S2 only */
    cell(fx, "2019S1", "28756", "TTHTCD.HO_TRO", 1, 1);
    cell(fx, "2019S2", "28756", "TTHTCD.HO_TRO", 0, 1);
    cell(fx, "2019S1", "28757", "TTHTCD.HO_TRO", 0, 1);
    cell(fx, "2019S2", "28757", "TTHTCD.HO_TRO", 1, 1);
    cell(fx, "2019S1", "829", "TTHTCD.HO_TRO", 1, 2);
    cell(fx, "2019S2", "829", "TTHTCD.HO_TRO", 1, 2);
    cell(fx, "2019S1", "83", "TTHTCD.HO_TRO", 1, 2);
    cell(fx, "2019S2", "83", "TTHTCD.HO_TRO", 1, 2);

    kh_feed_rows_t c = {0}, d = {0}, p = {0};
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019", 3, &c), 0);
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019", 2, &d), 0);
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019", 1, &p), 0);

    /* sum: 5 + 7 */
    assert_true(val(&c, "2019", "28756", "TTHTCD.LOP") == 12);
    assert_true(val(&c, "2019", "28757", "TTHTCD.LOP") == 2);
    assert_true(val(&d, "2019", "829", "TTHTCD.LOP") == 14);
    assert_true(val(&p, "2019", "83", "TTHTCD.LOP") == 14);
    /* last: the latest half that has the cell; 831 keeps its S1 report, the province
     * its own S2 cell (the districts that reported in S2) */
    assert_true(val(&c, "2019", "28756", "HO.TONG") == 1010);
    assert_true(val(&c, "2019", "28757", "HO.TONG") == 505);
    assert_true(val(&c, "2019", "28804", "HO.TONG") == 700);
    assert_true(val(&d, "2019", "829", "HO.TONG") == 1515);
    assert_true(val(&d, "2019", "831", "HO.TONG") == 700);
    assert_true(val(&p, "2019", "83", "HO.TONG") == 1515);
    /* max: each commune was funded once; the district counts both as funded in 2019 */
    assert_true(val(&c, "2019", "28756", "TTHTCD.HO_TRO") == 1);
    assert_true(val(&c, "2019", "28757", "TTHTCD.HO_TRO") == 1);
    assert_true(val(&d, "2019", "829", "TTHTCD.HO_TRO") == 2);
    assert_true(val(&p, "2019", "83", "TTHTCD.HO_TRO") == 2);
    /* a half-year is the cell itself */
    kh_feed_rows_t h = {0};
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019S2", 2, &h), 0);
    assert_true(val(&h, "2019S2", "829", "TTHTCD.HO_TRO") == 1);
    assert_true(val(&h, "2019S2", "829", "TTHTCD.LOP") == 7);
    assert_non_null(kh_feed_rows_find(&d, "2019", "829", "TTHTCD.LOP"));
    assert_int_equal(d.rows[0].is_int, 1);

    kh_feed_rows_clear(&c);
    kh_feed_rows_clear(&d);
    kh_feed_rows_clear(&p);
    kh_feed_rows_clear(&h);
}

/* A district did not send its district cell in S2: the year keeps the S1 cell for
 * `last` and adds what exists for `sum`. */
static void test_year_missing_half(void **state)
{
    fx_t *fx = *state;
    cell(fx, "2018S1", "831", "TT.TIN_BAI", 12, 1);
    cell(fx, "2018S1", "831", "TH.TO_CHUC_KH", 30, 1);
    cell(fx, "2018S1", "829", "TH.TO_CHUC_KH", 10, 1);
    cell(fx, "2018S2", "829", "TH.TO_CHUC_KH", 12, 1);
    cell(fx, "2018S1", "83", "TT.TIN_BAI", 12, 1);
    cell(fx, "2018S1", "83", "TH.TO_CHUC_KH", 40, 2);
    cell(fx, "2018S2", "83", "TH.TO_CHUC_KH", 12, 1);
    kh_feed_rows_t d = {0}, p = {0};
    assert_int_equal(kh_feed_rows(fx->db, cat, "2018", 2, &d), 0);
    assert_int_equal(kh_feed_rows(fx->db, cat, "2018", 1, &p), 0);
    assert_true(val(&d, "2018", "831", "TT.TIN_BAI") == 12);
    assert_true(val(&d, "2018", "831", "TH.TO_CHUC_KH") == 30);
    assert_true(val(&d, "2018", "829", "TH.TO_CHUC_KH") == 12);
    assert_null(kh_feed_rows_find(&d, NULL, "829", "TT.TIN_BAI"));
    /* a district-level stock: the province's latest cell */
    assert_true(val(&p, "2018", "83", "TH.TO_CHUC_KH") == 12);
    assert_true(val(&p, "2018", "83", "TT.TIN_BAI") == 12);
    kh_feed_rows_clear(&d);
    kh_feed_rows_clear(&p);
}

/* ---- options and scores ------------------------------------------------------------- */

static void test_options_counted(void **state)
{
    fx_t *fx = *state;
    cell(fx, "2019S2", "829", "CDX.XEP_LOAI=TOT", 3, 3);
    cell(fx, "2019S2", "829", "CDX.XEP_LOAI=KHA", 5, 5);
    cell(fx, "2019S2", "831", "CDX.XEP_LOAI=TOT", 4, 4);
    cell(fx, "2019S2", "831", "CDX.XEP_LOAI=TB", 1, 1);
    cell(fx, "2019S2", "83", "CDX.XEP_LOAI=TOT", 7, 7);
    cell(fx, "2019S2", "83", "CDX.XEP_LOAI=KHA", 5, 5);
    cell(fx, "2019S2", "83", "CDX.XEP_LOAI=TB", 1, 1);
    /* an earlier year: 829 had 10 TOT; in 2019 none is TOT any more */
    cell(fx, "2018S2", "829", "CDX.XEP_LOAI=TOT", 10, 10);
    cell(fx, "2018S2", "829", "CDX.XEP_LOAI=KHA", 2, 2);

    kh_feed_rows_t d = {0}, p = {0}, prog = {0};
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019", 2, &d), 0);
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019", 1, &p), 0);
    assert_true(val(&d, NULL, "829", "CDX.XEP_LOAI=TOT") == 3);
    assert_true(val(&d, NULL, "831", "CDX.XEP_LOAI=TOT") == 4);
    assert_true(val(&d, NULL, "831", "CDX.XEP_LOAI=TB") == 1);
    assert_null(kh_feed_rows_find(&d, NULL, "831", "CDX.XEP_LOAI=KHA"));
    assert_true(val(&p, NULL, "83", "CDX.XEP_LOAI=TOT") == 7);
    assert_true(val(&p, NULL, "83", "CDX.XEP_LOAI=KHA") == 5);
    assert_true(val(&p, NULL, "83", "CDX.XEP_LOAI=TB") == 1);
    assert_int_equal(kh_feed_rows_find(&p, NULL, "83", "CDX.XEP_LOAI=TOT")->is_int, 1);

    /* `last` over the programme takes one half's counts for the whole indicator */
    assert_int_equal(kh_feed_rows(fx->db, cat, "2017-2020", 2, &prog), 0);
    assert_true(val(&prog, "2017-2020", "829", "CDX.XEP_LOAI=TOT") == 3);
    assert_true(val(&prog, "2017-2020", "829", "CDX.XEP_LOAI=KHA") == 5);
    kh_feed_rows_clear(&d);
    kh_feed_rows_clear(&p);
    kh_feed_rows_clear(&prog);

    /* in 2019 (2019S2) 829 has no TOT cell → the 2018S2 TOT must not leak in */
    fx_t *f = fx;
    sqlite3_exec(f->db, "DELETE FROM cell WHERE period='2019S2' AND orgunit='829' AND "
                        "indicator='CDX.XEP_LOAI=TOT'", NULL, NULL, NULL);
    assert_int_equal(kh_feed_rows(fx->db, cat, "2018-2019", 2, &prog), 0);
    assert_null(kh_feed_rows_find(&prog, NULL, "829", "CDX.XEP_LOAI=TOT"));
    assert_true(val(&prog, NULL, "829", "CDX.XEP_LOAI=KHA") == 5);
    kh_feed_rows_clear(&prog);
}

static void test_score_average(void **state)
{
    fx_t *fx = *state;
    /* communes 80 and 65 in 829; 90 in 831 */
    cell(fx, "2019S2", "28756", "CDX.DIEM", 80, 1);
    cell(fx, "2019S2", "28757", "CDX.DIEM", 65, 1);
    cell(fx, "2019S2", "28804", "CDX.DIEM", 90, 1);
    cell(fx, "2019S2", "829", "CDX.DIEM", 145, 2);
    cell(fx, "2019S2", "831", "CDX.DIEM", 90, 1);
    cell(fx, "2019S2", "83", "CDX.DIEM", 235, 3);
    /* an older year that `last` must not mix in */
    cell(fx, "2018S2", "83", "CDX.DIEM", 100, 2);

    kh_feed_rows_t d = {0}, p = {0}, prog = {0};
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019S2", 2, &d), 0);
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019", 1, &p), 0);
    assert_int_equal(kh_feed_rows(fx->db, cat, "2018-2019", 1, &prog), 0);
    assert_true(val(&d, NULL, "829", "CDX.DIEM") == 72.5);
    assert_true(val(&d, NULL, "831", "CDX.DIEM") == 90);
    assert_int_equal(kh_feed_rows_find(&d, NULL, "829", "CDX.DIEM")->is_int, 0);
    /* 235 / 3 = 78.333… → 78.33, not the mean of district averages (81.25) */
    assert_true(val(&p, "2019", "83", "CDX.DIEM") == 78.33);
    assert_true(val(&prog, "2018-2019", "83", "CDX.DIEM") == 78.33);
    char buf[32];
    kh_feed_format_value(kh_feed_rows_find(&p, NULL, "83", "CDX.DIEM"), buf, sizeof buf);
    assert_string_equal(buf, "78.33");
    kh_feed_format_value(kh_feed_rows_find(&d, NULL, "829", "CDX.DIEM"), buf, sizeof buf);
    assert_string_equal(buf, "72.5");
    kh_feed_rows_clear(&d);
    kh_feed_rows_clear(&p);
    kh_feed_rows_clear(&prog);
}

/* ---- rates -------------------------------------------------------------------------- */

static void test_rate_from_aggregates(void **state)
{
    fx_t *fx = *state;
    /* 829: 10 of 100 households (10 %); 831: 450 of 500 (90 %).  Mean of the district
     * rates: 50 %; the province rate: 460 / 600 = 76.666… → 76.67 %. */
    cell(fx, "2019S2", "829", "GDHT.CONG_NHAN", 10, 1);
    cell(fx, "2019S2", "829", "HO.TONG", 100, 1);
    cell(fx, "2019S2", "831", "GDHT.CONG_NHAN", 450, 1);
    cell(fx, "2019S2", "831", "HO.TONG", 500, 1);
    cell(fx, "2019S2", "832", "GDHT.CONG_NHAN", 0, 1);   /* denominator 0: no rate */
    cell(fx, "2019S2", "832", "HO.TONG", 0, 1);
    cell(fx, "2019S2", "833", "HO.TONG", 300, 1);        /* numerator missing: no rate */
    cell(fx, "2019S2", "83", "GDHT.CONG_NHAN", 460, 3);
    cell(fx, "2019S2", "83", "HO.TONG", 900, 4);
    /* the province's own denominator includes 833 → 460 / 900 = 51.11 %; use a year to
     * check that rates follow the rolled-up values too */
    cell(fx, "2019S1", "83", "HO.TONG", 850, 4);

    kh_feed_rows_t d = {0}, p = {0};
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019S2", 2, &d), 0);
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019", 1, &p), 0);
    assert_true(val(&d, NULL, "829", "TL.GDHT") == 10);
    assert_true(val(&d, NULL, "831", "TL.GDHT") == 90);
    assert_null(kh_feed_rows_find(&d, NULL, "832", "TL.GDHT"));
    assert_null(kh_feed_rows_find(&d, NULL, "833", "TL.GDHT"));
    assert_true(val(&p, "2019", "83", "TL.GDHT") == 51.11);
    assert_int_equal(kh_feed_rows_find(&p, NULL, "83", "TL.GDHT")->kind, KH_FEED_RATE);
    kh_feed_rows_clear(&d);
    kh_feed_rows_clear(&p);

    /* the exact case of the brief: province = 460 / 600 */
    sqlite3_exec(fx->db, "UPDATE cell SET sum = 600 WHERE orgunit = '83' AND indicator = "
                         "'HO.TONG' AND period = '2019S2'", NULL, NULL, NULL);
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019S2", 1, &p), 0);
    double prov = val(&p, NULL, "83", "TL.GDHT");
    assert_true(prov == 76.67);
    assert_true(prov != (10.0 + 90.0) / 2);
    kh_feed_rows_clear(&p);
}

/* ---- completeness ------------------------------------------------------------------- */

static void test_completeness(void **state)
{
    fx_t *fx = *state;
    status(fx, "829", "2019S1", 1, noon_ms(2019, 6, 20));   /* on the due date: on time */
    status(fx, "831", "2019S1", 2, noon_ms(2019, 6, 21));   /* a day late */
    status(fx, "832", "2019S2", 1, noon_ms(2019, 12, 5));   /* on time */
    status(fx, "833", "2019S2", 3, noon_ms(2019, 12, 6));   /* late */
    status(fx, "834", "2019S2", 1, noon_ms(2019, 11, 30));  /* on time */

    kh_feed_rows_t p = {0}, d = {0};
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019", 1, &p), 0);
    assert_true(val(&p, "2019S1", "83", "COMPLETENESS.EXPECTED") == 9);
    assert_true(val(&p, "2019S1", "83", "COMPLETENESS.REPORTED") == 2);
    assert_true(val(&p, "2019S1", "83", "COMPLETENESS.ON_TIME") == 1);
    assert_true(val(&p, "2019S1", "83", "COMPLETENESS.LATE") == 1);
    assert_true(val(&p, "2019S1", "83", "COMPLETENESS.MISSING") == 7);
    assert_true(val(&p, "2019S2", "83", "COMPLETENESS.EXPECTED") == 9);
    assert_true(val(&p, "2019S2", "83", "COMPLETENESS.REPORTED") == 3);
    assert_true(val(&p, "2019S2", "83", "COMPLETENESS.ON_TIME") == 2);
    assert_true(val(&p, "2019S2", "83", "COMPLETENESS.LATE") == 1);
    assert_true(val(&p, "2019S2", "83", "COMPLETENESS.MISSING") == 6);
    /* no values in the mirror: completeness only, 5 per half */
    assert_int_equal(p.n, 10);

    assert_int_equal(kh_feed_rows(fx->db, cat, "2019S1", 2, &d), 0);
    assert_int_equal(d.n, 18);   /* 9 districts × REPORTED, ON_TIME */
    assert_true(val(&d, "2019S1", "829", "COMPLETENESS.REPORTED") == 1);
    assert_true(val(&d, "2019S1", "829", "COMPLETENESS.ON_TIME") == 1);
    assert_true(val(&d, "2019S1", "831", "COMPLETENESS.REPORTED") == 1);
    assert_true(val(&d, "2019S1", "831", "COMPLETENESS.ON_TIME") == 0);
    assert_true(val(&d, "2019S1", "838", "COMPLETENESS.REPORTED") == 0);
    assert_true(val(&d, "2019S1", "838", "COMPLETENESS.ON_TIME") == 0);
    /* unit-file order: 829 first, 838 last */
    assert_string_equal(d.rows[0].orgunit, "829");
    assert_string_equal(d.rows[d.n - 1].orgunit, "838");
    kh_feed_rows_clear(&p);
    kh_feed_rows_clear(&d);
}

/* ---- exports ------------------------------------------------------------------------ */

static void tiny_case(fx_t *fx)
{
    cell(fx, "2019S2", "83", "TTHTCD.LOP", 12, 2);
    cell(fx, "2019S2", "83", "HO.TONG", 1000, 2);
    cell(fx, "2019S2", "83", "GDHT.CONG_NHAN", 300, 2);
    cell(fx, "2019S2", "83", "CDX.DIEM", 235, 3);
    cell(fx, "2019S2", "83", "CDX.XEP_LOAI=TOT", 2, 2);
    cell(fx, "2019S2", "829", "TTHTCD.LOP", 12, 2);
    status(fx, "829", "2019S2", 1, noon_ms(2019, 12, 1));
}

static void test_csv_exact(void **state)
{
    fx_t *fx = *state;
    tiny_case(fx);
    char path[256];
    snprintf(path, sizeof path, "%s/out.csv", fx->dir);
    assert_int_equal(kh_feed_export(fx->db, cat, "2019S2", 1, "csv", path), 0);
    char *text = slurp(path, NULL);
    assert_string_equal(text, "period,orgunit,indicator,value\n"
                              "2019S2,83,TTHTCD.LOP,12\n"
                              "2019S2,83,HO.TONG,1000\n"
                              "2019S2,83,GDHT.CONG_NHAN,300\n"
                              "2019S2,83,CDX.DIEM,78.33\n"
                              "2019S2,83,CDX.XEP_LOAI=TOT,2\n"
                              "2019S2,83,TL.GDHT,30\n"
                              "2019S2,83,COMPLETENESS.EXPECTED,9\n"
                              "2019S2,83,COMPLETENESS.REPORTED,1\n"
                              "2019S2,83,COMPLETENESS.ON_TIME,1\n"
                              "2019S2,83,COMPLETENESS.LATE,0\n"
                              "2019S2,83,COMPLETENESS.MISSING,8\n");
    free(text);

    /* a year: values under the year, completeness under each half */
    assert_int_equal(kh_feed_export(fx->db, cat, "2019", 2, "csv", path), 0);
    text = slurp(path, NULL);
    assert_non_null(strstr(text, "period,orgunit,indicator,value\n"
                                 "2019,829,TTHTCD.LOP,12\n"
                                 "2019S1,829,COMPLETENESS.REPORTED,0\n"
                                 "2019S1,829,COMPLETENESS.ON_TIME,0\n"
                                 "2019S2,829,COMPLETENESS.REPORTED,1\n"
                                 "2019S2,829,COMPLETENESS.ON_TIME,1\n"
                                 "2019S1,831,COMPLETENESS.REPORTED,0\n"));
    assert_ptr_equal(strstr(text, "period,"), text);
    free(text);
}

/* Communes merged on 2020-02-01 still appear for their halves, in unit-file order. */
static void test_commune_units(void **state)
{
    fx_t *fx = *state;
    cell(fx, "2019S2", "28771", "HO.TONG", 900, 1);    /* Phường 1, merged into 28777 */
    cell(fx, "2019S2", "28777", "HO.TONG", 800, 1);    /* Phường 2 */
    cell(fx, "2020S2", "28777", "HO.TONG", 1750, 1);   /* Phường An Hội */
    cell(fx, "2020S2", "28756", "HO.TONG", 1000, 1);   /* Phú Khương */
    cell(fx, "2019S2", "99999", "HO.TONG", 1, 1);      /* unknown code: skipped */

    kh_feed_rows_t c = {0};
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019-2020", 3, &c), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.rows[0].orgunit, "28756");
    assert_string_equal(c.rows[1].orgunit, "28771");
    assert_string_equal(c.rows[2].orgunit, "28777");
    assert_string_equal(c.rows[1].unit_name, "Phường 1");
    assert_string_equal(c.rows[2].unit_name, "Phường An Hội");
    assert_true(c.rows[2].value == 1750);
    kh_feed_rows_clear(&c);

    assert_int_equal(kh_feed_rows(fx->db, cat, "2019S2", 3, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.rows[1].unit_name, "Phường 2");
    kh_feed_rows_clear(&c);

    /* over the programme, the district's households are its latest cell (An Hội has
     * taken in Phường 1); a centre funded in Phường 1 in 2019 and one in An Hội in 2020
     * are two centres funded, though each half's district count is 1. */
    cell(fx, "2019S2", "829", "HO.TONG", 1700, 2);
    cell(fx, "2020S2", "829", "HO.TONG", 2750, 2);
    cell(fx, "2019S2", "28771", "TTHTCD.HO_TRO", 1, 1);
    cell(fx, "2020S2", "28777", "TTHTCD.HO_TRO", 1, 1);
    cell(fx, "2019S2", "829", "TTHTCD.HO_TRO", 1, 2);
    cell(fx, "2020S2", "829", "TTHTCD.HO_TRO", 1, 2);
    kh_feed_rows_t d = {0};
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019-2020", 2, &d), 0);
    assert_true(val(&d, "2019-2020", "829", "HO.TONG") == 2750);
    assert_true(val(&d, "2019-2020", "829", "TTHTCD.HO_TRO") == 2);
    kh_feed_rows_clear(&d);
}

/* Issue 12, item 5: TL.TTHTCD_HO_TRO over 2019–2020 for Thành phố Bến Tre.  Cells:
 *   2019S2  Phường 1 (28771, merged into An Hội 2020-02-01): centre, funded
 *           Phường 3 (28774, merged too): centre, funded
 *           Phú Khương (28756): centre, funded        Phú Tân (28757): centre, not funded
 *   2020S2  An Hội (28777): centre, not funded          Phú Khương: centre, not funded
 *           Phú Tân: centre, funded                      Phường 8 (28759): no centre
 * The district's cells are their sums.  Centres at the end of 2020: An Hội, Phú
 * Khương, Phú Tân = 3; of those, funded at some time in 2019–2020: Phú Khương
 * (2019S2), Phú Tân (2020S2) = 2, so 66.67 %.  Counting every commune ever funded
 * (Phường 1, Phường 3, Phú Khương, Phú Tân = 4) over the latest centres (3) gave
 * 133.33 %, the kind of figure the demo showed (121.43 %). */
static void test_rate_same_units(void **state)
{
    fx_t *fx = *state;
    static const struct { const char *p, *org; double co, ho; } c[] = {
        {"2019S2", "28771", 1, 1}, {"2019S2", "28774", 1, 1}, {"2019S2", "28756", 1, 1},
        {"2019S2", "28757", 1, 0}, {"2020S2", "28777", 1, 0}, {"2020S2", "28756", 1, 0},
        {"2020S2", "28757", 1, 1}, {"2020S2", "28759", 0, 0},
    };
    double dco[2] = {0}, dho[2] = {0};
    int dn[2] = {0};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        cell(fx, c[i].p, c[i].org, "TTHTCD.CO", c[i].co, 1);
        cell(fx, c[i].p, c[i].org, "TTHTCD.HO_TRO", c[i].ho, 1);
        int k = strcmp(c[i].p, "2020S2") == 0;
        dco[k] += c[i].co;
        dho[k] += c[i].ho;
        dn[k]++;
    }
    const char *halves[2] = {"2019S2", "2020S2"};
    for (int k = 0; k < 2; k++)
        for (int lv = 0; lv < 2; lv++) {
            const char *org = lv ? "83" : "829";
            cell(fx, halves[k], org, "TTHTCD.CO", dco[k], dn[k]);
            cell(fx, halves[k], org, "TTHTCD.HO_TRO", dho[k], dn[k]);
        }
    kh_feed_rows_t d = {0}, p = {0}, cm = {0}, h = {0};
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019-2020", 2, &d), 0);
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019-2020", 1, &p), 0);
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019-2020", 3, &cm), 0);
    assert_int_equal(kh_feed_rows(fx->db, cat, "2019S2", 2, &h), 0);
    /* the indicator itself still counts every centre ever funded */
    assert_true(val(&d, NULL, "829", "TTHTCD.HO_TRO") == 4);
    assert_true(val(&d, NULL, "829", "TTHTCD.CO") == 3);
    assert_true(val(&d, NULL, "829", "TL.TTHTCD_HO_TRO") == 66.67);
    assert_true(val(&p, NULL, "83", "TL.TTHTCD_HO_TRO") == 66.67);
    /* a commune: Phú Khương funded in 2019, has a centre at the end: 100 %; Phú Tân 100 %
     * too; a merged commune's rate is its own, at its last half (2019S2) */
    assert_true(val(&cm, NULL, "28756", "TL.TTHTCD_HO_TRO") == 100);
    assert_true(val(&cm, NULL, "28757", "TL.TTHTCD_HO_TRO") == 100);
    assert_true(val(&cm, NULL, "28771", "TL.TTHTCD_HO_TRO") == 100);
    assert_null(kh_feed_rows_find(&cm, NULL, "28759", "TL.TTHTCD_HO_TRO"));   /* 0 centres */
    /* one half-year: 3 of 4 centres */
    assert_true(val(&h, NULL, "829", "TL.TTHTCD_HO_TRO") == 75);
    /* never above 100 % at any unit */
    kh_feed_rows_t *all[4] = {&d, &p, &cm, &h};
    for (int k = 0; k < 4; k++) {
        for (size_t i = 0; i < all[k]->n; i++)
            if (all[k]->rows[i].kind == KH_FEED_RATE)
                assert_true(all[k]->rows[i].value <= 100);
        kh_feed_rows_clear(all[k]);
    }
}

static void test_json(void **state)
{
    fx_t *fx = *state;
    tiny_case(fx);
    char path[256];
    snprintf(path, sizeof path, "%s/out.json", fx->dir);
    assert_int_equal(kh_feed_export(fx->db, cat, "2019S2", 1, "json", path), 0);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "period")), "2019S2");
    assert_true(json_is_integer(json_object_get(root, "level")));   /* a level number */
    assert_int_equal(json_integer_value(json_object_get(root, "level")), 1);
    json_t *rows = json_object_get(root, "rows");
    assert_true(json_is_array(rows));
    assert_int_equal(json_array_size(rows), 11);
    json_t *r0 = json_array_get(rows, 0);
    assert_string_equal(json_string_value(json_object_get(r0, "period")), "2019S2");
    assert_string_equal(json_string_value(json_object_get(r0, "orgunit")), "83");
    assert_string_equal(json_string_value(json_object_get(r0, "name")), "Tỉnh Bến Tre");
    assert_string_equal(json_string_value(json_object_get(r0, "indicator")), "TTHTCD.LOP");
    assert_true(json_is_integer(json_object_get(r0, "value")));
    assert_int_equal(json_integer_value(json_object_get(r0, "value")), 12);
    json_t *r3 = json_array_get(rows, 3);
    assert_string_equal(json_string_value(json_object_get(r3, "indicator")), "CDX.DIEM");
    assert_true(json_is_real(json_object_get(r3, "value")));
    assert_true(json_real_value(json_object_get(r3, "value")) == 78.33);
    json_decref(root);
}

static void test_xlsx(void **state)
{
    fx_t *fx = *state;
    tiny_case(fx);
    char path[256];
    snprintf(path, sizeof path, "%s/out.xlsx", fx->dir);
    assert_int_equal(kh_feed_export(fx->db, cat, "2019", 2, "xlsx", path), 0);
    size_t len = 0;
    char *buf = slurp(path, &len);
    assert_true(len > 1000);
    assert_memory_equal(buf, "PK", 2);
    free(buf);
    assert_int_equal(access(path, F_OK), 0);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0);   /* renamed into place */
    assert_int_equal(kh_feed_export(fx->db, cat, "2019", 2, "xlsx", "-"), -1);
}

static void test_summary(void **state)
{
    fx_t *fx = *state;
    cell(fx, "2019S2", "829", "GDHT.CONG_NHAN", 10, 1);
    cell(fx, "2019S2", "829", "HO.TONG", 100, 1);
    cell(fx, "2019S2", "831", "GDHT.CONG_NHAN", 450, 1);
    cell(fx, "2019S2", "831", "HO.TONG", 500, 1);
    cell(fx, "2019S2", "83", "GDHT.CONG_NHAN", 460, 2);
    cell(fx, "2019S2", "83", "HO.TONG", 600, 2);
    cell(fx, "2019S2", "83", "QUY.VAN_DONG", 86900000000.0, 157);
    cell(fx, "2019S2", "83", "CDX.XEP_LOAI=TOT", 41, 41);
    status(fx, "829", "2019S2", 2, noon_ms(2019, 12, 4));
    status(fx, "831", "2019S2", 1, noon_ms(2019, 12, 9));

    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    assert_non_null(m);
    assert_int_equal(kh_feed_summary(fx->db, cat, "2019S2", m), 0);
    fclose(m);
    assert_non_null(strstr(text, "Toàn tỉnh"));          /* "Toàn " + level 1 of levels.csv */
    assert_non_null(strstr(text, "Huyện Châu Thành"));   /* names are written whole */
    assert_non_null(strstr(text, "Thành phố Bến Tre"));
    assert_null(strstr(text, "TP. "));
    assert_non_null(strstr(text, "86.900"));           /* the province total, triệu đồng */
    assert_non_null(strstr(text, "triệu đồng"));
    assert_non_null(strstr(text, "76,67"));            /* the province rate */
    assert_non_null(strstr(text, "(1) TL.GDHT: "));
    /* issue 15: the rates by unit, then the province's, its target and gap, one column
     * per rate; the target's row headed by the targets' year in targets.csv */
    const char *tl = strstr(text, "Chỉ tiêu 2020 ");
    assert_non_null(tl);
    const char *eol = strchr(tl, '\n');
    char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)(eol - tl), tl);
    assert_non_null(strstr(line, " 70"));              /* the 2020 target */
    tl = strstr(text, "Chênh lệch (điểm %)");
    assert_non_null(tl);
    snprintf(line, sizeof line, "%.*s", (int)(strchr(tl, '\n') - tl), tl);
    assert_non_null(strstr(line, "+6,67"));            /* the gap 76.67 − 70 */
    /* issue 15: a root total of 2 of the 9 reporting units is partial, wherever shown */
    assert_non_null(strstr(text, "\nToàn tỉnh: tổng chưa đủ / partial: 2 of 9 units"));
    assert_non_null(strstr(text, "Cột Toàn tỉnh (chưa đủ): tổng chưa đủ / partial: 2 of 9 units"));
    assert_non_null(strstr(text, "Dòng Toàn tỉnh (chưa đủ): tổng chưa đủ / partial: 2 of 9 units"));
    assert_non_null(strstr(text, "Toàn tỉnh 2019S2 — tổng chưa đủ / partial: 2 of 9 units"));
    assert_non_null(strstr(text, "\nDữ liệu đến / data as of 09/12/2019 "));
    /* issue 15: no line wider than 100 columns */
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        char one[1024];
        snprintf(one, sizeof one, "%.*s", (int)n, p);
        if (u8_strwidth((const uint8_t *)one, "UTF-8") > 100) fail_msg("too wide: %s", one);
        p += n + (p[n] == '\n');
    }
    assert_non_null(strstr(text, "05/12/2019"));
    assert_non_null(strstr(text, "đúng hạn"));
    assert_non_null(strstr(text, "trễ hạn"));
    assert_non_null(strstr(text, "chưa báo cáo 7"));
    assert_non_null(strstr(text, "Gia đình học tập"));
    /* issue 12, item 5: the period as people say it (S2 is July–December), the unit
     * column named by the level of the reporting units (levels.csv), and no name cut */
    assert_non_null(strstr(text, "Kỳ báo cáo: 6 tháng cuối năm 2019 (2019S2)"));
    assert_non_null(strstr(text, "\n6 tháng cuối năm 2019 (2019S2, hạn nộp 05/12/2019)"));
    assert_null(strstr(text, "Kỳ 2019S2"));
    /* the seed's levels.csv names level 2, its reporting units, "Huyện/Thành phố" */
    assert_string_equal(kh_catalog_level_name(cat, 2, 20191231, 0), "Huyện/Thành phố");
    assert_non_null(strstr(text, "I. CHỈ TIÊU THEO HUYỆN/THÀNH PHỐ (huyện/thành phố 1–6 / 9)\n"));
    assert_non_null(strstr(text, "I. CHỈ TIÊU THEO HUYỆN/THÀNH PHỐ (huyện/thành phố 7–9 / 9)\n"));
    assert_non_null(strstr(text, "Mã   Huyện/Thành phố"));
    assert_non_null(strstr(text, "cần huyện/thành phố xem lại"));
    assert_null(strstr(text, "…"));
    /* the longest indicator name is wrapped, not cut: every word of it is printed */
    const kh_indicator_t *xl = kh_catalog_indicator(cat, "CDX.XEP_LOAI");
    assert_true(u8_strwidth((const uint8_t *)xl->name_vi, "UTF-8") > 46);
    char words[512];
    kh_strlcpy(words, xl->name_vi, sizeof words);
    char *save = NULL;
    for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
        if (!strstr(text, w)) fail_msg("\"%s\" of %s is not in the summary", w, xl->code);
    free(text);
}

/* The summary's text with its wrapped lines joined again (issue 15: a line longer than
 * 100 columns goes on over lines indented by 2): "\n  " becomes " ".  Freed by the
 * caller. */
static char *unwrapped(const char *text)
{
    char *out = strdup(text);
    assert_non_null(out);
    char *o = out;
    for (const char *p = text; *p; p++) {
        if (p[0] == '\n' && p[1] == ' ' && p[2] == ' ' && p[3] != ' ' && p[3] != '\n') {
            *o++ = ' ';
            p += 2;
            continue;
        }
        *o++ = *p;
    }
    *o = '\0';
    return out;
}

/* The text of part `name` of the zip at path ("" when absent); freed by the caller. */
static char *zip_part(const char *path, const char *name)
{
    int err = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &err);
    assert_non_null(z);
    zip_stat_t st;
    char *text = calloc(1, 1);
    if (zip_stat(z, name, 0, &st) == 0) {
        zip_file_t *f = zip_fopen(z, name, 0);
        assert_non_null(f);
        free(text);
        text = calloc(st.size + 1, 1);
        assert_int_equal(zip_fread(f, text, st.size), (zip_int64_t)st.size);
        zip_fclose(f);
    }
    zip_close(z);
    return text;
}

/* Issue 15: the workbook a director reads, of the tiny case (one of nine districts
 * reported): its printed sheets and the hidden ones, one chart per rate, the cover from
 * data/document.csv with the number given, the partial total marked; the PDF without
 * LibreOffice fails clearly and leaves nothing. */
static void test_book(void **state)
{
    fx_t *fx = *state;
    tiny_case(fx);
    char path[256];
    snprintf(path, sizeof path, "%s/book.xlsx", fx->dir);
    kh_book_opts_t o = {data_dir, "7/BC-TEST", 0};
    assert_int_equal(kh_feed_book_xlsx(fx->db, cat, "2019S2", &o, path), 0);
    char *wb = zip_part(path, "xl/workbook.xml");
    assert_non_null(strstr(wb, "<sheet name=\"Trang bìa\" sheetId=\"1\""));
    assert_non_null(strstr(wb, "<sheet name=\"Tổng hợp\" sheetId=\"2\""));
    assert_non_null(strstr(wb, "<sheet name=\"Tình hình báo cáo\" sheetId=\"3\""));
    assert_non_null(strstr(wb, "name=\"Huyện, Thành phố\" sheetId=\"5\" state=\"hidden\""));
    free(wb);
    for (size_t t = 1; t <= kh_catalog_target_count(cat); t++) {
        char part[64];
        snprintf(part, sizeof part, "xl/charts/chart%zu.xml", t);
        char *c = zip_part(path, part);
        assert_non_null(strstr(c, "<c:barChart>"));
        free(c);
    }
    char *ss = zip_part(path, "xl/sharedStrings.xml");
    assert_non_null(strstr(ss, "Số: 7/BC-TEST"));
    assert_non_null(strstr(ss, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"));
    assert_non_null(strstr(ss, "Độc lập - Tự do - Hạnh phúc"));
    assert_non_null(strstr(ss, "Quyết định 281/QĐ-TTg"));          /* document.csv */
    assert_non_null(strstr(ss, "tổng chưa đủ / partial: 1 of 9 units"));
    assert_non_null(strstr(ss, "Toàn tỉnh (chưa đủ)"));
    assert_non_null(strstr(ss, "Dữ liệu đến / data as of 01/12/2019 "));
    free(ss);
    char *sheet = zip_part(path, "xl/worksheets/sheet2.xml");     /* the summary */
    assert_non_null(strstr(sheet, "orientation=\"landscape\""));
    assert_non_null(strstr(sheet, "paperSize=\"9\""));
    assert_non_null(strstr(sheet, "fitToPage=\"1\""));
    assert_non_null(strstr(sheet, "Trang &amp;P / &amp;N"));
    free(sheet);

    snprintf(path, sizeof path, "%s/book.pdf", fx->dir);
    setenv("KH_SOFFICE", "/nonexistent/soffice", 1);
    assert_int_equal(kh_feed_book_pdf(fx->db, cat, "2019S2", &o, path), -1);
    unsetenv("KH_SOFFICE");
    assert_int_not_equal(access(path, F_OK), 0);
}

/* A year: "năm 2019", and each half by its name in the completeness part. */
static void test_summary_year(void **state)
{
    fx_t *fx = *state;
    cell(fx, "2019S1", "83", "HO.TONG", 600, 2);
    cell(fx, "2019S2", "83", "HO.TONG", 610, 2);
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    assert_non_null(m);
    assert_int_equal(kh_feed_summary(fx->db, cat, "2019", m), 0);
    fclose(m);
    assert_non_null(strstr(text, "Kỳ báo cáo: năm 2019 (2019)"));
    assert_non_null(strstr(text, "\n6 tháng đầu năm 2019 (2019S1, hạn nộp 20/06/2019)"));
    assert_non_null(strstr(text, "\n6 tháng cuối năm 2019 (2019S2, hạn nộp 05/12/2019)"));
    assert_null(strstr(text, "Kỳ 2019S1"));
    assert_null(strstr(text, "…"));
    free(text);
    text = NULL;
    m = open_memstream(&text, &len);
    assert_non_null(m);
    assert_int_equal(kh_feed_summary(fx->db, cat, "2017-2020", m), 0);
    fclose(m);
    assert_non_null(strstr(text, "Kỳ báo cáo: giai đoạn 2017–2020 (2017-2020)"));
    free(text);
}

/* ---- any tree: a generated data set of four levels ----------------------------------
 *
 * Level names that are no seed's (Miền, Vùng/Liên quận, Quận/Khu, Ấp/Khu phố); the
 * reporting units are the units of level 3 (reporters.csv), so the root's counts and the
 * 1/0 rows are about them, and two levels (1 and 2) are above them.  The mirror's cells
 * are what the aggregator stores: each hamlet's values, each reporting unit's subtree
 * sums, each ancestor's sum of the reporting units below it.
 *
 *   10 Miền Thử Nghiệm (1)
 *     20 Vùng Bắc (2)              21 Vùng Nam (2)
 *       301 Quận Một (3)  302 Quận Hai (3)   303 Quận Ba (3)
 *         4011 Ấp Một A (4)   4021 Ấp Hai A      4031 Ấp Ba A, 4032 Ấp Ba B
 *         4012 Ấp Một B (4, merged into 4011 on 2019-07-01)
 */
static const char *T4_UNITS =
    "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
    "10,Miền Thử Nghiệm,mien,1,,,,\n"
    "20,Vùng Bắc,vung,2,10,,,\n"
    "21,Vùng Nam,vung,2,10,,,\n"
    "301,Quận Một,quan,3,20,,,\n"
    "302,Quận Hai,quan,3,20,,,\n"
    "303,Quận Ba,quan,3,21,,,\n"
    "4011,Ấp Một A,ap,4,301,,,\n"
    "4012,Ấp Một B,ap,4,301,,2019-06-30,4011\n"
    "4021,Ấp Hai A,ap,4,302,,,\n"
    "4031,Ấp Ba A,ap,4,303,,,\n"
    "4032,Ấp Ba B,ap,4,303,,,\n";
static const char *T4_LEVELS =
    "level,name_vi,name_en,valid_from,valid_to\n"
    "1,Miền,Region,,\n2,Vùng/Liên quận,Zone,,\n3,Quận/Khu,Quarter,,\n4,Ấp/Khu phố,Hamlet,,\n";
static const char *T4_REPORTERS =
    "level,unit,valid_from,valid_to,note\n3,,,,the units of level 3 report\n";
static const char *T4_INDICATORS =
    "code,section,level,value_type,options,time_aggregation,periods,name_vi,name_en,unit\n"
    "TT.TIN_BAI,1,3,count,,sum,S1 S2,Tin bài,News items,tin/bài\n"
    "TT.CO,3,4,flag,,max,S1 S2,Có trung tâm,Has a centre,0/1\n"
    "HO.TONG,4,4,count,,last,S1 S2,Tổng số hộ,Households,hộ\n"
    "HO.DAT,4,4,count,,last,S1 S2,Hộ đạt danh hiệu,Households recognised,hộ\n"
    "AP.DIEM,4,4,score,0-100,last,S2,Điểm đánh giá,Score,điểm\n";
static const char *T4_RULES = "id,severity,level,periods,rule,message_vi,message_en\n"
    "R01,error,4,S1 S2,HO.DAT <= HO.TONG,Vượt tổng số hộ,Exceeds households\n";
static const char *T4_TARGETS =
    "code,name_vi,name_en,numerator,denominator,milestone,target,target_difficult_areas,source\n"
    "TL.HO_DAT,Tỷ lệ hộ đạt,Share recognised,HO.DAT,HO.TONG,2020,70,,Kế hoạch thử\n";

static kh_catalog_t *load_tree4(void)
{
    char dir[] = "/tmp/kh-feed-tree4-XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const char *const names[] = {"units.csv", "levels.csv", "reporters.csv",
                                        "indicators.csv", "rules.csv", "targets.csv"};
    const char *texts[] = {T4_UNITS, T4_LEVELS, T4_REPORTERS, T4_INDICATORS, T4_RULES,
                           T4_TARGETS};
    char path[256];
    for (size_t i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        assert_int_equal(fputs(texts[i], fp) >= 0, 1);
        assert_int_equal(fclose(fp), 0);
    }
    char err[256] = "";
    kh_catalog_t *c = kh_catalog_load(dir, 620, 1205, err, sizeof err);
    for (size_t i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    if (!c) fail_msg("the four-level data set does not load: %s", err);
    assert_int_equal(kh_catalog_depth(c), 4);
    return c;
}

/* The mirror of 2019: 303 did not report in S2; 4012 exists in S1 only. */
static void tree4_cells(fx_t *fx)
{
    static const struct { const char *p, *org, *ind; double v; int n; } c[] = {
        {"2019S1", "4011", "HO.TONG", 100, 1}, {"2019S1", "4011", "HO.DAT", 50, 1},
        {"2019S1", "4011", "TT.CO", 1, 1},     {"2019S1", "4012", "HO.TONG", 40, 1},
        {"2019S1", "4012", "HO.DAT", 10, 1},   {"2019S1", "4012", "TT.CO", 0, 1},
        {"2019S1", "4021", "HO.TONG", 200, 1}, {"2019S1", "4021", "HO.DAT", 100, 1},
        {"2019S1", "4021", "TT.CO", 0, 1},     {"2019S1", "4031", "HO.TONG", 300, 1},
        {"2019S1", "4031", "HO.DAT", 150, 1},  {"2019S1", "4031", "TT.CO", 1, 1},
        {"2019S1", "4032", "HO.TONG", 60, 1},  {"2019S1", "4032", "HO.DAT", 30, 1},
        {"2019S1", "4032", "TT.CO", 0, 1},
        {"2019S1", "301", "HO.TONG", 140, 2},  {"2019S1", "301", "HO.DAT", 60, 2},
        {"2019S1", "301", "TT.CO", 1, 2},      {"2019S1", "301", "TT.TIN_BAI", 5, 1},
        {"2019S1", "302", "HO.TONG", 200, 1},  {"2019S1", "302", "HO.DAT", 100, 1},
        {"2019S1", "302", "TT.CO", 0, 1},      {"2019S1", "302", "TT.TIN_BAI", 3, 1},
        {"2019S1", "303", "HO.TONG", 360, 2},  {"2019S1", "303", "HO.DAT", 180, 2},
        {"2019S1", "303", "TT.CO", 1, 2},      {"2019S1", "303", "TT.TIN_BAI", 4, 1},
        {"2019S1", "20", "HO.TONG", 340, 3},   {"2019S1", "20", "HO.DAT", 160, 3},
        {"2019S1", "20", "TT.CO", 1, 3},       {"2019S1", "20", "TT.TIN_BAI", 8, 2},
        {"2019S1", "21", "HO.TONG", 360, 2},   {"2019S1", "21", "HO.DAT", 180, 2},
        {"2019S1", "21", "TT.CO", 1, 2},       {"2019S1", "21", "TT.TIN_BAI", 4, 1},
        {"2019S1", "10", "HO.TONG", 700, 5},   {"2019S1", "10", "HO.DAT", 340, 5},
        {"2019S1", "10", "TT.CO", 2, 5},       {"2019S1", "10", "TT.TIN_BAI", 12, 3},
        {"2019S2", "4011", "HO.TONG", 150, 1}, {"2019S2", "4011", "HO.DAT", 80, 1},
        {"2019S2", "4011", "TT.CO", 0, 1},     {"2019S2", "4011", "AP.DIEM", 80, 1},
        {"2019S2", "4021", "HO.TONG", 210, 1}, {"2019S2", "4021", "HO.DAT", 110, 1},
        {"2019S2", "4021", "TT.CO", 1, 1},     {"2019S2", "4021", "AP.DIEM", 65, 1},
        {"2019S2", "301", "HO.TONG", 150, 1},  {"2019S2", "301", "HO.DAT", 80, 1},
        {"2019S2", "301", "TT.CO", 0, 1},      {"2019S2", "301", "TT.TIN_BAI", 6, 1},
        {"2019S2", "301", "AP.DIEM", 80, 1},
        {"2019S2", "302", "HO.TONG", 210, 1},  {"2019S2", "302", "HO.DAT", 110, 1},
        {"2019S2", "302", "TT.CO", 1, 1},      {"2019S2", "302", "TT.TIN_BAI", 2, 1},
        {"2019S2", "302", "AP.DIEM", 65, 1},
        {"2019S2", "20", "HO.TONG", 360, 2},   {"2019S2", "20", "HO.DAT", 190, 2},
        {"2019S2", "20", "TT.CO", 1, 2},       {"2019S2", "20", "TT.TIN_BAI", 8, 2},
        {"2019S2", "20", "AP.DIEM", 145, 2},
        {"2019S2", "10", "HO.TONG", 360, 2},   {"2019S2", "10", "HO.DAT", 190, 2},
        {"2019S2", "10", "TT.CO", 1, 2},       {"2019S2", "10", "TT.TIN_BAI", 8, 2},
        {"2019S2", "10", "AP.DIEM", 145, 2},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        cell(fx, c[i].p, c[i].org, c[i].ind, c[i].v, c[i].n);
    status(fx, "301", "2019S1", 1, noon_ms(2019, 6, 20));    /* on time */
    status(fx, "302", "2019S1", 1, noon_ms(2019, 6, 25));    /* late */
    status(fx, "303", "2019S1", 2, noon_ms(2019, 6, 1));     /* on time */
    status(fx, "301", "2019S2", 1, noon_ms(2019, 12, 1));    /* on time */
    status(fx, "302", "2019S2", 3, noon_ms(2019, 12, 10));   /* late; 303 missing */
}

static size_t count_kind(const kh_feed_rows_t *rows, kh_feed_kind_t kind)
{
    size_t n = 0;
    for (size_t i = 0; i < rows->n; i++) n += rows->rows[i].kind == kind;
    return n;
}

/* Rows at every level of the tree: each unit's own cells rolled up over time, `max`
 * flags above their level counted over the hamlets below, at both levels above the
 * reporting units; the merged hamlet kept for its half. */
static void test_tree4_rows(void **state)
{
    fx_t *fx = *state;
    kh_catalog_t *c4 = load_tree4();
    tree4_cells(fx);
    kh_feed_rows_t lv[5] = {{0}};
    for (int l = 1; l <= 4; l++) assert_int_equal(kh_feed_rows(fx->db, c4, "2019", l, &lv[l]), 0);
    kh_feed_rows_t none = {0};
    assert_int_equal(kh_feed_rows(fx->db, c4, "2019", 5, &none), -1);   /* no level 5 */
    assert_int_equal(kh_feed_rows(fx->db, c4, "2019", 0, &none), -1);
    assert_int_equal(none.n, 0);

    /* level 4: every hamlet, the merged one for S1; `last` and `max` per hamlet */
    assert_true(val(&lv[4], "2019", "4011", "HO.TONG") == 150);
    assert_true(val(&lv[4], "2019", "4012", "HO.TONG") == 40);
    assert_true(val(&lv[4], "2019", "4031", "HO.TONG") == 300);
    assert_true(val(&lv[4], "2019", "4011", "TT.CO") == 1);
    assert_true(val(&lv[4], "2019", "4012", "TT.CO") == 0);
    assert_true(val(&lv[4], "2019", "4021", "TT.CO") == 1);
    assert_true(val(&lv[4], "2019", "4021", "AP.DIEM") == 65);
    assert_string_equal(lv[4].rows[0].orgunit, "4011");   /* unit-file order */
    assert_string_equal(kh_feed_rows_find(&lv[4], NULL, "4012", "HO.TONG")->unit_name,
                        "Ấp Một B");
    assert_int_equal(count_kind(&lv[4], KH_FEED_COMPLETENESS), 0);

    /* level 3, the reporting units: own cells; the flag counts their hamlets ever 1 */
    assert_true(val(&lv[3], "2019", "301", "HO.TONG") == 150);
    assert_true(val(&lv[3], "2019", "303", "HO.TONG") == 360);   /* S1: missing in S2 */
    assert_true(val(&lv[3], "2019", "301", "TT.TIN_BAI") == 11);
    assert_true(val(&lv[3], "2019", "301", "TT.CO") == 1);
    assert_true(val(&lv[3], "2019", "303", "TT.CO") == 1);
    assert_true(val(&lv[3], "2019", "301", "AP.DIEM") == 80);
    assert_true(val(&lv[3], "2019", "301", "TL.HO_DAT") == 53.33);   /* 80 / 150 */

    /* level 2, between the root and the reporting units: the mirror's cells */
    assert_true(val(&lv[2], "2019", "20", "HO.TONG") == 360);
    assert_true(val(&lv[2], "2019", "21", "HO.TONG") == 360);   /* its S1 cell */
    assert_true(val(&lv[2], "2019", "20", "TT.TIN_BAI") == 16);
    assert_true(val(&lv[2], "2019", "21", "TT.TIN_BAI") == 4);
    assert_true(val(&lv[2], "2019", "20", "TT.CO") == 2);   /* 4011 in S1, 4021 in S2 */
    assert_true(val(&lv[2], "2019", "21", "TT.CO") == 1);
    assert_true(val(&lv[2], "2019", "20", "AP.DIEM") == 72.5);
    assert_true(val(&lv[2], "2019", "20", "TL.HO_DAT") == 52.78);   /* 190 / 360 */
    assert_true(val(&lv[2], "2019", "21", "TL.HO_DAT") == 50);      /* 180 / 360, S1 */
    assert_int_equal(count_kind(&lv[2], KH_FEED_COMPLETENESS), 0);

    /* level 1, the root */
    assert_int_equal(lv[1].n > 0, 1);
    assert_string_equal(lv[1].rows[0].orgunit, "10");
    assert_true(val(&lv[1], "2019", "10", "HO.TONG") == 360);
    assert_true(val(&lv[1], "2019", "10", "TT.TIN_BAI") == 20);
    assert_true(val(&lv[1], "2019", "10", "TT.CO") == 3);   /* 4011, 4021, 4031 */
    assert_true(val(&lv[1], "2019", "10", "TL.HO_DAT") == 52.78);
    for (int l = 1; l <= 4; l++)   /* each level holds its own units only */
        for (size_t i = 0; i < lv[l].n; i++)
            assert_int_equal(kh_catalog_unit_any(c4, lv[l].rows[i].orgunit)->level, l);
    for (int l = 1; l <= 4; l++) kh_feed_rows_clear(&lv[l]);
    kh_catalog_destroy(&c4);
}

/* Completeness is about the reporting units (level 3 of 4): counts on the root, 1/0 on
 * each reporting unit. */
static void test_tree4_completeness(void **state)
{
    fx_t *fx = *state;
    kh_catalog_t *c4 = load_tree4();
    tree4_cells(fx);
    kh_feed_rows_t p = {0}, q = {0};
    assert_int_equal(kh_feed_rows(fx->db, c4, "2019", 1, &p), 0);
    assert_true(val(&p, "2019S1", "10", "COMPLETENESS.EXPECTED") == 3);
    assert_true(val(&p, "2019S1", "10", "COMPLETENESS.REPORTED") == 3);
    assert_true(val(&p, "2019S1", "10", "COMPLETENESS.ON_TIME") == 2);
    assert_true(val(&p, "2019S1", "10", "COMPLETENESS.LATE") == 1);
    assert_true(val(&p, "2019S1", "10", "COMPLETENESS.MISSING") == 0);
    assert_true(val(&p, "2019S2", "10", "COMPLETENESS.EXPECTED") == 3);
    assert_true(val(&p, "2019S2", "10", "COMPLETENESS.REPORTED") == 2);
    assert_true(val(&p, "2019S2", "10", "COMPLETENESS.ON_TIME") == 1);
    assert_true(val(&p, "2019S2", "10", "COMPLETENESS.LATE") == 1);
    assert_true(val(&p, "2019S2", "10", "COMPLETENESS.MISSING") == 1);
    assert_int_equal(count_kind(&p, KH_FEED_COMPLETENESS), 10);
    assert_int_equal(kh_feed_rows(fx->db, c4, "2019", 3, &q), 0);
    assert_int_equal(count_kind(&q, KH_FEED_COMPLETENESS), 12);   /* 3 units × 2 halves × 2 */
    assert_true(val(&q, "2019S1", "301", "COMPLETENESS.REPORTED") == 1);
    assert_true(val(&q, "2019S1", "301", "COMPLETENESS.ON_TIME") == 1);
    assert_true(val(&q, "2019S1", "302", "COMPLETENESS.ON_TIME") == 0);
    assert_true(val(&q, "2019S2", "303", "COMPLETENESS.REPORTED") == 0);
    assert_true(val(&q, "2019S2", "303", "COMPLETENESS.ON_TIME") == 0);
    kh_feed_rows_clear(&p);
    kh_feed_rows_clear(&q);

    /* the export of level 3: values, rates, then completeness, unit by unit */
    char path[256];
    snprintf(path, sizeof path, "%s/out.csv", fx->dir);
    assert_int_equal(kh_feed_export(fx->db, c4, "2019S2", 3, "csv", path), 0);
    char *text = slurp(path, NULL);
    assert_non_null(strstr(text, "2019S2,301,TL.HO_DAT,53.33\n"
                                 "2019S2,301,COMPLETENESS.REPORTED,1\n"
                                 "2019S2,301,COMPLETENESS.ON_TIME,1\n"
                                 "2019S2,302,"));
    assert_non_null(strstr(text, "2019S2,303,COMPLETENESS.REPORTED,0\n"
                                 "2019S2,303,COMPLETENESS.ON_TIME,0\n"));
    free(text);
    snprintf(path, sizeof path, "%s/out.json", fx->dir);
    assert_int_equal(kh_feed_export(fx->db, c4, "2019S2", 4, "json", path), 0);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    assert_non_null(root);
    assert_int_equal(json_integer_value(json_object_get(root, "level")), 4);
    json_decref(root);
    kh_catalog_destroy(&c4);
}

/* The summary names the columns, parts and counts by the levels of levels.csv, lists
 * the reporting units whole, and has no word of another tree. */
static void test_tree4_summary(void **state)
{
    fx_t *fx = *state;
    kh_catalog_t *c4 = load_tree4();
    tree4_cells(fx);
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    assert_non_null(m);
    assert_int_equal(kh_feed_summary(fx->db, c4, "2019", m), 0);
    fclose(m);
    assert_non_null(strstr(text, "— Miền Thử Nghiệm\n"));
    assert_non_null(strstr(text, "I. CHỈ TIÊU THEO QUẬN/KHU\n"));   /* u8_toupper */
    const char *hdr = strstr(text, "Mã chỉ tiêu");
    assert_non_null(hdr);
    char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)(strchr(hdr, '\n') - hdr), hdr);
    const char *a = strstr(line, "Quận Một"), *b = strstr(line, "Quận Hai"),
               *c = strstr(line, "Quận Ba"), *w = strstr(line, "Toàn miền");
    assert_true(a && b && c && w && a < b && b < c && c < w);   /* file order, then the root */
    assert_null(strstr(line, "Vùng"));   /* the columns are the reporting units */
    char *flat = unwrapped(text);
    assert_non_null(strstr(flat, "cột Toàn miền là số của miền kỳ gần nhất"));
    assert_non_null(strstr(flat, "đếm số ấp/khu phố từng đạt"));
    assert_non_null(strstr(flat, "điểm là bình quân các ấp/khu phố"));
    assert_non_null(strstr(flat, "Chênh lệch = toàn miền − chỉ tiêu"));
    assert_non_null(strstr(flat, "phải báo cáo 3 · đã báo cáo 3 · đúng hạn 2 · trễ hạn 1 · "
                                 "chưa báo cáo 0\n"));
    assert_non_null(strstr(flat, "phải báo cáo 3 · đã báo cáo 2 · đúng hạn 1 · trễ hạn 1 · "
                                 "chưa báo cáo 1\n"));
    assert_non_null(strstr(text, "\nMã   Quận/Khu  "));
    assert_non_null(strstr(text, "\n303  Quận Ba   chưa báo cáo"));
    assert_non_null(strstr(flat, "cần quận/khu xem lại"));
    static const char *const foreign[] = {"tỉnh", "Tỉnh", "TỈNH", "huyện", "Huyện", "HUYỆN",
                                          "Xã/", "xã/", "phường", "Phường", "thị trấn",
                                          "Thành phố", "TP. "};
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++)
        if (strstr(text, foreign[i])) fail_msg("the summary says \"%s\"", foreign[i]);
    free(flat);
    free(text);
    kh_catalog_destroy(&c4);
}

/* One sheet per level, named by levels.csv as Excel allows, the asked level active. */
static void test_tree4_workbook(void **state)
{
    fx_t *fx = *state;
    kh_catalog_t *c4 = load_tree4();
    tree4_cells(fx);
    kh_feed_roll_t *r;
    assert_int_equal(kh_feed_roll_build(fx->db, c4, "2019", &r), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/out.xlsx", fx->dir);
    lxw_workbook *wb = workbook_new(path);
    assert_non_null(wb);
    assert_int_equal(kh_feed_xlsx_fill(wb, r, 3), 0);
    static const char *const sheets[] = {"Miền", "Vùng, Liên quận", "Quận, Khu", "Ấp, Khu phố"};
    for (int l = 0; l < 4; l++) {
        lxw_worksheet *ws = workbook_get_worksheet_by_name(wb, sheets[l]);
        if (!ws) fail_msg("no sheet \"%s\"", sheets[l]);
        assert_int_equal(ws->active, l == 2);
    }
    assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
    kh_feed_roll_free(&r);
    assert_int_equal(kh_feed_export(fx->db, c4, "2019", 4, "xlsx", path), 0);
    kh_catalog_destroy(&c4);
}

/* Sheet names: '/' → ", ", Excel's forbidden characters replaced, 31 characters at
 * most (cut at a word), no apostrophe at either end, never empty. */
static void test_sheet_names(void **state)
{
    (void)state;
    static const struct { const char *title, *want; } c[] = {
        {"Huyện/Thành phố", "Huyện, Thành phố"},
        {"Xã/Phường/Thị trấn", "Xã, Phường, Thị trấn"},
        {"Quận: [thử]*?\\", "Quận- -thử----"},
        {"Đơn vị hành chính cấp cơ sở thuộc quận", "Đơn vị hành chính cấp cơ sở"},
        {"Mộtchữrấtdàikhôngcókhoảngtrắngnàocảđâu", "Mộtchữrấtdàikhôngcókhoảngtrắngn"},
        {"'Ấp'", "Ấp"},
        {"", "Cấp 5"},
        {"///", "Cấp 5"},
    };
    lxw_workbook *wb = workbook_new("/dev/null");
    assert_non_null(wb);
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char out[LXW_MAX_SHEETNAME_LENGTH];
        kh_feed_sheet_name(c[i].title, 5, out, sizeof out);
        if (strcmp(out, c[i].want) != 0)
            fail_msg("\"%s\" → \"%s\", expected \"%s\"", c[i].title, out, c[i].want);
        assert_int_equal(workbook_validate_sheet_name(wb, out), LXW_NO_ERROR);
    }
    workbook_close(wb);
}

/* --level: a number of the tree; a word is refused with the levels by name. */
static void test_level_parse(void **state)
{
    (void)state;
    int lv = 0;
    assert_int_equal(kh_feed_level_parse(cat, "2", 20201231, &lv), 0);
    assert_int_equal(lv, 2);
    assert_int_equal(kh_feed_level_parse(cat, "3", 20201231, &lv), 0);
    assert_int_equal(lv, 3);
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    dup2(fileno(tmp), 2);
    int rc1 = kh_feed_level_parse(cat, "district", 20201231, &lv);
    int rc2 = kh_feed_level_parse(cat, "4", 20201231, &lv);
    int rc3 = kh_feed_level_parse(cat, "0", 20201231, &lv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(rc1, -1);
    assert_int_equal(rc2, -1);
    assert_int_equal(rc3, -1);
    char msg[1024] = "";
    rewind(tmp);
    size_t n = fread(msg, 1, sizeof msg - 1, tmp);
    msg[n] = '\0';
    fclose(tmp);
    assert_non_null(strstr(msg, "kh-feed: --level must be a level number: 1 Tỉnh, "
                                "2 Huyện/Thành phố, 3 Xã/Phường/Thị trấn\n"));
}

static void test_errors(void **state)
{
    fx_t *fx = *state;
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    assert_int_equal(kh_feed_summary(fx->db, cat, "2019S3", devnull), -1);
    assert_int_equal(kh_feed_summary(fx->db, cat, "", devnull), -1);
    fclose(devnull);
    char path[256];
    snprintf(path, sizeof path, "%s/out.csv", fx->dir);
    assert_int_equal(kh_feed_export(fx->db, cat, "2019", 0, "csv", path), -1);
    assert_int_equal(kh_feed_export(fx->db, cat, "2019", 4, "csv", path), -1);   /* depth 3 */
    assert_int_equal(kh_feed_export(fx->db, cat, "2019", 1, "pdf", path), -1);
    assert_int_equal(kh_feed_export(fx->db, cat, "19", 1, "csv", path), -1);
    assert_int_not_equal(access(path, F_OK), 0);
    /* a mirror without tables */
    sqlite3 *empty;
    assert_int_equal(sqlite3_open(":memory:", &empty), SQLITE_OK);
    kh_feed_rows_t rows = {0};
    assert_int_equal(kh_feed_rows(empty, cat, "2019", 1, &rows), -1);
    sqlite3_close(empty);
    assert_int_equal(rows.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_year_sum_last_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_year_missing_half, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_score_average, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_from_aggregates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_completeness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commune_units, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_same_units, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xlsx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_book, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_year, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree4_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree4_completeness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree4_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree4_workbook, setup, teardown),
        cmocka_unit_test(test_sheet_names),
        cmocka_unit_test(test_level_parse),
    };
    return cmocka_run_group_tests(tests, load_catalog, free_catalog);
}
