/*
 * web.c — the district officer's web page (libmicrohttpd): the server — requests,
 * uploads, authentication, start and stop — and `kh-node web-password`; the pages
 * themselves are web_page.c.  See web.h for what it serves, its threading invariants
 * and its bounds.
 *
 * Design notes.  Every handler runs on libmicrohttpd's one internal thread, so the
 * page's node_t (w->n) and its SQLite connection are used by that thread alone once
 * node_web_start returned.  A request is answered when its body is complete; a POST body
 * goes through a post processor (multipart for the upload, urlencoded for the forms)
 * and is bounded ([node] max_file_bytes + WEB_FORM_EXTRA): a Content-Length over it is
 * answered at once with a page that says so; a file over max_file_bytes inside a body
 * under the bound is read, dropped and answered the same way; a body without a length
 * is cut at the bound (libmicrohttpd answers only before or after a body).  An upload is written to a folder of its own, <dir>/web-uploads/<random
 * hex>/<the file's name made safe>, so the name the officer knows travels with the
 * report (receipts, source_name) while nothing of it chooses where it is written; its
 * receipts are written beside it.
 */
#include "web_int.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kh_db.h"
#include "kh_log.h"
#include "kh_report.h"
#include "kh_util.h"
#include "kh_web.h"

/* ---- uploads ------------------------------------------------------------------------------ */

/* The uploaded file's name made safe for a file of its own folder: no '/', '\\', control
 * character or invalid UTF-8 (each becomes '_'), no leading '.', at most 200 bytes (cut
 * at a character), never empty. */
static void safe_name(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    const char *s = in ? in : "";
    /* a browser may send a whole Windows path: keep what follows the last separator */
    for (const char *q = s; *q; q++)
        if (*q == '/' || *q == '\\')
            s = q + 1;
    while (*s == '.' || *s == ' ')
        s++;
    size_t limit = cap - 1 < 200 ? cap - 1 : 200;
    while (*s && o < limit) {
        uint32_t cp;
        size_t l = kh_utf8_len(s, strlen(s), &cp);
        if (l == 0 || cp < 0x20 || cp == 0x7f) {
            out[o++] = '_';
            s += l ? l : 1;
            continue;
        }
        if (o + l > limit)
            break;
        memcpy(out + o, s, l);
        o += l;
        s += l;
    }
    out[o] = '\0';
    if (!o)
        kh_strlcpy(out, "bao-cao.csv", cap);
    /* never the name of the receipts file beside it */
    if (o > 15 && !strcmp(out + o - 15, ".receipts.jsonl") && o + 1 < cap) {
        out[o] = '_';
        out[o + 1] = '\0';
    }
}

/* Removes an upload's folder and what is in it (files only: it never holds folders). */
static void remove_upload(const char *folder)
{
    DIR *d = opendir(folder);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                char p[PATH_MAX + 300];
                snprintf(p, sizeof p, "%s/%s", folder, e->d_name);
                unlink(p);
            }
        }
        closedir(d);
    }
    rmdir(folder);
}

/* The report file of an upload's folder (not its receipts): its path.  KH_OK or KH_NO. */
static int upload_file(const char *folder, char *path, size_t cap)
{
    DIR *d = opendir(folder);
    if (!d)
        return KH_NO;
    struct dirent *e;
    int rc = KH_NO;
    while (rc == KH_NO && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || (l > 15 && !strcmp(e->d_name + l - 15, ".receipts.jsonl")))
            continue;             /* ".sent", the receipts: never the report (safe_name) */
        if (snprintf(path, cap, "%s/%s", folder, e->d_name) < (int)cap)
            rc = KH_OK;
    }
    closedir(d);
    return rc;
}

/* Keeps fewer than WEB_UPLOADS_MAX uploads that were checked but not sent: the oldest
 * go first.  A sent one (its marker ".sent") is kept: its receipts are written there. */
