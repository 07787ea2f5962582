/*
 * kh_audit.c — the hash-chained audit log and its signed checkpoints; see kh_audit.h.
 */
#include "kh_audit.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kh_buf.h"
#include "kh_log.h"
#include "kh_sign.h"
#include "kh_util.h"

#define AUDIT_VERSION "KH-AUDIT-v1"

struct kh_audit {
    sqlite3 *db;
    sqlite3_stmt *last, *ins;
    /* checkpoints (kh_audit_anchor): cp_fd < 0 when not anchored */
    int cp_fd;
    char cp_path[PATH_MAX];
    kh_key_t key;
    int64_t cp_to;              /* the last seq signed */
    int dirty;                  /* entries added since the last checkpoint (maybe rolled back) */
    sqlite3_stmt *since;
    char (*h)[65];              /* the hashes of one line (KH_AUDIT_CP_MAX), made once */
    const char **hp;
    int64_t fail_logged_at;     /* kh_mono_ms of the last write failure logged */
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
    au->cp_fd = -1;
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
    sqlite3_finalize((*au)->since);
    free((*au)->h);
    free((*au)->hp);
    if ((*au)->cp_fd >= 0)
        close((*au)->cp_fd);
    sodium_memzero(&(*au)->key, sizeof (*au)->key);
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
    au->dirty = 1;
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

int kh_audit_first(sqlite3 *db, const char *kind, const char *subject, int64_t *seq,
                   char **body)
{
    *body = NULL;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT seq, body FROM audit WHERE kind=? AND subject=? "
                               "ORDER BY seq LIMIT 1", -1, &st, NULL) != SQLITE_OK)
        return KH_ERR;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, subject, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), ret = rc == SQLITE_DONE ? KH_NO : KH_ERR;
    if (rc == SQLITE_ROW) {
        const char *b = (const char *)sqlite3_column_text(st, 1);
        *seq = sqlite3_column_int64(st, 0);
        ret = (*body = strdup(b ? b : "")) ? KH_OK : KH_ERR;
    }
    sqlite3_finalize(st);
    return ret;
}

int kh_audit_last(sqlite3 *db, int64_t *seq, char hash[65])
{
    sqlite3_stmt *st;
    hash[0] = '\0';
    if (sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", -1, &st,
                           NULL) != SQLITE_OK)
        return KH_ERR;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(st, 1);
        *seq = sqlite3_column_int64(st, 0);
        snprintf(hash, 65, "%s", h ? h : "");
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? KH_OK : rc == SQLITE_DONE ? KH_NO : KH_ERR;
}

/* ---- checkpoints ------------------------------------------------------------------------ */

int kh_audit_cp_message(int64_t from, int64_t to, int64_t at, const char *const *hashes,
                        uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    if (from < 1 || to < from || to - from >= KH_AUDIT_CP_MAX)
        return -1;
    kh_buf_t b = {0};
    kh_buf_str(&b, KH_AUDIT_CP_VERSION);
    kh_buf_i64(&b, from);
    kh_buf_i64(&b, to);
    kh_buf_i64(&b, at);
    kh_buf_u32(&b, (uint32_t)(to - from + 1));
    for (int64_t i = 0; i <= to - from; i++)
        kh_buf_str(&b, hashes[i]);
    return kh_buf_take(&b, buf, len) == KH_OK ? 0 : -1;
}

/* One checkpoint line, parsed: hashes point into root. */
typedef struct {
    json_t *root;
    int64_t from, to, at;
    const char **hashes;
    uint8_t sig[64];
} cp_line_t;

static void cp_line_free(cp_line_t *l)
{
    json_decref(l->root);
    free(l->hashes);
    memset(l, 0, sizeof *l);
}

