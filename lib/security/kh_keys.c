/*
 * kh_keys.c — key files and the key registry; see kh_keys.h.
 *
 * The registry's handle keeps one prepared statement per question (query(), prepared at
 * its first use) and every use of one ends in finish(), which resets it: no return
 * between a step and finish().  A statement left stepped would hold its read transaction,
 * and the service would never see a key registered or revoked after it.
 */
#include "kh_keys.h"
#include "kh_db.h"
#include "kh_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const migrations[] = {
    "CREATE TABLE key (id TEXT PRIMARY KEY, role TEXT NOT NULL, unit TEXT NOT NULL,"
    " ed_pk BLOB NOT NULL UNIQUE, curve_pk BLOB NOT NULL UNIQUE,"
    " status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','revoked')),"
    " valid_from INTEGER NOT NULL, valid_until INTEGER, registered_at INTEGER NOT NULL,"
    " revoked_at INTEGER);"
    "CREATE INDEX key_curve ON key(curve_pk);",
};

static int derive_curve(kh_key_t *k)
{
    if (crypto_sign_ed25519_pk_to_curve25519(k->curve_pk, k->ed_pk) != 0)
        return -1;
    if (k->has_secret && crypto_sign_ed25519_sk_to_curve25519(k->curve_sk, k->ed_sk) != 0)
        return -1;
    return 0;
}

