/*
 * node.c — kh-node's logic: queue a report, take receipts; see node.h.
 */
#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uniwidth.h>

#include "kh.pb-c.h"
#include <sodium.h>
#include "kh_db.h"
#include "kh_log.h"
#include "kh_report.h"
#include "kh_sign.h"
#include "kh_util.h"
#include "kh_validate.h"
#include "kh_wire.h"
#include "connection.h"
#include "sheet.h"

static const char *const migrations[] = {
    "CREATE TABLE report (report_id TEXT NOT NULL, revision INTEGER NOT NULL,"
    " period TEXT NOT NULL, source TEXT NOT NULL, receipts TEXT NOT NULL,"
    " submitted_at INTEGER NOT NULL, received_at INTEGER, stage TEXT NOT NULL,"
    " feed_seq INTEGER, PRIMARY KEY (report_id, revision));"
    "CREATE TABLE receipt (event_id TEXT PRIMARY KEY, report_id TEXT NOT NULL,"
    " revision INTEGER NOT NULL, stage TEXT NOT NULL, at INTEGER NOT NULL, body TEXT NOT NULL);"
    KH_OUTBOX_SCHEMA("collector"),
    /* 2: outbox expiry (issue 10) */
    KH_OUTBOX_EXPIRY("collector"),
    /* 3: issue 14 — the running node's connection state for `status` (connection.c), and
     * each revision's content hash (identical content is not a new revision) */
    "CREATE TABLE conn (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL,"
    " since INTEGER NOT NULL);"
    "ALTER TABLE report ADD COLUMN content_hash TEXT;",
};

int node_open_db(node_t *n)
{
    char path[PATH_MAX], err[512];
    if (kh_mkdirs(n->dir, 0750) < 0) {
        fprintf(stderr, "kh-node: cannot create %s: %s\n", n->dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/outbox.db", n->dir);
    if (kh_db_open(&n->db, path, migrations, sizeof migrations / sizeof *migrations, err,
                   sizeof err) < 0) {
        fprintf(stderr, "kh-node: %s\n", err);
        return -1;
    }
    return 0;
}

const char *node_conn_name(node_conn_t c)
{
    static const char *const names[] = {"unknown", "ok", "refused_key", "wrong_server_key",
                                        "unreachable"};
    return (unsigned)c < sizeof names / sizeof *names ? names[c] : "unknown";
}

void node_conn_describe(node_conn_t c, const char **vi, const char **en)
{
    switch (c) {
    case NODE_CONN_OK:
        *vi = "Đã kết nối với tỉnh.";
        *en = "Connected to the province.";
        break;
    case NODE_CONN_REFUSED_KEY:
        *vi = "Tỉnh từ chối khoá của đơn vị (chưa đăng ký, đã thu hồi hoặc đăng ký cho đơn vị "
              "khác). Hãy gửi tệp khoá công khai (.pub) của đơn vị cho quản trị tỉnh để đăng "
              "ký (kh-admin keys register), rồi chạy kh-node check.";
        *en = "The province refuses this unit's key (not registered, revoked, or registered "
              "for another unit). Send the unit's public key file (.pub) to the province's "
              "administrator to register (kh-admin keys register), then run kh-node check.";
        break;
    case NODE_CONN_WRONG_SERVER_KEY:
        *vi = "Không bắt tay được với tỉnh: tệp khoá máy chủ (server_key) không phải của tỉnh. "
              "Hãy xin lại tệp server.pub từ quản trị tỉnh, chép đè rồi chạy kh-node check.";
        *en = "The handshake with the province fails: the server key file (server_key) is not "
              "the province's. Get server.pub again from the province's administrator, "
              "replace it and run kh-node check.";
        break;
    case NODE_CONN_UNREACHABLE:
        *vi = "Không liên lạc được với tỉnh: kiểm tra địa chỉ và cổng ([node] collector), "
              "mạng và tường lửa, rồi chạy kh-node check. Báo cáo vẫn nằm trong hàng đợi "
              "và sẽ tự gửi khi có kết nối.";
        *en = "The province cannot be reached: check the address and port ([node] "
              "collector), the network and the firewall, then run kh-node check. Reports "
              "stay queued and go out by themselves once connected.";
        break;
    default:
        *vi = "Chưa biết: nút chưa thử kết nối với tỉnh.";
        *en = "Not known yet: the node has not tried to reach the province.";
        break;
    }
}

/* The order of a report's stages at the node, as SQL over a column or parameter. */
#define STAGE_RANK(x)                                                                     \
    "(CASE " x " WHEN 'queued' THEN 0 WHEN 'received' THEN 1 WHEN 'accepted' THEN 2 ELSE 3 END)"

static const char *stage_name(int s)
{
    static const char *const names[] = {"received", "accepted", "rejected", "counted",
                                        "superseded"};
    return s >= 0 && s < 5 ? names[s] : "unknown";
}

static json_t *findings_json(Kh__Finding *const *f, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{s:s?, s:s, s:i, s:s?, s:s?, s:s?, s:s?, s:s?}", "code", f[i]->code,
                              "severity", f[i]->is_error ? "error" : "warning", "line",
                              (int)f[i]->line, "orgunit", f[i]->orgunit, "indicator",
                              f[i]->indicator, "value", f[i]->value, "message_vi",
                              f[i]->message_vi, "message", f[i]->message_en);
        if (o)
            json_array_append_new(a, o);
    }
    return a;
}

/* Appends one JSON line to the receipts file (mode 0640 when new).  The receipts file
 * sits in a folder others may write (the spool): it is never opened through a symbolic
 * link, and never when it is not a regular file (a FIFO there would block).  Returns 0
 * or -1 (logged). */
