/*
 * kh_service.h — what every process does around its own logic: command line
 * (--config, --log-level, --help), the configuration file, logging (stderr and the
 * log PUB endpoint), the ZeroMQ context, the libuv loop, and SIGTERM/SIGINT, which
 * call the service's stop function so it can drain and close its handles; the loop
 * then ends by itself and kh_service_fini checks nothing was left open.
 *
 * Exit status (what every service's main returns; systemd's Restart=on-failure
 * restarts on anything but 0):
 *   KH_EXIT_OK (0)        stopped by SIGTERM or SIGINT (or --help printed);
 *   KH_EXIT_FAILURE (1)   stopped for a failure: a bad configuration value, a catalogue,
 *                         key or database it cannot read or open, an endpoint or port
 *                         it cannot bind, a self-check that could not start, and a
 *                         self-check that let a client in (authentication not enforced);
 *                         always after a one-line reason on stderr;
 *   KH_EXIT_TEMPFAIL (75) the self-check got no answer in all its attempts (EX_TEMPFAIL:
 *                         not known whether authentication is enforced; try again).
 */
#ifndef KH_SERVICE_H
#define KH_SERVICE_H

#include <uv.h>

#include "kh_config.h"
#include "kh_log.h"
#include "kh_zuv.h"

#define KH_EXIT_OK 0
#define KH_EXIT_FAILURE 1
#define KH_EXIT_TEMPFAIL 75          /* sysexits.h EX_TEMPFAIL */

/* The self-check's bounds ([general] selfcheck_timeout_ms, selfcheck_attempts): the
 * first attempt waits selfcheck_timeout_ms, each further one twice as long as the one
 * before, at most KH_SELFCHECK_MAX_WAIT_MS (defaults: 5 s, 10, 20, 40, 60, 60: 195 s). */
#define KH_SELFCHECK_TIMEOUT_MS 5000
#define KH_SELFCHECK_ATTEMPTS 6
#define KH_SELFCHECK_MAX_WAIT_MS 60000

/* Open files a service asks for at start (its soft limit raised up to its hard limit), and
 * below which it warns: max_connections (4096) node connections, and a reserve for its
 * databases, sockets and the connections a flood holds until they are cut. */
#define KH_NOFILE_WANT 65536
#define KH_NOFILE_MIN 8192

typedef struct kh_service {
    const char *name;
    kh_config_t *cfg;
    uv_loop_t loop;
    void *zctx;
    uv_signal_t sigterm, sigint;
    int signals_on;              /* sigterm, sigint started (kh_service_run) until fini */
    void (*on_stop)(struct kh_service *s);
    void *arg;
    int stopping;
    int exit_code;               /* what main returns: KH_EXIT_OK unless a failure set it */
    void (*ready)(void *arg);    /* called once every self-check passed (kh_service_on_ready) */
    void *ready_arg;
    long selfcheck_timeout_ms;   /* [general] selfcheck_timeout_ms */
    long selfcheck_attempts;     /* [general] selfcheck_attempts */
    struct kh_zap_check *check;  /* the self-check running, NULL when none */
    int check_stage;             /* next step: 0 the log stream, 1 the door, 2 ready, 3 done */
    char door_check_ep[256];     /* the CURVE door to self-check (kh_service_selfcheck) */
    uint8_t door_check_pk[32];
    int check_key_loaded;        /* [security] selfcheck_key read (or found empty) */
    int check_key_set;           /* …and set: the self-check client presents this key */
    uint8_t check_pk[32], check_sk[32];
    kh_zopts_t zopts;            /* from [general]: hwm, internal_max_message_bytes, heartbeat_ms */
    int64_t max_msg_outside;     /* [general] max_message_bytes: what nodes may send */
    long batch_max, batch_ms, window, resend_ms;
    long max_backlog;            /* [general] max_backlog; 0: no limit (kh_service_gate) */
    int gated;                   /* input paused by kh_service_gate */
    struct kh_service_metrics *metrics;  /* health: timer and watched counts (kh_service.c) */
    struct kh_zap *own_zap;      /* the ZAP handler of a tcp log stream, until a */
    struct kh_keys *own_keys;    /* kh_service_curve_server takes them over     */
    char log_check_ep[256];      /* the tcp log stream, self-checked when the loop starts */
    uint8_t log_check_pk[32];
    char config_path[1024];
} kh_service_t;

