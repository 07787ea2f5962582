/*
 * check.c — `kh-node check`: is this node set up to reach the province?  See check.h.
 *
 * Items, in order: key_file (the unit's key: readable, private — mode 0600 or stricter,
 * owned by the user the node runs as — and made for this unit), server_key (the
 * province's server.pub: readable, and the handshake with it succeeds), reachable (a TCP
 * connection to [node] collector), registered (a CURVE handshake with a fresh DEALER
 * and a socket monitor: the province's ZAP handler lets the key in), spool (the spool
 * folder takes a new file), clock (the machine's clock is not before this program was
 * built, and the pipeline's clock falls in a programme of the catalogue — the province
 * has no way to tell a node its time, so that is what "sane" can mean here).
 *
 * What the province's ZAP handler says is only "yes" or "no" (lib/security/kh_zap.c:
 * unknown key, revoked, role not allowed, not admitted now): a key registered for
 * another unit is let in as that unit, so the node checks the unit its key file names
 * and says "refused: not registered, revoked or for another unit" when refused.
 *
 * Thread-safety: everything here is local to the call — its own ZeroMQ context and
 * sockets, no use of the node's loop, its database or its link; the configuration is
 * only read.  Each wait is bounded (CHECK_WAIT_MS; a busy key: busy_ms), so a call
 * blocks a few seconds, 16 s at most with the default handshake_ms.
 */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "kh_config.h"
#include "kh_keys.h"
#include "kh_util.h"
#include "kh_wire.h"
#include "kh_zap.h"
#include "kh_zuv.h"

/* How long one try (a TCP connect, a handshake) may take: a province across a slow
 * district line answers in well under a second; longer is "not answering". */
#define CHECK_WAIT_MS 3000

/* HS_BUSY: the province took the key but turned the handshake away for now (ZAP 300:
 * the key is at its bound of connections, e.g. another node runs with it) */
typedef enum { HS_OK, HS_REFUSED, HS_BAD_SERVER, HS_UNREACHABLE, HS_TIMEOUT, HS_ERROR,
               HS_BUSY } hs_t;
/* A busy key is tried again (libzmq redials by itself) for as long as the province
 * counts an admitted handshake that has not spoken ([security] handshake_ms +
 * KH_ADMIT_GRACE_MS, kh_zap.h), and a second more, before saying so: a check that
 * could not say HELLO before it closed (CHECK_LINGER_MS on a loaded machine) holds one of
 * the key's slots that long, and the next check must not take it for another node. */
static int64_t busy_ms(const kh_service_t *s)
{
    return (int64_t)s->zopts.handshake_ms + KH_ADMIT_GRACE_MS + 1000;
}

static node_check_item_t *item(node_check_item_t *items, size_t *n, const char *id,
                               const char *what_vi, const char *what_en)
{
    node_check_item_t *it = &items[(*n)++];
    memset(it, 0, sizeof *it);
    it->id = id;
    it->ok = 1;
    snprintf(it->what_vi, sizeof it->what_vi, "%s", what_vi);
    snprintf(it->what_en, sizeof it->what_en, "%s", what_en);
    return it;
}

static void fail_(node_check_item_t *it, const char *vi_fmt, const char *en_fmt,
                  const char *arg)
{
    it->ok = 0;
    snprintf(it->fix_vi, sizeof it->fix_vi, vi_fmt, arg ? arg : "");
    snprintf(it->fix_en, sizeof it->fix_en, en_fmt, arg ? arg : "");
}

