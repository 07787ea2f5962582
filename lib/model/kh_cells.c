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

/* ---- kh_cells_from_report ------------------------------------------------------------
 *
 * A report's cells are sorted by (orgunit, indicator) strings; comparing ~1,000 pairs of
 * strings per sort was a tenth of the aggregator's time.  A report names few units and
 * keys (a district: ~17 and ~40), so each name is kept once (names_t), the names are
 * ranked once in strcmp order, and the cells sorted by their ranks; equal cells are
 * folded in the order the report gave them, as the stable sort of kh_cells_sort did.
 * The unit path of a value is looked up once per run of values of one orgunit. */

#define NAME_MAX_ (KH_CODE_MAX + 24)   /* as kh_cell_t's indicator, the longer name */

typedef struct {
    char (*name)[NAME_MAX_];           /* the names, in the order first seen */
    size_t n, cap;
    uint32_t *slot;                    /* open addressing: index + 1, 0 empty */
    size_t nslot;
    uint32_t *rank;                    /* each name's place in strcmp order (rank_names) */
    uint32_t *byrank;                  /* the name of each place */
} names_t;

/* A value of the report, placed: its unit and key (names' ids, then ranks). */
typedef struct {
    uint32_t org, key, seq;
    double sum;
} tcell_t;

static void names_free(names_t *t)
{
    free(t->name);
    free(t->slot);
    free(t->rank);
    free(t->byrank);
}

/* The id of name s (shorter than NAME_MAX_: a unit's code or a key made in a buffer of
 * that size), added when new.  Returns it, or -1 when out of memory. */
static int64_t names_id(names_t *t, const char *s)
{
    if (2 * (t->n + 1) > t->nslot) {
        size_t ns = t->nslot ? 2 * t->nslot : 64;
        uint32_t *slot = calloc(ns, sizeof *slot);
        if (!slot)
            return -1;
        for (size_t i = 0; i < t->n; i++) {
            size_t j = kh_hash_str(t->name[i]) & (ns - 1);
            while (slot[j])
                j = (j + 1) & (ns - 1);
            slot[j] = (uint32_t)i + 1;
        }
        free(t->slot);
        t->slot = slot;
        t->nslot = ns;
    }
    size_t j = kh_hash_str(s) & (t->nslot - 1);
    for (; t->slot[j]; j = (j + 1) & (t->nslot - 1))
        if (strcmp(t->name[t->slot[j] - 1], s) == 0)
            return t->slot[j] - 1;
    if (t->n >= UINT32_MAX - 1 || KH_GROW(t->name, t->n, t->cap, 64) < 0)
        return -1;
    kh_strlcpy(t->name[t->n], s, sizeof *t->name);
    t->slot[j] = (uint32_t)++t->n;
    return (int64_t)t->n - 1;
}

static int cmp_name(const void *a, const void *b, void *arg)
{
    const names_t *t = arg;
    return strcmp(t->name[*(const uint32_t *)a], t->name[*(const uint32_t *)b]);
}

/* Fills t->rank and t->byrank.  Returns 0, or -1 when out of memory. */
static int rank_names(names_t *t)
{
    size_t n = t->n ? t->n : 1;
    if (!(t->rank = malloc(n * sizeof *t->rank)) || !(t->byrank = malloc(n * sizeof *t->byrank)))
        return -1;
    for (size_t i = 0; i < t->n; i++)
        t->byrank[i] = (uint32_t)i;
    qsort_r(t->byrank, t->n, sizeof *t->byrank, cmp_name, t);
    for (size_t i = 0; i < t->n; i++)
        t->rank[t->byrank[i]] = (uint32_t)i;
    return 0;
}