static int write_receipt(const char *path, json_t *o)
{
    json_t *at = json_object_get(o, "at");
    if (json_is_integer(at)) {          /* a date a person reads beside the epoch ms */
        char text[48];
        node_time_text((int64_t)json_integer_value(at), 1, text, sizeof text);
        json_object_set_new(o, "at_text", json_string(text));
    }
    char *line = json_dumps(o, JSON_COMPACT);
    if (!line)
        return -1;
    int rc = -1, fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
                                     O_NOCTTY | O_CLOEXEC, 0640);
    const char *why = NULL;
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode))
        why = "the receipts file is not a regular file: not written";
    else if (fd >= 0) {
        size_t left = strlen(line) + 1, off = 0;
        line[left - 1] = '\n';          /* json_dumps's NUL: the line's end */
        while (left > 0) {
            ssize_t w = write(fd, line + off, left);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            off += (size_t)w;
            left -= (size_t)w;
        }
        rc = left == 0 ? 0 : -1;
    }
    if (fd >= 0 && close(fd) != 0)
        rc = -1;
    if (rc < 0) {
        char shown[KH_ESCAPE_CAP(PATH_MAX)];
        kh_escape(path, shown, sizeof shown);
        KH_ERROR("receipt.write", why ? why : errno == ELOOP ? "the receipts file is a "
                 "symbolic link: not written" : strerror(errno), "path", shown);
    }
    free(line);
    return rc;
}

