/*
 * test_outbox.c — unit tests of the durable outbox (lib/transport/kh_outbox.{h,c}) on a real
 * SQLite database in a temporary directory, with a fake send function that records
 * what it was given and answers 0 (sent), 1 (unreachable) or -1 (backpressure).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kh_db.h"
#include "kh_util.h"
#include "kh_log.h"
#include "kh_outbox.h"

#define LONG_MS 600000          /* a resend timeout no test reaches */
#define MAX_SENT 256

/* ---- fake send ---------------------------------------------------------------------- */

typedef struct {
    char dest[32], key[64], type[16];
    unsigned char payload[64];
    size_t len;
} sent_t;

typedef struct {
    sent_t sent[MAX_SENT];      /* successful sends, in order */
    int n_sent;
    int attempts;               /* every call, whatever it returned */
    char unreachable[32];       /* this destination answers 1 */
    int budget;                 /* >= 0: answer -1 once this many were sent */
} fake_t;

static int fake_send(void *arg, const char *dest, const char *key, const char *type,
                     const void *payload, size_t len)
{
    fake_t *fk = arg;
    fk->attempts++;
    if (fk->unreachable[0] && strcmp(dest, fk->unreachable) == 0)
        return 1;
    if (fk->budget >= 0 && fk->n_sent >= fk->budget)
        return -1;
    if (fk->n_sent >= MAX_SENT)
        return -1;
    sent_t *s = &fk->sent[fk->n_sent++];
    snprintf(s->dest, sizeof s->dest, "%s", dest);
    snprintf(s->key, sizeof s->key, "%s", key);
    snprintf(s->type, sizeof s->type, "%s", type);
    s->len = len < sizeof s->payload ? len : sizeof s->payload;
    memcpy(s->payload, payload, s->len);
    return 0;
}

static void fake_reset(fake_t *fk)
{
    memset(fk, 0, sizeof *fk);
    fk->budget = -1;
}

/* ---- fixture ------------------------------------------------------------------------ */

typedef struct {
    char dir[64], path[128];
    sqlite3 *db;
    kh_outbox_t *ob;
    fake_t fk;
} fx_t;

static const char *const migrations[] = {KH_OUTBOX_SCHEMA("t"), KH_OUTBOX_EXPIRY("t")};
#define N_MIGRATIONS (sizeof migrations / sizeof *migrations)

