/*
 * kh-node — the district office's end of the pipeline.
 *
 *   kh-node submit --district D [--force] FILE…   check and queue report files, return
 *   kh-node run --district D                       send the queue, watch the spool
 *                                                  folder, collect receipts (a service)
 *   kh-node status --district D                    what was sent and where it stands
 *   kh-node template --district D --period P       write the fill-in report template
 *                                                  (template.c; needs no node folder)
 *
 * The node folder ([node] dir, default %RUN%/node-%DISTRICT%) holds outbox.db and
 * spool/: a file dropped into spool/ is checked and queued, then moved to
 * spool/sent/ (or spool/refused/) with its receipts file beside it.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "kh_db.h"
#include "kh_log.h"
#include "kh_service.h"
#include "kh_util.h"
#include "kh_wire.h"
#include "node.h"
#include "template.h"

static const char usage[] =
    "usage: kh-node submit --district CODE [--force] [--submitted-at YYYY-MM-DD] FILE...\n"
    "       kh-node run    --district CODE\n"
    "       kh-node status --district CODE\n"
    "       kh-node template --district CODE --period YYYYSn [--format csv|xlsx]\n"
    "                        [--output FILE] [--force]\n"
    "options: --config FILE (default $KH_CONFIG or deploy/kh.ini), --log-level LEVEL\n"
    "  submit  checks each report file with the province's rules and queues it;\n"
    "          --force queues it even when the check finds errors (the province decides)\n"
    "  run     sends queued reports until the collector acknowledges them, watches the\n"
    "          spool folder for new files, and writes receipts next to each file\n"
    "  template  writes the district's fill-in template for a half-year (one row per\n"
    "          commune, one column per indicator; default CODE-PERIOD-mau.csv); submit\n"
    "          it filled in as CSV (from a spreadsheet: save as \"CSV UTF-8\"): kh-node\n"
    "          reads CSV files only, in the long form or the template's wide form\n";

typedef struct {
    kh_service_t svc;
    node_t node;
    char spool[PATH_MAX];
    uv_fs_event_t watch;
    uv_timer_t timer;
    char collector[1024];
} run_t;

/* ---- run: spool folder ------------------------------------------------------------------ */

static void move_to(const char *spool, const char *sub, const char *name)
{
    char from[PATH_MAX], dir[PATH_MAX], to[PATH_MAX + 256];
    snprintf(from, sizeof from, "%s/%s", spool, name);
    snprintf(dir, sizeof dir, "%s/%s", spool, sub);
    kh_mkdirs(dir, 0755);
    snprintf(to, sizeof to, "%s/%s", dir, name);
    if (rename(from, to) < 0)
        KH_ERROR("spool.move", strerror(errno), "file", from);
}

static void scan_spool(run_t *r)
{
    DIR *d = opendir(r->spool);
    if (!d)
        return;
    struct dirent *e;
    int64_t now = kh_real_ms();
    int budget = 100;            /* files per scan: a huge drop is taken in turns */
    while (budget > 0 && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".csv") != 0 || e->d_name[0] == '.')
            continue;
        char path[PATH_MAX], sent[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", r->spool, e->d_name) >= (int)sizeof path)
            continue;
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        int64_t mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        if (mtime_ms > now - 300)
            continue;            /* still being written: next scan */
        budget--;
        int rc = node_submit_file(&r->node, path, NULL, 0, 0);
        if (rc < 0)
            continue;            /* system error: logged, retried next scan */
        /* the receipts file was written beside the file: move both */
        const char *sub = rc == 0 ? "sent" : "refused";
        move_to(r->spool, sub, e->d_name);
        if (snprintf(sent, sizeof sent, "%s.receipts.jsonl", e->d_name) >= (int)sizeof sent)
            continue;
        move_to(r->spool, sub, sent);
        /* later receipts go beside the moved file */
        char newsrc[PATH_MAX + 300], newr[PATH_MAX + 300];
        snprintf(newsrc, sizeof newsrc, "%s/%s/%s", r->spool, sub, e->d_name);
        if (snprintf(newr, sizeof newr, "%s.receipts.jsonl", newsrc) >= (int)sizeof newr)
            continue;
        sqlite3_stmt *up = kh_db_prepare(r->node.db, "UPDATE report SET source=?, receipts=? "
                                                     "WHERE source=?");
        if (up) {
            sqlite3_bind_text(up, 1, newsrc, -1, SQLITE_STATIC);
            sqlite3_bind_text(up, 2, newr, -1, SQLITE_STATIC);
            sqlite3_bind_text(up, 3, path, -1, SQLITE_STATIC);
            sqlite3_step(up);
            sqlite3_finalize(up);
        }
    }
    closedir(d);
}

