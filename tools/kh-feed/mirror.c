/*
 * mirror.c — the Clone-pattern client; see mirror.h.
 */
#include "mirror.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "kh_db.h"
#include "kh_result.h"
#include "kh_value.h"
#include "kh_util.h"
#include "kh_wire.h"
#include "kh_zuv.h"
#include "kh_catalog.h"

static const char *const migrations[] = {
    "CREATE TABLE cell(period TEXT NOT NULL, orgunit TEXT NOT NULL, indicator TEXT NOT NULL,"
    " sum REAL NOT NULL, n INTEGER NOT NULL, PRIMARY KEY(period, orgunit, indicator));"
    "CREATE TABLE status(district TEXT NOT NULL, period TEXT NOT NULL, report_id TEXT NOT NULL,"
    " revision INTEGER NOT NULL, received_at INTEGER NOT NULL, counted_at INTEGER NOT NULL,"
    " warnings INTEGER NOT NULL, PRIMARY KEY(district, period));"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value);",
    /* 2: the warnings kept with each counted report */
    "CREATE TABLE warning(district TEXT NOT NULL, period TEXT NOT NULL, code TEXT NOT NULL,"
    " line INTEGER NOT NULL, orgunit TEXT NOT NULL, indicator TEXT NOT NULL, value TEXT NOT NULL,"
    " message_vi TEXT NOT NULL, message_en TEXT NOT NULL);"
    "CREATE INDEX warning_dp ON warning(district, period);",
};

/* CURVE client keys for every socket to the aggregator (none: plain). */
static int curve_on;
static uint8_t curve_server[32], curve_pk[32], curve_sk[32];

void mirror_set_curve(const uint8_t server_pk[32], const uint8_t pk[32], const uint8_t sk[32])
{
    memcpy(curve_server, server_pk, 32);
    memcpy(curve_pk, pk, 32);
    memcpy(curve_sk, sk, 32);
    curve_on = 1;
}

/* A socket to the aggregator: linger 0, messages up to max_msg, CURVE when keys are set. */
static void *open_socket(void *zctx, int type, int rcvhwm, int64_t max_msg)
{
    kh_zopts_t o = {.rcvhwm = rcvhwm, .max_msg = max_msg};
    if (curve_on) {
        o.curve_server_pk = curve_server;
        o.curve_pk = curve_pk;
        o.curve_sk = curve_sk;
    }
    void *z = kh_zsocket(zctx, type, &o);
    if (!z)
        fprintf(stderr, "kh-feed: cannot open a socket (CURVE keys?): %s\n",
                zmq_strerror(zmq_errno()));
    return z;
}

/* Receives one message of at most two frames (type, payload) into parts, which the
 * caller closes.  Returns the number of frames read (0 on error). */
static int recv_message(void *sock, zmq_msg_t parts[2])
{
    zmq_msg_init(&parts[0]);
    zmq_msg_init(&parts[1]);
    if (zmq_msg_recv(&parts[0], sock, 0) < 0)
        return 0;
    if (zmq_msg_more(&parts[0]) && zmq_msg_recv(&parts[1], sock, 0) >= 0)
        return 2;
    return 1;
}

int mirror_open(sqlite3 **db, const char *path)
{
    char err[512];
    if (kh_db_open(db, path, migrations, sizeof migrations / sizeof *migrations, err,
                   sizeof err) < 0) {
        fprintf(stderr, "kh-feed: %s\n", err);
        return -1;
    }
    return 0;
}

uint64_t mirror_seq(sqlite3 *db)
{
    sqlite3_stmt *st;
    uint64_t seq = 0;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='seq'", -1, &st, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            seq = (uint64_t)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return seq;
}

static int set_seq(sqlite3 *db, uint64_t seq)
{
    char sql[96];
    snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta(key,value) VALUES('seq',%llu)",
             (unsigned long long)seq);
    return kh_db_exec(db, sql, "mirror seq");
}

