/*
 * kh_validate.c — a whole report checked against the catalogue (kh_validate.h), into
 * bilingual findings.
 *
 * Validation makes one pass over the report's values, resolving each unit and
 * indicator in O(1) and placing parsed values in a grid (the reporting unit and the
 * units below it × the programme's indicators), then checks completeness and applies
 * the rules unit by unit from the grid.  Problems about one unit or indicator code
 * (unknown, merged, of another district, wrong level or half-year) are reported once, at
 * the first line where the code appears; value problems are reported per cell.
 * kh_validate_previous runs the same pass quietly, reading only the values the
 * previous-period rules read, and lets only those rules speak.
 *
 * Everything that reaches a finding is valid UTF-8 of bounded size (kh_findings_text):
 * codes and values come from the district.  The catalogue is only read (its insides:
 * kh_catalog_int.h), so reports may be validated on several threads at once.
 */
#include "kh_validate.h"
#include "kh_catalog_int.h"
#include "kh_rules.h"
#include "kh_util.h"
#include "kh_value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KH_MSG_MAX 1024                 /* one finding message */
#define KH_RAW_SHOW 80                  /* bytes of a raw value quoted in a message */

typedef struct {
    int32_t vidx;     /* value index + 1; 0 = no value */
    int8_t ok;        /* parsed */
    kh_value_t v;
} cell_t;

typedef struct {
    const kh_catalog_t *c;
    const Kh__Report *r;
    kh_findings_t *out;
    size_t errors;            /* every error found, also those past the findings cap */
    int full;                 /* findings list full: stop formatting messages */
    kh_period_t period;
    int have_period;
    int32_t end;              /* last day of the period */
    const kh_unit_t *reporter;  /* the reporting unit in force at the period end */
    const kh_unit_t **units;  /* the reporter, then every unit below it (subtree order) */
    size_t n_units;
    int32_t *row_of_unit;     /* catalogue unit row → grid row (index into units) */
    cell_t *grid;             /* n_units × n_inds */
    int8_t *row_seen;         /* the row had at least one value line */
    int previous_only;        /* kh_validate_previous: only the previous-period rules speak */
    int8_t *needed;           /* previous_only: the indicators those rules read (else NULL) */
    int quiet;                /* the values are being read, not judged: emit nothing */
    kh_htab_t *once;          /* "kind\x1fcode" keys reported once */
    char **once_keys;
    size_t n_once, cap_once;
} vctx_t;

static void emit(vctx_t *V, const char *code, int is_error, uint32_t line, const char *org,
                 const char *ind, const char *value, const char *vi, const char *en)
{
    if (V->quiet && strcmp(code, "INTERNAL") != 0)     /* a failure is never quiet */
        return;
    if (is_error)
        V->errors++;
    if (V->full) {
        kh_findings_add(V->out, code, is_error, line, org, ind, value, vi, en);
        return;
    }
    /* Everything that reaches a Finding is valid UTF-8 of bounded size: raw strings
     * come from the district, and a message cut by snprintf may end mid-character. */
    char sv[KH_RAW_SHOW * 2], so[KH_CODE_MAX * 2], si[KH_CODE_MAX * 2];
    char mvi[KH_MSG_MAX], men[KH_MSG_MAX];
    kh_findings_text(sv, sizeof sv, value, KH_RAW_SHOW);
    kh_findings_text(so, sizeof so, org, KH_CODE_MAX);
    kh_findings_text(si, sizeof si, ind, KH_CODE_MAX);
    kh_findings_text(mvi, sizeof mvi, vi, sizeof mvi);
    kh_findings_text(men, sizeof men, en, sizeof men);
    if (kh_findings_add(V->out, code, is_error, line, so, si, sv, mvi, men) < 0 &&
        V->out->n >= KH_MAX_FINDINGS)
        V->full = 1;
}

