/*
 * kh_zap.h — the ZAP handler: who may connect to a CURVE socket of this process.
 *
 * ZeroMQ asks the handler bound at inproc://zeromq.zap.01 about every CURVE
 * handshake.  Ours answers from the key registry (lib/kh_keys): the client's key
 * must be registered, active and within its validity, with a role allowed for the
 * socket's ZAP domain; the answer's User-Id is the key id, which the service reads
 * from every message (zmq_msg_gets "User-Id") to take the sender's identity from the
 * key, never from the payload.  Without a handler a CURVE server accepts any key:
 * so kh_zap_new must succeed before any CURVE socket binds, and kh_zap_selfcheck
 * proves at start-up that an unknown key is refused (fail closed).
 */
#ifndef KH_ZAP_H
#define KH_ZAP_H

#include <sqlite3.h>
#include <stdint.h>
#include <uv.h>

typedef struct kh_zap kh_zap_t;

/* Binds the handler.  domains: "name:role,role;name:role" (e.g. "nodes:district;
 * feed:province,admin").  Returns NULL after logging. */
kh_zap_t *kh_zap_new(uv_loop_t *loop, void *zctx, sqlite3 *keys, const char *domains);
void kh_zap_close(kh_zap_t *z);
/* More "name:role,…" domains for the same handler (one per ZeroMQ context).
 * Returns 0, or -1 when the list would be too long. */
int kh_zap_add_domains(kh_zap_t *z, const char *domains);
uint64_t kh_zap_refused(const kh_zap_t *z);
/* An extra say for the service, asked after the key passed: fn returns 0 to let the
 * handshake through, -1 to refuse it (having logged why), e.g. a key already at its
 * bound of connections. */
typedef int (*kh_zap_admit_fn)(void *arg, const char *domain, const char *key_id,
                               const char *unit);
void kh_zap_admit(kh_zap_t *z, kh_zap_admit_fn fn, void *arg);

/* Connects a client with a fresh random key to `endpoint` (a CURVE socket of this
 * process whose server public key is server_pk) and watches the handshake: done(arg,
 * 0) when it was refused for authentication, done(arg, -1) when it was let in or
 * nothing happened within timeout_ms.  Returns 0 (done will be called) or -1. */
typedef void (*kh_zap_check_fn)(void *arg, int ok);
int kh_zap_selfcheck(uv_loop_t *loop, void *zctx, const char *endpoint, const uint8_t server_pk[32],
                     int timeout_ms, kh_zap_check_fn done, void *arg);
/* The same with a client of socket `type` (ZMQ_SUB for a PUB endpoint). */
int kh_zap_selfcheck_as(uv_loop_t *loop, void *zctx, int type, const char *endpoint,
                        const uint8_t server_pk[32], int timeout_ms, kh_zap_check_fn done,
                        void *arg);

#endif
