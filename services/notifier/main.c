/*
 * kh-notifier — turns events into messages.
 *
 * Each EVENT (a Receipt: accepted, rejected with every reason, counted with the feed
 * sequence, superseded) is stored once by its event id, logged for the admins in
 * English with the Vietnamese text beside it, and queued as a RECEIPT for the
 * district's node through the collector.  From the events it also keeps which
 * districts have an accepted / counted report for which half-year (table `reported`).
 *
 * Notices (services/notifier/notices.h says which are due when): a timer
 * ([notifier] check_interval_s) looks at the calendar ([calendar], the catalogue's
 * districts in force for each half-year from first_period on) and "today" (the
 * pipeline's clock, [general] clock: kh_util.h); events give late reports, warnings and the period-
 * complete notice.  Each notice is one row of `notice`, keyed by its id and inserted
 * with ON CONFLICT DO NOTHING in the same transaction as whatever it causes, so it is
 * produced exactly once, across kill -9 and restarts:
 *   - a reminder goes to the district as a RECEIPT with stage STAGE_REMINDER (the
 *     collector routes it like any receipt; the node stores and shows it);
 *   - a province alert (late, missing, warnings, complete) goes to the log and, when
 *     [notifier] webhook_url is set, gets a `delivery` row: POSTed as JSON by libcurl's
 *     multi interface inside the loop (webhook.c), each attempt recorded in `attempt`,
 *     retried on the webhook_retry schedule until a 2xx answer, or given up (logged as
 *     an error) after webhook_max_attempts or webhook_give_up_s.  Rows stay until then,
 *     so a restart resumes; the notice id travels in the body and in Idempotency-Key.
 *
 * Sockets: listen (ROUTER, from validator and aggregator) · collector (DEALER) · log.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh.pb-c.h"
#include "kh_db.h"
#include "kh_inbox.h"
#include "kh_link.h"
#include "kh_log.h"
#include "kh_metrics.h"
#include "kh_service.h"
#include "kh_stage.h"
#include "kh_util.h"
#include "notices.h"
#include "webhook.h"

static const char *const migrations[] = {
    "CREATE TABLE event (event_id TEXT PRIMARY KEY, report_id TEXT NOT NULL,"
    " revision INTEGER NOT NULL, district TEXT NOT NULL, period TEXT NOT NULL,"
    " stage INTEGER NOT NULL, at INTEGER NOT NULL, payload BLOB NOT NULL);"
    KH_OUTBOX_SCHEMA("collector"),
    /* 2: notices (issue 6) */
    "CREATE TABLE reported (period TEXT NOT NULL, district TEXT NOT NULL,"
    " first_on INTEGER NOT NULL, counted INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (period, district));"
    "CREATE TABLE notice (id TEXT PRIMARY KEY, kind TEXT NOT NULL, period TEXT NOT NULL,"
    " district TEXT NOT NULL, text_vi TEXT NOT NULL, text_en TEXT NOT NULL,"
    " made_on INTEGER NOT NULL, created_at INTEGER NOT NULL, body TEXT NOT NULL);"
    "CREATE TABLE delivery (notice_id TEXT PRIMARY KEY REFERENCES notice(id),"
    " attempts INTEGER NOT NULL DEFAULT 0, http_status INTEGER, last_error TEXT,"
    " next_at INTEGER NOT NULL, created_at INTEGER NOT NULL, delivered_at INTEGER,"
    " gave_up_at INTEGER);"
    "CREATE INDEX delivery_due ON delivery(next_at)"
    " WHERE delivered_at IS NULL AND gave_up_at IS NULL;"
    "CREATE TABLE attempt (notice_id TEXT NOT NULL, n INTEGER NOT NULL, at INTEGER NOT NULL,"
    " http_status INTEGER, error TEXT, PRIMARY KEY (notice_id, n));"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    /* 3: outbox expiry: a reminder not delivered by its due date is dropped (issue 10) */
    KH_OUTBOX_EXPIRY("collector"),
};

#define MAX_PERIODS 40          /* half-years checked per tick (the latest ones) */
#define MAX_RETRY_STEPS 16
#define DELIVER_TICK_MS 500
#define NOTICE_ID_MAX 160

