/*
 * store.c — the aggregator's schema and shared statements; see store.h.
 *
 * Only the aggregator creates or migrates aggregator.db; kh-admin (verify, status) reads
 * its tables through the ag_store_* reads below, never with SQL of its own: a table or
 * column changed here is changed in those reads too.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "kh_audit.h"
#include "kh_db.h"
#include "kh_outbox.h"

static const char *const migrations[] = {
    "CREATE TABLE accepted (report_id TEXT NOT NULL, revision INTEGER NOT NULL,"
    " district TEXT NOT NULL, period TEXT NOT NULL, received_at INTEGER NOT NULL,"
    " accepted_at INTEGER NOT NULL, warnings INTEGER NOT NULL, verdict BLOB NOT NULL,"
    " PRIMARY KEY (report_id, revision));"
    "CREATE TABLE counted (district TEXT NOT NULL, period TEXT NOT NULL,"
    " report_id TEXT NOT NULL, revision INTEGER NOT NULL, received_at INTEGER NOT NULL,"
    " counted_at INTEGER NOT NULL, warnings INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY (district, period));"
    "CREATE TABLE total (period TEXT NOT NULL, orgunit TEXT NOT NULL, indicator TEXT NOT NULL,"
    " sum REAL NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (period, orgunit, indicator));"
    "CREATE TABLE feed (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,"
    " payload BLOB NOT NULL);"
    KH_OUTBOX_SCHEMA("notifier"),
    /* 2: rejected revisions kept for the history; the counted revision's warnings */
    "CREATE TABLE rejected (report_id TEXT NOT NULL, revision INTEGER NOT NULL,"
    " district TEXT NOT NULL, period TEXT NOT NULL, received_at INTEGER NOT NULL,"
    " rejected_at INTEGER NOT NULL, verdict BLOB NOT NULL, PRIMARY KEY (report_id, revision));"
    "ALTER TABLE counted ADD COLUMN warning_list BLOB;",
    /* 3: the tamper-evident audit log (revisions applied, district and province cells changed) */
    KH_AUDIT_SCHEMA,
    /* 4: outbox expiry (issue 10) */
    KH_OUTBOX_EXPIRY("notifier"),
};

int ag_store_open(sqlite3 **db, const char *path, char *err, size_t errlen)
{
    return kh_db_open(db, path, migrations, sizeof migrations / sizeof *migrations, err,
                      errlen);
}

int ag_store_prepare(agg_t *a)
{
    a->st_accept = kh_db_prepare(a->db, "INSERT INTO accepted(report_id,revision,district,"
                                        "period,received_at,accepted_at,warnings,verdict) "
                                        "VALUES(?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING");
    a->st_reject = kh_db_prepare(a->db, "INSERT INTO rejected(report_id,revision,district,"
                                        "period,received_at,rejected_at,verdict) "
                                        "VALUES(?,?,?,?,?,?,?) ON CONFLICT DO NOTHING");
    a->st_counted_get = kh_db_prepare(a->db, "SELECT report_id,revision FROM counted "
                                             "WHERE district=? AND period=?");
    a->st_verdict_get = kh_db_prepare(a->db, "SELECT verdict FROM accepted "
                                             "WHERE report_id=? AND revision=?");
    a->st_total_rows = kh_db_prepare(a->db, "SELECT indicator,sum,n FROM total WHERE period=? "
                                            "AND orgunit=? ORDER BY indicator");
    a->st_total_del_key = kh_db_prepare(a->db, "DELETE FROM total WHERE period=? AND orgunit=? "
                                               "AND indicator=?");
    a->st_total_set = kh_db_prepare(a->db, "INSERT INTO total(period,orgunit,indicator,sum,n) "
                                           "VALUES(?1,?2,?3,?4,?5) ON CONFLICT DO UPDATE SET "
                                           "sum=excluded.sum, n=excluded.n");
    a->st_prov_upd = kh_db_prepare(a->db, "INSERT INTO total(period,orgunit,indicator,sum,n) "
                                          "VALUES(?1,?2,?3,?4,?5) ON CONFLICT DO UPDATE SET "
                                          "sum=sum+excluded.sum, n=n+excluded.n");
    a->st_feed_ins = kh_db_prepare(a->db, "INSERT INTO feed(at,payload) VALUES(?,?)");
    a->st_feed_upd = kh_db_prepare(a->db, "UPDATE feed SET payload=? WHERE seq=?");
    a->st_counted_put = kh_db_prepare(a->db, "INSERT OR REPLACE INTO counted(district,period,"
                                             "report_id,revision,received_at,counted_at,"
                                             "warnings,seq,warning_list) "
                                             "VALUES(?,?,?,?,?,?,?,?,?)");
    if (!a->st_accept || !a->st_reject || !a->st_counted_get || !a->st_verdict_get ||
        !a->st_total_rows || !a->st_total_del_key || !a->st_total_set || !a->st_prov_upd ||
        !a->st_feed_ins || !a->st_feed_upd || !a->st_counted_put)
        return -1;
    return 0;
}

