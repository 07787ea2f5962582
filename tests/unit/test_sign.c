/*
 * test_sign.c — unit tests of signed reports (lib/security/kh_sign.{h,c}): the canonical bytes
 * (their exact layout, stability, and that every signed field and every value changes
 * them), Ed25519 sign/verify, flipped bits, wrong keys, and the digest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kh_keys.h"
#include "kh_log.h"
#include "kh_sign.h"
#include "kh_util.h"

/* ---- a fixture report (static strings: nothing to free but what kh_sign_report sets) -- */

#define NV 4
typedef struct {
    Kh__Report r;
    Kh__Value v[NV + 1];
    Kh__Value *vp[NV + 1];
    char raw[NV + 1][32];       /* writable copies of the values' raw, to flip bits in */
} fixture_t;

static void fixture(fixture_t *f)
{
    static const char *const vals[NV][3] = {{"28756", "HO.TONG", "2841"},
                                            {"28756", "CDX.XEP_LOAI", "TOT"},
                                            {"28757", "HO.TONG", ""},
                                            {"829", "TT.TIN_BAI", "72"}};
    static const uint32_t lines[NV] = {2, 3, 5, 4};
    memset(f, 0, sizeof *f);
    kh__report__init(&f->r);
    f->r.report_id = "829-2020S2";
    f->r.revision = 2;
    f->r.district = "829";
    f->r.period = "2020S2";
    f->r.submitted_at = 1606780800000;
    f->r.received_at = 1606780801234;
    f->r.source_name = "báo-cáo 829.csv";
    for (int i = 0; i < NV; i++) {
        kh__value__init(&f->v[i]);
        f->v[i].orgunit = (char *)vals[i][0];
        f->v[i].indicator = (char *)vals[i][1];
        snprintf(f->raw[i], sizeof f->raw[i], "%s", vals[i][2]);
        f->v[i].raw = f->raw[i];
        f->v[i].line = lines[i];
        f->vp[i] = &f->v[i];
    }
    f->r.values = f->vp;
    f->r.n_values = NV;
}

static void keypair(uint8_t pk[32], uint8_t sk[64], unsigned char seed_byte)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    memset(seed, seed_byte, sizeof seed);
    assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
}

/* canonical bytes of r, compared with those of the fixture */
static int same_as_fixture(const Kh__Report *r)
{
    fixture_t f;
    fixture(&f);
    uint8_t *a, *b;
    size_t la, lb;
    assert_int_equal(kh_sign_canonical(&f.r, &a, &la), 0);
    assert_int_equal(kh_sign_canonical(r, &b, &lb), 0);
    int same = la == lb && memcmp(a, b, la) == 0;
    free(a);
    free(b);
    return same;
}

/* ---- the layout, written out by hand as another implementation would --------------- */

typedef struct {
    uint8_t b[512];
    size_t n;
} exp_t;
static void e_u32(exp_t *e, uint32_t x)
{
    e->b[e->n++] = (uint8_t)(x >> 24);
    e->b[e->n++] = (uint8_t)(x >> 16);
    e->b[e->n++] = (uint8_t)(x >> 8);
    e->b[e->n++] = (uint8_t)x;
}
static void e_i64(exp_t *e, int64_t v)
{
    e_u32(e, (uint32_t)((uint64_t)v >> 32));
    e_u32(e, (uint32_t)v);
}
static void e_str(exp_t *e, const char *s)
{
    e_u32(e, (uint32_t)strlen(s));
    memcpy(e->b + e->n, s, strlen(s));
    e->n += strlen(s);
}

