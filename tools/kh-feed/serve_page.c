/*
 * serve_page.c — the pages of kh-feed's dashboard (serve.c serves them): the overview of
 * a period (completeness grid, the root's figures and rates with their targets, the
 * latest receipts, the warnings), one indicator or rate by unit (ranked, sortable, a bar
 * chart against the target line) and a trend (one indicator or rate over the half-years
 * and years of a programme, for the root and a chosen unit).  Every page is Vietnamese
 * with English beside it, shows "Dữ liệu đến / data as of … (feed seq N)", and can be
 * downloaded as CSV (format=csv); the overview also as the export's XLSX.
 *
 * Invariants: every figure comes from report.c (kh_feed_rows: the same roll-up as the
 * summary and the exports — nothing is summed here); a total whose half-years had fewer
 * reporting units than expected is marked partial ("tổng chưa đủ / partial: k of n")
 * wherever it is shown; every text from outside the program (names from the catalogue,
 * the query) is escaped (kh_svg_esc); an unknown period, indicator or unit is a 400/404
 * page that says what to do.  Levels, units and years are data: nothing here names one.
 */
#include "serve_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kh_report.h"
#include "kh_util.h"
#include "mirror.h"
#include "report.h"
#include "series.h"
#include "svg.h"

#define LIST_MAX 64            /* periods offered in the period selector */
#define RECEIPTS_SHOWN 10      /* the latest receipts on the overview */
#define WARNINGS_SHOWN 50      /* warnings listed on the overview (then how many more) */
#define REJECT_CHECKS_MAX 64   /* missing reports asked about per page (124 communes: a few) */
#define REJECT_WAIT_MS 2000    /* one question to the aggregator's history */
#define XLSX_MAX ((size_t)64 << 20)   /* a workbook served: the 124 communes of 2025 are < 2 MiB */

/* ---- the page buffer ---------------------------------------------------------------- */

typedef struct {
    FILE *f;
    char *buf;
    size_t len;
} pb_t;

static int pb_open(pb_t *b)
{
    memset(b, 0, sizeof *b);
    b->f = open_memstream(&b->buf, &b->len);
    return b->f ? 0 : -1;
}

/* Closes the buffer into pg.  Returns 0, or -1 (out of memory: nothing kept). */
static int pb_done(pb_t *b, srv_page_t *pg, unsigned status, const char *ctype)
{
    int bad = ferror(b->f);
    if (fclose(b->f) != 0 || bad) {
        free(b->buf);
        return -1;
    }
    pg->status = status;
    pg->body = b->buf;
    pg->len = b->len;
    pg->ctype = ctype;
    return 0;
}

#define E(s) kh_svg_esc(f, (s))

static const char STYLE[] =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:1em 2em;color:#222}"
    "nav{background:#0d47a1;padding:.5em 1em;margin:-1em -2em 1em}"
    "nav a{color:#fff;margin-right:1.5em;text-decoration:none;font-weight:bold}"
    "nav form{display:inline;color:#fff}"
    "h1{font-size:1.4em}h2{font-size:1.15em;border-bottom:1px solid #ccc;margin-top:1.5em}"
    ".en{color:#666;font-weight:normal}"
    "#asof{color:#333;background:#eef;padding:.3em .6em;display:inline-block}"
    ".partial{color:#b71c1c;font-weight:bold}"
    "td.partial,th.partial{background:#ffebee}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "td,th{border:1px solid #bbb;padding:.2em .5em;vertical-align:top}"
    "th{background:#e3f2fd}td.num{text-align:right;white-space:nowrap}"
    ".pair{display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start}"
    "svg.chart{max-width:100%;height:auto}"
    ".chart text{font-size:11px}"
    ".state-ontime{color:#2e7d32}.state-late{color:#e65100}.state-missing{color:#c62828}"
    ".err{border:2px solid #c62828;padding:1em;background:#ffebee}"
    "@media print{nav,form,.noprint{display:none}body{margin:0;font-size:10pt}"
    "@page{size:A4 landscape;margin:12mm}#asof{background:none;padding:0}"
    "h2{break-after:avoid}table,svg{break-inside:avoid}"
    ".pair{display:block}a{color:#000;text-decoration:none}}";

/* "Dữ liệu đến / data as of <time> (feed seq N)" — the same words and figures as the text
 * summary, the workbook and the PDF (kh_feed_asof: the latest receipt the mirror holds) —,
 * when the dashboard last caught up, and, when the feed did not answer, that the mirror
 * is shown as it was. */
static void asof_line(FILE *f, srv_t *s)
{
    char when[64] = "–", synced[64] = "–";
    unsigned long long seq = 0;
    if (kh_feed_asof(s->db, when, sizeof when, &seq) < 0)
        seq = (unsigned long long)mirror_seq(s->db);
    if (s->synced_at > 0) {
        time_t t = (time_t)(s->synced_at / 1000);
        struct tm tm;
        if (localtime_r(&t, &tm)) strftime(synced, sizeof synced, "%d/%m/%Y %H:%M:%S", &tm);
    }
    fprintf(f, "<p id=\"asof\">Dữ liệu đến <span class=\"en\">/ data as of</span> "
               "<span id=\"asof-time\">%s</span> (feed seq <span id=\"feed-seq\">%llu</span>)"
               " · đồng bộ lúc <span class=\"en\">/ synced</span> <span id=\"synced\">%s</span>",
            when, seq, synced);
    if (s->sync_failed)
        fputs(" — <span class=\"partial\">máy chủ tổng hợp không trả lời lần đồng bộ gần nhất: "
              "đây là bản sao cục bộ như đã có <span class=\"en\">/ the feed did not answer the "
              "last sync: this is the local mirror as it was</span></span>",
              f);
    fputs("</p>\n", f);
}

static void page_head(FILE *f, srv_t *s, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width\"><title>",
          f);
    E(title);
    fprintf(f, "</title><style>%s</style></head><body>\n<nav><a href=\"/\">Tổng quan / "
               "Overview</a><a href=\"/indicator\">Chỉ tiêu / Indicators</a>"
               "<a href=\"/trend\">Xu hướng / Trends</a>"
               "<a href=\"/logout\">Đăng xuất / Log out</a></nav>\n",
            STYLE);
    if (s) asof_line(f, s);
}

static void page_tail(FILE *f) { fputs("</body></html>\n", f); }

int srv_error(srv_page_t *pg, unsigned status, const char *vi, const char *en)
{
    pb_t b;
    if (pb_open(&b) < 0) return -1;
    FILE *f = b.f;
    page_head(f, NULL, "Lỗi / Error");
    fprintf(f, "<div class=\"err\" id=\"error\" data-status=\"%u\"><h1>Không hiển thị được "
               "<span class=\"en\">/ Cannot show this page</span> (%u)</h1><p>",
            status, status);
    E(vi);
    fputs("</p><p class=\"en\">", f);
    E(en);
    fputs("</p><p><a href=\"/\">Về trang tổng quan / Back to the overview</a></p></div>\n", f);
    page_tail(f);
    return pb_done(&b, pg, status, "text/html; charset=utf-8");
}

int srv_login_page(srv_page_t *pg, unsigned status, const char *msg_vi, const char *msg_en)
{
    pb_t b;
    if (pb_open(&b) < 0) return -1;
    FILE *f = b.f;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\"><title>Đăng "
               "nhập / Log in</title><style>%s</style></head><body>\n",
            STYLE);
    fputs("<h1>Bảng số liệu khuyến học <span class=\"en\">/ Learning-promotion dashboard"
          "</span></h1>\n", f);
    if (msg_vi) {
        fputs("<p class=\"err\" id=\"login-error\">", f);
        E(msg_vi);
        fputs(" <span class=\"en\">/ ", f);
        E(msg_en);
        fputs("</span></p>\n", f);
    }
    fputs("<form id=\"login\" method=\"post\" action=\"/login\"><p><label>Tên người dùng / User "
          "<input name=\"user\" id=\"user\" autocomplete=\"username\" maxlength=\"63\">"
          "</label></p><p><label>Mật khẩu / Password <input type=\"password\" name=\"password\" "
          "id=\"password\" autocomplete=\"current-password\" maxlength=\"256\"></label></p>"
          "<p><button id=\"submit\" type=\"submit\">Đăng nhập / Log in</button></p></form>\n"
          "<p>Chưa có tài khoản? Hãy nhờ người quản trị chạy <code>kh-feed passwd TÊN</code> "
          "<span class=\"en\">/ No account? Ask the administrator to run <code>kh-feed passwd "
          "NAME</code></span></p>\n",
          f);
    page_tail(f);
    return pb_done(&b, pg, status, "text/html; charset=utf-8");
}

/* ---- periods ------------------------------------------------------------------------ */

typedef struct {
    kh_period_t p;
    char pstr[16];
    int32_t end;
    const kh_catalog_t *prog;
    char halves[KH_FEED_MAX_HALVES][8];
    size_t nh;
} per_t;

/* The latest report period the mirror has a report of, into out ("" when none). */
static void latest_period(srv_t *s, char *out, size_t cap)
{
    sqlite3_stmt *st;
    out[0] = '\0';
    if (sqlite3_prepare_v2(s->db, "SELECT DISTINCT period FROM status", -1, &st, NULL) != SQLITE_OK)
        return;
    int32_t best = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        kh_period_t p;
        if (t && kh_period_parse(t, &p) == 0 && kh_period_end(&p) > best) {
            best = kh_period_end(&p);
            kh_strlcpy(out, t, cap);
        }
    }
    sqlite3_finalize(st);
}

