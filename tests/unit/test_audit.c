/*
 * test_audit.c — unit tests of the hash-chained audit log (lib/security/kh_audit.{h,c}) on a
 * real SQLite database in a temporary directory: appending, verifying, the triggers,
 * and what an edit made with plain SQL after dropping them looks like to the verifier;
 * then the signed checkpoints: one line per commit, the signed bytes as documented,
 * what kh_audit_checkpoints_verify names (an entry rewritten with every later hash
 * recomputed, entries cut off or removed, a line altered, another key, no file), what
 * kh_audit_anchor refuses at start, and the audit key's files (kh_key_own).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kh_audit.h"
#include "kh_db.h"
#include "kh_keys.h"
#include "kh_log.h"

static const char *const migrations[] = {KH_AUDIT_SCHEMA};

typedef struct {
    char dir[64], path[96], cp[96];
    sqlite3 *db;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/kh-test-audit-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/a.db", f->dir);
    snprintf(f->cp, sizeof f->cp, "%s/a.checkpoints", f->dir);
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
    char p[160];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, sfx[i]);
        unlink(p);
    }
    unlink(f->cp);
    const char *keys[] = {"k/audit.key", "k/audit.pub", "k"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", f->dir, keys[i]);
        i < 2 ? unlink(p) : rmdir(p);
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

/* The reads kh-admin makes: a kind's first entry about a subject, and the last entry. */
static void test_first_and_last(void **state)
{
    fx_t *f = *state;
    int64_t seq = -1;
    char *body = (char *)"untouched", hash[65];
    assert_int_equal(kh_audit_last(f->db, &seq, hash), KH_NO);          /* empty */
    assert_int_equal(kh_audit_first(f->db, "revision", "829-2020S2/1", &seq, &body), KH_NO);
    assert_null(body);
    fill(f->db, 3);
    assert_int_equal(exec(f->db, "BEGIN"), 0);
    assert_int_equal(kh_audit_append(f->db, "revision", "829-2020S2/1", "{\"n\":1}"), 0);
    assert_int_equal(kh_audit_append(f->db, "value", "829-2020S2/2", "{\"n\":2}"), 0);
    assert_int_equal(kh_audit_append(f->db, "revision", "829-2020S2/1", "{\"n\":3}"), 0);
    assert_int_equal(exec(f->db, "COMMIT"), 0);
    /* the first of that kind about that subject */
    assert_int_equal(kh_audit_first(f->db, "revision", "829-2020S2/1", &seq, &body), KH_OK);
    assert_int_equal(seq, 4);
    assert_string_equal(body, "{\"n\":1}");
    free(body);
    assert_int_equal(kh_audit_first(f->db, "revision", "829-2020S2/2", &seq, &body), KH_NO);
    assert_null(body);
    assert_int_equal(kh_audit_first(f->db, "value", "829-2020S2/2", &seq, &body), KH_OK);
    assert_int_equal(seq, 5);
    free(body);
    /* the last entry and its stored hash */
    char stored[80];
    text_of(f->db, "SELECT hash FROM audit WHERE seq=6", stored, sizeof stored);
    assert_int_equal(kh_audit_last(f->db, &seq, hash), KH_OK);
    assert_int_equal(seq, 6);
    assert_string_equal(hash, stored);
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
    char *body = NULL, hash[65];
    assert_int_equal(kh_audit_first(db, "revision", "x", &seq, &body), KH_ERR);
    assert_null(body);
    assert_int_equal(kh_audit_last(db, &seq, hash), KH_ERR);
    sqlite3_close(db);
}

/* ---- checkpoints ---------------------------------------------------------------------- */

typedef struct {
    char lines[16][1024];
    int n;
} found_t;

static void collect(void *arg, const char *line)
{
    found_t *fd = arg;
    if (fd->n < 16)
        snprintf(fd->lines[fd->n], sizeof fd->lines[0], "%s", line);
    fd->n++;
}

static kh_key_t test_key(const char *id)
{
    kh_key_t k;
    assert_int_equal(kh_key_generate(id, "audit", "test", &k), 0);
    return k;
}

/* a handle anchored on f->cp with key k */
static kh_audit_t *anchored(fx_t *f, const kh_key_t *k, int created)
{
    kh_audit_t *au = kh_audit_new(f->db);
    assert_non_null(au);
    char err[1024] = "";
    if (kh_audit_anchor(au, f->cp, k, created, err, sizeof err) != 0)
        fail_msg("kh_audit_anchor: %s", err);
    return au;
}

