/*
 * identity.c — who is on the collector's node socket (collector.h): the district of the
 * key that sent a message, the handshakes ZAP may let in, where a district's receipts go,
 * and the connections of revoked keys cut off.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh.pb-c.h"
#include "kh_log.h"
#include "kh_util.h"
#include "kh_zap.h"

#include "collector.h"

/* Who sent this message on the node socket.  With CURVE: the district of its key, still
 * valid now (a revoked key is cut off at once, on connections already open too); without
 * (a closed network trusts its nodes): what the message says.  The connection goes into
 * the table (conns.h), which bounds connections per key.  Returns 1 with `district`
 * set, 0 for an ACK on a closed network from a connection not yet seen (acknowledges
 * anything), or -1 when the message is dropped (logged and counted). */
int co_identify(collector_t *c, zmq_msg_t *parts, int n, const kh_wmsg_t *m,
                    char *district, size_t cap)
{
    char key_id[64] = "";
    if (c->curve) {
        const char *uid = zmq_msg_gets(&parts[n - 1], "User-Id");
        char unit[64];
        int valid = uid ? kh_keys_valid(c->keys, uid, kh_real_ms(), unit) : KH_NO;
        if (valid == KH_ERR) {
            /* not acknowledged, so the node sends it again; its connection stays */
            KH_ERROR_RL("security.registry", "keys", kh_keys_errmsg(c->keys), "key_id", uid);
            return -1;
        }
        if (valid != KH_OK) {
            c->refused_keys++;
            KH_WARN_RL("auth.revoked", uid ? uid : "?", "a message from a key that is no "
                       "longer valid: dropped, its connection cut", "key_id", uid ? uid : "?",
                       "refused", co_count_str(c->refused_keys));
            kh_door_cut(c->door, zmq_msg_get(&parts[n - 1], ZMQ_SRCFD), KH_DOOR_REVOKED, uid,
                        NULL);
            return -1;
        }
        kh_strlcpy(key_id, uid, sizeof key_id);
        kh_strlcpy(district, unit, cap);
    } else if (strcmp(m->type, KH_T_HELLO) == 0) {
        if (m->len == 0 || m->len >= cap) {
            kh_stage_malformed(c->st);
            KH_WARN("message.malformed", "a HELLO without a district", "malformed",
                    co_malformed(c));
            return -1;
        }
        memcpy(district, m->payload, m->len);
        district[m->len] = '\0';
    } else if (strcmp(m->type, KH_T_REPORT) == 0) {
        Kh__Report *r = kh__report__unpack(NULL, m->len, m->payload);
        if (!r || !r->district[0] || strlen(r->district) >= cap) {
            if (r)
                kh__report__free_unpacked(r, NULL);
            kh_stage_malformed(c->st);
            KH_WARN("report.malformed", "a REPORT that does not decode or names no district",
                    "malformed", co_malformed(c));
            return -1;
        }
        kh_strlcpy(district, r->district, cap);
        kh__report__free_unpacked(r, NULL);
    } else {
        const char *d = conns_district(c->conns, m->rid, m->rid_len);
        if (!d)
            return 0;
        kh_strlcpy(district, d, cap);
    }
    int fd = zmq_msg_get(&parts[n - 1], ZMQ_SRCFD);
    int rc = conns_seen(c->conns, m->rid, m->rid_len, fd, kh_door_live(c->door, fd), key_id,
                        district, kh_mono_ms());
    switch (rc) {
    case CONN_KNOWN:
        return 1;
    case CONN_GONE:
        /* sent before its connection closed, read late: taken (a report is stored; the
         * node, on its new connection, sends it again and hears "duplicate"), but the
         * closed connection neither counts against its key nor becomes a route again */
        c->late++;
        KH_DEBUG("node.gone", "a message of a connection already closed", "district",
                 district, "key_id", key_id[0] ? key_id : NULL);
        return 1;
    case CONN_NEW:
        /* receipts waiting for this district go to this connection, now */
        kh_outbox_reset_dest(kh_link_outbox(c->to_nodes), district);
        KH_INFO("node.connected", "a node connection: receipts for its district go there",
                "district", district, "key_id", key_id[0] ? key_id : NULL);
        return 1;
    case CONN_KEY_LIMIT:
        c->refused_keys++;
        KH_WARN_RL("auth.too_many_connections", key_id, "a key already has "
                   "max_connections_per_key open connections: one more is cut", "key_id",
                   key_id, "district", district, "refused", co_count_str(c->refused_keys));
        kh_door_cut(c->door, fd, KH_DOOR_KEY_LIMIT, key_id, district);
        return -1;
    case CONN_FULL:
        c->refused_keys++;
        KH_WARN("conn.table_full", "max_connections node connections are open: message on "
                "one more dropped", "district", district, "refused", co_count_str(c->refused_keys));
        return -1;
    case CONN_MISMATCH:
        c->refused_keys++;
        KH_WARN_RL("auth.mismatch", key_id, "a connection spoke before with another key or "
                   "district: dropped", "key_id", key_id, "district", district,
                   "refused", co_count_str(c->refused_keys));
        return -1;
    default:
        kh_stage_malformed(c->st);
        KH_WARN("message.malformed", "routing id, key id or district empty or too long",
                "malformed", co_malformed(c));
        return -1;
    }
}

