/*
 * serve.c — `kh-feed serve`, the province's dashboard in the browser (libmicrohttpd),
 * and `kh-feed passwd USER`, which adds or changes a dashboard login.  The pages are
 * serve_page.c; see serve.h for the commands.
 *
 * What it serves, read-only, from the feed's local mirror: the overview of a period
 * (/?period=P), an indicator by unit (/indicator?period=P&code=C[&level=N][&sort=…]), a
 * trend (/trend?period=PROGRAMME&code=C[&unit=U]), each also as CSV (&format=csv), and
 * the export's workbook (/export.xlsx?period=P).  The mirror is caught up before the
 * first page and then at most once every [feed] dashboard_sync_s seconds, when a page is
 * asked for; when the feed does not answer the page says so and shows the mirror as it
 * is.
 *
 * Access: on 127.0.0.1 (the default 127.0.0.1:8490) anyone on the machine may read it, and a request must name it by that address (Host: no DNS
 * rebinding).  On any other address it needs a login: users and their argon2id hashes
 * (libsodium's crypto_pwhash_str, as kh-node's web page) in [feed]
 * dashboard_password_file, one `user:hash` line each, read again at each login (a user
 * added by `kh-feed passwd` needs no restart); a good login gets a session cookie
 * (random, HttpOnly, SameSite=Strict, SESSION_TTL_S); failed logins are counted per
 * address and, after LOGIN_FAILS_MAX in LOGIN_WINDOW_S, refused unchecked until the
 * window ends.  Without a password file the server refuses to start on such an address
 * (or run it on 127.0.0.1 behind a reverse proxy that logs people in: README).
 *
 * Bounds: connections (SRV_CONNECTIONS, SRV_PER_IP), a connection's idle time, a
 * request's headers (SRV_MEMORY), its URL (SRV_URL_MAX), its query parameters
 * (SRV_PARAMS_MAX of at most SRV_PARAM_MAX - 1 bytes), a login body (LOGIN_BODY_MAX),
 * sessions (SESSIONS_MAX, the oldest dropped), the addresses with failed logins
 * (FAIL_SLOTS, the oldest reused).  Bad requests are answered with a page that says what
 * to do, counted, and logged (rate-limited): event `dashboard.refused`; a login
 * `dashboard.login`; the start `dashboard.start`.
 *
 * Threading: every handler runs on libmicrohttpd's one internal thread (serve_int.h);
 * the main thread waits for SIGINT / SIGTERM and stops the daemon.
 */
#include "serve.h"
#include "serve_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "kh_config.h"
#include "kh_db.h"
#include "kh_keys.h"
#include "kh_log.h"
#include "kh_util.h"
#include "kh_web.h"
#include "mirror.h"

#define SRV_CONNECTIONS 32     /* a province office's analysts, with room for stuck ones */
#define SRV_PER_IP 16          /* one browser opens a handful at once */
#define SRV_TIMEOUT_S 60       /* an idle connection is closed after this */
#define SRV_MEMORY (64 * 1024) /* a request's headers and URL, per connection */
#define SRV_URL_MAX 512        /* the longest URL answered (the pages' own are < 200) */
#define SRV_PARAMS_MAX 12      /* query parameters of one request (the pages use 6) */
#define LOGIN_BODY_MAX 2048    /* user=…&password=… urlencoded */
#define USER_MAX 64            /* a user name, bytes */
#define PASSWORD_MIN 8         /* characters of a password, at least */
#define PASSWORD_MAX 1024      /* bytes of a password read or tried */
#define PWFILE_MAX (256 * 1024)  /* the password file: a few thousand users at most */
#define SESSIONS_MAX 256       /* live sessions; a new one replaces the oldest */
#define SESSION_TTL_S (8 * 3600)   /* a working day */
#define FAIL_SLOTS 128         /* addresses remembered for failed logins */
#define LOGIN_FAILS_MAX 5      /* failed logins per address per window before refusing */
#define LOGIN_WINDOW_S 300     /* … and how long the refusal lasts */
#define COOKIE "kh_session"