/* key_file: the unit's secret key file.  Fills key on success (0), -1 otherwise. */
static int check_key_file(const char *path, const node_t *n, node_check_item_t *it,
                          kh_key_t *key)
{
    struct stat st;
    char err[512];
    if (stat(path, &st) < 0) {
        fail_(it, "Không đọc được tệp khoá %s (" "thiếu hoặc sai đường dẫn [node] key). Hãy tạo "
             "khoá cho đơn vị (kh-node keygen hoặc kh-admin keys generate) và ghi đúng đường "
             "dẫn vào tệp cấu hình.", "Cannot read the key file %s (missing, or [node] key is "
             "wrong). Make the unit's key (kh-node keygen or kh-admin keys generate) and put "
             "its path in the configuration.", path);
        return -1;
    }
    if (st.st_mode & 077) {
        fail_(it, "Tệp khoá %s để người khác đọc được: hãy chạy chmod 600 trên tệp đó.",
             "The key file %s is readable by others: run chmod 600 on it.", path);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        fail_(it, "Tệp khoá %s không thuộc người dùng chạy nút: hãy chown cho người dùng đó.",
             "The key file %s is not owned by the user the node runs as: chown it to that "
             "user.", path);
        return -1;
    }
    if (kh_key_read(path, key, err, sizeof err) < 0 || !key->has_secret) {
        fail_(it, "Tệp khoá %s không đọc được hoặc không có khoá bí mật: hãy dùng tệp .key của "
             "đơn vị (không phải .pub).", "The key file %s cannot be read or holds no secret "
             "key: use the unit's .key file (not the .pub).", path);
        return -1;
    }
    if (strcmp(key->unit, n->district) != 0) {
        char vi[640], en[640];
        snprintf(vi, sizeof vi, "Tệp khoá là của đơn vị %.60s, không phải %.60s: hãy dùng khoá "
                 "tạo cho đơn vị %.60s.", key->unit, n->district, n->district);
        snprintf(en, sizeof en, "The key file is for unit %.60s, not %.60s: use the key made "
                 "for %.60s.", key->unit, n->district, n->district);
        it->ok = 0;
        kh_strlcpy(it->fix_vi, vi, sizeof it->fix_vi);
        kh_strlcpy(it->fix_en, en, sizeof it->fix_en);
        return -1;
    }
    return 0;
}

/* "tcp://host:port" (host may be [v6]) → host, port.  0 or -1. */
static int split_endpoint(const char *ep, char *host, size_t hcap, char *port, size_t pcap)
{
    if (strncmp(ep, "tcp://", 6) != 0)
        return -1;
    const char *h = ep + 6, *colon = strrchr(h, ':');
    if (!colon || !colon[1])
        return -1;
    size_t hl = (size_t)(colon - h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= hcap || strlen(colon + 1) >= pcap)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    snprintf(port, pcap, "%s", colon + 1);
    return 0;
}

/* A TCP connection to host:port within CHECK_WAIT_MS.  0: connected; -1 with *why
 * (errno; ETIMEDOUT when it gave up waiting). */
static int tcp_reach(const char *host, const char *port, int *why)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0) {
        *why = EHOSTUNREACH;
        return -1;
    }
    int rc = -1;
    *why = ECONNREFUSED;
    for (struct addrinfo *a = ai; a && rc < 0; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            rc = 0;
        else if (errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int e = 0;
            socklen_t el = sizeof e;
            int pr = poll(&p, 1, CHECK_WAIT_MS);
            if (pr == 0)
                *why = ETIMEDOUT;
            else if (pr > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0)
                rc = 0;
            else
                *why = e ? e : errno;
        } else
            *why = errno;
        close(fd);
    }
    freeaddrinfo(ai);
    return rc;
}

/* One CURVE handshake with the province: a fresh context, DEALER and monitor, waiting
 * at most CHECK_WAIT_MS for what the monitor says (kh_link.h: the events measured). */
/* The collector counts a handshake it let in against the key's connections until the
 * connection speaks or [security] handshake_ms + KH_ADMIT_GRACE_MS runs out ([collector]
 * max_connections_per_key, services/collector/conns.c): a check that only shook hands
 * would hold one of the running node's slots that long, and a second check (or the
 * node's own reconnection) would be refused meanwhile.  So the check says HELLO, as the
 * node does: an open connection, which the collector forgets as soon as it closes (even
 * when it reads the HELLO after the close: conns.h).  Its linger (CHECK_LINGER_MS) bounds
 * how long closing may wait for HELLO to leave. */
