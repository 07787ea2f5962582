/*
 * kh_door.h — the connections of a socket that faces outside (the collector's node
 * socket), watched and bounded (issue 11: one host, or one registered key, must not
 * keep the others out).
 *
 * ZeroMQ accepts TCP connections in its own thread and tells nobody but the socket
 * monitor.  The door reads that monitor (ACCEPTED and DISCONNECTED carry the
 * descriptor; handshake failures only a reason) and keeps a table, per descriptor, of
 * the peer's address and whether the connection has spoken yet (the service calls
 * kh_door_spoke with the ZMQ_SRCFD of every message it reads).  Then:
 *
 *   - a connection must speak within `speak_ms` of being accepted (a node says HELLO at
 *     once): one that does not — a half-open TCP connection, a handshake that never
 *     ends, an admitted key that stays silent — is cut (reason "silent").  While the
 *     socket is paused (backpressure: nothing is read), nobody is cut for silence;
 *   - one address has at most `max_unspoken_per_address` connections that have not
 *     spoken yet: one more cuts the oldest of them (reason "per_address"), so a flood
 *     from one host never fills the descriptor table, and a node from another host
 *     (or the same host's genuine node, which speaks at once) still gets in;
 *   - the table itself is bounded (max_connections); a connection accepted when it is
 *     full of live ones is cut at once (reason "table_full");
 *   - the service cuts a connection itself with kh_door_cut (a revoked key, one more
 *     than a key may hold).
 *
 * Cutting is shutdown(2) of the descriptor, never close(2): ZeroMQ's thread owns it and
 * closes it when it sees the connection end.  Before cutting, the door reads every
 * monitor event already queued and checks that the descriptor still joins the same two
 * addresses as when it was accepted (a descriptor closed and reused is never cut).
 *
 * Every refusal is counted in kh_door_refused_total{reason} and logged, rate-limited
 * per address (lib/process/kh_log.h KH_WARN_RL).  Reasons: silent, per_address, table_full,
 * mechanism (a NULL or PLAIN client at a CURVE door), protocol (another handshake
 * failure), descriptors (accept failed: the process is out of file descriptors),
 * and the service's own (revoked, key_limit, size, ack_keys: kh_door_refused).  A
 * handshake that ends without a reason (the client left, handshake_ms ran out, or the
 * door cut it) is counted apart, in kh_door_handshakes_failed_total.
 */
#ifndef KH_DOOR_H
#define KH_DOOR_H

#include <stdint.h>
#include <uv.h>

#include "kh_zuv.h"

typedef enum {
    KH_DOOR_SILENT = 0,
    KH_DOOR_PER_ADDRESS,
    KH_DOOR_TABLE_FULL,
    KH_DOOR_MECHANISM,
    KH_DOOR_PROTOCOL,
    KH_DOOR_DESCRIPTORS,
    KH_DOOR_REVOKED,
    KH_DOOR_KEY_LIMIT,
    KH_DOOR_SIZE,
    KH_DOOR_ACK_KEYS,
    KH_DOOR_REASONS
} kh_door_reason_t;

const char *kh_door_reason_name(kh_door_reason_t r);

typedef struct {
    const char *name;                 /* for the monitor's endpoint and logs ("nodes") */
    int max_connections;              /* table size, >= 1 */
    int max_unspoken_per_address;     /* >= 1 */
    int speak_ms;                     /* >= 100 */
} kh_door_opts_t;

/* A connection ended (its descriptor), e.g. to forget it in the service's own tables. */
typedef void (*kh_door_closed_fn)(void *arg, int fd);

typedef struct kh_door kh_door_t;

/* Monitor events waiting to be read at most (a flood of connections beyond it loses
 * events: the door then misjudges those connections, never the process's memory). */
#define KH_DOOR_EVENTS_MAX 65536

/* Starts watching `sock`: before it binds, so that no connection goes untold.
 * Returns NULL after logging. */
kh_door_t *kh_door_new(uv_loop_t *loop, void *zctx, kh_zsock_t *sock, const kh_door_opts_t *o,
                       kh_door_closed_fn closed, void *arg);
/* Stops the monitor (before the socket closes). */
void kh_door_close(kh_door_t **d);

/* Reads the monitor events already queued (call before acting on a message, so that a
 * connection closed and its descriptor reused are told apart). */
void kh_door_drain(kh_door_t *d);
/* A message came on descriptor fd (ZMQ_SRCFD). */
void kh_door_spoke(kh_door_t *d, int fd);
/* 1 while fd is a connection of this door whose close the monitor has not told (cut
 * ones included: they are closing), 0 after (or when it was never let in): a message
 * read now from fd came before its close (ZeroMQ hands those over late).  Call after
 * kh_door_drain. */
int kh_door_live(const kh_door_t *d, int fd);
/* Cuts the connection on fd for `reason` (counted, logged with key/district if given).
 * Returns 0 when it was cut, -1 when fd is not an open connection of this door. */
int kh_door_cut(kh_door_t *d, int fd, kh_door_reason_t reason, const char *key_id,
                const char *district);
/* Counts a refusal that cuts nothing (a message dropped). */
void kh_door_refused(kh_door_t *d, kh_door_reason_t reason);
uint64_t kh_door_refused_count(const kh_door_t *d, kh_door_reason_t reason);

/* Open connections, and those not yet spoken. */
int kh_door_open(const kh_door_t *d);
int kh_door_unspoken(const kh_door_t *d);

/* Raises this process's soft limit of open files to its hard limit (at most `want`);
 * returns the soft limit now in force, or -1. */
long kh_door_raise_nofile(long want);

#endif
