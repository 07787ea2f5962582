/*
 * test_node.c — kh-node's logic without sockets: queueing a file, receipts stored
 * once, stages that only move forward (a regression: after a notifier restart an
 * "accepted" receipt resent late overwrote "counted"); files refused unread (a link,
 * a FIFO, a file over [node] max_file_bytes) with a receipt and nothing of their
 * contents; names escaped in `kh-node status` and receipts; status --json and the
 * connection state; the content hash (identical content is not a new revision);
 * receipts kept in the node's folder when they cannot go beside the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../services/node/node.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <time.h>

#include "kh.pb-c.h"
#include "../../services/node/connection.h"
#include "kh_db.h"
#include "kh_log.h"
#include "kh_util.h"

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

/* node_print_status_json's document. */
static json_t *status_json(fx_t *f)
{
    char *out = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&out, &len);
    assert_int_equal(node_print_status_json(&f->n, mem), 0);
    fclose(mem);
    json_error_t e;
    json_t *doc = json_loads(out, 0, &e);
    assert_non_null(doc);
    free(out);
    return doc;
}

static char *slurp(const char *path)
{
    char *buf;
    size_t len;
    assert_int_equal(kh_read_file(path, 1 << 20, &buf, &len), 0);
    return buf;
}

static int count_rows(fx_t *f, const char *table)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(f->n.db, sql, -1, &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* A link, a FIFO and a file over the bound are refused unread, each with a receipt
 * that says why; nothing of the linked file reaches the receipt; nothing is queued. */
static void test_refused_unread(void **state)
{
    fx_t *f = *state;
    char secret[160], lnk[160], fifo[160], rp[192];
    snprintf(secret, sizeof secret, "%s/shadow", f->dir);
    FILE *fp = fopen(secret, "w");
    fputs("root:SECRET-MARKER-42:19000:0:99999:7:::\n", fp);
    fclose(fp);
    snprintf(lnk, sizeof lnk, "%s/link.csv", f->dir);
    assert_int_equal(symlink(secret, lnk), 0);
    assert_int_equal(node_submit_file(&f->n, lnk, NULL, 1, 0), 1);     /* even --force */
    snprintf(rp, sizeof rp, "%s.receipts.jsonl", lnk);
    char *r = slurp(rp);
    assert_non_null(strstr(r, "\"stage\":\"rejected_locally\""));
    assert_non_null(strstr(r, "\"code\":\"FILE_IS_LINK\""));
    assert_non_null(strstr(r, "\"message_vi\":"));
    assert_null(strstr(r, "SECRET-MARKER"));
    assert_null(strstr(r, "root:"));
    free(r);
    struct stat st;                           /* the receipts file is private */
    assert_int_equal(stat(rp, &st), 0);
    assert_int_equal(st.st_mode & 0027, 0);

    snprintf(fifo, sizeof fifo, "%s/pipe.csv", f->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(60);                                /* a hang guard: a blocked open fails */
    assert_int_equal(node_submit_file(&f->n, fifo, NULL, 0, 0), 1);
    alarm(0);
    snprintf(rp, sizeof rp, "%s.receipts.jsonl", fifo);
    r = slurp(rp);
    assert_non_null(strstr(r, "\"code\":\"NOT_A_FILE\""));
    assert_non_null(strstr(r, "FIFO"));
    free(r);

    f->n.max_file_bytes = 20;                 /* r.csv has 57 bytes */
    assert_int_equal(node_submit_file(&f->n, f->file, NULL, 1, 0), 1);
    snprintf(rp, sizeof rp, "%s.receipts.jsonl", f->file);
    r = slurp(rp);
    assert_non_null(strstr(r, "\"code\":\"FILE_TOO_LARGE\""));
    assert_non_null(strstr(r, "tối đa 20 byte"));
    assert_null(strstr(r, "HO.TONG"));        /* not read: nothing of it shown */
    free(r);

    assert_int_equal(f->n.files_refused, 3);
    assert_int_equal(f->n.rejected_locally, 3);
    assert_int_equal(f->n.queued, 0);
    assert_int_equal(count_rows(f, "report"), 0);
    f->n.max_file_bytes = 0;                  /* the default bound: queued (--force) */
    assert_int_equal(node_submit_file(&f->n, f->file, NULL, 1, 0), 0);
    assert_int_equal(count_rows(f, "report"), 1);
}

/* A file name with a newline, a tab and invalid UTF-8: status stays one line per
 * report, the receipt is written (valid JSON) and the province gets the escaped name. */
static void test_status_escapes_names(void **state)
{
    fx_t *f = *state;
    char odd[160], rp[192];
    snprintf(odd, sizeof odd, "%s/bad\nname\t\xff.csv", f->dir);
    assert_int_equal(rename(f->file, odd), 0);
    assert_int_equal(node_submit_file(&f->n, odd, NULL, 1, 0), 0);
    char *out = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&out, &len);
    assert_int_equal(node_print_status(&f->n, mem), 0);
    fclose(mem);
    int lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 7);     /* a 2-line header, the report, outbox, connection (3) */
    assert_non_null(strstr(out, "bad\\nname\\t\\xff.csv\nHàng đợi gửi / outbox: 1\n"));
    assert_non_null(strstr(out, "chờ gửi/queued"));
    free(out);
    json_t *doc = status_json(f);
    const char *file = json_string_value(json_object_get(
        json_array_get(json_object_get(doc, "reports"), 0), "file"));
    assert_non_null(file);
    assert_non_null(strstr(file, "bad\\nname\\t\\xff.csv"));
    json_decref(doc);
    snprintf(rp, sizeof rp, "%s.receipts.jsonl", odd);
    char *r = slurp(rp);
    assert_non_null(strstr(r, "\"file\":\"bad\\\\nname\\\\t\\\\xff.csv\""));
    free(r);
}

