/*
 * kh_service.c — process boilerplate shared by every service; see kh_service.h.
 */
#include "kh_service.h"
#include "kh_log.h"
#include "kh_util.h"
#include "kh_zap.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

int kh_service_str(kh_service_t *s, const char *section, const char *key, const char *dflt,
                   char *out, size_t cap)
{
    if (kh_config_str(s->cfg, section, key, dflt, out, cap) < 0 || !out[0]) {
        char msg[160];
        snprintf(msg, sizeof msg, "[%s] %s is missing or too long", section, key);
        KH_ERROR("config.error", msg, "config", s->config_path);
        return -1;
    }
    return 0;
}

static int cfg_long(kh_service_t *s, const char *key, long dflt, long min, long max, long *out)
{
    char err[256];
    if (kh_config_long(s->cfg, "general", key, dflt, min, max, out, err, sizeof err) < 0) {
        fprintf(stderr, "kh-%s: %s: %s\n", s->name, s->config_path, err);
        return -1;
    }
    return 0;
}

int kh_service_init(kh_service_t *s, const char *name, const char *section, int argc,
                    char **argv, const char *usage)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    const char *cfgpath = getenv("KH_CONFIG");
    const char *level = NULL;
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"log-level", required_argument, 0, 'l'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:l:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': cfgpath = optarg; break;
        case 'l': level = optarg; break;
        case 'h':
            printf("usage: kh-%s [--config FILE] [--log-level debug|info|warn|error]\n%s",
                   name, usage);
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
    if (!cfgpath)
        cfgpath = getenv("KH_CONFIG");
    if (!cfgpath)
        cfgpath = "deploy/kh.ini";
    kh_strlcpy(s->config_path, cfgpath, sizeof s->config_path);
    char err[512];
    s->cfg = kh_config_load(cfgpath, err, sizeof err);
    if (!s->cfg) {
        fprintf(stderr, "kh-%s: %s\n", name, err);
        return -1;
    }
    if (district && kh_config_set(s->cfg, "node", "district", district) < 0)
        return -1;
    kh_loglvl_t lvl = KH_LOG_INFO;
    if (!level)
        level = kh_config_raw(s->cfg, "general", "log_level", "info");
    if (kh_log_level_parse(level, &lvl) < 0) {
        fprintf(stderr, "kh-%s: log level '%s' is not debug, info, warn or error\n", name,
                level);
        return -1;
    }
    kh_log_init(name, lvl);
    long hwm, maxmsg, maxout, hb;
    if (kh_config_max_message(s->cfg, 1, &maxmsg, err, sizeof err) < 0 ||
        kh_config_max_message(s->cfg, 0, &maxout, err, sizeof err) < 0) {
        fprintf(stderr, "kh-%s: %s: %s\n", name, s->config_path, err);
        return -1;
    }
    if (cfg_long(s, "hwm", 1000, 1, 1000000, &hwm) < 0 ||
        cfg_long(s, "heartbeat_ms", 2000, 0, 600000, &hb) < 0 ||
        cfg_long(s, "batch_max", 64, 1, 4096, &s->batch_max) < 0 ||
        cfg_long(s, "batch_ms", 5, 0, 10000, &s->batch_ms) < 0 ||
        cfg_long(s, "window", 64, 1, 10000, &s->window) < 0 ||
        cfg_long(s, "resend_ms", 3000, 10, 3600000, &s->resend_ms) < 0 ||
        cfg_long(s, "max_backlog", 1000, 0, 100000000, &s->max_backlog) < 0)
        return -1;
    s->zopts.hwm = (int)hwm;
    s->zopts.max_msg = maxmsg;
    s->max_msg_outside = maxout;
    s->zopts.heartbeat_ms = (int)hb;
    char run_dir[1024];
    if (kh_config_str(s->cfg, "general", "run_dir", ".", run_dir, sizeof run_dir) == 0)
        kh_mkdirs(run_dir, 0755);
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
    if (kh_config_str(s->cfg, section, "log", "", logep, sizeof logep) == 0 &&
        strncmp(logep, "ipc://", 6) != 0 && strncmp(logep, "inproc://", 9) != 0 && logep[0]) {
        /* fail closed: the log PUB has no authentication of its own, so it stays on
         * this host (ipc://); logs travel further through journald */
        fprintf(stderr, "kh-%s: [%s] log = %s: the log stream must be an ipc:// endpoint "
                        "(it carries no authentication)\n", name, section, logep);
        return -1;
    }
    if (kh_config_str(s->cfg, section, "log", "", logep, sizeof logep) == 0 && logep[0] &&
        kh_log_bind(s->zctx, logep) < 0) {
        fprintf(stderr, "kh-%s: cannot bind log endpoint %s: %s\n", name, logep,
                zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

kh_catalog_t *kh_service_catalog(kh_service_t *s)
{
    char dir[1024], err[512];
    long s1, s2;
    if (kh_config_str(s->cfg, "general", "data_dir", "data", dir, sizeof dir) < 0 ||
        kh_config_long(s->cfg, "calendar", "s1_due", 620, 101, 1231, &s1, err, sizeof err) < 0 ||
        kh_config_long(s->cfg, "calendar", "s2_due", 1205, 101, 1231, &s2, err, sizeof err) < 0) {
        KH_ERROR("config.error", "bad [general] data_dir or [calendar]");
        return NULL;
    }
    kh_catalog_t *c = kh_catalog_load(dir, (int)s1, (int)s2, err, sizeof err);
    if (!c)
        KH_ERROR("catalog.error", err, "data_dir", dir);
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
    signal(SIGPIPE, SIG_IGN);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return 0;
}

void kh_service_stop(kh_service_t *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
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
    if (uv_loop_close(&s->loop) == UV_EBUSY)
        uv_walk(&s->loop, report_open, NULL);
    KH_INFO("service.stop", "stopped");
    kh_log_close();
    if (s->zctx)
        zmq_ctx_term(s->zctx);
    kh_config_destroy(&s->cfg);
}

int kh_service_curve(kh_service_t *s)
{
    const char *v = kh_config_raw(s->cfg, "security", "curve", "yes");
    long hs;
    char err[256];
    if (kh_config_long(s->cfg, "security", "handshake_ms", 10000, 100, 600000, &hs, err,
                       sizeof err) < 0) {
        KH_ERROR("config.error", err);
        return -1;
    }
    s->zopts.handshake_ms = (int)hs;
    if (!strcmp(v, "yes"))
        return 1;
    if (!strcmp(v, "no")) {
        KH_WARN("security.off", "[security] curve = no: tcp traffic is neither encrypted nor "
                                "authenticated; use this only on a closed network");
        return 0;
    }
    KH_ERROR("config.error", "[security] curve must be yes or no");
    return -1;
}

int kh_service_key(kh_service_t *s, const char *section, const char *name, const char *dflt,
                   int need_secret, kh_key_t *out)
{
    char path[1024], err[512];
    if (kh_service_str(s, section, name, dflt, path, sizeof path) < 0)
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

int kh_service_keys_db(kh_service_t *s, sqlite3 **db)
{
    char path[1024], err[512];
    if (kh_service_str(s, "security", "keys_db", "%RUN%/keys.db", path, sizeof path) < 0)
        return -1;
    if (kh_keys_open(db, path, err, sizeof err) < 0) {
        KH_ERROR("security.keys_db", err);
        return -1;
    }
    return 0;
}

int kh_service_curve_server(kh_service_t *s, const char *domains, kh_key_t *server,
                            sqlite3 **keys, kh_zap_t **zap)
{
    if (kh_service_key(s, "security", "server_key", "%RUN%/keys/server.key", 1, server) < 0 ||
        kh_service_keys_db(s, keys) < 0 || !(*zap = kh_zap_new(&s->loop, s->zctx, *keys, domains)))
        return -1;
    return 0;
}

static void on_selfcheck(void *arg, int ok)
{
    kh_service_t *s = arg;
    if (ok == 0) {
        KH_INFO("auth.selfcheck", "self-check passed: a client with an unknown key was refused");
        s->ready(s->ready_arg);
        return;
    }
    KH_ERROR("auth.selfcheck", "self-check FAILED: a client with an unknown key was not refused; "
                               "refusing to run with authentication not enforced");
    s->exit_code = 1;
    kh_service_stop(s);
}

int kh_service_selfcheck(kh_service_t *s, kh_zsock_t *sock, const uint8_t server_pk[32],
                         void (*ready)(void *arg), void *arg)
{
    char self[256];
    size_t sl = sizeof self;
    if (zmq_getsockopt(kh_zsock_raw(sock), ZMQ_LAST_ENDPOINT, self, &sl) < 0)
        return -1;
    char *any = strstr(self, "0.0.0.0");
    if (any) {                   /* bound to every address: check through loopback */
        char tail[128];
        kh_strlcpy(tail, any + 7, sizeof tail);
        snprintf(any, sizeof self - (size_t)(any - self), "127.0.0.1%s", tail);
    }
    s->ready = ready;
    s->ready_arg = arg;
    return kh_zap_selfcheck(&s->loop, s->zctx, self, server_pk, 5000, on_selfcheck, s);
}