static void test_canonical_layout(void **state)
{
    (void)state;
    fixture_t f;
    fixture(&f);
    exp_t e = {.n = 0};
    e_str(&e, "KH-REPORT-v1");
    e_str(&e, "829-2020S2");
    e_u32(&e, 2);
    e_str(&e, "829");
    e_str(&e, "2020S2");
    e_i64(&e, 1606780800000);
    e_str(&e, "báo-cáo 829.csv");
    e_u32(&e, NV);
    for (int i = 0; i < NV; i++) {
        e_str(&e, f.v[i].orgunit);
        e_str(&e, f.v[i].indicator);
        e_str(&e, f.v[i].raw);
        e_u32(&e, f.v[i].line);
    }
    uint8_t *b;
    size_t len;
    assert_int_equal(kh_sign_canonical(&f.r, &b, &len), 0);
    assert_int_equal(len, e.n);
    assert_int_equal(len, 211);
    assert_memory_equal(b, e.b, len);
    /* the documented example: report_id after the version string */
    static const uint8_t id[] = {0, 0, 0, 10, '8', '2', '9', '-', '2', '0', '2', '0', 'S', '2'};
    assert_memory_equal(b + 16, id, sizeof id);
    free(b);
    /* SHA-256 of those 211 bytes, computed independently (Python: hashlib.sha256) */
    char hex[65];
    kh_sign_digest(&f.r, hex);
    assert_string_equal(hex, "2e86a60f39958ff92c7df14411a578af6e83b78797d5482ae53480a9d059a5c2");
}

static void test_canonical_stable(void **state)
{
    (void)state;
    fixture_t f;
    fixture(&f);
    assert_true(same_as_fixture(&f.r));
    uint8_t *a, *b;
    size_t la, lb;
    assert_int_equal(kh_sign_canonical(&f.r, &a, &la), 0);
    assert_int_equal(kh_sign_canonical(&f.r, &b, &lb), 0);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
    /* what the signature does not cover: received_at, signature, signer */
    f.r.received_at = 42;
    f.r.signer = "829-key";
    uint8_t sig[64] = {1};
    f.r.signature.data = sig;
    f.r.signature.len = sizeof sig;
    assert_true(same_as_fixture(&f.r));
    /* an absent string is the empty one */
    fixture(&f);
    f.r.source_name = NULL;
    fixture_t g;
    fixture(&g);
    g.r.source_name = "";
    uint8_t *x, *y;
    size_t lx, ly;
    assert_int_equal(kh_sign_canonical(&f.r, &x, &lx), 0);
    assert_int_equal(kh_sign_canonical(&g.r, &y, &ly), 0);
    assert_int_equal(lx, ly);
    assert_memory_equal(x, y, lx);
    free(x);
    free(y);
}

static void test_canonical_every_field_counts(void **state)
{
    (void)state;
    fixture_t f;
    fixture(&f); f.r.report_id = "829-2020S1";      assert_false(same_as_fixture(&f.r));
    fixture(&f); f.r.revision = 3;                  assert_false(same_as_fixture(&f.r));
    fixture(&f); f.r.district = "831";              assert_false(same_as_fixture(&f.r));
    fixture(&f); f.r.period = "2020S1";             assert_false(same_as_fixture(&f.r));
    fixture(&f); f.r.submitted_at++;                assert_false(same_as_fixture(&f.r));
    fixture(&f); f.r.submitted_at = -1606780800000; assert_false(same_as_fixture(&f.r));
    fixture(&f); f.r.source_name = "báo-cáo 829.CSV"; assert_false(same_as_fixture(&f.r));
    for (int i = 0; i < NV; i++) {
        fixture(&f); f.v[i].orgunit = "28758";      assert_false(same_as_fixture(&f.r));
        fixture(&f); f.v[i].indicator = "HO.MOI";   assert_false(same_as_fixture(&f.r));
        fixture(&f); kh_strlcpy(f.raw[i] + strlen(f.raw[i]), "0", sizeof f.raw[i] - strlen(f.raw[i]));
        assert_false(same_as_fixture(&f.r));
        fixture(&f); f.v[i].line++;                 assert_false(same_as_fixture(&f.r));
    }
    /* order of the values */
    fixture(&f);
    Kh__Value *t = f.vp[0];
    f.vp[0] = f.vp[1];
    f.vp[1] = t;
    assert_false(same_as_fixture(&f.r));
    /* one value less, one more */
    fixture(&f);
    f.r.n_values = NV - 1;
    assert_false(same_as_fixture(&f.r));
    fixture(&f);
    kh__value__init(&f.v[NV]);
    f.v[NV].orgunit = "28759";
    f.v[NV].indicator = "HO.TONG";
    f.v[NV].raw = "1";
    f.v[NV].line = 6;
    f.vp[NV] = &f.v[NV];
    f.r.n_values = NV + 1;
    assert_false(same_as_fixture(&f.r));
}

