/*
 * kh_catalog.c — the lookups in a loaded catalogue (kh_catalog.h): units in force on a
 * day, subtrees, who reports, level names, reorganisations and what became of a unit,
 * the programme in force and its indicators, targets, sections and option labels, and
 * the report periods of a programme with their due dates.  The catalogue is built by
 * kh_catalog_load.c (its struct: kh_catalog_int.h) and never written here: every
 * function only reads, so they may be called from several threads at once.
 *
 * A code resolves in O(1) through the hash tables (kh_htab) and then walks the chain of
 * that code's rows (a few at most), so a lookup per value stays cheap in validation.
 *
 * Validation (kh_validate) makes one pass over the report's values, resolving each
 * unit and indicator in O(1) and placing parsed values in a grid (communes of the
 * district × indicators), then checks completeness and applies the rules unit by
 * unit from the grid.  Problems about one unit or indicator code (unknown, merged,
 * of another district, wrong level or half-year) are reported once, at the first line
 * where the code appears; value problems are reported per cell.
 */
#include "kh_catalog_int.h"
#include "kh_findings.h"
#include "kh_rules.h"
#include "kh_util.h"
#include "kh_value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>

/* ==== the internal helpers (kh_catalog_int.h) =========================================== */

int32_t kh_catalog_unit_row(const kh_catalog_t *c, const char *code, int32_t date)
{
    if (!c || !code)
        return -1;
    for (int32_t r = kh_htab_get(c->unit_ix, code); r >= 0; r = c->unit_next[r])
        if (kh_catalog_in_force(&c->units[r], date))
            return r;
    return -1;
}

int32_t kh_catalog_ind_index(const kh_catalog_t *c, const char *code)
{
    return c && code ? kh_htab_get(c->ind_ix, code) : -1;
}

const reporter_t *kh_catalog_reporter_of(const kh_catalog_t *c, const kh_unit_t *u,
                                         int32_t day)
{
    for (size_t i = 0; i < c->n_reporters; i++) {
        const reporter_t *r = &c->reporters[i];
        if (kh_catalog_overlaps(r->valid_from, r->valid_to, day, day) &&
            (r->level ? r->level == u->level : !strcmp(r->unit, u->code)))
            return r;
    }
    return NULL;
}

const kh_unit_t *kh_catalog_successor(const kh_catalog_t *c, const kh_unit_t *u, int32_t date)
{
    for (int hop = 0; hop < 8 && u && u->merged_into[0]; hop++) {
        const kh_unit_t *n = kh_catalog_unit_on(c, u->merged_into, date);
        if (n)
            return n;
        u = kh_catalog_unit_any(c, u->merged_into);
    }
    return NULL;
}

int kh_catalog_reorg_message(const kh_catalog_t *c, const char *code, int32_t date,
                             char *vi, size_t vcap, char *en, size_t ecap)
{
    const kh_reorg_t *rows[16];
    size_t n = kh_catalog_reorg_of(c, code, date, rows, 16);
    if (n == 0)
        return 0;
    if (n > 16)
        n = 16;
    char dv[16], de[16], lvi[1024] = "", len_[1024] = "";
    kh_date_vi(rows[0]->date, dv, sizeof dv);
    kh_date_iso(rows[0]->date, de, sizeof de);
    size_t uv = 0, ue = 0;
    for (size_t i = 0; i < n && uv < sizeof lvi && ue < sizeof len_; i++) {
        const kh_unit_t *nu = kh_catalog_unit_on(c, rows[i]->new_code, rows[i]->date);
        const char *name = nu ? nu->name : rows[i]->new_code;
        uv += (size_t)snprintf(lvi + uv, sizeof lvi - uv, "%s%s (%s)",
                               i == 0 ? "" : i + 1 == n ? " và " : ", ", name,
                               rows[i]->new_code);
        ue += (size_t)snprintf(len_ + ue, sizeof len_ - ue, "%s%s (%s)",
                               i == 0 ? "" : i + 1 == n ? " and " : ", ", name,
                               rows[i]->new_code);
    }
    if (n == 1) {
        snprintf(vi, vcap, "%s (%s) đã nhập vào %s từ %s: hãy báo cáo theo mã %s",
                 rows[0]->old_name, code, lvi, dv, rows[0]->new_code);
        snprintf(en, ecap, "%s (%s) became part of %s on %s: report under code %s",
                 rows[0]->old_name, code, len_, de, rows[0]->new_code);
    } else {
        snprintf(vi, vcap, "%s (%s) đã được chia cho %s từ %s: hãy báo cáo số liệu của mỗi "
                 "đơn vị mới theo mã của đơn vị đó", rows[0]->old_name, code, lvi, dv);
        snprintf(en, ecap, "%s (%s) was divided among %s on %s: report each new unit's "
                 "figures under its own code", rows[0]->old_name, code, len_, de);
    }
    return 1;
}