typedef struct {
    kh_stage_t *st;              /* the skeleton (lib/kh_stage.h); and what it lends: */
    kh_service_t *svc;
    sqlite3 *db;
    kh_catalog_t *cat;
    kh_inbox_t *inbox;
    kh_link_t *to_collector;
    uv_timer_t check_timer, deliver_timer;
    sqlite3_stmt *st_event, *st_rep_ins, *st_rep_count, *st_rep_get, *st_notice, *st_delivery;
    /* [notifier] */
    nt_policy_t pol;
    kh_period_t first;           /* the first half-year notices are made for */
    long check_interval_s;
    char webhook_url[1024];
    long wh_timeout_ms, wh_max_attempts, wh_give_up_s, wh_max_inflight;
    long retry_s[MAX_RETRY_STEPS];
    int n_retry;
    wh_t *wh;                    /* NULL: webhook off */
    kh_metric_t *m_pending;      /* gauge: deliveries not done */
    int curl_on;                 /* curl_global_init done */
    /* counters */
    uint64_t events, reminders, alerts, wh_delivered, wh_failed, wh_retries,
        wh_gave_up;
} notifier_t;

static const char *stage_name(Kh__Stage s)
{
    switch (s) {
    case KH__STAGE__STAGE_RECEIVED: return "received";
    case KH__STAGE__STAGE_ACCEPTED: return "accepted";
    case KH__STAGE__STAGE_REJECTED: return "rejected";
    case KH__STAGE__STAGE_COUNTED: return "counted";
    case KH__STAGE__STAGE_SUPERSEDED: return "superseded";
    case KH__STAGE__STAGE_REMINDER: return "reminder";
    default: return "unknown";
    }
}

static int32_t today(void) { return kh_today(); }   /* the pipeline's day */

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

/* ---- notices ------------------------------------------------------------------------ */

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
static int event_notices(notifier_t *nt, const Kh__Receipt *e)
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
    if (nt_period_cmp(p, nt->first) < 0)
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

/* ---- events ------------------------------------------------------------------------- */

