/*
 * kh_link.c — outbox + socket; see kh_link.h.
 */
#include "kh_link.h"
#include "kh.pb-c.h"
#include "kh_log.h"
#include "kh_util.h"

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
    kh_link_state_fn on_state;
    void *state_arg;
    int broken;             /* handshakes broken by the peer since the last success */
    int connected;          /* a TCP connection since the last reconnect timer */
    int64_t redial_at;      /* kh_mono_ms: dial again (after a ZAP 400); 0 none */
    char endpoint[256];
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

/* A handshake or connection that failed: what it says (kh_link.h, kh_link_state_t). */
static void link_failed(kh_link_t *l, uint16_t ev, uint32_t val)
{
    kh_link_state_t st = 0;
    switch (ev) {
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        if (val == 400) {
            st = KH_LINK_REFUSED;
            l->redial_at = kh_mono_ms() + KH_LINK_REDIAL_MS;
        }
        break;                  /* 300 (registry busy), 500: the peer's trouble, not ours */
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        st = KH_LINK_BAD_SERVER;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        if (val != EAGAIN && ++l->broken >= 2)      /* EAGAIN: a ZAP 300 */
            st = KH_LINK_BAD_SERVER;
        break;
    case ZMQ_EVENT_CONNECTED:
        l->connected = 1;
        break;
    case ZMQ_EVENT_CONNECT_RETRIED:
        /* libzmq starts its reconnect timer after every disconnection too (a handshake
         * that failed, a peer that went away): unreachable only when no connection was
         * made since the last time */
        if (!l->connected)
            st = KH_LINK_UNREACHABLE;
        l->connected = 0;
        break;
    default:
        break;
    }
    if (st && l->on_state)
        l->on_state(l->state_arg, st, (int)val);
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
    if (ev != ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        uint32_t val = 0;
        if (zmq_msg_size(&parts[0]) >= sizeof ev + sizeof val)
            memcpy(&val, (const char *)zmq_msg_data(&parts[0]) + sizeof ev, sizeof val);
        link_failed(l, ev, val);
        return;
    }
    l->broken = 0;
    l->redial_at = 0;
    if (l->on_state)
        l->on_state(l->state_arg, KH_LINK_UP, 0);
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
        zmq_socket_monitor(kh_zsock_raw(l->sock), mep,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED) < 0)
        KH_WARN("link.monitor", "cannot watch the connection: after a reconnection what was "
                "in flight goes again only after the resend timeouts", "link", name);
    kh_strlcpy(l->endpoint, endpoint, sizeof l->endpoint);
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

int kh_link_pump(kh_link_t *l)
{
    if (l->redial_at && kh_mono_ms() >= l->redial_at) {
        l->redial_at = 0;
        zmq_disconnect(kh_zsock_raw(l->sock), l->endpoint);
        if (kh_zsock_connect(l->sock, l->endpoint) < 0)
            KH_WARN("link.redial", zmq_strerror(zmq_errno()), "link", l->name);
    }
    return kh_outbox_pump(l->ob, link_send, l);
}

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

void kh_link_on_state(kh_link_t *l, kh_link_state_fn fn, void *arg)
{
    l->on_state = fn;
    l->state_arg = arg;
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
