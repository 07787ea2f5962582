/*
 * kh_stage.c — the skeleton of a province stage; see kh_stage.h.
 */
#include "kh_stage.h"

#include <stdio.h>
#include <string.h>

#include "kh_db.h"
#include "kh_log.h"
#include "kh_util.h"

#define PUMP_MS 100

struct kh_stage {
    kh_service_t svc;            /* first: kh_service's on_stop gets it back */
    const kh_stage_def_t *def;
    void *arg;
    kh_catalog_t *cat;
    sqlite3 *db;
    kh_zsock_t *in;
    kh_zsock_t *gate;            /* what backpressure pauses: `in` unless the stage says */
    kh_inbox_t *inbox;
    kh_link_t *links[KH_STAGE_MAX_LINKS];
    size_t n_links;
    uv_timer_t pump_timer;
    int timer_on;
    uint64_t malformed;
    kh_zsock_t *door;            /* kh_stage_selfcheck */
    uint8_t door_pk[32];
    char listen[1024];           /* where `in` is bound */
};

kh_service_t *kh_stage_service(kh_stage_t *st) { return &st->svc; }
kh_catalog_t *kh_stage_catalog(kh_stage_t *st) { return st->cat; }
sqlite3 *kh_stage_db(kh_stage_t *st) { return st->db; }
kh_inbox_t *kh_stage_inbox(kh_stage_t *st) { return st->inbox; }
kh_zsock_t *kh_stage_in(kh_stage_t *st) { return st->in; }
const char *kh_stage_listen(const kh_stage_t *st) { return st->listen; }
kh_link_t *kh_stage_link(kh_stage_t *st, size_t i) { return i < st->n_links ? st->links[i] : NULL; }
uint64_t kh_stage_malformed(kh_stage_t *st) { return ++st->malformed; }
uint64_t kh_stage_malformed_count(const kh_stage_t *st) { return st->malformed; }
void kh_stage_gate_socket(kh_stage_t *st, kh_zsock_t *sock) { st->gate = sock; }

int kh_stage_selfcheck(kh_stage_t *st, kh_zsock_t *sock, const uint8_t server_pk[32])
{
    if (!sock) {
        KH_ERROR("service.start", "no socket to self-check: the stage's door was not made");
        return -1;
    }
    st->door = sock;
    memcpy(st->door_pk, server_pk, sizeof st->door_pk);
    return 0;
}

void kh_stage_pump(kh_stage_t *st)
{
    int64_t backlog = 0;
    for (size_t i = 0; i < st->n_links; i++) {
        kh_link_pump(st->links[i]);
        backlog += kh_outbox_depth(kh_link_outbox(st->links[i]));
    }
    if (st->def->pump)
        st->def->pump(st->arg);
    kh_service_gate(&st->svc, st->gate, backlog);
}

static void on_pump_timer(uv_timer_t *t) { kh_stage_pump(t->data); }

static void committed(void *arg)
{
    kh_stage_t *st = arg;
    if (st->def->committed)
        st->def->committed(st->arg);
    kh_stage_pump(st);
}

/* The inbox's apply: a type the stage does not take is refused before its apply. */
static int apply(void *arg, const kh_wmsg_t *m, char *key, size_t keycap)
{
    kh_stage_t *st = arg;
    const kh_stage_def_t *def = st->def;
    for (size_t i = 0; i < KH_STAGE_MAX_TYPES && def->types[i]; i++)
        if (strcmp(m->type, def->types[i]) == 0)
            return def->apply(st->arg, m, key, keycap);
    char n[24];
    KH_WARN("message.malformed", "unexpected message type", "type", m->type, "malformed",
            kh_u64_str(kh_stage_malformed(st), n, sizeof n));
    return KH_APPLY_BAD;
}

static void on_router(kh_zsock_t *s, zmq_msg_t *parts, int n, void *arg)
{
    kh_stage_t *st = arg;
    kh_wmsg_t m;
    if (kh_wire_parse(parts, n, 1, &m) < 0) {
        char c[24];
        KH_WARN("message.malformed", "wrong frames", "malformed",
                kh_u64_str(kh_stage_malformed(st), c, sizeof c));
        return;
    }
    kh_inbox_add(st->inbox, s, &m);
}

static void say_ready(void *arg)
{
    kh_stage_t *st = arg;
    if (st->def->ready)
        st->def->ready(st->arg);
    else
        kh_service_ready(&st->svc, "ready", "listen", st->listen);
}

