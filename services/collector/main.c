/*
 * kh-collector — the only door from outside.
 *
 * Nodes connect (DEALER, CURVE) to `listen`.  A REPORT is stamped with the district
 * of the key that sent it (never the payload's), stored whole as one blob row,
 * queued for the validator in the same transaction, and only then acknowledged
 * (persist before ack).  Receipts from the notifier arrive on `receipts` and are
 * routed back to the connection on which the district's key last spoke (conns.h;
 * never by a routing id the node chose) until the node acknowledges them.
 *
 * Nothing a node sends gets past this door unless it has the form the later stages
 * can handle (issue 11): every field is checked here, and the work a message costs is
 * bounded before it is done (values and ACK keys counted on the wire, the revision's
 * step, the payload's size).  The node socket's connections are watched and bounded by
 * lib/security/kh_door.h (silent ones, too many unspoken from one address, revoked keys: cut).
 *
 * Sockets: listen (ROUTER, tcp, nodes) · receipts (ROUTER, ipc, notifier) ·
 * validator (DEALER, connect) · log (PUB) · the door's monitor of listen (kh_door).
 *
 * The logic is in modules of its own (collector.h lists them); this file is the stage's
 * definition for the skeleton (lib/process/kh_stage.h): the nodes' socket opened and read
 * (on_router), each inbox message dispatched (apply), the stop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh.pb-c.h"
#include "kh_catalog.h"
#include "kh_db.h"
#include "kh_log.h"
#include "kh_util.h"

#include "collector.h"
#include "store.h"

/* The inbox's apply (the skeleton checked the type: REPORT or RECEIPT).  A REPORT comes
 * from a node, with its district (kh_inbox_add_from in on_router), or is a dead letter
 * replayed with it; one without came on the notifier's socket. */
static int apply(void *arg, const kh_wmsg_t *m, char *key, size_t keycap)
{
    collector_t *c = arg;
    if (strcmp(m->type, KH_T_RECEIPT) == 0)
        return co_intake_receipt(c, m, key, keycap);
    /* the sender's district, or the one kept with a dead letter being replayed */
    const char *from = c->sender ? c->sender : kh_inbox_replay_origin(c->inbox);
    if (!from) {
        kh_stage_malformed(c->st);
        KH_WARN("message.malformed", "the notifier may only send RECEIPT", "type", m->type,
                "malformed", co_malformed(c));
        return KH_APPLY_BAD;
    }
    return co_intake_report(c, from, m, key, keycap);
}

/* With each pump of the skeleton's links: the receipts to the nodes. */
static void pump(void *arg)
{
    collector_t *c = arg;
    kh_link_pump(c->to_nodes);
}

static void on_router(kh_zsock_t *s, zmq_msg_t *parts, int n, void *arg)
{
    collector_t *c = arg;
    char district[KH_CODE_MAX];
    int who = -2;                       /* not identified yet */
    if (s == c->front && c->curve && n >= 1) {
        /* with CURVE the sender is known before the message is read: every message with a
         * valid key, malformed or not, enters its connection in the table (its admitted
         * handshake stops being "pending" and its close is seen) */
        kh_wmsg_t who_m = {.rid = zmq_msg_data(&parts[0]), .rid_len = zmq_msg_size(&parts[0])};
        kh_door_drain(c->door);
        kh_door_spoke(c->door, zmq_msg_get(&parts[n - 1], ZMQ_SRCFD));
        if ((who = co_identify(c, parts, n, &who_m, district, sizeof district)) < 0)
            return;
    }
    kh_wmsg_t m;
    if (kh_wire_parse(parts, n, 1, &m) < 0) {
        kh_stage_malformed(c->st);
        KH_WARN("message.malformed", "wrong frames", "malformed", co_malformed(c));
        return;
    }
    int is_report = strcmp(m.type, KH_T_REPORT) == 0, is_ack = strcmp(m.type, KH_T_ACK) == 0;
    if (!is_report && !is_ack && strcmp(m.type, KH_T_HELLO) != 0) {
        kh_stage_malformed(c->st);
        KH_WARN("message.malformed", "nodes may only send REPORT, ACK and HELLO", "type",
                m.type, "malformed", co_malformed(c));
        return;
    }
    if (who == -2) {                    /* a closed network: what the message says */
        kh_door_drain(c->door);
        kh_door_spoke(c->door, zmq_msg_get(&parts[n - 1], ZMQ_SRCFD));
        if ((who = co_identify(c, parts, n, &m, district, sizeof district)) < 0)
            return;
    }
    /* the documented size is the real one: ZeroMQ's own limit has room for the envelope */
    if ((int64_t)m.len > c->svc->max_msg_outside) {
        kh_door_refused(c->door, KH_DOOR_SIZE);
        kh_stage_malformed(c->st);
        KH_WARN_RL("message.too_large", who ? district : "?", "a message over "
                   "max_message_bytes: dropped", "district", who ? district : NULL,
                   "type", m.type, "malformed", co_malformed(c));
        return;
    }
    /* an ACK's work is bounded before it is done: its keys are counted on the wire */
    if (is_ack && kh_wire_count_field(m.payload, m.len, 1) > c->max_ack_keys) {
        kh_door_refused(c->door, KH_DOOR_ACK_KEYS);
        kh_stage_malformed(c->st);
        KH_WARN_RL("message.malformed", who ? district : "?", "an ACK with more than "
                   "max_ack_keys keys: dropped", "district", who ? district : NULL,
                   "malformed", co_malformed(c));
        return;
    }
    if (is_ack) {
        /* a node acknowledges only receipts addressed to its own district */
        if (kh_link_ack_from(c->to_nodes, who ? district : NULL, m.payload, m.len) < 0) {
            kh_stage_malformed(c->st);
            KH_WARN("message.malformed", "an ACK from a node does not decode", "malformed",
                    co_malformed(c));
        }
    } else if (is_report) {
        c->sender = district;        /* co_intake_report runs inside kh_inbox_add */
        kh_inbox_add_from(c->inbox, s, &m, district);
        c->sender = NULL;
    }
    kh_link_pump(c->to_nodes);
}