/* ==== programmes ======================================================================== */

const kh_catalog_t *kh_catalog_for(const kh_catalog_t *c, int32_t date)
{
    if (!c)
        return NULL;
    if (c->root)
        c = c->root;
    if (c->n_progs == 0)
        return c;
    for (size_t i = 0; i < c->n_progs; i++)
        if (kh_catalog_overlaps(c->progs[i]->prog_from, c->progs[i]->prog_to, date, date))
            return c->progs[i];
    return NULL;
}

const kh_catalog_t *kh_catalog_for_period(const kh_catalog_t *c, const char *period)
{
    kh_period_t p;
    if (!c || !period || kh_period_parse(period, &p) < 0)
        return NULL;
    return kh_catalog_for(c, kh_period_end(&p));
}

size_t kh_catalog_programme_count(const kh_catalog_t *c)
{
    if (!c)
        return 0;
    if (c->root)
        c = c->root;
    return c->n_progs ? c->n_progs : 1;
}

const kh_catalog_t *kh_catalog_programme_at(const kh_catalog_t *c, size_t i)
{
    if (!c)
        return NULL;
    if (c->root)
        c = c->root;
    if (c->n_progs == 0)
        return i == 0 ? c : NULL;
    return i < c->n_progs ? c->progs[i] : NULL;
}

const char *kh_catalog_programme_name(const kh_catalog_t *c, int en)
{
    if (!c || !c->root)
        return "";
    return en ? c->prog_name_en : c->prog_name_vi;
}

const char *kh_catalog_programme_code(const kh_catalog_t *c)
{
    return c && c->root ? c->prog_code : "";
}

void kh_catalog_programme_range(const kh_catalog_t *c, int32_t *from, int32_t *to)
{
    *from = c && c->root ? c->prog_from : 0;
    *to = c && c->root ? c->prog_to : 0;
}

const char *kh_catalog_option_label(const kh_catalog_t *c, const kh_indicator_t *ind,
                                    int option, int en)
{
    if (!c || !ind || ind < c->inds || ind >= c->inds + c->n_inds)
        return NULL;
    int ii = (int)(ind - c->inds);
    for (size_t i = 0; i < c->n_opt_labels; i++)
        if (c->opt_labels[i].ind == ii && c->opt_labels[i].option == option)
            return en ? c->opt_labels[i].label_en : c->opt_labels[i].label_vi;
    return NULL;
}

const char *kh_catalog_section_title(const kh_catalog_t *c, int section, int en)
{
    for (size_t i = 0; c && i < c->n_sections; i++)
        if (c->sections[i].section == section)
            return en ? c->sections[i].title_en : c->sections[i].title_vi;
    return NULL;
}

/* ==== reorganisations =================================================================== */