/* one commit of n entries, then its checkpoint */
static void commit_n(fx_t *f, kh_audit_t *au, int n)
{
    static int k;
    assert_int_equal(exec(f->db, "BEGIN"), 0);
    for (int i = 0; i < n; i++) {
        char subject[64], body[96];
        k++;
        snprintf(subject, sizeof subject, "2020S2/83/HO.TONG");
        snprintf(body, sizeof body, "{\"report_id\":\"829-2020S2\",\"after\":{\"sum\":%d}}", k);
        assert_int_equal(kh_audit_add(au, "value", subject, body), 0);
    }
    assert_int_equal(exec(f->db, "COMMIT"), 0);
    assert_int_equal(kh_audit_checkpoint(au), n);
}

static int cp_verify(fx_t *f, const kh_key_t *k, found_t *fd, kh_audit_cp_summary_t *sum)
{
    char err[512] = "";
    memset(fd, 0, sizeof *fd);
    int rc = kh_audit_checkpoints_verify(f->db, f->cp, k->ed_pk, collect, fd, sum, err,
                                         sizeof err);
    if (rc < 0)
        fail_msg("kh_audit_checkpoints_verify: %s", err);
    return rc;
}

static int file_lines(const char *path, char lines[][65536], int cap)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    int n = 0;
    while (n < cap && fgets(lines[n], 65536, fp))
        n++;
    fclose(fp);
    return n;
}

static char file_buf[8][65536];

/* the signed bytes, built here from the documentation (not with kh_audit_cp_message) */
static size_t doc_message(int64_t from, int64_t to, int64_t at, const char *const *h, uint8_t *out)
{
    size_t n = 0;
#define U32(x) do { uint32_t v_ = (uint32_t)(x); for (int i_ = 3; i_ >= 0; i_--) out[n++] = (uint8_t)(v_ >> (8 * i_)); } while (0)
#define I64(x) do { uint64_t v_ = (uint64_t)(x); for (int i_ = 7; i_ >= 0; i_--) out[n++] = (uint8_t)(v_ >> (8 * i_)); } while (0)
#define STR(s) do { U32(strlen(s)); memcpy(out + n, s, strlen(s)); n += strlen(s); } while (0)
    STR("KH-AUDIT-CHECKPOINT-v1");
    I64(from);
    I64(to);
    I64(at);
    U32(to - from + 1);
    for (int64_t i = 0; i <= to - from; i++)
        STR(h[i]);
#undef U32
#undef I64
#undef STR
    return n;
}

