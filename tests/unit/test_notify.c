/*
 * test_notify.c — unit tests of the notifier's pure logic (services/notifier/notices.c):
 * dates, the half-years to check, which notices are due for a given state and day,
 * their ids and texts.
 *
 * The Makefile links this test with notices.o (MOD_test_notify).
 */
#include "../../services/notifier/notices.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "kh_util.h"

static void test_dates(void **state)
{
    (void)state;
    assert_true(nt_date_valid(20200229));
    assert_false(nt_date_valid(20210229));
    assert_false(nt_date_valid(20201301));
    assert_false(nt_date_valid(20200000));
    assert_int_equal(nt_date_add(20201205, 10), 20201215);
    assert_int_equal(nt_date_add(20201228, 7), 20210104);
    assert_int_equal(nt_date_add(20200301, -1), 20200229);
    assert_int_equal(nt_date_add(20201205, -7), 20201128);
    assert_int_equal(nt_date_add(20201332, 1), 0);
    assert_int_equal(kh_date_diff(20201220, 20201205), 15);
    assert_int_equal(kh_date_diff(20210101, 20201231), 1);
    assert_int_equal(kh_date_diff(19700101, 19700101), 0);
    int32_t d = 0;
    assert_int_equal(nt_date_parse("2020-12-06", &d), 0);
    assert_int_equal(d, 20201206);
    assert_int_equal(nt_date_parse("2020-02-30", &d), -1);
    assert_int_equal(nt_date_parse("2020-12-6", &d), -1);
    assert_int_equal(nt_date_parse("2020/12/06", &d), -1);
    assert_int_equal(nt_date_parse("", &d), -1);
    char b[16];
    kh_date_vi(20201205, b, sizeof b);
    assert_string_equal(b, "05/12/2020");
    kh_date_iso(20201205, b, sizeof b);
    assert_string_equal(b, "2020-12-05");
}

static void test_periods(void **state)
{
    (void)state;
    char b[8];
    kh_period_t p = kh_period_half_of(20200630);
    kh_period_format(&p, b, sizeof b);
    assert_string_equal(b, "2020S1");
    p = kh_period_half_of(20200701);
    kh_period_format(&p, b, sizeof b);
    assert_string_equal(b, "2020S2");
    p = kh_period_next_half(p);
    kh_period_format(&p, b, sizeof b);
    assert_string_equal(b, "2021S1");
    kh_period_t a = kh_period_half_of(20200101), z = kh_period_half_of(20201231),
                y = kh_period_half_of(20200701);
    assert_true(kh_period_cmp(&a, &z) < 0);
    assert_int_equal(kh_period_cmp(&y, &z), 0);

    kh_period_t first, out[8];
    assert_int_equal(kh_period_parse("2019S2", &first), 0);
    /* 20 Dec 2020: 2019S2, 2020S1, 2020S2 */
    size_t n = nt_periods_to_check(first, 20201220, 7, out, 8);
    assert_int_equal(n, 3);
    kh_period_format(&out[0], b, sizeof b);
    assert_string_equal(b, "2019S2");
    kh_period_format(&out[2], b, sizeof b);
    assert_string_equal(b, "2020S2");
    /* 28 Dec with 7 reminder days reaches into 2021S1 */
    assert_int_equal(nt_periods_to_check(first, 20201228, 7, out, 8), 4);
    /* a first period in the future: nothing */
    assert_int_equal(kh_period_parse("2021S2", &first), 0);
    assert_int_equal(nt_periods_to_check(first, 20201220, 7, out, 8), 0);
    /* a first period long ago: only the latest cap half-years */
    assert_int_equal(kh_period_parse("2010S1", &first), 0);
    n = nt_periods_to_check(first, 20201220, 0, out, 4);
    assert_int_equal(n, 4);
    kh_period_format(&out[0], b, sizeof b);
    assert_string_equal(b, "2019S1");
    kh_period_format(&out[3], b, sizeof b);
    assert_string_equal(b, "2020S2");
}

