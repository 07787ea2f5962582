/*
 * kh_door.c — connections of an outside-facing socket, watched and bounded; see kh_door.h.
 *
 * A flat table scanned linearly: a few thousand entries at most, and the scans run on
 * a monitor event or a timer tick, never per byte.
 */
#include "kh_door.h"
#include "kh_log.h"
#include "kh_metrics.h"
#include "kh_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define TICK_MS 250

typedef struct {
    int fd;                     /* -1: free */
    int spoken;
    int cut;                    /* shut down, waiting for ZeroMQ to say it closed */
    int64_t since;              /* accepted (or the socket resumed reading), mono ms */
    char addr[INET6_ADDRSTRLEN];
    int peer_port, local_port;
} entry_t;

struct kh_door {
    kh_zsock_t *sock, *mon;
    uv_timer_t tick;
    kh_door_opts_t o;
    char name[32];
    entry_t *e;
    kh_door_closed_fn closed;
    void *arg;
    uint64_t refused[KH_DOOR_REASONS];
    kh_metric_t *m[KH_DOOR_REASONS];
    uint64_t handshake_failed;
    kh_metric_t *m_hs_failed;
};

static const char *const reason_names[KH_DOOR_REASONS] = {
    "silent", "per_address", "table_full", "mechanism", "protocol", "descriptors",
    "revoked", "key_limit", "size", "ack_keys",
};

const char *kh_door_reason_name(kh_door_reason_t r)
{
    return r < KH_DOOR_REASONS ? reason_names[r] : "?";
}

/* The two ends of a descriptor: peer address and port, local port.  0 or -1. */
static int ends(int fd, char *addr, size_t cap, int *peer_port, int *local_port)
{
    struct sockaddr_storage ss, ls;
    socklen_t sl = sizeof ss, ll = sizeof ls;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0 ||
        getsockname(fd, (struct sockaddr *)&ls, &ll) < 0)
        return -1;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *p = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &p->sin_addr, addr, (socklen_t)cap);
        *peer_port = ntohs(p->sin_port);
        *local_port = ntohs(((const struct sockaddr_in *)&ls)->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *p = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &p->sin6_addr, addr, (socklen_t)cap);
        *peer_port = ntohs(p->sin6_port);
        *local_port = ntohs(((const struct sockaddr_in6 *)&ls)->sin6_port);
    } else {
        kh_strlcpy(addr, "local", cap);        /* ipc: no address to bound by */
        *peer_port = *local_port = 0;
    }
    return 0;
}

static entry_t *find(const kh_door_t *d, int fd)
{
    for (int i = 0; i < d->o.max_connections; i++)
        if (d->e[i].fd == fd)
            return &d->e[i];
    return NULL;
}

static void count(kh_door_t *d, kh_door_reason_t r)
{
    d->refused[r]++;
    kh_metric_inc(d->m[r]);
}

/* Shuts the connection of e down if its descriptor still joins the same ends. */
static int cut_entry(kh_door_t *d, entry_t *e, kh_door_reason_t r, const char *key_id,
                     const char *district)
{
    char addr[INET6_ADDRSTRLEN];
    int pp, lp;
    if (e->cut || ends(e->fd, addr, sizeof addr, &pp, &lp) < 0 || strcmp(addr, e->addr) != 0 ||
        pp != e->peer_port || lp != e->local_port)
        return -1;
    if (shutdown(e->fd, SHUT_RDWR) < 0)
        return -1;
    e->cut = 1;
    count(d, r);
    static const char *const why[KH_DOOR_REASONS] = {
        [KH_DOOR_SILENT] = "a connection said nothing within its time (a node says HELLO at "
                           "once): cut; if it was a district's node, see that node's log",
        [KH_DOOR_PER_ADDRESS] = "too many connections from one address that have not spoken "
                                "yet: the oldest is cut; if many genuine nodes share this "
                                "address (one NAT), raise [collector] max_unspoken_per_address",
        [KH_DOOR_TABLE_FULL] = "the connection table is full of live connections: a new one "
                               "is cut; see kh-admin status, raise [collector] max_connections "
                               "if these are genuine nodes",
        [KH_DOOR_REVOKED] = "the connection's key is no longer valid: cut (kh-admin keys list "
                            "shows why)",
        [KH_DOOR_KEY_LIMIT] = "one more connection than its key may hold: cut; if the node "
                              "restarts often, see its log",
    };
    char n[24];
    KH_WARN_RL("door.cut", e->addr, why[r] ? why[r] : "connection cut", "door", d->name,
               "reason", reason_names[r], "address", e->addr, "key_id", key_id,
               "district", district, "refused", kh_u64_str(d->refused[r], n, sizeof n));
    return 0;
}

