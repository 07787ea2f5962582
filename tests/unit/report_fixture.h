/*
 * report_fixture.h — reports built by hand in the unit tests, and the findings read back.
 * Included by the tests that validate reports (test_catalog, test_tree, test_wide) so
 * the builders live once.  Every string and struct is malloc'ed here and freed by
 * report_free: protobuf-c never owns them.  Include after <cmocka.h>.
 */
#ifndef KH_TEST_REPORT_FIXTURE_H
#define KH_TEST_REPORT_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_catalog.h"
#include "kh_findings.h"
#include "kh.pb-c.h"

/* A report of `unit` for `period`, revision 1, id "<unit>-<period>", no values. */
static inline Kh__Report *report_new(const char *unit, const char *period)
{
    Kh__Report *r = calloc(1, sizeof *r);
    assert_non_null(r);
    kh__report__init(r);
    r->district = strdup(unit);
    r->period = strdup(period);
    char id[64];
    snprintf(id, sizeof id, "%s-%s", unit, period);
    r->report_id = strdup(id);
    r->revision = 1;
    return r;
}

/* One value more; its line is the next of the file (line 1 is the header). */
static inline void report_add(Kh__Report *r, const char *org, const char *ind, const char *raw)
{
    Kh__Value **nv = realloc(r->values, (r->n_values + 1) * sizeof *nv);
    assert_non_null(nv);
    r->values = nv;
    Kh__Value *v = calloc(1, sizeof *v);
    assert_non_null(v);
    kh__value__init(v);
    v->orgunit = strdup(org);
    v->indicator = strdup(ind);
    v->raw = strdup(raw);
    v->line = (uint32_t)r->n_values + 2;
    r->values[r->n_values++] = v;
}

static inline void report_value_free(Kh__Value *v)
{
    free(v->orgunit);
    free(v->indicator);
    free(v->raw);
    free(v);
}

static inline void report_free(Kh__Report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_values; i++)
        report_value_free(r->values[i]);
    free(r->values);
    free(r->district);
    free(r->period);
    free(r->report_id);
    free(r);
}

/* The first finding with `code`, or NULL. */
static inline const Kh__Finding *find_code(const kh_findings_t *f, const char *code)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->items[i]->code, code) == 0)
            return f->items[i];
    return NULL;
}

static inline size_t count_code(const kh_findings_t *f, const char *code)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += strcmp(f->items[i]->code, code) == 0;
    return n;
}

/* The findings, for a failing test's output (at most 30). */
static inline void dump(const kh_findings_t *f)
{
    for (size_t i = 0; i < f->n && i < 30; i++)
        print_message("  %s %s line %u [%s/%s] %s | %s\n", f->items[i]->code,
                      f->items[i]->is_error ? "E" : "W", f->items[i]->line,
                      f->items[i]->orgunit, f->items[i]->indicator, f->items[i]->message_vi,
                      f->items[i]->message_en);
}

#endif
