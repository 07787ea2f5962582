/*
 * test_catalog.c — unit tests of the report model (lib/model/kh_catalog.c, lib/model/kh_rules.c):
 * loading the real data files and broken copies of them, the unit tree across the
 * 1 February 2020 merger, periods, value parsing (thousands separators included), the
 * rule language, and kh_validate on reports built here — one valid report per case,
 * then one deliberate fault, checking the exact finding code and the words of its
 * message.  Run from the repository root (the data directory is "data").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kh_catalog.h"
#include "kh_findings.h"
#include "kh_rules.h"
#include "kh_validate.h"
#include "kh_value.h"
#include "report_fixture.h"

#define TODAY 20250101   /* after every period used below */

static kh_catalog_t *g_cat;

/* ==== reports built in the test (report_fixture.h: report_new, report_add, report_free,
 * find_code, count_code, dump) ============================================================ */

static Kh__Value *report_find(Kh__Report *r, const char *org, const char *ind)
{
    for (size_t i = 0; i < r->n_values; i++)
        if (strcmp(r->values[i]->orgunit, org) == 0 && strcmp(r->values[i]->indicator, ind) == 0)
            return r->values[i];
    return NULL;
}

static void report_set(Kh__Report *r, const char *org, const char *ind, const char *raw)
{
    Kh__Value *v = report_find(r, org, ind);
    assert_non_null(v);
    free(v->raw);
    v->raw = strdup(raw);
}

/* Removes the values of `org` (and of `ind` only, unless ind is NULL); keeps lines. */
static size_t report_remove(Kh__Report *r, const char *org, const char *ind)
{
    size_t o = 0, removed = 0;
    for (size_t i = 0; i < r->n_values; i++) {
        Kh__Value *v = r->values[i];
        if (strcmp(v->orgunit, org) == 0 && (!ind || strcmp(v->indicator, ind) == 0)) {
            report_value_free(v);
            removed++;
        } else {
            r->values[o++] = v;
        }
    }
    r->n_values = o;
    return removed;
}

/* Plausible values that satisfy every rule of rules.csv. */
static const char *default_raw(const char *code)
{
    static const struct { const char *code, *raw; } t[] = {
        { "TT.TIN_BAI", "45" }, { "TT.HOI_NGHI", "6" }, { "TT.AN_PHAM", "12" },
        { "TT.TUAN_LE", "9" }, { "TT.NGAY_SACH", "7" }, { "TT.LUOT_NGUOI", "5400" },
        { "CS.THAM_MUU", "4" }, { "CS.KIEM_TRA", "8" },
        { "TTHTCD.CO", "1" }, { "TTHTCD.HO_TRO", "1" }, { "TTHTCD.KINH_PHI", "5000000" },
        { "TTHTCD.LOP", "12" }, { "TTHTCD.LUOT_HOC", "340" }, { "TTHTCD.XEP_LOAI", "KHA" },
        { "HO.TONG", "640" }, { "GDHT.DANG_KY", "600" }, { "GDHT.CONG_NHAN", "500" },
        { "DH.TONG", "40" }, { "DHHT.DANG_KY", "30" }, { "DHHT.CONG_NHAN", "20" },
        { "AP.TONG", "6" }, { "CDHT.DANG_KY", "5" }, { "CDHT.CONG_NHAN", "4" },
        { "DV.TONG", "20" }, { "DVHT.DANG_KY", "15" }, { "DVHT.CONG_NHAN", "10" },
        { "CDX.DIEM", "78" }, { "CDX.XEP_LOAI", "KHA" }, { "DS.TONG", "2600" },
        { "HKH.HOI_VIEN", "480" }, { "HKH.HOI_VIEN_MOI", "25" }, { "HKH.CHI_HOI", "6" },
        { "HKH.TO_HOI", "18" }, { "HKH.BAN_KH", "9" }, { "QUY.VAN_DONG", "45000000" },
        { "QUY.CHI", "38000000" }, { "QUY.SUAT", "120" },
        { "TH.TO_CHUC_KH", "30" }, { "TH.DVHT", "20" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].code, code) == 0)
            return t[i].raw;
    return NULL;
}

/* A complete, valid report: every commune of `district` in force at the period end and
 * every indicator of that half-year.  *n_communes receives the number of communes. */
static Kh__Report *valid_report(const char *district, const char *period, size_t *n_communes)
{
    kh_period_t p;
    assert_int_equal(kh_period_parse(period, &p), 0);
    int32_t end = kh_period_end(&p);
    const kh_unit_t *units[64];
    size_t n = kh_catalog_units_on(g_cat, 3, district, end, units, 64);
    assert_true(n > 0 && n <= 64);
    if (n_communes)
        *n_communes = n;
    Kh__Report *r = report_new(district, period);
    size_t ni = kh_catalog_indicator_count(g_cat);
    for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < ni; j++) {
            const kh_indicator_t *d = kh_catalog_indicator_at(g_cat, j);
            if (d->level != 3 || !(p.half == 1 ? d->in_s1 : d->in_s2))
                continue;
            const char *raw = default_raw(d->code);
            if (!raw)
                fail_msg("no test value for indicator %s", d->code);
            report_add(r, units[k]->code, d->code, raw);
        }
    for (size_t j = 0; j < ni; j++) {
        const kh_indicator_t *d = kh_catalog_indicator_at(g_cat, j);
        if (d->level != 2 || !(p.half == 1 ? d->in_s1 : d->in_s2))
            continue;
        const char *raw = default_raw(d->code);
        if (!raw)
            fail_msg("no test value for indicator %s", d->code);
        report_add(r, district, d->code, raw);
    }
    return r;
}

/* ==== findings helpers ================================================================== */

#define assert_contains(hay, needle)                                                     \
    do {                                                                                 \
        const char *h_ = (hay), *n_ = (needle);                                          \
        if (!h_ || !strstr(h_, n_))                                                      \
            fail_msg("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", n_);          \
    } while (0)

/* Validates r; expects exactly one finding with `code`; returns it (owned by f). */
static const Kh__Finding *expect_one(kh_findings_t *f, const Kh__Report *r, const char *code,
                                     size_t expected_errors)
{
    size_t errors = kh_validate(g_cat, r, TODAY, f);
    if (count_code(f, code) != 1 || errors != expected_errors)
        dump(f);
    assert_int_equal(count_code(f, code), 1);
    assert_int_equal(errors, expected_errors);
    assert_int_equal(f->n_errors, expected_errors);
    return find_code(f, code);
}

/* ==== loading and lookups =============================================================== */

static void test_load_real_data(void **state)
{
    (void)state;
    assert_non_null(g_cat);
    assert_int_equal(kh_catalog_indicator_count(g_cat), 39);
    assert_int_equal(kh_catalog_target_count(g_cat), 6);
    const kh_indicator_t *d = kh_catalog_indicator(g_cat, "TTHTCD.XEP_LOAI");
    assert_non_null(d);
    assert_int_equal(d->vtype, KH_VT_OPTION);
    assert_int_equal(d->n_options, 4);
    assert_string_equal(d->options[3], "CHUA");
    assert_int_equal(d->in_s1, 0);
    assert_int_equal(d->in_s2, 1);
    d = kh_catalog_indicator(g_cat, "CDX.DIEM");
    assert_non_null(d);
    assert_true(d->score_min == 0 && d->score_max == 100);
    /* Quoted field with a comma in indicators.csv. */
    d = kh_catalog_indicator(g_cat, "TT.TIN_BAI");
    assert_string_equal(d->name_vi,
                        "Tin, bài tuyên truyền về khuyến học, khuyến tài, xây dựng XHHT");
    assert_string_equal(kh_catalog_indicator(g_cat, "GDHT.DANG_KY")->name_vi,
                        "Hộ đăng ký danh hiệu \"Gia đình học tập\"");
    assert_null(kh_catalog_indicator(g_cat, "HO.TONGX"));
    assert_null(kh_catalog_indicator(g_cat, ""));
    const kh_target_t *t = kh_catalog_target_at(g_cat, 3);
    assert_string_equal(t->code, "TL.DVHT");
    assert_true(t->target == 50 && t->target_difficult < 0);
    assert_string_equal(kh_catalog_indicator_at(g_cat, 0)->code, "TT.TIN_BAI");
    assert_null(kh_catalog_indicator_at(g_cat, 39));
}

static void test_unit_tree_dates(void **state)
{
    (void)state;
    const kh_unit_t *u = kh_catalog_unit_on(g_cat, "28777", 20200131);
    assert_non_null(u);
    assert_string_equal(u->name, "Phường 2");
    u = kh_catalog_unit_on(g_cat, "28777", 20200201);
    assert_non_null(u);
    assert_string_equal(u->name, "Phường An Hội");
    assert_non_null(kh_catalog_unit_on(g_cat, "28771", 20200131));
    assert_null(kh_catalog_unit_on(g_cat, "28771", 20200201));
    u = kh_catalog_unit_any(g_cat, "28771");
    assert_non_null(u);
    assert_string_equal(u->merged_into, "28777");
    assert_int_equal(u->valid_to, 20200131);
    assert_string_equal(kh_catalog_unit_any(g_cat, "28777")->name, "Phường An Hội");
    assert_string_equal(kh_catalog_unit_on(g_cat, "28945", 20191231)->name, "Xã Bình Khánh Đông");
    assert_string_equal(kh_catalog_unit_on(g_cat, "28945", 20200630)->name, "Xã Bình Khánh");
    assert_null(kh_catalog_unit_on(g_cat, "99999", 20200101));
    assert_null(kh_catalog_unit_any(g_cat, "99999"));

    /* 164 communes before the merger, 157 after; per district as in the README. */
    assert_int_equal(kh_catalog_units_on(g_cat, 3, "", 20191231, NULL, 0), 164);
    assert_int_equal(kh_catalog_units_on(g_cat, 3, "", 20200201, NULL, 0), 157);
    assert_int_equal(kh_catalog_units_on(g_cat, 2, "83", 20200201, NULL, 0), 9);
    static const struct { const char *code; size_t before, after; } per[] = {
        { "829", 17, 14 }, { "831", 22, 21 }, { "832", 11, 11 }, { "833", 17, 16 },
        { "834", 22, 21 }, { "835", 20, 20 }, { "836", 24, 23 }, { "837", 18, 18 },
        { "838", 13, 13 },
    };
    for (size_t i = 0; i < sizeof per / sizeof per[0]; i++) {
        assert_int_equal(kh_catalog_units_on(g_cat, 3, per[i].code, 20191231,
                                             NULL, 0), per[i].before);
        assert_int_equal(kh_catalog_units_on(g_cat, 3, per[i].code, 20200630,
                                             NULL, 0), per[i].after);
    }
    /* out[] is filled up to cap, in file order; the total is still returned. */
    const kh_unit_t *two[2];
    assert_int_equal(kh_catalog_units_on(g_cat, 3, "829", 20200630, two, 2), 14);
    assert_string_equal(two[0]->code, "28756");
    assert_string_equal(two[1]->code, "28757");
}

/* ==== periods =========================================================================== */