/* 1 the first time (kind, key) is seen in this report, else 0. */
static int first_time(vctx_t *V, const char *kind, const char *key)
{
    char buf[KH_CODE_MAX * 4];
    snprintf(buf, sizeof buf, "%s\x1f%.*s", kind, KH_CODE_MAX * 3, key ? key : "");
    if (!V->once || V->n_once >= V->cap_once)
        return 1;
    if (kh_htab_get(V->once, buf) >= 0)
        return 0;
    char *k = strdup(buf);
    if (!k)
        return 1;
    V->once_keys[V->n_once++] = k;
    kh_htab_put(V->once, k, 1);
    return 1;
}

/* "Phường 1 (28771)" for a unit; the quoted code alone when unknown. */
static void unit_label(const kh_unit_t *u, const char *code, char *out, size_t cap)
{
    char sc[KH_CODE_MAX * 2];
    kh_findings_text(sc, sizeof sc, code, KH_CODE_MAX);
    if (u)
        snprintf(out, cap, "%s (%s)", u->name, u->code);
    else
        snprintf(out, cap, "\"%s\"", sc);
}

/* Resolves a value's orgunit to a grid row; reports (once per code) why it cannot. */
static int32_t resolve_row(vctx_t *V, const Kh__Value *val)
{
    const kh_catalog_t *c = V->c;
    const char *org = val->orgunit ? val->orgunit : "";
    int32_t r = kh_catalog_unit_row(c, org, V->end);
    if (r >= 0 && V->reporter) {
        int32_t row = V->row_of_unit[r];
        if (row >= 0)
            return row;
    }
    if (!first_time(V, "unit", org))
        return -1;
    char vi[KH_MSG_MAX], en[KH_MSG_MAX], lab[256], dv[16], de[16];
    const kh_unit_t *u = r >= 0 ? &c->units[r] : NULL;
    if (u) {
        if (!V->reporter)
            return -1;   /* UNKNOWN_DISTRICT already said what is wrong */
        /* In force, but neither the reporting unit nor a unit below it — or below it, but
         * the reporting unit reports its own work only (scope self). */
        const kh_unit_t *p = kh_catalog_parent_on(c, u, V->end);
        unit_label(u, org, lab, sizeof lab);
        int below = 0;
        for (const kh_unit_t *a = p; a && !below; a = kh_catalog_parent_on(c, a, V->end))
            below = a == V->reporter || !strcmp(a->code, V->reporter->code);
        if (below) {
            /* who reports for u: u itself or its nearest ancestor reporting for its subtree */
            const kh_unit_t *w = u;
            while (w && !(kh_catalog_reports(c, w->code, V->end) == 1 &&
                          kh_catalog_reports_self(c, w->code, V->end) != 1))
                w = kh_catalog_parent_on(c, w, V->end);
            snprintf(vi, sizeof vi, "%s chỉ báo cáo công việc của chính mình (reporters.csv, "
                     "scope self); số liệu của %s do %s báo cáo: hãy xoá các dòng này",
                     V->reporter->name, lab, w ? w->name : "đơn vị khác");
            snprintf(en, sizeof en, "%s reports its own work only (reporters.csv, scope self); "
                     "%s's figures are reported by %s: delete these rows", V->reporter->name,
                     lab, w ? w->name : "another unit");
        } else if (p) {
            snprintf(vi, sizeof vi, "%s thuộc %s, không thuộc %s: hãy xoá các dòng này, đơn vị "
                     "đó do nơi khác báo cáo", lab, p->name, V->reporter->name);
            snprintf(en, sizeof en, "%s belongs to %s, not to %s: delete these rows, another "
                     "unit reports for it", lab, p->name, V->reporter->name);
        } else {
            snprintf(vi, sizeof vi, "%s không phải là đơn vị trực thuộc %s: hãy xoá các dòng "
                     "này", lab, V->reporter->name);
            snprintf(en, sizeof en, "%s is not a unit under %s: delete these rows", lab,
                     V->reporter->name);
        }
        emit(V, "OTHER_DISTRICT", 1, val->line, org, val->indicator, "", vi, en);
        return -1;
    }
    if (kh_catalog_reorg_message(c, org, V->end, vi, sizeof vi, en, sizeof en)) {
        emit(V, "MERGED_UNIT", 1, val->line, org, val->indicator, "", vi, en);
        return -1;
    }
    const kh_unit_t *any = kh_catalog_unit_any(c, org);
    unit_label(any, org, lab, sizeof lab);
    if (!any) {
        snprintf(vi, sizeof vi, "Mã đơn vị %s không có trong danh mục đơn vị hành chính", lab);
        snprintf(en, sizeof en, "Unit code %s is not in the list of administrative units", lab);
        emit(V, "UNKNOWN_UNIT", 1, val->line, org, val->indicator, "", vi, en);
        return -1;
    }
    /* Find the row that ended last before the period end, if any. */
    const kh_unit_t *ended = NULL;
    for (int32_t k = kh_htab_get(c->unit_ix, org); k >= 0; k = c->unit_next[k]) {
        const kh_unit_t *x = &c->units[k];
        if (x->valid_to && x->valid_to < V->end && (!ended || x->valid_to > ended->valid_to))
            ended = x;
    }
    if (!ended) {
        kh_date_vi(any->valid_from, dv, sizeof dv);
        kh_date_iso(any->valid_from, de, sizeof de);
        snprintf(vi, sizeof vi, "%s chỉ tồn tại từ ngày %s, sau kỳ báo cáo", lab, dv);
        snprintf(en, sizeof en, "%s exists only from %s, after the period", lab, de);
        emit(V, "UNKNOWN_UNIT", 1, val->line, org, val->indicator, "", vi, en);
        return -1;
    }
    int32_t gone = kh_date_add(ended->valid_to, 1);
    kh_date_vi(gone, dv, sizeof dv);
    kh_date_iso(gone, de, sizeof de);
    const kh_unit_t *succ = kh_catalog_successor(c, ended, V->end);
    if (succ) {
        snprintf(vi, sizeof vi, "%s đã sáp nhập vào %s (%s) từ %s", ended->name, succ->name,
                 succ->code, dv);
        snprintf(en, sizeof en, "%s was merged into %s (%s) on %s", ended->name, succ->name,
                 succ->code, de);
        emit(V, "MERGED_UNIT", 1, val->line, org, val->indicator, "", vi, en);
    } else {
        snprintf(vi, sizeof vi, "%s không còn tồn tại từ ngày %s", lab, dv);
        snprintf(en, sizeof en, "%s ceased to exist on %s", lab, de);
        emit(V, "UNKNOWN_UNIT", 1, val->line, org, val->indicator, "", vi, en);
    }
    return -1;
}