static void on_accepted(kh_door_t *d, int fd)
{
    int64_t now = kh_mono_ms();
    entry_t *e = find(d, fd);          /* a stale entry: its close was never told */
    if (!e)
        e = find(d, -1);
    if (!e) {                          /* full: forget a connection cut long ago, if any */
        for (int i = 0; i < d->o.max_connections && !e; i++)
            if (d->e[i].cut && now - d->e[i].since > 60000)
                e = &d->e[i];
    }
    entry_t fresh = {.fd = fd, .since = now};
    if (ends(fd, fresh.addr, sizeof fresh.addr, &fresh.peer_port, &fresh.local_port) < 0)
        return;                        /* already gone */
    if (!e) {
        entry_t tmp = fresh;
        cut_entry(d, &tmp, KH_DOOR_TABLE_FULL, NULL, NULL);
        return;
    }
    *e = fresh;
    /* the oldest connection from this address that has not spoken goes, past the bound */
    int n = 0;
    entry_t *oldest = NULL;
    for (int i = 0; i < d->o.max_connections; i++) {
        entry_t *x = &d->e[i];
        if (x->fd < 0 || x->spoken || x->cut || strcmp(x->addr, e->addr) != 0)
            continue;
        n++;
        if (!oldest || x->since < oldest->since)
            oldest = x;
    }
    if (n > d->o.max_unspoken_per_address && oldest)
        cut_entry(d, oldest, KH_DOOR_PER_ADDRESS, NULL, NULL);
}

static void on_closed(kh_door_t *d, int fd)
{
    entry_t *e = find(d, fd);
    if (e)
        e->fd = -1;
    if (d->closed)
        d->closed(d->arg, fd);
}

static void on_event(kh_door_t *d, const zmq_msg_t *first)
{
    uint16_t ev;
    uint32_t val;
    if (zmq_msg_size(first) < sizeof ev + sizeof val)
        return;
    memcpy(&ev, zmq_msg_data((zmq_msg_t *)first), sizeof ev);
    memcpy(&val, (const uint8_t *)zmq_msg_data((zmq_msg_t *)first) + sizeof ev, sizeof val);
    char n[24];
    switch (ev) {
    case ZMQ_EVENT_ACCEPTED:
        on_accepted(d, (int)val);
        break;
    case ZMQ_EVENT_DISCONNECTED:
        on_closed(d, (int)val);
        break;
    case ZMQ_EVENT_ACCEPT_FAILED:
        count(d, KH_DOOR_DESCRIPTORS);
        KH_WARN_RL("door.accept_failed", d->name, "a connection could not be accepted (out of "
                   "file descriptors?): raise LimitNOFILE, see who holds connections "
                   "(kh-admin status)", "door", d->name, "error", zmq_strerror((int)val),
                   "refused", kh_u64_str(d->refused[KH_DOOR_DESCRIPTORS], n, sizeof n));
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        if (val == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
            count(d, KH_DOOR_MECHANISM);
            KH_WARN_RL("door.refused", "mechanism", "a client without CURVE (NULL or PLAIN) "
                       "was refused: only registered CURVE keys get in", "door", d->name,
                       "reason", "mechanism",
                       "refused", kh_u64_str(d->refused[KH_DOOR_MECHANISM], n, sizeof n));
            break;
        }
        count(d, KH_DOOR_PROTOCOL);
        KH_WARN_RL("door.refused", "protocol", "a handshake broke the protocol (not a ZeroMQ "
                   "client, or a broken one): connection refused", "door", d->name,
                   "reason", "protocol", "refused",
                   kh_u64_str(d->refused[KH_DOOR_PROTOCOL], n, sizeof n));
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        /* no reason and no descriptor: a connection that ended during its handshake (the
         * client left, the handshake time ran out, or the door cut it): counted apart, not
         * as a refusal (the door's own cuts are counted by their reason) */
        d->handshake_failed++;
        kh_metric_inc(d->m_hs_failed);
        KH_INFO_RL("door.handshake_failed", "no_detail", "a connection ended during its "
                   "handshake", "door", d->name,
                   "count", kh_u64_str(d->handshake_failed, n, sizeof n));
        break;
    default:
        break;
    }
}

static void on_monitor(kh_zsock_t *s, zmq_msg_t *parts, int n, void *arg)
{
    (void)s;
    if (n >= 1)
        on_event(arg, &parts[0]);
}

void kh_door_drain(kh_door_t *d)
{
    void *raw = d && d->mon ? kh_zsock_raw(d->mon) : NULL;
    for (int i = 0; raw && i < 4096; i++) {
        zmq_msg_t first;
        zmq_msg_init(&first);
        if (zmq_msg_recv(&first, raw, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&first);
            return;
        }
        on_event(d, &first);
        int more = zmq_msg_more(&first);
        zmq_msg_close(&first);
        while (more) {                  /* the endpoint frame */
            zmq_msg_t rest;
            zmq_msg_init(&rest);
            if (zmq_msg_recv(&rest, raw, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&rest);
                return;
            }
            more = zmq_msg_more(&rest);
            zmq_msg_close(&rest);
        }
    }
}

static void on_tick(uv_timer_t *t)
{
    kh_door_t *d = t->data;
    int64_t now = kh_mono_ms();
    int paused = kh_zsock_paused(d->sock);
    kh_door_drain(d);
    for (int i = 0; i < d->o.max_connections; i++) {
        entry_t *e = &d->e[i];
        if (e->fd < 0 || e->spoken || e->cut)
            continue;
        if (paused)                     /* nothing is read: nobody can have spoken */
            e->since = now;
        else if (now - e->since > d->o.speak_ms)
            cut_entry(d, e, KH_DOOR_SILENT, NULL, NULL);
    }
}

