/*
 * test_value_same.c — unit tests of kh_value_same (lib/model/kh_value.c): a change of
 * spelling only ("1893" → "1.893", "1 893", "12,5" vs "12.5") is the same value, a
 * changed number or option is not, and a cell the parser cannot read is the same only
 * as its identical text.  `kh-feed history` counts the two apart with it (issue 15).
 * The indicators are built here, one per value type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "kh_result.h"
#include "kh_value.h"

static kh_indicator_t make(kh_vtype_t vt)
{
    kh_indicator_t ind;
    memset(&ind, 0, sizeof ind);
    snprintf(ind.code, sizeof ind.code, "T.%d", (int)vt);
    ind.level = 2;
    ind.vtype = vt;
    ind.score_min = 0;
    ind.score_max = 100;
    if (vt == KH_VT_OPTION) {
        ind.n_options = 3;
        snprintf(ind.options[0], sizeof ind.options[0], "TOT");
        snprintf(ind.options[1], sizeof ind.options[1], "KHA");
        snprintf(ind.options[2], sizeof ind.options[2], "TB");
    }
    return ind;
}

typedef struct {
    kh_vtype_t vt;
    const char *a, *b;
    int same;
} scase_t;

static void test_spelling_only(void **state)
{
    (void)state;
    static const scase_t cases[] = {
        {KH_VT_COUNT, "1893", "1.893", KH_OK},
        {KH_VT_COUNT, "1893", "1,893", KH_OK},
        {KH_VT_COUNT, "1893", "1 893", KH_OK},
        {KH_VT_COUNT, "1893", "1\u00a0893", KH_OK},          /* no-break space */
        {KH_VT_COUNT, "1234567", "1\u202f234\u202f567", KH_OK},  /* narrow no-break */
        {KH_VT_COUNT, "1.893", "1 893", KH_OK},
        {KH_VT_COUNT, " 72 ", "72", KH_OK},
        {KH_VT_MONEY, "1.234.567", "1234567", KH_OK},
        {KH_VT_SCORE, "12,5", "12.5", KH_OK},
        {KH_VT_SCORE, "72,50", "72.5", KH_OK},
        {KH_VT_OPTION, " TOT", "TOT", KH_OK},
        {KH_VT_FLAG, "1", "1", KH_OK},
        {KH_VT_COUNT, "abc", "abc", KH_OK},                   /* unreadable, identical */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kh_indicator_t ind = make(cases[i].vt);
        int rc = kh_value_same(&ind, cases[i].a, cases[i].b);
        if (rc != cases[i].same)
            fail_msg("\"%s\" vs \"%s\": %d, expected %d", cases[i].a, cases[i].b, rc,
                     cases[i].same);
        rc = kh_value_same(&ind, cases[i].b, cases[i].a);
        if (rc != cases[i].same)
            fail_msg("\"%s\" vs \"%s\" (swapped): %d", cases[i].b, cases[i].a, rc);
    }
}

static void test_changed_value(void **state)
{
    (void)state;
    static const scase_t cases[] = {
        {KH_VT_COUNT, "1893", "1894", KH_NO},
        {KH_VT_COUNT, "1893", "1.894", KH_NO},
        {KH_VT_COUNT, "1893", "18 93", KH_NO},     /* no thousands group: not read */
        {KH_VT_COUNT, "1893", "", KH_NO},
        {KH_VT_COUNT, "1893", "abc", KH_NO},
        {KH_VT_COUNT, "abc", "abd", KH_NO},
        {KH_VT_SCORE, "12,5", "12.6", KH_NO},
        {KH_VT_SCORE, "12,5", "125", KH_NO},
        {KH_VT_SCORE, "12 5", "12.5", KH_NO},      /* a blank is no decimal mark */
        {KH_VT_OPTION, "TOT", "KHA", KH_NO},
        {KH_VT_OPTION, "TOT", "", KH_NO},
        {KH_VT_FLAG, "0", "1", KH_NO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kh_indicator_t ind = make(cases[i].vt);
        int rc = kh_value_same(&ind, cases[i].a, cases[i].b);
        if (rc != cases[i].same)
            fail_msg("\"%s\" vs \"%s\": %d, expected %d", cases[i].a, cases[i].b, rc,
                     cases[i].same);
    }
    kh_indicator_t ind = make(KH_VT_COUNT);
    assert_int_equal(kh_value_same(&ind, NULL, "1"), KH_NO);
    assert_int_equal(kh_value_same(NULL, "1", "1.0"), KH_NO);
    char big[300];
    memset(big, '9', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(kh_value_same(&ind, big, "9"), KH_NO);   /* too long: not read */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spelling_only),
        cmocka_unit_test(test_changed_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
