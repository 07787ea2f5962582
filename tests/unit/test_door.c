/*
 * test_door.c — what the door checks before it does any work (issue 11): fields counted
 * on the wire without decoding (lib/kh_wire), the form of a report from outside
 * (lib/kh_report: text, lengths, period), the rate limit of lines an outsider can cause
 * (lib/kh_log), and the list of open connections the collector re-checks for revoked keys
 * (services/collector/conns.c).
 */
#include "../../services/collector/conns.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kh.pb-c.h"
#include "kh_log.h"
#include "kh_report.h"
#include "kh_wire.h"

/* A REPORT with n values, packed by protobuf-c itself. */
static uint8_t *packed_report(size_t n, const char *period, size_t *len)
{
    Kh__Report r = KH__REPORT__INIT;
    r.report_id = "829-2019S1";
    r.revision = 3;
    r.period = (char *)period;
    Kh__Value *v = calloc(n ? n : 1, sizeof *v), **vp = calloc(n ? n : 1, sizeof *vp);
    assert_non_null(v);
    assert_non_null(vp);
    for (size_t i = 0; i < n; i++) {
        kh__value__init(&v[i]);
        v[i].orgunit = "82901";
        v[i].indicator = "HO.TONG";
        v[i].raw = "12";
        vp[i] = &v[i];
    }
    r.n_values = n;
    r.values = vp;
    uint8_t *buf;
    assert_int_equal(kh_wire_pack(&r.base, &buf, len), 0);
    free(v);
    free(vp);
    return buf;
}

static void test_count_field_matches_decoder(void **state)
{
    (void)state;
    for (size_t n = 0; n < 300; n += 37) {
        size_t len;
        uint8_t *buf = packed_report(n, "2019S1", &len);
        assert_int_equal(kh_wire_count_field(buf, len, 8), (long)n);
        assert_int_equal(kh_wire_count_field(buf, len, 1), 1);      /* report_id */
        assert_int_equal(kh_wire_count_field(buf, len, 9), 0);      /* no signature */
        /* cut anywhere inside the last field: not a well-formed encoding */
        if (len > 1)
            assert_int_equal(kh_wire_count_field(buf, len - 1, 8), -1);
        free(buf);
    }
    /* 2 million empty ACK keys: counted, nothing allocated per key */
    size_t big = 4000000;
    uint8_t *ack = malloc(big);
    assert_non_null(ack);
    for (size_t i = 0; i < big; i += 2) {
        ack[i] = 0x0a;
        ack[i + 1] = 0;
    }
    assert_int_equal(kh_wire_count_field(ack, big, 1), 2000000);
    free(ack);
    /* malformed: field 0, a group, a length past the end, a varint never ending */
    const uint8_t zero[] = {0x00, 0x01}, group[] = {0x0b}, past[] = {0x0a, 0x05, 'a'};
    uint8_t endless[12];
    memset(endless, 0xff, sizeof endless);
    assert_int_equal(kh_wire_count_field(zero, sizeof zero, 1), -1);
    assert_int_equal(kh_wire_count_field(group, sizeof group, 1), -1);
    assert_int_equal(kh_wire_count_field(past, sizeof past, 1), -1);
    assert_int_equal(kh_wire_count_field(endless, sizeof endless, 1), -1);
    assert_int_equal(kh_wire_count_field(NULL, 0, 1), 0);
}

static void test_without_field_keeps_the_rest(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = packed_report(1000, "2019S1", &len);
    uint8_t *head = malloc(len);
    assert_non_null(head);
    size_t hl = kh_wire_without_field(buf, len, 8, head);
    assert_true(hl > 0 && hl < len);
    assert_int_equal(kh_wire_count_field(head, hl, 8), 0);
    Kh__Report *r = kh__report__unpack(NULL, hl, head);
    assert_non_null(r);
    assert_string_equal(r->report_id, "829-2019S1");
    assert_int_equal(r->revision, 3);
    assert_string_equal(r->period, "2019S1");
    assert_int_equal(r->n_values, 0);
    kh__report__free_unpacked(r, NULL);
    /* malformed input: nothing */
    const uint8_t past[] = {0x0a, 0x05, 'a'};
    assert_int_equal(kh_wire_without_field(past, sizeof past, 8, head), 0);
    free(head);
    free(buf);
}