kh_door_t *kh_door_new(uv_loop_t *loop, void *zctx, kh_zsock_t *sock, const kh_door_opts_t *o,
                       kh_door_closed_fn closed, void *arg)
{
    if (o->max_connections < 1 || o->max_unspoken_per_address < 1 || o->speak_ms < 100)
        return NULL;
    kh_door_t *d = calloc(1, sizeof *d);
    if (!d || !(d->e = calloc((size_t)o->max_connections, sizeof *d->e))) {
        free(d);
        return NULL;
    }
    d->o = *o;
    kh_strlcpy(d->name, o->name ? o->name : "door", sizeof d->name);
    d->o.name = d->name;
    d->sock = sock;
    d->closed = closed;
    d->arg = arg;
    for (int i = 0; i < o->max_connections; i++)
        d->e[i].fd = -1;
    for (int r = 0; r < KH_DOOR_REASONS; r++)
        d->m[r] = kh_metrics_counter("kh_door_refused_total", "Connections cut or messages "
                                     "refused at the door, by reason.", "reason",
                                     reason_names[r]);
    d->m_hs_failed = kh_metrics_counter("kh_door_handshakes_failed_total", "Connections that "
                                        "ended during their handshake without a reason "
                                        "(client left, handshake_ms ran out, or cut).",
                                        NULL, NULL);
    char ep[96];
    snprintf(ep, sizeof ep, "inproc://door-%s-%p", d->name, (void *)d);
    /* our end connects first (inproc allows it): ZeroMQ drops an event while no one
     * listens, and an ACCEPTED untold would make a live connection look closed
     * (kh_door_live); a burst of events waits up to KH_DOOR_EVENTS_MAX */
    kh_zopts_t mo = {.rcvhwm = KH_DOOR_EVENTS_MAX};
    if (!(d->mon = kh_zsock_new(loop, zctx, ZMQ_PAIR, &mo, on_monitor, d)) ||
        kh_zsock_connect(d->mon, ep) < 0 ||
        zmq_socket_monitor(kh_zsock_raw(sock), ep,
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_ACCEPT_FAILED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) < 0) {
        KH_ERROR("door.start", "cannot watch the socket's connections", "door", d->name,
                 "error", zmq_strerror(zmq_errno()));
        if (d->mon)
            kh_zsock_close(d->mon);
        free(d->e);
        free(d);
        return NULL;
    }
    uv_timer_init(loop, &d->tick);
    d->tick.data = d;
    uv_timer_start(&d->tick, on_tick, TICK_MS, TICK_MS);
    return d;
}

static void free_door(uv_handle_t *h)
{
    kh_door_t *d = h->data;
    free(d->e);
    free(d);
}

void kh_door_close(kh_door_t **dp)
{
    kh_door_t *d = *dp;
    if (!d)
        return;
    *dp = NULL;
    zmq_socket_monitor(kh_zsock_raw(d->sock), NULL, 0);
    kh_zsock_close(d->mon);
    uv_timer_stop(&d->tick);
    uv_close((uv_handle_t *)&d->tick, free_door);
}

void kh_door_spoke(kh_door_t *d, int fd)
{
    entry_t *e = d ? find(d, fd) : NULL;
    if (e)
        e->spoken = 1;
}

int kh_door_live(const kh_door_t *d, int fd)
{
    return d && fd >= 0 && find(d, fd) != NULL;     /* fd -1 marks a free entry */
}

int kh_door_cut(kh_door_t *d, int fd, kh_door_reason_t reason, const char *key_id,
                const char *district)
{
    if (!d || fd < 0)
        return -1;
    kh_door_drain(d);
    entry_t *e = find(d, fd);
    return e ? cut_entry(d, e, reason, key_id, district) : -1;
}

void kh_door_refused(kh_door_t *d, kh_door_reason_t reason)
{
    if (d && reason < KH_DOOR_REASONS)
        count(d, reason);
}

uint64_t kh_door_refused_count(const kh_door_t *d, kh_door_reason_t reason)
{
    return d && reason < KH_DOOR_REASONS ? d->refused[reason] : 0;
}

int kh_door_open(const kh_door_t *d)
{
    int n = 0;
    for (int i = 0; d && i < d->o.max_connections; i++)
        n += d->e[i].fd >= 0 && !d->e[i].cut;
    return n;
}

int kh_door_unspoken(const kh_door_t *d)
{
    int n = 0;
    for (int i = 0; d && i < d->o.max_connections; i++)
        n += d->e[i].fd >= 0 && !d->e[i].cut && !d->e[i].spoken;
    return n;
}

long kh_door_raise_nofile(long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    rlim_t target = rl.rlim_max == RLIM_INFINITY || (long)rl.rlim_max > want
                        ? (rlim_t)want : rl.rlim_max;
    if (rl.rlim_cur < target) {
        rl.rlim_cur = target;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE, &rl) < 0)
            return -1;
    }
    return (long)rl.rlim_cur;
}
