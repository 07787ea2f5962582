/*
 * web_page.c — the web page's replies: every HTML page and JSON answer (see web.h for
 * what the page does, web_int.h for what is shared with web.c).  Plain HTML with a
 * small inline stylesheet and a few lines of JavaScript (drag and drop, the live
 * receipts); Vietnamese with English beside it; every text from outside (a file name,
 * a finding, the database) goes through esc().  A page is built in a bounded buffer
 * (WEB_PAGE_MAX): past it the reply is an error, never a cut page.
 */
#include "web_int.h"

#include "connection.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kh_buf.h"
#include "kh_db.h"
#include "kh_log.h"
#include "kh_outbox.h"
#include "kh_period.h"
#include "kh_report.h"
#include "kh_util.h"
#include "template.h"

/* ---- small helpers ---------------------------------------------------------------------- */

/* An HTML page or a JSON text being built: a bounded kh_buf_t. */
typedef struct {
    kh_buf_t b;
} page_t;

static void put(page_t *p, const char *s)
{
    size_t l = strlen(s);
    if (p->b.n + l > WEB_PAGE_MAX)
        p->b.fail = 1;
    kh_buf_put(&p->b, s, l);
}

static void putf(page_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(page_t *p, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        p->b.fail = 1;
    else
        put(p, tmp);
}

/* s escaped for HTML text and attribute values (NULL: nothing). */
static void esc(page_t *p, const char *s)
{
    const char *run = s;
    for (; s && *s; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
                      : *s == '"' ? "&quot;" : *s == '\'' ? "&#39;" : NULL;
        if (!e)
            continue;
        if (s > run) {
            if (p->b.n + (size_t)(s - run) > WEB_PAGE_MAX)
                p->b.fail = 1;
            kh_buf_put(&p->b, run, (size_t)(s - run));
        }
        put(p, e);
        run = s + 1;
    }
    if (s && s > run)
        put(p, run);
}

/* A time (unix ms) as people here read it: "10/03/2027 17:00:05" (local time). */
static void fmt_time(int64_t ms, char *out, size_t cap)
{
    if (ms <= 0) {
        kh_strlcpy(out, "—", cap);
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(out, cap, "%d/%m/%Y %H:%M:%S", &tm))
        kh_strlcpy(out, "?", cap);
}

void web_random_hex(char *out, size_t bytes)
{
    uint8_t b[32];
    randombytes_buf(b, bytes);
    sodium_bin2hex(out, bytes * 2 + 1, b, bytes);
}

typedef struct {
    const char *id, *vi, *en, *next_vi, *next_en;
} stage_text_t;

static const stage_text_t STAGES[] = {
    {"queued", "Đang chờ gửi lên tỉnh", "Queued for the province",
     "Nút tự gửi khi kết nối được với tỉnh: không cần làm gì thêm.",
     "The node sends it by itself once connected: nothing more to do."},
    {"received", "Tỉnh đã nhận", "Received by the province",
     "Tỉnh đang kiểm tra: trang này tự cập nhật.",
     "The province is checking it: this page updates itself."},
    {"accepted", "Đã được chấp nhận", "Accepted",
     "Đang chờ tổng hợp: trang này tự cập nhật.",
     "Waiting to be counted: this page updates itself."},
    {"rejected", "Bị từ chối", "Rejected",
     "Xem các lỗi dưới đây, sửa tệp rồi tải lên lại (thành một lần sửa mới).",
     "See the errors below, fix the file and upload it again (a new revision)."},
    {"counted", "Đã tính vào tổng hợp", "Counted",
     "Xong: số liệu đã vào tổng hợp của tỉnh.", "Done: the numbers are in the province's totals."},
    {"superseded", "Đã có bản sửa mới hơn được tính", "Superseded by a later revision",
     "Không cần làm gì: bản sửa mới hơn là bản được tính.",
     "Nothing to do: the later revision is the one counted."},
    {"rejected_locally", "Nút từ chối, chưa gửi", "Refused by the node, not sent",
     "Sửa các lỗi rồi tải tệp lên lại.", "Fix the errors and upload the file again."},
};

static const stage_text_t *stage_text(const char *id)
{
    for (size_t i = 0; i < sizeof STAGES / sizeof *STAGES; i++)
        if (id && strcmp(id, STAGES[i].id) == 0)
            return &STAGES[i];
    static const stage_text_t unknown = {"", "Không rõ", "Unknown", "", ""};
    return &unknown;
}

/* A code from a finding with its name from the catalogue (after sep), or "—". */
static void put_code(page_t *p, const char *code, const char *name, const char *sep)
{
    if (!code || !code[0]) {
        put(p, "—");
        return;
    }
    esc(p, code);
    if (name) {
        put(p, sep);
        put(p, "<span class=muted>");
        esc(p, name);
        put(p, "</span>");
    }
}

/* A unit: "29050 Thị trấn Bình Đại". */
static void put_unit(page_t *p, const kh_catalog_t *cat, const char *code)
{
    const kh_unit_t *u = code ? kh_catalog_unit_any(cat, code) : NULL;
    put_code(p, code, u ? u->name : NULL, " ");
}

/* An indicator, its Vietnamese name below. */
static void put_indicator(page_t *p, const kh_catalog_t *cat, const char *code)
{
    const kh_indicator_t *ind = code ? kh_catalog_indicator(cat, code) : NULL;
    put_code(p, code, ind ? ind->name_vi : NULL, "<br>");
}

/* ---- page frame ----------------------------------------------------------------------- */

static const char STYLE[] =
    "<style>"
    "body{font-family:'Noto Sans','DejaVu Sans',Arial,sans-serif;margin:0;background:#f4f6f8;"
    "color:#1c2833;font-size:16px;line-height:1.45}"
    "header{background:#1f4e79;color:#fff;padding:14px 24px}"
    "header h1{margin:0;font-size:22px}header p{margin:4px 0 0;opacity:.85}"
    "header a{color:#fff}header .en{color:#d6eaf8}"
    "td.id{white-space:nowrap}"
    "main{max-width:1100px;margin:0 auto;padding:16px 24px}"
    "section{background:#fff;border:1px solid #d5dbe1;border-radius:6px;padding:14px 18px;"
    "margin:0 0 16px}"
    "h2{font-size:19px;margin:0 0 10px}h3{font-size:17px;margin:14px 0 6px}"
    ".en{color:#566573;font-style:italic}.muted{color:#566573;font-size:14px}"
    "table{border-collapse:collapse;width:100%;font-size:15px}"
    "th,td{border:1px solid #d5dbe1;padding:5px 8px;text-align:left;vertical-align:top}"
    "th{background:#eaf0f6}"
    ".ok{border-left:6px solid #1e8449}.bad{border-left:6px solid #c0392b}"
    ".warn{border-left:6px solid #d68910}.unknown{border-left:6px solid #7f8c8d}"
    ".badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:14px;"
    "background:#eaf0f6}"
    ".s-counted{background:#d4efdf}.s-rejected,.s-rejected_locally{background:#f5b7b1}"
    ".s-queued{background:#fdebd0}"
    "button,.button{background:#1f4e79;color:#fff;border:0;border-radius:4px;"
    "padding:8px 16px;font-size:16px;cursor:pointer;text-decoration:none;display:inline-block}"
    "button.send{background:#1e8449;font-size:18px;padding:10px 22px}"
    "#drop{border:2px dashed #85929e;border-radius:6px;padding:18px;text-align:center;"
    "margin:8px 0}#drop.over{background:#eaf0f6}"
    "input,select{font-size:16px;padding:4px}"
    "tr.err td:first-child{border-left:4px solid #c0392b}"
    "tr.wrn td:first-child{border-left:4px solid #d68910}"
    "ol.steps{display:flex;gap:6px;list-style:none;padding:0;flex-wrap:wrap}"
    "ol.steps li{padding:4px 10px;border-radius:4px;background:#eaf0f6;color:#566573}"
    "ol.steps li.done{background:#d4efdf;color:#1c2833}"
    "</style>";

static void page_head(node_web_t *w, page_t *p, const char *title_vi, const char *title_en)
{
    put(p, "<!DOCTYPE html><html lang=vi><head><meta charset=utf-8>"
           "<meta name=viewport content='width=device-width, initial-scale=1'><title>");
    esc(p, title_vi);
    put(p, " / ");
    esc(p, title_en);
    put(p, "</title>");
    put(p, STYLE);
    put(p, "</head><body><header><h1><a href='/'>Báo cáo khuyến học</a> — ");
    const kh_unit_t *u = kh_catalog_unit_any(w->n.cat, w->n.district);
    esc(p, u && u->name ? u->name : "");
    put(p, " (");
    esc(p, w->n.district);
    put(p, ")</h1><p class=en>Learning-promotion reporting — this unit's node</p></header><main>");
}

static void page_foot(page_t *p)
{
    put(p, "</main></body></html>");
}

/* A heading in Vietnamese with English beside it. */
static void h2(page_t *p, const char *vi, const char *en)
{
    put(p, "<h2>");
    esc(p, vi);
    put(p, " <span class=en>/ ");
    esc(p, en);
    put(p, "</span></h2>");
}

/* A paragraph in Vietnamese, then English (en NULL: vi holds both already). */
static void para(page_t *p, const char *cls, const char *vi, const char *en)
{
    putf(p, "<p%s%s>", cls ? " class=" : "", cls ? cls : "");
    esc(p, vi);
    if (en) {
        put(p, "<br><span class=en>");
        esc(p, en);
        put(p, "</span>");
    }
    put(p, "</p>");
}

/* ---- responses -------------------------------------------------------------------------- */

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, page_t *p,
                               const char *type)
{
    uint8_t *body = NULL;
    size_t len = 0;
    if (kh_buf_take(&p->b, &body, &len) != KH_OK) {
        static char oom[] = "the page is too large or out of memory\n";
        struct MHD_Response *r = MHD_create_response_from_buffer(sizeof oom - 1, oom,
                                                                 MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_INTERNAL_SERVER_ERROR, r);
        MHD_destroy_response(r);
        return rc;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body ? (void *)body : (void *)"",
                                                             body ? MHD_RESPMEM_MUST_FREE
                                                                  : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; style-src 'unsafe-inline'; "
                            "script-src 'unsafe-inline'; frame-ancestors 'none'");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result html(struct MHD_Connection *c, unsigned status, page_t *p)
{
    return respond(c, status, p, "text/html; charset=utf-8");
}

/* A page with one message: what happened and what to do next. */
enum MHD_Result web_message(node_web_t *w, struct MHD_Connection *c, unsigned status,
                                    const char *vi, const char *en)
{
    page_t p = {0};
    page_head(w, &p, "Thông báo", "Message");
    put(&p, "<section class=bad>");
    para(&p, NULL, vi, en);
    put(&p, "<p><a class=button href='/'>Về trang chính / Back to the overview</a></p></section>");
    page_foot(&p);
    return html(c, status, &p);
}

static enum MHD_Result json_reply(struct MHD_Connection *c, unsigned status, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    page_t p = {0};
    if (!s)
        p.b.fail = 1;
    else
        put(&p, s);
    free(s);
    return respond(c, status, &p, "application/json; charset=utf-8");
}

enum MHD_Result web_redirect(struct MHD_Connection *c, const char *to)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"",
                                                             MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, to);
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_SEE_OTHER, r);
    MHD_destroy_response(r);
    return rc;
}

