/*
 * kh-node — the district office's end of the pipeline.
 *
 *   kh-node submit --district D [--force] FILE…   check and queue report files, return
 *   kh-node run --district D                       send the queue, watch the spool
 *                                                  folder, collect receipts (a service)
 *   kh-node status --district D [--json]           what was sent and where it stands,
 *                                                  the connection to the province
 *   kh-node check --district D                     is the node set up to reach the
 *                                                  province? (check.c; exit 0/1)
 *   kh-node template --district D --period P       write the fill-in report template
 *                                                  (template.c; needs no node folder)
 *   kh-node keygen --district D [--output DIR]     the unit's own key pair (keygen.c)
 *
 * The node folder ([node] dir, default %RUN%/node-%DISTRICT%) holds outbox.db and
 * spool/: a report file (.csv or .xlsx, any case) dropped into spool/ is checked and
 * queued, then moved to spool/sent/ (or spool/refused/) with its receipts file beside
 * it.  Only an ordinary
 * file is read (node.h, node_submit_file): a link, a FIFO, a device, a file larger than
 * [node] max_file_bytes… is refused unread, with a receipt, and moved to refused/ too.
 * A file of another kind is left where it is, unread, with one `spool.ignored` warning
 * (again only when it changes).
 * A file the node handled but could not move out of the spool is remembered (by name,
 * inode, size and time) and left alone until it changes: never handled twice.
 * Everything the node creates is 0640 or stricter (umask KH_UMASK, lib/base/kh_util.h).
 * Log events of issue 14: node.connection (connection.h), report.unchanged (node.h),
 * link.redial (kh_link.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kh_db.h"
#include "kh_log.h"
#include "kh_options.h"
#include "kh_report.h"
#include "kh_service.h"
#include "kh_util.h"
#include "kh_wire.h"
#include "check.h"
#include "connection.h"
#include "node.h"
#include "sheet.h"
#include "keygen.h"
#include "template.h"
#include "web.h"

static const char usage[] =
    "usage: kh-node submit --district CODE [--force] [--submitted-at YYYY-MM-DD] FILE...\n"
    "       kh-node run    --district CODE\n"
    "       kh-node status --district CODE [--json]\n"
    "       kh-node check  --district CODE\n"
    "       kh-node template --district CODE --period YYYYSn|YYYY [--format csv|xlsx]\n"
    "                        [--output FILE] [--force]\n"
    "       kh-node keygen --district CODE [--output DIR] [--force]\n"
    "       kh-node web-password FILE   (the web page's password, read from stdin)\n"
    "options: --config FILE (before or after the command), --log-level LEVEL, --version\n"
    "  submit  checks each report file with the province's rules and queues it;\n"
    "          --force queues it even when the check finds errors (the province decides)\n"
    "          or when its values are those of the revision last queued (sent again);\n"
    "          only an ordinary file is read: a link, FIFO, folder or device, or a file\n"
    "          larger than [node] max_file_bytes (default 16 MiB), is refused unread\n"
    "  run     sends queued reports until the collector acknowledges them, watches the\n"
    "          spool folder for new files, and writes receipts next to each file; serves\n"
    "          the officer's web page at [node] web_listen (default http://127.0.0.1:8480/)\n"
    "  status  the reports, their stage (Vietnamese / English), the outbox and whether the\n"
    "          running node is connected to the province; --json: one JSON document\n"
    "  check   is this node set up to reach the province? key file, server key, the\n"
    "          province reachable, the key registered, the spool writable, the clock;\n"
    "          exit 0 when all OK, 1 otherwise (a few seconds at most)\n"
    "  template  writes the unit's fill-in template for a half-year (one row per unit\n"
    "          it reports for, one column per indicator; default CODE-PERIOD-mau.csv); submit\n"
    "          it filled in: kh-node reads the .xlsx itself (the sheet \"Báo cáo\"),\n"
    "          or a CSV in UTF-8, UTF-16 or Windows-1258 (comma, or semicolon with the\n"
    "          decimal comma), in the long form or the template's wide form; the spool\n"
    "          folder takes .csv and .xlsx files\n";

/* A file of the spool the node has handled (or must not try again before retry_at)
 * but that is still there: left alone while it is the same file. */
