/*
 * test_co_store.c — the collector's store (services/collector/store.h): the schema made
 * by its migrations, opened twice (the second open migrates nothing), and the read
 * kh-admin status makes of it: the last report each district sent, by district, with
 * whether the door refused it, and the bound on the rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../services/collector/store.h"

static char path[64];

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/test_co_store_%d.db", (int)getpid());
    unlink(path);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char p[80];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
    return 0;
}

static void put(sqlite3 *db, const char *id, int rev, const char *district, const char *period,
                long long at, int refused)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO report(report_id,revision,district,"
                                            "period,received_at,refused,payload) "
                                            "VALUES(?,?,?,?,?,?,x'00')", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, rev);
    sqlite3_bind_text(st, 3, district, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, period, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, at);
    if (refused)
        sqlite3_bind_text(st, 6, "WRONG_DISTRICT", -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

static void test_last_reports(void **state)
{
    (void)state;
    sqlite3 *db = NULL;
    char err[256];
    assert_int_equal(co_store_open(&db, path, err, sizeof err), 0);
    put(db, "829-2020S1", 1, "829", "2020S1", 1000, 0);
    put(db, "829-2020S2", 1, "829", "2020S2", 2000, 0);
    put(db, "831-2020S2", 1, "831", "2020S2", 1500, 0);
    put(db, "831-2020S2", 2, "831", "2020S2", 1600, 1);      /* stored last: refused */
    put(db, "829-2020S1", 2, "829", "2020S1", 3000, 0);      /* 829's last, an older period */
    sqlite3_close(db);
    db = NULL;
    assert_int_equal(co_store_open(&db, path, err, sizeof err), 0);   /* nothing to migrate */

    sqlite3_stmt *st = co_store_last_reports(db, 10);
    assert_non_null(st);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "829");
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "2020S1");
    assert_string_equal((const char *)sqlite3_column_text(st, 2), "829-2020S1");
    assert_int_equal(sqlite3_column_int64(st, 3), 2);
    assert_int_equal(sqlite3_column_int64(st, 4), 3000);
    assert_int_equal(sqlite3_column_int(st, 5), 0);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "831");
    assert_int_equal(sqlite3_column_int64(st, 3), 2);
    assert_int_equal(sqlite3_column_int(st, 5), 1);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);

    st = co_store_last_reports(db, 1);                        /* the bound */
    assert_non_null(st);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_open_refuses_a_folder(void **state)
{
    (void)state;
    sqlite3 *db = NULL;
    char err[256] = "";
    assert_int_equal(co_store_open(&db, "/", err, sizeof err), -1);
    assert_null(db);
    assert_true(err[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_last_reports, setup, teardown),
        cmocka_unit_test(test_open_refuses_a_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
