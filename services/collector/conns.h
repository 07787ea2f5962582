/*
 * conns.h — the collector's table of node connections.
 *
 * A node's identity is its key, never what it says about itself: every message on the
 * node socket carries the User-Id its CURVE handshake proved, and the ROUTER gives each
 * connection a routing id of its own (the node chooses none; the socket hands no id
 * over).  This table remembers, per connection (routing id), the key and district seen
 * on it and when it last spoke, so that:
 *   - receipts for a district go to the connection on which that district last spoke
 *     (a node says HELLO on each new connection) — never to a connection because of
 *     the id it chose;
 *   - a key has at most max_per_key open connections ([collector]
 *     max_connections_per_key): the ZAP handler refuses the next handshake, and a
 *     message arriving on one more connection anyway is dropped (and the connection
 *     cut).  A handshake let in counts from then (conns_admit), not from its first
 *     message: a key cannot open
 *     connections that never speak past the bound — each counts until it speaks or
 *     until ttl_ms (the handshake time and a margin; a node says HELLO at once);
 *   - the table itself is bounded (max_total): closed connections are forgotten
 *     first, oldest first; when every entry is open, a new connection is refused.
 * Closing is learnt from the socket monitor (ZMQ_EVENT_DISCONNECTED, by descriptor),
 * which lib/security/kh_door reads; the collector cuts (kh_door_cut) a connection over its key's
 * bound and one whose key was revoked (conns_list_open lists them to re-check).
 * Pure data: no sockets, no clock (the caller passes `now`).
 */
#ifndef KH_CONNS_H
#define KH_CONNS_H

#include <stddef.h>
#include <stdint.h>

#define CONNS_RID_MAX 256

typedef struct conns conns_t;

enum {
    CONN_KNOWN = 0,      /* a connection already in the table */
    CONN_NEW = 1,        /* its first message: the district's route may have changed */
    CONN_GONE = 2,       /* a message read after its connection closed: not entered */
    CONN_FULL = -1,      /* the table is full of open connections */
    CONN_KEY_LIMIT = -2, /* this key already has max_per_key open connections */
    CONN_MISMATCH = -3,  /* this connection spoke before with another key or district */
    CONN_BAD = -4,       /* empty or too long routing id, district or key id */
};

/* Returns NULL when memory is short. */
conns_t *conns_new(int max_total, int max_per_key);
void conns_destroy(conns_t **self_p);

/* A message from connection (rid, fd), authenticated as key_id ("" without CURVE) of
 * `district`; `live` is 0 when the socket monitor has already told that fd closed (the
 * door: kh_door_live).  Returns one of the CONN_ values.
 *
 * ZeroMQ hands over the messages a connection had delivered even after the monitor told
 * its close, so a message may come from a connection already closed.  Such a message
 * (CONN_GONE) may be acted on — a report is stored, the answer goes nowhere — but its
 * connection is never entered or opened again: it would count against its key for ever
 * (no second close comes), and after a stalled collector a node's new connections were
 * refused that way.  ZeroMQ never reuses a routing id, so a closed entry's id is such a
 * message; an id never seen is one when `live` is 0.  That first message still ends
 * its handshake's "pending" count (conns_admit): the connection spoke, then closed. */
int conns_seen(conns_t *t, const void *rid, size_t rid_len, int fd, int live,
               const char *key_id, const char *district, int64_t now);

/* The connection descriptor fd closed: its entries no longer count against their key
 * (they stay as routes of last resort until reused: a send to them fails, harmlessly). */
void conns_closed_fd(conns_t *t, int fd);

/* Where receipts for `district` go: the open connection on which it spoke last (else
 * the closed one).  Returns 0 with rid and len set, or -1 when it has none. */
int conns_route(const conns_t *t, const char *district, const void **rid, size_t *len);

/* The district last seen on connection rid, or NULL. */
const char *conns_district(const conns_t *t, const void *rid, size_t len);

/* Open connections of a key; conns_key_full: 1 when one more (open or admitted and not
 * yet heard from) would pass the bound. */
int conns_open_for_key(const conns_t *t, const char *key_id);
int conns_key_full(const conns_t *t, const char *key_id, int64_t now);
/* The ZAP handler lets a handshake of key_id in: counted for ttl_ms or until the
 * connection speaks.  Returns 0, or -1 when the key is at its bound (refuse it). */
int conns_admit(conns_t *t, const char *key_id, int64_t now, int64_t ttl_ms);
int conns_open(const conns_t *t);

/* One open connection, as conns_list_open lists them. */
typedef struct {
    int fd;
    char key_id[64];
    char district[64];
} conns_entry_t;
/* Lists up to cap open connections from table position *from on, and moves *from past
 * them (start at 0; fewer than cap listed: the end).  Returns how many were listed. */
int conns_list_open(const conns_t *t, int *from, conns_entry_t *out, int cap);

#endif
