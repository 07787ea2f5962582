/*
 * kh-validator — checks each report against the catalogue, the unit tree in force
 * for its period, the calendar and the rules (lib/kh_validate), finding every
 * problem.  Accepted reports (with their warnings) go to the aggregator as a
 * VERDICT; rejected ones go to the notifier as a REJECTED event with every reason,
 * and to the aggregator as a VERDICT too, which keeps them in the history only.
 *
 * Its database holds only its outboxes: no state that matters once they are empty,
 * so several validators can run side by side.
 *
 * Sockets: listen (ROUTER, from the collector) · aggregator, notifier (DEALER) · log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh.pb-c.h"
#include "kh_catalog.h"
#include "kh_db.h"
#include "kh_inbox.h"
#include "kh_link.h"
#include "kh_log.h"
#include "kh_service.h"
#include "kh_util.h"
#include "kh_validate.h"

static const char *const migrations[] = {
    KH_OUTBOX_SCHEMA("aggregator") KH_OUTBOX_SCHEMA("notifier"),
    /* 2: outbox expiry (issue 10) */
    KH_OUTBOX_EXPIRY("aggregator") KH_OUTBOX_EXPIRY("notifier"),
};

typedef struct {
    kh_service_t svc;
    kh_catalog_t *cat;
    sqlite3 *db;
    kh_zsock_t *in;
    kh_inbox_t *inbox;
    kh_link_t *to_aggregator, *to_notifier;
    uv_timer_t pump_timer;
    uint64_t accepted, rejected, malformed;
    char listen[1024];
} validator_t;

static int queue(kh_link_t *l, const char *key, const char *type, const ProtobufCMessage *m)
{
    return kh_link_put_msg(l, "", key, type, m) < 0 ? KH_APPLY_FAIL : KH_APPLY_NEW;
}

static int apply(void *arg, const kh_wmsg_t *m, char *key, size_t keycap)
{
    validator_t *v = arg;
    if (strcmp(m->type, KH_T_REPORT) != 0) {
        v->malformed++;
        KH_WARN("message.malformed", "unexpected message type", "type", m->type);
        return KH_APPLY_BAD;
    }
    Kh__Report *r = kh__report__unpack(NULL, m->len, m->payload);
    /* the collector's own checks: without a revision there is no key, and without a
     * district the notifier could never take the REJECTED event */
    if (!r || !r->report_id[0] || strlen(r->report_id) > 64 || r->revision == 0 ||
        !r->district[0] || strlen(r->district) >= KH_CODE_MAX) {
        v->malformed++;
        KH_WARN("report.malformed",
                "a REPORT payload does not decode or has no id, revision or district");
        if (r)
            kh__report__free_unpacked(r, NULL);
        return KH_APPLY_BAD;
    }
    snprintf(key, keycap, "%s/%u", r->report_id, r->revision);
    kh_findings_t f = {0};
    size_t errors = kh_validate(v->cat, r, kh_today(), &f);
    int rc;
    char msg[256];
    if (errors == 0) {
        Kh__Verdict vd = KH__VERDICT__INIT;
        vd.report = r;
        vd.accepted = 1;
        vd.findings = f.items;
        vd.n_findings = f.n;
        vd.validated_at = kh_now_ms();
        rc = queue(v->to_aggregator, key, KH_T_VERDICT, &vd.base);
        v->accepted++;
        snprintf(msg, sizeof msg, "accepted: %zu values, %zu warnings", r->n_values, f.n);
        KH_INFO("report.accepted", msg, "report_id", r->report_id, "district", r->district,
                "period", r->period);
    } else {
        Kh__Receipt ev = KH__RECEIPT__INIT;
        char event_id[KH_KEY_MAX];
        snprintf(event_id, sizeof event_id, "%s/rejected", key);
        ev.event_id = event_id;
        ev.report_id = r->report_id;
        ev.revision = r->revision;
        ev.district = r->district;
        ev.period = r->period;
        ev.stage = KH__STAGE__STAGE_REJECTED;
        ev.findings = f.items;
        ev.n_findings = f.n;
        ev.at = kh_now_ms();
        ev.source_name = r->source_name;
        rc = queue(v->to_notifier, event_id, KH_T_EVENT, &ev.base);
        if (rc == KH_APPLY_NEW) {
            /* the aggregator keeps rejected revisions too, for the history */
            Kh__Verdict vd = KH__VERDICT__INIT;
            vd.report = r;
            vd.accepted = 0;
            vd.findings = f.items;
            vd.n_findings = f.n;
            vd.validated_at = ev.at;
            rc = queue(v->to_aggregator, key, KH_T_VERDICT, &vd.base);
        }
        v->rejected++;
        snprintf(msg, sizeof msg, "rejected: %zu errors, first: %.150s", errors,
                 f.n ? f.items[0]->message_en : "");
        KH_WARN("report.rejected", msg, "report_id", r->report_id, "district", r->district,
                "period", r->period);
    }
    kh_findings_clear(&f);
    kh__report__free_unpacked(r, NULL);
    return rc;
}