static void prune_uploads(node_web_t *w)
{
    for (int round = 0; round < 2 * WEB_UPLOADS_MAX; round++) {
        DIR *d = opendir(w->uploads);
        if (!d)
            return;
        size_t n = 0;
        char oldest[WEB_ID_HEX + 1] = "";
        time_t oldest_t = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strlen(e->d_name) != WEB_ID_HEX)
                continue;
            char p[PATH_MAX + 64];
            struct stat st;
            snprintf(p, sizeof p, "%s/%.32s/.sent", w->uploads, e->d_name);
            if (access(p, F_OK) == 0)
                continue;
            snprintf(p, sizeof p, "%s/%.32s", w->uploads, e->d_name);
            if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode))
                continue;
            n++;
            if (!oldest[0] || st.st_mtim.tv_sec < oldest_t) {
                kh_strlcpy(oldest, e->d_name, sizeof oldest);
                oldest_t = st.st_mtim.tv_sec;
            }
        }
        closedir(d);
        if (n < WEB_UPLOADS_MAX || !oldest[0])
            return;
        char q[PATH_MAX + 64];
        snprintf(q, sizeof q, "%s/%.32s", w->uploads, oldest);
        remove_upload(q);
    }
}

/* ---- requests ---------------------------------------------------------------------------- */

enum { R_GET, R_UPLOAD, R_SEND, R_CHECK };

typedef struct {
    int kind;
    struct MHD_PostProcessor *pp;
    uint64_t raw;              /* body bytes received */
    int too_large, refused;    /* refused: answered already (413) */
    char csrf[80];
    char upload[WEB_ID_HEX + 8];
    /* R_UPLOAD */
    char id[WEB_ID_HEX + 1];
    char folder[PATH_MAX + 64];
    char path[PATH_MAX + 320];
    int fd, got_file, write_err;
    uint64_t file_bytes;
} req_t;

static size_t max_file(const node_web_t *w)
{
    return w->n.max_file_bytes ? w->n.max_file_bytes : KH_REPORT_MAX_BYTES;
}

static void field_copy(char *dst, size_t cap, const char *data, uint64_t off, size_t size)
{
    size_t have = strnlen(dst, cap);
    if (off != have || have + size >= cap)
        return;                 /* out of order or too long: left as it is (then refused) */
    memcpy(dst + have, data, size);
    dst[have + size] = '\0';
}

static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *filename, const char *content_type,
                                const char *transfer_encoding, const char *data, uint64_t off,
                                size_t size)
{
    (void)kind, (void)content_type, (void)transfer_encoding;
    req_t *q = cls;
    if (!strcmp(key, "csrf"))
        field_copy(q->csrf, sizeof q->csrf, data, off, size);
    else if (!strcmp(key, "upload"))
        field_copy(q->upload, sizeof q->upload, data, off, size);
    (void)filename;
    return MHD_YES;
}

typedef struct {
    req_t q;
    node_web_t *w;
} upload_ctx_t;

static enum MHD_Result on_upload_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *filename, const char *content_type,
                                       const char *transfer_encoding, const char *data,
                                       uint64_t off, size_t size)
{
    upload_ctx_t *u = cls;
    req_t *q = &u->q;
    if (strcmp(key, "file") != 0)
        return on_field(q, kind, key, filename, content_type, transfer_encoding, data, off,
                        size);
    if (q->too_large || q->write_err)
        return MHD_YES;
    if (q->fd < 0 && !q->got_file) {           /* the first part of the file */
        char name[256];
        safe_name(filename, name, sizeof name);
        web_random_hex(q->id, WEB_ID_HEX / 2);
        snprintf(q->folder, sizeof q->folder, "%s/%s", u->w->uploads, q->id);
        snprintf(q->path, sizeof q->path, "%s/%s", q->folder, name);
        if (kh_mkdirs(u->w->uploads, 0750) < 0 || mkdir(q->folder, 0750) < 0 ||
            (q->fd = open(q->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                          0640)) < 0) {
            q->write_err = errno ? errno : EIO;
            return MHD_YES;
        }
        q->got_file = 1;
    }
    if (q->fd < 0)
        return MHD_YES;                        /* a second file field: ignored */
    q->file_bytes += size;
    if (q->file_bytes > max_file(u->w)) {
        q->too_large = 1;
        return MHD_YES;
    }
    for (size_t done = 0; done < size;) {
        ssize_t n = write(q->fd, data + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            q->write_err = errno ? errno : EIO;
            break;
        }
        done += (size_t)n;
    }
    return MHD_YES;
}

static int token_ok(const node_web_t *w, const char *t)
{
    return strlen(t) == 64 && sodium_memcmp(t, w->token, 64) == 0;
}

