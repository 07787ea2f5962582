/*
 * test_selfcheck.c — the start-up self-check (lib/security/kh_zap.c, lib/process/kh_service.c) and its
 * three outcomes, against real sockets in one process:
 *
 *   refused    a CURVE server with the real ZAP handler and a key nobody registered;
 *   admitted   the same server with a registered key of a role the domain admits;
 *   no answer  a plain TCP socket that accepts connections and never says a word: the
 *              check tries exactly `attempts` times (one accepted connection each) and
 *              reports "no answer", never "admitted".
 *
 * Then the same through kh_service: ready on "refused" (and exit code 0 after a stop),
 * exit code 1 on "admitted" ([security] selfcheck_key = a registered key), exit code 75
 * on "no answer", and never ready in either failure.
 *
 * No assertion depends on the machine's speed: the waits only bound how long a test can
 * take, and a deadline (alarm) turns a hang into a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kh_db.h"
#include "kh_keys.h"
#include "kh_log.h"
#include "kh_service.h"
#include "kh_zap.h"
#include "kh_zuv.h"

#define DEADLINE_S 120         /* the whole program: a hang fails instead of blocking */

/* ---- a listener that accepts TCP and never answers ---------------------------------------- */

typedef struct {
    int fd;
    int port;
    int accepted;
    int conns[64];
    uv_poll_t poll;
    int polling;
} mute_t;

static void mute_accept(mute_t *m)
{
    for (;;) {
        int c = accept4(m->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0)
            return;
        if (m->accepted < (int)(sizeof m->conns / sizeof *m->conns))
            m->conns[m->accepted] = c;       /* kept open, never read, never written */
        else
            close(c);
        m->accepted++;
    }
}

static void on_mute(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    mute_accept(p->data);
}

