/*
 * notifier.h — the notifier's state, shared by its modules (internal: included only by
 * the files of services/notifier/).  main.c defines the stage (lib/process/kh_stage.h) around
 * it: it makes the one notifier_t of the process, reads [notifier], stores each event
 * (apply) and closes it; the modules borrow it:
 *
 *   notices.c    the pure policy: which notices are due when, their ids and texts
 *   produce.c    notices made and stored once: from events, and from the calendar timer
 *   delivery.c   the province's alerts POSTed to the webhook, retried, given up
 *   webhook.c    the HTTP client (libcurl's multi interface inside the loop)
 *
 * What the modules write, they write inside a transaction someone else opened (the
 * inbox's batch for events, the calendar's for its tick) except delivery.c, which records
 * each attempt in one of its own.
 */
#ifndef KH_NOTIFIER_H
#define KH_NOTIFIER_H

#include <sqlite3.h>
#include <stdint.h>
#include <uv.h>

#include "kh.pb-c.h"
#include "kh_catalog.h"
#include "kh_inbox.h"
#include "kh_link.h"
#include "kh_metrics.h"
#include "kh_service.h"
#include "kh_stage.h"
#include "notices.h"
#include "webhook.h"

#define MAX_PERIODS 40          /* half-years checked per tick (the latest ones) */
#define MAX_RETRY_STEPS 16
#define DELIVER_TICK_MS 500
#define NOTICE_ID_MAX 160

typedef struct {
    kh_stage_t *st;              /* the skeleton (lib/process/kh_stage.h); and what it lends: */
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

/* ---- produce.c ---- */
/* What an event tells about reports (inside the inbox's transaction): `reported`, then
 * late report, warnings and period-complete notices.  Returns 0 or -1. */
int nt_produce_event(notifier_t *nt, const Kh__Receipt *e);
/* The calendar timer's tick: every notice due today, in one transaction, then the
 * reminders pumped and the alerts delivered. */
void nt_produce_tick(uv_timer_t *t);

/* ---- delivery.c ---- */
/* POSTs what is due and not in flight (after the inbox's open batch is committed). */
void nt_delivery_due(notifier_t *nt);
/* The delivery timer's tick (every DELIVER_TICK_MS while there is a webhook). */
void nt_delivery_tick(uv_timer_t *t);
/* wh_new's callback: one attempt's outcome recorded, the next one scheduled. */
void nt_delivery_done(void *arg, const char *id, long status, const char *error);

#endif
