/*
 * kh-feed — the province's client of the feed.
 *
 *   kh-feed sync                        catch the local mirror up and exit
 *   kh-feed follow [--count N] [--idle-ms MS]   keep it live, one line per update
 *   kh-feed summary --period P          the table a person reads
 *   kh-feed export --period P [--level N] [--format csv|json|xlsx|pdf] [--output FILE]
 *                  [--number TEXT]       xlsx: the workbook a director reads; pdf: the same
 *                                        converted by LibreOffice (book.h)
 *   kh-feed history --district CODE --period P   every revision of one report
 *   kh-feed serve [--listen IPV4:PORT]  the dashboard in the browser (serve.c)
 *   kh-feed passwd USER                 add or change a dashboard login
 *
 * N is a level number of the unit tree, 1 (the root, the default) .. its depth; what a
 * level is called comes from levels.csv, and a word (province, district …) is refused
 * with the list of levels by name.  --district names a reporting unit (the historical
 * name of the wire field).  summary and export catch up first (unless --no-sync); when
 * the feed does not answer they say so and show the mirror as it is.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "kh_catalog.h"
#include "kh_config.h"
#include "kh_db.h"
#include "kh_keys.h"
#include "kh_log.h"
#include "kh_options.h"
#include "kh_util.h"
#include "book.h"
#include "mirror.h"
#include "report.h"
#include "series.h"
#include "serve.h"

/* 1 when --format (or -f) is among the arguments. */
static int format_given(int argc, char **argv)
{
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--format") || !strncmp(argv[i], "--format=", 9) ||
            !strcmp(argv[i], "-f"))
            return 1;
    return 0;
}

static const char usage[] =
    "usage: kh-feed sync\n"
    "       kh-feed follow [--count N] [--idle-ms MS]\n"
    "       kh-feed history --district CODE --period P\n"
    "       kh-feed summary --period P\n"
    "       kh-feed export --period P [--level N] [--format csv|json|xlsx|pdf] [--output FILE]\n"
    "                      [--number TEXT]   (pdf, xlsx: the document's number, 125/BC-SGDĐT)\n"
    "       kh-feed series --period P [--format text|csv]\n"
    "       kh-feed serve [--listen IPV4:PORT]   (the dashboard; kh-feed serve --help)\n"
    "       kh-feed passwd USER                  (a dashboard login; password on stdin)\n"
    "options: --config FILE (before or after the command), --version, --no-sync,\n"
    "         --timeout-ms MS (waiting for the feed, default 5000)\n"
    "P is a half-year (2020S1), a year (2020) or the programme (2017-2020).\n"
    "N is a level of the unit tree: 1 (the root, default) .. its depth (levels.csv); for xlsx\n"
    "and pdf the summary's units (default: the reporting units' level).\n"
    "CODE is a reporting unit's code (reporters.csv).\n"
    "series: half-year P of the units made by a reorganisation (reorg.csv) beside the last\n"
    "half-year of the units they took over (also at the end of the summary).\n";

