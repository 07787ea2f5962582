/*
 * kh-validator — checks each report against the catalogue, the unit tree in force
 * for its period, the calendar and the rules (lib/model/kh_catalog), finding every
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
#include "kh_stage.h"
#include "kh_util.h"
#include "kh_validate.h"

static const char *const migrations[] = {
    KH_OUTBOX_SCHEMA("aggregator") KH_OUTBOX_SCHEMA("notifier"),
    /* 2: outbox expiry (issue 10) */
    KH_OUTBOX_EXPIRY("aggregator") KH_OUTBOX_EXPIRY("notifier"),
};

typedef struct {
    kh_stage_t *st;
    kh_catalog_t *cat;
    kh_link_t *to_aggregator, *to_notifier;
    uint64_t accepted, rejected;
} validator_t;

static int queue(kh_link_t *l, const char *key, const char *type, const ProtobufCMessage *m)
{
    return kh_link_put_msg(l, "", key, type, m) < 0 ? KH_APPLY_FAIL : KH_APPLY_NEW;
}

static int apply(void *arg, const kh_wmsg_t *m, char *key, size_t keycap)
{
    validator_t *v = arg;
    Kh__Report *r = kh__report__unpack(NULL, m->len, m->payload);
    /* the collector's own checks: without a revision there is no key, and without a
     * district the notifier could never take the REJECTED event */
    if (!r || !r->report_id[0] || strlen(r->report_id) > 64 || r->revision == 0 ||
        !r->district[0] || strlen(r->district) >= KH_CODE_MAX) {
        kh_stage_malformed(v->st);
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

/* Once the self-checks passed (a tcp log stream's, if any). */
static void say_ready(void *arg)
{
    validator_t *v = arg;
    kh_service_ready(kh_stage_service(v->st), "validating", "listen", kh_stage_listen(v->st));
}

static int setup(kh_stage_t *st, void *arg)
{
    validator_t *v = arg;
    kh_service_t *s = kh_stage_service(st);
    v->st = st;
    v->cat = kh_stage_catalog(st);
    v->to_aggregator = kh_stage_link(st, 0);
    v->to_notifier = kh_stage_link(st, 1);
    /* health (kh-admin status, GET /metrics; lib/process/kh_metrics.h) */
    kh_service_watch_count(s, "kh_reports_accepted_total", "Reports the validator accepted.",
                           NULL, NULL, &v->accepted);
    kh_service_watch_count(s, "kh_reports_rejected_total", "Reports the validator rejected.",
                           "reason", "rules", &v->rejected);
    return 0;
}

static const kh_stage_def_t stage = {
    .name = "validator",
    .usage = "Validates reports; passes accepted ones on, rejected ones back.\n",
    .migrations = migrations,
    .n_migrations = sizeof migrations / sizeof *migrations,
    .types = {KH_T_REPORT},
    .links = {{"aggregator", "aggregator", "listen"}, {"notifier", "notifier", "listen"}},
    .setup = setup,
    .apply = apply,
    .ready = say_ready,
};

int main(int argc, char **argv)
{
    static validator_t v;
    return kh_stage_main(&stage, &v, argc, argv);
}