size_t kh_catalog_reorg_of(const kh_catalog_t *c, const char *old_code, int32_t date,
                           const kh_reorg_t **out, size_t cap)
{
    if (!c || !old_code)
        return 0;
    if (c->root)
        c = c->root;
    /* the latest reorganisation of that code on or before `date` */
    int32_t best = 0;
    for (size_t i = 0; i < c->n_reorg; i++)
        if (!strcmp(c->reorg[i].old_code, old_code) && c->reorg[i].date <= date &&
            c->reorg[i].date > best)
            best = c->reorg[i].date;
    size_t n = 0;
    for (size_t i = 0; best && i < c->n_reorg; i++)
        if (!strcmp(c->reorg[i].old_code, old_code) && c->reorg[i].date == best) {
            if (out && n < cap)
                out[n] = &c->reorg[i];
            n++;
        }
    return n;
}

size_t kh_catalog_reorg_count(const kh_catalog_t *c)
{
    if (!c)
        return 0;
    return c->root ? c->root->n_reorg : c->n_reorg;
}

const kh_reorg_t *kh_catalog_reorg_at(const kh_catalog_t *c, size_t i)
{
    if (c && c->root)
        c = c->root;
    return c && i < c->n_reorg ? &c->reorg[i] : NULL;
}

size_t kh_catalog_reorg_into(const kh_catalog_t *c, const char *new_code, int32_t date,
                             const kh_reorg_t **out, size_t cap)
{
    if (!c || !new_code)
        return 0;
    if (c->root)
        c = c->root;
    size_t n = 0;
    for (size_t i = 0; i < c->n_reorg; i++)
        if (!strcmp(c->reorg[i].new_code, new_code) && c->reorg[i].date == date) {
            if (out && n < cap)
                out[n] = &c->reorg[i];
            n++;
        }
    return n;
}

int kh_catalog_explain_gone(const kh_catalog_t *c, const char *code, int32_t date, char *vi,
                            size_t vcap, char *en, size_t ecap)
{
    if (!c || !code || kh_catalog_unit_on(c, code, date))
        return 0;
    if (kh_catalog_reorg_message(c, code, date, vi, vcap, en, ecap))
        return 1;
    const kh_unit_t *any = kh_catalog_unit_any(c, code);
    const kh_unit_t *succ = any && any->valid_to && any->valid_to < date
                                ? kh_catalog_successor(c, any, date) : NULL;
    if (!succ)
        return 0;
    char dv[16], de[16];
    kh_date_vi(kh_date_add(any->valid_to, 1), dv, sizeof dv);
    kh_date_iso(kh_date_add(any->valid_to, 1), de, sizeof de);
    snprintf(vi, vcap, "%s (%s) đã sáp nhập vào %s (%s) từ %s: hãy báo cáo theo mã %s", any->name,
             code, succ->name, succ->code, dv, succ->code);
    snprintf(en, ecap, "%s (%s) was merged into %s (%s) on %s: report under code %s", any->name,
             code, succ->name, succ->code, de, succ->code);
    return 1;
}

/* ==== lookups =========================================================================== */

const kh_indicator_t *kh_catalog_indicator(const kh_catalog_t *c, const char *code)
{
    int32_t i = kh_catalog_ind_index(c, code);
    return i >= 0 ? &c->inds[i] : NULL;
}

size_t kh_catalog_indicator_count(const kh_catalog_t *c)
{
    return c ? c->n_inds : 0;
}

const kh_indicator_t *kh_catalog_indicator_at(const kh_catalog_t *c, size_t i)
{
    return c && i < c->n_inds ? &c->inds[i] : NULL;
}

size_t kh_catalog_target_count(const kh_catalog_t *c)
{
    return c ? c->n_targets : 0;
}

const kh_target_t *kh_catalog_target_at(const kh_catalog_t *c, size_t i)
{
    return c && i < c->n_targets ? &c->targets[i] : NULL;
}

const kh_unit_t *kh_catalog_unit_on(const kh_catalog_t *c, const char *code, int32_t date)
{
    int32_t r = kh_catalog_unit_row(c, code, date);
    return r >= 0 ? &c->units[r] : NULL;
}

