/*
 * test_clock.c — the pipeline's clock (lib/base/kh_util.h): the forms [general] clock and
 * KH_CLOCK accept, what they set, that KH_CLOCK wins, and that the machine's clocks
 * are never moved by it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kh_util.h"

#define T0 1813053600000LL            /* 2027-06-15T10:00:00Z */

static int64_t local_ms(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = s, .tm_isdst = -1};
    return (int64_t)mktime(&tm) * 1000;
}

static void test_parse_forms(void **state)
{
    (void)state;
    int64_t ms = -1;
    assert_int_equal(kh_clock_parse("real", &ms), 0);
    assert_int_equal(kh_clock_parse("", &ms), 0);
    assert_int_equal(kh_clock_parse(NULL, &ms), 0);
    assert_int_equal(kh_clock_parse("2027-06-15T10:00:00Z", &ms), 1);
    assert_int_equal(ms, T0);
    assert_int_equal(kh_clock_parse("2027-06-15T17:00:00+07:00", &ms), 1);
    assert_int_equal(ms, T0);
    assert_int_equal(kh_clock_parse("2027-06-15T05:30-04:30", &ms), 1);
    assert_int_equal(ms, T0);
    assert_int_equal(kh_clock_parse("2027-06-15T10:00:00", &ms), 1);   /* local time */
    assert_int_equal(ms, local_ms(2027, 6, 15, 10, 0, 0));
    assert_int_equal(kh_clock_parse("2027-06-15 10:00", &ms), 1);
    assert_int_equal(ms, local_ms(2027, 6, 15, 10, 0, 0));
    assert_int_equal(kh_clock_parse("2026-12-31", &ms), 1);            /* local midnight */
    assert_int_equal(ms, local_ms(2026, 12, 31, 0, 0, 0));
    assert_int_equal(kh_clock_parse("2028-02-29T23:59:59Z", &ms), 1);  /* leap day */
}

static void test_parse_refuses(void **state)
{
    (void)state;
    const char *bad[] = {"tomorrow", "2027-13-01", "2027-02-29", "2027-06-15T24:00",
                         "2027-06-15T10:60", "2027-06-15T10:00:61", "2027-06-15T10",
                         "2027-06-15T10:00:00+7", "2027-06-15T10:00:00+15:00",
                         "2027-06-15T10:00:00ZZ", "2027-06-15X", "27-06-15", "Real",
                         "2027-06-15T10:00:00.5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t ms = 42;
        assert_int_equal(kh_clock_parse(bad[i], &ms), -1);
        assert_int_equal(ms, 42);                     /* untouched */
    }
}

/* Set: the pipeline's clock reads the instant and advances; the machine's clocks do not
 * move; a bad value leaves the clock as it was and says why. */
static void test_set_and_advance(void **state)
{
    (void)state;
    char err[200];
    unsetenv("KH_CLOCK");
    assert_int_equal(kh_clock_set("2027-06-15T10:00:00Z", err, sizeof err), 0);
    int64_t now = kh_now_ms(), real = kh_real_ms();
    assert_true(now >= T0 && now < T0 + 60000);
    /* the machine's clock is not moved: it still agrees with CLOCK_REALTIME (which
     * faketime may set to any day, even this one) */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t sys = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    assert_true(sys - real >= 0 && sys - real < 1000);
    char spec[40];
    assert_int_equal(kh_clock_fixed(spec, sizeof spec), 1);
    assert_string_equal(spec, "2027-06-15T10:00:00Z");
    assert_int_equal(kh_ms_to_date(kh_now_ms()), kh_ms_to_date(T0));

    assert_int_equal(kh_clock_set("2027-06-31", err, sizeof err), -1);
    assert_non_null(strstr(err, "[general] clock"));
    assert_non_null(strstr(err, "2027-06-31"));
    assert_true(kh_now_ms() >= T0 && kh_now_ms() < T0 + 60000);     /* unchanged */

    assert_int_equal(kh_clock_set("real", err, sizeof err), 0);
    assert_int_equal(kh_clock_fixed(spec, sizeof spec), 0);
    int64_t d = kh_now_ms() - kh_real_ms();
    assert_true(d >= -1000 && d <= 1000);
}

/* KH_CLOCK in the environment wins over the configuration's value. */
static void test_environment_wins(void **state)
{
    (void)state;
    char err[200];
    setenv("KH_CLOCK", "2027-06-15T10:00:00Z", 1);
    assert_int_equal(kh_clock_set("2020-01-01T00:00:00Z", err, sizeof err), 0);
    assert_true(kh_now_ms() >= T0 && kh_now_ms() < T0 + 60000);
    setenv("KH_CLOCK", "someday", 1);
    assert_int_equal(kh_clock_set("real", err, sizeof err), -1);
    assert_non_null(strstr(err, "KH_CLOCK"));
    unsetenv("KH_CLOCK");
    assert_int_equal(kh_clock_set("real", err, sizeof err), 0);
}

/* The monotonic clock only moves forward. */
static void test_mono(void **state)
{
    (void)state;
    int64_t a = kh_mono_ms();
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    int64_t b = kh_mono_ms();
    assert_true(b >= a + 19);
}

static void test_date_start(void **state)
{
    (void)state;
    assert_int_equal(kh_date_start_ms(20270621), local_ms(2027, 6, 21, 0, 0, 0));
    assert_int_equal(kh_date_start_ms(20270631), 0);
    assert_int_equal(kh_ms_to_date(kh_date_start_ms(20261231)), 20261231);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_forms),   cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_set_and_advance), cmocka_unit_test(test_environment_wins),
        cmocka_unit_test(test_mono),          cmocka_unit_test(test_date_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
