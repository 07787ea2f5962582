/*
 * kh_report.c — report file codec; see kh_report.h.
 *
 * The file is fed to libcsv one physical line at a time so every record knows the
 * line it started on (a quoted field may span lines).  Memory is bounded by
 * KH_REPORT_MAX_BYTES, KH_REPORT_MAX_VALUES, KH_FIELD_MAX and KH_WIDE_MAX_COLS.
 *
 * The first record decides the form: the long header, or the wide header
 * (period,orgunit,orgunit_name,<codes>…), whose codes are kept to name the values of
 * the rows below.
 */
#include "kh_report.h"
#include "kh_value.h"
#include "kh_indicator.h"
#include "kh_period.h"
#include "kh_util.h"

#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistr.h>

static const char *const header[4] = {"period", "orgunit", "indicator", "value"};

typedef struct {
    Kh__Report *r;
    kh_findings_t *f;
    int errors;
    int oom;
    uint32_t line;          /* physical line being fed */
    uint32_t rec_line;      /* line the current record started on */
    int in_record;          /* a record has started and not ended yet */
    int nf;                 /* fields in the current record */
    char (*field)[KH_FIELD_MAX];   /* the first `keep` fields of the current record */
    size_t field_cap;       /* entries allocated in field */
    int decimal_comma;      /* a semicolon file: "1.893" is 1893, "12,5" 12.5 */
    int keep;               /* fields stored: all until the header is known, then 4 or
                               the wide header's count */
    int field_bad;          /* a field was too long */
    int seen_header;
    size_t cap;
    /* wide form */
    int wide;
    int ncols;              /* fields of the wide header */
    char **codes;           /* ncols - 3 indicator codes (trimmed; "" ignores a column) */
    uint32_t first_row_line;   /* first unit row, for "no values" */
} parse_t;

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_valid(const char *s, size_t n) { return u8_check((const uint8_t *)s, n) == NULL; }

static void syntax(parse_t *ps, uint32_t line, const char *vi, const char *en, const char *value)
{
    ps->errors++;
    if (kh_findings_add(ps->f, "CSV_SYNTAX", 1, line, NULL, NULL, value, vi, en) < 0 &&
        ps->f->n == 0)
        ps->oom = 1;
}

static int grow_fields(parse_t *ps)
{
    return kh_grow(&ps->field, (size_t)ps->nf, &ps->field_cap, sizeof *ps->field, 8,
                   KH_WIDE_MAX_COLS);
}

static void on_field(void *data, size_t len, void *arg)
{
    parse_t *ps = arg;
    if (ps->nf < ps->keep) {
        if ((size_t)ps->nf >= ps->field_cap && grow_fields(ps) < 0) {
            ps->oom = 1;
            ps->nf++;
            return;
        }
        if (len >= KH_FIELD_MAX) {
            ps->field_bad = 1;
            len = 0;
        }
        memcpy(ps->field[ps->nf], data, len);
        ps->field[ps->nf][len] = '\0';
    }
    ps->nf++;
}

static int add_value(parse_t *ps, const char *orgunit, const char *indicator, const char *raw)
{
    Kh__Report *r = ps->r;
    if (KH_GROW(r->values, r->n_values, ps->cap, 256) < 0)
        return -1;
    Kh__Value *v = malloc(sizeof *v);
    if (!v)
        return -1;
    kh__value__init(v);
    v->orgunit = strdup(orgunit);
    v->indicator = strdup(indicator);
    char plain[KH_FIELD_MAX];
    v->raw = strdup(ps->decimal_comma && kh_value_decimal_comma(raw, plain, sizeof plain)
                    ? plain : raw);
    v->line = ps->rec_line;
    r->values[r->n_values++] = v;
    if (!v->orgunit || !v->indicator || !v->raw)
        return -1;
    return 0;
}

/* 1 when cell is KH_WIDE_NAMES_FIRST, where a '?' may stand for any one character: what
 * a program writes for a letter its character set lacks (LibreOffice's default CSV is
 * Latin-1: "K? báo cáo"), so the names row is still known and skipped. */
static int names_first(const char *cell)
{
    const char *want = KH_WIDE_NAMES_FIRST;
    while (*cell && *want) {
        size_t n = kh_utf8_len(want, strlen(want), NULL);
        if (n == 0)
            return 0;
        if (*cell == '?') {
            cell++;
        } else {
            if (strncmp(cell, want, n) != 0)
                return 0;
            cell += n;
        }
        want += n;
    }
    return !*cell && !*want;
}