static void on_fs_event(uv_fs_event_t *h, const char *file, int events, int status)
{
    (void)file;
    (void)events;
    (void)status;
    scan_spool(h->data);
}

static void on_timer(uv_timer_t *t)
{
    run_t *r = t->data;
    scan_spool(r);
    int sent = kh_link_pump(r->node.link);
    if (sent > 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "sending %d report(s); %lld waiting in the outbox", sent,
                 (long long)kh_outbox_depth(kh_link_outbox(r->node.link)));
        KH_INFO("node.sending", msg, "district", r->node.district);
    }
}

static void on_ack(void *arg, const char *key, int dup)
{
    run_t *r = arg;
    node_on_received(&r->node, key, dup);
}

static void on_receipt(void *arg, const kh_wmsg_t *m)
{
    run_t *r = arg;
    char event_id[KH_KEY_MAX];
    if (strcmp(m->type, KH_T_RECEIPT) != 0 ||
        node_apply_receipt(&r->node, m->payload, m->len, event_id, sizeof event_id) < 0)
        return;
    char *keys[1] = {event_id};
    kh_wire_ack(kh_link_sock(r->node.link), NULL, 0, keys, NULL, 1);
}

/* On each new connection (and once at start, in case the first handshake finished
 * before the monitor was listening): tell the collector this connection is ours, so
 * receipts waiting for this district come here.  The collector takes the district from
 * the key (the payload counts only on a closed network without CURVE). */
static void say_hello(void *arg)
{
    run_t *r = arg;
    if (kh_wire_send_raw(kh_link_sock(r->node.link), NULL, 0, KH_T_HELLO, r->node.district,
                         strlen(r->node.district)) < 0)
        KH_DEBUG("node.hello", "HELLO not sent now (the queue is full): the next report or "
                 "connection says it", "district", r->node.district);
}

/* What the node is sending, report by report (a resend says so again). */
static void on_sent(void *arg, const char *dest, const char *key, size_t len)
{
    (void)dest;
    run_t *r = arg;
    char id[KH_KEY_MAX], msg[640];
    kh_strlcpy(id, key, sizeof id);
    char *slash = strrchr(id, '/');
    if (slash)
        *slash = '\0';
    snprintf(msg, sizeof msg, "đang gửi báo cáo %s, lần sửa %s (%zu byte) / sending report %s "
             "revision %s (%zu bytes) to the collector", id, slash ? slash + 1 : "?", len, id,
             slash ? slash + 1 : "?", len);
    KH_INFO("report.sending", msg, "report_id", id, "district", r->node.district);
}

static void on_stop(kh_service_t *s)
{
    run_t *r = (run_t *)s;
    uv_close((uv_handle_t *)&r->timer, NULL);
    uv_close((uv_handle_t *)&r->watch, NULL);
    kh_link_destroy(&r->node.link);
}

/* Once the self-checks passed (a tcp log stream's, if any). */
static void say_ready(void *arg)
{
    run_t *r = arg;
    char msg[128];
    snprintf(msg, sizeof msg, "node running; %lld report(s) waiting in the outbox",
             (long long)kh_outbox_depth(kh_link_outbox(r->node.link)));
    kh_service_ready(&r->svc, msg, "district", r->node.district, "collector", r->collector,
                     "spool", r->spool);
}

/* kh-node run: returns the exit status (kh_service.h: 0 after SIGTERM/SIGINT). */
static int cmd_run(run_t *r)
{
    kh_service_t *s = &r->svc;
    char collector[1024];
    if (kh_service_str(s, "node", "collector", NULL, collector, sizeof collector))
        return 1;
    snprintf(r->spool, sizeof r->spool, "%s/spool", r->node.dir);
    kh_mkdirs(r->spool, 0755);
    kh_zopts_t o = s->zopts;          /* no routing id: the collector routes by key */
    kh_key_t server;
    if (r->node.has_key) {
        if (kh_service_key(s, "node", "server_key", "%RUN%/keys/server.pub", 0, &server) < 0)
            return 1;
        o.curve_server_pk = server.curve_pk;
        o.curve_pk = r->node.key.curve_pk;
        o.curve_sk = r->node.key.curve_sk;
    }
    r->node.link = kh_link_new(&s->loop, s->zctx, &o, collector, r->node.db, "collector",
                               (int)s->window, (int)s->resend_ms);
    if (!r->node.link)
        return 1;
    kh_link_hooks(r->node.link, on_ack, on_receipt, r);
    kh_link_on_connect(r->node.link, say_hello, r);
    kh_link_on_sent(r->node.link, on_sent, r);
    say_hello(r);
    uv_fs_event_init(&s->loop, &r->watch);
    r->watch.data = r;
    if (uv_fs_event_start(&r->watch, on_fs_event, r->spool, 0) < 0)
        KH_WARN("spool.watch", "cannot watch the spool folder; scanning it every second",
                "spool", r->spool);
    uv_timer_init(&s->loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, on_timer, 0, 200);
    s->on_stop = on_stop;
    kh_strlcpy(r->collector, collector, sizeof r->collector);
    kh_service_on_ready(s, say_ready, r);
    return kh_service_run(s);
}