static const kh_unit_t *row_unit(const vctx_t *V, int32_t row)
{
    return V->units[row];
}

/* Whether an indicator (or rule) is asked in half-year `half`; a yearly report (half 0)
 * asks every one. */
static int in_half(const kh_indicator_t *d, int half)
{
    return half == 0 || (half == 1 ? d->in_s1 : d->in_s2);
}

static void check_value(vctx_t *V, size_t i)
{
    const kh_catalog_t *c = V->c;
    const Kh__Value *val = V->r->values[i];
    if (!val)
        return;
    const char *org = val->orgunit ? val->orgunit : "";
    const char *code = val->indicator ? val->indicator : "";
    const char *raw = val->raw ? val->raw : "";
    char vi[KH_MSG_MAX], en[KH_MSG_MAX], sc[KH_CODE_MAX * 2], lab[256];

    int32_t row = -1;
    if (V->have_period) {
        row = resolve_row(V, val);
        if (row >= 0)
            V->row_seen[row] = 1;
    }
    int32_t ii = kh_catalog_ind_index(c, code);
    if (V->needed && (ii < 0 || !V->needed[ii]))
        return;             /* no previous-period rule reads it: not read at all */
    if (ii < 0) {
        if (first_time(V, "ind", code)) {
            kh_findings_text(sc, sizeof sc, code, KH_CODE_MAX);
            snprintf(vi, sizeof vi, "Mã chỉ tiêu \"%s\" không có trong danh mục chỉ tiêu", sc);
            snprintf(en, sizeof en, "Indicator code \"%s\" is not in the indicator catalogue",
                     sc);
            emit(V, "UNKNOWN_INDICATOR", 1, val->line, org, code, "", vi, en);
        }
        return;
    }
    const kh_indicator_t *d = &c->inds[ii];
    const kh_unit_t *u = row >= 0 ? row_unit(V, row) : NULL;
    unit_label(u, org, lab, sizeof lab);
    int usable = row >= 0;
    if (V->have_period && !in_half(d, V->period.half)) {
        usable = 0;
        if (first_time(V, "half", d->code)) {
            int only = d->in_s1 ? 1 : 2;
            snprintf(vi, sizeof vi, "Chỉ tiêu %s (%s) chỉ báo cáo trong kỳ %s, không báo cáo "
                     "trong kỳ %s", d->code, d->name_vi,
                     only == 2 ? "cuối năm (S2)" : "6 tháng đầu năm (S1)", V->r->period);
            snprintf(en, sizeof en, "%s (%s) is reported only in the %s, not in %s", d->code,
                     d->name_en, only == 2 ? "year-end report (S2)" : "mid-year report (S1)",
                     V->r->period);
            emit(V, "WRONG_HALF", 1, val->line, org, d->code, "", vi, en);
        }
    }
    if (row >= 0 && d->level != u->level) {
        usable = 0;
        char key[KH_CODE_MAX * 2 + 8];
        snprintf(key, sizeof key, "%s\x1f%d", d->code, u->level);
        if (first_time(V, "level", key)) {
            char wi[128], we[128], ui[128], ue[128];
            kh_catalog_level_word(c, d->level, V->end, 0, wi, sizeof wi);
            kh_catalog_level_word(c, d->level, V->end, 1, we, sizeof we);
            kh_catalog_level_word(c, u->level, V->end, 0, ui, sizeof ui);
            kh_catalog_level_word(c, u->level, V->end, 1, ue, sizeof ue);
            snprintf(vi, sizeof vi, "Chỉ tiêu %s (%s) là chỉ tiêu cấp %s: hãy báo cáo theo mã "
                     "của từng đơn vị cấp %s, không theo %s (cấp %s)", d->code, d->name_vi, wi,
                     wi, lab, ui);
            snprintf(en, sizeof en, "%s (%s) is reported per %s (level %d): report it under "
                     "each such unit's code, not under %s (%s)", d->code, d->name_en, we,
                     d->level, lab, ue);
            emit(V, "WRONG_LEVEL", 1, val->line, org, d->code, "", vi, en);
        }
    }
    /* The value itself. */
    kh_value_t pv;
    char wv[256], we[256], sr[KH_RAW_SHOW * 2];
    int ok = kh_value_parse(d, raw, &pv, wv, sizeof wv, we, sizeof we) == 0;
    kh_findings_text(sr, sizeof sr, raw, KH_RAW_SHOW);
    if (!ok) {
        snprintf(vi, sizeof vi, "Giá trị \"%s\" của %s tại %s không hợp lệ: %s", sr, d->code,
                 lab, wv);
        snprintf(en, sizeof en, "Invalid value \"%s\" for %s at %s: %s", sr, d->code, lab, we);
        emit(V, "BAD_VALUE", 1, val->line, org, d->code, raw, vi, en);
    } else if (pv.normalised) {
        char num[64];
        kh_fmt_num(pv.num, num, sizeof num);
        snprintf(vi, sizeof vi, "Giá trị \"%s\" của %s tại %s được hiểu là %s (đã bỏ dấu phân "
                 "cách hàng nghìn)", sr, d->code, lab, num);
        snprintf(en, sizeof en, "Value \"%s\" for %s at %s was read as %s (thousands "
                 "separators removed)", sr, d->code, lab, num);
        emit(V, "NORMALISED", 0, val->line, org, d->code, raw, vi, en);
    }
    if (!usable)
        return;
    cell_t *cell = &V->grid[(size_t)row * V->c->n_inds + (size_t)ii];
    if (cell->vidx) {
        uint32_t first = V->r->values[cell->vidx - 1]->line;
        snprintf(vi, sizeof vi, "%s của %s được báo cáo hai lần (dòng %u và dòng %u); chỉ dùng "
                 "giá trị ở dòng %u", d->code, lab, first, val->line, first);
        snprintf(en, sizeof en, "%s for %s is reported twice (lines %u and %u); only the value "
                 "on line %u is used", d->code, lab, first, val->line, first);
        emit(V, "DUPLICATE_ROW", 1, val->line, org, d->code, raw, vi, en);
        return;
    }
    cell->vidx = (int32_t)i + 1;
    cell->ok = (int8_t)ok;
    if (ok)
        cell->v = pv;
}

