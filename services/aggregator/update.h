/*
 * update.h — one FeedUpdate (proto/kh.proto) built cell by cell: what the ledger stores
 * for each revision counted, and what the feed's snapshot sends.
 *
 * An ag_update_t is a value on the caller's stack, empty when zeroed ({0}), emptied
 * again by ag_update_free.  Cells are added with ag_update_add (or ag_update_diff), each
 * keeping its own copy of its orgunit and indicator; ag_update_finish then makes the
 * message u (cells in the order added), on which the caller sets seq and statuses
 * before packing or sending it.  The caller may read n (cells added); the other fields
 * are the builder's.
 * Invariants: the period given to ag_update_add is borrowed, and must outlive the
 * message; the message's pointers are good from ag_update_finish until the next
 * ag_update_add or ag_update_free (adding may move the cells).
 */
#ifndef KH_AG_UPDATE_H
#define KH_AG_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "kh.pb-c.h"
#include "kh_cells.h"

struct ag_update_cell;                /* a cell and its names (update.c) */

typedef struct {
    Kh__FeedUpdate u;                 /* the message, made by ag_update_finish */
    struct ag_update_cell *cells;     /* the n cells added (room for cap) */
    Kh__Cell **cellp;                 /* u.cells: one pointer per cell */
    size_t n, cap;
} ag_update_t;

/* Adds one cell (deleted: a tombstone, the cell is gone).  Returns 0, or -1 when memory
 * is short (the update unchanged). */
int ag_update_add(ag_update_t *u, const char *period, const char *orgunit,
                  const char *indicator, double sum, uint32_t n, int deleted);

/* Adds `now` cells, and tombstones for `before` cells whose key is gone (both sorted).
 * Returns 0, or -1 when memory is short (the cells added so far stay). */
int ag_update_diff(ag_update_t *u, const char *period, const kh_cells_t *before,
                   const kh_cells_t *now);

/* Initialises the message and fixes the pointers (the cells may have moved while
 * growing).  Call after the last ag_update_add, before setting seq and statuses.
 * Returns 0, or -1 when memory is short. */
int ag_update_finish(ag_update_t *u);

/* Frees what the update holds and empties it. */
void ag_update_free(ag_update_t *u);

#endif