#define SPOOL_MEMO 256
typedef struct {
    char name[256];            /* NAME_MAX + 1 */
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
    int64_t retry_at;          /* kh_mono_ms; 0: until the file changes */
} spool_memo_t;

typedef struct {
    kh_service_t svc;
    node_t node;
    char spool[PATH_MAX];
    uv_fs_event_t watch;
    uv_timer_t timer;
    char collector[1024];
    node_web_t *web;           /* the officer's web page (web.h); NULL: none */
    spool_memo_t memo[SPOOL_MEMO];
    size_t n_memo, memo_next;  /* a ring: the oldest entry goes first */
} run_t;

/* ---- run: spool folder ------------------------------------------------------------------ */

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* 1 when `name` (lstat'ed as st) is to be left alone now. */
static int memo_skip(run_t *r, const char *name, const struct stat *st, int64_t mono)
{
    for (size_t i = 0; i < r->n_memo; i++) {
        spool_memo_t *m = &r->memo[i];
        if (strcmp(m->name, name) != 0)
            continue;
        if (m->dev == st->st_dev && m->ino == st->st_ino && m->size == st->st_size &&
            m->mtime_ns == mtime_ns(st) && (!m->retry_at || mono < m->retry_at))
            return 1;
        m->name[0] = '\0';        /* another file by now, or time to try again */
    }
    return 0;
}

static void memo_add(run_t *r, const char *name, const struct stat *st, int64_t retry_at)
{
    spool_memo_t *m = &r->memo[r->memo_next];
    r->memo_next = (r->memo_next + 1) % SPOOL_MEMO;
    if (r->n_memo < SPOOL_MEMO)
        r->n_memo++;
    kh_strlcpy(m->name, name, sizeof m->name);
    m->dev = st->st_dev;
    m->ino = st->st_ino;
    m->size = st->st_size;
    m->mtime_ns = mtime_ns(st);
    m->retry_at = retry_at;
}

/* Moves spool/name into spool/sub/ (made 0750 if missing).  The sub-folder must be a
 * real folder: never a symbolic link that would carry the district's files (and
 * their receipts) elsewhere.  Returns 0, or -1 after logging. */
static int move_to(const char *spool, const char *sub, const char *name)
{
    int rc = -1, sfd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC), dfd = -1;
    if (sfd >= 0 && mkdirat(sfd, sub, 0750) < 0 && errno != EEXIST)
        goto out;
    if (sfd >= 0)
        dfd = openat(sfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd >= 0 && renameat(sfd, name, dfd, name) == 0)
        rc = 0;
out:;
    int e = errno;
    if (rc < 0) {
        char shown[KH_ESCAPE_CAP(256)], msg[160];
        kh_escape(name, shown, sizeof shown);
        snprintf(msg, sizeof msg, "cannot move the file into spool/%s/: %s%s; it stays in "
                 "the spool, left alone until it changes", sub,
                 e == ELOOP || e == ENOTDIR ? "that is not a real folder: " : "", strerror(e));
        KH_ERROR("spool.move", msg, "file", shown, "spool", spool);
    }
    if (dfd >= 0)
        close(dfd);
    if (sfd >= 0)
        close(sfd);
    return rc;
}

