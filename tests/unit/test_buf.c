/*
 * test_buf.c — the canonical-encoding buffer (lib/base/kh_buf.h) that the report
 * signature and the audit checkpoints share: big-endian integers, length-prefixed
 * strings (NULL as empty), growth past the first allocation, and a failure that is
 * remembered and reported once, at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kh_buf.h"
#include "kh_result.h"

static void test_encoding(void **state)
{
    (void)state;
    kh_buf_t b = {0};
    kh_buf_u32(&b, 0x01020304u);
    kh_buf_i64(&b, -2);
    kh_buf_str(&b, "Bến");
    kh_buf_str(&b, NULL);
    uint8_t *out;
    size_t len;
    assert_int_equal(kh_buf_take(&b, &out, &len), KH_OK);
    static const uint8_t want[] = {1, 2, 3, 4,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
                                   0, 0, 0, 5, 'B', 0xe1, 0xba, 0xbf, 'n',
                                   0, 0, 0, 0};
    assert_int_equal(len, sizeof want);
    assert_memory_equal(out, want, sizeof want);
    assert_null(b.b);                        /* handed over: b is empty again */
    assert_int_equal(b.n, 0);
    free(out);
}

static void test_grows(void **state)
{
    (void)state;
    kh_buf_t b = {0};
    char chunk[1000];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 100; i++)
        kh_buf_put(&b, chunk, sizeof chunk);
    assert_int_equal(b.n, 100000);
    assert_true(b.cap >= b.n);
    assert_int_equal(b.b[99999], 'x');
    kh_buf_free(&b);
    assert_null(b.b);
}

static void test_failure_is_remembered(void **state)
{
    (void)state;
    kh_buf_t b = {0};
    kh_buf_str(&b, "before");
    kh_buf_put(&b, "x", SIZE_MAX);           /* no machine has it: refused before any copy */
    assert_int_equal(b.fail, 1);
    kh_buf_str(&b, "after");                 /* does nothing */
    assert_int_equal(b.n, 10);
    uint8_t *out = (uint8_t *)"not touched";
    size_t len = 99;
    assert_int_equal(kh_buf_take(&b, &out, &len), KH_ERR);
    assert_null(out);
    assert_int_equal(len, 0);
    assert_null(b.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoding),
        cmocka_unit_test(test_grows),
        cmocka_unit_test(test_failure_is_remembered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
