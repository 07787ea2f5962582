/*
 * audit.c — `kh-admin audit verify`: checks the aggregator's hash-chained audit log
 * (lib/kh_audit.h) and names the first broken link.
 *
 *   exit 0  "audit chain intact: N entries"
 *   exit 1  "audit chain broken at entry SEQ: why"
 *   exit 2  the database cannot be read, or a usage error
 */
#include "admin.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kh_audit.h"
#include "kh_config.h"

static const char audit_usage[] =
    "usage: kh-admin [--config FILE] audit verify\n"
    "Checks the aggregator's audit log ([aggregator] db): every revision applied and every\n"
    "change of a district or province total is an entry holding the hash of the one before.\n"
    "Prints \"audit chain intact: N entries\" (exit 0), or \"audit chain broken at entry SEQ:\n"
    "…\" naming the first entry that was changed, or whose link to the one before is wrong\n"
    "(an entry removed or inserted) (exit 1).  Exit 2: the database cannot be read.\n"
    "Cutting entries off the end leaves an intact chain: compare the last entry printed\n"
    "with a copy kept elsewhere.\n";

int admin_open_aggregator_db(const char *config_path, sqlite3 **db)
{
    *db = NULL;
    char err[512], path[PATH_MAX];
    kh_config_t *cfg = kh_config_load(config_path, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "kh-admin: %s\n", err);
        return -1;
    }
    int rc = kh_config_str(cfg, "aggregator", "db", "%RUN%/aggregator.db", path, sizeof path);
    kh_config_destroy(&cfg);
    if (rc < 0) {
        fprintf(stderr, "kh-admin: [aggregator] db is too long\n");
        return -1;
    }
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "kh-admin: %s: no aggregator database there ([aggregator] db)\n", path);
        return -1;
    }
    /* read-write without create: a WAL database may need its -shm made; nothing is
     * written (query_only) */
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(*db, "PRAGMA query_only=1", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "kh-admin: %s: %s\n", path, *db ? sqlite3_errmsg(*db) : "out of memory");
        sqlite3_close(*db);
        *db = NULL;
        return -1;
    }
    sqlite3_busy_timeout(*db, 5000);
    return 0;
}

int admin_audit(int argc, char **argv, const char *config_path)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(audit_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "verify") != 0) {
        fprintf(stderr, "kh-admin: unknown audit command '%s'; see kh-admin audit --help\n",
                argv[1]);
        return 2;
    }
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': config_path = optarg; break;
        case 'h': fputs(audit_usage, stdout); return 0;
        default: fprintf(stderr, "kh-admin: bad option; see kh-admin audit --help\n"); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kh-admin: audit verify takes no argument ('%s')\n", argv[optind]);
        return 2;
    }
    sqlite3 *db;
    if (admin_open_aggregator_db(config_path, &db) < 0)
        return 2;
    int64_t broken = 0;
    char why[512];
    int rc = kh_audit_verify(db, &broken, why, sizeof why);
    if (rc < 0) {
        fprintf(stderr, "kh-admin: cannot read the audit log: %s\n", why);
        sqlite3_close(db);
        return 2;
    }
    if (rc == 1) {
        /* why starts with "entry SEQ: " — the sentence below names it already */
        const char *colon = strstr(why, ": ");
        printf("audit chain broken at entry %lld: %s\n", (long long)broken,
               colon ? colon + 2 : why);
        sqlite3_close(db);
        return 1;
    }
    int64_t n = kh_audit_count(db);
    printf("audit chain intact: %lld entries\n", (long long)n);
    sqlite3_stmt *st;
    if (n > 0 && sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                                    -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            printf("last entry %lld, hash %s\n", (long long)sqlite3_column_int64(st, 0),
                   (const char *)sqlite3_column_text(st, 1));
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return 0;
}
