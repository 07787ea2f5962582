/*
 * history.h — one district's report for one half-year, revision by revision: each
 * accepted or rejected revision with its times, findings, source file name and number
 * of values, which one is counted, and what changed from the accepted revision before
 * (asked for by kh-feed).
 * Invariants: only committed state is served (the inbox is flushed first); at most
 * HISTORY_MAX_REVISIONS revisions (truncated set beyond) and HISTORY_MAX_CHANGES
 * changes per revision are sent, whatever the database holds.
 * Events: history.malformed, history.send.
 */
#ifndef KH_AG_HISTORY_H
#define KH_AG_HISTORY_H

#include "agg.h"
#include "kh_wire.h"

/* Answers the HistoryRequest m on the snapshot socket (to m's sender); a request that
 * does not decode, or names a district or period too long, is counted as malformed and
 * not answered. */
void ag_history_serve(agg_t *a, const kh_wmsg_t *m);

#endif