/* Fills per from `text` (the latest report period when empty).  Returns 0, or 1 after
 * making a 400/404 page that says what to send, or -1 (out of memory). */
static int period_of(srv_t *s, const char *text, per_t *per, srv_page_t *pg)
{
    char latest[16];
    memset(per, 0, sizeof *per);
    if (!text[0]) {
        latest_period(s, latest, sizeof latest);
        if (!latest[0])
            return srv_error(pg, 404, "Bản sao cục bộ chưa có báo cáo nào: hãy đợi các đơn vị "
                             "gửi báo cáo, hoặc kiểm tra kết nối tới máy chủ tổng hợp.",
                             "The mirror holds no report yet: wait for the units to report, "
                             "or check the connection to the aggregator.") < 0 ? -1 : 1;
        text = latest;
    }
    if (kh_period_parse(text, &per->p) < 0)
        return srv_error(pg, 400, "Kỳ báo cáo không hợp lệ. Hãy viết nửa năm (ví dụ 2020S1), "
                         "năm (2020) hoặc giai đoạn (2017-2020).",
                         "Invalid period. Write a half-year (e.g. 2020S1), a year (2020) or a "
                         "programme (2017-2020).") < 0 ? -1 : 1;
    per->end = kh_period_end(&per->p);
    kh_period_format(&per->p, per->pstr, sizeof per->pstr);
    per->prog = kh_catalog_for(s->cat, per->end);
    if (!per->prog)
        return srv_error(pg, 404, "Không có chương trình nào (programmes.csv) có hiệu lực vào "
                         "cuối kỳ này: hãy chọn một kỳ của chương trình trong danh sách.",
                         "No programme (programmes.csv) is in force at the end of this period: "
                         "choose a period of a programme from the list.") < 0 ? -1 : 1;
    per->nh = kh_catalog_report_periods(per->prog, &per->p, per->halves, KH_FEED_MAX_HALVES);
    if (per->nh == 0 || per->nh > KH_FEED_MAX_HALVES)
        return srv_error(pg, 404, "Không có báo cáo nào cho kỳ này (chương trình báo cáo mỗi năm "
                         "một lần?): hãy chọn năm, ví dụ kỳ là năm.",
                         "No report covers this period (the programme reports once a year?): "
                         "choose the year.") < 0 ? -1 : 1;
    return 0;
}

/* The periods offered: the report periods of the mirror, their years, the programmes. */
static size_t period_choices(srv_t *s, char (*out)[16], size_t cap)
{
    size_t n = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT DISTINCT period FROM status ORDER BY period", -1,
                           &st, NULL) != SQLITE_OK)
        return 0;
    int years[LIST_MAX];
    size_t ny = 0;
    while (sqlite3_step(st) == SQLITE_ROW && n < cap) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        kh_period_t p;
        if (!t || kh_period_parse(t, &p) < 0) continue;
        kh_period_format(&p, out[n++], 16);
        int seen = 0;
        for (size_t i = 0; i < ny; i++) seen |= years[i] == p.year;
        if (!seen && ny < LIST_MAX) years[ny++] = p.year;
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < ny && n < cap; i++) {
        kh_period_t y = {.kind = KH_P_YEAR, .year = years[i]};
        char t[16];
        kh_period_format(&y, t, sizeof t);
        int dup = 0;
        for (size_t k = 0; k < n; k++) dup |= strcmp(out[k], t) == 0;
        if (!dup) kh_strlcpy(out[n++], t, 16);
    }
    int named = 0;
    for (size_t i = 0; i < kh_catalog_programme_count(s->cat) && n < cap; i++) {
        const char *code = kh_catalog_programme_code(kh_catalog_programme_at(s->cat, i));
        kh_period_t p;
        if (code && code[0] && kh_period_parse(code, &p) == 0 && p.kind == KH_P_PROGRAMME) {
            kh_period_format(&p, out[n++], 16);
            named = 1;
        }
    }
    /* a data folder without programmes.csv: the years the mirror has, as one span */
    int y0 = 0, y1 = 0;
    for (size_t i = 0; i < ny; i++) {
        if (!y0 || years[i] < y0) y0 = years[i];
        if (years[i] > y1) y1 = years[i];
    }
    if (!named && y1 > y0 && n < cap) {
        kh_period_t p = {.kind = KH_P_PROGRAMME, .year = y0, .year_to = y1};
        kh_period_format(&p, out[n++], 16);
    }
    return n;
}

/* ---- codes: the indicators (options as CODE=OPT) and the rates of a programme -------- */

typedef struct {
    const kh_indicator_t *ind;   /* an indicator (option: option >= 0) */
    int option;
    const kh_target_t *target;   /* a rate */
} code_t;

/* What `code` is in programme prog.  Returns 1, or 0 when the programme has no such code. */
static int code_find(const kh_catalog_t *prog, const char *code, code_t *out)
{
    memset(out, 0, sizeof *out);
    out->option = -1;
    for (size_t i = 0; i < kh_catalog_target_count(prog); i++) {
        const kh_target_t *t = kh_catalog_target_at(prog, i);
        if (t && strcmp(t->code, code) == 0) {
            out->target = t;
            return 1;
        }
    }
    char base[KH_CODE_MAX];
    const char *eq = strchr(code, '=');
    size_t bl = eq ? (size_t)(eq - code) : strlen(code);
    if (bl >= sizeof base) return 0;
    memcpy(base, code, bl);
    base[bl] = '\0';
    const kh_indicator_t *ind = kh_catalog_indicator(prog, base);
    if (!ind || (ind->vtype == KH_VT_OPTION) != (eq != NULL)) return 0;
    out->ind = ind;
    if (eq) {
        for (int k = 0; k < ind->n_options; k++)
            if (strcmp(ind->options[k], eq + 1) == 0) out->option = k;
        if (out->option < 0) return 0;
    }
    return 1;
}

/* The code a page asked for (the programme's first rate when none) into code, and what
 * it is.  Returns 0, or 1 after making a 404 page that says to choose one from the list,
 * or -1 (out of memory). */
static int code_of(const per_t *per, const char *asked, char *code, code_t *ct, srv_page_t *pg)
{
    kh_strlcpy(code, asked, SRV_PARAM_MAX);
    if (!code[0] && kh_catalog_target_count(per->prog))
        kh_strlcpy(code, kh_catalog_target_at(per->prog, 0)->code, SRV_PARAM_MAX);
    if (code_find(per->prog, code, ct)) return 0;
    return srv_error(pg, 404, "Không có chỉ tiêu hoặc tỷ lệ có mã này trong chương trình của "
                     "kỳ: hãy chọn trong danh sách ở trang Chỉ tiêu (indicators.csv, "
                     "targets.csv).", "No indicator or rate has this code in the period's "
                     "programme: choose one from the list on the Indicators page "
                     "(indicators.csv, targets.csv).") < 0 ? -1 : 1;
}

/* The Vietnamese name of a code, into buf. */
static void code_label(const kh_catalog_t *prog, const code_t *c, char *buf, size_t cap)
{
    if (c->target) {
        snprintf(buf, cap, "%s (%%)", c->target->name_vi);
    } else if (c->option >= 0) {
        const char *l = kh_catalog_option_label(prog, c->ind, c->option, 0);
        snprintf(buf, cap, "%s — %s", c->ind->name_vi, l ? l : c->ind->options[c->option]);
    } else {
        kh_strlcpy(buf, c->ind->name_vi, cap);
    }
}

/* The unit of measure shown beside a value. */
static const char *code_unit(const code_t *c)
{
    if (c->target) return "%";
    if (c->option >= 0) return "";
    return c->ind->unit ? c->ind->unit : "";
}

/* A <select name="code"> of every code of the programme, `code` selected. */
static void code_select(FILE *f, const kh_catalog_t *prog, const char *code)
{
    fputs("<select name=\"code\" id=\"code-select\">", f);
    for (size_t i = 0; i < kh_catalog_target_count(prog); i++) {
        const kh_target_t *t = kh_catalog_target_at(prog, i);
        if (!t) continue;
        fputs("<option value=\"", f);
        E(t->code);
        fprintf(f, "\"%s>", strcmp(t->code, code) ? "" : " selected");
        E(t->code);
        fputs(" — ", f);
        E(t->name_vi);
        fputs(" (%)</option>", f);
    }
    for (size_t i = 0; i < kh_catalog_indicator_count(prog); i++) {
        const kh_indicator_t *ind = kh_catalog_indicator_at(prog, i);
        if (!ind) continue;
        int n = ind->vtype == KH_VT_OPTION ? ind->n_options : 1;
        for (int k = 0; k < n; k++) {
            char c[KH_CODE_MAX + 32];
            if (ind->vtype == KH_VT_OPTION) snprintf(c, sizeof c, "%s=%s", ind->code, ind->options[k]);
            else kh_strlcpy(c, ind->code, sizeof c);
            code_t ct = {ind, ind->vtype == KH_VT_OPTION ? k : -1, NULL};
            char label[512];
            code_label(prog, &ct, label, sizeof label);
            fputs("<option value=\"", f);
            E(c);
            fprintf(f, "\"%s>", strcmp(c, code) ? "" : " selected");
            E(c);
            fputs(" — ", f);
            E(label);
            fputs("</option>", f);
        }
    }
    fputs("</select>", f);
}

