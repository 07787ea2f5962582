/*
 * feed.c — publishing and serving the province feed; see feed.h.
 *
 * A snapshot is one message per counted (reporting unit, period), with its status and
 * cells, then the total table's cells by period, at most SNAPSHOT_CELLS a message.
 */
#include "feed.h"

#include <stdio.h>
#include <string.h>

#include "history.h"
#include "kh_cells.h"
#include "kh_inbox.h"
#include "kh_log.h"
#include "kh_wire.h"
#include "ledger.h"
#include "update.h"

#define RANGE_MAX 10000          /* feed updates served per range request */
#define SNAPSHOT_CELLS 4096      /* cells in one snapshot message of the totals */

void ag_feed_publish(agg_t *a)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(a->db, "SELECT seq,payload FROM feed WHERE seq>? ORDER BY seq", -1,
                           &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, (int64_t)a->published_seq);
    while (sqlite3_step(st) == SQLITE_ROW) {
        /* PUB never blocks: a slow subscriber loses updates and fills the gap from
         * the snapshot socket, by sequence number */
        kh_wire_send_raw(a->pub, NULL, 0, KH_T_FEED, sqlite3_column_blob(st, 1),
                         (size_t)sqlite3_column_bytes(st, 1));
        a->published_seq = (uint64_t)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
}

uint64_t ag_feed_max_seq(agg_t *a, uint64_t *min_out)
{
    sqlite3_stmt *st;
    uint64_t mx = 0, mn = 0;
    if (sqlite3_prepare_v2(a->db, "SELECT ifnull(max(seq),0), ifnull(min(seq),0) FROM feed", -1,
                           &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            mx = (uint64_t)sqlite3_column_int64(st, 0);
            mn = (uint64_t)sqlite3_column_int64(st, 1);
        }
        sqlite3_finalize(st);
    }
    if (min_out)
        *min_out = mn;
    return mx;
}

/* Whole state: per counted (reporting unit, period) the cells of its units and its
 * status; per period every cell of the total table (the ancestors' sums).  Returns 0, or -1 when
 * a send failed. */
static int send_snapshot(agg_t *a, const kh_wmsg_t *m)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(a->db, "SELECT district,period,report_id,revision,received_at,"
                                  "counted_at,warnings,warning_list FROM counted "
                                  "ORDER BY period,district",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        Kh__Status stt = KH__STATUS__INIT, *sttp = &stt;
        stt.district = (char *)sqlite3_column_text(st, 0);
        stt.period = (char *)sqlite3_column_text(st, 1);
        stt.report_id = (char *)sqlite3_column_text(st, 2);
        stt.revision = (uint32_t)sqlite3_column_int64(st, 3);
        stt.received_at = sqlite3_column_int64(st, 4);
        stt.counted_at = sqlite3_column_int64(st, 5);
        stt.warnings = (uint32_t)sqlite3_column_int64(st, 6);
        Kh__Findings *wl = sqlite3_column_bytes(st, 7) > 0
                               ? kh__findings__unpack(NULL, (size_t)sqlite3_column_bytes(st, 7),
                                                      sqlite3_column_blob(st, 7))
                               : NULL;
        if (wl) {
            stt.warning_list = wl->items;
            stt.n_warning_list = wl->n_items;
        }
        kh_cells_t c = {0}, d = {0}, none = {0};
        ag_update_t u = {0};
        rc = ag_ledger_load_cells(a, stt.report_id, stt.revision, &c, &d);
        if (rc == 0)
            rc = ag_update_diff(&u, stt.period, &none, &c) |
                 ag_update_diff(&u, stt.period, &none, &d);
        if (rc == 0 && ag_update_finish(&u) == 0) {
            u.u.statuses = &sttp;
            u.u.n_statuses = 1;
            rc = kh_wire_send(a->snap, m->rid, m->rid_len, KH_T_FEED, &u.u.base);
        }
        kh_cells_free(&c);
        kh_cells_free(&d);
        ag_update_free(&u);
        if (wl)
            kh__findings__free_unpacked(wl, NULL);
    }
    sqlite3_finalize(st);
    if (rc < 0 || sqlite3_prepare_v2(a->db, "SELECT period,orgunit,indicator,sum,n FROM total "
                                            "WHERE n > 0 ORDER BY period", -1,
                                     &st, NULL) != SQLITE_OK)
        return -1;
    ag_update_t u = {0};
    char period[16] = "";
    int more;
    do {
        more = sqlite3_step(st) == SQLITE_ROW;
        const char *p = more ? (const char *)sqlite3_column_text(st, 0) : "";
        /* one message per period, and per SNAPSHOT_CELLS cells: a large tree's period
         * (3,300 communes) would not fit in one message */
        if (u.n && (!more || strcmp(p, period) != 0 || u.n >= SNAPSHOT_CELLS)) {
            if (ag_update_finish(&u) < 0 ||
                kh_wire_send(a->snap, m->rid, m->rid_len, KH_T_FEED, &u.u.base) < 0)
                rc = -1;
            ag_update_free(&u);
        }
        if (more && rc == 0) {
            /* every stored cell: the ancestors' sums, and the reporting units' own cells
             * once more (they went with their reports above; the same values) */
            snprintf(period, sizeof period, "%s", p);
            if (ag_update_add(&u, period, (const char *)sqlite3_column_text(st, 1),
                              (const char *)sqlite3_column_text(st, 2),
                              sqlite3_column_double(st, 3),
                              (uint32_t)sqlite3_column_int64(st, 4), 0) < 0)
                rc = -1;
        }
    } while (more && rc == 0);
    ag_update_free(&u);
    sqlite3_finalize(st);
    return rc;
}