static void receipts_path(const char *path, const char *receipt_dir, char *out, size_t cap)
{
    char tmp[PATH_MAX];
    kh_strlcpy(tmp, path, sizeof tmp);
    int w = receipt_dir ? snprintf(out, cap, "%s/%s.receipts.jsonl", receipt_dir, basename(tmp))
                        : snprintf(out, cap, "%s.receipts.jsonl", path);
    if (w >= (int)cap)
        out[0] = '\0';             /* no receipts file: write_receipt fails and says so */
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The submit command tells the officer on stderr; the running node (a service: its
 * stderr is its log, one JSON object per line) only logs. */
static int on_terminal(const node_t *n) { return n->link == NULL && !n->quiet; }

/* A file refused unread (kh_read_regular said why): its receipt, stderr, a log line.
 * Nothing of the file's contents is shown anywhere.  Returns 1 (refused). */
static int refuse_file(node_t *n, const char *path, const char *shown_path, const char *name,
                       const char *rpath, kh_file_problem_t why, uint64_t size, size_t max,
                       int *rfail)
{
    const char *code = "NOT_A_FILE";
    char vi[640], en[640];
    switch (why) {
    case KH_FILE_SYMLINK:
        code = "FILE_IS_LINK";
        snprintf(vi, sizeof vi, "Đây là một liên kết tượng trưng (symlink), không phải tệp "
                 "báo cáo: nút không mở liên kết. Hãy sao chép chính tệp báo cáo .csv (không "
                 "phải liên kết đến nó) rồi nộp lại.");
        snprintf(en, sizeof en, "This is a symbolic link, not a report file: the node does "
                 "not open links. Copy the .csv report file itself (not a link to it) and "
                 "submit it again.");
        break;
    case KH_FILE_HARDLINK:
        code = "FILE_IS_LINK";
        snprintf(vi, sizeof vi, "Tệp này có nhiều tên (liên kết cứng) nên có thể là một tệp "
                 "khác của máy: nút không đọc nó. Hãy sao chép tệp báo cáo .csv thành một tệp "
                 "mới (không dùng ln) rồi nộp lại.");
        snprintf(en, sizeof en, "This file has more than one name (a hard link), so it may be "
                 "another file of this machine: the node does not read it. Copy the .csv "
                 "report into a new file (not with ln) and submit it again.");
        break;
    case KH_FILE_TOO_LARGE:
        code = "FILE_TOO_LARGE";
        snprintf(vi, sizeof vi, "Tệp quá lớn (%llu byte; tối đa %zu byte) nên nút không đọc "
                 "nó. Hãy kiểm tra đây đúng là tệp báo cáo của đơn vị, xoá các dòng hoặc cột "
                 "thừa, lưu thành CSV UTF-8 rồi nộp lại.", (unsigned long long)size, max);
        snprintf(en, sizeof en, "The file is too large (%llu bytes; at most %zu), so the node "
                 "does not read it. Check that it is the reporting unit's report, remove extra rows "
                 "or columns, save it as CSV UTF-8 and submit it again.",
                 (unsigned long long)size, max);
        break;
    case KH_FILE_UNREADABLE:
        code = "FILE_UNREADABLE";
        snprintf(vi, sizeof vi, "Nút không được phép đọc tệp này (quyền truy cập). Hãy sao "
                 "chép lại tệp báo cáo để người dùng chạy nút đọc được rồi nộp lại.");
        snprintf(en, sizeof en, "The node may not read this file (permissions). Copy the "
                 "report again so that the user the node runs as can read it, and submit it "
                 "again.");
        break;
    default: {
        /* what it is (lstat: named, never opened) */
        struct stat st;
        unsigned mode = lstat(path, &st) == 0 ? (unsigned)st.st_mode : 0;
        snprintf(vi, sizeof vi, "Đây không phải là một tệp thông thường (đây là %s): nút chỉ "
                 "đọc tệp báo cáo CSV thông thường. Hãy lưu báo cáo thành một tệp .csv rồi "
                 "nộp lại.", kh_file_kind(mode, 1));
        snprintf(en, sizeof en, "This is not a regular file (it is a %s): the node reads only "
                 "ordinary CSV report files. Save the report as a .csv file and submit it "
                 "again.", kh_file_kind(mode, 0));
        break;
    }
    }
    n->rejected_locally++;
    n->files_refused++;
    int64_t now = kh_now_ms();
    json_t *f = json_pack("[{s:s, s:s, s:i, s:s, s:s}]", "code", code, "severity", "error",
                          "line", 0, "message_vi", vi, "message", en);
    json_t *o = f ? json_pack("{s:s, s:s, s:I, s:s, s:s, s:o}", "stage", "rejected_locally",
                              "file", name, "at", (json_int_t)now, "message_vi",
                              "Báo cáo chưa được gửi: hãy sửa các lỗi sau rồi nộp lại",
                              "message", "The report was not sent: fix these errors and "
                              "submit again", "findings", f) : NULL;
    *rfail |= !o || write_receipt(rpath, o) < 0;
    json_decref(o);
    if (on_terminal(n))
        fprintf(stderr, "kh-node: %s: tệp bị từ chối, báo cáo chưa được gửi / file refused, "
                "not sent\n  %s: lỗi / error: %s / %s\n", shown_path, name, vi, en);
    char msg[256], count[24];
    snprintf(msg, sizeof msg, "%.200s refused unread: %s", name, code);
    snprintf(count, sizeof count, "%llu", (unsigned long long)n->files_refused);
    KH_WARN("file.refused", msg, "district", n->district, "file", name, "code", code,
            "files_refused", count);
    return 1;
}

int node_prepare(node_t *n, const char *path, node_prep_t *p)
{
    memset(p, 0, sizeof *p);
    Kh__Report init = KH__REPORT__INIT;
    p->r = init;
    char tmp[PATH_MAX];
    kh_strlcpy(tmp, path, sizeof tmp);
    /* the name as shown everywhere (receipts, stderr, logs, the province): escaped,
     * at most 255 bytes (the collector's bound for a source name) */
    kh_escape(basename(tmp), p->name, sizeof p->name);
    size_t max = n->max_file_bytes ? n->max_file_bytes : KH_REPORT_MAX_BYTES;
    char *buf;
    size_t len;
    int got = kh_read_regular(path, max, &buf, &len, &p->why, &p->size);
    if (got < 0)
        return -1;
    if (got > 0) {
        p->refused = 1;
        return 0;
    }
    char *csv = NULL;
    size_t csv_len = 0;
    int dec = node_sheet_decode(buf, len, &csv, &csv_len, p->encoding, &p->f);
    if (dec < 0) {
        free(buf);
        errno = ENOMEM;
        return -1;
    }
    if (dec > 0) {              /* not readable as a report: the finding says why */
        free(buf);
        p->syntax = (int)(p->f.n_errors ? p->f.n_errors : 1);
        p->errors = (size_t)p->syntax;
        return 0;
    }
    int syn = csv ? kh_report_parse_csv(csv, csv_len, &p->r, &p->f)
                  : kh_report_parse_csv(buf, len, &p->r, &p->f);
    free(buf);
    if (syn < 0) {
        free(csv);
        errno = ENOMEM;
        return -1;
    }
    p->syntax = syn;
    p->errors = (size_t)syn;
    if (syn == 0) {
        char id[KH_REPORT_ID_MAX];
        if (kh_report_id(id, sizeof id, n->district, p->r.period) < 0 ||
            kh_report_set_str(&p->r.district, n->district) < 0 ||
            kh_report_set_str(&p->r.report_id, id) < 0 ||
            kh_report_set_str(&p->r.source_name, p->name) < 0) {
            free(csv);
            errno = ENOMEM;
            return -1;
        }
        p->errors = kh_validate(n->cat, &p->r, kh_today(), &p->f);
    }
    /* an .xlsx: each finding names its cell ("C5") */
    int named = csv && strcmp(p->encoding, "XLSX") == 0 ?
                node_sheet_name_cells(csv, csv_len, &p->f) : 0;
    free(csv);
    if (named < 0) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

void node_prep_clear(node_prep_t *p)
{
    kh_findings_clear(&p->f);
    kh_sign_clear(&p->r);
    kh_report_clear(&p->r);
}

int node_content_hash(const Kh__Report *r, char out[NODE_HASH_HEX])
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return -1;
    int bad = kh_report_write_csv(r, f);
    if (fclose(f) != 0 || bad < 0 || !buf) {
        free(buf);
        return -1;
    }
    /* the lines (after the header) in order: a wide and a long form of the same values,
     * or the same rows in another order, are the same content */
    size_t n = 0, cap = r->n_values + 1;
    char **lines = malloc(cap * sizeof *lines), *save = NULL;
    if (!lines) {
        free(buf);
        return -1;
    }
    char *nl = strchr(buf, '\n');
    for (char *l = nl ? strtok_r(nl + 1, "\n", &save) : NULL; l && n < cap;
         l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    qsort(lines, n, sizeof *lines, cmp_str);
    crypto_generichash_state st;
    uint8_t h[32];
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    for (size_t i = 0; i < n; i++)
        crypto_generichash_update(&st, (const uint8_t *)lines[i], strlen(lines[i]) + 1);
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(out, NODE_HASH_HEX, h, sizeof h);
    free(lines);
    free(buf);
    return 0;
}

/* Where `kh-node submit`'s receipts go (the officer's file at `abs`, an absolute path):
 * beside it when that folder takes the file, else <node folder>/receipts/.  Returns 1
 * when moved to the node's folder, 0 beside the file, -1 when neither opens. */
static int choose_receipts(const node_t *n, const char *abs, char *rpath, size_t cap)
{
    if (snprintf(rpath, cap, "%s.receipts.jsonl", abs) >= (int)cap)
        return -1;
    int fd = open(rpath, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
                             O_CLOEXEC, 0640);
    struct stat st;
    int ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (fd >= 0)
        close(fd);
    if (ok)
        return 0;
    char dir[PATH_MAX], tmp[PATH_MAX];
    kh_strlcpy(tmp, abs, sizeof tmp);
    snprintf(dir, sizeof dir, "%s/receipts", n->dir);
    if (kh_mkdirs(dir, 0750) < 0)
        return -1;
    if (snprintf(rpath, cap, "%s/%s.receipts.jsonl", dir, basename(tmp)) >= (int)cap)
        return -1;
    return 1;
}

/* The file's path with its folder made absolute (realpath of the folder: the file itself
 * is never resolved, a link stays a link to refuse). */
static void absolute_path(const char *path, char *out, size_t cap)
{
    char d[PATH_MAX], b[PATH_MAX], real[PATH_MAX];
    kh_strlcpy(d, path, sizeof d);
    kh_strlcpy(b, path, sizeof b);
    if (!realpath(dirname(d), real) ||
        snprintf(out, cap, "%s/%s", strcmp(real, "/") ? real : "", basename(b)) >= (int)cap)
        kh_strlcpy(out, path, cap);
}

/* Prints the findings of p to stderr (at most NODE_SHOW_FINDINGS; the rest are in the
 * receipts file). */
static void show_findings(const node_prep_t *p, const char *rpath)
{
    for (size_t i = 0; i < p->f.n && i < NODE_SHOW_FINDINGS; i++) {
        char where[32] = "";
        if (p->f.items[i]->line)
            snprintf(where, sizeof where, "%u:", p->f.items[i]->line);
        fprintf(stderr, "  %s:%s %s: %s / %s\n", p->name, where,
                p->f.items[i]->is_error ? "lỗi / error" : "cảnh báo / warning",
                p->f.items[i]->message_vi, p->f.items[i]->message_en);
    }
    if (p->f.n > NODE_SHOW_FINDINGS) {
        char shown_r[KH_ESCAPE_CAP(PATH_MAX)];
        kh_escape(rpath, shown_r, sizeof shown_r);
        fprintf(stderr, "  … còn %zu nữa trong / %zu more in %s\n", p->f.n - NODE_SHOW_FINDINGS,
                p->f.n - NODE_SHOW_FINDINGS, shown_r);
    }
}

int node_submit_file(node_t *n, const char *path, const char *receipt_dir, int force,
                     int64_t submitted_at)
{
    char rpath[PATH_MAX], abs[PATH_MAX];
    int moved = 0, rfail = 0;
    kh_strlcpy(abs, path, sizeof abs);
    if (on_terminal(n) && !receipt_dir) {
        /* `kh-node submit`: the officer's own file, wherever the command runs from */
        absolute_path(path, abs, sizeof abs);
        moved = choose_receipts(n, abs, rpath, sizeof rpath);
        if (moved < 0)                  /* neither opens: tried beside it, said on failure */
            receipts_path(abs, NULL, rpath, sizeof rpath);
        path = abs;
    } else
        receipts_path(path, receipt_dir, rpath, sizeof rpath);
    char shown_path[KH_ESCAPE_CAP(PATH_MAX)], shown_r[KH_ESCAPE_CAP(PATH_MAX)];
    kh_escape(path, shown_path, sizeof shown_path);
    kh_escape(rpath, shown_r, sizeof shown_r);
    if (moved > 0)
        fprintf(stderr, "kh-node: %s: Thư mục của tệp không ghi được. Biên nhận được ghi tại "
                "%s / The file's folder is not writable. Receipts are written to %s\n",
                shown_path, shown_r, shown_r);
    size_t max = n->max_file_bytes ? n->max_file_bytes : KH_REPORT_MAX_BYTES;
    node_prep_t p;
    int rc = -1;
    if (node_prepare(n, path, &p) < 0) {
        if (on_terminal(n))
            fprintf(stderr, "kh-node: %s: %s\n", shown_path, strerror(errno));
        else
            KH_WARN("file.read", strerror(errno), "district", n->district, "file", p.name);
        goto out;
    }
    if (p.refused) {
        rc = refuse_file(n, path, shown_path, p.name, rpath, p.why, p.size, max, &rfail);
        goto out;
    }
    size_t errors = p.errors;
    int syn = p.syntax;
    int64_t now = kh_now_ms();
    /* what the file was read as (sheet.h), when it is not plain UTF-8, or when the file
     * is refused (the officer then wants to know what the node saw) */
    if (on_terminal(n) && (strcmp(p.encoding, "UTF-8") != 0 || errors > 0))
        fprintf(stderr, "kh-node: %s: đọc dưới dạng / read as %s\n", shown_path, p.encoding);
    if (errors > 0 && (syn > 0 || !force)) {
        n->rejected_locally++;
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:o}", "stage",
                              "rejected_locally", "file", p.name, "encoding", p.encoding,
                              "report_id", p.r.report_id, "at", (json_int_t)now,
                              "message_vi", "Báo cáo chưa được gửi: hãy sửa các lỗi sau rồi nộp lại",
                              "message", "The report was not sent: fix these errors and submit again",
                              "findings", findings_json(p.f.items, p.f.n));
        rfail |= !o || write_receipt(rpath, o) < 0;
        json_decref(o);
        if (on_terminal(n)) {
            fprintf(stderr, "kh-node: %s: %zu lỗi / %zu errors; báo cáo chưa được gửi / not "
                    "sent\n", shown_path, errors, errors);
            show_findings(&p, rpath);
        }
        char msg[384];
        snprintf(msg, sizeof msg, "%s refused locally: %zu errors", p.name, errors);
        KH_WARN("report.refused_locally", msg, "district", n->district, "report_id", p.r.report_id,
                "file", p.name);
        rc = 1;
        goto out;
    }
    char hash[NODE_HASH_HEX];
    if (node_content_hash(&p.r, hash) < 0)
        goto out;
    /* queue: revision = next for this report id, in the same transaction as the row */
    if (kh_db_exec(n->db, "BEGIN IMMEDIATE", "submit") < 0)
        goto out;
    sqlite3_stmt *st = kh_db_prepare(n->db, "SELECT revision, ifnull(content_hash,'') FROM report "
                                            "WHERE report_id=? ORDER BY revision DESC LIMIT 1");
    if (!st)
        goto out_rollback;
    sqlite3_bind_text(st, 1, p.r.report_id, -1, SQLITE_STATIC);
    int last = 0, same = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        last = (int)sqlite3_column_int64(st, 0);
        same = strcmp((const char *)sqlite3_column_text(st, 1), hash) == 0;
    }
    sqlite3_finalize(st);
    if (same && !force) {
        /* identical values to the revision last queued: nothing new to send */
        sqlite3_exec(n->db, "ROLLBACK", NULL, NULL, NULL);
        char vi[256], en[256];
        snprintf(vi, sizeof vi, "Số liệu giống hệt lần sửa %d đã gửi: không gửi lại, không tạo "
                 "lần sửa mới", last);
        snprintf(en, sizeof en, "The values are identical to revision %d already queued: not "
                 "sent again, no new revision", last);
        json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:I, s:s, s:s}", "stage", "unchanged",
                              "file", p.name, "report_id", p.r.report_id, "revision", last,
                              "at", (json_int_t)now, "message_vi", vi, "message", en);
        rfail |= !o || write_receipt(rpath, o) < 0;
        json_decref(o);
        if (on_terminal(n))
            fprintf(stderr, "kh-node: %s: %s / %s\n", shown_path, vi, en);
        char msg[384];
        snprintf(msg, sizeof msg, "%s: identical to revision %d, not queued again", p.name, last);
        KH_INFO("report.unchanged", msg, "district", n->district, "report_id", p.r.report_id,
                "file", p.name);
        rc = 2;
        goto out;
    }
    p.r.revision = (uint32_t)last + 1;
    p.r.submitted_at = submitted_at ? submitted_at : now;
    /* the district's signature over the numbers: the province counts only what its
     * registered key signed (lib/security/kh_sign.h) */
    if (n->has_key && kh_sign_report(&p.r, n->key.ed_sk, n->key.id) < 0)
        goto out_rollback;
    uint8_t *payload;
    size_t plen;
    if (kh_wire_pack(&p.r.base, &payload, &plen) < 0)
        goto out_rollback;
    char key[KH_KEY_MAX];
    snprintf(key, sizeof key, "%s/%u", p.r.report_id, p.r.revision);
    /* the running node (spool folder) queues into its own link's outbox, which then
     * knows there is something new; `kh-node submit`, another process, into a fresh one
     * (the running node sees that write through PRAGMA data_version) */
    kh_outbox_t *own = n->link ? kh_link_outbox(n->link) : NULL;
    kh_outbox_t *ob = own ? own : kh_outbox_new(n->db, "collector", 1, 1000);
    int put = ob ? kh_outbox_put(ob, "", key, KH_T_REPORT, payload, plen) : -1;
    if (!own)
        kh_outbox_destroy(&ob);
    free(payload);
    st = kh_db_prepare(n->db, "INSERT INTO report(report_id,revision,period,source,receipts,"
                              "submitted_at,stage,content_hash) VALUES(?,?,?,?,?,?,'queued',?)");
    if (put < 0 || !st) {
        sqlite3_finalize(st);
        goto out_rollback;
    }
    sqlite3_bind_text(st, 1, p.r.report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, p.r.revision);
    sqlite3_bind_text(st, 3, p.r.period, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, rpath, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_text(st, 7, hash, -1, SQLITE_STATIC);
    int ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    if (!ok || kh_db_exec(n->db, "COMMIT", "submit") < 0)
        goto out_rollback;
    n->queued++;
    size_t warnings = p.f.n > p.errors ? p.f.n - p.errors : 0;   /* errors: --force */
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:I, s:i, s:s?, s:i, s:s, s:s, s:o}", "stage",
                          "queued", "file", p.name, "report_id", p.r.report_id, "revision",
                          (int)p.r.revision, "at", (json_int_t)now, "values", (int)p.r.n_values,
                          "encoding", p.encoding[0] ? p.encoding : NULL, "warnings",
                          (int)warnings, "message_vi", "Báo cáo đã vào hàng đợi gửi lên tỉnh",
                          "message", "The report is queued for the province",
                          "findings", findings_json(p.f.items, p.f.n));
    rfail |= !o || write_receipt(rpath, o) < 0;
    json_decref(o);
    if (on_terminal(n)) {
        if (p.f.n)
            show_findings(&p, rpath);
        /* the line ends with "queued" (tests/faults/lib-faults.sh reads it so) */
        printf("%s: lần sửa %u, %zu lỗi, %zu cảnh báo: đã vào hàng đợi / revision %u, %zu "
               "error(s), %zu warning(s): queued\n", shown_path, p.r.revision, p.errors,
               warnings, p.r.revision, p.errors, warnings);
    }
    char msg[384];
    snprintf(msg, sizeof msg, "%s queued as revision %u (%zu values, %zu warnings)", p.name,
             p.r.revision, p.r.n_values, p.f.n);
    KH_INFO("report.queued", msg, "district", n->district, "report_id", p.r.report_id,
            "period", p.r.period, "file", p.name);
    rc = 0;
    goto out;