static void test_cp_message_encoding(void **state)
{
    (void)state;
    const char *h[2] = {"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                        "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"};
    uint8_t want[512], *got;
    size_t len, wl = doc_message(3, 4, 1773136800123, h, want);
    assert_int_equal(kh_audit_cp_message(3, 4, 1773136800123, h, &got, &len), 0);
    assert_int_equal(len, wl);
    assert_int_equal(len, 4 + 22 + 8 * 3 + 4 + 2 * (4 + 64));
    assert_memory_equal(got, want, len);
    free(got);
    /* "at" is signed too: another time, other bytes */
    assert_int_equal(kh_audit_cp_message(3, 4, 1773136800124, h, &got, &len), 0);
    assert_memory_not_equal(got, want, len);
    free(got);
    assert_int_equal(kh_audit_cp_message(4, 3, 0, h, &got, &len), -1);
    assert_null(got);
    assert_int_equal(kh_audit_cp_message(0, 0, 0, h, &got, &len), -1);
}

/* One line per commit, holding the stored hashes, signed as documented. */
static void test_cp_one_line_per_commit(void **state)
{
    fx_t *f = *state;
    kh_key_t k = test_key("agg-audit");
    kh_audit_t *au = anchored(f, &k, 1);
    assert_int_equal(kh_audit_checkpoint(au), 0);           /* nothing yet */
    commit_n(f, au, 5);
    commit_n(f, au, 3);
    assert_int_equal(kh_audit_checkpoint(au), 0);           /* nothing new */
    struct stat st;
    assert_int_equal(stat(f->cp, &st), 0);
    mode_t um = umask(0);
    umask(um);
    assert_int_equal(st.st_mode & 0777, 0640 & ~um);
    assert_int_equal(file_lines(f->cp, file_buf, 8), 2);
    json_t *o = json_loads(file_buf[0], 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "from")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "to")), 5);
    json_t *h = json_object_get(o, "hashes");
    assert_int_equal(json_array_size(h), 5);
    const char *hs[5];
    for (int i = 0; i < 5; i++) {
        char sql[64], stored[80];
        snprintf(sql, sizeof sql, "SELECT hash FROM audit WHERE seq=%d", i + 1);
        text_of(f->db, sql, stored, sizeof stored);
        hs[i] = json_string_value(json_array_get(h, (size_t)i));
        assert_string_equal(hs[i], stored);
    }
    uint8_t msg[1024], sig[64];
    size_t ml = doc_message(1, 5, json_integer_value(json_object_get(o, "at")), hs, msg), n;
    const char *b64 = json_string_value(json_object_get(o, "sig"));
    assert_int_equal(sodium_base642bin(sig, 64, b64, strlen(b64), NULL, &n, NULL,
                                       sodium_base64_VARIANT_ORIGINAL), 0);
    assert_int_equal(n, 64);
    assert_int_equal(crypto_sign_verify_detached(sig, msg, ml, k.ed_pk), 0);
    kh_key_t other = test_key("other");
    assert_int_not_equal(crypto_sign_verify_detached(sig, msg, ml, other.ed_pk), 0);
    json_decref(o);
    o = json_loads(file_buf[1], 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(o, "from")), 6);
    assert_int_equal(json_integer_value(json_object_get(o, "to")), 8);
    json_decref(o);

    found_t fd;
    kh_audit_cp_summary_t sum;
    assert_int_equal(cp_verify(f, &k, &fd, &sum), 0);
    assert_int_equal(fd.n, 0);
    assert_int_equal(sum.lines, 2);
    assert_int_equal(sum.good_lines, 2);
    assert_int_equal(sum.signed_to, 8);
    assert_int_equal(sum.unsigned_from, 0);
    char last[80];
    text_of(f->db, "SELECT hash FROM audit WHERE seq=8", last, sizeof last);
    assert_string_equal(sum.last_hash, last);
    kh_audit_destroy(&au);
}

static void test_cp_rolled_back_not_signed(void **state)
{
    fx_t *f = *state;
    kh_key_t k = test_key("agg-audit");
    kh_audit_t *au = anchored(f, &k, 1);
    assert_int_equal(exec(f->db, "BEGIN"), 0);
    assert_int_equal(kh_audit_add(au, "value", "gone", "{}"), 0);
    assert_int_equal(exec(f->db, "ROLLBACK"), 0);
    assert_int_equal(kh_audit_checkpoint(au), 0);
    assert_int_equal(file_lines(f->cp, file_buf, 8), 0);
    commit_n(f, au, 2);
    assert_int_equal(file_lines(f->cp, file_buf, 8), 1);
    assert_non_null(strstr(file_buf[0], "\"from\":1,\"to\":2,"));
    found_t fd;
    kh_audit_cp_summary_t sum;
    assert_int_equal(cp_verify(f, &k, &fd, &sum), 0);
    kh_audit_destroy(&au);
}

/* Entries written since the last checkpoint are not a finding. */
static void test_cp_unsigned_tail_is_not_a_finding(void **state)
{
    fx_t *f = *state;
    kh_key_t k = test_key("agg-audit");
    kh_audit_t *au = anchored(f, &k, 1);
    commit_n(f, au, 4);
    assert_int_equal(exec(f->db, "BEGIN"), 0);
    assert_int_equal(kh_audit_add(au, "value", "x", "{}"), 0);
    assert_int_equal(kh_audit_add(au, "value", "y", "{}"), 0);
    assert_int_equal(exec(f->db, "COMMIT"), 0);            /* no checkpoint yet */
    found_t fd;
    kh_audit_cp_summary_t sum;
    assert_int_equal(cp_verify(f, &k, &fd, &sum), 0);
    assert_int_equal(sum.signed_to, 4);
    assert_int_equal(sum.unsigned_from, 5);
    assert_int_equal(sum.last_seq, 6);
    kh_audit_destroy(&au);
}