int main(int argc, char **argv)
{
    umask(KH_UMASK);        /* the mirror and exports: never readable by others (kh_util.h) */
    const char *cfgpath = NULL;
    if (kh_config_front_args(&argc, argv, "kh-feed", &cfgpath))
        return 0;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "serve") || !strcmp(cmd, "passwd"))
        return kh_feed_serve_main(argc, argv, cfgpath);
    if (strcmp(cmd, "sync") && strcmp(cmd, "follow") && strcmp(cmd, "summary") &&
        strcmp(cmd, "export") && strcmp(cmd, "history") && strcmp(cmd, "series")) {
        fprintf(stderr, "kh-feed: unknown command '%s'; see kh-feed --help\n", cmd);
        return 2;
    }
    const char *period = NULL, *level = "1",
               *format = "csv", *output = "-", *district = NULL, *number = NULL;
    int level_given = 0;
    long count = 0, idle_ms = 0, timeout_ms = 5000;
    int no_sync = 0;
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"period", required_argument, 0, 'p'},
        {"level", required_argument, 0, 'L'},  {"format", required_argument, 0, 'f'},
        {"output", required_argument, 0, 'o'}, {"count", required_argument, 0, 'n'},
        {"idle-ms", required_argument, 0, 'i'}, {"timeout-ms", required_argument, 0, 't'},
        {"no-sync", no_argument, 0, 'S'},      {"help", no_argument, 0, 'h'},
        {"district", required_argument, 0, 'd'}, {"number", required_argument, 0, 'N'},
        {0, 0, 0, 0}};
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "c:p:L:f:o:n:i:t:Shd:N:", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': cfgpath = optarg; break;
        case 'p': period = optarg; break;
        case 'L': level = optarg; level_given = 1; break;
        case 'N': number = optarg; break;
        case 'f': format = optarg; break;
        case 'o': output = optarg; break;
        case 'n':
        case 'i':
        case 't': {
            long v;
            if (kh_parse_long(optarg, 0, 86400000, &v) < 0) {
                fprintf(stderr, "kh-feed: '%s' is not a number\n", optarg);
                return 2;
            }
            *(ch == 'n' ? &count : ch == 'i' ? &idle_ms : &timeout_ms) = v;
            break;
        }
        case 'S': no_sync = 1; break;
        case 'd': district = optarg; break;
        case 'h':
            fputs(usage, stdout);
            kh_config_help(stdout);
            kh_options_help(stdout, "feed");
            return 0;
        default: fprintf(stderr, "kh-feed: bad option; see kh-feed --help\n"); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kh-feed: unexpected argument '%s'; see kh-feed --help\n", argv[optind]);
        return 2;
    }
    int needs_period = !strcmp(cmd, "summary") || !strcmp(cmd, "export") ||
                       !strcmp(cmd, "history") || !strcmp(cmd, "series");
    if (!strcmp(cmd, "series")) {
        if (!strcmp(format, "csv") && !format_given(argc, argv))
            format = "text";
        if (strcmp(format, "text") && strcmp(format, "csv")) {
            fprintf(stderr, "kh-feed: series --format must be text or csv\n");
            return 2;
        }
    }
    kh_period_t pp;
    if (needs_period && (!period || kh_period_parse(period, &pp) < 0)) {
        fprintf(stderr, "kh-feed: --period must be a half-year (2020S1), a year (2020) or "
                        "a programme (2017-2020)\n");
        return 2;
    }
    if (!strcmp(cmd, "history") && (!district || strlen(district) >= KH_CODE_MAX ||
                                     (pp.kind != KH_P_HALF && pp.kind != KH_P_YEAR))) {
        fprintf(stderr, "kh-feed: history needs --district CODE (a reporting unit) and the "
                        "--period of a report (e.g. 2020S2, or 2026 where reports are "
                        "yearly)\n");
        return 2;
    }
    if (strcmp(cmd, "series") && strcmp(format, "csv") && strcmp(format, "json") &&
        strcmp(format, "xlsx") && strcmp(format, "pdf")) {
        fprintf(stderr, "kh-feed: --format must be csv, json, xlsx or pdf\n");
        return 2;
    }
    if ((!strcmp(format, "xlsx") || !strcmp(format, "pdf")) && !strcmp(output, "-")) {
        fprintf(stderr, "kh-feed: --format %s needs --output FILE.%s\n", format, format);
        return 2;
    }
    kh_log_init("feed", KH_LOG_WARN);
    char err[512];
    char path[PATH_MAX];
    kh_config_t *cfg = kh_config_load(kh_config_path(cfgpath, path, sizeof path), err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "kh-feed: %s\n", err);
        return 1;
    }
    if (kh_config_clock(cfg, err, sizeof err) < 0) {
        fprintf(stderr, "kh-feed: %s\n", err);
        kh_config_destroy(&cfg);
        return 1;
    }
    char mirror_path[1024], feed[1024], snap[1024], data[1024];
    long max_msg, s1, s2;
    if (kh_config_str(cfg, "feed", "mirror", mirror_path,
                      sizeof mirror_path) < 0 ||
        kh_config_str(cfg, "aggregator", "feed", feed, sizeof feed) < 0 ||
        kh_config_str(cfg, "aggregator", "snapshot", snap, sizeof snap) < 0 ||
        kh_config_str(cfg, "general", "data_dir", data, sizeof data) < 0 ||
        kh_config_max_message(cfg, 1, &max_msg, err, sizeof err) < 0 ||
        kh_config_long(cfg, "calendar", "s1_due", &s1, err, sizeof err) < 0 ||
        kh_config_long(cfg, "calendar", "s2_due", &s2, err, sizeof err) < 0) {
        fprintf(stderr, "kh-feed: bad configuration: %s\n", err);
        kh_config_destroy(&cfg);
        return 1;
    }
    /* the catalogue, before the feed is asked anything: a --level is checked against its
     * levels (and refused with their names) */
    kh_catalog_t *cat = NULL;
    const kh_catalog_t *prog = NULL;    /* the programme in force at the period's end */
    int lv = 1;
    if (needs_period) {
        if (!(cat = kh_catalog_load(data, (int)s1, (int)s2, err, sizeof err))) {
            fprintf(stderr, "kh-feed: %s\n", err);
            kh_config_destroy(&cfg);
            return 1;
        }
        if (!(prog = kh_catalog_for(cat, kh_period_end(&pp)))) {
            fprintf(stderr, "kh-feed: no programme (programmes.csv of %s) is in force at the "
                    "end of %s: choose a period of a programme\n", data, period);
            kh_catalog_destroy(&cat);
            kh_config_destroy(&cfg);
            return 1;
        }
        if (!strcmp(cmd, "export") &&
            kh_feed_level_parse(cat, level, kh_period_end(&pp), &lv) < 0) {
            kh_catalog_destroy(&cat);
            kh_config_destroy(&cfg);
            return 2;
        }
    }
    int rc = 1;
    sqlite3 *db = NULL;
    if (strcmp(kh_config_raw(cfg, "security", "curve"), "no") != 0) {
        /* the province's feed is CURVE: our key (role province or analyst) and the server's */
        char kpath[1024], spath[1024];
        kh_key_t me, server;
        if (kh_config_str(cfg, "feed", "key", kpath, sizeof kpath) < 0 ||
            kh_config_str(cfg, "feed", "server_key", spath,
                          sizeof spath) < 0 ||
            kh_key_read(kpath, &me, err, sizeof err) < 0 ||
            (!me.has_secret && snprintf(err, sizeof err, "%s holds no secret key", kpath)) ||
            kh_key_read(spath, &server, err, sizeof err) < 0) {
            fprintf(stderr, "kh-feed: %s; cần khóa tỉnh hoặc khóa chuyên viên ([feed] key): "
                    "nhờ quản trị chạy kh-admin keys generate --role analyst rồi keys register "
                    "/ the feed needs a province or an analyst key ([feed] key): ask the admin "
                    "for one (kh-admin keys generate --role analyst, then keys register)\n", err);
            kh_catalog_destroy(&cat);
            kh_config_destroy(&cfg);
            return 1;
        }
        mirror_set_curve(server.curve_pk, me.curve_pk, me.curve_sk);
    }
    void *zctx = zmq_ctx_new();
    if (!zctx || mirror_open(&db, mirror_path) < 0)
        goto out;
    if (!strcmp(cmd, "follow")) {
        rc = mirror_follow(db, zctx, feed, snap, max_msg, count, idle_ms) < 0;
        goto out;
    }
    if (!no_sync && strcmp(cmd, "history") != 0) {
        int s = mirror_sync(db, zctx, snap, (int)timeout_ms, max_msg);
        if (!strcmp(cmd, "sync")) {
            if (s == 0)
                printf("mirror at seq %llu\n", (unsigned long long)mirror_seq(db));
            rc = s < 0;
            goto out;
        }
    }
    if (!strcmp(cmd, "history"))
        rc = mirror_history(zctx, snap, district, period, prog, (int)timeout_ms, max_msg,
                            stdout) < 0;
    else if (!strcmp(cmd, "summary"))
        rc = kh_feed_summary(db, prog, period, stdout) < 0 ||
             (kh_catalog_is_report_period(prog, &pp) &&
              kh_feed_series(db, prog, period, "text", stdout) < 0);
    else if (!strcmp(cmd, "series"))
        rc = kh_feed_series(db, prog, period, format, stdout) < 0;
    else if (!strcmp(format, "xlsx") || !strcmp(format, "pdf")) {
        kh_book_opts_t bo = {data, number, level_given ? lv : 0};
        rc = (!strcmp(format, "pdf") ? kh_feed_book_pdf(db, prog, period, &bo, output)
                                     : kh_feed_book_xlsx(db, prog, period, &bo, output)) < 0;
    } else
        rc = kh_feed_export(db, prog, period, lv, format, output) < 0;
out:
    kh_catalog_destroy(&cat);
    kh_db_close(&db);
    if (zctx)
        zmq_ctx_term(zctx);
    kh_config_destroy(&cfg);
    return rc;
}
