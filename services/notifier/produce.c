/*
 * produce.c — notices made and stored once (notifier.h): each is one row of `notice`,
 * keyed by its id (notices.h) and inserted with ON CONFLICT DO NOTHING in the same
 * transaction as whatever it causes (a reminder queued for the reporting unit, a
 * delivery row for the webhook), so it is produced exactly once across kill -9 and
 * restarts.  From events (nt_produce_event) and from the calendar (nt_produce_tick).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_db.h"
#include "kh_log.h"
#include "kh_util.h"
#include "notifier.h"

static const char *district_name(const notifier_t *nt, const char *code, const char *period)
{
    /* the unit as it was at the period's end (an old period's notice keeps the old name),
     * else its latest row */
    kh_period_t p;
    const kh_unit_t *u = NULL;
    if (code && code[0] && period && kh_period_parse(period, &p) == 0)
        u = kh_catalog_unit_on(nt->cat, code, kh_period_end(&p));
    if (!u && code && code[0])
        u = kh_catalog_unit_any(nt->cat, code);
    return u && u->name ? u->name : code ? code : "";
}

/* The reminder as a RECEIPT for the district's node, queued in the current
 * transaction.  It expires at the end of the due date: a node that has not taken it by
 * then never will need it, so neither outbox (ours, the collector's) resends it for ever.
 * Returns 0 or -1. */
static int queue_reminder(notifier_t *nt, const char *id, const char *period,
                          const char *district, int32_t due, const char *vi, const char *en)
{
    int64_t expires = kh_date_start_ms(kh_date_add(due, 1));
    Kh__Finding f = KH__FINDING__INIT;
    Kh__Finding *fp = &f;
    f.code = "REMINDER";
    f.message_vi = (char *)vi;
    f.message_en = (char *)en;
    Kh__Receipt r = KH__RECEIPT__INIT;
    r.event_id = (char *)id;
    r.district = (char *)district;
    r.period = (char *)period;
    r.stage = KH__STAGE__STAGE_REMINDER;
    r.findings = &fp;
    r.n_findings = 1;
    r.at = kh_now_ms();
    r.expires_at = expires > 0 ? expires : 0;
    return kh_link_put_msg_until(nt->to_collector, "", id, KH_T_RECEIPT, &r.base,
                                 r.expires_at) < 0 ? -1 : 0;
}

/* Makes notice `kind` once (inside the open transaction).  district NULL for the
 * province-wide kinds.  Returns 1 made now, 0 made before, -1 storage error. */
static int make_notice(notifier_t *nt, nt_kind_t kind, const char *id,
                       const nt_text_args_t *a)
{
    char vi[1024], en[1024], iso[40], day[16];
    if (nt_texts(kind, a, vi, sizeof vi, en, sizeof en) < 0)
        return -1;
    const char *district = a->district ? a->district : "";
    const char *name = district[0] ? district_name(nt, district, a->period) : "";
    int64_t now = kh_now_ms();
    kh_iso_time(now, iso, sizeof iso);
    kh_date_iso(a->today, day, sizeof day);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "kind",
                          nt_kind_name(kind), "period", a->period, "district", district,
                          "district_name", name, "text_vi", vi, "text_en", en, "at", iso,
                          "date", day);
    if (o && kind == NT_WARNINGS && a->report_id)
        json_object_set_new(o, "report_id", json_string(a->report_id));
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!body)
        return -1;
    sqlite3_stmt *st = nt->st_notice;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, nt_kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->period, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, district, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, vi, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, en, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 7, a->today);
    sqlite3_bind_int64(st, 8, now);
    sqlite3_bind_text(st, 9, body, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    int rc = -1;
    if (step != SQLITE_DONE)
        goto out;
    if (sqlite3_changes(nt->db) == 0) {
        rc = 0;
        goto out;
    }
    if (kind == NT_REMINDER) {
        if (queue_reminder(nt, id, a->period, district, a->due, vi, en) < 0)
            goto out;
        nt->reminders++;
        KH_INFO("notify.reminder", en, "notice_id", id, "district", district, "period",
                a->period, "msg_vi", vi);
    } else {
        if (nt->wh) {
            /* delivery times are the machine's (the retry schedule, give_up_s) */
            int64_t real = kh_real_ms();
            st = nt->st_delivery;
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, real);
            sqlite3_bind_int64(st, 3, real);
            step = sqlite3_step(st);
            sqlite3_reset(st);
            if (step != SQLITE_DONE)
                goto out;
        }
        nt->alerts++;
        if (kind == NT_COMPLETE)
            KH_INFO("notify.alert", en, "notice_id", id, "kind", nt_kind_name(kind), "period",
                    a->period, "msg_vi", vi);
        else
            KH_WARN("notify.alert", en, "notice_id", id, "kind", nt_kind_name(kind),
                    "district", district, "period", a->period, "report_id", a->report_id,
                    "msg_vi", vi);
    }
    rc = 1;
