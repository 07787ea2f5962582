/*
 * kh-collector — the only door from outside.
 *
 * Nodes connect (DEALER, CURVE) to `listen`.  A REPORT is stamped with the district
 * of the key that sent it (never the payload's), stored whole as one blob row,
 * queued for the validator in the same transaction, and only then acknowledged
 * (persist before ack).  Receipts from the notifier arrive on `receipts` and are
 * routed back to the connection on which the district's key last spoke (conns.h;
 * never by a routing id the node chose) until the node acknowledges them.
 *
 * Nothing a node sends gets past this door unless it has the form the later stages
 * can handle (issue 11): every field is checked here, and the work a message costs is
 * bounded before it is done (values and ACK keys counted on the wire, the revision's
 * step, the payload's size).  The node socket's connections are watched and bounded by
 * lib/kh_door.h (silent ones, too many unspoken from one address, revoked keys: cut).
 *
 * Sockets: listen (ROUTER, tcp, nodes) · receipts (ROUTER, ipc, notifier) ·
 * validator (DEALER, connect) · log (PUB) · the door's monitor of listen (kh_door).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh.pb-c.h"
#include "kh_db.h"
#include "kh_door.h"
#include "kh_inbox.h"
#include "kh_link.h"
#include "kh_log.h"
#include "kh_metrics.h"
#include "kh_report.h"
#include "kh_service.h"
#include "kh_util.h"
#include "kh_zap.h"
#include "kh_sign.h"

#include "conns.h"

static const char *const migrations[] = {
    "CREATE TABLE report (report_id TEXT NOT NULL, revision INTEGER NOT NULL,"
    " district TEXT NOT NULL, period TEXT NOT NULL, received_at INTEGER NOT NULL,"
    " refused TEXT, payload BLOB NOT NULL, PRIMARY KEY (report_id, revision));"
    "CREATE TABLE receipt (event_id TEXT PRIMARY KEY, district TEXT NOT NULL,"
    " at INTEGER NOT NULL);"
    KH_OUTBOX_SCHEMA("validator") KH_OUTBOX_SCHEMA("nodes"),
    /* 2: outbox expiry: a reminder not delivered by its due date is dropped (issue 10) */
    KH_OUTBOX_EXPIRY("validator") KH_OUTBOX_EXPIRY("nodes"),
};

typedef struct {
    kh_service_t svc;
    kh_catalog_t *cat;
    sqlite3 *db;
    kh_zsock_t *front, *back;
    kh_inbox_t *inbox;
    kh_link_t *to_validator, *to_nodes;
    uv_timer_t pump_timer;
    int replay_node_clock;
    sqlite3_stmt *st_report, *st_receipt, *st_last_rev;
    uint64_t received, refused, malformed;
    int curve;                  /* CURVE on the node socket, identities from the registry */
    sqlite3 *keys;
    kh_zap_t *zap;
    kh_key_t server;
    uint64_t refused_keys;
    conns_t *conns;             /* node connections: routes for receipts, bound per key */
    kh_door_t *door;            /* the node socket's TCP connections, watched and bounded */
    kh_metric_t *m_conns;       /* kh_node_connections_open */
    uint64_t late;              /* messages read after their connection closed */
    uv_timer_t revoke_timer;    /* cuts the live connections of keys no longer valid */
    const char *sender;         /* district of the message being applied (on_router) */
    /* bounds on the work one message may cost, before it is done ([collector]) */
    long max_values, max_ack_keys, max_revision_step;
} collector_t;

/* The malformed counter as a log field. */
static const char *count_str(uint64_t n)
{
    static char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)n);
    return buf;
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