/* ---- the overview ------------------------------------------------------------------------ */

static void put_conn(node_web_t *w, page_t *p)
{
    node_conn_t c;
    int64_t since = 0;
    node_conn_load(w->n.db, &c, &since);
    const char *vi, *en;
    node_conn_describe(c, &vi, &en);
    putf(p, "<section id=conn class=%s data-state=%s>",
         c == NODE_CONN_OK ? "ok" : c == NODE_CONN_UNKNOWN ? "unknown" : "bad", node_conn_name(c));
    h2(p, "Kết nối với tỉnh", "Connection to the province");
    para(p, NULL, vi, en);
    if (since > 0) {
        char t[40];
        fmt_time(since, t, sizeof t);
        putf(p, "<p class=muted>Từ / Since: %s</p>", t);
    }
    putf(p, "<form method=post action='/check'><input type=hidden name=csrf value='%s'>"
            "<button type=submit id=check>Kiểm tra kết nối / Check the connection</button> "
            "<span class=muted>mất vài giây / takes a few seconds</span></form></section>",
         w->token);
}

static void put_upload_form(node_web_t *w, page_t *p)
{
    put(p, "<section id=upload>");
    h2(p, "Nộp báo cáo", "Submit a report");
    para(p, "muted", "Chọn hoặc kéo thả tệp báo cáo (CSV hoặc XLSX). Nút kiểm tra ngay và cho "
         "thấy mọi lỗi; chỉ gửi lên tỉnh khi bạn bấm \"Gửi lên tỉnh\".",
         "Choose or drop the report file (CSV or XLSX). The node checks it at once and shows "
         "every problem; it goes to the province only when you press \"Send to the province\".");
    putf(p, "<form method=post action='/upload' enctype='multipart/form-data' id=upform>"
            "<input type=hidden name=csrf value='%s'>"
            "<div id=drop>Kéo tệp vào đây / Drop the file here<br>"
            "<input type=file name=file id=file accept='.csv,.xlsx,.txt,text/csv'></div>"
            "<button type=submit id=checkfile>Kiểm tra tệp / Check the file</button> "
            "<span id=toobig class=muted></span></form>",
         w->token);
    size_t max = w->n.max_file_bytes ? w->n.max_file_bytes : KH_REPORT_MAX_BYTES;
    putf(p, "<script>(function(){var max=%zu,d=document.getElementById('drop'),"
            "f=document.getElementById('file'),form=document.getElementById('upform');"
            "function big(){if(f.files.length&&f.files[0].size>max){"
            "document.getElementById('toobig').textContent='Tệp quá lớn (tối đa '+max+"
            "' byte): hãy bỏ các dòng, cột thừa / The file is too large (at most '+max+"
            "' bytes): remove extra rows and columns';return true}return false}"
            "form.addEventListener('submit',function(e){if(big())e.preventDefault()});"
            "d.addEventListener('dragover',function(e){e.preventDefault();d.className='over'});"
            "d.addEventListener('dragleave',function(){d.className=''});"
            "d.addEventListener('drop',function(e){e.preventDefault();d.className='';"
            "f.files=e.dataTransfer.files;if(!big())form.submit()})})()</script>",
         max);
    put(p, "</section>");
}

