/*
 * test_tree.c — unit tests of the reporting model as data (issue 12): a tree the code
 * has never seen (four levels, invented codes and level names), levels.csv, who reports
 * (reporters.csv: a level-3 unit reports for itself and its level-4 units), a code that
 * changes parent and level in a reorganisation (as 28756 did on 1 July 2025), two
 * programmes in force one after the other (programmes.csv, each with its own indicators,
 * rules and targets), and the cells rolled up to every ancestor (kh_cells).  Each data
 * folder is written by the test into a temporary directory.
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
#include <unistd.h>

#include "kh_catalog.h"
#include "kh_cells.h"
#include "kh_validate.h"
#include "report_fixture.h"
#include "../../tools/kh-feed/mirror.h"
#include "../../tools/kh-feed/series.h"

/* ==== the data folder ==================================================================
 * Province 90 (level 1, "Miền") → regions R1, R2 (level 2, "Vùng") → districts D11, D12
 * under R1, D21 under R2 (level 3, "Quận") → wards (level 4, "Phường").  On 2025-07-01 the
 * reform: the regions and districts end; ward W111 becomes a level-2 unit directly under
 * the province and absorbs W112 (merged_into), the other wards end; from then on the
 * level-2 units report for themselves under programme P2. */
static const char *UNITS =
    "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
    "90,Miền Thử,mien,1,,,,\n"
    "R1,Vùng Một,vung,2,90,,2025-06-30,\n"
    "R2,Vùng Hai,vung,2,90,,2025-06-30,\n"
    "D11,Quận Một Một,quan,3,R1,,2025-06-30,\n"
    "D12,Quận Một Hai,quan,3,R1,,2025-06-30,\n"
    "D21,Quận Hai Một,quan,3,R2,,2025-06-30,\n"
    "W111,Phường Một,phuong,4,D11,,2025-06-30,\n"
    "W112,Phường Hai,phuong,4,D11,,2025-06-30,W111\n"
    "W121,Phường Ba,phuong,4,D12,,2025-06-30,\n"
    "W211,Phường Bốn,phuong,4,D21,,2025-06-30,\n"
    "W212,Phường Năm,phuong,4,D21,,2025-06-30,\n"
    "W111,Phường Một mới,phuong,2,90,2025-07-01,,\n"
    "W211,Phường Bốn mới,phuong,2,90,2025-07-01,,\n";
static const char *LEVELS =
    "level,name_vi,name_en,valid_from,valid_to\n"
    "1,Miền,Realm,,\n"
    "2,Vùng,Region,,2025-06-30\n"
    "2,Phường mới,New ward,2025-07-01,\n"
    "3,Quận,Borough,,2025-06-30\n"
    "4,Phường,Ward,,2025-06-30\n";
static const char *REPORTERS =
    "level,unit,valid_from,valid_to,note\n"
    "3,,2017-01-01,2025-06-30,the boroughs for their wards\n"
    "2,,2025-07-01,,the new wards for themselves\n";
static const char *PROGRAMMES =
    "code,name_vi,name_en,valid_from,valid_to,folder,source,s1_due,s2_due\n"
    "P1,Chương trình một,Programme one,2017-01-01,2020-12-31,,test,,\n"
    "P2,Chương trình hai,Programme two,2021-01-01,2030-12-31,programmes/P2/,test,615,1215\n";
/* P1: households per ward (level 4), news items per borough (level 3) */
static const char *P1_INDS =
    "code,section,level,value_type,options,time_aggregation,periods,name_vi,name_en,unit\n"
    "HO.TONG,1,4,count,,last,S1 S2,Số hộ,Households,hộ\n"
    "HO.HT,1,4,count,,last,S1 S2,Hộ học tập,Learning households,hộ\n"
    "TT.TIN,2,3,count,,sum,S1 S2,Tin bài,News items,tin\n";
static const char *P1_RULES =
    "id,severity,level,periods,rule,message_vi,message_en\n"
    "R1,error,4,S1 S2,HO.HT <= HO.TONG,Vượt số hộ,Exceeds households\n";
static const char *P1_TARGETS =
    "code,name_vi,name_en,numerator,denominator,milestone,target,target_difficult_areas,source\n"
    "TL.HT,Tỷ lệ,Share,HO.HT,HO.TONG,2020,70,,QĐ thử\n";
static const char *P1_SECTIONS =
    "section,title_vi,title_en\n1,Hộ,Households\n2,Tuyên truyền,Promotion\n";
/* P2: the new wards report households and a rating of two levels (as TT 25/2023) */
static const char *P2_INDS =
    "code,section,level,value_type,options,time_aggregation,periods,name_vi,name_en,unit\n"
    "HO.TONG,1,2,count,,last,S1 S2,Số hộ,Households,hộ\n"
    "HO.HT,1,2,count,,last,S1 S2,Hộ học tập,Learning households,hộ\n"
    "XL,1,2,option,MUC1 MUC2,last,S2,Xếp loại,Rating,\n";
static const char *P2_RULES =
    "id,severity,level,periods,rule,message_vi,message_en\n"
    "R1,error,2,S1 S2,HO.HT <= HO.TONG,Vượt số hộ,Exceeds households\n";
static const char *P2_TARGETS =
    "code,name_vi,name_en,numerator,denominator,milestone,target,target_difficult_areas,source\n"
    "TL.HT,Tỷ lệ,Share,HO.HT,HO.TONG,2025,70,60,QĐ 387\n";

static char g_dir[64];
static kh_catalog_t *g_cat;