static void test_text(void **state)
{
    (void)state;
    assert_true(kh_text_ok(""));
    assert_true(kh_text_ok("Xã Phú Thuận, huyện Bình Đại"));
    assert_false(kh_text_ok("\xff" "0"));              /* the attack of issue 11 */
    assert_false(kh_text_ok("2019S1\n"));
    assert_false(kh_text_ok("a\tb"));
    assert_false(kh_text_ok("a\x7f"));
    assert_false(kh_text_ok("\xc3"));                   /* cut in the middle of a character */
    assert_false(kh_text_ok("\xed\xa0\x80"));           /* a UTF-16 surrogate */
    assert_false(kh_text_ok("\xc0\xaf"));               /* overlong '/' */
}

static void test_report_form(void **state)
{
    (void)state;
    Kh__Value v = KH__VALUE__INIT, *vp = &v;
    v.orgunit = "82901";
    v.indicator = "HO.TONG";
    v.raw = "12";
    Kh__Report r = KH__REPORT__INIT;
    r.report_id = "829-2019S1";
    r.revision = 1;
    r.period = "2019S1";
    r.source_name = "báo cáo 6 tháng.csv";
    r.n_values = 1;
    r.values = &vp;
    kh_form_error_t e;
    assert_int_equal(kh_report_form(&r, 10, &e), 0);
    r.period = "\xff" "0";
    assert_int_equal(kh_report_form(&r, 10, &e), -1);
    assert_string_equal(e.code, "NOT_UTF8");
    assert_string_equal(e.field, "period");
    r.period = "2019S3";
    assert_int_equal(kh_report_form(&r, 10, &e), -1);
    assert_string_equal(e.code, "PERIOD_MALFORMED");
    r.period = "2019S1";
    v.raw = "1\xe2\x82";
    assert_int_equal(kh_report_form(&r, 10, &e), -1);
    assert_string_equal(e.code, "NOT_UTF8");
    assert_string_equal(e.field, "values[0].raw");
    v.raw = "12";
    assert_int_equal(kh_report_form(&r, 0, &e), -1);
    assert_string_equal(e.code, "TOO_LARGE");
    assert_string_equal(e.field, "values");
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    r.source_name = longname;
    assert_int_equal(kh_report_form(&r, 10, &e), -1);
    assert_string_equal(e.code, "TOO_LARGE");
    assert_string_equal(e.field, "source_name");
}

static void test_rate_limit(void **state)
{
    (void)state;
    uint64_t sup = 99;
    int written = 0;
    for (int i = 0; i < 100; i++)
        written += kh_log_allow("auth.refused", "10.0.0.7", &sup);
    assert_int_equal(written, KH_LOG_RL_BURST);
    /* another source has its own allowance */
    assert_int_equal(kh_log_allow("auth.refused", "10.0.0.8", &sup), 1);
    assert_int_equal(sup, 0);
    assert_true(kh_log_suppressed_total() >= 100 - KH_LOG_RL_BURST);
    /* many sources: the global bound holds */
    int all = 0;
    char src[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(src, sizeof src, "10.1.%d.%d", i / 256, i % 256);
        all += kh_log_allow("door.cut", src, &sup);
    }
    assert_true(all <= KH_LOG_RL_GLOBAL);
}

static void test_list_open(void **state)
{
    (void)state;
    conns_t *t = conns_new(200, 2);
    assert_non_null(t);
    char rid[8], key[16];
    for (int i = 0; i < 150; i++) {
        snprintf(rid, sizeof rid, "r%d", i);
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(conns_seen(t, rid, strlen(rid), 100 + i, key, "829", i), CONN_NEW);
    }
    conns_closed_fd(t, 100);
    conns_closed_fd(t, 120);
    conns_entry_t e[64];
    int from = 0, n, total = 0, saw_closed = 0;
    while ((n = conns_list_open(t, &from, e, 64)) > 0) {
        for (int i = 0; i < n; i++)
            saw_closed |= e[i].fd == 100 || e[i].fd == 120;
        total += n;
        if (n < 64)
            break;
    }
    assert_int_equal(total, 148);
    assert_false(saw_closed);
    conns_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_field_matches_decoder),
        cmocka_unit_test(test_without_field_keeps_the_rest),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_report_form),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_list_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
