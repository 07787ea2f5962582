/*
 * kh_sign.h — signed reports (Ed25519, libsodium).  A district node signs each report
 * it sends; the province checks the signature with the district's registered public
 * key before counting anything, and `kh-admin verify` proves afterwards which key
 * signed the numbers that were counted.
 *
 * What is signed is not the protobuf encoding (protobuf bytes are not canonical: field
 * order, default values and unknown fields may differ between two encodings of one
 * report) but these canonical bytes, which another implementation can reproduce:
 *
 *   canonical = str("KH-REPORT-v1")
 *               str(report_id)  u32(revision)  str(district)  str(period)
 *               i64(submitted_at)  str(source_name)
 *               u32(number of values)
 *               then for each value, in the report's order:
 *                   str(orgunit)  str(indicator)  str(raw)  u32(line)
 *
 *   u32(x)  4 bytes, big-endian, unsigned
 *   i64(x)  8 bytes, big-endian, two's complement
 *   str(s)  u32(byte length of s) followed by the bytes of s (UTF-8 as stored in the
 *           message, no terminator, no normalisation); an absent string is "".
 *
 * Not covered: received_at (stamped by the collector), signature and signer.  Every
 * other field is, so a report cannot be moved to another district, period, revision
 * or file name, nor have a value changed, added, removed or reordered, without the
 * signature failing.  Example: report_id "829-2020S2" is encoded as
 * 00 00 00 0A 38 32 39 2D 32 30 32 30 53 32.
 *
 * The signature (Report.signature) is the 64-byte detached Ed25519 signature
 * (crypto_sign_detached) of the canonical bytes; Report.signer is the id of the key
 * (the district's registered key, see lib/security/kh_keys.h).  The digest used by the audit
 * log is SHA-256 of the canonical bytes, in lowercase hex.
 */
#ifndef KH_SIGN_H
#define KH_SIGN_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "kh.pb-c.h"
#include "kh_keys.h"
#include "kh_result.h"

#define KH_SIGN_VERSION "KH-REPORT-v1"

/* The canonical bytes of r, in a new malloc'd buffer (*buf, *len).  Returns 0, or -1
 * (out of memory, or a field longer than 4 GiB). */
int kh_sign_canonical(const Kh__Report *r, uint8_t **buf, size_t *len);

/* Signs r with the secret key sk (libsodium's 64-byte form) and sets r->signature
 * (malloc'd, replacing any earlier one) and r->signer (a copy of `signer`).  Both are
 * freed by protobuf-c's free_unpacked, or by kh_sign_clear.  Returns 0 or -1. */
int kh_sign_report(Kh__Report *r, const uint8_t sk[crypto_sign_SECRETKEYBYTES],
                   const char *signer);

/* 0 when r->signature is a valid Ed25519 signature of r's canonical bytes under pk;
 * -1 otherwise (no signature, wrong length, wrong key, any byte changed). */
int kh_sign_verify(const Kh__Report *r, const uint8_t pk[crypto_sign_PUBLICKEYBYTES]);

/* Why kh_sign_check refused a report. */
typedef enum {
    KH_SIGN_UNSIGNED = 1,   /* no signer or no signature */
    KH_SIGN_NO_KEY,         /* the signer is no key registered for r->district and valid
                             * at the time asked (unknown, another unit's, revoked,
                             * expired) */
    KH_SIGN_MISMATCH,       /* the key is registered, the signature does not match the
                             * report's contents: changed after signing, or another key */
} kh_sign_why_t;

/* When the key of a stored report must have been valid: when it first arrived at the
 * collector (arrived_at, the machine's clock), or received_at for a report stored
 * before arrived_at was kept. */
int64_t kh_sign_key_time(const Kh__Report *r);

/* The one check of a report's signature, wherever it is made (the collector at the
 * door, the aggregator before counting, kh-admin verify afterwards): r is signed by a
 * key that the registry `keys` (lib/security/kh_keys.h) holds for r->district and that is valid
 * at at_ms, over these very numbers.
 * Returns KH_OK, pk filled (pk may be NULL); KH_NO, *why set (why may be NULL) and the
 * reason for a person in vi and en (each may be NULL), pk filled when the key was found
 * (KH_SIGN_MISMATCH); KH_ERR when the registry could not be read (the caller retries:
 * a report is never refused for the province's own trouble).
 * digest (may be NULL): r's digest, as kh_sign_digest gives it, whatever the answer
 * (the canonical bytes are made once for both: a caller that wants the two asks here). */
int kh_sign_check(kh_keys_t *keys, const Kh__Report *r, int64_t at_ms, uint8_t pk[32],
                  char digest[65], kh_sign_why_t *why, char *vi, size_t vcap, char *en,
                  size_t ecap);

/* SHA-256 of r's canonical bytes as 64 lowercase hex digits; "" when out of memory. */
void kh_sign_digest(const Kh__Report *r, char hex[65]);

/* Lowercase hex of len bytes into out (cap >= 2*len+1; cut to fit otherwise). */
void kh_sign_hex(const uint8_t *b, size_t len, char *out, size_t cap);

/* Frees what kh_sign_report set (r->signature, r->signer) on a report built by hand
 * (kh_report_clear does not know these two fields), leaving them empty. */
void kh_sign_clear(Kh__Report *r);

#endif