const kh_unit_t *kh_catalog_unit_any(const kh_catalog_t *c, const char *code)
{
    if (!c || !code)
        return NULL;
    int32_t best = -1;
    for (int32_t r = kh_htab_get(c->unit_ix, code); r >= 0; r = c->unit_next[r])
        if (best < 0 || c->units[r].valid_from > c->units[best].valid_from)
            best = r;
    return best >= 0 ? &c->units[best] : NULL;
}

int kh_catalog_reports(const kh_catalog_t *c, const char *unit, int32_t yyyymmdd)
{
    if (!c || !unit)
        return -1;
    const kh_unit_t *u = kh_catalog_unit_on(c, unit, yyyymmdd);
    if (!u)
        return 0;
    for (size_t i = 0; i < c->n_reporters; i++) {
        const reporter_t *r = &c->reporters[i];
        if ((r->valid_from == 0 || r->valid_from <= yyyymmdd) &&
            (r->valid_to == 0 || yyyymmdd <= r->valid_to) &&
            (r->level ? r->level == (int)u->level : !strcmp(r->unit, unit)))
            return 1;
    }
    return 0;
}

int kh_catalog_reports_ever(const kh_catalog_t *c, const char *unit)
{
    if (!c || !unit)
        return -1;
    for (size_t i = 0; i < c->n_reporters; i++) {
        const reporter_t *r = &c->reporters[i];
        for (int32_t k = kh_htab_get(c->unit_ix, unit); k >= 0; k = c->unit_next[k]) {
            const kh_unit_t *u = &c->units[k];
            if ((r->level ? r->level == (int)u->level : !strcmp(r->unit, unit)) &&
                kh_catalog_overlaps(u->valid_from, u->valid_to, r->valid_from, r->valid_to))
                return 1;
        }
    }
    return 0;
}

size_t kh_catalog_units_on(const kh_catalog_t *c, int level, const char *parent,
                           int32_t date, const kh_unit_t **out, size_t cap)
{
    if (!c)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < c->n_units; i++) {
        const kh_unit_t *u = &c->units[i];
        if ((level && u->level != level) || !kh_catalog_in_force(u, date))
            continue;
        if (parent && parent[0] && strcmp(u->parent, parent) != 0)
            continue;
        if (out && n < cap)
            out[n] = u;
        n++;
    }
    return n;
}

size_t kh_catalog_subtree_on(const kh_catalog_t *c, const char *code, int32_t date,
                             const kh_unit_t **out, size_t cap)
{
    int32_t root = kh_catalog_unit_row(c, code, date);
    if (root < 0)
        return 0;
    /* Depth first with an explicit stack of "next child row to look at" per level: the
     * tree is at most KH_MAX_LEVELS deep (the loader refuses deeper levels). */
    int32_t stack[KH_MAX_LEVELS + 1];
    size_t sp = 0, n = 0;
    if (out && n < cap)
        out[n] = &c->units[root];
    n++;
    stack[sp++] = kh_htab_get(c->child_ix, c->units[root].code);
    while (sp > 0) {
        int32_t r = stack[sp - 1];
        if (r < 0) {
            sp--;
            continue;
        }
        stack[sp - 1] = c->child_next[r];
        if (!kh_catalog_in_force(&c->units[r], date))
            continue;
        if (out && n < cap)
            out[n] = &c->units[r];
        n++;
        if (sp < sizeof stack / sizeof stack[0])
            stack[sp++] = kh_htab_get(c->child_ix, c->units[r].code);
    }
    return n;
}

int kh_catalog_reports_self(const kh_catalog_t *c, const char *code, int32_t date)
{
    const kh_unit_t *u = c ? kh_catalog_unit_on(c, code, date) : NULL;
    if (!u)
        return 0;
    const reporter_t *r = kh_catalog_reporter_of(c->root ? c->root : c, u, date);
    return r && r->self;
}