/* Rewriting entry 4 and recomputing every later hash keeps the chain intact; the
 * checkpoints name entry 4 as rewritten and 5..10 as re-hashed. */
static void test_cp_rewrite_with_rehash_named(void **state)
{
    fx_t *f = *state;
    kh_key_t k = test_key("agg-audit");
    kh_audit_t *au = anchored(f, &k, 1);
    commit_n(f, au, 6);
    commit_n(f, au, 4);
    kh_audit_destroy(&au);
    char signed4[80];
    text_of(f->db, "SELECT hash FROM audit WHERE seq=4", signed4, sizeof signed4);
    assert_int_equal(exec(f->db, "DROP TRIGGER audit_no_update"), 0);
    assert_int_equal(exec(f->db, "UPDATE audit SET body='{\"after\":{\"sum\":100000}}' WHERE seq=4"),
                     0);
    char prev[80];
    text_of(f->db, "SELECT prev FROM audit WHERE seq=4", prev, sizeof prev);
    for (int s = 4; s <= 10; s++) {
        sqlite3_stmt *st;
        char sql[256], hex[65];
        snprintf(sql, sizeof sql, "SELECT at,kind,subject,body FROM audit WHERE seq=%d", s);
        assert_int_equal(sqlite3_prepare_v2(f->db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        kh_audit_hash(s, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                      (const char *)sqlite3_column_text(st, 2),
                      (const char *)sqlite3_column_text(st, 3), prev, hex);
        sqlite3_finalize(st);
        snprintf(sql, sizeof sql, "UPDATE audit SET prev='%s', hash='%s' WHERE seq=%d", prev, hex, s);
        assert_int_equal(exec(f->db, sql), 0);
        snprintf(prev, sizeof prev, "%s", hex);
    }
    int64_t seq;
    char why[256];
    assert_int_equal(verify(f->db, &seq, why, sizeof why), 0);    /* the chain cannot tell */
    found_t fd;
    kh_audit_cp_summary_t sum;
    assert_int_equal(cp_verify(f, &k, &fd, &sum), 1);
    assert_int_equal(fd.n, 2);
    char now4[80], want[512];
    text_of(f->db, "SELECT hash FROM audit WHERE seq=4", now4, sizeof now4);
    snprintf(want, sizeof want, "audit entry 4 was rewritten: its hash %s differs from the one "
             "signed at checkpoint line 1 (", now4);
    assert_true(strncmp(fd.lines[0], want, strlen(want)) == 0);
    assert_non_null(strstr(fd.lines[0], signed4));
    assert_true(strncmp(fd.lines[1], "audit entries 5–10 were re-hashed", 33) == 0);
    assert_int_equal(sum.problems, 2);
}

/* The last entries deleted: named with the checkpoint lines that signed them. */
static void test_cp_cut_off_end_named(void **state)
{
    fx_t *f = *state;
    kh_key_t k = test_key("agg-audit");
    kh_audit_t *au = anchored(f, &k, 1);
    commit_n(f, au, 4);
    commit_n(f, au, 3);
    commit_n(f, au, 3);
    kh_audit_destroy(&au);
    assert_int_equal(exec(f->db, "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq>=6"), 0);
    int64_t seq;
    char why[256];
    assert_int_equal(verify(f->db, &seq, why, sizeof why), 0);    /* the chain cannot tell */
    found_t fd;
    kh_audit_cp_summary_t sum;
    assert_int_equal(cp_verify(f, &k, &fd, &sum), 1);
    assert_int_equal(fd.n, 1);
    assert_true(strncmp(fd.lines[0], "audit entries 6–10 were cut off the end of the audit log: "
                        "checkpoint lines 2–3 (", 82) == 0);
    assert_int_equal(sum.signed_to, 10);
    assert_int_equal(sum.last_seq, 5);
    /* one entry */
    assert_int_equal(exec(f->db, "DELETE FROM audit WHERE seq=5"), 0);
    assert_int_equal(cp_verify(f, &k, &fd, &sum), 1);
    assert_int_equal(fd.n, 1);
    assert_true(strncmp(fd.lines[0], "audit entries 5–10 were cut off", 33) == 0);
}

static void test_cp_missing_middle_and_changed_named(void **state)
{
    fx_t *f = *state;
    kh_key_t k = test_key("agg-audit");
    kh_audit_t *au = anchored(f, &k, 1);
    commit_n(f, au, 8);
    kh_audit_destroy(&au);
    assert_int_equal(exec(f->db, "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq=3"), 0);
    assert_int_equal(exec(f->db, "DROP TRIGGER audit_no_update;"
                                 "UPDATE audit SET subject='2020S2/83/DS.TONG' WHERE seq=6"), 0);
    found_t fd;
    kh_audit_cp_summary_t sum;
    assert_int_equal(cp_verify(f, &k, &fd, &sum), 1);
    assert_int_equal(fd.n, 2);
    assert_true(strncmp(fd.lines[0], "audit entry 3 is missing from the audit log", 43) == 0);
    assert_non_null(strstr(fd.lines[0], "checkpoint line 1 ("));
    assert_true(strncmp(fd.lines[1], "audit entry 6 was changed: its stored hash is the one "
                        "signed at checkpoint line 1", 80) == 0);
}

/* A line altered in the file (one hash changed) no longer verifies; a line that is not
 * JSON is named; their entries are not taken as signed. */
static void test_cp_altered_lines_named(void **state)
{
    fx_t *f = *state;
    kh_key_t k = test_key("agg-audit");
    kh_audit_t *au = anchored(f, &k, 1);
    commit_n(f, au, 3);
    commit_n(f, au, 2);
    kh_audit_destroy(&au);
    assert_int_equal(file_lines(f->cp, file_buf, 8), 2);
    char *h = strstr(file_buf[0], "\"hashes\":[\"");
    assert_non_null(h);
    h += 11;
    *h = *h == 'a' ? 'b' : 'a';
    FILE *fp = fopen(f->cp, "w");
    fputs(file_buf[0], fp);
    fputs("{not json\n", fp);
    fputs(file_buf[1], fp);
    fclose(fp);
    found_t fd;
    kh_audit_cp_summary_t sum;
    assert_int_equal(cp_verify(f, &k, &fd, &sum), 1);
    assert_int_equal(fd.n, 3);
    assert_true(strncmp(fd.lines[0], "checkpoint line 1 (entries 1–3, ", 32) == 0);
    assert_non_null(strstr(fd.lines[0], "does not verify with the aggregator's audit key"));
    assert_true(strncmp(fd.lines[1], "checkpoint line 2 is not a checkpoint", 37) == 0);
    assert_true(strncmp(fd.lines[2], "audit entries 1–3 are signed by no checkpoint line although "
                        "later ones are", 75) == 0);
    assert_int_equal(sum.lines, 3);
    assert_int_equal(sum.good_lines, 1);
}

static void test_cp_other_key_and_no_file(void **state)
{
    fx_t *f = *state;
    kh_key_t k = test_key("agg-audit"), other = test_key("other");
    found_t fd;
    kh_audit_cp_summary_t sum;
    assert_int_equal(cp_verify(f, &k, &fd, &sum), 0);        /* nothing at all: nothing to say */
    assert_int_equal(sum.file_missing, 1);
    fill(f->db, 3);                                          /* entries, no checkpoint file */
    assert_int_equal(cp_verify(f, &k, &fd, &sum), 1);
    assert_int_equal(fd.n, 1);
    assert_true(strncmp(fd.lines[0], "none of the 3 audit entries is signed", 37) == 0);
    assert_non_null(strstr(fd.lines[0], "is missing"));
    kh_audit_t *au = anchored(f, &k, 1);                     /* signs them: first start */
    kh_audit_destroy(&au);
    assert_int_equal(cp_verify(f, &k, &fd, &sum), 0);
    assert_int_equal(sum.signed_to, 3);
    assert_int_equal(cp_verify(f, &other, &fd, &sum), 1);    /* checked with another key */
    assert_int_equal(fd.n, 2);
    assert_non_null(strstr(fd.lines[0], "does not verify"));
    assert_true(strncmp(fd.lines[1], "none of the 3 audit entries is signed", 37) == 0);
}

/* At start: entries committed after the last checkpoint (a crash) are signed; entries
 * signed but gone, or the last one changed, or another key: refused, saying why. */
static void test_cp_anchor_at_start(void **state)
{
    fx_t *f = *state;
    kh_key_t k = test_key("agg-audit"), other = test_key("other");
    kh_audit_t *au = anchored(f, &k, 1);
    commit_n(f, au, 4);
    kh_audit_destroy(&au);
    fill(f->db, 2);                                          /* 5, 6: committed, not signed */
    au = anchored(f, &k, 0);
    kh_audit_destroy(&au);
    assert_int_equal(file_lines(f->cp, file_buf, 8), 2);
    assert_non_null(strstr(file_buf[1], "\"from\":5,\"to\":6,"));
    found_t fd;
    kh_audit_cp_summary_t sum;
    assert_int_equal(cp_verify(f, &k, &fd, &sum), 0);
    assert_int_equal(sum.signed_to, 6);

    char err[1024];
    au = kh_audit_new(f->db);
    assert_int_equal(kh_audit_anchor(au, f->cp, &other, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "does not verify with the audit key"));
    kh_audit_destroy(&au);

    assert_int_equal(exec(f->db, "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq>=5"), 0);
    au = kh_audit_new(f->db);
    assert_int_equal(kh_audit_anchor(au, f->cp, &k, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "entries 5–6 were cut off"));
    assert_int_equal(kh_audit_checkpoint(au), 0);            /* not anchored: writes nothing */
    kh_audit_destroy(&au);

    /* the last signed entry (4) rewritten with its hash; 5 and 6 come back after it */
    assert_int_equal(exec(f->db, "DROP TRIGGER audit_no_update;"
                                 "UPDATE audit SET hash='" KH_AUDIT_ZERO "' WHERE seq=4"), 0);
    fill(f->db, 2);
    au = kh_audit_new(f->db);
    assert_int_equal(kh_audit_anchor(au, f->cp, &k, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "audit entry 6 is not the one the checkpoint file"));
    kh_audit_destroy(&au);
    assert_int_equal(file_lines(f->cp, file_buf, 8), 2);    /* the evidence is kept */
}

/* A commit of more than KH_AUDIT_CP_MAX entries (the first start on a large log) makes
 * several lines, each within the limit. */
static void test_cp_large_commit_split(void **state)
{
    fx_t *f = *state;
    kh_key_t k = test_key("agg-audit");
    kh_audit_t *au = anchored(f, &k, 1);
    assert_int_equal(exec(f->db, "BEGIN"), 0);
    for (int i = 0; i < KH_AUDIT_CP_MAX + 5; i++)
        assert_int_equal(kh_audit_add(au, "value", "2020S2/83/HO.TONG", "{}"), 0);
    assert_int_equal(exec(f->db, "COMMIT"), 0);
    assert_int_equal(kh_audit_checkpoint(au), KH_AUDIT_CP_MAX + 5);
    kh_audit_destroy(&au);
    FILE *fp = fopen(f->cp, "r");
    assert_non_null(fp);
    int c, nl = 0;
    while ((c = fgetc(fp)) != EOF)
        nl += c == '\n';
    fclose(fp);
    assert_int_equal(nl, 2);
    found_t fd;
    kh_audit_cp_summary_t sum;
    assert_int_equal(cp_verify(f, &k, &fd, &sum), 0);
    assert_int_equal(sum.good_lines, 2);
    assert_int_equal(sum.signed_to, KH_AUDIT_CP_MAX + 5);
}

/* No checkpoint file while the key exists (lost, or moved aside after a restore): the
 * entries are signed anew — the start goes on, logging audit.reanchor as an error. */
static void test_cp_reanchor_without_file(void **state)
{
    fx_t *f = *state;
    kh_key_t k = test_key("agg-audit");
    fill(f->db, 3);
    kh_audit_t *au = anchored(f, &k, 0);
    commit_n(f, au, 2);
    kh_audit_destroy(&au);
    assert_int_equal(file_lines(f->cp, file_buf, 8), 2);
    assert_non_null(strstr(file_buf[0], "\"from\":1,\"to\":3,"));
    assert_non_null(strstr(file_buf[1], "\"from\":4,\"to\":5,"));
    found_t fd;
    kh_audit_cp_summary_t sum;
    assert_int_equal(cp_verify(f, &k, &fd, &sum), 0);
    assert_int_equal(sum.signed_to, 5);
}

/* A last line cut short by a crash is removed at start and its entries signed again. */
static void test_cp_torn_line_removed(void **state)
{
    fx_t *f = *state;
    kh_key_t k = test_key("agg-audit");
    kh_audit_t *au = anchored(f, &k, 1);
    commit_n(f, au, 3);
    kh_audit_destroy(&au);
    fill(f->db, 2);
    FILE *fp = fopen(f->cp, "a");
    fputs("{\"from\":4,\"to\":5,\"at\":1,\"hashes\":[\"00", fp);
    fclose(fp);
    found_t fd;
    kh_audit_cp_summary_t sum;
    assert_int_equal(cp_verify(f, &k, &fd, &sum), 0);        /* not a line yet */
    assert_int_equal(sum.lines, 1);
    assert_int_equal(sum.unsigned_from, 4);
    au = anchored(f, &k, 0);
    kh_audit_destroy(&au);
    assert_int_equal(file_lines(f->cp, file_buf, 8), 2);
    assert_non_null(strstr(file_buf[1], "\"from\":4,\"to\":5,\"at\":"));
    assert_int_equal(cp_verify(f, &k, &fd, &sum), 0);
    assert_int_equal(sum.good_lines, 2);
    assert_int_equal(sum.signed_to, 5);
}

/* The audit key's files: made once (0600 + .pub), read back; a lost secret or a .pub
 * of another key refused with what to do. */
static void test_key_own_files(void **state)
{
    fx_t *f = *state;
    char kp[160], pp[160], err[1024];
    snprintf(kp, sizeof kp, "%s/k/audit.key", f->dir);
    snprintf(pp, sizeof pp, "%s/k/audit.pub", f->dir);
    kh_key_t a, b;
    int created = -1;
    assert_int_equal(kh_key_own(kp, "audit", "aggregator", &a, &created, err, sizeof err), 0);
    assert_int_equal(created, 1);
    assert_true(a.has_secret);
    struct stat st;
    assert_int_equal(stat(kp, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(pp, &st), 0);
    assert_int_equal(kh_key_own(kp, "audit", "aggregator", &b, &created, err, sizeof err), 0);
    assert_int_equal(created, 0);
    assert_memory_equal(a.ed_pk, b.ed_pk, 32);
    assert_int_equal(unlink(pp), 0);                         /* the .pub is written again */
    assert_int_equal(kh_key_own(kp, "audit", "aggregator", &b, &created, err, sizeof err), 0);
    kh_key_t p;
    assert_int_equal(kh_key_read(pp, &p, err, sizeof err), 0);
    assert_false(p.has_secret);
    assert_memory_equal(p.ed_pk, a.ed_pk, 32);
    char bak[170];
    snprintf(bak, sizeof bak, "%s.bak", kp);
    assert_int_equal(rename(kp, bak), 0);                    /* the secret lost */
    assert_int_equal(kh_key_own(kp, "audit", "aggregator", &b, &created, err, sizeof err), -1);
    assert_non_null(strstr(err, "is missing: restore"));
    assert_int_equal(rename(bak, kp), 0);
    kh_key_t c = test_key("audit");                          /* a .pub of another key */
    c.has_secret = 0;
    assert_int_equal(unlink(pp), 0);
    char dir[160];
    snprintf(dir, sizeof dir, "%s/k", f->dir);
    assert_int_equal(kh_key_write(&c, dir), 0);
    assert_int_equal(kh_key_own(kp, "audit", "aggregator", &b, &created, err, sizeof err), -1);
    assert_non_null(strstr(err, "is not the public half"));
    assert_int_equal(kh_key_own("/tmp/x.pem", "audit", "a", &b, &created, err, sizeof err), -1);
    assert_int_equal(kh_key_pub_path("a/b.key", pp, sizeof pp), 0);
    assert_string_equal(pp, "a/b.pub");
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
        cmocka_unit_test_setup_teardown(test_first_and_last, setup, teardown),
        cmocka_unit_test(test_verify_error_without_table),
        cmocka_unit_test(test_cp_message_encoding),
        cmocka_unit_test_setup_teardown(test_cp_one_line_per_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cp_rolled_back_not_signed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cp_unsigned_tail_is_not_a_finding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cp_rewrite_with_rehash_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cp_cut_off_end_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cp_missing_middle_and_changed_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cp_altered_lines_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cp_other_key_and_no_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cp_anchor_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cp_large_commit_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cp_reanchor_without_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cp_torn_line_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_own_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