static void put(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void write_folder(const char *dir, const char *levels, const char *reporters)
{
    char sub[128];
    put(dir, "units.csv", UNITS);
    put(dir, "levels.csv", levels);
    put(dir, "reporters.csv", reporters);
    put(dir, "programmes.csv", PROGRAMMES);
    snprintf(sub, sizeof sub, "%s/programmes", dir);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/programmes/P1", dir);
    mkdir(sub, 0700);
    put(sub, "indicators.csv", P1_INDS);
    put(sub, "rules.csv", P1_RULES);
    put(sub, "targets.csv", P1_TARGETS);
    put(sub, "sections.csv", P1_SECTIONS);
    snprintf(sub, sizeof sub, "%s/programmes/P2", dir);
    mkdir(sub, 0700);
    put(sub, "indicators.csv", P2_INDS);
    put(sub, "rules.csv", P2_RULES);
    put(sub, "targets.csv", P2_TARGETS);
}

static void rm_folder(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ==== reports ========================================================================== */

/* D11's complete 2019S2 report: its wards W111, W112 and its own news items. */
static Kh__Report *d11_2019s2(void)
{
    Kh__Report *r = report_new("D11", "2019S2");
    report_add(r, "W111", "HO.TONG", "1000");
    report_add(r, "W111", "HO.HT", "600");
    report_add(r, "W112", "HO.TONG", "400");
    report_add(r, "W112", "HO.HT", "100");
    report_add(r, "D11", "TT.TIN", "7");
    return r;
}

/* ==== tests ============================================================================ */

static void test_tree_and_levels(void **state)
{
    (void)state;
    assert_int_equal(kh_catalog_depth(g_cat), 4);
    /* the subtree of a borough: itself first, then its wards */
    const kh_unit_t *u[16];
    assert_int_equal(kh_catalog_subtree_on(g_cat, "D11", 20191231, u, 16), 3);
    assert_string_equal(u[0]->code, "D11");
    assert_string_equal(u[1]->code, "W111");
    assert_string_equal(u[2]->code, "W112");
    /* of the root: every unit in force that day, each before its children */
    assert_int_equal(kh_catalog_subtree_on(g_cat, "90", 20191231, u, 16), 11);
    assert_string_equal(u[1]->code, "R1");
    assert_string_equal(u[2]->code, "D11");
    /* after the reform: the root and its two new wards */
    assert_int_equal(kh_catalog_subtree_on(g_cat, "90", 20251231, u, 16), 3);
    assert_int_equal(kh_catalog_subtree_on(g_cat, "D11", 20251231, u, 16), 0);
    /* W111 is a level-4 ward of D11, then a level-2 ward of the province */
    assert_int_equal(kh_catalog_unit_on(g_cat, "W111", 20191231)->level, 4);
    assert_int_equal(kh_catalog_unit_on(g_cat, "W111", 20251231)->level, 2);
    assert_string_equal(kh_catalog_parent_on(g_cat, kh_catalog_unit_on(g_cat, "W111", 20251231),
                                             20251231)->code, "90");
    /* level names by day, in Vietnamese and English; the running-text form */
    assert_string_equal(kh_catalog_level_name(g_cat, 2, 20191231, 0), "Vùng");
    assert_string_equal(kh_catalog_level_name(g_cat, 2, 20251231, 0), "Phường mới");
    assert_string_equal(kh_catalog_level_name(g_cat, 4, 20191231, 1), "Ward");
    assert_null(kh_catalog_level_name(g_cat, 5, 20191231, 0));
    char w[64];
    kh_catalog_level_word(g_cat, 3, 20191231, 0, w, sizeof w);
    assert_string_equal(w, "quận");
    kh_catalog_level_word(g_cat, 7, 20191231, 1, w, sizeof w);
    assert_string_equal(w, "level 7");
    /* who reports: the boroughs until the reform, the new wards after */
    assert_int_equal(kh_catalog_reporters_on(g_cat, 20191231, u, 16), 3);
    assert_string_equal(u[0]->code, "D11");
    assert_int_equal(kh_catalog_reporters_on(g_cat, 20251231, u, 16), 2);
    assert_string_equal(u[0]->code, "W111");
    assert_int_equal(kh_catalog_reports(g_cat, "R1", 20191231), 0);
    assert_int_equal(kh_catalog_reports(g_cat, "W111", 20191231), 0);   /* a ward then */
    assert_int_equal(kh_catalog_reports(g_cat, "W111", 20251231), 1);
    assert_int_equal(kh_catalog_reporters_ever(g_cat, u, 16), 5);   /* D11 D12 D21 W111 W211 */
}

static void test_programmes(void **state)
{
    (void)state;
    assert_int_equal(kh_catalog_programme_count(g_cat), 2);
    const kh_catalog_t *p1 = kh_catalog_for_period(g_cat, "2019S2");
    const kh_catalog_t *p2 = kh_catalog_for_period(g_cat, "2025S2");
    assert_non_null(p1);
    assert_non_null(p2);
    assert_string_equal(kh_catalog_programme_code(p1), "P1");
    assert_string_equal(kh_catalog_programme_name(p2, 1), "Programme two");
    assert_null(kh_catalog_for_period(g_cat, "2016S2"));        /* before every programme */
    assert_null(kh_catalog_for_period(g_cat, "2031S1"));
    /* one code, two definitions: HO.TONG is a level-4 indicator in P1, level 2 in P2 */
    assert_int_equal(kh_catalog_indicator(p1, "HO.TONG")->level, 4);
    assert_int_equal(kh_catalog_indicator(p2, "HO.TONG")->level, 2);
    assert_null(kh_catalog_indicator(p2, "TT.TIN"));
    assert_null(kh_catalog_indicator(g_cat, "HO.TONG"));         /* the root has none */
    assert_int_equal(kh_catalog_target_at(p2, 0)->milestone, 2025);
    assert_true(kh_catalog_target_at(p2, 0)->target_difficult == 60);
    assert_string_equal(kh_catalog_section_title(p1, 2, 0), "Tuyên truyền");
    assert_null(kh_catalog_section_title(p2, 1, 0));             /* P2 has no sections.csv */
    /* each programme's calendar: P2 sets its own due dates, P1 keeps the configuration's */
    kh_period_t h;
    assert_int_equal(kh_period_parse("2025S2", &h), 0);
    assert_int_equal(kh_period_due(g_cat, &h), 20251215);
    assert_int_equal(kh_period_parse("2026S1", &h), 0);
    assert_int_equal(kh_period_due(g_cat, &h), 20260615);
    assert_int_equal(kh_period_parse("2019S2", &h), 0);
    assert_int_equal(kh_period_due(g_cat, &h), 20191205);
    /* a view is owned by its catalogue: destroying it does nothing */
    kh_catalog_t *view = (kh_catalog_t *)p1;
    kh_catalog_destroy(&view);
    assert_non_null(view);
    assert_non_null(kh_catalog_indicator(p1, "TT.TIN"));
}

static void test_validate_four_levels(void **state)
{
    (void)state;
    kh_findings_t f = {0};
    Kh__Report *r = d11_2019s2();
    size_t errors = kh_validate(g_cat, r, 20200101, &f);
    if (errors)
        dump(&f);
    assert_int_equal(errors, 0);
    kh_findings_clear(&f);
    /* a ward of another borough; a level-4 indicator under the borough; a missing ward */
    report_add(r, "W121", "HO.TONG", "5");
    report_add(r, "D11", "HO.TONG", "5");
    free(r->values[2]->orgunit);
    r->values[2]->orgunit = strdup("W111");        /* W112's rows now say W111: duplicates */
    free(r->values[3]->orgunit);
    r->values[3]->orgunit = strdup("W111");
    errors = kh_validate(g_cat, r, 20200101, &f);
    assert_int_equal(count_code(&f, "OTHER_DISTRICT"), 1);
    assert_int_equal(count_code(&f, "WRONG_LEVEL"), 1);
    assert_int_equal(count_code(&f, "MISSING_UNIT"), 1);
    assert_string_equal(find_code(&f, "MISSING_UNIT")->orgunit, "W112");
    const Kh__Finding *x = find_code(&f, "WRONG_LEVEL");
    assert_non_null(strstr(x->message_vi, "là chỉ tiêu cấp phường"));
    assert_non_null(strstr(x->message_vi, "(cấp quận)"));
    assert_non_null(strstr(find_code(&f, "OTHER_DISTRICT")->message_en,
                           "Phường Ba (W121) belongs to Quận Một Hai, not to Quận Một Một"));
    kh_findings_clear(&f);
    report_free(r);
    /* a region does not report (reporters.csv names level 3) */
    r = report_new("R1", "2019S2");
    kh_validate(g_cat, r, 20200101, &f);
    assert_int_equal(count_code(&f, "UNKNOWN_DISTRICT"), 1);
    kh_findings_clear(&f);
    report_free(r);
}

static void test_validate_after_reform(void **state)
{
    (void)state;
    kh_findings_t f = {0};
    /* a new ward reports for itself under P2 */
    Kh__Report *r = report_new("W111", "2025S2");
    report_add(r, "W111", "HO.TONG", "1400");
    report_add(r, "W111", "HO.HT", "900");
    report_add(r, "W111", "XL", "MUC2");
    size_t errors = kh_validate(g_cat, r, 20251205, &f);
    if (errors)
        dump(&f);
    assert_int_equal(errors, 0);
    kh_findings_clear(&f);
    /* P1's indicator is unknown in P2; P2's rule holds */
    report_add(r, "W111", "TT.TIN", "3");
    free(r->values[1]->raw);
    r->values[1]->raw = strdup("1500");
    errors = kh_validate(g_cat, r, 20251205, &f);
    assert_int_equal(count_code(&f, "UNKNOWN_INDICATOR"), 1);
    assert_int_equal(count_code(&f, "R1"), 1);
    kh_findings_clear(&f);
    report_free(r);
    /* a row for a ward merged away names the ward that took it over */
    r = report_new("W111", "2025S2");
    report_add(r, "W111", "HO.TONG", "1400");
    report_add(r, "W111", "HO.HT", "900");
    report_add(r, "W111", "XL", "MUC1");
    report_add(r, "W112", "HO.TONG", "10");
    kh_validate(g_cat, r, 20251205, &f);
    const Kh__Finding *x = find_code(&f, "MERGED_UNIT");
    assert_non_null(x);
    assert_non_null(strstr(x->message_en, "was merged into Phường Một mới (W111) on 2025-07-01"));
    kh_findings_clear(&f);
    report_free(r);
    /* a report addressed with the pre-reform code of a ward merged away is refused
     * naming the ward that took it over */
    r = report_new("W112", "2025S2");
    kh_validate(g_cat, r, 20251205, &f);
    x = find_code(&f, "UNKNOWN_DISTRICT");
    assert_non_null(x);
    assert_non_null(strstr(x->message_en, "Phường Một mới (W111) took it over; report period "
                                          "2025S2 under code W111"));
    assert_non_null(strstr(x->message_vi, "hãy báo cáo kỳ 2025S2 theo mã W111"));
    kh_findings_clear(&f);
    report_free(r);
    /* no programme in force */
    r = report_new("D11", "2016S2");
    report_add(r, "W111", "HO.TONG", "1");
    errors = kh_validate(g_cat, r, 20200101, &f);
    assert_int_equal(errors, 1);
    assert_int_equal(count_code(&f, "NO_PROGRAMME"), 1);
    kh_findings_clear(&f);
    report_free(r);
}

/* ==== a programme reported once a year ====================================================
 * The same tree, P2 reported yearly (programmes.csv report_period "year", due on its
 * s2_due), with a within-N%-of-previous rule: its previous period is the year before. */
static const char *PROGRAMMES_YEARLY =
    "code,name_vi,name_en,valid_from,valid_to,folder,source,s1_due,s2_due,report_period\n"
    "P1,Chương trình một,Programme one,2017-01-01,2020-12-31,,test,,,\n"
    "P2,Chương trình hai,Programme two,2021-01-01,2030-12-31,programmes/P2/,test,,1215,year\n";

typedef struct { char asked[16]; int calls; } prev_seen_t;

static int prev_1000(void *arg, const char *period, const char *orgunit, const char *ind,
                     double *out)
{
    prev_seen_t *s = arg;
    (void)orgunit;
    if (strcmp(ind, "HO.TONG") != 0)
        return -1;
    snprintf(s->asked, sizeof s->asked, "%s", period);
    s->calls++;
    *out = 1000;
    return 0;
}

static void test_yearly_programme(void **state)
{
    (void)state;
    char dir[64], err[512], sub[128];
    snprintf(dir, sizeof dir, "/tmp/kh_year.XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_folder(dir, LEVELS, REPORTERS);
    put(dir, "programmes.csv", PROGRAMMES_YEARLY);
    snprintf(sub, sizeof sub, "%s/programmes/P2", dir);
    put(sub, "rules.csv", "id,severity,level,periods,rule,message_vi,message_en\n"
                          "R2,warning,2,S1 S2,HO.TONG within 10% of previous,Số hộ đổi nhiều,"
                          "Households changed a lot\n");
    kh_catalog_t *c = kh_catalog_load(dir, 620, 1205, err, sizeof err);
    if (!c)
        fprintf(stderr, "%s\n", err);
    assert_non_null(c);
    const kh_catalog_t *p1 = kh_catalog_for_period(c, "2019S2");
    const kh_catalog_t *p2 = kh_catalog_for_period(c, "2026");
    assert_int_equal(kh_catalog_report_kind(p1), KH_P_HALF);
    assert_int_equal(kh_catalog_report_kind(p2), KH_P_YEAR);

    /* which periods are reported: P1's half-years, P2's years */
    static const struct { const char *p; int yes; int32_t due; } cases[] = {
        {"2019S2", 1, 20191205}, {"2019", 0, 0}, {"2026", 1, 20261215},
        {"2026S1", 0, 0}, {"2026S2", 0, 0}, {"2017-2020", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kh_period_t p;
        assert_int_equal(kh_period_parse(cases[i].p, &p), 0);
        if (kh_catalog_is_report_period(c, &p) != cases[i].yes ||
            kh_period_due(c, &p) != cases[i].due)
            fail_msg("%s: report period %d, due %d", cases[i].p,
                     kh_catalog_is_report_period(c, &p), (int)kh_period_due(c, &p));
    }
    /* the report period each half-year closes: itself under P1; under P2 none at S1,
     * the year at S2 (the notifier's calendar) */
    kh_period_t half, closed;
    assert_int_equal(kh_period_parse("2019S1", &half), 0);
    assert_int_equal(kh_catalog_period_closing(c, &half, &closed), 1);
    assert_true(closed.kind == KH_P_HALF && closed.year == 2019 && closed.half == 1);
    assert_int_equal(kh_period_parse("2026S1", &half), 0);
    assert_int_equal(kh_catalog_period_closing(c, &half, &closed), 0);
    assert_int_equal(kh_period_parse("2026S2", &half), 0);
    assert_int_equal(kh_catalog_period_closing(c, &half, &closed), 1);
    assert_true(closed.kind == KH_P_YEAR && closed.year == 2026);
    /* what a longer period sums: half-years under P1, years under P2 */
    char out[32][8];
    kh_period_t q;
    assert_int_equal(kh_period_parse("2019-2022", &q), 0);
    assert_int_equal(kh_catalog_report_periods(c, &q, out, 32), 6);
    const char *want[] = {"2019S1", "2019S2", "2020S1", "2020S2", "2021", "2022"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(out[i], want[i]);
    assert_int_equal(kh_period_parse("2026S1", &q), 0);
    assert_int_equal(kh_catalog_report_periods(c, &q, out, 32), 0);
    assert_int_equal(kh_period_parse("2026S2", &q), 0);
    assert_int_equal(kh_catalog_report_periods(c, &q, out, 32), 0);
    assert_int_equal(kh_period_parse("2026", &q), 0);
    assert_int_equal(kh_catalog_report_periods(c, &q, out, 32), 1);
    assert_string_equal(out[0], "2026");
    char label[64];
    kh_period_label(&q, 0, label, sizeof label);
    assert_string_equal(label, "năm 2026");
    kh_period_format(&q, label, sizeof label);
    assert_string_equal(label, "2026");

    /* a yearly report asks every indicator (XL is an S2 one), and its previous period is
     * the year before */
    kh_findings_t f = {0};
    Kh__Report *r = report_new("W111", "2026");
    report_add(r, "W111", "HO.TONG", "1400");
    report_add(r, "W111", "HO.HT", "900");
    report_add(r, "W111", "XL", "MUC2");
    prev_seen_t seen = {"", 0};
    size_t errors = kh_validate_previous(c, r, prev_1000, &seen, &f);
    if (errors)
        dump(&f);
    assert_int_equal(errors, 0);
    assert_true(seen.calls >= 1);                       /* the rule asked for it */
    assert_string_equal(seen.asked, "2025");
    assert_int_equal(count_code(&f, "R2"), 1);          /* 1400 is not within 10% of 1000 */
    kh_findings_clear(&f);
    report_free(r);
    /* a half-year under the yearly programme is refused, saying what to send */
    r = report_new("W111", "2026S1");
    report_add(r, "W111", "HO.TONG", "1400");
    assert_int_equal(kh_validate(c, r, 20261201, &f), 1);
    const Kh__Finding *x = find_code(&f, "PERIOD_MALFORMED");
    assert_non_null(x);
    assert_non_null(strstr(x->message_vi, "mỗi năm một lần, kỳ báo cáo là năm, ví dụ 2026"));
    assert_non_null(strstr(x->message_en, "reports once a year; the period is the year, e.g. 2026"));
    kh_findings_clear(&f);
    report_free(r);
    /* and a year under the half-yearly one */
    r = report_new("D11", "2019");
    report_add(r, "W111", "HO.TONG", "1000");
    assert_int_equal(kh_validate(c, r, 20201201, &f), 1);
    x = find_code(&f, "PERIOD_MALFORMED");
    assert_non_null(x);
    assert_non_null(strstr(x->message_en, "expected a half-year such as 2018S1"));
    kh_findings_clear(&f);
    report_free(r);
    kh_catalog_destroy(&c);

    /* load errors: an unknown kind; a yearly programme with an S1 due date */
    put(dir, "programmes.csv", "code,name_vi,name_en,valid_from,valid_to,folder,source,s1_due,"
                               "s2_due,report_period\nP1,a,b,2017-01-01,2020-12-31,,,,,month\n");
    assert_null(kh_catalog_load(dir, 620, 1205, err, sizeof err));
    assert_non_null(strstr(err, "programmes.csv:2: programme P1: bad report_period 'month'"));
    put(dir, "programmes.csv", "code,name_vi,name_en,valid_from,valid_to,folder,source,s1_due,"
                               "s2_due,report_period\nP1,a,b,2017-01-01,2020-12-31,,,620,,year\n");
    assert_null(kh_catalog_load(dir, 620, 1205, err, sizeof err));
    assert_non_null(strstr(err, "programme P1 reports once a year: leave s1_due empty"));
    rm_folder(dir);
}

/* The cells of a borough's report: each ward, the borough (all its values), and the
 * ancestors the aggregator moves: the region, then the province. */
static void test_cells_every_level(void **state)
{
    (void)state;
    Kh__Report *r = d11_2019s2();
    kh_cells_t below = {0}, own = {0};
    assert_int_equal(kh_cells_from_report(g_cat, r, &below, &own), 0);
    assert_int_equal(below.n, 4);
    assert_string_equal(below.v[0].orgunit, "W111");
    assert_string_equal(below.v[0].indicator, "HO.HT");
    assert_true(below.v[0].sum == 600);
    assert_int_equal(own.n, 3);
    assert_string_equal(own.v[0].indicator, "HO.HT");
    assert_true(own.v[0].sum == 700 && own.v[0].n == 2);
    assert_string_equal(own.v[1].indicator, "HO.TONG");
    assert_true(own.v[1].sum == 1400 && own.v[1].n == 2);
    assert_string_equal(own.v[2].indicator, "TT.TIN");
    assert_true(own.v[2].sum == 7 && own.v[2].n == 1);
    const kh_unit_t *anc[KH_MAX_LEVELS];
    assert_int_equal(kh_cells_ancestors(g_cat, "D11", "2019S2", anc, KH_MAX_LEVELS), 2);
    assert_string_equal(anc[0]->code, "R1");
    assert_string_equal(anc[1]->code, "90");
    assert_int_equal(kh_cells_ancestors(g_cat, "W111", "2025S2", anc, KH_MAX_LEVELS), 1);
    assert_string_equal(anc[0]->code, "90");
    kh_cells_free(&below);
    kh_cells_free(&own);
    report_free(r);
}

/* Loading refuses what would make the model ambiguous. */
static void test_load_errors(void **state)
{
    (void)state;
    char dir[] = "/tmp/kh_tree_err.XXXXXX", err[512], sub_tmp[128];
    assert_non_null(mkdtemp(dir));
    /* a level without a name on some day of a unit's life */
    write_folder(dir, "level,name_vi,name_en,valid_from,valid_to\n1,Miền,Realm,,\n"
                      "2,Vùng,Region,,2025-06-30\n3,Quận,Borough,,\n4,Phường,Ward,,\n",
                 REPORTERS);
    kh_catalog_t *c = kh_catalog_load(dir, 620, 1205, err, sizeof err);
    assert_null(c);
    assert_non_null(strstr(err, "levels.csv: level 2 has no name on some day from 2025-07-01"));
    /* nested reporters: a borough and its region the same day */
    write_folder(dir, LEVELS, "level,unit,valid_from,valid_to,note\n3,,,2025-06-30,\n"
                              ",R1,2019-01-01,2019-12-31,\n2,,2025-07-01,,\n");
    c = kh_catalog_load(dir, 620, 1205, err, sizeof err);
    assert_null(c);
    assert_non_null(strstr(err, "reporters.csv:3: unit D11 (line 2) and unit R1 above it "
                                "(line 3) both report on 2019-01-01"));
    /* a unit reporting its own work (scope self) may sit above reporting units … */
    write_folder(dir, LEVELS, "level,unit,valid_from,valid_to,note,scope\n3,,,2025-06-30,,\n"
                              ",R1,2019-01-01,2019-12-31,,self\n2,,2025-07-01,,,\n");
    c = kh_catalog_load(dir, 620, 1205, err, sizeof err);
    if (!c)
        fail_msg("a self-scope reporter above others does not load: %s", err);
    assert_int_equal(kh_catalog_report_units(c, "R1", 20190630, NULL, 0), 1);
    assert_int_equal(kh_catalog_report_units(c, "D11", 20190630, NULL, 0), 3);
    kh_catalog_destroy(&c);
    /* … but not below a unit that reports for its whole subtree */
    write_folder(dir, LEVELS, "level,unit,valid_from,valid_to,note,scope\n2,,,2025-06-30,,\n"
                              ",D11,2019-01-01,2019-12-31,,self\n2,,2025-07-01,,,\n");
    c = kh_catalog_load(dir, 620, 1205, err, sizeof err);
    assert_null(c);
    assert_non_null(strstr(err, "reporters.csv:3: unit D11 (line 3) and unit R1 above it "
                                "(line 2) both report on 2019-01-01"));
    /* a unit row and a level row covering the same unit on the same days, refused in
     * either order: W111 is a level-4 ward in 2020–2022 (level 2 only after the reform, so
     * its latest row's level is not the one that counts) */
    static const char *const both[] = {
        "level,unit,valid_from,valid_to,note\n,W111,2020-01-01,2022-12-31,\n"
        "4,,2020-01-01,2024-12-31,\n2,,2025-07-01,,\n",
        "level,unit,valid_from,valid_to,note\n4,,2020-01-01,2024-12-31,\n"
        ",W111,2020-01-01,2022-12-31,\n2,,2025-07-01,,\n",
    };
    for (size_t i = 0; i < 2; i++) {
        write_folder(dir, LEVELS, both[i]);
        c = kh_catalog_load(dir, 620, 1205, err, sizeof err);
        if (c) {
            kh_catalog_destroy(&c);
            fail_msg("order %zu: W111 twice (its row and level 4) was accepted", i);
        }
        assert_non_null(strstr(err, "unit W111 reports already through level 4"));
    }
    /* … but a unit row for the days it was at another level is no conflict */
    write_folder(dir, LEVELS, "level,unit,valid_from,valid_to,note\n3,,,2018-12-31,\n"
                              ",W111,2019-01-01,2019-12-31,\n3,,2020-01-01,2025-06-30,\n"
                              "2,,2025-07-01,,\n");
    c = kh_catalog_load(dir, 620, 1205, err, sizeof err);
    if (!c)
        fail_msg("W111 reporting in 2019 (level 4), level 2 from 2025: %s", err);
    kh_catalog_destroy(&c);
    /* a scope that is neither */
    write_folder(dir, LEVELS, "level,unit,valid_from,valid_to,note,scope\n3,,,,,all\n");
    c = kh_catalog_load(dir, 620, 1205, err, sizeof err);
    assert_null(c);
    assert_non_null(strstr(err, "reporters.csv:2: scope must be subtree"));
    /* a due date that is no day of the year */
    write_folder(dir, LEVELS, REPORTERS);
    put(dir, "programmes.csv", "code,name_vi,name_en,valid_from,valid_to,folder,source,s1_due,"
                               "s2_due\nP1,a,b,2017-01-01,2020-12-31,,,1340,\n"
                               "P2,c,d,2021-01-01,,,,,\n");
    c = kh_catalog_load(dir, 620, 1205, err, sizeof err);
    assert_null(c);
    assert_non_null(strstr(err, "programmes.csv:2: programme P1: bad s1_due '1340'"));
    /* reorg.csv: a unit listed twice names the other row's line; a new unit must exist */
    write_folder(dir, LEVELS, REPORTERS);
    put(dir, "reorg.csv", "old_province,old_code,old_name,new_code,new_name,whole,date\n"
                          "83,W112,Phường Hai,W111,Phường Một mới,yes,2025-07-01\n"
                          "83,X9,Xã Chín,W211,Phường Bốn mới,no,2025-07-01\n"
                          "83,W112,Phường Hai,W211,Phường Bốn mới,no,2025-07-01\n");
    c = kh_catalog_load(dir, 620, 1205, err, sizeof err);
    assert_null(c);
    assert_non_null(strstr(err, "reorg.csv:4: W112: listed twice for one day, or whole and "
                                "split at once (line 2 of the same unit)"));
    put(dir, "reorg.csv", "old_province,old_code,old_name,new_code,new_name,whole,date\n"
                          "83,X9,Xã Chín,ZZ,Không có,yes,2025-07-01\n");
    c = kh_catalog_load(dir, 620, 1205, err, sizeof err);
    assert_null(c);
    assert_non_null(strstr(err, "reorg.csv:2: X9: new unit ZZ is not in units.csv on 2025-07-01"));
    snprintf(sub_tmp, sizeof sub_tmp, "%s/reorg.csv", dir);
    unlink(sub_tmp);
    /* overlapping programmes */
    write_folder(dir, LEVELS, REPORTERS);
    put(dir, "programmes.csv", "code,name_vi,name_en,valid_from,valid_to,folder,source\n"
                               "P1,a,b,2017-01-01,2021-06-30,,\nP2,c,d,2021-01-01,,,\n");
    c = kh_catalog_load(dir, 620, 1205, err, sizeof err);
    assert_null(c);
    assert_non_null(strstr(err, "programmes.csv:3: programme P2 overlaps programme P1"));
    /* an error in a programme's file names the file */
    write_folder(dir, LEVELS, REPORTERS);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/programmes/P2", dir);
    put(sub, "rules.csv", "id,severity,level,periods,rule,message_vi,message_en\n"
                          "R1,error,4,S1 S2,HO.HT <= HO.TONG,a,b\n");
    c = kh_catalog_load(dir, 620, 1205, err, sizeof err);
    assert_null(c);
    assert_non_null(strstr(err, "programmes/P2/rules.csv:2: rule R1: indicator HO.HT is "
                                "reported at level 2, not 4"));
    /* a parent missing while its child exists */
    write_folder(dir, LEVELS, REPORTERS);
    put(dir, "units.csv", "code,name,type,level,parent_code,valid_from,valid_to,merged_into\n"
                          "90,M,mien,1,,2020-01-01,,\nR1,V,vung,2,90,2019-01-01,,\n");
    c = kh_catalog_load(dir, 620, 1205, err, sizeof err);
    assert_null(c);
    assert_non_null(strstr(err, "units.csv:3: unit R1: its parent 90 does not exist on "
                                "2019-01-01, while R1 does"));
    rm_folder(dir);
}

/* ==== the new Vĩnh Long province (data/vinh_long) ====================================== */

/* A complete 2025S2 report of one commune under the 2021–2030 programme. */
static Kh__Report *vl_report(const kh_catalog_t *prog, const char *unit)
{
    Kh__Report *r = report_new(unit, "2025S2");
    const kh_unit_t *u = kh_catalog_unit_on(prog, unit, 20251231);
    for (size_t i = 0; i < kh_catalog_indicator_count(prog); i++) {
        const kh_indicator_t *d = kh_catalog_indicator_at(prog, i);
        if (!d->in_s2 || (u && d->level != u->level))
            continue;
        report_add(r, unit, d->code, d->vtype == KH_VT_OPTION ? d->options[0]
                              : !strcmp(d->code, "HO.TONG") ? "2000" : "1");
    }
    return r;
}

static void test_vinh_long(void **state)
{
    (void)state;
    char err[512];
    kh_catalog_t *c = kh_catalog_load("data/vinh_long", 620, 1205, err, sizeof err);
    if (!c)
        fail_msg("data/vinh_long does not load: %s", err);
    /* the old tree: the nine districts report for 2017–2020; the new: 124 communes */
    assert_int_equal(kh_catalog_reporters_on(c, 20191231, NULL, 0), 9);
    /* the 124 communes, and the province for its own work (scope self) */
    assert_int_equal(kh_catalog_reporters_on(c, 20251231, NULL, 0), 125);
    assert_int_equal(kh_catalog_report_units(c, "86", 20251231, NULL, 0), 1);
    assert_int_equal(kh_catalog_report_units(c, "28756", 20251231, NULL, 0), 1);
    assert_true(kh_catalog_report_units(c, "829", 20191231, NULL, 0) > 10);
    assert_int_equal(kh_catalog_units_on(c, 1, "", 20251231, NULL, 0), 1);
    assert_string_equal(kh_catalog_level_name(c, 2, 20191231, 0), "Huyện/Thành phố");
    assert_string_equal(kh_catalog_level_name(c, 2, 20251231, 0), "Xã/Phường");
    /* 28756: a ward of district 829 until the reform, a ward of province 86 after */
    assert_string_equal(kh_catalog_unit_on(c, "28756", 20191231)->parent, "829");
    assert_string_equal(kh_catalog_unit_on(c, "28756", 20251231)->parent, "86");
    /* one programme per period: the seed's (shared, folder "..") and 2021–2030 */
    const kh_catalog_t *old = kh_catalog_for_period(c, "2019S2");
    const kh_catalog_t *now = kh_catalog_for_period(c, "2025S2");
    assert_string_equal(kh_catalog_programme_code(old), "2017-2020");
    assert_string_equal(kh_catalog_programme_code(now), "2021-2030");
    assert_int_equal(kh_catalog_indicator_count(old), 39);
    assert_int_equal(kh_catalog_indicator(now, "HO.TONG")->level, 2);
    assert_int_equal(kh_catalog_target_at(now, 0)->milestone, 2025);
    const kh_indicator_t *xl = kh_catalog_indicator(now, "CDX.XEP_LOAI");
    assert_string_equal(kh_catalog_option_label(now, xl, 0, 0), "Mức độ 2 (Tốt) — TT 25/2023");
    assert_ptr_equal(kh_catalog_for_period(c, "2022S1"), now);
    /* a commune reports for itself and is accepted */
    kh_findings_t f = {0};
    Kh__Report *r = vl_report(now, "28756");
    size_t errors = kh_validate(c, r, 20251205, &f);
    if (errors)
        dump(&f);
    assert_int_equal(errors, 0);
    kh_findings_clear(&f);
    report_free(r);
    /* the province reports its own work, level-1 indicators, and nothing of a commune */
    r = vl_report(now, "86");
    errors = kh_validate(c, r, 20251205, &f);
    if (errors)
        dump(&f);
    assert_int_equal(errors, 0);
    assert_true(r->n_values > 3);
    kh_findings_clear(&f);
    report_add(r, "28756", "HO.TONG", "10");
    kh_validate(c, r, 20251205, &f);
    assert_int_equal(count_code(&f, "OTHER_DISTRICT"), 1);
    /* … the message says why: the province reports its own work only; who reports it */
    assert_string_equal(find_code(&f, "OTHER_DISTRICT")->message_en,
                        "Tỉnh Vĩnh Long reports its own work only (reporters.csv, scope self); "
                        "Phường Phú Khương (28756)'s figures are reported by Phường Phú Khương: "
                        "delete these rows");
    kh_findings_clear(&f);
    report_free(r);
    /* a pre-reform code: refused, naming the commune that took it over */
    r = vl_report(now, "28759");
    kh_validate(c, r, 20251205, &f);
    const Kh__Finding *x = find_code(&f, "UNKNOWN_DISTRICT");
    assert_non_null(x);
    assert_string_equal(x->message_en, "Phường 8 (28759) became part of Phường Phú Khương "
                        "(28756) on 2025-07-01: report under code 28756");
    assert_string_equal(x->message_vi, "Phường 8 (28759) đã nhập vào Phường Phú Khương (28756) "
                        "từ 01/07/2025: hãy báo cáo theo mã 28756");
    kh_findings_clear(&f);
    report_free(r);
    /* a commune divided in two: both named */
    r = report_new("28924", "2025S2");
    kh_validate(c, r, 20251205, &f);
    x = find_code(&f, "UNKNOWN_DISTRICT");
    assert_non_null(x);
    assert_string_equal(x->message_en, "Xã Hòa Lộc (28924) was divided among Xã Tân Thành Bình "
                        "(28921) and Xã Hòa Hiệp (29734) on 2025-07-01: report each new unit's "
                        "figures under its own code");
    kh_findings_clear(&f);
    report_free(r);
    /* a commune of old Trà Vinh (not in units.csv): the mapping still names its successor */
    r = report_new("29236", "2025S2");
    kh_validate(c, r, 20251205, &f);
    x = find_code(&f, "UNKNOWN_DISTRICT");
    assert_non_null(x);
    assert_non_null(strstr(x->message_en, "Phường 4 (29236) became part of Phường Long Đức "
                                          "(29263)"));
    kh_findings_clear(&f);
    report_free(r);
    /* a row of a commune's report under a pre-reform code: MERGED_UNIT, named */
    r = vl_report(now, "28756");
    report_add(r, "28759", "HO.TONG", "10");
    kh_validate(c, r, 20251205, &f);
    x = find_code(&f, "MERGED_UNIT");
    assert_non_null(x);
    assert_non_null(strstr(x->message_vi, "đã nhập vào Phường Phú Khương (28756)"));
    kh_findings_clear(&f);
    report_free(r);
    /* a district's report for 2025S2: districts no longer exist */
    r = report_new("829", "2025S2");
    kh_validate(c, r, 20251205, &f);
    assert_int_equal(count_code(&f, "UNKNOWN_DISTRICT"), 1);
    kh_findings_clear(&f);
    report_free(r);
    kh_catalog_destroy(&c);
}

/* ==== kh-feed series across the reform (tools/kh-feed/series.c) =========================
 * W111 took over 72 old units whole on 2025-07-01 (itself, W112 and 70 communes of another
 * province, O01–O70): its 2020S2 "before" is the sum of all 72, however many there are
 * (the first version stopped at 64 and marked the unit not comparable, silently).  W211
 * took over itself whole and part of W212: listed, not comparable, no "before". */
static void test_series_many_old_units(void **state)
{
    (void)state;
    char dir[64], err[512], path[160];
    snprintf(dir, sizeof dir, "/tmp/kh_series.XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_folder(dir, LEVELS, REPORTERS);
    char *reorg = NULL;
    size_t reorg_len = 0;
    FILE *f = open_memstream(&reorg, &reorg_len);
    assert_non_null(f);
    fputs("old_province,old_code,old_name,new_code,new_name,whole,date\n"
          "90,W111,Phường Một,W111,Phường Một mới,yes,2025-07-01\n"
          "90,W112,Phường Hai,W111,Phường Một mới,yes,2025-07-01\n"
          "90,W211,Phường Bốn,W211,Phường Bốn mới,yes,2025-07-01\n"
          "90,W212,Phường Năm,W211,Phường Bốn mới,no,2025-07-01\n", f);
    for (int i = 1; i <= 70; i++)
        fprintf(f, "91,O%02d,Xã Ngoài %d,W111,Phường Một mới,yes,2025-07-01\n", i, i);
    assert_int_equal(fclose(f), 0);
    put(dir, "reorg.csv", reorg);
    free(reorg);
    kh_catalog_t *c = kh_catalog_load(dir, 620, 1205, err, sizeof err);
    if (!c)
        fail_msg("the series folder does not load: %s", err);
    assert_int_equal(kh_catalog_reorg_into(c, "W111", 20250701, NULL, 0), 72);

    /* the mirror: 2020S2 of every old unit, 2025S2 of the new ones */
    sqlite3 *db = NULL;
    snprintf(path, sizeof path, "%s/mirror.db", dir);
    assert_int_equal(mirror_open(&db, path), 0);
    char sql[256];
    const char *olds[] = {"W111", "W112", "W211", "W212"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO cell VALUES('2020S2','%s','HO.TONG',100,1),"
                 "('2020S2','%s','HO.HT',50,1)", olds[i], olds[i]);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    }
    for (int i = 1; i <= 70; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO cell VALUES('2020S2','O%02d','HO.TONG',10,1),"
                 "('2020S2','O%02d','HO.HT',7,1)", i, i);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    }
    assert_int_equal(sqlite3_exec(db, "INSERT INTO cell VALUES('2025S2','W111','HO.TONG',900,1),"
                                      "('2025S2','W111','HO.HT',720,1),"
                                      "('2025S2','W211','HO.TONG',300,1),"
                                      "('2025S2','W211','HO.HT',150,1)", NULL, NULL, NULL),
                     SQLITE_OK);

    char *out = NULL;
    size_t out_len = 0;
    f = open_memstream(&out, &out_len);
    assert_non_null(f);
    assert_int_equal(kh_feed_series(db, c, "2025S2", "csv", f), 2);
    assert_int_equal(fclose(f), 0);
    /* W111: 100 + 100 + 70 × 10 = 900 households before, 50 + 50 + 70 × 7 = 590 learning */
    char want[1024];
    int n = snprintf(want, sizeof want, "2025S2,W111,W111 W112");
    for (int i = 1; i <= 70; i++)
        n += snprintf(want + n, sizeof want - (size_t)n, " O%02d", i);
    char line[1200];
    snprintf(line, sizeof line, "%s,TL.HT,2020S2,65.56,80.00,yes\n", want);
    assert_non_null(strstr(out, line));
    snprintf(line, sizeof line, "%s,HO.TONG,2020S2,900,900,yes\n", want);
    assert_non_null(strstr(out, line));
    snprintf(line, sizeof line, "%s,HO.HT,2020S2,590,720,yes\n", want);
    assert_non_null(strstr(out, line));
    assert_non_null(strstr(out, "2025S2,W211,W211 W212,HO.TONG,2020S2,,300,no\n"));
    free(out);

    /* the text names why W211 is not comparable, one old unit a line */
    out = NULL;
    f = open_memstream(&out, &out_len);
    assert_non_null(f);
    assert_int_equal(kh_feed_series(db, c, "2025S2", "text", f), 2);
    assert_int_equal(fclose(f), 0);
    assert_non_null(strstr(out, "Phường Bốn mới (W211)\n  TL.HT – → 50,00"));
    assert_non_null(strstr(out, "  không so sánh được / not comparable:\n"
                                "    Phường Năm W212 (bị chia)\n"));
    assert_null(strstr(out, "Phường Một W111 ("));   /* W111 is comparable */
    free(out);
    sqlite3_close(db);
    kh_catalog_destroy(&c);
    rm_folder(dir);
}

/* ==== main ============================================================================== */

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/kh_tree.XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    write_folder(g_dir, LEVELS, REPORTERS);
    char err[512];
    g_cat = kh_catalog_load(g_dir, 620, 1205, err, sizeof err);
    if (!g_cat) {
        fprintf(stderr, "cannot load the test tree: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kh_catalog_destroy(&g_cat);
    rm_folder(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_and_levels),
        cmocka_unit_test(test_programmes),
        cmocka_unit_test(test_validate_four_levels),
        cmocka_unit_test(test_validate_after_reform),
        cmocka_unit_test(test_cells_every_level),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_vinh_long),
        cmocka_unit_test(test_yearly_programme),
        cmocka_unit_test(test_series_many_old_units),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
