/*
 * kh_audit.h — a tamper-evident, append-only log in a SQLite table of the service's own
 * database: every entry carries the hash of the one before, so editing, inserting or
 * removing an entry anywhere but at the very end breaks the chain, and
 * kh_audit_verify names the first broken link.
 *
 *   audit(seq INTEGER PRIMARY KEY, at INTEGER, kind TEXT, subject TEXT, body TEXT,
 *         prev TEXT, hash TEXT)
 *
 *   seq      1, 2, 3, … (no gaps)
 *   at       unix ms when the entry was written
 *   kind     what the entry is about ("revision", "value", …)
 *   subject  the thing it is about ("829-2020S2/2", "2020S2/829/HO.TONG", …)
 *   body     free text, by convention a JSON object
 *   prev     the hash of entry seq-1; 64 zeros for the first entry
 *   hash     lowercase hex SHA-256 of
 *               str("KH-AUDIT-v1") i64(seq) i64(at) str(kind) str(subject) str(body)
 *               str(prev)
 *            with i64 = 8 bytes big-endian two's complement, str(s) = 4-byte big-endian
 *            byte length then the bytes (the encoding of lib/kh_sign.h).
 *
 * Triggers refuse UPDATE and DELETE on the table (defence in depth: someone who drops
 * them can edit rows, and the chain is what shows it).  The chain cannot show the last
 * entries being cut off: compare kh_audit_count (or the last hash) with a copy kept
 * elsewhere for that.
 */
#ifndef KH_AUDIT_H
#define KH_AUDIT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* For a service's migrations (one step: the table and its two triggers). */
#define KH_AUDIT_SCHEMA                                                                      \
    "CREATE TABLE audit (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL,"  \
    " subject TEXT NOT NULL, body TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);"   \
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"                                  \
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused'); END;"           \
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"                                  \
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused'); END;"

#define KH_AUDIT_ZERO "0000000000000000000000000000000000000000000000000000000000000000"

/* Appends one entry.  Call inside the caller's transaction (the entry commits or rolls
 * back with what it records).  Prepares its statements on each call: for many appends
 * use kh_audit_new / kh_audit_add.  Returns 0 or -1 (logged). */
int kh_audit_append(sqlite3 *db, const char *kind, const char *subject, const char *body);

/* The same with statements prepared once (a service appending on every message). */
typedef struct kh_audit kh_audit_t;
kh_audit_t *kh_audit_new(sqlite3 *db);          /* NULL after logging */
int kh_audit_add(kh_audit_t *au, const char *kind, const char *subject, const char *body);
void kh_audit_destroy(kh_audit_t **au);

/* Checks every entry in seq order.  Returns 0 when the chain is intact, 1 when it is
 * broken — *first_broken is the seq of the first entry whose hash does not match its
 * contents or whose prev is not the hash of the entry before (why says which, in one
 * line) —, or -1 on a database error (why says it). */
int kh_audit_verify(sqlite3 *db, int64_t *first_broken, char *why, size_t cap);

/* Number of entries, or -1. */
int64_t kh_audit_count(sqlite3 *db);

/* The hash of an entry as stored (hex, 64 digits + NUL) from its fields. */
void kh_audit_hash(int64_t seq, int64_t at, const char *kind, const char *subject,
                   const char *body, const char *prev, char hex[65]);

#endif