typedef struct {
    char token[65];            /* hex of 32 random bytes; "" = free */
    char user[USER_MAX];
    int64_t expires;           /* kh_mono_ms */
    int64_t made;
} session_t;

typedef struct {
    uint32_t addr;
    int fails;
    int64_t since;             /* kh_mono_ms of the window's first failure */
} fail_t;

typedef struct {
    srv_t s;
    struct MHD_Daemon *d;
    char listen[64];
    unsigned port;
    int loopback;
    int need_login;
    char pwfile[1024];
    char dummy_hash[crypto_pwhash_STRBYTES];   /* verified for an unknown user (same time) */
    session_t sessions[SESSIONS_MAX];
    fail_t fails[FAIL_SLOTS];
    unsigned long n_requests, n_refused, n_login_failed;
} server_t;

/* A request's state between libmicrohttpd's calls: the login body. */
typedef struct {
    size_t len;
    int too_big;
    char body[LOGIN_BODY_MAX + 1];
} req_t;

/* ---- answers ---------------------------------------------------------------------------- */

static enum MHD_Result send_page(struct MHD_Connection *c, srv_page_t *pg, const char *cookie)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(pg->len, pg->body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(pg->body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, pg->ctype);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                            "form-action 'self'; frame-ancestors 'none'");
    if (pg->filename[0]) {
        char cd[160];
        snprintf(cd, sizeof cd, "attachment; filename=\"%s\"", pg->filename);
        MHD_add_response_header(r, "Content-Disposition", cd);
    }
    if (cookie) MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    enum MHD_Result ret = MHD_queue_response(c, pg->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *vi,
                                  const char *en)
{
    srv_page_t pg = {0};
    if (srv_error(&pg, status, vi, en) < 0) return MHD_NO;
    return send_page(c, &pg, NULL);
}

static enum MHD_Result redirect(struct MHD_Connection *c, const char *to, const char *cookie)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, to);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (cookie) MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SEE_OTHER, r);
    MHD_destroy_response(r);
    return ret;
}

static void refused(server_t *v, const char *source, const char *msg)
{
    v->n_refused++;
    KH_WARN_RL("dashboard.refused", source, msg, "source", source);
}

/* ---- the mirror: caught up at most once per sync_s -------------------------------------- */

static void maybe_sync(srv_t *s)
{
    int64_t now = kh_mono_ms();
    if (s->last_try_mono && now - s->last_try_mono < s->sync_s * 1000) return;
    s->last_try_mono = now;
    if (mirror_sync(s->db, s->zctx, s->snapshot, s->timeout_ms, s->max_msg) == 0) {
        s->synced_at = kh_now_ms();
        s->sync_failed = 0;
    } else {
        s->sync_failed = 1;
        KH_WARN_RL("dashboard.sync", "sync", "the feed did not answer: the dashboard shows "
                   "the mirror as it is");
    }
}

/* ---- sessions and logins ---------------------------------------------------------------- */

static uint32_t client_addr(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET) return 0;
    return ((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr.s_addr;
}

static session_t *session_of(server_t *v, struct MHD_Connection *c)
{
    const char *t = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE);
    if (!t || strlen(t) != 64) return NULL;
    int64_t now = kh_mono_ms();
    for (size_t i = 0; i < SESSIONS_MAX; i++) {
        session_t *ss = &v->sessions[i];
        if (ss->token[0] && sodium_memcmp(ss->token, t, 64) == 0) {
            if (ss->expires < now) {
                memset(ss, 0, sizeof *ss);
                return NULL;
            }
            return ss;
        }
    }
    return NULL;
}

static session_t *session_new(server_t *v, const char *user)
{
    session_t *slot = &v->sessions[0];
    int64_t now = kh_mono_ms();
    for (size_t i = 0; i < SESSIONS_MAX; i++) {
        session_t *ss = &v->sessions[i];
        if (!ss->token[0] || ss->expires < now) { slot = ss; break; }
        if (ss->made < slot->made) slot = ss;
    }
    uint8_t raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(slot->token, sizeof slot->token, raw, sizeof raw);
    kh_strlcpy(slot->user, user, sizeof slot->user);
    slot->made = now;
    slot->expires = now + (int64_t)SESSION_TTL_S * 1000;
    return slot;
}

