/*
 * kh_metrics.c — counters and gauges, served as Prometheus text; see kh_metrics.h.
 *
 * The registry is a fixed array: a series is written whole, then published by
 * raising the atomic count (release); the HTTP thread reads the count (acquire) and
 * only the series below it.  Values are atomics.  Nothing here logs from the HTTP
 * thread (the log socket belongs to the loop thread).
 */
#include "kh_metrics.h"
#include "kh_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { T_COUNTER, T_GAUGE };

struct kh_metric {
    char name[KH_METRICS_NAME_MAX];
    char help[KH_METRICS_HELP_MAX];
    char lname[KH_METRICS_NAME_MAX], lvalue[KH_METRICS_NAME_MAX];
    int type;
    _Atomic int64_t value;
};

static struct kh_metric reg[KH_METRICS_MAX];
static _Atomic size_t reg_n;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;   /* writers only */
static char service_name[KH_METRICS_NAME_MAX] = "unknown";
static _Atomic int64_t start_ms;
static struct MHD_Daemon *daemon_, *unix_daemon_;
static char unix_path_[108];

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kh_metrics_init(const char *service)
{
    if (!service || !service[0] || strlen(service) >= sizeof service_name)
        return -1;
    pthread_mutex_lock(&reg_lock);
    snprintf(service_name, sizeof service_name, "%s", service);
    pthread_mutex_unlock(&reg_lock);
    atomic_store(&start_ms, wall_ms());
    return 0;
}

static int valid_name(const char *s, int colon)
{
    if (!s || !s[0] || strlen(s) >= KH_METRICS_NAME_MAX)
        return 0;
    for (const char *p = s; *p; p++) {
        int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                    (colon && *p == ':');
        if (!alpha && !(p > s && *p >= '0' && *p <= '9'))
            return 0;
    }
    return 1;
}

static kh_metric_t *add(int type, const char *name, const char *help, const char *lname,
                        const char *lvalue)
{
    if (!valid_name(name, 1) || (!lname) != (!lvalue) || (lname && !valid_name(lname, 0)) ||
        (lvalue && strlen(lvalue) >= KH_METRICS_NAME_MAX) ||
        (help && strlen(help) >= KH_METRICS_HELP_MAX)) {
        KH_ERROR("metrics.register", "invalid or too long metric name, label or help",
                 "metric", name ? name : "");
        return NULL;
    }
    kh_metric_t *m = NULL;
    pthread_mutex_lock(&reg_lock);
    size_t n = atomic_load(&reg_n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(reg[i].name, name) != 0)
            continue;
        if (reg[i].type != type) {
            pthread_mutex_unlock(&reg_lock);
            KH_ERROR("metrics.register", "metric already registered with another type",
                     "metric", name);
            return NULL;
        }
        if (!strcmp(reg[i].lname, lname ? lname : "") &&
            !strcmp(reg[i].lvalue, lvalue ? lvalue : "")) {
            pthread_mutex_unlock(&reg_lock);
            return &reg[i];
        }
    }
    if (n < KH_METRICS_MAX) {
        m = &reg[n];
        memset(m->name, 0, sizeof m->name);
        snprintf(m->name, sizeof m->name, "%s", name);
        snprintf(m->help, sizeof m->help, "%s", help ? help : "");
        snprintf(m->lname, sizeof m->lname, "%s", lname ? lname : "");
        snprintf(m->lvalue, sizeof m->lvalue, "%s", lvalue ? lvalue : "");
        m->type = type;
        atomic_store(&m->value, 0);
        atomic_store_explicit(&reg_n, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&reg_lock);
    if (!m)
        KH_ERROR("metrics.register", "the metrics registry is full (KH_METRICS_MAX)", "metric",
                 name);
    return m;
}

kh_metric_t *kh_metrics_counter(const char *name, const char *help, const char *label_name,
                                const char *label_value)
{
    return add(T_COUNTER, name, help, label_name, label_value);
}

kh_metric_t *kh_metrics_gauge(const char *name, const char *help, const char *label_name,
                              const char *label_value)
{
    return add(T_GAUGE, name, help, label_name, label_value);
}

void kh_metric_add(kh_metric_t *m, uint64_t n)
{
    if (m)
        atomic_fetch_add(&m->value, (int64_t)n);
}

void kh_metric_inc(kh_metric_t *m) { kh_metric_add(m, 1); }

void kh_metric_set(kh_metric_t *m, int64_t v)
{
    if (m)
        atomic_store(&m->value, v);
}