int mirror_apply(sqlite3 *db, const Kh__FeedUpdate *u)
{
    sqlite3_stmt *put = NULL, *del = NULL, *stt = NULL, *wdel = NULL, *wput = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO cell VALUES(?,?,?,?,?)", -1, &put,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "DELETE FROM cell WHERE period=? AND orgunit=? AND indicator=?",
                           -1, &del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO status VALUES(?,?,?,?,?,?,?)", -1, &stt,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "DELETE FROM warning WHERE district=? AND period=?", -1, &wdel,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO warning VALUES(?,?,?,?,?,?,?,?,?)", -1, &wput,
                           NULL) != SQLITE_OK)
        goto out;
    for (size_t i = 0; i < u->n_cells; i++) {
        const Kh__Cell *c = u->cells[i];
        sqlite3_stmt *st = c->deleted ? del : put;
        sqlite3_bind_text(st, 1, c->period, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c->orgunit, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, c->indicator, -1, SQLITE_STATIC);
        if (!c->deleted) {
            sqlite3_bind_double(st, 4, c->sum);
            sqlite3_bind_int64(st, 5, c->n);
        }
        int ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
        if (!ok)
            goto out;
    }
    for (size_t i = 0; i < u->n_statuses; i++) {
        const Kh__Status *s = u->statuses[i];
        sqlite3_bind_text(stt, 1, s->district, -1, SQLITE_STATIC);
        sqlite3_bind_text(stt, 2, s->period, -1, SQLITE_STATIC);
        sqlite3_bind_text(stt, 3, s->report_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stt, 4, s->revision);
        sqlite3_bind_int64(stt, 5, s->received_at);
        sqlite3_bind_int64(stt, 6, s->counted_at);
        sqlite3_bind_int64(stt, 7, s->warnings);
        int ok = sqlite3_step(stt) == SQLITE_DONE;
        sqlite3_reset(stt);
        sqlite3_bind_text(wdel, 1, s->district, -1, SQLITE_STATIC);
        sqlite3_bind_text(wdel, 2, s->period, -1, SQLITE_STATIC);
        ok = ok && sqlite3_step(wdel) == SQLITE_DONE;
        sqlite3_reset(wdel);
        for (size_t k = 0; ok && k < s->n_warning_list; k++) {
            const Kh__Finding *w = s->warning_list[k];
            sqlite3_bind_text(wput, 1, s->district, -1, SQLITE_STATIC);
            sqlite3_bind_text(wput, 2, s->period, -1, SQLITE_STATIC);
            sqlite3_bind_text(wput, 3, w->code, -1, SQLITE_STATIC);
            sqlite3_bind_int64(wput, 4, w->line);
            sqlite3_bind_text(wput, 5, w->orgunit, -1, SQLITE_STATIC);
            sqlite3_bind_text(wput, 6, w->indicator, -1, SQLITE_STATIC);
            sqlite3_bind_text(wput, 7, w->value, -1, SQLITE_STATIC);
            sqlite3_bind_text(wput, 8, w->message_vi, -1, SQLITE_STATIC);
            sqlite3_bind_text(wput, 9, w->message_en, -1, SQLITE_STATIC);
            ok = sqlite3_step(wput) == SQLITE_DONE;
            sqlite3_reset(wput);
        }
        if (!ok)
            goto out;
    }
    rc = u->seq ? set_seq(db, u->seq) : 0;
out:
    sqlite3_finalize(put);
    sqlite3_finalize(del);
    sqlite3_finalize(stt);
    sqlite3_finalize(wdel);
    sqlite3_finalize(wput);
    return rc;
}

/* One request/reply exchange.  Returns 1 when the reply was complete (caught up to
 * *end_seq), 0 when the range is gone (ask a snapshot), -1 on error or timeout. */
