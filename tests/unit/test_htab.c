/*
 * test_htab.c — the string → index map (lib/base/kh_htab.h): a key is inserted once and
 * keeps its first value, an absent key and NULL read as -1, the table refuses keys
 * beyond the count it was made for (a probe must always end), and keys that share a
 * long prefix (as indicator codes and "kind\x1fcode" keys do) are all told apart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "kh_htab.h"

static void test_put_get(void **state)
{
    (void)state;
    kh_htab_t *t = kh_htab_new(4);
    assert_non_null(t);
    assert_int_equal(kh_htab_get(t, "HO.TONG"), -1);
    assert_int_equal(kh_htab_put(t, "HO.TONG", 0), -1);          /* inserted */
    assert_int_equal(kh_htab_put(t, "HO.DAT", 7), -1);
    assert_int_equal(kh_htab_get(t, "HO.TONG"), 0);
    assert_int_equal(kh_htab_get(t, "HO.DAT"), 7);
    assert_int_equal(kh_htab_put(t, "HO.DAT", 9), 7);            /* present: kept */
    assert_int_equal(kh_htab_get(t, "HO.DAT"), 7);
    assert_int_equal(kh_htab_get(t, "HO"), -1);
    assert_int_equal(kh_htab_get(t, ""), -1);
    kh_htab_destroy(&t);
    assert_null(t);
}

static void test_null(void **state)
{
    (void)state;
    kh_htab_t *t = NULL;
    assert_int_equal(kh_htab_get(NULL, "x"), -1);    /* a table never made: absent */
    kh_htab_destroy(&t);
    kh_htab_destroy(NULL);
    t = kh_htab_new(1);
    assert_non_null(t);
    assert_int_equal(kh_htab_get(t, NULL), -1);
    kh_htab_destroy(&t);
}

static void test_full(void **state)
{
    (void)state;
    kh_htab_t *t = kh_htab_new(3);
    assert_non_null(t);
    assert_int_equal(kh_htab_put(t, "a", 1), -1);
    assert_int_equal(kh_htab_put(t, "b", 2), -1);
    assert_int_equal(kh_htab_put(t, "c", 3), -1);
    assert_int_equal(kh_htab_put(t, "d", 4), KH_HTAB_FULL);
    assert_int_equal(kh_htab_get(t, "d"), -1);
    assert_int_equal(kh_htab_put(t, "b", 5), 2);      /* a present key is still found */
    kh_htab_destroy(&t);
}

static void test_shared_prefixes(void **state)
{
    (void)state;
    enum { N = 5000 };
    static char keys[N][32];
    kh_htab_t *t = kh_htab_new(N);
    assert_non_null(t);
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "unit\x1fGDHT.DANG_KY.%d", i);
        assert_int_equal(kh_htab_put(t, keys[i], i), -1);
    }
    for (int i = 0; i < N; i++) {
        char k[32];
        snprintf(k, sizeof k, "unit\x1fGDHT.DANG_KY.%d", i);   /* equal text, not pointer */
        assert_int_equal(kh_htab_get(t, k), i);
    }
    assert_int_equal(kh_htab_get(t, "unit\x1fGDHT.DANG_KY."), -1);
    kh_htab_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get),
        cmocka_unit_test(test_null),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_shared_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
