/*
 * cells.c — report → cells; see cells.h.
 */
#include "cells.h"
#include "kh_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void agg_cells_free(agg_cells_t *c)
{
    free(c->v);
    c->v = NULL;
    c->n = c->cap = 0;
}

int agg_cells_push(agg_cells_t *c, const char *orgunit, const char *indicator, double sum,
                   uint32_t n)
{
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 256;
        agg_cell_t *nv = realloc(c->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        c->v = nv;
        c->cap = nc;
    }
    agg_cell_t *e = &c->v[c->n++];
    kh_strlcpy(e->orgunit, orgunit, sizeof e->orgunit);     /* (snprintf was 15% of the */
    kh_strlcpy(e->indicator, indicator, sizeof e->indicator); /* aggregator's CPU) */
    e->sum = sum;
    e->n = n;
    return 0;
}

int agg_cell_cmp(const agg_cell_t *a, const agg_cell_t *b)
{
    int c = strcmp(a->orgunit, b->orgunit);
    return c ? c : strcmp(a->indicator, b->indicator);
}

static int cmp_void(const void *a, const void *b) { return agg_cell_cmp(a, b); }

void agg_cells_sort(agg_cells_t *c)
{
    if (c->n > 1)
        qsort(c->v, c->n, sizeof *c->v, cmp_void);
}

int agg_cells_from_report(const kh_catalog_t *cat, const Kh__Report *r, agg_cells_t *communes,
                          agg_cells_t *district)
{
    char vi[8], en[8];
    for (size_t i = 0; i < r->n_values; i++) {
        const Kh__Value *val = r->values[i];
        const kh_indicator_t *ind = kh_catalog_indicator(cat, val->indicator);
        kh_value_t pv;
        if (!ind || kh_value_parse(ind, val->raw, &pv, vi, sizeof vi, en, sizeof en) < 0)
            continue;
        char key[KH_CODE_MAX + 24];
        double sum = pv.num;
        if (ind->vtype == KH_VT_OPTION) {
            if (pv.is_empty || pv.option < 0)
                continue;
            snprintf(key, sizeof key, "%s=%s", ind->code, ind->options[pv.option]);
            sum = 1;
        } else {
            if (pv.is_empty)
                continue;
            kh_strlcpy(key, ind->code, sizeof key);
        }
        agg_cells_t *dst = ind->level == KH_LEVEL_DISTRICT ? district : communes;
        if (agg_cells_push(dst, val->orgunit, key, sum, 1) < 0)
            return -1;
    }
    agg_cells_sort(communes);
    /* district totals: group the commune cells by indicator */
    agg_cells_t byind = {0};
    for (size_t i = 0; i < communes->n; i++)
        if (agg_cells_push(&byind, r->district, communes->v[i].indicator, communes->v[i].sum,
                           communes->v[i].n) < 0)
            goto out_oom;
    agg_cells_sort(&byind);
    for (size_t i = 0; i < byind.n;) {
        size_t j = i + 1;
        double sum = byind.v[i].sum;
        uint32_t n = byind.v[i].n;
        for (; j < byind.n && strcmp(byind.v[j].indicator, byind.v[i].indicator) == 0; j++) {
            sum += byind.v[j].sum;
            n += byind.v[j].n;
        }
        if (agg_cells_push(district, r->district, byind.v[i].indicator, sum, n) < 0)
            goto out_oom;
        i = j;
    }
    agg_cells_free(&byind);
    agg_cells_sort(district);
    return 0;
out_oom:
    agg_cells_free(&byind);
    return -1;
}
