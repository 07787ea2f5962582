/*
 * connection.c — the node's connection state; see connection.h.
 *
 * The link (kh_link.c) reports what libzmq 4.3.4's monitor says; here it becomes the
 * node's word for it.  A collector merely restarting is never "refused key": that is
 * only a ZAP 400 (kh_link: a ZAP 300 from a busy registry says nothing), and a restart
 * shows as unreachable until the collector listens again, then OK.
 */
#include "connection.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kh_db.h"
#include "kh_log.h"
#include "kh_util.h"

void node_time_text(int64_t ms, int seconds, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char z[8];
    if (!localtime_r(&t, &tm) ||
        !strftime(out, cap, seconds ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M", &tm) ||
        (seconds && strftime(z, sizeof z, "%z", &tm) != 5)) {
        kh_strlcpy(out, "?", cap);
        return;
    }
    if (seconds) {                                   /* "+0700" -> " +07:00" */
        size_t l = strlen(out);
        snprintf(out + l, cap - l, " %.3s:%.2s", z, z + 3);
    }
}

static node_conn_t from_link(kh_link_state_t st)
{
    switch (st) {
    case KH_LINK_UP: return NODE_CONN_OK;
    case KH_LINK_REFUSED: return NODE_CONN_REFUSED_KEY;
    case KH_LINK_BAD_SERVER: return NODE_CONN_WRONG_SERVER_KEY;
    case KH_LINK_UNREACHABLE: return NODE_CONN_UNREACHABLE;
    }
    return NODE_CONN_UNKNOWN;
}

static node_conn_t from_name(const char *s)
{
    for (node_conn_t c = NODE_CONN_UNKNOWN; c <= NODE_CONN_UNREACHABLE; c++)
        if (strcmp(node_conn_name(c), s) == 0)
            return c;
    return NODE_CONN_UNKNOWN;
}

int node_conn_set(node_t *n, node_conn_t c)
{
    if (c == n->conn && n->conn_since)
        return 0;
    node_conn_t was = n->conn;
    n->conn = c;
    n->conn_since = kh_real_ms();
    const char *vi, *en;
    node_conn_describe(c, &vi, &en);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s / %s", vi, en);
    if (c == NODE_CONN_OK && was != NODE_CONN_OK)
        KH_INFO("node.connection", msg, "district", n->district, "state", node_conn_name(c));
    else if (c != NODE_CONN_OK && c != NODE_CONN_UNKNOWN)
        KH_WARN("node.connection", msg, "district", n->district, "state", node_conn_name(c));
    sqlite3_stmt *st = kh_db_prepare(n->db, "INSERT INTO conn(id,state,since) VALUES(1,?,?) "
                                            "ON CONFLICT(id) DO UPDATE SET state=excluded.state,"
                                            " since=excluded.since");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, node_conn_name(c), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, n->conn_since);
    int ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    if (!ok)
        KH_WARN("node.connection", "cannot store the connection state: kh-node status will not "
                "show it", "district", n->district);
    return ok ? 0 : -1;
}

void node_conn_hook(void *arg, kh_link_state_t st, int detail)
{
    (void)detail;
    node_conn_set(arg, from_link(st));
}

int node_conn_load(sqlite3 *db, node_conn_t *c, int64_t *since)
{
    *c = NODE_CONN_UNKNOWN;
    *since = 0;
    sqlite3_stmt *st = kh_db_prepare(db, "SELECT state, since FROM conn WHERE id=1");
    if (!st)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *s = sqlite3_column_text(st, 0);
        *c = from_name(s ? (const char *)s : "");
        *since = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return 0;
}
