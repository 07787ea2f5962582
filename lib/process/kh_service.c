/*
 * kh_service.c — process boilerplate shared by every service; see kh_service.h.
 */
#include "kh_service.h"
#include "kh_catalog.h"
#include "kh_door.h"
#include "kh_db.h"
#include "kh_log.h"
#include "kh_metrics.h"
#include "kh_options.h"
#include "kh_util.h"
#include "kh_zap.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <zmq.h>

static int metrics_start(kh_service_t *s, const char *section);   /* health, at the end */
static void metrics_fini(kh_service_t *s);
static int check_key_load(kh_service_t *s);                        /* self-check, below */
static void check_step(kh_service_t *s);

int kh_service_str(kh_service_t *s, const char *section, const char *key, char *out,
                   size_t cap)
{
    if (kh_config_str(s->cfg, section, key, out, cap) < 0 || !out[0]) {
        char msg[160];
        snprintf(msg, sizeof msg, "[%s] %s is missing or too long", section, key);
        KH_ERROR("config.error", msg, "config", s->config_path);
        return -1;
    }
    return 0;
}

static int cfg_long(kh_service_t *s, const char *key, long *out)
{
    char err[256];
    if (kh_config_long(s->cfg, "general", key, out, err, sizeof err) < 0) {
        fprintf(stderr, "kh-%s: %s: %s\n", s->name, s->config_path, err);
        return -1;
    }
    return 0;
}

/* A bound endpoint (ZMQ_LAST_ENDPOINT) as a client reaches it: one bound to every address
 * is checked through loopback. */
static void via_loopback(char *ep, size_t cap)
{
    char *any = strstr(ep, "0.0.0.0");
    if (any) {
        char tail[128];
        kh_strlcpy(tail, any + 7, sizeof tail);
        snprintf(any, cap - (size_t)(any - ep), "127.0.0.1%s", tail);
    }
}

/* A log stream that leaves the host (tcp): a CURVE server whose ZAP handler lets admin
 * keys only subscribe (domain "logs"), checked at start like the other doors.  Fail
 * closed: without CURVE, a server key or the registry, the service does not start. */
static int log_over_network(kh_service_t *s, const char *section, const char *ep)
{
    kh_key_t server;
    int curve = kh_service_curve(s);
    if (curve != 1) {
        fprintf(stderr, "kh-%s: [%s] log = %s: a log stream over the network needs [security] "
                        "curve = yes (or use an ipc:// endpoint)\n", s->name, section, ep);
        return -1;
    }
    if (kh_service_key(s, "security", "server_key", 1, &server) < 0 ||
        kh_service_keys_db(s, &s->own_keys) < 0 ||
        !(s->own_zap = kh_zap_new(&s->loop, s->zctx, s->own_keys, "logs:admin"))) {
        fprintf(stderr, "kh-%s: [%s] log = %s: cannot authenticate subscribers (see the line "
                        "above): refusing to start\n", s->name, section, ep);
        return -1;
    }
    char self[256];
    if (kh_log_bind_curve(s->zctx, ep, server.curve_sk) < 0 ||
        kh_log_last_endpoint(self, sizeof self) < 0) {
        fprintf(stderr, "kh-%s: cannot bind log endpoint %s: %s\n", s->name, ep,
                zmq_strerror(zmq_errno()));
        return -1;
    }
    via_loopback(self, sizeof self);
    if (check_key_load(s) < 0)
        return -1;
    /* checked once the loop runs (kh_service_run), the service's own setup done */
    kh_strlcpy(s->log_check_ep, self, sizeof s->log_check_ep);
    memcpy(s->log_check_pk, server.curve_pk, sizeof s->log_check_pk);
    return metrics_start(s, section);
}