/* The failure record of addr (a new or the oldest slot when create).  NULL: none. */
static fail_t *fail_of(server_t *v, uint32_t addr, int create)
{
    fail_t *oldest = &v->fails[0];
    for (size_t i = 0; i < FAIL_SLOTS; i++) {
        if (v->fails[i].fails && v->fails[i].addr == addr) return &v->fails[i];
        if (v->fails[i].since < oldest->since) oldest = &v->fails[i];
    }
    if (!create) return NULL;
    for (size_t i = 0; i < FAIL_SLOTS; i++)
        if (!v->fails[i].fails) { oldest = &v->fails[i]; break; }
    *oldest = (fail_t){addr, 0, kh_mono_ms()};
    return oldest;
}

/* 1 when addr is refused for now (too many failures within the window). */
static int login_blocked(server_t *v, uint32_t addr)
{
    fail_t *fl = fail_of(v, addr, 0);
    if (!fl) return 0;
    if (kh_mono_ms() - fl->since > (int64_t)LOGIN_WINDOW_S * 1000) {
        memset(fl, 0, sizeof *fl);
        return 0;
    }
    return fl->fails >= LOGIN_FAILS_MAX;
}

/* A valid user name: 1..USER_MAX-1 bytes of letters, digits, '.', '_', '-', '@'. */
static int user_ok(const char *u)
{
    size_t n = strlen(u);
    if (n == 0 || n >= USER_MAX) return 0;
    for (const char *p = u; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("._-@", *p)))
            return 0;
    return 1;
}

/* The hash of `user` in the password file into hash.  KH_OK, KH_NO (no such user, or no
 * file), KH_ERR (unreadable). */
static int user_hash(const char *pwfile, const char *user, char *hash, size_t cap)
{
    char *buf;
    size_t len;
    if (kh_read_file(pwfile, PWFILE_MAX, &buf, &len) < 0) return errno == ENOENT ? KH_NO : KH_ERR;
    int rc = KH_NO;
    size_t ul = strlen(user);
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        char *t = kh_trim(line);
        if (strncmp(t, user, ul) == 0 && t[ul] == ':' && strlen(t + ul + 1) < cap &&
            strncmp(t + ul + 1, crypto_pwhash_STRPREFIX, strlen(crypto_pwhash_STRPREFIX)) == 0) {
            kh_strlcpy(hash, t + ul + 1, cap);
            rc = KH_OK;
            break;
        }
    }
    sodium_memzero(buf, len);
    free(buf);
    return rc;
}

/* Decodes one application/x-www-form-urlencoded value in place ('+' and %HH). */
static void form_decode(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == '+') *p = ' ';
    MHD_http_unescape(s);
}