static int cmp_tcell(const void *pa, const void *pb)
{
    const tcell_t *a = pa, *b = pb;
    if (a->org != b->org)
        return a->org < b->org ? -1 : 1;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
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
    int rc = -1;
    names_t orgs = {0}, keys = {0};
    tcell_t *bc = NULL, *oc = NULL;    /* one per value and unit below; one per value */
    size_t nb = 0, cb = 0, no = 0, co = 0;
    double *sum = NULL;
    uint32_t *cnt = NULL;
    /* the path of the last orgunit seen: its units' ids, up to the reporting unit */
    const char *last = NULL;
    uint32_t path[KH_MAX_LEVELS];
    size_t np = 0;
    int under = 0;
    char vi[8], en[8];
    for (size_t i = 0; i < r->n_values; i++) {
        const Kh__Value *val = r->values[i];
        const kh_indicator_t *ind = kh_catalog_indicator(prog, val->indicator);
        kh_value_t pv;
        if (!ind || kh_value_parse(ind, val->raw, &pv, vi, sizeof vi, en, sizeof en) < 0)
            continue;
        char key[NAME_MAX_];
        double v = pv.num;
        if (ind->vtype == KH_VT_OPTION) {
            if (pv.is_empty || pv.option < 0)
                continue;
            snprintf(key, sizeof key, "%s=%s", ind->code, ind->options[pv.option]);
            v = 1;
        } else {
            if (pv.is_empty)
                continue;
            kh_strlcpy(key, ind->code, sizeof key);
        }
        /* the unit and each unit between it and the reporting unit get the value */
        if (!last || strcmp(last, val->orgunit) != 0) {
            last = val->orgunit;
            np = 0;
            const kh_unit_t *u = kh_catalog_unit_on(cat, val->orgunit, end);
            while (u && strcmp(u->code, r->district) != 0 && np < KH_MAX_LEVELS) {
                int64_t id = names_id(&orgs, u->code);
                if (id < 0)
                    goto out;
                path[np++] = (uint32_t)id;
                u = kh_catalog_parent_on(cat, u, end);
            }
            under = u && strcmp(u->code, r->district) == 0;
        }
        if (!under)
            continue;       /* not under the reporting unit: refused by the validator */
        int64_t kid = names_id(&keys, key);
        if (kid < 0 || KH_GROW(oc, no, co, 256) < 0)
            goto out;
        oc[no++] = (tcell_t){.key = (uint32_t)kid, .sum = v};
        for (size_t k = 0; k < np; k++) {
            if (KH_GROW(bc, nb, cb, 512) < 0)
                goto out;
            bc[nb] = (tcell_t){.org = path[k], .key = (uint32_t)kid, .seq = (uint32_t)nb,
                               .sum = v};
            nb++;
        }
    }
    if (rank_names(&orgs) < 0 || rank_names(&keys) < 0)
        goto out;
    /* below: sorted by (orgunit, key), equal cells folded in the report's order */
    for (size_t i = 0; i < nb; i++) {
        bc[i].org = orgs.rank[bc[i].org];
        bc[i].key = keys.rank[bc[i].key];
    }
    if (nb > 1)                  /* (an empty report has no array: qsort wants one) */
        qsort(bc, nb, sizeof *bc, cmp_tcell);
    /* (cells the caller had: these are folded with them, in one list, by merge_equal) */
    size_t had = below->n;
    for (size_t i = 0; i < nb;) {
        double s = bc[i].sum;
        uint32_t n = 1;
        size_t j = i + 1;
        for (; !had && j < nb && bc[j].org == bc[i].org && bc[j].key == bc[i].key; j++, n++)
            s += bc[j].sum;
        if (kh_cells_push(below, orgs.name[orgs.byrank[bc[i].org]],
                          keys.name[keys.byrank[bc[i].key]], s, n) < 0)
            goto out;
        i = j;
    }
    if (had)
        merge_equal(below);
    /* own: one cell per key, in key order, its values added in the report's order */
    if (!(sum = calloc(keys.n ? keys.n : 1, sizeof *sum)) ||
        !(cnt = calloc(keys.n ? keys.n : 1, sizeof *cnt)))
        goto out;
    for (size_t i = 0; i < no; i++) {
        uint32_t k = oc[i].key;
        sum[k] = cnt[k]++ ? sum[k] + oc[i].sum : oc[i].sum;
    }
    had = own->n;
    for (size_t rk = 0; rk < keys.n; rk++) {
        uint32_t k = keys.byrank[rk];
        if (cnt[k] && kh_cells_push(own, r->district, keys.name[k], sum[k], cnt[k]) < 0)
            goto out;
    }
    if (had)
        kh_cells_sort(own);
    rc = 0;
out:
    names_free(&orgs);
    names_free(&keys);
    free(bc);
    free(oc);
    free(sum);
    free(cnt);
    return rc;
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