static void check_missing(vctx_t *V)
{
    const kh_catalog_t *c = V->c;
    char vi[KH_MSG_MAX], en[KH_MSG_MAX], lab[256];
    /* Units below the reporter in subtree order, then the reporter's own row; a unit
     * whose level has no indicator in this half-year needs no row. */
    int level_used[KH_MAX_LEVELS + 1] = {0};
    for (size_t j = 0; j < c->n_inds; j++)
        if (in_half(&c->inds[j], V->period.half))
            level_used[c->inds[j].level] = 1;
    for (size_t k = 1; k <= V->n_units; k++) {
        size_t row = k % V->n_units;
        const kh_unit_t *u = row_unit(V, (int32_t)row);
        if (!level_used[u->level])
            continue;
        unit_label(u, u->code, lab, sizeof lab);
        if (row > 0 && !V->row_seen[row]) {
            snprintf(vi, sizeof vi, "Thiếu số liệu của %s", lab);
            snprintf(en, sizeof en, "No values reported for %s", lab);
            emit(V, "MISSING_UNIT", 1, 0, u->code, "", "", vi, en);
            continue;
        }
        for (size_t j = 0; j < c->n_inds; j++) {
            const kh_indicator_t *d = &c->inds[j];
            if (d->level != u->level || !in_half(d, V->period.half))
                continue;
            if (V->grid[row * c->n_inds + j].vidx)
                continue;
            snprintf(vi, sizeof vi, "Thiếu chỉ tiêu %s (%s) của %s", d->code, d->name_vi, lab);
            snprintf(en, sizeof en, "Missing %s (%s) for %s", d->code, d->name_en, lab);
            emit(V, "MISSING_VALUE", 1, 0, u->code, d->code, "", vi, en);
        }
    }
}