static void put_reports(node_web_t *w, page_t *p)
{
    put(p, "<section id=reports>");
    h2(p, "Các báo cáo đã nộp", "Reports submitted");
    kh_outbox_t *ob = kh_outbox_new(w->n.db, "collector", 1, 1000);
    long long depth = ob ? (long long)kh_outbox_depth(ob) : -1;
    kh_outbox_destroy(&ob);
    if (depth > 0)
        putf(p, "<p>%lld báo cáo đang chờ gửi lên tỉnh: nút tự gửi khi có kết nối.<br>"
                "<span class=en>%lld report(s) waiting to go to the province: the node sends "
                "them once connected.</span></p>", depth, depth);
    sqlite3_stmt *st = kh_db_prepare(w->n.db, "SELECT report_id,revision,period,stage,"
                                              "ifnull(feed_seq,0),submitted_at,"
                                              "ifnull(received_at,0) FROM report ORDER BY "
                                              "submitted_at DESC, revision DESC LIMIT ?");
    if (!st) {
        para(p, "bad", "Không đọc được cơ sở dữ liệu của nút: xem nhật ký của nút.",
             "The node's database cannot be read: see the node's log.");
        put(p, "</section>");
        return;
    }
    sqlite3_bind_int(st, 1, WEB_REPORTS_MAX);
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (rows++ == 0)
            put(p, "<table><thead><tr><th>Báo cáo<br><span class=en>Report</span></th>"
                   "<th>Kỳ<br><span class=en>Period</span></th>"
                   "<th>Lần sửa<br><span class=en>Revision</span></th>"
                   "<th>Trạng thái<br><span class=en>Stage</span></th>"
                   "<th>Số thứ tự tổng hợp<br><span class=en>Feed sequence</span></th>"
                   "<th>Nộp lúc<br><span class=en>Submitted</span></th>"
                   "<th>Tỉnh nhận lúc<br><span class=en>Received</span></th></tr></thead><tbody>");
        const char *id = (const char *)sqlite3_column_text(st, 0);
        long long rev = sqlite3_column_int64(st, 1);
        const char *period = (const char *)sqlite3_column_text(st, 2);
        const char *stage = (const char *)sqlite3_column_text(st, 3);
        long long seq = sqlite3_column_int64(st, 4);
        char sub[40], rec[40], label[64] = "";
        fmt_time(sqlite3_column_int64(st, 5), sub, sizeof sub);
        fmt_time(sqlite3_column_int64(st, 6), rec, sizeof rec);
        kh_period_t pp;
        if (period && kh_period_parse(period, &pp) == 0)
            kh_period_label(&pp, 0, label, sizeof label);
        const stage_text_t *t = stage_text(stage);
        put(p, "<tr><td class=id><a href='/report/");
        esc(p, id ? id : "");
        putf(p, "/%lld'>", rev);
        esc(p, id ? id : "");
        put(p, "</a></td><td>");
        esc(p, period ? period : "");
        put(p, "<br><span class=muted>");
        esc(p, label);
        putf(p, "</span></td><td>%lld</td><td><span class='badge s-", rev);
        esc(p, stage ? stage : "");
        put(p, "'>");
        esc(p, t->vi);
        put(p, "</span><br><span class=en>");
        esc(p, t->en);
        put(p, "</span></td><td>");
        if (seq > 0)
            putf(p, "%lld", seq);
        else
            put(p, "—");
        putf(p, "</td><td>%s</td><td>%s</td></tr>", sub, rec);
    }
    sqlite3_finalize(st);
    if (rows)
        put(p, "</tbody></table>");
    else
        para(p, "muted", "Chưa có báo cáo nào: hãy nộp tệp báo cáo ở trên.",
             "No report yet: submit a report file above.");
    if (rows >= WEB_REPORTS_MAX)
        putf(p, "<p class=muted>Chỉ hiện %d báo cáo mới nhất / Only the %d newest are shown "
                "(kh-node status lists them all).</p>", WEB_REPORTS_MAX, WEB_REPORTS_MAX);
    put(p, "</section>");
}

