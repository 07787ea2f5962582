/*
 * kh_audit.h — a tamper-evident, append-only log in a SQLite table of the service's own
 * database: every entry carries the hash of the one before, so editing, inserting or
 * removing an entry anywhere but at the very end breaks the chain, and
 * kh_audit_verify names the first broken link; and signed checkpoints kept outside the
 * database anchor the chain, so that cutting entries off the end, or rewriting one and
 * recomputing every later hash (the chain alone has no key: anyone can), is named too.
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
 *            byte length then the bytes (the encoding of lib/security/kh_sign.h).
 *
 * Triggers refuse UPDATE and DELETE on the table (defence in depth: someone who drops
 * them can edit rows, and the chain is what shows it).
 *
 * Checkpoints (kh_audit_anchor, kh_audit_checkpoint).  The service holds an Ed25519 key
 * of its own in files outside the database (the aggregator: [aggregator] audit_key,
 * default %RUN%/keys/aggregator-audit.key; made at its first start, ID.key mode 0600 with ID.pub
 * beside it) and, after every commit that added entries, appends one line to the
 * checkpoint file ([aggregator] audit_checkpoints, default %RUN%/audit.checkpoints;
 * opened O_APPEND|O_CLOEXEC, mode 0640):
 *
 *   {"from":58,"to":73,"at":1773136800123,"hashes":["<hash of 58>",…,"<hash of 73>"],
 *    "sig":"<base64 of the 64-byte Ed25519 signature>"}
 *
 * at most KH_AUDIT_CP_MAX entries a line (more make several lines), and logs
 * audit.checkpoint with from, to and the last hash, so the log stream carries the
 * anchor off the machine.  The signature (crypto_sign_detached) is over
 *
 *   str("KH-AUDIT-CHECKPOINT-v1") i64(from) i64(to) i64(at) u32(to - from + 1)
 *   then for each hash, in seq order: str(hash as 64 lowercase hex digits)
 *
 * (u32 = 4 bytes big-endian; "at" is the machine's clock, unix ms, and is signed too).
 * The entries signed are those committed since the last checkpoint, read back from the
 * database after the commit (a batch rolled back leaves nothing to sign).  The line is
 * written with one write(2) but not fsynced: a crash of the process loses nothing (the
 * next start signs what was committed and not yet signed); a power cut may lose the
 * line with the commits before it (SQLite's synchronous=NORMAL), or keep the line and
 * lose the commits — then the start refuses, as for entries cut off (see
 * kh_audit_anchor).  What no file can show: the last entries cut off together with the
 * last checkpoint lines.  The audit.checkpoint lines of the log stream can: compare the
 * last one with the last checkpoint kh_audit_checkpoints_verify reports.  Limits: whoever
 * holds the secret key can sign anything (keep it 0600, and a copy of the .pub off the
 * machine to check with); entries appended with the sqlite3 shell after the last
 * checkpoint are signed by the next commit or start like the service's own (the chain
 * must still hold, and kh-admin verify --totals compares what is counted).
 */
#ifndef KH_AUDIT_H
#define KH_AUDIT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "kh_keys.h"
#include "kh_result.h"

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

/* ---- reading entries (kh-admin reads a service's log offline) ------------------------ */

/* The first entry of `kind` about `subject` (the aggregator's "revision" entry of
 * "829-2020S2/2"): its seq in *seq and its body in *body (malloc'd: the caller frees
 * it).  Returns KH_OK; KH_NO when there is no such entry (*body NULL); KH_ERR when the
 * log cannot be read — no audit table (a database from before the audit log), or a
 * database error (sqlite3_errmsg says which). */
int kh_audit_first(sqlite3 *db, const char *kind, const char *subject, int64_t *seq,
                   char **body);

/* The same as an SQL expression, for a query that reads it beside its own tables: the
 * body of the first entry of `kind` about `subject` (both SQL expressions, e.g. "'revision'"
 * and "c.report_id||'/'||c.revision"), NULL when there is none. */
#define KH_AUDIT_FIRST_BODY_SQL(kind, subject)                                               \
    "(SELECT body FROM audit WHERE kind=" kind " AND subject=" subject " ORDER BY seq LIMIT 1)"

/* The last entry: its seq and its stored hash (64 hex digits + NUL).  Returns KH_OK;
 * KH_NO when the log is empty; KH_ERR when it cannot be read. */
int kh_audit_last(sqlite3 *db, int64_t *seq, char hash[65]);

