/*
 * fuzz_door — what the collector does with a node's message before any later stage sees
 * it (issue 11): the first byte of the input chooses the path, the rest is the payload.
 *
 *   0  ACK:    its keys counted on the wire (kh_wire_count_field) against the bound;
 *              within it, decoded and applied to an outbox of receipts for two
 *              districts (kh_outbox_ack_from as "829"): only 829's receipts may go,
 *              and never more than the keys named
 *   1  HELLO:  on a closed network the payload is the district: it enters the
 *              connection table (services/collector/conns.c) under a routing id taken
 *              from the input, and the table must route the district to that id
 *   2  REPORT: its values counted on the wire; over the bound, decoded without them
 *              (kh_wire_without_field, which must leave none); then the door's form
 *              check (kh_report_form): a report that passes holds only text
 *
 * Checks abort (a finding): a count on the wire that differs from what the decoder
 * found, an ACK that removed another district's receipt or more rows than keys, a
 * route that is not the connection just seen, a report passing the form with a field
 * that is not text.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh.pb-c.h"
#include "kh_outbox.h"
#include "kh_report.h"
#include "kh_wire.h"
#include "../services/collector/conns.h"

#define MAX_ACK_KEYS 1024
#define MAX_VALUES 50000

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_door: %s\n", what);
    abort();
}

static long long rows(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    long long n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void ack_path(const uint8_t *p, size_t n)
{
    long keys = kh_wire_count_field(p, n, 1);
    if (keys < 0 || keys > MAX_ACK_KEYS)
        return;                              /* refused before any work */
    Kh__Ack *ack = kh__ack__unpack(NULL, n, p);
    if (!ack)
        return;
    if ((long)ack->n_keys != keys)
        fail("ACK: the keys counted on the wire are not the keys decoded");
    sqlite3 *db;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_exec(db, KH_OUTBOX_SCHEMA("nodes") KH_OUTBOX_EXPIRY("nodes"), NULL, NULL,
                     NULL) != SQLITE_OK)
        fail("cannot set up the outbox");
    kh_outbox_t *ob = kh_outbox_new(db, "nodes", 64, 1000);
    static const char *const ev[] = {"829-2019S1/1/counted", "831-2019S1/1/counted", "",
                                     "829-2019S2/1/accepted"};
    static const char *const dest[] = {"829", "831", "831", "829"};
    for (int i = 0; ob && i < 4; i++)
        if (ev[i][0] && kh_outbox_put(ob, dest[i], ev[i], "RECEIPT", "x", 1) < 0)
            fail("cannot queue a receipt");
    if (ob) {
        int acked = kh_outbox_ack_from(ob, "829", ack->keys, ack->n_keys);
        if (acked > (int)ack->n_keys)
            fail("ACK: more receipts went than keys were named");
        if (rows(db, "SELECT count(*) FROM outbox_nodes WHERE dest='831'") != 1)
            fail("ACK: 829's acknowledgement removed another district's receipt");
        kh_outbox_destroy(&ob);
    }
    sqlite3_close(db);
    kh__ack__free_unpacked(ack, NULL);
}

static void hello_path(const uint8_t *p, size_t n)
{
    if (n < 1)
        return;
    size_t rid_len = p[0] % 8 + 1;           /* a routing id from the input */
    if (n < 1 + rid_len)
        return;
    const uint8_t *rid = p + 1;
    const uint8_t *pay = p + 1 + rid_len;
    size_t len = n - 1 - rid_len;
    char district[64];
    if (len == 0 || len >= sizeof district)  /* the collector's own bound */
        return;
    memcpy(district, pay, len);
    district[len] = '\0';
    static conns_t *t;
    if (!t && !(t = conns_new(16, 2)))
        fail("cannot make the table");
    int rc = conns_seen(t, rid, rid_len, 7, 1, "", district, 1);
    if (rc == CONN_NEW || rc == CONN_KNOWN) {
        const void *r;
        size_t rl;
        if (conns_route(t, district, &r, &rl) < 0)
            fail("HELLO: a district just seen has no route");
        const char *d = conns_district(t, rid, rid_len);
        if (!d || strcmp(d, district) != 0)
            fail("HELLO: the connection does not name the district it said");
    }
    conns_closed_fd(t, 7);
}

static void report_path(const uint8_t *p, size_t n)
{
    long values = kh_wire_count_field(p, n, 8);
    if (values < 0)
        return;
    Kh__Report *r;
    if (values > MAX_VALUES) {
        uint8_t *head = malloc(n ? n : 1);
        if (!head)
            return;
        size_t hl = kh_wire_without_field(p, n, 8, head);
        if (kh_wire_count_field(head, hl, 8) != 0)
            fail("REPORT: values left after they were taken out");
        r = kh__report__unpack(NULL, hl, head);
        free(head);
        if (r && r->n_values)
            fail("REPORT: decoded values from a payload without any");
    } else {
        r = kh__report__unpack(NULL, n, p);
        if (r && (long)r->n_values != values)
            fail("REPORT: the values counted on the wire are not the values decoded");
    }
    if (!r)
        return;
    kh_form_error_t e;
    if (kh_report_form(r, MAX_VALUES, &e) == 0) {
        if (!kh_text_ok(r->period) || !kh_text_ok(r->report_id) || !kh_text_ok(r->source_name))
            fail("REPORT: passed the form with a field that is not text");
        for (size_t i = 0; i < r->n_values; i++)
            if (!kh_text_ok(r->values[i]->raw) || !kh_text_ok(r->values[i]->orgunit))
                fail("REPORT: passed the form with a value that is not text");
    }
    kh__report__free_unpacked(r, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0: ack_path(data + 1, size - 1); break;
    case 1: hello_path(data + 1, size - 1); break;
    default: report_path(data + 1, size - 1); break;
    }
    return 0;
}
