/*
 * kh_zap.c — ZAP handler and start-up self-check; see kh_zap.h.
 */
#include "kh_zap.h"
#include "kh_keys.h"
#include "kh_log.h"
#include "kh_metrics.h"
#include "kh_util.h"
#include "kh_zuv.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct kh_zap {
    kh_zsock_t *rep;
    kh_keys_t *keys;            /* borrowed: the service owns it */
    char domains[256];
    uint64_t refused, allowed;
    kh_zap_admit_fn admit;
    void *admit_arg;
    /* kh_door_refused_total{reason}: the handshakes this handler refuses */
    kh_metric_t *m_not_curve, *m_unknown, *m_role, *m_not_admitted;
};

/* Is `role` allowed in `domain` by the "name:role,role;…" list? */
static int role_allowed(const char *list, const char *domain, const char *role)
{
    char buf[256];
    kh_strlcpy(buf, list, sizeof buf);
    for (char *s1 = NULL, *d = strtok_r(buf, ";", &s1); d; d = strtok_r(NULL, ";", &s1)) {
        char *colon = strchr(d, ':');
        if (!colon)
            continue;
        *colon = '\0';
        while (*d == ' ')
            d++;
        if (strcmp(d, domain) != 0)
            continue;
        for (char *s2 = NULL, *r = strtok_r(colon + 1, ",", &s2); r; r = strtok_r(NULL, ",", &s2)) {
            while (*r == ' ')
                r++;
            if (strcmp(r, role) == 0)
                return 1;
        }
    }
    return 0;
}

static void reply(kh_zap_t *z, zmq_msg_t *reqid, const char *code, const char *text,
                  const char *user)
{
    const void *bufs[6] = {"1.0", zmq_msg_data(reqid), code, text, user, ""};
    size_t lens[6] = {3, zmq_msg_size(reqid), 3, strlen(text), strlen(user), 0};
    if (kh_zsock_sendv(z->rep, bufs, lens, 6) < 0)
        KH_ERROR("auth.reply", "cannot answer a ZAP request", "error", zmq_strerror(zmq_errno()));
}

static void on_request(kh_zsock_t *s, zmq_msg_t *p, int n, void *arg)
{
    (void)s;
    kh_zap_t *z = arg;
    if (n < 6) {             /* not even a request id to answer: ZeroMQ itself never does this */
        KH_ERROR("auth.malformed", "a malformed ZAP request");
        return;
    }
    char domain[64] = "", mech[16] = "", address[64] = "";
    size_t dl = zmq_msg_size(&p[2]), ml = zmq_msg_size(&p[5]), al = zmq_msg_size(&p[3]);
    if (dl < sizeof domain)
        memcpy(domain, zmq_msg_data(&p[2]), dl);
    if (ml < sizeof mech)
        memcpy(mech, zmq_msg_data(&p[5]), ml);
    if (al < sizeof address)
        memcpy(address, zmq_msg_data(&p[3]), al);
    /* an outsider decides how often these happen: the lines are rate-limited per address */
    if (zmq_msg_size(&p[0]) != 3 || memcmp(zmq_msg_data(&p[0]), "1.0", 3) != 0 ||
        strcmp(mech, "CURVE") != 0 || n != 7 || zmq_msg_size(&p[6]) != 32) {
        z->refused++;
        kh_metric_inc(z->m_not_curve);
        KH_WARN_RL("auth.refused", address, "not a CURVE handshake: only CURVE clients are "
                   "let in", "mechanism", mech, "address", address, "reason", "not_curve");
        reply(z, &p[1], "400", "CURVE only", "");
        return;
    }
    const uint8_t *key = zmq_msg_data(&p[6]);
    char id[KH_KEY_ID_MAX], role[16], unit[64], hex[65];
    sodium_bin2hex(hex, sizeof hex, key, 32);
    hex[16] = '\0';
    int known = kh_keys_by_curve(z->keys, key, kh_real_ms(), id, role, unit);
    if (known == KH_ERR) {
        /* the registry's trouble: a temporary failure (ZAP 300), the client tries again */
        KH_ERROR_RL("security.registry", "keys", kh_keys_errmsg(z->keys), "key", hex);
        reply(z, &p[1], "300", "key registry unavailable, try again", "");
        return;
    }
    if (known != KH_OK) {
        z->refused++;
        kh_metric_inc(z->m_unknown);
        KH_WARN_RL("auth.refused", address, "unknown, revoked or expired key: connection "
                   "refused", "key", hex, "address", address, "domain", domain,
                   "reason", "unknown_key");
        reply(z, &p[1], "400", "unknown key", "");
        return;
    }
    if (!role_allowed(z->domains, domain, role)) {
        z->refused++;
        kh_metric_inc(z->m_role);
        KH_WARN_RL("auth.refused", address, "this key's role may not use this endpoint",
                   "key_id", id, "role", role, "domain", domain, "address", address,
                   "reason", "role");
        reply(z, &p[1], "400", "role not allowed", "");
        return;
    }
    if (z->admit && z->admit(z->admit_arg, domain, id, unit) < 0) {
        z->refused++;              /* the service said why (e.g. too many connections) */
        kh_metric_inc(z->m_not_admitted);
        reply(z, &p[1], "300", "not admitted now, try again", "");
        return;
    }
    z->allowed++;
    KH_INFO_RL("auth.allowed", id, "key accepted", "key_id", id, "role", role, "district",
               unit, "address", address);
    reply(z, &p[1], "200", "OK", id);
}

