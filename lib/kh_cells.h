/*
 * kh_cells.h — turning a validated report into aggregated cells: the aggregator's
 * arithmetic, kept apart from its sockets and shared by the programs that derive
 * cells (kh-aggregator counts with it; `kh-admin verify --totals` recomputes the stored
 * totals with it; tests/unit/test_cells.c drives it).
 *
 * A cell is (orgunit, indicator) → (sum, n).  Commune cells come straight from the
 * report (an option becomes "CODE=OPT" with sum 1); district cells are the sum over
 * the district's communes plus the district-level indicators; a province cell is the
 * sum of its districts' cells (kh_cells_rollup), the district being the one counted
 * revision of each district for the half-year; a score's value is sum / n.  Arrays are
 * sorted by (orgunit, indicator) so two revisions can be compared by a merge.
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

/* Builds the commune cells (`communes`) and district cells (`district`) of report r,
 * both sorted.  Values that do not parse are skipped (the validator refused such
 * reports already).  Returns 0, or -1 when out of memory. */
int kh_cells_from_report(const kh_catalog_t *cat, const Kh__Report *r, kh_cells_t *communes,
                         kh_cells_t *district);
/* Appends to `dst` one cell per indicator of `src` under `orgunit`: the sum of the sums
 * and of the counts of src's cells with that indicator (whatever their orgunit), in
 * indicator order (dst is not re-sorted).  Communes → district, districts → province.
 * Returns 0, or -1 when out of memory. */
int kh_cells_rollup(const kh_cells_t *src, const char *orgunit, kh_cells_t *dst);
/* The province a district belongs to for a half-year ("2020S2"): the parent of the
 * district unit in force at the period's end.  NULL when the period does not parse or
 * the code is no district then. */
const char *kh_cells_province(const kh_catalog_t *cat, const char *district, const char *period);

void kh_cells_free(kh_cells_t *c);
/* Returns 0, or -1 when out of memory. */
int kh_cells_push(kh_cells_t *c, const char *orgunit, const char *indicator, double sum,
                  uint32_t n);
void kh_cells_sort(kh_cells_t *c);
int kh_cell_cmp(const kh_cell_t *a, const kh_cell_t *b);

#endif
