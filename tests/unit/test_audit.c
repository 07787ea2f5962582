/*
 * test_audit.c — unit tests of the hash-chained audit log (lib/kh_audit.{h,c}) on a
 * real SQLite database in a temporary directory: appending, verifying, the triggers,
 * and what an edit made with plain SQL after dropping them looks like to the verifier.
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

#include "kh_audit.h"
#include "kh_db.h"
#include "kh_log.h"

static const char *const migrations[] = {KH_AUDIT_SCHEMA};

typedef struct {
    char dir[64], path[96];
    sqlite3 *db;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/kh-test-audit-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/a.db", f->dir);
    char err[256];
    if (kh_db_open(&f->db, f->path, migrations, 1, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    kh_db_close(&f->db);
    char p[128];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, sfx[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* n entries "value" 1..n, in one transaction like a service's batch */
static void fill(sqlite3 *db, int n)
{
    assert_int_equal(exec(db, "BEGIN"), 0);
    for (int i = 1; i <= n; i++) {
        char subject[64], body[128];
        snprintf(subject, sizeof subject, "2020S2/829/HO.TONG.%d", i);
        snprintf(body, sizeof body, "{\"before\":%d,\"after\":%d,\"report_id\":\"829-2020S2\"}",
                 i, i + 1);
        assert_int_equal(kh_audit_append(db, "value", subject, body), 0);
    }
    assert_int_equal(exec(db, "COMMIT"), 0);
}

static int verify(sqlite3 *db, int64_t *seq, char *why, size_t cap)
{
    return kh_audit_verify(db, seq, why, cap);
}

static void text_of(sqlite3 *db, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st;
    out[0] = '\0';
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_empty_is_intact(void **state)
{
    fx_t *f = *state;
    int64_t seq = -1;
    char why[256];
    assert_int_equal(verify(f->db, &seq, why, sizeof why), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(kh_audit_count(f->db), 0);
}

static void test_append_and_verify(void **state)
{
    fx_t *f = *state;
    fill(f->db, 10);
    assert_int_equal(kh_audit_count(f->db), 10);
    int64_t seq = -1;
    char why[256];
    assert_int_equal(verify(f->db, &seq, why, sizeof why), 0);
    /* the first entry links to 64 zeros, each later one to the hash before it */
    char prev[80], h[80];
    text_of(f->db, "SELECT prev FROM audit WHERE seq=1", prev, sizeof prev);
    assert_string_equal(prev, KH_AUDIT_ZERO);
    for (int i = 2; i <= 10; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT prev FROM audit WHERE seq=%d", i);
        text_of(f->db, sql, prev, sizeof prev);
        snprintf(sql, sizeof sql, "SELECT hash FROM audit WHERE seq=%d", i - 1);
        text_of(f->db, sql, h, sizeof h);
        assert_string_equal(prev, h);
    }
    /* the stored hash is the documented one, recomputed from the fields */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT seq,at,kind,subject,body,prev,hash FROM "
                                               "audit WHERE seq=7", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char hex[65];
    kh_audit_hash(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                  (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3),
                  (const char *)sqlite3_column_text(st, 4), (const char *)sqlite3_column_text(st, 5),
                  hex);
    assert_string_equal(hex, (const char *)sqlite3_column_text(st, 6));
    sqlite3_finalize(st);
    /* appending later continues the same chain */
    fill(f->db, 3);
    assert_int_equal(kh_audit_count(f->db), 13);
    assert_int_equal(verify(f->db, &seq, why, sizeof why), 0);
}

/* The documented encoding, pinned: a change of the format must be deliberate. */
static void test_hash_known_value(void **state)
{
    (void)state;
    char hex[65];
    kh_audit_hash(1, 1606780800000, "revision", "829-2020S2/1", "{}", KH_AUDIT_ZERO, hex);
    /* Python: sha256(s("KH-AUDIT-v1")+q(1)+q(1606780800000)+s("revision")+s("829-2020S2/1")
     *                +s("{}")+s("0"*64)) with s = >I length + bytes, q = >q */
    assert_string_equal(hex, "ac1d42d2d70491834eda76ab4b4c25965c55308652414448c2d5f0eaf2b19a03");
    char other[65];
    kh_audit_hash(1, 1606780800000, "revision", "829-2020S2/1", "{} ", KH_AUDIT_ZERO, other);
    assert_string_not_equal(hex, other);
    /* fields are length-prefixed: moving a character across a boundary changes it */
    kh_audit_hash(1, 1606780800000, "revision8", "29-2020S2/1", "{}", KH_AUDIT_ZERO, other);
    assert_string_not_equal(hex, other);
}

static void test_handle_same_chain(void **state)
{
    fx_t *f = *state;
    kh_audit_t *au = kh_audit_new(f->db);
    assert_non_null(au);
    assert_int_equal(exec(f->db, "BEGIN"), 0);
    assert_int_equal(kh_audit_add(au, "revision", "829-2020S2/1", "{\"accepted\":true}"), 0);
    assert_int_equal(kh_audit_append(f->db, "value", "2020S2/829/HO.TONG", "{}"), 0);
    assert_int_equal(kh_audit_add(au, "revision", "829-2020S2/2", "{\"accepted\":false}"), 0);
    assert_int_equal(exec(f->db, "COMMIT"), 0);
    kh_audit_destroy(&au);
    assert_null(au);
    int64_t seq;
    char why[256];
    assert_int_equal(verify(f->db, &seq, why, sizeof why), 0);
    assert_int_equal(kh_audit_count(f->db), 3);
}

static void test_rolled_back_leaves_no_trace(void **state)
{
    fx_t *f = *state;
    fill(f->db, 3);
    assert_int_equal(exec(f->db, "BEGIN"), 0);
    assert_int_equal(kh_audit_append(f->db, "value", "gone", "{}"), 0);
    assert_int_equal(exec(f->db, "ROLLBACK"), 0);
    assert_int_equal(kh_audit_count(f->db), 3);
    fill(f->db, 2);
    int64_t seq;
    char why[256];
    assert_int_equal(verify(f->db, &seq, why, sizeof why), 0);
    assert_int_equal(kh_audit_count(f->db), 5);
}

static void test_triggers_refuse_update_delete(void **state)
{
    fx_t *f = *state;
    fill(f->db, 5);
    char *msg = NULL;
    assert_int_not_equal(sqlite3_exec(f->db, "UPDATE audit SET body='{}' WHERE seq=3", NULL,
                                      NULL, &msg), SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));
    sqlite3_free(msg);
    msg = NULL;
    assert_int_not_equal(sqlite3_exec(f->db, "DELETE FROM audit WHERE seq=3", NULL, NULL, &msg),
                         SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));
    sqlite3_free(msg);
    assert_int_not_equal(exec(f->db, "DELETE FROM audit"), 0);
    assert_int_equal(kh_audit_count(f->db), 5);
    int64_t seq;
    char why[256];
    assert_int_equal(verify(f->db, &seq, why, sizeof why), 0);
}