/* Listens on 127.0.0.1 (a free port).  loop non-NULL: accepts as connections come. */
static void mute_open(mute_t *m, uv_loop_t *loop)
{
    memset(m, 0, sizeof *m);
    m->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(m->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(m->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(m->fd, 64), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(m->fd, (struct sockaddr *)&a, &al), 0);
    m->port = ntohs(a.sin_port);
    if (loop) {
        assert_int_equal(uv_poll_init(loop, &m->poll, m->fd), 0);
        m->poll.data = m;
        assert_int_equal(uv_poll_start(&m->poll, UV_READABLE, on_mute), 0);
        m->polling = 1;
    }
}

/* Takes what is still queued, closes everything; returns the connections accepted. */
static int mute_close(mute_t *m, uv_loop_t *loop)
{
    mute_accept(m);
    if (m->polling) {
        uv_close((uv_handle_t *)&m->poll, NULL);
        uv_run(loop, UV_RUN_NOWAIT);
    }
    for (int i = 0; i < m->accepted && i < (int)(sizeof m->conns / sizeof *m->conns); i++)
        close(m->conns[i]);
    close(m->fd);
    return m->accepted;
}

/* ---- a CURVE server with the real ZAP handler ---------------------------------------------- */

typedef struct {
    char dir[64];
    kh_keys_t *keys;
    kh_key_t server, admin, district;
    char admin_path[128];
} keys_fx_t;

static void keys_setup(keys_fx_t *k)
{
    char err[256], path[128];
    snprintf(k->dir, sizeof k->dir, "/tmp/kh-selfcheck-XXXXXX");
    assert_non_null(mkdtemp(k->dir));
    snprintf(path, sizeof path, "%s/keys.db", k->dir);
    assert_int_equal(kh_keys_open(&k->keys, path, err, sizeof err), 0);
    assert_int_equal(kh_key_generate("server", "server", "83", &k->server), 0);
    assert_int_equal(kh_key_generate("admin", "admin", "83", &k->admin), 0);
    assert_int_equal(kh_key_generate("829-1", "district", "829", &k->district), 0);
    assert_int_equal(kh_key_write(&k->admin, k->dir), 0);
    snprintf(k->admin_path, sizeof k->admin_path, "%s/admin.key", k->dir);
    assert_int_equal(kh_keys_register(k->keys, &k->admin, 0, err, sizeof err), 0);
    assert_int_equal(kh_keys_register(k->keys, &k->district, 0, err, sizeof err), 0);
}

static void keys_teardown(keys_fx_t *k)
{
    char cmd[128];
    kh_keys_destroy(&k->keys);
    snprintf(cmd, sizeof cmd, "rm -rf %s", k->dir);
    assert_int_equal(system(cmd), 0);
}

/* A ROUTER on tcp://127.0.0.1:* as a CURVE server of domain "test" (admin keys only).
 * Its endpoint goes to ep. */
static kh_zsock_t *curve_server(uv_loop_t *loop, void *zctx, const kh_key_t *server, char *ep,
                                size_t cap)
{
    kh_zopts_t o = {.router = 1, .curve_server_sk = server->curve_sk, .zap_domain = "test"};
    kh_zsock_t *s = kh_zsock_new(loop, zctx, ZMQ_ROUTER, &o, NULL, NULL);
    assert_non_null(s);
    assert_int_equal(kh_zsock_bind(s, "tcp://127.0.0.1:*"), 0);
    size_t len = cap;
    assert_int_equal(zmq_getsockopt(kh_zsock_raw(s), ZMQ_LAST_ENDPOINT, ep, &len), 0);
    return s;
}

/* ---- kh_zap_selfcheck ---------------------------------------------------------------------- */

typedef struct {
    int done;
    kh_zap_outcome_t outcome;
    int attempts;
} verdict_t;

static void on_done(void *arg, kh_zap_outcome_t outcome, int attempts)
{
    verdict_t *v = arg;
    v->done++;
    v->outcome = outcome;
    v->attempts = attempts;
}

static void run_until_done(uv_loop_t *loop, verdict_t *v)
{
    while (!v->done)
        uv_run(loop, UV_RUN_ONCE);   /* the check's timer always wakes the loop */
    uv_run(loop, UV_RUN_NOWAIT);     /* the check's closes complete */
}

static void test_bound(void **state)
{
    (void)state;
    uint8_t pk[32] = {0};
    kh_zap_check_opts_t o = {.type = ZMQ_DEALER, .endpoint = "tcp://127.0.0.1:1",
                             .server_pk = pk, .timeout_ms = 5000, .max_timeout_ms = 60000,
                             .attempts = 6};
    assert_int_equal(kh_zap_selfcheck_bound_ms(&o), 5000 + 10000 + 20000 + 40000 + 60000 + 60000);
    o.attempts = 1;
    assert_int_equal(kh_zap_selfcheck_bound_ms(&o), 5000);
    o.timeout_ms = 200, o.max_timeout_ms = 400, o.attempts = 3;
    assert_int_equal(kh_zap_selfcheck_bound_ms(&o), 200 + 400 + 400);
    o.max_timeout_ms = 100;           /* below the first wait: every wait is the first */
    assert_int_equal(kh_zap_selfcheck_bound_ms(&o), 600);
    o.attempts = 0;
    assert_int_equal(kh_zap_selfcheck_bound_ms(&o), -1);
    o.attempts = 1, o.timeout_ms = 0;
    assert_int_equal(kh_zap_selfcheck_bound_ms(&o), -1);
    o.timeout_ms = 100, o.client_pk = pk;     /* a public key without its secret */
    assert_int_equal(kh_zap_selfcheck_bound_ms(&o), -1);
}

/* A plain TCP listener that never answers: "no answer" after exactly N attempts, one
 * connection each, a fresh client every time. */
static void test_no_answer_after_n_attempts(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    void *zctx = zmq_ctx_new();
    mute_t m;
    mute_open(&m, &loop);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", m.port);
    kh_key_t server;
    assert_int_equal(kh_key_generate("server", "server", "83", &server), 0);
    const uint8_t *pk = server.curve_pk;
    for (int n = 1; n <= 3; n++) {
        verdict_t v = {0};
        mute_accept(&m);
        int before = m.accepted;
        kh_zap_check_opts_t o = {.type = ZMQ_DEALER, .endpoint = ep, .server_pk = pk,
                                 .timeout_ms = 300, .max_timeout_ms = 600, .attempts = n,
                                 .what = "a mute listener"};
        assert_non_null(kh_zap_selfcheck(&loop, zctx, &o, on_done, &v));
        assert_int_equal(v.done, 0);           /* never from inside the call */
        run_until_done(&loop, &v);
        assert_int_equal(v.done, 1);
        assert_int_equal(v.outcome, KH_ZAP_NO_ANSWER);
        assert_int_equal(v.attempts, n);
        mute_accept(&m);
        assert_int_equal(m.accepted - before, n);
    }
    mute_close(&m, &loop);
    zmq_ctx_term(zctx);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* The real ZAP handler of domain "test" (admin keys only) and a CURVE server that asks it,
 * in a loop of their own: what the self-check tests below knock at. */
typedef struct {
    keys_fx_t k;
    uv_loop_t loop;
    void *zctx;
    kh_zap_t *zap;
    kh_zsock_t *srv;
    char ep[256];
} door_fx_t;

static void door_open(door_fx_t *d)
{
    keys_setup(&d->k);
    assert_int_equal(uv_loop_init(&d->loop), 0);
    d->zctx = zmq_ctx_new();
    d->zap = kh_zap_new(&d->loop, d->zctx, d->k.keys, "test:admin");
    assert_non_null(d->zap);
    d->srv = curve_server(&d->loop, d->zctx, &d->k.server, d->ep, sizeof d->ep);
}

/* Closes the server and the handler, then runs the loop in `mode` (their closes). */
static void door_shut(door_fx_t *d, uv_run_mode mode)
{
    kh_zsock_close(d->srv);
    kh_zap_close(d->zap);
    uv_run(&d->loop, mode);
}

/* After door_shut: the context, the loop (nothing may be left in it) and the keys. */
static void door_free(door_fx_t *d)
{
    zmq_ctx_term(d->zctx);
    assert_int_equal(uv_loop_close(&d->loop), 0);
    keys_teardown(&d->k);
}

/* The real ZAP handler: an unknown key is refused, a registered district key (a role the
 * domain does not admit) too, a registered admin key is let in; each at the first try. */
static void test_refused_and_admitted(void **state)
{
    (void)state;
    door_fx_t d;
    door_open(&d);
    kh_zap_check_opts_t o = {.type = ZMQ_DEALER, .endpoint = d.ep, .server_pk = d.k.server.curve_pk,
                             .timeout_ms = 5000, .max_timeout_ms = 60000, .attempts = 6};
    verdict_t v = {0};
    assert_non_null(kh_zap_selfcheck(&d.loop, d.zctx, &o, on_done, &v));
    run_until_done(&d.loop, &v);
    assert_int_equal(v.outcome, KH_ZAP_REFUSED);
    assert_int_equal(v.attempts, 1);

    memset(&v, 0, sizeof v);
    o.client_pk = d.k.district.curve_pk, o.client_sk = d.k.district.curve_sk;
    assert_non_null(kh_zap_selfcheck(&d.loop, d.zctx, &o, on_done, &v));
    run_until_done(&d.loop, &v);
    assert_int_equal(v.outcome, KH_ZAP_REFUSED);

    memset(&v, 0, sizeof v);
    o.client_pk = d.k.admin.curve_pk, o.client_sk = d.k.admin.curve_sk;
    assert_non_null(kh_zap_selfcheck(&d.loop, d.zctx, &o, on_done, &v));
    run_until_done(&d.loop, &v);
    assert_int_equal(v.outcome, KH_ZAP_ADMITTED);
    assert_int_equal(v.attempts, 1);
    assert_string_equal(kh_zap_outcome_name(v.outcome), "admitted");

    /* cancelled: done is never called and the loop can end */
    memset(&v, 0, sizeof v);
    mute_t m;
    mute_open(&m, NULL);
    char mep[64];
    snprintf(mep, sizeof mep, "tcp://127.0.0.1:%d", m.port);
    o.endpoint = mep;
    kh_zap_check_t *c = kh_zap_selfcheck(&d.loop, d.zctx, &o, on_done, &v);
    assert_non_null(c);
    uv_run(&d.loop, UV_RUN_NOWAIT);
    kh_zap_selfcheck_cancel(c);
    door_shut(&d, UV_RUN_DEFAULT);    /* returns: nothing of the check is left */
    assert_int_equal(v.done, 0);
    mute_close(&m, &d.loop);
    door_free(&d);
}

/* A loop busy past the first attempt's wait (a restarted service working through its
 * backlog under a sanitizer): the refusal and the attempt's timeout come in the same turn,
 * and the attempt is closed while ZeroMQ's I/O thread may still be reporting the refusal
 * to its monitor.  The check still ends "refused" — at the first attempt or a later one —
 * and never waits out every attempt.  (It did, one round in two, while the monitor's
 * reader was closed before the client stopped being monitored: the I/O thread blocked
 * for good sending that event, and no connection of the context moved again — make
 * san's crash tier, an aggregator that never became ready.) */
static void on_busy(uv_timer_t *t)
{
    int ms = *(int *)t->data;
    usleep((useconds_t)ms * 1000);
}

static void test_refused_after_a_busy_turn(void **state)
{
    (void)state;
    door_fx_t d;
    door_open(&d);
    for (int round = 0; round < 5; round++) {
        kh_zap_check_opts_t o = {.type = ZMQ_DEALER, .endpoint = d.ep,
                                 .server_pk = d.k.server.curve_pk, .timeout_ms = 200,
                                 .max_timeout_ms = 400, .attempts = 6};
        verdict_t v = {0};
        int busy_ms = 600;
        uv_timer_t busy;
        uv_timer_init(&d.loop, &busy);
        busy.data = &busy_ms;
        uv_timer_start(&busy, on_busy, 0, 0);
        assert_non_null(kh_zap_selfcheck(&d.loop, d.zctx, &o, on_done, &v));
        run_until_done(&d.loop, &v);
        uv_close((uv_handle_t *)&busy, NULL);
        uv_run(&d.loop, UV_RUN_NOWAIT);
        assert_int_equal(v.outcome, KH_ZAP_REFUSED);
        assert_true(v.attempts >= 1 && v.attempts < 6);
    }
    door_shut(&d, UV_RUN_NOWAIT);
    door_free(&d);
}

/* ---- through kh_service: readiness and the exit code --------------------------------------- */

typedef struct {
    kh_service_t svc;
    kh_zsock_t *srv;
    kh_zap_t *zap;
    int ready;
} svc_fx_t;

static void svc_on_stop(kh_service_t *s)
{
    svc_fx_t *f = (svc_fx_t *)s;
    if (f->srv)
        kh_zsock_close(f->srv);
    if (f->zap)
        kh_zap_close(f->zap);
    f->srv = NULL;
    f->zap = NULL;
}

static void svc_ready(void *arg)
{
    svc_fx_t *f = arg;
    f->ready++;
    kh_service_stop(&f->svc);         /* as a SIGTERM would */
}

/* Writes DIR/kh.ini and starts the service from it. */
static void svc_start(svc_fx_t *f, const keys_fx_t *k, const char *extra)
{
    char path[128];
    snprintf(path, sizeof path, "%s/kh.ini", k->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "[general]\nrun_dir = %s\nselfcheck_timeout_ms = 500\nselfcheck_attempts = 2\n"
                "[security]\nkeys_db = %s/keys.db\n%s\n", k->dir, k->dir, extra);
    fclose(fp);
    memset(f, 0, sizeof *f);
    assert_int_equal(kh_service_start(&f->svc, "selfcheck-test", "test", path, "info", NULL), 0);
    f->svc.on_stop = svc_on_stop;
}

/* The door of the service: a CURVE server with the ZAP handler on the service's loop. */
static void svc_door(svc_fx_t *f, keys_fx_t *k)
{
    char ep[256];
    f->zap = kh_zap_new(&f->svc.loop, f->svc.zctx, k->keys, "test:admin");
    assert_non_null(f->zap);
    f->srv = curve_server(&f->svc.loop, f->svc.zctx, &k->server, ep, sizeof ep);
    assert_int_equal(kh_service_selfcheck(&f->svc, f->srv, k->server.curve_pk, svc_ready, f), 0);
}

static void test_service_refused_is_ready(void **state)
{
    (void)state;
    keys_fx_t k;
    keys_setup(&k);
    svc_fx_t f;
    svc_start(&f, &k, "");
    svc_door(&f, &k);
    assert_int_equal(kh_service_run(&f.svc), KH_EXIT_OK);
    assert_int_equal(f.ready, 1);
    kh_service_fini(&f.svc);
    keys_teardown(&k);
}

static void test_service_admitted_exits_1(void **state)
{
    (void)state;
    keys_fx_t k;
    keys_setup(&k);
    char extra[200];
    snprintf(extra, sizeof extra, "selfcheck_key = %s", k.admin_path);
    svc_fx_t f;
    svc_start(&f, &k, extra);
    svc_door(&f, &k);
    assert_int_equal(kh_service_run(&f.svc), KH_EXIT_FAILURE);
    assert_int_equal(f.svc.exit_code, 1);
    assert_int_equal(f.ready, 0);
    kh_service_fini(&f.svc);
    keys_teardown(&k);
}

static void test_service_no_answer_exits_75(void **state)
{
    (void)state;
    keys_fx_t k;
    keys_setup(&k);
    svc_fx_t f;
    svc_start(&f, &k, "");
    mute_t m;
    mute_open(&m, NULL);              /* the kernel accepts; nobody ever answers */
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", m.port);
    assert_int_equal(kh_service_selfcheck_at(&f.svc, ep, k.server.curve_pk, svc_ready, &f), 0);
    assert_int_equal(kh_service_run(&f.svc), KH_EXIT_TEMPFAIL);
    assert_int_equal(f.svc.exit_code, 75);
    assert_int_equal(f.ready, 0);
    assert_int_equal(mute_close(&m, &f.svc.loop), 2);     /* selfcheck_attempts = 2 */
    kh_service_fini(&f.svc);
    keys_teardown(&k);
}

static void test_service_bad_options(void **state)
{
    (void)state;
    keys_fx_t k;
    keys_setup(&k);
    char path[128];
    snprintf(path, sizeof path, "%s/kh.ini", k.dir);
    const char *bad[] = {"selfcheck_timeout_ms = 99", "selfcheck_timeout_ms = 60001",
                         "selfcheck_attempts = 0", "selfcheck_attempts = 51",
                         "selfcheck_attempts = six"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fprintf(fp, "[general]\nrun_dir = %s\n%s\n", k.dir, bad[i]);
        fclose(fp);
        kh_service_t s;
        memset(&s, 0, sizeof s);
        assert_int_equal(kh_service_start(&s, "selfcheck-test", "test", path, "info", NULL), -1);
        kh_config_destroy(&s.cfg);
    }
    /* selfcheck_key that cannot be read, or without its secret: refused when armed */
    const char *keys[] = {"selfcheck_key = /nonexistent/x.key", "selfcheck_key = %s/admin.pub"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char extra[200];
        snprintf(extra, sizeof extra, keys[i], k.dir);
        svc_fx_t f;
        svc_start(&f, &k, extra);
        assert_int_equal(kh_service_selfcheck_at(&f.svc, "tcp://127.0.0.1:1", k.server.curve_pk,
                                                 svc_ready, &f), -1);
        kh_service_fini(&f.svc);
    }
    keys_teardown(&k);
}

/* kh_zsocket: the one way a plain (tool's) socket gets its options; CURVE set as asked,
 * and a server without a ZAP domain is refused, never opened unauthenticated. */
static void test_zsocket_options(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    uint8_t pk[32], sk[32], spk[32];
    memset(pk, 1, 32);
    memset(sk, 2, 32);
    memset(spk, 3, 32);
    kh_zopts_t client = {.rcvhwm = 777, .max_msg = 4096, .curve_server_pk = spk,
                         .curve_pk = pk, .curve_sk = sk};
    void *z = kh_zsocket(ctx, ZMQ_DEALER, &client);
    assert_non_null(z);
    int v = 0;
    size_t len = sizeof v;
    assert_int_equal(zmq_getsockopt(z, ZMQ_MECHANISM, &v, &len), 0);
    assert_int_equal(v, ZMQ_CURVE);
    assert_int_equal(zmq_getsockopt(z, ZMQ_RCVHWM, &v, &len), 0);
    assert_int_equal(v, 777);
    assert_int_equal(zmq_getsockopt(z, ZMQ_LINGER, &v, &len), 0);
    assert_int_equal(v, 0);
    int64_t mm = 0;
    len = sizeof mm;
    assert_int_equal(zmq_getsockopt(z, ZMQ_MAXMSGSIZE, &mm, &len), 0);
    assert_int_equal(mm, 4096);
    zmq_close(z);
    /* a client key pair without the server's key, a server key without a domain */
    kh_zopts_t half = {.curve_server_pk = spk};
    assert_null(kh_zsocket(ctx, ZMQ_DEALER, &half));
    kh_zopts_t server = {.curve_server_sk = sk};
    assert_null(kh_zsocket(ctx, ZMQ_ROUTER, &server));
    zmq_ctx_term(ctx);
}

int main(void)
{
    alarm(DEADLINE_S);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_zsocket_options),
        cmocka_unit_test(test_no_answer_after_n_attempts),
        cmocka_unit_test(test_refused_and_admitted),
        cmocka_unit_test(test_refused_after_a_busy_turn),
        cmocka_unit_test(test_service_refused_is_ready),
        cmocka_unit_test(test_service_admitted_exits_1),
        cmocka_unit_test(test_service_no_answer_exits_75),
        cmocka_unit_test(test_service_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