static int apply_report(collector_t *c, const kh_wmsg_t *m, char *key, size_t keycap)
{
    char district[KH_CODE_MAX];
    /* the sender's district, or the one kept with a dead letter being replayed */
    const char *from = c->sender ? c->sender : kh_inbox_replay_origin(c->inbox);
    if (!from || strlen(from) >= sizeof district)
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
        c->malformed++;
        KH_WARN("report.malformed", "a REPORT payload does not decode", "district", district,
                "malformed", count_str(c->malformed));
        return KH_APPLY_BAD;
    }
    int rc = KH_APPLY_BAD;
    /* without a readable id and revision no receipt can name the report: dropped */
    if (!kh_text_ok(r->report_id) || !kh_text_ok(r->period) || strlen(r->report_id) == 0 ||
        strlen(r->report_id) > 64 || r->revision == 0 || strlen(r->period) > 16) {
        c->malformed++;
        KH_WARN_RL("report.malformed", district, "report id, revision or period missing, too "
                   "long or not UTF-8 text: dropped", "district", district,
                   "malformed", count_str(c->malformed));
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
static int apply_receipt(collector_t *c, const kh_wmsg_t *m, char *key, size_t keycap)
{
    Kh__Receipt *r = kh__receipt__unpack(NULL, m->len, m->payload);
    if (!r) {
        c->malformed++;
        KH_WARN("receipt.malformed", "a RECEIPT payload does not decode", "malformed",
                count_str(c->malformed));
        return KH_APPLY_BAD;
    }
    int rc;
    if (!r->event_id[0] || strlen(r->event_id) >= keycap || !r->district[0] ||
        strlen(r->district) >= KH_CODE_MAX) {
        c->malformed++;
        KH_WARN("receipt.malformed", "a RECEIPT has no event id or district, or one too long",
                "malformed", count_str(c->malformed));
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

static int apply(void *arg, const kh_wmsg_t *m, char *key, size_t keycap)
{
    collector_t *c = arg;
    if (strcmp(m->type, KH_T_REPORT) == 0)
        return apply_report(c, m, key, keycap);
    if (strcmp(m->type, KH_T_RECEIPT) == 0)
        return apply_receipt(c, m, key, keycap);
    c->malformed++;
    KH_WARN("message.malformed", "unexpected message type", "type", m->type);
    return KH_APPLY_BAD;
}

static void pump(collector_t *c)
{
    kh_link_pump(c->to_validator);
    kh_link_pump(c->to_nodes);
    /* backpressure: reports from the nodes wait at the nodes while the validator is behind */
    kh_service_gate(&c->svc, c->front, kh_outbox_depth(kh_link_outbox(c->to_validator)));
}

static void committed(void *arg) { pump(arg); }
static void on_pump_timer(uv_timer_t *t) { pump(t->data); }

/* Who sent this message on the node socket.  With CURVE: the district of its key, still
 * valid now (a revoked key is cut off at once, on connections already open too); without
 * (a closed network trusts its nodes): what the message says.  The connection goes into
 * the table (conns.h), which bounds connections per key.  Returns 1 with `district`
 * set, 0 for an ACK on a closed network from a connection not yet seen (acknowledges
 * anything), or -1 when the message is dropped (logged and counted). */
static int identify(collector_t *c, zmq_msg_t *parts, int n, const kh_wmsg_t *m,
                    char *district, size_t cap)
{
    char key_id[64] = "";
    if (c->curve) {
        const char *uid = zmq_msg_gets(&parts[n - 1], "User-Id");
        char unit[64];
        int valid = uid ? kh_keys_valid(c->keys, uid, kh_real_ms(), unit) : KH_NO;
        if (valid == KH_ERR) {
            /* not acknowledged, so the node sends it again; its connection stays */
            KH_ERROR_RL("security.registry", "keys", sqlite3_errmsg(c->keys), "key_id", uid);
            return -1;
        }
        if (valid != KH_OK) {
            c->refused_keys++;
            KH_WARN_RL("auth.revoked", uid ? uid : "?", "a message from a key that is no "
                       "longer valid: dropped, its connection cut", "key_id", uid ? uid : "?",
                       "refused", count_str(c->refused_keys));
            kh_door_cut(c->door, zmq_msg_get(&parts[n - 1], ZMQ_SRCFD), KH_DOOR_REVOKED, uid,
                        NULL);
            return -1;
        }
        kh_strlcpy(key_id, uid, sizeof key_id);
        kh_strlcpy(district, unit, cap);
    } else if (strcmp(m->type, KH_T_HELLO) == 0) {
        if (m->len == 0 || m->len >= cap) {
            c->malformed++;
            KH_WARN("message.malformed", "a HELLO without a district", "malformed",
                    count_str(c->malformed));
            return -1;
        }
        memcpy(district, m->payload, m->len);
        district[m->len] = '\0';
    } else if (strcmp(m->type, KH_T_REPORT) == 0) {
        Kh__Report *r = kh__report__unpack(NULL, m->len, m->payload);
        if (!r || !r->district[0] || strlen(r->district) >= cap) {
            if (r)
                kh__report__free_unpacked(r, NULL);
            c->malformed++;
            KH_WARN("report.malformed", "a REPORT that does not decode or names no district",
                    "malformed", count_str(c->malformed));
            return -1;
        }
        kh_strlcpy(district, r->district, cap);
        kh__report__free_unpacked(r, NULL);
    } else {
        const char *d = conns_district(c->conns, m->rid, m->rid_len);
        if (!d)
            return 0;
        kh_strlcpy(district, d, cap);
    }
    int fd = zmq_msg_get(&parts[n - 1], ZMQ_SRCFD);
    int rc = conns_seen(c->conns, m->rid, m->rid_len, fd, kh_door_live(c->door, fd), key_id,
                        district, kh_mono_ms());
    switch (rc) {
    case CONN_KNOWN:
        return 1;
    case CONN_GONE:
        /* sent before its connection closed, read late: taken (a report is stored; the
         * node, on its new connection, sends it again and hears "duplicate"), but the
         * closed connection neither counts against its key nor becomes a route again */
        c->late++;
        KH_DEBUG("node.gone", "a message of a connection already closed", "district",
                 district, "key_id", key_id[0] ? key_id : NULL);
        return 1;
    case CONN_NEW:
        /* receipts waiting for this district go to this connection, now */
        kh_outbox_reset_dest(kh_link_outbox(c->to_nodes), district);
        KH_INFO("node.connected", "a node connection: receipts for its district go there",
                "district", district, "key_id", key_id[0] ? key_id : NULL);
        return 1;
    case CONN_KEY_LIMIT:
        c->refused_keys++;
        KH_WARN_RL("auth.too_many_connections", key_id, "a key already has "
                   "max_connections_per_key open connections: one more is cut", "key_id",
                   key_id, "district", district, "refused", count_str(c->refused_keys));
        kh_door_cut(c->door, fd, KH_DOOR_KEY_LIMIT, key_id, district);
        return -1;
    case CONN_FULL:
        c->refused_keys++;
        KH_WARN("conn.table_full", "max_connections node connections are open: message on "
                "one more dropped", "district", district, "refused", count_str(c->refused_keys));
        return -1;
    case CONN_MISMATCH:
        c->refused_keys++;
        KH_WARN_RL("auth.mismatch", key_id, "a connection spoke before with another key or "
                   "district: dropped", "key_id", key_id, "district", district,
                   "refused", count_str(c->refused_keys));
        return -1;
    default:
        c->malformed++;
        KH_WARN("message.malformed", "routing id, key id or district empty or too long",
                "malformed", count_str(c->malformed));
        return -1;
    }
}

/* ZAP asks before letting a node key in: not when it is at its bound of connections
 * (open ones and handshakes let in that have not spoken yet). */
static int admit(void *arg, const char *domain, const char *key_id, const char *unit)
{
    collector_t *c = arg;
    if (strcmp(domain, "nodes") != 0 ||
        conns_admit(c->conns, key_id, kh_mono_ms(), (int64_t)c->svc.zopts.handshake_ms + 5000) == 0)
        return 0;
    c->refused_keys++;
    kh_door_refused(c->door, KH_DOOR_KEY_LIMIT);
    KH_WARN_RL("auth.too_many_connections", key_id, "a key already has "
               "max_connections_per_key open connections: handshake refused", "key_id",
               key_id, "district", unit, "refused", count_str(c->refused_keys));
    return -1;
}

/* The routed link asks where a district's receipts go now. */
static int route(void *arg, const char *dest, const void **rid, size_t *len)
{
    collector_t *c = arg;
    return conns_route(c->conns, dest, rid, len);
}

/* The metrics source (kh_metrics.h): the connections counted against their keys. */
static void conns_metrics(void *arg)
{
    collector_t *c = arg;
    if (!c->m_conns)
        c->m_conns = kh_metrics_gauge("kh_node_connections_open", "Node connections the "
                                      "collector counts open (against each key's "
                                      "max_connections_per_key).", NULL, NULL);
    kh_metric_set(c->m_conns, conns_open(c->conns));
}

/* A node connection closed (the door saw it go). */
static void conn_closed(void *arg, int fd)
{
    collector_t *c = arg;
    conns_closed_fd(c->conns, fd);
}

/* Revocation cuts the live connection (issue 11): every second, the open connections'
 * keys are looked up again; a connection whose key is no longer valid is cut, and its
 * district's receipts go to the district's other connection, if any. */
static void on_revoke_timer(uv_timer_t *t)
{
    collector_t *c = t->data;
    if (!c->curve)
        return;
    conns_entry_t open[64];
    int64_t now = kh_real_ms();
    for (int from = 0;;) {
        int n = conns_list_open(c->conns, &from, open, 64);
        for (int i = 0; i < n; i++) {
            char unit[64];
            int valid = kh_keys_valid(c->keys, open[i].key_id, now, unit);
            if (valid == KH_ERR) {
                /* the registry's trouble cuts nobody: asked again in a second */
                KH_ERROR_RL("security.registry", "keys", sqlite3_errmsg(c->keys));
                return;
            }
            if (valid == KH_OK)
                continue;
            c->refused_keys++;
            kh_door_cut(c->door, open[i].fd, KH_DOOR_REVOKED, open[i].key_id, open[i].district);
            conns_closed_fd(c->conns, open[i].fd);
            kh_outbox_reset_dest(kh_link_outbox(c->to_nodes), open[i].district);
        }
        if (n < 64)
            break;
    }
}

static void on_router(kh_zsock_t *s, zmq_msg_t *parts, int n, void *arg)
{
    collector_t *c = arg;
    char district[KH_CODE_MAX];
    int who = -2;                       /* not identified yet */
    if (s == c->front && c->curve && n >= 1) {
        /* with CURVE the sender is known before the message is read: every message with a
         * valid key, malformed or not, enters its connection in the table (its admitted
         * handshake stops being "pending" and its close is seen) */
        kh_wmsg_t who_m = {.rid = zmq_msg_data(&parts[0]), .rid_len = zmq_msg_size(&parts[0])};
        kh_door_drain(c->door);
        kh_door_spoke(c->door, zmq_msg_get(&parts[n - 1], ZMQ_SRCFD));
        if ((who = identify(c, parts, n, &who_m, district, sizeof district)) < 0)
            return;
    }
    kh_wmsg_t m;
    if (kh_wire_parse(parts, n, 1, &m) < 0) {
        c->malformed++;
        KH_WARN("message.malformed", "wrong frames", "malformed", count_str(c->malformed));
        return;
    }
    if (s == c->back) {
        if (strcmp(m.type, KH_T_RECEIPT) != 0) {
            c->malformed++;
            KH_WARN("message.malformed", "the notifier may only send RECEIPT", "type", m.type,
                    "malformed", count_str(c->malformed));
            return;
        }
        kh_inbox_add(c->inbox, s, &m);
        return;
    }
    int is_report = strcmp(m.type, KH_T_REPORT) == 0, is_ack = strcmp(m.type, KH_T_ACK) == 0;
    if (!is_report && !is_ack && strcmp(m.type, KH_T_HELLO) != 0) {
        c->malformed++;
        KH_WARN("message.malformed", "nodes may only send REPORT, ACK and HELLO", "type",
                m.type, "malformed", count_str(c->malformed));
        return;
    }
    if (who == -2) {                    /* a closed network: what the message says */
        kh_door_drain(c->door);
        kh_door_spoke(c->door, zmq_msg_get(&parts[n - 1], ZMQ_SRCFD));
        if ((who = identify(c, parts, n, &m, district, sizeof district)) < 0)
            return;
    }
    /* the documented size is the real one: ZeroMQ's own limit has room for the envelope */
    if ((int64_t)m.len > c->svc.max_msg_outside) {
        kh_door_refused(c->door, KH_DOOR_SIZE);
        c->malformed++;
        KH_WARN_RL("message.too_large", who ? district : "?", "a message over "
                   "max_message_bytes: dropped", "district", who ? district : NULL,
                   "type", m.type, "malformed", count_str(c->malformed));
        return;
    }
    /* an ACK's work is bounded before it is done: its keys are counted on the wire */
    if (is_ack && kh_wire_count_field(m.payload, m.len, 1) > c->max_ack_keys) {
        kh_door_refused(c->door, KH_DOOR_ACK_KEYS);
        c->malformed++;
        KH_WARN_RL("message.malformed", who ? district : "?", "an ACK with more than "
                   "max_ack_keys keys: dropped", "district", who ? district : NULL,
                   "malformed", count_str(c->malformed));
        return;
    }
    if (is_ack) {
        /* a node acknowledges only receipts addressed to its own district */
        if (kh_link_ack_from(c->to_nodes, who ? district : NULL, m.payload, m.len) < 0) {
            c->malformed++;
            KH_WARN("message.malformed", "an ACK from a node does not decode", "malformed",
                    count_str(c->malformed));
        }
    } else if (is_report) {
        c->sender = district;        /* apply_report runs inside kh_inbox_add */
        kh_inbox_add_from(c->inbox, s, &m, district);
        c->sender = NULL;
    }
    kh_link_pump(c->to_nodes);
}

static void say_ready(void *arg)
{
    collector_t *c = arg;
    char msg[512];
    snprintf(msg, sizeof msg, "listening for nodes on the configured endpoint (%s); %lld reports "
             "waiting for the validator", c->curve ? "CURVE, registered keys only" : "NO CURVE",
             (long long)kh_outbox_depth(kh_link_outbox(c->to_validator)));
    kh_service_ready(&c->svc, msg);
}

static void on_stop(kh_service_t *s)
{
    collector_t *c = (collector_t *)s;
    kh_zap_close(c->zap);
    c->zap = NULL;
    kh_door_close(&c->door);
    uv_close((uv_handle_t *)&c->revoke_timer, NULL);
    kh_inbox_close(c->inbox);
    uv_close((uv_handle_t *)&c->pump_timer, NULL);
    kh_zsock_close(c->front);
    kh_zsock_close(c->back);
    kh_link_destroy(&c->to_validator);
    kh_link_destroy(&c->to_nodes);
}

int main(int argc, char **argv)
{
    static collector_t c;
    int rc = kh_service_init(&c.svc, "collector", "collector", argc, argv,
                             "Receives the reporting units' reports, stores them, passes them on.\n");
    if (rc)
        return rc > 0 ? 0 : 1;
    kh_service_t *s = &c.svc;
    char db_path[1024], listen[1024], receipts[1024], validator[1024], err[512];
    if (kh_service_str(s, "collector", "db", db_path, sizeof db_path) ||
        kh_service_str(s, "collector", "listen", listen, sizeof listen) ||
        kh_service_str(s, "collector", "receipts", receipts, sizeof receipts) ||
        kh_service_str(s, "collector", "validator", validator, sizeof validator))
        return 1;
    const char *replay = kh_config_raw(s->cfg, "collector", "replay_clock");
    if (strcmp(replay, "collector") != 0 && strcmp(replay, "node") != 0) {
        KH_ERROR("config.error", "[collector] replay_clock must be collector or node",
                 "config", s->config_path);
        return 1;
    }
    c.replay_node_clock = strcmp(replay, "node") == 0;
    if (!(c.cat = kh_service_catalog(s)))
        return 1;
    if (kh_db_open(&c.db, db_path, migrations, sizeof migrations / sizeof *migrations, err,
                   sizeof err) < 0) {
        KH_ERROR("db.open", err);
        return 1;
    }
    c.st_report = kh_db_prepare(c.db, "INSERT INTO report(report_id,revision,district,period,"
                                      "received_at,payload) VALUES(?,?,?,?,?,?) "
                                      "ON CONFLICT DO NOTHING");
    c.st_receipt = kh_db_prepare(c.db, "INSERT INTO receipt(event_id,district,at) "
                                       "VALUES(?,?,?) ON CONFLICT DO NOTHING");
    c.st_last_rev = kh_db_prepare(c.db, "SELECT coalesce(max(revision),0) FROM report "
                                        "WHERE report_id=?");
    kh_zopts_t ro = s->zopts;
    ro.router = 1;
    kh_zopts_t fo = ro;
    /* the door takes the outside limit, checked on the payload (on_router); ZeroMQ's own
     * limit applies to the frame as it travels, CURVE's envelope included */
    fo.max_msg = s->max_msg_outside + 4096;
    fo.no_handover = 1;                   /* a node's routing id means nothing (conns.h) */
    long max_conns, per_key, node_queue, max_unspoken;
    if (kh_config_long(s->cfg, "collector", "max_connections", &max_conns,
                       err, sizeof err) < 0 ||
        kh_config_long(s->cfg, "collector", "max_connections_per_key", &per_key,
                       err, sizeof err) < 0 ||
        kh_config_long(s->cfg, "collector", "node_queue", &node_queue, err,
                       sizeof err) < 0 ||
        kh_config_long(s->cfg, "collector", "max_values",
                       &c.max_values, err, sizeof err) < 0 ||
        kh_config_long(s->cfg, "collector", "max_ack_keys", &c.max_ack_keys,
                       err, sizeof err) < 0 ||
        kh_config_long(s->cfg, "collector", "max_revision_step",
                       &c.max_revision_step, err, sizeof err) < 0 ||
        kh_config_long(s->cfg, "collector", "max_unspoken_per_address",
                       &max_unspoken, err, sizeof err) < 0) {
        KH_ERROR("config.error", err);
        return 1;
    }
    /* what one connection may have waiting in memory here: the rest waits in the node's
     * outbox and TCP, so memory is bounded by connections × node_queue × message size */
    fo.rcvhwm = (int)node_queue;
    if (!(c.conns = conns_new((int)max_conns, (int)per_key)))
        return 1;
    if ((c.curve = kh_service_curve(s)) < 0)
        return 1;
    if (c.curve) {
        /* fail closed: no handler, no key, no registry: no start */
        if (kh_service_curve_server(s, "nodes:district", &c.server, &c.keys, &c.zap) < 0)
            return 1;
        fo.curve_server_sk = c.server.curve_sk;
        fo.zap_domain = "nodes";
        kh_zap_admit(c.zap, admit, &c);
    }
    c.front = kh_zsock_new(&s->loop, s->zctx, ZMQ_ROUTER, &fo, on_router, &c);
    c.back = kh_zsock_new(&s->loop, s->zctx, ZMQ_ROUTER, &ro, on_router, &c);
    if (!c.st_report || !c.st_receipt || !c.st_last_rev || !c.front || !c.back) {
        KH_ERROR("service.start", "cannot open the sockets", "error", zmq_strerror(zmq_errno()));
        return 1;
    }
    /* the door watches before the socket binds: a connection it was never told of would
     * look closed (kh_door_live).  Every connection speaks within its handshake time and
     * a margin (a node says HELLO at once), before an admitted handshake stops counting
     * against its key (admit) */
    kh_door_opts_t dopt = {.name = "nodes", .max_connections = (int)max_conns,
                           .max_unspoken_per_address = (int)max_unspoken,
                           .speak_ms = s->zopts.handshake_ms + 3000};
    if (!(c.door = kh_door_new(&s->loop, s->zctx, c.front, &dopt, conn_closed, &c))) {
        KH_ERROR("service.start", "cannot watch the node socket's connections");
        return 1;
    }
    if (kh_zsock_bind(c.front, listen) < 0 || kh_zsock_bind(c.back, receipts) < 0) {
        KH_ERROR("service.start", "cannot bind", "listen", listen, "receipts", receipts,
                 "error", zmq_strerror(zmq_errno()));
        return 1;
    }
    uv_timer_init(&s->loop, &c.revoke_timer);
    c.revoke_timer.data = &c;
    uv_timer_start(&c.revoke_timer, on_revoke_timer, 1000, 1000);
    c.to_validator = kh_link_new(&s->loop, s->zctx, &s->zopts, validator, c.db, "validator",
                                 (int)s->window, (int)s->resend_ms);
    c.to_nodes = kh_link_routed(c.front, c.db, "nodes", (int)s->window, (int)s->resend_ms);
    if (c.to_nodes)
        kh_link_resolver(c.to_nodes, route, &c);
    c.inbox = kh_inbox_new(&s->loop, c.db, (int)s->batch_max, (int)s->batch_ms, apply,
                           committed, &c);
    if (!c.to_validator || !c.to_nodes || !c.inbox)
        return 1;
    uv_timer_init(&s->loop, &c.pump_timer);
    c.pump_timer.data = &c;
    uv_timer_start(&c.pump_timer, on_pump_timer, 100, 100);
    s->on_stop = on_stop;
    kh_service_watch_count(s, "kh_reports_received_total", "Reports stored at the door and "
                           "passed on (new revisions; a resend is a duplicate).", NULL, NULL,
                           &c.received);
    kh_service_watch_count(s, "kh_reports_refused_total", "Reports refused at the door (another "
                           "unit's, too large, bad signature), with a receipt.", NULL, NULL,
                           &c.refused);
    kh_service_watch_count(s, "kh_messages_malformed_total", "Malformed messages refused at the "
                           "door or from the notifier.", NULL, NULL, &c.malformed);
    kh_service_watch_count(s, "kh_auth_refused_total", "Messages dropped for their key "
                           "(revoked, over its connections, another unit's connection).",
                           NULL, NULL, &c.refused_keys);
    kh_service_watch_count(s, "kh_node_messages_late_total", "Node messages read after "
                           "their connection had closed (taken; the connection is not "
                           "counted again).", NULL, NULL, &c.late);
    kh_metrics_source_add(conns_metrics, &c);
    /* with CURVE, prove that a client with an unknown key is refused before saying ready */
    if (!c.curve)
        kh_service_on_ready(s, say_ready, &c);
    else if (kh_service_selfcheck(s, c.front, c.server.curve_pk, say_ready, &c) < 0)
        return 1;
    kh_service_run(s);
    sqlite3_finalize(c.st_report);
    sqlite3_finalize(c.st_receipt);
    sqlite3_finalize(c.st_last_rev);
    kh_db_close(&c.db);
    kh_db_close(&c.keys);
    kh_metrics_source_remove(&c);
    conns_destroy(&c.conns);
    kh_catalog_destroy(&c.cat);
    kh_service_fini(s);
    return s->exit_code;
}