/* The period of a row: the first row's sets the report's, the others must equal it. */
static int check_period(parse_t *ps, const char *period)
{
    char msg_vi[160], msg_en[160];
    if (period[0] == '\0') {
        syntax(ps, ps->rec_line, "thiếu kỳ báo cáo (cột period)", "the period (column period) is empty",
               NULL);
        return -1;
    }
    if (ps->r->period[0] == '\0') {
        if (kh_report_set_str(&ps->r->period, period) < 0)
            ps->oom = 1;
    } else if (strcmp(ps->r->period, period) != 0) {
        snprintf(msg_vi, sizeof msg_vi, "kỳ báo cáo '%.20s' khác với kỳ '%.20s' ở các dòng trước",
                 period, ps->r->period);
        snprintf(msg_en, sizeof msg_en, "period '%.20s' differs from '%.20s' on earlier rows",
                 period, ps->r->period);
        syntax(ps, ps->rec_line, msg_vi, msg_en, period);
        return -1;
    }
    return 0;
}

/* A spreadsheet's column letters for the 0-based column i (0 → A, 26 → AA). */
static void col_name(int i, char *out, size_t cap)
{
    char tmp[8];
    int n = 0;
    for (i++; i > 0 && n < (int)sizeof tmp; i = (i - 1) / 26)
        tmp[n++] = (char)('A' + (i - 1) % 26);
    size_t k = 0;
    while (n > 0 && k + 1 < cap)
        out[k++] = tmp[--n];
    out[k] = '\0';
}

/* The first record: the long header, or the wide one (then its codes are kept). */
static void header_record(parse_t *ps, int nf)
{
    static const char *const wide_header[3] = {"period", "orgunit", "orgunit_name"};
    int n = nf < ps->keep ? nf : ps->keep;
    for (int i = 0; i < n; i++)
        kh_trim(ps->field[i]);
    int is_long = nf == 4, is_wide = nf >= 4;
    for (int i = 0; is_long && i < 4; i++)
        is_long = strcmp(ps->field[i], header[i]) == 0;
    for (int i = 0; is_wide && i < 3; i++)
        is_wide = strcmp(ps->field[i], wide_header[i]) == 0;
    ps->keep = 4;
    if (is_long)
        return;
    if (!is_wide) {
        syntax(ps, ps->rec_line,
               "dòng tiêu đề phải là: period,orgunit,indicator,value (hoặc, với mẫu báo cáo "
               "dạng bảng: period,orgunit,orgunit_name rồi các mã chỉ tiêu)",
               "the header must be: period,orgunit,indicator,value (or, in the template's wide "
               "form: period,orgunit,orgunit_name followed by indicator codes)", NULL);
        return;
    }
    char msg_vi[200], msg_en[200], col[8];
    if (nf > KH_WIDE_MAX_COLS) {
        snprintf(msg_vi, sizeof msg_vi, "dòng tiêu đề có %d cột, nhiều nhất là %d", nf,
                 KH_WIDE_MAX_COLS);
        snprintf(msg_en, sizeof msg_en, "the header has %d columns; at most %d are allowed", nf,
                 KH_WIDE_MAX_COLS);
        syntax(ps, ps->rec_line, msg_vi, msg_en, NULL);
        return;
    }
    ps->codes = calloc((size_t)(nf - 3), sizeof *ps->codes);
    if (!ps->codes) {
        ps->oom = 1;
        return;
    }
    ps->ncols = nf;
    ps->keep = nf;
    ps->wide = 1;
    for (int j = 3; j < nf; j++) {
        if (!(ps->codes[j - 3] = strdup(ps->field[j]))) {
            ps->oom = 1;
            return;
        }
        for (int k = 3; k < j && ps->field[j][0]; k++)
            if (strcmp(ps->field[k], ps->field[j]) == 0) {
                col_name(j, col, sizeof col);
                snprintf(msg_vi, sizeof msg_vi, "mã chỉ tiêu '%.64s' lặp lại ở cột %s",
                         ps->field[j], col);
                snprintf(msg_en, sizeof msg_en, "indicator code '%.64s' appears again in "
                         "column %s", ps->field[j], col);
                syntax(ps, ps->rec_line, msg_vi, msg_en, ps->field[j]);
                break;
            }
    }
}