size_t kh_catalog_report_units(const kh_catalog_t *c, const char *code, int32_t date,
                               const kh_unit_t **out, size_t cap)
{
    const kh_unit_t *u = kh_catalog_unit_on(c, code, date);
    if (!u)
        return 0;
    const reporter_t *r = kh_catalog_reporter_of(c->root ? c->root : c, u, date);
    if (r && r->self) {
        if (out && cap)
            out[0] = u;
        return 1;
    }
    return kh_catalog_subtree_on(c, code, date, out, cap);
}

const kh_unit_t *kh_catalog_parent_on(const kh_catalog_t *c, const kh_unit_t *u, int32_t date)
{
    return u && u->parent[0] ? kh_catalog_unit_on(c, u->parent, date) : NULL;
}

int kh_catalog_depth(const kh_catalog_t *c)
{
    return c ? c->depth : 0;
}

const char *kh_catalog_level_name(const kh_catalog_t *c, int level, int32_t date, int en)
{
    if (!c)
        return NULL;
    const level_t *best = NULL;
    for (size_t i = 0; i < c->n_levels; i++) {
        const level_t *l = &c->levels[i];
        if (l->level != level)
            continue;
        if (kh_catalog_overlaps(l->valid_from, l->valid_to, date, date)) {
            best = l;
            break;
        }
        if (!best || l->valid_from > best->valid_from)
            best = l;
    }
    return best ? (en ? best->name_en : best->name_vi) : NULL;
}

size_t kh_catalog_reporters_ever(const kh_catalog_t *c, const kh_unit_t **out, size_t cap)
{
    if (!c)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < c->n_units; i++) {
        const kh_unit_t *u = &c->units[i];
        if (kh_htab_get(c->unit_ix, u->code) != (int32_t)i ||
            kh_catalog_reports_ever(c, u->code) != 1)
            continue;
        /* the latest row of the code (28756: the ward of 86, not of 829) */
        const kh_unit_t *latest = kh_catalog_unit_any(c, u->code);
        if (out && n < cap)
            out[n] = latest ? latest : u;
        n++;
    }
    return n;
}

size_t kh_catalog_reporters_on(const kh_catalog_t *c, int32_t yyyymmdd, const kh_unit_t **out,
                               size_t cap)
{
    if (!c)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < c->n_units; i++) {
        const kh_unit_t *u = &c->units[i];
        if (!kh_catalog_in_force(u, yyyymmdd) || kh_catalog_reports(c, u->code, yyyymmdd) != 1)
            continue;
        if (out && n < cap)
            out[n] = u;
        n++;
    }
    return n;
}

void kh_catalog_level_word(const kh_catalog_t *c, int level, int32_t date, int en, char *out,
                           size_t cap)
{
    const char *name = kh_catalog_level_name(c, level, date, en);
    if (!name) {
        snprintf(out, cap, en ? "level %d" : "cấp %d", level);
        return;
    }
    if (en) {
        snprintf(out, cap, "%s", name);
        return;
    }
    size_t len = cap - 1;
    uint8_t *low = u8_tolower((const uint8_t *)name, strlen(name), NULL, NULL,
                              (uint8_t *)out, &len);
    if (!low) {
        snprintf(out, cap, "%s", name);
        return;
    }
    if (low != (uint8_t *)out) {      /* did not fit: libunistring allocated */
        snprintf(out, cap, "%s", name);
        free(low);
        return;
    }
    out[len] = '\0';
}

/* ==== report periods ==================================================================== */

kh_pkind_t kh_catalog_report_kind(const kh_catalog_t *c)
{
    return c && c->report_kind == KH_P_YEAR ? KH_P_YEAR : KH_P_HALF;
}

