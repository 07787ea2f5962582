/*
 * kh_link.c — outbox + socket; see kh_link.h.
 */
#include "kh_link.h"
#include "kh.pb-c.h"
#include "kh_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct kh_link {
    kh_zsock_t *sock;
    int owned;          /* a DEALER we created */
    kh_outbox_t *ob;
    char name[48];
    uint64_t acked;
    uint64_t malformed;
    kh_link_ack_fn on_ack;
    kh_link_msg_fn on_other;
    void *hook_arg;
    kh_zsock_t *mon;        /* the DEALER's handshakes (a socket monitor) */
    uint64_t handshakes;
    kh_link_connect_fn on_connect;
    void *connect_arg;
    kh_link_resolve_fn resolve;
    void *resolve_arg;
    kh_link_sent_fn on_sent;
    void *sent_arg;
};

static int link_send(void *arg, const char *dest, const char *key, const char *type,
                     const void *payload, size_t len)
{
    kh_link_t *l = arg;
    (void)key;
    const void *rid = dest;
    size_t rid_len = strlen(dest);
    if (!l->owned && l->resolve && l->resolve(l->resolve_arg, dest, &rid, &rid_len) < 0)
        return 1;                       /* no connection for this destination now */
    int rc = l->owned ? kh_wire_send_raw(l->sock, NULL, 0, type, payload, len)
                      : kh_wire_send_raw(l->sock, rid, rid_len, type, payload, len);
    if (rc == 0) {
        if (l->on_sent)
            l->on_sent(l->sent_arg, dest, key, len);
        return 0;
    }
    if (errno == EHOSTUNREACH)
        return 1;
    return -1;
}

static void on_dealer(kh_zsock_t *s, zmq_msg_t *parts, int n, void *arg)
{
    (void)s;
    kh_link_t *l = arg;
    kh_wmsg_t m;
    if (kh_wire_parse(parts, n, 0, &m) == 0 && strcmp(m.type, KH_T_ACK) != 0 && l->on_other) {
        l->on_other(l->hook_arg, &m);
        return;
    }
    if (kh_wire_parse(parts, n, 0, &m) < 0 || strcmp(m.type, KH_T_ACK) != 0 ||
        kh_link_ack(l, m.payload, m.len) < 0) {
        l->malformed++;
        KH_WARN("link.malformed", "unexpected message on an outgoing link", "link", l->name);
        return;
    }
    kh_link_pump(l);
}

static kh_link_t *link_alloc(sqlite3 *db, const char *name, int window, int resend_ms)
{
    kh_link_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->ob = kh_outbox_new(db, name, window, resend_ms);
    if (!l->ob) {
        free(l);
        return NULL;
    }
    return l;
}

/* A new connection to the peer after the first (it restarted, or the old connection
 * broke: heartbeats, a partition): what was in flight on the old one may be lost with
 * it, so all of it goes again now instead of after the resend timeouts, which are
 * patient with a peer that is merely slow (see kh_outbox.c, pump_dest). */