kh_zap_t *kh_zap_new(uv_loop_t *loop, void *zctx, kh_keys_t *keys, const char *domains)
{
    kh_zap_t *z = calloc(1, sizeof *z);
    if (!z || sodium_init() < 0) {
        free(z);
        return NULL;
    }
    z->keys = keys;
    kh_strlcpy(z->domains, domains, sizeof z->domains);
    static const char help[] = "Connections cut or messages refused at the door, by reason.";
    z->m_not_curve = kh_metrics_counter("kh_door_refused_total", help, "reason", "not_curve");
    z->m_unknown = kh_metrics_counter("kh_door_refused_total", help, "reason", "unknown_key");
    z->m_role = kh_metrics_counter("kh_door_refused_total", help, "reason", "role");
    z->m_not_admitted = kh_metrics_counter("kh_door_refused_total", help, "reason",
                                           "not_admitted");
    z->rep = kh_zsock_new(loop, zctx, ZMQ_REP, NULL, on_request, z);
    if (!z->rep || kh_zsock_bind(z->rep, "inproc://zeromq.zap.01") < 0) {
        KH_ERROR("auth.start", "cannot bind the ZAP handler: refusing to run unauthenticated",
                 "error", zmq_strerror(zmq_errno()));
        if (z->rep)
            kh_zsock_close(z->rep);
        free(z);
        return NULL;
    }
    return z;
}

void kh_zap_close(kh_zap_t *z)
{
    if (!z)
        return;
    kh_zsock_close(z->rep);
    free(z);
}

uint64_t kh_zap_refused(const kh_zap_t *z) { return z->refused; }

int kh_zap_add_domains(kh_zap_t *z, const char *domains)
{
    size_t have = strlen(z->domains);
    if (have + 1 + strlen(domains) >= sizeof z->domains)
        return -1;
    snprintf(z->domains + have, sizeof z->domains - have, "%s%s", have ? ";" : "", domains);
    return 0;
}

void kh_zap_admit(kh_zap_t *z, kh_zap_admit_fn fn, void *arg)
{
    z->admit = fn;
    z->admit_arg = arg;
}

/* ---- self-check -------------------------------------------------------------------------- */

struct kh_zap_check {
    uv_loop_t *loop;
    void *zctx;
    int type;
    char endpoint[256];
    char what[80];
    uint8_t server_pk[32];
    int own_key;                 /* 1: the configured client key below; 0: random each time */
    uint8_t client_pk[32], client_sk[32];
    int timeout_ms, max_timeout_ms, attempts;
    int attempt;                 /* the attempt running, 1..attempts */
    int wait_ms;                 /* its wait */
    kh_zsock_t *client, *monitor;
    uv_timer_t timer;
    kh_zap_check_fn done;
    void *arg;
    int finished;
};

const char *kh_zap_outcome_name(kh_zap_outcome_t o)
{
    switch (o) {
    case KH_ZAP_REFUSED: return "refused";
    case KH_ZAP_ADMITTED: return "admitted";
    case KH_ZAP_NO_ANSWER: return "no answer";
    }
    return "?";
}

