/*
 * kh-logs — one live stream of every service's log, for the admin on call.
 *
 * Subscribes to every log PUB endpoint in [logs] endpoints (an entry containing
 * %DISTRICT% stands for one endpoint per district in force: the nodes), parses each
 * JSON line and prints those that pass the filters, as text or as the JSON itself.
 * The text form escapes every field (kh_escape, lib/base/kh_util.h): one line per record.
 *
 *   kh-logs [--service S] [--level L] [--district D] [--report ID] [--grep TEXT]
 *           [--json] [--count N] [--idle-ms MS] [--connect ENDPOINT]...
 */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "kh_catalog.h"
#include "kh_keys.h"
#include "kh_config.h"
#include "kh_log.h"
#include "kh_options.h"
#include "kh_util.h"
#include "kh_zuv.h"

#define MAX_ENDPOINTS 2048

static const char usage[] =
    "usage: kh-logs [--service NAME] [--level debug|info|warn|error] [--district CODE]\n"
    "               [--report ID] [--grep TEXT] [--json] [--count N] [--idle-ms MS]\n"
    "               [--connect ENDPOINT]... [--config FILE]\n"
    "Shows the log lines of every service and node, live.  --level shows that level\n"
    "and above; --count / --idle-ms stop after N lines / MS without one.\n";

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

/* A subscriber to every line; with keys, a CURVE client (for tcp endpoints). */
static void *make_sub(void *zctx, const kh_key_t *me, const kh_key_t *server)
{
    kh_zopts_t o = {.rcvhwm = 100000, .max_msg = 1 << 20};
    if (me) {
        o.curve_server_pk = server->curve_pk;
        o.curve_pk = me->curve_pk;
        o.curve_sk = me->curve_sk;
    }
    void *sub = kh_zsocket(zctx, ZMQ_SUB, &o);
    if (sub && zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0) < 0) {
        zmq_close(sub);
        return NULL;
    }
    return sub;
}

/* A log stream over tcp is CURVE (an admin's key, [logs] key): the second subscriber. */
static void *curve_sub(void *zctx, kh_config_t *cfg, const char *ep)
{
    char kpath[1024], spath[1024], err[512];
    kh_key_t me = {0}, server = {0};
    kh_config_str(cfg, "logs", "key", kpath, sizeof kpath);
    kh_config_str(cfg, "logs", "server_key", spath, sizeof spath);
    if (kh_key_read(kpath, &me, err, sizeof err) < 0 || !me.has_secret) {
        fprintf(stderr, "kh-logs: %s is a tcp endpoint: it needs an admin's secret key "
                        "([logs] key): %s\n", ep, me.id[0] ? "that file holds no secret key" : err);
        return NULL;
    }
    if (kh_key_read(spath, &server, err, sizeof err) < 0) {
        fprintf(stderr, "kh-logs: %s: the server's public key ([logs] server_key): %s\n", ep, err);
        return NULL;
    }
    void *sub = make_sub(zctx, &me, &server);
    if (!sub)
        fprintf(stderr, "kh-logs: cannot set up CURVE: %s\n", zmq_strerror(zmq_errno()));
    return sub;
}

/* tcp (and other network transports) need CURVE; ipc stays on the host. */
static int is_network(const char *ep)
{
    return strncmp(ep, "ipc://", 6) != 0 && strncmp(ep, "inproc://", 9) != 0;
}