out_rollback:
    sqlite3_exec(n->db, "ROLLBACK", NULL, NULL, NULL);
out:
    if (rfail && on_terminal(n)) {
        fprintf(stderr, "kh-node: không ghi được biên nhận vào %s: hãy kiểm tra quyền ghi / cannot "
                "write the receipts to %s: check the permissions\n", shown_r, shown_r);
        rc = -1;
    }
    node_prep_clear(&p);
    return rc;
}

/* The receipts file and source of (report_id, revision), or -1 if unknown. */
static int report_paths(node_t *n, const char *report_id, uint32_t revision, char *rpath,
                        size_t cap)
{
    sqlite3_stmt *st = kh_db_prepare(n->db, "SELECT receipts FROM report "
                                            "WHERE report_id=? AND revision=?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, revision);
    int rc = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        kh_strlcpy(rpath, (const char *)sqlite3_column_text(st, 0), cap);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

void node_on_received(node_t *n, const char *key, int dup)
{
    char report_id[96];
    const char *slash = strrchr(key, '/');
    long rev;
    if (!slash || (size_t)(slash - key) >= sizeof report_id ||
        kh_parse_long(slash + 1, 1, 1000000, &rev) < 0)
        return;
    memcpy(report_id, key, (size_t)(slash - key));
    report_id[slash - key] = '\0';
    sqlite3_stmt *st = kh_db_prepare(n->db, "UPDATE report SET received_at=?, stage=CASE stage "
                                            "WHEN 'queued' THEN 'received' ELSE stage END "
                                            "WHERE report_id=? AND revision=? AND received_at IS NULL");
    if (!st)
        return;
    int64_t now = kh_now_ms();
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, rev);
    int changed = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(n->db) > 0;
    sqlite3_finalize(st);
    char rpath[PATH_MAX];
    if (!changed || report_paths(n, report_id, (uint32_t)rev, rpath, sizeof rpath) < 0)
        return;
    json_t *o = json_pack("{s:s, s:s, s:i, s:I, s:b, s:s, s:s}", "stage", "received",
                          "report_id", report_id, "revision", (int)rev, "at", (json_int_t)now,
                          "duplicate", dup, "message_vi", "Tỉnh đã nhận báo cáo",
                          "message", "The province has received the report");
    if (o) {
        write_receipt(rpath, o);
        json_decref(o);
    }
    KH_INFO("receipt.received", "the collector has the report", "district", n->district,
            "report_id", report_id);
}

/* Stores a receipt once by its event id (a reminder: report "" revision 0).  Returns 1
 * when new, 0 when the node had it (acknowledge it again), -1 on a database error. */
static int store_receipt(node_t *n, const char *event_id, const char *report_id,
                         uint32_t revision, const char *stage, const char *body)
{
    sqlite3_stmt *st = kh_db_prepare(n->db, "INSERT INTO receipt(event_id,report_id,revision,"
                                            "stage,at,body) VALUES(?,?,?,?,?,?) "
                                            "ON CONFLICT DO NOTHING");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, revision);
    sqlite3_bind_text(st, 4, stage, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, kh_now_ms());
    sqlite3_bind_text(st, 6, body, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) != SQLITE_DONE ? -1 : sqlite3_changes(n->db) > 0;
    sqlite3_finalize(st);
    if (rc == 1)
        n->receipts++;
    return rc;
}