static int opts_ok(const kh_zap_check_opts_t *o)
{
    return o && o->endpoint && strlen(o->endpoint) < 256 && o->server_pk && o->timeout_ms >= 1 &&
           o->attempts >= 1 && !o->client_pk == !o->client_sk;
}

/* The wait of attempt k (1-based): timeout_ms doubled k-1 times, at most the larger of
 * max_timeout_ms and timeout_ms. */
static int attempt_wait(int timeout_ms, int max_timeout_ms, int k)
{
    int64_t cap = max_timeout_ms > timeout_ms ? max_timeout_ms : timeout_ms, w = timeout_ms;
    for (int i = 1; i < k && w < cap; i++)
        w *= 2;
    return (int)(w < cap ? w : cap);
}

int64_t kh_zap_selfcheck_bound_ms(const kh_zap_check_opts_t *o)
{
    if (!opts_ok(o))
        return -1;
    int64_t sum = 0;
    for (int k = 1; k <= o->attempts; k++)
        sum += attempt_wait(o->timeout_ms, o->max_timeout_ms, k);
    return sum;
}

static void check_closed(uv_handle_t *h)
{
    kh_zap_check_t *c = h->data;
    sodium_memzero(c->client_sk, sizeof c->client_sk);
    free(c);
}

/* Closes the attempt's client and its monitor (their events no longer matter).  The
 * client stops being monitored first: ZeroMQ's I/O thread sends each event on a PAIR
 * socket and blocks while that PAIR has no peer, so an event (the refusal, late) that
 * came after the reader closed would hang the whole context's I/O thread — no
 * connection of the service moved again (make san's crash tier, an aggregator never
 * ready; tests/unit/test_selfcheck.c, a busy turn). */
static void attempt_close(kh_zap_check_t *c)
{
    if (c->client && c->monitor)
        zmq_socket_monitor(kh_zsock_raw(c->client), NULL, 0);
    if (c->monitor)
        kh_zsock_close(c->monitor);
    if (c->client)
        kh_zsock_close(c->client);
    c->monitor = c->client = NULL;
}

/* Ends the check: everything closed, then done (unless cancelled: notify 0). */
static void check_end(kh_zap_check_t *c, int notify, kh_zap_outcome_t outcome)
{
    if (c->finished)
        return;
    c->finished = 1;
    uv_timer_stop(&c->timer);
    attempt_close(c);
    uv_close((uv_handle_t *)&c->timer, check_closed);    /* frees c after this turn */
    if (notify)
        c->done(c->arg, outcome, c->attempt);
}

static void on_monitor(kh_zsock_t *s, zmq_msg_t *p, int n, void *arg)
{
    (void)s;
    kh_zap_check_t *c = arg;
    if (n < 1 || zmq_msg_size(&p[0]) < 2 || c->finished)
        return;
    uint16_t event;
    memcpy(&event, zmq_msg_data(&p[0]), 2);
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        check_end(c, 1, KH_ZAP_REFUSED);
    else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        check_end(c, 1, KH_ZAP_ADMITTED);
}

static void on_check_timeout(uv_timer_t *t);

/* Starts attempt c->attempt + 1: a new client (and key) watched by a new monitor.
 * Returns 0, or -1 after logging (what was opened is closed again). */
static int attempt_start(kh_zap_check_t *c)
{
    static unsigned serial;
    uint8_t pk[32], sk[32];
    if (c->own_key) {
        memcpy(pk, c->client_pk, 32);
        memcpy(sk, c->client_sk, 32);
    } else {
        randombytes_buf(sk, sizeof sk);
        crypto_scalarmult_base(pk, sk);
    }
    kh_zopts_t o = {.curve_server_pk = c->server_pk, .curve_pk = pk, .curve_sk = sk};
    char mon[64];
    snprintf(mon, sizeof mon, "inproc://kh-selfcheck-%u", ++serial);
    c->client = kh_zsock_new(c->loop, c->zctx, c->type, &o, NULL, NULL);
    sodium_memzero(sk, sizeof sk);
    if (!c->client || zmq_socket_monitor(kh_zsock_raw(c->client), mon,
                                         ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                             ZMQ_EVENT_HANDSHAKE_SUCCEEDED) < 0)
        goto fail;
    c->monitor = kh_zsock_new(c->loop, c->zctx, ZMQ_PAIR, NULL, on_monitor, c);
    if (!c->monitor || kh_zsock_connect(c->monitor, mon) < 0 ||
        kh_zsock_connect(c->client, c->endpoint) < 0)
        goto fail;
    c->attempt++;
    c->wait_ms = attempt_wait(c->timeout_ms, c->max_timeout_ms, c->attempt);
    uv_timer_start(&c->timer, on_check_timeout, (uint64_t)c->wait_ms, 0);
    return 0;
fail:
    KH_ERROR("auth.selfcheck", "cannot start the self-check", "error", zmq_strerror(zmq_errno()),
             "endpoint", c->endpoint);
    attempt_close(c);
    return -1;
}

