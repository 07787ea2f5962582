/*
 * kh_cells.c — report → cells, reporting units → their ancestors; see kh_cells.h.
 */
#include "kh_cells.h"
#include "kh_util.h"
#include "kh_value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kh_cells_free(kh_cells_t *c)
{
    free(c->v);
    c->v = NULL;
    c->n = c->cap = 0;
}

int kh_cells_push(kh_cells_t *c, const char *orgunit, const char *indicator, double sum,
                   uint32_t n)
{
    if (KH_GROW(c->v, c->n, c->cap, 256) < 0)
        return -1;
    kh_cell_t *e = &c->v[c->n++];
    kh_strlcpy(e->orgunit, orgunit, sizeof e->orgunit);     /* (snprintf was 15% of the */
    kh_strlcpy(e->indicator, indicator, sizeof e->indicator); /* aggregator's CPU) */
    e->sum = sum;
    e->n = n;
    return 0;
}

int kh_cell_cmp(const kh_cell_t *a, const kh_cell_t *b)
{
    int c = strcmp(a->orgunit, b->orgunit);
    return c ? c : strcmp(a->indicator, b->indicator);
}

static int cmp_void(const void *a, const void *b) { return kh_cell_cmp(a, b); }

void kh_cells_sort(kh_cells_t *c)
{
    if (c->n > 1)
        qsort(c->v, c->n, sizeof *c->v, cmp_void);
}

/* Sorts c and folds cells of one (orgunit, indicator) into one, sums and counts added. */
static void merge_equal(kh_cells_t *c)
{
    kh_cells_sort(c);
    size_t w = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (w > 0 && kh_cell_cmp(&c->v[w - 1], &c->v[i]) == 0) {
            c->v[w - 1].sum += c->v[i].sum;
            c->v[w - 1].n += c->v[i].n;
        } else {
            c->v[w++] = c->v[i];
        }
    }
    c->n = w;
}

int kh_cells_from_report(const kh_catalog_t *cat, const Kh__Report *r, kh_cells_t *below,
                         kh_cells_t *own)
{
    kh_period_t p;
    if (!r->period || !r->district || kh_period_parse(r->period, &p) < 0)
        return 0;           /* nothing can be placed: the validator refused such reports */
    int32_t end = kh_period_end(&p);
    const kh_catalog_t *prog = kh_catalog_for(cat, end);
    if (!prog)
        return 0;           /* no programme then: the validator refused such reports */
    kh_cells_t all = {0};
    char vi[8], en[8];
    for (size_t i = 0; i < r->n_values; i++) {
        const Kh__Value *val = r->values[i];
        const kh_indicator_t *ind = kh_catalog_indicator(prog, val->indicator);
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
        /* the unit and each unit between it and the reporting unit get the value */
        const kh_unit_t *u = kh_catalog_unit_on(cat, val->orgunit, end);
        const kh_unit_t *path[KH_MAX_LEVELS];
        size_t np = 0;
        while (u && strcmp(u->code, r->district) != 0 && np < KH_MAX_LEVELS) {
            path[np++] = u;
            u = kh_catalog_parent_on(cat, u, end);
        }
        if (!u || strcmp(u->code, r->district) != 0)
            continue;       /* not under the reporting unit: refused by the validator */
        for (size_t k = 0; k < np; k++)
            if (kh_cells_push(below, path[k]->code, key, sum, 1) < 0)
                goto out_oom;
        if (kh_cells_push(&all, r->district, key, sum, 1) < 0)
            goto out_oom;
    }
    merge_equal(below);
    if (kh_cells_rollup(&all, r->district, own) < 0)
        goto out_oom;
    kh_cells_free(&all);
    kh_cells_sort(own);
    return 0;
out_oom:
    kh_cells_free(&all);
    return -1;
}

int kh_cells_rollup(const kh_cells_t *src, const char *orgunit, kh_cells_t *dst)
{
    kh_cells_t byind = {0};
    for (size_t i = 0; i < src->n; i++)
        if (kh_cells_push(&byind, orgunit, src->v[i].indicator, src->v[i].sum, src->v[i].n) < 0)
            goto out_oom;
    kh_cells_sort(&byind);
    for (size_t i = 0; i < byind.n;) {
        size_t j = i + 1;
        double sum = byind.v[i].sum;
        uint32_t n = byind.v[i].n;
        for (; j < byind.n && strcmp(byind.v[j].indicator, byind.v[i].indicator) == 0; j++) {
            sum += byind.v[j].sum;
            n += byind.v[j].n;
        }
        if (kh_cells_push(dst, orgunit, byind.v[i].indicator, sum, n) < 0)
            goto out_oom;
        i = j;
    }
    kh_cells_free(&byind);
    return 0;
out_oom:
    kh_cells_free(&byind);
    return -1;
}

int kh_cells_ancestors(const kh_catalog_t *cat, const char *unit, const char *period,
                       const kh_unit_t **out, size_t cap)
{
    kh_period_t p;
    if (!cat || !unit || !period || kh_period_parse(period, &p) < 0)
        return -1;
    int32_t end = kh_period_end(&p);
    const kh_unit_t *u = kh_catalog_unit_on(cat, unit, end);
    if (!u)
        return -1;
    size_t n = 0;
    while ((u = kh_catalog_parent_on(cat, u, end)) != NULL && n < KH_MAX_LEVELS) {
        if (n < cap)
            out[n] = u;
        n++;
    }
    return (int)n;
}