static int exchange(sqlite3 *db, void *dealer, uint64_t from, int timeout_ms, uint64_t *end_seq)
{
    Kh__FeedRequest req = KH__FEED_REQUEST__INIT;
    req.from_seq = from;
    uint8_t *buf;
    size_t len;
    if (kh_wire_pack(&req.base, &buf, &len) < 0)
        return -1;
    int sent = zmq_send(dealer, KH_T_FEED_REQ, strlen(KH_T_FEED_REQ), ZMQ_SNDMORE) >= 0 &&
               zmq_send(dealer, buf, len, 0) >= 0;
    free(buf);
    if (!sent)
        return -1;
    if (kh_db_exec(db, "BEGIN IMMEDIATE", "mirror") < 0)
        return -1;
    if (from == 0 &&
        kh_db_exec(db, "DELETE FROM cell; DELETE FROM status; DELETE FROM warning;", "mirror") < 0)
        goto out_rollback;
    uint64_t last = from ? from - 1 : 0;
    for (;;) {
        zmq_pollitem_t pi = {dealer, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&pi, 1, timeout_ms) <= 0)
            goto out_rollback;
        zmq_msg_t parts[2];
        int n = recv_message(dealer, parts);
        kh_wmsg_t m;
        int rc = -2;
        if (kh_wire_parse(parts, n, 0, &m) == 0) {
            if (strcmp(m.type, KH_T_FEED) == 0) {
                Kh__FeedUpdate *u = kh__feed_update__unpack(NULL, m.len, m.payload);
                if (u && (u->seq == 0 || u->seq == last + 1) && mirror_apply(db, u) == 0) {
                    if (u->seq)
                        last = u->seq;
                    rc = -3;    /* go on */
                }
                if (u)
                    kh__feed_update__free_unpacked(u, NULL);
            } else if (strcmp(m.type, KH_T_FEED_END) == 0) {
                Kh__FeedEnd *e = kh__feed_end__unpack(NULL, m.len, m.payload);
                if (e) {
                    *end_seq = e->seq;
                    rc = e->complete ? 1 : 0;
                    kh__feed_end__free_unpacked(e, NULL);
                }
            }
        }
        zmq_msg_close(&parts[0]);
        zmq_msg_close(&parts[1]);
        if (rc == -3)
            continue;
        if (rc == 1) {
            if (set_seq(db, from == 0 ? *end_seq : last) < 0 ||
                kh_db_exec(db, "COMMIT", "mirror") < 0)
                goto out_rollback;
            *end_seq = from == 0 ? *end_seq : last;
            return 1;
        }
        if (rc == 0)
            goto out_rollback_zero;
        fprintf(stderr, "kh-feed: unexpected or out-of-order message from the feed\n");
        goto out_rollback;
    }