static void period_select(FILE *f, srv_t *s, const char *current)
{
    char list[LIST_MAX][16];
    size_t n = period_choices(s, list, LIST_MAX);
    fputs("<select name=\"period\" id=\"period-select\">", f);
    for (size_t i = 0; i < n; i++) {
        fputs("<option value=\"", f);
        E(list[i]);
        fprintf(f, "\"%s>", strcmp(list[i], current) ? "" : " selected");
        E(list[i]);
        fputs("</option>", f);
    }
    fputs("</select>", f);
}

/* ---- figures ------------------------------------------------------------------------ */

/* A value of a row as the page shows it (Vietnamese writing, money in full đồng). */
static void show_value(double v, int is_int, char *buf, size_t cap)
{
    kh_feed_format_vi(v, is_int, 0, buf, cap);
}

/* The half-years of per whose root total covers some but not all of the reporting units
 * expected: counts into rep/expd (per half), returns how many halves are partial (a half
 * nobody reported for has no total to mark). */
static size_t partial_halves(const per_t *per, const kh_feed_rows_t *root, const char *rcode,
                             long rep[], long expd[])
{
    size_t n = 0;
    for (size_t h = 0; h < per->nh; h++) {
        const kh_feed_row_t *e = kh_feed_rows_find(root, per->halves[h], rcode,
                                                   "COMPLETENESS.EXPECTED");
        const kh_feed_row_t *r = kh_feed_rows_find(root, per->halves[h], rcode,
                                                   "COMPLETENESS.REPORTED");
        expd[h] = e ? (long)e->value : 0;
        rep[h] = r ? (long)r->value : 0;
        n += rep[h] > 0 && rep[h] < expd[h];   /* none reported: no total at all */
    }
    return n;
}

/* The partial-total note, id="partial" (nothing when every total is whole). */
static void partial_note(FILE *f, const per_t *per, const long rep[], const long expd[],
                         size_t npartial)
{
    if (!npartial) return;
    fputs("<p class=\"partial\" id=\"partial\">⚠ Tổng chưa đủ <span class=\"en\">/ partial "
          "totals</span>:", f);
    for (size_t h = 0, k = 0; h < per->nh; h++) {
        if (rep[h] == 0 || rep[h] >= expd[h]) continue;
        fprintf(f, "%s <span class=\"partial-half\" data-half=\"%s\" data-reported=\"%ld\" "
                   "data-expected=\"%ld\">%s: %ld / %ld đơn vị đã báo cáo (tổng chưa đủ / "
                   "partial: %ld of %ld units)</span>",
                k++ ? ";" : "", per->halves[h], rep[h], expd[h], per->halves[h], rep[h], expd[h],
                rep[h], expd[h]);
    }
    fputs(". Các tổng có dấu * chỉ gồm các đơn vị đã báo cáo <span class=\"en\">/ totals marked "
          "* cover only the units that reported</span>; hãy nhắc các đơn vị còn thiếu "
          "<span class=\"en\">/ remind the missing units</span>.</p>\n", f);
}

/* The root's code and name: the first row of kh_feed_rows at level 1. */
static const kh_feed_row_t *root_row(const kh_feed_rows_t *root)
{
    return root->n ? &root->rows[0] : NULL;
}

/* What the root's total column is called: "Toàn <level 1 word>". */
static void whole_word(const per_t *per, char *buf, size_t cap)
{
    char w[128];
    kh_catalog_level_word(per->prog, 1, per->end, 0, w, sizeof w);
    snprintf(buf, cap, "Toàn %s", w);
}

/* The level the reporting units of per's end have (the deepest of them, not the root):
 * the units an indicator page lists by default. */
static int reporting_level(const per_t *per)
{
    const kh_unit_t *list[1];
    size_t n = kh_catalog_reporters_on(per->prog, per->end, list, 1);
    const kh_unit_t **all = n ? calloc(n, sizeof *all) : NULL;
    int level = kh_catalog_depth(per->prog) >= 2 ? 2 : 1;
    if (all) {
        n = kh_catalog_reporters_on(per->prog, per->end, all, n);
        int best = 0;
        for (size_t i = 0; i < n; i++)
            if (all[i]->level > 1 && (best == 0 || all[i]->level < best)) best = all[i]->level;
        if (best) level = best;
        free(all);
    }
    return level;
}

/* ---- CSV ---------------------------------------------------------------------------- */

static int rows_csv(const kh_feed_rows_t *rows, const char *fname, srv_page_t *pg)
{
    pb_t b;
    if (pb_open(&b) < 0) return -1;
    fputs("period,orgunit,indicator,value\n", b.f);
    char v[64];
    for (size_t i = 0; i < rows->n; i++) {
        const kh_feed_row_t *r = &rows->rows[i];
        kh_feed_format_value(r, v, sizeof v);
        kh_csv_field(b.f, r->period);
        fputc(',', b.f);
        kh_csv_field(b.f, r->orgunit);
        fputc(',', b.f);
        kh_csv_field(b.f, r->indicator);
        fprintf(b.f, ",%s\n", v);
    }
    kh_strlcpy(pg->filename, fname, sizeof pg->filename);
    return pb_done(&b, pg, 200, "text/csv; charset=utf-8");
}

/* ---- the home page: the overview of the latest period --------------------------------- */

int srv_home(srv_t *s, srv_page_t *pg)
{
    srv_query_t q = {0};
    return srv_overview(s, &q, pg);
}

/* ---- overview ------------------------------------------------------------------------ */

/* The completeness state of reporting unit u in half h (rows of its level, or its own
 * status row when the root itself reports: its completeness rows are the counts). */
static kh_svg_state_t unit_state(srv_t *s, const per_t *per, size_t h, const kh_unit_t *u,
                                 const kh_feed_rows_t *rows)
{
    if (u->level == 1) {
        sqlite3_stmt *st;
        kh_svg_state_t out = KH_SVG_MISSING;
        if (sqlite3_prepare_v2(s->db, "SELECT received_at FROM status WHERE district=?1 AND "
                               "period=?2", -1, &st, NULL) != SQLITE_OK)
            return KH_SVG_MISSING;
        sqlite3_bind_text(st, 1, u->code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, per->halves[h], -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            kh_period_t hp;
            int32_t due = kh_period_parse(per->halves[h], &hp) == 0 ? kh_period_due(per->prog, &hp)
                                                                    : 0;
            out = kh_ms_to_date(sqlite3_column_int64(st, 0)) <= due ? KH_SVG_ON_TIME : KH_SVG_LATE;
        }
        sqlite3_finalize(st);
        return out;
    }
    const kh_feed_row_t *rep = kh_feed_rows_find(rows, per->halves[h], u->code,
                                                 "COMPLETENESS.REPORTED");
    const kh_feed_row_t *ot = kh_feed_rows_find(rows, per->halves[h], u->code,
                                                "COMPLETENESS.ON_TIME");
    if (!rep || rep->value < 1) return KH_SVG_MISSING;
    return ot && ot->value >= 1 ? KH_SVG_ON_TIME : KH_SVG_LATE;
}

static const char *const STATE_VI[] = {"", "đúng hạn", "trễ hạn", "chưa báo cáo", "bị từ chối"};
static const char *const STATE_EN[] = {"", "on time", "late", "missing", "rejected"};
static const char *const STATE_ID[] = {"none", "ontime", "late", "missing", "rejected"};

