/*
 * kh_link.h — the sending half of a hop: a durable outbox bound to the socket that
 * carries it.  A plain link owns a DEALER connected to the next process and handles
 * the Acks that come back on it; a routed link sends through a ROUTER the service
 * already owns (the collector's receipts to nodes), the row's destination being the
 * peer's routing id, and the service passes the Acks it receives to kh_link_ack.
 */
#ifndef KH_LINK_H
#define KH_LINK_H

#include <sqlite3.h>
#include <uv.h>

#include "kh_outbox.h"
#include "kh_wire.h"
#include "kh_zuv.h"

typedef struct kh_link kh_link_t;

/* DEALER to `endpoint` (connect), outbox table outbox_<name> in db.
 * routing_id may be NULL.  Returns NULL after logging. */
kh_link_t *kh_link_new(uv_loop_t *loop, void *zctx, const kh_zopts_t *o, const char *endpoint,
                       sqlite3 *db, const char *name, int window, int resend_ms);
/* Through an existing ROUTER (not owned). */
kh_link_t *kh_link_routed(kh_zsock_t *router, sqlite3 *db, const char *name, int window,
                          int resend_ms);

kh_outbox_t *kh_link_outbox(kh_link_t *l);
/* Queues a message (inside the caller's transaction).  See kh_outbox_put. */
int kh_link_put(kh_link_t *l, const char *dest, const char *key, const char *type,
                const void *payload, size_t len);
/* Packs m and queues it: the same results as kh_link_put (-1 also when it cannot pack). */
int kh_link_put_msg(kh_link_t *l, const char *dest, const char *key, const char *type,
                    const ProtobufCMessage *m);
/* The same with an expiry (kh_outbox_put_until): unix ms on the pipeline's clock, 0 never. */
int kh_link_put_until(kh_link_t *l, const char *dest, const char *key, const char *type,
                      const void *payload, size_t len, int64_t expires_at);
int kh_link_put_msg_until(kh_link_t *l, const char *dest, const char *key, const char *type,
                          const ProtobufCMessage *m, int64_t expires_at);
/* Sends what is due.  Returns the count sent, -1 on a database error. */
int kh_link_pump(kh_link_t *l);
/* Applies an Ack payload.  Returns keys removed, -1 when it does not decode. */
int kh_link_ack(kh_link_t *l, const uint8_t *payload, size_t len);
/* The same, deleting only rows addressed to `dest` (the authenticated sender). */
int kh_link_ack_from(kh_link_t *l, const char *dest, const uint8_t *payload, size_t len);
uint64_t kh_link_acked(const kh_link_t *l);

/* Optional hooks for a DEALER link: `on_ack` sees each acknowledged key before its
 * row is deleted (dup: the receiver already had it); `on_other` gets every message
 * on the link that is not an Ack (the node's receipts). */
typedef void (*kh_link_ack_fn)(void *arg, const char *key, int dup);
typedef void (*kh_link_msg_fn)(void *arg, const kh_wmsg_t *m);
void kh_link_hooks(kh_link_t *l, kh_link_ack_fn on_ack, kh_link_msg_fn on_other, void *arg);
kh_zsock_t *kh_link_sock(kh_link_t *l);
/* A DEALER link: fn(arg) after every completed handshake, the first one included (the
 * node says HELLO on each new connection so the collector learns where it is). */
/* fn(arg, dest, key, bytes) after each row handed to the socket (resends included):
 * what kh-node shows while it sends. */
typedef void (*kh_link_sent_fn)(void *arg, const char *dest, const char *key, size_t len);
void kh_link_on_sent(kh_link_t *l, kh_link_sent_fn fn, void *arg);
typedef void (*kh_link_connect_fn)(void *arg);
void kh_link_on_connect(kh_link_t *l, kh_link_connect_fn fn, void *arg);

/* What a DEALER link's handshakes say about the peer (libzmq 4.3.4's monitor events, as
 * measured: a ZAP 400 is HANDSHAKE_FAILED_AUTH with status 400; a wrong CURVE server key
 * is HANDSHAKE_FAILED_NO_DETAIL with EPIPE/ECONNRESET, the peer closing the connection
 * on a HELLO it cannot open; nothing listening is CONNECT_RETRIED without CONNECTED
 * before it — libzmq starts that timer after every disconnection as well).  A ZAP 300 (the
 * peer's key registry busy: it is restarting) and a single broken handshake (the peer
 * went away in the middle of one) say nothing: no state. */
typedef enum {
    KH_LINK_UP = 1,            /* a handshake succeeded */
    KH_LINK_REFUSED,           /* the peer's ZAP handler denied our key (status 400) */
    KH_LINK_BAD_SERVER,        /* two handshakes in a row broken by the peer, or a protocol
                                * mismatch: our idea of the server's key is wrong */
    KH_LINK_UNREACHABLE,       /* the connection itself fails (refused, no route, timeout) */
} kh_link_state_t;
/* fn(arg, state, detail) on every event that says something (the same state again
 * included: the caller keeps the last one); detail is the event's value (a ZAP status,
 * an errno). */
typedef void (*kh_link_state_fn)(void *arg, kh_link_state_t state, int detail);
void kh_link_on_state(kh_link_t *l, kh_link_state_fn fn, void *arg);
/* After a ZAP 400 libzmq 4.3.4 does not reconnect on its own; a DEALER link dials
 * again after this long (the key may have been registered meanwhile), at its next
 * kh_link_pump. */
#define KH_LINK_REDIAL_MS 10000
/* A routed link: fn maps a row's destination to the routing id of the peer's current
 * connection (*rid, *len); -1: no connection now, the row waits.  Without a resolver
 * the destination is the routing id. */
typedef int (*kh_link_resolve_fn)(void *arg, const char *dest, const void **rid, size_t *len);
void kh_link_resolver(kh_link_t *l, kh_link_resolve_fn fn, void *arg);
/* Closes the DEALER (if owned) and frees. */
void kh_link_destroy(kh_link_t **self_p);

#endif
