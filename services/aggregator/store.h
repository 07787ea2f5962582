/*
 * store.h — the aggregator's database (aggregator.db): its schema, as migrations, and
 * the statements the modules share, prepared once.
 *
 *   accepted  every accepted revision, its verdict whole (the history keeps them all),
 *             in its stored form (ag_store_pack: compressed)
 *   rejected  every rejected revision, kept for the history (the same form)
 *   counted   per (reporting unit, half-year) the revision counted now, its warnings and
 *             the feed seq that counted it
 *   total     every cell counted: the reporting units' own cells and their ancestors'
 *             sums, per (period, orgunit, indicator)
 *   feed      the FeedUpdates, by seq (served again on request)
 *   outbox_notifier, audit   (lib/transport/kh_outbox.h, lib/security/kh_audit.h; dead_letter: lib/transport/kh_inbox.h)
 *
 * Invariants: the migrations are append-only (lib/store/kh_db.h): a step released is never
 * edited, a change of schema is one step more at the end.
 */
#ifndef KH_AG_STORE_H
#define KH_AG_STORE_H

#include <sqlite3.h>
#include <stddef.h>

#include "agg.h"
#include "kh.pb-c.h"
#include "kh_result.h"

/* Opens (creating) the database at path and brings its schema up to date.  Returns 0,
 * or -1 with the reason in err (*db is then NULL). */
int ag_store_open(sqlite3 **db, const char *path, char *err, size_t errlen);

/* Prepares a's statements (a->st_*) on a->db.  Returns 0, or -1 when one does not
 * prepare (logged by kh_db_prepare; those prepared stay for ag_store_finalize). */
int ag_store_prepare(agg_t *a);

/* Finalizes a's statements (those prepared; NULL ones are skipped). */
void ag_store_finalize(agg_t *a);

/* ---- the stored form of a verdict ---------------------------------------------------------
 * accepted.verdict and rejected.verdict hold the VERDICT message as it came, compressed
 * with zstd (level 1: a district's report of ~470 values goes from ~15 KB to ~4 KB; the
 * aggregator keeps every revision, so this is most of its disk).  A blob that does not
 * begin with zstd's frame magic is the message itself (a database written before the
 * compression): both read back alike. */
#define AG_VERDICT_MAX_BYTES ((size_t)1 << 30)   /* what a stored verdict may unpack to */
/* msg (len bytes) in its stored form: *out malloc'd (the caller frees it).  Returns 0, or
 * -1 when memory is short. */
int ag_store_pack(const void *msg, size_t len, uint8_t **out, size_t *outlen);
/* A stored verdict decoded (the caller frees it with kh__verdict__free_unpacked), or NULL
 * when the blob does not decompress (or would exceed AG_VERDICT_MAX_BYTES) or decode. */
Kh__Verdict *ag_store_unpack(const void *blob, size_t len);

/* ---- reads on an aggregator.db opened by someone else (kh-admin) ------------------------
 * Each takes the database, not agg_t: kh-admin opens the file read-only and links this
 * module.  KH_ERR: the database cannot be read (sqlite3_errmsg(db) says why). */

/* What became of report_id/rev at the aggregator: *stage is "counted" (the revision
 * counted now), "rejected", "superseded" (accepted, then another revision of the unit and
 * half-year was counted) or "accepted" (not counted, and none later).  Returns KH_OK;
 * KH_NO when the aggregator holds no such revision (at the validator, or on its way);
 * KH_ERR.  *stage is left as it was unless KH_OK. */
int ag_store_stage_of(sqlite3 *db, const char *report_id, int64_t rev, const char **stage);

/* The revision of report_id counted now, in *rev.  Returns KH_OK; KH_NO when none is
 * counted; KH_ERR. */
int ag_store_counted_revision(sqlite3 *db, const char *report_id, int64_t *rev);

/* The stored verdict of report_id/rev, accepted or rejected: *accepted 1 or 0, *v the
 * verdict decoded (ag_store_unpack) (the caller frees it with kh__verdict__free_unpacked), or NULL when the
 * stored bytes do not decode.  Returns KH_OK; KH_NO when there is no such revision (*v
 * NULL); KH_ERR. */
int ag_store_verdict(sqlite3 *db, const char *report_id, int64_t rev, Kh__Verdict **v,
                     int *accepted);

/* Every counted revision, by (period, district): a statement to step (the caller
 * finalizes it), one row each:
 *   0 district  1 period  2 report_id  3 revision (integer)
 *   4 the accepted revision's verdict (blob, its stored form: ag_store_unpack), NULL when
 *     the accepted table holds no such revision
 *   5 the body of the audit log's "revision" entry for report_id/revision (text, JSON:
 *     services/aggregator/audit.c), NULL when there is none
 * NULL when it does not prepare. */
sqlite3_stmt *ag_store_counted_all(sqlite3 *db);

/* Every stored total, by (period, orgunit, indicator): a statement to step (the caller
 * finalizes it), one row each: 0 period  1 orgunit  2 indicator  3 sum (real)  4 n
 * (integer).  NULL when it does not prepare. */
sqlite3_stmt *ag_store_totals_all(sqlite3 *db);

#endif
