/*
 * events.c — the events queued for the notifier; see events.h.
 */
#include "events.h"

#include <stdio.h>

#include "kh_link.h"
#include "kh_util.h"
#include "kh_wire.h"

int ag_events_put(agg_t *a, const Kh__Report *r, Kh__Stage stage, const char *tag,
                  Kh__Finding **findings, size_t n_findings, uint64_t seq)
{
    Kh__Receipt ev = KH__RECEIPT__INIT;
    char id[KH_KEY_MAX];
    snprintf(id, sizeof id, "%.64s/%u/%s", r->report_id, r->revision, tag);
    ev.event_id = id;
    ev.report_id = r->report_id;
    ev.revision = r->revision;
    ev.district = r->district;
    ev.period = r->period;
    ev.stage = stage;
    ev.findings = findings;
    ev.n_findings = n_findings;
    ev.feed_seq = seq;
    ev.at = kh_now_ms();
    ev.source_name = r->source_name;
    return kh_link_put_msg(a->to_notifier, "", id, KH_T_EVENT, &ev.base) < 0 ? -1 : 0;
}