static enum MHD_Result do_login(server_t *v, struct MHD_Connection *c, req_t *q)
{
    uint32_t addr = client_addr(c);
    srv_page_t pg = {0};
    if (login_blocked(v, addr)) {
        refused(v, "login_blocked", "a login from an address with too many failures was "
                "refused unchecked");
        if (srv_login_page(&pg, 429, "Quá nhiều lần đăng nhập sai từ máy này: hãy đợi vài phút "
                           "rồi thử lại, hoặc nhờ người quản trị đặt lại mật khẩu.",
                           "Too many failed logins from this computer: wait a few minutes and "
                           "try again, or ask the administrator to reset the password.") < 0)
            return MHD_NO;
        return send_page(c, &pg, NULL);
    }
    q->body[q->len] = '\0';
    char user[USER_MAX] = "", *pass = NULL;
    for (char *f = q->body, *next; f && *f; f = next) {
        next = strchr(f, '&');
        if (next) *next++ = '\0';
        char *eq = strchr(f, '=');
        if (!eq) continue;
        *eq = '\0';
        form_decode(eq + 1);
        if (!strcmp(f, "user") && strlen(eq + 1) < sizeof user) kh_strlcpy(user, eq + 1, sizeof user);
        else if (!strcmp(f, "password")) pass = eq + 1;
    }
    char hash[crypto_pwhash_STRBYTES + 1];
    int known = user_ok(user) && user_hash(v->pwfile, user, hash, sizeof hash) == KH_OK;
    int ok = 0;
    if (pass && strlen(pass) <= PASSWORD_MAX) {
        /* an unknown user costs the same time as a wrong password */
        int r = crypto_pwhash_str_verify(known ? hash : v->dummy_hash, pass, strlen(pass));
        ok = known && r == 0;
    }
    sodium_memzero(q->body, sizeof q->body);
    if (!ok) {
        v->n_login_failed++;
        fail_t *fl = fail_of(v, addr, 1);
        if (fl->fails == 0) fl->since = kh_mono_ms();
        fl->fails++;
        refused(v, "login", "a wrong user name or password for the dashboard");
        if (srv_login_page(&pg, 403, "Sai tên người dùng hoặc mật khẩu: hãy thử lại.",
                           "Wrong user name or password: try again.") < 0)
            return MHD_NO;
        return send_page(c, &pg, NULL);
    }
    fail_t *fl = fail_of(v, addr, 0);
    if (fl) memset(fl, 0, sizeof *fl);
    session_t *ss = session_new(v, user);
    char cookie[200];
    snprintf(cookie, sizeof cookie, COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d",
             ss->token, SESSION_TTL_S);
    KH_INFO("dashboard.login", "a user logged in to the dashboard", "user", user);
    return redirect(c, "/", cookie);
}

/* ---- requests ---------------------------------------------------------------------------- */

typedef struct {
    int n, too_long;
} count_t;

static enum MHD_Result count_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind, (void)key;
    count_t *ct = cls;
    ct->n++;
    if (value && strlen(value) >= SRV_PARAM_MAX) ct->too_long = 1;
    return MHD_YES;
}

static void arg(struct MHD_Connection *c, const char *key, char *out)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    kh_strlcpy(out, v ? v : "", SRV_PARAM_MAX);
}