void ag_feed_on_request(kh_zsock_t *s, zmq_msg_t *parts, int n, void *arg)
{
    agg_t *a = arg;
    (void)s;
    kh_wmsg_t m;
    Kh__FeedRequest *req = NULL;
    if (kh_wire_parse(parts, n, 1, &m) == 0 && strcmp(m.type, KH_T_HIST_REQ) == 0) {
        ag_history_serve(a, &m);
        return;
    }
    if (kh_wire_parse(parts, n, 1, &m) < 0 || strcmp(m.type, KH_T_FEED_REQ) != 0 ||
        !(req = kh__feed_request__unpack(NULL, m.len, m.payload))) {
        kh_stage_malformed(a->st);
        KH_WARN("feed.malformed", "bad snapshot request");
        return;
    }
    kh_inbox_flush(a->inbox);     /* serve committed state only */
    uint64_t mn, mx = ag_feed_max_seq(a, &mn);
    Kh__FeedEnd end = KH__FEED_END__INIT;
    end.seq = mx;
    end.complete = 1;
    int rc = 0;
    if (req->from_seq == 0) {
        rc = send_snapshot(a, &m);
    } else {
        uint64_t to = req->to_seq && req->to_seq < mx ? req->to_seq : mx;
        if (to < req->from_seq)
            to = req->from_seq - 1;             /* nothing newer: an empty range */
        else if (to - req->from_seq >= RANGE_MAX)
            to = req->from_seq + RANGE_MAX - 1;
        end.seq = to;
        /* a subscriber ahead of the feed (its seq from a feed since reset) must take a
         * snapshot: an empty "complete" range would leave it waiting for seqs never sent */
        end.complete = mn != 0 && req->from_seq >= mn && req->from_seq <= mx + 1;
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(a->db, "SELECT payload FROM feed WHERE seq BETWEEN ? AND ? "
                                      "ORDER BY seq", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, (int64_t)req->from_seq);
            sqlite3_bind_int64(st, 2, (int64_t)to);
            while (rc == 0 && sqlite3_step(st) == SQLITE_ROW)
                rc = kh_wire_send_raw(a->snap, m.rid, m.rid_len, KH_T_FEED,
                                      sqlite3_column_blob(st, 0),
                                      (size_t)sqlite3_column_bytes(st, 0));
            sqlite3_finalize(st);
        }
    }
    if (rc == 0)
        kh_wire_send(a->snap, m.rid, m.rid_len, KH_T_FEED_END, &end.base);
    else
        KH_WARN("feed.snapshot", "snapshot reply cut short (subscriber slow or gone)");
    kh__feed_request__free_unpacked(req, NULL);
}