static void open_db(fx_t *fx)
{
    char err[256];
    if (kh_db_open(&fx->db, fx->path, migrations, N_MIGRATIONS, err, sizeof err) < 0)
        fail_msg("kh_db_open: %s", err);
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/kh_test_outbox_XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/outbox.db", fx->dir);
    fake_reset(&fx->fk);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    kh_outbox_destroy(&fx->ob);
    kh_db_close(&fx->db);
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", fx->path, suffix[i]);
        unlink(p);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* Opens the database and an outbox "t" on it. */
static fx_t *start(void **state, int window, int resend_ms)
{
    fx_t *fx = *state;
    open_db(fx);
    fx->ob = kh_outbox_new(fx->db, "t", window, resend_ms);
    assert_non_null(fx->ob);
    return fx;
}

static void put(fx_t *fx, const char *dest, const char *key, int expect)
{
    char payload[64];
    int n = snprintf(payload, sizeof payload, "payload of %s", key);
    assert_int_equal(kh_outbox_put(fx->ob, dest, key, "REPORT", payload, (size_t)n), expect);
}

static int pump(fx_t *fx) { return kh_outbox_pump(fx->ob, fake_send, &fx->fk); }

static int ack1(fx_t *fx, const char *key)
{
    char *keys[1] = {(char *)key};
    return kh_outbox_ack(fx->ob, keys, 1);
}

static void assert_sent(const fake_t *fk, int i, const char *dest, const char *key)
{
    assert_true(i < fk->n_sent);
    assert_string_equal(fk->sent[i].dest, dest);
    assert_string_equal(fk->sent[i].key, key);
}

static int count_sent(const fake_t *fk, const char *key)
{
    int c = 0;
    for (int i = 0; i < fk->n_sent; i++)
        c += strcmp(fk->sent[i].key, key) == 0;
    return c;
}

/* Pumps every `ms` until a pump sends something; returns the number of pumps that
 * sent nothing before it (or `max` if none did) and stores what it sent in *n. */
static int quiet_pumps(fx_t *fx, int ms, int max, int *n)
{
    for (int i = 0; i < max; i++) {
        usleep((useconds_t)ms * 1000);
        if ((*n = pump(fx)) > 0)
            return i;
    }
    *n = 0;
    return max;
}

/* ---- tests -------------------------------------------------------------------------- */

/* A row with an expiry (a reminder) leaves the outbox once the pipeline's clock has
 * passed it, sent or not: recorded in outbox_t_expired, never resent, counted; rows
 * without an expiry and rows not yet due stay. */
static void test_expired_rows_leave_and_are_recorded(void **state)
{
    char err[200];
    unsetenv("KH_CLOCK");
    assert_int_equal(kh_clock_set("2027-06-15T10:00:00Z", err, sizeof err), 0);
    fx_t *fx = start(state, 8, 50);
    int64_t day = 86400000, t0 = 1813053600000LL;       /* 2027-06-15T10:00:00Z */
    assert_int_equal(kh_outbox_put_until(fx->ob, "829", "due-tomorrow", "RECEIPT", "a", 1,
                                         t0 + day), 1);
    assert_int_equal(kh_outbox_put_until(fx->ob, "831", "due-yesterday", "RECEIPT", "b", 1,
                                         t0 - day), 1);
    put(fx, "832", "never", 1);
    assert_int_equal(pump(fx), 2);                  /* the expired one is not sent */
    assert_int_equal(count_sent(&fx->fk, "due-yesterday"), 0);
    assert_int_equal(kh_outbox_expired(fx->ob), 1);
    assert_int_equal(kh_outbox_depth(fx->ob), 2);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(fx->db, "SELECT key, dest, type, expires_at FROM "
                                        "outbox_t_expired", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "due-yesterday");
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "831");
    assert_string_equal((const char *)sqlite3_column_text(st, 2), "RECEIPT");
    assert_int_equal(sqlite3_column_int64(st, 3), t0 - day);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);

    /* two days later: the one in flight expires too; it is never resent, and its late
     * acknowledgement finds nothing */
    assert_int_equal(kh_clock_set("2027-06-17T10:00:00Z", err, sizeof err), 0);
    assert_int_equal(kh_outbox_expire(fx->ob), 1);
    assert_int_equal(kh_outbox_expire(fx->ob), 0);   /* once */
    usleep(120 * 1000);                               /* past resend_ms (50) */
    fake_reset(&fx->fk);
    pump(fx);
    assert_int_equal(count_sent(&fx->fk, "due-tomorrow"), 0);
    assert_int_equal(ack1(fx, "due-tomorrow"), 0);
    assert_int_equal(kh_outbox_expired(fx->ob), 2);
    assert_int_equal(kh_outbox_depth(fx->ob), 1);     /* "never" stays until acked */
    assert_int_equal(ack1(fx, "never"), 1);
    assert_int_equal(kh_outbox_depth(fx->ob), 0);

    /* one that comes in expired already (it waited in another outbox) is never sent,
     * even by the pump right after it, within the second between expiry passes */
    assert_int_equal(kh_outbox_put_until(fx->ob, "833", "came-late", "RECEIPT", "c", 1,
                                         t0), 1);
    fake_reset(&fx->fk);
    assert_int_equal(pump(fx), 0);
    assert_int_equal(count_sent(&fx->fk, "came-late"), 0);
    assert_int_equal(kh_outbox_expired(fx->ob), 3);
    assert_int_equal(kh_clock_set("real", err, sizeof err), 0);
}

/* What kh-admin status reads of another process's outbox: rows waiting with an expiry,
 * rows expired, the expired rows' destinations (distinct, sorted); -1 or NULL for an
 * outbox that is not there or a name that is no outbox name. */
static void test_offline_reads(void **state)
{
    char err[200];
    unsetenv("KH_CLOCK");
    assert_int_equal(kh_clock_set("2027-06-15T10:00:00Z", err, sizeof err), 0);
    fx_t *fx = start(state, 8, LONG_MS);
    int64_t day = 86400000, t0 = 1813053600000LL;       /* 2027-06-15T10:00:00Z */
    assert_int_equal(kh_outbox_count_expiring(fx->db, "t"), 0);
    assert_int_equal(kh_outbox_count_expired(fx->db, "t"), 0);
    static const struct { const char *dest, *key; int64_t until; } rows[] = {
        {"829", "due-tomorrow", 1}, {"831", "a", -1}, {"830", "b", -1}, {"831", "c", -1}};
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        assert_int_equal(kh_outbox_put_until(fx->ob, rows[i].dest, rows[i].key, "RECEIPT", "x",
                                             1, t0 + rows[i].until * day), 1);
    put(fx, "832", "never", 1);
    assert_int_equal(kh_outbox_count_expiring(fx->db, "t"), 4);
    assert_int_equal(kh_outbox_expire(fx->ob), 3);
    assert_int_equal(kh_outbox_count_expiring(fx->db, "t"), 1);   /* "never" has no expiry */
    assert_int_equal(kh_outbox_count_expired(fx->db, "t"), 3);
    sqlite3_stmt *st = kh_outbox_expired_dests(fx->db, "t");
    assert_non_null(st);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "830");
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "831");
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    /* no such outbox; a name that would be SQL */
    assert_int_equal(kh_outbox_count_expiring(fx->db, "nodes"), -1);
    assert_int_equal(kh_outbox_count_expired(fx->db, "nodes"), -1);
    assert_null(kh_outbox_expired_dests(fx->db, "nodes"));
    assert_int_equal(kh_outbox_count_expired(fx->db, "t_expired; --"), -1);
    assert_int_equal(kh_outbox_count_expiring(fx->db, ""), -1);
    assert_null(kh_outbox_expired_dests(fx->db, "t_expired WHERE 1 OR"));
    assert_int_equal(kh_clock_set("real", err, sizeof err), 0);
}

