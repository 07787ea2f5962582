/*
 * collector.h — the collector's state, shared by its modules (internal: included only by
 * the files of services/collector/).  main.c defines the stage (lib/process/kh_stage.h) around
 * it: it makes the one collector_t of the process, opens the nodes' socket, reads each
 * message on it (on_router), dispatches each inbox message (apply), and closes it; the
 * modules borrow it:
 *
 *   intake.c     a node's REPORT stored and passed on, or refused with a receipt; a
 *                RECEIPT from the notifier remembered and queued for the node
 *   identity.c   who sent a message (its key's district), who may connect (ZAP's admit),
 *                where a district's receipts go, revoked keys cut off
 *   conns.c      the table of node connections (conns.h)
 *   store.c      the schema (migrations) and the reads kh-admin makes (store.h)
 */
#ifndef KH_COLLECTOR_H
#define KH_COLLECTOR_H

#include <sqlite3.h>
#include <stdint.h>
#include <uv.h>
#include <zmq.h>

#include "kh_catalog.h"
#include "kh_door.h"
#include "kh_inbox.h"
#include "kh_keys.h"
#include "kh_link.h"
#include "kh_metrics.h"
#include "kh_service.h"
#include "kh_stage.h"
#include "kh_zap.h"

#include "conns.h"

typedef struct {
    kh_stage_t *st;             /* the skeleton (lib/process/kh_stage.h); and what it lends: */
    kh_service_t *svc;
    kh_catalog_t *cat;
    sqlite3 *db;
    kh_inbox_t *inbox;          /* reports from the nodes, receipts from the notifier */
    kh_link_t *to_validator;
    kh_zsock_t *front;          /* the nodes' socket (the skeleton's ROUTER: receipts) */
    kh_link_t *to_nodes;        /* receipts to the nodes, routed on front (conns.h) */
    int replay_node_clock;
    sqlite3_stmt *st_report, *st_receipt, *st_last_rev;
    uint64_t received, refused;
    int curve;                  /* CURVE on the node socket, identities from the registry */
    kh_keys_t *keys;
    kh_zap_t *zap;
    kh_key_t server;
    uint64_t refused_keys;
    conns_t *conns;             /* node connections: routes for receipts, bound per key */
    kh_door_t *door;            /* the node socket's TCP connections, watched and bounded */
    kh_metric_t *m_conns;       /* kh_node_connections_open */
    uint64_t late;              /* messages read after their connection closed */
    int metrics_on;             /* conns_metrics added (kh_metrics_source_add) */
    uv_timer_t revoke_timer;    /* cuts the live connections of keys no longer valid */
    const char *sender;         /* district of the message being applied (on_router) */
    /* bounds on the work one message may cost, before it is done ([collector]) */
    long max_values, max_ack_keys, max_revision_step;
} collector_t;

/* ---- intake.c ---- */
/* A counter as a log field (a static buffer: one per log call). */
const char *co_count_str(uint64_t n);
/* The malformed count (lib/process/kh_stage.h) as a log field. */
const char *co_malformed(collector_t *c);
/* A REPORT from the node of `district` (inside the inbox's batch): stored whole and
 * queued for the validator, or refused with a receipt.  Returns KH_APPLY_*. */
int co_intake_report(collector_t *c, const char *district, const kh_wmsg_t *m, char *key,
                     size_t keycap);
/* A RECEIPT from the notifier: remembered once, queued for the district's node. */
int co_intake_receipt(collector_t *c, const kh_wmsg_t *m, char *key, size_t keycap);

/* ---- identity.c ---- */
/* Who sent this message on the node socket (see identity.c).  Returns 1 with `district`
 * set, 0 for an ACK on a closed network from a connection not yet seen, -1 dropped. */
int co_identify(collector_t *c, zmq_msg_t *parts, int n, const kh_wmsg_t *m, char *district,
                size_t cap);
/* ZAP's admit (kh_zap_admit): 0 lets the handshake go on, -1 refuses it. */
int co_admit(void *arg, const char *domain, const char *key_id, const char *unit);
/* The routed link's resolver (kh_link_resolver). */
int co_route(void *arg, const char *dest, const void **rid, size_t *len);
/* The metrics source (kh_metrics_source_add). */
void co_conns_metrics(void *arg);
/* The door's close callback (kh_door_new). */
void co_conn_closed(void *arg, int fd);
/* The revocation timer's tick (every second). */
void co_revoke_tick(uv_timer_t *t);

#endif