int kh_service_init(kh_service_t *s, const char *name, const char *section, int argc,
                    char **argv, const char *usage)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    const char *cfgpath = NULL;
    const char *level = NULL;
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"log-level", required_argument, 0, 'l'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:l:hV", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': cfgpath = optarg; break;
        case 'l': level = optarg; break;
        case 'V': {
            char prog[64];
            snprintf(prog, sizeof prog, "kh-%s", name);
            kh_print_version(stdout, prog);
            return 1;
        }
        case 'h':
            printf("usage: kh-%s [--config FILE] [--log-level debug|info|warn|error] "
                   "[--version]\n%s", name, usage);
            kh_config_help(stdout);
            kh_options_help(stdout, section);
            return 1;
        default:
            fprintf(stderr, "kh-%s: unknown option; see --help\n", name);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kh-%s: unexpected argument '%s'; see --help\n", name, argv[optind]);
        return -1;
    }
    return kh_service_start(s, name, section, cfgpath, level, NULL);
}

int kh_service_start(kh_service_t *s, const char *name, const char *section,
                     const char *cfgpath, const char *level, const char *district)
{
    s->name = name;
    umask(KH_UMASK);        /* databases, receipts, sockets: never readable by others */
    cfgpath = kh_config_path(cfgpath, s->config_path, sizeof s->config_path);
    char err[512];
    s->cfg = kh_config_load(cfgpath, err, sizeof err);
    if (!s->cfg) {
        fprintf(stderr, "kh-%s: %s\n", name, err);
        return -1;
    }
    if (kh_config_clock(s->cfg, err, sizeof err) < 0) {
        fprintf(stderr, "kh-%s: %s: %s\n", name, cfgpath, err);
        return -1;
    }
    if (district && kh_config_set(s->cfg, "node", "district", district) < 0)
        return -1;
    kh_loglvl_t lvl = KH_LOG_INFO;
    if (!level)
        level = kh_config_raw(s->cfg, "general", "log_level");
    if (kh_log_level_parse(level, &lvl) < 0) {
        fprintf(stderr, "kh-%s: log level '%s' is not debug, info, warn or error\n", name,
                level);
        return -1;
    }
    kh_log_init(name, lvl);
    /* connections are descriptors: the soft limit (often 1024) goes up to the hard one
     * (LimitNOFILE in the units, deploy/systemd), so a flood of connections cannot keep
     * registered nodes out (issue 11) */
    long nofile = kh_door_raise_nofile(KH_NOFILE_WANT);
    if (nofile >= 0 && nofile < KH_NOFILE_MIN) {
        char lim[24];
        snprintf(lim, sizeof lim, "%ld", nofile);
        KH_WARN("service.limits", "the limit of open files is low: a flood of connections can "
                "keep nodes out; raise LimitNOFILE (deploy/systemd) or ulimit -n",
                "nofile", lim);
    }
    long hwm, maxmsg, maxout, hb, hs;
    if (kh_config_max_message(s->cfg, 1, &maxmsg, err, sizeof err) < 0 ||
        kh_config_max_message(s->cfg, 0, &maxout, err, sizeof err) < 0) {
        fprintf(stderr, "kh-%s: %s: %s\n", name, s->config_path, err);
        return -1;
    }
    if (cfg_long(s, "hwm", &hwm) < 0 ||
        cfg_long(s, "heartbeat_ms", &hb) < 0 ||
        cfg_long(s, "batch_max", &s->batch_max) < 0 ||
        cfg_long(s, "batch_ms", &s->batch_ms) < 0 ||
        cfg_long(s, "window", &s->window) < 0 ||
        cfg_long(s, "resend_ms", &s->resend_ms) < 0 ||
        cfg_long(s, "max_backlog", &s->max_backlog) < 0 ||
        cfg_long(s, "selfcheck_timeout_ms", &s->selfcheck_timeout_ms) < 0 ||
        cfg_long(s, "selfcheck_attempts",
                 &s->selfcheck_attempts) < 0)
        return -1;
    if (kh_config_long(s->cfg, "security", "handshake_ms", &hs, err,
                       sizeof err) < 0) {
        fprintf(stderr, "kh-%s: %s: %s\n", name, s->config_path, err);
        return -1;
    }
    s->zopts.hwm = (int)hwm;
    s->zopts.max_msg = maxmsg;
    s->max_msg_outside = maxout;
    s->zopts.heartbeat_ms = (int)hb;
    /* set here, before any service copies zopts for its sockets (issue 11: read later, in
     * kh_service_curve, it never reached the collector's and the aggregator's sockets) */
    s->zopts.handshake_ms = (int)hs;
    char run_dir[1024];
    if (kh_config_str(s->cfg, "general", "run_dir", run_dir, sizeof run_dir) == 0)
        kh_mkdirs(run_dir, 0750);
    if (uv_loop_init(&s->loop) < 0) {
        fprintf(stderr, "kh-%s: cannot create the event loop\n", name);
        return -1;
    }
    s->zctx = zmq_ctx_new();
    if (!s->zctx) {
        fprintf(stderr, "kh-%s: cannot create the ZeroMQ context\n", name);
        return -1;
    }
    char logep[1024];
    if (kh_config_str(s->cfg, section, "log", logep, sizeof logep) == 0 &&
        strncmp(logep, "ipc://", 6) != 0 && strncmp(logep, "inproc://", 9) != 0 && logep[0])
        return log_over_network(s, section, logep);
    if (kh_config_str(s->cfg, section, "log", logep, sizeof logep) == 0 && logep[0] &&
        kh_log_bind(s->zctx, logep) < 0) {
        fprintf(stderr, "kh-%s: cannot bind log endpoint %s: %s\n", name, logep,
                zmq_strerror(zmq_errno()));
        return -1;
    }
    return metrics_start(s, section);
}