static int is_hex64(const char *h)
{
    if (!h || strlen(h) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return 0;
    return 1;
}

/* Parses one line (without its newline).  Returns 0, or -1 with why. */
static int cp_line_parse(const char *text, size_t len, cp_line_t *l, char *why, size_t cap)
{
    memset(l, 0, sizeof *l);
    json_error_t je;
    l->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!l->root || !json_is_object(l->root)) {
        snprintf(why, cap, "not a JSON object%s%s", l->root ? "" : ": ", l->root ? "" : je.text);
        cp_line_free(l);
        return -1;
    }
    json_t *f = json_object_get(l->root, "from"), *t = json_object_get(l->root, "to"),
           *a = json_object_get(l->root, "at"), *h = json_object_get(l->root, "hashes");
    const char *sig = json_string_value(json_object_get(l->root, "sig"));
    if (!json_is_integer(f) || !json_is_integer(t) || !json_is_integer(a) || !json_is_array(h) ||
        !sig) {
        snprintf(why, cap, "\"from\", \"to\", \"at\", \"hashes\" or \"sig\" is missing or of "
                 "the wrong type");
        cp_line_free(l);
        return -1;
    }
    l->from = json_integer_value(f);
    l->to = json_integer_value(t);
    l->at = json_integer_value(a);
    if (l->from < 1 || l->to < l->from || l->to - l->from >= KH_AUDIT_CP_MAX ||
        json_array_size(h) != (size_t)(l->to - l->from + 1)) {
        snprintf(why, cap, "entries %lld–%lld with %zu hashes", (long long)l->from,
                 (long long)l->to, json_array_size(h));
        cp_line_free(l);
        return -1;
    }
    l->hashes = malloc(json_array_size(h) * sizeof *l->hashes);
    if (!l->hashes) {
        snprintf(why, cap, "out of memory");
        cp_line_free(l);
        return -1;
    }
    for (size_t i = 0; i < json_array_size(h); i++) {
        l->hashes[i] = json_string_value(json_array_get(h, i));
        if (!is_hex64(l->hashes[i])) {
            snprintf(why, cap, "the hash of entry %lld is not 64 lowercase hex digits",
                     (long long)(l->from + (int64_t)i));
            cp_line_free(l);
            return -1;
        }
    }
    size_t n = 0;
    if (sodium_base642bin(l->sig, sizeof l->sig, sig, strlen(sig), NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 || n != sizeof l->sig) {
        snprintf(why, cap, "\"sig\" is not 64 bytes of base64");
        cp_line_free(l);
        return -1;
    }
    return 0;
}

/* 0 when the line's signature verifies with pk, -1 otherwise. */
static int cp_line_verify(const cp_line_t *l, const uint8_t pk[32])
{
    uint8_t *m;
    size_t len;
    if (kh_audit_cp_message(l->from, l->to, l->at, l->hashes, &m, &len) < 0)
        return -1;
    int rc = crypto_sign_verify_detached(l->sig, m, len, pk) == 0 ? 0 : -1;
    free(m);
    return rc;
}

/* Appends one signed line for entries from..to.  Returns 0, or -1 (errno; a line cut
 * short is removed). */
static int cp_write(kh_audit_t *au, int64_t from, int64_t to, const char *const *hashes)
{
    uint8_t *m, sig[64];
    size_t len;
    int64_t at = kh_real_ms();
    if (kh_audit_cp_message(from, to, at, hashes, &m, &len) < 0) {
        errno = ENOMEM;
        return -1;
    }
    crypto_sign_detached(sig, NULL, m, len, au->key.ed_sk);
    free(m);
    char b64[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
    json_t *arr = json_array();
    for (int64_t i = 0; arr && i <= to - from; i++)
        if (json_array_append_new(arr, json_string(hashes[i])) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    json_t *o = arr ? json_pack("{s:I, s:I, s:I, s:o, s:s}", "from", (json_int_t)from, "to",
                                (json_int_t)to, "at", (json_int_t)at, "hashes", arr, "sig", b64)
                    : NULL;
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    size_t n = strlen(text);
    text[n] = '\n';             /* json_dumps' terminator: the line's newline */
    struct stat st;
    int rc = -1;
    if (fstat(au->cp_fd, &st) == 0) {
        ssize_t w = write(au->cp_fd, text, n + 1);
        if (w == (ssize_t)(n + 1)) {
            rc = 0;
        } else {
            int e = w < 0 ? errno : ENOSPC;
            if (w > 0 && ftruncate(au->cp_fd, st.st_size) < 0)
                KH_ERROR("audit.checkpoint", "a checkpoint line was cut short and could not "
                         "be removed: the next start removes it", "file", au->cp_path);
            errno = e;
        }
    }
    free(text);
    if (rc == 0) {
        char f[24], t[24], c[24];
        snprintf(f, sizeof f, "%lld", (long long)from);
        snprintf(t, sizeof t, "%lld", (long long)to);
        snprintf(c, sizeof c, "%lld", (long long)(to - from + 1));
        KH_INFO("audit.checkpoint", "audit entries signed (compare with kh-admin audit verify)",
                "from", f, "to", t, "entries", c, "hash", hashes[to - from]);
    }
    return rc;
}

int64_t kh_audit_checkpoint(kh_audit_t *au)
{
    if (!au || au->cp_fd < 0 || !au->dirty)
        return 0;
    if (!au->since &&
        sqlite3_prepare_v3(au->db, "SELECT seq, hash FROM audit WHERE seq > ? ORDER BY seq "
                                   "LIMIT ?", -1, SQLITE_PREPARE_PERSISTENT, &au->since,
                           NULL) != SQLITE_OK) {
        KH_ERROR("audit.checkpoint", sqlite3_errmsg(au->db));
        return -1;
    }
    if (!au->h)
        au->h = malloc(KH_AUDIT_CP_MAX * sizeof *au->h);
    if (!au->hp)
        au->hp = malloc(KH_AUDIT_CP_MAX * sizeof *au->hp);
    char (*h)[65] = au->h;
    const char **hp = au->hp;
    int64_t total = 0;
    const char *fail = NULL;
    int err = 0;
    for (;;) {
        if (!h || !hp) {
            fail = "out of memory";
            break;
        }
        sqlite3_stmt *st = au->since;
        sqlite3_bind_int64(st, 1, au->cp_to);
        sqlite3_bind_int(st, 2, KH_AUDIT_CP_MAX);
        int64_t from = 0, n = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t seq = sqlite3_column_int64(st, 0);
            if (n == 0)
                from = seq;
            else if (seq != from + n)
                break;                      /* a gap: the next line starts after it */
            const char *x = (const char *)sqlite3_column_text(st, 1);
            snprintf(h[n], 65, "%s", x ? x : "");
            hp[n] = h[n];
            n++;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            fail = sqlite3_errmsg(au->db);
        sqlite3_reset(st);
        if (fail || n == 0)
            break;
        if (cp_write(au, from, from + n - 1, hp) < 0) {
            err = errno;
            fail = "cannot write the checkpoint file";
            break;
        }
        au->cp_to = from + n - 1;
        total += n;
    }
    if (fail) {
        int64_t now = kh_mono_ms();
        if (!au->fail_logged_at || now - au->fail_logged_at >= 60000) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s: audit entries after %lld are not signed yet (tried "
                     "again after the next commit; free space or fix the file's permissions)",
                     fail, (long long)au->cp_to);
            KH_ERROR("audit.checkpoint_failed", msg, "file", au->cp_path, "error",
                     err ? strerror(err) : NULL);
            au->fail_logged_at = now;
        }
        return -1;
    }
    au->dirty = 0;
    au->fail_logged_at = 0;
    return total;
}

/* The last complete line of the file open on fd (size bytes), into a new buffer.
 * Returns 1 found, 0 none (empty file), -1 on a read error. */
static int last_line(int fd, off_t size, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (size <= 1)
        return 0;
    off_t end = size - 1;               /* the final newline */
    off_t pos = end, start = 0;
    char chunk[4096];
    while (pos > 0) {
        size_t n = pos >= (off_t)sizeof chunk ? sizeof chunk : (size_t)pos;
        if (pread(fd, chunk, n, pos - (off_t)n) != (ssize_t)n)
            return -1;
        char *nl = memrchr(chunk, '\n', n);
        if (nl) {
            start = pos - (off_t)n + (nl - chunk) + 1;
            break;
        }
        pos -= (off_t)n;
    }
    size_t l = (size_t)(end - start);
    char *b = malloc(l + 1);
    if (!b || (l && pread(fd, b, l, start) != (ssize_t)l)) {
        free(b);
        return -1;
    }
    b[l] = '\0';
    *out = b;
    *len = l;
    return 1;
}

/* Removes a last line cut short (no newline) by a crash.  Returns 0 or -1 (errno). */
static int drop_torn_tail(kh_audit_t *au, off_t *size)
{
    if (*size == 0)
        return 0;
    char c;
    if (pread(au->cp_fd, &c, 1, *size - 1) != 1)
        return -1;
    if (c == '\n')
        return 0;
    off_t keep = 0, pos = *size;
    char chunk[4096];
    while (pos > 0) {
        size_t n = pos >= (off_t)sizeof chunk ? sizeof chunk : (size_t)pos;
        if (pread(au->cp_fd, chunk, n, pos - (off_t)n) != (ssize_t)n)
            return -1;
        char *nl = memrchr(chunk, '\n', n);
        if (nl) {
            keep = pos - (off_t)n + (nl - chunk) + 1;
            break;
        }
        pos -= (off_t)n;
    }
    if (ftruncate(au->cp_fd, keep) < 0)
        return -1;
    char msg[160];
    snprintf(msg, sizeof msg, "the last checkpoint line was cut short (%lld bytes, a crash "
             "while writing it): removed, its entries are signed again",
             (long long)(*size - keep));
    KH_WARN("audit.checkpoint_torn", msg, "file", au->cp_path);
    *size = keep;
    return 0;
}

/* The database's last seq (0: empty) and the stored hash of entry `seq` (hash[0] = 0 when
 * there is no such entry).  Returns 0 or -1. */
static int db_state(sqlite3 *db, int64_t seq, int64_t *max, char hash[65])
{
    sqlite3_stmt *st;
    hash[0] = '\0';
    if (sqlite3_prepare_v2(db, "SELECT ifnull(max(seq),0), (SELECT hash FROM audit WHERE seq=?) "
                               "FROM audit", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, seq);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *max = sqlite3_column_int64(st, 0);
        const char *h = (const char *)sqlite3_column_text(st, 1);
        snprintf(hash, 65, "%s", h ? h : "");
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

int kh_audit_anchor(kh_audit_t *au, const char *cp_path, const kh_key_t *key, int key_created,
                    char *err, size_t cap)
{
    if (!key->has_secret) {
        snprintf(err, cap, "the audit key holds no secret key");
        return -1;
    }
    if (kh_strlcpy(au->cp_path, cp_path, sizeof au->cp_path) < 0) {
        snprintf(err, cap, "the checkpoint file's path is too long");
        return -1;
    }
    au->key = *key;
    if (au->cp_fd >= 0)
        close(au->cp_fd);
    au->cp_fd = open(cp_path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (au->cp_fd < 0) {
        snprintf(err, cap, "cannot open the checkpoint file %s: %s", cp_path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(au->cp_fd, &st) < 0 || (st.st_size && drop_torn_tail(au, &st.st_size) < 0)) {
        snprintf(err, cap, "cannot read the checkpoint file %s: %s", cp_path, strerror(errno));
        goto fail;
    }
    char *line;
    size_t len;
    int found = last_line(au->cp_fd, st.st_size, &line, &len);
    if (found < 0) {
        snprintf(err, cap, "cannot read the checkpoint file %s: %s", cp_path, strerror(errno));
        goto fail;
    }
    char fp[17];
    kh_key_fingerprint(key->ed_pk, fp);
    int64_t max = 0;
    char hash[65];
    if (found) {
        cp_line_t l;
        char why[256];
        int bad = cp_line_parse(line, len, &l, why, sizeof why);
        free(line);
        if (bad) {
            snprintf(err, cap, "the last line of the checkpoint file %s is not a checkpoint "
                     "(%s): run kh-admin audit verify; if the file was damaged, restore it from "
                     "a backup", cp_path, why);
            goto fail;
        }
        if (cp_line_verify(&l, key->ed_pk) < 0) {
            snprintf(err, cap, "the last line of the checkpoint file %s does not verify with "
                     "the audit key (fingerprint %s%s): it was altered, or the key was "
                     "replaced; restore the key (and its .pub) that signed the file from a "
                     "backup, or run kh-admin audit verify", cp_path, fp,
                     key_created ? ", made at this start" : "");
            cp_line_free(&l);
            goto fail;
        }
        int64_t T = l.to;
        char signed_hash[65];
        snprintf(signed_hash, sizeof signed_hash, "%s", l.hashes[T - l.from]);
        cp_line_free(&l);
        if (db_state(au->db, T, &max, hash) < 0) {
            snprintf(err, cap, "audit log: %s", sqlite3_errmsg(au->db));
            goto fail;
        }
        if (max < T) {
            snprintf(err, cap, "the audit log holds entries up to %lld but the checkpoint file "
                     "%s signed entries up to %lld: entries %lld–%lld were cut off (or the "
                     "database was restored from an older backup, or lost its last commits "
                     "in a power cut); run kh-admin audit verify, then restore a database that "
                     "holds them; if this older database is the one to keep, move %s aside "
                     "(keep it: it records what was lost) and start again",
                     (long long)max, cp_path, (long long)T, (long long)max + 1, (long long)T,
                     cp_path);
            goto fail;
        }
        if (strcmp(hash, signed_hash) != 0) {
            snprintf(err, cap, "audit entry %lld is not the one the checkpoint file %s signed "
                     "(hash %s, signed %s): the audit log was rewritten; run kh-admin audit "
                     "verify and restore the database from a backup", (long long)T, cp_path,
                     hash, signed_hash);
            goto fail;
        }
        au->cp_to = T;
    } else {
        if (db_state(au->db, 0, &max, hash) < 0) {
            snprintf(err, cap, "audit log: %s", sqlite3_errmsg(au->db));
            goto fail;
        }
        au->cp_to = 0;
        if (max > 0) {
            char n[24], msg[768];
            snprintf(n, sizeof n, "%lld", (long long)max);
            if (key_created) {
                KH_INFO("audit.anchor", "first start with checkpoints: the audit entries "
                        "already in the database are signed now", "entries", n, "file", cp_path,
                        "key", fp);
            } else {
                snprintf(msg, sizeof msg, "the checkpoint file is missing or empty while the "
                         "audit key exists: the %lld entries in the database are signed now, "
                         "but nothing proves they are the ones signed before; compare this "
                         "line's hash (of entry %lld) with the last audit.checkpoint line of "
                         "the log stream (kh-logs), and restore the checkpoint file from a "
                         "backup if you have one", (long long)max, (long long)max);
                char last[65];
                if (db_state(au->db, max, &max, last) < 0)
                    last[0] = '\0';
                KH_ERROR("audit.reanchor", msg, "entries", n, "hash", last, "file", cp_path,
                         "key", fp);
            }
        }
    }
    au->dirty = 1;                       /* sign what is after cp_to, if anything */
    if (kh_audit_checkpoint(au) < 0) {
        snprintf(err, cap, "cannot write the checkpoint file %s: %s", cp_path,
                 strerror(errno ? errno : EIO));
        goto fail;
    }
    return 0;
fail:
    close(au->cp_fd);
    au->cp_fd = -1;
    sodium_memzero(&au->key, sizeof au->key);
    return -1;
}

/* ---- verifying the checkpoints ----------------------------------------------------------- */

typedef struct {
    kh_audit_finding_fn fn;
    void *arg;
    kh_audit_cp_summary_t *sum;
    const char *path;
    int64_t max;                     /* the database's last seq */
    /* a run of entries signed but missing from the database */
    int64_t miss_a, miss_b, miss_l1, miss_l2, miss_t1, miss_t2;
    /* a run of entries whose contents are as signed, re-hashed */
    int64_t re_a, re_b;
} vctx_t;

static void finding(vctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void finding(vctx_t *c, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->sum->problems++;
    if (c->fn)
        c->fn(c->arg, line);
}

static void range_text(int64_t a, int64_t b, char *out, size_t cap)
{
    if (a == b)
        snprintf(out, cap, "audit entry %lld", (long long)a);
    else
        snprintf(out, cap, "audit entries %lld–%lld", (long long)a, (long long)b);
}

/* "checkpoint line 3 (2027-03-10T10:00:01.234Z)" or "checkpoint lines 3–5 (… to …)" */
static void lines_text(int64_t l1, int64_t l2, int64_t t1, int64_t t2, char *out, size_t cap)
{
    char a[32], b[32];
    kh_iso_time(t1, a, sizeof a);
    kh_iso_time(t2, b, sizeof b);
    if (l1 == l2)
        snprintf(out, cap, "checkpoint line %lld (%s)", (long long)l1, a);
    else
        snprintf(out, cap, "checkpoint lines %lld–%lld (%s to %s)", (long long)l1,
                 (long long)l2, a, b);
}

static void flush_missing(vctx_t *c)
{
    if (!c->miss_a)
        return;
    char what[96], by[160];
    range_text(c->miss_a, c->miss_b, what, sizeof what);
    lines_text(c->miss_l1, c->miss_l2, c->miss_t1, c->miss_t2, by, sizeof by);
    int one = c->miss_a == c->miss_b;
    if (c->miss_a > c->max)
        finding(c, "%s %s cut off the end of the audit log: %s signed %s", what,
                one ? "was" : "were", by, one ? "it" : "them");
    else
        finding(c, "%s %s missing from the audit log (removed; later entries remain): %s "
                "signed %s", what, one ? "is" : "are", by, one ? "it" : "them");
    c->miss_a = 0;
}

static void flush_rehashed(vctx_t *c)
{
    if (!c->re_a)
        return;
    char what[96];
    range_text(c->re_a, c->re_b, what, sizeof what);
    int one = c->re_a == c->re_b;
    finding(c, "%s %s re-hashed to hide the change before %s: %s contents are as signed, "
            "but %s link and hash were recomputed", what, one ? "was" : "were",
            one ? "it" : "them", one ? "its" : "their", one ? "its" : "their");
    c->re_a = 0;
}

int kh_audit_checkpoints_verify(sqlite3 *db, const char *cp_path, const uint8_t pk[32],
                                kh_audit_finding_fn fn, void *arg, kh_audit_cp_summary_t *sum,
                                char *err, size_t cap)
{
    memset(sum, 0, sizeof *sum);
    if (cap)
        err[0] = '\0';
    if (sodium_init() < 0) {
        snprintf(err, cap, "libsodium could not be initialised");
        return -1;
    }
    vctx_t c = {.fn = fn, .arg = arg, .sum = sum, .path = cp_path};
    /* the file first, up to its size now: lines a running service appends later (for
     * entries the database may then hold) are not read */
    FILE *f = fopen(cp_path, "re");
    off_t size = 0;
    if (!f) {
        if (errno != ENOENT) {
            snprintf(err, cap, "%s: %s", cp_path, strerror(errno));
            return -1;
        }
        sum->file_missing = 1;
    } else {
        struct stat st;
        if (fstat(fileno(f), &st) < 0) {
            snprintf(err, cap, "%s: %s", cp_path, strerror(errno));
            fclose(f);
            return -1;
        }
        size = st.st_size;
    }
    sqlite3_stmt *st = NULL, *one = NULL;
    int rc = -1, in_txn = 0;
    char *text = NULL;
    size_t tcap = 0;
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        goto db_error;
    in_txn = 1;
    if (sqlite3_prepare_v2(db, "SELECT count(*), ifnull(max(seq),0) FROM audit", -1, &st,
                           NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        goto db_error;
    sum->entries = sqlite3_column_int64(st, 0);
    c.max = sum->last_seq = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT at,kind,subject,body,prev,hash FROM audit WHERE seq=?",
                           -1, &one, NULL) != SQLITE_OK)
        goto db_error;

    int64_t lineno = 0, max_to = 0, psig_seq = 0;
    off_t read_so_far = 0;
    char psig[65] = "";
    ssize_t n;
    while (f && read_so_far < size && (n = getline(&text, &tcap, f)) > 0) {
        read_so_far += n;
        if (read_so_far > size || text[n - 1] != '\n')
            break;                  /* being written now, or cut short: not a line yet */
        text[--n] = '\0';
        lineno++;
        sum->lines++;
        cp_line_t l;
        char why[256];
        if (cp_line_parse(text, (size_t)n, &l, why, sizeof why) < 0) {
            flush_missing(&c);
            flush_rehashed(&c);
            finding(&c, "checkpoint line %lld is not a checkpoint (%s): it was altered or "
                    "damaged; its entries are not taken as signed", (long long)lineno, why);
            continue;
        }
        if (cp_line_verify(&l, pk) < 0) {
            char at[32];
            kh_iso_time(l.at, at, sizeof at);
            flush_missing(&c);
            flush_rehashed(&c);
            finding(&c, "checkpoint line %lld (entries %lld–%lld, %s) does not verify with "
                    "the aggregator's audit key: it was altered or forged; its entries are "
                    "not taken as signed", (long long)lineno, (long long)l.from,
                    (long long)l.to, at);
            cp_line_free(&l);
            continue;
        }
        sum->good_lines++;
        if (l.from > max_to + 1) {
            flush_missing(&c);
            flush_rehashed(&c);
            char what[96];
            range_text(max_to + 1, l.from - 1, what, sizeof what);
            finding(&c, "%s %s signed by no checkpoint line although later ones are: a line "
                    "was removed from %s (or the file was started after them)", what,
                    max_to + 1 == l.from - 1 ? "is" : "are", cp_path);
        }
        for (int64_t s = l.from; s <= l.to; s++) {
            const char *sig_h = l.hashes[s - l.from];
            sqlite3_bind_int64(one, 1, s);
            int step = sqlite3_step(one);
            if (step != SQLITE_ROW && step != SQLITE_DONE) {
                cp_line_free(&l);
                goto db_error;
            }
            if (step == SQLITE_DONE) {
                sqlite3_reset(one);
                flush_rehashed(&c);
                if (c.miss_a && c.miss_b == s - 1) {
                    c.miss_b = s;
                    c.miss_l2 = lineno;
                    c.miss_t2 = l.at;
                } else {
                    flush_missing(&c);
                    c.miss_a = c.miss_b = s;
                    c.miss_l1 = c.miss_l2 = lineno;
                    c.miss_t1 = c.miss_t2 = l.at;
                }
            } else {
                flush_missing(&c);
                const char *fld[5];
                size_t fl[5];
                for (int i = 0; i < 5; i++) {
                    fld[i] = (const char *)sqlite3_column_text(one, 1 + i);
                    fl[i] = (size_t)sqlite3_column_bytes(one, 1 + i);
                    if (!fld[i])
                        fld[i] = "", fl[i] = 0;
                }
                int64_t at = sqlite3_column_int64(one, 0);
                char re[65];
                hash_n(s, at, fld[0], fl[0], fld[1], fl[1], fld[2], fl[2], fld[3], fl[3], re);
                int stored_ok = fl[4] == 64 && memcmp(fld[4], sig_h, 64) == 0;
                int fields_ok = fl[4] == 64 && memcmp(fld[4], re, 64) == 0;
                if (!stored_ok || !fields_ok) {
                    /* its own fields as signed, only its link changed? */
                    const char *pprev = s == 1 ? KH_AUDIT_ZERO
                                        : psig_seq == s - 1 ? psig : NULL;
                    char relinked[65] = "";
                    if (pprev)
                        hash_n(s, at, fld[0], fl[0], fld[1], fl[1], fld[2], fl[2], pprev, 64,
                               relinked);
                    char by[160];
                    lines_text(lineno, lineno, l.at, l.at, by, sizeof by);
                    if (pprev && strcmp(relinked, sig_h) == 0) {
                        if (c.re_a && c.re_b == s - 1)
                            c.re_b = s;
                        else {
                            flush_rehashed(&c);
                            c.re_a = c.re_b = s;
                        }
                    } else if (!stored_ok) {
                        flush_rehashed(&c);
                        finding(&c, "audit entry %lld was rewritten: its hash %.64s differs "
                                "from the one signed at %s, %s", (long long)s, fld[4], by, sig_h);
                    } else {
                        flush_rehashed(&c);
                        finding(&c, "audit entry %lld was changed: its stored hash is the one "
                                "signed at %s, but its fields now give %s", (long long)s, by, re);
                    }
                } else {
                    flush_rehashed(&c);
                }
                sqlite3_reset(one);
            }
            memcpy(psig, sig_h, 65);
            psig_seq = s;
        }
        if (l.to >= max_to) {
            max_to = l.to;
            sum->signed_to = l.to;
            sum->last_at = l.at;
            snprintf(sum->last_hash, sizeof sum->last_hash, "%s", l.hashes[l.to - l.from]);
        }
        cp_line_free(&l);
    }
    flush_missing(&c);
    flush_rehashed(&c);
    if (f && ferror(f)) {
        snprintf(err, cap, "%s: %s", cp_path, strerror(errno));
        goto out;
    }
    if (sum->good_lines == 0 && c.max > 0) {
        finding(&c, "none of the %lld audit entries is signed: the checkpoint file %s %s, so "
                "nothing shows whether entries were rewritten or cut off", (long long)c.max,
                cp_path, sum->file_missing ? "is missing" : "holds no valid checkpoint line");
    } else if (max_to < c.max) {
        sum->unsigned_from = max_to + 1;
    }
    rc = sum->problems ? 1 : 0;
    goto out;
db_error:
    snprintf(err, cap, "audit log: %s", sqlite3_errmsg(db));
    rc = -1;
out:
    free(text);
    sqlite3_finalize(st);
    sqlite3_finalize(one);
    if (in_txn)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (f)
        fclose(f);
    return rc;
}