int main(int argc, char **argv)
{
    static run_t r;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "template") == 0)
        return node_template_main(argc, argv);   /* needs the catalogue only */
    if (strcmp(cmd, "submit") && strcmp(cmd, "run") && strcmp(cmd, "status")) {
        fprintf(stderr, "kh-node: unknown command '%s'; see kh-node --help\n", cmd);
        return 2;
    }
    const char *district = NULL, *cfg = NULL, *level = NULL;
    int force = 0;
    int64_t submitted_at = 0;
    static const struct option opts[] = {{"district", required_argument, 0, 'd'},
                                         {"config", required_argument, 0, 'c'},
                                         {"log-level", required_argument, 0, 'l'},
                                         {"force", no_argument, 0, 'f'},
                                         {"submitted-at", required_argument, 0, 'a'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "d:c:l:fa:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': district = optarg; break;
        case 'c': cfg = optarg; break;
        case 'l': level = optarg; break;
        case 'f': force = 1; break;
        case 'a': {
            struct tm tm = {0};
            char *end = strptime(optarg, "%Y-%m-%d", &tm);
            if (!end || *end) {
                fprintf(stderr, "kh-node: --submitted-at wants a date YYYY-MM-DD\n");
                return 2;
            }
            tm.tm_hour = 12;
            submitted_at = (int64_t)mktime(&tm) * 1000;
            break;
        }
        case 'h': fputs(usage, stdout); return 0;
        default: fprintf(stderr, "kh-node: bad option; see kh-node --help\n"); return 2;
        }
    }
    if (!district || !*district || strlen(district) >= KH_CODE_MAX) {
        fprintf(stderr, "kh-node: --district CODE is required (e.g. --district 829)\n");
        return 2;
    }
    if (strcmp(cmd, "submit") == 0 && optind >= argc) {
        fprintf(stderr, "kh-node: submit needs at least one FILE\n");
        return 2;
    }
    if (strcmp(cmd, "run") != 0 && !level)
        level = "warn";     /* one-shot commands: the terminal shows only what matters */
    kh_service_t *s = &r.svc;
    /* only the running node publishes its log; a one-shot command must not take
     * over its endpoint */
    if (kh_service_start(s, "node", strcmp(cmd, "run") == 0 ? "node" : "node-cli", cfg, level,
                         district) < 0)
        return 1;
    kh_strlcpy(r.node.district, district, sizeof r.node.district);
    if (kh_service_str(s, "node", "dir", "%RUN%/node-%DISTRICT%", r.node.dir,
                       sizeof r.node.dir) ||
        !(r.node.cat = kh_service_catalog(s)) || node_open_db(&r.node) < 0)
        return 1;
    /* the district's key: its CURVE identity and the signature on its reports */
    int curve = strcmp(cmd, "status") ? kh_service_curve(s) : 0;
    if (curve < 0)
        return 1;
    if (curve) {
        if (kh_service_key(s, "node", "key", "%RUN%/keys/node-%DISTRICT%.key", 1,
                           &r.node.key) < 0)
            return 1;
        if (strcmp(r.node.key.unit, district) != 0) {
            fprintf(stderr, "kh-node: the key file is for district %s, not %s\n",
                    r.node.key.unit, district);
            return 1;
        }
        r.node.has_key = 1;
    }
    int rc = 0;
    if (strcmp(cmd, "submit") == 0) {
        for (int i = optind; i < argc; i++) {
            int one = node_submit_file(&r.node, argv[i], NULL, force, submitted_at);
            if (one == 0)
                printf("%s: đã vào hàng đợi / queued\n", argv[i]);
            if (one != 0)
                rc = 1;
        }
    } else if (strcmp(cmd, "status") == 0) {
        rc = node_print_status(&r.node, stdout) < 0;
    } else {
        rc = cmd_run(&r);
    }
    kh_db_close(&r.node.db);
    kh_catalog_destroy(&r.node.cat);
    kh_service_fini(s);
    return rc;
}
