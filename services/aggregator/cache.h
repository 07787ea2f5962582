/*
 * cache.h — the cells of the counted revisions, kept in memory so that counting the next
 * revision of a reporting unit and half-year need not decode the stored verdict of the
 * one it replaces (ag_ledger_load_cells: about a fifth of the aggregator's time when it
 * decoded every time).
 *
 * One entry per report id (a report id names one reporting unit and half-year), holding
 * the revision and its cells (kh_cells_from_report's below and own, packed: about 36
 * bytes a cell instead of kh_cell_t's 168).  The ledger puts the new revision's cells
 * when it has counted it, and asks for the old revision's before; a miss (another
 * revision, an entry evicted or dropped, a restart) is no error: the caller decodes the
 * stored verdict, as it did before there was a cache.
 *
 * Invariants: an entry never says more than the database does.  The cells of a stored
 * revision never change (its verdict is stored once and the catalogue is loaded once per
 * process); what can be undone is the count that put them:
 *   - a whole transaction rolled back (the inbox's batch, a replayed dead letter, an
 *     implicit rollback on a disk error): every entry put since the last
 *     ag_cache_committed is dropped (SQLite's rollback hook, set by ag_cache_new; the
 *     cache owns that hook of the connection);
 *   - one message undone to its savepoint (the inbox's dead letter): the caller drops
 *     that report's entry (ag_cache_drop) when its apply fails.
 * Bound: at most AG_CACHE_BYTES of packed cells and AG_CACHE_SLOTS entries; the least
 * recently used entries go first.  A NULL cache is valid everywhere: nothing is kept and
 * every ag_cache_get misses.
 */
#ifndef KH_AG_CACHE_H
#define KH_AG_CACHE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "kh_cells.h"

/* 4 MiB: the counted revisions of ~230 districts of 16 communes (~490 cells, ~18 KB
 * packed each): a province's reporting units for two half-years many times over */
#define AG_CACHE_BYTES (4u << 20)
/* entries (fixed, ~100 bytes each): as many districts, counting a unit with few cells */
#define AG_CACHE_SLOTS 1024

typedef struct ag_cache ag_cache_t;

/* A new, empty cache for the counts written through db (whose rollback hook it sets).
 * Returns NULL when out of memory. */
ag_cache_t *ag_cache_new(sqlite3 *db);
/* Frees the cache and clears db's rollback hook; sets *c to NULL. */
void ag_cache_destroy(ag_cache_t **c);

/* The cells of (report_id, revision) into below and own (both empty on entry, the
 * caller's to free with kh_cells_free).  Returns KH_OK; KH_NO when not kept (another
 * revision, or none); KH_ERR when out of memory (below and own are left empty). */
int ag_cache_get(ag_cache_t *c, const char *report_id, int64_t revision, kh_cells_t *below,
                 kh_cells_t *own);
/* Keeps (report_id, revision) as counted with these cells (copied), replacing what the
 * entry of report_id held.  Called inside the transaction that counts it.  A revision
 * whose cells do not fit in the bound, or memory short, leaves no entry for report_id. */
void ag_cache_put(ag_cache_t *c, const char *report_id, int64_t revision, const kh_cells_t *below,
                  const kh_cells_t *own);
/* Forgets report_id's entry (its count was undone to a savepoint). */
void ag_cache_drop(ag_cache_t *c, const char *report_id);
/* The transaction that made the entries put since the last call is committed: a later
 * rollback keeps them. */
void ag_cache_committed(ag_cache_t *c);
/* Bytes of packed cells held (at most AG_CACHE_BYTES), and entries held. */
size_t ag_cache_bytes(const ag_cache_t *c);
size_t ag_cache_entries(const ag_cache_t *c);

#endif
