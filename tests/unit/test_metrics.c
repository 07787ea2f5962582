/*
 * test_metrics.c — unit tests of lib/process/kh_metrics: the registry, the Prometheus text
 * exposition (families, HELP/TYPE once, labels, escaping, bounds), the sources, and the
 * HTTP endpoint (GET /metrics, 404 otherwise, a port already taken).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kh_metrics.h"

static int setup(void **state)
{
    (void)state;
    kh_metrics_reset();
    return kh_metrics_init("testsvc");
}

static char text[KH_METRICS_TEXT_MAX];

/* the part after the three families every process has */
static const char *registry_part(void)
{
    const char *p = strstr(text, "\nkh_uptime_seconds ");
    assert_non_null(p);
    p = strchr(p + 1, '\n');
    assert_non_null(p);
    return p + 1;
}

static void test_exposition_exact(void **state)
{
    (void)state;
    kh_metric_t *a = kh_metrics_counter("kh_reports_accepted_total", "Reports accepted.", NULL,
                                        NULL);
    kh_metric_t *d1 = kh_metrics_gauge("kh_outbox_depth", "Messages waiting.", "outbox", "aggregator");
    kh_metric_t *r = kh_metrics_counter("kh_reports_rejected_total", "Reports rejected.", "reason",
                                        "rules");
    kh_metric_t *d2 = kh_metrics_gauge("kh_outbox_depth", "ignored: the family has its help",
                                       "outbox", "notifier");
    assert_non_null(a);
    assert_non_null(d1);
    assert_non_null(r);
    assert_non_null(d2);
    kh_metric_inc(a);
    kh_metric_add(a, 41);
    kh_metric_set(d1, 7);
    kh_metric_set(d2, -3);
    kh_metric_inc(r);
    long n = kh_metrics_format(text, sizeof text, 0);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(text));
    /* the series of one family stay together, under one HELP and one TYPE */
    assert_string_equal(registry_part(),
                        "# HELP kh_reports_accepted_total Reports accepted.\n"
                        "# TYPE kh_reports_accepted_total counter\n"
                        "kh_reports_accepted_total 42\n"
                        "# HELP kh_outbox_depth Messages waiting.\n"
                        "# TYPE kh_outbox_depth gauge\n"
                        "kh_outbox_depth{outbox=\"aggregator\"} 7\n"
                        "kh_outbox_depth{outbox=\"notifier\"} -3\n"
                        "# HELP kh_reports_rejected_total Reports rejected.\n"
                        "# TYPE kh_reports_rejected_total counter\n"
                        "kh_reports_rejected_total{reason=\"rules\"} 1\n");
    assert_int_equal(kh_metric_get(a), 42);
}

static void test_builtin_families(void **state)
{
    (void)state;
    int64_t now = 0;
    assert_true(kh_metrics_format(text, sizeof text, 0) > 0);
    long long st_s, st_ms;
    const char *p = strstr(text, "\nkh_process_start_time_seconds ");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "\nkh_process_start_time_seconds %lld.%3lld", &st_s, &st_ms), 2);
    assert_true(st_s > 1600000000);           /* a wall-clock time, in seconds */
    now = (st_s * 1000 + st_ms) + 90500;      /* 90.5 s later */
    assert_true(kh_metrics_format(text, sizeof text, now) > 0);
    assert_non_null(strstr(text, "\nkh_uptime_seconds 90.500\n"));
    assert_non_null(strstr(text, "# TYPE kh_uptime_seconds gauge\n"));
    assert_non_null(strstr(text, "kh_service_info{service=\"testsvc\",version=\"" KH_VERSION
                                 "\"} 1\n"));
    assert_true(strncmp(text, "# HELP kh_service_info ", 23) == 0);
}

static void test_escaping(void **state)
{
    (void)state;
    assert_non_null(kh_metrics_gauge("kh_odd", "back\\slash and\nnewline", "file",
                                     "a\"b\\c\nd"));
    assert_true(kh_metrics_format(text, sizeof text, 0) > 0);
    assert_string_equal(registry_part(), "# HELP kh_odd back\\\\slash and\\nnewline\n"
                                         "# TYPE kh_odd gauge\n"
                                         "kh_odd{file=\"a\\\"b\\\\c\\nd\"} 0\n");
}