typedef struct {
    vctx_t *V;
    const cell_t *cells;      /* the unit's row of the grid */
    const char *orgunit;
    kh_prev_fn prev;
    void *prev_arg;
    const char *prev_period;
} rulectx_t;

static int rule_get(void *arg, int ind, kh_value_t *out)
{
    rulectx_t *x = arg;
    const cell_t *cell = &x->cells[ind];
    if (!cell->vidx || !cell->ok)
        return -1;
    *out = cell->v;
    return 0;
}

static int rule_prev(void *arg, int ind, double *out)
{
    rulectx_t *x = arg;
    if (!x->prev)
        return -1;
    return x->prev(x->prev_arg, x->prev_period, x->orgunit, x->V->c->inds[ind].code, out) == 0
               ? 0 : -1;
}

static void check_rules(vctx_t *V, kh_prev_fn prev, void *prev_arg)
{
    const kh_catalog_t *c = V->c;
    char prev_period[16];
    if (V->period.kind == KH_P_YEAR)
        snprintf(prev_period, sizeof prev_period, "%04d", V->period.year - 1);
    else if (V->period.half == 1)
        snprintf(prev_period, sizeof prev_period, "%04dS2", V->period.year - 1);
    else
        snprintf(prev_period, sizeof prev_period, "%04dS1", V->period.year);
    char dvi[512], den[512], vi[KH_MSG_MAX], en[KH_MSG_MAX];
    for (size_t k = 0; k < c->n_rules; k++) {
        const rule_t *rule = &c->rules[k];
        /* a previous-period rule needs the counted values of the period before; without
         * them (the node, the validator) it cannot fail, and only it can with them */
        if (kh_expr_uses_previous(rule->expr) != (prev != NULL))
            continue;
        if (!in_half(&(kh_indicator_t){ .in_s1 = rule->in_s1, .in_s2 = rule->in_s2 },
                     V->period.half))
            continue;
        for (size_t row = 0; row < V->n_units; row++) {
            const kh_unit_t *u = row_unit(V, (int32_t)row);
            if (!V->row_seen[row] || u->level != rule->level)
                continue;
            rulectx_t x = { V, &V->grid[row * c->n_inds], u->code, prev, prev_arg,
                            prev_period };
            if (kh_expr_eval(rule->expr, rule_get, rule_prev, &x, prev_period, dvi,
                             sizeof dvi, den, sizeof den) != KH_RULE_FAIL)
                continue;
            snprintf(vi, sizeof vi, "%s (%s)", rule->msg_vi, dvi);
            snprintf(en, sizeof en, "%s (%s)", rule->msg_en, den);
            const cell_t *fc = rule->first_ind >= 0 ? &x.cells[rule->first_ind] : NULL;
            const Kh__Value *fv = fc && fc->vidx ? V->r->values[fc->vidx - 1] : NULL;
            emit(V, rule->id, rule->is_error, fv ? fv->line : 0, u->code,
                 rule->first_ind >= 0 ? c->inds[rule->first_ind].code : "",
                 fv && fv->raw ? fv->raw : "", vi, en);
        }
    }
}

