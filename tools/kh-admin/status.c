/*
 * status.c — `kh-admin status [--json]`: the health of the province's four services and
 * the last report of each district.
 *
 * Each service's metrics endpoint ([SERVICE] metrics = HOST:PORT) is read over HTTP
 * (libcurl, a short timeout) and its Prometheus text parsed: state, uptime, queue
 * depths and counters.  The last report per district (the one the collector received
 * last) comes from the collector's database and what became of it from the
 * aggregator's, both opened without writing (query_only) and read through their stores
 * (services/collector/store.h, services/aggregator/store.h).  Then the notices to the
 * districts (reminders): how many still wait for their node in the collector's outbox,
 * and how many expired undelivered (their due date passed before the node took them:
 * the expired tables of the collector's and the notifier's outboxes, lib/transport/kh_outbox.h).
 *
 *   exit 0  every service with a metrics endpoint answered
 *   exit 1  at least one did not (shown as "down"); the rest is printed all the same
 *   exit 2  the configuration cannot be read, or a usage error
 */
#include "admin.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../services/aggregator/store.h"
#include "../../services/collector/store.h"
#include "kh_catalog.h"
#include "kh_config.h"
#include "kh_outbox.h"

#define BODY_MAX (256u << 10)    /* a /metrics answer larger than this is refused */
#define SAMPLES_MAX 512          /* series kept per service */
#define SERIES_MAX 192           /* bytes of "name{label=\"value\"}" */
#define DISTRICTS_MAX 1000       /* rows of the last-report table */

static const char status_usage[] =
    "usage: kh-admin [--config FILE] status [--json] [--timeout-ms MS]\n"
    "The four services' health, read from their metrics endpoints ([collector] metrics,\n"
    "[validator] metrics, … = HOST:PORT): up or down, uptime, queue depths and counters;\n"
    "then the last report each reporting unit sent (collector and aggregator databases),\n"
    "and the reminders waiting for a reporting unit's node or expired undelivered.\n"
    "--json: the same as one JSON object (every series of every endpoint).\n"
    "--timeout-ms: per endpoint (default 2000).\n"
    "Exit 0: every configured endpoint answered; 1: at least one service is down;\n"
    "2: the configuration cannot be read, or a usage error.\n";

static const char *const services[] = {"collector", "validator", "aggregator", "notifier"};
#define N_SERVICES 4

typedef struct {
    char key[SERIES_MAX];     /* the series as written: name or name{label="value"} */
    char name[64];
    double value;
} sample_t;

typedef struct {
    const char *service;
    char addr[128];
    char sock[256];          /* [service] metrics_socket: read first when it exists */
    int configured, up;
    char why[160];            /* when down */
    sample_t *s;
    size_t n;
} svc_t;

typedef struct {
    char *buf;
    size_t len;
    int too_big;
} body_t;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    body_t *b = arg;
    size_t len = size * n;
    if (b->len + len >= BODY_MAX) {
        b->too_big = 1;
        return 0;                 /* libcurl stops with CURLE_WRITE_ERROR */
    }
    memcpy(b->buf + b->len, data, len);
    b->len += len;
    b->buf[b->len] = 0;
    return len;
}

/* One exposition line into *out.  Returns 1 for a sample, 0 for a comment or blank line,
 * -1 when the line is not Prometheus text. */
static int parse_line(const char *line, sample_t *out)
{
    if (!line[0] || line[0] == '#')
        return 0;
    const char *p = line;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':'))
        return -1;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '_' || *p == ':')
        p++;
    size_t nlen = (size_t)(p - line);
    if (nlen >= sizeof out->name)
        return -1;
    memcpy(out->name, line, nlen);
    out->name[nlen] = 0;
    if (*p == '{') {
        int quoted = 0;
        for (p++; *p && (quoted || *p != '}'); p++) {
            if (quoted && *p == '\\' && p[1])
                p++;
            else if (*p == '"')
                quoted = !quoted;
        }
        if (*p != '}')
            return -1;
        p++;
    }
    size_t klen = (size_t)(p - line);
    if (klen >= sizeof out->key || *p != ' ')
        return -1;
    memcpy(out->key, line, klen);
    out->key[klen] = 0;
    char *end;
    out->value = strtod(p + 1, &end);
    if (end == p + 1 || (*end && *end != ' '))
        return -1;
    return 1;
}