static void test_new_needs_table(void **state)
{
    fx_t *fx = *state;
    open_db(fx);
    kh_outbox_t *ob = kh_outbox_new(fx->db, "missing", 4, 1000);
    assert_null(ob);
}

static void test_put_idempotent(void **state)
{
    fx_t *fx = start(state, 8, LONG_MS);
    put(fx, "", "829-2020S2/1", 1);
    put(fx, "", "829-2020S2/1", 0);
    /* a different payload under the same key is still the same message */
    assert_int_equal(kh_outbox_put(fx->ob, "", "829-2020S2/1", "REPORT", "other", 5), 0);
    assert_int_equal(kh_outbox_depth(fx->ob), 1);
    put(fx, "", "829-2020S2/2", 1);
    assert_int_equal(kh_outbox_depth(fx->ob), 2);
    /* the row kept is the first one */
    assert_int_equal(pump(fx), 2);
    assert_int_equal(fx->fk.sent[0].len, strlen("payload of 829-2020S2/1"));
    assert_memory_equal(fx->fk.sent[0].payload, "payload of 829-2020S2/1",
                        fx->fk.sent[0].len);
}

static void test_put_after_ack_is_new_again(void **state)
{
    fx_t *fx = start(state, 8, LONG_MS);
    put(fx, "", "k1", 1);
    assert_int_equal(pump(fx), 1);
    assert_int_equal(ack1(fx, "k1"), 1);
    put(fx, "", "k1", 1);          /* acked rows are gone: the key may be queued again */
    assert_int_equal(pump(fx), 1);
    assert_int_equal(count_sent(&fx->fk, "k1"), 2);
}

static void test_pump_sends_in_order(void **state)
{
    fx_t *fx = start(state, 16, LONG_MS);
    const char *keys[] = {"b", "a", "d", "c", "e"};
    for (int i = 0; i < 5; i++)
        put(fx, "", keys[i], 1);
    /* a binary payload with a NUL inside survives */
    const unsigned char bin[] = {0x08, 0x00, 0xFF, 0x10};
    assert_int_equal(kh_outbox_put(fx->ob, "", "f", "VERDICT", bin, sizeof bin), 1);
    assert_int_equal(pump(fx), 6);
    assert_int_equal(fx->fk.n_sent, 6);
    for (int i = 0; i < 5; i++) {
        assert_sent(&fx->fk, i, "", keys[i]);        /* insertion order, not key order */
        assert_string_equal(fx->fk.sent[i].type, "REPORT");
    }
    assert_sent(&fx->fk, 5, "", "f");
    assert_string_equal(fx->fk.sent[5].type, "VERDICT");
    assert_int_equal(fx->fk.sent[5].len, sizeof bin);
    assert_memory_equal(fx->fk.sent[5].payload, bin, sizeof bin);
    /* everything is in flight: nothing more to send */
    assert_int_equal(pump(fx), 0);
    assert_int_equal(fx->fk.n_sent, 6);
    assert_int_equal(kh_outbox_resent(fx->ob), 0);
}

static void test_window_limits_in_flight(void **state)
{
    fx_t *fx = start(state, 3, LONG_MS);
    for (int i = 1; i <= 5; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%d", i);
        put(fx, "", k, 1);
    }
    assert_int_equal(pump(fx), 3);
    assert_sent(&fx->fk, 2, "", "k3");
    assert_int_equal(pump(fx), 0);                 /* window full */
    assert_int_equal(fx->fk.n_sent, 3);

    assert_int_equal(ack1(fx, "k1"), 1);           /* frees one slot */
    assert_int_equal(pump(fx), 1);
    assert_sent(&fx->fk, 3, "", "k4");
    assert_int_equal(pump(fx), 0);

    char *two[] = {"k2", "k3"};
    assert_int_equal(kh_outbox_ack(fx->ob, two, 2), 2);
    assert_int_equal(pump(fx), 1);                 /* only k5 is left */
    assert_sent(&fx->fk, 4, "", "k5");
    assert_int_equal(pump(fx), 0);
    assert_int_equal(fx->fk.n_sent, 5);
}