static void put_template_form(node_web_t *w, page_t *p)
{
    kh_period_t half = kh_period_half_of(kh_today());
    char cur[16];
    kh_period_format(&half, cur, sizeof cur);
    put(p, "<section id=template>");
    h2(p, "Tải mẫu báo cáo", "Download the report template");
    para(p, "muted", "Mẫu có sẵn một dòng cho mỗi đơn vị mà nút báo cáo thay và một cột cho "
         "mỗi chỉ tiêu: điền số rồi nộp lại ở trên (XLSX hoặc CSV).",
         "The template has a row for each unit this node reports for and a column for each "
         "indicator: fill in the numbers and submit it above (XLSX or CSV).");
    putf(p, "<form method=get action='/template'>"
            "<label>Kỳ báo cáo / Period (YYYYS1, YYYYS2): "
            "<input name=period value='%s' size=8 maxlength=8 pattern='[0-9]{4}S[12]'></label> "
            "<label>Dạng / Format: <select name=format><option value=xlsx>XLSX (Excel, "
            "LibreOffice)</option><option value=csv>CSV</option></select></label> "
            "<button type=submit>Tải về / Download</button></form></section>", cur);
    (void)w;
}

enum MHD_Result web_overview(node_web_t *w, struct MHD_Connection *c)
{
    page_t p = {0};
    page_head(w, &p, "Nút báo cáo", "Reporting node");
    put_conn(w, &p);
    put_upload_form(w, &p);
    put_reports(w, &p);
    put_template_form(w, &p);
    page_foot(&p);
    return html(c, MHD_HTTP_OK, &p);
}

/* ---- the check of an uploaded file --------------------------------------------------------- */

static void put_findings(node_web_t *w, page_t *p, const kh_findings_t *f, int errors)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += (f->items[i]->is_error != 0) == (errors != 0);
    putf(p, "<h3 id=%s>", errors ? "errors" : "warnings");
    if (errors)
        putf(p, "%zu lỗi <span class=en>/ %zu error(s)</span></h3>", n, n);
    else
        putf(p, "%zu cảnh báo <span class=en>/ %zu warning(s)</span></h3>", n, n);
    if (!n)
        return;
    putf(p, "<table class=findings id=%s-table><thead><tr><th>Dòng<br><span class=en>Line</span>"
            "</th><th>Đơn vị<br><span class=en>Unit</span></th><th>Chỉ tiêu<br><span "
            "class=en>Indicator</span></th><th>Giá trị<br><span class=en>Value</span></th>"
            "<th>Lý do và cách sửa<br><span class=en>Reason and what to do</span></th>"
            "<th>Mã<br><span class=en>Code</span></th></tr></thead><tbody>",
         errors ? "errors" : "warnings");
    for (size_t i = 0; i < f->n; i++) {
        const Kh__Finding *x = f->items[i];
        if ((x->is_error != 0) != (errors != 0))
            continue;
        putf(p, "<tr class='%s' data-line='%u' data-unit='", errors ? "err" : "wrn", x->line);
        esc(p, x->orgunit ? x->orgunit : "");
        put(p, "' data-indicator='");
        esc(p, x->indicator ? x->indicator : "");
        put(p, "'><td>");
        if (x->line)
            putf(p, "%u", x->line);
        else
            put(p, "—");
        put(p, "</td><td>");
        put_unit(p, w->n.cat, x->orgunit);
        put(p, "</td><td>");
        put_indicator(p, w->n.cat, x->indicator);
        put(p, "</td><td>");
        esc(p, x->value && x->value[0] ? x->value : "—");
        put(p, "</td><td>");
        esc(p, x->message_vi ? x->message_vi : "");
        put(p, "<br><span class=en>");
        esc(p, x->message_en ? x->message_en : "");
        put(p, "</span></td><td>");
        esc(p, x->code ? x->code : "");
        put(p, "</td></tr>");
    }
    put(p, "</tbody></table>");
}

static void refused_text(const node_prep_t *pr, size_t max, char *vi, size_t vcap, char *en,
                         size_t ecap)
{
    switch (pr->why) {
    case KH_FILE_TOO_LARGE:
        snprintf(vi, vcap, "Tệp quá lớn (%llu byte; tối đa %zu byte): hãy kiểm tra đây đúng là "
                 "tệp báo cáo của đơn vị, xoá các dòng hoặc cột thừa rồi tải lên lại.",
                 (unsigned long long)pr->size, max);
        snprintf(en, ecap, "The file is too large (%llu bytes; at most %zu): check that it is "
                 "the unit's report, remove extra rows or columns and upload it again.",
                 (unsigned long long)pr->size, max);
        break;
    default:
        snprintf(vi, vcap, "Nút không đọc được tệp đã tải lên: hãy tải lên lại; nếu vẫn lỗi, "
                 "xem nhật ký của nút.");
        snprintf(en, ecap, "The node cannot read the uploaded file: upload it again; if it "
                 "fails again, see the node's log.");
        break;
    }
}

