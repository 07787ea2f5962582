/*
 * notices.c — which notices are due, their ids and texts; see notices.h.
 */
#include "notices.h"
#include "kh_util.h"

#include <stdio.h>
#include <string.h>

const char *nt_kind_name(nt_kind_t k)
{
    switch (k) {
    case NT_REMINDER: return "reminder";
    case NT_LATE: return "late";
    case NT_MISSING: return "missing";
    case NT_LATE_REPORT: return "late";
    case NT_WARNINGS: return "warnings";
    case NT_COMPLETE: return "complete";
    }
    return "unknown";
}

const char *nt_kind_tag(nt_kind_t k)
{
    return k == NT_LATE_REPORT ? "late-report" : nt_kind_name(k);
}

/* ---- dates ------------------------------------------------------------------------ */

/* The notifier's dates (its clock, due dates) are years 1900..9999: the shared
 * yyyymmdd helpers (lib/base/kh_util.h) with that bound. */
int nt_date_valid(int32_t d) { return d >= 19000101 && kh_date_valid(d); }

int32_t nt_date_add(int32_t d, int days)
{
    int32_t r = nt_date_valid(d) ? kh_date_add(d, days) : 0;
    return nt_date_valid(r) ? r : 0;
}

int nt_date_parse(const char *s, int32_t *out)
{
    int32_t v;
    if (kh_date_parse(s, &v) < 0 || !nt_date_valid(v))
        return -1;
    *out = v;
    return 0;
}

/* ---- half-years ---------------------------------------------------------------------- */

size_t nt_periods_to_check(kh_period_t first, int32_t today, int reminder_days,
                           kh_period_t *out, size_t cap)
{
    if (!cap || !nt_date_valid(today) || first.kind != KH_P_HALF)
        return 0;
    int32_t horizon = nt_date_add(today, reminder_days > 0 ? reminder_days : 0);
    if (!horizon)
        horizon = today;
    kh_period_t last = kh_period_half_of(horizon);
    if (kh_period_cmp(&first, &last) > 0)
        return 0;
    /* the latest cap half-years: start at max(first, last - (cap - 1)) */
    long span = (long)(last.year * 2 + last.half) - (first.year * 2 + first.half) + 1;
    kh_period_t p = first;
    for (long skip = span - (long)cap; skip > 0; skip--)
        p = kh_period_next_half(p);
    size_t n = 0;
    for (; n < cap && kh_period_cmp(&p, &last) <= 0; p = kh_period_next_half(p))
        out[n++] = p;
    return n;
}

/* ---- what is due ---------------------------------------------------------------------- */

size_t nt_due_notices(const nt_policy_t *pol, int32_t today, int32_t due,
                      const nt_district_t *d, size_t n, nt_due_t *out, size_t cap)
{
    if (!pol || !nt_date_valid(today) || !nt_date_valid(due))
        return 0;
    size_t k = 0;
#define PUT(kind_, idx_)                                                                  \
    do {                                                                                  \
        if (k < cap) {                                                                    \
            out[k].kind = (kind_);                                                        \
            out[k].district = (idx_);                                                     \
            k++;                                                                          \
        }                                                                                 \
    } while (0)
    int32_t remind_from = pol->reminder_days > 0 ? nt_date_add(due, -pol->reminder_days) : 0;
    int32_t missing_after = nt_date_add(due, pol->grace_days > 0 ? pol->grace_days : 0);
    size_t counted = 0;
    for (size_t i = 0; i < n; i++) {
        counted += d[i].counted != 0;
        if (d[i].reported || d[i].counted)
            continue;
        if (remind_from && today >= remind_from && today <= due)
            PUT(NT_REMINDER, i);
        if (today > due)
            PUT(NT_LATE, i);
        if (missing_after && today > missing_after)
            PUT(NT_MISSING, i);
    }
    if (n > 0 && counted == n)
        PUT(NT_COMPLETE, (size_t)-1);
#undef PUT
    return k;
}

int nt_is_late(int32_t arrived, int32_t due) { return due > 0 && arrived > due; }

int nt_notice_id(nt_kind_t k, const char *period, const char *subject, unsigned rev,
                 char *out, size_t cap)
{
    int w;
    if (!period || !period[0])
        return -1;
    if (k == NT_COMPLETE)
        w = snprintf(out, cap, "complete/%s", period);
    else if (!subject || !subject[0])
        return -1;
    else if (k == NT_WARNINGS)
        w = snprintf(out, cap, "warnings/%s/%u", subject, rev);
    else
        w = snprintf(out, cap, "%s/%s/%s", nt_kind_tag(k), period, subject);
    return w < 0 || (size_t)w >= cap ? -1 : 0;
}

/* ---- texts ------------------------------------------------------------------------------ */

