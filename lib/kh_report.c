/*
 * kh_report.c — report file codec; see kh_report.h.
 *
 * The file is fed to libcsv one physical line at a time so every record knows the
 * line it started on (a quoted field may span lines).  Memory is bounded by
 * KH_REPORT_MAX_BYTES, KH_REPORT_MAX_VALUES and KH_FIELD_MAX.
 */
#include "kh_report.h"

#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char field[4][KH_FIELD_MAX];
    int field_bad;          /* a field was too long */
    int seen_header;
    size_t cap;
} parse_t;

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    while (p < e) {
        unsigned c = *p;
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || p + len > e)
            return 0;
        for (int i = 1; i < len; i++)
            if ((p[i] & 0xC0) != 0x80)
                return 0;
        if ((len == 2 && c < 0xC2) ||                       /* overlong 2-byte */
            (len == 3 && c == 0xE0 && p[1] < 0xA0) ||       /* overlong 3-byte */
            (len == 3 && c == 0xED && p[1] >= 0xA0) ||      /* UTF-16 surrogates */
            (len == 4 && c == 0xF0 && p[1] < 0x90) ||       /* overlong 4-byte */
            (len == 4 && (c > 0xF4 || (c == 0xF4 && p[1] >= 0x90))))  /* > U+10FFFF */
            return 0;
        p += len;
    }
    return 1;
}

static void syntax(parse_t *ps, uint32_t line, const char *vi, const char *en, const char *value)
{
    ps->errors++;
    if (kh_findings_add(ps->f, "CSV_SYNTAX", 1, line, NULL, NULL, value, vi, en) < 0 &&
        ps->f->n == 0)
        ps->oom = 1;
}

static void on_field(void *data, size_t len, void *arg)
{
    parse_t *ps = arg;
    if (ps->nf < 4) {
        if (len >= KH_FIELD_MAX) {
            ps->field_bad = 1;
            len = 0;
        }
        memcpy(ps->field[ps->nf], data, len);
        ps->field[ps->nf][len] = '\0';
    }
    ps->nf++;
}

static int add_value(parse_t *ps)
{
    Kh__Report *r = ps->r;
    if (r->n_values == ps->cap) {
        size_t nc = ps->cap ? ps->cap * 2 : 256;
        Kh__Value **nv = realloc(r->values, nc * sizeof *nv);
        if (!nv)
            return -1;
        r->values = nv;
        ps->cap = nc;
    }
    Kh__Value *v = malloc(sizeof *v);
    if (!v)
        return -1;
    kh__value__init(v);
    v->orgunit = strdup(ps->field[1]);
    v->indicator = strdup(ps->field[2]);
    v->raw = strdup(ps->field[3]);
    v->line = ps->rec_line;
    r->values[r->n_values++] = v;
    if (!v->orgunit || !v->indicator || !v->raw)
        return -1;
    return 0;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    size_t i = 0;
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
}

static void on_record(int term, void *arg)
{
    parse_t *ps = arg;
    (void)term;
    int nf = ps->nf;
    ps->nf = 0;
    ps->in_record = 0;
    if (nf == 1 && ps->field[0][0] == '\0')
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
        int ok = nf == 4;
        for (int i = 0; ok && i < 4; i++) {
            trim(ps->field[i]);
            ok = strcmp(ps->field[i], header[i]) == 0;
        }
        if (!ok)
            syntax(ps, ps->rec_line,
                   "dòng tiêu đề phải là: period,orgunit,indicator,value",
                   "the header must be: period,orgunit,indicator,value", NULL);
        return;
    }
    if (nf != 4) {
        snprintf(msg_vi, sizeof msg_vi, "dòng có %d cột, cần đúng 4 cột", nf);
        snprintf(msg_en, sizeof msg_en, "the row has %d fields; exactly 4 are required", nf);
        syntax(ps, ps->rec_line, msg_vi, msg_en, NULL);
        return;
    }
    for (int i = 0; i < 4; i++)
        trim(ps->field[i]);
    if (ps->r->n_values >= KH_REPORT_MAX_VALUES) {
        if (ps->r->n_values == KH_REPORT_MAX_VALUES) {
            snprintf(msg_vi, sizeof msg_vi, "báo cáo có quá %d dòng", KH_REPORT_MAX_VALUES);
            snprintf(msg_en, sizeof msg_en, "the report has more than %d rows",
                     KH_REPORT_MAX_VALUES);
            syntax(ps, ps->rec_line, msg_vi, msg_en, NULL);
        }
        return;
    }
    if (ps->r->period[0] == '\0') {
        if (kh_report_set_str(&ps->r->period, ps->field[0]) < 0)
            ps->oom = 1;
    } else if (strcmp(ps->r->period, ps->field[0]) != 0) {
        snprintf(msg_vi, sizeof msg_vi, "kỳ báo cáo '%.20s' khác với kỳ '%.20s' ở các dòng trước",
                 ps->field[0], ps->r->period);
        snprintf(msg_en, sizeof msg_en, "period '%.20s' differs from '%.20s' on earlier rows",
                 ps->field[0], ps->r->period);
        syntax(ps, ps->rec_line, msg_vi, msg_en, ps->field[0]);
        return;
    }
    if (add_value(ps) < 0)
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
    parse_t ps = {.r = r, .f = f};
    if (len > KH_REPORT_MAX_BYTES) {
        syntax(&ps, 0, "tệp quá lớn", "the file is too large", NULL);
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
    size_t pos = 0;
    ps.line = 0;
    while (pos < len && !ps.oom) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (buf + pos)) + 1 : len - pos;
        ps.line++;
        /* a record starts on the first line that is not blank after the previous
         * record ended (a quoted field may carry it over several lines) */
        int blank = 1;           /* libcsv emits no record for a line of only blanks */
        for (size_t i = 0; blank && i < n; i++)
            blank = strchr(" \t\r\n", buf[pos + i]) != NULL;
        if (!ps.in_record && !blank) {
            ps.rec_line = ps.line;
            ps.in_record = 1;
        }
        if (csv_parse(&p, buf + pos, n, on_field, on_record, &ps) != n) {
            syntax(&ps, ps.line, "lỗi cú pháp CSV", csv_strerror(csv_error(&p)), NULL);
            break;
        }
        pos += n;
    }
    if (!ps.oom && csv_fini(&p, on_field, on_record, &ps) != 0)
        syntax(&ps, ps.line, "dấu ngoặc kép chưa được đóng", "unterminated quoted field", NULL);
    csv_free(&p);
    if (ps.oom)
        return -1;
    if (!ps.seen_header)
        syntax(&ps, 1, "tệp rỗng", "the file is empty", NULL);
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

static void csv_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n")) {
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
        csv_field(f, r->period);
        fputc(',', f);
        csv_field(f, r->values[i]->orgunit);
        fputc(',', f);
        csv_field(f, r->values[i]->indicator);
        fputc(',', f);
        csv_field(f, r->values[i]->raw);
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}