enum MHD_Result web_checked(node_web_t *w, struct MHD_Connection *c, const char *id,
                                    const char *path)
{
    node_prep_t pr;
    kh_metric_inc(w->m_uploads);
    if (node_prepare(&w->n, path, &pr) < 0) {
        int e = errno;
        node_prep_clear(&pr);
        KH_ERROR("web.upload", strerror(e), "district", w->n.district);
        return web_message(w, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                            "Nút không kiểm tra được tệp (lỗi hệ thống): hãy thử lại; nếu vẫn "
                            "lỗi, xem nhật ký của nút.",
                            "The node could not check the file (a system error): try again; "
                            "if it fails again, see the node's log.");
    }
    size_t warnings = pr.f.n - pr.f.n_errors;
    char msg[512], ne[24], nw[24];
    snprintf(msg, sizeof msg, "%s uploaded and checked: %zu errors, %zu warnings", pr.name,
             pr.errors, warnings);
    KH_INFO("web.upload", msg, "district", w->n.district, "report_id",
            pr.r.report_id && pr.r.report_id[0] ? pr.r.report_id : NULL, "file", pr.name,
            "errors", kh_u64_str(pr.errors, ne, sizeof ne), "warnings",
            kh_u64_str(warnings, nw, sizeof nw));
    page_t p = {0};
    page_head(w, &p, "Kết quả kiểm tra tệp", "The file checked");
    int can_send = !pr.refused && pr.syntax == 0 && pr.errors == 0;
    putf(&p, "<section id=result class=%s>", can_send ? (warnings ? "warn" : "ok") : "bad");
    h2(&p, "Kết quả kiểm tra tệp", "The file checked");
    put(&p, "<table><tbody><tr><th>Tệp / File</th><td id=filename>");
    esc(&p, pr.name);
    put(&p, "</td></tr>");
    if (pr.encoding[0]) {
        put(&p, "<tr><th>Đọc dưới dạng / Read as</th><td>");
        esc(&p, pr.encoding);
        put(&p, "</td></tr>");
    }
    if (pr.syntax == 0 && !pr.refused && pr.r.report_id) {
        char label_vi[64] = "", label_en[64] = "";
        kh_period_t pp;
        if (pr.r.period && kh_period_parse(pr.r.period, &pp) == 0) {
            kh_period_label(&pp, 0, label_vi, sizeof label_vi);
            kh_period_label(&pp, 1, label_en, sizeof label_en);
        }
        put(&p, "<tr><th>Báo cáo / Report</th><td id=report_id>");
        esc(&p, pr.r.report_id);
        put(&p, "</td></tr><tr><th>Kỳ / Period</th><td>");
        esc(&p, pr.r.period ? pr.r.period : "");
        put(&p, " — ");
        esc(&p, label_vi);
        put(&p, " <span class=en>/ ");
        esc(&p, label_en);
        putf(&p, "</span></td></tr><tr><th>Số giá trị / Values</th><td>%zu</td></tr>",
             pr.r.n_values);
    }
    putf(&p, "<tr><th>Lỗi / Errors</th><td id=n_errors>%zu</td></tr>"
             "<tr><th>Cảnh báo / Warnings</th><td id=n_warnings>%zu</td></tr></tbody></table>",
         pr.refused ? (size_t)1 : pr.errors, warnings);
    size_t max = w->n.max_file_bytes ? w->n.max_file_bytes : KH_REPORT_MAX_BYTES;
    if (pr.refused) {
        char vi[512], en[512];
        refused_text(&pr, max, vi, sizeof vi, en, sizeof en);
        para(&p, NULL, vi, en);
    } else if (can_send) {
        para(&p, NULL, "Không có lỗi. Bấm \"Gửi lên tỉnh\" để gửi báo cáo này; sau đó trang "
             "báo cáo cho thấy biên nhận của tỉnh khi chúng về.",
             "No errors. Press \"Send to the province\" to send this report; then its page "
             "shows the province's receipts as they arrive.");
        putf(&p, "<form method=post action='/send'><input type=hidden name=csrf value='%s'>"
                 "<input type=hidden name=upload value='%s'>"
                 "<button type=submit class=send id=send>Gửi lên tỉnh / Send to the "
                 "province</button></form>", w->token, id);
    } else if (pr.syntax > 0) {
        para(&p, NULL, "Nút không đọc được tệp này thành một báo cáo (xem lỗi dưới đây): hãy "
             "sửa tệp hoặc dùng mẫu báo cáo ở trang chính, rồi tải lên lại. Báo cáo chưa được "
             "gửi.",
             "The node cannot read this file as a report (see the errors below): fix the file "
             "or use the template on the overview, then upload it again. Nothing was sent.");
    } else {
        para(&p, NULL, "Báo cáo có lỗi nên chưa được gửi: hãy sửa từng lỗi dưới đây trong tệp "
             "(dòng, đơn vị, chỉ tiêu), lưu lại rồi tải lên lại.",
             "The report has errors and was not sent: fix each error below in the file "
             "(line, unit, indicator), save it and upload it again.");
    }
    put(&p, "</section>");
    if (!pr.refused) {
        put(&p, "<section id=findings>");
        put_findings(w, &p, &pr.f, 1);
        put_findings(w, &p, &pr.f, 0);
        put(&p, "</section>");
    }
    if (!can_send)
        put_upload_form(w, &p);
    page_foot(&p);
    node_prep_clear(&pr);
    return html(c, MHD_HTTP_OK, &p);
}

/* ---- one report --------------------------------------------------------------------------- */

/* "/report/ID/REV" or "/api/report/ID/REV" → id, rev.  Returns KH_OK or KH_NO. */
static int parse_report_url(const char *rest, char *id, size_t cap, long *rev)
{
    const char *slash = strrchr(rest, '/');
    if (!slash || slash == rest || (size_t)(slash - rest) >= cap)
        return KH_NO;
    for (const char *q = rest; q < slash; q++)
        if (!((*q >= '0' && *q <= '9') || (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') ||
              *q == '-' || *q == '_' || *q == '.'))
            return KH_NO;
    if (kh_parse_long(slash + 1, 1, 1000000, rev) < 0)
        return KH_NO;
    memcpy(id, rest, (size_t)(slash - rest));
    id[slash - rest] = '\0';
    return KH_OK;
}

typedef struct {
    int found;
    char period[16], stage[32], source[PATH_MAX];
    long long feed_seq;
    int64_t submitted_at, received_at;
} report_row_t;

static int load_report(node_web_t *w, const char *id, long rev, report_row_t *r)
{
    memset(r, 0, sizeof *r);
    sqlite3_stmt *st = kh_db_prepare(w->n.db, "SELECT period,stage,ifnull(feed_seq,0),"
                                              "submitted_at,ifnull(received_at,0),source "
                                              "FROM report WHERE report_id=? AND revision=?");
    if (!st)
        return KH_ERR;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, rev);
    if (sqlite3_step(st) == SQLITE_ROW) {
        r->found = 1;
        kh_strlcpy(r->period, (const char *)sqlite3_column_text(st, 0), sizeof r->period);
        kh_strlcpy(r->stage, (const char *)sqlite3_column_text(st, 1), sizeof r->stage);
        r->feed_seq = sqlite3_column_int64(st, 2);
        r->submitted_at = sqlite3_column_int64(st, 3);
        r->received_at = sqlite3_column_int64(st, 4);
        kh_strlcpy(r->source, (const char *)sqlite3_column_text(st, 5), sizeof r->source);
    }
    sqlite3_finalize(st);
    return r->found ? KH_OK : KH_NO;
}

