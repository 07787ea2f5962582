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
 */
#include "kh_catalog_int.h"
#include "kh_findings.h"
#include "kh_util.h"

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