int kh_catalog_is_report_period(const kh_catalog_t *c, const kh_period_t *p)
{
    if (!c || !p || (p->kind != KH_P_HALF && p->kind != KH_P_YEAR))
        return 0;
    const kh_catalog_t *pc = kh_catalog_for(c, kh_period_end(p));
    if (!pc)
        return p->kind == KH_P_HALF;    /* no programme then: NO_PROGRAMME says so */
    return kh_catalog_report_kind(pc) == p->kind;
}

int32_t kh_period_due(const kh_catalog_t *c, const kh_period_t *p)
{
    if (!c || !p || (p->kind != KH_P_HALF && p->kind != KH_P_YEAR))
        return 0;
    const kh_catalog_t *pc = kh_catalog_for(c, kh_period_end(p));
    if (pc)
        c = pc;             /* the calendar of the programme in force then */
    if (kh_catalog_report_kind(c) != p->kind)
        return 0;
    return p->year * 10000 + (p->kind == KH_P_HALF && p->half == 1 ? c->s1_due : c->s2_due);
}

int kh_catalog_period_closing(const kh_catalog_t *c, const kh_period_t *half,
                              kh_period_t *out)
{
    if (!half || half->kind != KH_P_HALF || !out)
        return 0;
    *out = *half;
    const kh_catalog_t *pc = c ? kh_catalog_for(c, kh_period_end(half)) : NULL;
    if (kh_catalog_report_kind(pc ? pc : c) != KH_P_YEAR)
        return 1;
    if (half->half != 2)
        return 0;                   /* the year's one report is made at its end */
    out->kind = KH_P_YEAR;
    out->half = 0;
    return 1;
}

int kh_catalog_check_period(const kh_catalog_t *c, const char *period, kh_period_t *out,
                            char *vi, size_t vcap, char *en, size_t ecap)
{
    kh_period_t p;
    int parsed = period && kh_period_parse(period, &p) == 0 &&
                 (p.kind == KH_P_HALF || p.kind == KH_P_YEAR);
    if (parsed && kh_catalog_is_report_period(c, &p)) {
        if (out)
            *out = p;
        return 0;
    }
    char sp[64];
    kh_findings_text(sp, sizeof sp, period ? period : "", 32);
    const kh_catalog_t *pc = parsed ? kh_catalog_for(c, kh_period_end(&p)) : NULL;
    if (pc && kh_catalog_report_kind(pc) == KH_P_YEAR) {
        snprintf(vi, vcap, "Kỳ báo cáo \"%s\" không hợp lệ: chương trình %s báo cáo mỗi năm "
                 "một lần, kỳ báo cáo là năm, ví dụ %04d", sp, kh_catalog_programme_name(pc, 0),
                 p.year);
        snprintf(en, ecap, "Malformed period \"%s\": programme %s reports once a year; the "
                 "period is the year, e.g. %04d", sp, kh_catalog_programme_name(pc, 1), p.year);
    } else {
        snprintf(vi, vcap, "Kỳ báo cáo \"%s\" không hợp lệ: phải có dạng NămS1 hoặc NămS2, ví "
                 "dụ 2018S1 (6 tháng đầu năm) hoặc 2018S2 (cả năm)", sp);
        snprintf(en, ecap, "Malformed period \"%s\": expected a half-year such as 2018S1 "
                 "(January-June) or 2018S2 (July-December)", sp);
    }
    return -1;
}

size_t kh_catalog_report_periods(const kh_catalog_t *c, const kh_period_t *p,
                                 char (*out)[8], size_t cap)
{
    size_t n = 0;
    kh_period_t q, r;
    for (size_t i = 0; kh_period_nth_half(p, i, &q); i++) {
        if (!kh_catalog_period_closing(c, &q, &r) ||
            (p->kind == KH_P_HALF && r.kind == KH_P_YEAR))
            continue;               /* a year's report is not within a half-year */
        if (out && n < cap)
            kh_period_format(&r, out[n], 8);
        n++;
    }
    return n;
}

/* ==== validation ======================================================================== */

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
