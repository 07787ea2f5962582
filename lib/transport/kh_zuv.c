/*
 * kh_zuv.c — ZeroMQ-on-libuv glue; see kh_zuv.h for the edge-trigger contract.
 */
#include "kh_zuv.h"
#include "kh_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DRAIN_BUDGET 64      /* messages per socket per loop turn */

struct kh_zsock {
    void *z;
    uv_poll_t poll;
    uv_idle_t idle;
    kh_zsock_cb cb;
    void *arg;
    int closing;
    int open_handles;
    int in_callback;
    int paused;              /* kh_zsock_pause: input is left in ZeroMQ's queue */
    uint64_t malformed;
};

static void handle_closed(uv_handle_t *h)
{
    kh_zsock_t *s = h->data;
    if (--s->open_handles == 0)
        free(s);
}

static void on_idle(uv_idle_t *h);

static void drain(kh_zsock_t *s)
{
    for (int done = 0; done < DRAIN_BUDGET; done++) {
        if (s->closing)
            return;
        if (s->paused) {
            /* read ZMQ_EVENTS all the same: it takes the edge off ZMQ_FD, which would
             * otherwise stay readable and spin the loop for as long as we are paused */
            int ev = 0;
            size_t evlen = sizeof ev;
            zmq_getsockopt(s->z, ZMQ_EVENTS, &ev, &evlen);
            uv_idle_stop(&s->idle);
            return;
        }
        int ev = 0;
        size_t evlen = sizeof ev;
        if (zmq_getsockopt(s->z, ZMQ_EVENTS, &ev, &evlen) < 0 || !(ev & ZMQ_POLLIN)) {
            uv_idle_stop(&s->idle);
            return;
        }
        zmq_msg_t parts[KH_ZMAX_PARTS];
        int n = 0, too_many = 0, more = 1;
        while (more) {
            zmq_msg_t tmp, *m = n < KH_ZMAX_PARTS ? &parts[n] : &tmp;
            zmq_msg_init(m);
            if (zmq_msg_recv(m, s->z, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(m);
                break;
            }
            more = zmq_msg_more(m);
            if (n < KH_ZMAX_PARTS)
                n++;
            else {
                too_many = 1;
                zmq_msg_close(m);
            }
        }
        if (too_many) {
            s->malformed++;
            KH_WARN("zmq.malformed", "message with too many frames dropped");
        } else if (n > 0 && s->cb) {
            s->in_callback++;
            s->cb(s, parts, n, s->arg);
            s->in_callback--;
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&parts[i]);
    }
    if (!s->closing)
        uv_idle_start(&s->idle, on_idle);   /* budget spent: continue next turn */
}

static void on_idle(uv_idle_t *h) { drain(h->data); }

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)events;
    kh_zsock_t *s = h->data;
    if (status < 0)
        KH_WARN("zmq.poll", uv_strerror(status));
    drain(s);
}

/* CURVE options; any failure is fatal for the socket (fail closed). */
static int apply_security(void *z, const kh_zopts_t *o)
{
    int one = 1;
    if (o->handshake_ms > 0 &&
        zmq_setsockopt(z, ZMQ_HANDSHAKE_IVL, &o->handshake_ms, sizeof o->handshake_ms) < 0)
        return -1;
    if (o->curve_server_sk) {
        const char *dom = o->zap_domain ? o->zap_domain : "";
        if (!*dom || zmq_setsockopt(z, ZMQ_CURVE_SERVER, &one, sizeof one) < 0 ||
            zmq_setsockopt(z, ZMQ_CURVE_SECRETKEY, o->curve_server_sk, 32) < 0 ||
            zmq_setsockopt(z, ZMQ_ZAP_DOMAIN, dom, strlen(dom)) < 0 ||
            zmq_setsockopt(z, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) < 0)
            return -1;
    }
    if (o->curve_server_pk) {
        if (!o->curve_pk || !o->curve_sk ||
            zmq_setsockopt(z, ZMQ_CURVE_SERVERKEY, o->curve_server_pk, 32) < 0 ||
            zmq_setsockopt(z, ZMQ_CURVE_PUBLICKEY, o->curve_pk, 32) < 0 ||
            zmq_setsockopt(z, ZMQ_CURVE_SECRETKEY, o->curve_sk, 32) < 0)
            return -1;
    }
    return 0;
}

