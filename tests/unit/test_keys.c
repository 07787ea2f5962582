/*
 * test_keys.c — unit tests of the key registry's handle (lib/security/kh_keys.{h,c}): the
 * handle keeps its statements prepared across calls, and none of them may keep a read
 * transaction open (WAL: that connection would go on reading the registry of that moment).
 * So a key registered, or revoked, through a second handle (another connection, as
 * kh-admin makes) is seen by the first one's very next question, after every kind of
 * answer the first one gave before: yes, no, and a row that is no key.  Also: all or
 * nothing of kh_keys_register_all, kh_keys_destroy's NULL, and kh_key_write_as (the
 * key files under names of the caller's choosing, kh-node keygen).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kh_keys.h"
#include "kh_log.h"
#include "kh_util.h"

typedef struct {
    char dir[64], path[96];
    kh_keys_t *svc;     /* the service's handle: it asks */
    kh_keys_t *admin;   /* kh-admin's: another connection, it writes */
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    char err[256];
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_keys.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/keys.db", f->dir);
    assert_int_equal(kh_keys_open(&f->svc, f->path, err, sizeof err), 0);
    assert_int_equal(kh_keys_open(&f->admin, f->path, err, sizeof err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    char cmd[128];
    kh_keys_destroy(&f->svc);
    kh_keys_destroy(&f->admin);
    assert_null(f->svc);
    kh_keys_destroy(&f->svc);                   /* a NULL handle: nothing to do */
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Registers key ID of unit 829 through the admin's handle; the service's handle sees it
 * at once, by id, by its CURVE key and as a signing key. */
static void register_seen(fx_t *f, const char *id, kh_key_t *k)
{
    char err[256], unit[64], got[KH_KEY_ID_MAX], role[16];
    uint8_t pk[32];
    assert_int_equal(kh_key_generate(id, "district", "829", k), 0);
    assert_int_equal(kh_keys_valid(f->svc, id, kh_real_ms(), unit), KH_NO);
    assert_int_equal(kh_keys_register(f->admin, k, kh_real_ms() - 1000, err, sizeof err), 0);
    int64_t now = kh_real_ms();
    assert_int_equal(kh_keys_valid(f->svc, id, now, unit), KH_OK);
    assert_string_equal(unit, "829");
    assert_int_equal(kh_keys_by_curve(f->svc, k->curve_pk, now, got, role, unit), KH_OK);
    assert_string_equal(got, id);
    assert_int_equal(kh_keys_signing_key(f->svc, id, "829", now, pk), KH_OK);
    assert_memory_equal(pk, k->ed_pk, 32);
}

/* Revokes key ID through the admin's handle; the service's handle refuses it at once. */
static void revoke_seen(fx_t *f, const kh_key_t *k)
{
    char unit[64], got[KH_KEY_ID_MAX], role[16];
    uint8_t pk[32];
    assert_int_equal(kh_keys_valid(f->svc, k->id, kh_real_ms(), unit), KH_OK);
    assert_int_equal(kh_keys_revoke(f->admin, k->id), KH_OK);
    int64_t now = kh_real_ms();
    assert_int_equal(kh_keys_valid(f->svc, k->id, now, unit), KH_NO);
    assert_int_equal(kh_keys_by_curve(f->svc, k->curve_pk, now, got, role, unit), KH_NO);
    assert_int_equal(kh_keys_signing_key(f->svc, k->id, "829", now, pk), KH_NO);
}

static void test_second_handle_seen_at_once(void **state)
{
    fx_t *f = *state;
    kh_key_t a, b;
    register_seen(f, "829-1", &a);     /* the service's statements are prepared by now */
    register_seen(f, "829-2", &b);
    revoke_seen(f, &a);
    /* again, after the "no" answers of a revoked key */
    kh_key_t c;
    register_seen(f, "829-3", &c);
    revoke_seen(f, &c);
    /* and revoked twice, or unknown: "no such key", not an error */
    assert_int_equal(kh_keys_revoke(f->admin, "829-1"), KH_OK);
    assert_int_equal(kh_keys_revoke(f->admin, "nobody"), KH_NO);
    assert_int_equal(kh_keys_valid(f->svc, "829-2", kh_real_ms(), NULL), KH_OK);
}

/* Each answer the service's handle can give, then a write through the admin's: seen. */
static void test_every_answer_resets(void **state)
{
    fx_t *f = *state;
    char unit[64], got[KH_KEY_ID_MAX], role[16], err[256];
    uint8_t pk[32], nobody[32] = {0};
    int n = 0;
    kh_key_t k;
    int64_t now = kh_real_ms();
#define THEN_SEEN()                                                                          \
    do {                                                                                     \
        char id_[KH_KEY_ID_MAX];                                                             \
        snprintf(id_, sizeof id_, "829-%d", ++n);                                            \
        register_seen(f, id_, &k);                                                           \
    } while (0)

    THEN_SEEN();                                                /* 829-1 */
    assert_int_equal(kh_keys_valid(f->svc, "829-1", now, unit), KH_OK);
    THEN_SEEN();
    assert_int_equal(kh_keys_valid(f->svc, "nobody", now, unit), KH_NO);
    THEN_SEEN();
    assert_int_equal(kh_keys_by_curve(f->svc, k.curve_pk, kh_real_ms(), got, role, unit), KH_OK);
    THEN_SEEN();
    assert_int_equal(kh_keys_by_curve(f->svc, nobody, now, got, role, unit), KH_NO);
    THEN_SEEN();
    assert_int_equal(kh_keys_signing_key(f->svc, k.id, "829", kh_real_ms(), pk), KH_OK);
    THEN_SEEN();
    assert_int_equal(kh_keys_signing_key(f->svc, k.id, "830", kh_real_ms(), pk), KH_NO);
    THEN_SEEN();
    assert_int_equal(kh_keys_signing_key(f->svc, NULL, "829", now, pk), KH_NO);
    THEN_SEEN();
    /* a row that is no key (its public key not 32 bytes): "no", the row left behind */
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &raw, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(raw, 5000);
    assert_int_equal(sqlite3_exec(raw, "INSERT INTO key(id,role,unit,ed_pk,curve_pk,valid_from,"
                                       "registered_at) VALUES('829-short','district','829',"
                                       "x'0102',x'0304',0,0)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    assert_int_equal(kh_keys_signing_key(f->svc, "829-short", "829", kh_real_ms(), pk), KH_NO);
    THEN_SEEN();
    FILE *out = tmpfile();
    assert_non_null(out);
    assert_int_equal(kh_keys_list(f->svc, out), 0);
    fclose(out);
    THEN_SEEN();
    /* the service's own writes too (kh-admin's handle asks before it writes) */
    kh_key_t next;
    assert_int_equal(kh_key_generate("829-next", "district", "829", &next), 0);
    assert_int_equal(kh_keys_rotate(f->svc, k.id, &next, 1000, err, sizeof err), 0);
    assert_int_equal(kh_keys_valid(f->admin, "829-next", kh_real_ms(), unit), KH_OK);
    THEN_SEEN();
    assert_int_equal(kh_keys_revoke(f->svc, k.id), KH_OK);
    assert_int_equal(kh_keys_valid(f->admin, k.id, kh_real_ms(), unit), KH_NO);
    THEN_SEEN();
#undef THEN_SEEN
}

static void test_register_all_or_none(void **state)
{
    fx_t *f = *state;
    char err[256], unit[64];
    kh_key_t ks[3];
    assert_int_equal(kh_key_generate("829-1", "district", "829", &ks[0]), 0);
    assert_int_equal(kh_key_generate("830-1", "district", "830", &ks[1]), 0);
    assert_int_equal(kh_key_generate("831-1", "district", "831", &ks[2]), 0);
    assert_int_equal(kh_keys_register(f->admin, &ks[1], 0, err, sizeof err), 0);
    /* 830-1 is registered already: nothing of the three is registered */
    assert_int_equal(kh_keys_register_all(f->admin, ks, 3, 0, err, sizeof err), -1);
    assert_string_equal(err, "830-1: this key (or its id) is already registered");
    assert_int_equal(kh_keys_valid(f->svc, "829-1", kh_real_ms(), unit), KH_NO);
    assert_int_equal(kh_keys_valid(f->svc, "831-1", kh_real_ms(), unit), KH_NO);
    /* without it: all of them, seen by the other handle */
    ks[1] = ks[2];
    assert_int_equal(kh_keys_register_all(f->admin, ks, 2, 0, err, sizeof err), 0);
    assert_int_equal(kh_keys_valid(f->svc, "829-1", kh_real_ms(), unit), KH_OK);
    assert_int_equal(kh_keys_valid(f->svc, "831-1", kh_real_ms(), unit), KH_OK);
    assert_string_equal(unit, "831");
    assert_int_equal(kh_keys_register_all(f->admin, ks, 0, 0, err, sizeof err), 0);
}

/* kh_key_write_as (kh-node keygen): the files under the caller's names, the secret one
 * 0600; an existing file refused unless replace; what is read back is the key. */
static void test_write_as(void **state)
{
    fx_t *f = *state;
    char key_path[128], pub_path[128], err[256];
    snprintf(key_path, sizeof key_path, "%s/node-829.key", f->dir);
    snprintf(pub_path, sizeof pub_path, "%s/node-829.pub", f->dir);
    kh_key_t k, k2, back;
    assert_int_equal(kh_key_generate("829-20261204-a", "district", "829", &k), 0);
    assert_int_equal(kh_key_write_as(&k, key_path, pub_path, 0), 0);
    struct stat st;
    assert_int_equal(stat(key_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(kh_key_read(key_path, &back, err, sizeof err), 0);
    assert_string_equal(back.id, "829-20261204-a");
    assert_true(back.has_secret);
    assert_memory_equal(back.ed_sk, k.ed_sk, sizeof k.ed_sk);
    assert_int_equal(kh_key_read(pub_path, &back, err, sizeof err), 0);
    assert_false(back.has_secret);
    assert_memory_equal(back.ed_pk, k.ed_pk, sizeof k.ed_pk);
    /* not replaced without asking: the first key stays */
    assert_int_equal(kh_key_generate("829-20261204-b", "district", "829", &k2), 0);
    errno = 0;
    assert_int_equal(kh_key_write_as(&k2, key_path, pub_path, 0), -1);
    assert_int_equal(errno, EEXIST);
    assert_int_equal(kh_key_read(key_path, &back, err, sizeof err), 0);
    assert_string_equal(back.id, "829-20261204-a");
    /* replaced when asked: both files, the secret one still 0600, no .new left */
    assert_int_equal(kh_key_write_as(&k2, key_path, pub_path, 1), 0);
    assert_int_equal(kh_key_read(key_path, &back, err, sizeof err), 0);
    assert_string_equal(back.id, "829-20261204-b");
    assert_int_equal(kh_key_read(pub_path, &back, err, sizeof err), 0);
    assert_memory_equal(back.ed_pk, k2.ed_pk, sizeof k2.ed_pk);
    assert_int_equal(stat(key_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.new", key_path);
    assert_int_equal(access(tmp, F_OK), -1);
    /* kh_key_write names them after the id, as before */
    assert_int_equal(kh_key_write(&k, f->dir), 0);
    snprintf(tmp, sizeof tmp, "%s/829-20261204-a.key", f->dir);
    assert_int_equal(kh_key_read(tmp, &back, err, sizeof err), 0);
    assert_memory_equal(back.ed_pk, k.ed_pk, sizeof k.ed_pk);
}

int main(void)
{
    kh_log_init("test_keys", KH_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_second_handle_seen_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_answer_resets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_all_or_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_as, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
