/*
 * kh_keys.c — key files and the key registry; see kh_keys.h.
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

int kh_key_write(const kh_key_t *k, const char *dir)
{
    char path[PATH_MAX], text[1024], b64pk[64], b64sk[128];
    sodium_bin2base64(b64pk, sizeof b64pk, k->ed_pk, 32, sodium_base64_VARIANT_ORIGINAL);
    if (k->has_secret) {
        sodium_bin2base64(b64sk, sizeof b64sk, k->ed_sk, 64, sodium_base64_VARIANT_ORIGINAL);
        snprintf(text, sizeof text,
                 "# khuyến học key: SECRET. Keep it on this host only (mode 0600).\n"
                 "id = %s\nrole = %s\nunit = %s\npublic = %s\nsecret = %s\n",
                 k->id, k->role, k->unit, b64pk, b64sk);
        if (snprintf(path, sizeof path, "%s/%s.key", dir, k->id) >= (int)sizeof path ||
            write_one(path, text, 0600) < 0) {
            sodium_memzero(text, sizeof text);
            return -1;
        }
        sodium_memzero(text, sizeof text);
        sodium_memzero(b64sk, sizeof b64sk);
    }
    snprintf(text, sizeof text,
             "# khuyến học public key: give it to the province to register.\n"
             "id = %s\nrole = %s\nunit = %s\npublic = %s\n", k->id, k->role, k->unit, b64pk);
    if (snprintf(path, sizeof path, "%s/%s.pub", dir, k->id) >= (int)sizeof path)
        return -1;
    return write_one(path, text, 0644);
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

int kh_keys_open(sqlite3 **db, const char *path, char *err, size_t errlen)
{
    return kh_db_open(db, path, migrations, sizeof migrations / sizeof *migrations, err, errlen);
}

int kh_keys_register(sqlite3 *db, const kh_key_t *k, int64_t valid_from, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO key(id,role,unit,ed_pk,curve_pk,valid_from,"
                               "registered_at) VALUES(?,?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_text(st, 1, k->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, k->role, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, k->unit, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, k->ed_pk, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, k->curve_pk, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, valid_from);
    sqlite3_bind_int64(st, 7, kh_real_ms());
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "%s", rc == SQLITE_CONSTRAINT
                                        ? "this key (or its id) is already registered"
                                        : sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

int kh_keys_revoke(sqlite3 *db, const char *id)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "UPDATE key SET status='revoked', revoked_at=? WHERE id=?", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, kh_real_ms());
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -1;
    return sqlite3_changes(db) ? 0 : 1;
}

int kh_keys_rotate(sqlite3 *db, const char *old_id, const kh_key_t *next, int64_t grace_ms,
                   char *err, size_t errlen)
{
    char unit[64];
    int64_t now = kh_real_ms();
    int valid = kh_keys_valid(db, old_id, now, unit);
    if (valid == KH_ERR) {
        snprintf(err, errlen, "the key registry could not be read: %s", sqlite3_errmsg(db));
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
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_stmt *st;
    int ok = sqlite3_prepare_v2(db, "UPDATE key SET valid_until=? WHERE id=?", -1, &st, NULL) ==
             SQLITE_OK;
    if (ok) {
        sqlite3_bind_int64(st, 1, now + grace_ms);
        sqlite3_bind_text(st, 2, old_id, -1, SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_finalize(st);
    }
    if (!ok)
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
    if (!ok || kh_keys_register(db, next, now, err, errlen) < 0 ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* valid at ?2: registered by then, not yet expired, and not revoked by then (so what a
 * key signed before its revocation stays provable; after it, nothing gets in) */
#define VALID_AT                                                                          \
    "(status='active' OR revoked_at>?2) AND valid_from<=?2 AND "                          \
    "(valid_until IS NULL OR valid_until>?2)"

int kh_keys_by_curve(sqlite3 *db, const uint8_t curve_pk[32], int64_t at_ms, char *id,
                     char *role, char *unit)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id,role,unit FROM key WHERE curve_pk=?1 AND " VALID_AT, -1,
                           &st, NULL) != SQLITE_OK)
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
    sqlite3_finalize(st);
    return rc;
}

int kh_keys_valid(sqlite3 *db, const char *id, int64_t at_ms, char *unit)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT unit FROM key WHERE id=?1 AND " VALID_AT, -1, &st, NULL) !=
        SQLITE_OK)
        return KH_ERR;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, at_ms);
    int step = sqlite3_step(st), rc = step == SQLITE_DONE ? KH_NO : KH_ERR;
    if (step == SQLITE_ROW) {
        if (unit)
            kh_strlcpy(unit, (const char *)sqlite3_column_text(st, 0), 64);
        rc = KH_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

int kh_keys_signing_key(sqlite3 *keys, const char *signer, const char *district, int64_t at_ms,
                        uint8_t pk[32])
{
    sqlite3_stmt *st;
    if (!signer || !*signer || !district)
        return KH_NO;
    if (sqlite3_prepare_v2(keys, "SELECT ed_pk FROM key WHERE id=?1 AND unit=?3 AND " VALID_AT,
                           -1, &st, NULL) != SQLITE_OK)
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
    sqlite3_finalize(st);
    return rc;
}

int kh_keys_list(sqlite3 *db, FILE *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id,role,unit,status,valid_from,valid_until,ed_pk FROM key "
                               "ORDER BY unit,valid_from", -1, &st, NULL) != SQLITE_OK)
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
    sqlite3_finalize(st);
    return ferror(out) ? -1 : 0;
}