static void test_periods(void **state)
{
    (void)state;
    kh_period_t p;
    assert_int_equal(kh_period_parse("2018S1", &p), 0);
    assert_int_equal(p.kind, KH_P_HALF);
    assert_int_equal(p.year, 2018);
    assert_int_equal(p.half, 1);
    assert_int_equal(kh_period_end(&p), 20180630);
    assert_int_equal(kh_period_due(g_cat, &p), 20180620);
    assert_int_equal(kh_period_parse("2018S2", &p), 0);
    assert_int_equal(kh_period_end(&p), 20181231);
    assert_int_equal(kh_period_due(g_cat, &p), 20181205);
    assert_int_equal(kh_period_parse("2018", &p), 0);
    assert_int_equal(p.kind, KH_P_YEAR);
    assert_int_equal(p.half, 0);
    assert_int_equal(kh_period_end(&p), 20181231);
    assert_int_equal(kh_period_due(g_cat, &p), 0);
    char h[16][8];
    assert_int_equal(kh_period_halves(&p, h, 16), 2);
    assert_string_equal(h[0], "2018S1");
    assert_string_equal(h[1], "2018S2");
    assert_int_equal(kh_period_parse("2017-2020", &p), 0);
    assert_int_equal(p.kind, KH_P_PROGRAMME);
    assert_int_equal(p.year, 2017);
    assert_int_equal(p.year_to, 2020);
    assert_int_equal(kh_period_end(&p), 20201231);
    assert_int_equal(kh_period_halves(&p, h, 16), 8);
    assert_string_equal(h[0], "2017S1");
    assert_string_equal(h[7], "2020S2");
    assert_int_equal(kh_period_halves(&p, h, 3), 8);   /* count even when cut */
    kh_period_t q;
    assert_int_equal(kh_period_nth_half(&p, 2, &q), 1);     /* p is 2017-2020 */
    assert_int_equal(q.kind, KH_P_HALF);
    assert_int_equal(q.year, 2018);
    assert_int_equal(q.half, 1);
    assert_int_equal(kh_period_nth_half(&p, 7, &q), 1);
    assert_int_equal(q.year * 10 + q.half, 20202);
    assert_int_equal(kh_period_nth_half(&p, 8, &q), 0);
    assert_int_equal(kh_period_start(&p), 20170101);
    assert_int_equal(kh_period_parse("2019S2", &p), 0);
    assert_int_equal(kh_period_halves(&p, h, 16), 1);
    assert_string_equal(h[0], "2019S2");
    assert_int_equal(kh_period_start(&p), 20190701);
    assert_int_equal(kh_period_nth_half(&p, 0, &q), 1);
    assert_int_equal(q.year * 10 + q.half, 20192);
    assert_int_equal(kh_period_nth_half(&p, 1, &q), 0);

    static const char *bad[] = { "2018S3", "18S1", "2018s1", "2018s1 ", " 2018S1", "2018S1 ",
                                 "2018-2017", "2018-2018", "2018S", "S1", "", "20181",
                                 "2018-20", "2018 S1", "0999", "2018S12", "2018-2020S1",
                                 "abcd", "2018\n" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (kh_period_parse(bad[i], &p) != -1)
            fail_msg("period \"%s\" accepted", bad[i]);
    assert_int_equal(kh_period_parse(NULL, &p), -1);
}

/* ==== value parsing ===================================================================== */

typedef struct {
    const char *ind, *raw;
    int ok;
    double num;        /* when ok */
    int normalised;    /* when ok */
    const char *vi, *en;   /* words of the reason when rejected */
} vcase_t;

static void test_value_parse_table(void **state)
{
    (void)state;
    static const vcase_t cases[] = {
        /* counts */
        { "HO.TONG", "640", 1, 640, 0, NULL, NULL },
        { "HO.TONG", "  640\t", 1, 640, 0, NULL, NULL },
        { "HO.TONG", "\xC2\xA0" "640\xC2\xA0", 1, 640, 0, NULL, NULL },
        { "HO.TONG", "0", 1, 0, 0, NULL, NULL },
        { "HO.TONG", "1.234.567", 1, 1234567, 1, NULL, NULL },
        { "HO.TONG", "1,234,567", 1, 1234567, 1, NULL, NULL },
        { "HO.TONG", "12.500", 1, 12500, 1, NULL, NULL },
        { "HO.TONG", "1,500", 1, 1500, 1, NULL, NULL },
        { "HO.TONG", "1,5", 0, 0, 0, "không rõ ràng", "ambiguous" },
        { "HO.TONG", "1.23", 0, 0, 0, "không rõ ràng", "ambiguous" },
        { "HO.TONG", "0.500", 0, 0, 0, "không rõ ràng", "ambiguous" },
        { "HO.TONG", "1.234.56", 0, 0, 0, "nhóm 3 chữ số", "groups of 3 digits" },
        { "HO.TONG", "1234.567.890", 0, 0, 0, "không rõ ràng", "ambiguous" },
        { "HO.TONG", "12.5", 0, 0, 0, "không rõ ràng", "ambiguous" },
        { "HO.TONG", "1.234,5", 0, 0, 0, "số nguyên", "whole number" },
        { "HO.TONG", "abc", 0, 0, 0, "không phải là số", "not a number" },
        { "HO.TONG", "12a", 0, 0, 0, "không phải là số", "not a number" },
        { "HO.TONG", "1e5", 0, 0, 0, "không phải là số", "not a number" },
        { "HO.TONG", "1..2", 0, 0, 0, "không phải là số", "not a number" },
        { "HO.TONG", ".5", 0, 0, 0, "không phải là số", "not a number" },
        { "HO.TONG", "5.", 0, 0, 0, "không phải là số", "not a number" },
        { "HO.TONG", "1 234", 0, 0, 0, "không phải là số", "not a number" },
        { "HO.TONG", "-5", 0, 0, 0, "số âm", "negative" },
        { "HO.TONG", "", 0, 0, 0, "ô trống", "empty" },
        { "HO.TONG", "   ", 0, 0, 0, "ô trống", "empty" },
        { "HO.TONG", "1234567890123456", 0, 0, 0, "quá lớn", "too large" },
        /* money */
        { "QUY.VAN_DONG", "45.000.000", 1, 45000000, 1, NULL, NULL },
        { "QUY.VAN_DONG", "86900000000", 1, 86900000000.0, 0, NULL, NULL },
        { "QUY.VAN_DONG", "12.500", 1, 12500, 1, NULL, NULL },
        { "QUY.VAN_DONG", "-1", 0, 0, 0, "số âm", "negative" },
        { "QUY.VAN_DONG", "1.000,50", 0, 0, 0, "đồng chẵn", "whole number of đồng" },
        { "QUY.VAN_DONG", "5 triệu", 0, 0, 0, "không phải là số", "not a number" },
        /* flags */
        { "TTHTCD.CO", "1", 1, 1, 0, NULL, NULL },
        { "TTHTCD.CO", " 0 ", 1, 0, 0, NULL, NULL },
        { "TTHTCD.CO", "2", 0, 0, 0, "0 (không) hoặc 1 (có)", "0 (no) or 1 (yes)" },
        { "TTHTCD.CO", "có", 0, 0, 0, "0 (không) hoặc 1 (có)", "0 (no) or 1 (yes)" },
        { "TTHTCD.CO", "-1", 0, 0, 0, "0 (không) hoặc 1 (có)", "0 (no) or 1 (yes)" },
        { "TTHTCD.CO", "1.0", 0, 0, 0, "0 (không) hoặc 1 (có)", "0 (no) or 1 (yes)" },
        { "TTHTCD.CO", "", 0, 0, 0, "ô trống", "empty" },
        /* scores */
        { "CDX.DIEM", "78", 1, 78, 0, NULL, NULL },
        { "CDX.DIEM", "72.5", 1, 72.5, 0, NULL, NULL },
        { "CDX.DIEM", "72,5", 1, 72.5, 0, NULL, NULL },
        { "CDX.DIEM", "100", 1, 100, 0, NULL, NULL },
        { "CDX.DIEM", "0", 1, 0, 0, NULL, NULL },
        { "CDX.DIEM", "101", 0, 0, 0, "khoảng 0–100", "between 0 and 100" },
        { "CDX.DIEM", "-1", 0, 0, 0, "khoảng 0–100", "between 0 and 100" },
        { "CDX.DIEM", "1.500", 0, 0, 0, "không rõ ràng", "ambiguous" },
        { "CDX.DIEM", "tốt", 0, 0, 0, "không phải là số", "not a number" },
        /* options */
        { "CDX.XEP_LOAI", "TOT", 1, 0, 0, NULL, NULL },
        { "CDX.XEP_LOAI", " CHUA ", 1, 0, 0, NULL, NULL },
        { "CDX.XEP_LOAI", "XUAT_SAC", 0, 0, 0, "TOT, KHA, TB, CHUA hoặc để trống",
          "one of TOT, KHA, TB, CHUA, or empty" },
        { "CDX.XEP_LOAI", "tot", 0, 0, 0, "không có trong danh sách", "not in the list" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const vcase_t *c = &cases[i];
        const kh_indicator_t *d = kh_catalog_indicator(g_cat, c->ind);
        assert_non_null(d);
        kh_value_t v;
        char vi[256], en[256];
        int rc = kh_value_parse(d, c->raw, &v, vi, sizeof vi, en, sizeof en);
        if (rc != (c->ok ? 0 : -1))
            fail_msg("%s \"%s\": rc %d (%s / %s)", c->ind, c->raw, rc, vi, en);
        if (c->ok) {
            if (d->vtype != KH_VT_OPTION && v.num != c->num)
                fail_msg("%s \"%s\": %.17g, expected %.17g", c->ind, c->raw, v.num, c->num);
            assert_int_equal(v.normalised, c->normalised);
            assert_int_equal(v.is_empty, 0);
        } else {
            assert_contains(vi, c->vi);
            assert_contains(en, c->en);
        }
    }
}

static void test_value_parse_option_empty(void **state)
{
    (void)state;
    const kh_indicator_t *d = kh_catalog_indicator(g_cat, "TTHTCD.XEP_LOAI");
    kh_value_t v;
    char vi[256], en[256];
    assert_int_equal(kh_value_parse(d, "", &v, vi, sizeof vi, en, sizeof en), 0);
    assert_int_equal(v.is_empty, 1);
    assert_int_equal(v.option, -1);
    assert_int_equal(kh_value_parse(d, "KHA", &v, vi, sizeof vi, en, sizeof en), 0);
    assert_int_equal(v.option, 1);
    assert_int_equal(v.is_empty, 0);
    /* A value far too long is refused without reading past it. */
    char big[4096];
    memset(big, '9', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(kh_value_parse(kh_catalog_indicator(g_cat, "HO.TONG"), big, &v, vi,
                                    sizeof vi, en, sizeof en), -1);
    assert_contains(en, "too long");
}

/* ==== rule language ===================================================================== */

static int resolve(void *arg, const char *code)
{
    (void)arg;
    const kh_indicator_t *d = kh_catalog_indicator(g_cat, code);
    return d ? (int)(d - kh_catalog_indicator_at(g_cat, 0)) : -1;
}

static void test_rule_parser(void **state)
{
    (void)state;
    const kh_indicator_t *inds = kh_catalog_indicator_at(g_cat, 0);
    size_t n = kh_catalog_indicator_count(g_cat);
    static const char *good[] = {
        "GDHT.DANG_KY <= HO.TONG",
        "TTHTCD.KINH_PHI > 0 => TTHTCD.HO_TRO == 1",
        "QUY.CHI <= QUY.VAN_DONG * 2",
        "TTHTCD.CO == 1 => TTHTCD.XEP_LOAI != NONE",
        "HO.TONG within 25% of previous",
        "-(HO.TONG - 1) * 2 + 3 >= -5",
        "TTHTCD.XEP_LOAI == CDX.XEP_LOAI",
        "TOT == CDX.XEP_LOAI",
        "CDX.DIEM >= 50 => CDX.XEP_LOAI != CHUA",
        "HO.TONG>=1",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        kh_expr_t *e = NULL;
        char err[256];
        if (kh_rule_compile(good[i], inds, n, resolve, NULL, &e, err, sizeof err) != 0)
            fail_msg("rule \"%s\" refused: %s", good[i], err);
        kh_expr_free(e);
    }
    static const struct { const char *rule, *why; } bad[] = {
        { "HO.TONG <=", "expected a number" },
        { "HO.TONG", "expected a comparison" },
        { "HO.TONG = 1", "'=' alone" },
        { "(HO.TONG <= 1", "expected ')'" },
        { "HO.TONG <= 1 =>", "expected a number" },
        { "HO.TONG <= 1 2", "unexpected '2'" },
        { "HO.TONG <= 1 => HO.TONG >= 0 => HO.TONG > 2", "unexpected '=>'" },
        { "HO.TONGX <= 1", "unknown indicator HO.TONGX" },
        { "HO.TONG <= FOO", "unknown name FOO" },
        { "HO.TONG within 25 of previous", "expected '%'" },
        { "HO.TONG within 25% of last", "expected 'previous'" },
        { "HO.TONG * 2 within 25% of previous", "single numeric indicator" },
        { "TTHTCD.XEP_LOAI < TOT", "order comparison" },
        { "TTHTCD.XEP_LOAI == XUAT_SAC", "XUAT_SAC is not an option of TTHTCD.XEP_LOAI" },
        { "HO.TONG == TTHTCD.XEP_LOAI", "cannot compare a number with the option" },
        { "HO.TONG + TTHTCD.XEP_LOAI > 1", "needs numbers" },
        { "TOT == NONE", "two constants" },
        { "HO.TONG <= 1 ; DROP", "unexpected character ';'" },
        { "", "empty rule" },
        { "12a <= 3", "malformed number" },
        { "HO.TONG == 1 and HO.TONG == 2", "unexpected 'and'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kh_expr_t *e = NULL;
        char err[256] = "";
        if (kh_rule_compile(bad[i].rule, inds, n, resolve, NULL, &e, err, sizeof err) != -1)
            fail_msg("rule \"%s\" accepted", bad[i].rule);
        assert_null(e);
        assert_contains(err, bad[i].why);
    }
    /* Nesting is bounded instead of overflowing the stack. */
    char deep[KH_RULE_TEXT_MAX + 1];
    size_t k = 0;
    for (; k < 200; k++)
        deep[k] = '(';
    snprintf(deep + k, sizeof deep - k, "HO.TONG <= 1");
    kh_expr_t *e = NULL;
    char err[256];
    assert_int_equal(kh_rule_compile(deep, inds, n, resolve, NULL, &e, err, sizeof err), -1);
    assert_contains(err, "nested too deeply");
}

/* ==== valid reports ===================================================================== */

static void test_valid_reports_829(void **state)
{
    (void)state;
    static const struct { const char *period; size_t communes; } cases[] = {
        { "2019S1", 17 }, { "2019S2", 17 }, { "2020S1", 14 }, { "2020S2", 14 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        Kh__Report *r = valid_report("829", cases[i].period, &n);
        assert_int_equal(n, cases[i].communes);
        kh_findings_t f = { 0 };
        size_t errors = kh_validate(g_cat, r, TODAY, &f);
        if (f.n)
            dump(&f);
        assert_int_equal(errors, 0);
        assert_int_equal(f.n, 0);   /* not even a warning */
        kh_findings_clear(&f);
        report_free(r);
    }
}

static void test_province_164_then_157(void **state)
{
    (void)state;
    static const char *districts[] = { "829", "831", "832", "833", "834", "835", "836",
                                       "837", "838" };
    static const struct { const char *period; size_t total; } cases[] = {
        { "2019S2", 164 }, { "2020S1", 157 },
    };
    for (size_t c = 0; c < 2; c++) {
        size_t total = 0;
        for (size_t i = 0; i < 9; i++) {
            size_t n;
            Kh__Report *r = valid_report(districts[i], cases[c].period, &n);
            total += n;
            kh_findings_t f = { 0 };
            size_t errors = kh_validate(g_cat, r, TODAY, &f);
            if (errors)
                dump(&f);
            assert_int_equal(errors, 0);
            kh_findings_clear(&f);
            report_free(r);
        }
        assert_int_equal(total, cases[c].total);
    }
}

/* A 2019S2 report that already uses the 2020 list of 14 communes misses three. */
static void test_2019S2_needs_the_old_communes(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2019S2", NULL);
    report_remove(r, "28771", NULL);
    report_remove(r, "28774", NULL);
    report_remove(r, "28867", NULL);
    kh_findings_t f = { 0 };
    size_t errors = kh_validate(g_cat, r, TODAY, &f);
    assert_int_equal(errors, 3);
    assert_int_equal(count_code(&f, "MISSING_UNIT"), 3);
    assert_int_equal(f.n, 3);
    int saw = 0;
    for (size_t i = 0; i < f.n; i++)
        if (strcmp(f.items[i]->orgunit, "28867") == 0) {
            assert_contains(f.items[i]->message_vi, "Thiếu số liệu của Xã Mỹ Thành (28867)");
            assert_contains(f.items[i]->message_en, "No values reported for Xã Mỹ Thành (28867)");
            saw = 1;
        }
    assert_true(saw);
    kh_findings_clear(&f);
    report_free(r);
}

/* ==== one test per rule ================================================================= */

typedef struct {
    const char *rule, *period, *org;
    const char *set[3][2];       /* (indicator, raw) changes for `org` */
    int is_error;
    const char *vi, *en;         /* exact messages */
} rcase_t;

static const rcase_t rule_cases[] = {
    { "R01", "2019S1", "28756", { { "GDHT.DANG_KY", "812" } }, 1,
      "Số hộ đăng ký Gia đình học tập vượt tổng số hộ (GDHT.DANG_KY=812 > HO.TONG=640)",
      "Households registered exceed households (GDHT.DANG_KY=812 > HO.TONG=640)" },
    { "R02", "2019S2", "28756", { { "GDHT.CONG_NHAN", "601" } }, 1,
      "Số hộ được công nhận vượt số hộ đăng ký (GDHT.CONG_NHAN=601 > GDHT.DANG_KY=600)",
      "Households recognised exceed households registered (GDHT.CONG_NHAN=601 > GDHT.DANG_KY=600)" },
    { "R03", "2019S1", "28757", { { "DHHT.DANG_KY", "41" } }, 1,
      "Số dòng họ đăng ký vượt tổng số dòng họ (DHHT.DANG_KY=41 > DH.TONG=40)",
      "Clans registered exceed clans (DHHT.DANG_KY=41 > DH.TONG=40)" },
    { "R04", "2019S2", "28757", { { "DHHT.CONG_NHAN", "35" } }, 1,
      "Số dòng họ được công nhận vượt số đăng ký (DHHT.CONG_NHAN=35 > DHHT.DANG_KY=30)",
      "Clans recognised exceed clans registered (DHHT.CONG_NHAN=35 > DHHT.DANG_KY=30)" },
    { "R05", "2020S1", "28777", { { "CDHT.DANG_KY", "7" } }, 1,
      "Số ấp, khu phố đăng ký vượt tổng số ấp, khu phố (CDHT.DANG_KY=7 > AP.TONG=6)",
      "Hamlets registered exceed hamlets (CDHT.DANG_KY=7 > AP.TONG=6)" },
    { "R06", "2020S2", "28777", { { "CDHT.CONG_NHAN", "6" } }, 1,
      "Số ấp, khu phố được công nhận vượt số đăng ký (CDHT.CONG_NHAN=6 > CDHT.DANG_KY=5)",
      "Hamlets recognised exceed hamlets registered (CDHT.CONG_NHAN=6 > CDHT.DANG_KY=5)" },
    { "R07", "2018S1", "28783", { { "DVHT.DANG_KY", "25" } }, 1,
      "Số đơn vị đăng ký vượt tổng số đơn vị (DVHT.DANG_KY=25 > DV.TONG=20)",
      "Units registered exceed units (DVHT.DANG_KY=25 > DV.TONG=20)" },
    { "R08", "2018S2", "28783", { { "DVHT.CONG_NHAN", "16" } }, 1,
      "Số đơn vị được công nhận vượt số đăng ký (DVHT.CONG_NHAN=16 > DVHT.DANG_KY=15)",
      "Units recognised exceed units registered (DVHT.CONG_NHAN=16 > DVHT.DANG_KY=15)" },
    { "R09", "2019S1", "28756", { { "TTHTCD.CO", "0" } }, 1,
      "Xã không có trung tâm nhưng báo có hỗ trợ kinh phí (TTHTCD.HO_TRO=1 > TTHTCD.CO=0)",
      "Funding support reported for a commune without a centre (TTHTCD.HO_TRO=1 > TTHTCD.CO=0)" },
    { "R10", "2019S1", "28756", { { "TTHTCD.HO_TRO", "0" } }, 1,
      "Có kinh phí hỗ trợ nhưng chưa đánh dấu được hỗ trợ "
      "(TTHTCD.KINH_PHI=5000000 > 0; TTHTCD.HO_TRO=0 != 1)",
      "Funding amount given but the centre is not marked as funded "
      "(TTHTCD.KINH_PHI=5000000 > 0; TTHTCD.HO_TRO=0 != 1)" },
    { "R11", "2019S1", "28756", { { "HKH.HOI_VIEN", "2601" } }, 1,
      "Số hội viên vượt dân số (HKH.HOI_VIEN=2601 > DS.TONG=2600)",
      "Members exceed population (HKH.HOI_VIEN=2601 > DS.TONG=2600)" },
    { "R12", "2019S1", "28756", { { "HKH.HOI_VIEN_MOI", "481" } }, 1,
      "Hội viên mới vượt tổng số hội viên (HKH.HOI_VIEN_MOI=481 > HKH.HOI_VIEN=480)",
      "New members exceed members (HKH.HOI_VIEN_MOI=481 > HKH.HOI_VIEN=480)" },
    { "R13", "2019S1", "28756", { { "HO.TONG", "0" }, { "GDHT.DANG_KY", "0" } }, 1,
      "Tổng số hộ phải lớn hơn 0 (HO.TONG=0 <= 0)",
      "Every commune has households (HO.TONG=0 <= 0)" },
    { "R14", "2019S1", "28756", { { "QUY.CHI", "95000000" } }, 0,
      "Quỹ đã chi lớn gấp đôi số vận động trong kỳ "
      "(QUY.CHI=95000000 > QUY.VAN_DONG * 2 (= 90000000); QUY.VAN_DONG=45000000)",
      "Fund spent is more than twice the fund raised in the period "
      "(QUY.CHI=95000000 > QUY.VAN_DONG * 2 (= 90000000); QUY.VAN_DONG=45000000)" },
    { "R15", "2019S2", "28756", { { "TTHTCD.XEP_LOAI", "" } }, 0,
      "Trung tâm chưa được xếp loại (TTHTCD.CO=1 == 1; TTHTCD.XEP_LOAI=NONE == NONE)",
      "Centre has no rating (TTHTCD.CO=1 == 1; TTHTCD.XEP_LOAI=NONE == NONE)" },
    /* R16 needs a previous period: see test_rule_R16_previous. */
    { "R17", "2019S2", "829", { { "TH.DVHT", "31" } }, 1,
      "Trường đạt Đơn vị học tập vượt số trường có tổ chức khuyến học "
      "(TH.DVHT=31 > TH.TO_CHUC_KH=30)",
      "Schools recognised as Learning Units exceed schools with an organisation "
      "(TH.DVHT=31 > TH.TO_CHUC_KH=30)" },
};

static void test_rule(void **state)
{
    const rcase_t *c = *state;
    Kh__Report *r = valid_report("829", c->period, NULL);
    for (int i = 0; i < 3 && c->set[i][0]; i++)
        report_set(r, c->org, c->set[i][0], c->set[i][1]);
    kh_findings_t f = { 0 };
    const Kh__Finding *x = expect_one(&f, r, c->rule, c->is_error ? 1 : 0);
    assert_int_equal(f.n, 1);   /* the rule and nothing else */
    assert_int_equal(x->is_error, c->is_error);
    assert_string_equal(x->orgunit, c->org);
    assert_string_equal(x->message_vi, c->vi);
    assert_string_equal(x->message_en, c->en);
    /* The finding points at the line of the rule's first indicator. */
    const Kh__Value *v = report_find(r, c->org, x->indicator);
    assert_non_null(v);
    assert_int_equal(x->line, v->line);
    assert_string_equal(x->value, v->raw);
    kh_findings_clear(&f);
    report_free(r);
}

/* Previous values for R16: HO.TONG of commune 28756 in 2018S2 and 2017S2. */
typedef struct {
    int calls;
    char last_period[16];
    double value;
    int have;
} prevstub_t;

static int prev_stub(void *arg, const char *period, const char *orgunit, const char *indicator,
                     double *out)
{
    prevstub_t *s = arg;
    s->calls++;
    snprintf(s->last_period, sizeof s->last_period, "%s", period);
    if (!s->have || strcmp(orgunit, "28756") != 0 || strcmp(indicator, "HO.TONG") != 0)
        return -1;
    *out = s->value;
    return 0;
}

static void test_rule_R16_previous(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2019S1", NULL);
    kh_findings_t f = { 0 };
    /* 640 against 500: +28% > 25%: a warning. */
    prevstub_t s = { .value = 500, .have = 1 };
    assert_int_equal(kh_validate_previous(g_cat, r, prev_stub, &s, &f), 0);
    assert_int_equal(f.n, 1);
    const Kh__Finding *x = find_code(&f, "R16");
    assert_non_null(x);
    assert_false(x->is_error);
    assert_string_equal(x->orgunit, "28756");
    assert_string_equal(s.last_period, "2018S2");
    assert_string_equal(x->message_vi, "Tổng số hộ thay đổi hơn 25% so với kỳ trước "
                        "(HO.TONG=640; kỳ trước 2018S2: HO.TONG=500; thay đổi +28,0% "
                        "(giới hạn 25%))");
    assert_string_equal(x->message_en, "Households changed by more than 25% since the previous "
                        "period (HO.TONG=640; previous period 2018S2: HO.TONG=500; change "
                        "+28.0% (limit 25%))");
    kh_findings_clear(&f);

    /* 640 against 600: within 25%. */
    s = (prevstub_t){ .value = 600, .have = 1 };
    assert_int_equal(kh_validate_previous(g_cat, r, prev_stub, &s, &f), 0);
    assert_int_equal(f.n, 0);
    assert_int_equal(s.calls, 17);   /* once per commune */
    kh_findings_clear(&f);

    /* No previous value, or no callback: skipped. */
    s = (prevstub_t){ .have = 0 };
    assert_int_equal(kh_validate_previous(g_cat, r, prev_stub, &s, &f), 0);
    assert_int_equal(f.n, 0);
    assert_int_equal(kh_validate(g_cat, r, TODAY, &f), 0);
    assert_int_equal(f.n, 0);
    report_free(r);

    /* The period before 2018S1 is 2017S2; before 2018S2, 2018S1. */
    r = valid_report("829", "2018S1", NULL);
    s = (prevstub_t){ .value = 1000, .have = 1 };
    assert_int_equal(kh_validate_previous(g_cat, r, prev_stub, &s, &f), 0);
    assert_string_equal(s.last_period, "2017S2");
    assert_int_equal(count_code(&f, "R16"), 1);
    assert_contains(find_code(&f, "R16")->message_en, "change -36.0%");
    kh_findings_clear(&f);
    report_free(r);
    r = valid_report("829", "2018S2", NULL);
    assert_int_equal(kh_validate_previous(g_cat, r, prev_stub, &s, &f), 0);
    assert_string_equal(s.last_period, "2018S1");
    kh_findings_clear(&f);
    report_free(r);
}

/* A district rule only in S2: no R17 in S1 even when its values would break it. */
static void test_rule_only_in_its_half(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2019S1", NULL);
    report_set(r, "829", "TH.TO_CHUC_KH", "0");
    kh_findings_t f = { 0 };
    assert_int_equal(kh_validate(g_cat, r, TODAY, &f), 0);
    assert_int_equal(f.n, 0);
    kh_findings_clear(&f);
    report_free(r);
}

/* ==== bad values in a report ============================================================ */

typedef struct {
    const char *ind, *raw;
    const char *vi, *en;
} bvcase_t;

static void test_bad_values(void **state)
{
    (void)state;
    static const bvcase_t cases[] = {
        { "HO.TONG", "sáu trăm", "không phải là số", "not a number" },
        { "HKH.HOI_VIEN", "-3", "không được là số âm", "must not be negative" },
        { "DH.TONG", "12,5", "dấu phân cách không rõ ràng", "ambiguous separator" },
        { "AP.TONG", "6.5", "dấu phân cách không rõ ràng", "ambiguous separator" },
        { "QUY.SUAT", "1.234,5", "phải là số nguyên", "must be a whole number" },
        { "TTHTCD.CO", "2", "chỉ được là 0 (không) hoặc 1 (có)", "must be 0 (no) or 1 (yes)" },
        { "CDX.XEP_LOAI", "XUAT_SAC", "TOT, KHA, TB, CHUA", "TOT, KHA, TB, CHUA" },
        { "CDX.DIEM", "150", "điểm phải nằm trong khoảng 0–100",
          "score must be between 0 and 100" },
        { "HO.TONG", "", "ô trống", "empty" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Kh__Report *r = valid_report("829", "2019S2", NULL);
        report_set(r, "28759", cases[i].ind, cases[i].raw);
        const Kh__Value *v = report_find(r, "28759", cases[i].ind);
        kh_findings_t f = { 0 };
        /* One error: the rules that read the value are skipped, not reported again. */
        const Kh__Finding *x = expect_one(&f, r, "BAD_VALUE", 1);
        assert_true(x->is_error);
        assert_int_equal(x->line, v->line);
        assert_string_equal(x->orgunit, "28759");
        assert_string_equal(x->indicator, cases[i].ind);
        assert_string_equal(x->value, cases[i].raw);
        assert_contains(x->message_vi, "Phường 8 (28759)");
        assert_contains(x->message_vi, cases[i].vi);
        assert_contains(x->message_en, cases[i].en);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", cases[i].raw);
        assert_contains(x->message_en, quoted);
        kh_findings_clear(&f);
        report_free(r);
    }
}

/* A semicolon file's cells (kh_value_decimal_comma), then read by kh_value_parse: the
 * locale's dot thousands and decimal comma are the normal case, no warning. */
static void test_decimal_comma(void **state)
{
    (void)state;
    static const struct { const char *raw, *out; } cases[] = {
        { "1.893", "1893" }, { "1.234.567", "1234567" }, { "12,5", "12.5" },
        { " 72,5 ", "72.5" }, { "1.234,5", "1234.5" }, { "12,0", "12" }, { "0,5", "0.5" },
        { "-3,25", "-3.25" }, { "1.000,125", "1000.1250" }, { "1,2345", "1.2345" },
        /* kept as typed: plain, not a number, or genuinely ambiguous */
        { "1893", NULL }, { "1,234", NULL }, { "12,500", NULL }, { "1.5", NULL },
        { "0.500", NULL }, { "1234.567", NULL }, { "1.23.456", NULL }, { "1.234,", NULL },
        { "", NULL }, { "abc", NULL }, { "1,2,3", NULL }, { "KHA", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64] = "";
        int rc = kh_value_decimal_comma(cases[i].raw, out, sizeof out);
        if (cases[i].out) {
            assert_int_equal(rc, 1);
            assert_string_equal(out, cases[i].out);
        } else {
            assert_int_equal(rc, 0);
        }
    }
    /* what a count and a score then read, without a warning */
    const kh_indicator_t *count = kh_catalog_indicator(g_cat, "HO.TONG");
    kh_value_t v;
    char vi[256], en[256], out[64];
    assert_int_equal(kh_value_decimal_comma("1.893", out, sizeof out), 1);
    assert_int_equal(kh_value_parse(count, out, &v, vi, sizeof vi, en, sizeof en), 0);
    assert_true(v.num == 1893);
    assert_int_equal(v.normalised, 0);
    const kh_indicator_t *score = NULL;
    for (size_t i = 0; !score && i < kh_catalog_indicator_count(g_cat); i++)
        if (kh_catalog_indicator_at(g_cat, i)->vtype == KH_VT_SCORE)
            score = kh_catalog_indicator_at(g_cat, i);
    assert_non_null(score);
    assert_int_equal(kh_value_decimal_comma("1,125", out, sizeof out), 0);
    assert_int_equal(kh_value_decimal_comma("1.000,125", out, sizeof out), 1);
    assert_int_equal(kh_value_decimal_comma("12,5", out, sizeof out), 1);
    assert_int_equal(kh_value_parse(score, out, &v, vi, sizeof vi, en, sizeof en), 0);
    assert_true(v.num == 12.5);
    assert_int_equal(v.normalised, 0);
    /* a fraction of 3 digits is never read as thousands, by a count either */
    assert_int_equal(kh_value_decimal_comma("1.000,125", out, sizeof out), 1);
    assert_int_not_equal(kh_value_parse(count, out, &v, vi, sizeof vi, en, sizeof en), 0);
}

static void test_thousands_separators_in_report(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2019S1", NULL);
    report_set(r, "28759", "QUY.VAN_DONG", "45.000.000");
    report_set(r, "28759", "QUY.CHI", "95,000,000");   /* > 2 × 45 000 000: R14 sees it */
    report_set(r, "28762", "HO.TONG", "1.640");
    kh_findings_t f = { 0 };
    size_t errors = kh_validate(g_cat, r, TODAY, &f);
    assert_int_equal(errors, 0);
    assert_int_equal(count_code(&f, "NORMALISED"), 3);
    assert_int_equal(count_code(&f, "R14"), 1);
    const Kh__Finding *x = find_code(&f, "NORMALISED");
    assert_false(x->is_error);
    assert_string_equal(x->message_vi, "Giá trị \"45.000.000\" của QUY.VAN_DONG tại Phường 8 "
                        "(28759) được hiểu là 45000000 (đã bỏ dấu phân cách hàng nghìn)");
    assert_string_equal(x->message_en, "Value \"45.000.000\" for QUY.VAN_DONG at Phường 8 "
                        "(28759) was read as 45000000 (thousands separators removed)");
    assert_contains(find_code(&f, "R14")->message_en, "QUY.CHI=95000000 >");
    kh_findings_clear(&f);

    /* Ambiguous ones are errors. */
    report_set(r, "28762", "HO.TONG", "1,64");
    errors = kh_validate(g_cat, r, TODAY, &f);
    assert_int_equal(errors, 1);
    assert_contains(find_code(&f, "BAD_VALUE")->message_en, "ambiguous separator");
    kh_findings_clear(&f);
    report_free(r);
}

/* ==== structure of the report =========================================================== */

static void test_duplicate_row(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2019S1", NULL);
    uint32_t first = report_find(r, "28765", "HO.TONG")->line;
    report_add(r, "28765", "HO.TONG", "650");
    uint32_t second = r->values[r->n_values - 1]->line;
    kh_findings_t f = { 0 };
    const Kh__Finding *x = expect_one(&f, r, "DUPLICATE_ROW", 1);
    assert_int_equal(f.n, 1);
    assert_int_equal(x->line, second);
    char want[128];
    snprintf(want, sizeof want, "dòng %u và dòng %u", first, second);
    assert_contains(x->message_vi, want);
    assert_contains(x->message_vi, "Phường 4 (28765)");
    snprintf(want, sizeof want, "lines %u and %u", first, second);
    assert_contains(x->message_en, want);
    assert_string_equal(x->value, "650");
    kh_findings_clear(&f);
    report_free(r);
}

static void test_missing_commune(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2020S1", NULL);
    assert_true(report_remove(r, "28783", NULL) > 0);
    kh_findings_t f = { 0 };
    const Kh__Finding *x = expect_one(&f, r, "MISSING_UNIT", 1);
    assert_int_equal(f.n, 1);   /* one finding for the commune, not one per indicator */
    assert_string_equal(x->orgunit, "28783");
    assert_string_equal(x->message_vi, "Thiếu số liệu của Xã Sơn Đông (28783)");
    assert_string_equal(x->message_en, "No values reported for Xã Sơn Đông (28783)");
    kh_findings_clear(&f);
    report_free(r);
}

static void test_missing_value(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2019S2", NULL);
    assert_int_equal(report_remove(r, "28786", "GDHT.DANG_KY"), 1);
    assert_int_equal(report_remove(r, "829", "TH.DVHT"), 1);
    kh_findings_t f = { 0 };
    size_t errors = kh_validate(g_cat, r, TODAY, &f);
    /* R01 and R02 read GDHT.DANG_KY and R17 TH.DVHT: skipped, not reported. */
    assert_int_equal(errors, 2);
    assert_int_equal(f.n, 2);
    assert_int_equal(count_code(&f, "MISSING_VALUE"), 2);
    assert_string_equal(f.items[0]->orgunit, "28786");
    assert_string_equal(f.items[0]->indicator, "GDHT.DANG_KY");
    assert_contains(f.items[0]->message_vi, "Thiếu chỉ tiêu GDHT.DANG_KY");
    assert_contains(f.items[0]->message_vi, "Xã Phú Hưng (28786)");
    assert_contains(f.items[0]->message_en, "Missing GDHT.DANG_KY");
    assert_string_equal(f.items[1]->orgunit, "829");
    assert_string_equal(f.items[1]->indicator, "TH.DVHT");
    kh_findings_clear(&f);
    report_free(r);

    /* S2-only indicators are not missing from an S1 report. */
    r = valid_report("829", "2019S1", NULL);
    assert_null(report_find(r, "28786", "GDHT.CONG_NHAN"));
    assert_int_equal(kh_validate(g_cat, r, TODAY, &f), 0);
    kh_findings_clear(&f);
    report_free(r);
}

static void test_s2_only_in_s1(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2019S1", NULL);
    report_add(r, "28756", "GDHT.CONG_NHAN", "500");
    report_add(r, "28757", "GDHT.CONG_NHAN", "500");
    uint32_t line = r->values[r->n_values - 2]->line;
    kh_findings_t f = { 0 };
    const Kh__Finding *x = expect_one(&f, r, "WRONG_HALF", 1);   /* once per indicator */
    assert_int_equal(f.n, 1);
    assert_int_equal(x->line, line);
    assert_string_equal(x->indicator, "GDHT.CONG_NHAN");
    assert_contains(x->message_vi, "chỉ báo cáo trong kỳ cuối năm (S2), không báo cáo trong "
                                   "kỳ 2019S1");
    assert_contains(x->message_en, "reported only in the year-end report (S2), not in 2019S1");
    kh_findings_clear(&f);
    report_free(r);
}

/* Issue 12, item 5: the Lifelong Learning Week (1–7 October) is reported in S2 only,
 * Vietnam Book Day (21 April) in S1 only; CS.KIEM_TRA counts inspection visits. */
static void test_event_halves(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2019S1", NULL);
    assert_non_null(report_find(r, "829", "TT.NGAY_SACH"));
    report_remove(r, "829", "TT.TUAN_LE");
    report_add(r, "829", "TT.TUAN_LE", "3");
    kh_findings_t f = { 0 };
    const Kh__Finding *x = expect_one(&f, r, "WRONG_HALF", 1);
    assert_string_equal(x->indicator, "TT.TUAN_LE");
    assert_contains(x->message_vi, "chỉ báo cáo trong kỳ cuối năm (S2)");
    kh_findings_clear(&f);
    report_free(r);

    r = valid_report("829", "2019S2", NULL);
    assert_non_null(report_find(r, "829", "TT.TUAN_LE"));
    report_remove(r, "829", "TT.NGAY_SACH");
    report_add(r, "829", "TT.NGAY_SACH", "3");
    x = expect_one(&f, r, "WRONG_HALF", 1);
    assert_string_equal(x->indicator, "TT.NGAY_SACH");
    assert_contains(x->message_vi, "chỉ báo cáo trong kỳ 6 tháng đầu năm (S1)");
    assert_contains(x->message_en, "reported only in the mid-year report (S1)");
    kh_findings_clear(&f);
    report_free(r);

    /* inspections are visits (a commune may be visited twice), not communes */
    const kh_indicator_t *d = kh_catalog_indicator(g_cat, "CS.KIEM_TRA");
    assert_non_null(d);
    assert_int_equal(d->vtype, KH_VT_COUNT);
    assert_int_equal(d->tagg, KH_TA_SUM);
    assert_string_not_equal(d->unit, "xã");
    assert_contains(d->name_vi, "lượt kiểm tra");
    assert_contains(d->name_en, "visits");
    r = valid_report("829", "2019S2", NULL);   /* 14 communes, 30 visits: accepted */
    report_remove(r, "829", "CS.KIEM_TRA");
    report_add(r, "829", "CS.KIEM_TRA", "30");
    assert_int_equal(kh_validate(g_cat, r, TODAY, &f), 0);
    kh_findings_clear(&f);
    report_free(r);
}

static void test_unknown_indicator(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2019S1", NULL);
    report_add(r, "28756", "HO.TONGX", "12");
    kh_findings_t f = { 0 };
    const Kh__Finding *x = expect_one(&f, r, "UNKNOWN_INDICATOR", 1);
    assert_int_equal(f.n, 1);
    assert_string_equal(x->indicator, "HO.TONGX");
    assert_string_equal(x->message_vi, "Mã chỉ tiêu \"HO.TONGX\" không có trong danh mục chỉ tiêu");
    assert_string_equal(x->message_en, "Indicator code \"HO.TONGX\" is not in the indicator "
                        "catalogue");
    kh_findings_clear(&f);
    report_free(r);
}

static void test_commune_of_another_district(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2019S1", NULL);
    report_add(r, "28801", "HO.TONG", "640");
    report_add(r, "28801", "DS.TONG", "2600");
    kh_findings_t f = { 0 };
    const Kh__Finding *x = expect_one(&f, r, "OTHER_DISTRICT", 1);
    assert_int_equal(f.n, 1);
    assert_string_equal(x->orgunit, "28801");
    assert_string_equal(x->message_vi, "Thị trấn Châu Thành (28801) thuộc Huyện Châu Thành, "
                        "không thuộc Thành phố Bến Tre: hãy xoá các dòng này, đơn vị đó do nơi "
                        "khác báo cáo");
    assert_string_equal(x->message_en, "Thị trấn Châu Thành (28801) belongs to Huyện Châu Thành, "
                        "not to Thành phố Bến Tre: delete these rows, another unit reports for "
                        "it");
    kh_findings_clear(&f);
    /* Another district's code used as a unit is not a commune of this one either. */
    report_remove(r, "28801", NULL);
    report_add(r, "831", "TT.TIN_BAI", "3");
    x = expect_one(&f, r, "OTHER_DISTRICT", 1);
    assert_contains(x->message_en, "Huyện Châu Thành (831) belongs to Tỉnh Bến Tre, not to Thành phố Bến Tre");
    kh_findings_clear(&f);
    report_free(r);
}

static void test_merged_unit(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2020S1", NULL);
    report_add(r, "28771", "HO.TONG", "300");
    report_add(r, "28771", "DS.TONG", "1200");
    report_add(r, "28867", "HO.TONG", "500");
    kh_findings_t f = { 0 };
    size_t errors = kh_validate(g_cat, r, TODAY, &f);
    assert_int_equal(errors, 2);
    assert_int_equal(count_code(&f, "MERGED_UNIT"), 2);   /* once per unit */
    assert_string_equal(f.items[0]->orgunit, "28771");
    assert_string_equal(f.items[0]->message_vi,
                        "Phường 1 đã sáp nhập vào Phường An Hội (28777) từ 01/02/2020");
    assert_string_equal(f.items[0]->message_en,
                        "Phường 1 was merged into Phường An Hội (28777) on 2020-02-01");
    assert_string_equal(f.items[1]->message_vi,
                        "Xã Mỹ Thành đã sáp nhập vào Xã Bình Phú (28789) từ 01/02/2020");
    kh_findings_clear(&f);
    report_free(r);
}

static void test_unknown_unit(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2019S1", NULL);
    report_add(r, "99999", "HO.TONG", "640");
    kh_findings_t f = { 0 };
    const Kh__Finding *x = expect_one(&f, r, "UNKNOWN_UNIT", 1);
    assert_string_equal(x->message_vi,
                        "Mã đơn vị \"99999\" không có trong danh mục đơn vị hành chính");
    assert_string_equal(x->message_en,
                        "Unit code \"99999\" is not in the list of administrative units");
    kh_findings_clear(&f);
    report_free(r);
}

static void test_wrong_level(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2019S1", NULL);
    report_add(r, "829", "HO.TONG", "10000");        /* commune indicator on the district */
    report_add(r, "28756", "TT.TIN_BAI", "3");       /* district indicator on a commune */
    kh_findings_t f = { 0 };
    size_t errors = kh_validate(g_cat, r, TODAY, &f);
    assert_int_equal(errors, 2);
    assert_int_equal(count_code(&f, "WRONG_LEVEL"), 2);
    assert_string_equal(f.items[0]->indicator, "HO.TONG");
    /* the level names come from levels.csv, lower case in Vietnamese */
    assert_contains(f.items[0]->message_vi, "là chỉ tiêu cấp xã/phường/thị trấn");
    assert_contains(f.items[0]->message_vi, "không theo Thành phố Bến Tre (829) (cấp huyện/thành phố)");
    assert_contains(f.items[0]->message_en, "is reported per Commune/Ward/Township (level 3)");
    assert_string_equal(f.items[1]->indicator, "TT.TIN_BAI");
    assert_contains(f.items[1]->message_vi, "là chỉ tiêu cấp huyện/thành phố");
    assert_contains(f.items[1]->message_en, "not under Phường Phú Khương (28756)");
    kh_findings_clear(&f);
    report_free(r);
}

static void test_periods_in_reports(void **state)
{
    (void)state;
    kh_findings_t f = { 0 };
    /* Malformed: one error; the values are still checked. */
    Kh__Report *r = valid_report("829", "2019S1", NULL);
    free(r->period);
    r->period = strdup("2019S3");
    report_set(r, "28756", "HO.TONG", "abc");
    size_t errors = kh_validate(g_cat, r, TODAY, &f);
    assert_int_equal(errors, 2);
    assert_int_equal(count_code(&f, "PERIOD_MALFORMED"), 1);
    assert_int_equal(count_code(&f, "BAD_VALUE"), 1);
    assert_contains(find_code(&f, "PERIOD_MALFORMED")->message_vi,
                    "Kỳ báo cáo \"2019S3\" không hợp lệ");
    assert_contains(find_code(&f, "PERIOD_MALFORMED")->message_en, "Malformed period \"2019S3\"");
    kh_findings_clear(&f);
    /* A year is a period but not a report period. */
    free(r->period);
    r->period = strdup("2019");
    kh_validate(g_cat, r, TODAY, &f);
    assert_int_equal(count_code(&f, "PERIOD_MALFORMED"), 1);
    kh_findings_clear(&f);
    report_free(r);

    /* The future: a half-year that has not begun (829 reports in 2020: reporters.csv). */
    r = valid_report("829", "2020S2", NULL);
    assert_int_equal(kh_validate(g_cat, r, 20200101, &f), 1);
    assert_int_equal(f.n, 1);
    const Kh__Finding *x = find_code(&f, "PERIOD_FUTURE");
    assert_non_null(x);
    assert_string_equal(x->message_vi, "Kỳ báo cáo 2020S2 chưa bắt đầu (bắt đầu từ 01/07/2020, "
                        "hôm nay là 01/01/2020)");
    assert_string_equal(x->message_en, "Period 2020S2 has not started yet (it starts on "
                        "2020-07-01; today is 2020-01-01)");
    kh_findings_clear(&f);
    report_free(r);
    /* A period after the reporting unit's last one (reporters.csv): refused by name. */
    r = valid_report("829", "2020S2", NULL);
    free(r->period);
    r->period = strdup("2021S1");
    assert_true(kh_validate(g_cat, r, TODAY, &f) >= 1);
    x = find_code(&f, "UNKNOWN_DISTRICT");
    assert_non_null(x);
    assert_string_equal(x->message_en, "\"829\" is not a reporting unit on 2021-06-30 (the end "
                        "of period 2021S1): check the unit code of the report");
    kh_findings_clear(&f);
    report_free(r);
    /* An S2 report is due on 5 December, before the half-year ends: accepted. */
    r = valid_report("829", "2020S2", NULL);
    assert_int_equal(kh_validate(g_cat, r, 20201205, &f), 0);
    kh_findings_clear(&f);
    assert_int_equal(kh_validate(g_cat, r, 20200630, &f), 1);
    assert_int_equal(count_code(&f, "PERIOD_FUTURE"), 1);
    kh_findings_clear(&f);
    report_free(r);
}

static void test_unknown_district(void **state)
{
    (void)state;
    static const char *bad[] = { "830", "28756", "83", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Kh__Report *r = valid_report("829", "2019S1", NULL);
        free(r->district);
        r->district = strdup(bad[i]);
        kh_findings_t f = { 0 };
        size_t errors = kh_validate(g_cat, r, TODAY, &f);
        assert_int_equal(count_code(&f, "UNKNOWN_DISTRICT"), 1);
        assert_int_equal(errors, 1);   /* units are not judged against an unknown district */
        char want[256];
        snprintf(want, sizeof want, "\"%s\" is not a reporting unit on 2019-06-30 (the end of "
                 "period 2019S1): check the unit code of the report", bad[i]);
        assert_string_equal(find_code(&f, "UNKNOWN_DISTRICT")->message_en, want);
        kh_findings_clear(&f);
        report_free(r);
    }
}

/* Every problem is found, not only the first. */
static void test_every_problem(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2019S2", NULL);
    report_set(r, "28756", "GDHT.DANG_KY", "812");      /* R01 and R02 */
    report_set(r, "28757", "HO.TONG", "x");              /* BAD_VALUE */
    report_remove(r, "28759", NULL);                     /* MISSING_UNIT */
    report_add(r, "28762", "AP.TONG", "6");              /* DUPLICATE_ROW */
    report_set(r, "28765", "QUY.VAN_DONG", "1.000.000"); /* NORMALISED, R14 warning */
    report_add(r, "28867", "HKH.ABC", "1");              /* UNKNOWN_INDICATOR */
    report_set(r, "829", "TH.DVHT", "99");               /* R17 */
    kh_findings_t f = { 0 };
    size_t errors = kh_validate(g_cat, r, TODAY, &f);
    static const char *codes[] = { "R01", "BAD_VALUE", "MISSING_UNIT", "DUPLICATE_ROW",
                                   "NORMALISED", "R14", "UNKNOWN_INDICATOR", "R17" };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (count_code(&f, codes[i]) != 1) {
            dump(&f);
            fail_msg("expected one %s", codes[i]);
        }
    assert_int_equal(errors, 6);
    assert_int_equal(f.n_errors, 6);
    assert_int_equal(f.n, 8);
    kh_findings_clear(&f);

    /* The aggregator's one check, on the same report: only the previous-period rule
     * speaks (every other finding was the validator's to make, once); R16 for each of
     * the 17 communes with a row and a previous value (the stub has one for 28756). */
    prevstub_t s = { .value = 500, .have = 1 };
    assert_int_equal(kh_validate_previous(g_cat, r, prev_stub, &s, &f), 0);
    if (f.n != 1)
        dump(&f);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.items[0]->code, "R16");
    assert_string_equal(f.items[0]->orgunit, "28756");
    assert_int_equal(s.calls, 16);    /* 28759's row was removed: 16 communes asked */
    kh_findings_clear(&f);
    /* and without a lookup there is nothing to compare */
    assert_int_equal(kh_validate_previous(g_cat, r, NULL, NULL, &f), 0);
    assert_int_equal(f.n, 0);
    report_free(r);
}

/* Hostile values: long and non-UTF-8 strings are cut and cleaned in messages. */
static void test_hostile_strings(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2019S1", NULL);
    char big[2000];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    report_set(r, "28756", "HO.TONG", "\xff\xfe 12");
    report_add(r, big, "HO.TONG", "1");
    report_add(r, "28756", big, "1");
    kh_findings_t f = { 0 };
    size_t errors = kh_validate(g_cat, r, TODAY, &f);
    assert_int_equal(errors, 3);
    const Kh__Finding *x = find_code(&f, "BAD_VALUE");
    assert_non_null(x);
    assert_contains(x->message_vi, "\"?? 12\"");
    assert_true(strlen(find_code(&f, "UNKNOWN_UNIT")->orgunit) < 200);
    assert_true(strlen(find_code(&f, "UNKNOWN_UNIT")->message_en) < 300);
    kh_findings_clear(&f);
    report_free(r);
}

/* ==== findings list bound =============================================================== */

static void test_findings_cap(void **state)
{
    (void)state;
    kh_findings_t f = { 0 };
    int last = 0;
    for (int i = 0; i < KH_MAX_FINDINGS + 500; i++)
        last = kh_findings_add(&f, "NORMALISED", 0, (uint32_t)i, "28756", "HO.TONG", "1.000",
                               "cảnh báo", "warning");
    assert_int_equal(last, -1);
    assert_int_equal(f.n, KH_MAX_FINDINGS);
    assert_string_equal(f.items[KH_MAX_FINDINGS - 2]->code, "NORMALISED");
    assert_string_equal(f.items[KH_MAX_FINDINGS - 1]->code, "TOO_MANY_FINDINGS");
    assert_contains(f.items[KH_MAX_FINDINGS - 1]->message_vi, "Quá nhiều vấn đề");
    assert_int_equal(f.n_errors, 0);
    /* An error dropped past the bound still makes the list say "error". */
    assert_int_equal(kh_findings_add(&f, "R01", 1, 1, "", "", "", "lỗi", "error"), -1);
    assert_int_equal(f.n_errors, 1);
    assert_true(f.items[KH_MAX_FINDINGS - 1]->is_error);
    kh_findings_clear(&f);
    assert_int_equal(f.n, 0);
    assert_null(f.items);
    assert_int_equal(kh_findings_add(&f, "X", 1, 0, NULL, NULL, NULL, NULL, NULL), 0);
    assert_string_equal(f.items[0]->orgunit, "");
    kh_findings_clear(&f);
}

/* A report with thousands of bad rows stays bounded and keeps counting errors. */
static void test_validate_bounded(void **state)
{
    (void)state;
    Kh__Report *r = valid_report("829", "2019S1", NULL);
    for (size_t i = 0; i < r->n_values; i++) {
        free(r->values[i]->raw);
        r->values[i]->raw = strdup("x");
    }
    for (int i = 0; i < 3000; i++)
        report_add(r, "28756", "HO.TONG", "y");
    kh_findings_t f = { 0 };
    size_t errors = kh_validate(g_cat, r, TODAY, &f);
    assert_true(errors > KH_MAX_FINDINGS);
    assert_int_equal(f.n, KH_MAX_FINDINGS);
    assert_string_equal(f.items[f.n - 1]->code, "TOO_MANY_FINDINGS");
    kh_findings_clear(&f);
    report_free(r);
}

/* ==== speed ============================================================================= */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_speed_18_communes(void **state)
{
    (void)state;
    size_t n;
    Kh__Report *r = valid_report("837", "2019S2", &n);
    assert_int_equal(n, 18);
    /* 18 communes × 29 commune indicators of S2 + 9 district ones (Book Day is S1
     * only): 531 values, every rule of S2 applied (R16 too, with a previous value for
     * each commune). */
    assert_int_equal(r->n_values, 531);
    prevstub_t s = { .value = 640, .have = 1 };
    kh_findings_t f = { 0 };
    const int rounds = 200;
    double t0 = now_s();
    for (int i = 0; i < rounds; i++) {
        assert_int_equal(kh_validate(g_cat, r, TODAY, &f), 0);
        assert_int_equal(f.n, 0);
        kh_findings_clear(&f);
    }
    double t1 = now_s();
    for (int i = 0; i < rounds; i++) {
        assert_int_equal(kh_validate_previous(g_cat, r, prev_stub, &s, &f), 0);
        assert_int_equal(f.n, 0);
        kh_findings_clear(&f);
    }
    assert_int_equal(s.calls, rounds * 18);   /* every commune asked once per round */
    /* informative only: speed is measured by make bench, never asserted here */
    print_message("kh_validate: %zu values in %.1f µs; kh_validate_previous %.1f µs\n",
                  r->n_values, (t1 - t0) / rounds * 1e6, (now_s() - t1) / rounds * 1e6);
    report_free(r);
}

/* ==== load errors on small data sets written here ======================================= */

static const char *UNITS_OK =
    "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
    "83,Tỉnh Bến Tre,tinh,1,,,,\n"
    "829,Thành phố Bến Tre,thanh_pho,2,83,,,\n"
    "28771,Phường 1,phuong,3,829,,2020-01-31,28777\n"
    "28777,Phường 2,phuong,3,829,,2020-01-31,\n"
    "28777,Phường An Hội,phuong,3,829,2020-02-01,,\n";
static const char *INDS_OK =
    "code,section,level,value_type,options,time_aggregation,periods,name_vi,name_en,unit\n"
    "HO.TONG,4,3,count,,last,S1 S2,Tổng số hộ gia đình,Households,hộ\n"
    "GDHT.DANG_KY,4,3,count,,last,S1 S2,\"Hộ đăng ký, \"\"GĐHT\"\"\",Registered,hộ\n"
    "CDX.XEP_LOAI,4,3,option,TOT KHA TB CHUA,last,S2,Xếp loại,Rating,\n";
static const char *LEVELS_OK =
    "level,name_vi,name_en,valid_from,valid_to\n"
    "1,Tỉnh,Province,,\n2,Huyện/Thành phố,District/City,,\n3,Xã/Phường,Commune/Ward,,\n";
static const char *REPORTERS_OK =
    "level,unit,valid_from,valid_to,note\n2,,,,the districts\n";
static const char *RULES_OK =
    "id,severity,level,periods,rule,message_vi,message_en\n"
    "R01,error,3,S1 S2,GDHT.DANG_KY <= HO.TONG,Vượt tổng số hộ,Exceeds households\n";
static const char *TARGETS_OK =
    "code,name_vi,name_en,numerator,denominator,milestone,target,target_difficult_areas,source\n"
    "TL.GDHT,Tỷ lệ,Share,GDHT.DANG_KY,HO.TONG,2020,70,60,QĐ 281\n";

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
}

/* Writes a data set (NULL = the good version of a file; levels.csv is always the good one)
 * and tries to load it. */
static kh_catalog_t *load_set_rep(const char *units, const char *inds, const char *rules,
                                  const char *targets, const char *reporters, char *err,
                                  size_t errlen)
{
    char dir[] = "/tmp/kh_catalog_test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "units.csv", units ? units : UNITS_OK);
    write_file(dir, "indicators.csv", inds ? inds : INDS_OK);
    write_file(dir, "rules.csv", rules ? rules : RULES_OK);
    write_file(dir, "targets.csv", targets ? targets : TARGETS_OK);
    write_file(dir, "reporters.csv", reporters ? reporters : REPORTERS_OK);
    write_file(dir, "levels.csv", LEVELS_OK);
    kh_catalog_t *c = kh_catalog_load(dir, 620, 1205, err, errlen);
    static const char *names[] = { "units.csv", "indicators.csv", "rules.csv",
                                   "targets.csv", "reporters.csv", "levels.csv" };
    for (size_t i = 0; i < 6; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    assert_int_equal(rmdir(dir), 0);
    return c;
}

static kh_catalog_t *load_set(const char *units, const char *inds, const char *rules,
                              const char *targets, char *err, size_t errlen)
{
    return load_set_rep(units, inds, rules, targets, NULL, err, errlen);
}

static void test_load_small_set_ok(void **state)
{
    (void)state;
    char err[256] = "";
    kh_catalog_t *c = load_set(NULL, NULL, NULL, NULL, err, sizeof err);
    if (!c)
        fail_msg("load failed: %s", err);
    assert_string_equal(kh_catalog_indicator(c, "GDHT.DANG_KY")->name_vi,
                        "Hộ đăng ký, \"GĐHT\"");
    /* CRLF line ends and a byte-order mark, as spreadsheets write them. */
    kh_catalog_destroy(&c);
    assert_null(c);
    c = load_set("\xEF\xBB\xBF" "code,name,type,level,parent_code,valid_from,valid_to,merged_into\r\n"
                 "83,Tỉnh Bến Tre,tinh,1,,,,\r\n829,TP,thanh_pho,2,83,,,\r\n"
                 "28777,P2,phuong,3,829,,,\r\n", NULL, NULL, NULL, err, sizeof err);
    if (!c)
        fail_msg("load failed: %s", err);
    kh_catalog_destroy(&c);
    kh_catalog_destroy(NULL);
}

static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
              : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0)
            return 0;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

/* A rule message longer than a finding's message is cut on a character boundary. */
static void test_long_rule_message(void **state)
{
    (void)state;
    size_t cap = 8192, o = 0;
    char *rules = malloc(cap);
    assert_non_null(rules);
    o += (size_t)snprintf(rules + o, cap - o, "id,severity,level,periods,rule,message_vi,"
                          "message_en\nR01,error,3,S1 S2,GDHT.DANG_KY <= HO.TONG,");
    for (int i = 0; i < 1300; i++)
        o += (size_t)snprintf(rules + o, cap - o, "ệ");
    snprintf(rules + o, cap - o, ",Too many\n");
    char err[256] = "";
    kh_catalog_t *c = load_set(NULL, NULL, rules, NULL, err, sizeof err);
    free(rules);
    if (!c)
        fail_msg("load failed: %s", err);
    Kh__Report *r = report_new("829", "2019S1");
    report_add(r, "28771", "HO.TONG", "10");
    report_add(r, "28771", "GDHT.DANG_KY", "11");
    report_add(r, "28777", "HO.TONG", "10");
    report_add(r, "28777", "GDHT.DANG_KY", "10");
    kh_findings_t f = { 0 };
    assert_int_equal(kh_validate(c, r, TODAY, &f), 1);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.items[0]->code, "R01");
    assert_true(valid_utf8(f.items[0]->message_vi));
    assert_true(strlen(f.items[0]->message_vi) < 1024);
    assert_string_equal(f.items[0]->message_en, "Too many (GDHT.DANG_KY=11 > HO.TONG=10)");
    kh_findings_clear(&f);
    report_free(r);
    kh_catalog_destroy(&c);
}

typedef struct {
    const char *units, *inds, *rules, *targets;
    const char *err1, *err2;    /* both must appear in the reason */
} lcase_t;

static const lcase_t load_cases[] = {
    /* rule naming an unknown indicator */
    { NULL, NULL,
      "id,severity,level,periods,rule,message_vi,message_en\n"
      "R01,error,3,S1 S2,GDHT.DANG_KY <= HO.TONG,a,b\n"
      "R02,error,3,S1 S2,HO.TONGX > 0,a,b\n", NULL,
      "rules.csv:3: ", "unknown indicator HO.TONGX" },
    /* rule that does not parse */
    { NULL, NULL,
      "id,severity,level,periods,rule,message_vi,message_en\n"
      "R01,error,3,S1 S2,GDHT.DANG_KY <=,a,b\n", NULL,
      "rules.csv:2: ", "expected a number" },
    /* rule with an option that does not exist */
    { NULL, NULL,
      "id,severity,level,periods,rule,message_vi,message_en\n"
      "R15,warning,3,S2,CDX.XEP_LOAI != XUAT_SAC,a,b\n", NULL,
      "rules.csv:2: ", "XUAT_SAC is not an option of CDX.XEP_LOAI" },
    /* rule in S1 on an indicator reported only in S2 */
    { NULL, NULL,
      "id,severity,level,periods,rule,message_vi,message_en\n"
      "R15,warning,3,S1 S2,CDX.XEP_LOAI != NONE,a,b\n", NULL,
      "rules.csv:2: ", "not reported in every half-year" },
    /* bad severity, duplicate id */
    { NULL, NULL,
      "id,severity,level,periods,rule,message_vi,message_en\n"
      "R01,fatal,3,S1 S2,HO.TONG > 0,a,b\n", NULL, "rules.csv:2: ", "severity" },
    { NULL, NULL,
      "id,severity,level,periods,rule,message_vi,message_en\n"
      "R01,error,3,S1 S2,HO.TONG > 0,a,b\nR01,error,3,S1,HO.TONG > 1,a,b\n", NULL,
      "rules.csv:3: ", "already defined on line 2" },
    /* cycle in the unit tree */
    { "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
      "83,Tỉnh,tinh,1,,,,\n"
      "829,A,huyen,2,831,,,\n"
      "831,B,huyen,2,832,,,\n"
      "832,C,huyen,2,829,,,\n", NULL, NULL, NULL,
      "units.csv:", "cycle in the unit tree: 829 → 831 → 832 → 829" },
    /* a unit its own parent */
    { "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
      "83,Tỉnh,tinh,1,,,,\n829,A,huyen,2,829,,,\n", NULL, NULL, NULL,
      "units.csv:3: ", "cycle in the unit tree: 829 → 829" },
    /* overlapping validity of one code */
    { "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
      "83,Tỉnh,tinh,1,,,,\n829,TP,thanh_pho,2,83,,,\n"
      "28777,Phường 2,phuong,3,829,,2020-02-01,\n"
      "28777,Phường An Hội,phuong,3,829,2020-02-01,,\n", NULL, NULL, NULL,
      "units.csv:5: ", "validity overlaps the row of line 4" },
    { "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
      "83,Tỉnh,tinh,1,,,,\n83,Tỉnh 2,tinh,1,,,,\n", NULL, NULL, NULL,
      "units.csv:3: ", "overlaps" },
    /* unknown parent */
    { "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
      "83,Tỉnh,tinh,1,,,,\n829,TP,thanh_pho,2,83,,,\n28756,P,phuong,3,830,,,\n",
      NULL, NULL, NULL, "units.csv:4: ", "unknown parent unit 830" },
    /* parent not one level up, bad date, merged into unknown unit */
    { "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
      "83,Tỉnh,tinh,1,,,,\n28756,P,phuong,3,83,,,\n", NULL, NULL, NULL,
      "units.csv:3: ", "parent 83 is level 1" },
    { "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
      "83,Tỉnh,tinh,1,,,,\n829,TP,thanh_pho,2,83,2020-02-30,,\n", NULL, NULL, NULL,
      "units.csv:3: ", "bad valid_from" },
    { "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
      "83,Tỉnh,tinh,1,,,,\n829,TP,thanh_pho,2,83,,2019-12-31,830\n", NULL, NULL, NULL,
      "units.csv:3: ", "merged_into names unknown unit 830" },
    /* code longer than KH_CODE_MAX */
    { "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
      "83,Tỉnh,tinh,1,,,,\n"
      "8290000000000000000000000000000000000000000000000000000000000000000,TP,thanh_pho,2,83,,,\n",
      NULL, NULL, NULL, "units.csv:3: ", "longer than 63" },
    /* wrong number of fields, missing column, unterminated quote */
    { "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
      "83,Tỉnh,tinh,1,,,\n", NULL, NULL, NULL,
      "units.csv:2: ", "expected 8 fields, found 7" },
    { "code,name,type,level,parent_code,valid_from,valid_to\n83,Tỉnh,tinh,1,,,\n",
      NULL, NULL, NULL, "units.csv:1: ", "missing column 'merged_into'" },
    { "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
      "83,\"Tỉnh,tinh,1,,,,\n", NULL, NULL, NULL, "units.csv:", "malformed CSV" },
    { "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
      "83,T\xe1nh,tinh,1,,,,\n", NULL, NULL, NULL, "units.csv:2: ", "invalid UTF-8" },
    /* indicators: value type, time aggregation, periods, options */
    { NULL,
      "code,section,level,value_type,options,time_aggregation,periods,name_vi,name_en,unit\n"
      "HO.TONG,4,3,count,,last,S1 S2,a,b,hộ\n"
      "GDHT.DANG_KY,4,3,integer,,last,S1 S2,a,b,hộ\n", NULL, NULL,
      "indicators.csv:3: ", "bad value_type 'integer'" },
    { NULL,
      "code,section,level,value_type,options,time_aggregation,periods,name_vi,name_en,unit\n"
      "HO.TONG,4,3,count,,average,S1 S2,a,b,hộ\n", NULL, NULL,
      "indicators.csv:2: ", "bad time_aggregation 'average'" },
    { NULL,
      "code,section,level,value_type,options,time_aggregation,periods,name_vi,name_en,unit\n"
      "HO.TONG,4,3,count,,last,S1 S3,a,b,hộ\n", NULL, NULL,
      "indicators.csv:2: ", "bad periods 'S1 S3'" },
    { NULL,
      "code,section,level,value_type,options,time_aggregation,periods,name_vi,name_en,unit\n"
      "HO.TONG,4,3,count,,last,S1 S1,a,b,hộ\n", NULL, NULL,
      "indicators.csv:2: ", "bad periods" },
    { NULL,
      "code,section,level,value_type,options,time_aggregation,periods,name_vi,name_en,unit\n"
      "CDX.DIEM,4,3,score,100,last,S2,a,b,\n", NULL, NULL,
      "indicators.csv:2: ", "range" },
    { NULL,
      "code,section,level,value_type,options,time_aggregation,periods,name_vi,name_en,unit\n"
      "X,4,3,option,,last,S2,a,b,\n", NULL, NULL, "indicators.csv:2: ", "needs its options" },
    { NULL,
      "code,section,level,value_type,options,time_aggregation,periods,name_vi,name_en,unit\n"
      "HO.TONG,4,3,count,,last,S1 S2,a,b,hộ\nHO.TONG,4,3,count,,last,S1 S2,a,b,hộ\n",
      NULL, NULL, "indicators.csv:3: ", "already defined on line 2" },
    /* target naming an unknown indicator */
    { NULL, NULL, NULL,
      "code,name_vi,name_en,numerator,denominator,milestone,target,target_difficult_areas,source\n"
      "TL.GDHT,Tỷ lệ,Share,GDHT.CONG_NHAN,HO.TONG,2020,70,60,\n",
      "targets.csv:2: ", "unknown indicator GDHT.CONG_NHAN" },
    { NULL, NULL, NULL,
      "code,name_vi,name_en,numerator,denominator,milestone,target,target_difficult_areas,source\n"
      "TL.GDHT,Tỷ lệ,Share,GDHT.DANG_KY,HO.TONG,2020,170,60,\n",
      "targets.csv:2: ", "from 0 to 100" },
    /* a rate whose numerator and denominator come from different units (issue 12) */
    { NULL,
      "code,section,level,value_type,options,time_aggregation,periods,name_vi,name_en,unit\n"
      "HO.TONG,4,3,count,,last,S1 S2,a,b,hộ\nTH.X,5,2,count,,last,S1 S2,a,b,t\n",
      "id,severity,level,periods,rule,message_vi,message_en\n",
      "code,name_vi,name_en,numerator,denominator,milestone,target,target_difficult_areas,source\n"
      "TL.X,Tỷ lệ,Share,TH.X,HO.TONG,,,,\n",
      "targets.csv:2: ", "different levels" },
    { NULL, NULL, NULL,
      "code,name_vi,name_en,numerator,denominator,milestone,target,target_difficult_areas,source\n"
      "TL.X,Tỷ lệ,Share,CDX.XEP_LOAI,HO.TONG,,,,\n",
      "targets.csv:2: ", "option or a score" },
    /* an empty file */
    { NULL, NULL, "", NULL, "rules.csv: ", "empty file" },
};

static void test_load_error(void **state)
{
    const lcase_t *c = *state;
    char err[256] = "";
    kh_catalog_t *cat = load_set(c->units, c->inds, c->rules, c->targets, err, sizeof err);
    if (cat) {
        kh_catalog_destroy(&cat);
        fail_msg("loaded, expected \"%s\"", c->err2);
    }
    assert_null(cat);
    if (strncmp(err, c->err1, strlen(c->err1)) != 0)
        fail_msg("\"%s\" does not start with \"%s\"", err, c->err1);
    assert_contains(err, c->err2);
    assert_null(strchr(err, '\n'));   /* one line */
}

/* reporters.csv (issue 12, item 2): an unknown level, an unknown unit, a unit outside
 * its existence, both or neither, overlapping ranges, bad dates, no rows */
typedef struct {
    const char *units;          /* NULL: UNITS_OK */
    const char *err1, *err2;    /* both must appear in the reason */
    const char *reporters;
} repcase_t;

static const repcase_t rep_cases[] = {
    { NULL, "reporters.csv:2: ", "unknown level '4'",
      "level,unit,valid_from,valid_to,note\n4,,2017-01-01,2020-12-31,\n" },
    { "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
      "83,Tỉnh,tinh,1,,,,\n829,TP,thanh_pho,2,83,,,\n",
      "reporters.csv:3: ", "unknown level '3': no unit",
      "level,unit,valid_from,valid_to,note\n2,,,,\n3,,,,\n" },
    { NULL, "reporters.csv:3: ", "unknown unit 28799 (not in units.csv)",
      "level,unit,valid_from,valid_to,note\n2,,2017-01-01,2020-12-31,\n,28799,,,\n" },
    { NULL, "reporters.csv:2: ",
      "unit 28771 does not exist from 2020-02-01 to no end",
      "level,unit,valid_from,valid_to,note\n,28771,2020-02-01,,\n" },
    { NULL, "reporters.csv:2: ", "either a level or a unit code, not both",
      "level,unit,valid_from,valid_to,note\n2,829,,,\n" },
    { NULL, "reporters.csv:2: ", "not neither",
      "level,unit,valid_from,valid_to,note\n,,2017-01-01,,\n" },
    { NULL, "reporters.csv:3: ",
      "level 2 reports already in an overlapping range (line 2)",
      "level,unit,valid_from,valid_to,note\n2,,2017-01-01,2020-12-31,\n2,,2020-12-31,,\n" },
    { NULL, "reporters.csv:3: ",
      "unit 28777 reports already in an overlapping range (line 2)",
      "level,unit,valid_from,valid_to,note\n,28777,,2020-06-30,\n,28777,2020-01-01,,\n" },
    { NULL, "reporters.csv:3: ",
      "unit 829 reports already through level 2",
      "level,unit,valid_from,valid_to,note\n2,,2017-01-01,2020-12-31,\n,829,2020-01-01,,\n" },
    { NULL, "reporters.csv:3: ",
      "unit 28777 reports already through level 3",
      "level,unit,valid_from,valid_to,note\n,28777,2021-01-01,,\n3,,,,\n" },
    /* a reporting unit below another one: its values would be counted twice */
    { NULL, "reporters.csv:3: ",
      "unit 28777 (line 3) and unit 829 above it (line 2) both report on 2020-02-01",
      "level,unit,valid_from,valid_to,note\n2,,,,\n,28777,2020-02-01,,\n" },
    { NULL, "reporters.csv:3: ",
      "unit 829 (line 3) and unit 83 above it (line 2) both report on 2021-01-01",
      "level,unit,valid_from,valid_to,note\n1,,2021-01-01,,\n2,,2017-01-01,,\n" },
    { NULL, "reporters.csv:2: ", "bad valid_to '2020-13-01'",
      "level,unit,valid_from,valid_to,note\n2,,2017-01-01,2020-13-01,\n" },
    { NULL, "reporters.csv:2: ", "valid_from is after valid_to",
      "level,unit,valid_from,valid_to,note\n2,,2021-01-01,2020-12-31,\n" },
    { NULL, "reporters.csv: ", "no reporting units",
      "level,unit,valid_from,valid_to,note\n" },
    { NULL, "reporters.csv:1: ", "missing column 'valid_to'",
      "level,unit,valid_from\n2,,\n" },
};

static void test_rep_load_error(void **state)
{
    const repcase_t *c = *state;
    char err[256] = "";
    kh_catalog_t *cat = load_set_rep(c->units, NULL, NULL, NULL, c->reporters, err, sizeof err);
    if (cat) {
        kh_catalog_destroy(&cat);
        fail_msg("loaded, expected \"%s\"", c->err2);
    }
    if (strncmp(err, c->err1, strlen(c->err1)) != 0)
        fail_msg("\"%s\" does not start with \"%s\"", err, c->err1);
    assert_contains(err, c->err2);
    assert_null(strchr(err, '\n'));
}

static void test_load_limits(void **state)
{
    (void)state;
    char err[256] = "";
    /* A file over the size limit. */
    size_t big = (size_t)5 << 20;
    char *text = malloc(big + 1);
    assert_non_null(text);
    memset(text, '#', big);
    text[big] = '\0';
    kh_catalog_t *c = load_set(NULL, NULL, text, NULL, err, sizeof err);
    free(text);
    assert_null(c);
    assert_contains(err, "rules.csv: file larger than");
    /* A directory without the files. */
    c = kh_catalog_load("/nonexistent/kh", 620, 1205, err, sizeof err);
    assert_null(c);
    assert_contains(err, "units.csv: cannot open");
    /* A bad calendar. */
    c = kh_catalog_load("data", 1340, 1205, err, sizeof err);
    assert_null(c);
    assert_contains(err, "due date");
}

/* ==== who reports (reporters.csv, issue 12 item 2) ===================================== */

/* The seed: the districts report for 2017–2020, nobody else, and not after 2020. */
static void test_reporters_seed(void **state)
{
    (void)state;
    static const char *districts[] = { "829", "831", "832", "833", "834", "835", "836",
                                       "837", "838" };
    for (size_t i = 0; i < 9; i++) {
        assert_int_equal(kh_catalog_reports(g_cat, districts[i], 20170101), 1);
        assert_int_equal(kh_catalog_reports(g_cat, districts[i], 20200630), 1);
        assert_int_equal(kh_catalog_reports(g_cat, districts[i], 20201231), 1);
        /* the range ends: the day after, and before it began */
        assert_int_equal(kh_catalog_reports(g_cat, districts[i], 20210101), 0);
        assert_int_equal(kh_catalog_reports(g_cat, districts[i], 20161231), 0);
        assert_int_equal(kh_catalog_reports_ever(g_cat, districts[i]), 1);
    }
    /* communes, the province, a code not in the tree: never */
    static const char *never[] = { "28756", "28777", "28771", "83", "99999", "" };
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        assert_int_equal(kh_catalog_reports(g_cat, never[i], 20191231), 0);
        assert_int_equal(kh_catalog_reports_ever(g_cat, never[i]), 0);
    }
    assert_int_equal(kh_catalog_reports(NULL, "829", 20191231), -1);
    assert_int_equal(kh_catalog_reports(g_cat, NULL, 20191231), -1);
    assert_int_equal(kh_catalog_reports_ever(NULL, "829"), -1);
    assert_int_equal(kh_catalog_reports_ever(g_cat, NULL), -1);
}

/* Small data sets: the districts on any day; a level over a range that ends, then single
 * units, each only while it exists. */
static void test_reporters_data(void **state)
{
    (void)state;
    char err[256] = "";
    kh_catalog_t *c = load_set(NULL, NULL, NULL, NULL, err, sizeof err);
    if (!c)
        fail_msg("load failed: %s", err);
    assert_int_equal(kh_catalog_reports(c, "829", 20000101), 1);
    assert_int_equal(kh_catalog_reports(c, "829", 20991231), 1);
    assert_int_equal(kh_catalog_reports(c, "28777", 20191231), 0);
    assert_int_equal(kh_catalog_reports(c, "83", 20191231), 0);
    assert_int_equal(kh_catalog_reports(c, "830", 20191231), 0);
    assert_int_equal(kh_catalog_reports_ever(c, "829"), 1);
    assert_int_equal(kh_catalog_reports_ever(c, "28777"), 0);
    kh_catalog_destroy(&c);

    c = load_set_rep(NULL, NULL, NULL, NULL,
                     "level,unit,valid_from,valid_to,note\n"
                     "2,,2017-01-01,2019-12-31,the districts until 2019\n"
                     ",28771,2020-01-01,,Phường 1 itself until it is merged away\n"
                     ",28777,2020-02-01,2020-12-31,\"Phường An Hội, from its creation\"\n"
                     "1,,2021-01-01,2021-12-31,the province for 2021\n",
                     err, sizeof err);
    if (!c)
        fail_msg("load failed: %s", err);
    assert_int_equal(kh_catalog_reports(c, "829", 20191231), 1);
    assert_int_equal(kh_catalog_reports(c, "829", 20200101), 0);          /* ended */
    assert_int_equal(kh_catalog_reports_ever(c, "829"), 1);
    assert_int_equal(kh_catalog_reports(c, "28771", 20191231), 0);        /* not yet */
    assert_int_equal(kh_catalog_reports(c, "28771", 20200131), 1);
    assert_int_equal(kh_catalog_reports(c, "28771", 20200201), 0);        /* merged away */
    assert_int_equal(kh_catalog_reports(c, "28777", 20200131), 0);        /* Phường 2 */
    assert_int_equal(kh_catalog_reports(c, "28777", 20200201), 1);        /* An Hội */
    assert_int_equal(kh_catalog_reports(c, "28777", 20201231), 1);
    assert_int_equal(kh_catalog_reports(c, "28777", 20210101), 0);        /* ended */
    assert_int_equal(kh_catalog_reports(c, "83", 20210701), 1);
    assert_int_equal(kh_catalog_reports(c, "83", 20220101), 0);
    assert_int_equal(kh_catalog_reports(c, "99999", 20200701), 0);        /* not in the tree */
    assert_int_equal(kh_catalog_reports_ever(c, "99999"), 0);
    assert_int_equal(kh_catalog_reports_ever(c, "28771"), 1);
    kh_catalog_destroy(&c);

    /* a level whose units all ended before the range: no unit of it reports ever */
    c = load_set_rep(NULL, NULL, NULL, NULL,
                     "level,unit,valid_from,valid_to,note\n2,,2017-01-01,2019-12-31,\n"
                     ",28777,2021-01-01,,\n", err, sizeof err);
    if (!c)
        fail_msg("load failed: %s", err);
    assert_int_equal(kh_catalog_reports_ever(c, "28771"), 0);
    assert_int_equal(kh_catalog_reports(c, "28777", 20201231), 0);
    assert_int_equal(kh_catalog_reports(c, "28777", 20210101), 1);
    kh_catalog_destroy(&c);
}

/* ==== main ============================================================================== */

static int group_setup(void **state)
{
    (void)state;
    char err[256];
    g_cat = kh_catalog_load("data", 620, 1205, err, sizeof err);
    if (!g_cat) {
        fprintf(stderr, "cannot load data/: %s\n", err);
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

/* Table-driven cases, each its own test with its own name. */
#define RULE_TEST(i, nm) { nm, test_rule, NULL, NULL, (void *)&rule_cases[i] }
#define REP_TEST(i) { "reporters load error " #i, test_rep_load_error, NULL, NULL, (void *)&rep_cases[i] }
#define LOAD_TEST(i) { "load error " #i, test_load_error, NULL, NULL, (void *)&load_cases[i] }
_Static_assert(sizeof rule_cases / sizeof rule_cases[0] == 16, "list every rule case");
_Static_assert(sizeof load_cases / sizeof load_cases[0] == 31, "list every load case");
_Static_assert(sizeof rep_cases / sizeof rep_cases[0] == 16, "list every reporters case");

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_real_data),
        cmocka_unit_test(test_unit_tree_dates),
        cmocka_unit_test(test_periods),
        cmocka_unit_test(test_value_parse_table),
        cmocka_unit_test(test_value_parse_option_empty),
        cmocka_unit_test(test_rule_parser),
        cmocka_unit_test(test_valid_reports_829),
        cmocka_unit_test(test_province_164_then_157),
        cmocka_unit_test(test_2019S2_needs_the_old_communes),
        RULE_TEST(0, "rule R01"),
        RULE_TEST(1, "rule R02"),
        RULE_TEST(2, "rule R03"),
        RULE_TEST(3, "rule R04"),
        RULE_TEST(4, "rule R05"),
        RULE_TEST(5, "rule R06"),
        RULE_TEST(6, "rule R07"),
        RULE_TEST(7, "rule R08"),
        RULE_TEST(8, "rule R09"),
        RULE_TEST(9, "rule R10"),
        RULE_TEST(10, "rule R11"),
        RULE_TEST(11, "rule R12"),
        RULE_TEST(12, "rule R13"),
        RULE_TEST(13, "rule R14"),
        RULE_TEST(14, "rule R15"),
        RULE_TEST(15, "rule R17"),
        cmocka_unit_test(test_rule_R16_previous),
        cmocka_unit_test(test_rule_only_in_its_half),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_decimal_comma),
        cmocka_unit_test(test_thousands_separators_in_report),
        cmocka_unit_test(test_duplicate_row),
        cmocka_unit_test(test_missing_commune),
        cmocka_unit_test(test_missing_value),
        cmocka_unit_test(test_s2_only_in_s1),
        cmocka_unit_test(test_event_halves),
        cmocka_unit_test(test_unknown_indicator),
        cmocka_unit_test(test_commune_of_another_district),
        cmocka_unit_test(test_merged_unit),
        cmocka_unit_test(test_unknown_unit),
        cmocka_unit_test(test_wrong_level),
        cmocka_unit_test(test_periods_in_reports),
        cmocka_unit_test(test_unknown_district),
        cmocka_unit_test(test_every_problem),
        cmocka_unit_test(test_hostile_strings),
        cmocka_unit_test(test_findings_cap),
        cmocka_unit_test(test_validate_bounded),
        cmocka_unit_test(test_speed_18_communes),
        cmocka_unit_test(test_load_small_set_ok),
        cmocka_unit_test(test_load_limits),
        cmocka_unit_test(test_long_rule_message),
        LOAD_TEST(0),
        LOAD_TEST(1),
        LOAD_TEST(2),
        LOAD_TEST(3),
        LOAD_TEST(4),
        LOAD_TEST(5),
        LOAD_TEST(6),
        LOAD_TEST(7),
        LOAD_TEST(8),
        LOAD_TEST(9),
        LOAD_TEST(10),
        LOAD_TEST(11),
        LOAD_TEST(12),
        LOAD_TEST(13),
        LOAD_TEST(14),
        LOAD_TEST(15),
        LOAD_TEST(16),
        LOAD_TEST(17),
        LOAD_TEST(18),
        LOAD_TEST(19),
        LOAD_TEST(20),
        LOAD_TEST(21),
        LOAD_TEST(22),
        LOAD_TEST(23),
        LOAD_TEST(24),
        LOAD_TEST(25),
        LOAD_TEST(26),
        LOAD_TEST(27),
        LOAD_TEST(28), LOAD_TEST(29), LOAD_TEST(30),
        REP_TEST(0), REP_TEST(1), REP_TEST(2), REP_TEST(3), REP_TEST(4), REP_TEST(5),
        REP_TEST(6), REP_TEST(7), REP_TEST(8), REP_TEST(9), REP_TEST(10), REP_TEST(11),
        REP_TEST(12), REP_TEST(13), REP_TEST(14), REP_TEST(15),
        cmocka_unit_test(test_reporters_seed),
        cmocka_unit_test(test_reporters_data),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
