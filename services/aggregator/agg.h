/*
 * agg.h — the aggregator's state, shared by its modules (internal: included only by the
 * files of services/aggregator/).  main.c defines the stage (lib/process/kh_stage.h) around it:
 * it makes the one agg_t of the process, sets it up, dispatches each inbox message
 * (apply), and closes it; the modules borrow it:
 *
 *   store.c       the schema (migrations) and the prepared statements below
 *   audit.c       the audit log's entries, and its checkpoints' anchor at start
 *   update.c      one FeedUpdate message built cell by cell
 *   ledger.c      counting a revision: the reporting unit's cells replaced, its
 *                 ancestors moved by the difference, one feed update stored
 *   cache.c       the counted revisions' cells kept in memory for the next count
 *   previous.c    the previous-period rules, against the counted revisions
 *   signatures.c  [security] verify_signatures, and a report whose signature fails
 *   events.c      the events queued for the notifier
 *   feed.c        the feed published after each commit, and served again on request
 *   history.c     one district's revisions for one half-year, on request
 *
 * Invariants: a module never frees what agg_t holds (main.c does, after the loop), and
 * resets every statement it steps before it returns (a statement left stepped keeps a
 * read open).  What the modules write, they write inside the inbox's batch transaction
 * (lib/transport/kh_inbox.h: apply is called in it), never in one of their own, so that a revision,
 * its cells, its feed update and its audit entries commit or roll back together.
 */
#ifndef KH_AGG_H
#define KH_AGG_H

#include <sqlite3.h>
#include <stdint.h>

#include "cache.h"
#include "kh_audit.h"
#include "kh_catalog.h"
#include "kh_inbox.h"
#include "kh_keys.h"
#include "kh_link.h"
#include "kh_service.h"
#include "kh_stage.h"
#include "kh_zap.h"

typedef struct {
    kh_stage_t *st;             /* the skeleton (lib/process/kh_stage.h); and what it lends: */
    kh_service_t *svc;
    kh_catalog_t *cat;
    sqlite3 *db;
    kh_inbox_t *inbox;
    kh_link_t *to_notifier;
    kh_zsock_t *pub, *snap;
    uint64_t published_seq;
    int curve;                  /* CURVE on the feed sockets */
    kh_key_t server;
    kh_keys_t *keys;
    kh_zap_t *zap;
    uint64_t counted, superseded, bad_signatures;
    uint64_t rejected_kept;     /* rejected verdicts kept for the history */
    int verify_signatures;      /* [security] verify_signatures (checked with a->keys) */
    kh_audit_t *audit;
    ag_cache_t *cache;          /* the counted revisions' cells (cache.h); NULL: none */
    /* prepared by ag_store_prepare (store.c), finalized by ag_store_finalize */
    sqlite3_stmt *st_accept, *st_reject, *st_counted_get, *st_verdict_get, *st_total_rows,
        *st_total_del_key, *st_total_set, *st_prov_upd, *st_feed_ins, *st_feed_upd,
        *st_counted_put;
} agg_t;

#endif
