/*
 * mirror.h — kh-feed's local copy of the province feed (the zguide's Clone
 * pattern): a SQLite database of cells and statuses plus the last sequence number
 * applied.  It catches up from a snapshot or from the range of updates it missed,
 * and stays live from the PUB socket, applying updates strictly in sequence.
 */
#ifndef KH_FEED_MIRROR_H
#define KH_FEED_MIRROR_H

#include <sqlite3.h>
#include <stdint.h>

#include "kh.pb-c.h"

int mirror_open(sqlite3 **db, const char *path);
/* Use CURVE with these keys (32 bytes each) on every socket to the aggregator. */
void mirror_set_curve(const uint8_t server_pk[32], const uint8_t pk[32], const uint8_t sk[32]);          /* 0 or -1 (printed) */
uint64_t mirror_seq(sqlite3 *db);
/* Applies one update and records its seq (when > 0).  Returns 0 or -1. */
int mirror_apply(sqlite3 *db, const Kh__FeedUpdate *u);

/* Catches up with the aggregator's snapshot ROUTER at `endpoint`: a range of missed
 * updates when the mirror has a sequence, else (or when the range is gone) the
 * whole state.  Returns 0, or -1 after printing why (timeout_ms without answer). */
int mirror_sync(sqlite3 *db, void *zctx, const char *endpoint, int timeout_ms, int64_t max_msg);

/* Subscribes to `feed` and applies updates as they come, filling gaps from
 * `snapshot`, printing one line per update; stops after `count` updates (0: never)
 * or after idle_ms without one (0: never).  Returns 0 or -1. */
int mirror_follow(sqlite3 *db, void *zctx, const char *feed, const char *snapshot,
                  int64_t max_msg, long count, long idle_ms);

/* Asks the aggregator at `endpoint` (its snapshot ROUTER) for the history of a
 * district's report for one half-year — every revision that reached it, accepted or
 * rejected, with findings and the values each accepted revision changed — and
 * prints it.  Returns 0, or -1 after printing why. */
#include <stdio.h>
#include "kh_catalog.h"
int mirror_history(void *zctx, const char *endpoint, const char *district, const char *period,
                   const kh_catalog_t *cat, int timeout_ms, int64_t max_msg, FILE *out);

/* Whether the aggregator at `endpoint` refused a revision of `district`'s report for
 * `period` and counts none of them (the dashboard's "rejected"): 1, 0 (none refused, or
 * one counted, or no report at all), or -1 after printing why (no answer in timeout_ms). */
int mirror_rejected(void *zctx, const char *endpoint, const char *district, const char *period,
                    int timeout_ms, int64_t max_msg);

#endif