static void test_edited_body_names_its_seq(void **state)
{
    fx_t *f = *state;
    fill(f->db, 10);
    assert_int_equal(exec(f->db, "DROP TRIGGER audit_no_update"), 0);
    assert_int_equal(exec(f->db, "UPDATE audit SET body=replace(body,'\"after\":8','\"after\":80')"
                                 " WHERE seq=7"), 0);
    assert_int_equal(sqlite3_changes(f->db), 1);
    int64_t seq = 0;
    char why[256];
    assert_int_equal(verify(f->db, &seq, why, sizeof why), 1);
    assert_int_equal(seq, 7);
    assert_non_null(strstr(why, "entry 7"));
    assert_non_null(strstr(why, "hash"));
}

static void test_edited_other_fields(void **state)
{
    fx_t *f = *state;
    fill(f->db, 6);
    assert_int_equal(exec(f->db, "DROP TRIGGER audit_no_update"), 0);
    const char *edits[] = {"UPDATE audit SET at=at+1 WHERE seq=%d",
                           "UPDATE audit SET kind='revision' WHERE seq=%d",
                           "UPDATE audit SET subject=subject||'x' WHERE seq=%d"};
    for (int e = 0; e < 3; e++) {
        int target = 2 + e;
        char sql[128];
        snprintf(sql, sizeof sql, edits[e], target);
        /* keep a copy of the row to put it back */
        assert_int_equal(exec(f->db, "CREATE TEMP TABLE IF NOT EXISTS keep AS SELECT * FROM "
                                     "audit WHERE 0"), 0);
        assert_int_equal(exec(f->db, "DELETE FROM keep"), 0);
        char cp[96];
        snprintf(cp, sizeof cp, "INSERT INTO keep SELECT * FROM audit WHERE seq=%d", target);
        assert_int_equal(exec(f->db, cp), 0);
        assert_int_equal(exec(f->db, sql), 0);
        int64_t seq = 0;
        char why[256];
        assert_int_equal(verify(f->db, &seq, why, sizeof why), 1);
        assert_int_equal(seq, target);
        assert_int_equal(exec(f->db, "UPDATE audit SET at=(SELECT at FROM keep),"
                                     "kind=(SELECT kind FROM keep),subject=(SELECT subject FROM "
                                     "keep) WHERE seq=(SELECT seq FROM keep)"), 0);
        assert_int_equal(verify(f->db, &seq, why, sizeof why), 0);
    }
}

