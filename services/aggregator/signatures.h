/*
 * signatures.h — the aggregator's check of reports' signatures ([security]
 * verify_signatures, lib/security/kh_sign.h): the setting, and what becomes of an accepted
 * report whose signature does not verify.
 * Invariants: nothing is counted before its district's signature is checked (apply does
 * it first, when a->verify_signatures); a report refused here is kept as rejected and
 * its district told, never counted; trouble reading the key registry refuses nothing (the
 * batch is retried).
 */
#ifndef KH_AG_SIGNATURES_H
#define KH_AG_SIGNATURES_H

#include "agg.h"
#include "kh.pb-c.h"

/* [security] verify_signatures = yes|no (default yes): count a report only when it is
 * signed by a key registered for its district and valid when it was received.  "no"
 * is for the transition while nodes have no keys, and is logged as a warning
 * (security.signatures_off).  Opens the key registry ([security] keys_db) into a->keys
 * when on.  Returns 0, or -1 after logging. */
int ag_signatures_setup(agg_t *a);

/* An accepted verdict whose signature does not verify (vi, en: why, from kh_sign_check):
 * nothing is counted; it is kept as rejected with the finding BAD_SIGNATURE, and the
 * district is told (EVENT REJECTED; logged as report.bad_signature).  Returns
 * KH_APPLY_NEW, KH_APPLY_DUP (kept already, or counted before its key was revoked) or
 * KH_APPLY_FAIL. */
int ag_signatures_refuse(agg_t *a, const Kh__Verdict *v, const char *vi, const char *en);

#endif
