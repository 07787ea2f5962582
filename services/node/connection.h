/*
 * connection.h — the running node's connection to the province (issue 14): what its
 * link's handshakes say (lib/transport/kh_link.h, kh_link_on_state) turned into a
 * node_conn_t, logged once per change and written to the node's database (table conn,
 * one row) so that `kh-node status`, another process, and the web page can show it.
 *
 * Log events: node.connection (WARN when the node is not connected and why, with what to
 * do; INFO when it is connected again).
 */
#ifndef KH_NODE_CONNECTION_H
#define KH_NODE_CONNECTION_H

#include <stdint.h>

#include "kh_link.h"
#include "node.h"

/* The link's state hook (kh_link_on_state; arg: the node_t).  The same state again does
 * nothing: a WARN is logged when the state first changes, not on every retry. */
void node_conn_hook(void *arg, kh_link_state_t st, int detail);

/* Sets the node's state: logs and stores it when it changed (n->conn, n->conn_since).
 * Returns 0, or -1 when it could not be stored (logged; n is updated all the same). */
int node_conn_set(node_t *n, node_conn_t c);

/* The state the running node last stored, and since when (kh_real_ms); *c UNKNOWN and
 * *since 0 when none.  Returns 0, or -1 on a database error. */
int node_conn_load(sqlite3 *db, node_conn_t *c, int64_t *since);

/* ms (unix) as local time: "2026-12-04 09:15" (seconds 0) or "2026-12-04 09:15:02 +07:00"
 * (seconds 1); "?" when it cannot be told. */
void node_time_text(int64_t ms, int seconds, char *out, size_t cap);

#endif
