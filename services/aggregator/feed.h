/*
 * feed.h — the province feed (the zguide's Clone pattern): each FeedUpdate stored by the
 * ledger is published on PUB after its commit, and served again on the snapshot ROUTER
 * on request — the whole state (from_seq 0) or a range of missed updates — which also
 * answers history requests (history.h).
 * Invariants: only committed state is served (the inbox is flushed first); updates are
 * published in seq order, each once, and a subscriber that lost some fills the gap by
 * seq; a range request is served at most RANGE_MAX updates at a time, and a subscriber
 * ahead of the feed is told the range is not complete (it must take a snapshot).
 * Events: feed.malformed, feed.snapshot.
 */
#ifndef KH_AG_FEED_H
#define KH_AG_FEED_H

#include <stdint.h>

#include "agg.h"
#include "kh_zuv.h"

/* Publishes on a->pub the feed rows after a->published_seq, and advances it. */
void ag_feed_publish(agg_t *a);

/* The feed's highest seq (0: empty); its lowest in *min_out when min_out is not NULL. */
uint64_t ag_feed_max_seq(agg_t *a, uint64_t *min_out);

/* The snapshot socket's callback (arg: the agg_t): a FeedRequest is served with a
 * snapshot or a range then FEED_END, a HistoryRequest by ag_history_serve; anything else
 * is counted as malformed. */
void ag_feed_on_request(kh_zsock_t *s, zmq_msg_t *parts, int n, void *arg);

#endif