static void on_monitor(kh_zsock_t *s, zmq_msg_t *parts, int n, void *arg)
{
    (void)s;
    kh_link_t *l = arg;
    uint16_t ev;
    if (n < 1 || zmq_msg_size(&parts[0]) < sizeof ev)
        return;
    memcpy(&ev, zmq_msg_data(&parts[0]), sizeof ev);
    if (ev != ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        return;
    if (l->on_connect)
        l->on_connect(l->connect_arg);
    if (l->handshakes++ == 0)
        return;
    kh_outbox_reset_dest(l->ob, "");
    KH_INFO("link.reconnected", "a new connection to the peer: what was in flight goes again",
            "link", l->name);
    kh_link_pump(l);
}

kh_link_t *kh_link_new(uv_loop_t *loop, void *zctx, const kh_zopts_t *o, const char *endpoint,
                       sqlite3 *db, const char *name, int window, int resend_ms)
{
    kh_link_t *l = link_alloc(db, name, window, resend_ms);
    if (!l)
        return NULL;
    l->owned = 1;
    l->sock = kh_zsock_new(loop, zctx, ZMQ_DEALER, o, on_dealer, l);
    if (!l->sock) {
        KH_ERROR("link.connect", zmq_strerror(zmq_errno()), "endpoint", endpoint, "link", name);
        kh_link_destroy(&l);
        return NULL;
    }
    /* the monitor listens before the socket connects (our end of it first: ZeroMQ drops
     * an event no one listens to): a first handshake untold made the first reconnection
     * look like the first connection, and what was in flight waited for its timeouts */
    static unsigned seq;
    char mep[96];
    snprintf(mep, sizeof mep, "inproc://kh-link-monitor-%u-%.40s", ++seq, name);
    if (!(l->mon = kh_zsock_new(loop, zctx, ZMQ_PAIR, NULL, on_monitor, l)) ||
        kh_zsock_connect(l->mon, mep) < 0 ||
        zmq_socket_monitor(kh_zsock_raw(l->sock), mep, ZMQ_EVENT_HANDSHAKE_SUCCEEDED) < 0)
        KH_WARN("link.monitor", "cannot watch the connection: after a reconnection what was "
                "in flight goes again only after the resend timeouts", "link", name);
    if (kh_zsock_connect(l->sock, endpoint) < 0) {
        KH_ERROR("link.connect", zmq_strerror(zmq_errno()), "endpoint", endpoint, "link", name);
        kh_link_destroy(&l);
        return NULL;
    }
    return l;
}

kh_link_t *kh_link_routed(kh_zsock_t *router, sqlite3 *db, const char *name, int window,
                          int resend_ms)
{
    kh_link_t *l = link_alloc(db, name, window, resend_ms);
    if (l)
        l->sock = router;
    return l;
}

kh_outbox_t *kh_link_outbox(kh_link_t *l) { return l->ob; }

int kh_link_put(kh_link_t *l, const char *dest, const char *key, const char *type,
                const void *payload, size_t len)
{
    return kh_outbox_put_until(l->ob, dest, key, type, payload, len, 0);
}

int kh_link_put_until(kh_link_t *l, const char *dest, const char *key, const char *type,
                      const void *payload, size_t len, int64_t expires_at)
{
    return kh_outbox_put_until(l->ob, dest, key, type, payload, len, expires_at);
}

int kh_link_put_msg(kh_link_t *l, const char *dest, const char *key, const char *type,
                    const ProtobufCMessage *m)
{
    return kh_link_put_msg_until(l, dest, key, type, m, 0);
}

int kh_link_put_msg_until(kh_link_t *l, const char *dest, const char *key, const char *type,
                          const ProtobufCMessage *m, int64_t expires_at)
{
    uint8_t *buf;
    size_t len;
    if (kh_wire_pack(m, &buf, &len) < 0)
        return -1;
    int rc = kh_outbox_put_until(l->ob, dest, key, type, buf, len, expires_at);
    free(buf);
    return rc;
}

int kh_link_pump(kh_link_t *l) { return kh_outbox_pump(l->ob, link_send, l); }

int kh_link_ack(kh_link_t *l, const uint8_t *payload, size_t len)
{
    return kh_link_ack_from(l, NULL, payload, len);
}

int kh_link_ack_from(kh_link_t *l, const char *dest, const uint8_t *payload, size_t len)
{
    Kh__Ack *ack = kh__ack__unpack(NULL, len, payload);
    if (!ack)
        return -1;
    if (l->on_ack)
        for (size_t i = 0; i < ack->n_keys; i++)
            l->on_ack(l->hook_arg, ack->keys[i], i < ack->n_duplicate && ack->duplicate[i]);
    int n = kh_outbox_ack_from(l->ob, dest, ack->keys, ack->n_keys);
    if (n > 0)
        l->acked += (uint64_t)n;
    kh__ack__free_unpacked(ack, NULL);
    return n < 0 ? 0 : n;
}

uint64_t kh_link_acked(const kh_link_t *l) { return l->acked; }

void kh_link_destroy(kh_link_t **self_p)
{
    kh_link_t *l = *self_p;
    if (!l)
        return;
    if (l->mon) {
        zmq_socket_monitor(kh_zsock_raw(l->sock), NULL, 0);
        kh_zsock_close(l->mon);
    }
    if (l->owned && l->sock)
        kh_zsock_close(l->sock);
    kh_outbox_destroy(&l->ob);
    free(l);
    *self_p = NULL;
}

void kh_link_hooks(kh_link_t *l, kh_link_ack_fn on_ack, kh_link_msg_fn on_other, void *arg)
{
    l->on_ack = on_ack;
    l->on_other = on_other;
    l->hook_arg = arg;
}

kh_zsock_t *kh_link_sock(kh_link_t *l) { return l->sock; }

void kh_link_on_connect(kh_link_t *l, kh_link_connect_fn fn, void *arg)
{
    l->on_connect = fn;
    l->connect_arg = arg;
}

void kh_link_on_sent(kh_link_t *l, kh_link_sent_fn fn, void *arg)
{
    l->on_sent = fn;
    l->sent_arg = arg;
}

void kh_link_resolver(kh_link_t *l, kh_link_resolve_fn fn, void *arg)
{
    l->resolve = fn;
    l->resolve_arg = arg;
}
