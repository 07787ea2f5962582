/*
 * store.h — the aggregator's database (aggregator.db): its schema, as migrations, and
 * the statements the modules share, prepared once.
 *
 *   accepted  every accepted revision, its verdict whole (the history keeps them all)
 *   rejected  every rejected revision, kept for the history
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

/* Opens (creating) the database at path and brings its schema up to date.  Returns 0,
 * or -1 with the reason in err (*db is then NULL). */
int ag_store_open(sqlite3 **db, const char *path, char *err, size_t errlen);

/* Prepares a's statements (a->st_*) on a->db.  Returns 0, or -1 when one does not
 * prepare (logged by kh_db_prepare; those prepared stay for ag_store_finalize). */
int ag_store_prepare(agg_t *a);

/* Finalizes a's statements (those prepared; NULL ones are skipped). */
void ag_store_finalize(agg_t *a);

#endif