/* A reminder from the province (STAGE_REMINDER, no report): the period's report is due
 * soon and has not arrived.  Stored once in `receipt` (stage "reminder"), appended to
 * <node folder>/reminders.jsonl, logged as a warning, listed by `kh-node status`.
 * Returns 0 (new or known: acknowledge it) or -1. */
static int apply_reminder(node_t *n, const Kh__Receipt *e)
{
    const char *vi = e->n_findings ? e->findings[0]->message_vi : "";
    const char *en = e->n_findings ? e->findings[0]->message_en : "";
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "stage", "reminder", "event_id",
                          e->event_id, "period", e->period, "at", (json_int_t)e->at,
                          "message_vi", vi, "message", en);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    int rc = body ? store_receipt(n, e->event_id, "", 0, "reminder", body) : -1;
    if (rc <= 0)
        goto out;                         /* 0: already had it, just acknowledge again */
    rc = 0;
    char path[PATH_MAX], msg[1024];
    snprintf(path, sizeof path, "%s/reminders.jsonl", n->dir);
    write_receipt(path, o);
    snprintf(msg, sizeof msg, "%.480s / %.480s", vi, en);
    KH_WARN("receipt.reminder", msg, "district", n->district, "period", e->period,
            "event_id", e->event_id);
out:
    free(body);
    json_decref(o);
    return rc;
}