static void say_ready(void *arg)
{
    collector_t *c = arg;
    char msg[512];
    snprintf(msg, sizeof msg, "listening for nodes on the configured endpoint (%s); %lld reports "
             "waiting for the validator", c->curve ? "CURVE, registered keys only" : "NO CURVE",
             (long long)kh_outbox_depth(kh_link_outbox(c->to_validator)));
    kh_service_ready(c->svc, msg);
}

static void on_stop(void *arg)
{
    collector_t *c = arg;
    kh_zap_close(c->zap);
    c->zap = NULL;
    kh_door_close(&c->door);
    uv_close((uv_handle_t *)&c->revoke_timer, NULL);
    kh_zsock_close(c->front);
    kh_link_destroy(&c->to_nodes);
}

/* What the skeleton does not: [collector]'s bounds, the statements, the nodes' socket
 * (CURVE with the registry's keys, fail closed; its connections watched by the door), the
 * receipts routed to the nodes on it, the revocation timer. */
static int setup(kh_stage_t *st, void *arg)
{
    collector_t *c = arg;
    kh_service_t *s = kh_stage_service(st);
    c->st = st;
    c->svc = s;
    c->cat = kh_stage_catalog(st);
    c->db = kh_stage_db(st);
    c->inbox = kh_stage_inbox(st);
    c->to_validator = kh_stage_link(st, 0);
    char listen[1024], err[512];
    if (kh_service_str(s, "collector", "listen", listen, sizeof listen))
        return -1;
    const char *replay = kh_config_raw(s->cfg, "collector", "replay_clock");
    if (strcmp(replay, "collector") != 0 && strcmp(replay, "node") != 0) {
        KH_ERROR("config.error", "[collector] replay_clock must be collector or node",
                 "config", s->config_path);
        return -1;
    }
    c->replay_node_clock = strcmp(replay, "node") == 0;
    c->st_report = kh_db_prepare(c->db, "INSERT INTO report(report_id,revision,district,period,"
                                        "received_at,payload) VALUES(?,?,?,?,?,?) "
                                        "ON CONFLICT DO NOTHING");
    c->st_receipt = kh_db_prepare(c->db, "INSERT INTO receipt(event_id,district,at) "
                                         "VALUES(?,?,?) ON CONFLICT DO NOTHING");
    c->st_last_rev = kh_db_prepare(c->db, "SELECT coalesce(max(revision),0) FROM report "
                                          "WHERE report_id=?");
    kh_zopts_t fo = s->zopts;
    fo.router = 1;
    /* the door takes the outside limit, checked on the payload (on_router); ZeroMQ's own
     * limit applies to the frame as it travels, CURVE's envelope included */
    fo.max_msg = s->max_msg_outside + 4096;
    fo.no_handover = 1;                   /* a node's routing id means nothing (conns.h) */
    long max_conns, per_key, node_queue, max_unspoken;
    if (kh_config_long(s->cfg, "collector", "max_connections", &max_conns,
                       err, sizeof err) < 0 ||
        kh_config_long(s->cfg, "collector", "max_connections_per_key", &per_key,
                       err, sizeof err) < 0 ||
        kh_config_long(s->cfg, "collector", "node_queue", &node_queue, err,
                       sizeof err) < 0 ||
        kh_config_long(s->cfg, "collector", "max_values",
                       &c->max_values, err, sizeof err) < 0 ||
        kh_config_long(s->cfg, "collector", "max_ack_keys", &c->max_ack_keys,
                       err, sizeof err) < 0 ||
        kh_config_long(s->cfg, "collector", "max_revision_step",
                       &c->max_revision_step, err, sizeof err) < 0 ||
        kh_config_long(s->cfg, "collector", "max_unspoken_per_address",
                       &max_unspoken, err, sizeof err) < 0) {
        KH_ERROR("config.error", err);
        return -1;
    }
    /* what one connection may have waiting in memory here: the rest waits in the node's
     * outbox and TCP, so memory is bounded by connections × node_queue × message size */
    fo.rcvhwm = (int)node_queue;
    if (!(c->conns = conns_new((int)max_conns, (int)per_key)))
        return -1;
    if ((c->curve = kh_service_curve(s)) < 0)
        return -1;
    if (c->curve) {
        /* fail closed: no handler, no key, no registry: no start */
        if (kh_service_curve_server(s, "nodes:district", &c->server, &c->keys, &c->zap) < 0)
            return -1;
        fo.curve_server_sk = c->server.curve_sk;
        fo.zap_domain = "nodes";
        kh_zap_admit(c->zap, co_admit, c);
    }
    c->front = kh_zsock_new(&s->loop, s->zctx, ZMQ_ROUTER, &fo, on_router, c);
    if (!c->st_report || !c->st_receipt || !c->st_last_rev || !c->front) {
        KH_ERROR("service.start", "cannot open the sockets", "error", zmq_strerror(zmq_errno()));
        return -1;
    }
    /* the door watches before the socket binds: a connection it was never told of would
     * look closed (kh_door_live).  Every connection speaks within its handshake time and
     * a margin (a node says HELLO at once), before an admitted handshake stops counting
     * against its key (admit) */
    kh_door_opts_t dopt = {.name = "nodes", .max_connections = (int)max_conns,
                           .max_unspoken_per_address = (int)max_unspoken,
                           .speak_ms = s->zopts.handshake_ms + 3000};
    if (!(c->door = kh_door_new(&s->loop, s->zctx, c->front, &dopt, co_conn_closed, c))) {
        KH_ERROR("service.start", "cannot watch the node socket's connections");
        return -1;
    }
    if (kh_zsock_bind(c->front, listen) < 0) {
        KH_ERROR("service.start", "cannot bind", "listen", listen, "error",
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    /* backpressure: reports from the nodes wait at the nodes while the validator is behind */
    kh_stage_gate_socket(st, c->front);
    uv_timer_init(&s->loop, &c->revoke_timer);
    c->revoke_timer.data = c;
    uv_timer_start(&c->revoke_timer, co_revoke_tick, 1000, 1000);
    c->to_nodes = kh_link_routed(c->front, c->db, "nodes", (int)s->window, (int)s->resend_ms);
    if (!c->to_nodes)
        return -1;
    kh_link_resolver(c->to_nodes, co_route, c);
    kh_service_watch_count(s, "kh_reports_received_total", "Reports stored at the door and "
                           "passed on (new revisions; a resend is a duplicate).", NULL, NULL,
                           &c->received);
    kh_service_watch_count(s, "kh_reports_refused_total", "Reports refused at the door (another "
                           "unit's, too large, bad signature), with a receipt.", NULL, NULL,
                           &c->refused);
    kh_service_watch_count(s, "kh_auth_refused_total", "Messages dropped for their key "
                           "(revoked, over its connections, another unit's connection).",
                           NULL, NULL, &c->refused_keys);
    kh_service_watch_count(s, "kh_node_messages_late_total", "Node messages read after "
                           "their connection had closed (taken; the connection is not "
                           "counted again).", NULL, NULL, &c->late);
    kh_metrics_source_add(co_conns_metrics, c);
    c->metrics_on = 1;
    /* with CURVE, prove that a client with an unknown key is refused before saying ready */
    return c->curve ? kh_stage_selfcheck(st, c->front, c->server.curve_pk) : 0;
}

static void fini(void *arg)
{
    collector_t *c = arg;
    sqlite3_finalize(c->st_report);
    sqlite3_finalize(c->st_receipt);
    sqlite3_finalize(c->st_last_rev);
    kh_keys_destroy(&c->keys);
    if (c->metrics_on)
        kh_metrics_source_remove(c);
    conns_destroy(&c->conns);
}

static const kh_stage_def_t stage = {
    .name = "collector",
    .usage = "Receives the reporting units' reports, stores them, passes them on.\n",
    .listen_key = "receipts",
    .open_db = co_store_open,
    .types = {KH_T_REPORT, KH_T_RECEIPT},
    .links = {{"validator", "collector", "validator"}},
    .malformed_help = "Malformed messages refused at the door or from the notifier.",
    .setup = setup,
    .apply = apply,
    .pump = pump,
    .ready = say_ready,
    .stop = on_stop,
    .fini = fini,
};

int main(int argc, char **argv)
{
    static collector_t c;
    return kh_stage_main(&stage, &c, argc, argv);
}

