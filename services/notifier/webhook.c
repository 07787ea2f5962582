/*
 * webhook.c — libcurl multi driven by libuv; see webhook.h.
 */
#include "webhook.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_log.h"

#define WH_MAX_INFLIGHT 64
#define WH_ID_MAX 192

typedef struct sockctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct wh *w;
    struct sockctx *prev, *next;
} sockctx_t;

typedef struct {
    CURL *easy;
    struct curl_slist *headers;
    char id[WH_ID_MAX];
    char errbuf[CURL_ERROR_SIZE];
} req_t;

struct wh {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    char url[1024];
    long timeout_ms;
    int max_inflight;
    req_t *reqs[WH_MAX_INFLIGHT];
    int n;
    sockctx_t *socks;           /* polls open, to close what curl did not remove */
    wh_done_fn done;
    void *arg;
    int closing;
};

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;            /* the answer's body is not kept: only its status */
}

static void free_req(req_t *r)
{
    if (!r)
        return;
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r);
}

static void check_done(wh_t *w)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(w->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode res = msg->data.result;
        int i;
        for (i = 0; i < w->n && w->reqs[i]->easy != easy; i++)
            ;
        curl_multi_remove_handle(w->multi, easy);
        if (i == w->n) {             /* not ours: cannot happen, but never leak */
            curl_easy_cleanup(easy);
            continue;
        }
        req_t *r = w->reqs[i];
        w->reqs[i] = w->reqs[--w->n];
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        char why[CURL_ERROR_SIZE + 64];
        const char *err = NULL;
        if (res != CURLE_OK) {
            snprintf(why, sizeof why, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(res));
            err = why;
        } else if (status < 200 || status > 299) {
            snprintf(why, sizeof why, "HTTP %ld", status);
            err = why;
        }
        char id[WH_ID_MAX];
        memcpy(id, r->id, sizeof id);
        free_req(r);
        if (w->done)
            w->done(w->arg, id, status, err);
    }
}

static void on_timeout(uv_timer_t *t)
{
    wh_t *w = t->data;
    int running;
    curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(w);
}

static int timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    wh_t *w = userp;
    if (w->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&w->timer);
    else
        uv_timer_start(&w->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    sockctx_t *c = p->data;
    wh_t *w = c->w;
    int flags = 0, running;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(w->multi, c->fd, flags, &running);
    check_done(w);
}

static void sock_closed(uv_handle_t *h) { free(h->data); }

static void sock_close(wh_t *w, sockctx_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        w->socks = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->poll, sock_closed);
}

static int socket_fn(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp)
{
    (void)easy;
    wh_t *w = userp;
    sockctx_t *c = socketp;
    if (action == CURL_POLL_REMOVE) {
        if (c) {
            uv_poll_stop(&c->poll);
            sock_close(w, c);
            curl_multi_assign(w->multi, fd, NULL);
        }
        return 0;
    }
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return -1;
        if (uv_poll_init_socket(w->loop, &c->poll, fd) != 0) {
            free(c);
            return -1;
        }
        c->fd = fd;
        c->w = w;
        c->poll.data = c;
        c->next = w->socks;
        if (w->socks)
            w->socks->prev = c;
        w->socks = c;
        curl_multi_assign(w->multi, fd, c);
    }
    int ev = 0;
    if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
        ev |= UV_READABLE;
    if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&c->poll, ev, on_poll);
    return 0;
}

wh_t *wh_new(uv_loop_t *loop, const char *url, long timeout_ms, int max_inflight,
             wh_done_fn done, void *arg)
{
    wh_t *w = calloc(1, sizeof *w);
    if (!w || snprintf(w->url, sizeof w->url, "%s", url) >= (int)sizeof w->url) {
        KH_ERROR("webhook.init", "out of memory or webhook_url too long");
        free(w);
        return NULL;
    }
    w->multi = curl_multi_init();
    if (!w->multi) {
        KH_ERROR("webhook.init", "curl_multi_init failed");
        free(w);
        return NULL;
    }
    w->loop = loop;
    w->timeout_ms = timeout_ms;
    w->max_inflight = max_inflight < 1 ? 1 : max_inflight > WH_MAX_INFLIGHT
                                                  ? WH_MAX_INFLIGHT : max_inflight;
    w->done = done;
    w->arg = arg;
    uv_timer_init(loop, &w->timer);
    w->timer.data = w;
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, socket_fn);
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, timer_fn);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
    return w;
}

int wh_room(const wh_t *w) { return w && !w->closing ? w->max_inflight - w->n : 0; }

int wh_busy(const wh_t *w, const char *id)
{
    for (int i = 0; w && i < w->n; i++)
        if (strcmp(w->reqs[i]->id, id) == 0)
            return 1;
    return 0;
}

int wh_post(wh_t *w, const char *id, const char *body)
{
    if (wh_room(w) <= 0 || strlen(id) >= WH_ID_MAX)
        return -1;
    req_t *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    snprintf(r->id, sizeof r->id, "%s", id);
    char idem[WH_ID_MAX + 32];
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", id);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
    if (h)
        r->headers = h;
    h = h ? curl_slist_append(h, idem) : NULL;
    if (h)
        r->headers = h;
    h = h ? curl_slist_append(h, "Expect:") : NULL;   /* no 100-continue round trip */
    if (h)
        r->headers = h;
    r->easy = curl_easy_init();
    if (!h || !r->easy ||
        curl_easy_setopt(r->easy, CURLOPT_URL, w->url) != CURLE_OK ||
        curl_easy_setopt(r->easy, CURLOPT_COPYPOSTFIELDS, body) != CURLE_OK ||
        curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK ||
        curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, w->timeout_ms) != CURLE_OK ||
        curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, w->timeout_ms) != CURLE_OK ||
        curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(r->easy, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK ||
        curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK ||
        curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf) != CURLE_OK ||
        curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "kh-notifier") != CURLE_OK) {
        free_req(r);
        return -1;
    }
    w->reqs[w->n++] = r;
    if (curl_multi_add_handle(w->multi, r->easy) != CURLM_OK) {
        w->n--;
        free_req(r);
        return -1;
    }
    return 0;
}

static void timer_closed(uv_handle_t *h) { free(h->data); }

void wh_close(wh_t *w)
{
    if (!w || w->closing)
        return;
    w->closing = 1;
    for (int i = 0; i < w->n; i++) {
        curl_multi_remove_handle(w->multi, w->reqs[i]->easy);
        free_req(w->reqs[i]);
    }
    w->n = 0;
    curl_multi_cleanup(w->multi);
    w->multi = NULL;
    while (w->socks) {
        uv_poll_stop(&w->socks->poll);
        sock_close(w, w->socks);
    }
    uv_close((uv_handle_t *)&w->timer, timer_closed);
}