int64_t kh_metric_get(const kh_metric_t *m)
{
    return m ? atomic_load(&((kh_metric_t *)m)->value) : 0;
}

void kh_metrics_reset(void)
{
    pthread_mutex_lock(&reg_lock);
    atomic_store(&reg_n, 0);
    pthread_mutex_unlock(&reg_lock);
}

/* ---- sources (loop thread only) --------------------------------------------------------- */

static struct {
    kh_metrics_source_fn fn;
    void *arg;
} sources[KH_METRICS_SOURCES_MAX];
static size_t n_sources;

int kh_metrics_source_add(kh_metrics_source_fn fn, void *arg)
{
    if (!fn)
        return -1;
    if (n_sources == KH_METRICS_SOURCES_MAX) {
        KH_WARN("metrics.source", "too many metrics sources: this one is not exported");
        return -1;
    }
    sources[n_sources].fn = fn;
    sources[n_sources++].arg = arg;
    return 0;
}

void kh_metrics_source_remove(void *arg)
{
    size_t i = 0;
    while (i < n_sources) {
        if (sources[i].arg == arg)
            sources[i] = sources[--n_sources];
        else
            i++;
    }
}

void kh_metrics_collect(void)
{
    for (size_t i = 0; i < n_sources; i++)
        sources[i].fn(sources[i].arg);
}

/* ---- the text format ---------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t cap, len;
    int full;
} out_t;

static void put(out_t *o, const char *fmt, ...)
{
    if (o->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->full = 1;
        return;
    }
    o->len += (size_t)n;
}

/* HELP text: \ and newline escaped; label values: also ". */
static void put_escaped(out_t *o, const char *s, int quote)
{
    for (; *s && !o->full; s++) {
        if (*s == '\\')
            put(o, "\\\\");
        else if (*s == '\n')
            put(o, "\\n");
        else if (quote && *s == '"')
            put(o, "\\\"");
        else
            put(o, "%c", *s);
    }
}

static void put_family(out_t *o, const char *name, const char *help, const char *type)
{
    put(o, "# HELP %s ", name);
    put_escaped(o, help, 0);
    put(o, "\n# TYPE %s %s\n", name, type);
}

long kh_metrics_format(char *buf, size_t cap, int64_t now_ms)
{
    if (!buf || cap == 0)
        return -1;
    out_t o = {buf, cap, 0, 0};
    buf[0] = 0;
    char svc[KH_METRICS_NAME_MAX];
    pthread_mutex_lock(&reg_lock);
    memcpy(svc, service_name, sizeof svc);
    pthread_mutex_unlock(&reg_lock);
    int64_t st = atomic_load(&start_ms);
    int64_t up = st && now_ms > st ? now_ms - st : 0;
    put_family(&o, "kh_service_info", "The service this process runs, and its build.", "gauge");
    put(&o, "kh_service_info{service=\"");
    put_escaped(&o, svc, 1);
    put(&o, "\",version=\"");
    put_escaped(&o, KH_VERSION, 1);
    put(&o, "\"} 1\n");
    put_family(&o, "kh_process_start_time_seconds",
               "When the process started, in seconds since the Unix epoch.", "gauge");
    put(&o, "kh_process_start_time_seconds %lld.%03lld\n", (long long)(st / 1000),
        (long long)(st % 1000));
    put_family(&o, "kh_uptime_seconds", "Seconds since the process started.", "gauge");
    put(&o, "kh_uptime_seconds %lld.%03lld\n", (long long)(up / 1000), (long long)(up % 1000));
    size_t n = atomic_load_explicit(&reg_n, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        int seen = 0;             /* the family was printed with an earlier series */
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(reg[j].name, reg[i].name);
        if (seen)
            continue;
        put_family(&o, reg[i].name, reg[i].help, reg[i].type == T_COUNTER ? "counter" : "gauge");
        for (size_t j = i; j < n; j++) {
            if (strcmp(reg[j].name, reg[i].name) != 0)
                continue;
            put(&o, "%s", reg[j].name);
            if (reg[j].lname[0]) {
                put(&o, "{%s=\"", reg[j].lname);
                put_escaped(&o, reg[j].lvalue, 1);
                put(&o, "\"}");
            }
            put(&o, " %lld\n", (long long)atomic_load(&reg[j].value));
        }
    }
    if (o.full) {
        buf[0] = 0;
        return -1;
    }
    return (long)o.len;
}