int node_apply_receipt(node_t *n, const uint8_t *payload, size_t len, char *event_id,
                       size_t cap)
{
    Kh__Receipt *e = kh__receipt__unpack(NULL, len, payload);
    if (!e || !e->event_id[0] || strlen(e->event_id) >= cap) {
        if (e)
            kh__receipt__free_unpacked(e, NULL);
        KH_WARN("receipt.malformed", "a receipt from the collector does not decode");
        return -1;
    }
    kh_strlcpy(event_id, e->event_id, cap);
    if (e->stage == KH__STAGE__STAGE_REMINDER) {
        int rr = apply_reminder(n, e);
        kh__receipt__free_unpacked(e, NULL);
        return rr;
    }
    const char *stage = stage_name(e->stage);
    static const char *const vi[] = {"Tỉnh đã nhận báo cáo", "Báo cáo đã được chấp nhận",
                                     "Báo cáo bị từ chối", "Số liệu đã được tổng hợp",
                                     "Đã có bản sửa mới hơn được tính"};
    static const char *const en[] = {"received", "accepted", "rejected", "counted",
                                     "a later revision is counted"};
    int si = e->stage >= 0 && e->stage < 5 ? (int)e->stage : 0;
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:I, s:I, s:s, s:s, s:o}", "stage", stage,
                          "event_id", e->event_id, "report_id", e->report_id, "revision",
                          (int)e->revision, "period", e->period, "at", (json_int_t)e->at,
                          "feed_seq", (json_int_t)e->feed_seq, "message_vi", vi[si],
                          "message", en[si], "findings",
                          findings_json(e->findings, e->n_findings));
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    int rc = body ? store_receipt(n, e->event_id, e->report_id, e->revision, stage, body) : -1;
    if (rc <= 0)
        goto out;                         /* 0: already had it, just acknowledge again */
    rc = 0;
    /* receipts may arrive out of order after a resend (a late "accepted" after
     * "counted"): the stage only moves forward */
    sqlite3_stmt *up = kh_db_prepare(n->db, "UPDATE report SET stage=?1, "
                                            "feed_seq=coalesce(?2, feed_seq) WHERE report_id=?3 "
                                            "AND revision=?4 AND " STAGE_RANK("stage") " < "
                                            STAGE_RANK("?1"));
    if (up) {
        sqlite3_bind_text(up, 1, stage, -1, SQLITE_STATIC);
        if (e->feed_seq)
            sqlite3_bind_int64(up, 2, (int64_t)e->feed_seq);
        sqlite3_bind_text(up, 3, e->report_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(up, 4, e->revision);
        sqlite3_step(up);
        sqlite3_finalize(up);
    }
    char rpath[PATH_MAX];
    if (report_paths(n, e->report_id, e->revision, rpath, sizeof rpath) == 0)
        write_receipt(rpath, o);
    char msg[512];
    snprintf(msg, sizeof msg, "%s / %s%s%.200s", vi[si], en[si], e->n_findings ? ": " : "",
             e->n_findings ? e->findings[0]->message_en : "");
    if (e->stage == KH__STAGE__STAGE_REJECTED)
        KH_WARN("receipt.rejected", msg, "district", n->district, "report_id", e->report_id);
    else
        KH_INFO("receipt.stage", msg, "district", n->district, "report_id", e->report_id,
                "stage", stage);
out:
    free(body);
    json_decref(o);
    kh__receipt__free_unpacked(e, NULL);
    return rc;
}