/* Parses argv, loads the config, starts logging (binding [section] log), creates the
 * loop and the ZeroMQ context.  `section` names the config section for this
 * process.  Returns 0 to go on, 1 when --help was printed, -1 after printing a
 * one-line reason. */
int kh_service_init(kh_service_t *s, const char *name, const char *section, int argc,
                    char **argv, const char *usage);

/* The same without the command line (kh-node parses its own): cfgpath NULL means
 * $KH_CONFIG or deploy/kh.ini; level NULL means the config's; district, when not
 * NULL, sets [node] district (for %DISTRICT%).  First of all it sets the umask
 * KH_UMASK (kh_util.h): what the process creates is 0640 (folders 0750) or stricter.
 * Returns 0 or -1. */
int kh_service_start(kh_service_t *s, const char *name, const char *section,
                     const char *cfgpath, const char *level, const char *district);

/* Loads the catalogue from [general] data_dir.  Returns NULL after logging. */
typedef struct kh_catalog kh_catalog_t;          /* kh_catalog.h */
kh_catalog_t *kh_service_catalog(kh_service_t *s);

/* Path/endpoint from the config (its value or the table's default), expanded; logs and
 * returns -1 when empty/too long. */
int kh_service_str(kh_service_t *s, const char *section, const char *key, char *out,
                   size_t cap);

/* Backpressure (guarantee 4: a slow stage slows the one before it).  Call after each
 * commit and on a timer with `backlog`, the messages waiting in this service's outboxes
 * for the next stage: at max_backlog it stops reading `in` (what the senders send waits
 * in their own outboxes, so the slowness travels back, stage by stage, to the nodes);
 * below half of it, it reads again.  Logs each change. */
void kh_service_gate(kh_service_t *s, kh_zsock_t *in, int64_t backlog);

/* Starts watching signals, starts the self-checks (see below) and runs the loop until
 * every handle is closed.  Returns s->exit_code (what main should return). */
int kh_service_run(kh_service_t *s);
/* ---- security ([security] in the config) ---- */
#include "kh_keys.h"
/* [security] curve = yes|no: 1 on (the default), 0 off (logged as a warning: only on a
 * closed network). */
int kh_service_curve(kh_service_t *s);
/* Reads the key file named by [section] name.  need_secret: it must hold the secret key.
 * Returns 0, or -1 after logging why. */
int kh_service_key(kh_service_t *s, const char *section, const char *name, int need_secret,
                   kh_key_t *out);
/* Opens the key registry [security] keys_db into *keys (the caller frees it with
 * kh_keys_destroy).  Returns 0 or -1 after logging. */
int kh_service_keys_db(kh_service_t *s, kh_keys_t **keys);
/* The CURVE server side of this process: reads [security] server_key (it must hold
 * the secret), opens the registry and binds the ZAP handler for `domains` (see
 * kh_zap_new).  *keys and *zap are the caller's (the registry destroyed after the
 * handler is closed).  Fail closed: returns -1 after logging when any of it is missing. */
struct kh_zap;
int kh_service_curve_server(kh_service_t *s, const char *domains, kh_key_t *server,
                            kh_keys_t **keys, struct kh_zap **zap);
/* ---- the start-up self-check (lib/security/kh_zap.h) ----
 * Before a process says it is ready, it proves that each CURVE server it runs refuses a
 * client with a key nobody registered: first its tcp log stream, if it has one (domain
 * "logs"), then the door named with kh_service_selfcheck.  Each check retries "no
 * answer" within [general] selfcheck_timeout_ms / selfcheck_attempts (see above; the
 * start timeout systemd allows is extended to the bound, EXTEND_TIMEOUT_USEC), and ends:
 *   refused  -> logged (info), the next check, and at the end ready(arg);
 *   let in   -> error "self-check FAILED: … let in", exit code KH_EXIT_FAILURE, stop;
 *   no answer after every attempt -> error (what to do), exit code KH_EXIT_TEMPFAIL,
 *               stop: the service never says it is ready.
 * [security] selfcheck_key = PATH (a key file with its secret, as kh-admin keys
 * generate writes it; empty, the default: a fresh random key each attempt) makes the
 * client present that key: set to a registered key of a role the door admits, it is
 * really let in and the service must refuse to run (a test of the alarm).
 * The checks run once the loop starts (kh_service_run); a stop cancels them. */