/* GETs http://addr/metrics and parses it into sv.  Returns 0, or -1 with sv->why set. */
static int fetch(CURL *curl, svc_t *sv, long timeout_ms)
{
    char url[200];
    snprintf(url, sizeof url, "http://%s/metrics", sv->addr);
    body_t b = {malloc(BODY_MAX), 0, 0};
    if (!b.buf) {
        snprintf(sv->why, sizeof sv->why, "out of memory");
        return -1;
    }
    b.buf[0] = 0;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    if (sv->sock[0] && access(sv->sock, F_OK) == 0)      /* the private socket first */
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sv->sock);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    int ret = -1;
    if (rc != CURLE_OK) {
        snprintf(sv->why, sizeof sv->why, "%s", b.too_big ? "answer too large"
                                                          : curl_easy_strerror(rc));
    } else if (code != 200) {
        snprintf(sv->why, sizeof sv->why, "HTTP status %ld", code);
    } else if (!(sv->s = calloc(SAMPLES_MAX, sizeof *sv->s))) {
        snprintf(sv->why, sizeof sv->why, "out of memory");
    } else {
        ret = 0;
        size_t lineno = 0;
        for (char *save = NULL, *line = strtok_r(b.buf, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            lineno++;
            if (sv->n == SAMPLES_MAX) {
                snprintf(sv->why, sizeof sv->why, "more than %d series", SAMPLES_MAX);
                ret = -1;
                break;
            }
            int r = parse_line(line, &sv->s[sv->n]);
            if (r < 0) {
                snprintf(sv->why, sizeof sv->why, "not Prometheus text (line %zu)", lineno);
                ret = -1;
                break;
            }
            sv->n += (size_t)r;
        }
    }
    free(b.buf);
    return ret;
}

static const sample_t *find(const svc_t *sv, const char *key)
{
    for (size_t i = 0; i < sv->n; i++)
        if (!strcmp(sv->s[i].key, key))
            return &sv->s[i];
    return NULL;
}

/* The sum of every series of `name`; -1 when there is none. */
static double sum(const svc_t *sv, const char *name)
{
    double t = 0;
    int any = 0;
    for (size_t i = 0; i < sv->n; i++)
        if (!strcmp(sv->s[i].name, name)) {
            t += sv->s[i].value;
            any = 1;
        }
    return any ? t : -1;
}

static void cell(double v)
{
    if (v < 0)
        printf(" %10s", "-");
    else
        printf(" %10.0f", v);
}

/* ---- the last report per district ------------------------------------------------------- */

typedef struct {
    char district[64], name[96], report_id[80], period[16], stage[16], received[32];
    long long revision, received_ms;
} last_t;

/* Opens [section] db without writing.  Returns NULL (reason in why) when it cannot. */
static sqlite3 *open_db(kh_config_t *cfg, const char *section, char *why, size_t cap)
{
    char path[PATH_MAX], dflt[64];
    snprintf(dflt, sizeof dflt, "%%RUN%%/%s.db", section);
    if (kh_config_str(cfg, section, "db", path, sizeof path) < 0) {
        snprintf(why, cap, "[%s] db is too long", section);
        return NULL;
    }
    if (access(path, R_OK) != 0) {
        snprintf(why, cap, "%.200s: no %s database there ([%s] db)", path, section, section);
        return NULL;
    }
    sqlite3 *db = NULL;
    /* read-write without create: a WAL database may need its -shm made; nothing is
     * written (query_only) */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA query_only=1", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(why, cap, "%.200s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 2000);
    return db;
}

/* Reminders to the districts: waiting in the collector's outbox for a node, and expired
 * undelivered (collector and notifier outboxes).  -1 where it cannot be read. */
typedef struct {
    long long waiting, expired;
    char expired_districts[256];     /* "835 836 …" (distinct, sorted, cut when long) */
    char why[256];
} notices_t;