/* ZAP asks before letting a node key in: not when it is at its bound of connections
 * (open ones and handshakes let in that have not spoken yet). */
int co_admit(void *arg, const char *domain, const char *key_id, const char *unit)
{
    collector_t *c = arg;
    if (strcmp(domain, "nodes") != 0 ||
        conns_admit(c->conns, key_id, kh_mono_ms(),
                    (int64_t)c->svc->zopts.handshake_ms + KH_ADMIT_GRACE_MS) == 0)
        return 0;
    c->refused_keys++;
    kh_door_refused(c->door, KH_DOOR_KEY_LIMIT);
    KH_WARN_RL("auth.too_many_connections", key_id, "a key already has "
               "max_connections_per_key open connections: handshake refused", "key_id",
               key_id, "district", unit, "refused", co_count_str(c->refused_keys));
    return -1;
}

/* The routed link asks where a district's receipts go now. */
int co_route(void *arg, const char *dest, const void **rid, size_t *len)
{
    collector_t *c = arg;
    return conns_route(c->conns, dest, rid, len);
}

/* The metrics source (kh_metrics.h): the connections counted against their keys. */
void co_conns_metrics(void *arg)
{
    collector_t *c = arg;
    if (!c->m_conns)
        c->m_conns = kh_metrics_gauge("kh_node_connections_open", "Node connections the "
                                      "collector counts open (against each key's "
                                      "max_connections_per_key).", NULL, NULL);
    kh_metric_set(c->m_conns, conns_open(c->conns));
}

/* A node connection closed (the door saw it go). */
void co_conn_closed(void *arg, int fd)
{
    collector_t *c = arg;
    conns_closed_fd(c->conns, fd);
}

/* Revocation cuts the live connection (issue 11): every second, the open connections'
 * keys are looked up again; a connection whose key is no longer valid is cut, and its
 * district's receipts go to the district's other connection, if any. */
void co_revoke_tick(uv_timer_t *t)
{
    collector_t *c = t->data;
    if (!c->curve)
        return;
    conns_entry_t open[64];
    int64_t now = kh_real_ms();
    for (int from = 0;;) {
        int n = conns_list_open(c->conns, &from, open, 64);
        for (int i = 0; i < n; i++) {
            char unit[64];
            int valid = kh_keys_valid(c->keys, open[i].key_id, now, unit);
            if (valid == KH_ERR) {
                /* the registry's trouble cuts nobody: asked again in a second */
                KH_ERROR_RL("security.registry", "keys", kh_keys_errmsg(c->keys));
                return;
            }
            if (valid == KH_OK)
                continue;
            c->refused_keys++;
            kh_door_cut(c->door, open[i].fd, KH_DOOR_REVOKED, open[i].key_id, open[i].district);
            conns_closed_fd(c->conns, open[i].fd);
            kh_outbox_reset_dest(kh_link_outbox(c->to_nodes), open[i].district);
        }
        if (n < 64)
            break;
    }
}