/* Names `sock`, a bound CURVE server socket of this process (its ZMQ_LAST_ENDPOINT;
 * 0.0.0.0 is reached through 127.0.0.1), as the door to self-check, with the server's
 * public key; ready(arg) is called once every check passed.  Returns 0, or -1 after
 * logging (no endpoint, [security] selfcheck_key unreadable). */
int kh_service_selfcheck(kh_service_t *s, kh_zsock_t *sock, const uint8_t server_pk[32],
                         void (*ready)(void *arg), void *arg);
/* The same with the endpoint as a client reaches it (< 256 bytes). */
int kh_service_selfcheck_at(kh_service_t *s, const char *endpoint, const uint8_t server_pk[32],
                            void (*ready)(void *arg), void *arg);
/* For a process without a CURVE door: ready(arg) once its tcp log stream passed its
 * self-check, or, without one, as soon as the loop starts.  A process that names no
 * continuation still has its log stream checked (and stops if it fails). */
void kh_service_on_ready(kh_service_t *s, void (*ready)(void *arg), void *arg);

/* Begins the stop: tells systemd STOPPING=1 (sd_notify), cancels a running self-check,
 * lets the loop end without the signal handles (a further SIGTERM/SIGINT while draining
 * is the same stop; kh_service_fini closes them) and calls on_stop once. */
void kh_service_stop(kh_service_t *s);

/* Readiness (systemd Type=notify): kh_service_ready(s, msg [, key, value]...) logs the
 * "service.ready" event with msg (and the optional key, value string pairs, as KH_INFO
 * takes them), then kh_service_notify_ready sends READY=1 and STATUS=msg to
 * $NOTIFY_SOCKET.  Without NOTIFY_SOCKET (outside systemd) nothing is sent.  A macro, so
 * that each service keeps the fields of its ready line. */
#define kh_service_ready(s, msg, ...)                                                  \
    do {                                                                               \
        KH_INFO("service.ready", (msg), ##__VA_ARGS__);                                \
        kh_service_notify_ready((s), (msg));                                           \
    } while (0)
/* Sends READY=1 and STATUS=msg.  Returns 0 (also when there is no NOTIFY_SOCKET), or -1
 * after logging a warning when the notification could not be sent. */
int kh_service_notify_ready(kh_service_t *s, const char *msg);
/* Ends logging, terminates the ZeroMQ context, frees the config.  After kh_service_run,
 * SIGTERM and SIGINT are ignored from here on (the process is exiting with its status). */
void kh_service_fini(kh_service_t *s);

/* ---- health: the metrics endpoint (lib/process/kh_metrics.h) ----
 * kh_service_start starts it when [section] metrics = HOST:PORT is set (empty or absent:
 * off) and fails, with a one-line reason, when it cannot listen there; kh_service_fini
 * stops it.  Every KH_METRICS_COLLECT_MS (on the loop thread) it collects every inbox's and outbox's
 * counts (kh_inbox_*_total, kh_outbox_*{outbox="name"}) and the counts watched below.
 * A count can also be a kh_metric_t the service updates itself (kh_metric_inc). */
/* Exports a count the service keeps itself (a uint64_t it increments on the loop
 * thread) as the counter `name` with at most one label, e.g.
 *     kh_service_watch_count(s, "kh_reports_accepted_total", "Reports accepted.",
 *                            NULL, NULL, &v->accepted);
 * Returns 0, or -1 after logging (too many counts, registry full); the service goes on. */
int kh_service_watch_count(kh_service_t *s, const char *name, const char *help,
                           const char *label_name, const char *label_value,
                           const uint64_t *count);

#endif