kh_catalog_t *kh_service_catalog(kh_service_t *s)
{
    char err[1024];
    kh_catalog_t *c = kh_catalog_from_config(s->cfg, err, sizeof err);
    if (!c)
        KH_ERROR("catalog.error", err, "config", s->config_path);
    return c;
}

void kh_service_gate(kh_service_t *s, kh_zsock_t *in, int64_t backlog)
{
    if (!in || backlog < 0)
        return;
    char msg[200];
    if (!s->gated && s->max_backlog > 0 && backlog >= s->max_backlog) {
        s->gated = 1;
        kh_zsock_pause(in, 1);
        snprintf(msg, sizeof msg, "%lld messages wait for the next stage (max_backlog %ld): "
                 "taking nothing new until fewer than %ld wait", (long long)backlog,
                 s->max_backlog, s->max_backlog / 2);
        KH_WARN("backpressure.on", msg);
    } else if (s->gated && (s->max_backlog <= 0 || backlog < s->max_backlog / 2)) {
        s->gated = 0;
        kh_zsock_pause(in, 0);
        snprintf(msg, sizeof msg, "%lld messages wait for the next stage: taking new ones "
                 "again", (long long)backlog);
        KH_INFO("backpressure.off", msg);
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    kh_service_t *s = h->data;
    if (s->stopping)
        return;                     /* a second signal while draining: the same stop */
    KH_INFO("service.signal", signum == SIGTERM ? "SIGTERM: draining and stopping"
                                                : "SIGINT: draining and stopping");
    kh_service_stop(s);
}

int kh_service_run(kh_service_t *s)
{
    uv_signal_init(&s->loop, &s->sigterm);
    uv_signal_init(&s->loop, &s->sigint);
    s->sigterm.data = s->sigint.data = s;
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    s->signals_on = 1;
    signal(SIGPIPE, SIG_IGN);
    if (!s->stopping)
        check_step(s);              /* the self-checks, then ready */
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return s->exit_code;
}

/* systemd's notification socket ($NOTIFY_SOCKET; sd_notify does nothing without it).
 * STATUS= is one line: a newline in msg would start another assignment. */
static int notify(kh_service_t *s, const char *state, const char *msg)
{
    char status[512];
    size_t i = 0;
    for (; msg && msg[i] && i + 1 < sizeof status; i++)
        status[i] = (msg[i] == '\n' || msg[i] == '\r') ? ' ' : msg[i];
    status[i] = '\0';
    int rc = sd_notifyf(0, "%s\nSTATUS=%s", state, status);
    if (rc < 0) {
        char why[200];
        snprintf(why, sizeof why, "could not tell systemd %s: %s", state, strerror(-rc));
        KH_WARN("service.notify", why, "service", s->name);
        return -1;
    }
    return 0;
}

int kh_service_notify_ready(kh_service_t *s, const char *msg)
{
    return notify(s, "READY=1", msg);
}

void kh_service_stop(kh_service_t *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    s->check_stage = 3;             /* no further check, never ready */
    kh_zap_selfcheck_cancel(s->check);
    s->check = NULL;
    notify(s, "STOPPING=1", "draining and stopping");
    if (s->own_zap) {
        kh_zap_close(s->own_zap);
        s->own_zap = NULL;
    }
    /* the signal handles stay (unreferenced: the loop ends without them) until
     * kh_service_fini, so a second SIGTERM while draining (a supervisor that signals
     * the process and its group) is taken as the same stop, not the default action */
    if (s->signals_on) {
        uv_unref((uv_handle_t *)&s->sigterm);
        uv_unref((uv_handle_t *)&s->sigint);
    }
    if (s->on_stop)
        s->on_stop(s);
}

static void report_open(uv_handle_t *h, void *arg)
{
    (void)arg;
    KH_ERROR("service.leak", uv_handle_type_name(uv_handle_get_type(h)));
}

void kh_service_fini(kh_service_t *s)
{
    metrics_fini(s);
    if (s->signals_on) {
        /* closing gives SIGTERM/SIGINT their default action back: a late one (the
         * second of a supervisor that signals the process, then its group) must not
         * turn this clean exit into a kill, so they are ignored from here on; blocked
         * meanwhile, since uv_close restores SIG_DFL before we can set SIG_IGN (a
         * signal pending then is discarded by SIG_IGN) */
        sigset_t both, old;
        sigemptyset(&both);
        sigaddset(&both, SIGTERM);
        sigaddset(&both, SIGINT);
        sigprocmask(SIG_BLOCK, &both, &old);
        uv_close((uv_handle_t *)&s->sigterm, NULL);
        uv_close((uv_handle_t *)&s->sigint, NULL);
        signal(SIGTERM, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        sigprocmask(SIG_SETMASK, &old, NULL);
        uv_run(&s->loop, UV_RUN_NOWAIT);    /* completes the closes */
        s->signals_on = 0;
    }
    if (uv_loop_close(&s->loop) == UV_EBUSY)
        uv_walk(&s->loop, report_open, NULL);
    KH_INFO("service.stop", "stopped");
    kh_log_close();
    kh_keys_destroy(&s->own_keys);
    if (s->zctx)
        zmq_ctx_term(s->zctx);
    kh_config_destroy(&s->cfg);
    sodium_memzero(s->check_sk, sizeof s->check_sk);
}

int kh_service_curve(kh_service_t *s)
{
    if (kh_config_yes(s->cfg, "security", "curve"))     /* yes or no: kh_config_load */
        return 1;
    KH_WARN("security.off", "[security] curve = no: tcp traffic is neither encrypted nor "
                            "authenticated; use this only on a closed network");
    return 0;
}

int kh_service_key(kh_service_t *s, const char *section, const char *name, int need_secret,
                   kh_key_t *out)
{
    char path[1024], err[512];
    if (kh_service_str(s, section, name, path, sizeof path) < 0)
        return -1;
    if (kh_key_read(path, out, err, sizeof err) < 0) {
        KH_ERROR("security.key", err, "hint", "create keys with kh-admin keys (see README)");
        return -1;
    }
    if (need_secret && !out->has_secret) {
        KH_ERROR("security.key", "this key file holds no secret key", "path", path);
        return -1;
    }
    return 0;
}

int kh_service_keys_db(kh_service_t *s, kh_keys_t **keys)
{
    char path[1024], err[512];
    if (kh_service_str(s, "security", "keys_db", path, sizeof path) < 0)
        return -1;
    if (kh_keys_open(keys, path, err, sizeof err) < 0) {
        KH_ERROR("security.keys_db", err);
        return -1;
    }
    return 0;
}

int kh_service_curve_server(kh_service_t *s, const char *domains, kh_key_t *server,
                            kh_keys_t **keys, kh_zap_t **zap)
{
    if (kh_service_key(s, "security", "server_key", 1, server) < 0)
        return -1;
    if (s->own_zap) {
        /* one handler per context: the log stream's, which now serves these domains too
         * and passes to the caller with the registry */
        if (kh_zap_add_domains(s->own_zap, domains) < 0) {
            KH_ERROR("auth.start", "too many ZAP domains");
            return -1;
        }
        *zap = s->own_zap;
        *keys = s->own_keys;
        s->own_zap = NULL;
        s->own_keys = NULL;
        return 0;
    }
    if (kh_service_keys_db(s, keys) < 0 || !(*zap = kh_zap_new(&s->loop, s->zctx, *keys, domains)))
        return -1;
    return 0;
}

/* ---- the start-up self-check ------------------------------------------------------------- */

/* [security] selfcheck_key, read once: empty (the default) leaves the client a fresh
 * random key per attempt.  Returns 0, or -1 after logging. */
static int check_key_load(kh_service_t *s)
{
    if (s->check_key_loaded)
        return 0;
    char path[1024], err[512];
    if (kh_config_str(s->cfg, "security", "selfcheck_key", path, sizeof path) < 0) {
        KH_ERROR("config.error", "[security] selfcheck_key is too long", "config", s->config_path);
        return -1;
    }
    if (path[0]) {
        kh_key_t k;
        if (kh_key_read(path, &k, err, sizeof err) < 0) {
            KH_ERROR("config.error", err, "option", "[security] selfcheck_key");
            return -1;
        }
        if (!k.has_secret) {
            KH_ERROR("config.error", "[security] selfcheck_key names a key file without its "
                     "secret (a .key file, not a .pub)", "path", path);
            sodium_memzero(&k, sizeof k);
            return -1;
        }
        memcpy(s->check_pk, k.curve_pk, sizeof s->check_pk);
        memcpy(s->check_sk, k.curve_sk, sizeof s->check_sk);
        s->check_key_set = 1;
        KH_WARN("auth.selfcheck", "[security] selfcheck_key is set: the self-check presents "
                "that key (only to test the alarm: a registered key makes the service refuse "
                "to run)", "key_id", k.id, "path", path);
        sodium_memzero(&k, sizeof k);
    }
    s->check_key_loaded = 1;
    return 0;
}

/* What the check's client presents, for log lines. */
static const char *check_client(const kh_service_t *s)
{
    return s->check_key_set ? "a client with the key of [security] selfcheck_key"
                            : "a client with an unknown key";
}

static void on_check(void *arg, kh_zap_outcome_t outcome, int attempts);

/* Starts one check.  Returns 0, or -1 after logging. */
static int check_start(kh_service_t *s, int type, const char *ep, const uint8_t pk[32],
                       const char *what)
{
    kh_zap_check_opts_t o = {
        .type = type, .endpoint = ep, .server_pk = pk,
        .client_pk = s->check_key_set ? s->check_pk : NULL,
        .client_sk = s->check_key_set ? s->check_sk : NULL,
        .timeout_ms = (int)s->selfcheck_timeout_ms, .max_timeout_ms = KH_SELFCHECK_MAX_WAIT_MS,
        .attempts = (int)s->selfcheck_attempts, .what = what,
    };
    int64_t bound = kh_zap_selfcheck_bound_ms(&o);
    if (bound < 0 || !(s->check = kh_zap_selfcheck(&s->loop, s->zctx, &o, on_check, s)))
        return -1;
    /* systemd: a start that takes this long is not a hung one (Type=notify) */
    char state[64], status[400];
    snprintf(state, sizeof state, "EXTEND_TIMEOUT_USEC=%lld", (long long)(bound + 10000) * 1000);
    snprintf(status, sizeof status, "self-check of %s %s (up to %lld s)", what, ep,
             (long long)(bound + 999) / 1000);
    notify(s, state, status);
    return 0;
}

/* The next step of the start-up: the log stream's check, the door's, then ready. */
static void check_step(kh_service_t *s)
{
    for (;;) {
        switch (s->check_stage++) {
        case 0:
            if (!s->log_check_ep[0])
                break;
            if (check_start(s, ZMQ_SUB, s->log_check_ep, s->log_check_pk, "the log stream") < 0)
                goto fail;
            return;
        case 1:
            if (!s->door_check_ep[0])
                break;
            if (check_start(s, ZMQ_DEALER, s->door_check_ep, s->door_check_pk,
                            "the CURVE endpoint") < 0)
                goto fail;
            return;
        case 2:
            if (s->ready)
                s->ready(s->ready_arg);
            return;
        default:
            return;
        }
    }
fail:
    KH_ERROR("auth.selfcheck", "the self-check could not start: refusing to run with "
             "authentication not proven");
    s->exit_code = KH_EXIT_FAILURE;     /* fail closed: an unchecked door does not run */
    kh_service_stop(s);
}

static void on_check(void *arg, kh_zap_outcome_t outcome, int attempts)
{
    kh_service_t *s = arg;
    s->check = NULL;                    /* freed after this returns */
    if (s->stopping)
        return;                         /* stopped meanwhile: not ready, and no false alarm */
    int log_stream = s->check_stage == 1;
    char what[320], msg[1200], att[16];
    snprintf(what, sizeof what, "%s %s", log_stream ? "the log stream" : "the CURVE endpoint",
             log_stream ? s->log_check_ep : s->door_check_ep);
    snprintf(att, sizeof att, "%d", attempts);
    switch (outcome) {
    case KH_ZAP_REFUSED:
        if (log_stream)
            snprintf(msg, sizeof msg, "self-check passed: the log stream refused %s",
                     check_client(s));
        else
            snprintf(msg, sizeof msg, "self-check passed: %s was refused by %s",
                     check_client(s), what);
        KH_INFO("auth.selfcheck", msg, "attempts", att);
        check_step(s);
        return;
    case KH_ZAP_ADMITTED:
        snprintf(msg, sizeof msg, "self-check FAILED: %s let %s in; refusing to run with "
                 "authentication not enforced%s", what, check_client(s),
                 s->check_key_set ? " ([security] selfcheck_key is set: if that key is "
                                    "registered, this is the alarm being tested; leave it empty "
                                    "to run)" : "");
        KH_ERROR("auth.selfcheck", msg, "attempts", att);
        s->exit_code = KH_EXIT_FAILURE;
        break;
    case KH_ZAP_NO_ANSWER:
    default:
        snprintf(msg, sizeof msg, "self-check got NO ANSWER: %s did not answer the handshake "
                 "of a test client in %d attempts: not known whether authentication is "
                 "enforced, so not ready; stopping with exit code %d (EX_TEMPFAIL) for the "
                 "supervisor to start it again. If this repeats, check the machine's load and "
                 "that this process's ZAP handler answers (raise [general] "
                 "selfcheck_timeout_ms or selfcheck_attempts on a slow machine)", what,
                 attempts, KH_EXIT_TEMPFAIL);
        KH_ERROR("auth.selfcheck", msg, "attempts", att);
        s->exit_code = KH_EXIT_TEMPFAIL;
        break;
    }
    kh_service_stop(s);
}

int kh_service_selfcheck_at(kh_service_t *s, const char *endpoint, const uint8_t server_pk[32],
                            void (*ready)(void *arg), void *arg)
{
    if (!endpoint || kh_strlcpy(s->door_check_ep, endpoint, sizeof s->door_check_ep) < 0) {
        s->door_check_ep[0] = '\0';
        KH_ERROR("auth.selfcheck", "the endpoint to self-check is missing or too long");
        return -1;
    }
    if (check_key_load(s) < 0) {
        s->door_check_ep[0] = '\0';
        return -1;
    }
    memcpy(s->door_check_pk, server_pk, sizeof s->door_check_pk);
    kh_service_on_ready(s, ready, arg);
    return 0;
}

int kh_service_selfcheck(kh_service_t *s, kh_zsock_t *sock, const uint8_t server_pk[32],
                         void (*ready)(void *arg), void *arg)
{
    char self[256];
    size_t sl = sizeof self;
    if (zmq_getsockopt(kh_zsock_raw(sock), ZMQ_LAST_ENDPOINT, self, &sl) < 0) {
        KH_ERROR("auth.selfcheck", "cannot tell where the socket to self-check is bound",
                 "error", zmq_strerror(zmq_errno()));
        return -1;
    }
    via_loopback(self, sizeof self);
    return kh_service_selfcheck_at(s, self, server_pk, ready, arg);
}

void kh_service_on_ready(kh_service_t *s, void (*ready)(void *arg), void *arg)
{
    s->ready = ready;
    s->ready_arg = arg;
}

/* ---- health: the metrics endpoint and what it shows ------------------------------------ */

#define WATCH_COUNTS 24

struct kh_service_metrics {
    uv_timer_t timer;
    int timer_on;
    struct {
        const uint64_t *p;
        kh_metric_t *m;
    } counts[WATCH_COUNTS];
    size_t n_counts;
    kh_metric_t *gated;
};

static struct kh_service_metrics *metrics_get(kh_service_t *s)
{
    if (!s->metrics && !(s->metrics = calloc(1, sizeof *s->metrics)))
        KH_ERROR("metrics.watch", "out of memory");
    return s->metrics;
}

/* Every KH_METRICS_COLLECT_MS: the inboxes' and outboxes' counts (their sources), and the service's own
 * counts.  Not once the stop has begun: on_stop frees what the counts belong to. */
static void metrics_tick(uv_timer_t *t)
{
    kh_service_t *s = t->data;
    struct kh_service_metrics *m = s->metrics;
    if (s->stopping) {
        uv_timer_stop(t);
        return;
    }
    kh_metrics_collect();
    for (size_t i = 0; i < m->n_counts; i++)
        kh_metric_set(m->counts[i].m, (int64_t)*m->counts[i].p);
    kh_metric_set(m->gated, s->gated);
}

int kh_service_watch_count(kh_service_t *s, const char *name, const char *help,
                           const char *label_name, const char *label_value,
                           const uint64_t *count)
{
    struct kh_service_metrics *m = metrics_get(s);
    if (!m || !count)
        return -1;
    if (m->n_counts == WATCH_COUNTS) {
        KH_ERROR("metrics.watch", "too many counts watched", "metric", name ? name : "");
        return -1;
    }
    kh_metric_t *mt = kh_metrics_counter(name, help, label_name, label_value);
    if (!mt)
        return -1;
    m->counts[m->n_counts].p = count;
    m->counts[m->n_counts++].m = mt;
    return 0;
}

/* [section] metrics = HOST:PORT: serve /metrics and copy the counts every KH_METRICS_COLLECT_MS. */
static int metrics_start(kh_service_t *s, const char *section)
{
    char addr[128], err[256];
    if (kh_config_str(s->cfg, section, "metrics", addr, sizeof addr) < 0) {
        fprintf(stderr, "kh-%s: [%s] metrics is too long\n", s->name, section);
        return -1;
    }
    if (!addr[0])
        return 0;
    struct kh_service_metrics *m = metrics_get(s);
    if (!m || kh_metrics_init(s->name) < 0)
        return -1;
    m->gated = kh_metrics_gauge("kh_backpressure", "1 while this service takes no new input "
                                "(max_backlog messages wait for the next stage).", NULL, NULL);
    if (kh_metrics_serve(addr, err, sizeof err) < 0) {
        fprintf(stderr, "kh-%s: %s: [%s] %s\n", s->name, s->config_path, section, err);
        return -1;
    }
    char sock[256];
    if (kh_config_str(s->cfg, section, "metrics_socket", sock, sizeof sock) < 0)
        sock[0] = '\0';
    if (sock[0] && kh_metrics_serve_unix(sock, err, sizeof err) < 0)
        KH_WARN("metrics.socket", "no private metrics socket: kh-admin status reads the tcp "
                "endpoint instead (a client holding its connections can hide this service); "
                "set a shorter [section] metrics_socket", "error", err);
    uv_timer_init(&s->loop, &m->timer);
    m->timer.data = s;
    m->timer_on = 1;
    uv_timer_start(&m->timer, metrics_tick, 0, KH_METRICS_COLLECT_MS);
    uv_unref((uv_handle_t *)&m->timer);      /* the loop ends without waiting for it */
    char msg[200];
    snprintf(msg, sizeof msg, "metrics on http://%s/metrics", addr);
    KH_INFO("metrics.listen", msg);
    return 0;
}

static void metrics_fini(kh_service_t *s)
{
    kh_metrics_stop();
    struct kh_service_metrics *m = s->metrics;
    if (!m)
        return;
    if (m->timer_on) {
        uv_close((uv_handle_t *)&m->timer, NULL);
        uv_run(&s->loop, UV_RUN_NOWAIT);    /* completes the close */
    }
    free(m);
    s->metrics = NULL;
}