out_rollback_zero:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return 0;
out_rollback:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int mirror_sync(sqlite3 *db, void *zctx, const char *endpoint, int timeout_ms, int64_t max_msg)
{
    void *dealer = open_socket(zctx, ZMQ_DEALER, 0, max_msg);
    if (!dealer)
        return -1;
    if (zmq_connect(dealer, endpoint) < 0) {
        fprintf(stderr, "kh-feed: cannot connect to %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(dealer);
        return -1;
    }
    int rc = -1;
    for (int round = 0; round < 1000; round++) {
        uint64_t have = mirror_seq(db), end = 0;
        int r = exchange(db, dealer, have ? have + 1 : 0, timeout_ms, &end);
        if (r < 0) {
            fprintf(stderr, "kh-feed: the province feed at %s did not answer within %d ms; "
                            "the mirror stays at seq %llu\n", endpoint, timeout_ms,
                    (unsigned long long)have);
            break;
        }
        if (r == 0) {                       /* range no longer kept: whole state */
            if (set_seq(db, 0) < 0)
                break;
            continue;
        }
        (void)end;
        /* a snapshot is the whole state; a range may have been capped, so ask again
         * until a request brings nothing new */
        if (have == 0 || mirror_seq(db) == have) {
            rc = 0;
            break;
        }
    }
    zmq_close(dealer);
    return rc;
}

int mirror_follow(sqlite3 *db, void *zctx, const char *feed, const char *snapshot,
                  int64_t max_msg, long count, long idle_ms)
{
    void *sub = open_socket(zctx, ZMQ_SUB, 100000, max_msg);
    if (!sub)
        return -1;
    if (zmq_setsockopt(sub, ZMQ_SUBSCRIBE, KH_T_FEED, strlen(KH_T_FEED)) < 0 ||
        zmq_connect(sub, feed) < 0) {
        fprintf(stderr, "kh-feed: cannot connect to %s\n", feed);
        zmq_close(sub);
        return -1;
    }
    /* subscribe first, then catch up: updates published meanwhile wait in the SUB
     * queue and those already in the mirror are skipped by sequence */
    if (mirror_sync(db, zctx, snapshot, 5000, max_msg) < 0) {
        zmq_close(sub);
        return -1;
    }
    long seen = 0;
    int rc = 0;
    while (count == 0 || seen < count) {
        zmq_pollitem_t pi = {sub, 0, ZMQ_POLLIN, 0};
        int p = zmq_poll(&pi, 1, idle_ms > 0 ? idle_ms : -1);
        if (p < 0) {
            rc = -1;
            break;
        }
        if (p == 0)
            break;
        zmq_msg_t parts[2];
        int n = recv_message(sub, parts);
        kh_wmsg_t m;
        Kh__FeedUpdate *u = NULL;
        if (kh_wire_parse(parts, n, 0, &m) == 0 &&
            (u = kh__feed_update__unpack(NULL, m.len, m.payload))) {
            uint64_t have = mirror_seq(db);
            if (u->seq == have + 1) {
                if (kh_db_exec(db, "BEGIN", "mirror") == 0 && mirror_apply(db, u) == 0 &&
                    kh_db_exec(db, "COMMIT", "mirror") == 0) {
                    seen++;
                    printf("seq %llu: %zu cells", (unsigned long long)u->seq, u->n_cells);
                    for (size_t i = 0; i < u->n_statuses; i++)
                        printf(", %s %s revision %u", u->statuses[i]->district,
                               u->statuses[i]->period, u->statuses[i]->revision);
                    printf("\n");
                    fflush(stdout);
                } else {
                    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
                }
            } else if (u->seq > have + 1) {
                long before = (long)mirror_seq(db);
                fprintf(stderr, "kh-feed: gap after seq %llu (got %llu): catching up\n",
                        (unsigned long long)have, (unsigned long long)u->seq);
                if (mirror_sync(db, zctx, snapshot, 5000, max_msg) < 0)
                    rc = -1;
                seen += (long)mirror_seq(db) - before;
            }
            kh__feed_update__free_unpacked(u, NULL);
        }
        zmq_msg_close(&parts[0]);
        zmq_msg_close(&parts[1]);
        if (rc < 0)
            break;
    }
    zmq_close(sub);
    return rc;
}

/* 1 when a change only rewrote a value (the same number or option, spelled otherwise:
 * kh_value_same), 0 when the value changed, came or went, or cannot be read. */
static int change_is_spelling(const Kh__Change *c, const kh_catalog_t *cat)
{
    if (!c->before[0] || !c->after[0])
        return 0;
    const kh_indicator_t *ind = kh_catalog_indicator(cat, c->indicator);
    return ind && kh_value_same(ind, c->before, c->after) == KH_OK;
}

/* Prints a history reply.  Returns 0. */
static void print_history(const Kh__History *h, const kh_catalog_t *cat, FILE *out)
{
    const kh_unit_t *d = kh_catalog_unit_any(cat, h->district);
    fprintf(out, "Lịch sử báo cáo %s-%s của %s / history of the report\n", h->district,
            h->period, d ? d->name : h->district);
    if (h->n_entries == 0)
        fprintf(out, "  (chưa có lần gửi nào đến bộ tổng hợp / no revision has reached the "
                     "aggregator)\n");
    for (size_t i = 0; i < h->n_entries; i++) {
        const Kh__HistoryEntry *e = h->entries[i];
        char when[32];
        kh_iso_time(e->received_at, when, sizeof when);
        when[16] = '\0';
        const char *vi = !e->accepted ? "bị từ chối" : e->counted ? "được chấp nhận, đang được tính"
                                                                  : "được chấp nhận, đã được thay thế";
        const char *en = !e->accepted ? "rejected" : e->counted ? "accepted, counted"
                                                               : "accepted, replaced";
        char file[KH_ESCAPE_CAP(256)];    /* the district's file name, escaped */
        kh_escape(e->source_name, file, sizeof file);      /* cut past 256 bytes */
        fprintf(out, "Lần %u  nhận lúc %s UTC  %s / %s  (%u giá trị / values, tệp / file %s)\n",
                e->revision, when, vi, en, e->n_values, file);
        for (size_t k = 0; k < e->n_findings; k++) {
            const Kh__Finding *f = e->findings[k];
            fprintf(out, "    %s %s%u: [%s] %s\n", f->is_error ? "lỗi" : "cảnh báo",
                    f->line ? "dòng " : "", f->line, f->code, f->message_vi);
        }
        /* a change of spelling only ("1893" → "1.893") is not a changed value: both read
         * by the value parser (kh_value_same) */
        size_t n_spelling = 0;
        for (size_t k = 0; k < e->n_changes; k++)
            n_spelling += change_is_spelling(e->changes[k], cat);
        size_t n_values = e->n_changes - n_spelling;
        if (e->accepted && i > 0 && n_values == 0)
            fprintf(out, "    không thay đổi số liệu nào / no value changed\n");
        for (int spelling = 0; spelling <= 1; spelling++) {
            size_t n = spelling ? n_spelling : n_values;
            if (n == 0)
                continue;
            if (spelling)
                fprintf(out, "    %zu chỉ khác cách viết, cùng giá trị / spelling only, same "
                             "value:\n", n);
            else
                fprintf(out, "    %zu giá trị thay đổi so với lần được chấp nhận trước / "
                             "values changed:\n", n);
            for (size_t k = 0; k < e->n_changes; k++) {
                const Kh__Change *c = e->changes[k];
                if (change_is_spelling(c, cat) != spelling)
                    continue;
                const kh_unit_t *u = kh_catalog_unit_any(cat, c->orgunit);
                if (spelling)
                    fprintf(out, "      %s (%s) %s: \"%s\" = \"%s\"\n", u ? u->name : "?",
                            c->orgunit, c->indicator, c->before, c->after);
                else
                    fprintf(out, "      %s (%s) %s: %s → %s\n", u ? u->name : "?", c->orgunit,
                            c->indicator, c->before[0] ? c->before : "(không có)",
                            c->after[0] ? c->after : "(bỏ)");
            }
        }
    }
    if (h->truncated)
        fprintf(out, "… (chỉ hiện %zu lần gửi đầu / only the first %zu revisions)\n",
                h->n_entries, h->n_entries);
}

/* The aggregator's history of one report (a HISTORY reply to HISTORY?), or NULL after
 * printing why (no answer within timeout_ms, an unexpected reply). */
static Kh__History *history_fetch(void *zctx, const char *endpoint, const char *district,
                                  const char *period, int timeout_ms, int64_t max_msg)
{
    void *dealer = open_socket(zctx, ZMQ_DEALER, 0, max_msg);
    if (!dealer)
        return NULL;
    Kh__History *h = NULL;
    Kh__HistoryRequest req = KH__HISTORY_REQUEST__INIT;
    req.district = (char *)district;
    req.period = (char *)period;
    uint8_t *buf = NULL;
    size_t len;
    if (zmq_connect(dealer, endpoint) < 0 || kh_wire_pack(&req.base, &buf, &len) < 0)
        goto out;
    if (zmq_send(dealer, KH_T_HIST_REQ, strlen(KH_T_HIST_REQ), ZMQ_SNDMORE) < 0 ||
        zmq_send(dealer, buf, len, 0) < 0)
        goto out;
    zmq_pollitem_t pi = {dealer, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&pi, 1, timeout_ms) <= 0) {
        fprintf(stderr, "kh-feed: the aggregator at %s did not answer within %d ms\n", endpoint,
                timeout_ms);
        goto out;
    }
    zmq_msg_t parts[2];
    int n = recv_message(dealer, parts);
    kh_wmsg_t m;
    if (kh_wire_parse(parts, n, 0, &m) != 0 || strcmp(m.type, KH_T_HISTORY) != 0 ||
        !(h = kh__history__unpack(NULL, m.len, m.payload)))
        fprintf(stderr, "kh-feed: unexpected reply from the aggregator\n");
    zmq_msg_close(&parts[0]);
    zmq_msg_close(&parts[1]);
out:
    free(buf);
    zmq_close(dealer);
    return h;
}

int mirror_history(void *zctx, const char *endpoint, const char *district, const char *period,
                   const kh_catalog_t *cat, int timeout_ms, int64_t max_msg, FILE *out)
{
    Kh__History *h = history_fetch(zctx, endpoint, district, period, timeout_ms, max_msg);
    if (!h)
        return -1;
    print_history(h, cat, out);
    kh__history__free_unpacked(h, NULL);
    return 0;
}

int mirror_rejected(void *zctx, const char *endpoint, const char *district, const char *period,
                    int timeout_ms, int64_t max_msg)
{
    Kh__History *h = history_fetch(zctx, endpoint, district, period, timeout_ms, max_msg);
    if (!h)
        return -1;
    int refused = 0, counted = 0;
    for (size_t i = 0; i < h->n_entries; i++) {
        refused |= !h->entries[i]->accepted;
        counted |= h->entries[i]->counted;
    }
    kh__history__free_unpacked(h, NULL);
    return refused && !counted;
}