static enum MHD_Result refuse_token(node_web_t *w, struct MHD_Connection *c)
{
    kh_metric_inc(w->m_refused);
    KH_WARN_RL("web.refused", "csrf", "a form without this page's token was refused (CSRF)",
               "district", w->n.district);
    return web_message(w, c, MHD_HTTP_FORBIDDEN,
                        "Biểu mẫu đã cũ hoặc không đến từ trang này (nút đã khởi động lại?): "
                        "hãy mở lại trang chính rồi làm lại.",
                        "The form is stale or did not come from this page (the node "
                        "restarted?): open the overview again and do it again.");
}

static enum MHD_Result refuse_large(node_web_t *w, struct MHD_Connection *c)
{
    char vi[512], en[512], lim[24];
    size_t max = max_file(w);
    snprintf(vi, sizeof vi, "Tệp quá lớn (tối đa %zu byte) nên nút không nhận: hãy kiểm tra đây "
             "đúng là tệp báo cáo của đơn vị, xoá các dòng hoặc cột thừa rồi tải lên lại.", max);
    snprintf(en, sizeof en, "The file is too large (at most %zu bytes), so the node does not "
             "take it: check that it is the unit's report, remove extra rows or columns and "
             "upload it again.", max);
    kh_metric_inc(w->m_refused);
    KH_WARN_RL("web.refused", "too_large", "an upload larger than [node] max_file_bytes was "
               "refused", "district", w->n.district, "max_file_bytes",
               kh_u64_str(max, lim, sizeof lim));
    return web_message(w, c, MHD_HTTP_CONTENT_TOO_LARGE, vi, en);
}

static enum MHD_Result finish_upload(node_web_t *w, struct MHD_Connection *c, req_t *q)
{
    if (q->fd >= 0) {
        if (close(q->fd) < 0 && !q->write_err)
            q->write_err = errno;
        q->fd = -1;
    }
    if (!token_ok(w, q->csrf) || q->too_large || q->write_err || !q->got_file) {
        if (q->folder[0])
            remove_upload(q->folder);
        if (!token_ok(w, q->csrf))
            return refuse_token(w, c);
        if (q->too_large)
            return refuse_large(w, c);
        if (q->write_err) {
            KH_ERROR("web.upload", strerror(q->write_err), "district", w->n.district);
            return web_message(w, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                "Nút không lưu được tệp tải lên (đĩa đầy hoặc quyền): xem "
                                "nhật ký của nút.",
                                "The node cannot save the uploaded file (disk full or "
                                "permissions): see the node's log.");
        }
        return web_message(w, c, MHD_HTTP_BAD_REQUEST,
                            "Chưa chọn tệp: hãy chọn tệp báo cáo rồi bấm \"Kiểm tra tệp\".",
                            "No file chosen: choose the report file and press \"Check the "
                            "file\".");
    }
    prune_uploads(w);
    return web_checked(w, c, q->id, q->path);
}