/* kinds due, as "kind:code" words */
static void due(const nt_policy_t *pol, int32_t today, const nt_district_t *d, size_t n,
                char *out, size_t cap)
{
    nt_due_t list[32];
    size_t k = nt_due_notices(pol, today, 20201205, d, n, list, 32);
    out[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s:%s", i ? " " : "", nt_kind_tag(list[i].kind),
                 list[i].kind == NT_COMPLETE ? "-" : d[list[i].district].code);
    }
}

static void test_due_notices(void **state)
{
    (void)state;
    nt_policy_t pol = {7, 10};
    nt_district_t d[3] = {{"829", 1, 1}, {"831", 1, 0}, {"832", 0, 0}};
    char s[256];
    due(&pol, 20201127, d, 3, s, sizeof s);          /* before the window */
    assert_string_equal(s, "");
    due(&pol, 20201128, d, 3, s, sizeof s);          /* first day of the window */
    assert_string_equal(s, "reminder:832");
    due(&pol, 20201205, d, 3, s, sizeof s);          /* the due date itself: not late */
    assert_string_equal(s, "reminder:832");
    due(&pol, 20201206, d, 3, s, sizeof s);          /* the day after */
    assert_string_equal(s, "late:832");
    due(&pol, 20201215, d, 3, s, sizeof s);          /* the last day of grace */
    assert_string_equal(s, "late:832");
    due(&pol, 20201216, d, 3, s, sizeof s);
    assert_string_equal(s, "late:832 missing:832");
    /* reported but not counted (accepted, waiting): no reminder, no alert, not complete */
    d[2].reported = 1;
    due(&pol, 20201220, d, 3, s, sizeof s);
    assert_string_equal(s, "");
    d[1].counted = d[2].counted = 1;
    due(&pol, 20201220, d, 3, s, sizeof s);
    assert_string_equal(s, "complete:-");
    /* no reminders when reminder_days is 0; grace 0: missing the day after too */
    nt_policy_t none = {0, 0};
    nt_district_t e[2] = {{"833", 0, 0}, {"834", 0, 0}};
    due(&none, 20201201, e, 2, s, sizeof s);
    assert_string_equal(s, "");
    due(&none, 20201206, e, 2, s, sizeof s);
    assert_string_equal(s, "late:833 missing:833 late:834 missing:834");
    /* no districts: never complete; a bad day: nothing */
    due(&pol, 20201220, e, 0, s, sizeof s);
    assert_string_equal(s, "");
    due(&pol, 20201332, e, 2, s, sizeof s);
    assert_string_equal(s, "");
    /* the list is bounded by cap */
    nt_due_t one[1];
    assert_int_equal(nt_due_notices(&none, 20201206, 20201205, e, 2, one, 1), 1);
    assert_int_equal(one[0].kind, NT_LATE);
    /* the same state and day give the same list */
    nt_due_t a[8], b[8];
    size_t na = nt_due_notices(&pol, 20201216, 20201205, e, 2, a, 8);
    size_t nb = nt_due_notices(&pol, 20201216, 20201205, e, 2, b, 8);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].kind, b[i].kind);
        assert_int_equal(a[i].district, b[i].district);
    }
    assert_true(nt_is_late(20201206, 20201205));
    assert_false(nt_is_late(20201205, 20201205));
    assert_false(nt_is_late(20201206, 0));
}

static void test_ids(void **state)
{
    (void)state;
    char id[64];
    assert_int_equal(nt_notice_id(NT_REMINDER, "2020S2", "829", 0, id, sizeof id), 0);
    assert_string_equal(id, "reminder/2020S2/829");
    assert_int_equal(nt_notice_id(NT_LATE_REPORT, "2020S2", "829", 0, id, sizeof id), 0);
    assert_string_equal(id, "late-report/2020S2/829");
    assert_int_equal(nt_notice_id(NT_WARNINGS, "2020S2", "829-2020S2", 3, id, sizeof id), 0);
    assert_string_equal(id, "warnings/829-2020S2/3");
    assert_int_equal(nt_notice_id(NT_COMPLETE, "2020S2", NULL, 0, id, sizeof id), 0);
    assert_string_equal(id, "complete/2020S2");
    assert_int_equal(nt_notice_id(NT_MISSING, "2020S2", "", 0, id, sizeof id), -1);
    volatile size_t small = 10;     /* volatile: a deliberate truncation gcc would flag */
    assert_int_equal(nt_notice_id(NT_MISSING, "2020S2", "829", 0, id, small), -1);
    assert_string_equal(nt_kind_name(NT_LATE_REPORT), "late");
    assert_string_equal(nt_kind_name(NT_MISSING), "missing");
}