static void test_window_is_per_destination(void **state)
{
    fx_t *fx = start(state, 2, LONG_MS);
    put(fx, "829", "a1", 1);
    put(fx, "829", "a2", 1);
    put(fx, "829", "a3", 1);
    put(fx, "830", "b1", 1);
    put(fx, "830", "b2", 1);
    put(fx, "830", "b3", 1);
    assert_int_equal(pump(fx), 4);
    assert_int_equal(count_sent(&fx->fk, "a1") + count_sent(&fx->fk, "a2"), 2);
    assert_int_equal(count_sent(&fx->fk, "b1") + count_sent(&fx->fk, "b2"), 2);
    assert_int_equal(count_sent(&fx->fk, "a3") + count_sent(&fx->fk, "b3"), 0);
    /* each row went to its own destination */
    for (int i = 0; i < fx->fk.n_sent; i++)
        assert_string_equal(fx->fk.sent[i].dest, fx->fk.sent[i].key[0] == 'a' ? "829" : "830");
    /* an ack for 830 frees room for 830 only */
    assert_int_equal(ack1(fx, "b1"), 1);
    assert_int_equal(pump(fx), 1);
    assert_sent(&fx->fk, 4, "830", "b3");
}

static void test_ack_deletes_and_counts(void **state)
{
    fx_t *fx = start(state, 8, LONG_MS);
    put(fx, "", "k1", 1);
    put(fx, "", "k2", 1);
    put(fx, "", "k3", 1);
    assert_int_equal(pump(fx), 3);
    char *keys[] = {"k1", "nope", "k3", "k1"};
    assert_int_equal(kh_outbox_ack(fx->ob, keys, 4), 2);   /* unknown and repeated: ignored */
    assert_int_equal(kh_outbox_depth(fx->ob), 1);
    /* the table holds exactly k2 */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(fx->db, "SELECT key FROM outbox_t", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "k2");
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

static void test_unknown_key_ack_ignored(void **state)
{
    fx_t *fx = start(state, 1, LONG_MS);
    put(fx, "", "k1", 1);
    put(fx, "", "k2", 1);
    assert_int_equal(pump(fx), 1);
    assert_int_equal(ack1(fx, "never-queued"), 0);
    assert_int_equal(kh_outbox_ack(fx->ob, NULL, 0), 0);
    assert_int_equal(kh_outbox_depth(fx->ob), 2);
    assert_int_equal(pump(fx), 0);        /* the window is still held by k1 */
    assert_int_equal(fx->fk.n_sent, 1);
}

static void test_resend_after_timeout(void **state)
{
    fx_t *fx = start(state, 8, 30);
    put(fx, "", "k1", 1);
    put(fx, "", "k2", 1);
    assert_int_equal(pump(fx), 2);
    assert_int_equal(pump(fx), 0);                 /* not yet due */
    assert_int_equal(kh_outbox_resent(fx->ob), 0);
    usleep(60 * 1000);
    /* nothing acknowledged since they were sent: a silent peer gets one probe (see
     * test_silent_peer_gets_probes) */
    assert_int_equal(pump(fx), 1);
    assert_int_equal(kh_outbox_resent(fx->ob), 1);
    assert_int_equal(count_sent(&fx->fk, "k1"), 2);
    assert_int_equal(count_sent(&fx->fk, "k2"), 1);
    assert_int_equal(pump(fx), 0);                 /* the deadlines moved on */

    assert_int_equal(ack1(fx, "k1"), 1);     /* it answers: k2 may still be in its queue */
    int n, waited = quiet_pumps(fx, 60, 20, &n);
    assert_int_equal(n, 1);                        /* only the unacked one… */
    assert_true(waited >= 7 && waited <= 9);       /* …after 8 periods (MAX_WAITS) */
    assert_int_equal(count_sent(&fx->fk, "k1"), 2);
    assert_int_equal(count_sent(&fx->fk, "k2"), 2);
    assert_int_equal(kh_outbox_resent(fx->ob), 2);
}

/* Regression (found by tests/faults/stall.sh): a peer that stops answering (kill -STOP,
 * a hung host) used to get the whole window again every resend_ms; each copy waits in
 * the socket's queue (up to the high-water mark of 1000 messages of ~12 KB), so a 30 s
 * stall cost the senders and, once it resumed, the receiver tens of MB.  While nothing
 * is acknowledged since a row was sent, one row goes again per resend_ms (a probe; the
 * rows in turn, so that one the peer never acknowledges cannot starve the others); once
 * the peer answers, the others wait for it a while (MAX_WAITS periods) before they go. */
static void test_silent_peer_gets_probes(void **state)
{
    fx_t *fx = start(state, 4, 30);
    put(fx, "", "k1", 1);
    put(fx, "", "k2", 1);
    put(fx, "", "k3", 1);
    put(fx, "", "k4", 1);
    assert_int_equal(pump(fx), 4);
    const char *order[] = {"k1", "k2", "k3", "k4", "k1"};
    for (int round = 0; round < 5; round++) {
        usleep(60 * 1000);
        assert_int_equal(pump(fx), 1);             /* silent: one probe… */
        assert_sent(&fx->fk, 4 + round, "", order[round]);   /* …the rows in turn */
        assert_int_equal(pump(fx), 0);
    }
    assert_int_equal(count_sent(&fx->fk, "k1"), 3);
    assert_int_equal(count_sent(&fx->fk, "k4"), 2);
    assert_int_equal(ack1(fx, "k1"), 1);           /* it answers again */
    int n, waited = quiet_pumps(fx, 60, 20, &n);
    assert_int_equal(n, 3);                        /* the rest, at once, after a while */
    assert_true(waited >= 7 && waited <= 9);
    assert_int_equal(count_sent(&fx->fk, "k4"), 3);
}

/* Rows that come due at different times still make one probe per resend_ms. */
static void test_probes_once_per_period(void **state)
{
    fx_t *fx = start(state, 4, 100);
    put(fx, "", "k1", 1);
    assert_int_equal(pump(fx), 1);
    usleep(50 * 1000);
    put(fx, "", "k2", 1);
    assert_int_equal(pump(fx), 1);
    usleep(60 * 1000);
    assert_int_equal(pump(fx), 1);                 /* k1 due: the probe */
    usleep(60 * 1000);
    assert_int_equal(pump(fx), 0);                 /* k2 due, but not another probe yet */
    usleep(60 * 1000);
    assert_int_equal(pump(fx), 1);
    assert_int_equal(count_sent(&fx->fk, "k1"), 2);
    assert_int_equal(count_sent(&fx->fk, "k2"), 2);
}

/* A destination that is acknowledging (working through its queue, e.g. after a stall, or
 * one that paused its input: kh_service_gate) is not sent copies of rows that are merely
 * late, not for MAX_WAITS periods; then they go again. */
static void test_busy_peer_gets_no_copies(void **state)
{
    fx_t *fx = start(state, 4, 40);
    put(fx, "", "k1", 1);
    put(fx, "", "k2", 1);
    put(fx, "", "k3", 1);
    assert_int_equal(pump(fx), 3);
    usleep(50 * 1000);
    assert_int_equal(ack1(fx, "k1"), 1);           /* it is working… */
    assert_int_equal(pump(fx), 0);                 /* …so k2, k3 wait */
    int n, waited = quiet_pumps(fx, 50, 20, &n);
    assert_int_equal(n, 2);
    assert_true(waited >= 6 && waited <= 8);
    assert_int_equal(count_sent(&fx->fk, "k2"), 2);
    assert_int_equal(count_sent(&fx->fk, "k3"), 2);
}

/* …but a row whose copies all left before the first copy of a row the destination has
 * acknowledged was lost (in-order delivery): it goes again even while the peer works. */
static void test_lost_row_resent_while_peer_busy(void **state)
{
    fx_t *fx = start(state, 4, 100);
    put(fx, "", "k1", 1);
    assert_int_equal(pump(fx), 1);
    usleep(20 * 1000);
    put(fx, "", "k2", 1);
    assert_int_equal(pump(fx), 1);
    usleep(90 * 1000);                             /* k1 due */
    assert_int_equal(ack1(fx, "k2"), 1);           /* working, and k2 left after k1 */
    assert_int_equal(pump(fx), 1);
    assert_int_equal(count_sent(&fx->fk, "k1"), 2);
}

static void test_unreachable_does_not_block_others(void **state)
{
    fx_t *fx = start(state, 4, 30);
    snprintf(fx->fk.unreachable, sizeof fx->fk.unreachable, "829");
    put(fx, "829", "a1", 1);
    put(fx, "830", "b1", 1);
    put(fx, "829", "a2", 1);
    put(fx, "830", "b2", 1);
    assert_int_equal(pump(fx), 2);
    assert_int_equal(fx->fk.n_sent, 2);
    assert_sent(&fx->fk, 0, "830", "b1");
    assert_sent(&fx->fk, 1, "830", "b2");
    assert_int_equal(kh_outbox_depth(fx->ob), 4);
    put(fx, "830", "b3", 1);
    assert_int_equal(pump(fx), 1);                 /* 830 keeps flowing */
    assert_sent(&fx->fk, 2, "830", "b3");

    /* 829 comes back: its rows go, in order, none lost */
    fx->fk.unreachable[0] = '\0';
    usleep(60 * 1000);
    int n = pump(fx);
    assert_true(n >= 2);
    assert_int_equal(count_sent(&fx->fk, "a1"), 1);
    assert_int_equal(count_sent(&fx->fk, "a2"), 1);
    int i1 = -1, i2 = -1;
    for (int i = 0; i < fx->fk.n_sent; i++) {
        if (strcmp(fx->fk.sent[i].key, "a1") == 0)
            i1 = i;
        if (strcmp(fx->fk.sent[i].key, "a2") == 0)
            i2 = i;
    }
    assert_true(i1 >= 0 && i2 > i1);
    assert_string_equal(fx->fk.sent[i1].dest, "829");
}

static void test_backpressure_stops_pump(void **state)
{
    fx_t *fx = start(state, 16, LONG_MS);
    for (int i = 1; i <= 5; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%d", i);
        put(fx, "", k, 1);
    }
    fx->fk.budget = 2;                             /* the socket fills after two */
    assert_int_equal(pump(fx), 2);
    assert_int_equal(fx->fk.attempts, 3);          /* stopped at the first -1 */
    fx->fk.budget = 0;
    fx->fk.n_sent = 0;
    fx->fk.attempts = 0;
    assert_int_equal(pump(fx), 0);                 /* still full: nothing */
    assert_int_equal(fx->fk.attempts, 1);

    fx->fk.budget = -1;                            /* room again */
    assert_int_equal(pump(fx), 3);
    assert_sent(&fx->fk, 0, "", "k3");
    assert_sent(&fx->fk, 1, "", "k4");
    assert_sent(&fx->fk, 2, "", "k5");
    assert_int_equal(kh_outbox_resent(fx->ob), 0); /* k1, k2 were not sent twice */
    assert_int_equal(count_sent(&fx->fk, "k1"), 0);
}

static void test_restart_resends_unacked(void **state)
{
    fx_t *fx = start(state, 8, LONG_MS);
    put(fx, "", "k1", 1);
    put(fx, "", "k2", 1);
    put(fx, "", "k3", 1);
    put(fx, "829", "r1", 1);                       /* a routed destination */
    assert_int_equal(pump(fx), 4);
    assert_int_equal(ack1(fx, "k2"), 1);
    assert_int_equal(pump(fx), 0);

    /* restart: the process dies, the database stays */
    kh_outbox_destroy(&fx->ob);
    assert_null(fx->ob);
    kh_db_close(&fx->db);
    open_db(fx);
    fx->ob = kh_outbox_new(fx->db, "t", 8, LONG_MS);
    assert_non_null(fx->ob);
    fake_reset(&fx->fk);

    assert_int_equal(kh_outbox_depth(fx->ob), 3);
    assert_int_equal(pump(fx), 3);
    assert_int_equal(count_sent(&fx->fk, "k1"), 1);
    assert_int_equal(count_sent(&fx->fk, "k2"), 0);
    assert_int_equal(count_sent(&fx->fk, "k3"), 1);
    assert_int_equal(count_sent(&fx->fk, "r1"), 1);
    for (int i = 0; i < fx->fk.n_sent; i++)
        if (strcmp(fx->fk.sent[i].key, "r1") == 0)
            assert_string_equal(fx->fk.sent[i].dest, "829");
    assert_int_equal(kh_outbox_resent(fx->ob), 0);
}

/* kh-node submit puts rows into the node's outbox from another process while kh-node run
 * pumps it: a destination the pump found empty must be looked at again (a bug: the
 * "drained" shortcut left the submitted report unsent). */
static void test_rows_from_another_connection_are_sent(void **state)
{
    fx_t *fx = start(state, 8, LONG_MS);
    assert_int_equal(pump(fx), 0);                 /* empty: nothing after the cursor */
    put(fx, "", "k1", 1);
    assert_int_equal(pump(fx), 1);
    assert_int_equal(pump(fx), 0);
    sqlite3 *other = NULL;
    char err[256];
    if (kh_db_open(&other, fx->path, migrations, N_MIGRATIONS, err, sizeof err) < 0)
        fail_msg("kh_db_open: %s", err);
    kh_outbox_t *ob2 = kh_outbox_new(other, "t", 8, LONG_MS);
    assert_non_null(ob2);
    assert_int_equal(kh_outbox_put(ob2, "", "k2", "REPORT", "x", 1), 1);
    kh_outbox_destroy(&ob2);
    kh_db_close(&other);
    assert_int_equal(pump(fx), 1);
    assert_int_equal(count_sent(&fx->fk, "k2"), 1);
    assert_int_equal(pump(fx), 0);
}

/* A destination with nothing new costs no query: the collector pumps its receipts outbox
 * (a destination per district) after every message. */
static void test_drained_destination_not_queried(void **state)
{
    fx_t *fx = start(state, 8, LONG_MS);
    put(fx, "829", "a", 1);
    put(fx, "831", "b", 1);
    assert_int_equal(pump(fx), 2);
    assert_int_equal(pump(fx), 0);     /* the first look for lost rows (once per resend_ms) */
    sqlite3_int64 steps0 = 0;
    for (sqlite3_stmt *st = sqlite3_next_stmt(fx->db, NULL); st; st = sqlite3_next_stmt(fx->db, st))
        steps0 += sqlite3_stmt_status(st, SQLITE_STMTSTATUS_RUN, 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(pump(fx), 0);
    sqlite3_int64 steps1 = 0;
    for (sqlite3_stmt *st = sqlite3_next_stmt(fx->db, NULL); st; st = sqlite3_next_stmt(fx->db, st))
        steps1 += sqlite3_stmt_status(st, SQLITE_STMTSTATUS_RUN, 0);
    /* ten pumps: the data_version check each time, no query per destination */
    assert_true(steps1 - steps0 <= 10);
    /* a put for one destination makes that one (only) look again */
    put(fx, "831", "c", 1);
    assert_int_equal(pump(fx), 1);
    assert_int_equal(count_sent(&fx->fk, "c"), 1);
}

static void test_recreate_on_same_connection(void **state)
{
    fx_t *fx = start(state, 8, LONG_MS);
    put(fx, "", "k1", 1);
    put(fx, "", "k2", 1);
    assert_int_equal(pump(fx), 2);
    kh_outbox_destroy(&fx->ob);
    fx->ob = kh_outbox_new(fx->db, "t", 8, LONG_MS);
    assert_non_null(fx->ob);
    assert_int_equal(pump(fx), 2);
    assert_int_equal(count_sent(&fx->fk, "k1"), 2);
    assert_int_equal(count_sent(&fx->fk, "k2"), 2);
}

static void test_put_rolled_back_leaves_nothing(void **state)
{
    fx_t *fx = start(state, 8, LONG_MS);
    assert_int_equal(kh_db_exec(fx->db, "BEGIN", "test"), 0);
    put(fx, "", "k1", 1);
    put(fx, "829", "k2", 1);
    assert_int_equal(kh_outbox_depth(fx->ob), 2);  /* visible inside the transaction */
    assert_int_equal(kh_db_exec(fx->db, "ROLLBACK", "test"), 0);
    assert_int_equal(kh_outbox_depth(fx->ob), 0);
    assert_int_equal(pump(fx), 0);
    assert_int_equal(fx->fk.attempts, 0);
    put(fx, "", "k1", 1);                          /* the key is free again */
    assert_int_equal(pump(fx), 1);
    assert_sent(&fx->fk, 0, "", "k1");
}

static void test_put_committed_with_transaction(void **state)
{
    fx_t *fx = start(state, 8, LONG_MS);
    assert_int_equal(kh_db_exec(fx->db, "BEGIN", "test"), 0);
    put(fx, "", "k1", 1);
    assert_int_equal(kh_db_exec(fx->db, "COMMIT", "test"), 0);
    kh_outbox_destroy(&fx->ob);
    kh_db_close(&fx->db);
    open_db(fx);
    fx->ob = kh_outbox_new(fx->db, "t", 8, LONG_MS);
    assert_non_null(fx->ob);
    assert_int_equal(kh_outbox_depth(fx->ob), 1);
}

/* Regression (found by tests/faults/crash.sh): a pump while the connection is inside a
 * transaction (a service's open group-commit batch) must not send the batch's rows: if
 * the process dies before COMMIT the row is gone, but the next hop has it (the
 * aggregator sent "counted, feed seq N" for a counting that was rolled back, and seq N
 * was given to another report after the restart).  Rows leave only once committed. */
static void test_pump_sends_only_committed(void **state)
{
    fx_t *fx = start(state, 8, LONG_MS);
    put(fx, "", "k0", 1);
    assert_int_equal(kh_db_exec(fx->db, "BEGIN IMMEDIATE", "test"), 0);
    put(fx, "", "k1", 1);
    assert_int_equal(pump(fx), 0);                 /* nothing leaves inside the batch */
    assert_int_equal(fx->fk.attempts, 0);
    assert_int_equal(kh_db_exec(fx->db, "ROLLBACK", "test"), 0);   /* the process "died" */
    assert_int_equal(pump(fx), 1);
    assert_sent(&fx->fk, 0, "", "k0");
    assert_int_equal(count_sent(&fx->fk, "k1"), 0);
    assert_int_equal(kh_db_exec(fx->db, "BEGIN IMMEDIATE", "test"), 0);
    put(fx, "", "k2", 1);
    assert_int_equal(pump(fx), 0);
    assert_int_equal(kh_db_exec(fx->db, "COMMIT", "test"), 0);
    assert_int_equal(pump(fx), 1);                 /* committed: now it goes */
    assert_sent(&fx->fk, 1, "", "k2");
}

/* Regression (found by tests/faults/diskfull.sh): an ACK is often handled while the
 * service's group-commit batch is open, so the DELETE of the acknowledged row belongs
 * to that batch; when the batch's COMMIT fails (disk full) the row comes back, but it
 * had already left the in-flight set with the cursor past it: it was never sent again
 * and stayed in the outbox for good (the collector kept 8 reports and 4 receipts after
 * the disk had room again).  Such a row is found and sent again within resend_ms. */
static void test_ack_rolled_back_is_sent_again(void **state)
{
    fx_t *fx = start(state, 8, 30);
    put(fx, "", "k1", 1);
    put(fx, "", "k2", 1);
    put(fx, "829", "a1", 1);
    assert_int_equal(pump(fx), 3);
    assert_int_equal(kh_db_exec(fx->db, "BEGIN IMMEDIATE", "test"), 0);
    assert_int_equal(ack1(fx, "k1"), 1);           /* inside the batch … */
    assert_int_equal(ack1(fx, "a1"), 1);
    assert_int_equal(kh_db_exec(fx->db, "ROLLBACK", "test"), 0);   /* … that failed */
    assert_int_equal(kh_outbox_depth(fx->ob), 3);
    assert_int_equal(ack1(fx, "k2"), 1);           /* a later ack commits as usual */
    for (int i = 0; i < 10; i++) {                 /* within a few resend periods */
        usleep(20 * 1000);
        pump(fx);
    }
    assert_true(count_sent(&fx->fk, "k1") >= 2);
    assert_true(count_sent(&fx->fk, "a1") >= 2);
    assert_int_equal(count_sent(&fx->fk, "k2"), 1);
    assert_int_equal(ack1(fx, "k1"), 1);
    assert_int_equal(ack1(fx, "a1"), 1);
    assert_int_equal(kh_outbox_depth(fx->ob), 0);
    int n = fx->fk.n_sent;
    usleep(60 * 1000);
    assert_int_equal(pump(fx), 0);                 /* nothing left to send */
    assert_int_equal(fx->fk.n_sent, n);
}

static void test_depth_counts(void **state)
{
    fx_t *fx = start(state, 2, LONG_MS);
    assert_int_equal(kh_outbox_depth(fx->ob), 0);
    put(fx, "", "k1", 1);
    put(fx, "", "k2", 1);
    put(fx, "830", "k3", 1);
    put(fx, "", "k1", 0);
    assert_int_equal(kh_outbox_depth(fx->ob), 3);
    assert_int_equal(pump(fx), 3);
    assert_int_equal(kh_outbox_depth(fx->ob), 3);  /* in flight still counts */
    assert_int_equal(ack1(fx, "k2"), 1);
    assert_int_equal(kh_outbox_depth(fx->ob), 2);
    char *rest[] = {"k1", "k3"};
    assert_int_equal(kh_outbox_ack(fx->ob, rest, 2), 2);
    assert_int_equal(kh_outbox_depth(fx->ob), 0);
}

static void test_reset_dest_resends_now(void **state)
{
    fx_t *fx = start(state, 8, LONG_MS);
    put(fx, "829", "a1", 1);
    put(fx, "829", "a2", 1);
    put(fx, "830", "b1", 1);
    assert_int_equal(pump(fx), 3);
    assert_int_equal(pump(fx), 0);
    kh_outbox_reset_dest(fx->ob, "829");           /* its peer reconnected */
    kh_outbox_reset_dest(fx->ob, "unknown");       /* harmless */
    assert_int_equal(pump(fx), 2);
    assert_sent(&fx->fk, 3, "829", "a1");
    assert_sent(&fx->fk, 4, "829", "a2");
    assert_int_equal(count_sent(&fx->fk, "b1"), 1);
}

/* Two processes open a new database at once (kh-node run and kh-node status, seen in
 * test_check): the one that waited for the write lock must find the schema the other
 * made, not run migration 1 again ("table report already exists"). */
static void test_open_while_another_migrates(void **state)
{
    fx_t *fx = *state;
    static const char *const mig[] = {"CREATE TABLE t (x INTEGER)", "CREATE TABLE u (y)"};
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();         /* before any connection: SQLite's locks do not fork */
    assert_true(pid >= 0);
    if (pid == 0) {             /* once the parent holds the lock: reads user_version 0,
                                 * then waits for the lock */
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(2);
        sqlite3 *h;
        char err[256];
        int rc = kh_db_open(&h, fx->path, mig, 2, err, sizeof err);
        if (rc < 0)
            fprintf(stderr, "child: %s\n", err);
        _exit(rc == 0 ? 0 : 1);
    }
    close(go[0]);
    sqlite3 *x;
    assert_int_equal(sqlite3_open(fx->path, &x), SQLITE_OK);
    /* a WAL database that exists (as the first process's kh_db_open leaves it) */
    assert_int_equal(sqlite3_exec(x, "PRAGMA journal_mode=WAL; CREATE TABLE seed (z);"
                                  "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(write(go[1], "g", 1), 1);
    close(go[1]);
    usleep(300 * 1000);         /* the child is waiting for the lock by now */
    assert_int_equal(sqlite3_exec(x, "CREATE TABLE t (x INTEGER); CREATE TABLE u (y);"
                                  "PRAGMA user_version=2; COMMIT", NULL, NULL, NULL), SQLITE_OK);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    sqlite3_close(x);
}

int main(void)
{
    kh_log_init("test_outbox", KH_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_needs_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_while_another_migrates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_from_another_connection_are_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drained_destination_not_queried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_after_ack_is_new_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pump_sends_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_limits_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_is_per_destination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_deletes_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_ack_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resend_after_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_peer_gets_probes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probes_once_per_period, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_peer_gets_no_copies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_row_resent_while_peer_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_does_not_block_others, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_backpressure_stops_pump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_resends_unacked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recreate_on_same_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_rolled_back_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_committed_with_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pump_sends_only_committed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_rolled_back_is_sent_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_depth_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_rows_leave_and_are_recorded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reset_dest_resends_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline_reads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
