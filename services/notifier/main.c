/*
 * kh-notifier — turns events into messages.  Each EVENT (a Receipt: accepted,
 * rejected with every reason, counted with the feed sequence, superseded) is stored
 * once by its event id, logged for the admins in English with the Vietnamese text
 * beside it, and queued as a RECEIPT for the district's node through the collector.
 * (Reminders, province alerts and the webhook channel come with the operations
 * work; see the README.)
 *
 * Sockets: listen (ROUTER, from validator and aggregator) · collector (DEALER) · log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh.pb-c.h"
#include "kh_db.h"
#include "kh_inbox.h"
#include "kh_link.h"
#include "kh_log.h"
#include "kh_service.h"
#include "kh_util.h"

static const char *const migrations[] = {
    "CREATE TABLE event (event_id TEXT PRIMARY KEY, report_id TEXT NOT NULL,"
    " revision INTEGER NOT NULL, district TEXT NOT NULL, period TEXT NOT NULL,"
    " stage INTEGER NOT NULL, at INTEGER NOT NULL, payload BLOB NOT NULL);"
    KH_OUTBOX_SCHEMA("collector"),
};

typedef struct {
    kh_service_t svc;
    sqlite3 *db;
    kh_zsock_t *in;
    kh_inbox_t *inbox;
    kh_link_t *to_collector;
    uv_timer_t pump_timer;
    sqlite3_stmt *st_event;
    uint64_t events, malformed;
} notifier_t;

static const char *stage_name(Kh__Stage s)
{
    switch (s) {
    case KH__STAGE__STAGE_RECEIVED: return "received";
    case KH__STAGE__STAGE_ACCEPTED: return "accepted";
    case KH__STAGE__STAGE_REJECTED: return "rejected";
    case KH__STAGE__STAGE_COUNTED: return "counted";
    case KH__STAGE__STAGE_SUPERSEDED: return "superseded";
    default: return "unknown";
    }
}

static int apply(void *arg, const kh_wmsg_t *m, char *key, size_t keycap)
{
    notifier_t *nt = arg;
    if (strcmp(m->type, KH_T_EVENT) != 0) {
        nt->malformed++;
        KH_WARN("message.malformed", "unexpected message type", "type", m->type);
        return KH_APPLY_BAD;
    }
    Kh__Receipt *e = kh__receipt__unpack(NULL, m->len, m->payload);
    if (!e || !e->event_id[0] || strlen(e->event_id) >= keycap || !e->district[0] ||
        strlen(e->district) >= KH_CODE_MAX) {
        nt->malformed++;
        KH_WARN("event.malformed", "an EVENT does not decode or has no id or district");
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
                           m->len) < 0) {
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

static void committed(void *arg)
{
    notifier_t *nt = arg;
    kh_link_pump(nt->to_collector);
    kh_service_gate(&nt->svc, nt->in, kh_outbox_depth(kh_link_outbox(nt->to_collector)));
}
static void on_pump_timer(uv_timer_t *t) { committed(t->data); }

static void on_router(kh_zsock_t *s, zmq_msg_t *parts, int n, void *arg)
{
    notifier_t *nt = arg;
    kh_wmsg_t m;
    if (kh_wire_parse(parts, n, 1, &m) < 0) {
        nt->malformed++;
        KH_WARN("message.malformed", "wrong frames");
        return;
    }
    kh_inbox_add(nt->inbox, s, &m);
}

static void on_stop(kh_service_t *s)
{
    notifier_t *nt = (notifier_t *)s;
    kh_inbox_close(nt->inbox);
    uv_close((uv_handle_t *)&nt->pump_timer, NULL);
    kh_zsock_close(nt->in);
    kh_link_destroy(&nt->to_collector);
}

int main(int argc, char **argv)
{
    static notifier_t nt;
    int rc = kh_service_init(&nt.svc, "notifier", "notifier", argc, argv,
                             "Turns pipeline events into receipts for the districts.\n");
    if (rc)
        return rc > 0 ? 0 : 1;
    kh_service_t *s = &nt.svc;
    char db_path[1024], listen[1024], coll[1024], err[512];
    if (kh_service_str(s, "notifier", "db", "%RUN%/notifier.db", db_path, sizeof db_path) ||
        kh_service_str(s, "notifier", "listen", NULL, listen, sizeof listen) ||
        kh_service_str(s, "collector", "receipts", NULL, coll, sizeof coll))
        return 1;
    if (kh_db_open(&nt.db, db_path, migrations, sizeof migrations / sizeof *migrations, err,
                   sizeof err) < 0) {
        KH_ERROR("db.open", err);
        return 1;
    }
    nt.st_event = kh_db_prepare(nt.db, "INSERT INTO event(event_id,report_id,revision,district,"
                                       "period,stage,at,payload) VALUES(?,?,?,?,?,?,?,?) "
                                       "ON CONFLICT DO NOTHING");
    kh_zopts_t ro = s->zopts;
    ro.router = 1;
    nt.in = kh_zsock_new(&s->loop, s->zctx, ZMQ_ROUTER, &ro, on_router, &nt);
    if (!nt.st_event || !nt.in || kh_zsock_bind(nt.in, listen) < 0) {
        KH_ERROR("service.start", "cannot bind", "listen", listen, "error",
                 zmq_strerror(zmq_errno()));
        return 1;
    }
    nt.to_collector = kh_link_new(&s->loop, s->zctx, &s->zopts, coll, nt.db, "collector",
                                  (int)s->window, (int)s->resend_ms);
    nt.inbox = kh_inbox_new(&s->loop, nt.db, (int)s->batch_max, (int)s->batch_ms, apply,
                            committed, &nt);
    if (!nt.to_collector || !nt.inbox)
        return 1;
    uv_timer_init(&s->loop, &nt.pump_timer);
    nt.pump_timer.data = &nt;
    uv_timer_start(&nt.pump_timer, on_pump_timer, 100, 100);
    s->on_stop = on_stop;
    KH_INFO("service.ready", "notifying", "listen", listen);
    kh_service_run(s);
    sqlite3_finalize(nt.st_event);
    kh_db_close(&nt.db);
    kh_service_fini(s);
    return 0;
}