static void scan_spool(run_t *r)
{
    DIR *d = opendir(r->spool);
    if (!d)
        return;
    struct dirent *e;
    int64_t now = kh_real_ms(), mono = kh_mono_ms();
    int budget = 100;            /* files per scan: a huge drop is taken in turns */
    while (budget > 0 && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        /* a report: .csv or .xlsx (any case); hidden files, Excel's "~$" owner files and
         * the receipts are not reports */
        int report = (l > 4 && strcasecmp(e->d_name + l - 4, ".csv") == 0) ||
                     (l > 5 && strcasecmp(e->d_name + l - 5, ".xlsx") == 0);
        if (e->d_name[0] == '.' || strncmp(e->d_name, "~$", 2) == 0 ||
            (l > 15 && strcmp(e->d_name + l - 15, ".receipts.jsonl") == 0))
            continue;
        char path[PATH_MAX], sent[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", r->spool, e->d_name) >= (int)sizeof path)
            continue;
        /* lstat: a link, FIFO or folder is not skipped for ever but refused (with a
         * receipt) by node_submit_file, which never follows or opens it */
        struct stat st;
        if (lstat(path, &st) < 0 || (!report && S_ISDIR(st.st_mode)))
            continue;
        int64_t mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        if (mtime_ms > now - 300)
            continue;            /* still being written: next scan */
        if (!report) {           /* told once (until the file changes), never read */
            if (!memo_skip(r, e->d_name, &st, mono)) {
                char shown[KH_ESCAPE_CAP(256)];
                kh_escape(e->d_name, shown, sizeof shown);
                KH_WARN("spool.ignored", "not a report file (.csv or .xlsx): left in the "
                        "spool unread; save the report as .xlsx or .csv and drop that",
                        "district", r->node.district, "file", shown);
                memo_add(r, e->d_name, &st, 0);
            }
            continue;
        }
        if (memo_skip(r, e->d_name, &st, mono))
            continue;            /* handled already, could not be moved: left alone */
        budget--;
        int rc = node_submit_file(&r->node, path, NULL, 0, 0);
        if (rc < 0) {            /* system error: logged, tried again in 5 s */
            memo_add(r, e->d_name, &st, mono + 5000);
            continue;
        }
        /* the receipts file was written beside the file: move both */
        const char *sub = rc == 1 ? "refused" : "sent";     /* 2: unchanged, sent before */
        if (move_to(r->spool, sub, e->d_name) < 0) {
            memo_add(r, e->d_name, &st, 0);       /* never handled twice */
            continue;
        }
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
    if (kh_service_str(s, "node", "collector", collector, sizeof collector))
        return 1;
    snprintf(r->spool, sizeof r->spool, "%s/spool", r->node.dir);
    kh_mkdirs(r->spool, 0750);
    kh_service_watch_count(s, "kh_node_reports_queued_total", "Reports checked and queued.",
                           NULL, NULL, &r->node.queued);
    kh_service_watch_count(s, "kh_node_reports_refused_total", "Files refused locally (their "
                           "errors, or not an ordinary file), each with a receipt.", NULL, NULL,
                           &r->node.rejected_locally);
    kh_service_watch_count(s, "kh_node_files_refused_total", "Files refused unread: a link, "
                           "FIFO, folder or device, too large, unreadable.", NULL, NULL,
                           &r->node.files_refused);
    kh_zopts_t o = s->zopts;          /* no routing id: the collector routes by key */
    kh_key_t server;
    if (r->node.has_key) {
        if (kh_service_key(s, "node", "server_key", 0, &server) < 0)
            return 1;
        o.curve_server_pk = server.curve_pk;
        o.curve_pk = r->node.key.curve_pk;
        o.curve_sk = r->node.key.curve_sk;
    }
    /* the web page first: a configuration it refuses stops the node before any socket */
    if (node_web_start(s, &r->node, &r->web) == KH_ERR)
        return 1;
    r->node.link = kh_link_new(&s->loop, s->zctx, &o, collector, r->node.db, "collector",
                               (int)s->window, (int)s->resend_ms);
    if (!r->node.link) {
        node_web_stop(&r->web);
        return 1;
    }
    kh_link_hooks(r->node.link, on_ack, on_receipt, r);
    kh_link_on_connect(r->node.link, say_hello, r);
    kh_link_on_sent(r->node.link, on_sent, r);
    node_conn_set(&r->node, NODE_CONN_UNKNOWN);       /* not what a previous run saw */
    kh_link_on_state(r->node.link, node_conn_hook, &r->node);
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
    int rc = kh_service_run(s);
    node_web_stop(&r->web);         /* before kh_service_fini closes the log */
    return rc;
}

int main(int argc, char **argv)
{
    static run_t r;
    umask(KH_UMASK);        /* outbox.db, receipts, templates: never readable by others */
    node_sheet_init();      /* before the web page's thread may decode a file */
    const char *district = NULL, *cfg = NULL, *level = NULL;
    if (kh_config_front_args(&argc, argv, "kh-node", &cfg))
        return 0;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "template") == 0)
        return node_template_main(argc, argv);   /* needs the catalogue only */
    if (strcmp(cmd, "keygen") == 0)
        return node_keygen_main(argc, argv);     /* keygen.c: before the node has a key */
    if (strcmp(cmd, "web-password") == 0)
        return node_web_password_main(argc, argv);   /* needs nothing */
    if (strcmp(cmd, "submit") && strcmp(cmd, "run") && strcmp(cmd, "status") &&
        strcmp(cmd, "check")) {
        fprintf(stderr, "kh-node: unknown command '%s'; see kh-node --help\n", cmd);
        return 2;
    }
    int force = 0, json = 0;
    int64_t submitted_at = 0;
    static const struct option opts[] = {{"district", required_argument, 0, 'd'},
                                         {"config", required_argument, 0, 'c'},
                                         {"log-level", required_argument, 0, 'l'},
                                         {"force", no_argument, 0, 'f'},
                                         {"submitted-at", required_argument, 0, 'a'},
                                         {"help", no_argument, 0, 'h'},
                                         {"json", no_argument, 0, 'j'},
                                         {0, 0, 0, 0}};
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "d:c:l:fa:hj", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': district = optarg; break;
        case 'c': cfg = optarg; break;
        case 'l': level = optarg; break;
        case 'f': force = 1; break;
        case 'j': json = 1; break;
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
        case 'h':
            fputs(usage, stdout);
            kh_config_help(stdout);
            kh_options_help(stdout, "node");
            return 0;
        default: fprintf(stderr, "kh-node: bad option; see kh-node --help\n"); return 2;
        }
    }
    if (!district || !*district || strlen(district) >= KH_CODE_MAX) {
        fprintf(stderr, "kh-node: --district CODE is required (the reporting unit's code in units.csv)\n");
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
    if (kh_service_str(s, "node", "dir", r.node.dir,
                       sizeof r.node.dir) ||
        !(r.node.cat = kh_service_catalog(s)) || node_open_db(&r.node) < 0)
        return 1;
    /* a code that reports on no day (a pre-reform commune, a typo) gets no key: say what
     * to use instead before asking for one */
    if (strcmp(cmd, "status") != 0 && kh_catalog_reports_ever(r.node.cat, district) != 1) {
        char vi[1024], en[1024];
        if (kh_catalog_explain_gone(r.node.cat, district, kh_today(), vi, sizeof vi, en,
                                    sizeof en))
            fprintf(stderr, "kh-node: %s / %s\n", vi, en);
        else
            fprintf(stderr, "kh-node: mã %s không phải là đơn vị báo cáo trong danh mục "
                    "(reporters.csv): hãy kiểm tra lại mã / %s is not a reporting unit of the "
                    "catalogue (reporters.csv): check the code\n", district, district);
        return 1;
    }
    /* the district's key: its CURVE identity and the signature on its reports */
    /* (check reads and judges the key files itself) */
    int curve = strcmp(cmd, "status") && strcmp(cmd, "check") ? kh_service_curve(s) : 0;
    if (curve < 0)
        return 1;
    if (curve) {
        if (kh_service_key(s, "node", "key", 1,
                           &r.node.key) < 0)
            return 1;
        if (strcmp(r.node.key.unit, district) != 0) {
            fprintf(stderr, "kh-node: the key file is for unit %s, not %s: use the key made for %s "
                    "(kh-admin keys generate --unit %s)\n",
                    r.node.key.unit, district, district, district);
            return 1;
        }
        r.node.has_key = 1;
    }
    long max_bytes = KH_REPORT_MAX_BYTES;       /* a file larger is refused unread */
    char err[256];
    if (strcmp(cmd, "status") != 0 &&
        kh_config_long(s->cfg, "node", "max_file_bytes", &max_bytes, err, sizeof err) < 0) {
        fprintf(stderr, "kh-node: %s: %s\n", s->config_path, err);
        return 1;
    }
    r.node.max_file_bytes = (size_t)max_bytes;
    int rc = 0;
    if (strcmp(cmd, "submit") == 0) {
        for (int i = optind; i < argc; i++) {
            /* 0 queued, 2 unchanged: both fine (node.c prints what happened) */
            int one = node_submit_file(&r.node, argv[i], NULL, force, submitted_at);
            if (one != 0 && one != 2)
                rc = 1;
        }
    } else if (strcmp(cmd, "status") == 0) {
        rc = (json ? node_print_status_json(&r.node, stdout)
                   : node_print_status(&r.node, stdout)) < 0;
    } else if (strcmp(cmd, "check") == 0) {
        rc = node_check_print(s, &r.node, stdout);
    } else {
        rc = cmd_run(&r);
    }
    kh_db_close(&r.node.db);
    kh_catalog_destroy(&r.node.cat);
    kh_service_fini(s);
    return rc;
}