/* Rewriting an entry and its hash moves the break to the next entry's link. */
static void test_rehashed_edit_breaks_next_link(void **state)
{
    fx_t *f = *state;
    fill(f->db, 6);
    assert_int_equal(exec(f->db, "DROP TRIGGER audit_no_update"), 0);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT at,kind,subject,prev FROM audit WHERE seq=4",
                                        -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char hex[65];
    kh_audit_hash(4, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                  (const char *)sqlite3_column_text(st, 2), "{\"forged\":true}",
                  (const char *)sqlite3_column_text(st, 3), hex);
    sqlite3_finalize(st);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE audit SET body='{\"forged\":true}', hash='%s' WHERE seq=4",
             hex);
    assert_int_equal(exec(f->db, sql), 0);
    int64_t seq = 0;
    char why[256];
    assert_int_equal(verify(f->db, &seq, why, sizeof why), 1);
    assert_int_equal(seq, 5);
    assert_non_null(strstr(why, "prev"));
}

static void test_deleted_middle_row_breaks_next(void **state)
{
    fx_t *f = *state;
    fill(f->db, 10);
    assert_int_equal(exec(f->db, "DROP TRIGGER audit_no_delete"), 0);
    assert_int_equal(exec(f->db, "DELETE FROM audit WHERE seq=5"), 0);
    int64_t seq = 0;
    char why[256];
    assert_int_equal(verify(f->db, &seq, why, sizeof why), 1);
    assert_int_equal(seq, 6);
    assert_non_null(strstr(why, "entry 6"));
    assert_non_null(strstr(why, "prev"));
    assert_non_null(strstr(why, "5..5"));
}

static void test_deleted_first_row_breaks_second(void **state)
{
    fx_t *f = *state;
    fill(f->db, 4);
    assert_int_equal(exec(f->db, "DROP TRIGGER audit_no_delete"), 0);
    assert_int_equal(exec(f->db, "DELETE FROM audit WHERE seq=1"), 0);
    int64_t seq = 0;
    char why[256];
    assert_int_equal(verify(f->db, &seq, why, sizeof why), 1);
    assert_int_equal(seq, 2);
}

static void test_inserted_row_detected(void **state)
{
    fx_t *f = *state;
    fill(f->db, 4);
    /* an entry slipped in after 2: the later ones moved to 13, 14 to make room */
    assert_int_equal(exec(f->db, "DROP TRIGGER audit_no_update"), 0);
    assert_int_equal(exec(f->db, "UPDATE audit SET seq=seq+10 WHERE seq>=3"), 0);
    char hex[65], prev[80], sql[512];
    text_of(f->db, "SELECT hash FROM audit WHERE seq=2", prev, sizeof prev);
    kh_audit_hash(3, 1, "value", "2020S2/829/HO.TONG", "{\"after\":1}", prev, hex);
    snprintf(sql, sizeof sql, "INSERT INTO audit VALUES(3,1,'value','2020S2/829/HO.TONG',"
                              "'{\"after\":1}','%s','%s')", prev, hex);
    assert_int_equal(exec(f->db, sql), 0);
    int64_t seq = 0;
    char why[256];
    assert_int_equal(verify(f->db, &seq, why, sizeof why), 1);
    assert_int_equal(seq, 13);          /* the old entry 3 no longer links to what is before */
}

static void test_verify_error_without_table(void **state)
{
    (void)state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    int64_t seq = 0;
    char why[256];
    assert_int_equal(kh_audit_verify(db, &seq, why, sizeof why), -1);
    assert_true(why[0] != '\0');
    assert_int_equal(kh_audit_count(db), -1);
    assert_int_equal(kh_audit_append(db, "value", "x", "{}"), -1);
    sqlite3_close(db);
}

int main(void)
{
    kh_log_init("test_audit", KH_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_is_intact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_and_verify, setup, teardown),
        cmocka_unit_test(test_hash_known_value),
        cmocka_unit_test_setup_teardown(test_handle_same_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rolled_back_leaves_no_trace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_triggers_refuse_update_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edited_body_names_its_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edited_other_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rehashed_edit_breaks_next_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_middle_row_breaks_next, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_first_row_breaks_second, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inserted_row_detected, setup, teardown),
        cmocka_unit_test(test_verify_error_without_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