/* Without a login the server is on a loopback address only: a request must name it so. */
static int host_ok(server_t *v, struct MHD_Connection *c)
{
    if (v->need_login) return 1;
    return kh_web_host_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_HOST),
                          v->port, v->listen);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **state)
{
    (void)version;
    server_t *v = cls;
    req_t *q = *state;
    int post = strcmp(method, "POST") == 0;
    if (!q) {
        v->n_requests++;
        q = calloc(1, sizeof *q);
        if (!q) return MHD_NO;
        *state = q;
        if (post) {
            const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
            if (cl && strtoull(cl, NULL, 10) > LOGIN_BODY_MAX) {   /* answered unread */
                q->too_big = 1;
                refused(v, "body", "a request body over the size limit was refused unread");
                return send_error(c, 413, "Nội dung gửi lên quá lớn: bảng số liệu chỉ nhận biểu "
                                  "mẫu đăng nhập.", "The request body is too large: the "
                                  "dashboard takes only the login form.");
            }
        }
        return MHD_YES;
    }
    if (*data_size) {
        if (q->too_big) {                       /* answered already: the body is dropped */
            *data_size = 0;
            return MHD_YES;
        }
        if (q->len + *data_size > LOGIN_BODY_MAX) {
            /* a body without a length over the bound: libmicrohttpd answers only once the
             * body is read, so the connection is closed */
            refused(v, "body", "a request body without a length went over the size limit: "
                    "connection closed");
            return MHD_NO;
        }
        memcpy(q->body + q->len, data, *data_size);
        q->len += *data_size;
        *data_size = 0;
        return MHD_YES;
    }
    if (q->too_big) return MHD_YES;
    if (!host_ok(v, c)) {
        refused(v, "host", "a request that did not name the dashboard's address (Host)");
        return send_error(c, 400, "Hãy mở bảng số liệu bằng địa chỉ của nó (http://127.0.0.1:"
                          "cổng/).", "Open the dashboard at its address (http://127.0.0.1:port/).");
    }
    if (strlen(url) > SRV_URL_MAX) {
        refused(v, "url", "a request with an over-long URL");
        return send_error(c, 414, "Địa chỉ quá dài: hãy mở trang tổng quan rồi chọn lại.",
                          "The address is too long: open the overview and choose again.");
    }
    if (!post && strcmp(method, "GET") && strcmp(method, "HEAD")) {
        refused(v, "method", "a request with a method other than GET, HEAD, POST");
        return send_error(c, 405, "Bảng số liệu chỉ để đọc: chỉ nhận GET (và POST để đăng "
                          "nhập).", "The dashboard is read-only: it takes GET (and POST to log "
                          "in) only.");
    }
    if (!strcmp(url, "/favicon.ico")) {   /* a browser asks for it by itself: no page, no log */
        srv_page_t pg = {204, NULL, 0, "text/plain", ""};
        return send_page(c, &pg, NULL);
    }
    if (!strcmp(url, "/login")) {
        srv_page_t pg = {0};
        if (post && v->need_login) return do_login(v, c, q);
        if (!v->need_login) return redirect(c, "/", NULL);
        if (srv_login_page(&pg, 200, NULL, NULL) < 0) return MHD_NO;
        return send_page(c, &pg, NULL);
    }
    if (!strcmp(url, "/logout")) {
        session_t *ss = session_of(v, c);
        if (ss) memset(ss, 0, sizeof *ss);
        return redirect(c, v->need_login ? "/login" : "/",
                        COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    }
    if (v->need_login && !session_of(v, c)) return redirect(c, "/login", NULL);
    if (post) {
        refused(v, "method", "a POST to a page other than /login");
        return send_error(c, 405, "Bảng số liệu chỉ để đọc.", "The dashboard is read-only.");
    }
    count_t ct = {0, 0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, count_arg, &ct);
    if (ct.n > SRV_PARAMS_MAX || ct.too_long) {
        refused(v, "query", "a request with too many or over-long query parameters");
        return send_error(c, 400, "Tham số của địa chỉ quá nhiều hoặc quá dài: hãy chọn kỳ và "
                          "chỉ tiêu trong danh sách của trang.", "Too many or too long "
                          "parameters in the address: choose the period and indicator from "
                          "the page's lists.");
    }
    srv_query_t qq;
    arg(c, "period", qq.period);
    arg(c, "code", qq.code);
    arg(c, "unit", qq.unit);
    arg(c, "level", qq.level);
    arg(c, "sort", qq.sort);
    arg(c, "format", qq.format);
    if (qq.format[0] && strcmp(qq.format, "csv") && strcmp(qq.format, "html")) {
        refused(v, "query", "an unknown format");
        return send_error(c, 400, "Định dạng không có: hãy dùng format=csv, hoặc bỏ tham số này "
                          "để xem trang.", "No such format: use format=csv, or leave it out to "
                          "see the page.");
    }
    srv_page_t pg = {0};
    int rc;
    if (!strcmp(url, "/") || !strcmp(url, "/overview")) {
        maybe_sync(&v->s);
        rc = srv_overview(&v->s, &qq, &pg);
    } else if (!strcmp(url, "/indicator")) {
        maybe_sync(&v->s);
        rc = srv_indicator(&v->s, &qq, &pg);
    } else if (!strcmp(url, "/trend")) {
        maybe_sync(&v->s);
        rc = srv_trend(&v->s, &qq, &pg);
    } else if (!strcmp(url, "/export.xlsx")) {
        maybe_sync(&v->s);
        rc = srv_xlsx(&v->s, &qq, &pg);
    } else {
        refused(v, "path", "a request for a page that does not exist");
        return send_error(c, 404, "Không có trang này: hãy về trang tổng quan.",
                          "There is no such page: go back to the overview.");
    }
    if (rc < 0) return send_error(c, 500, "Lỗi hệ thống (hết bộ nhớ?): hãy thử lại.",
                                  "A system error (out of memory?): try again.");
    if (pg.status >= 400) refused(v, "query", "a page asked for an unknown period, code or unit");
    return send_page(c, &pg, NULL);
}

static void on_done(void *cls, struct MHD_Connection *c, void **state,
                    enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)c, (void)why;
    req_t *q = *state;
    if (q) {
        sodium_memzero(q, sizeof *q);
        free(q);
    }
    *state = NULL;
}