static void pump(validator_t *v)
{
    kh_link_pump(v->to_aggregator);
    kh_link_pump(v->to_notifier);
    kh_service_gate(&v->svc, v->in, kh_outbox_depth(kh_link_outbox(v->to_aggregator)) +
                                        kh_outbox_depth(kh_link_outbox(v->to_notifier)));
}
static void committed(void *arg) { pump(arg); }
static void on_pump_timer(uv_timer_t *t) { pump(t->data); }

static void on_router(kh_zsock_t *s, zmq_msg_t *parts, int n, void *arg)
{
    validator_t *v = arg;
    kh_wmsg_t m;
    if (kh_wire_parse(parts, n, 1, &m) < 0) {
        v->malformed++;
        KH_WARN("message.malformed", "wrong frames");
        return;
    }
    kh_inbox_add(v->inbox, s, &m);
}

/* Once the self-checks passed (a tcp log stream's, if any). */
static void say_ready(void *arg)
{
    validator_t *v = arg;
    kh_service_ready(&v->svc, "validating", "listen", v->listen);
}

static void on_stop(kh_service_t *s)
{
    validator_t *v = (validator_t *)s;
    kh_inbox_close(v->inbox);
    uv_close((uv_handle_t *)&v->pump_timer, NULL);
    kh_zsock_close(v->in);
    kh_link_destroy(&v->to_aggregator);
    kh_link_destroy(&v->to_notifier);
}

int main(int argc, char **argv)
{
    static validator_t v;
    int rc = kh_service_init(&v.svc, "validator", "validator", argc, argv,
                             "Validates reports; passes accepted ones on, rejected ones back.\n");
    if (rc)
        return rc > 0 ? 0 : 1;
    kh_service_t *s = &v.svc;
    char db_path[1024], agg[1024], notif[1024], err[512];
    char *listen = v.listen;
    if (kh_service_str(s, "validator", "db", db_path, sizeof db_path) ||
        kh_service_str(s, "validator", "listen", listen, sizeof v.listen) ||
        kh_service_str(s, "aggregator", "listen", agg, sizeof agg) ||
        kh_service_str(s, "notifier", "listen", notif, sizeof notif))
        return 1;
    if (!(v.cat = kh_service_catalog(s)))
        return 1;
    if (kh_db_open(&v.db, db_path, migrations, sizeof migrations / sizeof *migrations, err,
                   sizeof err) < 0) {
        KH_ERROR("db.open", err);
        return 1;
    }
    kh_zopts_t ro = s->zopts;
    ro.router = 1;
    v.in = kh_zsock_new(&s->loop, s->zctx, ZMQ_ROUTER, &ro, on_router, &v);
    if (!v.in || kh_zsock_bind(v.in, listen) < 0) {
        KH_ERROR("service.start", "cannot bind", "listen", listen, "error",
                 zmq_strerror(zmq_errno()));
        return 1;
    }
    v.to_aggregator = kh_link_new(&s->loop, s->zctx, &s->zopts, agg, v.db, "aggregator",
                                  (int)s->window, (int)s->resend_ms);
    v.to_notifier = kh_link_new(&s->loop, s->zctx, &s->zopts, notif, v.db, "notifier",
                                (int)s->window, (int)s->resend_ms);
    v.inbox = kh_inbox_new(&s->loop, v.db, (int)s->batch_max, (int)s->batch_ms, apply,
                           committed, &v);
    if (!v.to_aggregator || !v.to_notifier || !v.inbox)
        return 1;
    uv_timer_init(&s->loop, &v.pump_timer);
    v.pump_timer.data = &v;
    uv_timer_start(&v.pump_timer, on_pump_timer, 100, 100);
    s->on_stop = on_stop;
    /* health (kh-admin status, GET /metrics; lib/kh_metrics.h) */
    kh_service_watch_count(s, "kh_reports_accepted_total", "Reports the validator accepted.",
                           NULL, NULL, &v.accepted);
    kh_service_watch_count(s, "kh_reports_rejected_total", "Reports the validator rejected.",
                           "reason", "rules", &v.rejected);
    kh_service_watch_count(s, "kh_messages_malformed_total", "Malformed messages refused "
                           "(wrong frames, type or payload).", NULL, NULL, &v.malformed);
    kh_service_on_ready(s, say_ready, &v);
    kh_service_run(s);
    kh_db_close(&v.db);
    kh_catalog_destroy(&v.cat);
    kh_service_fini(s);
    return s->exit_code;
}