/* The report queued from an upload's file, if any: KH_OK with id, rev; KH_NO. */
static int queued_from(node_web_t *w, const char *path, char *id, size_t cap, long long *rev)
{
    sqlite3_stmt *st = kh_db_prepare(w->n.db, "SELECT report_id,revision FROM report WHERE "
                                              "source=? ORDER BY revision DESC LIMIT 1");
    if (!st)
        return KH_ERR;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    int rc = KH_NO;
    if (sqlite3_step(st) == SQLITE_ROW) {
        kh_strlcpy(id, (const char *)sqlite3_column_text(st, 0), cap);
        *rev = sqlite3_column_int64(st, 1);
        rc = KH_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

static enum MHD_Result post_send(node_web_t *w, struct MHD_Connection *c, req_t *q)
{
    if (!token_ok(w, q->csrf))
        return refuse_token(w, c);
    int ok = strlen(q->upload) == WEB_ID_HEX;
    for (const char *s = q->upload; ok && *s; s++)
        ok = (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f');
    char folder[PATH_MAX + 64], path[PATH_MAX + 400], marker[PATH_MAX + 80];
    snprintf(folder, sizeof folder, "%s/%s", w->uploads, q->upload);
    if (!ok || upload_file(folder, path, sizeof path) != KH_OK)
        return web_message(w, c, MHD_HTTP_NOT_FOUND,
                            "Không còn tệp đã kiểm tra này ở nút (đã quá cũ?): hãy tải tệp lên "
                            "lại.",
                            "This checked file is no longer at the node (too old?): upload "
                            "the file again.");
    char id[96], to[160];
    long long rev;
    if (queued_from(w, path, id, sizeof id, &rev) == KH_OK) {   /* sent already: its page */
        snprintf(to, sizeof to, "/report/%s/%lld", id, rev);
        return web_redirect(c, to);
    }
    int rc = node_submit_file(&w->n, path, folder, 0, 0);
    if (rc < 0) {
        KH_ERROR("web.submit", "the report could not be queued", "district", w->n.district);
        return web_message(w, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                            "Nút không đưa được báo cáo vào hàng đợi (lỗi hệ thống): hãy thử "
                            "lại; nếu vẫn lỗi, xem nhật ký của nút.",
                            "The node could not queue the report (a system error): try again; "
                            "if it fails again, see the node's log.");
    }
    if (rc > 0)
        return web_message(w, c, MHD_HTTP_OK,
                            "Báo cáo chưa được gửi: lần kiểm tra này thấy lỗi (có thể ngày đã "
                            "đổi). Hãy tải tệp lên lại để xem các lỗi.",
                            "The report was not sent: this check found errors (the day may "
                            "have changed). Upload the file again to see them.");
    snprintf(marker, sizeof marker, "%s/.sent", folder);
    int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd >= 0)
        close(fd);
    if (queued_from(w, path, id, sizeof id, &rev) != KH_OK)
        return web_redirect(c, "/");
    char rs[24];
    kh_metric_inc(w->m_sent);
    KH_INFO("web.submit", "a report was queued from the web page", "district", w->n.district,
            "report_id", id, "revision", kh_u64_str((uint64_t)rev, rs, sizeof rs));
    snprintf(to, sizeof to, "/report/%s/%lld", id, rev);
    return web_redirect(c, to);
}

/* ---- authentication and the Host header ----------------------------------------------------- */

static int auth_ok(node_web_t *w, struct MHD_Connection *c)
{
    if (!w->has_pw)
        return 1;
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(c, &pass);
    int ok = 0;
    if (pass && strlen(pass) <= WEB_PASSWORD_MAX) {
        uint8_t h[crypto_generichash_BYTES];
        crypto_generichash(h, sizeof h, (const uint8_t *)pass, strlen(pass), w->auth_key,
                           sizeof w->auth_key);
        for (size_t i = 0; i < w->n_auth && !ok; i++)
            ok = sodium_memcmp(h, w->auth_ok[i], sizeof h) == 0;
        if (!ok && crypto_pwhash_str_verify(w->pwhash, pass, strlen(pass)) == 0) {
            ok = 1;
            memcpy(w->auth_ok[w->auth_next], h, sizeof h);
            w->auth_next = (w->auth_next + 1) % WEB_AUTH_CACHE;
            if (w->n_auth < WEB_AUTH_CACHE)
                w->n_auth++;
        }
        sodium_memzero(h, sizeof h);
    }
    if (pass) {
        sodium_memzero(pass, strlen(pass));
        MHD_free(pass);
    }
    if (user)
        MHD_free(user);
    if (!ok)
        kh_metric_inc(w->m_refused);
    if (!ok && pass)
        KH_WARN_RL("web.refused", "password", "a wrong password for the web page",
                   "district", w->n.district);
    return ok;
}

/* With [node] web_tls_client_ca, a browser must present a certificate that CA signed
 * (libmicrohttpd asks for it; GnuTLS checks it against the CA).  1 when it did. */
static int client_cert_ok(node_web_t *w, struct MHD_Connection *c)
{
    if (!w->tls_ca)
        return 1;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t tls = ci ? (gnutls_session_t)ci->tls_session : NULL;
    unsigned n = 0, status = 0;
    int ok = tls && gnutls_certificate_get_peers(tls, &n) && n > 0 &&
             gnutls_certificate_verify_peers2(tls, &status) == 0 && status == 0;
    if (!ok) {
        kh_metric_inc(w->m_refused);
        KH_WARN_RL("web.refused", "client_cert", "a browser without a certificate of "
                   "[node] web_tls_client_ca was refused", "district", w->n.district);
    }
    return ok;
}

/* Without a password the page is on a loopback address only: a request must name it as
 * such (Host), so that a web site the officer visits cannot reach it through a DNS name
 * of its own pointed at 127.0.0.1 (DNS rebinding). */
static int host_ok(node_web_t *w, struct MHD_Connection *c)
{
    if (w->has_pw || w->tls_ca)
        return 1;
    return kh_web_host_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_HOST),
                          w->port, w->listen);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **state)
{
    (void)version;
    node_web_t *w = cls;
    upload_ctx_t *u = *state;
    if (!u) {                                   /* the headers: the request starts */
        kh_metric_inc(w->m_requests);
        KH_DEBUG("web.request", "request", "method", method, "url", url, "district",
                 w->n.district);
        if (!client_cert_ok(w, c))
            return web_message(w, c, MHD_HTTP_FORBIDDEN,
                                "Trang này chỉ mở cho máy có chứng chỉ của đơn vị: hãy nhờ "
                                "người quản trị cài chứng chỉ cho trình duyệt của bạn.",
                                "This page opens only for computers with the unit's "
                                "certificate: ask the administrator to install one in your "
                                "browser.");
        if (!host_ok(w, c)) {
            kh_metric_inc(w->m_refused);
            return web_message(w, c, MHD_HTTP_BAD_REQUEST,
                                "Hãy mở trang bằng địa chỉ của nút (http://127.0.0.1:cổng/).",
                                "Open the page at the node's address (http://127.0.0.1:port/).");
        }
        if (!auth_ok(w, c))
            return web_ask_password(w, c);
        int post = strcmp(method, "POST") == 0;
        if (!post && strcmp(method, "GET") && strcmp(method, "HEAD"))
            return web_message(w, c, MHD_HTTP_METHOD_NOT_ALLOWED,
                                "Trang này chỉ nhận GET và POST.", "This page takes GET and POST "
                                "only.");
        u = calloc(1, sizeof *u);
        if (!u)
            return MHD_NO;
        u->w = w;
        u->q.fd = -1;
        u->q.kind = !post ? R_GET : !strcmp(url, "/upload") ? R_UPLOAD
                  : !strcmp(url, "/send") ? R_SEND : !strcmp(url, "/check") ? R_CHECK : -1;
        *state = u;
        if (u->q.kind < 0)
            return web_message(w, c, MHD_HTTP_NOT_FOUND, "Không có trang này.",
                                "There is no such page.");
        if (post) {
            uint64_t limit = (u->q.kind == R_UPLOAD ? max_file(w) : 0) + WEB_FORM_EXTRA;
            const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
            if (cl && strtoull(cl, NULL, 10) > limit) {
                u->q.refused = 1;
                return refuse_large(w, c);
            }
            u->q.pp = MHD_create_post_processor(c, 16384,
                                                u->q.kind == R_UPLOAD ? on_upload_field
                                                                      : on_field,
                                                u->q.kind == R_UPLOAD ? (void *)u
                                                                      : (void *)&u->q);
            if (!u->q.pp)
                return web_message(w, c, MHD_HTTP_BAD_REQUEST,
                                    "Biểu mẫu không đọc được: hãy mở lại trang chính.",
                                    "The form cannot be read: open the overview again.");
        }
        return MHD_YES;
    }
    req_t *q = &u->q;
    if (*data_size) {                           /* a piece of the body */
        size_t size = *data_size;
        q->raw += size;
        uint64_t limit = (q->kind == R_UPLOAD ? max_file(w) : 0) + WEB_FORM_EXTRA;
        *data_size = 0;
        if (q->raw > limit) {
            /* only a body without a length gets here (a longer Content-Length was refused
             * with a page before its body): libmicrohttpd answers only once the body is
             * read, so the connection is cut — on_done removes what was saved */
            kh_metric_inc(w->m_refused);
            KH_WARN_RL("web.refused", "too_large", "an upload without a length went over "
                       "[node] max_file_bytes: connection closed", "district", w->n.district);
            return MHD_NO;
        }
        if (!q->refused && q->pp && MHD_post_process(q->pp, data, size) != MHD_YES)
            q->write_err = q->write_err ? q->write_err : EINVAL;
        return MHD_YES;
    }
    if (q->refused)
        return MHD_YES;
    switch (q->kind) {
    case R_UPLOAD:
        return finish_upload(w, c, q);
    case R_SEND:
        return post_send(w, c, q);
    case R_CHECK:
        if (!token_ok(w, q->csrf))
            return refuse_token(w, c);
        return web_check(w, c);
    default:
        break;
    }
    if (!strcmp(url, "/"))
        return web_overview(w, c);
    if (!strncmp(url, "/report/", 8))
        return web_report(w, c, url + 8);
    if (!strncmp(url, "/api/report/", 12))
        return web_api_report(w, c, url + 12);
    if (!strcmp(url, "/api/status"))
        return web_api_status(w, c);
    if (!strcmp(url, "/template"))
        return web_template(w, c);
    return web_message(w, c, MHD_HTTP_NOT_FOUND, "Không có trang này: hãy về trang chính.",
                        "There is no such page: go back to the overview.");
}

