/*
 * intake.c — what the collector stores (collector.h): a node's REPORT, checked field by
 * field (issue 11: nothing gets past the door unless the later stages can handle it),
 * stamped with the district of the key that sent it, stored whole as one blob row and
 * queued for the validator in the same transaction (persist before ack), or refused with
 * a REJECTED receipt; and a RECEIPT from the notifier, remembered once and queued for the
 * district's node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh.pb-c.h"
#include "kh_log.h"
#include "kh_util.h"
#include "kh_db.h"
#include "kh_report.h"
#include "kh_sign.h"

#include "collector.h"

/* A counter as a log field. */
const char *co_count_str(uint64_t n)
{
    static char buf[24];        /* one log call's field at a time */
    return kh_u64_str(n, buf, sizeof buf);
}

/* The malformed count (lib/process/kh_stage.h) as a log field. */
const char *co_malformed(collector_t *c)
{
    return co_count_str(kh_stage_malformed_count(c->st));
}

/* A report refused at the door (wrong district, bad id): stored as refused, answered
 * with a REJECTED receipt and acknowledged, so the node stops resending it. */
static int refuse(collector_t *c, const char *district, Kh__Report *r, const char *code,
                  const char *vi, const char *en)
{
    c->refused++;
    KH_WARN("report.refused", en, "district", district, "report_id", r->report_id, "code", code);
    Kh__Finding f = KH__FINDING__INIT, *fp = &f;
    f.code = (char *)code;
    f.is_error = 1;
    f.message_vi = (char *)vi;
    f.message_en = (char *)en;
    Kh__Receipt rc = KH__RECEIPT__INIT;
    char event_id[KH_KEY_MAX];
    snprintf(event_id, sizeof event_id, "%.60s/%u/refused", r->report_id, r->revision);
    rc.event_id = event_id;
    rc.report_id = r->report_id;
    rc.revision = r->revision;
    rc.district = (char *)district;
    rc.period = r->period;
    rc.stage = KH__STAGE__STAGE_REJECTED;
    rc.n_findings = 1;
    rc.findings = &fp;
    rc.at = kh_now_ms();
    rc.source_name = r->source_name;
    int put = kh_link_put_msg(c->to_nodes, district, event_id, KH_T_RECEIPT, &rc.base);
    return put < 0 ? KH_APPLY_FAIL : put == 0 ? KH_APPLY_DUP : KH_APPLY_NEW;
}