/* A row of the wide form: one value per non-empty indicator cell. */
static void wide_record(parse_t *ps, int nf)
{
    char msg_vi[200], msg_en[200], col[8];
    int n = nf < ps->keep ? nf : ps->keep;
    for (int i = 0; i < n; i++)
        kh_trim(ps->field[i]);
    if (names_first(ps->field[0]))
        return;                                   /* the names row, for people */
    if (nf != ps->ncols) {
        snprintf(msg_vi, sizeof msg_vi, "dòng có %d cột, dòng tiêu đề có %d cột", nf, ps->ncols);
        snprintf(msg_en, sizeof msg_en, "the row has %d fields; the header has %d", nf,
                 ps->ncols);
        syntax(ps, ps->rec_line, msg_vi, msg_en, NULL);
        return;
    }
    int any = 0;
    for (int j = 3; j < nf && !any; j++)
        any = ps->field[j][0] != '\0';
    if (!any && ps->field[1][0] == '\0')
        return;                                   /* nothing but maybe a name or period */
    if (ps->field[1][0] == '\0') {
        syntax(ps, ps->rec_line, "dòng có số liệu nhưng thiếu mã đơn vị (cột orgunit)",
               "the row has values but no unit code (column orgunit)", NULL);
        return;
    }
    if (!ps->first_row_line)
        ps->first_row_line = ps->rec_line;
    if (check_period(ps, ps->field[0]) < 0)
        return;
    for (int j = 3; j < nf && !ps->oom; j++) {
        const char *cell = ps->field[j], *code = ps->codes[j - 3];
        if (!cell[0])
            continue;
        if (!code[0]) {
            col_name(j, col, sizeof col);
            snprintf(msg_vi, sizeof msg_vi, "ô %s%u có số liệu nhưng cột %s không có mã chỉ tiêu "
                     "ở dòng tiêu đề", col, ps->rec_line, col);
            snprintf(msg_en, sizeof msg_en, "cell %s%u has a value but column %s has no indicator "
                     "code in the header", col, ps->rec_line, col);
            syntax(ps, ps->rec_line, msg_vi, msg_en, cell);
            continue;
        }
        if (ps->r->n_values >= KH_REPORT_MAX_VALUES) {
            snprintf(msg_vi, sizeof msg_vi, "báo cáo có quá %d giá trị", KH_REPORT_MAX_VALUES);
            snprintf(msg_en, sizeof msg_en, "the report has more than %d values",
                     KH_REPORT_MAX_VALUES);
            syntax(ps, ps->rec_line, msg_vi, msg_en, NULL);
            ps->wide = 2;                         /* ignore the rest */
            return;
        }
        if (add_value(ps, ps->field[1], code,
                      strcmp(cell, KH_WIDE_NO_OPTION) == 0 ? "" : cell) < 0)
            ps->oom = 1;
    }
}

static void on_record(int term, void *arg)
{
    parse_t *ps = arg;
    (void)term;
    int nf = ps->nf;
    ps->nf = 0;
    ps->in_record = 0;
    if (ps->oom || ps->wide == 2)
        return;
    if (nf == 0 || (nf == 1 && ps->field[0][0] == '\0'))
        return;                                   /* blank line */
    char msg_vi[160], msg_en[160];
    if (ps->field_bad) {
        ps->field_bad = 0;
        snprintf(msg_vi, sizeof msg_vi, "ô dữ liệu dài quá %d byte", KH_FIELD_MAX - 1);
        snprintf(msg_en, sizeof msg_en, "a field is longer than %d bytes", KH_FIELD_MAX - 1);
        syntax(ps, ps->rec_line, msg_vi, msg_en, NULL);
        return;
    }
    if (!ps->seen_header) {
        ps->seen_header = 1;
        header_record(ps, nf);
        return;
    }
    if (ps->wide) {
        wide_record(ps, nf);
        return;
    }
    if (nf != 4) {
        snprintf(msg_vi, sizeof msg_vi, "dòng có %d cột, cần đúng 4 cột", nf);
        snprintf(msg_en, sizeof msg_en, "the row has %d fields; exactly 4 are required", nf);
        syntax(ps, ps->rec_line, msg_vi, msg_en, NULL);
        return;
    }
    for (int i = 0; i < 4; i++)
        kh_trim(ps->field[i]);
    if (ps->r->n_values >= KH_REPORT_MAX_VALUES) {
        if (ps->r->n_values == KH_REPORT_MAX_VALUES) {
            snprintf(msg_vi, sizeof msg_vi, "báo cáo có quá %d dòng", KH_REPORT_MAX_VALUES);
            snprintf(msg_en, sizeof msg_en, "the report has more than %d rows",
                     KH_REPORT_MAX_VALUES);
            syntax(ps, ps->rec_line, msg_vi, msg_en, NULL);
        }
        return;
    }
    if (check_period(ps, ps->field[0]) < 0)
        return;
    if (add_value(ps, ps->field[1], ps->field[2], ps->field[3]) < 0)
        ps->oom = 1;
}