#define CHECK_LINGER_MS 1000
static void say_hello(void *d, const char *district)
{
    int linger = CHECK_LINGER_MS;
    zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_send(d, KH_T_HELLO, strlen(KH_T_HELLO), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send(d, district, strlen(district), ZMQ_DONTWAIT);
}

static hs_t handshake(kh_service_t *s, const char *endpoint, const kh_key_t *key,
                      const kh_key_t *server, const char *district)
{
    void *ctx = zmq_ctx_new();
    if (!ctx)
        return HS_ERROR;
    hs_t res = HS_ERROR;
    kh_zopts_t o = s->zopts;
    o.routing_id = NULL;
    o.handshake_ms = CHECK_WAIT_MS;
    o.curve_server_pk = server->curve_pk;
    o.curve_pk = key->curve_pk;
    o.curve_sk = key->curve_sk;
    void *d = kh_zsocket(ctx, ZMQ_DEALER, &o), *mon = NULL;
    if (!d)
        goto out_ctx;
    char mep[64];
    snprintf(mep, sizeof mep, "inproc://kh-node-check-%p", (void *)d);
    int linger = 0;
    if (zmq_socket_monitor(d, mep, ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                       ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                       ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED) < 0 ||
        !(mon = zmq_socket(ctx, ZMQ_PAIR)) ||
        zmq_setsockopt(mon, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        zmq_connect(mon, mep) < 0 || zmq_connect(d, endpoint) < 0)
        goto out_sock;
    int64_t until = kh_mono_ms() + CHECK_WAIT_MS;
    int connected = 0;
    res = HS_TIMEOUT;
    for (;;) {
        int64_t left = until - kh_mono_ms();
        if (left <= 0)
            break;
        zmq_pollitem_t pi = {.socket = mon, .events = ZMQ_POLLIN};
        if (zmq_poll(&pi, 1, (long)left) <= 0)
            continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, mon, 0) < 0) {
            zmq_msg_close(&m);
            continue;
        }
        uint16_t ev = 0;
        uint32_t val = 0;
        if (zmq_msg_size(&m) >= 6) {
            memcpy(&ev, zmq_msg_data(&m), 2);
            memcpy(&val, (const char *)zmq_msg_data(&m) + 2, 4);
        }
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        while (more) {                  /* the event's endpoint frame */
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, mon, 0) < 0)
                more = 0;
            else
                more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            res = HS_OK;
            say_hello(d, district);
            break;
        }
        if ((ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && val == 300) ||
            (ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL && val == EAGAIN)) {
            if (res != HS_BUSY)         /* once: a slot may free in a moment */
                until = kh_mono_ms() + busy_ms(s);
            res = HS_BUSY;
            continue;
        }
        if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && val == 400) {
            res = HS_REFUSED;
            break;
        }
        if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
            (ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL && val != EAGAIN)) {
            res = HS_BAD_SERVER;
            break;
        }
        if (ev == ZMQ_EVENT_CONNECTED)
            connected = 1;
        if (ev == ZMQ_EVENT_CONNECT_RETRIED && !connected)
            res = HS_UNREACHABLE;       /* keeps waiting: it may come up */
        /* a ZAP 300 (the province's registry busy): keep trying until the deadline */
    }
    zmq_socket_monitor(d, NULL, 0);
out_sock:
    if (mon)
        zmq_close(mon);
    zmq_close(d);
out_ctx:
    zmq_ctx_term(ctx);
    return res;
}

static void check_spool(const node_t *n, node_check_item_t *it)
{
    char spool[1100], tmp[1200];
    snprintf(spool, sizeof spool, "%s/spool", n->dir);
    struct stat st;
    if (stat(spool, &st) < 0 && errno == ENOENT)
        kh_mkdirs(spool, 0750);         /* as kh-node run makes it */
    int fd = -1;
    if (snprintf(tmp, sizeof tmp, "%s/.kh-check-XXXXXX", spool) < (int)sizeof tmp)
        fd = mkstemp(tmp);
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
        return;
    }
    char vi[640], en[640];
    int e = errno;
    snprintf(vi, sizeof vi, "Không ghi được vào thư mục spool %.400s (%s): hãy để nó là một thư "
             "mục mà người dùng chạy nút (và nhóm cán bộ) được ghi.", spool, strerrordesc_np(e));
    snprintf(en, sizeof en, "Cannot write into the spool folder %.400s (%s): make it a folder "
             "the node's user (and the officers' group) may write.", spool, strerrordesc_np(e));
    it->ok = 0;
    kh_strlcpy(it->fix_vi, vi, sizeof it->fix_vi);
    kh_strlcpy(it->fix_en, en, sizeof it->fix_en);
}

/* __DATE__ ("Dec  4 2026") as unix ms at 00:00 UTC; 0 when it does not parse. */
static int64_t build_ms(void)
{
    struct tm tm = {0};
    if (!strptime(__DATE__, "%b %d %Y", &tm))
        return 0;
    return (int64_t)timegm(&tm) * 1000;
}

static void check_clock(const node_t *n, node_check_item_t *it)
{
    int64_t built = build_ms(), real = kh_real_ms();
    char vi[640], en[640];
    if (built && real < built - 86400000) {
        snprintf(vi, sizeof vi, "Đồng hồ máy chỉ ngày trước ngày phần mềm được dựng (%s): hãy "
                 "đặt lại ngày giờ của máy (timedatectl) rồi chạy lại kh-node check.", __DATE__);
        snprintf(en, sizeof en, "The machine's clock is before the day this program was built "
                 "(%s): set the machine's date and time (timedatectl) and run kh-node check "
                 "again.", __DATE__);
    } else if (n->cat && !kh_catalog_for(n->cat, kh_today())) {
        snprintf(vi, sizeof vi, "Ngày hôm nay theo nút (%ld) không thuộc chương trình nào của "
                 "danh mục: hãy kiểm tra đồng hồ máy và [general] clock.", (long)kh_today());
        snprintf(en, sizeof en, "The node's date (%ld) is in no programme of the catalogue: "
                 "check the machine's clock and [general] clock.", (long)kh_today());
    } else
        return;
    it->ok = 0;
    kh_strlcpy(it->fix_vi, vi, sizeof it->fix_vi);
    kh_strlcpy(it->fix_en, en, sizeof it->fix_en);
}