static void test_registration_rules(void **state)
{
    (void)state;
    kh_metric_t *a = kh_metrics_counter("kh_x_total", "x", NULL, NULL);
    assert_non_null(a);
    assert_ptr_equal(a, kh_metrics_counter("kh_x_total", "x", NULL, NULL));   /* same series */
    assert_null(kh_metrics_gauge("kh_x_total", "x", NULL, NULL));             /* other type */
    assert_null(kh_metrics_counter("1bad", "x", NULL, NULL));
    assert_null(kh_metrics_counter("bad-name", "x", NULL, NULL));
    assert_null(kh_metrics_counter("", "x", NULL, NULL));
    assert_null(kh_metrics_counter(NULL, "x", NULL, NULL));
    assert_null(kh_metrics_counter("kh_y_total", "x", "label", NULL));        /* half a label */
    assert_null(kh_metrics_counter("kh_y_total", "x", "bad:label", "v"));
    char longname[KH_METRICS_NAME_MAX + 8];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_null(kh_metrics_counter(longname, "x", NULL, NULL));
    /* NULL series: updates do nothing */
    kh_metric_inc(NULL);
    kh_metric_add(NULL, 5);
    kh_metric_set(NULL, 5);
    assert_int_equal(kh_metric_get(NULL), 0);
}

static void test_registry_bounded(void **state)
{
    (void)state;
    char v[16];
    int made = 0;
    for (int i = 0; i < KH_METRICS_MAX + 10; i++) {
        snprintf(v, sizeof v, "o%d", i);
        made += kh_metrics_gauge("kh_outbox_depth", "Messages waiting.", "outbox", v) != NULL;
    }
    assert_int_equal(made, KH_METRICS_MAX);
    /* the whole registry at its longest still fits the exposition buffer */
    kh_metrics_reset();
    char name[KH_METRICS_NAME_MAX], help[KH_METRICS_HELP_MAX], lv[KH_METRICS_NAME_MAX];
    memset(help, '\\', sizeof help - 1);   /* escaped: twice as long */
    help[sizeof help - 1] = 0;
    memset(lv, '"', sizeof lv - 1);      /* escaped: twice as long */
    lv[sizeof lv - 1] = 0;
    for (int i = 0; i < KH_METRICS_MAX; i++) {
        snprintf(name, sizeof name, "kh_%059d", i);
        assert_non_null(kh_metrics_gauge(name, help, "l", lv));
    }
    assert_true(kh_metrics_format(text, sizeof text, 0) > 0);
    /* a buffer too small is refused, never overrun */
    char small[100];
    memset(small, 'x', sizeof small);
    assert_int_equal(kh_metrics_format(small, 64, 0), -1);
    assert_int_equal(small[64], 'x');
}

static int collected;
static void source(void *arg) { collected += *(int *)arg; }

static void test_sources(void **state)
{
    (void)state;
    int one = 1, ten = 10;
    assert_int_equal(kh_metrics_source_add(source, &one), 0);
    assert_int_equal(kh_metrics_source_add(source, &ten), 0);
    collected = 0;
    kh_metrics_collect();
    assert_int_equal(collected, 11);
    kh_metrics_source_remove(&one);
    collected = 0;
    kh_metrics_collect();
    assert_int_equal(collected, 10);
    kh_metrics_source_remove(&ten);
    int n = 0;
    while (kh_metrics_source_add(source, &one) == 0)
        n++;
    assert_int_equal(n, KH_METRICS_SOURCES_MAX);
    kh_metrics_source_remove(&one);
    collected = 0;
    kh_metrics_collect();
    assert_int_equal(collected, 0);
}

typedef struct {
    char buf[KH_METRICS_TEXT_MAX];
    size_t len;
} body_t;

