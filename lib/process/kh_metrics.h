/*
 * kh_metrics.h — a process-wide registry of counters and gauges, and an HTTP endpoint
 * (libmicrohttpd) serving them as Prometheus text (GET /metrics, format 0.0.4).
 *
 * Registering (once, at start-up, on the loop thread):
 *
 *     static kh_metric_t *m_sent;
 *     m_sent = kh_metrics_counter("kh_receipts_sent_total", "Receipts sent to nodes", NULL, NULL);
 *     m_depth = kh_metrics_gauge("kh_outbox_depth", "Messages waiting", "outbox", "collector");
 *
 * Updating (any thread; values are C11 atomics, the HTTP thread only reads them):
 *
 *     kh_metric_inc(m_sent);            kh_metric_add(m_sent, 3);
 *     kh_metric_set(m_depth, depth);    (a gauge, or a counter copied from elsewhere)
 *
 * Every update function accepts NULL and then does nothing, so a service whose
 * registration failed (registry full: logged) keeps running without that series.
 * Registering the same name and label twice returns the same series; the same name
 * with another label value adds a series to that family (HELP/TYPE printed once).
 *
 * Names: kh_<what>_total for counters, a plain noun for gauges; [a-zA-Z_:][a-zA-Z0-9_:]*.
 * At most one label per series (e.g. outbox="validator"); the process adds
 * kh_service_info{service,version} 1, kh_process_start_time_seconds and kh_uptime_seconds
 * itself.  Counters count since the process started (a restart starts them at 0).
 *
 * Counters every service exports (each inbox and outbox is a source, see below; lib/process/kh_service.c
 * collects them every KH_METRICS_COLLECT_MS):
 *   kh_inbox_received_total, kh_inbox_applied_total, kh_inbox_duplicates_total,
 *   kh_inbox_malformed_total, kh_inbox_commits_total, kh_inbox_failed_commits_total,
 *   kh_outbox_depth{outbox}, kh_outbox_queued_total{outbox}, kh_outbox_resent_total{outbox},
 *   kh_outbox_acked_total{outbox}, kh_backpressure (1 while input is paused).
 * Service-specific ones: see README "Health".
 */
#ifndef KH_METRICS_H
#define KH_METRICS_H

#include <stddef.h>
#include <stdint.h>

#ifndef KH_VERSION
#define KH_VERSION "dev"
#endif

#define KH_METRICS_MAX 128        /* series in the registry */
#define KH_METRICS_NAME_MAX 64    /* metric name, label name and label value, bytes */
#define KH_METRICS_HELP_MAX 160
#define KH_METRICS_TEXT_MAX 131072 /* the exposition never grows beyond this (a full
                                     registry of the longest names, escaped, is ~97 KiB) */

typedef struct kh_metric kh_metric_t;

/* Sets the service name for kh_service_info and the process start time.  Call once,
 * first.  Returns 0, or -1 when the name is empty or too long. */
int kh_metrics_init(const char *service);

/* A counter (only goes up) or a gauge.  label_name/label_value: both NULL, or both set.
 * Returns the series, or NULL (logged) when a name is invalid or too long, when the name
 * is already registered as the other type, or when the registry is full. */
kh_metric_t *kh_metrics_counter(const char *name, const char *help, const char *label_name,
                                const char *label_value);
kh_metric_t *kh_metrics_gauge(const char *name, const char *help, const char *label_name,
                              const char *label_value);

void kh_metric_add(kh_metric_t *m, uint64_t n);   /* counter or gauge: += n */
void kh_metric_inc(kh_metric_t *m);               /* += 1 */
void kh_metric_set(kh_metric_t *m, int64_t v);    /* gauge, or a counter mirrored from
                                                     a count kept elsewhere */
int64_t kh_metric_get(const kh_metric_t *m);      /* 0 for NULL */

/* Writes the whole registry as Prometheus text into buf (NUL-terminated).  now_ms: the
 * wall clock (for uptime).  Returns the length, or -1 when cap is too small. */
long kh_metrics_format(char *buf, size_t cap, int64_t now_ms);

/* Serves GET /metrics on "HOST:PORT" (IPv4 address, e.g. 127.0.0.1:7104) from a thread of
 * libmicrohttpd's own; anything else is 404.  Returns 0, or -1 with a one-line reason in
 * err (a bad address, the port taken). */
int kh_metrics_serve(const char *hostport, char *err, size_t errcap);
#define KH_METRICS_CONNECTIONS 64   /* open at once on the tcp endpoint */
#define KH_METRICS_PER_IP 16        /* … from one address */
/* The same on a private unix socket (mode 0660: the service's user and group), which
 * kh-admin status reads first: a client holding the tcp endpoint's connections open (a
 * slowloris) cannot make a running service look down (issue 11).  Returns 0 or -1. */
int kh_metrics_serve_unix(const char *path, char *err, size_t errcap);
/* Stops the servers (if any) and waits for their threads.  Safe to call twice. */
void kh_metrics_stop(void);

/* Sources: objects that keep their own counts (kh_inbox, kh_outbox) register a function
 * that copies them into their series; kh_metrics_collect calls every one (kh_service does
 * it every KH_METRICS_COLLECT_MS while the endpoint is on).  Loop thread only.  add returns 0, or -1
 * when KH_METRICS_SOURCES_MAX are registered (logged); remove (by arg) before freeing. */
#define KH_METRICS_SOURCES_MAX 32
#define KH_METRICS_COLLECT_MS 500
typedef void (*kh_metrics_source_fn)(void *arg);
int kh_metrics_source_add(kh_metrics_source_fn fn, void *arg);
void kh_metrics_source_remove(void *arg);
void kh_metrics_collect(void);

/* Empties the registry (for tests; not while serving). */
void kh_metrics_reset(void);

#endif
