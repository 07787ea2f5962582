/*
 * kh_db.c — SQLite open/migrate/exec helpers; see kh_db.h.
 */
#include "kh_db.h"
#include "kh_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* path (or path + suffix), when it is a regular file others may read or its group may
 * write: narrowed to the owner's bits and the group's read (0640 at most). */
static void narrow_mode(const char *path, const char *suffix)
{
    char p[4096];
    struct stat st;
    if ((size_t)snprintf(p, sizeof p, "%s%s", path, suffix) >= sizeof p ||
        lstat(p, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 027))
        return;
    if (chmod(p, st.st_mode & 0740) < 0)
        KH_WARN("db.mode", "a database file others may read could not be made private "
                "(chmod 0640 it)", "path", p, "error", strerror(errno));
}

int kh_db_open(sqlite3 **db, const char *path, const char *const *migrations, size_t n,
               char *err, size_t errlen)
{
    *db = NULL;
    sqlite3 *h = NULL;
    if (path[0] && path[0] != ':' && strncmp(path, "file:", 5) != 0) {
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
        if (fd >= 0)
            close(fd);                  /* a new, empty file: SQLite makes it a database */
        narrow_mode(path, "");
        narrow_mode(path, "-wal");
        narrow_mode(path, "-shm");
    }
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, h ? sqlite3_errmsg(h) : "out of memory");
        sqlite3_close(h);
        return -1;
    }
    sqlite3_busy_timeout(h, 5000);
    char *msg = NULL;
    if (sqlite3_exec(h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                        "PRAGMA foreign_keys=ON;", NULL, NULL, &msg) != SQLITE_OK)
        goto out_fail;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        goto out_fail_h;
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (version > (int)n) {
        snprintf(err, errlen, "%s: schema version %d is newer than this program (%zu)",
                 path, version, n);
        sqlite3_close(h);
        return -1;
    }
    if ((size_t)version < n) {
        if (sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
            goto out_fail;
        /* again under the write lock: another process opening the same new database
         * may have migrated it while this one waited (kh-node run and kh-node status) */
        if (sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
            sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
            goto out_fail_h;
        }
        version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
        sqlite3_finalize(st);
        if (version > (int)n) {
            snprintf(err, errlen, "%s: schema version %d is newer than this program (%zu)",
                     path, version, n);
            sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
            sqlite3_close(h);
            return -1;
        }
        for (size_t i = (size_t)version; i < n; i++) {
            if (sqlite3_exec(h, migrations[i], NULL, NULL, &msg) != SQLITE_OK) {
                snprintf(err, errlen, "%s: migration %zu: %s", path, i + 1, msg);
                sqlite3_free(msg);
                sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
                sqlite3_close(h);
                return -1;
            }
        }
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%zu", n);
        if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(h, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
            sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
            goto out_fail;
        }
    }
    *db = h;
    return 0;
out_fail:
    snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(h));
    sqlite3_free(msg);
    sqlite3_close(h);
    return -1;
out_fail_h:
    snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(h));
    sqlite3_close(h);
    return -1;
}

void kh_db_close(sqlite3 **db)
{
    if (*db) {
        sqlite3_close_v2(*db);
        *db = NULL;
    }
}

int kh_db_exec(sqlite3 *db, const char *sql, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        KH_ERROR("db.error", msg ? msg : sqlite3_errmsg(db), "what", what);
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

sqlite3_stmt *kh_db_prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        KH_ERROR("db.prepare", sqlite3_errmsg(db), "sql", sql);
        return NULL;
    }
    return st;
}

int kh_db_integrity(sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int ok = sqlite3_step(st) == SQLITE_ROW &&
             strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
    sqlite3_finalize(st);
    return ok ? 0 : -1;
}
