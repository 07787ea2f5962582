/*
 * kh_zuv.h — ZeroMQ sockets inside a libuv loop.
 *
 * A ZeroMQ socket's ZMQ_FD is edge-triggered: it signals that ZMQ_EVENTS may have
 * changed, not that a message waits.  So after every wake-up we drain until
 * ZMQ_EVENTS shows no POLLIN, at most `budget` messages per loop turn; if work
 * remains, an idle handle keeps the loop turning without blocking.  A send can also
 * consume the edge, so every send arms the idle handle once more.  This module is
 * the only place that knows this; every service uses it.
 *
 * Messages are read whole: up to KH_ZMAX_PARTS frames.  A longer message is read,
 * dropped and counted in `malformed` (the callback never sees it).
 */
#ifndef KH_ZUV_H
#define KH_ZUV_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <zmq.h>

#define KH_ZMAX_PARTS 8     /* a ZAP request has 7 */

typedef struct kh_zsock kh_zsock_t;
/* Called once per message with its frames (owned by the module: copy what you keep).
 * The callback may send on any socket and may close this one. */
typedef void (*kh_zsock_cb)(kh_zsock_t *s, zmq_msg_t *parts, int nparts, void *arg);

typedef struct {
    int hwm;                 /* send and receive high-water marks (messages) */
    int64_t max_msg;         /* ZMQ_MAXMSGSIZE in bytes; larger inbound messages drop the peer */
    const char *routing_id;  /* DEALER: identity seen by the ROUTER (NULL: none) */
    int router;              /* ROUTER: mandatory routing + handover of a reconnecting id */
    int no_handover;         /* ROUTER facing outside: an id in use is never handed over */
    int rcvhwm;              /* > 0: the receive high-water mark per peer, instead of hwm */
    int heartbeat_ms;        /* ZMTP heartbeats (0: off) so dead tcp peers are noticed */
    int handshake_ms;        /* ZMQ_HANDSHAKE_IVL (0: libzmq's default, 30 s) */
    /* CURVE, server side: our Curve25519 secret key (32 bytes) and the ZAP domain;
     * every peer is then authenticated by the process's ZAP handler (lib/security/kh_zap). */
    const uint8_t *curve_server_sk;
    const char *zap_domain;
    /* CURVE, client side: the server's public key and our key pair (32 bytes each). */
    const uint8_t *curve_server_pk, *curve_pk, *curve_sk;
} kh_zopts_t;

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93      /* in Debian's zmq.h only among the draft options */
#endif

/* Applies o to a plain ZeroMQ socket z (a tool's blocking socket; kh_zsock_new applies
 * the same): linger 0, the high-water marks, the largest message, the routing id, the
 * ROUTER options, heartbeats, the handshake time and CURVE.  o may be NULL (linger only).
 * Returns 0, or -1 (zmq_errno) when an option could not be set: never use that socket
 * (it might be unauthenticated). */
int kh_zopts_apply(void *z, const kh_zopts_t *o);
/* zmq_socket with kh_zopts_apply.  Returns NULL (errno set) when either fails. */
void *kh_zsocket(void *zctx, int type, const kh_zopts_t *o);

/* Creates a socket of `type` with the options and starts watching it for input
 * (cb may be NULL for send-only sockets such as PUB).  Returns NULL on error. */
kh_zsock_t *kh_zsock_new(uv_loop_t *loop, void *zctx, int type, const kh_zopts_t *o,
                         kh_zsock_cb cb, void *arg);
int kh_zsock_bind(kh_zsock_t *s, const char *endpoint);      /* 0 or -1 (errno) */
int kh_zsock_connect(kh_zsock_t *s, const char *endpoint);   /* 0 or -1 (errno) */

/* Sends n frames without blocking.  Returns 0, or -1 with errno: EAGAIN when the
 * peer's queue is at its high-water mark, EHOSTUNREACH (ROUTER) when the routing id
 * is not connected. */
int kh_zsock_sendv(kh_zsock_t *s, const void *const *bufs, const size_t *lens, int n);

/* Stops (paused != 0) or resumes reading input: while paused, messages wait in
 * ZeroMQ's queue, bounded by the high-water mark, and then in the senders' (flow
 * control: a stage that cannot keep up slows the one before it).  Sending goes on. */
void kh_zsock_pause(kh_zsock_t *s, int paused);
int kh_zsock_paused(const kh_zsock_t *s);

void *kh_zsock_raw(kh_zsock_t *s);
uint64_t kh_zsock_malformed(const kh_zsock_t *s);

/* Stops watching, closes the ZeroMQ socket now and frees the wrapper once libuv has
 * closed its handles.  Safe to call from inside the socket's own callback. */
void kh_zsock_close(kh_zsock_t *s);

#endif