/* ---- the HTTP endpoint ---------------------------------------------------------------- */

static enum MHD_Result queue_text(struct MHD_Connection *c, unsigned status, char *text,
                                  size_t len, int owned)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, text, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned)
            free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            status == MHD_HTTP_OK ? "text/plain; version=0.0.4; charset=utf-8"
                                                  : "text/plain; charset=utf-8");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_len, void **state)
{
    (void)cls, (void)version, (void)upload, (void)upload_len, (void)state;
    static char not_found[] = "not found: the metrics are at GET /metrics\n";
    if ((strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) || strcmp(url, "/metrics"))
        return queue_text(c, MHD_HTTP_NOT_FOUND, not_found, sizeof not_found - 1, 0);
    char *buf = malloc(KH_METRICS_TEXT_MAX);
    if (!buf)
        return MHD_NO;
    long len = kh_metrics_format(buf, KH_METRICS_TEXT_MAX, wall_ms());
    if (len < 0) {
        free(buf);
        static char too_big[] = "the metrics do not fit in KH_METRICS_TEXT_MAX\n";
        return queue_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, too_big, sizeof too_big - 1, 0);
    }
    return queue_text(c, MHD_HTTP_OK, buf, (size_t)len, 1);
}

int kh_metrics_serve(const char *hostport, char *err, size_t errcap)
{
    if (daemon_) {
        snprintf(err, errcap, "the metrics endpoint is already running");
        return -1;
    }
    const char *colon = hostport ? strrchr(hostport, ':') : NULL;
    char host[64];
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || (size_t)(colon - hostport) >= sizeof host || !end || *end || end == colon + 1 ||
        port < 1 || port > 65535) {
        snprintf(err, errcap, "metrics = '%.100s': expected IPV4-ADDRESS:PORT, e.g. "
                 "127.0.0.1:7104", hostport ? hostport : "");
        return -1;
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = 0;
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(err, errcap, "metrics = '%.100s': '%s' is not an IPv4 address", hostport, host);
        return -1;
    }
    sa.sin_port = htons((uint16_t)port);
    /* our own socket, so that a port already taken is reported with its reason */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0) {
        snprintf(err, errcap, "cannot listen on %.100s for metrics: %s", hostport,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* a slow client holds a connection for the timeout at most, and one address at most
     * KH_METRICS_PER_IP of them; kh-admin reads the private socket (kh_metrics_serve_unix) */
    daemon_ = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, on_request, NULL,
                               MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                               MHD_OPTION_CONNECTION_LIMIT, (unsigned)KH_METRICS_CONNECTIONS,
                               MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)KH_METRICS_PER_IP,
                               MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)5,
                               MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
                               MHD_OPTION_END);
    if (!daemon_) {
        close(fd);
        snprintf(err, errcap, "cannot start the metrics server on %.100s (libmicrohttpd)",
                 hostport);
        return -1;
    }
    return 0;
}

int kh_metrics_serve_unix(const char *path, char *err, size_t errcap)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (unix_daemon_) {
        snprintf(err, errcap, "the private metrics socket is already open");
        return -1;
    }
    if (!path || !path[0] || strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errcap, "metrics socket path '%.120s' is empty or longer than %zu bytes",
                 path ? path : "", sizeof sa.sun_path - 1);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    unlink(path);                   /* left by a process that stopped without cleaning up */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    mode_t old = umask(0117);       /* srw-rw----: the service's user and group only */
    int bound = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    umask(old);
    if (!bound || listen(fd, 16) < 0) {
        snprintf(err, errcap, "cannot listen on %.120s for metrics: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    unix_daemon_ = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, on_request,
                                    NULL, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                                    MHD_OPTION_CONNECTION_LIMIT, (unsigned)8,
                                    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)5,
                                    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
                                    MHD_OPTION_END);
    if (!unix_daemon_) {
        close(fd);
        unlink(path);
        snprintf(err, errcap, "cannot start the metrics server on %.120s (libmicrohttpd)", path);
        return -1;
    }
    memcpy(unix_path_, path, strlen(path) + 1);
    return 0;
}

void kh_metrics_stop(void)
{
    if (daemon_) {
        MHD_stop_daemon(daemon_);   /* joins its thread, closes the listening socket */
        daemon_ = NULL;
    }
    if (unix_daemon_) {
        MHD_stop_daemon(unix_daemon_);
        unix_daemon_ = NULL;
        unlink(unix_path_);
    }
}