/* ---- the commands ------------------------------------------------------------------------ */

static const char serve_usage[] =
    "usage: kh-feed serve [--listen IPV4:PORT] [--config FILE]\n"
    "       kh-feed passwd USER [--config FILE]   (the password is read from stdin)\n"
    "serve: the dashboard in the browser ([feed] dashboard_listen, default 127.0.0.1:8490);\n"
    "any address but 127.0.0.1 needs [feed] dashboard_password_file (kh-feed passwd).\n";

/* kh-feed passwd USER: adds USER to the password file or changes its hash. */
static int passwd_main(const char *user, const char *pwfile)
{
    if (!user_ok(user)) {
        fprintf(stderr, "kh-feed: tên người dùng chỉ gồm chữ, số và . _ - @, tối đa %d byte / a "
                "user name is letters, digits and . _ - @, at most %d bytes\n", USER_MAX - 1,
                USER_MAX - 1);
        return 2;
    }
    if (!pwfile[0]) {
        fprintf(stderr, "kh-feed: hãy đặt [feed] dashboard_password_file trong kh.ini trước / "
                "set [feed] dashboard_password_file in kh.ini first\n");
        return 1;
    }
    char pw[PASSWORD_MAX + 2];
    long len = kh_web_password_read("kh-feed", "Mật khẩu / Password: ", pw, sizeof pw,
                                    PASSWORD_MIN, PASSWORD_MAX);
    if (len < 0) return 1;
    char hash[crypto_pwhash_STRBYTES];
    int hr = crypto_pwhash_str(hash, pw, (unsigned long long)len,
                               crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE);
    sodium_memzero(pw, sizeof pw);
    if (hr != 0) {
        fprintf(stderr, "kh-feed: không đủ bộ nhớ để băm mật khẩu / out of memory hashing the "
                "password\n");
        return 1;
    }
    char *old = NULL;
    size_t olen = 0;
    if (kh_read_file(pwfile, PWFILE_MAX, &old, &olen) < 0 && errno != ENOENT) {
        fprintf(stderr, "kh-feed: không đọc được %s (%s) / cannot read it\n", pwfile,
                strerror(errno));
        return 1;
    }
    char *out = NULL;
    size_t outlen = 0;
    FILE *m = open_memstream(&out, &outlen);
    if (!m) {
        free(old);
        return 1;
    }
    size_t ul = strlen(user);
    int replaced = 0;
    for (char *line = old, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        if (strncmp(line, user, ul) == 0 && line[ul] == ':') {
            fprintf(m, "%s:%s\n", user, hash);
            replaced = 1;
        } else if (line[0]) {
            fprintf(m, "%s\n", line);
        }
    }
    if (!replaced) fprintf(m, "%s:%s\n", user, hash);
    int bad = ferror(m);
    fclose(m);
    if (old) {
        sodium_memzero(old, olen);
        free(old);
    }
    if (bad || kh_write_file_atomic(pwfile, out, outlen) < 0) {
        fprintf(stderr, "kh-feed: không ghi được %s (%s): hãy kiểm tra thư mục và quyền / cannot "
                "write it: check the folder and permissions\n", pwfile, strerror(errno));
        free(out);
        return 1;
    }
    free(out);
    printf("Đã %s người dùng %s trong %s / %s user %s in %s\n", replaced ? "đổi mật khẩu của" : "thêm",
           user, pwfile, replaced ? "changed the password of" : "added", user, pwfile);
    return 0;
}

