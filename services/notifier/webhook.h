/*
 * webhook.h — HTTP POSTs of JSON without blocking the loop: libcurl's multi interface
 * driven by libuv (uv_poll per socket, one uv_timer for curl's timeouts, and
 * curl_multi_socket_action), the pattern of curl's own multi-uv example.
 *
 * It keeps nothing durable: the caller holds each delivery in SQLite until `done`
 * reports a 2xx, and decides on retries.  At most max_inflight requests at once
 * (bounded memory); wh_post refuses more.
 */
#ifndef KH_WEBHOOK_H
#define KH_WEBHOOK_H

#include <uv.h>

typedef struct wh wh_t;

/* One request finished: http_status 0 when no answer came; error NULL when the
 * answer was 2xx, else a one-line reason ("HTTP 500", curl's message). */
typedef void (*wh_done_fn)(void *arg, const char *id, long http_status, const char *error);

/* Returns NULL after logging (curl_multi_init failed). */
wh_t *wh_new(uv_loop_t *loop, const char *url, long timeout_ms, int max_inflight,
             wh_done_fn done, void *arg);
/* Free request slots. */
int wh_room(const wh_t *w);
/* 1 when the request for `id` is in flight. */
int wh_busy(const wh_t *w, const char *id);
/* Starts POSTing `body` (copied) with headers Content-Type: application/json and
 * Idempotency-Key: id.  Returns 0, or -1 (no room, id too long, curl refused). */
int wh_post(wh_t *w, const char *id, const char *body);
/* Abandons what is in flight (its rows stay pending in the caller's database), closes
 * the handles and frees w once they are closed. */
void wh_close(wh_t *w);

#endif