/* The highest revision of report_id stored, 0 for none, -1 on a database error. */
static int64_t last_revision(collector_t *c, const char *report_id)
{
    sqlite3_stmt *st = c->st_last_rev;
    sqlite3_bind_text(st, 1, report_id, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    int64_t last = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    if (last < 0)
        KH_ERROR("db.error", sqlite3_errmsg(c->db), "report_id", report_id);
    return last;
}


int co_intake_report(collector_t *c, const char *from, const kh_wmsg_t *m, char *key,
                     size_t keycap)
{
    char district[KH_CODE_MAX];
    if (strlen(from) >= sizeof district)
        return KH_APPLY_BAD;
    kh_strlcpy(district, from, sizeof district);
    /* the work a report costs is bounded before it is done: its values are counted on
     * the wire, and one with too many is decoded without them, to be refused */
    long n_values = kh_wire_count_field(m->payload, m->len, 8);
    Kh__Report *r = NULL;
    if (n_values > c->max_values) {
        uint8_t *head = malloc(m->len);
        size_t hl = head ? kh_wire_without_field(m->payload, m->len, 8, head) : 0;
        r = head ? kh__report__unpack(NULL, hl, head) : NULL;
        free(head);
    } else if (n_values >= 0) {
        r = kh__report__unpack(NULL, m->len, m->payload);
    }
    if (!r) {
        kh_stage_malformed(c->st);
        KH_WARN("report.malformed", "a REPORT payload does not decode", "district", district,
                "malformed", co_malformed(c));
        return KH_APPLY_BAD;
    }
    int rc = KH_APPLY_BAD;
    /* without a readable id and revision no receipt can name the report: dropped */
    if (!kh_text_ok(r->report_id) || !kh_text_ok(r->period) || strlen(r->report_id) == 0 ||
        strlen(r->report_id) > 64 || r->revision == 0 || strlen(r->period) > 16) {
        kh_stage_malformed(c->st);
        KH_WARN_RL("report.malformed", district, "report id, revision or period missing, too "
                   "long or not UTF-8 text: dropped", "district", district,
                   "malformed", co_malformed(c));
        goto out;
    }
    snprintf(key, keycap, "%s/%u", r->report_id, r->revision);
    char expect_id[KH_REPORT_ID_MAX];
    kh_report_id(expect_id, sizeof expect_id, district, r->period);   /* too long: "" */
    /* Who reports is data (reporters.csv), judged on the last day of the period the report
     * covers (a late report is judged by its period, not by the day it arrives).  A period
     * that does not parse is refused just below as PERIOD_MALFORMED, so here the sender
     * need only be a reporting unit for some period. */
    kh_period_t per;
    int reports = kh_period_parse(r->period, &per) == 0 &&
                          kh_catalog_is_report_period(c->cat, &per)
                      ? kh_catalog_reports(c->cat, district, kh_period_end(&per))
                      : kh_catalog_reports_ever(c->cat, district);
    if (reports != 1) {
        char vi[256], en[256];
        snprintf(vi, sizeof vi, "Nút gửi (%s) không phải là đơn vị báo cáo đã đăng ký cho kỳ "
                 "%s (reporters.csv của danh mục)", district, r->period);
        snprintf(en, sizeof en, "the sender (%s) is not a registered reporting unit for period "
                 "%s (the catalogue's reporters.csv)", district, r->period);
        rc = refuse(c, district, r, "UNKNOWN_SENDER", vi, en);
        goto out;
    }
    kh_form_error_t fe;
    if (n_values > c->max_values || kh_report_form(r, (size_t)c->max_values, &fe) < 0) {
        /* never carry such a report (or its name) further down the pipeline */
        const char *code = n_values > c->max_values ? "TOO_LARGE" : fe.code;
        kh_report_set_str(&r->source_name, "");
        KH_WARN_RL("report.form", district, "a report refused at the door for its form",
                   "district", district, "report_id", r->report_id, "code", code,
                   "field", n_values > c->max_values ? "values" : fe.field);
        if (!strcmp(code, "TOO_LARGE"))
            rc = refuse(c, district, r, "TOO_LARGE",
                        "Báo cáo quá lớn: quá nhiều dòng hoặc có ô dữ liệu quá dài. Hãy tách "
                        "hoặc sửa tệp rồi gửi lại",
                        "the report is too large: too many rows or a field that is too long; "
                        "split or fix the file and send it again");
        else if (!strcmp(code, "PERIOD_MALFORMED"))
            rc = refuse(c, district, r, "PERIOD_MALFORMED",
                        "Kỳ báo cáo không hợp lệ (phải có dạng 2018S1). Hãy sửa cột kỳ báo "
                        "cáo rồi gửi lại",
                        "the period is malformed (expected e.g. 2018S1); fix the period "
                        "column and send the file again");
        else
            rc = refuse(c, district, r, code,
                        "Báo cáo có ô chứa ký tự không hợp lệ (không phải văn bản UTF-8). Hãy "
                        "lưu tệp dạng CSV UTF-8 rồi gửi lại",
                        "the report holds a field that is not UTF-8 text; save the file as "
                        "CSV UTF-8 and send it again");
        goto out;
    }
    /* highest revision counts: a bound on the step keeps one report from pinning its
     * half-year with revision 4294967295 (issue 11) */
    int64_t last = last_revision(c, r->report_id);
    if (last < 0) {
        rc = KH_APPLY_FAIL;
        goto out;
    }
    if ((int64_t)r->revision > last + c->max_revision_step) {
        char vi[300], en[300];
        snprintf(vi, sizeof vi, "Số lần sửa %u quá lớn: lần gửi trước là %lld. Nút gửi "
                 "đánh số lần sửa tự động; nếu thấy lỗi này, hãy báo quản trị viên",
                 r->revision, (long long)last);
        snprintf(en, sizeof en, "revision %u is too far ahead of the last one received "
                 "(%lld; at most %ld more): the node numbers revisions itself; if you see "
                 "this, tell the administrator", r->revision, (long long)last,
                 c->max_revision_step);
        rc = refuse(c, district, r, "REVISION_TOO_HIGH", vi, en);
        goto out;
    }
    if ((r->district[0] && strcmp(r->district, district) != 0) ||
        strcmp(r->report_id, expect_id) != 0) {
        rc = refuse(c, district, r, "OTHER_DISTRICT",
                    "Báo cáo ghi mã đơn vị khác với đơn vị đã gửi: hãy sửa mã đơn vị "
                    "trong tệp rồi nộp lại",
                    "the report names a unit other than the sender: correct the unit "
                    "code in the file and submit it again");
        goto out;
    }
    kh_report_set_str(&r->district, district);
    /* received_at is on the pipeline's clock (the calendar: on time, late); arrived_at on
     * the machine's, as the keys' lifetimes are (which key was valid when it came) */
    int64_t now = kh_now_ms(), arrived = kh_real_ms();
    r->received_at = c->replay_node_clock && r->submitted_at > 0 ? r->submitted_at : now;
    r->arrived_at = arrived;
    /* what we pass on must decode downstream: only the schema's fields go (a field
     * numbered 0 kept as unknown is packed into bytes libprotobuf-c 1.4.1 then refuses,
     * and such a report would be resent for ever) — without a second decode here */
    kh_wire_drop_unknown(&r->base);
    uint8_t *buf;
    size_t len;
    if (kh_wire_pack(&r->base, &buf, &len) < 0) {
        rc = KH_APPLY_FAIL;
        goto out;
    }
    /* the first of the two checks of the signature (the aggregator's, before counting,
     * is the second): the same function, at the time the report arrived */
    char svi[512], sen[512];
    int sig = c->curve ? kh_sign_check(c->keys, r, arrived, NULL, NULL, NULL, svi, sizeof svi, sen,
                                       sizeof sen)
                       : KH_OK;
    if (sig == KH_ERR) {
        /* the registry's trouble: not acknowledged, so the node sends it again */
        KH_ERROR("security.registry", sen, "report_id", r->report_id, "district", district);
        free(buf);
        rc = KH_APPLY_FAIL;
        goto out;
    }
    if (sig == KH_NO) {
        char mvi[768], men[768];
        snprintf(mvi, sizeof mvi, "Báo cáo bị từ chối: %s. Hãy gửi lại báo cáo được ký bằng "
                 "khóa còn hiệu lực của đơn vị; nếu khóa đã bị thu hồi, hãy liên hệ quản trị "
                 "viên của tỉnh để được cấp khóa mới", svi);
        snprintf(men, sizeof men, "Report refused: %s. Send it again signed with the unit's "
                 "valid key; if the key was revoked, ask the province's administrator for a "
                 "new one", sen);
        free(buf);
        rc = refuse(c, district, r, "BAD_SIGNATURE", mvi, men);
        goto out;
    }
    sqlite3_stmt *st = c->st_report;
    sqlite3_bind_text(st, 1, r->report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->revision);
    sqlite3_bind_text(st, 3, district, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->period, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, r->received_at);
    sqlite3_bind_blob(st, 6, buf, (int)len, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step != SQLITE_DONE) {
        KH_ERROR("db.error", sqlite3_errmsg(c->db), "report_id", r->report_id);
        rc = KH_APPLY_FAIL;
    } else if (sqlite3_changes(c->db) == 0) {
        KH_INFO("report.duplicate", "report already received: acknowledged again",
                "report_id", r->report_id, "district", district);
        rc = KH_APPLY_DUP;
    } else if (kh_link_put(c->to_validator, "", key, KH_T_REPORT, buf, len) < 0) {
        rc = KH_APPLY_FAIL;
    } else {
        char msg[160];
        snprintf(msg, sizeof msg, "report received: revision %u, %zu values", r->revision,
                 r->n_values);
        KH_INFO("report.received", msg, "report_id", r->report_id, "district", district,
                "period", r->period);
        c->received++;
        rc = KH_APPLY_NEW;
    }
    free(buf);
out:
    kh__report__free_unpacked(r, NULL);
    return rc;
}

/* A receipt from the notifier: remember it once, queue it for the district's node. */
int co_intake_receipt(collector_t *c, const kh_wmsg_t *m, char *key, size_t keycap)
{
    Kh__Receipt *r = kh__receipt__unpack(NULL, m->len, m->payload);
    if (!r) {
        kh_stage_malformed(c->st);
        KH_WARN("receipt.malformed", "a RECEIPT payload does not decode", "malformed",
                co_malformed(c));
        return KH_APPLY_BAD;
    }
    int rc;
    if (!r->event_id[0] || strlen(r->event_id) >= keycap || !r->district[0] ||
        strlen(r->district) >= KH_CODE_MAX) {
        kh_stage_malformed(c->st);
        KH_WARN("receipt.malformed", "a RECEIPT has no event id or district, or one too long",
                "malformed", co_malformed(c));
        rc = KH_APPLY_BAD;
        goto out;
    }
    snprintf(key, keycap, "%s", r->event_id);
    sqlite3_stmt *st = c->st_receipt;
    sqlite3_bind_text(st, 1, r->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->district, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, kh_now_ms());
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step != SQLITE_DONE)
        rc = KH_APPLY_FAIL;
    else if (sqlite3_changes(c->db) == 0)
        rc = KH_APPLY_DUP;
    else
        rc = kh_link_put_until(c->to_nodes, r->district, r->event_id, KH_T_RECEIPT, m->payload,
                               m->len, r->expires_at > 0 ? r->expires_at : 0) < 0
                 ? KH_APPLY_FAIL : KH_APPLY_NEW;
out:
    kh__receipt__free_unpacked(r, NULL);
    return rc;
}