out:
    if (rc < 0)
        KH_ERROR("notify.store", "could not store a notice; it will be made again",
                 "notice_id", id, "error", sqlite3_errmsg(nt->db));
    free(body);
    return rc;
}

/* The reporting units of period p (reporters.csv, in force at its end) with what is known
 * of their reports, into *d_out and *codes_out (malloc'd; the caller frees both).
 * Returns the count, or -1 on a database error or when out of memory. */
static int period_state(notifier_t *nt, const char *period, const kh_period_t *p,
                        nt_district_t **d_out, char (**codes_out)[KH_CODE_MAX])
{
    int32_t end = kh_period_end(p);
    /* no programme in force then: nothing is reported for the period, nobody reminded */
    size_t n = kh_catalog_for(nt->cat, end) ? kh_catalog_reporters_on(nt->cat, end, NULL, 0) : 0;
    const kh_unit_t **units = calloc(n ? n : 1, sizeof *units);
    nt_district_t *d = calloc(n ? n : 1, sizeof *d);
    char (*codes)[KH_CODE_MAX] = calloc(n ? n : 1, sizeof *codes);
    *d_out = d;
    *codes_out = codes;
    if (!units || !d || !codes) {
        free(units);
        KH_ERROR("notify.oom", "out of memory listing the reporting units", "period", period);
        return -1;
    }
    if (n)
        kh_catalog_reporters_on(nt->cat, end, units, n);
    sqlite3_stmt *st = nt->st_rep_get;
    for (size_t i = 0; i < n; i++) {
        kh_strlcpy(codes[i], units[i]->code, KH_CODE_MAX);
        d[i].code = codes[i];
        d[i].reported = d[i].counted = 0;
        sqlite3_bind_text(st, 1, period, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, codes[i], -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            d[i].reported = 1;
            d[i].counted = sqlite3_column_int(st, 0) != 0;
        }
        sqlite3_reset(st);
        if (step != SQLITE_ROW && step != SQLITE_DONE) {
            free(units);
            return -1;
        }
    }
    free(units);
    return (int)n;
}

/* Makes every notice due for report period p (a half-year, or a year when its programme
 * reports yearly) on `day` (complete_only: just the period-complete one).  Inside a
 * transaction.  Returns 0 or -1. */
static int check_period(notifier_t *nt, kh_period_t p, int32_t day, int complete_only)
{
    char period[12], id[NOTICE_ID_MAX];
    char (*codes)[KH_CODE_MAX] = NULL;
    nt_district_t *d = NULL;
    nt_due_t *due_list = NULL;
    int rc = -1;
    kh_period_format(&p, period, sizeof period);
    int n = period_state(nt, period, &p, &d, &codes);
    if (n < 0)
        goto out;
    size_t cap = 2 * (size_t)n + 1;
    if (!(due_list = malloc(cap * sizeof *due_list)))
        goto out;
    int32_t due = kh_period_due(nt->cat, &p);
    size_t k = nt_due_notices(&nt->pol, day, due, d, (size_t)n, due_list, cap);
    for (size_t i = 0; i < k; i++) {
        nt_kind_t kind = due_list[i].kind;
        if (complete_only && kind != NT_COMPLETE)
            continue;
        const char *code = kind == NT_COMPLETE ? NULL : d[due_list[i].district].code;
        nt_text_args_t a = {.period = period, .district = code,
                            .name = code ? district_name(nt, code, period) : NULL, .due = due,
                            .today = day, .n_districts = (size_t)n};
        if (nt_notice_id(kind, period, code, 0, id, sizeof id) < 0 ||
            make_notice(nt, kind, id, &a) < 0)
            goto out;
    }
    rc = 0;
out:
    free(due_list);
    free(codes);
    free(d);
    return rc;
}