/* The monitor's events still queued, read directly: an answer that came in the same
 * loop turn as the timeout (a turn that blocked for longer than the wait) counts.  Ends
 * the check when one is the answer.  Returns 1 when it ended. */
static int monitor_read_now(kh_zap_check_t *c)
{
    void *raw = c->monitor ? kh_zsock_raw(c->monitor) : NULL;
    if (!raw)
        return 0;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, raw, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return 0;
        }
        uint16_t ev = 0;
        if (zmq_msg_size(&m) >= 2)
            memcpy(&ev, zmq_msg_data(&m), 2);
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        while (more) {          /* the event's endpoint frame */
            zmq_msg_init(&m);
            more = zmq_msg_recv(&m, raw, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
        if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            check_end(c, 1, ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED ? KH_ZAP_ADMITTED
                                                                : KH_ZAP_REFUSED);
            return 1;
        }
    }
}

static void on_check_timeout(uv_timer_t *t)
{
    kh_zap_check_t *c = t->data;
    if (c->finished || monitor_read_now(c))
        return;
    char msg[512], att[16];
    snprintf(att, sizeof att, "%d", c->attempt);
    int last = c->attempt >= c->attempts;
    snprintf(msg, sizeof msg, "self-check: no answer from %s%s%s within %d ms (attempt %d of "
             "%d)%s", c->what, c->what[0] ? " " : "", c->endpoint, c->wait_ms, c->attempt, c->attempts,
             last ? "; no attempt left" : "; trying again with a fresh client");
    KH_WARN("auth.selfcheck", msg, "attempt", att, "endpoint", c->endpoint);
    attempt_close(c);
    if (last || attempt_start(c) < 0)
        check_end(c, 1, KH_ZAP_NO_ANSWER);
}

kh_zap_check_t *kh_zap_selfcheck(uv_loop_t *loop, void *zctx, const kh_zap_check_opts_t *o,
                                 kh_zap_check_fn done, void *arg)
{
    if (!opts_ok(o) || !done || sodium_init() < 0) {
        KH_ERROR("auth.selfcheck", "cannot start the self-check: bad options");
        return NULL;
    }
    kh_zap_check_t *c = calloc(1, sizeof *c);
    if (!c) {
        KH_ERROR("auth.selfcheck", "cannot start the self-check: out of memory");
        return NULL;
    }
    c->loop = loop;
    c->zctx = zctx;
    c->type = o->type;
    kh_strlcpy(c->endpoint, o->endpoint, sizeof c->endpoint);
    kh_strlcpy(c->what, o->what ? o->what : "", sizeof c->what);
    memcpy(c->server_pk, o->server_pk, 32);
    if (o->client_pk) {
        c->own_key = 1;
        memcpy(c->client_pk, o->client_pk, 32);
        memcpy(c->client_sk, o->client_sk, 32);
    }
    c->timeout_ms = o->timeout_ms;
    c->max_timeout_ms = o->max_timeout_ms;
    c->attempts = o->attempts;
    c->done = done;
    c->arg = arg;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    if (attempt_start(c) < 0) {
        c->finished = 1;
        uv_close((uv_handle_t *)&c->timer, check_closed);
        return NULL;
    }
    return c;
}

void kh_zap_selfcheck_cancel(kh_zap_check_t *c)
{
    if (c)
        check_end(c, 0, KH_ZAP_NO_ANSWER);
}