static void test_texts(void **state)
{
    (void)state;
    char vi[512], en[512];
    nt_text_args_t a = {.period = "2020S2", .district = "829", .name = "Thành phố Bến Tre",
                        .due = 20201205, .today = 20201130, .arrived = 20201207};
    assert_int_equal(nt_texts(NT_REMINDER, &a, vi, sizeof vi, en, sizeof en), 0);
    assert_non_null(strstr(vi, "Thành phố Bến Tre"));
    assert_non_null(strstr(vi, "05/12/2020"));
    assert_non_null(strstr(vi, "còn 5 ngày"));
    assert_non_null(strstr(en, "due on 2020-12-05 (5 days left)"));
    assert_int_equal(nt_texts(NT_LATE_REPORT, &a, vi, sizeof vi, en, sizeof en), 0);
    assert_non_null(strstr(vi, "trễ 2 ngày"));
    assert_non_null(strstr(en, "arrived on 2020-12-07, 2 days after"));
    a.today = 20201220;
    assert_int_equal(nt_texts(NT_MISSING, &a, vi, sizeof vi, en, sizeof en), 0);
    assert_non_null(strstr(en, "15 days after"));
    a.n_districts = 9;
    assert_int_equal(nt_texts(NT_COMPLETE, &a, vi, sizeof vi, en, sizeof en), 0);
    assert_non_null(strstr(en, "all 9 reporting units"));
    a.report_id = "829-2020S2";
    a.revision = 2;
    a.n_warnings = 1;
    a.first_code = "R14";
    a.first_vi = "Quỹ đã chi lớn gấp đôi";
    a.first_en = "Fund spent is more than twice";
    assert_int_equal(nt_texts(NT_WARNINGS, &a, vi, sizeof vi, en, sizeof en), 0);
    assert_non_null(strstr(vi, "R14: Quỹ đã chi"));
    assert_non_null(strstr(en, "revision 2 of Thành phố Bến Tre (829) was accepted with 1 warning;"));
    /* cut to small buffers, never overrun */
    char sv[12], se[12];
    assert_int_equal(nt_texts(NT_LATE, &a, sv, sizeof sv, se, sizeof se), 0);
    assert_int_equal(strlen(se), 11);
    assert_int_equal(nt_texts((nt_kind_t)99, &a, vi, sizeof vi, en, sizeof en), -1);
    /* a Vietnamese character cut by a small buffer is dropped, not left half */
    a.name = "Mỏ Cày Nam";
    char cut[9];                     /* "Late: M" is 7 bytes, "ỏ" 3 more */
    assert_int_equal(nt_texts(NT_LATE, &a, vi, sizeof vi, cut, sizeof cut), 0);
    assert_string_equal(cut, "Late: M");
}

static void test_utf8_clean(void **state)
{
    (void)state;
    char a[] = "ab\xe1\xbb";          /* "ả" cut after two of its three bytes */
    nt_utf8_clean(a);
    assert_string_equal(a, "ab");
    char b[] = "a\xff" "b\xc0\xaf" "c";   /* invalid and overlong bytes */
    nt_utf8_clean(b);
    assert_string_equal(b, "a?b??c");
    char c[] = "Thiếu báo cáo";
    nt_utf8_clean(c);
    assert_string_equal(c, "Thiếu báo cáo");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_periods),
        cmocka_unit_test(test_due_notices),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_texts),
        cmocka_unit_test(test_utf8_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
