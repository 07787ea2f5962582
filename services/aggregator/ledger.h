/*
 * ledger.h — what the aggregator keeps and counts: a rejected revision kept for the
 * history, and an accepted one made the counted revision of its reporting unit and
 * half-year.
 *
 * Counting a revision (ag_ledger_count) replaces the reporting unit's own rows of the
 * total table (the cells of the unit and of the units below it) by the new revision's,
 * and moves each ancestor's cells (the province, and any level between) by the
 * difference new − old, indicator by indicator — about 40 upserts, not a recount.  All
 * of it, the feed update that tells it (one FeedUpdate, its seq the feed row's), the
 * counted row and the audit entries of every cell changed go into the caller's batch
 * transaction.
 * Invariants: after each count, an ancestor's cell is the sum over the reporting units
 * under it of their counted revisions' cells (kh-admin verify --totals recomputes it);
 * a cell whose n falls to 0 is sent as a tombstone; the feed update carries the changes
 * only: each cell of the new revision that is new or differs from the old one's (sum or
 * n), a tombstone for each cell of the old one that is gone, and the ancestors' cells
 * that moved.  (The old cells are recomputed with the catalogue loaded now; a catalogue
 * changed between two revisions may leave a subscriber's copy of an unchanged cell as
 * the older catalogue made it until a snapshot.)
 */
#ifndef KH_AG_LEDGER_H
#define KH_AG_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "kh.pb-c.h"
#include "kh_cells.h"

#define AG_LEDGER_WARNINGS_KEPT 200   /* warnings carried on the feed per report */

/* Loads the cells of the stored accepted revision (report_id, revision): those of the
 * units below the reporting unit and its own (kh_cells_from_report), from the cache
 * (cache.h) when it holds them, else from the stored verdict.  Returns 0, or -1 when that
 * revision is not stored or does not decode, or memory is short. */
int ag_ledger_load_cells(agg_t *a, const char *report_id, int64_t revision,
                         kh_cells_t *communes, kh_cells_t *district);

/* Makes v's report the counted revision: district cells replaced, province moved by the
 * difference, one feed update stored, the counted row written with the warnings (at most
 * AG_LEDGER_WARNINGS_KEPT of them carried).  old_id/old_rev: the revision counted until now
 * (old_id NULL: none).  Returns the feed seq, or 0 on error (a database error is logged
 * as db.error; the caller fails the batch). */
uint64_t ag_ledger_count(agg_t *a, const Kh__Verdict *v, const char *old_id, int64_t old_rev,
                         Kh__Finding **warn, size_t n_warn);

/* A rejected revision: kept for the history (payload: the verdict as stored), nothing
 * counted; an audit entry when it is new (reason: why the aggregator refused it, or
 * NULL).  Returns KH_APPLY_NEW, KH_APPLY_DUP (kept already) or KH_APPLY_FAIL. */
int ag_ledger_reject(agg_t *a, const Kh__Verdict *v, const void *payload, size_t len,
                     const char *reason);

#endif