static void on_done(void *cls, struct MHD_Connection *c, void **state,
                    enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)c, (void)why;
    upload_ctx_t *u = *state;
    if (!u)
        return;
    if (u->q.pp)
        MHD_destroy_post_processor(u->q.pp);
    if (u->q.fd >= 0) {                         /* cut off mid-upload: nothing kept */
        close(u->q.fd);
        remove_upload(u->q.folder);
    } else if (u->q.refused && u->q.folder[0]) {
        remove_upload(u->q.folder);
    }
    free(u);
    *state = NULL;
}

/* ---- start, stop -------------------------------------------------------------------------- */

static int read_password_file(const char *path, char *out, size_t cap)
{
    char *buf;
    size_t len;
    if (kh_read_file(path, 4096, &buf, &len) < 0)
        return KH_ERR;
    char *t = kh_trim(buf);
    int ok = strncmp(t, crypto_pwhash_STRPREFIX, strlen(crypto_pwhash_STRPREFIX)) == 0 &&
             strlen(t) < cap;
    if (ok)
        kh_strlcpy(out, t, cap);
    sodium_memzero(buf, len);
    free(buf);
    return ok ? KH_OK : KH_NO;
}

/* [node] key names a PEM file: *pem its text (NULL when the option is not set).
 * Returns KH_OK, or KH_ERR after logging what to do. */