size_t node_check_all(kh_service_t *s, const node_t *n, node_check_item_t *items,
                      int *failed)
{
    size_t k = 0;
    char endpoint[1024] = "", kpath[1024] = "", spath[1024] = "";
    int curve = kh_config_yes(s->cfg, "security", "curve");
    kh_key_t key, server;
    int key_ok = 0, server_ok = 0;
    node_check_item_t *ik = NULL, *is = NULL, *ir, *ig = NULL;
    if (curve) {
        kh_config_str(s->cfg, "node", "key", kpath, sizeof kpath);
        kh_config_str(s->cfg, "node", "server_key", spath, sizeof spath);
        ik = item(items, &k, "key_file", "Tệp khoá của đơn vị: đọc được, riêng tư, đúng đơn vị",
                  "The unit's key file: readable, private, for this unit");
        key_ok = check_key_file(kpath, n, ik, &key) == 0;
        is = item(items, &k, "server_key", "Khoá máy chủ (server.pub) là của tỉnh",
                  "The server key (server.pub) is the province's");
        char err[512];
        if (kh_key_read(spath, &server, err, sizeof err) < 0)
            fail_(is, "Không đọc được tệp khoá máy chủ %s: hãy xin tệp server.pub từ quản trị "
                 "tỉnh và ghi đường dẫn vào [node] server_key.", "Cannot read the server key "
                 "file %s: get server.pub from the province's administrator and put its path "
                 "in [node] server_key.", spath);
        else
            server_ok = 1;
    }
    ir = item(items, &k, "reachable", "Liên lạc được với tỉnh ([node] collector)",
              "The province can be reached ([node] collector)");
    char host[512], port[32];
    int reach = 0, why = 0;
    if (kh_config_str(s->cfg, "node", "collector", endpoint, sizeof endpoint) < 0 ||
        split_endpoint(endpoint, host, sizeof host, port, sizeof port) < 0)
        fail_(ir, "Địa chỉ tỉnh [node] collector = %s không phải dạng tcp://máy:cổng: hãy sửa "
             "tệp cấu hình.", "[node] collector = %s is not tcp://host:port: fix the "
             "configuration.", endpoint);
    else if (tcp_reach(host, port, &why) < 0) {
        char vi[640], en[640];
        snprintf(vi, sizeof vi, "Không kết nối được tới %.300s (%s%s): kiểm tra địa chỉ và cổng "
                 "[node] collector, mạng, tường lửa; hỏi tỉnh bộ thu có đang chạy không.",
                 endpoint, strerrordesc_np(why), why == ETIMEDOUT ? ", đã chờ 3 giây" : "");
        snprintf(en, sizeof en, "Cannot connect to %.300s (%s%s): check the address and port "
                 "([node] collector), the network, the firewall; ask the province whether its "
                 "collector is running.", endpoint, strerrordesc_np(why),
                 why == ETIMEDOUT ? ", gave up after waiting 3 s" : "");
        ir->ok = 0;
        kh_strlcpy(ir->fix_vi, vi, sizeof ir->fix_vi);
        kh_strlcpy(ir->fix_en, en, sizeof ir->fix_en);
    } else
        reach = 1;
    if (curve) {
        ig = item(items, &k, "registered", "Tỉnh nhận khoá của đơn vị (đã đăng ký, cho đơn vị này)",
                  "The province accepts the unit's key (registered, for this unit)");
        hs_t hs = reach && key_ok && server_ok ? handshake(s, endpoint, &key, &server, n->district)
                                               : HS_ERROR;
        const char *vi = NULL, *en = NULL;
        if (!reach || !key_ok || !server_ok) {
            ig->ok = 0;
            snprintf(ig->fix_vi, sizeof ig->fix_vi, "Chưa kiểm tra được: hãy sửa các mục lỗi ở "
                     "trên trước.");
            snprintf(ig->fix_en, sizeof ig->fix_en, "Could not be checked: fix the items "
                     "above first.");
        } else if (hs == HS_REFUSED) {
            node_conn_describe(NODE_CONN_REFUSED_KEY, &vi, &en);
            ig->ok = 0;
            snprintf(ig->fix_vi, sizeof ig->fix_vi, "Bị từ chối: khoá chưa đăng ký, đã thu hồi "
                     "hoặc đăng ký cho đơn vị khác. %s", vi);
            snprintf(ig->fix_en, sizeof ig->fix_en, "Refused: not registered, revoked or for "
                     "another unit. %s", en);
        } else if (hs == HS_BAD_SERVER) {
            node_conn_describe(NODE_CONN_WRONG_SERVER_KEY, &vi, &en);
            is->ok = 0;
            kh_strlcpy(is->fix_vi, vi, sizeof is->fix_vi);
            kh_strlcpy(is->fix_en, en, sizeof is->fix_en);
            ig->ok = 0;
            snprintf(ig->fix_vi, sizeof ig->fix_vi, "Chưa kiểm tra được: bắt tay thất bại vì "
                     "khoá máy chủ (xem server_key).");
            snprintf(ig->fix_en, sizeof ig->fix_en, "Could not be checked: the handshake fails "
                     "on the server key (see server_key).");
        } else if (hs == HS_BUSY) {
            ig->ok = 0;
            snprintf(ig->fix_vi, sizeof ig->fix_vi, "Tỉnh nhận khoá nhưng khoá này đang có đủ số "
                     "kết nối cho phép (có một nút khác đang chạy với cùng khoá?). Hãy đảm bảo "
                     "chỉ một máy dùng khoá này, rồi chạy lại kh-node check sau một phút.");
            snprintf(ig->fix_en, sizeof ig->fix_en, "The province knows the key, but the key "
                     "has as many connections open as allowed (another node running with the "
                     "same key?). Make sure only one machine uses this key, then run kh-node "
                     "check again in a minute.");
        } else if (hs != HS_OK) {
            ig->ok = 0;
            is->ok = 0;
            const char *w_vi = hs == HS_TIMEOUT ? "tỉnh không trả lời bắt tay sau 3 giây (đã "
                                                  "thôi chờ)" : hs == HS_UNREACHABLE ?
                                                  "không kết nối được" : "lỗi hệ thống";
            const char *w_en = hs == HS_TIMEOUT ? "the province did not answer the handshake "
                                                  "within 3 s (gave up waiting)" :
                                                  hs == HS_UNREACHABLE ? "cannot connect" :
                                                  "a system error";
            snprintf(ig->fix_vi, sizeof ig->fix_vi, "Chưa kiểm tra được: %s. Hãy chạy lại "
                     "kh-node check sau ít phút; nếu vẫn vậy, báo quản trị tỉnh.", w_vi);
            snprintf(ig->fix_en, sizeof ig->fix_en, "Could not be checked: %s. Run kh-node "
                     "check again in a few minutes; if it stays so, tell the province's "
                     "administrator.", w_en);
            kh_strlcpy(is->fix_vi, ig->fix_vi, sizeof is->fix_vi);
            kh_strlcpy(is->fix_en, ig->fix_en, sizeof is->fix_en);
        }
    }
    if (curve && (!reach || !key_ok) && server_ok) {
        is->ok = 0;
        snprintf(is->fix_vi, sizeof is->fix_vi, "Tệp đọc được nhưng chưa đối chiếu được với tỉnh "
                 "(xem các mục lỗi khác).");
        snprintf(is->fix_en, sizeof is->fix_en, "The file reads, but could not be tried "
                 "against the province (see the other failed items).");
    }
    check_spool(n, item(items, &k, "spool", "Thư mục spool ghi được",
                        "The spool folder is writable"));
    check_clock(n, item(items, &k, "clock", "Đồng hồ máy hợp lý", "The clock is sane"));
    *failed = 0;
    for (size_t i = 0; i < k; i++)
        *failed += !items[i].ok;
    return k;
}

int node_check_print(kh_service_t *s, const node_t *n, FILE *out)
{
    node_check_item_t items[NODE_CHECK_MAX];
    int failed = 0;
    size_t k = node_check_all(s, n, items, &failed);
    fprintf(out, "Kiểm tra nút %s / checking node %s\n", n->district, n->district);
    for (size_t i = 0; i < k; i++) {
        const node_check_item_t *it = &items[i];
        fprintf(out, "%-8s %-10s %s / %s\n", it->ok ? "OK" : "LỖI/FAIL", it->id, it->what_vi,
                it->what_en);
        if (!it->ok)
            fprintf(out, "           → %s\n           → %s\n", it->fix_vi, it->fix_en);
    }
    if (failed)
        fprintf(out, "%d mục cần sửa / %d item(s) to fix\n", failed, failed);
    else
        fprintf(out, "Tất cả đều ổn / all OK\n");
    return failed ? 1 : 0;
}
