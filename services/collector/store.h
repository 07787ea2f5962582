/*
 * store.h — the collector's database (collector.db): its schema, as migrations, and the
 * reads kh-admin makes of it.
 *
 *   report    every revision a node sent, whole (payload), with its district, period and
 *             when it arrived; refused: why the door refused it (NULL: passed on)
 *   receipt   the notifier's receipts remembered for the nodes
 *   outbox_validator, outbox_nodes   (lib/transport/kh_outbox.h; dead_letter:
 *             lib/transport/kh_inbox.h)
 *
 * Invariants: the migrations are append-only (lib/store/kh_db.h): a step released is never
 * edited, a change of schema is one step more at the end.  Only the collector creates or
 * migrates collector.db; kh-admin reads it through the co_store_* reads here, never with
 * SQL of its own.
 */
#ifndef KH_CO_STORE_H
#define KH_CO_STORE_H

#include <sqlite3.h>
#include <stddef.h>

/* Opens (creating) the database at path and brings its schema up to date (the stage's
 * open_db, lib/process/kh_stage.h).  Returns 0, or -1 with the reason in err (*db is
 * then NULL). */
int co_store_open(sqlite3 **db, const char *path, char *err, size_t errlen);

/* The last report the collector stored for each district (the row stored last: rowids grow
 * with each insert), by district, at most `max` rows: a statement to step (the caller
 * finalizes it), one row each:
 *   0 district  1 period  2 report_id  3 revision (integer)  4 received_at (unix ms)
 *   5 refused (integer: 1 the door refused it, 0 passed on)
 * NULL when it does not prepare (sqlite3_errmsg(db) says why). */
sqlite3_stmt *co_store_last_reports(sqlite3 *db, int max);

#endif