static int read_pem(kh_service_t *s, const node_t *n, const char *key, char **pem)
{
    char path[PATH_MAX];
    *pem = NULL;
    if (kh_config_str(s->cfg, "node", key, path, sizeof path) < 0)
        path[0] = '\0';
    if (!path[0])
        return KH_OK;
    size_t len;
    if (kh_read_file(path, WEB_PEM_MAX, pem, &len) == 0 && strstr(*pem, "-----BEGIN "))
        return KH_OK;
    char msg[PATH_MAX + 300];
    snprintf(msg, sizeof msg, "[node] %s = %s: không đọc được tệp PEM (%s): hãy kiểm tra "
             "đường dẫn và quyền / cannot read a PEM file there (%s): check the path and "
             "permissions", key, path, *pem ? "not PEM" : strerror(errno),
             *pem ? "not PEM" : strerror(errno));
    KH_ERROR("web.config", msg, "district", n->district);
    free(*pem);
    *pem = NULL;
    return KH_ERR;
}

static void free_pem(char **pem)
{
    if (*pem) {
        sodium_memzero(*pem, strlen(*pem));
        free(*pem);
        *pem = NULL;
    }
}

static void web_free(node_web_t *w)
{
    kh_db_close(&w->n.db);
    free_pem(&w->tls_cert);
    free_pem(&w->tls_key);
    free_pem(&w->tls_ca);
    sodium_memzero(w, sizeof *w);
    free(w);
}

