/*
 * kh_zap.h — the ZAP handler: who may connect to a CURVE socket of this process.
 *
 * ZeroMQ asks the handler bound at inproc://zeromq.zap.01 about every CURVE
 * handshake.  Ours answers from the key registry (lib/security/kh_keys): the client's key
 * must be registered, active and within its validity, with a role allowed for the
 * socket's ZAP domain; the answer's User-Id is the key id, which the service reads
 * from every message (zmq_msg_gets "User-Id") to take the sender's identity from the
 * key, never from the payload.  Without a handler a CURVE server accepts any key:
 * so kh_zap_new must succeed before any CURVE socket binds, and kh_zap_selfcheck
 * proves at start-up that an unknown key is refused (fail closed).
 */
#ifndef KH_ZAP_H
#define KH_ZAP_H

#include <stdint.h>
#include <uv.h>

#include "kh_keys.h"

typedef struct kh_zap kh_zap_t;

/* Binds the handler.  domains: "name:role,role;name:role" (e.g. "nodes:district;
 * feed:province,analyst,admin").  keys is the registry it asks, borrowed: it must outlive the
 * handler.  Returns NULL after logging. */
kh_zap_t *kh_zap_new(uv_loop_t *loop, void *zctx, kh_keys_t *keys, const char *domains);
void kh_zap_close(kh_zap_t *z);
/* More "name:role,…" domains for the same handler (one per ZeroMQ context).
 * Returns 0, or -1 when the list would be too long. */
int kh_zap_add_domains(kh_zap_t *z, const char *domains);
uint64_t kh_zap_refused(const kh_zap_t *z);
/* How long, past [security] handshake_ms, a service counts a handshake it admitted and
 * has not heard from yet (the collector's max_connections_per_key; a node's check waits
 * that long for a busy key before saying so). */
#define KH_ADMIT_GRACE_MS 5000
/* An extra say for the service, asked after the key passed: fn returns 0 to let the
 * handshake through, -1 to refuse it (having logged why), e.g. a key already at its
 * bound of connections.  Such a refusal is ZAP status 300 (temporary: the key is good,
 * try again later), never 400, so that a node at its bound is not told its key is
 * refused. */
typedef int (*kh_zap_admit_fn)(void *arg, const char *domain, const char *key_id,
                               const char *unit);
void kh_zap_admit(kh_zap_t *z, kh_zap_admit_fn fn, void *arg);

/* ---- the start-up self-check ----
 *
 * A client connects to a CURVE server of this process and watches its own handshake.
 * One attempt ends in one of three ways:
 *   KH_ZAP_REFUSED    the server refused the client for authentication
 *                     (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH): with a key nobody registered,
 *                     the check PASSES;
 *   KH_ZAP_ADMITTED   the server let the client in (ZMQ_EVENT_HANDSHAKE_SUCCEEDED): with
 *                     an unregistered key, authentication is NOT enforced (a security
 *                     failure: the service must not run);
 *   KH_ZAP_NO_ANSWER  neither within the attempt's time: NOT KNOWN YET (a loaded
 *                     machine, a slow handler, nobody answering at that address).
 * Only NO_ANSWER is retried, each time with a fresh client (a fresh random key, or the
 * same configured key) waiting twice as long as the attempt before, up to
 * max_timeout_ms, `attempts` times in all; each attempt that gets no answer logs a
 * warning (event "auth.selfcheck", with the attempt number).  A verdict (REFUSED or
 * ADMITTED) ends the check at once.  After the last attempt without an answer the
 * outcome is KH_ZAP_NO_ANSWER: the caller decides (a service stops with a temporary
 * failure, kh_service.h).  Any other handshake failure (a protocol error: not the
 * CURVE server we think) is no verdict either. */
typedef enum {
    KH_ZAP_REFUSED = 0,
    KH_ZAP_ADMITTED = 1,
    KH_ZAP_NO_ANSWER = 2,
} kh_zap_outcome_t;

/* "refused", "admitted" or "no answer". */
const char *kh_zap_outcome_name(kh_zap_outcome_t o);

typedef struct {
    int type;                    /* the client: ZMQ_DEALER (for a ROUTER server), ZMQ_SUB (PUB) */
    const char *endpoint;        /* the server as a client reaches it (< 256 bytes) */
    const uint8_t *server_pk;    /* the server's CURVE public key, 32 bytes */
    /* the client's CURVE key pair (32 bytes each), e.g. [security] selfcheck_key; both
     * NULL: a fresh random pair for every attempt, registered nowhere */
    const uint8_t *client_pk, *client_sk;
    int timeout_ms;              /* the first attempt's wait for a verdict, >= 1 */
    int max_timeout_ms;          /* the longest wait of one attempt (below timeout_ms: timeout_ms) */
    int attempts;                /* attempts in all, >= 1 */
    const char *what;            /* log lines name the endpoint "WHAT ENDPOINT" ("the log stream
                                  * tcp://…"), cut at 79 bytes; may be NULL */
} kh_zap_check_opts_t;

/* The most the check can take with these options: the sum of every attempt's wait, in
 * ms (e.g. 5000 ms doubling up to 60000 ms, 6 attempts: 195000).  -1 when the options
 * are out of range. */
int64_t kh_zap_selfcheck_bound_ms(const kh_zap_check_opts_t *o);

/* Called once with the outcome and the number of attempts made (1..attempts). */
typedef void (*kh_zap_check_fn)(void *arg, kh_zap_outcome_t outcome, int attempts);
typedef struct kh_zap_check kh_zap_check_t;

/* Starts the check on `loop` (the options are copied).  Returns the running check, or
 * NULL after logging when it cannot start (options out of range, no socket).  Unless
 * cancelled, done is called exactly once, from the loop, never from inside this call;
 * the handle is freed after done returns (forget it there).  If an attempt after the
 * first cannot start (no socket), that is logged as an error and the outcome is
 * KH_ZAP_NO_ANSWER at once. */
kh_zap_check_t *kh_zap_selfcheck(uv_loop_t *loop, void *zctx, const kh_zap_check_opts_t *o,
                                 kh_zap_check_fn done, void *arg);
/* Stops a running check without calling done (e.g. the service is stopping): closes its
 * sockets and timer; the loop can end.  c may be NULL. */
void kh_zap_selfcheck_cancel(kh_zap_check_t *c);

#endif