/* Length prefixes make the encoding unambiguous: moving bytes from one field to the
 * next gives other canonical bytes, though the concatenated text is the same. */
static void test_canonical_unambiguous(void **state)
{
    (void)state;
    fixture_t f, g;
    fixture(&f);
    fixture(&g);
    f.v[0].orgunit = "2875";
    f.v[0].indicator = "6HO.TONG";
    uint8_t *a, *b;
    size_t la, lb;
    assert_int_equal(kh_sign_canonical(&f.r, &a, &la), 0);
    assert_int_equal(kh_sign_canonical(&g.r, &b, &lb), 0);
    assert_int_equal(la, lb);
    assert_memory_not_equal(a, b, la);
    free(a);
    free(b);
    fixture(&f);
    f.r.district = "829-";
    f.r.report_id = "829";     /* "829" "829-" vs "829-" "829" (id before district) */
    fixture(&g);
    g.r.district = "829";
    g.r.report_id = "829-";
    uint8_t *c, *d;
    size_t lc, ld;
    assert_int_equal(kh_sign_canonical(&f.r, &c, &lc), 0);
    assert_int_equal(kh_sign_canonical(&g.r, &d, &ld), 0);
    assert_true(lc != ld || memcmp(c, d, lc) != 0);
    free(c);
    free(d);
}

static void test_sign_verify(void **state)
{
    (void)state;
    uint8_t pk[32], sk[64];
    keypair(pk, sk, 7);
    fixture_t f;
    fixture(&f);
    assert_int_equal(kh_sign_verify(&f.r, pk), -1);             /* not signed yet */
    assert_int_equal(kh_sign_report(&f.r, sk, "829-20261127"), 0);
    assert_int_equal(f.r.signature.len, crypto_sign_BYTES);
    assert_string_equal(f.r.signer, "829-20261127");
    assert_int_equal(kh_sign_verify(&f.r, pk), 0);
    /* what is not signed may change */
    f.r.received_at = 99;
    assert_int_equal(kh_sign_verify(&f.r, pk), 0);
    /* signing again replaces (no leak under ASan), still valid */
    assert_int_equal(kh_sign_report(&f.r, sk, "829-20261128"), 0);
    assert_string_equal(f.r.signer, "829-20261128");
    assert_int_equal(kh_sign_verify(&f.r, pk), 0);
    kh_sign_clear(&f.r);
    assert_null(f.r.signature.data);
    assert_int_equal(f.r.signature.len, 0);
    assert_string_equal(f.r.signer, "");
    assert_int_equal(kh_sign_verify(&f.r, pk), -1);
}

