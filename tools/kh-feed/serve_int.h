/*
 * serve_int.h — what serve.c (the server: requests, login, sync, `kh-feed serve` and
 * `kh-feed passwd`) and serve_page.c (the pages: overview, indicator, trend, their CSV)
 * share; nothing else includes it.
 *
 * Threading: libmicrohttpd runs every handler on its one internal thread, so the mirror
 * (db), the ZeroMQ context used to re-sync and the session table are used by that thread
 * alone once the server started.
 */
#ifndef KH_FEED_SERVE_INT_H
#define KH_FEED_SERVE_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kh_catalog.h"

#define SRV_PARAM_MAX 64        /* a query parameter (period, code, unit, level, sort) */

/* What the server knows while it runs. */
typedef struct {
    sqlite3 *db;                /* the mirror, read (and re-synced) by the handler thread */
    const kh_catalog_t *cat;    /* the whole catalogue: kh_catalog_for picks a programme */
    void *zctx;
    char snapshot[1024];        /* the aggregator's snapshot ROUTER */
    int64_t max_msg;
    int timeout_ms;             /* one sync's wait for the feed */
    long sync_s;                /* at most one sync per this many seconds */
    int64_t last_try_mono;      /* when the last sync was tried (kh_mono_ms), 0: never */
    int64_t synced_at;          /* the pipeline clock at the last good sync, 0: none */
    int sync_failed;            /* the last sync did not answer */
} srv_t;

/* One answer: a status, a body (malloc'ed), its type, and a file name when it is a
 * download (CSV, XLSX). */
typedef struct {
    unsigned status;
    char *body;
    size_t len;
    const char *ctype;
    char filename[96];
} srv_page_t;

/* The query of a request: each value at most SRV_PARAM_MAX - 1 bytes ("" when absent). */
typedef struct {
    char period[SRV_PARAM_MAX], code[SRV_PARAM_MAX], unit[SRV_PARAM_MAX];
    char level[SRV_PARAM_MAX], sort[SRV_PARAM_MAX], format[SRV_PARAM_MAX];
} srv_query_t;

/* The pages (serve_page.c).  Each fills pg (a 200 page, a download, or a 400/404 page
 * saying in Vietnamese and English what was wrong and what to do) and returns 0, or -1
 * when the page could not be made (out of memory: the server answers 500). */
int srv_home(srv_t *s, srv_page_t *pg);
int srv_overview(srv_t *s, const srv_query_t *q, srv_page_t *pg);
int srv_indicator(srv_t *s, const srv_query_t *q, srv_page_t *pg);
int srv_trend(srv_t *s, const srv_query_t *q, srv_page_t *pg);
int srv_xlsx(srv_t *s, const srv_query_t *q, srv_page_t *pg);
/* The login form (msg_vi/msg_en: why it is shown again, NULL the first time). */
int srv_login_page(srv_page_t *pg, unsigned status, const char *msg_vi, const char *msg_en);
/* An error page: status, what was wrong and what to do, in Vietnamese and English. */
int srv_error(srv_page_t *pg, unsigned status, const char *vi, const char *en);

#endif
