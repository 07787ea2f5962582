/*
 * test_door.c — what the door checks before it does any work (issue 11): fields counted
 * on the wire without decoding (lib/transport/kh_wire), the form of a report from outside
 * (lib/model/kh_report: text, lengths, period), the rate limit of lines an outsider can cause
 * (lib/process/kh_log), and the list of open connections the collector re-checks for revoked keys
 * (services/collector/conns.c), and what the door knows of a connection closed while
 * its messages still wait to be read (lib/security/kh_door, on real ZeroMQ sockets over loopback).
 */
#include "../../services/collector/conns.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <time.h>
#include <uv.h>
#include <zmq.h>

#include "kh.pb-c.h"
#include "kh_door.h"
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

/* A report carrying a field numbered 0 (a two-byte key, 0x80 0x00, which libprotobuf-c
 * keeps as unknown and packs back as a one-byte key it then refuses) and an unknown field
 * inside a value: kh_wire_drop_unknown leaves what decodes again, the schema's fields
 * intact. */
static void test_drop_unknown(void **state)
{
    (void)state;
    /* report_id "a", field 0 varint 5 (two-byte key), values { orgunit "u", field 99
     * varint 1 }, revision 3 */
    static const uint8_t wire[] = {0x0a, 0x01, 'a', 0x80, 0x00, 0x05, 0x42, 0x06, 0x0a,
                                   0x01, 'u', 0x98, 0x06, 0x01, 0x10, 0x03};
    Kh__Report *r = kh__report__unpack(NULL, sizeof wire, wire);
    assert_non_null(r);
    assert_int_equal(r->base.n_unknown_fields, 1);
    assert_int_equal(r->n_values, 1);
    assert_int_equal(r->values[0]->base.n_unknown_fields, 1);
    uint8_t *buf;
    size_t len;
    assert_int_equal(kh_wire_pack(&r->base, &buf, &len), 0);
    Kh__Report *bad = kh__report__unpack(NULL, len, buf);    /* the library's own bug */
    free(buf);
    if (bad)
        kh__report__free_unpacked(bad, NULL);
    kh_wire_drop_unknown(&r->base);
    assert_int_equal(r->base.n_unknown_fields, 0);
    assert_int_equal(r->values[0]->base.n_unknown_fields, 0);
    assert_int_equal(kh_wire_pack(&r->base, &buf, &len), 0);
    Kh__Report *again = kh__report__unpack(NULL, len, buf);
    free(buf);
    assert_non_null(again);
    assert_string_equal(again->report_id, "a");
    assert_int_equal(again->revision, 3);
    assert_int_equal(again->n_values, 1);
    assert_string_equal(again->values[0]->orgunit, "u");
    assert_int_equal(again->base.n_unknown_fields, 0);
    kh__report__free_unpacked(again, NULL);
    kh__report__free_unpacked(r, NULL);      /* nothing freed twice (ASan in make san) */
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
        assert_int_equal(conns_seen(t, rid, strlen(rid), 100 + i, 1, key, "829", i), CONN_NEW);
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

static void count_closed(void *arg, int fd)
{
    (void)fd;
    ++*(int *)arg;
}

/* The premise of CONN_GONE (conns.h), on libzmq itself: the messages a connection
 * delivered are still handed over after the monitor told its close, and then the door
 * says their descriptor is no longer live; before the close it says it is. */
static void test_door_live_after_close(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    kh_zopts_t o = {.hwm = 1000, .router = 1, .no_handover = 1};
    kh_zsock_t *router = kh_zsock_new(&loop, ctx, ZMQ_ROUTER, &o, NULL, NULL);
    assert_non_null(router);
    assert_int_equal(kh_zsock_bind(router, "tcp://127.0.0.1:*"), 0);
    char ep[128];
    size_t eplen = sizeof ep;
    assert_int_equal(zmq_getsockopt(kh_zsock_raw(router), ZMQ_LAST_ENDPOINT, ep, &eplen), 0);
    int closed = 0;
    kh_door_opts_t dopt = {.name = "test", .max_connections = 8,
                           .max_unspoken_per_address = 4, .speak_ms = 60000};
    kh_door_t *door = kh_door_new(&loop, ctx, router, &dopt, count_closed, &closed);
    assert_non_null(door);
    assert_int_equal(kh_door_live(door, -1), 0);

    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 5000;
    zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(dealer, ep), 0);
    assert_int_equal(zmq_send(dealer, "first", 5, 0), 5);
    /* the first message read while the connection is open: live */
    zmq_pollitem_t it = {.socket = kh_zsock_raw(router), .events = ZMQ_POLLIN};
    assert_int_equal(zmq_poll(&it, 1, 10000), 1);
    zmq_msg_t rid, body;
    zmq_msg_init(&rid);
    zmq_msg_init(&body);
    assert_true(zmq_msg_recv(&rid, kh_zsock_raw(router), 0) > 0);
    assert_int_equal(zmq_msg_recv(&body, kh_zsock_raw(router), 0), 5);
    int fd = zmq_msg_get(&body, ZMQ_SRCFD);
    assert_true(fd >= 0);
    kh_door_drain(door);
    assert_int_equal(kh_door_live(door, fd), 1);
    zmq_msg_close(&rid);
    zmq_msg_close(&body);

    /* five more, then the peer goes; nothing is read until the monitor told the close */
    for (int i = 0; i < 5; i++)
        assert_int_equal(zmq_send(dealer, "later", 5, 0), 5);
    zmq_close(dealer);
    for (int i = 0; i < 1000 && closed == 0; i++) {
        kh_door_drain(door);
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    assert_int_equal(closed, 1);
    int got = 0;
    for (;;) {
        zmq_msg_init(&rid);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&rid, kh_zsock_raw(router), ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&rid);
            zmq_msg_close(&body);
            break;
        }
        assert_int_equal(zmq_msg_recv(&body, kh_zsock_raw(router), 0), 5);
        assert_memory_equal(zmq_msg_data(&body), "later", 5);
        kh_door_drain(door);
        assert_int_equal(kh_door_live(door, zmq_msg_get(&body, ZMQ_SRCFD)), 0);
        got++;
        zmq_msg_close(&rid);
        zmq_msg_close(&body);
    }
    assert_int_equal(got, 5);

    kh_door_close(&door);
    kh_zsock_close(router);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_field_matches_decoder),
        cmocka_unit_test(test_without_field_keeps_the_rest),
        cmocka_unit_test(test_drop_unknown),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_report_form),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_list_open),
        cmocka_unit_test(test_door_live_after_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