void ag_store_finalize(agg_t *a)
{
    sqlite3_stmt **sts[] = {&a->st_accept, &a->st_reject, &a->st_counted_get,
                            &a->st_verdict_get, &a->st_total_rows, &a->st_total_del_key,
                            &a->st_total_set, &a->st_prov_upd, &a->st_feed_ins,
                            &a->st_feed_upd, &a->st_counted_put};
    for (size_t i = 0; i < sizeof sts / sizeof *sts; i++) {
        sqlite3_finalize(*sts[i]);
        *sts[i] = NULL;
    }
}

/* ---- reads for kh-admin ------------------------------------------------------------------ */

/* 1 when sql (?1 report_id, ?2 rev) gives a row, 0 when not, -1 on a database error */
static int has_row(sqlite3 *db, const char *sql, const char *report_id, int64_t rev)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, rev);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int ag_store_stage_of(sqlite3 *db, const char *report_id, int64_t rev, const char **stage)
{
    /* in this order: a counted revision was accepted too, a superseded one is accepted */
    static const char *const q[][2] = {
        {"SELECT 1 FROM counted WHERE report_id=?1 AND revision=?2", "counted"},
        {"SELECT 1 FROM rejected WHERE report_id=?1 AND revision=?2", "rejected"},
        {"SELECT 1 FROM accepted a JOIN counted c ON c.district=a.district AND "
         "c.period=a.period WHERE a.report_id=?1 AND a.revision=?2 AND c.revision>?2",
         "superseded"},
        {"SELECT 1 FROM accepted WHERE report_id=?1 AND revision=?2", "accepted"},
    };
    for (size_t i = 0; i < sizeof q / sizeof *q; i++) {
        int row = has_row(db, q[i][0], report_id, rev);
        if (row < 0)
            return KH_ERR;
        if (row) {
            *stage = q[i][1];
            return KH_OK;
        }
    }
    return KH_NO;
}

int ag_store_counted_revision(sqlite3 *db, const char *report_id, int64_t *rev)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT revision FROM counted WHERE report_id=?", -1, &st,
                           NULL) != SQLITE_OK)
        return KH_ERR;
    sqlite3_bind_text(st, 1, report_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *rev = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? KH_OK : rc == SQLITE_DONE ? KH_NO : KH_ERR;
}

int ag_store_verdict(sqlite3 *db, const char *report_id, int64_t rev, Kh__Verdict **v,
                     int *accepted)
{
    *v = NULL;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT verdict, 1 FROM accepted WHERE report_id=?1 AND "
                               "revision=?2 UNION ALL SELECT verdict, 0 FROM rejected WHERE "
                               "report_id=?1 AND revision=?2", -1, &st, NULL) != SQLITE_OK)
        return KH_ERR;
    sqlite3_bind_text(st, 1, report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, rev);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *accepted = sqlite3_column_int(st, 1);
        *v = ag_store_unpack(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? KH_OK : rc == SQLITE_DONE ? KH_NO : KH_ERR;
}

sqlite3_stmt *ag_store_counted_all(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT c.district, c.period, c.report_id, c.revision, a.verdict, "
                               KH_AUDIT_FIRST_BODY_SQL("'revision'", "c.report_id||'/'||c.revision")
                               " FROM counted c LEFT JOIN accepted a ON a.report_id=c.report_id "
                               "AND a.revision=c.revision ORDER BY c.period, c.district", -1, &st,
                           NULL) != SQLITE_OK)
        return NULL;
    return st;
}

sqlite3_stmt *ag_store_totals_all(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT period, orgunit, indicator, sum, n FROM total "
                               "ORDER BY period, orgunit, indicator", -1, &st, NULL) != SQLITE_OK)
        return NULL;
    return st;
}

/* ---- the stored form of a verdict ---------------------------------------------------------- */

#define ZSTD_LEVEL 1     /* the fastest: the ratio of level 3 is within 1 % on a report */

int ag_store_pack(const void *msg, size_t len, uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    size_t cap = ZSTD_compressBound(len);
    uint8_t *b = malloc(cap ? cap : 1);
    if (!b)
        return -1;
    size_t n = ZSTD_compress(b, cap, msg, len, ZSTD_LEVEL);
    if (ZSTD_isError(n)) {
        free(b);
        return -1;
    }
    *out = b;
    *outlen = n;
    return 0;
}

Kh__Verdict *ag_store_unpack(const void *blob, size_t len)
{
    static const uint8_t magic[4] = {0x28, 0xb5, 0x2f, 0xfd};     /* ZSTD_MAGICNUMBER, LE */
    if (!blob)
        return NULL;
    if (len < sizeof magic || memcmp(blob, magic, sizeof magic) != 0)
        return kh__verdict__unpack(NULL, len, blob);              /* stored before packing */
    unsigned long long size = ZSTD_getFrameContentSize(blob, len);
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
        size > AG_VERDICT_MAX_BYTES)
        return NULL;
    uint8_t *b = malloc(size ? (size_t)size : 1);
    if (!b)
        return NULL;
    size_t n = ZSTD_decompress(b, (size_t)size, blob, len);
    Kh__Verdict *v = ZSTD_isError(n) || n != size ? NULL : kh__verdict__unpack(NULL, n, b);
    free(b);
    return v;
}