int kh_report_set_str(char **field, const char *v)
{
    char *c = strdup(v);
    if (!c)
        return -1;
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = c;
    return 0;
}

int kh_report_parse_csv(const char *buf, size_t len, Kh__Report *r, kh_findings_t *f)
{
    parse_t ps = {.r = r, .f = f, .keep = KH_WIDE_MAX_COLS};
    if (len > KH_REPORT_MAX_BYTES) {
        syntax(&ps, 0, "tệp quá lớn", "the file is too large", NULL);
        return ps.errors;
    }
    if ((len >= 4 && memcmp(buf, "PK\x03\x04", 4) == 0) ||
        (len >= 8 && memcmp(buf, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) == 0)) {
        syntax(&ps, 1, "đây là tệp Excel, không phải CSV: hãy lưu bảng tính thành CSV UTF-8 "
               "(Tệp › Lưu thành › CSV UTF-8) rồi nộp tệp .csv",
               "this is an Excel workbook, not CSV: save the sheet as CSV UTF-8 "
               "(File › Save As › CSV UTF-8) and submit the .csv file", NULL);
        return ps.errors;
    }
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        buf += 3;
        len -= 3;
    }
    if (!utf8_valid(buf, len)) {
        /* find the line for the message */
        uint32_t line = 1;
        size_t i = 0, start = 0;
        for (; i < len; i++)
            if (buf[i] == '\n') {
                if (!utf8_valid(buf + start, i - start))
                    break;
                line++;
                start = i + 1;
            }
        syntax(&ps, line, "tệp không phải văn bản UTF-8 hợp lệ (hãy lưu lại với mã hóa UTF-8)",
               "the file is not valid UTF-8 text (save it again as UTF-8)", NULL);
        return ps.errors;
    }
    if (!r->period)
        r->period = (char *)protobuf_c_empty_string;
    struct csv_parser p;
    if (csv_init(&p, CSV_APPEND_NULL | CSV_STRICT | CSV_STRICT_FINI) != 0)
        return -1;
    csv_set_realloc_func(&p, realloc);
    /* A spreadsheet set to a locale whose decimal mark is the comma (Vietnamese, most
     * of Europe) saves "CSV" with semicolons: the header tells. */
    size_t first = 0;
    while (first < len && buf[first] && strchr(" \t\r\n", buf[first]))
        first++;
    unsigned char delim = len - first >= 7 && memcmp(buf + first, "period;", 7) == 0 ? ';' : ',';
    csv_set_delim(&p, delim);
    ps.decimal_comma = delim == ';';
    size_t pos = 0;
    ps.line = 0;
    /* lines end with LF (or CRLF); a file without any LF may come from old Mac
     * spreadsheets, whose lines end with CR alone */
    char eol = memchr(buf, '\n', len) || !memchr(buf, '\r', len) ? '\n' : '\r';
    while (pos < len && !ps.oom) {
        const char *nl = memchr(buf + pos, eol, len - pos);
        size_t n = nl ? (size_t)(nl - (buf + pos)) + 1 : len - pos;
        ps.line++;
        /* a record starts on the first line that is not blank after the previous
         * record ended (a quoted field may carry it over several lines) */
        int blank = 1;           /* libcsv emits no record for a line of only blanks */
        for (size_t i = 0; blank && i < n; i++)
            blank = buf[pos + i] != '\0' && strchr(" \t\r\n", buf[pos + i]) != NULL;
        if (!ps.in_record && !blank) {
            ps.rec_line = ps.line;
            ps.in_record = 1;
        }
        if (csv_parse(&p, buf + pos, n, on_field, on_record, &ps) != n) {
            /* report it, drop the broken record and go on from the next line, so
             * every problem of the file is found, not only the first */
            char en[160];
            snprintf(en, sizeof en, "CSV syntax error: %s", csv_strerror(csv_error(&p)));
            syntax(&ps, ps.line, "lỗi cú pháp CSV (dấu ngoặc kép đặt sai chỗ?)", en, NULL);
            csv_free(&p);
            if (csv_init(&p, CSV_APPEND_NULL | CSV_STRICT | CSV_STRICT_FINI) != 0) {
                ps.oom = 1;
                break;
            }
            csv_set_realloc_func(&p, realloc);
            csv_set_delim(&p, delim);
            ps.nf = 0;
            ps.in_record = 0;
            ps.field_bad = 0;
            if (ps.errors >= 200)
                break;
        }
        pos += n;
    }
    if (!ps.oom && csv_fini(&p, on_field, on_record, &ps) != 0)
        syntax(&ps, ps.line, "dấu ngoặc kép chưa được đóng", "unterminated quoted field", NULL);
    csv_free(&p);
    free(ps.field);
    if (ps.codes)
        for (int j = 0; j < ps.ncols - 3; j++)
            free(ps.codes[j]);
    free(ps.codes);
    if (ps.oom)
        return -1;
    if (!ps.seen_header)
        syntax(&ps, 1, "tệp rỗng", "the file is empty", NULL);
    else if (r->n_values == 0 && ps.errors == 0 && ps.wide)
        syntax(&ps, ps.first_row_line ? ps.first_row_line : 2,
               "mẫu báo cáo chưa có số liệu nào: mọi ô chỉ tiêu đều trống",
               "the template has no values: every indicator cell is empty", NULL);
    else if (r->n_values == 0 && ps.errors == 0)
        syntax(&ps, 2, "báo cáo không có dòng số liệu nào", "the report has no data rows", NULL);
    return ps.errors;
}