/* status --json: the report with its stage (and its Vietnamese name), the outbox, and
 * the connection state the running node stored (connection.c), since when. */
static void test_status_json(void **state)
{
    fx_t *f = *state;
    assert_int_equal(node_submit_file(&f->n, f->file, NULL, 1, 0), 0);
    json_t *doc = status_json(f);
    json_t *r = json_array_get(json_object_get(doc, "reports"), 0);
    assert_string_equal(json_string_value(json_object_get(r, "id")), "829-2019S1");
    assert_int_equal(json_integer_value(json_object_get(r, "revision")), 1);
    assert_string_equal(json_string_value(json_object_get(r, "period")), "2019S1");
    assert_string_equal(json_string_value(json_object_get(r, "stage")), "queued");
    assert_string_equal(json_string_value(json_object_get(r, "stage_text")), "chờ gửi/queued");
    assert_string_equal(json_string_value(json_object_get(r, "file")), f->file);
    const char *iso = json_string_value(json_object_get(r, "submitted_at"));
    assert_non_null(iso);
    assert_int_equal(iso[strlen(iso) - 1], 'Z');
    assert_int_equal(json_integer_value(json_object_get(doc, "outbox")), 1);
    json_t *c = json_object_get(doc, "connection");
    assert_string_equal(json_string_value(json_object_get(c, "state")), "unknown");
    assert_true(json_is_null(json_object_get(c, "since")));
    json_decref(doc);

    assert_int_equal(node_conn_set(&f->n, NODE_CONN_REFUSED_KEY), 0);
    int64_t since = f->n.conn_since;
    assert_int_equal(node_conn_set(&f->n, NODE_CONN_REFUSED_KEY), 0);   /* the same: kept */
    assert_int_equal(f->n.conn_since, since);
    doc = status_json(f);
    c = json_object_get(doc, "connection");
    assert_string_equal(json_string_value(json_object_get(c, "state")), "refused_key");
    assert_true(json_is_string(json_object_get(c, "since")));
    assert_non_null(strstr(json_string_value(json_object_get(c, "message")),
                           "kh-admin keys register"));
    json_decref(doc);
}

/* The content hash: the same values in another order are the same content; another
 * value, another unit or another period is not. */
static void test_content_hash(void **state)
{
    (void)state;
    Kh__Value v1 = KH__VALUE__INIT, v2 = KH__VALUE__INIT;
    v1.orgunit = "28756";
    v1.indicator = "HO.TONG";
    v1.raw = "1200";
    v2.orgunit = "28757";
    v2.indicator = "HO.TONG";
    v2.raw = "900";
    Kh__Value *ab[] = {&v1, &v2}, *ba[] = {&v2, &v1};
    Kh__Report r = KH__REPORT__INIT;
    r.period = "2019S1";
    r.n_values = 2;
    r.values = ab;
    char h1[NODE_HASH_HEX], h2[NODE_HASH_HEX];
    assert_int_equal(node_content_hash(&r, h1), 0);
    assert_int_equal(strlen(h1), 64);
    r.values = ba;
    assert_int_equal(node_content_hash(&r, h2), 0);
    assert_string_equal(h1, h2);
    v2.raw = "901";
    assert_int_equal(node_content_hash(&r, h2), 0);
    assert_string_not_equal(h1, h2);
    v2.raw = "900";
    r.period = "2019S2";
    assert_int_equal(node_content_hash(&r, h2), 0);
    assert_string_not_equal(h1, h2);
}

/* Receipts that cannot be written beside the file (here: that name is a folder, which
 * stops root too) go to <node folder>/receipts/, the database says so; every receipt
 * line has a readable local date with its offset. */
static void test_receipts_moved(void **state)
{
    fx_t *f = *state;
    char rp[192], kept[1200];
    snprintf(rp, sizeof rp, "%s.receipts.jsonl", f->file);
    assert_int_equal(mkdir(rp, 0700), 0);
    setenv("TZ", "ICT-7", 1);
    tzset();
    assert_int_equal(node_submit_file(&f->n, f->file, NULL, 1, 0), 0);
    snprintf(kept, sizeof kept, "%s/receipts/r.csv.receipts.jsonl", f->n.dir);
    char *r = slurp(kept);
    assert_non_null(strstr(r, "\"stage\":\"queued\""));
    assert_non_null(strstr(r, " +07:00\""));
    assert_non_null(strstr(r, "\"at_text\":\""));
    free(r);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(f->n.db, "SELECT receipts FROM report", -1, &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), kept);
    sqlite3_finalize(st);
    unsetenv("TZ");
    tzset();
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
        cmocka_unit_test_setup_teardown(test_refused_unread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_escapes_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receipts_moved, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
