/*
 * delivery.c — the province's alerts POSTed to [notifier] webhook_url (notifier.h): each
 * `delivery` row is tried when due, each attempt recorded in `attempt`, retried on the
 * webhook_retry schedule until a 2xx answer, or given up (logged as an error) after
 * webhook_max_attempts or webhook_give_up_s.  Rows stay until then, so a restart resumes;
 * the notice id travels in the body and in Idempotency-Key (webhook.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_db.h"
#include "kh_log.h"
#include "kh_util.h"
#include "notifier.h"

/* POSTs what is due and not in flight.  Nothing is read before the inbox's open batch
 * is committed (a notice made in it could still be rolled back). */
void nt_delivery_due(notifier_t *nt)
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

void nt_delivery_tick(uv_timer_t *t) { nt_delivery_due(t->data); }

/* One request ended: record the attempt, then delivered, a retry time, or give up. */
void nt_delivery_done(void *arg, const char *id, long status, const char *error)
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
    uv_timer_start(&nt->deliver_timer, nt_delivery_tick, 0, DELIVER_TICK_MS);
}