/* The completeness grid (units × half-years) as SVG and as a table.  Returns 0 or -1. */
static int overview_grid(FILE *f, srv_t *s, const per_t *per, const kh_feed_rows_t *levels)
{
    const kh_unit_t **units = NULL;
    size_t nu = 0, cap = 0;
    int rc = -1;
    for (size_t h = 0; h < per->nh; h++) {
        kh_period_t hp;
        if (kh_period_parse(per->halves[h], &hp) < 0) continue;
        size_t n = kh_catalog_reporters_on(per->prog, kh_period_end(&hp), NULL, 0);
        const kh_unit_t **list = calloc(n + 1, sizeof *list);
        if (!list) goto out;
        n = kh_catalog_reporters_on(per->prog, kh_period_end(&hp), list, n);
        for (size_t i = 0; i < n; i++) {
            int seen = 0;
            for (size_t k = 0; k < nu && !seen; k++) seen = strcmp(units[k]->code, list[i]->code) == 0;
            if (seen) continue;
            if (KH_GROW(units, nu, cap, 64) < 0) { free(list); goto out; }
            units[nu++] = list[i];
        }
        free(list);
    }
    kh_svg_state_t *state = calloc(nu * per->nh + 1, sizeof *state);
    const char **names = calloc(nu + 1, sizeof *names);
    const char *cols[KH_FEED_MAX_HALVES];
    if (!state || !names) { free(state); free(names); goto out; }
    for (size_t h = 0; h < per->nh; h++) {
        cols[h] = per->halves[h];
        kh_period_t hp;
        int32_t end = kh_period_parse(per->halves[h], &hp) == 0 ? kh_period_end(&hp) : 0;
        for (size_t u = 0; u < nu; u++) {
            names[u] = units[u]->name;
            int lv = units[u]->level;
            if (kh_catalog_reports(per->prog, units[u]->code, end) != 1)
                state[u * per->nh + h] = KH_SVG_NONE;
            else
                state[u * per->nh + h] = unit_state(s, per, h, units[u],
                                                    lv >= 1 && lv <= KH_MAX_LEVELS ? &levels[lv]
                                                                                   : &levels[0]);
        }
    }
    /* a missing report may have been refused: the aggregator's history says (a bounded
     * number of questions per page, none when the feed did not answer) */
    size_t asked = 0;
    int answering = !s->sync_failed;
    for (size_t u = 0; u < nu && answering; u++)
        for (size_t h = 0; h < per->nh && answering && asked < REJECT_CHECKS_MAX; h++) {
            if (state[u * per->nh + h] != KH_SVG_MISSING) continue;
            asked++;
            int r = mirror_rejected(s->zctx, s->snapshot, units[u]->code, per->halves[h],
                                    REJECT_WAIT_MS, s->max_msg);
            if (r < 0) answering = 0;
            else if (r == 1) state[u * per->nh + h] = KH_SVG_REJECTED;
        }
    fputs("<div class=\"pair\"><div>", f);
    kh_svg_grid(f, "Tình hình báo cáo / Reporting", names, nu, cols, per->nh, state);
    fputs("<p>✓ đúng hạn / on time · ! trễ hạn / late · ✗ chưa báo cáo / missing · R bị từ "
          "chối, chưa có bản sửa được tính / rejected, no correction counted yet</p></div>\n", f);
    fputs("<table id=\"grid\"><thead><tr><th>Mã / Code</th><th>Đơn vị / Unit</th>", f);
    for (size_t h = 0; h < per->nh; h++) fprintf(f, "<th>%s</th>", per->halves[h]);
    fputs("</tr></thead><tbody>\n", f);
    for (size_t u = 0; u < nu; u++) {
        fputs("<tr data-unit=\"", f);
        E(units[u]->code);
        fputs("\"><td>", f);
        E(units[u]->code);
        fputs("</td><td>", f);
        E(units[u]->name);
        fputs("</td>", f);
        for (size_t h = 0; h < per->nh; h++) {
            kh_svg_state_t st = state[u * per->nh + h];
            fprintf(f, "<td class=\"state-%s\" data-half=\"%s\" data-state=\"%s\">%s%s%s</td>",
                    STATE_ID[st], per->halves[h], STATE_ID[st], STATE_VI[st],
                    st ? " / " : "", STATE_EN[st]);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n", f);
    free(state);
    free(names);
    rc = ferror(f) ? -1 : 0;
out:
    free(units);
    return rc;
}

static void overview_receipts(FILE *f, srv_t *s, const per_t *per)
{
    char sql[1024] = "SELECT district, period, revision, received_at, warnings FROM status "
                     "WHERE period IN (";
    for (size_t h = 0; h < per->nh; h++) {
        size_t l = strlen(sql);
        snprintf(sql + l, sizeof sql - l, "%s?%zu", h ? "," : "", h + 1);
    }
    size_t l = strlen(sql);
    snprintf(sql + l, sizeof sql - l, ") ORDER BY received_at DESC LIMIT %d", RECEIPTS_SHOWN);
    sqlite3_stmt *st;
    fputs("<h2>Báo cáo nhận gần nhất <span class=\"en\">/ Latest receipts</span></h2>\n"
          "<table id=\"receipts\"><thead><tr><th>Đơn vị / Unit</th><th>Kỳ / Period</th>"
          "<th>Lần gửi / Revision</th><th>Nhận lúc / Received</th><th>Cảnh báo / Warnings</th>"
          "</tr></thead><tbody>\n", f);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
        for (size_t h = 0; h < per->nh; h++)
            sqlite3_bind_text(st, (int)h + 1, per->halves[h], -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *code = (const char *)sqlite3_column_text(st, 0);
            const kh_unit_t *u = code ? kh_catalog_unit_any(s->cat, code) : NULL;
            char when[32] = "?";
            time_t t = (time_t)(sqlite3_column_int64(st, 3) / 1000);
            struct tm tm;
            if (localtime_r(&t, &tm)) strftime(when, sizeof when, "%d/%m/%Y %H:%M", &tm);
            fputs("<tr><td>", f);
            E(code);
            fputs(" ", f);
            E(u ? u->name : "");
            fputs("</td><td>", f);
            E((const char *)sqlite3_column_text(st, 1));
            fprintf(f, "</td><td class=\"num\">%lld</td><td>%s</td><td class=\"num\">%lld</td></tr>\n",
                    sqlite3_column_int64(st, 2), when, sqlite3_column_int64(st, 4));
        }
        sqlite3_finalize(st);
    }
    fputs("</tbody></table>\n", f);
}

static void overview_warnings(FILE *f, srv_t *s, const per_t *per)
{
    sqlite3_stmt *st;
    fputs("<h2>Cảnh báo <span class=\"en\">/ Warnings</span></h2>\n", f);
    if (sqlite3_prepare_v2(s->db, "SELECT district, code, orgunit, message_vi, message_en FROM "
                           "warning WHERE period = ?1 ORDER BY district, orgunit, code",
                           -1, &st, NULL) != SQLITE_OK) {
        fputs("<p>Bản sao cục bộ chưa lưu cảnh báo / the mirror keeps no warnings</p>\n", f);
        return;
    }
    size_t shown = 0, total = 0;
    fputs("<table id=\"warnings\"><thead><tr><th>Kỳ / Period</th><th>Đơn vị báo cáo / "
          "Reporting unit</th><th>Mã / Code</th><th>Đơn vị / Unit</th><th>Nội dung / Message"
          "</th></tr></thead><tbody>\n", f);
    for (size_t h = 0; h < per->nh; h++) {
        sqlite3_bind_text(st, 1, per->halves[h], -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            total++;
            if (shown >= WARNINGS_SHOWN) continue;
            shown++;
            fprintf(f, "<tr><td>%s</td>", per->halves[h]);
            for (int c = 0; c < 3; c++) {
                fputs("<td>", f);
                E((const char *)sqlite3_column_text(st, c));
                fputs("</td>", f);
            }
            fputs("<td>", f);
            E((const char *)sqlite3_column_text(st, 3));
            fputs(" <span class=\"en\">/ ", f);
            E((const char *)sqlite3_column_text(st, 4));
            fputs("</span></td></tr>\n", f);
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    fputs("</tbody></table>\n", f);
    if (total == 0)
        fputs("<p id=\"no-warnings\">Không có cảnh báo / no warnings.</p>\n", f);
    else if (total > shown)
        fprintf(f, "<p>… và %zu cảnh báo khác <span class=\"en\">/ and %zu more</span> (xem "
                   "kh-feed summary / see kh-feed summary)</p>\n", total - shown, total - shown);
}

/* s as a URL query value: every byte but letters, digits and . _ - percent-encoded (so
 * also safe inside an HTML attribute). */
static void url_param(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '.' || *p == '_' || *p == '-')
            fputc(*p, f);
        else
            fprintf(f, "%%%02X", *p);
    }
}

/* Link to the indicator page of `code` for the period. */
static void code_link(FILE *f, const char *path, const char *period, const char *code)
{
    fprintf(f, "<a href=\"%s?period=%s&amp;code=", path, period);
    url_param(f, code);
    fputs("\">", f);
    E(code);
    fputs("</a>", f);
}

int srv_overview(srv_t *s, const srv_query_t *q, srv_page_t *pg)
{
    per_t per;
    int r = period_of(s, q->period, &per, pg);
    if (r) return r < 0 ? -1 : 0;
    kh_feed_rows_t levels[KH_MAX_LEVELS + 1];
    memset(levels, 0, sizeof levels);
    int rc = -1;
    if (kh_feed_rows(s->db, per.prog, per.pstr, 1, &levels[1]) < 0) {
        rc = srv_error(pg, 500, "Không tính được số liệu của kỳ này từ bản sao cục bộ: xem "
                       "nhật ký của kh-feed serve.", "The figures of this period could not be "
                       "computed from the mirror: see kh-feed serve's output.");
        goto out;
    }
    if (!strcmp(q->format, "csv")) {
        char fn[64];
        snprintf(fn, sizeof fn, "tong-quan-%s.csv", per.pstr);
        rc = rows_csv(&levels[1], fn, pg);
        goto out;
    }
    /* the rows of every level a reporting unit of the period has (the grid's states) */
    for (size_t h = 0; h < per.nh; h++) {
        kh_period_t hp;
        if (kh_period_parse(per.halves[h], &hp) < 0) continue;
        size_t n = kh_catalog_reporters_on(per.prog, kh_period_end(&hp), NULL, 0);
        const kh_unit_t **list = calloc(n + 1, sizeof *list);
        if (!list) goto out;
        n = kh_catalog_reporters_on(per.prog, kh_period_end(&hp), list, n);
        for (size_t i = 0; i < n; i++) {
            int lv = list[i]->level;
            if (lv <= 1 || lv > KH_MAX_LEVELS || levels[lv].rows) continue;
            if (kh_feed_rows(s->db, per.prog, per.pstr, lv, &levels[lv]) < 0 ||
                KH_GROW(levels[lv].rows, levels[lv].n, levels[lv].cap, 1) < 0) {
                free(list);
                goto out;
            }
        }
        free(list);
    }
    const kh_feed_row_t *root = root_row(&levels[1]);
    long rep[KH_FEED_MAX_HALVES], expd[KH_FEED_MAX_HALVES];
    size_t npartial = root ? partial_halves(&per, &levels[1], root->orgunit, rep, expd) : 0;
    char whole[160], title[512], vi[64], en[64];
    whole_word(&per, whole, sizeof whole);
    kh_period_label(&per.p, 0, vi, sizeof vi);
    kh_period_label(&per.p, 1, en, sizeof en);
    snprintf(title, sizeof title, "Tổng quan / Overview — %s — %s (%s)",
             root ? root->unit_name : "", vi, per.pstr);
    pb_t b;
    if (pb_open(&b) < 0) goto out;
    FILE *f = b.f;
    page_head(f, s, title);
    fputs("<h1>Tổng quan <span class=\"en\">/ Overview</span> — ", f);
    E(root ? root->unit_name : "");
    fputs("</h1>\n<p id=\"period\" data-period=\"", f);
    E(per.pstr);
    fputs("\">Kỳ báo cáo <span class=\"en\">/ Period</span>: ", f);
    E(vi);
    fputs(" <span class=\"en\">/ ", f);
    E(en);
    fprintf(f, "</span> (%s)</p>\n<form class=\"noprint\" method=\"get\" action=\"/\">", per.pstr);
    period_select(f, s, per.pstr);
    fprintf(f, " <button type=\"submit\">Xem / Show</button> · <a href=\"/?period=%s&amp;"
               "format=csv\" id=\"csv\">CSV</a> · <a href=\"/export.xlsx?period=%s\" "
               "id=\"xlsx\">XLSX</a></form>\n", per.pstr, per.pstr);
    partial_note(f, &per, rep, expd, npartial);

    fputs("<h2>Tình hình báo cáo <span class=\"en\">/ Completeness</span></h2>\n"
          "<table id=\"completeness\"><thead><tr><th>Kỳ / Half</th><th>Phải báo cáo / "
          "Expected</th><th>Đã báo cáo / Reported</th><th>Đúng hạn / On time</th><th>Trễ hạn / "
          "Late</th><th>Chưa báo cáo / Missing</th></tr></thead><tbody>\n", f);
    static const char *ccodes[] = {"EXPECTED", "REPORTED", "ON_TIME", "LATE", "MISSING"};
    for (size_t h = 0; root && h < per.nh; h++) {
        fprintf(f, "<tr data-half=\"%s\"%s><td>%s</td>", per.halves[h],
                rep[h] > 0 && rep[h] < expd[h] ? " class=\"partial\"" : "", per.halves[h]);
        for (size_t k = 0; k < 5; k++) {
            char c[64];
            snprintf(c, sizeof c, "COMPLETENESS.%s", ccodes[k]);
            const kh_feed_row_t *row = kh_feed_rows_find(&levels[1], per.halves[h],
                                                         root->orgunit, c);
            fprintf(f, "<td class=\"num\" data-code=\"%s\">%.0f</td>", ccodes[k],
                    row ? row->value : 0.0);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    if (overview_grid(f, s, &per, levels) < 0) {
        fclose(f);
        free(b.buf);
        goto out;
    }

    fprintf(f, "<h2>Chỉ tiêu — %s <span class=\"en\">/ Indicators — the whole tree's "
               "totals</span></h2>\n", whole);
    fputs("<table id=\"figures\"><thead><tr><th>Mã / Code</th><th>Chỉ tiêu / Indicator</th>"
          "<th>ĐVT / Unit</th><th", f);
    fprintf(f, "%s>", npartial ? " class=\"partial\"" : "");
    E(whole);
    fprintf(f, "%s</th></tr></thead><tbody>\n", npartial ? " *" : "");
    char v[64], label[512];
    for (size_t i = 0; i < levels[1].n; i++) {
        const kh_feed_row_t *row = &levels[1].rows[i];
        if (row->kind != KH_FEED_VALUE) continue;
        code_t ct = {row->ind, row->option, NULL};
        code_label(per.prog, &ct, label, sizeof label);
        show_value(row->value, row->is_int, v, sizeof v);
        fputs("<tr data-code=\"", f);
        E(row->indicator);
        fputs("\"><td>", f);
        code_link(f, "/indicator", per.pstr, row->indicator);
        fputs("</td><td>", f);
        E(label);
        fputs("</td><td>", f);
        E(row->ind->vtype == KH_VT_MONEY ? "đồng" : code_unit(&ct));
        fprintf(f, "</td><td class=\"num value%s\">%s%s</td></tr>\n",
                npartial ? " partial" : "", v, npartial ? " *" : "");
    }
    fputs("</tbody></table>\n", f);

    fputs("<h2>Tỷ lệ so với chỉ tiêu <span class=\"en\">/ Rates against the targets</span>"
          "</h2>\n<table id=\"rates\"><thead><tr><th>Mã / Code</th><th>Tỷ lệ / Rate</th><th", f);
    fprintf(f, "%s>", npartial ? " class=\"partial\"" : "");
    E(whole);
    fprintf(f, " (%%)%s</th><th>Chỉ tiêu / Target (%%)</th><th>Chênh lệch / Gap (điểm %% / "
               "points)</th></tr></thead><tbody>\n", npartial ? " *" : "");
    for (size_t t = 0; t < kh_catalog_target_count(per.prog); t++) {
        const kh_target_t *tg = kh_catalog_target_at(per.prog, t);
        if (!tg) continue;
        const kh_feed_row_t *row = root ? kh_feed_rows_find(&levels[1], per.pstr,
                                                            root->orgunit, tg->code) : NULL;
        fputs("<tr data-code=\"", f);
        E(tg->code);
        fputs("\"><td>", f);
        code_link(f, "/indicator", per.pstr, tg->code);
        fputs("</td><td>", f);
        E(tg->name_vi);
        fputs("</td>", f);
        if (row) show_value(row->value, 0, v, sizeof v);
        else kh_strlcpy(v, "–", sizeof v);
        fprintf(f, "<td class=\"num value%s\">%s%s</td>", npartial && row ? " partial" : "", v,
                npartial && row ? " *" : "");
        char tv[64] = "–", gap[64] = "–";
        if (tg->target >= 0) {
            show_value(tg->target, 0, tv, sizeof tv);
            if (tg->milestone) {
                size_t l = strlen(tv);
                snprintf(tv + l, sizeof tv - l, " (%d)", tg->milestone);
            }
            if (row) kh_feed_format_vi(row->value - tg->target, 0, 1, gap, sizeof gap);
        }
        fprintf(f, "<td class=\"num target\">%s</td><td class=\"num gap\">%s</td></tr>\n", tv, gap);
    }
    fputs("</tbody></table>\n<p>Tỷ lệ = tử số / mẫu số × 100 trên cùng các đơn vị, cùng kỳ; chỉ "
          "tiêu theo chương trình có hiệu lực vào cuối kỳ, năm mốc trong ngoặc <span "
          "class=\"en\">/ rate = numerator / denominator × 100 over the same units and "
          "half-years; the targets of the programme in force at the period's end, their "
          "milestone year in brackets</span>.</p>\n", f);
    overview_receipts(f, s, &per);
    overview_warnings(f, s, &per);
    page_tail(f);
    rc = pb_done(&b, pg, 200, "text/html; charset=utf-8");
out:
    for (int l = 0; l <= KH_MAX_LEVELS; l++) kh_feed_rows_clear(&levels[l]);
    return rc;
}

/* ---- indicator ---------------------------------------------------------------------- */

typedef struct {
    const char *code, *name;
    int has, rank;
    double value;
    int is_int;
} urow_t;

static int by_value_desc(const void *a, const void *b)
{
    const urow_t *x = a, *y = b;
    if (x->has != y->has) return y->has - x->has;
    if (!x->has) return 0;
    return x->value < y->value ? 1 : x->value > y->value ? -1 : 0;
}

static int by_value_asc(const void *a, const void *b)
{
    const urow_t *x = a, *y = b;
    if (x->has != y->has) return y->has - x->has;
    if (!x->has) return 0;
    return x->value < y->value ? -1 : x->value > y->value ? 1 : 0;
}

/* Parses a level parameter (1..depth) or takes `dflt`.  Returns 0, or 1 (page made). */
static int level_of(const per_t *per, const char *text, int dflt, int *out, srv_page_t *pg,
                    int *failed)
{
    *failed = 0;
    if (!text[0]) {
        *out = dflt;
        return 0;
    }
    long v;
    if (kh_parse_long(text, 1, kh_catalog_depth(per->prog), &v) == 0) {
        *out = (int)v;
        return 0;
    }
    *failed = srv_error(pg, 400, "Cấp không hợp lệ: hãy chọn một số từ 1 (gốc của cây đơn vị) "
                        "đến độ sâu của cây (levels.csv).", "Invalid level: choose a number "
                        "from 1 (the root of the unit tree) to the tree's depth (levels.csv).") < 0;
    return 1;
}

int srv_indicator(srv_t *s, const srv_query_t *q, srv_page_t *pg)
{
    per_t per;
    int r = period_of(s, q->period, &per, pg);
    if (r) return r < 0 ? -1 : 0;
    char code[SRV_PARAM_MAX];
    code_t ct;
    if ((r = code_of(&per, q->code, code, &ct, pg))) return r < 0 ? -1 : 0;
    int level, failed;
    if (level_of(&per, q->level, reporting_level(&per), &level, pg, &failed))
        return failed ? -1 : 0;
    kh_feed_rows_t root = {0}, rows = {0};
    urow_t *u = NULL;
    const kh_unit_t **list = NULL;
    size_t nu = 0, cap = 0;
    int rc = -1;
    if (kh_feed_rows(s->db, per.prog, per.pstr, 1, &root) < 0 ||
        kh_feed_rows(s->db, per.prog, per.pstr, level, &rows) < 0) {
        rc = srv_error(pg, 500, "Không tính được số liệu của kỳ này: xem nhật ký của kh-feed "
                       "serve.", "The figures of this period could not be computed: see "
                       "kh-feed serve's output.");
        goto out;
    }
    /* the units of the level in force at the period's end in tree (file) order, then those
     * that have figures of the period though gone by its end (merged) */
    size_t n = kh_catalog_units_on(per.prog, level, "", per.end, NULL, 0);
    list = calloc(n + 1, sizeof *list);
    if (!list) goto out;
    n = kh_catalog_units_on(per.prog, level, "", per.end, list, n);
    for (size_t i = 0; i < n; i++) {
        if (KH_GROW(u, nu, cap, 64) < 0) goto out;
        u[nu++] = (urow_t){list[i]->code, list[i]->name, 0, 0, 0, 1};
    }
    for (size_t i = 0; i < rows.n; i++) {
        int seen = 0;
        for (size_t k = 0; k < nu && !seen; k++) seen = strcmp(u[k].code, rows.rows[i].orgunit) == 0;
        if (seen || rows.rows[i].kind == KH_FEED_COMPLETENESS) continue;
        if (KH_GROW(u, nu, cap, 64) < 0) goto out;
        u[nu++] = (urow_t){rows.rows[i].orgunit, rows.rows[i].unit_name, 0, 0, 0, 1};
    }
    for (size_t i = 0; i < nu; i++) {
        const kh_feed_row_t *row = kh_feed_rows_find(&rows, per.pstr, u[i].code, code);
        if (row) {
            u[i].has = 1;
            u[i].value = row->value;
            u[i].is_int = row->is_int;
        }
    }
    for (size_t i = 0; i < nu; i++) {   /* rank: 1 + the units with a larger value */
        if (!u[i].has) continue;
        u[i].rank = 1;
        for (size_t k = 0; k < nu; k++) u[i].rank += u[k].has && u[k].value > u[i].value;
    }
    if (!strcmp(q->sort, "desc")) qsort(u, nu, sizeof *u, by_value_desc);
    else if (!strcmp(q->sort, "asc")) qsort(u, nu, sizeof *u, by_value_asc);
    const kh_feed_row_t *rr = root_row(&root);
    const kh_feed_row_t *total = rr ? kh_feed_rows_find(&root, per.pstr, rr->orgunit, code) : NULL;
    long rep[KH_FEED_MAX_HALVES], expd[KH_FEED_MAX_HALVES];
    size_t npartial = rr ? partial_halves(&per, &root, rr->orgunit, rep, expd) : 0;
    double target = ct.target ? ct.target->target : -1;
    char label[512], whole[160], lvname[128], v[64];
    code_label(per.prog, &ct, label, sizeof label);
    whole_word(&per, whole, sizeof whole);
    kh_catalog_level_word(per.prog, level, per.end, 0, lvname, sizeof lvname);

    pb_t b;
    if (pb_open(&b) < 0) goto out;
    FILE *f = b.f;
    if (!strcmp(q->format, "csv")) {
        fputs("period,orgunit,name,indicator,value,rank,target,gap\n", f);
        for (size_t i = 0; i <= nu; i++) {
            const char *oc = i < nu ? u[i].code : rr ? rr->orgunit : "";
            const char *on = i < nu ? u[i].name : rr ? rr->unit_name : "";
            int has = i < nu ? u[i].has : total != NULL;
            double val = i < nu ? u[i].value : total ? total->value : 0;
            int is_int = i < nu ? u[i].is_int : total ? total->is_int : 0;
            kh_csv_field(f, per.pstr);
            fputc(',', f);
            kh_csv_field(f, oc);
            fputc(',', f);
            kh_csv_field(f, on);
            fputc(',', f);
            kh_csv_field(f, code);
            if (has) {
                kh_feed_row_t tmp = {.value = val, .is_int = is_int};
                kh_feed_format_value(&tmp, v, sizeof v);
                fprintf(f, ",%s", v);
            } else {
                fputc(',', f);
            }
            if (i < nu && u[i].has) fprintf(f, ",%d", u[i].rank);
            else fputc(',', f);
            if (target >= 0) {
                fprintf(f, ",%g", target);
                if (has) fprintf(f, ",%.2f", round((val - target) * 100) / 100);
                else fputc(',', f);
            } else {
                fputs(",,", f);
            }
            fputc('\n', f);
        }
        snprintf(pg->filename, sizeof pg->filename, "chi-tieu-%s-%.40s.csv", per.pstr, code);
        for (char *p = pg->filename; *p; p++)
            if (*p == '=' || *p == '"' || *p == '/') *p = '-';
        rc = pb_done(&b, pg, 200, "text/csv; charset=utf-8");
        goto out;
    }
    char title[700];
    snprintf(title, sizeof title, "%s — %s (%s)", code, label, per.pstr);
    page_head(f, s, title);
    fputs("<h1>", f);
    E(code);
    fputs(" — ", f);
    E(label);
    fprintf(f, "</h1>\n<p id=\"period\" data-period=\"%s\">Kỳ / Period: %s · theo ", per.pstr,
            per.pstr);
    E(lvname);
    fprintf(f, " <span class=\"en\">/ by level %d</span></p>\n", level);
    fputs("<form class=\"noprint\" method=\"get\" action=\"/indicator\">", f);
    period_select(f, s, per.pstr);
    fputc(' ', f);
    code_select(f, per.prog, code);
    fputs(" <select name=\"level\">", f);
    for (int l = 1; l <= kh_catalog_depth(per.prog); l++) {
        char w[128];
        kh_catalog_level_word(per.prog, l, per.end, 0, w, sizeof w);
        fprintf(f, "<option value=\"%d\"%s>%d ", l, l == level ? " selected" : "", l);
        E(w);
        fputs("</option>", f);
    }
    fprintf(f, "</select> <button type=\"submit\">Xem / Show</button></form>\n");
    partial_note(f, &per, rep, expd, npartial);
    char base[256];
    snprintf(base, sizeof base, "/indicator?period=%s&amp;level=%d&amp;code=", per.pstr, level);
    fputs("<p class=\"noprint\">Sắp xếp / Sort: ", f);
    static const char *sorts[][2] = {{"tree", "theo cây đơn vị / tree order"},
                                     {"desc", "cao → thấp / high → low"},
                                     {"asc", "thấp → cao / low → high"}};
    for (int k = 0; k < 3; k++) {
        fprintf(f, "%s<a id=\"sort-%s\" href=\"%s", k ? " · " : "", sorts[k][0], base);
        url_param(f, code);
        fprintf(f, "&amp;sort=%s\">%s</a>", sorts[k][0], sorts[k][1]);
    }
    fprintf(f, " · <a id=\"csv\" href=\"%s", base);
    url_param(f, code);
    fprintf(f, "&amp;sort=%s&amp;format=csv\">CSV</a> · <a id=\"xlsx\" href=\"/export.xlsx?"
               "period=%s&amp;level=%d\">XLSX</a> <span class=\"en\">(kh-feed export)</span></p>\n",
            !strcmp(q->sort, "desc") || !strcmp(q->sort, "asc") ? q->sort : "tree", per.pstr,
            level);

    fputs("<div class=\"pair\"><table id=\"units\"><thead><tr><th>Hạng / Rank</th><th>Mã / "
          "Code</th><th>Đơn vị / Unit</th><th>Giá trị / Value</th>", f);
    if (target >= 0) fputs("<th>Chỉ tiêu / Target</th><th>Chênh lệch / Gap</th>", f);
    fputs("</tr></thead><tbody>\n", f);
    kh_svg_bar_t *bars = calloc(nu + 2, sizeof *bars);
    if (!bars) { fclose(f); free(b.buf); goto out; }
    char tv[64] = "";
    if (target >= 0) show_value(target, 0, tv, sizeof tv);
    for (size_t i = 0; i < nu; i++) {
        bars[i] = (kh_svg_bar_t){u[i].name, u[i].value, u[i].has};
        fputs("<tr data-unit=\"", f);
        E(u[i].code);
        fputs("\">", f);
        if (u[i].has) fprintf(f, "<td class=\"num rank\">%d</td>", u[i].rank);
        else fputs("<td class=\"num rank\">–</td>", f);
        fputs("<td>", f);
        E(u[i].code);
        fputs("</td><td>", f);
        E(u[i].name);
        fputs("</td>", f);
        if (u[i].has) show_value(u[i].value, u[i].is_int, v, sizeof v);
        else kh_strlcpy(v, "–", sizeof v);
        fprintf(f, "<td class=\"num value\">%s</td>", v);
        if (target >= 0) {
            char gap[64] = "–";
            if (u[i].has) kh_feed_format_vi(u[i].value - target, 0, 1, gap, sizeof gap);
            fprintf(f, "<td class=\"num\">%s</td><td class=\"num gap\">%s</td>", tv, gap);
        }
        fputs("</tr>\n", f);
    }
    fputs("<tr id=\"total\" data-unit=\"", f);
    E(rr ? rr->orgunit : "");
    fputs("\"><td></td><td>", f);
    E(rr ? rr->orgunit : "");
    fprintf(f, "</td><th%s>", npartial ? " class=\"partial\"" : "");
    E(whole);
    if (total) show_value(total->value, total->is_int, v, sizeof v);
    else kh_strlcpy(v, "–", sizeof v);
    fprintf(f, "</th><td class=\"num value%s\">%s%s</td>", npartial ? " partial" : "", v,
            npartial && total ? " *" : "");
    if (target >= 0) {
        char gap[64] = "–";
        if (total) kh_feed_format_vi(total->value - target, 0, 1, gap, sizeof gap);
        fprintf(f, "<td class=\"num\">%s</td><td class=\"num gap\">%s</td>", tv, gap);
    }
    fputs("</tr>\n</tbody></table>\n<div>", f);
    bars[nu] = (kh_svg_bar_t){whole, total ? total->value : 0, total != NULL};
    kh_svg_bars(f, title, bars, nu + 1, ct.target ? 100 : 0, target,
                "Chỉ tiêu / target", ct.target ? "%" : "");
    free(bars);
    fputs("</div></div>\n", f);
    if (ct.target && ct.target->source && ct.target->source[0]) {
        fputs("<p>Chỉ tiêu theo <span class=\"en\">/ target set by</span> ", f);
        E(ct.target->source);
        if (ct.target->milestone) fprintf(f, " (mốc / milestone %d)", ct.target->milestone);
        fputs("</p>\n", f);
    }
    page_tail(f);
    rc = pb_done(&b, pg, 200, "text/html; charset=utf-8");
out:
    free(u);
    free(list);
    kh_feed_rows_clear(&root);
    kh_feed_rows_clear(&rows);
    return rc;
}

/* ---- trend --------------------------------------------------------------------------- */

/* The value of `code` at `unit` (NULL: the root) over period `p`, from the rows of its
 * level.  Returns 1 with *v, 0 when there is none, -1 out of memory. */
static int value_over(srv_t *s, const char *p, const char *code, const kh_unit_t *unit,
                      double *v, int *is_int)
{
    kh_period_t pp;
    if (kh_period_parse(p, &pp) < 0) return 0;
    const kh_catalog_t *prog = kh_catalog_for(s->cat, kh_period_end(&pp));
    code_t ct;
    if (!prog || !code_find(prog, code, &ct)) return 0;
    kh_feed_rows_t rows = {0};
    int level = unit ? unit->level : 1;
    if (kh_feed_rows(s->db, prog, p, level, &rows) < 0) {
        kh_feed_rows_clear(&rows);
        return 0;
    }
    const char *oc = unit ? unit->code : rows.n ? rows.rows[0].orgunit : "";
    const kh_feed_row_t *row = kh_feed_rows_find(&rows, NULL, oc, code);
    int found = row && row->kind != KH_FEED_COMPLETENESS;
    if (found) {
        *v = row->value;
        *is_int = row->is_int;
    }
    kh_feed_rows_clear(&rows);
    return found;
}

/* One row of kh_feed_series (series.c) for a unit and a code: its figures before the
 * reorganisation (the old units that went whole into it) and after. */
typedef struct {
    char period[16], before_period[16], old_units[256];
    char before[64], now[64];
    int comparable;
} reorg_row_t;

/* The first report period of per (in order) whose series across a reorganisation
 * (kh_feed_series, CSV) lists `unit` and `code`: into out.  Returns 1, or 0 when none
 * does (no reorganisation, another unit) or it cannot be read. */
static int reorg_of(srv_t *s, const per_t *per, const char *unit, const char *code,
                    reorg_row_t *out)
{
    for (size_t h = 0; h < per->nh; h++) {
        kh_period_t hp;
        if (kh_period_parse(per->halves[h], &hp) < 0) continue;
        const kh_catalog_t *prog = kh_catalog_for(s->cat, kh_period_end(&hp));
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (!m) return 0;
        int n = prog ? kh_feed_series(s->db, prog, per->halves[h], "csv", m) : -1;
        fclose(m);
        int found = 0;
        for (char *line = n > 0 ? buf : NULL, *next; line && *line && !found; line = next) {
            next = strchr(line, '\n');
            if (next) *next++ = '\0';
            char *f[8];
            size_t nf = 0;
            for (char *p = line; nf < 8; p++) {   /* no field holds a comma (series.h) */
                f[nf++] = p;
                if (!(p = strchr(p, ','))) break;
                *p = '\0';
            }
            if (nf != 8 || strcmp(f[1], unit) || strcmp(f[3], code)) continue;
            kh_strlcpy(out->period, f[0], sizeof out->period);
            kh_strlcpy(out->old_units, f[2], sizeof out->old_units);
            kh_strlcpy(out->before_period, f[4], sizeof out->before_period);
            kh_strlcpy(out->before, f[5], sizeof out->before);
            kh_strlcpy(out->now, f[6], sizeof out->now);
            out->comparable = !strcmp(f[7], "yes");
            found = 1;
        }
        free(buf);
        if (found) return 1;
    }
    return 0;
}

/* A plain number of the series CSV ("87.42") the Vietnamese way ("87,42"); "–" if empty. */
static void show_plain(const char *plain, char *buf, size_t cap)
{
    char *end;
    double v = strtod(plain, &end);
    if (!plain[0] || *end) {
        kh_strlcpy(buf, "–", cap);
        return;
    }
    kh_feed_format_vi(v, strchr(plain, '.') == NULL, 0, buf, cap);
}

int srv_trend(srv_t *s, const srv_query_t *q, srv_page_t *pg)
{
    /* the programme: given, or the one of the latest report period */
    char latest[16];
    const char *ptext = q->period;
    if (!ptext[0]) {
        latest_period(s, latest, sizeof latest);
        kh_period_t lp;
        const kh_catalog_t *lprog = latest[0] && kh_period_parse(latest, &lp) == 0
                                        ? kh_catalog_for(s->cat, kh_period_end(&lp)) : NULL;
        const char *pc = lprog ? kh_catalog_programme_code(lprog) : NULL;
        if (pc && pc[0]) {
            kh_strlcpy(latest, pc, sizeof latest);
        } else {   /* no programmes.csv: the span of the years the mirror has */
            char list[LIST_MAX][16];
            size_t n = period_choices(s, list, LIST_MAX);
            for (size_t i = 0; i < n; i++)
                if (strchr(list[i], '-')) kh_strlcpy(latest, list[i], sizeof latest);
        }
        ptext = latest;
    }
    per_t per;
    int r = period_of(s, ptext, &per, pg);
    if (r) return r < 0 ? -1 : 0;
    char code[SRV_PARAM_MAX];
    code_t ct;
    if ((r = code_of(&per, q->code, code, &ct, pg))) return r < 0 ? -1 : 0;
    const kh_unit_t *unit = NULL;
    if (q->unit[0]) {
        unit = kh_catalog_unit_on(per.prog, q->unit, per.end);
        if (!unit) unit = kh_catalog_unit_any(per.prog, q->unit);
        if (!unit)
            return srv_error(pg, 404, "Không có đơn vị có mã này trong danh mục (units.csv): hãy "
                             "chọn trong danh sách.", "No unit has this code in the catalogue "
                             "(units.csv): choose one from the list.");
    }
    /* x: the report periods of the programme, then its years */
    char xs[KH_FEED_MAX_HALVES + KH_FEED_MAX_HALVES][16];
    size_t nx = 0, nhx;
    for (size_t h = 0; h < per.nh; h++) kh_strlcpy(xs[nx++], per.halves[h], 16);
    nhx = nx;
    int y1 = per.p.kind == KH_P_PROGRAMME ? per.p.year_to : per.p.year;
    for (int y = per.p.year; y <= y1 && nx < sizeof xs / sizeof *xs; y++) {
        kh_period_t yp = {.kind = KH_P_YEAR, .year = y};
        kh_period_format(&yp, xs[nx], 16);
        int dup = 0;
        for (size_t k = 0; k < nhx; k++) dup |= !strcmp(xs[k], xs[nx]);
        if (!dup) nx++;
    }
    double vr[2 * KH_FEED_MAX_HALVES], vu[2 * KH_FEED_MAX_HALVES];
    int hr[2 * KH_FEED_MAX_HALVES], hu[2 * KH_FEED_MAX_HALVES], ir[2 * KH_FEED_MAX_HALVES],
        iu[2 * KH_FEED_MAX_HALVES];
    for (size_t i = 0; i < nx; i++) {
        hr[i] = value_over(s, xs[i], code, NULL, &vr[i], &ir[i]) == 1;
        hu[i] = unit && value_over(s, xs[i], code, unit, &vu[i], &iu[i]) == 1;
    }
    kh_feed_rows_t root = {0};
    if (kh_feed_rows(s->db, per.prog, per.pstr, 1, &root) < 0) {
        kh_feed_rows_clear(&root);
        return srv_error(pg, 500, "Không tính được số liệu: xem nhật ký của kh-feed serve.",
                         "The figures could not be computed: see kh-feed serve's output.");
    }
    const kh_feed_row_t *rr = root_row(&root);
    char rootcode[KH_CODE_MAX] = "", rootname[256] = "";
    if (rr) {
        kh_strlcpy(rootcode, rr->orgunit, sizeof rootcode);
        kh_strlcpy(rootname, rr->unit_name ? rr->unit_name : "", sizeof rootname);
    }
    long rep[KH_FEED_MAX_HALVES], expd[KH_FEED_MAX_HALVES];
    size_t npartial = rr ? partial_halves(&per, &root, rr->orgunit, rep, expd) : 0;
    kh_feed_rows_clear(&root);

    pb_t b;
    if (pb_open(&b) < 0) return -1;
    FILE *f = b.f;
    if (!strcmp(q->format, "csv")) {
        fputs("period,orgunit,indicator,value\n", f);
        for (int w = 0; w < (unit ? 2 : 1); w++)
            for (size_t i = 0; i < nx; i++) {
                int has = w ? hu[i] : hr[i];
                if (!has) continue;
                kh_feed_row_t tmp = {.value = w ? vu[i] : vr[i], .is_int = w ? iu[i] : ir[i]};
                char v[64];
                kh_feed_format_value(&tmp, v, sizeof v);
                kh_csv_field(f, xs[i]);
                fputc(',', f);
                kh_csv_field(f, w ? unit->code : rootcode);
                fputc(',', f);
                kh_csv_field(f, code);
                fprintf(f, ",%s\n", v);
            }
        snprintf(pg->filename, sizeof pg->filename, "xu-huong-%s-%.40s.csv", per.pstr, code);
        for (char *p = pg->filename; *p; p++)
            if (*p == '=' || *p == '"' || *p == '/') *p = '-';
        return pb_done(&b, pg, 200, "text/csv; charset=utf-8");
    }
    char label[512], title[700];
    code_label(per.prog, &ct, label, sizeof label);
    snprintf(title, sizeof title, "Xu hướng / Trend — %s — %s (%s)", code, label, per.pstr);
    page_head(f, s, title);
    fputs("<h1>Xu hướng <span class=\"en\">/ Trend</span> — ", f);
    E(code);
    fputs(" — ", f);
    E(label);
    fprintf(f, "</h1>\n<p id=\"period\" data-period=\"%s\">Chương trình / Programme: %s</p>\n",
            per.pstr, per.pstr);
    fputs("<form class=\"noprint\" method=\"get\" action=\"/trend\">", f);
    period_select(f, s, per.pstr);
    fputc(' ', f);
    code_select(f, per.prog, code);
    fputs(" <select name=\"unit\" id=\"unit-select\"><option value=\"\">— chỉ toàn bộ / the "
          "whole tree only —</option>", f);
    int lv = reporting_level(&per);
    size_t nul = kh_catalog_units_on(per.prog, lv, "", per.end, NULL, 0);
    const kh_unit_t **ul = calloc(nul + 1, sizeof *ul);
    if (ul) {
        nul = kh_catalog_units_on(per.prog, lv, "", per.end, ul, nul);
        for (size_t i = 0; i < nul; i++) {
            fputs("<option value=\"", f);
            E(ul[i]->code);
            fprintf(f, "\"%s>", unit && !strcmp(unit->code, ul[i]->code) ? " selected" : "");
            E(ul[i]->name);
            fputs("</option>", f);
        }
        free(ul);
    }
    fputs("</select> <button type=\"submit\">Xem / Show</button> · <a id=\"csv\" "
          "href=\"?format=csv&amp;period=", f);
    E(per.pstr);
    fputs("&amp;code=", f);
    url_param(f, code);
    if (unit) {
        fputs("&amp;unit=", f);
        E(unit->code);
    }
    fputs("\">CSV</a></form>\n", f);
    partial_note(f, &per, rep, expd, npartial);
    double target = ct.target ? ct.target->target : -1;
    /* across a reorganisation: the unit's figures before it, where comparable, lead its
     * line on the report periods' chart */
    reorg_row_t ro;
    int has_reorg = unit && reorg_of(s, &per, unit->code, code, &ro);
    double bv = 0;
    int lead = 0;
    if (has_reorg && ro.comparable && ro.before[0]) {
        char *end;
        bv = strtod(ro.before, &end);
        lead = !*end;
    }
    /* two charts: the report periods, then the years */
    for (int part = 0; part < 2; part++) {
        size_t from = part ? nhx : 0, to = part ? nx : nhx;
        if (to <= from) continue;
        const char *xl[2 * KH_FEED_MAX_HALVES + 1];
        double lr[2 * KH_FEED_MAX_HALVES + 1], lu[2 * KH_FEED_MAX_HALVES + 1];
        int lhr[2 * KH_FEED_MAX_HALVES + 1], lhu[2 * KH_FEED_MAX_HALVES + 1];
        size_t k = 0;
        if (part == 0 && lead) {
            xl[k] = ro.before_period;
            lr[k] = 0, lhr[k] = 0;
            lu[k] = bv, lhu[k] = 1;
            k++;
        }
        for (size_t i = from; i < to; i++, k++) {
            xl[k] = xs[i];
            lr[k] = vr[i], lhr[k] = hr[i];
            lu[k] = vu[i], lhu[k] = hu[i];
        }
        kh_svg_series_t ser[2] = {{rootname, lr, lhr}, {unit ? unit->name : "", lu, lhu}};
        fprintf(f, "<h2>%s</h2>\n<div class=\"pair\"><div>",
                part ? "Theo năm <span class=\"en\">/ By year</span>"
                     : "Theo kỳ báo cáo <span class=\"en\">/ By report period</span>");
        kh_svg_lines(f, title, xl, k, ser, unit ? 2 : 1, target);
        fprintf(f, "</div><table id=\"trend-%s\"><thead><tr><th>Kỳ / Period</th><th>",
                part ? "years" : "halves");
        E(rootname);
        fputs("</th>", f);
        if (unit) {
            fputs("<th>", f);
            E(unit->name);
            fputs("</th>", f);
        }
        if (target >= 0) fputs("<th>Chỉ tiêu / Target</th>", f);
        fputs("</tr></thead><tbody>\n", f);
        for (size_t i = from; i < to; i++) {
            char v[64];
            fprintf(f, "<tr data-period=\"%s\"><td>%s</td>", xs[i], xs[i]);
            if (hr[i]) show_value(vr[i], ir[i], v, sizeof v);
            else kh_strlcpy(v, "–", sizeof v);
            fprintf(f, "<td class=\"num value root\">%s</td>", v);
            if (unit) {
                if (hu[i]) show_value(vu[i], iu[i], v, sizeof v);
                else kh_strlcpy(v, "–", sizeof v);
                fprintf(f, "<td class=\"num value unit\">%s</td>", v);
            }
            if (target >= 0) {
                show_value(target, 0, v, sizeof v);
                fprintf(f, "<td class=\"num\">%s</td>", v);
            }
            fputs("</tr>\n", f);
        }
        fputs("</tbody></table></div>\n", f);
    }
    if (has_reorg) {
        char bb[64], nn[64];
        show_plain(ro.before, bb, sizeof bb);
        show_plain(ro.now, nn, sizeof nn);
        fputs("<h2>Trước và sau sắp xếp đơn vị <span class=\"en\">/ Across the "
              "reorganisation</span></h2>\n<table id=\"reorg\"><thead><tr><th>Đơn vị cũ / "
              "Old units</th><th>Trước / Before</th><th>Sau / After</th><th>So sánh được / "
              "Comparable</th></tr></thead><tbody><tr><td>", f);
        E(ro.old_units);
        fputs("</td><td class=\"num before\">", f);
        E(ro.before_period);
        fprintf(f, ": %s</td><td class=\"num now\">", bb);
        E(ro.period);
        fprintf(f, ": %s</td><td data-comparable=\"%s\">%s</td></tr></tbody></table>\n<p>%s</p>\n",
                nn, ro.comparable ? "yes" : "no",
                ro.comparable ? "có / yes" : "không / no",
                ro.comparable ? "Trước: tổng của các đơn vị cũ nhập trọn vào đơn vị này "
                                "(kh-feed series) <span class=\"en\">/ before: the sum of the "
                                "old units that went whole into this one</span>"
                              : "Một đơn vị cũ bị chia hoặc thiếu số liệu: không so sánh "
                                "<span class=\"en\">/ an old unit was divided or has no "
                                "figures: not compared</span>");
    }
    page_tail(f);
    return pb_done(&b, pg, 200, "text/html; charset=utf-8");
}

/* ---- XLSX: the export's workbook of the period ---------------------------------------- */

int srv_xlsx(srv_t *s, const srv_query_t *q, srv_page_t *pg)
{
    per_t per;
    int r = period_of(s, q->period, &per, pg);
    if (r) return r < 0 ? -1 : 0;
    int level, failed;
    if (level_of(&per, q->level, 1, &level, pg, &failed)) return failed ? -1 : 0;
    /* a folder of its own (mkdtemp, 0700): nobody else can place a file or a link where
     * the workbook is written */
    const char *tmpdir = getenv("TMPDIR");
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "%s/kh-feed-serve-XXXXXX", tmpdir && tmpdir[0] ? tmpdir : "/tmp");
    if (!mkdtemp(dir))
        return srv_error(pg, 500, "Không tạo được thư mục tạm để xuất XLSX: hãy thử lại.",
                         "Cannot make a temporary folder for the XLSX export: try again.");
    snprintf(path, sizeof path, "%s/export.xlsx", dir);
    int rc = -1;
    if (kh_feed_export(s->db, per.prog, per.pstr, level, "xlsx", path) < 0) {
        rc = srv_error(pg, 500, "Không xuất được XLSX: xem nhật ký của kh-feed serve.",
                       "The XLSX export failed: see kh-feed serve's output.");
    } else {
        char *buf;
        size_t len;
        if (kh_read_file(path, XLSX_MAX, &buf, &len) == 0) {
            pg->status = 200;
            pg->body = buf;
            pg->len = len;
            pg->ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
            snprintf(pg->filename, sizeof pg->filename, "khuyen-hoc-%s.xlsx", per.pstr);
            rc = 0;
        }
    }
    unlink(path);
    rmdir(dir);
    return rc;
}
