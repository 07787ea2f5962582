/*
 * kh_catalog_int.h — the catalogue's insides, private to the files that build and read
 * it: kh_catalog_load.c (the data folder → the struct), kh_catalog.c (lookups) and
 * kh_validate.c (a report checked against the units, indicators and rules).  Nothing
 * else includes it; everyone else goes through kh_catalog.h, where kh_catalog_t is
 * opaque.
 *
 * Invariants: after kh_catalog_load returns, a catalogue and its programme views are
 * never written again (so they may be read from several threads at once).  A view
 * (root != NULL) shares the root's units, levels, reporters and reorganisations and
 * owns only its programme parts (indicators, rules, targets, sections, option labels,
 * names); only the root is destroyed.  Rows of one unit code form a chain through
 * unit_next, in file order, headed by unit_ix; their validity ranges never overlap.
 */
#ifndef KH_CATALOG_INT_H
#define KH_CATALOG_INT_H

#include "kh_catalog.h"
#include "kh_htab.h"
#include "kh_rules.h"

#include <stdint.h>

typedef struct {
    char id[KH_CODE_MAX];
    int is_error;
    int level;
    int in_s1, in_s2;
    char *text, *msg_vi, *msg_en;
    kh_expr_t *expr;
    int first_ind;          /* the indicator a finding points at */
    int line;
} rule_t;

/* A row of reporters.csv: a level or one unit reports over a range of days. */
typedef struct {
    int level;                 /* 1..KH_MAX_LEVELS, or 0 for a row naming one unit */
    int self;                  /* scope "self": the unit's own work, not its subtree's */
    char unit[KH_CODE_MAX];    /* "" for a level row */
    int32_t valid_from, valid_to;   /* yyyymmdd inclusive; 0 = open */
    int line;                  /* 0 for the default row */
} reporter_t;

/* A row of levels.csv: what the units of a level are called over a range of days. */
typedef struct {
    int level;
    char *name_vi, *name_en;
    int32_t valid_from, valid_to;
    int line;
} level_t;

struct kh_catalog {
    kh_unit_t *units;
    size_t n_units;
    int *unit_line;
    int32_t *unit_next;     /* next row with the same code, -1 at the end */
    kh_htab_t *unit_ix;     /* code → first row of that code */
    int32_t *child_next;    /* next row with the same parent code, -1 at the end */
    kh_htab_t *child_ix;    /* parent code → first row naming it as parent */
    int depth;              /* deepest level of any row */

    level_t *levels;        /* levels.csv */
    size_t n_levels;

    kh_reorg_t *reorg;      /* reorg.csv (optional), in file order */
    size_t n_reorg;

    reporter_t *reporters;  /* reporters.csv */
    size_t n_reporters;

    kh_indicator_t *inds;
    size_t n_inds;
    int *ind_line;
    kh_htab_t *ind_ix;

    rule_t *rules;
    size_t n_rules;

    kh_target_t *targets;
    size_t n_targets;

    int s1_due, s2_due;     /* mmdd */
    kh_pkind_t report_kind; /* KH_P_HALF (two reports a year) or KH_P_YEAR (one) */

    /* options.csv of the programme (optional): labels of option codes */
    struct { int ind; int option; char *label_vi, *label_en; } *opt_labels;
    size_t n_opt_labels;

    /* sections.csv of the programme (optional): titles by section number */
    struct { int section; char *title_vi, *title_en; } *sections;
    size_t n_sections;

    /* Programmes (programmes.csv).  The root catalogue owns the units, the levels and
     * who reports; each programme is a view: a copy of the root's struct sharing those
     * (root != NULL marks a view) with its own indicators, rules, targets and sections.
     * Without programmes.csv the root is the only programme, on every day. */
    const kh_catalog_t *root;
    kh_catalog_t **progs;
    size_t n_progs;
    char prog_code[KH_CODE_MAX];
    char *prog_name_vi, *prog_name_en, *prog_source;
    int32_t prog_from, prog_to;
};

/* 1 when unit row u is in force on `date`. */
static inline int kh_catalog_in_force(const kh_unit_t *u, int32_t date)
{
    return (u->valid_from == 0 || u->valid_from <= date) &&
           (u->valid_to == 0 || date <= u->valid_to);
}

/* 1 when the day ranges [af, at] and [bf, bt] share a day (0: open at that end). */
static inline int kh_catalog_overlaps(int32_t af, int32_t at, int32_t bf, int32_t bt)
{
    return af <= (bt ? bt : 99991231) && bf <= (at ? at : 99991231);
}

/* The row of unit `code` in force on `date`, or -1. */
int32_t kh_catalog_unit_row(const kh_catalog_t *c, const char *code, int32_t date);
/* The index of indicator `code` in c->inds, or -1. */
int32_t kh_catalog_ind_index(const kh_catalog_t *c, const char *code);
/* The reporters.csv row under which unit row u reports on `day`, or NULL. */
const reporter_t *kh_catalog_reporter_of(const kh_catalog_t *c, const kh_unit_t *u,
                                         int32_t day);
/* The successor in force on `date` of a unit merged away (units.csv merged_into),
 * following chains of merges; NULL when none is. */
const kh_unit_t *kh_catalog_successor(const kh_catalog_t *c, const kh_unit_t *u,
                                      int32_t date);
/* When `code` was reorganised (reorg.csv) on or before `date`: writes into vi/en what
 * became of it and what to do ("… đã nhập vào Xã Y (29734) từ 01/07/2025: hãy báo cáo
 * theo mã 29734"), and returns 1; 0 when the file says nothing of it. */
int kh_catalog_reorg_message(const kh_catalog_t *c, const char *code, int32_t date,
                             char *vi, size_t vcap, char *en, size_t ecap);

#endif