int node_web_start(kh_service_t *s, const node_t *n, node_web_t **out)
{
    *out = NULL;
    char listen_at[64] = "", pwfile[PATH_MAX] = "", err[256];
    if (kh_config_str(s->cfg, "node", "web_listen", listen_at, sizeof listen_at) < 0 ||
        kh_config_str(s->cfg, "node", "web_password_file", pwfile, sizeof pwfile) < 0) {
        snprintf(err, sizeof err, "[node] web_listen or web_password_file is too long");
        KH_ERROR("web.config", err, "district", n->district);
        return KH_ERR;
    }
    if (!listen_at[0] || !strcmp(listen_at, "off"))
        return KH_NO;
    struct sockaddr_in sa;
    if (kh_web_listen_parse(listen_at, &sa) != KH_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "[node] web_listen = '%s': viết IPV4:CỔNG, ví dụ "
                 "127.0.0.1:8480, hoặc off / write IPV4:PORT, e.g. 127.0.0.1:8480, or off",
                 listen_at);
        KH_ERROR("web.config", msg, "district", n->district);
        return KH_ERR;
    }
    if (sodium_init() < 0) {
        KH_ERROR("web.config", "libsodium cannot start", "district", n->district);
        return KH_ERR;
    }
    node_web_t *w = calloc(1, sizeof *w);
    if (!w)
        return KH_ERR;
    w->loopback = (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
    w->port = ntohs(sa.sin_port);
    kh_strlcpy(w->listen, listen_at, sizeof w->listen);
    if (read_pem(s, n, "web_tls_cert", &w->tls_cert) != KH_OK ||
        read_pem(s, n, "web_tls_key", &w->tls_key) != KH_OK ||
        read_pem(s, n, "web_tls_client_ca", &w->tls_ca) != KH_OK) {
        web_free(w);
        return KH_ERR;
    }
    if (!w->tls_cert != !w->tls_key || (w->tls_ca && !w->tls_cert)) {
        KH_ERROR("web.config", "[node] web_tls_cert và web_tls_key đi cùng nhau, và "
                 "web_tls_client_ca cần cả hai / web_tls_cert and web_tls_key go together, and "
                 "web_tls_client_ca needs both", "district", n->district);
        web_free(w);
        return KH_ERR;
    }
    if (pwfile[0]) {
        int r = read_password_file(pwfile, w->pwhash, sizeof w->pwhash);
        if (r != KH_OK) {
            char msg[PATH_MAX + 400];
            snprintf(msg, sizeof msg, "[node] web_password_file = %s: %s; hãy tạo lại bằng "
                     "kh-node web-password FILE / make it again with kh-node web-password FILE",
                     pwfile, r == KH_ERR ? strerror(errno) : "không phải tệp mật khẩu của "
                     "kh-node / not a kh-node password file");
            KH_ERROR("web.config", msg, "district", n->district);
            web_free(w);
            return KH_ERR;
        }
        w->has_pw = 1;
    } else if (!w->loopback && !w->tls_ca) {
        char msg[512];
        snprintf(msg, sizeof msg, "[node] web_listen = %s không phải địa chỉ 127.x nhưng chưa "
                 "có mật khẩu: trang web không mở. Hãy tạo mật khẩu (kh-node web-password FILE) "
                 "và đặt [node] web_password_file = FILE (hoặc web_tls_client_ca), hoặc dùng "
                 "127.0.0.1 / %s is not a loopback address and there is no password: the web "
                 "page is not started. Make a password (kh-node web-password FILE) and set "
                 "[node] web_password_file = FILE (or web_tls_client_ca), or listen on "
                 "127.0.0.1", listen_at, listen_at);
        KH_ERROR("web.config", msg, "district", n->district);
        web_free(w);
        return KH_ERR;
    }
    w->svc = s;
    w->n.cat = n->cat;
    w->n.key = n->key;
    w->n.has_key = n->has_key;
    w->n.max_file_bytes = n->max_file_bytes;
    w->n.quiet = 1;
    kh_strlcpy(w->n.district, n->district, sizeof w->n.district);
    kh_strlcpy(w->n.dir, n->dir, sizeof w->n.dir);
    snprintf(w->uploads, sizeof w->uploads, "%s/web-uploads", n->dir);
    w->m_requests = kh_metrics_counter("kh_node_web_requests_total", "Requests to the web "
                                       "page.", NULL, NULL);
    w->m_refused = kh_metrics_counter("kh_node_web_refused_total", "Requests the web page "
                                      "refused: a bad token, password or client certificate, "
                                      "an upload too large.", NULL, NULL);
    w->m_uploads = kh_metrics_counter("kh_node_web_uploads_total", "Files uploaded and "
                                      "checked on the web page.", NULL, NULL);
    w->m_sent = kh_metrics_counter("kh_node_web_submitted_total", "Reports queued from the "
                                   "web page.", NULL, NULL);
    web_random_hex(w->token, 32);
    randombytes_buf(w->auth_key, sizeof w->auth_key);
    if (node_open_db(&w->n) < 0 || kh_mkdirs(w->uploads, 0750) < 0) {
        KH_ERROR("web.start", "the web page cannot open the node's database or its uploads "
                 "folder", "district", n->district);
        web_free(w);
        return KH_ERR;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 32) < 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "trang web không mở được ở %s (%s): nút vẫn chạy, không có "
                 "trang web. Hãy chọn cổng khác ở [node] web_listen rồi khởi động lại nút / the "
                 "web page cannot listen on %s (%s): the node runs on without it. Choose "
                 "another port in [node] web_listen and restart the node", listen_at,
                 strerror(errno), listen_at, strerror(errno));
        KH_ERROR("web.listen", msg, "district", n->district);
        if (fd >= 0)
            close(fd);
        web_free(w);
        return KH_NO;
    }
    /* HTTPS when a certificate is set; the CA makes libmicrohttpd ask for the browser's */
    struct MHD_OptionItem tls[] = {
        {w->tls_cert ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, w->tls_key},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, w->tls_cert},
        {w->tls_ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, w->tls_ca},
        {MHD_OPTION_END, 0, NULL},
    };
    w->d = MHD_start_daemon(MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD |
                                (w->tls_cert ? MHD_USE_TLS : 0),
                            0, NULL, NULL, on_request, w, MHD_OPTION_LISTEN_SOCKET,
                            (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)WEB_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            (unsigned)WEB_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)WEB_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, on_done, w,
                            MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (!w->d) {
        close(fd);
        KH_ERROR("web.listen", w->tls_cert ? "the web page cannot start: libmicrohttpd refused "
                 "[node] web_tls_cert / web_tls_key / web_tls_client_ca (not a matching PEM "
                 "certificate and key?): the node runs on without it"
                 : "the web page cannot start (libmicrohttpd): the node runs on without it",
                 "district", n->district);
        web_free(w);
        return KH_NO;
    }
    char msg[200];
    snprintf(msg, sizeof msg, "trang web / web page: %s://%s/%s%s", w->tls_cert ? "https" : "http",
             listen_at, w->has_pw ? " (mật khẩu / password)" : "",
             w->tls_ca ? " (chứng chỉ trình duyệt / client certificate)" : "");
    KH_INFO("web.start", msg, "district", n->district, "listen", listen_at);
    *out = w;
    return KH_OK;
}