static void notices_read(kh_config_t *cfg, notices_t *nt)
{
    memset(nt, 0, sizeof *nt);
    nt->waiting = nt->expired = -1;
    char nwhy[256];
    sqlite3 *coll = open_db(cfg, "collector", nt->why, sizeof nt->why);
    sqlite3 *notif = open_db(cfg, "notifier", nwhy, sizeof nwhy);
    if (!coll) {
        sqlite3_close(notif);
        return;
    }
    /* waiting: in the collector's outbox for a node, or still in the notifier's for the
     * collector.  (A reminder can be counted twice as expired in one rare case: the
     * collector stored it but its acknowledgement was lost, and both expired it.) */
    long long wc = kh_outbox_count_expiring(coll, "nodes");
    long long wn = notif ? kh_outbox_count_expiring(notif, "collector") : 0;
    nt->waiting = wc < 0 || wn < 0 ? -1 : wc + wn;
    long long a = kh_outbox_count_expired(coll, "nodes");
    long long b = notif ? kh_outbox_count_expired(notif, "collector") : 0;
    if (a < 0 || b < 0)
        snprintf(nt->why, sizeof nt->why, "an outbox's expired table cannot be read (a "
                 "database from before the expiry: start the services once to migrate it)");
    else
        nt->expired = a + b;
    sqlite3_stmt *st;
    if (nt->expired > 0 && (st = kh_outbox_expired_dests(coll, "nodes"))) {
        size_t used = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(st, 0);
            int w = snprintf(nt->expired_districts + used, sizeof nt->expired_districts - used,
                             "%s%s", used ? " " : "", d ? d : "?");
            if (w < 0 || (size_t)w >= sizeof nt->expired_districts - used) {
                nt->expired_districts[used] = '\0';
                break;
            }
            used += (size_t)w;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(notif);
    sqlite3_close(coll);
}

/* What became of report_id/revision at the aggregator. */
static const char *stage_of(sqlite3 *agg, const char *id, long long rev, int refused)
{
    if (refused)
        return "refused";
    if (!agg)
        return "received";
    const char *stage = "received";    /* KH_NO: at the validator, or on its way */
    return ag_store_stage_of(agg, id, rev, &stage) == KH_ERR ? "unknown" : stage;
}

/* Fills rows (at most DISTRICTS_MAX).  Returns the count, or -1 with why set. */
static int last_reports(kh_config_t *cfg, last_t *rows, char *why, size_t cap)
{
    sqlite3 *coll = open_db(cfg, "collector", why, cap);
    if (!coll)
        return -1;
    char aggwhy[256];
    sqlite3 *agg = open_db(cfg, "aggregator", aggwhy, sizeof aggwhy);   /* optional */
    char dir[PATH_MAX], err[512];
    long s1 = 620, s2 = 1205;
    kh_catalog_t *cat = NULL;
    if (kh_config_str(cfg, "general", "data_dir", dir, sizeof dir) == 0 &&
        kh_config_long(cfg, "calendar", "s1_due", &s1, err, sizeof err) == 0 &&
        kh_config_long(cfg, "calendar", "s2_due", &s2, err, sizeof err) == 0)
        cat = kh_catalog_load(dir, (int)s1, (int)s2, err, sizeof err);   /* names only */
    sqlite3_stmt *st;
    int n = -1;
    /* the last row the collector stored for each district */
    if (!(st = co_store_last_reports(coll, DISTRICTS_MAX))) {
        snprintf(why, cap, "collector database: %s", sqlite3_errmsg(coll));
        goto out;
    }
    n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        last_t *r = &rows[n++];
        memset(r, 0, sizeof *r);
        snprintf(r->district, sizeof r->district, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(r->period, sizeof r->period, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(r->report_id, sizeof r->report_id, "%s", (const char *)sqlite3_column_text(st, 2));
        r->revision = sqlite3_column_int64(st, 3);
        r->received_ms = sqlite3_column_int64(st, 4);
        time_t t = (time_t)(r->received_ms / 1000);
        struct tm tm;
        if (localtime_r(&t, &tm))
            strftime(r->received, sizeof r->received, "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(r->stage, sizeof r->stage, "%s",
                 stage_of(agg, r->report_id, r->revision, sqlite3_column_int(st, 5)));
        const kh_unit_t *u = cat ? kh_catalog_unit_any(cat, r->district) : NULL;
        snprintf(r->name, sizeof r->name, "%s", u && u->name ? u->name : "");
    }
    sqlite3_finalize(st);
out:
    kh_catalog_destroy(&cat);
    sqlite3_close(agg);
    sqlite3_close(coll);
    return n;
}

/* ---- output ------------------------------------------------------------------------------- */

/* s left-aligned in `width` characters (UTF-8: counted by code point, not byte) */
static void padded(const char *s, int width)
{
    int n = 0;
    for (const char *p = s; *p; p++)
        n += ((unsigned char)*p & 0xC0) != 0x80;
    printf("%s%*s", s, n < width ? width - n : 0, "");
}

static void print_notices(const notices_t *nt)
{
    printf("\nreminders to the reporting units / nhắc hạn gửi các đơn vị báo cáo\n");
    if (nt->waiting < 0 || nt->expired < 0) {
        printf("  (%s)\n", nt->why);
        return;
    }
    printf("  waiting for the unit's node:     %lld\n", nt->waiting);
    printf("  expired undelivered:             %lld", nt->expired);
    if (nt->expired_districts[0])
        printf("  (%s)\n  -> these units' nodes were not connected before the due date: "
               "check that each runs and reaches the collector (kh-admin keys list, the "
               "node's log)\n", nt->expired_districts);
    else
        printf("\n");
}

static void print_dead_letters(const long long dl[ADMIN_N_SERVICES])
{
    long long total = 0;
    for (int i = 0; i < ADMIN_N_SERVICES; i++)
        total += dl[i] > 0 ? dl[i] : 0;
    printf("\ndead letters (messages set aside) / thư lỗi tạm gác\n  ");
    for (int i = 0; i < ADMIN_N_SERVICES; i++)
        if (dl[i] < 0)
            printf("%s ?  ", services[i]);
        else
            printf("%s %lld  ", services[i], dl[i]);
    printf("\n");
    if (total > 0)
        printf("  -> a service could not apply these and went on without them: kh-admin "
               "dead-letters list shows each one's error; fix it, then kh-admin dead-letters "
               "replay SERVICE ID\n");
}

static void print_table(svc_t *sv, const last_t *rows, int n_rows, const char *rows_why)
{
    printf("%-10s %-5s %10s %10s %10s %10s %10s %10s %10s  %s\n", "service", "state", "uptime",
           "received", "accepted", "rejected", "counted", "resent", "malformed", "queues");
    for (int i = 0; i < N_SERVICES; i++) {
        svc_t *s = &sv[i];
        if (!s->up) {
            if (s->configured)
                printf("%-10s %-5s  http://%s/metrics: %s\n", s->service, "down", s->addr,
                       s->why);
            else
                printf("%-10s %-5s  no metrics address in [%s] of the configuration\n",
                       s->service, "off", s->service);
            continue;
        }
        const sample_t *up = find(s, "kh_uptime_seconds");
        long long u = up ? (long long)up->value : 0;
        char ut[64];
        snprintf(ut, sizeof ut, "%lldh%02lldm%02llds", u / 3600, u / 60 % 60, u % 60);
        printf("%-10s %-5s %10s", s->service, "up", ut);
        double mal = sum(s, "kh_messages_malformed_total");
        double rej = sum(s, "kh_reports_rejected_total"), ref = sum(s, "kh_reports_refused_total");
        if (ref >= 0)
            rej = (rej < 0 ? 0 : rej) + ref;
        cell(sum(s, "kh_inbox_received_total"));
        cell(sum(s, "kh_reports_accepted_total"));
        cell(rej);
        cell(sum(s, "kh_reports_counted_total"));
        cell(sum(s, "kh_outbox_resent_total"));
        cell(mal >= 0 ? mal : sum(s, "kh_inbox_malformed_total"));
        printf(" ");
        for (size_t j = 0; j < s->n; j++) {
            if (strcmp(s->s[j].name, "kh_outbox_depth") != 0)
                continue;
            const char *l = strchr(s->s[j].key, '"');
            char q[64];
            snprintf(q, sizeof q, "%s", l ? l + 1 : "?");
            char *e = strchr(q, '"');
            if (e)
                *e = 0;
            printf(" %s=%.0f", q, s->s[j].value);
        }
        printf("\n");
    }
    printf("\nlast report per reporting unit\n");
    if (n_rows < 0) {
        printf("  (%s)\n", rows_why);
        return;
    }
    printf("%-8s %-24s %-14s %8s %-19s  %s\n", "district", "name", "report", "revision",
           "received at", "stage");
    for (int i = 0; i < n_rows; i++) {
        printf("%-8s ", rows[i].district);
        padded(rows[i].name, 24);
        printf(" %-14s %8lld %-19s  %s\n", rows[i].report_id, rows[i].revision,
               rows[i].received, rows[i].stage);
    }
    if (n_rows == 0)
        printf("  (none received yet)\n");
}

/* integral values (every counter and depth) as JSON integers, others as reals */
static json_t *num(double v)
{
    /* the range first: casting NaN, ±Inf or a huge value to an integer is undefined */
    if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(json_int_t)v)
        return json_integer((json_int_t)v);
    return isfinite(v) ? json_real(v) : json_null();
}

static int print_json(svc_t *sv, const last_t *rows, int n_rows, const char *rows_why,
                      const notices_t *nt, const long long dl[ADMIN_N_SERVICES])
{
    json_t *root = json_object(), *svcs = json_array(), *ds = json_array();
    if (!root || !svcs || !ds)
        return -1;
    for (int i = 0; i < N_SERVICES; i++) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "service", sv[i].service, "address",
                              sv[i].addr, "state",
                              sv[i].up ? "up" : sv[i].configured ? "down" : "off");
        json_t *m = json_object();
        if (!o || !m)
            return -1;
        if (!sv[i].up && sv[i].configured)
            json_object_set_new(o, "error", json_string(sv[i].why));
        for (size_t j = 0; j < sv[i].n; j++)
            json_object_set_new(m, sv[i].s[j].key, num(sv[i].s[j].value));
        json_object_set_new(o, "metrics", m);
        json_array_append_new(svcs, o);
    }
    for (int i = 0; i < n_rows; i++)
        json_array_append_new(ds, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s}",
                                            "district", rows[i].district, "name", rows[i].name,
                                            "period", rows[i].period, "report_id",
                                            rows[i].report_id, "revision",
                                            (json_int_t)rows[i].revision, "received_at",
                                            rows[i].received, "received_at_ms",
                                            (json_int_t)rows[i].received_ms, "stage",
                                            rows[i].stage));
    json_object_set_new(root, "services", svcs);
    json_object_set_new(root, "districts", ds);
    if (n_rows < 0)
        json_object_set_new(root, "districts_error", json_string(rows_why));
    json_t *no = json_object();
    if (!no) {
        json_decref(root);
        return -1;
    }
    if (nt->waiting < 0 || nt->expired < 0) {
        json_object_set_new(no, "error", json_string(nt->why));
    } else {
        json_object_set_new(no, "reminders_waiting", json_integer(nt->waiting));
        json_object_set_new(no, "expired_undelivered", json_integer(nt->expired));
        json_object_set_new(no, "expired_districts", json_string(nt->expired_districts));
    }
    json_object_set_new(root, "notices", no);
    json_t *dj = json_object();
    for (int i = 0; dj && i < ADMIN_N_SERVICES; i++)
        json_object_set_new(dj, services[i], dl[i] < 0 ? json_null() : json_integer(dl[i]));
    json_object_set_new(root, "dead_letters", dj);
    int rc = json_dumpf(root, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    printf("\n");
    json_decref(root);
    return rc;
}