int kh_feed_serve_main(int argc, char **argv, const char *cfgpath)
{
    const char *cmd = argv[1], *listen_opt = NULL, *user = NULL;
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"listen", required_argument, 0, 'l'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "c:l:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': cfgpath = optarg; break;
        case 'l': listen_opt = optarg; break;
        case 'h': fputs(serve_usage, stdout); return 0;
        default: fputs(serve_usage, stderr); return 2;
        }
    }
    if (!strcmp(cmd, "passwd")) {
        if (optind + 1 != argc || listen_opt) {
            fputs(serve_usage, stderr);
            return 2;
        }
        user = argv[optind];
    } else if (optind < argc) {
        fprintf(stderr, "kh-feed: unexpected argument '%s'; see kh-feed serve --help\n",
                argv[optind]);
        return 2;
    }
    kh_log_init("feed", KH_LOG_INFO);
    if (sodium_init() < 0) {
        fprintf(stderr, "kh-feed: libsodium cannot start\n");
        return 1;
    }
    char err[512], path[PATH_MAX];
    kh_config_t *cfg = kh_config_load(kh_config_path(cfgpath, path, sizeof path), err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "kh-feed: %s\n", err);
        return 1;
    }
    static server_t v;   /* large (sessions); one per process */
    memset(&v, 0, sizeof v);
    if (kh_config_str(cfg, "feed", "dashboard_password_file", v.pwfile, sizeof v.pwfile) < 0)
        v.pwfile[0] = '\0';
    if (user) {
        int rc = passwd_main(user, v.pwfile);
        kh_config_destroy(&cfg);
        return rc;
    }
    int rc = 1;
    kh_catalog_t *cat = NULL;
    srv_t *s = &v.s;
    char listen_at[64] = "", mirror_path[1024], data[1024];
    long s1, s2, sync_s;
    if (kh_config_clock(cfg, err, sizeof err) < 0 ||
        kh_config_str(cfg, "feed", "dashboard_listen", listen_at, sizeof listen_at) < 0 ||
        kh_config_str(cfg, "feed", "mirror", mirror_path, sizeof mirror_path) < 0 ||
        kh_config_str(cfg, "aggregator", "snapshot", s->snapshot, sizeof s->snapshot) < 0 ||
        kh_config_str(cfg, "general", "data_dir", data, sizeof data) < 0 ||
        kh_config_max_message(cfg, 1, &s->max_msg, err, sizeof err) < 0 ||
        kh_config_long(cfg, "feed", "dashboard_sync_s", &sync_s, err, sizeof err) < 0 ||
        kh_config_long(cfg, "calendar", "s1_due", &s1, err, sizeof err) < 0 ||
        kh_config_long(cfg, "calendar", "s2_due", &s2, err, sizeof err) < 0) {
        fprintf(stderr, "kh-feed: bad configuration: %s\n", err);
        goto out_cfg;
    }
    if (listen_opt) kh_strlcpy(listen_at, listen_opt, sizeof listen_at);
    s->sync_s = sync_s;
    s->timeout_ms = 5000;
    struct sockaddr_in sa;
    if (kh_web_listen_parse(listen_at, &sa) != KH_OK) {
        fprintf(stderr, "kh-feed: --listen / [feed] dashboard_listen = '%s': viết IPV4:CỔNG, ví "
                "dụ 127.0.0.1:8490 / write IPV4:PORT, e.g. 127.0.0.1:8490\n", listen_at);
        rc = 2;
        goto out_cfg;
    }
    kh_strlcpy(v.listen, listen_at, sizeof v.listen);
    v.port = ntohs(sa.sin_port);
    v.loopback = ntohl(sa.sin_addr.s_addr) == INADDR_LOOPBACK;   /* 127.0.0.1 exactly */
    v.need_login = !v.loopback;
    if (v.need_login) {
        char probe[crypto_pwhash_STRBYTES + 1];
        if (!v.pwfile[0] || (access(v.pwfile, R_OK) != 0) ||
            user_hash(v.pwfile, "", probe, sizeof probe) == KH_ERR) {
            fprintf(stderr, "kh-feed: %s không phải 127.0.0.1 nhưng chưa có tệp mật khẩu đọc được: "
                    "bảng số liệu không mở. Hãy đặt [feed] dashboard_password_file và thêm người "
                    "dùng (kh-feed passwd TÊN), hoặc dùng 127.0.0.1 sau một reverse proxy / %s "
                    "is not 127.0.0.1 and there is no readable password file: the dashboard is "
                    "not started. Set [feed] dashboard_password_file and add users (kh-feed "
                    "passwd NAME), or listen on 127.0.0.1 behind a reverse proxy\n",
                    listen_at, listen_at);
            goto out_cfg;
        }
        uint8_t rnd[32];
        randombytes_buf(rnd, sizeof rnd);
        if (crypto_pwhash_str(v.dummy_hash, (const char *)rnd, sizeof rnd,
                              crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
            fprintf(stderr, "kh-feed: out of memory hashing\n");
            goto out_cfg;
        }
    }
    if (!(cat = kh_catalog_load(data, (int)s1, (int)s2, err, sizeof err))) {
        fprintf(stderr, "kh-feed: %s\n", err);
        goto out_cfg;
    }
    s->cat = cat;
    if (strcmp(kh_config_raw(cfg, "security", "curve"), "no") != 0) {
        char kpath[1024], spath[1024];
        kh_key_t me, server;
        if (kh_config_str(cfg, "feed", "key", kpath, sizeof kpath) < 0 ||
            kh_config_str(cfg, "feed", "server_key", spath, sizeof spath) < 0 ||
            kh_key_read(kpath, &me, err, sizeof err) < 0 ||
            (!me.has_secret && snprintf(err, sizeof err, "%s holds no secret key", kpath)) ||
            kh_key_read(spath, &server, err, sizeof err) < 0) {
            fprintf(stderr, "kh-feed: %s (the feed needs a province key: kh-admin keys)\n", err);
            goto out_cat;
        }
        mirror_set_curve(server.curve_pk, me.curve_pk, me.curve_sk);
    }
    s->zctx = zmq_ctx_new();
    if (!s->zctx || mirror_open(&s->db, mirror_path) < 0) goto out_zmq;
    maybe_sync(s);

    /* SIGINT / SIGTERM are waited for by this thread: blocked before the daemon's thread
     * starts, so that it inherits the mask */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 32) < 0) {
        fprintf(stderr, "kh-feed: bảng số liệu không mở được ở %s (%s): hãy chọn cổng khác "
                "(--listen) / the dashboard cannot listen on %s (%s): choose another port\n",
                listen_at, strerror(errno), listen_at, strerror(errno));
        if (fd >= 0) close(fd);
        goto out_zmq;
    }
    v.d = MHD_start_daemon(MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                           on_request, &v, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                           MHD_OPTION_CONNECTION_LIMIT, (unsigned)SRV_CONNECTIONS,
                           MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)SRV_PER_IP,
                           MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SRV_TIMEOUT_S,
                           MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SRV_MEMORY,
                           MHD_OPTION_NOTIFY_COMPLETED, on_done, &v, MHD_OPTION_END);
    if (!v.d) {
        close(fd);
        fprintf(stderr, "kh-feed: libmicrohttpd cannot start the dashboard\n");
        goto out_zmq;
    }
    char msg[256];
    snprintf(msg, sizeof msg, "bảng số liệu / dashboard: http://%s/%s", listen_at,
             v.need_login ? " (đăng nhập / login)" : "");
    KH_INFO("dashboard.start", msg, "listen", listen_at);
    printf("%s\n", msg);
    fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    MHD_stop_daemon(v.d);
    rc = 0;
out_zmq:
    kh_db_close(&s->db);
    if (s->zctx) zmq_ctx_term(s->zctx);
out_cat:
    kh_catalog_destroy(&cat);
out_cfg:
    kh_config_destroy(&cfg);
    sodium_memzero(&v, sizeof v);
    return rc;
}