/* Column i of the row as text, escaped for a line of output (kh_escape); "" for NULL. */
static const char *col_shown(sqlite3_stmt *st, int i, char *buf, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    kh_escape(t ? (const char *)t : "", buf, cap);     /* cut past cap: the line still ends */
    return buf;
}

/* A stage's name as the officer reads it: Vietnamese / English. */
const char *node_stage_text(const char *stage)
{
    static const char *const map[][2] = {
        {"queued", "chờ gửi/queued"},          {"received", "đã nhận/received"},
        {"accepted", "đã chấp nhận/accepted"}, {"rejected", "bị từ chối/rejected"},
        {"counted", "đã tổng hợp/counted"},    {"superseded", "đã có bản mới hơn/superseded"},
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(map[i][0], stage) == 0)
            return map[i][1];
    return stage;
}

#define STATUS_SQL "SELECT report_id,revision,stage,ifnull(feed_seq,0),source,submitted_at," \
                   "period,receipts FROM report ORDER BY report_id,revision"
#define REMINDER_SQL "SELECT json_extract(body,'$.period'), at, json_extract(body,'$.message_vi')," \
                     " json_extract(body,'$.message') FROM receipt WHERE stage='reminder'"     \
                     " ORDER BY at, event_id"

static long long outbox_depth(node_t *n)
{
    kh_outbox_t *ob = kh_outbox_new(n->db, "collector", 1, 1000);
    long long d = ob ? (long long)kh_outbox_depth(ob) : -1LL;
    kh_outbox_destroy(&ob);
    return d;
}

/* s, then blanks up to `width` columns (as a terminal shows UTF-8) and one more. */
static void put_col(FILE *out, const char *s, int width)
{
    int w = u8_strwidth((const uint8_t *)s, "UTF-8");
    fputs(s, out);
    for (; w < width; w++)
        fputc(' ', out);
    fputc(' ', out);
}