static const char *field(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* A field for the text form, escaped (kh_escape: a newline, a control character or a
 * byte of invalid UTF-8 in it, e.g. from a file name, never breaks the one line per
 * record); cut to fit in cap when it is longer, which the line then shows as "…". */
static const char *text_field(json_t *o, const char *k, char *buf, size_t cap)
{
    if (kh_escape(field(o, k), buf, cap - 3) < 0) {     /* room left for "…" */
        size_t n = strlen(buf);
        kh_strlcpy(buf + n, "…", cap - n);
    }
    return buf;
}

int main(int argc, char **argv)
{
    umask(KH_UMASK);        /* whatever it may create: never readable by others (kh_util.h) */
    const char *cfgpath = NULL, *service = NULL, *district = NULL,
               *report = NULL, *grep = NULL;
    const char *extra[64];
    int n_extra = 0, as_json = 0;
    long count = 0, idle_ms = 0;
    kh_loglvl_t min = KH_LOG_DEBUG;
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"service", required_argument, 0, 's'},
        {"level", required_argument, 0, 'l'},  {"district", required_argument, 0, 'd'},
        {"report", required_argument, 0, 'r'}, {"grep", required_argument, 0, 'g'},
        {"json", no_argument, 0, 'j'},         {"count", required_argument, 0, 'n'},
        {"idle-ms", required_argument, 0, 'i'}, {"connect", required_argument, 0, 'C'},
        {"help", no_argument, 0, 'h'},         {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "c:s:l:d:r:g:jn:i:C:hV", opts, NULL)) != -1) {
        switch (ch) {
        case 'V': kh_print_version(stdout, "kh-logs"); return 0;
        case 'c': cfgpath = optarg; break;
        case 's': service = optarg; break;
        case 'l':
            if (kh_log_level_parse(optarg, &min) < 0) {
                fprintf(stderr, "kh-logs: --level must be debug, info, warn or error\n");
                return 2;
            }
            break;
        case 'd': district = optarg; break;
        case 'r': report = optarg; break;
        case 'g': grep = optarg; break;
        case 'j': as_json = 1; break;
        case 'n':
        case 'i':
            if (kh_parse_long(optarg, 0, 86400000, ch == 'n' ? &count : &idle_ms) < 0) {
                fprintf(stderr, "kh-logs: '%s' is not a number\n", optarg);
                return 2;
            }
            break;
        case 'C':
            if (n_extra == 64) {
                fprintf(stderr, "kh-logs: at most 64 --connect\n");
                return 2;
            }
            extra[n_extra++] = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            kh_config_help(stdout);
            kh_options_help(stdout, "logs");
            return 0;
        default: fprintf(stderr, "kh-logs: bad option; see kh-logs --help\n"); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kh-logs: unexpected argument '%s'; see --help\n", argv[optind]);
        return 2;
    }
    char err[512];
    char path[PATH_MAX];
    kh_config_t *cfg = kh_config_load(kh_config_path(cfgpath, path, sizeof path), err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "kh-logs: %s\n", err);
        return 1;
    }
    if (kh_config_clock(cfg, err, sizeof err) < 0) {
        fprintf(stderr, "kh-logs: %s\n", err);
        kh_config_destroy(&cfg);
        return 1;
    }
    kh_config_set(cfg, "node", "district", "%DISTRICT%");   /* keep the token for below */
    char list[8192], data[1024];
    kh_config_str(cfg, "logs", "endpoints", list, sizeof list);
    kh_config_str(cfg, "general", "data_dir", data, sizeof data);
    kh_catalog_t *cat = kh_catalog_load(data, 620, 1205, err, sizeof err);
    /* %DISTRICT%: every unit that reports on some day (a node of a past period may still
     * send late reports), at most MAX_ENDPOINTS of them */
    static const kh_unit_t *districts[MAX_ENDPOINTS];
    size_t n_districts = 0;
    if (cat) {
        n_districts = kh_catalog_reporters_ever(cat, districts, MAX_ENDPOINTS);
        if (n_districts > MAX_ENDPOINTS)
            n_districts = MAX_ENDPOINTS;
    }
    void *zctx = zmq_ctx_new();
    void *sub = make_sub(zctx, NULL, NULL), *ssub = NULL;
    int n_ep = 0, bad = 0;
    for (char *save = NULL, *tok = strtok_r(list, " \t,", &save); tok;
         tok = strtok_r(NULL, " \t,", &save)) {
        char *at = strstr(tok, "%DISTRICT%");
        size_t reps = at ? n_districts : 1;
        for (size_t i = 0; i < reps && n_ep < MAX_ENDPOINTS; i++) {
            char ep[1024];
            if (at)
                snprintf(ep, sizeof ep, "%.*s%s%s", (int)(at - tok), tok, districts[i]->code,
                         at + strlen("%DISTRICT%"));
            else
                snprintf(ep, sizeof ep, "%s", tok);
            if (is_network(ep) && !ssub && !(ssub = curve_sub(zctx, cfg, ep))) {
                bad = 1;
                break;
            }
            if (zmq_connect(is_network(ep) ? ssub : sub, ep) == 0)
                n_ep++;
            else
                fprintf(stderr, "kh-logs: cannot connect to %s: %s\n", ep,
                        zmq_strerror(zmq_errno()));
        }
    }
    for (int i = 0; i < n_extra && !bad; i++) {
        if (is_network(extra[i]) && !ssub && !(ssub = curve_sub(zctx, cfg, extra[i]))) {
            bad = 1;
            break;
        }
        if (zmq_connect(is_network(extra[i]) ? ssub : sub, extra[i]) == 0)
            n_ep++;
        else
            fprintf(stderr, "kh-logs: cannot connect to %s: %s\n", extra[i],
                    zmq_strerror(zmq_errno()));
    }
    kh_catalog_destroy(&cat);
    kh_config_destroy(&cfg);
    if (bad) {
        zmq_close(sub);
        if (ssub)
            zmq_close(ssub);
        zmq_ctx_term(zctx);
        return 1;
    }
    if (n_ep == 0) {
        fprintf(stderr, "kh-logs: no log endpoint: set [logs] endpoints or use --connect\n");
        zmq_close(sub);
        if (ssub)
            zmq_close(ssub);
        zmq_ctx_term(zctx);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    long shown = 0;
    while (!stop && (count == 0 || shown < count)) {
        zmq_pollitem_t pi[2] = {{sub, 0, ZMQ_POLLIN, 0}, {ssub, 0, ZMQ_POLLIN, 0}};
        int p = zmq_poll(pi, ssub ? 2 : 1, idle_ms > 0 ? idle_ms : 500);
        if (p < 0)
            break;
        if (p == 0) {
            if (idle_ms > 0)
                break;
            continue;
        }
        char buf[65536];
        int len = zmq_recv(pi[0].revents & ZMQ_POLLIN ? sub : ssub, buf, sizeof buf - 1, 0);
        if (len < 0)
            continue;
        if (len > (int)sizeof buf - 1)
            len = (int)sizeof buf - 1;           /* truncated by zmq_recv */
        buf[len] = '\0';
        json_t *o = json_loads(buf, 0, NULL);
        if (!o)
            continue;
        kh_loglvl_t lvl;
        int pass = kh_log_level_parse(field(o, "level"), &lvl) == 0 && lvl >= min &&
                   (!service || !strcmp(field(o, "service"), service)) &&
                   (!district || !strcmp(field(o, "district"), district)) &&
                   (!report || !strcmp(field(o, "report_id"), report)) &&
                   (!grep || strstr(buf, grep));
        if (pass) {
            shown++;
            if (as_json)
                printf("%s\n", buf);
            else {
                static char ts[128], lv[64], sv[256], ev[256], di[256], ri[512],
                    msg[KH_ESCAPE_CAP(sizeof buf)];
                printf("%s %-5s %-10s %-22s %s%s%s%s%s%s\n", text_field(o, "ts", ts, sizeof ts),
                       text_field(o, "level", lv, sizeof lv), text_field(o, "service", sv, sizeof sv),
                       text_field(o, "event", ev, sizeof ev),
                       *field(o, "district") ? "[" : "", text_field(o, "district", di, sizeof di),
                       *field(o, "report_id") ? " " : "", text_field(o, "report_id", ri, sizeof ri),
                       *field(o, "district") || *field(o, "report_id") ? "] " : "",
                       text_field(o, "msg", msg, sizeof msg));
            }
            fflush(stdout);
        }
        json_decref(o);
    }
    zmq_close(sub);
    if (ssub)
        zmq_close(ssub);
    zmq_ctx_term(zctx);
    return 0;
}
