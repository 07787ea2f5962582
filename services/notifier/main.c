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
 * The logic is in modules of its own (notifier.h lists them); this file is the stage's
 * definition for the skeleton (lib/process/kh_stage.h): [notifier] read, each event stored and
 * passed on (apply), the timers started, the stop.
 *
 * Sockets: listen (ROUTER, from validator and aggregator) · collector (DEALER) · log.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_db.h"
#include "kh_log.h"
#include "kh_util.h"
#include "notifier.h"

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
                           m->len) < 0 || nt_produce_event(nt, e) < 0) {
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
    nt->first = kh_period_half_of(kh_today());
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
                        nt_delivery_done, nt);
        if (!nt->wh)
            return -1;
    }
    uv_timer_init(&s->loop, &nt->check_timer);
    nt->check_timer.data = nt;
    uv_timer_start(&nt->check_timer, nt_produce_tick, 200, (uint64_t)nt->check_interval_s * 1000);
    uv_timer_init(&s->loop, &nt->deliver_timer);
    nt->deliver_timer.data = nt;
    if (nt->wh)
        uv_timer_start(&nt->deliver_timer, nt_delivery_tick, 100, DELIVER_TICK_MS);
    /* health (kh-admin status, GET /metrics; lib/process/kh_metrics.h) */
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
    kh_date_iso(kh_today(), day, sizeof day);
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