static void test_flipped_bits_fail(void **state)
{
    (void)state;
    uint8_t pk[32], sk[64];
    keypair(pk, sk, 9);
    fixture_t f;
    fixture(&f);
    assert_int_equal(kh_sign_report(&f.r, sk, "829-k"), 0);
    /* every bit of every value's raw */
    for (int i = 0; i < NV; i++) {
        size_t len = strlen(f.raw[i]);
        for (size_t k = 0; k < len; k++)
            for (int bit = 0; bit < 8; bit++) {
                f.raw[i][k] ^= (char)(1 << bit);
                assert_int_equal(kh_sign_verify(&f.r, pk), -1);
                f.raw[i][k] ^= (char)(1 << bit);
            }
        f.v[i].line ^= 1;
        assert_int_equal(kh_sign_verify(&f.r, pk), -1);
        f.v[i].line ^= 1;
    }
    /* a value that was empty now says something */
    snprintf(f.raw[2], sizeof f.raw[2], "0");
    assert_int_equal(kh_sign_verify(&f.r, pk), -1);
    f.raw[2][0] = '\0';
    assert_int_equal(kh_sign_verify(&f.r, pk), 0);
    /* every bit of the signature */
    for (size_t k = 0; k < f.r.signature.len; k++)
        for (int bit = 0; bit < 8; bit++) {
            f.r.signature.data[k] ^= (uint8_t)(1 << bit);
            assert_int_equal(kh_sign_verify(&f.r, pk), -1);
            f.r.signature.data[k] ^= (uint8_t)(1 << bit);
        }
    assert_int_equal(kh_sign_verify(&f.r, pk), 0);
    /* a signature cut short or grown */
    f.r.signature.len--;
    assert_int_equal(kh_sign_verify(&f.r, pk), -1);
    f.r.signature.len++;
    /* the report moved to another district or revision */
    f.r.district = "831";
    assert_int_equal(kh_sign_verify(&f.r, pk), -1);
    f.r.district = "829";
    f.r.revision = 1;
    assert_int_equal(kh_sign_verify(&f.r, pk), -1);
    f.r.revision = 2;
    assert_int_equal(kh_sign_verify(&f.r, pk), 0);
    kh_sign_clear(&f.r);
}

static void test_wrong_key_fails(void **state)
{
    (void)state;
    uint8_t pk1[32], sk1[64], pk2[32], sk2[64];
    keypair(pk1, sk1, 1);
    keypair(pk2, sk2, 2);
    fixture_t f;
    fixture(&f);
    assert_int_equal(kh_sign_report(&f.r, sk1, "829-a"), 0);
    assert_int_equal(kh_sign_verify(&f.r, pk1), 0);
    assert_int_equal(kh_sign_verify(&f.r, pk2), -1);
    /* signed by the other key: valid under that one only */
    assert_int_equal(kh_sign_report(&f.r, sk2, "831-b"), 0);
    assert_int_equal(kh_sign_verify(&f.r, pk2), 0);
    assert_int_equal(kh_sign_verify(&f.r, pk1), -1);
    kh_sign_clear(&f.r);
}

/* Through protobuf and back (what travels between processes), the signature holds and
 * protobuf-c's free releases what kh_sign_report allocated. */
static void test_survives_protobuf(void **state)
{
    (void)state;
    uint8_t pk[32], sk[64];
    keypair(pk, sk, 3);
    fixture_t f;
    fixture(&f);
    assert_int_equal(kh_sign_report(&f.r, sk, "829-k"), 0);
    size_t len = kh__report__get_packed_size(&f.r);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    kh__report__pack(&f.r, buf);
    Kh__Report *u = kh__report__unpack(NULL, len, buf);
    assert_non_null(u);
    assert_string_equal(u->signer, "829-k");
    assert_int_equal(kh_sign_verify(u, pk), 0);
    char h1[65], h2[65];
    kh_sign_digest(&f.r, h1);
    kh_sign_digest(u, h2);
    assert_string_equal(h1, h2);
    /* sign the unpacked copy again: the old signature is freed, the new one is freed by
     * free_unpacked (ASan would see a leak or a double free) */
    assert_int_equal(kh_sign_report(u, sk, "829-k2"), 0);
    assert_int_equal(kh_sign_verify(u, pk), 0);
    kh__report__free_unpacked(u, NULL);
    free(buf);
    kh_sign_clear(&f.r);
}