void kh_report_clear(Kh__Report *r)
{
    for (size_t i = 0; i < r->n_values; i++) {
        Kh__Value *v = r->values[i];
        free(v->orgunit);
        free(v->indicator);
        free(v->raw);
        free(v);
    }
    free(r->values);
    r->values = NULL;
    r->n_values = 0;
    char **strs[] = {&r->period, &r->report_id, &r->district, &r->source_name};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if (*strs[i] && *strs[i] != protobuf_c_empty_string)
            free(*strs[i]);
        *strs[i] = (char *)protobuf_c_empty_string;
    }
}

void kh_csv_field(FILE *f, const char *s)
{
    size_t n = strlen(s);
    if (strpbrk(s, ",\"\r\n") || (n && (s[0] == ' ' || s[n - 1] == ' '))) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
}

int kh_report_write_csv(const Kh__Report *r, FILE *f)
{
    fputs("period,orgunit,indicator,value\n", f);
    for (size_t i = 0; i < r->n_values; i++) {
        kh_csv_field(f, r->period);
        fputc(',', f);
        kh_csv_field(f, r->values[i]->orgunit);
        fputc(',', f);
        kh_csv_field(f, r->values[i]->indicator);
        fputc(',', f);
        kh_csv_field(f, r->values[i]->raw);
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

/* ---- the form of a report from outside ------------------------------------------------ */

int kh_text_ok(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return u8_check((const uint8_t *)s, n) == NULL;
}

static int form_fail(kh_form_error_t *e, const char *code, const char *field, long index)
{
    e->code = code;
    if (index >= 0)
        snprintf(e->field, sizeof e->field, "values[%ld].%s", index, field);
    else
        snprintf(e->field, sizeof e->field, "%s", field);
    return -1;
}

/* One string field: text, and shorter than max bytes. */
static int form_str(const char *s, size_t max, const char *field, long index,
                    kh_form_error_t *e)
{
    if (!kh_text_ok(s))
        return form_fail(e, "NOT_UTF8", field, index);
    if (strlen(s) >= max)
        return form_fail(e, "TOO_LARGE", field, index);
    return 0;
}

int kh_report_form(const Kh__Report *r, size_t max_values, kh_form_error_t *e)
{
    kh_period_t p;
    if (form_str(r->report_id, 65, "report_id", -1, e) < 0 ||
        form_str(r->district, KH_CODE_MAX, "district", -1, e) < 0 ||
        form_str(r->period, 17, "period", -1, e) < 0 ||
        form_str(r->signer, 65, "signer", -1, e) < 0 ||
        form_str(r->source_name, 256, "source_name", -1, e) < 0)
        return -1;
    if (kh_period_parse(r->period, &p) < 0)
        return form_fail(e, "PERIOD_MALFORMED", "period", -1);
    if (r->n_values > max_values)
        return form_fail(e, "TOO_LARGE", "values", -1);
    for (size_t i = 0; i < r->n_values; i++) {
        const Kh__Value *v = r->values[i];
        if (form_str(v->orgunit, KH_CODE_MAX, "orgunit", (long)i, e) < 0 ||
            form_str(v->indicator, KH_CODE_MAX, "indicator", (long)i, e) < 0 ||
            form_str(v->raw, KH_FIELD_MAX, "raw", (long)i, e) < 0)
            return -1;
    }
    return 0;
}

int kh_report_id(char *out, size_t cap, const char *unit, const char *period)
{
    int n = snprintf(out, cap, "%s-%s", unit, period);
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            out[0] = '\0';
        return -1;
    }
    return 0;
}