static void on_stop(kh_service_t *s)
{
    kh_stage_t *st = (kh_stage_t *)s;
    kh_inbox_close(st->inbox);       /* what is applied is committed and acknowledged */
    if (st->def->stop)
        st->def->stop(st->arg);
    if (st->timer_on)
        uv_close((uv_handle_t *)&st->pump_timer, NULL);
    kh_zsock_close(st->in);
    for (size_t i = 0; i < st->n_links; i++)
        kh_link_destroy(&st->links[i]);
}

/* Steps 2 to 7 of kh_stage.h.  Returns 0, or -1 after logging why. */
static int start(kh_stage_t *st)
{
    const kh_stage_def_t *def = st->def;
    kh_service_t *s = &st->svc;
    char db_path[1024], err[512], *listen = st->listen;
    const char *listen_key = def->listen_key ? def->listen_key : "listen";
    if (kh_service_str(s, def->name, "db", db_path, sizeof db_path) ||
        kh_service_str(s, def->name, listen_key, listen, sizeof st->listen))
        return -1;
    if (!(st->cat = kh_service_catalog(s)))
        return -1;
    int opened = def->open_db ? def->open_db(&st->db, db_path, err, sizeof err)
                              : kh_db_open(&st->db, db_path, def->migrations, def->n_migrations,
                                           err, sizeof err);
    if (opened < 0) {
        KH_ERROR("db.open", err);
        return -1;
    }
    kh_zopts_t ro = s->zopts;
    ro.router = 1;
    st->in = st->gate = kh_zsock_new(&s->loop, s->zctx, ZMQ_ROUTER, &ro, on_router, st);
    if (!st->in || kh_zsock_bind(st->in, listen) < 0) {
        KH_ERROR("service.start", "cannot bind", listen_key, listen, "error",
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    for (; st->n_links < KH_STAGE_MAX_LINKS && def->links[st->n_links].name; st->n_links++) {
        const kh_stage_link_def_t *l = &def->links[st->n_links];
        char ep[1024];
        if (kh_service_str(s, l->section, l->key, ep, sizeof ep) < 0 ||
            !(st->links[st->n_links] = kh_link_new(&s->loop, s->zctx, &s->zopts, ep, st->db,
                                                   l->name, (int)s->window,
                                                   (int)s->resend_ms)))
            return -1;
    }
    if (!(st->inbox = kh_inbox_new(&s->loop, st->db, (int)s->batch_max, (int)s->batch_ms,
                                   apply, committed, st)))
        return -1;
    uv_timer_init(&s->loop, &st->pump_timer);
    st->pump_timer.data = st;
    st->timer_on = 1;
    uv_timer_start(&st->pump_timer, on_pump_timer, PUMP_MS, PUMP_MS);
    s->on_stop = on_stop;
    if (def->setup && def->setup(st, st->arg) < 0)
        return -1;
    kh_service_watch_count(s, "kh_messages_malformed_total",
                           def->malformed_help ? def->malformed_help
                                               : "Malformed messages refused (wrong frames, "
                                                 "type or payload).",
                           NULL, NULL, &st->malformed);
    if (!st->door) {
        kh_service_on_ready(s, say_ready, st);
        return 0;
    }
    return kh_service_selfcheck(s, st->door, st->door_pk, say_ready, st);
}

int kh_stage_main(const kh_stage_def_t *def, void *arg, int argc, char **argv)
{
    /* the one stage of this process, in static storage: a failed start leaves at once, as
     * a process does that never ran its loop (the reason is logged; the system takes back
     * what was opened), and what it opened stays reachable from here until the exit */
    static kh_stage_t stage;
    kh_stage_t *st = &stage;
    memset(st, 0, sizeof *st);
    st->def = def;
    st->arg = arg;
    int rc = kh_service_init(&st->svc, def->name, def->name, argc, argv, def->usage);
    if (rc)
        return rc > 0 ? KH_EXIT_OK : KH_EXIT_FAILURE;
    kh_service_t *s = &st->svc;
    if (start(st) < 0)
        return KH_EXIT_FAILURE;
    kh_service_run(s);
    if (def->fini)
        def->fini(arg);
    kh_db_close(&st->db);
    kh_catalog_destroy(&st->cat);
    kh_service_fini(s);
    return s->exit_code;
}