void nt_utf8_clean(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        int len = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 && *p >= 0xC2 ? 2
                : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 && *p <= 0xF4 ? 4 : 0;
        int ok = len > 0;
        for (int i = 1; ok && i < len; i++)
            ok = (p[i] & 0xC0) == 0x80;     /* also stops at the terminating NUL */
        if (ok && len == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] > 0x9F)))
            ok = 0;                         /* overlong, or a surrogate */
        if (ok && len == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] > 0x8F)))
            ok = 0;
        if (ok) {
            p += len;
            continue;
        }
        size_t rest = strlen((char *)p);
        if (rest < 4 && len > 1 && (size_t)len > rest) {
            *p = '\0';                      /* a character cut at the end: drop it */
            return;
        }
        *p++ = '?';
    }
}

static int texts_done(char *vi, char *en)
{
    nt_utf8_clean(vi);
    nt_utf8_clean(en);
    return 0;
}

int nt_texts(nt_kind_t k, const nt_text_args_t *a, char *vi, size_t vi_cap, char *en,
             size_t en_cap)
{
    char due_vi[16], due_en[16], d_vi[16], d_en[16];
    const char *name = a->name && a->name[0] ? a->name : a->district ? a->district : "?";
    const char *code = a->district ? a->district : "";
    kh_date_vi(a->due, due_vi, sizeof due_vi);
    kh_date_iso(a->due, due_en, sizeof due_en);
    switch (k) {
    case NT_REMINDER: {
        int left = kh_date_diff(a->due, a->today);
        snprintf(vi, vi_cap, "Nhắc hạn: báo cáo khuyến học kỳ %s của %s (%s) đến hạn ngày %s "
                 "(còn %d ngày); tỉnh chưa nhận được báo cáo.", a->period, name, code, due_vi,
                 left);
        snprintf(en, en_cap, "Reminder: the %s report of %s (%s) is due on %s (%d day%s "
                 "left); the province has not received it.", a->period, name, code, due_en,
                 left, left == 1 ? "" : "s");
        return texts_done(vi, en);
    }
    case NT_LATE:
        snprintf(vi, vi_cap, "Trễ hạn: %s (%s) chưa nộp báo cáo kỳ %s, hạn ngày %s.", name,
                 code, a->period, due_vi);
        snprintf(en, en_cap, "Late: %s (%s) has not sent its %s report, due on %s.", name,
                 code, a->period, due_en);
        return texts_done(vi, en);
    case NT_MISSING: {
        int over = kh_date_diff(a->today, a->due);
        snprintf(vi, vi_cap, "Thiếu báo cáo: %s (%s) vẫn chưa nộp báo cáo kỳ %s, đã quá hạn "
                 "%d ngày (hạn %s).", name, code, a->period, over, due_vi);
        snprintf(en, en_cap, "Missing: %s (%s) still has not sent its %s report, %d days "
                 "after the due date (%s).", name, code, a->period, over, due_en);
        return texts_done(vi, en);
    }
    case NT_LATE_REPORT: {
        int over = kh_date_diff(a->arrived, a->due);
        kh_date_vi(a->arrived, d_vi, sizeof d_vi);
        kh_date_iso(a->arrived, d_en, sizeof d_en);
        snprintf(vi, vi_cap, "Nộp trễ: báo cáo kỳ %s của %s (%s) đến ngày %s, trễ %d ngày so "
                 "với hạn %s.", a->period, name, code, d_vi, over, due_vi);
        snprintf(en, en_cap, "Late report: the %s report of %s (%s) arrived on %s, %d day%s "
                 "after the due date (%s).", a->period, name, code, d_en, over,
                 over == 1 ? "" : "s", due_en);
        return texts_done(vi, en);
    }
    case NT_WARNINGS:
        snprintf(vi, vi_cap, "Cảnh báo: báo cáo %s lần %u của %s (%s) được chấp nhận với %zu "
                 "cảnh báo; %s: %.300s", a->report_id ? a->report_id : "", a->revision, name,
                 code, a->n_warnings, a->first_code ? a->first_code : "",
                 a->first_vi ? a->first_vi : "");
        snprintf(en, en_cap, "Warnings: report %s revision %u of %s (%s) was accepted with "
                 "%zu warning%s; %s: %.300s", a->report_id ? a->report_id : "", a->revision,
                 name, code, a->n_warnings, a->n_warnings == 1 ? "" : "s",
                 a->first_code ? a->first_code : "", a->first_en ? a->first_en : "");
        return texts_done(vi, en);
    case NT_COMPLETE:
        snprintf(vi, vi_cap, "Đủ báo cáo: cả %zu đơn vị báo cáo đã có báo cáo kỳ %s được "
                 "tổng hợp; bảng tổng hợp của tỉnh đã đầy đủ.", a->n_districts, a->period);
        snprintf(en, en_cap, "Period complete: all %zu reporting units have a counted %s report; "
                 "the province's summary is whole.",
                 a->n_districts, a->period);
        return texts_done(vi, en);
    }
    return -1;
}
