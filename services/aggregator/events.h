/*
 * events.h — the events the aggregator tells the notifier: ACCEPTED (with the warnings),
 * COUNTED (with the feed seq), SUPERSEDED, and REJECTED for a report whose signature
 * does not verify.
 * Invariants: an event is queued in the notifier's outbox (lib/transport/kh_link.h) inside the
 * batch transaction of what it tells, so it is sent once committed and never for a
 * change rolled back; its id ("<report_id>/<revision>/<tag>") is the notifier's key for
 * applying it once.
 */
#ifndef KH_AG_EVENTS_H
#define KH_AG_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "kh.pb-c.h"

/* Queues the event `stage` of report r for the notifier (tag: the id's last part;
 * findings: borrowed; seq: the feed seq, 0 when none).  Returns 0, or -1 when it could
 * not be queued (the caller fails the batch). */
int ag_events_put(agg_t *a, const Kh__Report *r, Kh__Stage stage, const char *tag,
                  Kh__Finding **findings, size_t n_findings, uint64_t seq);

#endif