static size_t on_body(char *d, size_t size, size_t n, void *arg)
{
    body_t *b = arg;
    size_t len = size * n;
    if (b->len + len >= sizeof b->buf)
        return 0;
    memcpy(b->buf + b->len, d, len);
    b->len += len;
    b->buf[b->len] = 0;
    return len;
}

static long get(const char *url, body_t *b, char *ctype, size_t ccap)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    b->len = 0;
    b->buf[0] = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long code = 0;
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(ctype, ccap, "%s", ct ? ct : "");
    curl_easy_cleanup(c);
    return code;
}

static void test_http(void **state)
{
    (void)state;
    char err[256], addr[64], url[128], ctype[128];
    /* a free port: the first of a range that binds */
    int port = 0;
    for (int p = 39100 + (int)(getpid() % 500); p < 40000 && !port; p++) {
        snprintf(addr, sizeof addr, "127.0.0.1:%d", p);
        if (kh_metrics_serve(addr, err, sizeof err) == 0)
            port = p;
    }
    assert_true(port > 0);
    kh_metric_t *m = kh_metrics_counter("kh_reports_counted_total", "Counted.", NULL, NULL);
    kh_metric_add(m, 72);
    static body_t b;
    snprintf(url, sizeof url, "http://%s/metrics", addr);
    assert_int_equal(get(url, &b, ctype, sizeof ctype), 200);
    assert_string_equal(ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(b.buf, "\nkh_reports_counted_total 72\n"));
    assert_non_null(strstr(b.buf, "kh_service_info{service=\"testsvc\""));
    snprintf(url, sizeof url, "http://%s/", addr);
    assert_int_equal(get(url, &b, ctype, sizeof ctype), 404);
    snprintf(url, sizeof url, "http://%s/metrics/x", addr);
    assert_int_equal(get(url, &b, ctype, sizeof ctype), 404);
    /* a second server, and the same port: refused with the reason */
    assert_int_equal(kh_metrics_serve(addr, err, sizeof err), -1);
    kh_metrics_stop();
    kh_metrics_stop();                                 /* twice is harmless */
    /* the port is free again after a stop */
    assert_int_equal(kh_metrics_serve(addr, err, sizeof err), 0);
    kh_metrics_stop();
    assert_int_equal(kh_metrics_serve("127.0.0.1", err, sizeof err), -1);
    assert_non_null(strstr(err, "IPV4-ADDRESS:PORT"));
    assert_int_equal(kh_metrics_serve("localhost:7104", err, sizeof err), -1);
    assert_non_null(strstr(err, "not an IPv4 address"));
    assert_int_equal(kh_metrics_serve("127.0.0.1:70000", err, sizeof err), -1);
    assert_int_equal(kh_metrics_serve("127.0.0.1:12x", err, sizeof err), -1);
    assert_int_equal(kh_metrics_serve(NULL, err, sizeof err), -1);
}

static void test_port_taken(void **state)
{
    (void)state;
    char err[256], addr[64];
    int port = 0;
    for (int p = 40100 + (int)(getpid() % 500); p < 41000 && !port; p++) {
        snprintf(addr, sizeof addr, "127.0.0.1:%d", p);
        if (kh_metrics_serve(addr, err, sizeof err) == 0)
            port = p;
    }
    assert_true(port > 0);
    /* a second kh_metrics_serve is refused before it binds: free the port, then hold it
     * with a plain socket to see the reason given */
    kh_metrics_stop();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(kh_metrics_serve(addr, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot listen on"));
    assert_non_null(strstr(err, "in use"));
    close(fd);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_exposition_exact, setup),
        cmocka_unit_test_setup(test_builtin_families, setup),
        cmocka_unit_test_setup(test_escaping, setup),
        cmocka_unit_test_setup(test_registration_rules, setup),
        cmocka_unit_test_setup(test_registry_bounded, setup),
        cmocka_unit_test_setup(test_sources, setup),
        cmocka_unit_test_setup(test_http, setup),
        cmocka_unit_test_setup(test_port_taken, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