int admin_status(int argc, char **argv, const char *config_path)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"timeout-ms", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int json = 0, ch;
    long timeout_ms = 2000;
    char *end;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': json = 1; break;
        case 't':
            timeout_ms = strtol(optarg, &end, 10);
            if (*end || timeout_ms < 10 || timeout_ms > 60000) {
                fprintf(stderr, "kh-admin status: --timeout-ms must be 10…60000\n");
                return 2;
            }
            break;
        case 'h': fputs(status_usage, stdout); return 0;
        default: fputs(status_usage, stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kh-admin status: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    kh_config_t *cfg = admin_config(config_path);
    if (!cfg)
        return 2;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "kh-admin: cannot initialise libcurl\n");
        kh_config_destroy(&cfg);
        return 2;
    }
    CURL *curl = curl_easy_init();
    svc_t sv[N_SERVICES];
    memset(sv, 0, sizeof sv);
    int down = 0, rc = 2;
    for (int i = 0; i < N_SERVICES; i++) {
        sv[i].service = services[i];
        if (kh_config_str(cfg, services[i], "metrics", sv[i].addr, sizeof sv[i].addr) < 0) {
            fprintf(stderr, "kh-admin: [%s] metrics is too long\n", services[i]);
            goto out;
        }
        sv[i].configured = sv[i].addr[0] != 0;
        if (kh_config_str(cfg, services[i], "metrics_socket", sv[i].sock,
                          sizeof sv[i].sock) < 0)
            sv[i].sock[0] = '\0';
        if (!sv[i].configured)
            continue;
        if (!curl) {
            snprintf(sv[i].why, sizeof sv[i].why, "cannot initialise libcurl");
        } else if (fetch(curl, &sv[i], timeout_ms) == 0) {
            sv[i].up = 1;
            continue;
        }
        free(sv[i].s);
        sv[i].s = NULL;
        sv[i].n = 0;
        down = 1;
    }
    last_t *rows = calloc(DISTRICTS_MAX, sizeof *rows);
    char why[512] = "out of memory";
    int n_rows = rows ? last_reports(cfg, rows, why, sizeof why) : -1;
    notices_t nt;
    notices_read(cfg, &nt);
    long long dl[ADMIN_N_SERVICES];
    admin_dead_letter_counts(cfg, dl);
    if (json ? print_json(sv, rows, n_rows, why, &nt, dl) < 0
             : (print_table(sv, rows, n_rows, why), print_notices(&nt), print_dead_letters(dl),
                0)) {
        fprintf(stderr, "kh-admin: cannot write the JSON output\n");
        free(rows);
        goto out;
    }
    free(rows);
    rc = down;
out:
    for (int i = 0; i < N_SERVICES; i++)
        free(sv[i].s);
    if (curl)
        curl_easy_cleanup(curl);
    curl_global_cleanup();
    kh_config_destroy(&cfg);
    return rc;
}
