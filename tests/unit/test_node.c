/*
 * test_node.c — kh-node's logic without sockets: queueing a file, receipts stored
 * once, stages that only move forward (a regression: after a notifier restart an
 * "accepted" receipt resent late overwrote "counted").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../services/node/node.c"

typedef struct {
    node_t n;
    char dir[64];
    char file[128];
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/kh-test-node-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char err[256];
    f->n.cat = kh_catalog_load("data", 620, 1205, err, sizeof err);
    assert_non_null(f->n.cat);
    snprintf(f->n.district, sizeof f->n.district, "829");
    snprintf(f->n.dir, sizeof f->n.dir, "%s/node", f->dir);
    assert_int_equal(node_open_db(&f->n), 0);
    snprintf(f->file, sizeof f->file, "%s/r.csv", f->dir);
    FILE *fp = fopen(f->file, "w");
    fputs("period,orgunit,indicator,value\n2019S1,28756,HO.TONG,1200\n", fp);
    fclose(fp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    kh_db_close(&f->n.db);
    kh_catalog_destroy(&f->n.cat);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static const char *stage_of(fx_t *f)
{
    static char out[32];
    sqlite3_stmt *st;
    sqlite3_prepare_v2(f->n.db, "SELECT stage FROM report WHERE report_id='829-2019S1'", -1,
                       &st, NULL);
    out[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, sizeof out, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static void receipt(fx_t *f, Kh__Stage stage, const char *tag, uint64_t seq)
{
    Kh__Receipt r = KH__RECEIPT__INIT;
    char id[64];
    snprintf(id, sizeof id, "829-2019S1/1/%s", tag);
    r.event_id = id;
    r.report_id = "829-2019S1";
    r.revision = 1;
    r.district = "829";
    r.period = "2019S1";
    r.stage = stage;
    r.feed_seq = seq;
    uint8_t *buf;
    size_t len;
    assert_int_equal(kh_wire_pack(&r.base, &buf, &len), 0);
    char got[KH_KEY_MAX];
    assert_int_equal(node_apply_receipt(&f->n, buf, len, got, sizeof got), 0);
    assert_string_equal(got, id);
    free(buf);
}

static void test_incomplete_report_refused_locally(void **state)
{
    fx_t *f = *state;
    /* one commune, one indicator: far from complete */
    assert_int_equal(node_submit_file(&f->n, f->file, NULL, 0, 0), 1);
    assert_string_equal(stage_of(f), "");
    char rp[160];
    snprintf(rp, sizeof rp, "%s.receipts.jsonl", f->file);
    char *buf;
    size_t len;
    assert_int_equal(kh_read_file(rp, 1 << 20, &buf, &len), 0);
    assert_non_null(strstr(buf, "\"stage\":\"rejected_locally\""));
    assert_non_null(strstr(buf, "MISSING_UNIT"));
    free(buf);
}

static void test_stages_only_move_forward(void **state)
{
    fx_t *f = *state;
    assert_int_equal(node_submit_file(&f->n, f->file, NULL, 1, 0), 0);   /* --force */
    assert_string_equal(stage_of(f), "queued");
    node_on_received(&f->n, "829-2019S1/1", 0);
    assert_string_equal(stage_of(f), "received");
    receipt(f, KH__STAGE__STAGE_COUNTED, "counted", 7);
    assert_string_equal(stage_of(f), "counted");
    receipt(f, KH__STAGE__STAGE_ACCEPTED, "accepted", 0);     /* late, after a resend */
    assert_string_equal(stage_of(f), "counted");
    node_on_received(&f->n, "829-2019S1/1", 1);                /* a duplicate ack */
    assert_string_equal(stage_of(f), "counted");
    receipt(f, KH__STAGE__STAGE_COUNTED, "counted", 7);        /* the same receipt again */
    sqlite3_stmt *st;
    sqlite3_prepare_v2(f->n.db, "SELECT count(*) FROM receipt", -1, &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2);
    sqlite3_finalize(st);
    assert_int_equal(f->n.receipts, 2);
}

static void test_revisions_increase(void **state)
{
    fx_t *f = *state;
    assert_int_equal(node_submit_file(&f->n, f->file, NULL, 1, 0), 0);
    assert_int_equal(node_submit_file(&f->n, f->file, NULL, 1, 0), 0);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(f->n.db, "SELECT group_concat(revision) FROM report", -1, &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "1,2");
    sqlite3_finalize(st);
    sqlite3_prepare_v2(f->n.db, "SELECT count(*) FROM outbox_collector", -1, &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2);
    sqlite3_finalize(st);
}

static void test_malformed_receipt(void **state)
{
    fx_t *f = *state;
    char id[KH_KEY_MAX];
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0x01};
    assert_int_equal(node_apply_receipt(&f->n, junk, sizeof junk, id, sizeof id), -1);
}

int main(void)
{
    kh_log_init("test", KH_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_incomplete_report_refused_locally, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stages_only_move_forward, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revisions_increase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_receipt, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
