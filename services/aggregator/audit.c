/*
 * audit.c — the aggregator's audit entries and checkpoint anchor; see audit.h.
 *
 * Every entry goes through audit_add, which gives up (-1) when the JSON cannot be made
 * (memory) or the row not written: the caller's batch then rolls back rather than commit
 * a change without its entry.
 */
#include "audit.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "kh_log.h"
#include "kh_sign.h"

/* Appends (kind, subject, body) to the audit log; takes the reference to body.
 * Returns 0 or -1 (the batch then rolls back: nothing is recorded without its entry). */
static int audit_add(agg_t *a, const char *kind, const char *subject, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    int rc = text ? kh_audit_add(a->audit, kind, subject, text) : -1;
    free(text);
    return rc;
}

/* A number as JSON: an integer when it is one (counts, money), else a real. */
static json_t *num_json(double x)
{
    if (x == (double)(json_int_t)x && x > -9007199254740992.0 && x < 9007199254740992.0)
        return json_integer((json_int_t)x);
    return json_real(x);
}

json_t *ag_audit_cell(int exists, double sum, int64_t n)
{
    return exists ? json_pack("{s:o, s:I}", "sum", num_json(sum), "n", (json_int_t)n)
                  : json_null();
}

int ag_audit_revision(agg_t *a, const Kh__Report *r, int accepted, const char *reason,
                      const char *digest)
{
    char subject[96], own[65], sig[2 * 64 + 1];
    snprintf(subject, sizeof subject, "%.64s/%u", r->report_id, r->revision);
    if (!digest) {
        kh_sign_digest(r, own);
        digest = own;
    }
    size_t slen = r->signature.len <= 64 ? r->signature.len : 64;   /* a valid one is 64 */
    kh_sign_hex(r->signature.data, r->signature.data ? slen : 0, sig, sizeof sig);
    json_t *b = json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:I}", "district", r->district,
                          "period", r->period, "accepted", accepted, "signer",
                          r->signer ? r->signer : "", "signature", sig, "digest", digest,
                          "received_at", (json_int_t)r->received_at);
    if (b && reason)
        json_object_set_new(b, "reason", json_string(reason));
    return audit_add(a, "revision", subject, b);
}

int ag_audit_value(agg_t *a, const Kh__Report *r, const char *orgunit, const char *indicator,
                   json_t *before, json_t *after)
{
    char subject[160];
    snprintf(subject, sizeof subject, "%s/%s/%s", r->period, orgunit, indicator);
    json_t *b = json_pack("{s:s, s:i, s:o, s:o}", "report_id", r->report_id, "revision",
                          (int)r->revision, "before", before, "after", after);
    return audit_add(a, "value", subject, b);
}

int ag_audit_district_cells(agg_t *a, const Kh__Report *r, const kh_cells_t *before,
                            const kh_cells_t *now)
{
    size_t i = 0, j = 0;
    while (i < before->n || j < now->n) {
        int c = i >= before->n ? 1 : j >= now->n ? -1 : kh_cell_cmp(&before->v[i], &now->v[j]);
        const kh_cell_t *b = c <= 0 ? &before->v[i] : NULL, *n = c >= 0 ? &now->v[j] : NULL;
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
        if (b && n && b->sum == n->sum && b->n == n->n)
            continue;
        const kh_cell_t *k = b ? b : n;
        if (ag_audit_value(a, r, k->orgunit, k->indicator,
                           ag_audit_cell(b != NULL, b ? b->sum : 0, b ? b->n : 0),
                           ag_audit_cell(n != NULL, n ? n->sum : 0, n ? n->n : 0)) < 0)
            return -1;
    }
    return 0;
}

int ag_audit_anchor(agg_t *a)
{
    char key_path[1024], cp_path[1024], err[1536], fp[17];
    if (kh_service_str(a->svc, "aggregator", "audit_key", key_path,
                       sizeof key_path) ||
        kh_service_str(a->svc, "aggregator", "audit_checkpoints",
                       cp_path, sizeof cp_path))
        return -1;
    kh_key_t k;
    int created = 0;
    if (kh_key_own(key_path, "audit", "aggregator", &k, &created, err, sizeof err) < 0) {
        KH_ERROR("audit.key", err, "key", key_path);
        return -1;
    }
    kh_key_fingerprint(k.ed_pk, fp);
    if (created)
        KH_WARN("audit.key_created", "a new audit key signs the audit log's checkpoints from "
                "now on: keep a copy of its .pub (and a backup of the key) off this machine; "
                "kh-admin audit verify checks with the .pub", "key", key_path,
                "fingerprint", fp);
    int rc = kh_audit_anchor(a->audit, cp_path, &k, created, err, sizeof err);
    sodium_memzero(&k, sizeof k);
    if (rc < 0) {
        KH_ERROR("audit.anchor", err, "checkpoints", cp_path, "key", key_path,
                 "fingerprint", fp);
        return -1;
    }
    return 0;
}