/* previous_only: marks the indicators the previous-period rules of this half-year read,
 * the only values then worth reading.  Returns 0, or -1 when memory is short. */
static int mark_needed(vctx_t *V)
{
    const kh_catalog_t *c = V->c;
    V->needed = calloc(c->n_inds ? c->n_inds : 1, 1);
    if (!V->needed)
        return -1;
    int idx[64];
    for (size_t k = 0; k < c->n_rules; k++) {
        const rule_t *rule = &c->rules[k];
        if (!kh_expr_uses_previous(rule->expr) ||
            !in_half(&(kh_indicator_t){ .in_s1 = rule->in_s1, .in_s2 = rule->in_s2 },
                     V->period.half))
            continue;
        size_t n = kh_expr_indicators(rule->expr, idx, sizeof idx / sizeof *idx);
        if (n > sizeof idx / sizeof *idx) {     /* a rule this wide: read every value */
            free(V->needed);
            V->needed = NULL;
            return 0;
        }
        for (size_t i = 0; i < n; i++)
            if (idx[i] >= 0 && (size_t)idx[i] < c->n_inds)
                V->needed[idx[i]] = 1;
    }
    return 0;
}

static void vctx_free(vctx_t *V)
{
    free(V->needed);
    free(V->units);
    free(V->row_of_unit);
    free(V->grid);
    free(V->row_seen);
    for (size_t i = 0; i < V->n_once; i++)
        free(V->once_keys[i]);
    free(V->once_keys);
    kh_htab_destroy(&V->once);
}

