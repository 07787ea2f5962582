/*
 * kh_keys.h — who may talk to the province: key files and the key registry.
 *
 * Every party has one Ed25519 key pair (libsodium).  It signs reports (lib/security/kh_sign)
 * and, converted to Curve25519, is the party's CURVE key on the ZeroMQ transport, so
 * one key identifies a district everywhere.  Key files are small text files:
 *
 *   id = 829-20261127          role = district | province | admin | server
 *   unit = 829                 public = <base64 Ed25519 public key>
 *                              secret = <base64 Ed25519 secret key>   (secret file only, mode 0600)
 *
 * A program may also keep a key pair of its own that nobody registers (kh_key_own: the
 * aggregator's audit key, which signs its audit checkpoints, lib/security/kh_audit.h): made at
 * its first start, read at every later one.
 *
 * The registry (a SQLite database, [security] keys_db) holds the public keys the
 * province accepts, each with its role, its unit, a validity range and a status;
 * revocation and rotation are rows changing there, read by the services on every
 * connection and every message, so they take effect without a restart.
 */
#ifndef KH_KEYS_H
#define KH_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kh_result.h"

#define KH_KEY_ID_MAX 64

typedef struct {
    char id[KH_KEY_ID_MAX];
    char role[16];
    char unit[64];
    uint8_t ed_pk[32];
    uint8_t ed_sk[64];          /* zero in a public key */
    int has_secret;
    uint8_t curve_pk[32];
    uint8_t curve_sk[32];       /* zero in a public key */
} kh_key_t;

/* Makes a new key pair.  Returns 0 or -1. */
int kh_key_generate(const char *id, const char *role, const char *unit, kh_key_t *out);
/* Writes ID.key (mode 0600, refusing to overwrite) and ID.pub into dir.  0 or -1 (errno). */
int kh_key_write(const kh_key_t *k, const char *dir);
/* The same two files under names of the caller's choosing (kh-node keygen: the [node] key
 * path and its .pub): key_path (mode 0600; skipped when NULL or k holds no secret) and
 * pub_path (0644).  replace: an existing file is replaced (written beside it and renamed
 * over it); otherwise an existing file is refused (EEXIST).  0 or -1 (errno). */
int kh_key_write_as(const kh_key_t *k, const char *key_path, const char *pub_path, int replace);
/* Reads a key file (secret or public).  Returns 0, or -1 with a reason in err;
 * a secret file readable by others is refused. */
int kh_key_read(const char *path, kh_key_t *out, char *err, size_t errlen);
/* The public key file beside a secret one: "DIR/ID.key" → "DIR/ID.pub".  Returns 0, or
 * -1 when key_path does not end in ".key" or the result does not fit in cap. */
int kh_key_pub_path(const char *key_path, char *out, size_t cap);
/* A program's own key pair kept in files (e.g. the aggregator's audit key): reads
 * key_path ("DIR/ID.key", with its secret) and checks that ID.pub beside it, when
 * present, holds the same public key (a missing ID.pub is written again); when
 * neither file exists, makes a new pair with that id, role and unit and writes both
 * (DIR made with mode 0700 when missing; ID.key mode 0600) and sets *created.
 * Returns 0, or -1 with a reason and what to do in err — among them: ID.pub without
 * ID.key (the secret was lost: a new key would not verify what the old one signed). */
int kh_key_own(const char *key_path, const char *role, const char *unit, kh_key_t *out,
               int *created, char *err, size_t errlen);
/* Hex of the first 8 bytes of the Ed25519 public key, for logs. */
void kh_key_fingerprint(const uint8_t ed_pk[32], char out[17]);

/* ---- the registry ----
 *
 * A kh_keys_t owns its connection to the registry and the statements it asks with,
 * each prepared once (at its first use) and reset after every use, on every path: a
 * statement left stepped would keep its read transaction open, and in WAL mode that
 * connection would go on reading the registry as it was then, never seeing a key
 * registered or revoked since (by kh-admin, through another connection).  Between two
 * calls a handle holds no transaction.  One handle serves one thread (the service's
 * loop: its ZAP handler and its message checks share it). */
typedef struct kh_keys kh_keys_t;

/* Opens (creating) the registry at path.  Returns 0 with *keys set, or -1 with the
 * reason in err (*keys NULL). */
int kh_keys_open(kh_keys_t **keys, const char *path, char *err, size_t errlen);
/* Closes the registry and frees the handle; sets *keys to NULL (which may be NULL). */
void kh_keys_destroy(kh_keys_t **keys);
/* Why the last call on this handle that returned KH_ERR (-1) failed: the database's
 * words, e.g. "no such table: key"; "" before any failure. */
const char *kh_keys_errmsg(kh_keys_t *keys);

/* Registers a public key, valid from valid_from (unix ms) with no end.  Returns 0,
 * or -1 with err (already registered, database error). */
int kh_keys_register(kh_keys_t *keys, const kh_key_t *k, int64_t valid_from, char *err,
                     size_t errlen);
/* Registers the n keys ks[0..n) in one transaction, each valid from valid_from: all of
 * them or none.  Returns 0, or -1 with err naming the key that could not be registered
 * (already registered, database error), nothing registered. */
int kh_keys_register_all(kh_keys_t *keys, const kh_key_t *ks, size_t n, int64_t valid_from,
                         char *err, size_t errlen);
/* Revokes now.  Returns KH_OK (0) revoked, KH_NO (1) no such key, KH_ERR (-1) on a
 * database error (kh_keys_errmsg says which). */
int kh_keys_revoke(kh_keys_t *keys, const char *id);
/* Ends key `old_id` at now + grace_ms (both valid meanwhile) and registers `next`.
 * Returns 0 or -1 with err. */
int kh_keys_rotate(kh_keys_t *keys, const char *old_id, const kh_key_t *next, int64_t grace_ms,
                   char *err, size_t errlen);

/* The registered key whose Curve25519 public key is curve_pk, if it is valid at
 * at_ms (active and within its range): fills id, role and unit and returns KH_OK;
 * KH_NO when unknown, revoked or expired; KH_ERR when the registry could not be read
 * (kh_keys_errmsg says why). */
int kh_keys_by_curve(kh_keys_t *keys, const uint8_t curve_pk[32], int64_t at_ms, char *id,
                     char *role, char *unit);
/* Is key `id` valid at at_ms?  Fills unit (may be NULL).  Returns KH_OK yes, KH_NO no
 * (unknown, revoked or expired), KH_ERR the registry could not be read (kh_keys_errmsg). */
int kh_keys_valid(kh_keys_t *keys, const char *id, int64_t at_ms, char *unit);
/* The Ed25519 public key of `signer` if it is registered for `district` and valid
 * at at_ms.  Returns KH_OK and fills pk; KH_NO no such key (no signer, unknown,
 * another unit's, revoked or expired); KH_ERR the registry could not be read
 * (kh_keys_errmsg). */
int kh_keys_signing_key(kh_keys_t *keys, const char *signer, const char *district,
                        int64_t at_ms, uint8_t pk[32]);

/* Prints the registry, one key a line.  Returns 0 or -1. */
int kh_keys_list(kh_keys_t *keys, FILE *out);

#endif
