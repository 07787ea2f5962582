/*
 * store.c — the aggregator's schema and shared statements; see store.h.
 *
 * Only the aggregator creates or migrates aggregator.db; kh-admin (verify, audit, status,
 * dead-letters) reads its tables with SELECTs of its own: a table or column changed here
 * is looked for there too.
 */
#include "store.h"

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