static sqlite3_stmt *receipts_of(node_web_t *w, const char *id, long rev)
{
    sqlite3_stmt *st = kh_db_prepare(w->n.db, "SELECT stage,at,body FROM receipt WHERE "
                                              "report_id=? AND revision=? ORDER BY at, rowid "
                                              "LIMIT ?");
    if (st) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, rev);
        sqlite3_bind_int(st, 3, WEB_RECEIPTS_MAX);
    }
    return st;
}

enum MHD_Result web_api_report(node_web_t *w, struct MHD_Connection *c, const char *rest)
{
    char id[96];
    long rev;
    report_row_t r;
    if (parse_report_url(rest, id, sizeof id, &rev) != KH_OK || load_report(w, id, rev, &r) != KH_OK)
        return json_reply(c, MHD_HTTP_NOT_FOUND, json_pack("{s:s}", "error", "no such report"));
    json_t *rec = json_array();
    sqlite3_stmt *st = receipts_of(w, id, rev);
    while (st && rec && sqlite3_step(st) == SQLITE_ROW) {
        json_t *body = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
        json_array_append_new(rec, json_pack("{s:s, s:I, s:o}", "stage",
                                             (const char *)sqlite3_column_text(st, 0), "at",
                                             (json_int_t)sqlite3_column_int64(st, 1), "body",
                                             body ? body : json_null()));
    }
    sqlite3_finalize(st);
    return json_reply(c, MHD_HTTP_OK,
                      json_pack("{s:s, s:i, s:s, s:s, s:I, s:I, s:I, s:o}", "report_id", id,
                                "revision", (int)rev, "period", r.period, "stage", r.stage,
                                "feed_seq", (json_int_t)r.feed_seq, "submitted_at",
                                (json_int_t)r.submitted_at, "received_at",
                                (json_int_t)r.received_at, "receipts", rec ? rec : json_array()));
}

static void put_steps(page_t *p, const char *stage)
{
    static const char *const order[] = {"queued", "received", "accepted", "counted"};
    int reached = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(stage, order[i]) == 0)
            reached = i;
    if (strcmp(stage, "superseded") == 0)
        reached = 3;
    if (strcmp(stage, "rejected") == 0)
        reached = 1;
    put(p, "<ol class=steps>");
    for (int i = 0; i < 4; i++) {
        const stage_text_t *t = stage_text(order[i]);
        putf(p, "<li class='%s'>", i <= reached ? "done" : "");
        esc(p, t->vi);
        put(p, " <span class=en>/ ");
        esc(p, t->en);
        put(p, "</span></li>");
    }
    put(p, "</ol>");
}

/* A receipt's row up to its stage's English name (the caller closes the span and adds
 * the feed sequence and findings cells). */
static void receipt_row_start(page_t *p, const stage_text_t *rt, int64_t at_ms)
{
    char at[40];
    fmt_time(at_ms, at, sizeof at);
    putf(p, "<tr class=receipt data-stage='%s'><td>%s</td><td><span class='badge s-%s'>",
         rt->id, at, rt->id);
    esc(p, rt->vi);
    put(p, "</span><br><span class=en>");
    esc(p, rt->en);
}

enum MHD_Result web_report(node_web_t *w, struct MHD_Connection *c, const char *rest)
{
    char id[96];
    long rev;
    report_row_t r;
    if (parse_report_url(rest, id, sizeof id, &rev) != KH_OK || load_report(w, id, rev, &r) != KH_OK)
        return web_message(w, c, MHD_HTTP_NOT_FOUND,
                            "Không có báo cáo này ở nút: hãy chọn báo cáo trong danh sách ở "
                            "trang chính.",
                            "This node has no such report: choose one in the list on the "
                            "overview.");
    const stage_text_t *t = stage_text(r.stage);
    page_t p = {0};
    char title[160];
    snprintf(title, sizeof title, "Báo cáo %s, lần sửa %ld", id, rev);
    page_head(w, &p, title, "Report");
    int final = !strcmp(r.stage, "counted") || !strcmp(r.stage, "rejected") ||
                !strcmp(r.stage, "superseded");
    putf(&p, "<section id=summary class=%s>",
         !strcmp(r.stage, "rejected") ? "bad" : final ? "ok" : "unknown");
    put(&p, "<h2>Báo cáo <span id=rid>");
    esc(&p, id);
    putf(&p, "</span>, lần sửa %ld <span class=en>/ report, revision %ld</span></h2>", rev, rev);
    put_steps(&p, r.stage);
    char sub[40], rec[40], label[64] = "";
    fmt_time(r.submitted_at, sub, sizeof sub);
    fmt_time(r.received_at, rec, sizeof rec);
    kh_period_t pp;
    if (kh_period_parse(r.period, &pp) == 0)
        kh_period_label(&pp, 0, label, sizeof label);
    char file[PATH_MAX];
    kh_strlcpy(file, r.source, sizeof file);
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    char shown[KH_ESCAPE_CAP(256)];
    kh_escape(base, shown, sizeof shown);
    put(&p, "<table><tbody><tr><th>Trạng thái / Stage</th><td><span id=stage data-stage='");
    esc(&p, r.stage);
    put(&p, "' class='badge s-");
    esc(&p, r.stage);
    put(&p, "'>");
    esc(&p, t->vi);
    put(&p, " / ");
    esc(&p, t->en);
    put(&p, "</span></td></tr><tr><th>Việc cần làm / What to do</th><td>");
    esc(&p, t->next_vi);
    put(&p, "<br><span class=en>");
    esc(&p, t->next_en);
    put(&p, "</span></td></tr><tr><th>Kỳ / Period</th><td>");
    esc(&p, r.period);
    put(&p, " — ");
    esc(&p, label);
    put(&p, "</td></tr><tr><th>Số thứ tự tổng hợp / Feed sequence</th><td id=feed_seq>");
    if (r.feed_seq > 0)
        putf(&p, "%lld", r.feed_seq);
    else
        put(&p, "—");
    putf(&p, "</td></tr><tr><th>Nộp lúc / Submitted</th><td>%s</td></tr>"
             "<tr><th>Tỉnh nhận lúc / Received</th><td>%s</td></tr><tr><th>Tệp / File</th><td>",
         sub, rec);
    esc(&p, shown);
    put(&p, "</td></tr></tbody></table></section>");

