/*
 * deadletters.c — `kh-admin dead-letters`: the messages a service could not apply and set
 * aside (lib/transport/kh_inbox.h: the rest of its work went on without them).
 *
 *   kh-admin dead-letters list [SERVICE]          what is set aside, and why
 *   kh-admin dead-letters replay SERVICE ID|--all  apply again (within a second, by the
 *                                                  running service); applied, it leaves
 *   kh-admin dead-letters drop SERVICE ID          forget one for good (after a replay
 *                                                  cannot help: e.g. a forged message)
 *
 * SERVICE is collector, validator, aggregator or notifier; its database is [SERVICE] db.
 * Exit 0 done (list: also when there are none), 1 no such dead letter, 2 usage or a
 * database that cannot be opened.
 */
#include "admin.h"

#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kh_config.h"
#include "kh_inbox.h"
#include "kh_util.h"

static const char dl_usage[] =
    "usage: kh-admin [--config FILE] dead-letters list [SERVICE]\n"
    "       kh-admin [--config FILE] dead-letters replay SERVICE ID|--all\n"
    "       kh-admin [--config FILE] dead-letters drop SERVICE ID\n"
    "A dead letter is a message a service could not apply (its error is kept) and set aside,\n"
    "so that the rest of its work goes on.  Fix the cause (the error says what failed), then\n"
    "replay: the running service applies it again within a second.  SERVICE: collector,\n"
    "validator, aggregator or notifier.\n";

static const char *const svc_names[ADMIN_N_SERVICES] = {"collector", "validator", "aggregator",
                                                        "notifier"};

static int known(const char *s)
{
    for (int i = 0; i < ADMIN_N_SERVICES; i++)
        if (!strcmp(s, svc_names[i]))
            return 1;
    return 0;
}

/* [service] db, opened read-write without creating it.  NULL (why set) when it cannot. */
static sqlite3 *open_svc_db(kh_config_t *cfg, const char *service, char *why, size_t cap)
{
    char path[PATH_MAX], dflt[64];
    snprintf(dflt, sizeof dflt, "%%RUN%%/%s.db", service);
    if (kh_config_str(cfg, service, "db", path, sizeof path) < 0) {
        snprintf(why, cap, "[%s] db is too long", service);
        return NULL;
    }
    sqlite3 *db = NULL;
    if (access(path, R_OK) != 0 ||
        sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        snprintf(why, cap, "%.300s: no %s database there ([%s] db)", path, service, service);
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    return db;
}

int admin_dead_letter_counts(kh_config_t *cfg, long long counts[ADMIN_N_SERVICES])
{
    int ok = 0;
    for (int i = 0; i < ADMIN_N_SERVICES; i++) {
        char why[512];
        counts[i] = -1;
        sqlite3 *db = open_svc_db(cfg, svc_names[i], why, sizeof why);
        if (db)
            counts[i] = kh_inbox_dead_letter_count(db);    /* 0 also with no table yet */
        sqlite3_close(db);
        ok |= counts[i] >= 0;
    }
    return ok ? 0 : -1;
}

static int list(kh_config_t *cfg, const char *only)
{
    int shown = 0;
    for (int i = 0; i < ADMIN_N_SERVICES; i++) {
        if (only && strcmp(only, svc_names[i]) != 0)
            continue;
        char why[512];
        sqlite3 *db = open_svc_db(cfg, svc_names[i], why, sizeof why);
        if (!db) {
            if (only) {
                fprintf(stderr, "kh-admin: %s\n", why);
                return 2;
            }
            continue;
        }
        sqlite3_stmt *st = kh_inbox_dead_letter_list(db);
        if (!st) {
            sqlite3_close(db);
            continue;
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            char when[40];
            kh_iso_time(sqlite3_column_int64(st, 5), when, sizeof when);
            const char *origin = (const char *)sqlite3_column_text(st, 3);
            printf("%s\t#%lld\t%s\t%s\t%s%s\t%s\t%lld attempt(s)%s\t%d bytes\n\terror: %s\n",
                   svc_names[i], (long long)sqlite3_column_int64(st, 0),
                   (const char *)sqlite3_column_text(st, 1),
                   (const char *)sqlite3_column_text(st, 2), origin && origin[0] ? "from " : "",
                   origin && origin[0] ? origin : "", when,
                   (long long)sqlite3_column_int64(st, 6),
                   sqlite3_column_int(st, 7) ? ", replay asked" : "",
                   sqlite3_column_int(st, 8), (const char *)sqlite3_column_text(st, 4));
            shown++;
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    if (!shown)
        printf("no dead letters: every message was applied / không có thư lỗi tạm gác\n");
    else
        printf("-> fix the cause named by each error, then: kh-admin dead-letters replay SERVICE "
               "ID (or --all)\n");
    return 0;
}

static int change(kh_config_t *cfg, const char *service, const char *id, int drop)
{
    char why[512];
    long long n = 0;
    if (strcmp(id, "--all") != 0) {
        char *end;
        n = strtoll(id[0] == '#' ? id + 1 : id, &end, 10);
        if (*end || n <= 0) {
            fprintf(stderr, "kh-admin: '%s' is not a dead letter's number (#N in "
                            "kh-admin dead-letters list)\n", id);
            return 2;
        }
    } else if (drop) {
        fprintf(stderr, "kh-admin: drop takes one dead letter at a time\n");
        return 2;
    }
    sqlite3 *db = open_svc_db(cfg, service, why, sizeof why);
    if (!db) {
        fprintf(stderr, "kh-admin: %s\n", why);
        return 2;
    }
    /* n 0: --all */
    int64_t changed = drop ? kh_inbox_dead_letter_drop(db, n) : kh_inbox_dead_letter_replay(db, n);
    if (changed < 0) {
        fprintf(stderr, "kh-admin: %s: %s\n", service, sqlite3_errmsg(db));
        sqlite3_close(db);
        return 2;
    }
    sqlite3_close(db);
    if (!changed) {
        fprintf(stderr, "kh-admin: %s has no such dead letter (kh-admin dead-letters list %s)\n",
                service, service);
        return 1;
    }
    if (drop)
        printf("dead letter #%lld of the %s dropped\n", n, service);
    else
        printf("%lld dead letter(s) of the %s marked for replay: the running service applies them "
               "within a second; kh-admin dead-letters list %s shows what is left\n",
               (long long)changed, service, service);
    return 0;
}

int admin_dead_letters(int argc, char **argv, const char *config_path)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(dl_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    int is_list = !strcmp(cmd, "list"), is_replay = !strcmp(cmd, "replay"),
        is_drop = !strcmp(cmd, "drop");
    if ((!is_list && !is_replay && !is_drop) || (is_list && argc > 3) ||
        (!is_list && argc != 4) || (argc > 2 && !known(argv[2]))) {
        fputs(dl_usage, stderr);
        return 2;
    }
    char err[512];
    kh_config_t *cfg = kh_config_load(config_path, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "kh-admin: %s\n", err);
        return 2;
    }
    int rc = is_list ? list(cfg, argc > 2 ? argv[2] : NULL)
                     : change(cfg, argv[2], argv[3], is_drop);
    kh_config_destroy(&cfg);
    return rc;
}