/* The hash of an entry as stored (hex, 64 digits + NUL) from its fields. */
void kh_audit_hash(int64_t seq, int64_t at, const char *kind, const char *subject,
                   const char *body, const char *prev, char hex[65]);

/* ---- checkpoints: the chain anchored by a key outside the database ------------------- */

#define KH_AUDIT_CP_VERSION "KH-AUDIT-CHECKPOINT-v1"
#define KH_AUDIT_CP_MAX 10000      /* entries per checkpoint line */

/* The bytes a checkpoint's signature covers (above), in a new malloc'd buffer.
 * hashes[i] is the hash of entry from + i (64 hex digits each).  Returns 0, or -1 (out
 * of memory, to < from, more than KH_AUDIT_CP_MAX). */
int kh_audit_cp_message(int64_t from, int64_t to, int64_t at, const char *const *hashes,
                        uint8_t **buf, size_t *len);

/* Starts anchoring au's log with `key` (its secret is copied, and wiped by
 * kh_audit_destroy): opens the checkpoint file at cp_path (created when missing) and
 * checks it against the database before anything is counted:
 *   - its last line must verify with the key, and the entry it signed last (seq T)
 *     must still be in the database with the hash signed; else -1 (the entries were cut
 *     off or rewritten — or the database restored from an older backup, or the key
 *     replaced): err says which and what to do, and the service must not start;
 *   - entries after T (committed before a crash, before their checkpoint) are signed now;
 *   - no file, or an empty one, while the database holds entries: they are signed now —
 *     logged at info when key_created (the first start with checkpoints), else as the
 *     error audit.reanchor (the file was lost or moved aside: nothing proves these are
 *     the entries signed before; compare with the log stream).
 * A last line cut short by a crash (no newline) is removed first (its entries are
 * signed again).  Returns 0, or -1 with a one-line reason and what to do in err. */
int kh_audit_anchor(kh_audit_t *au, const char *cp_path, const kh_key_t *key, int key_created,
                    char *err, size_t cap);

/* After a commit: signs the entries committed since the last checkpoint (one line per
 * KH_AUDIT_CP_MAX) and logs audit.checkpoint.  Cheap when nothing was added.  Returns
 * the number of entries signed (0: none, or not anchored), or -1 when the file could not
 * be written (logged at most once a minute; a line cut short is removed; the entries are
 * signed at the next call). */
int64_t kh_audit_checkpoint(kh_audit_t *au);

/* What kh_audit_checkpoints_verify saw. */
typedef struct {
    int file_missing;          /* no checkpoint file at cp_path */
    int64_t lines;             /* lines read */
    int64_t good_lines;        /* ... that parse and verify */
    int64_t entries;           /* entries in the database */
    int64_t last_seq;          /* the database's last seq (0: none) */
    int64_t signed_to;         /* the highest seq a good line signed (0: none) */
    int64_t last_at;           /* that line's "at" */
    char last_hash[65];        /* the hash it signed for signed_to */
    int64_t unsigned_from;     /* entries unsigned_from..entries are not signed yet (0: none) */
    int64_t problems;          /* findings reported */
} kh_audit_cp_summary_t;

/* One finding: a sentence naming the entries or the checkpoint line. */
typedef void (*kh_audit_finding_fn)(void *arg, const char *line);

/* Checks the checkpoint file at cp_path against the database with the public key pk:
 * each line must parse and verify (else it is named and its entries are not taken as
 * signed); each hash it lists must equal the stored hash of that entry and the hash
 * recomputed from the entry's fields; every signed entry must still be in the database.
 * Findings, in seq order: an entry rewritten (its hash differs from the one signed) or
 * changed (its fields no longer give the signed hash); the entries after a rewritten one
 * whose contents are as signed but whose hashes were recomputed to hide it ("re-hashed");
 * entries cut off the end, or missing from the middle, with the checkpoint line(s) and
 * time(s) that signed them; entries covered by no line although later ones are (a line
 * removed); none of the entries signed at all.  Entries after the last line are only
 * reported in sum->unsigned_from (written since the last checkpoint: not a finding).
 * The file is read up to its size when the call starts, then the database in one read
 * transaction, so a running service's new lines and entries do not show as findings.
 * A missing file reads as an empty one (sum->file_missing).  Returns 0 (no finding),
 * 1 (findings, each passed to fn), or -1 with err (unreadable file or database). */
int kh_audit_checkpoints_verify(sqlite3 *db, const char *cp_path, const uint8_t pk[32],
                                kh_audit_finding_fn fn, void *arg, kh_audit_cp_summary_t *sum,
                                char *err, size_t cap);

#endif
