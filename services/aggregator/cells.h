/*
 * cells.h — turning a validated report into aggregated cells, the aggregator's
 * arithmetic kept apart from its sockets so unit tests can drive it.
 *
 * A cell is (orgunit, indicator) → (sum, n).  Commune cells come straight from the
 * report (an option becomes "CODE=OPT" with sum 1); district cells are the sum over
 * the district's communes plus the district-level indicators; a score's value is
 * sum / n.  Arrays are sorted by (orgunit, indicator) so two revisions can be
 * compared by a merge.
 */
#ifndef KH_AGG_CELLS_H
#define KH_AGG_CELLS_H

#include <stddef.h>
#include <stdint.h>

#include "kh.pb-c.h"
#include "kh_catalog.h"

typedef struct {
    char orgunit[KH_CODE_MAX];
    char indicator[KH_CODE_MAX + 24];
    double sum;
    uint32_t n;
} agg_cell_t;

typedef struct {
    agg_cell_t *v;
    size_t n, cap;
} agg_cells_t;

/* Builds the commune cells (`communes`) and district cells (`district`) of report r,
 * both sorted.  Values that do not parse are skipped (the validator refused such
 * reports already).  Returns 0, or -1 when out of memory. */
int agg_cells_from_report(const kh_catalog_t *cat, const Kh__Report *r, agg_cells_t *communes,
                          agg_cells_t *district);
void agg_cells_free(agg_cells_t *c);
int agg_cells_push(agg_cells_t *c, const char *orgunit, const char *indicator, double sum,
                   uint32_t n);
void agg_cells_sort(agg_cells_t *c);
int agg_cell_cmp(const agg_cell_t *a, const agg_cell_t *b);

#endif
