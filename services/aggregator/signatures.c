/*
 * signatures.c — [security] verify_signatures and the refusal of a report whose
 * signature does not verify; see signatures.h.
 */
#include "signatures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "kh_findings.h"
#include "kh_log.h"
#include "kh_util.h"
#include "kh_wire.h"
#include "ledger.h"

int ag_signatures_setup(agg_t *a)
{
    /* yes or no: kh_config_load refused anything else */
    a->verify_signatures = kh_config_yes(a->svc->cfg, "security", "verify_signatures");
    if (!a->verify_signatures) {
        KH_WARN("security.signatures_off", "[security] verify_signatures = no: reports are "
                "counted WITHOUT checking their reporting unit's signature (only for the "
                "transition while nodes have no keys)");
        return 0;
    }
    /* one connection to the registry serves the feed's ZAP handler and this check */
    return a->keys || kh_service_keys_db(a->svc, &a->keys) == 0 ? 0 : -1;
}

int ag_signatures_refuse(agg_t *a, const Kh__Verdict *v, const char *vi, const char *en)
{
    const Kh__Report *r = v->report;
    /* a resend of a verdict counted before (its key revoked since): already applied */
    sqlite3_stmt *st = a->st_verdict_get;
    sqlite3_bind_text(st, 1, r->report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->revision);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step == SQLITE_ROW)
        return KH_APPLY_DUP;
    if (step != SQLITE_DONE)
        return KH_APPLY_FAIL;
    char mvi[768], men[768];
    snprintf(mvi, sizeof mvi, "Báo cáo không được tổng hợp: %s", vi);
    snprintf(men, sizeof men, "The report is not counted: %s", en);
    kh_findings_t f = {0};
    int rc = KH_APPLY_FAIL;
    uint8_t *buf = NULL;
    size_t len;
    if (kh_findings_add(&f, "BAD_SIGNATURE", 1, 0, "", "", "", mvi, men) < 0)
        goto out;
    Kh__Verdict rv = *v;
    rv.accepted = 0;
    rv.findings = f.items;
    rv.n_findings = f.n;
    rv.validated_at = kh_now_ms();
    if (kh_wire_pack(&rv.base, &buf, &len) < 0)
        goto out;
    rc = ag_ledger_reject(a, &rv, buf, len, "BAD_SIGNATURE");
    if (rc != KH_APPLY_NEW)
        goto out;
    if (ag_events_put(a, r, KH__STAGE__STAGE_REJECTED, "rejected", f.items, f.n, 0) < 0) {
        rc = KH_APPLY_FAIL;
        goto out;
    }
    a->bad_signatures++;
    KH_WARN("report.bad_signature", men, "report_id", r->report_id, "district", r->district,
            "period", r->period, "signer", r->signer ? r->signer : "");
out:
    free(buf);
    kh_findings_clear(&f);
    return rc;
}