static size_t validate(const kh_catalog_t *c, const Kh__Report *r, int32_t today_yyyymmdd,
                       kh_prev_fn prev, void *prev_arg, kh_findings_t *out)
{
    if (!out)
        return 1;
    vctx_t V;
    memset(&V, 0, sizeof V);
    V.c = c;
    V.r = r;
    V.out = out;
    /* with the previous period's values at hand the report has been judged already:
     * its values are only read, and only the rules comparing them with the period
     * before speak */
    V.previous_only = prev != NULL;
    V.quiet = V.previous_only;
    if (!c || !r) {
        emit(&V, "INTERNAL", 1, 0, "", "", "", "Lỗi nội bộ: thiếu danh mục hoặc báo cáo",
             "Internal error: no catalogue or no report");
        return V.errors;
    }
    char vi[KH_MSG_MAX], en[KH_MSG_MAX], sp[64], d1[16], d2[16];
    const char *period = r->period ? r->period : "";
    const char *district = r->district ? r->district : "";
    /* Keys for once-only findings: at most three per value. */
    size_t n_vals = r->n_values;
    V.cap_once = 3 * n_vals + 1;
    V.once_keys = malloc(V.cap_once * sizeof *V.once_keys);
    if (!V.once_keys || !(V.once = kh_htab_new(3 * n_vals + 1))) {
        emit(&V, "INTERNAL", 1, 0, "", "", "", "Lỗi nội bộ: hết bộ nhớ",
             "Internal error: out of memory");
        vctx_free(&V);
        return V.errors;
    }

    /* The period. */
    kh_findings_text(sp, sizeof sp, period, 32);
    kh_period_t p;
    if (kh_catalog_check_period(c, period, &p, vi, sizeof vi, en, sizeof en) < 0) {
        emit(&V, "PERIOD_MALFORMED", 1, 0, "", "", period, vi, en);
    } else {
        V.period = p;
        V.have_period = 1;
        V.end = kh_period_end(&p);
        /* Reports are due before the half-year ends (20 June, 5 December), so a report
         * is premature only when its half-year has not begun. */
        int32_t start = kh_period_start(&p);
        if (today_yyyymmdd > 0 && today_yyyymmdd < start) {
            kh_date_vi(start, d1, sizeof d1);
            kh_date_vi(today_yyyymmdd, d2, sizeof d2);
            snprintf(vi, sizeof vi, "Kỳ báo cáo %s chưa bắt đầu (bắt đầu từ %s, hôm nay là %s)",
                     sp, d1, d2);
            kh_date_iso(start, d1, sizeof d1);
            kh_date_iso(today_yyyymmdd, d2, sizeof d2);
            snprintf(en, sizeof en, "Period %s has not started yet (it starts on %s; today is "
                     "%s)", sp, d1, d2);
            emit(&V, "PERIOD_FUTURE", 1, 0, "", "", period, vi, en);
        }
    }

    /* The programme in force at the period end decides the indicators and rules. */
    if (V.have_period) {
        const kh_catalog_t *pc = kh_catalog_for(c, V.end);
        if (!pc) {
            kh_date_vi(V.end, d1, sizeof d1);
            kh_date_iso(V.end, d2, sizeof d2);
            snprintf(vi, sizeof vi, "Không có chương trình nào có hiệu lực vào ngày %s (cuối kỳ "
                     "%s): kỳ này không có báo cáo; hãy kiểm tra kỳ báo cáo", d1, sp);
            snprintf(en, sizeof en, "No programme is in force on %s (the end of period %s): "
                     "nothing is reported for it; check the period", d2, sp);
            emit(&V, "NO_PROGRAMME", 1, 0, "", "", period, vi, en);
            V.have_period = 0;
        } else {
            V.c = c = pc;
        }
    }
    if (!V.have_period && (c->n_progs || c->root)) {
        /* without a programme there is no catalogue to check the values against: the
         * period's finding says what to fix */
        size_t errors = V.errors;
        vctx_free(&V);
        return errors;
    }

    /* The reporting unit, the units below it in force at the period end, the grid. */
    if (V.have_period) {
        const kh_unit_t *d = kh_catalog_unit_on(c, district, V.end);
        if (!d || kh_catalog_reports(c, district, V.end) != 1) {
            char sd[KH_CODE_MAX * 2];
            kh_findings_text(sd, sizeof sd, district, KH_CODE_MAX);
            kh_date_vi(V.end, d1, sizeof d1);
            kh_date_iso(V.end, d2, sizeof d2);
            const kh_unit_t *any = d ? d : kh_catalog_unit_any(c, district);
            const kh_unit_t *succ = !d && any ? kh_catalog_successor(c, any, V.end) : NULL;
            if (!d && kh_catalog_reorg_message(c, district, V.end, vi, sizeof vi, en, sizeof en)) {
                /* vi, en: what became of it, and the code to report under */
            } else if (succ) {
                snprintf(vi, sizeof vi, "\"%s\" (%s) không còn tồn tại vào ngày %s: %s (%s) đã "
                         "tiếp nhận đơn vị này; hãy báo cáo kỳ %s theo mã %s", sd, any->name, d1,
                         succ->name, succ->code, sp, succ->code);
                snprintf(en, sizeof en, "\"%s\" (%s) no longer exists on %s: %s (%s) took it "
                         "over; report period %s under code %s", sd, any->name, d2, succ->name,
                         succ->code, sp, succ->code);
            } else {
                snprintf(vi, sizeof vi, "Mã \"%s\" không phải là đơn vị báo cáo vào ngày %s "
                         "(cuối kỳ %s): hãy kiểm tra mã đơn vị trong tệp báo cáo", sd, d1, sp);
                snprintf(en, sizeof en, "\"%s\" is not a reporting unit on %s (the end of "
                         "period %s): check the unit code of the report", sd, d2, sp);
            }
            emit(&V, "UNKNOWN_DISTRICT", 1, 0, district, "", "", vi, en);
        } else {
            V.reporter = d;
            V.n_units = kh_catalog_report_units(c, d->code, V.end, NULL, 0);
            V.units = calloc(V.n_units, sizeof *V.units);
            V.row_of_unit = malloc(c->n_units * sizeof *V.row_of_unit);
            V.grid = calloc(V.n_units * c->n_inds, sizeof *V.grid);
            V.row_seen = calloc(V.n_units, 1);
            if (!V.units || !V.row_of_unit || !V.grid || !V.row_seen) {
                emit(&V, "INTERNAL", 1, 0, "", "", "", "Lỗi nội bộ: hết bộ nhớ",
                     "Internal error: out of memory");
                vctx_free(&V);
                return V.errors;
            }
            kh_catalog_report_units(c, d->code, V.end, V.units, V.n_units);
            for (size_t i = 0; i < c->n_units; i++)
                V.row_of_unit[i] = -1;
            for (size_t k = 0; k < V.n_units; k++)
                V.row_of_unit[V.units[k] - c->units] = (int32_t)k;
        }
    }

    if (V.previous_only && V.reporter && mark_needed(&V) < 0) {
        emit(&V, "INTERNAL", 1, 0, "", "", "", "Lỗi nội bộ: hết bộ nhớ",
             "Internal error: out of memory");
        vctx_free(&V);
        return V.errors;
    }
    for (size_t i = 0; i < n_vals; i++)
        check_value(&V, i);

    if (V.reporter) {
        if (!V.previous_only)
            check_missing(&V);
        V.quiet = 0;
        check_rules(&V, prev, prev_arg);
    }
    size_t errors = V.errors;
    vctx_free(&V);
    return errors;
}

size_t kh_validate(const kh_catalog_t *c, const Kh__Report *r, int32_t today_yyyymmdd,
                   kh_findings_t *out)
{
    return validate(c, r, today_yyyymmdd, NULL, NULL, out);
}

size_t kh_validate_previous(const kh_catalog_t *c, const Kh__Report *r, kh_prev_fn prev,
                            void *prev_arg, kh_findings_t *out)
{
    if (!prev)
        return out ? 0 : 1;
    return validate(c, r, 0, prev, prev_arg, out);
}