static int apply(void *arg, const kh_wmsg_t *m, char *key, size_t keycap)
{
    notifier_t *nt = arg;
    Kh__Receipt *e = kh__receipt__unpack(NULL, m->len, m->payload);
    if (!e || !e->event_id[0] || strlen(e->event_id) >= keycap || !e->district[0] ||
        strlen(e->district) >= KH_CODE_MAX || e->stage == KH__STAGE__STAGE_REMINDER) {
        /* (a period that is no half-year is carried: the validator rejected that report,
         * and its receipt must reach the node; event_notices skips it) */
        kh_stage_malformed(nt->st);
        KH_WARN("event.malformed", "an EVENT does not decode, has no id or district, or is "
                "not a report's event");
        if (e)
            kh__receipt__free_unpacked(e, NULL);
        return KH_APPLY_BAD;
    }
    snprintf(key, keycap, "%s", e->event_id);
    sqlite3_stmt *st = nt->st_event;
    sqlite3_bind_text(st, 1, e->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, e->report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, e->revision);
    sqlite3_bind_text(st, 4, e->district, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, e->period, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, e->stage);
    sqlite3_bind_int64(st, 7, e->at);
    sqlite3_bind_blob(st, 8, m->payload, (int)m->len, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    int rc;
    if (step != SQLITE_DONE) {
        rc = KH_APPLY_FAIL;
    } else if (sqlite3_changes(nt->db) == 0) {
        rc = KH_APPLY_DUP;
    } else if (kh_link_put(nt->to_collector, "", e->event_id, KH_T_RECEIPT, m->payload,
                           m->len) < 0 || event_notices(nt, e) < 0) {
        rc = KH_APPLY_FAIL;
    } else {
        nt->events++;
        char msg[512];
        size_t errors = 0;
        for (size_t i = 0; i < e->n_findings; i++)
            errors += e->findings[i]->is_error;
        snprintf(msg, sizeof msg, "report %s revision %u %s (%zu errors, %zu warnings)%s%.200s",
                 e->report_id, e->revision, stage_name(e->stage), errors,
                 e->n_findings - errors, e->n_findings ? ": " : "",
                 e->n_findings ? e->findings[0]->message_en : "");
        if (e->stage == KH__STAGE__STAGE_REJECTED)
            KH_WARN("notify.receipt", msg, "report_id", e->report_id, "district", e->district,
                    "period", e->period, "stage", stage_name(e->stage),
                    "msg_vi", e->n_findings ? e->findings[0]->message_vi : NULL);
        else
            KH_INFO("notify.receipt", msg, "report_id", e->report_id, "district", e->district,
                    "period", e->period, "stage", stage_name(e->stage));
        rc = KH_APPLY_NEW;
    }
    kh__receipt__free_unpacked(e, NULL);
    return rc;
}

/* ---- webhook deliveries ------------------------------------------------------------------ */

/* POSTs what is due and not in flight.  Nothing is read before the inbox's open batch
 * is committed (a notice made in it could still be rolled back). */
static void deliver_due(notifier_t *nt)
{
    if (!nt->wh || nt->svc->stopping || wh_room(nt->wh) <= 0 || kh_inbox_flush(nt->inbox) < 0)
        return;
    sqlite3_stmt *st = kh_db_prepare(nt->db, "SELECT count(*) FROM delivery WHERE "
                                             "delivered_at IS NULL AND gave_up_at IS NULL");
    if (st && sqlite3_step(st) == SQLITE_ROW)
        kh_metric_set(nt->m_pending, sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
    st = kh_db_prepare(nt->db, "SELECT d.notice_id, n.body FROM delivery d "
                               "JOIN notice n ON n.id = d.notice_id "
                               "WHERE d.delivered_at IS NULL AND d.gave_up_at IS NULL "
                               "AND d.next_at <= ? ORDER BY d.next_at LIMIT ?");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, kh_real_ms());
    sqlite3_bind_int(st, 2, (int)nt->wh_max_inflight * 2);
    while (wh_room(nt->wh) > 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *body = (const char *)sqlite3_column_text(st, 1);
        if (!id || !body || wh_busy(nt->wh, id))
            continue;
        if (wh_post(nt->wh, id, body) < 0)
            KH_ERROR("webhook.post", "could not start a request; tried again later",
                     "notice_id", id);
    }
    sqlite3_finalize(st);
}

static void on_deliver_timer(uv_timer_t *t) { deliver_due(t->data); }

/* One request ended: record the attempt, then delivered, a retry time, or give up. */
static void on_delivered(void *arg, const char *id, long status, const char *error)
{
    notifier_t *nt = arg;
    int64_t now = kh_real_ms();
    char st_s[16];
    snprintf(st_s, sizeof st_s, "%ld", status);
    if (kh_inbox_flush(nt->inbox) < 0 || kh_db_exec(nt->db, "BEGIN IMMEDIATE", "webhook") < 0) {
        KH_ERROR("webhook.record", "cannot record a delivery attempt: it stays due and is "
                 "sent again (the receiver de-duplicates by id)", "notice_id", id);
        return;
    }
    sqlite3_stmt *q = kh_db_prepare(nt->db, "SELECT attempts, created_at FROM delivery "
                                            "WHERE notice_id = ?");
    sqlite3_stmt *ins = kh_db_prepare(nt->db, "INSERT INTO attempt(notice_id,n,at,http_status,"
                                              "error) VALUES(?,?,?,?,?) ON CONFLICT DO NOTHING");
    sqlite3_stmt *up = kh_db_prepare(nt->db, "UPDATE delivery SET attempts=?2, http_status=?3,"
                                             " last_error=?4, delivered_at=?5, next_at=?6,"
                                             " gave_up_at=?7 WHERE notice_id=?1");
    int ok = 0;
    long attempts = 0;
    int64_t created = now, next = now;
    int give_up = 0;
    if (!q || !ins || !up)
        goto done;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW)
        goto done;
    attempts = (long)sqlite3_column_int64(q, 0) + 1;
    created = sqlite3_column_int64(q, 1);
    if (error) {
        long wait = nt->retry_s[attempts - 1 < nt->n_retry ? attempts - 1 : nt->n_retry - 1];
        next = now + wait * 1000;
        give_up = (nt->wh_max_attempts > 0 && attempts >= nt->wh_max_attempts) ||
                  (nt->wh_give_up_s > 0 && next - created > nt->wh_give_up_s * 1000);
    }
    sqlite3_bind_text(ins, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 2, attempts);
    sqlite3_bind_int64(ins, 3, now);
    if (status)
        sqlite3_bind_int64(ins, 4, status);
    sqlite3_bind_text(ins, 5, error, -1, SQLITE_STATIC);
    sqlite3_bind_text(up, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(up, 2, attempts);
    if (status)
        sqlite3_bind_int64(up, 3, status);
    sqlite3_bind_text(up, 4, error, -1, SQLITE_STATIC);
    if (!error)
        sqlite3_bind_int64(up, 5, now);
    sqlite3_bind_int64(up, 6, next);
    if (give_up)
        sqlite3_bind_int64(up, 7, now);
    ok = sqlite3_step(ins) == SQLITE_DONE && sqlite3_step(up) == SQLITE_DONE;
done:
    sqlite3_finalize(q);
    sqlite3_finalize(ins);
    sqlite3_finalize(up);
    if (!ok || kh_db_exec(nt->db, "COMMIT", "webhook") < 0) {
        kh_db_exec(nt->db, "ROLLBACK", "webhook");
        KH_ERROR("webhook.record", "cannot record a delivery attempt: it stays due and is "
                 "sent again (the receiver de-duplicates by id)", "notice_id", id,
                 "error", sqlite3_errmsg(nt->db));
        return;
    }
    char att[24], msg[400];
    snprintf(att, sizeof att, "%ld", attempts);
    if (!error) {
        nt->wh_delivered++;
        KH_INFO("webhook.delivered", "notice delivered", "notice_id", id, "http_status", st_s,
                "attempts", att);
    } else if (give_up) {
        nt->wh_failed++;
        nt->wh_gave_up++;
        snprintf(msg, sizeof msg, "webhook delivery given up after %ld attempt(s): %.200s",
                 attempts, error);
        KH_ERROR("webhook.give_up", msg, "notice_id", id, "http_status", st_s, "attempts", att);
    } else {
        nt->wh_failed++;
        nt->wh_retries++;
        snprintf(msg, sizeof msg, "webhook delivery failed (%.200s); retry in %lld s", error,
                 (long long)((next - now) / 1000));
        KH_WARN("webhook.retry", msg, "notice_id", id, "http_status", st_s, "attempts", att);
    }
    uv_timer_start(&nt->deliver_timer, on_deliver_timer, 0, DELIVER_TICK_MS);
}

/* ---- the calendar timer -------------------------------------------------------------------- */

static void check_calendar(notifier_t *nt)
{
    if (nt->svc->stopping || kh_inbox_flush(nt->inbox) < 0)
        return;
    int32_t day = today();
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
    deliver_due(nt);
}

static void on_check_timer(uv_timer_t *t) { check_calendar(t->data); }

/* ---- the stage ---------------------------------------------------------------------------- */

/* Once the self-checks passed (a tcp log stream's, if any). */
static void say_ready(void *arg)
{
    notifier_t *nt = arg;
    kh_service_ready(nt->svc, "notifying", "listen", kh_stage_listen(nt->st));
}

static void on_stop(void *arg)
{
    notifier_t *nt = arg;
    uv_close((uv_handle_t *)&nt->check_timer, NULL);
    uv_close((uv_handle_t *)&nt->deliver_timer, NULL);
    if (nt->wh)
        wh_close(nt->wh);        /* what is in flight stays due in the database */
    nt->wh = NULL;
}

/* ---- configuration ------------------------------------------------------------------------ */

static int conf_long(notifier_t *nt, const char *key, long *out)
{
    char err[256];
    if (kh_config_long(nt->svc->cfg, "notifier", key, out, err, sizeof err) < 0) {
        KH_ERROR("config.error", err, "config", nt->svc->config_path);
        return -1;
    }
    return 0;
}

static int configure(notifier_t *nt)
{
    long rd, gd;
    char buf[256];
    if (conf_long(nt, "reminder_days", &rd) ||
        conf_long(nt, "grace_days", &gd) ||
        conf_long(nt, "check_interval_s", &nt->check_interval_s) ||
        conf_long(nt, "webhook_timeout_ms", &nt->wh_timeout_ms) ||
        conf_long(nt, "webhook_max_attempts", &nt->wh_max_attempts) ||
        conf_long(nt, "webhook_give_up_s", &nt->wh_give_up_s) ||
        conf_long(nt, "webhook_max_inflight", &nt->wh_max_inflight))
        return -1;
    nt->pol.reminder_days = (int)rd;
    nt->pol.grace_days = (int)gd;
    if (kh_config_str(nt->svc->cfg, "notifier", "webhook_url", nt->webhook_url,
                      sizeof nt->webhook_url) < 0 ||
        (nt->webhook_url[0] && strncmp(nt->webhook_url, "http://", 7) != 0 &&
         strncmp(nt->webhook_url, "https://", 8) != 0)) {
        KH_ERROR("config.error", "[notifier] webhook_url must be an http:// or https:// URL "
                 "(or empty: no webhook)", "config", nt->svc->config_path);
        return -1;
    }
    if (kh_config_str(nt->svc->cfg, "notifier", "webhook_retry", buf,
                      sizeof buf) < 0)
        buf[0] = '\0';
    nt->n_retry = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save)) {
        long v;
        if (nt->n_retry == MAX_RETRY_STEPS || kh_parse_long(tok, 1, 86400, &v) < 0) {
            nt->n_retry = 0;
            break;
        }
        nt->retry_s[nt->n_retry++] = v;
    }
    if (nt->n_retry == 0) {
        KH_ERROR("config.error", "[notifier] webhook_retry must list 1 to 16 waits in seconds "
                 "(1..86400), e.g. 10,30,60,300", "config", nt->svc->config_path);
        return -1;
    }
    return 0;
}

