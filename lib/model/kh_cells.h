/*
 * kh_cells.h — turning a validated report into aggregated cells: the aggregator's
 * arithmetic, kept apart from its sockets and shared by the programs that derive
 * cells (kh-aggregator counts with it; `kh-admin verify --totals` recomputes the stored
 * totals with it; tests/unit/test_cells.c drives it).
 *
 * A cell is (orgunit, indicator) → (sum, n).  Each unit's cells come straight from the
 * report (an option becomes "CODE=OPT" with sum 1); a unit with units below it adds
 * theirs to its own (the reporting unit's cells are every value of its subtree, by
 * indicator); each ancestor of the reporting unit (the province, and any level between)
 * is the sum of the cells of the reporting units under it (kh_cells_rollup), each one's
 * counted revision for the half-year; a score's value is sum / n.  Arrays are sorted
 * by (orgunit, indicator) so two revisions can be compared by a merge.
 */
#ifndef KH_CELLS_H
#define KH_CELLS_H

#include <stddef.h>
#include <stdint.h>

#include "kh.pb-c.h"
#include "kh_catalog.h"

typedef struct {
    char orgunit[KH_CODE_MAX];
    char indicator[KH_CODE_MAX + 24];
    double sum;
    uint32_t n;
} kh_cell_t;

typedef struct {
    kh_cell_t *v;
    size_t n, cap;
} kh_cells_t;

/* Builds the cells of report r at the end of its period: `below` for every unit under
 * the reporting unit (r->district) that has a value or a unit with values below it,
 * `own` for the reporting unit itself; both sorted.  Values that do not parse, or whose
 * unit is not under the reporting unit then, are skipped (the validator refused such
 * reports already).  Returns 0, or -1 when out of memory. */
int kh_cells_from_report(const kh_catalog_t *cat, const Kh__Report *r, kh_cells_t *below,
                         kh_cells_t *own);
/* Appends to `dst` one cell per indicator of `src` under `orgunit`: the sum of the sums
 * and of the counts of src's cells with that indicator (whatever their orgunit), in
 * indicator order (dst is not re-sorted).  Reporting units → an ancestor.
 * Returns 0, or -1 when out of memory. */
int kh_cells_rollup(const kh_cells_t *src, const char *orgunit, kh_cells_t *dst);
/* The ancestors of reporting unit `unit` for a half-year ("2020S2"): its parent, the
 * parent's parent, … up to the root, as in force at the period's end.  Fills out[] up
 * to cap and returns the count (0 for the root itself), or -1 when the period does not
 * parse or the unit is not in force then. */
int kh_cells_ancestors(const kh_catalog_t *cat, const char *unit, const char *period,
                       const kh_unit_t **out, size_t cap);
void kh_cells_free(kh_cells_t *c);
/* Returns 0, or -1 when out of memory. */
int kh_cells_push(kh_cells_t *c, const char *orgunit, const char *indicator, double sum,
                  uint32_t n);
void kh_cells_sort(kh_cells_t *c);
int kh_cell_cmp(const kh_cell_t *a, const kh_cell_t *b);

#endif