static void test_digest(void **state)
{
    (void)state;
    fixture_t f;
    fixture(&f);
    char a[65], b[65];
    kh_sign_digest(&f.r, a);
    assert_int_equal(strlen(a), 64);
    assert_int_equal(strspn(a, "0123456789abcdef"), 64);
    uint8_t *buf;
    size_t len;
    uint8_t h[32];
    assert_int_equal(kh_sign_canonical(&f.r, &buf, &len), 0);
    crypto_hash_sha256(h, buf, len);
    free(buf);
    kh_sign_hex(h, 32, b, sizeof b);
    assert_string_equal(a, b);
    snprintf(f.raw[0], sizeof f.raw[0], "2842");
    kh_sign_digest(&f.r, b);
    assert_string_not_equal(a, b);
}

/* ---- the one check: kh_sign_check against a real registry ---------------------------- */

static void test_check_against_registry(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_sign.XXXXXX", path[64], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/keys.db", dir);
    kh_keys_t *keys = NULL;
    assert_int_equal(kh_keys_open(&keys, path, err, sizeof err), 0);
    kh_key_t k, other;
    assert_int_equal(kh_key_generate("829-1", "district", "829", &k), 0);
    assert_int_equal(kh_key_generate("830-1", "district", "830", &other), 0);
    assert_int_equal(kh_keys_register(keys, &k, 1000, err, sizeof err), 0);
    assert_int_equal(kh_keys_register(keys, &other, 1000, err, sizeof err), 0);
    const int64_t at = 1606780801234;
    fixture_t f;
    fixture(&f);
    uint8_t pk[32];
    kh_sign_why_t why = 0;
    char vi[512], en[512], dg[65], want[65];

    /* not signed (the digest is made all the same) */
    kh_sign_digest(&f.r, want);
    assert_int_equal(kh_sign_check(keys, &f.r, at, pk, dg, &why, vi, sizeof vi, en,
                                   sizeof en), KH_NO);
    assert_string_equal(dg, want);
    assert_int_equal(why, KH_SIGN_UNSIGNED);
    assert_string_equal(en, "the report carries no signature of its reporting unit");
    assert_non_null(strstr(vi, "không có chữ ký số"));

    /* signed by its unit's key: yes, and pk is that key */
    assert_int_equal(kh_sign_report(&f.r, k.ed_sk, k.id), 0);
    memset(pk, 0, sizeof pk);
    assert_int_equal(kh_sign_check(keys, &f.r, at, pk, NULL, &why, NULL, 0, NULL, 0), KH_OK);
    assert_memory_equal(pk, k.ed_pk, 32);
    /* the digest of the same bytes the signature was checked over */
    assert_int_equal(kh_sign_check(keys, &f.r, at, NULL, dg, NULL, NULL, 0, NULL, 0), KH_OK);
    kh_sign_digest(&f.r, want);
    assert_string_equal(dg, want);
    assert_int_equal(strlen(dg), 64);
    assert_int_equal(kh_sign_check(keys, &f.r, at, NULL, NULL, NULL, NULL, 0, NULL, 0), KH_OK);

    /* before the key was valid: no key */
    assert_int_equal(kh_sign_check(keys, &f.r, 999, pk, NULL, &why, vi, sizeof vi, en,
                                   sizeof en), KH_NO);
    assert_int_equal(why, KH_SIGN_NO_KEY);
    assert_non_null(strstr(en, "key '829-1' is not a key registered for unit 829 and valid at "
                               "1970-01-01T00:00:00.999Z"));

    /* a number changed after signing: the key is found (pk filled), the bytes differ */
    snprintf(f.raw[0], sizeof f.raw[0], "2842");
    memset(pk, 0, sizeof pk);
    assert_int_equal(kh_sign_check(keys, &f.r, at, pk, dg, &why, vi, sizeof vi, en,
                                   sizeof en), KH_NO);
    assert_int_equal(why, KH_SIGN_MISMATCH);
    assert_string_not_equal(dg, want);                    /* the changed bytes' digest */
    kh_sign_digest(&f.r, want);
    assert_string_equal(dg, want);
    assert_memory_equal(pk, k.ed_pk, 32);
    assert_non_null(strstr(en, "does not match the report's contents (key '829-1')"));
    snprintf(f.raw[0], sizeof f.raw[0], "2841");

    /* another unit's key, signing for 829: not a key of 829 */
    assert_int_equal(kh_sign_report(&f.r, other.ed_sk, other.id), 0);
    assert_int_equal(kh_sign_check(keys, &f.r, at, pk, NULL, &why, vi, sizeof vi, en,
                                   sizeof en), KH_NO);
    assert_int_equal(why, KH_SIGN_NO_KEY);
    assert_non_null(strstr(en, "key '830-1' is not a key registered for unit 829"));

    /* revoked: refused from then on */
    assert_int_equal(kh_sign_report(&f.r, k.ed_sk, k.id), 0);
    assert_int_equal(kh_keys_revoke(keys, "829-1"), 0);
    assert_int_equal(kh_sign_check(keys, &f.r, kh_real_ms() + 1000, pk, NULL, &why, NULL, 0,
                                   NULL, 0), KH_NO);
    assert_int_equal(why, KH_SIGN_NO_KEY);
    /* and a revoked key cannot be rotated into a new one (a "no" is not a "yes") */
    kh_key_t k2;
    assert_int_equal(kh_key_generate("829-2", "district", "829", &k2), 0);
    err[0] = '\0';
    assert_int_equal(kh_keys_rotate(keys, "829-1", &k2, 1000, err, sizeof err), -1);
    assert_non_null(strstr(err, "key 829-1 is not a valid registered key"));
    assert_int_equal(kh_keys_valid(keys, "829-2", kh_real_ms(), NULL), KH_NO);

    /* the same questions of the registry: yes, no, and "could not tell" apart */
    char unit[64], id[KH_KEY_ID_MAX], role[16];
    assert_int_equal(kh_keys_valid(keys, "830-1", at, unit), KH_OK);
    assert_string_equal(unit, "830");
    assert_int_equal(kh_keys_valid(keys, "nobody", at, unit), KH_NO);
    assert_int_equal(kh_keys_by_curve(keys, other.curve_pk, at, id, role, unit), KH_OK);
    assert_string_equal(id, "830-1");
    assert_int_equal(kh_keys_by_curve(keys, k.curve_pk, kh_real_ms() + 1000, id, role, unit),
                     KH_NO);
    assert_int_equal(kh_keys_signing_key(keys, "830-1", "829", at, pk), KH_NO);
    assert_int_equal(kh_keys_signing_key(keys, NULL, "829", at, pk), KH_NO);

    /* a registry that cannot be read is the province's trouble, never a refusal (its
     * table dropped through another connection, under the handle's prepared statements) */
    sqlite3 *other_db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &other_db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other_db, "DROP TABLE key", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other_db);
    assert_int_equal(kh_sign_check(keys, &f.r, at, pk, NULL, &why, vi, sizeof vi, en,
                                   sizeof en), KH_ERR);
    assert_non_null(strstr(en, "the key registry could not be read: no such table: key"));
    assert_int_equal(kh_keys_valid(keys, "830-1", at, unit), KH_ERR);
    assert_int_equal(kh_keys_by_curve(keys, other.curve_pk, at, id, role, unit), KH_ERR);
    assert_int_equal(kh_keys_signing_key(keys, "830-1", "830", at, pk), KH_ERR);

    assert_string_equal(kh_keys_errmsg(keys), "no such table: key");

    kh_sign_clear(&f.r);
    kh_keys_destroy(&keys);
    assert_null(keys);
    unlink(path);
    snprintf(path, sizeof path, "%s/keys.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/keys.db-shm", dir);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    kh_log_init("test_sign", KH_LOG_ERROR);
    assert_true(sodium_init() >= 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_layout),
        cmocka_unit_test(test_canonical_stable),
        cmocka_unit_test(test_canonical_every_field_counts),
        cmocka_unit_test(test_canonical_unambiguous),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_flipped_bits_fail),
        cmocka_unit_test(test_wrong_key_fails),
        cmocka_unit_test(test_survives_protobuf),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_check_against_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