    put(&p, "<section id=receipts>");
    h2(&p, "Biên nhận của tỉnh", "The province's receipts");
    put(&p, "<table id=receipt-table><thead><tr><th>Lúc<br><span class=en>Time</span>"
            "</th><th>Trạng thái<br><span class=en>Stage</span></th><th>Số thứ tự "
            "tổng hợp<br><span class=en>Feed sequence</span></th><th>Nhận xét<br>"
            "<span class=en>Findings</span></th></tr></thead><tbody>");
    /* the node's own steps (the report row): queued, and the collector's acknowledgement */
    for (int k = 0; k < 2; k++) {
        int64_t when = k == 0 ? r.submitted_at : r.received_at;
        const stage_text_t *rt = stage_text(k == 0 ? "queued" : "received");
        if (when <= 0)
            continue;
        receipt_row_start(&p, rt, when);
        put(&p, "</span></td><td>—</td><td>—</td></tr>");
    }
    sqlite3_stmt *st = receipts_of(w, id, rev);
    int n = 0;
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *stage = (const char *)sqlite3_column_text(st, 0);
        n++;
        json_t *body = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
        json_int_t seq = json_integer_value(json_object_get(body, "feed_seq"));
        receipt_row_start(&p, stage_text(stage), sqlite3_column_int64(st, 1));
        put(&p, "</span></td><td>");
        if (seq > 0)
            putf(&p, "%lld", (long long)seq);
        else
            put(&p, "—");
        put(&p, "</td><td>");
        json_t *fs = json_object_get(body, "findings");
        size_t i;
        json_t *x;
        if (json_array_size(fs) == 0)
            put(&p, "—");
        else
            put(&p, "<ul>");
        json_array_foreach(fs, i, x) {
            const char *sev = json_string_value(json_object_get(x, "severity"));
            json_int_t line = json_integer_value(json_object_get(x, "line"));
            putf(&p, "<li><b>%s</b> ", sev && !strcmp(sev, "error") ? "Lỗi / Error"
                                                                     : "Cảnh báo / Warning");
            if (line > 0)
                putf(&p, "dòng / line %lld, ", (long long)line);
            const char *ou = json_string_value(json_object_get(x, "orgunit"));
            if (ou && ou[0]) {
                put_unit(&p, w->n.cat, ou);
                put(&p, ", ");
            }
            const char *ind = json_string_value(json_object_get(x, "indicator"));
            if (ind && ind[0]) {
                esc(&p, ind);
                put(&p, ": ");
            }
            esc(&p, json_string_value(json_object_get(x, "message_vi")));
            put(&p, "<br><span class=en>");
            esc(&p, json_string_value(json_object_get(x, "message")));
            put(&p, "</span></li>");
        }
        if (json_array_size(fs) > 0)
            put(&p, "</ul>");
        put(&p, "</td></tr>");
        json_decref(body);
    }
    sqlite3_finalize(st);
    put(&p, "</tbody></table>");
    if (!n)
        para(&p, "muted", "Chưa có biên nhận nào từ tỉnh: trang này tự cập nhật khi có.",
             "No receipt from the province yet: this page updates itself when one arrives.");
    /* live: poll the JSON every 2 s, reload when the stage or the receipts changed */
    put(&p, "<p class=muted><a href=''>Tải lại / Reload</a> · <a href='/'>Trang chính / "
            "Overview</a></p></section>");
    put(&p, "<script>(function(){var url='/api/report/");
    esc(&p, id);
    putf(&p, "/%ld',seen='", rev);
    esc(&p, r.stage);
    putf(&p, "/%d';setInterval(function(){fetch(url,{cache:'no-store'}).then(function(r){"
             "return r.json()}).then(function(j){if(j.stage+'/'+j.receipts.length!==seen)"
             "location.reload()}).catch(function(){})},2000)})()</script>", n);
    page_foot(&p);
    return html(c, MHD_HTTP_OK, &p);
}

/* ---- status (JSON) ---------------------------------------------------------------------- */