int kh_zopts_apply(void *z, const kh_zopts_t *o)
{
    int linger = 0;      /* the durable outbox, not the ZeroMQ queue, is the truth */
    if (zmq_setsockopt(z, ZMQ_LINGER, &linger, sizeof linger) < 0)
        return -1;
    if (!o)
        return 0;
    int rc = 0, one = 1;
    if (o->hwm > 0) {
        rc |= zmq_setsockopt(z, ZMQ_SNDHWM, &o->hwm, sizeof o->hwm);
        rc |= zmq_setsockopt(z, ZMQ_RCVHWM, &o->hwm, sizeof o->hwm);
    }
    if (o->rcvhwm > 0)
        rc |= zmq_setsockopt(z, ZMQ_RCVHWM, &o->rcvhwm, sizeof o->rcvhwm);
    if (o->max_msg > 0)
        rc |= zmq_setsockopt(z, ZMQ_MAXMSGSIZE, &o->max_msg, sizeof o->max_msg);
    if (o->routing_id)
        rc |= zmq_setsockopt(z, ZMQ_ROUTING_ID, o->routing_id, strlen(o->routing_id));
    if (o->router) {
        rc |= zmq_setsockopt(z, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
        if (!o->no_handover)
            rc |= zmq_setsockopt(z, ZMQ_ROUTER_HANDOVER, &one, sizeof one);
    }
    if (o->heartbeat_ms > 0) {
        int ttl = o->heartbeat_ms * 3;
        rc |= zmq_setsockopt(z, ZMQ_HEARTBEAT_IVL, &o->heartbeat_ms, sizeof(int));
        rc |= zmq_setsockopt(z, ZMQ_HEARTBEAT_TIMEOUT, &ttl, sizeof ttl);
    }
    if (rc < 0)
        return -1;
    return apply_security(z, o);
}

void *kh_zsocket(void *zctx, int type, const kh_zopts_t *o)
{
    void *z = zmq_socket(zctx, type);
    if (z && kh_zopts_apply(z, o) < 0) {
        int e = zmq_errno();
        zmq_close(z);
        errno = e;
        return NULL;
    }
    return z;
}

kh_zsock_t *kh_zsock_new(uv_loop_t *loop, void *zctx, int type, const kh_zopts_t *o,
                         kh_zsock_cb cb, void *arg)
{
    kh_zsock_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->z = kh_zsocket(zctx, type, o);
    if (!s->z) {
        KH_ERROR("zmq.options", "cannot open the socket or set its options (CURVE among "
                 "them): refusing to open it", "error", zmq_strerror(errno));
        free(s);
        return NULL;
    }
    s->cb = cb;
    s->arg = arg;
    int fd;
    size_t fdlen = sizeof fd;
    if (zmq_getsockopt(s->z, ZMQ_FD, &fd, &fdlen) < 0)
        goto out_close_z;
    if (uv_poll_init(loop, &s->poll, fd) < 0)
        goto out_close_z;
    uv_idle_init(loop, &s->idle);
    s->poll.data = s->idle.data = s;
    s->open_handles = 2;
    if (cb) {
        uv_poll_start(&s->poll, UV_READABLE, on_poll);
        uv_idle_start(&s->idle, on_idle);   /* anything that came before the poll started */
    }
    return s;
out_close_z:
    zmq_close(s->z);
    free(s);
    return NULL;
}

/* bind and connect process the socket's pending commands too, which can eat the edge
 * of a message already there (an inproc peer that queued before we connected: a socket
 * monitor's events): drain once afterwards, as after a send. */
int kh_zsock_bind(kh_zsock_t *s, const char *endpoint)
{
    if (zmq_bind(s->z, endpoint) < 0)
        return -1;
    if (s->cb)
        uv_idle_start(&s->idle, on_idle);
    return 0;
}

int kh_zsock_connect(kh_zsock_t *s, const char *endpoint)
{
    if (zmq_connect(s->z, endpoint) < 0)
        return -1;
    if (s->cb)
        uv_idle_start(&s->idle, on_idle);
    return 0;
}

int kh_zsock_sendv(kh_zsock_t *s, const void *const *bufs, const size_t *lens, int n)
{
    if (s->closing) {
        errno = ENOTSOCK;
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_send(s->z, bufs[i], lens[i], flags) < 0) {
            /* ZeroMQ sends multipart atomically: a failure can only come on the first
             * frame, so nothing partial is left queued. */
            if (s->cb)
                uv_idle_start(&s->idle, on_idle);
            return -1;
        }
    }
    if (s->cb)
        uv_idle_start(&s->idle, on_idle);   /* the send may have eaten the edge */
    return 0;
}

void kh_zsock_pause(kh_zsock_t *s, int paused)
{
    if (s->closing || s->paused == (paused != 0))
        return;
    s->paused = paused != 0;
    if (!s->paused && s->cb)
        uv_idle_start(&s->idle, on_idle);   /* the edge may have passed meanwhile */
}

int kh_zsock_paused(const kh_zsock_t *s) { return s->paused; }

void *kh_zsock_raw(kh_zsock_t *s) { return s->z; }
uint64_t kh_zsock_malformed(const kh_zsock_t *s) { return s->malformed; }

void kh_zsock_close(kh_zsock_t *s)
{
    if (!s || s->closing)
        return;
    s->closing = 1;
    uv_poll_stop(&s->poll);    /* leave epoll before ZeroMQ closes the descriptor */
    uv_idle_stop(&s->idle);
    zmq_close(s->z);
    s->z = NULL;
    uv_close((uv_handle_t *)&s->poll, handle_closed);
    uv_close((uv_handle_t *)&s->idle, handle_closed);
}