int node_print_status(node_t *n, FILE *out)
{
    sqlite3_stmt *st = kh_db_prepare(n->db, STATUS_SQL);
    if (!st)
        return -1;
    static char id[KH_ESCAPE_CAP(128)], stage[KH_ESCAPE_CAP(32)], src[KH_ESCAPE_CAP(PATH_MAX)];
    fprintf(out, "Nút %s: báo cáo / node %s: reports\n", n->district, n->district);
    static const int wd[] = {15, 8, 30, 11, 18};
    static const char *const head[] = {"Báo cáo/report", "Lần/rev", "Giai đoạn/stage",
                                       "Số TT/feed", "Nộp lúc/submitted"};
    for (int i = 0; i < 5; i++)
        put_col(out, head[i], wd[i]);
    fputs("Tệp/file\n", out);
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        char when[40];
        node_time_text(sqlite3_column_int64(st, 5), 0, when, sizeof when);
        char rev[24], seq[24];
        snprintf(rev, sizeof rev, "%lld", (long long)sqlite3_column_int64(st, 1));
        snprintf(seq, sizeof seq, "%lld", (long long)sqlite3_column_int64(st, 3));
        put_col(out, col_shown(st, 0, id, sizeof id), wd[0]);
        put_col(out, rev, wd[1]);
        put_col(out, node_stage_text(col_shown(st, 2, stage, sizeof stage)), wd[2]);
        put_col(out, seq, wd[3]);
        put_col(out, when, wd[4]);
        fprintf(out, "%s\n", col_shown(st, 4, src, sizeof src));
        rows++;
    }
    sqlite3_finalize(st);
    if (!rows)
        fprintf(out, "(chưa có báo cáo nào / no reports yet)\n");
    fprintf(out, "Hàng đợi gửi / outbox: %lld\n", outbox_depth(n));
    node_conn_t c;
    int64_t since;
    const char *vi, *en;
    if (node_conn_load(n->db, &c, &since) < 0)
        return -1;
    node_conn_describe(c, &vi, &en);
    char when[40] = "";
    if (since)
        node_time_text(since, 0, when, sizeof when);
    fprintf(out, "Kết nối / connection: %s%s%s%s\n  %s\n  %s\n", node_conn_name(c),
            since ? " (từ / since " : "", when, since ? ")" : "", vi, en);
    st = kh_db_prepare(n->db, REMINDER_SQL);
    if (!st)
        return -1;
    static char p[KH_ESCAPE_CAP(64)], rvi[KH_ESCAPE_CAP(4096)], ren[KH_ESCAPE_CAP(4096)];
    while (sqlite3_step(st) == SQLITE_ROW) {
        node_time_text(sqlite3_column_int64(st, 1), 0, when, sizeof when);
        fprintf(out, "Nhắc nhở / reminder %s (%s): %s / %s\n", col_shown(st, 0, p, sizeof p),
                when, col_shown(st, 2, rvi, sizeof rvi), col_shown(st, 3, ren, sizeof ren));
    }
    sqlite3_finalize(st);
    return 0;
}

static char *iso_or_null(int64_t ms, char *buf, size_t cap)
{
    if (!ms)
        return NULL;
    kh_iso_time(ms, buf, cap);
    return buf;
}

int node_print_status_json(node_t *n, FILE *out)
{
    json_t *doc = json_object(), *reports = json_array(), *reminders = json_array();
    int rc = -1;
    if (!doc || !reports || !reminders)
        goto out;
    sqlite3_stmt *st = kh_db_prepare(n->db, STATUS_SQL);
    if (!st)
        goto out;
    static char id[KH_ESCAPE_CAP(128)], stage[KH_ESCAPE_CAP(32)], src[KH_ESCAPE_CAP(PATH_MAX)],
        rcp[KH_ESCAPE_CAP(PATH_MAX)], per[KH_ESCAPE_CAP(64)];
    while (sqlite3_step(st) == SQLITE_ROW) {
        char iso[40];
        col_shown(st, 2, stage, sizeof stage);
        json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:s?, s:s, s:s}",
                              "id", col_shown(st, 0, id, sizeof id),
                              "revision", (json_int_t)sqlite3_column_int64(st, 1),
                              "period", col_shown(st, 6, per, sizeof per),
                              "stage", stage, "stage_text", node_stage_text(stage),
                              "feed_seq", (json_int_t)sqlite3_column_int64(st, 3),
                              "submitted_at", iso_or_null(sqlite3_column_int64(st, 5), iso,
                                                          sizeof iso),
                              "file", col_shown(st, 4, src, sizeof src),
                              "receipts", col_shown(st, 7, rcp, sizeof rcp));
        if (!o || json_array_append_new(reports, o) < 0) {
            sqlite3_finalize(st);
            goto out;
        }
    }
    sqlite3_finalize(st);
    node_conn_t c;
    int64_t since;
    const char *vi, *en;
    if (node_conn_load(n->db, &c, &since) < 0)
        goto out;
    node_conn_describe(c, &vi, &en);
    char iso[40], when[40] = "";
    if (since)
        node_time_text(since, 0, when, sizeof when);
    json_t *conn = json_pack("{s:s, s:s?, s:s?, s:s, s:s}", "state", node_conn_name(c), "since",
                             iso_or_null(since, iso, sizeof iso), "since_text",
                             since ? when : NULL, "message_vi", vi, "message", en);
    if (!conn)
        goto out;
    st = kh_db_prepare(n->db, REMINDER_SQL);
    if (!st) {
        json_decref(conn);
        goto out;
    }
    static char p[KH_ESCAPE_CAP(64)], rvi[KH_ESCAPE_CAP(4096)], ren[KH_ESCAPE_CAP(4096)];
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_pack("{s:s, s:s?, s:s, s:s}", "period", col_shown(st, 0, p, sizeof p),
                              "at", iso_or_null(sqlite3_column_int64(st, 1), iso, sizeof iso),
                              "message_vi", col_shown(st, 2, rvi, sizeof rvi), "message",
                              col_shown(st, 3, ren, sizeof ren));
        if (o)
            json_array_append_new(reminders, o);
    }
    sqlite3_finalize(st);
    json_object_set_new(doc, "district", json_string(n->district));
    json_object_set(doc, "reports", reports);
    json_object_set_new(doc, "outbox", json_integer(outbox_depth(n)));
    json_object_set_new(doc, "connection", conn);
    json_object_set(doc, "reminders", reminders);
    rc = json_dumpf(doc, out, JSON_INDENT(1)) < 0 ? -1 : 0;
    fputc('\n', out);
out:
    json_decref(reports);
    json_decref(reminders);
    json_decref(doc);
    return rc;
}