enum MHD_Result web_api_status(node_web_t *w, struct MHD_Connection *c)
{
    node_conn_t cs;
    int64_t since = 0;
    node_conn_load(w->n.db, &cs, &since);
    const char *vi, *en;
    node_conn_describe(cs, &vi, &en);
    json_t *reps = json_array();
    sqlite3_stmt *st = kh_db_prepare(w->n.db, "SELECT report_id,revision,period,stage,"
                                              "ifnull(feed_seq,0),submitted_at,"
                                              "ifnull(received_at,0) FROM report ORDER BY "
                                              "submitted_at DESC, revision DESC LIMIT ?");
    if (st)
        sqlite3_bind_int(st, 1, WEB_REPORTS_MAX);
    while (st && reps && sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(
            reps, json_pack("{s:s, s:I, s:s, s:s, s:I, s:I, s:I}", "report_id",
                            (const char *)sqlite3_column_text(st, 0), "revision",
                            (json_int_t)sqlite3_column_int64(st, 1), "period",
                            (const char *)sqlite3_column_text(st, 2), "stage",
                            (const char *)sqlite3_column_text(st, 3), "feed_seq",
                            (json_int_t)sqlite3_column_int64(st, 4), "submitted_at",
                            (json_int_t)sqlite3_column_int64(st, 5), "received_at",
                            (json_int_t)sqlite3_column_int64(st, 6)));
    sqlite3_finalize(st);
    kh_outbox_t *ob = kh_outbox_new(w->n.db, "collector", 1, 1000);
    json_int_t depth = ob ? (json_int_t)kh_outbox_depth(ob) : -1;
    kh_outbox_destroy(&ob);
    return json_reply(c, MHD_HTTP_OK,
                      json_pack("{s:s, s:{s:s, s:I, s:s, s:s}, s:I, s:o}", "district",
                                w->n.district, "conn", "state", node_conn_name(cs), "since",
                                (json_int_t)since, "message_vi", vi, "message", en, "outbox",
                                depth, "reports", reps ? reps : json_array()));
}

/* ---- the template ------------------------------------------------------------------------- */

enum MHD_Result web_template(node_web_t *w, struct MHD_Connection *c)
{
    const char *period = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "period");
    const char *format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    int xlsx = format && strcmp(format, "xlsx") == 0;
    /* YYYY or YYYYS1 / YYYYS2: anything else never reaches a file name */
    size_t pl = period ? strlen(period) : 0;
    int ok = pl == 4 || (pl == 6 && period[4] == 'S' && (period[5] == '1' || period[5] == '2'));
    for (size_t i = 0; ok && i < 4; i++)
        ok = period[i] >= '0' && period[i] <= '9';
    if (!ok)
        return web_message(w, c, MHD_HTTP_BAD_REQUEST,
                            "Kỳ báo cáo viết như 2020S1 (6 tháng đầu năm) hoặc 2020S2 (6 tháng "
                            "cuối năm): hãy sửa rồi tải lại.",
                            "Write the period as 2020S1 (January-June) or 2020S2 "
                            "(July-December): correct it and download again.");
    char tmpdir[PATH_MAX], path[PATH_MAX + 64], rnd[33], err[512];
    snprintf(tmpdir, sizeof tmpdir, "%s/web-tmp", w->n.dir);
    web_random_hex(rnd, 16);
    snprintf(path, sizeof path, "%s/%s.%s", tmpdir, rnd, xlsx ? "xlsx" : "csv");
    if (kh_mkdirs(tmpdir, 0750) < 0)
        return web_message(w, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                            "Nút không tạo được thư mục tạm: xem nhật ký của nút.",
                            "The node cannot make its temporary folder: see the node's log.");
    int rc = node_template_write(w->n.cat, w->n.district, period,
                                 xlsx ? NODE_TPL_XLSX : NODE_TPL_CSV, path, 1, err, sizeof err);
    if (rc != 0) {
        unlink(path);
        return web_message(w, c, rc == 2 ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR,
                            err, NULL);         /* err: one line, Vietnamese / English */
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    unlink(path);
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return web_message(w, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                            "Nút không đọc lại được mẫu vừa viết: xem nhật ký của nút.",
                            "The node cannot read back the template it wrote: see its log.");
    }
    struct MHD_Response *r = MHD_create_response_from_fd((size_t)st.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    char disp[128];
    snprintf(disp, sizeof disp, "attachment; filename=\"%s-%s-mau.%s\"", w->n.district, period,
             xlsx ? "xlsx" : "csv");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            xlsx ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                                 : "text/csv; charset=utf-8");
    MHD_add_response_header(r, "Content-Disposition", disp);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result res = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return res;
}

/* ---- the connection check ------------------------------------------------------------------ */

enum MHD_Result web_check(node_web_t *w, struct MHD_Connection *c)
{
    static node_check_item_t items[NODE_CHECK_MAX];    /* the page's one thread only */
    int failed = 0;
    size_t n = node_check_all(w->svc, &w->n, items, &failed);
    char nf[24];
    KH_INFO("web.check", "connection check from the web page", "district", w->n.district,
            "failed", kh_u64_str((uint64_t)failed, nf, sizeof nf));
    page_t p = {0};
    page_head(w, &p, "Kiểm tra kết nối", "Connection check");
    putf(&p, "<section id=checks class=%s>", !n ? "unknown" : failed ? "bad" : "ok");
    h2(&p, "Kiểm tra kết nối", "Connection check");
    if (!n)
        para(&p, NULL, "Chưa có mục kiểm tra nào trong phiên bản này của nút: hãy xem trạng "
             "thái kết nối ở trang chính.",
             "No checks in this version of the node: see the connection state on the "
             "overview.");
    else if (failed)
        putf(&p, "<p>%d mục chưa đạt: hãy sửa theo hướng dẫn rồi kiểm tra lại.<br><span "
                 "class=en>%d item(s) failed: fix them as said and check again.</span></p>",
             failed, failed);
    else
        para(&p, NULL, "Mọi mục đều đạt.", "Every item is OK.");
    if (n)
        put(&p, "<table><thead><tr><th>Mục<br><span class=en>Item</span></th><th>Kết quả<br>"
                "<span class=en>Result</span></th><th>Cách sửa<br><span class=en>What to do"
                "</span></th></tr></thead><tbody>");
    for (size_t i = 0; i < n && i < NODE_CHECK_MAX; i++) {
        putf(&p, "<tr class='%s'><td>", items[i].ok ? "" : "err");
        esc(&p, items[i].what_vi);
        put(&p, "<br><span class=en>");
        esc(&p, items[i].what_en);
        putf(&p, "</span></td><td>%s</td><td>", items[i].ok ? "Đạt / OK" : "<b>Chưa đạt / "
             "Failed</b>");
        esc(&p, items[i].fix_vi);
        put(&p, "<br><span class=en>");
        esc(&p, items[i].fix_en);
        put(&p, "</span></td></tr>");
    }
    if (n)
        put(&p, "</tbody></table>");
    put(&p, "<p><a class=button href='/'>Về trang chính / Back to the overview</a></p>"
            "</section>");
    page_foot(&p);
    return html(c, MHD_HTTP_OK, &p);
}

/* ---- the password page ------------------------------------------------------------------- */

enum MHD_Result web_ask_password(node_web_t *w, struct MHD_Connection *c)
{
    page_t p = {0};
    page_head(w, &p, "Cần mật khẩu", "Password needed");
    put(&p, "<section class=bad>");
    para(&p, NULL, "Trang này cần mật khẩu: hãy hỏi người quản trị máy của đơn vị (tên người "
         "dùng: bất kỳ).",
         "This page needs a password: ask the administrator of this unit's computer (user "
         "name: any).");
    put(&p, "</section>");
    page_foot(&p);
    uint8_t *body = NULL;
    size_t len = 0;
    if (kh_buf_take(&p.b, &body, &len) != KH_OK || !body)
        return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
    enum MHD_Result rc = MHD_queue_basic_auth_fail_response(c, "kh-node", r);
    MHD_destroy_response(r);
    return rc;
}