/* What an event tells about reports: `reported`, then late report, warnings and
 * period-complete notices.  Inside the inbox's transaction.  Returns 0 or -1. */
int nt_produce_event(notifier_t *nt, const Kh__Receipt *e)
{
    if (e->stage != KH__STAGE__STAGE_ACCEPTED && e->stage != KH__STAGE__STAGE_COUNTED &&
        e->stage != KH__STAGE__STAGE_SUPERSEDED)
        return 0;
    kh_period_t p;
    if (kh_period_parse(e->period, &p) < 0 || !kh_catalog_is_report_period(nt->cat, &p))
        return 0;                 /* the validator refuses these; nothing to track */
    int32_t on = kh_ms_to_date(e->at > 0 ? e->at : kh_now_ms());
    int counted = e->stage == KH__STAGE__STAGE_COUNTED;
    sqlite3_stmt *st = nt->st_rep_ins;
    sqlite3_bind_text(st, 1, e->period, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, e->district, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, on);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step != SQLITE_DONE)
        return -1;
    int first = sqlite3_changes(nt->db) > 0;
    if (counted) {
        st = nt->st_rep_count;
        sqlite3_bind_text(st, 1, e->period, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, e->district, -1, SQLITE_STATIC);
        step = sqlite3_step(st);
        sqlite3_reset(st);
        if (step != SQLITE_DONE)
            return -1;
    }
    if (kh_period_cmp(&p, &nt->first) < 0)
        return 0;                 /* before first_period: kept, but no notices */
    int32_t due = kh_period_due(nt->cat, &p);
    char id[NOTICE_ID_MAX];
    nt_text_args_t a = {.period = e->period, .district = e->district,
                        .name = district_name(nt, e->district, e->period), .due = due, .today = on,
                        .arrived = on};
    if (first && nt_is_late(on, due) &&
        (nt_notice_id(NT_LATE_REPORT, e->period, e->district, 0, id, sizeof id) < 0 ||
         make_notice(nt, NT_LATE_REPORT, id, &a) < 0))
        return -1;
    if (e->stage == KH__STAGE__STAGE_ACCEPTED) {
        size_t nw = 0;
        const Kh__Finding *fw = NULL;
        for (size_t i = 0; i < e->n_findings; i++)
            if (!e->findings[i]->is_error && nw++ == 0)
                fw = e->findings[i];
        if (nw) {
            a.report_id = e->report_id;
            a.revision = e->revision;
            a.n_warnings = nw;
            a.first_code = fw->code;
            a.first_vi = fw->message_vi;
            a.first_en = fw->message_en;
            if (nt_notice_id(NT_WARNINGS, e->period, e->report_id, e->revision, id,
                             sizeof id) < 0 ||
                make_notice(nt, NT_WARNINGS, id, &a) < 0)
                return -1;
        }
    }
    if (counted && check_period(nt, p, on, 1) < 0)
        return -1;
    return 0;
}

/* ---- the calendar timer -------------------------------------------------------------------- */

static void check_calendar(notifier_t *nt)
{
    if (nt->svc->stopping || kh_inbox_flush(nt->inbox) < 0)
        return;
    int32_t day = kh_today();     /* the pipeline's day */
    kh_period_t ps[MAX_PERIODS];
    size_t n = nt_periods_to_check(nt->first, day, nt->pol.reminder_days, ps, MAX_PERIODS);
    if (n == 0 || kh_db_exec(nt->db, "BEGIN IMMEDIATE", "notify.check") < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        kh_period_t q;       /* the half-year's report period: itself, or its year */
        if (!kh_catalog_period_closing(nt->cat, &ps[i], &q))
            continue;
        if (check_period(nt, q, day, 0) < 0) {
            kh_db_exec(nt->db, "ROLLBACK", "notify.check");
            KH_ERROR("notify.check", "the calendar check failed; tried again at the next tick",
                     "error", sqlite3_errmsg(nt->db));
            return;
        }
    }
    if (kh_db_exec(nt->db, "COMMIT", "notify.check") < 0) {
        kh_db_exec(nt->db, "ROLLBACK", "notify.check");
        return;
    }
    kh_link_pump(nt->to_collector);
    nt_delivery_due(nt);
}

void nt_produce_tick(uv_timer_t *t) { check_calendar(t->data); }
