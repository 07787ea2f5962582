/*
 * audit.h — what the aggregator writes into its audit log (lib/security/kh_audit.h), and the
 * anchor of the log's checkpoints at start.
 *
 * Entries (kind, subject, body as compact JSON):
 *   revision  "<report_id>/<revision>"  every revision applied, accepted or rejected:
 *             {district, period, accepted, signer, signature (hex), digest (what was
 *             signed), received_at[, reason: why the aggregator refused it]}
 *   value     "<period>/<orgunit>/<indicator>"  every district or ancestor cell that
 *             changed: {report_id, revision, before, after}, each {sum, n} or null
 *             (ag_audit_cell)
 * Invariants: an entry is written in the transaction of what it records (the caller's
 * batch); when it cannot be written the caller fails the batch, so that nothing is
 * recorded without its entry.
 */
#ifndef KH_AG_AUDIT_H
#define KH_AG_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "agg.h"
#include "kh.pb-c.h"
#include "kh_cells.h"

/* One "revision" entry: what was applied, who signed it, the digest of what was signed
 * (reason: why the aggregator refused it, or NULL; digest: r's, as kh_sign_check gave it,
 * or NULL to make it here).  Returns 0 or -1. */
int ag_audit_revision(agg_t *a, const Kh__Report *r, int accepted, const char *reason,
                      const char *digest);

/* A cell's value as JSON: {"sum":…,"n":…}, or null when it does not exist (a new
 * reference). */
json_t *ag_audit_cell(int exists, double sum, int64_t n);

/* One "value" entry for a district or province cell that changed; takes the references
 * to before and after.  Returns 0 or -1. */
int ag_audit_value(agg_t *a, const Kh__Report *r, const char *orgunit, const char *indicator,
                   json_t *before, json_t *after);

/* A "value" entry for each district cell that differs between `before` and `now` (both
 * sorted).  Returns 0 or -1. */
int ag_audit_district_cells(agg_t *a, const Kh__Report *r, const kh_cells_t *before,
                            const kh_cells_t *now);

/* [aggregator] audit_key (made with its .pub at the first start) and audit_checkpoints:
 * anchors the audit log (lib/security/kh_audit.h).  Returns 0, or -1 after logging why and what
 * to do (the aggregator does not start: entries signed before are gone or changed, the
 * key is lost, or a file cannot be written).  Events: audit.key, audit.key_created,
 * audit.anchor. */
int ag_audit_anchor(agg_t *a);

#endif
