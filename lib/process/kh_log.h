/*
 * kh_log.h — the admin's view of a service: one JSON object per line on stderr and,
 * when an endpoint is bound, the same line published on the service's log PUB socket
 * (kh-logs subscribes to all of them).
 *
 *   {"ts":"2026-11-27T03:06:04.123Z","level":"info","service":"collector","pid":4711,
 *    "event":"report.received","msg":"…","report_id":"829-2018S1","district":"829"}
 *
 * "pid" tells one run of a service from the next (a supervisor waiting for a restarted
 * service to be ready waits for a ready line with the new pid).  "ts" is the machine's
 * real clock, whatever clock the pipeline's calendar runs on (kh_util.h).
 * A call below the minimum level costs one comparison.  Lines are written one at a
 * time (a lock): a helper thread may log too (kh-node's web page); the rest of this
 * module (init, bind, close) belongs to the main thread.
 */
#ifndef KH_LOG_H
#define KH_LOG_H

#include <stdint.h>
#include <stdio.h>

typedef enum { KH_LOG_DEBUG = 0, KH_LOG_INFO, KH_LOG_WARN, KH_LOG_ERROR } kh_loglvl_t;

/* Sets the service name and minimum level.  Always succeeds. */
void kh_log_init(const char *service, kh_loglvl_t min);
/* Binds the log PUB socket on `endpoint` (NULL or "": none).  Returns 0 or -1. */
int kh_log_bind(void *zctx, const char *endpoint);
/* The same as a CURVE server (ZAP domain "logs"; the process's ZAP handler decides who
 * may subscribe): for a stream that leaves the host over tcp.  Returns 0 or -1. */
#include <stddef.h>
#include <stdint.h>
int kh_log_bind_curve(void *zctx, const char *endpoint, const uint8_t *server_sk);
/* The bound endpoint (ZMQ_LAST_ENDPOINT).  Returns 0 or -1. */
int kh_log_last_endpoint(char *out, size_t cap);
/* Closes the PUB socket (before zmq_ctx_term). */
void kh_log_close(void);
/* Parses "debug|info|warn|error".  Returns 0 or -1. */
int kh_log_level_parse(const char *s, kh_loglvl_t *out);
const char *kh_log_level_name(kh_loglvl_t l);
extern kh_loglvl_t kh_log_min;

/* Logs one record: `event` is a dotted machine name, `msg` a human sentence; the
 * variadic part is key, value string pairs ending with NULL (a NULL value skips
 * the key).  Use the macros. */
void kh_log_write(kh_loglvl_t lvl, const char *event, const char *msg, ...);

#define kh_log(lvl, event, msg, ...)                                               \
    do {                                                                           \
        if ((lvl) >= kh_log_min)                                                   \
            kh_log_write((lvl), (event), (msg), ##__VA_ARGS__, (const char *)0);   \
    } while (0)
/* ---- lines an outsider can cause ----
 * A refused handshake, a malformed message, a connection cut: a hostile peer can cause
 * them as fast as it likes, so they are rate-limited per (event, source): at most
 * KH_LOG_RL_BURST lines per KH_LOG_RL_WINDOW_MS for one source (e.g. an address or a key),
 * and at most KH_LOG_RL_GLOBAL such lines per window in all (a flood from many sources).
 * The next line written for a source carries "suppressed": how many were not.  The table
 * of sources is bounded (KH_LOG_RL_SLOTS; a new source takes the slot of the one it hashes
 * to).  kh_log_allow returns 1 when the line may be written (then *suppressed says how
 * many were dropped before it), 0 when it is dropped (counted). */
#define KH_LOG_RL_BURST 5
#define KH_LOG_RL_WINDOW_MS 10000
#define KH_LOG_RL_GLOBAL 200
#define KH_LOG_RL_SLOTS 512
int kh_log_allow(const char *event, const char *source, uint64_t *suppressed);
/* Lines dropped by the rate limit since the process started. */
uint64_t kh_log_suppressed_total(void);

#define KH_LOG_RL(lvl, ev, src, msg, ...)                                                  \
    do {                                                                                   \
        uint64_t kh_sup_;                                                                  \
        if ((lvl) >= kh_log_min && kh_log_allow((ev), (src), &kh_sup_)) {                  \
            char kh_supb_[24];                                                             \
            snprintf(kh_supb_, sizeof kh_supb_, "%llu", (unsigned long long)kh_sup_);     \
            kh_log_write((lvl), (ev), (msg), ##__VA_ARGS__, "suppressed",                  \
                         kh_sup_ ? kh_supb_ : (const char *)0, (const char *)0);           \
        }                                                                                  \
    } while (0)
#define KH_ERROR_RL(ev, src, msg, ...) KH_LOG_RL(KH_LOG_ERROR, ev, src, msg, ##__VA_ARGS__)
#define KH_WARN_RL(ev, src, msg, ...) KH_LOG_RL(KH_LOG_WARN, ev, src, msg, ##__VA_ARGS__)
#define KH_INFO_RL(ev, src, msg, ...) KH_LOG_RL(KH_LOG_INFO, ev, src, msg, ##__VA_ARGS__)

#define KH_DEBUG(ev, msg, ...) kh_log(KH_LOG_DEBUG, ev, msg, ##__VA_ARGS__)
#define KH_INFO(ev, msg, ...)  kh_log(KH_LOG_INFO, ev, msg, ##__VA_ARGS__)
#define KH_WARN(ev, msg, ...)  kh_log(KH_LOG_WARN, ev, msg, ##__VA_ARGS__)
#define KH_ERROR(ev, msg, ...) kh_log(KH_LOG_ERROR, ev, msg, ##__VA_ARGS__)

#endif