static int set_names(kh_key_t *k, const char *id, const char *role, const char *unit)
{
    if (kh_strlcpy(k->id, id, sizeof k->id) < 0 || kh_strlcpy(k->role, role, sizeof k->role) < 0 ||
        kh_strlcpy(k->unit, unit, sizeof k->unit) < 0 || !*id)
        return -1;
    for (const char *p = id; *p; p++)     /* ids become file names */
        if (!(((*p | 32) >= 'a' && (*p | 32) <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_' || *p == '.') || (p == id && *p == '.'))
            return -1;
    return 0;
}

int kh_key_generate(const char *id, const char *role, const char *unit, kh_key_t *out)
{
    if (sodium_init() < 0)
        return -1;
    memset(out, 0, sizeof *out);
    if (set_names(out, id, role, unit) < 0)
        return -1;
    crypto_sign_keypair(out->ed_pk, out->ed_sk);
    out->has_secret = 1;
    return derive_curve(out);
}

void kh_key_fingerprint(const uint8_t ed_pk[32], char out[17])
{
    sodium_bin2hex(out, 17, ed_pk, 8);
}

static int write_one(const char *path, const char *text, int mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (!ok) {
        unlink(path);
        errno = e;
        return -1;
    }
    return 0;
}

/* Writes text to path with mode: a new file (O_EXCL), or with replace a temporary file
 * renamed over it.  0 or -1 (errno). */
static int write_key_file(const char *path, const char *text, int mode, int replace)
{
    if (!replace)
        return write_one(path, text, mode);
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.new", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    unlink(tmp);
    if (write_one(tmp, text, mode) < 0)
        return -1;
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

int kh_key_write_as(const kh_key_t *k, const char *key_path, const char *pub_path, int replace)
{
    char text[1024], b64pk[64], b64sk[128];
    sodium_bin2base64(b64pk, sizeof b64pk, k->ed_pk, 32, sodium_base64_VARIANT_ORIGINAL);
    if (k->has_secret && key_path) {
        sodium_bin2base64(b64sk, sizeof b64sk, k->ed_sk, 64, sodium_base64_VARIANT_ORIGINAL);
        snprintf(text, sizeof text,
                 "# khuyến học key: SECRET. Keep it on this host only (mode 0600).\n"
                 "id = %s\nrole = %s\nunit = %s\npublic = %s\nsecret = %s\n",
                 k->id, k->role, k->unit, b64pk, b64sk);
        int rc = write_key_file(key_path, text, 0600, replace);
        sodium_memzero(text, sizeof text);
        sodium_memzero(b64sk, sizeof b64sk);
        if (rc < 0)
            return -1;
    }
    snprintf(text, sizeof text,
             "# khuyến học public key: give it to the province to register.\n"
             "id = %s\nrole = %s\nunit = %s\npublic = %s\n", k->id, k->role, k->unit, b64pk);
    return write_key_file(pub_path, text, 0644, replace);
}

int kh_key_write(const kh_key_t *k, const char *dir)
{
    char key_path[PATH_MAX], pub_path[PATH_MAX];
    if (snprintf(key_path, sizeof key_path, "%s/%s.key", dir, k->id) >= (int)sizeof key_path ||
        snprintf(pub_path, sizeof pub_path, "%s/%s.pub", dir, k->id) >= (int)sizeof pub_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return kh_key_write_as(k, key_path, pub_path, 0);
}

int kh_key_pub_path(const char *key_path, char *out, size_t cap)
{
    size_t n = strlen(key_path);
    if (n < 5 || strcmp(key_path + n - 4, ".key") != 0 || n + 1 > cap)
        return -1;
    memcpy(out, key_path, n - 4);
    memcpy(out + n - 4, ".pub", 5);
    return 0;
}

int kh_key_own(const char *key_path, const char *role, const char *unit, kh_key_t *out,
               int *created, char *err, size_t errlen)
{
    char pub[PATH_MAX], dir[PATH_MAX], id[KH_KEY_ID_MAX];
    *created = 0;
    memset(out, 0, sizeof *out);
    if (kh_key_pub_path(key_path, pub, sizeof pub) < 0) {
        snprintf(err, errlen, "%s: a key file name must end in .key (DIR/ID.key)", key_path);
        return -1;
    }
    const char *slash = strrchr(key_path, '/');
    const char *base = slash ? slash + 1 : key_path;
    size_t dlen = slash ? (size_t)(slash - key_path) : 1;
    if (dlen == 0)
        dlen = 1;                                   /* "/ID.key" */
    snprintf(dir, sizeof dir, "%.*s", (int)dlen, slash ? key_path : ".");
    snprintf(id, sizeof id, "%.*s", (int)(strlen(base) - 4), base);
    struct stat st;
    int have_key = stat(key_path, &st) == 0, have_pub = stat(pub, &st) == 0;
    if (have_key) {
        if (kh_key_read(key_path, out, err, errlen) < 0)
            return -1;
        if (!out->has_secret) {
            snprintf(err, errlen, "%s holds no secret key: put the secret key file there "
                     "(kh-admin keys generate writes one)", key_path);
            return -1;
        }
        kh_key_t p;
        char perr[512];
        if (have_pub) {
            if (kh_key_read(pub, &p, perr, sizeof perr) < 0) {
                snprintf(err, errlen, "%s (the public half of %s): remove it to have it "
                         "written again", perr, key_path);
                return -1;
            }
            if (memcmp(p.ed_pk, out->ed_pk, 32) != 0) {
                snprintf(err, errlen, "%s is not the public half of %s: what it verifies was "
                         "not signed with this key; put the matching pair back (from a backup)",
                         pub, key_path);
                return -1;
            }
            return 0;
        }
        p = *out;                                   /* the public half, written again */
        sodium_memzero(p.ed_sk, sizeof p.ed_sk);
        sodium_memzero(p.curve_sk, sizeof p.curve_sk);
        p.has_secret = 0;
        if (kh_key_write(&p, dir) < 0) {
            snprintf(err, errlen, "cannot write %s: %s", pub, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (have_pub) {
        snprintf(err, errlen, "%s exists but its secret key %s is missing: restore %s from a "
                 "backup (a new key would not verify what the old one signed); to start "
                 "anew on purpose, move %s aside", pub, key_path, key_path, pub);
        return -1;
    }
    if (kh_mkdirs(dir, 0700) < 0) {
        snprintf(err, errlen, "cannot make the folder %s for %s: %s", dir, key_path,
                 strerror(errno));
        return -1;
    }
    if (kh_key_generate(id, role, unit, out) < 0) {
        snprintf(err, errlen, "%s: cannot make a key with id '%s' (letters, digits, - _ . only)",
                 key_path, id);
        return -1;
    }
    if (kh_key_write(out, dir) < 0) {
        snprintf(err, errlen, "cannot write %s and %s: %s", key_path, pub, strerror(errno));
        sodium_memzero(out, sizeof *out);
        return -1;
    }
    *created = 1;
    return 0;
}

int kh_key_read(const char *path, kh_key_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf;
    size_t len;
    if (kh_read_file(path, 8192, &buf, &len) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char id[KH_KEY_ID_MAX] = "", role[16] = "", unit[64] = "", pk[128] = "", sk[160] = "";
    for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char k[16], v[160];
        if (line[0] == '#' || sscanf(line, " %15[a-z] = %159s", k, v) != 2)
            continue;
        if (!strcmp(k, "id"))
            kh_strlcpy(id, v, sizeof id);
        else if (!strcmp(k, "role"))
            kh_strlcpy(role, v, sizeof role);
        else if (!strcmp(k, "unit"))
            kh_strlcpy(unit, v, sizeof unit);
        else if (!strcmp(k, "public"))
            kh_strlcpy(pk, v, sizeof pk);
        else if (!strcmp(k, "secret"))
            kh_strlcpy(sk, v, sizeof sk);
    }
    sodium_memzero(buf, len);
    free(buf);
    size_t n;
    int rc = -1;
    if (sodium_init() < 0 || set_names(out, id, role, unit) < 0) {
        snprintf(err, errlen, "%s: not a key file (id, role, unit missing or invalid)", path);
    } else if (sodium_base642bin(out->ed_pk, 32, pk, strlen(pk), NULL, &n, NULL,
                                 sodium_base64_VARIANT_ORIGINAL) != 0 || n != 32) {
        snprintf(err, errlen, "%s: the public key is not 32 bytes of base64", path);
    } else if (sk[0] && (st.st_mode & 077)) {
        snprintf(err, errlen, "%s: a secret key readable by others is refused (chmod 600 it)",
                 path);
    } else if (sk[0] && (sodium_base642bin(out->ed_sk, 64, sk, strlen(sk), NULL, &n, NULL,
                                           sodium_base64_VARIANT_ORIGINAL) != 0 || n != 64 ||
                         memcmp(out->ed_sk + 32, out->ed_pk, 32) != 0)) {
        snprintf(err, errlen, "%s: the secret key is damaged or does not match the public key",
                 path);
    } else {
        out->has_secret = sk[0] != 0;
        rc = derive_curve(out);
        if (rc < 0)
            snprintf(err, errlen, "%s: not a valid Ed25519 public key", path);
    }
    sodium_memzero(sk, sizeof sk);
    return rc;
}

/* ---- the registry -------------------------------------------------------------------- */

/* valid at ?2: registered by then, not yet expired, and not revoked by then (so what a
 * key signed before its revocation stays provable; after it, nothing gets in) */
#define VALID_AT                                                                          \
    "(status='active' OR revoked_at>?2) AND valid_from<=?2 AND "                          \
    "(valid_until IS NULL OR valid_until>?2)"

/* the statements a handle keeps, prepared at their first use */
enum { Q_BY_CURVE, Q_VALID, Q_SIGNING, Q_INSERT, Q_REVOKE, Q_END, Q_LIST, Q_COUNT };

static const char *const query_sql[Q_COUNT] = {
    [Q_BY_CURVE] = "SELECT id,role,unit FROM key WHERE curve_pk=?1 AND " VALID_AT,
    [Q_VALID] = "SELECT unit FROM key WHERE id=?1 AND " VALID_AT,
    [Q_SIGNING] = "SELECT ed_pk FROM key WHERE id=?1 AND unit=?3 AND " VALID_AT,
    [Q_INSERT] = "INSERT INTO key(id,role,unit,ed_pk,curve_pk,valid_from,registered_at)"
                 " VALUES(?,?,?,?,?,?,?)",
    [Q_REVOKE] = "UPDATE key SET status='revoked', revoked_at=? WHERE id=?",
    [Q_END] = "UPDATE key SET valid_until=? WHERE id=?",
    [Q_LIST] = "SELECT id,role,unit,status,valid_from,valid_until,ed_pk FROM key "
               "ORDER BY unit,valid_from",
};

struct kh_keys {
    sqlite3 *db;
    sqlite3_stmt *st[Q_COUNT];  /* NULL until first used; reset after every use */
    char errmsg[256];           /* why the last KH_ERR (kh_keys_errmsg) */
};

/* keeps the database's reason for a failure, before a reset or a rollback changes it */
static void keep_error(kh_keys_t *k)
{
    kh_strlcpy(k->errmsg, sqlite3_errmsg(k->db), sizeof k->errmsg);
}

/* Statement q, prepared at its first use.  NULL on failure (the reason kept). */
static sqlite3_stmt *query(kh_keys_t *k, int q)
{
    if (!k->st[q] && sqlite3_prepare_v3(k->db, query_sql[q], -1, SQLITE_PREPARE_PERSISTENT,
                                        &k->st[q], NULL) != SQLITE_OK) {
        keep_error(k);
        sqlite3_finalize(k->st[q]);
        k->st[q] = NULL;
    }
    return k->st[q];
}

/* Every use of a statement ends here, whatever its outcome: the reason of a failure
 * kept, then the statement reset (its read transaction ended) and its bindings
 * cleared (they point into the caller's memory).  Returns rc. */
static int finish(kh_keys_t *k, sqlite3_stmt *st, int rc)
{
    if (rc == KH_ERR)
        keep_error(k);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

int kh_keys_open(kh_keys_t **keys, const char *path, char *err, size_t errlen)
{
    *keys = NULL;
    kh_keys_t *k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    if (kh_db_open(&k->db, path, migrations, sizeof migrations / sizeof *migrations, err,
                   errlen) < 0) {
        free(k);
        return -1;
    }
    *keys = k;
    return 0;
}

void kh_keys_destroy(kh_keys_t **keys)
{
    kh_keys_t *k = *keys;
    if (!k)
        return;
    for (int q = 0; q < Q_COUNT; q++)
        sqlite3_finalize(k->st[q]);
    kh_db_close(&k->db);
    free(k);
    *keys = NULL;
}

const char *kh_keys_errmsg(kh_keys_t *keys)
{
    return keys->errmsg;
}

/* One INSERT of a key, registered at `now`.  Returns 0, or -1 with err. */
static int insert_key(kh_keys_t *keys, const kh_key_t *k, int64_t valid_from, int64_t now,
                      char *err, size_t errlen)
{
    sqlite3_stmt *st = query(keys, Q_INSERT);
    if (!st) {
        snprintf(err, errlen, "%s", keys->errmsg);
        return -1;
    }
    sqlite3_bind_text(st, 1, k->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, k->role, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, k->unit, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, k->ed_pk, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, k->curve_pk, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, valid_from);
    sqlite3_bind_int64(st, 7, now);
    int step = sqlite3_step(st);
    if (finish(keys, st, step == SQLITE_DONE ? KH_OK : KH_ERR) == KH_OK)
        return 0;
    snprintf(err, errlen, "%s", step == SQLITE_CONSTRAINT
                                    ? "this key (or its id) is already registered"
                                    : keys->errmsg);
    return -1;
}

/* BEGIN IMMEDIATE, COMMIT, ROLLBACK.  Returns 0, or -1 (the reason kept). */
static int exec(kh_keys_t *k, const char *sql)
{
    if (sqlite3_exec(k->db, sql, NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    keep_error(k);
    return -1;
}

int kh_keys_register(kh_keys_t *keys, const kh_key_t *k, int64_t valid_from, char *err,
                     size_t errlen)
{
    return insert_key(keys, k, valid_from, kh_real_ms(), err, errlen);
}

int kh_keys_register_all(kh_keys_t *keys, const kh_key_t *ks, size_t n, int64_t valid_from,
                         char *err, size_t errlen)
{
    int64_t now = kh_real_ms();
    if (exec(keys, "BEGIN IMMEDIATE") < 0) {
        snprintf(err, errlen, "%s", keys->errmsg);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char why[256];
        if (insert_key(keys, &ks[i], valid_from, now, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s: %s", ks[i].id, why);
            goto out_rollback;
        }
    }
    if (exec(keys, "COMMIT") == 0)
        return 0;
    snprintf(err, errlen, "%s", keys->errmsg);
out_rollback:
    sqlite3_exec(keys->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int kh_keys_revoke(kh_keys_t *keys, const char *id)
{
    sqlite3_stmt *st = query(keys, Q_REVOKE);
    if (!st)
        return KH_ERR;
    sqlite3_bind_int64(st, 1, kh_real_ms());
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) != SQLITE_DONE ? KH_ERR : sqlite3_changes(keys->db) ? KH_OK : KH_NO;
    return finish(keys, st, rc);
}

int kh_keys_rotate(kh_keys_t *keys, const char *old_id, const kh_key_t *next, int64_t grace_ms,
                   char *err, size_t errlen)
{
    char unit[64];
    int64_t now = kh_real_ms();
    int valid = kh_keys_valid(keys, old_id, now, unit);
    if (valid == KH_ERR) {
        snprintf(err, errlen, "the key registry could not be read: %s", keys->errmsg);
        return -1;
    }
    if (valid != KH_OK) {
        snprintf(err, errlen, "key %s is not a valid registered key", old_id);
        return -1;
    }
    if (strcmp(unit, next->unit) != 0) {
        snprintf(err, errlen, "the new key is for %s, the old one for %s", next->unit, unit);
        return -1;
    }
    if (exec(keys, "BEGIN IMMEDIATE") < 0) {
        snprintf(err, errlen, "%s", keys->errmsg);
        return -1;
    }
    sqlite3_stmt *st = query(keys, Q_END);
    int ok = st != NULL;
    if (ok) {
        sqlite3_bind_int64(st, 1, now + grace_ms);
        sqlite3_bind_text(st, 2, old_id, -1, SQLITE_STATIC);
        ok = finish(keys, st, sqlite3_step(st) == SQLITE_DONE ? KH_OK : KH_ERR) == KH_OK;
    }
    if (!ok)
        snprintf(err, errlen, "%s", keys->errmsg);
    if (ok && insert_key(keys, next, now, now, err, errlen) == 0) {
        if (exec(keys, "COMMIT") == 0)
            return 0;
        snprintf(err, errlen, "%s", keys->errmsg);
    }
    sqlite3_exec(keys->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int kh_keys_by_curve(kh_keys_t *keys, const uint8_t curve_pk[32], int64_t at_ms, char *id,
                     char *role, char *unit)
{
    sqlite3_stmt *st = query(keys, Q_BY_CURVE);
    if (!st)
        return KH_ERR;
    sqlite3_bind_blob(st, 1, curve_pk, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, at_ms);
    int step = sqlite3_step(st), rc = step == SQLITE_DONE ? KH_NO : KH_ERR;
    if (step == SQLITE_ROW) {
        kh_strlcpy(id, (const char *)sqlite3_column_text(st, 0), KH_KEY_ID_MAX);
        kh_strlcpy(role, (const char *)sqlite3_column_text(st, 1), 16);
        kh_strlcpy(unit, (const char *)sqlite3_column_text(st, 2), 64);
        rc = KH_OK;
    }
    return finish(keys, st, rc);
}

int kh_keys_valid(kh_keys_t *keys, const char *id, int64_t at_ms, char *unit)
{
    sqlite3_stmt *st = query(keys, Q_VALID);
    if (!st)
        return KH_ERR;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, at_ms);
    int step = sqlite3_step(st), rc = step == SQLITE_DONE ? KH_NO : KH_ERR;
    if (step == SQLITE_ROW) {
        if (unit)
            kh_strlcpy(unit, (const char *)sqlite3_column_text(st, 0), 64);
        rc = KH_OK;
    }
    return finish(keys, st, rc);
}

int kh_keys_signing_key(kh_keys_t *keys, const char *signer, const char *district,
                        int64_t at_ms, uint8_t pk[32])
{
    if (!signer || !*signer || !district)
        return KH_NO;
    sqlite3_stmt *st = query(keys, Q_SIGNING);
    if (!st)
        return KH_ERR;
    sqlite3_bind_text(st, 1, signer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, at_ms);
    sqlite3_bind_text(st, 3, district, -1, SQLITE_STATIC);
    int step = sqlite3_step(st), rc = step == SQLITE_DONE ? KH_NO : KH_ERR;
    if (step == SQLITE_ROW) {
        /* a registered key is 32 bytes (kh_keys_register); another length is no key */
        rc = KH_NO;
        if (sqlite3_column_bytes(st, 0) == 32) {
            memcpy(pk, sqlite3_column_blob(st, 0), 32);
            rc = KH_OK;
        }
    }
    return finish(keys, st, rc);
}

int kh_keys_list(kh_keys_t *keys, FILE *out)
{
    sqlite3_stmt *st = query(keys, Q_LIST);
    if (!st)
        return -1;
    fprintf(out, "%-24s %-9s %-6s %-8s %-17s %-17s %s\n", "id", "role", "unit", "status",
            "valid from (UTC)", "valid until", "fingerprint");
    int64_t now = kh_real_ms();
    while (sqlite3_step(st) == SQLITE_ROW) {
        char from[32], until[32] = "-", fp[17] = "?";
        kh_iso_time(sqlite3_column_int64(st, 4), from, sizeof from);
        from[16] = '\0';
        if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
            kh_iso_time(sqlite3_column_int64(st, 5), until, sizeof until);
            until[16] = '\0';
        }
        if (sqlite3_column_bytes(st, 6) == 32)
            kh_key_fingerprint(sqlite3_column_blob(st, 6), fp);
        const char *status = (const char *)sqlite3_column_text(st, 3);
        if (!strcmp(status, "active") && sqlite3_column_type(st, 5) != SQLITE_NULL &&
            sqlite3_column_int64(st, 5) <= now)
            status = "expired";
        fprintf(out, "%-24s %-9s %-6s %-8s %-17s %-17s %s\n", sqlite3_column_text(st, 0),
                sqlite3_column_text(st, 1), sqlite3_column_text(st, 2), status, from, until, fp);
    }
    finish(keys, st, KH_OK);
    return ferror(out) ? -1 : 0;
}