void node_web_stop(node_web_t **wp)
{
    node_web_t *w = wp ? *wp : NULL;
    if (!w)
        return;
    MHD_stop_daemon(w->d);
    web_free(w);
    *wp = NULL;
}

/* ---- kh-node web-password FILE -------------------------------------------------------------- */

int node_web_password_main(int argc, char **argv)
{
    if (argc != 3 || argv[2][0] == '-') {
        fprintf(stderr, "usage: kh-node web-password FILE   (the password is read from stdin)\n");
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "kh-node: libsodium cannot start\n");
        return 1;
    }
    char pw[WEB_PASSWORD_MAX + 2];
    long got = kh_web_password_read("kh-node", "Mật khẩu cho trang web / Password for the web "
                                    "page: ", pw, sizeof pw, WEB_PASSWORD_MIN, WEB_PASSWORD_MAX);
    if (got < 0)
        return 1;
    size_t len = (size_t)got;
    char hash[crypto_pwhash_STRBYTES + 1];
    int rc = crypto_pwhash_str(hash, pw, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE);
    sodium_memzero(pw, sizeof pw);
    if (rc != 0) {
        fprintf(stderr, "kh-node: không đủ bộ nhớ để băm mật khẩu / out of memory hashing the "
                "password\n");
        return 1;
    }
    size_t hl = strlen(hash);
    hash[hl] = '\n';
    if (kh_write_file_atomic(argv[2], hash, hl + 1) < 0) {
        char shown[KH_ESCAPE_CAP(PATH_MAX)];
        kh_escape(argv[2], shown, sizeof shown);
        fprintf(stderr, "kh-node: không ghi được %s (%s): hãy chọn thư mục ghi được / cannot "
                "write %s (%s): choose a folder you may write\n", shown, strerror(errno),
                shown, strerror(errno));
        return 1;
    }
    char shown[KH_ESCAPE_CAP(PATH_MAX)];
    kh_escape(argv[2], shown, sizeof shown);
    printf("Đã ghi %s. Đặt [node] web_password_file = %s trong kh.ini rồi khởi động lại nút.\n"
           "Written %s. Set [node] web_password_file = %s in kh.ini and restart the node.\n",
           shown, shown, shown, shown);
    return 0;
}
