/*
 * store.c — the collector's schema and the reads kh-admin makes of it; see store.h.
 */
#include "store.h"

#include "kh_db.h"
#include "kh_outbox.h"

static const char *const migrations[] = {
    "CREATE TABLE report (report_id TEXT NOT NULL, revision INTEGER NOT NULL,"
    " district TEXT NOT NULL, period TEXT NOT NULL, received_at INTEGER NOT NULL,"
    " refused TEXT, payload BLOB NOT NULL, PRIMARY KEY (report_id, revision));"
    "CREATE TABLE receipt (event_id TEXT PRIMARY KEY, district TEXT NOT NULL,"
    " at INTEGER NOT NULL);"
    KH_OUTBOX_SCHEMA("validator") KH_OUTBOX_SCHEMA("nodes"),
    /* 2: outbox expiry: a reminder not delivered by its due date is dropped (issue 10) */
    KH_OUTBOX_EXPIRY("validator") KH_OUTBOX_EXPIRY("nodes"),
};

int co_store_open(sqlite3 **db, const char *path, char *err, size_t errlen)
{
    return kh_db_open(db, path, migrations, sizeof migrations / sizeof *migrations, err,
                      errlen);
}

sqlite3_stmt *co_store_last_reports(sqlite3 *db, int max)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT district, period, report_id, revision, received_at, "
                               "refused IS NOT NULL FROM report WHERE rowid IN (SELECT "
                               "max(rowid) FROM report GROUP BY district) ORDER BY district "
                               "LIMIT ?", -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int(st, 1, max);
    return st;
}
