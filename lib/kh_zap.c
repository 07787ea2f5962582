/*
 * kh_zap.c — ZAP handler and start-up self-check; see kh_zap.h.
 */
#include "kh_zap.h"
#include "kh_keys.h"
#include "kh_log.h"
#include "kh_util.h"
#include "kh_zuv.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct kh_zap {
    kh_zsock_t *rep;
    sqlite3 *keys;
    char domains[256];
    uint64_t refused, allowed;
    kh_zap_admit_fn admit;
    void *admit_arg;
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
    if (zmq_msg_size(&p[0]) != 3 || memcmp(zmq_msg_data(&p[0]), "1.0", 3) != 0 ||
        strcmp(mech, "CURVE") != 0 || n != 7 || zmq_msg_size(&p[6]) != 32) {
        z->refused++;
        KH_WARN("auth.refused", "not a CURVE handshake: only CURVE clients are let in",
                "mechanism", mech, "address", address);
        reply(z, &p[1], "400", "CURVE only", "");
        return;
    }
    const uint8_t *key = zmq_msg_data(&p[6]);
    char id[KH_KEY_ID_MAX], role[16], unit[64], hex[65];
    sodium_bin2hex(hex, sizeof hex, key, 32);
    hex[16] = '\0';
    if (kh_keys_by_curve(z->keys, key, kh_real_ms(), id, role, unit) < 0) {
        z->refused++;
        KH_WARN("auth.refused", "unknown, revoked or expired key: connection refused",
                "key", hex, "address", address, "domain", domain);
        reply(z, &p[1], "400", "unknown key", "");
        return;
    }
    if (!role_allowed(z->domains, domain, role)) {
        z->refused++;
        KH_WARN("auth.refused", "this key's role may not use this endpoint", "key_id", id,
                "role", role, "domain", domain, "address", address);
        reply(z, &p[1], "400", "role not allowed", "");
        return;
    }
    if (z->admit && z->admit(z->admit_arg, domain, id, unit) < 0) {
        z->refused++;              /* the service said why (e.g. too many connections) */
        reply(z, &p[1], "400", "not admitted now", "");
        return;
    }
    z->allowed++;
    KH_INFO("auth.allowed", "key accepted", "key_id", id, "role", role, "district", unit,
            "address", address);
    reply(z, &p[1], "200", "OK", id);
}

kh_zap_t *kh_zap_new(uv_loop_t *loop, void *zctx, sqlite3 *keys, const char *domains)
{
    kh_zap_t *z = calloc(1, sizeof *z);
    if (!z || sodium_init() < 0) {
        free(z);
        return NULL;
    }
    z->keys = keys;
    kh_strlcpy(z->domains, domains, sizeof z->domains);
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

typedef struct {
    kh_zsock_t *client, *monitor;
    uv_timer_t timer;
    kh_zap_check_fn done;
    void *arg;
    int finished;
} check_t;

static void check_closed(uv_handle_t *h) { free(h->data); }

static void check_finish(check_t *c, int ok)
{
    if (c->finished)
        return;
    c->finished = 1;
    uv_timer_stop(&c->timer);
    kh_zsock_close(c->monitor);
    kh_zsock_close(c->client);
    uv_close((uv_handle_t *)&c->timer, check_closed);
    c->done(c->arg, ok);
}

static void on_monitor(kh_zsock_t *s, zmq_msg_t *p, int n, void *arg)
{
    (void)s;
    check_t *c = arg;
    if (n < 1 || zmq_msg_size(&p[0]) < 2)
        return;
    uint16_t event;
    memcpy(&event, zmq_msg_data(&p[0]), 2);
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        check_finish(c, 0);
    else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        check_finish(c, -1);
}

static void on_check_timeout(uv_timer_t *t) { check_finish(t->data, -1); }

int kh_zap_selfcheck(uv_loop_t *loop, void *zctx, const char *endpoint, const uint8_t server_pk[32],
                     int timeout_ms, kh_zap_check_fn done, void *arg)
{
    return kh_zap_selfcheck_as(loop, zctx, ZMQ_DEALER, endpoint, server_pk, timeout_ms, done, arg);
}

int kh_zap_selfcheck_as(uv_loop_t *loop, void *zctx, int type, const char *endpoint,
                        const uint8_t server_pk[32], int timeout_ms, kh_zap_check_fn done,
                        void *arg)
{
    static int serial;
    check_t *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->done = done;
    c->arg = arg;
    uint8_t pk[32], sk[32];
    randombytes_buf(sk, sizeof sk);
    crypto_scalarmult_base(pk, sk);
    kh_zopts_t o = {.curve_server_pk = server_pk, .curve_pk = pk, .curve_sk = sk};
    char mon[64];
    snprintf(mon, sizeof mon, "inproc://kh-selfcheck-%d", ++serial);
    c->client = kh_zsock_new(loop, zctx, type, &o, NULL, NULL);
    if (!c->client || zmq_socket_monitor(kh_zsock_raw(c->client), mon,
                                         ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                             ZMQ_EVENT_HANDSHAKE_SUCCEEDED) < 0)
        goto out_fail;
    c->monitor = kh_zsock_new(loop, zctx, ZMQ_PAIR, NULL, on_monitor, c);
    if (!c->monitor || kh_zsock_connect(c->monitor, mon) < 0 ||
        kh_zsock_connect(c->client, endpoint) < 0)
        goto out_fail;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    uv_timer_start(&c->timer, on_check_timeout, (uint64_t)timeout_ms, 0);
    return 0;
out_fail:
    KH_ERROR("auth.selfcheck", "cannot start the self-check", "error", zmq_strerror(zmq_errno()));
    if (c->monitor)
        kh_zsock_close(c->monitor);
    if (c->client)
        kh_zsock_close(c->client);
    free(c);
    return -1;
}