/* first_period: the configured one, else the one stored at the first start, else the
 * half-year of today (stored, so that a restart in a later half-year still checks it). */
static int first_period(notifier_t *nt)
{
    char buf[32];
    if (kh_config_str(nt->svc->cfg, "notifier", "first_period", buf, sizeof buf) < 0)
        buf[0] = '\0';
    if (buf[0]) {
        if (kh_period_parse(buf, &nt->first) < 0 || nt->first.kind != KH_P_HALF) {
            KH_ERROR("config.error", "[notifier] first_period must be a half-year (2020S2)",
                     "config", nt->svc->config_path);
            return -1;
        }
        return 0;
    }
    sqlite3_stmt *st = kh_db_prepare(nt->db, "SELECT value FROM meta WHERE key='first_period'");
    int found = st && sqlite3_step(st) == SQLITE_ROW &&
                kh_period_parse((const char *)sqlite3_column_text(st, 0), &nt->first) == 0;
    sqlite3_finalize(st);
    if (found)
        return 0;
    nt->first = nt_period_of(today());
    kh_period_format(&nt->first, buf, sizeof buf);
    st = kh_db_prepare(nt->db, "INSERT INTO meta(key,value) VALUES('first_period',?) "
                               "ON CONFLICT DO NOTHING");
    int ok = st && sqlite3_bind_text(st, 1, buf, -1, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    if (!ok) {
        KH_ERROR("db.error", "cannot store first_period", "error", sqlite3_errmsg(nt->db));
        return -1;
    }
    KH_INFO("notify.first_period", "no [notifier] first_period: notices start with the "
            "current half-year (kept in notifier.db)", "period", buf);
    return 0;
}

/* What the skeleton does not: [notifier]'s options, the first half-year, the statements,
 * the webhook, the calendar and delivery timers. */
static int setup(kh_stage_t *st, void *arg)
{
    notifier_t *nt = arg;
    kh_service_t *s = kh_stage_service(st);
    nt->st = st;
    nt->svc = s;
    nt->db = kh_stage_db(st);
    nt->cat = kh_stage_catalog(st);
    nt->inbox = kh_stage_inbox(st);
    nt->to_collector = kh_stage_link(st, 0);
    if (configure(nt) < 0)
        return -1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        KH_ERROR("service.start", "curl_global_init failed");
        return -1;
    }
    nt->curl_on = 1;
    if (first_period(nt) < 0)
        return -1;
    nt->st_event = kh_db_prepare(nt->db, "INSERT INTO event(event_id,report_id,revision,district,"
                                         "period,stage,at,payload) VALUES(?,?,?,?,?,?,?,?) "
                                         "ON CONFLICT DO NOTHING");
    nt->st_rep_ins = kh_db_prepare(nt->db, "INSERT INTO reported(period,district,first_on) "
                                           "VALUES(?,?,?) ON CONFLICT DO NOTHING");
    nt->st_rep_count = kh_db_prepare(nt->db, "UPDATE reported SET counted=1 WHERE period=? AND "
                                             "district=?");
    nt->st_rep_get = kh_db_prepare(nt->db, "SELECT counted FROM reported WHERE period=? AND "
                                           "district=?");
    nt->st_notice = kh_db_prepare(nt->db, "INSERT INTO notice(id,kind,period,district,text_vi,"
                                          "text_en,made_on,created_at,body) "
                                          "VALUES(?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING");
    nt->st_delivery = kh_db_prepare(nt->db, "INSERT INTO delivery(notice_id,next_at,created_at) "
                                            "VALUES(?,?,?) ON CONFLICT DO NOTHING");
    if (!nt->st_event || !nt->st_rep_ins || !nt->st_rep_count || !nt->st_rep_get ||
        !nt->st_notice || !nt->st_delivery)
        return -1;
    if (nt->webhook_url[0]) {
        nt->wh = wh_new(&s->loop, nt->webhook_url, nt->wh_timeout_ms, (int)nt->wh_max_inflight,
                        on_delivered, nt);
        if (!nt->wh)
            return -1;
    }
    uv_timer_init(&s->loop, &nt->check_timer);
    nt->check_timer.data = nt;
    uv_timer_start(&nt->check_timer, on_check_timer, 200, (uint64_t)nt->check_interval_s * 1000);
    uv_timer_init(&s->loop, &nt->deliver_timer);
    nt->deliver_timer.data = nt;
    if (nt->wh)
        uv_timer_start(&nt->deliver_timer, on_deliver_timer, 100, DELIVER_TICK_MS);
    /* health (kh-admin status, GET /metrics; lib/kh_metrics.h) */
    kh_service_watch_count(s, "kh_events_total", "Report events stored and sent to the "
                           "reporting units as receipts.", NULL, NULL, &nt->events);
    /* one family, one help text: kind="reminder" to reporting units, kind="alert" to the province */
    static const char notices_help[] = "Notices made: reminders to reporting units (kind=reminder), "
                                       "alerts to the province: late, missing, warnings, "
                                       "complete (kind=alert).";
    kh_service_watch_count(s, "kh_notices_total", notices_help, "kind", "reminder",
                           &nt->reminders);
    kh_service_watch_count(s, "kh_notices_total", notices_help, "kind", "alert", &nt->alerts);
    kh_service_watch_count(s, "kh_webhook_delivered_total", "Alerts the webhook answered 2xx.",
                           NULL, NULL, &nt->wh_delivered);
    kh_service_watch_count(s, "kh_webhook_failed_total", "Webhook attempts that failed.",
                           NULL, NULL, &nt->wh_failed);
    kh_service_watch_count(s, "kh_webhook_retries_total", "Webhook attempts scheduled again "
                           "after a failure.", NULL, NULL, &nt->wh_retries);
    kh_service_watch_count(s, "kh_webhook_given_up_total", "Webhook deliveries given up.",
                           NULL, NULL, &nt->wh_gave_up);
    nt->m_pending = kh_metrics_gauge("kh_webhook_pending", "Alerts waiting for delivery to "
                                     "the webhook (not delivered, not given up).", NULL, NULL);
    char fp[8], day[16];
    kh_period_format(&nt->first, fp, sizeof fp);
    kh_date_iso(today(), day, sizeof day);
    KH_INFO("notify.config", kh_clock_fixed(NULL, 0) ? "notices use the set [general] clock"
                                                     : "notices use the machine's clock",
            "today", day, "first_period", fp, "webhook", nt->wh ? nt->webhook_url : "off");
    return 0;
}

static void fini(void *arg)
{
    notifier_t *nt = arg;
    sqlite3_finalize(nt->st_event);
    sqlite3_finalize(nt->st_rep_ins);
    sqlite3_finalize(nt->st_rep_count);
    sqlite3_finalize(nt->st_rep_get);
    sqlite3_finalize(nt->st_notice);
    sqlite3_finalize(nt->st_delivery);
    if (nt->curl_on)
        curl_global_cleanup();
}

static const kh_stage_def_t stage = {
    .name = "notifier",
    .usage = "Turns pipeline events into receipts for the reporting units, reminders\n"
             "before due dates, and alerts to the province (log, webhook).\n",
    .migrations = migrations,
    .n_migrations = sizeof migrations / sizeof *migrations,
    .types = {KH_T_EVENT},
    .links = {{"collector", "collector", "receipts"}},
    .setup = setup,
    .apply = apply,
    .ready = say_ready,
    .stop = on_stop,
    .fini = fini,
};

int main(int argc, char **argv)
{
    static notifier_t nt;
    return kh_stage_main(&stage, &nt, argc, argv);
}
