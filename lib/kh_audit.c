/*
 * kh_audit.c — the hash-chained audit log; see kh_audit.h.
 */
#include "kh_audit.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_log.h"
#include "kh_sign.h"
#include "kh_util.h"

#define AUDIT_VERSION "KH-AUDIT-v1"

struct kh_audit {
    sqlite3 *db;
    sqlite3_stmt *last, *ins;
};

static void h_u32(crypto_hash_sha256_state *h, uint32_t x)
{
    uint8_t b[4] = {(uint8_t)(x >> 24), (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x};
    crypto_hash_sha256_update(h, b, 4);
}

static void h_i64(crypto_hash_sha256_state *h, int64_t v)
{
    uint64_t x = (uint64_t)v;
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(x >> (56 - 8 * i));
    crypto_hash_sha256_update(h, b, 8);
}

static void h_str(crypto_hash_sha256_state *h, const char *s, size_t len)
{
    h_u32(h, (uint32_t)len);
    if (len)
        crypto_hash_sha256_update(h, (const uint8_t *)s, len);
}

/* lengths given: a row read back may hold bytes strlen would stop at */
static void hash_n(int64_t seq, int64_t at, const char *kind, size_t lk, const char *subject,
                   size_t ls, const char *body, size_t lb, const char *prev, size_t lp,
                   char hex[65])
{
    crypto_hash_sha256_state h;
    uint8_t out[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&h);
    h_str(&h, AUDIT_VERSION, strlen(AUDIT_VERSION));
    h_i64(&h, seq);
    h_i64(&h, at);
    h_str(&h, kind, lk);
    h_str(&h, subject, ls);
    h_str(&h, body, lb);
    h_str(&h, prev, lp);
    crypto_hash_sha256_final(&h, out);
    kh_sign_hex(out, sizeof out, hex, 65);
}

void kh_audit_hash(int64_t seq, int64_t at, const char *kind, const char *subject,
                   const char *body, const char *prev, char hex[65])
{
    hash_n(seq, at, kind, strlen(kind), subject, strlen(subject), body, strlen(body), prev,
           strlen(prev), hex);
}

kh_audit_t *kh_audit_new(sqlite3 *db)
{
    if (sodium_init() < 0) {
        KH_ERROR("audit.init", "libsodium could not be initialised");
        return NULL;
    }
    kh_audit_t *au = calloc(1, sizeof *au);
    if (!au)
        return NULL;
    au->db = db;
    if (sqlite3_prepare_v3(db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", -1,
                           SQLITE_PREPARE_PERSISTENT, &au->last, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(db, "INSERT INTO audit(seq,at,kind,subject,body,prev,hash) "
                               "VALUES(?,?,?,?,?,?,?)", -1, SQLITE_PREPARE_PERSISTENT,
                           &au->ins, NULL) != SQLITE_OK) {
        KH_ERROR("audit.prepare", sqlite3_errmsg(db));
        kh_audit_destroy(&au);
        return NULL;
    }
    return au;
}

void kh_audit_destroy(kh_audit_t **au)
{
    if (!*au)
        return;
    sqlite3_finalize((*au)->last);
    sqlite3_finalize((*au)->ins);
    free(*au);
    *au = NULL;
}

int kh_audit_add(kh_audit_t *au, const char *kind, const char *subject, const char *body)
{
    int64_t seq = 1;
    char prev[65] = KH_AUDIT_ZERO, hash[65];
    int rc = sqlite3_step(au->last);
    if (rc == SQLITE_ROW) {
        seq = sqlite3_column_int64(au->last, 0) + 1;
        const char *p = (const char *)sqlite3_column_text(au->last, 1);
        snprintf(prev, sizeof prev, "%s", p ? p : "");
    }
    sqlite3_reset(au->last);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        KH_ERROR("audit.append", sqlite3_errmsg(au->db), "subject", subject);
        return -1;
    }
    int64_t at = kh_real_ms();
    kh_audit_hash(seq, at, kind, subject, body, prev, hash);
    sqlite3_stmt *st = au->ins;
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_int64(st, 2, at);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, body, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, prev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, hash, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        KH_ERROR("audit.append", sqlite3_errmsg(au->db), "subject", subject);
        return -1;
    }
    return 0;
}

int kh_audit_append(sqlite3 *db, const char *kind, const char *subject, const char *body)
{
    kh_audit_t *au = kh_audit_new(db);
    if (!au)
        return -1;
    int rc = kh_audit_add(au, kind, subject, body);
    kh_audit_destroy(&au);
    return rc;
}

int kh_audit_verify(sqlite3 *db, int64_t *first_broken, char *why, size_t cap)
{
    *first_broken = 0;
    if (cap)
        why[0] = '\0';
    if (sodium_init() < 0) {
        snprintf(why, cap, "libsodium could not be initialised");
        return -1;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT seq,at,kind,subject,body,prev,hash FROM audit "
                               "ORDER BY seq", -1, &st, NULL) != SQLITE_OK) {
        snprintf(why, cap, "%s", sqlite3_errmsg(db));
        return -1;
    }
    char expect_prev[65] = KH_AUDIT_ZERO, hash[65];
    int64_t expect_seq = 1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        const char *f[5];
        size_t l[5];
        for (int i = 0; i < 5; i++) {
            f[i] = (const char *)sqlite3_column_text(st, 2 + i);
            l[i] = (size_t)sqlite3_column_bytes(st, 2 + i);
            if (!f[i])
                f[i] = "", l[i] = 0;
        }
        hash_n(seq, sqlite3_column_int64(st, 1), f[0], l[0], f[1], l[1], f[2], l[2], f[3], l[3],
               hash);
        int hash_bad = !(l[4] == 64 && memcmp(hash, f[4], 64) == 0);
        int prev_bad = !(l[3] == 64 && memcmp(expect_prev, f[3], 64) == 0);
        int seq_bad = seq != expect_seq;
        if (hash_bad || prev_bad || seq_bad) {
            *first_broken = seq;
            if (hash_bad && prev_bad)
                snprintf(why, cap, "entry %lld: its hash does not match its contents, and its "
                         "prev link is not the hash of the entry before", (long long)seq);
            else if (hash_bad)
                snprintf(why, cap, "entry %lld: its hash does not match its contents "
                         "(the entry was changed)", (long long)seq);
            else if (seq != expect_seq)
                snprintf(why, cap, "entry %lld: its prev link is not the hash of the entry "
                         "before (entries %lld..%lld are missing)", (long long)seq,
                         (long long)expect_seq, (long long)seq - 1);
            else if (prev_bad)
                snprintf(why, cap, "entry %lld: its prev link is not the hash of the entry "
                         "before (an entry was removed, inserted or rewritten)", (long long)seq);
            else
                snprintf(why, cap, "entry %lld: entries %lld..%lld are missing (the chain "
                         "after them was rewritten)", (long long)seq, (long long)expect_seq,
                         (long long)seq - 1);
            sqlite3_finalize(st);
            return 1;
        }
        memcpy(expect_prev, f[4], 64);
        expect_seq = seq + 1;
    }
    if (rc != SQLITE_DONE) {
        snprintf(why, cap, "%s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

int64_t kh_audit_count(sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM audit", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}
