/*
 * book.c — the workbook a director reads and its PDF (book.h says what is on each
 * sheet).  The period is rolled up once (kh_feed_roll_build): the figures are its rows
 * (kh_feed_roll_rows: the same values as the CSV export), the reporting status its report
 * periods (kh_feed_roll_half: the summary's part III), the long list its sheets
 * (kh_feed_xlsx_fill); the words around them come from the catalogue and document.csv.
 *
 * Invariants: every printed sheet has its print setup (A4 landscape, fit to width,
 * titles repeated, header and footer with page numbers); a partial root total is
 * marked on every sheet where it is shown; the output file is replaced atomically
 * (written as PATH.tmp, then renamed); LibreOffice runs with its own profile folder in
 * a private temporary folder, which is removed afterwards.
 */
#include "book.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uniwidth.h>
#include <xlsxwriter.h>

#include "kh_util.h"
#include "report.h"

extern char **environ;

#define DOC_FILE "document.csv"
#define DOC_MAX (64 * 1024)     /* document.csv: a few rows of text */
#define DOC_FIELD 512           /* longest text of one of its fields */
#define CHARTS_PER_ROW 3        /* charts side by side on the cover */
#define CHART_W 330             /* a chart's size on the cover, pixels */
#define CHART_H 240

static void book_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void book_err(const char *fmt, ...)
{
    va_list ap;
    fputs("kh-feed: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- document.csv: who issues the report, under which programme ---------------------- */

enum { D_FROM, D_TO, D_SUPERIOR, D_AGENCY, D_NUMBER, D_PLACE, D_PROGRAMME, D_BASIS, D_N };
static const char *const doc_cols[D_N] = {"valid_from", "valid_to", "superior", "agency",
                                          "number", "place", "programme", "legal_basis"};

typedef struct {
    char f[D_N][DOC_FIELD];
} doc_t;

typedef struct {
    int col[D_N];               /* the file's column of each field, -1 absent */
    int field, record;          /* position while parsing */
    char cur[D_N][DOC_FIELD];
    int32_t day;                /* the row in force on this day is kept */
    doc_t *out;
    int found, bad;
} docp_t;

static void doc_field(void *s, size_t len, void *data)
{
    docp_t *p = data;
    char v[DOC_FIELD];
    size_t n = len < sizeof v - 1 ? len : sizeof v - 1;
    memcpy(v, s, n);
    v[n] = '\0';
    if (p->record == 0) {
        for (int k = 0; k < D_N; k++)
            if (strcmp(kh_trim(v), doc_cols[k]) == 0) p->col[k] = p->field;
    } else {
        for (int k = 0; k < D_N; k++)
            if (p->col[k] == p->field) kh_strlcpy(p->cur[k], kh_trim(v), DOC_FIELD);
    }
    p->field++;
}

static void doc_record(int c, void *data)
{
    (void)c;
    docp_t *p = data;
    if (p->record > 0) {
        int32_t from = 0, to = 0;
        if ((p->cur[D_FROM][0] && kh_date_parse(p->cur[D_FROM], &from) < 0) ||
            (p->cur[D_TO][0] && kh_date_parse(p->cur[D_TO], &to) < 0))
            p->bad = p->record + 1;
        else if ((!from || from <= p->day) && (!to || p->day <= to)) {
            memcpy(p->out->f, p->cur, sizeof p->out->f);
            p->found = 1;
        }
    }
    memset(p->cur, 0, sizeof p->cur);
    p->field = 0;
    p->record++;
}

/* The row of DATA_DIR/document.csv in force on `day` into d.  Returns 0 (a missing file
 * or row leaves the fields empty: the cover then says what to add), or -1 after
 * printing why (unreadable, malformed). */
static int doc_load(const char *data_dir, int32_t day, doc_t *d)
{
    memset(d, 0, sizeof *d);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", data_dir ? data_dir : ".", DOC_FILE);
    char *buf = NULL;
    size_t len = 0;
    if (kh_read_file(path, DOC_MAX, &buf, &len) < 0) {
        if (errno == ENOENT) return 0;
        book_err("không đọc được / cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    docp_t p;
    memset(&p, 0, sizeof p);
    for (int k = 0; k < D_N; k++) p.col[k] = -1;
    p.day = day;
    p.out = d;
    struct csv_parser cp;
    int rc = -1;
    size_t skip = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;   /* a BOM */
    if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI) == 0) {
        if (csv_parse(&cp, buf + skip, len - skip, doc_field, doc_record, &p) == len - skip &&
            csv_fini(&cp, doc_field, doc_record, &p) == 0)
            rc = 0;
        csv_free(&cp);
    }
    free(buf);
    if (rc < 0 || p.bad) {
        book_err("%s: dòng %d không hợp lệ (ngày phải là YYYY-MM-DD) / line %d is malformed "
                 "(dates are YYYY-MM-DD)", path, p.bad ? p.bad : p.record,
                 p.bad ? p.bad : p.record);
        return -1;
    }
    return 0;
}

/* ---- what the sheets show --------------------------------------------------------------- */

typedef struct {
    const kh_catalog_t *cat;
    kh_period_t p;
    char pstr[16], label[96];   /* "2020", "năm 2020" */
    int32_t end;
    int level;                  /* the summary's units */
    kh_feed_rows_t rows, root;  /* the rows of the level and of the root */
    const char **codes, **names;   /* the level's units in tree order (not the root) */
    size_t nu;
    const char *root_code, *root_name;
    char whole[192], whole_head[224];   /* "Toàn tỉnh", "Toàn tỉnh (chưa đủ)" */
    kh_feed_roll_t *roll;       /* the period rolled up: every figure and status below */
    kh_feed_half_t half[KH_FEED_MAX_HALVES];   /* its report periods (owned by roll) */
    size_t nh;
    char partial[256];          /* "tổng chưa đủ / partial: 2 of 9 units", "" when whole */
    char asof[160];             /* "Dữ liệu đến / data as of … (feed seq N)" */
    doc_t doc;
    char number[DOC_FIELD + 16], dateline[DOC_FIELD + 64];
} book_t;

static void book_free(book_t *b)
{
    kh_feed_rows_clear(&b->rows);
    kh_feed_rows_clear(&b->root);
    free(b->codes);
    free(b->names);
    kh_feed_roll_free(&b->roll);
}

static int book_oom(void)
{
    book_err("hết bộ nhớ / out of memory");
    return -1;
}

/* The level of the reporting units at the period's end (the summary's columns), when
 * they all have one below the root; else 2 (the root's children), or 1. */
static int default_level(const book_t *b)
{
    if (b->nh == 0) return kh_catalog_depth(b->cat) >= 2 ? 2 : 1;
    const kh_feed_half_t *last = &b->half[b->nh - 1];
    int lvl = 0;
    for (size_t i = 0; i < last->nd; i++) {
        int l = last->d[i].unit->level;
        if (l == 1) continue;
        if (lvl && l != lvl) return kh_catalog_depth(b->cat) >= 2 ? 2 : 1;
        lvl = l;
    }
    if (lvl) return lvl;
    return kh_catalog_depth(b->cat) >= 2 ? 2 : 1;
}

static int book_build(book_t *b, sqlite3 *db, const kh_catalog_t *cat, const char *period,
                      const kh_book_opts_t *o)
{
    memset(b, 0, sizeof *b);
    b->cat = cat;
    if (!period || kh_period_parse(period, &b->p) < 0) {
        book_err("kỳ báo cáo không hợp lệ / invalid period: \"%s\"", period ? period : "");
        return -1;
    }
    kh_period_format(&b->p, b->pstr, sizeof b->pstr);
    kh_period_label(&b->p, 0, b->label, sizeof b->label);
    b->end = kh_period_end(&b->p);
    if (kh_feed_roll_build(db, cat, b->pstr, &b->roll) < 0) return -1;
    b->nh = kh_feed_roll_halves(b->roll);   /* the roll refuses more; the cap only guards */
    if (b->nh > KH_FEED_MAX_HALVES) b->nh = KH_FEED_MAX_HALVES;
    for (size_t h = 0; h < b->nh; h++)
        b->half[h] = kh_feed_roll_half(b->roll, h);
    kh_feed_roll_partial(b->roll, b->partial, sizeof b->partial);
    b->level = o && o->level > 0 ? o->level : default_level(b);
    if (kh_feed_roll_rows(b->roll, b->level, &b->rows) < 0 ||
        kh_feed_roll_rows(b->roll, 1, &b->root) < 0)
        return -1;
    /* the units of the level, in the rows' (tree) order */
    b->codes = calloc(b->rows.n + 1, sizeof *b->codes);
    b->names = calloc(b->rows.n + 1, sizeof *b->names);
    if (!b->codes || !b->names) return book_oom();
    const kh_unit_t *root = NULL;
    {
        const kh_unit_t *one[1];
        if (kh_catalog_units_on(cat, 1, "", b->end, one, 1) > 0) root = one[0];
    }
    b->root_code = b->root.n ? b->root.rows[0].orgunit : root ? root->code : "";
    b->root_name = b->root.n ? b->root.rows[0].unit_name : root ? root->name : "";
    for (size_t i = 0; i < b->rows.n; i++) {
        const kh_feed_row_t *r = &b->rows.rows[i];
        if (b->level == 1) break;
        if (b->nu && strcmp(b->codes[b->nu - 1], r->orgunit) == 0) continue;
        int seen = 0;
        for (size_t k = 0; k < b->nu && !seen; k++) seen = strcmp(b->codes[k], r->orgunit) == 0;
        if (seen) continue;
        b->codes[b->nu] = r->orgunit;
        b->names[b->nu++] = r->unit_name ? r->unit_name : r->orgunit;
    }
    char root_word[128];
    kh_catalog_level_word(cat, 1, b->end, 0, root_word, sizeof root_word);
    snprintf(b->whole, sizeof b->whole, "Toàn %s", root_word);
    snprintf(b->whole_head, sizeof b->whole_head, "%s%s", b->whole,
             b->partial[0] ? " (chưa đủ)" : "");
    char when[64];
    unsigned long long seq = 0;
    if (kh_feed_asof(db, when, sizeof when, &seq) < 0) return -1;
    snprintf(b->asof, sizeof b->asof, "Dữ liệu đến / data as of %s (feed seq %llu)", when, seq);
    if (doc_load(o ? o->data_dir : NULL, b->end, &b->doc) < 0) return -1;
    const char *num = o && o->number && o->number[0] ? o->number
                      : b->doc.f[D_NUMBER][0]        ? b->doc.f[D_NUMBER]
                                                     : "…/BC-…";
    snprintf(b->number, sizeof b->number, "Số: %s", num);
    /* the pipeline's clock (pinned in tests), written as Nghị định 30/2020/NĐ-CP says: a
     * day below 10 and the months 1 and 2 with a leading 0 ("ngày 05 tháng 02 năm …") */
    int32_t today = kh_today();
    int day = today % 100, month = today / 100 % 100;
    snprintf(b->dateline, sizeof b->dateline, "%s%sngày %02d tháng %0*d năm %d",
             b->doc.f[D_PLACE], b->doc.f[D_PLACE][0] ? ", " : "", day, month < 3 ? 2 : 1, month,
             today / 10000);
    return 0;
}

static const kh_feed_row_t *value_of(const book_t *b, const char *org, const char *ind)
{
    const kh_feed_rows_t *rows = strcmp(org, b->root_code) == 0 ? &b->root : &b->rows;
    return kh_feed_rows_find(rows, b->pstr, org, ind);
}

static int indicator_in_period(const book_t *b, const kh_indicator_t *ind)
{
    for (size_t h = 0; h < b->nh; h++)
        if (b->half[h].p.kind == KH_P_YEAR || (b->half[h].p.half == 1 && ind->in_s1) ||
            (b->half[h].p.half == 2 && ind->in_s2))
            return 1;
    return b->nh == 0;
}

/* ---- formats and print setup ------------------------------------------------------------ */

typedef struct {
    lxw_format *title, *bold, *center_bold, *center_italic, *head, *section, *text, *wrap,
        *fint, *fdec, *fgap, *dash, *partial, *note, *label, *big;
} fmts_t;

static void make_formats(lxw_workbook *wb, fmts_t *f)
{
    f->title = workbook_add_format(wb);
    format_set_bold(f->title);
    format_set_font_size(f->title, 14);
    format_set_align(f->title, LXW_ALIGN_CENTER);
    format_set_text_wrap(f->title);
    f->big = workbook_add_format(wb);
    format_set_bold(f->big);
    format_set_font_size(f->big, 12);
    f->bold = workbook_add_format(wb);
    format_set_bold(f->bold);
    f->center_bold = workbook_add_format(wb);
    format_set_bold(f->center_bold);
    format_set_align(f->center_bold, LXW_ALIGN_CENTER);
    format_set_text_wrap(f->center_bold);
    f->center_italic = workbook_add_format(wb);
    format_set_italic(f->center_italic);
    format_set_align(f->center_italic, LXW_ALIGN_CENTER);
    f->head = workbook_add_format(wb);
    format_set_bold(f->head);
    format_set_bg_color(f->head, 0xDDEBF7);
    format_set_border(f->head, LXW_BORDER_THIN);
    format_set_text_wrap(f->head);
    format_set_align(f->head, LXW_ALIGN_CENTER);
    format_set_align(f->head, LXW_ALIGN_VERTICAL_CENTER);
    f->section = workbook_add_format(wb);
    format_set_bold(f->section);
    format_set_bg_color(f->section, 0xF2F2F2);
    f->text = workbook_add_format(wb);
    format_set_border(f->text, LXW_BORDER_HAIR);
    f->wrap = workbook_add_format(wb);
    format_set_text_wrap(f->wrap);
    format_set_border(f->wrap, LXW_BORDER_HAIR);
    format_set_align(f->wrap, LXW_ALIGN_VERTICAL_TOP);
    f->fint = workbook_add_format(wb);
    format_set_num_format(f->fint, "#,##0");
    format_set_border(f->fint, LXW_BORDER_HAIR);
    f->fdec = workbook_add_format(wb);
    format_set_num_format(f->fdec, "#,##0.00");
    format_set_border(f->fdec, LXW_BORDER_HAIR);
    f->fgap = workbook_add_format(wb);
    format_set_num_format(f->fgap, "+#,##0.00;-#,##0.00;0");
    format_set_border(f->fgap, LXW_BORDER_HAIR);
    f->dash = workbook_add_format(wb);
    format_set_align(f->dash, LXW_ALIGN_RIGHT);
    format_set_border(f->dash, LXW_BORDER_HAIR);
    f->partial = workbook_add_format(wb);
    format_set_bold(f->partial);
    format_set_font_color(f->partial, LXW_COLOR_RED);
    f->note = workbook_add_format(wb);
    format_set_italic(f->note);
    f->label = workbook_add_format(wb);
    format_set_bold(f->label);
    format_set_align(f->label, LXW_ALIGN_VERTICAL_TOP);
    format_set_text_wrap(f->label);
}

/* Header/footer text: '&' is a code there, written "&&". */
static void hf_escape(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 3 < cap; s++) {
        if (*s == '&') out[o++] = '&';
        out[o++] = *s;
    }
    out[o] = '\0';
}

/* A4 landscape, fit to the page width (and to `tall` pages high, 0: as many as it
 * takes), rows 0..repeat repeated on each page (-1: none), the root unit and the period
 * in the header, the data's date and "Trang N / M" in the footer. */
static void print_setup(lxw_worksheet *ws, const book_t *b, int tall, int repeat)
{
    worksheet_set_landscape(ws);
    worksheet_set_paper(ws, 9);                 /* 9: A4 in the OOXML paper codes */
    worksheet_set_margins(ws, 0.4, 0.4, 0.6, 0.6);
    worksheet_fit_to_pages(ws, 1, (uint16_t)tall);
    if (repeat >= 0) worksheet_repeat_rows(ws, 0, (lxw_row_t)repeat);
    char root[256], asof[256], hdr[600], ftr[600];
    hf_escape(b->root_name, root, sizeof root);
    hf_escape(b->asof, asof, sizeof asof);
    snprintf(hdr, sizeof hdr, "&L%.200s&R%s (%s)", root, b->label, b->pstr);
    snprintf(ftr, sizeof ftr, "&L%.200s&RTrang &P / &N", asof);
    worksheet_set_header(ws, hdr);
    worksheet_set_footer(ws, ftr);
}

/* ---- the summary sheet ------------------------------------------------------------------ */

#define SUM_NAME_COL 1
#define SUM_UNIT_COL 2
#define SUM_FIRST 3
#define SUM_NAME_W 48           /* the name column's width, characters */
#define SUM_UNIT_W 11

static void put_value(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const kh_feed_row_t *v,
                      const fmts_t *f)
{
    if (v)
        worksheet_write_number(ws, row, col, v->value, v->is_int ? f->fint : f->fdec);
    else
        worksheet_write_string(ws, row, col, "–", f->dash);
}

/* Lines that text takes in a wrapped column `cols` characters wide (a little less is
 * used: words do not break). */
static int text_lines(const char *text, double cols)
{
    int w = u8_strwidth((const uint8_t *)text, "UTF-8");
    int per = (int)(cols * 0.9);
    return w <= 0 || per <= 0 ? 1 : (w + per - 1) / per;
}

/* A row of the summary tall enough for its name and unit of measure, wrapped (no
 * spreadsheet measures a wrapped text on opening a file that did not). */
static void fit_row(lxw_worksheet *ws, lxw_row_t row, const char *name, const char *unit)
{
    int n = text_lines(name, SUM_NAME_W);
    int u = unit ? text_lines(unit, SUM_UNIT_W) : 1;
    if (u > n) n = u;
    if (n > 1) worksheet_set_row(ws, row, LXW_DEF_ROW_HEIGHT * n, NULL);
}

/* Part I and II of the summary for units [from, from+n) and the root.  *row moves on. */
static void summary_block(lxw_worksheet *ws, const book_t *b, const fmts_t *f, size_t from,
                          size_t n, lxw_row_t *row, lxw_row_t *head_row)
{
    const kh_catalog_t *cat = b->cat;
    lxw_col_t last = (lxw_col_t)(SUM_FIRST + n);
    char buf[768];
    if (b->nu > n) {
        char lw[128];
        kh_catalog_level_word(cat, b->level, b->end, 0, lw, sizeof lw);
        snprintf(buf, sizeof buf, "%s %zu–%zu / %zu", lw, from + 1, from + n, b->nu);
        worksheet_write_string(ws, (*row)++, SUM_NAME_COL, buf, f->bold);
    }
    /* the unit codes: a hidden row, for whoever checks the figures */
    worksheet_write_string(ws, *row, 0, "orgunit", NULL);
    for (size_t k = 0; k < n; k++)
        worksheet_write_string(ws, *row, (lxw_col_t)(SUM_FIRST + k), b->codes[from + k], NULL);
    worksheet_write_string(ws, *row, last, b->root_code, NULL);
    lxw_row_col_options hidden = {.hidden = 1, .level = 0, .collapsed = 0};
    worksheet_set_row_opt(ws, *row, LXW_DEF_ROW_HEIGHT, NULL, &hidden);
    (*row)++;
    *head_row = *row;
    worksheet_write_string(ws, *row, 0, "indicator", f->head);
    worksheet_write_string(ws, *row, SUM_NAME_COL, "Chỉ tiêu", f->head);
    worksheet_write_string(ws, *row, SUM_UNIT_COL, "Đơn vị tính", f->head);
    for (size_t k = 0; k < n; k++)
        worksheet_write_string(ws, *row, (lxw_col_t)(SUM_FIRST + k), b->names[from + k], f->head);
    worksheet_write_string(ws, *row, last, b->whole_head, f->head);
    worksheet_set_row(ws, *row, 45, NULL);
    (*row)++;

    for (int sec = 1; sec <= 99; sec++) {       /* sections.csv numbers them 1..99 */
        int titled = 0;
        for (size_t i = 0; i < kh_catalog_indicator_count(cat); i++) {
            const kh_indicator_t *ind = kh_catalog_indicator_at(cat, i);
            if (!ind || ind->section != sec || !indicator_in_period(b, ind)) continue;
            if (!titled) {
                const char *t = kh_catalog_section_title(cat, sec, 0);
                if (t) snprintf(buf, sizeof buf, "%s", t);
                else snprintf(buf, sizeof buf, "Phần %d", sec);
                worksheet_merge_range(ws, *row, SUM_NAME_COL, *row, last, buf, f->section);
                (*row)++;
                titled = 1;
            }
            int nopt = ind->vtype == KH_VT_OPTION ? ind->n_options : 0;
            if (nopt > KH_MAX_OPTIONS) nopt = KH_MAX_OPTIONS;
            if (nopt) {   /* the option indicator's own line: counted in units of its level */
                char lw[128];
                kh_catalog_level_word(cat, ind->level, b->end, 0, lw, sizeof lw);
                worksheet_write_string(ws, *row, 0, ind->code, f->text);
                worksheet_write_string(ws, *row, SUM_NAME_COL, ind->name_vi, f->wrap);
                worksheet_write_string(ws, *row, SUM_UNIT_COL, lw, f->wrap);
                fit_row(ws, *row, ind->name_vi, lw);
                (*row)++;
            }
            for (int k = nopt ? 0 : -1; k < nopt; k++) {
                char code[KH_CODE_MAX + 24];
                if (k >= 0) {
                    snprintf(code, sizeof code, "%s=%s", ind->code, ind->options[k]);
                    const char *l = kh_catalog_option_label(cat, ind, k, 0);
                    snprintf(buf, sizeof buf, "   – %s", l ? l : ind->options[k]);
                    worksheet_write_string(ws, *row, SUM_NAME_COL, buf, f->wrap);
                } else {
                    kh_strlcpy(code, ind->code, sizeof code);
                    worksheet_write_string(ws, *row, SUM_NAME_COL, ind->name_vi, f->wrap);
                    const char *um = ind->vtype == KH_VT_MONEY ? "đồng" : ind->unit;
                    worksheet_write_string(ws, *row, SUM_UNIT_COL, um, f->wrap);
                    fit_row(ws, *row, ind->name_vi, um);
                }
                worksheet_write_string(ws, *row, 0, code, f->text);
                for (size_t c = 0; c <= n; c++) {
                    const char *org = c < n ? b->codes[from + c] : b->root_code;
                    put_value(ws, *row, (lxw_col_t)(SUM_FIRST + c), value_of(b, org, code), f);
                }
                (*row)++;
            }
        }
    }
    /* part II: each rate, its target in force for the period and the gap */
    size_t nt = kh_catalog_target_count(cat);
    if (nt) {
        (*row)++;
        worksheet_merge_range(ws, *row, SUM_NAME_COL, *row, last,
                              "TỶ LỆ SO VỚI CHỈ TIÊU (%) / RATES AGAINST TARGETS", f->section);
        (*row)++;
    }
    for (size_t t = 0; t < nt; t++) {
        const kh_target_t *tg = kh_catalog_target_at(cat, t);
        if (!tg) continue;
        worksheet_write_string(ws, *row, 0, tg->code, f->text);
        worksheet_write_string(ws, *row, SUM_NAME_COL, tg->name_vi, f->wrap);
        worksheet_write_string(ws, *row, SUM_UNIT_COL, "%", f->wrap);
        fit_row(ws, *row, tg->name_vi, NULL);
        for (size_t c = 0; c <= n; c++) {
            const char *org = c < n ? b->codes[from + c] : b->root_code;
            put_value(ws, *row, (lxw_col_t)(SUM_FIRST + c), value_of(b, org, tg->code), f);
        }
        (*row)++;
        if (tg->target < 0) continue;
        char ms[64] = "";
        if (tg->milestone) snprintf(ms, sizeof ms, " %d", tg->milestone);
        char diff[64] = "";
        if (tg->target_difficult >= 0) {
            char d[32];
            kh_fmt_num(tg->target_difficult, d, sizeof d);
            snprintf(diff, sizeof diff, " (vùng khó khăn: %s)", d);
        }
        snprintf(buf, sizeof buf, "   Chỉ tiêu%s%s", ms, diff);
        worksheet_write_string(ws, *row, SUM_NAME_COL, buf, f->wrap);
        worksheet_write_string(ws, *row, SUM_UNIT_COL, "%", f->wrap);
        for (size_t c = 0; c <= n; c++)
            worksheet_write_number(ws, *row, (lxw_col_t)(SUM_FIRST + c), tg->target, f->fdec);
        (*row)++;
        worksheet_write_string(ws, *row, SUM_NAME_COL, "   Chênh lệch (điểm %)", f->wrap);
        worksheet_write_string(ws, *row, SUM_UNIT_COL, "điểm %", f->wrap);
        for (size_t c = 0; c <= n; c++) {
            const char *org = c < n ? b->codes[from + c] : b->root_code;
            const kh_feed_row_t *v = value_of(b, org, tg->code);
            if (v)
                worksheet_write_number(ws, *row, (lxw_col_t)(SUM_FIRST + c),
                                       round((v->value - tg->target) * 100) / 100, f->fgap);
            else
                worksheet_write_string(ws, *row, (lxw_col_t)(SUM_FIRST + c), "–", f->dash);
        }
        (*row)++;
    }
    if (b->partial[0]) {
        snprintf(buf, sizeof buf, "Cột %s: %s — chỉ cộng các đơn vị đã báo cáo.", b->whole_head,
                 b->partial);
        worksheet_write_string(ws, (*row)++, SUM_NAME_COL, buf, f->partial);
    }
    (*row)++;
}

static int summary_sheet(lxw_workbook *wb, const book_t *b, const fmts_t *f)
{
    lxw_worksheet *ws = workbook_add_worksheet(wb, "Tổng hợp");
    if (!ws) return -1;
    size_t per = b->nu < KH_BOOK_COLS ? b->nu : KH_BOOK_COLS;
    lxw_row_col_options hidden = {.hidden = 1, .level = 0, .collapsed = 0};
    worksheet_set_column_opt(ws, 0, 0, 20, NULL, &hidden);
    worksheet_set_column(ws, SUM_NAME_COL, SUM_NAME_COL, SUM_NAME_W, NULL);
    worksheet_set_column(ws, SUM_UNIT_COL, SUM_UNIT_COL, SUM_UNIT_W, NULL);
    worksheet_set_column(ws, SUM_FIRST, (lxw_col_t)(SUM_FIRST + per), 12.5, NULL);
    char buf[640];
    lxw_row_t row = 0;
    snprintf(buf, sizeof buf, "TỔNG HỢP KHUYẾN HỌC, KHUYẾN TÀI, XÂY DỰNG XÃ HỘI HỌC TẬP — %s",
             b->root_name);
    worksheet_write_string(ws, row++, SUM_NAME_COL, buf, f->big);
    snprintf(buf, sizeof buf, "Kỳ báo cáo: %s (%s) · %s", b->label, b->pstr, b->asof);
    worksheet_write_string(ws, row++, SUM_NAME_COL, buf, NULL);
    if (b->partial[0]) {
        snprintf(buf, sizeof buf, "%s: %s — số liệu chỉ gồm các đơn vị đã báo cáo (xem trang "
                 "Tình hình báo cáo).", b->whole, b->partial);
        worksheet_write_string(ws, row++, SUM_NAME_COL, buf, f->partial);
    }
    row++;
    lxw_row_t head = 0, first_head = 0;
    size_t from = 0;
    do {
        size_t n = b->nu - from < KH_BOOK_COLS ? b->nu - from : KH_BOOK_COLS;
        summary_block(ws, b, f, from, n, &row, &head);
        if (from == 0) first_head = head;
        from += n;
    } while (from < b->nu);
    worksheet_write_string(ws, row++, SUM_NAME_COL,
                           "\"–\": chưa có số liệu / no figure. Số tiền ghi theo đồng.", f->note);
    const kh_target_t *t0 = kh_catalog_target_count(b->cat) ? kh_catalog_target_at(b->cat, 0)
                                                              : NULL;
    if (t0 && t0->source && t0->source[0]) {
        snprintf(buf, sizeof buf, "Chỉ tiêu theo %s.", t0->source);
        worksheet_write_string(ws, row++, SUM_NAME_COL, buf, f->note);
    }
    worksheet_freeze_panes(ws, first_head + 1, SUM_UNIT_COL + 1);
    print_setup(ws, b, b->nu > KH_BOOK_COLS ? 0 : 2, b->nu > KH_BOOK_COLS ? -1 : (int)first_head);
    return 0;
}

/* ---- completeness ------------------------------------------------------------------------ */

static int completeness_sheet(lxw_workbook *wb, const book_t *b, const fmts_t *f)
{
    lxw_worksheet *ws = workbook_add_worksheet(wb, "Tình hình báo cáo");
    if (!ws) return -1;
    worksheet_set_column(ws, 0, 0, 10, NULL);
    worksheet_set_column(ws, 1, 1, 34, NULL);
    worksheet_set_column(ws, 2, 2, 18, NULL);
    worksheet_set_column(ws, 3, 3, 10, NULL);
    worksheet_set_column(ws, 4, 4, 20, NULL);
    char buf[640];
    lxw_row_t row = 0;
    snprintf(buf, sizeof buf, "TÌNH HÌNH BÁO CÁO / REPORTS RECEIVED — %s, %s (%s)", b->root_name,
             b->label, b->pstr);
    worksheet_write_string(ws, row++, 0, buf, f->big);
    worksheet_write_string(ws, row++, 0, b->asof, NULL);
    row++;
    for (size_t h = 0; h < b->nh; h++) {
        const kh_feed_half_t *hf = &b->half[h];
        char due[16], vi[64];
        kh_date_vi(hf->due, due, sizeof due);
        kh_period_label(&hf->p, 0, vi, sizeof vi);
        snprintf(buf, sizeof buf, "%s (%s, hạn nộp %s): phải báo cáo %zu · đã báo cáo %zu · "
                 "đúng hạn %zu · trễ hạn %zu · chưa báo cáo %zu", vi, hf->name, due, hf->nd,
                 hf->n_reported, hf->n_on_time, hf->n_reported - hf->n_on_time,
                 hf->nd - hf->n_reported);
        worksheet_write_string(ws, row++, 0, buf, f->bold);
        if (hf->n_reported < hf->nd) {
            snprintf(buf, sizeof buf, "%s %s — tổng chưa đủ / partial: %zu of %zu units",
                     b->whole, hf->name, hf->n_reported, hf->nd);
            worksheet_write_string(ws, row++, 0, buf, f->partial);
        }
        const char *heads[] = {"Mã", hf->title, "Tình trạng", "Lần gửi", "Nhận lúc"};
        for (lxw_col_t c = 0; c < 5; c++) worksheet_write_string(ws, row, c, heads[c], f->head);
        row++;
        for (size_t i = 0; i < hf->nd; i++) {
            const kh_feed_ustat_t *d = &hf->d[i];
            worksheet_write_string(ws, row, 0, d->unit->code, f->text);
            worksheet_write_string(ws, row, 1, d->unit->name, f->text);
            if (d->reported) {
                worksheet_write_string(ws, row, 2, d->on_time ? "đúng hạn" : "trễ hạn", f->text);
                worksheet_write_number(ws, row, 3, (double)d->revision, f->fint);
                time_t t = (time_t)(d->received_at / 1000);
                struct tm tm;
                if (localtime_r(&t, &tm)) strftime(buf, sizeof buf, "%d/%m/%Y %H:%M", &tm);
                else kh_strlcpy(buf, "?", sizeof buf);
                worksheet_write_string(ws, row, 4, buf, f->text);
            } else {
                worksheet_write_string(ws, row, 2, "chưa báo cáo", f->partial);
                worksheet_write_string(ws, row, 3, "–", f->dash);
                worksheet_write_string(ws, row, 4, "–", f->dash);
            }
            row++;
        }
        row++;
    }
    print_setup(ws, b, 0, 1);
    return 0;
}

/* ---- the charts' figures and the cover ---------------------------------------------------- */

#define CHART_SHEET "Số liệu biểu đồ"

/* The units (then the root) as rows, each rate and its target as columns: what the
 * charts draw, in one range per series however many units there are. */
static int chart_data_sheet(lxw_workbook *wb, const book_t *b, const fmts_t *f)
{
    lxw_worksheet *ws = workbook_add_worksheet(wb, CHART_SHEET);
    if (!ws) return -1;
    worksheet_set_column(ws, 0, 0, 30, NULL);
    worksheet_write_string(ws, 0, 0, "Đơn vị", f->head);
    size_t nt = kh_catalog_target_count(b->cat);
    for (size_t t = 0; t < nt; t++) {
        const kh_target_t *tg = kh_catalog_target_at(b->cat, t);
        char buf[160];
        snprintf(buf, sizeof buf, "%s (%%)", tg->code);
        worksheet_write_string(ws, 0, (lxw_col_t)(1 + 2 * t), buf, f->head);
        if (tg->milestone) snprintf(buf, sizeof buf, "Chỉ tiêu %d", tg->milestone);
        else snprintf(buf, sizeof buf, "Chỉ tiêu");
        worksheet_write_string(ws, 0, (lxw_col_t)(2 + 2 * t), buf, f->head);
        for (size_t u = 0; u <= b->nu; u++) {
            const char *org = u < b->nu ? b->codes[u] : b->root_code;
            if (t == 0)
                worksheet_write_string(ws, (lxw_row_t)(1 + u), 0,
                                       u < b->nu ? b->names[u] : b->whole_head, NULL);
            const kh_feed_row_t *v = value_of(b, org, tg->code);
            if (v) worksheet_write_number(ws, (lxw_row_t)(1 + u), (lxw_col_t)(1 + 2 * t),
                                          v->value, f->fdec);
            if (tg->target >= 0)
                worksheet_write_number(ws, (lxw_row_t)(1 + u), (lxw_col_t)(2 + 2 * t),
                                       tg->target, f->fdec);
        }
    }
    if (nt == 0) worksheet_write_string(ws, 1, 0, b->whole, NULL);
    print_setup(ws, b, 0, 0);
    worksheet_hide(ws);
    return 0;
}

static void chart_font(lxw_chart_font *font, double size, int bold)
{
    memset(font, 0, sizeof *font);
    font->size = size;
    font->bold = (uint8_t)bold;
}

/* One chart per rate: the units' rates as bars, the target as a line. */
static int cover_charts(lxw_workbook *wb, lxw_worksheet *ws, const book_t *b, lxw_row_t at)
{
    size_t nt = kh_catalog_target_count(b->cat);
    lxw_row_t last = (lxw_row_t)(b->nu + 1);
    for (size_t t = 0; t < nt; t++) {
        const kh_target_t *tg = kh_catalog_target_at(b->cat, t);
        lxw_chart *bars = workbook_add_chart(wb, LXW_CHART_COLUMN);
        if (!bars) return -1;
        lxw_chart_series *s = chart_add_series(bars, NULL, NULL);
        chart_series_set_categories(s, CHART_SHEET, 1, 0, last, 0);
        chart_series_set_values(s, CHART_SHEET, 1, (lxw_col_t)(1 + 2 * t), last,
                                (lxw_col_t)(1 + 2 * t));
        chart_series_set_name(s, "Tỷ lệ (%)");
        char title[400], tname[64] = "Chỉ tiêu";
        if (tg->milestone) snprintf(tname, sizeof tname, "Chỉ tiêu %d", tg->milestone);
        if (tg->target >= 0) {
            char v[32];
            kh_fmt_num(tg->target, v, sizeof v);
            snprintf(title, sizeof title, "%s (%s: %s%%)", tg->name_vi, tname, v);
            /* the target: a second series over the bars (overlap 100), drawn as a red
             * outline without fill, so that its top edges make the target's line across
             * the chart (Debian's libxlsxwriter 1.1 has no combined bar-and-line chart) */
            lxw_chart_series *ts = chart_add_series(bars, NULL, NULL);
            chart_series_set_categories(ts, CHART_SHEET, 1, 0, last, 0);
            chart_series_set_values(ts, CHART_SHEET, 1, (lxw_col_t)(2 + 2 * t), last,
                                    (lxw_col_t)(2 + 2 * t));
            chart_series_set_name(ts, tname);
            lxw_chart_fill none = {.color = 0, .none = 1, .transparency = 0};
            lxw_chart_line red = {.color = LXW_COLOR_RED, .none = 0, .width = 2.25,
                                  .dash_type = 0, .transparency = 0};
            chart_series_set_fill(ts, &none);
            chart_series_set_line(ts, &red);
            chart_set_series_overlap(bars, 100);
            chart_set_series_gap(bars, 30);
        } else {
            snprintf(title, sizeof title, "%s", tg->name_vi);
        }
        chart_title_set_name(bars, title);
        lxw_chart_font tf, af;
        chart_font(&tf, 9, 1);
        chart_font(&af, 7, 0);
        chart_title_set_name_font(bars, &tf);
        chart_axis_set_num_font(bars->x_axis, &af);
        chart_axis_set_num_font(bars->y_axis, &af);
        chart_axis_set_name(bars->y_axis, "%");
        chart_axis_set_min(bars->y_axis, 0);
        chart_legend_set_position(bars, LXW_CHART_LEGEND_BOTTOM);
        chart_legend_set_font(bars, &af);
        lxw_chart_options opt = {0};
        opt.x_offset = (int32_t)((t % CHARTS_PER_ROW) * CHART_W);
        opt.y_offset = (int32_t)((t / CHARTS_PER_ROW) * CHART_H);
        opt.x_scale = (double)CHART_W / 480;    /* 480 × 288: libxlsxwriter's chart */
        opt.y_scale = (double)CHART_H / 288;
        if (worksheet_insert_chart_opt(ws, at, 0, bars, &opt) != LXW_NO_ERROR) return -1;
    }
    return 0;
}

static int cover_sheet(lxw_workbook *wb, const book_t *b, const fmts_t *f)
{
    lxw_worksheet *ws = workbook_add_worksheet(wb, "Trang bìa");
    if (!ws) return -1;
    worksheet_set_column(ws, 0, 8, 14.5, NULL);
    char buf[1200];
    const doc_t *d = &b->doc;
    /* the official header: agency on the left, the national motto on the right */
    worksheet_merge_range(ws, 0, 0, 0, 3, d->f[D_SUPERIOR], f->center_bold);
    worksheet_merge_range(ws, 0, 5, 0, 8, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", f->center_bold);
    worksheet_merge_range(ws, 1, 0, 1, 3, d->f[D_AGENCY][0] ? d->f[D_AGENCY] : b->root_name,
                          f->center_bold);
    worksheet_merge_range(ws, 1, 5, 1, 8, "Độc lập - Tự do - Hạnh phúc", f->center_bold);
    worksheet_merge_range(ws, 2, 0, 2, 3, b->number, f->center_italic);
    worksheet_merge_range(ws, 2, 5, 2, 8, b->dateline, f->center_italic);
    worksheet_merge_range(ws, 4, 0, 4, 8,
                          "BÁO CÁO TỔNG HỢP KHUYẾN HỌC, KHUYẾN TÀI, XÂY DỰNG XÃ HỘI HỌC TẬP",
                          f->title);
    worksheet_set_row(ws, 4, 22, NULL);
    snprintf(buf, sizeof buf, "%s — %s (%s)", b->root_name, b->label, b->pstr);
    worksheet_merge_range(ws, 5, 0, 5, 8, buf, f->center_bold);

    char reports[640] = "";
    size_t o = 0;
    for (size_t h = 0; h < b->nh && o < sizeof reports; h++) {
        int k = snprintf(reports + o, sizeof reports - o, "%s%s: %zu/%zu đã báo cáo, %zu đúng hạn",
                         h ? "; " : "", b->half[h].name, b->half[h].n_reported, b->half[h].nd,
                         b->half[h].n_on_time);
        if (k > 0) o += (size_t)k;
    }
    char lw[128];
    kh_catalog_level_word(b->cat, b->level, b->end, 0, lw, sizeof lw);
    char cols[512];
    snprintf(cols, sizeof cols, "%zu %s (cấp %d) và %s", b->nu, lw, b->level, b->whole);
    const char *labels[] = {"Đơn vị / Unit:", "Kỳ báo cáo / Period:", "Dữ liệu đến / Data as of:",
                            "Chương trình / Programme:", "Căn cứ / Legal basis:",
                            "Báo cáo đã nhận / Reports:", "Bảng tổng hợp / Summary:"};
    char period[160];
    snprintf(period, sizeof period, "%s (%s)", b->label, b->pstr);
    const char *asof = strstr(b->asof, "as of ");
    const char *values[] = {b->root_name, period, asof ? asof + strlen("as of ") : b->asof,
                            d->f[D_PROGRAMME][0] ? d->f[D_PROGRAMME]
                                                 : "(chưa có: thêm cột programme vào document.csv "
                                                   "/ none: add it to document.csv)",
                            d->f[D_BASIS][0] ? d->f[D_BASIS]
                                             : "(chưa có: thêm cột legal_basis vào document.csv "
                                               "/ none: add it to document.csv)",
                            reports, cols};
    lxw_row_t row = 7;
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++, row++) {
        worksheet_merge_range(ws, row, 0, row, 1, labels[i], f->label);
        worksheet_merge_range(ws, row, 2, row, 8, values[i], f->wrap);
        if (strlen(values[i]) > 110) worksheet_set_row(ws, row, 30, NULL);
    }
    if (b->partial[0]) {
        snprintf(buf, sizeof buf, "%s: %s — số liệu toàn %s chỉ gồm các đơn vị đã báo cáo.",
                 b->whole, b->partial, b->whole + strlen("Toàn "));
        worksheet_merge_range(ws, row, 0, row, 8, buf, f->partial);
        row++;
    }
    worksheet_merge_range(ws, row, 0, row, 8,
                          "Danh sách dài (kỳ, mã đơn vị, mã chỉ tiêu, giá trị) nằm ở các trang tính "
                          "ẩn: bấm chuột phải vào tên một trang tính > Hiện / the long list is on "
                          "hidden sheets: right-click a sheet tab > Show (Unhide).", f->note);
    row += 2;
    if (cover_charts(wb, ws, b, row) < 0) return -1;
    print_setup(ws, b, 1, -1);
    worksheet_activate(ws);
    worksheet_set_first_sheet(ws);
    return 0;
}

/* ---- the workbook -------------------------------------------------------------------------- */

/* Writes the workbook of b to `tmp`.  Returns 0, or -1 after printing why. */
static int write_book(const kh_catalog_t *cat, const book_t *b, const char *tmp,
                      const char *shown)
{
    lxw_workbook *wb = workbook_new(tmp);
    if (!wb) {
        book_err("không tạo được tệp / cannot create %s", shown);
        return -1;
    }
    fmts_t f;
    make_formats(wb, &f);
    int bad = cover_sheet(wb, b, &f) < 0 || summary_sheet(wb, b, &f) < 0 ||
              completeness_sheet(wb, b, &f) < 0;
    /* the long list, one (hidden) sheet per level, as the plain workbook export has it */
    bad = bad || kh_feed_xlsx_fill(wb, b->roll, b->level) < 0;
    bad = bad || chart_data_sheet(wb, b, &f) < 0;
    if (!bad) {
        /* the long-list sheets: after the three printed ones, before the charts' data */
        for (int l = 1; l <= kh_catalog_depth(cat); l++) {
            const char *title = kh_catalog_level_name(cat, l, b->end, 0);
            char name[LXW_MAX_SHEETNAME_LENGTH];
            kh_feed_sheet_name(title ? title : "", l, name, sizeof name);
            lxw_worksheet *ws = workbook_get_worksheet_by_name(wb, name);
            if (!ws) {
                snprintf(name, sizeof name, "Cấp %d", l);   /* kh_feed_xlsx_fill's fallback */
                ws = workbook_get_worksheet_by_name(wb, name);
            }
            if (ws) {
                print_setup(ws, b, 0, 0);
                worksheet_hide(ws);
            }
        }
        lxw_worksheet *cover = workbook_get_worksheet_by_name(wb, "Trang bìa");
        if (cover) worksheet_activate(cover);
    }
    lxw_error err = workbook_close(wb);
    if (bad || err != LXW_NO_ERROR) {
        if (err != LXW_NO_ERROR)
            book_err("không ghi được / cannot write %s: %s", shown, lxw_strerror(err));
        else
            book_err("không tạo được bảng tính / cannot build the workbook %s", shown);
        unlink(tmp);
        return -1;
    }
    return 0;
}

int kh_feed_book_xlsx(sqlite3 *mirror, const kh_catalog_t *cat, const char *period,
                      const kh_book_opts_t *opts, const char *path)
{
    book_t b;
    int rc = -1;
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        book_err("tên tệp quá dài / path too long: %s", path);
        return -1;
    }
    if (book_build(&b, mirror, cat, period, opts) < 0) goto out;
    if (write_book(cat, &b, tmp, path) < 0) goto out;
    if (rename(tmp, path) < 0) {
        book_err("không ghi được / cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    book_free(&b);
    return rc;
}

/* ---- the PDF: LibreOffice ------------------------------------------------------------------ */

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

/* Removes the folder `dir` and what LibreOffice left in it (its profile). */
static void remove_tree(const char *dir)
{
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs soffice to convert `xlsx` into PDF in `dir`, with its profile in dir/profile and
 * its output in dir/soffice.log.  Returns 0, or -1 after printing why. */
static int run_soffice(const char *soffice, const char *xlsx, const char *dir)
{
    char profile[PATH_MAX + 64], logp[PATH_MAX + 16];
    snprintf(profile, sizeof profile, "-env:UserInstallation=file://%s/profile", dir);
    snprintf(logp, sizeof logp, "%s/soffice.log", dir);
    char *argv[] = {(char *)soffice, profile, "--headless", "--norestore", "--nologo",
                    "--convert-to", "pdf", "--outdir", (char *)dir, (char *)xlsx, NULL};
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) return book_oom();
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int e = posix_spawnp(&pid, soffice, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e == ENOENT || e == EACCES) {
        book_err("không tìm thấy LibreOffice (\"%s\") để tạo PDF: cài gói libreoffice-calc "
                 "(sudo apt-get install libreoffice-calc, hoặc scripts/deps.sh), hoặc đặt "
                 "KH_SOFFICE là đường dẫn tới soffice; bảng tính XLSX vẫn xuất được bằng "
                 "--format xlsx / LibreOffice (\"%s\") is needed for the PDF and was not found: "
                 "install libreoffice-calc (sudo apt-get install libreoffice-calc, or "
                 "scripts/deps.sh) or set KH_SOFFICE to soffice's path; --format xlsx works "
                 "without it", soffice, soffice);
        return -1;
    }
    if (e != 0) {
        book_err("không chạy được / cannot run %s: %s", soffice, strerror(e));
        return -1;
    }
    int status = 0;
    int64_t deadline = kh_mono_ms() + (int64_t)KH_SOFFICE_WAIT_S * 1000;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) {
            book_err("không chờ được / cannot wait for %s: %s", soffice, strerror(errno));
            return -1;
        }
        if (kh_mono_ms() > deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
            book_err("LibreOffice không xong sau %d giây / did not finish within %d s (%s)",
                     KH_SOFFICE_WAIT_S, KH_SOFFICE_WAIT_S, logp);
            return -1;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        book_err("LibreOffice không chuyển được sang PDF / could not convert to PDF (exit %d); "
                 "xem / see %s", WIFEXITED(status) ? WEXITSTATUS(status) : -1, logp);
        return -1;
    }
    return 0;
}

int kh_feed_book_pdf(sqlite3 *mirror, const kh_catalog_t *cat, const char *period,
                     const kh_book_opts_t *opts, const char *path)
{
    const char *soffice = getenv("KH_SOFFICE");
    if (!soffice || !soffice[0]) soffice = "soffice";
    /* a private folder beside the output: the workbook, LibreOffice's profile, its PDF */
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s.d-XXXXXX", path) >= (int)sizeof dir) {
        book_err("tên tệp quá dài / path too long: %s", path);
        return -1;
    }
    if (!mkdtemp(dir)) {
        book_err("không tạo được thư mục tạm / cannot create a folder beside %s: %s", path,
                 strerror(errno));
        return -1;
    }
    char absdir[PATH_MAX];
    if (!realpath(dir, absdir)) {
        book_err("không đọc được / cannot resolve %s: %s", dir, strerror(errno));
        remove_tree(dir);
        return -1;
    }
    book_t b;
    int rc = -1;
    char xlsx[PATH_MAX + 32], pdf[PATH_MAX + 32];
    snprintf(xlsx, sizeof xlsx, "%s/report.xlsx", absdir);
    snprintf(pdf, sizeof pdf, "%s/report.pdf", absdir);
    if (book_build(&b, mirror, cat, period, opts) < 0) goto out;
    if (write_book(cat, &b, xlsx, path) < 0) goto out;
    if (run_soffice(soffice, xlsx, absdir) < 0) goto out;
    if (access(pdf, R_OK) != 0) {
        book_err("LibreOffice không tạo ra PDF / made no PDF; xem / see %s/soffice.log", absdir);
        goto out_keep;
    }
    if (rename(pdf, path) < 0) {
        book_err("không ghi được / cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    remove_tree(absdir);
out_keep:
    book_free(&b);
    return rc;
}
