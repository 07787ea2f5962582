/*
 * kh_log.c — JSON log lines to stderr and to a ZeroMQ PUB socket; see kh_log.h.
 * JSON is built with jansson so every string is escaped correctly (unit names are
 * UTF-8 Vietnamese, file names come from outside).
 */
#include "kh_log.h"
#include "kh_util.h"
#include "kh_zuv.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

kh_loglvl_t kh_log_min = KH_LOG_INFO;
static char log_service[32] = "kh";
static void *log_pub;
/* one line at a time: a helper thread (kh-node's web page) logs too; the PUB socket then
 * passes between threads behind this lock's memory barrier, as ZeroMQ allows */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void kh_log_init(const char *service, kh_loglvl_t min)
{
    kh_strlcpy(log_service, service, sizeof log_service);
    kh_log_min = min;
}

int kh_log_bind(void *zctx, const char *endpoint)
{
    return kh_log_bind_curve(zctx, endpoint, NULL);
}

int kh_log_bind_curve(void *zctx, const char *endpoint, const uint8_t *server_sk)
{
    if (!endpoint || !*endpoint)
        return 0;
    kh_zopts_t o = {.hwm = 10000};
    if (server_sk) {
        o.curve_server_sk = server_sk;
        o.zap_domain = "logs";
    }
    log_pub = kh_zsocket(zctx, ZMQ_PUB, &o);   /* never an unauthenticated stream instead */
    if (!log_pub)
        return -1;
    if (zmq_bind(log_pub, endpoint) < 0) {
        zmq_close(log_pub);
        log_pub = NULL;
        return -1;
    }
    return 0;
}

int kh_log_last_endpoint(char *out, size_t cap)
{
    return log_pub && zmq_getsockopt(log_pub, ZMQ_LAST_ENDPOINT, out, &cap) == 0 ? 0 : -1;
}

void kh_log_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_pub) {
        zmq_close(log_pub);
        log_pub = NULL;
    }
    pthread_mutex_unlock(&log_lock);
}

int kh_log_level_parse(const char *s, kh_loglvl_t *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *out = (kh_loglvl_t)i;
            return 0;
        }
    return -1;
}

const char *kh_log_level_name(kh_loglvl_t l)
{
    return (unsigned)l < 4 ? level_names[l] : "?";
}

void kh_log_write(kh_loglvl_t lvl, const char *event, const char *msg, ...)
{
    if (lvl < kh_log_min)
        return;
    char ts[32];
    kh_iso_time(kh_real_ms(), ts, sizeof ts);
    json_t *o = json_object();
    if (!o)
        return;
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(kh_log_level_name(lvl)));
    json_object_set_new(o, "service", json_string(log_service));
    json_object_set_new(o, "pid", json_integer((json_int_t)getpid()));
    json_object_set_new(o, "event", json_string(event));
    /* json_string refuses invalid UTF-8: fall back so a bad byte never loses the line */
    json_t *m = json_string(msg);
    json_object_set_new(o, "msg", m ? m : json_string("(message not valid UTF-8)"));
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        if (!v)
            continue;
        json_t *jv = json_string(v);
        json_object_set_new(o, k, jv ? jv : json_string("(not valid UTF-8)"));
    }
    va_end(ap);
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!line)
        return;
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s\n", line);
    if (log_pub)
        zmq_send(log_pub, line, strlen(line), ZMQ_DONTWAIT);
    pthread_mutex_unlock(&log_lock);
    free(line);
}

/* ---- rate limit ---------------------------------------------------------------------- */

typedef struct {
    uint64_t hash;              /* 0: free */
    int64_t window_start;
    uint32_t lines;             /* written in this window */
    uint64_t suppressed;        /* dropped since the last line written */
} rl_slot_t;

static rl_slot_t rl_slots[KH_LOG_RL_SLOTS];
static int64_t rl_global_start;
static uint32_t rl_global_lines;
static uint64_t rl_suppressed_total;

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return (h ^ 0xff) * 1099511628211ULL;      /* a separator between the two strings */
}

static int log_allow(const char *event, const char *source, uint64_t *suppressed);

int kh_log_allow(const char *event, const char *source, uint64_t *suppressed)
{
    pthread_mutex_lock(&log_lock);
    int rc = log_allow(event, source, suppressed);
    pthread_mutex_unlock(&log_lock);
    return rc;
}

static int log_allow(const char *event, const char *source, uint64_t *suppressed)
{
    int64_t now = kh_mono_ms();
    uint64_t h = fnv1a(fnv1a(14695981039346656037ULL, event), source);
    if (h == 0)
        h = 1;
    rl_slot_t *sl = &rl_slots[h % KH_LOG_RL_SLOTS];
    if (sl->hash != h) {        /* a new source (or another one took this slot) */
        sl->hash = h;
        sl->window_start = now;
        sl->lines = 0;
        sl->suppressed = 0;
    }
    if (now - sl->window_start >= KH_LOG_RL_WINDOW_MS) {
        sl->window_start = now;
        sl->lines = 0;
    }
    if (now - rl_global_start >= KH_LOG_RL_WINDOW_MS) {
        rl_global_start = now;
        rl_global_lines = 0;
    }
    if (sl->lines >= KH_LOG_RL_BURST || rl_global_lines >= KH_LOG_RL_GLOBAL) {
        sl->suppressed++;
        rl_suppressed_total++;
        return 0;
    }
    sl->lines++;
    rl_global_lines++;
    *suppressed = sl->suppressed;
    sl->suppressed = 0;
    return 1;
}

uint64_t kh_log_suppressed_total(void) { return rl_suppressed_total; }
