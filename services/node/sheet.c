/*
 * sheet.c — a report file as the officer keeps it, to the UTF-8 CSV kh_report reads; see
 * sheet.h.  The zip is libzip's, the XML libxml2's (xmlReader, no network, no entity
 * substitution), the conversions glibc's iconv and libunistring's normalisation: this
 * file only walks what they hand back.  Every buffer the file can grow has a bound
 * (sheet.h); a file that breaks one is refused with a finding, never read in part.
 */
#include "sheet.h"

#include <errno.h>
#include <iconv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlreader.h>
#include <uninorm.h>
#include <unistr.h>
#include <zip.h>

#include "kh_report.h"
#include "kh_util.h"

/* ---- findings ---- */

static int refuse(kh_findings_t *f, const char *code, uint32_t line, const char *vi,
                  const char *en)
{
    return kh_findings_add(f, code, 1, line, "", "", "", vi, en) < 0 && f->n == 0 ? -1 : 1;
}

static int refuse_xls(kh_findings_t *f)
{
    return refuse(f, "OLD_EXCEL", 0,
                  "Đây là tệp Excel cũ (.xls) mà nút không đọc được. Hãy mở tệp rồi lưu lại "
                  "thành Sổ làm việc Excel (.xlsx) — Excel: Tệp ▸ Lưu thành; LibreOffice Calc: "
                  "Tệp ▸ Lưu thành…, kiểu Excel 2007-365 (.xlsx) — hoặc thành CSV UTF-8, rồi "
                  "nộp lại.",
                  "This is an old Excel file (.xls), which the node cannot read. Open it and "
                  "save it as an Excel Workbook (.xlsx) — Excel: File ▸ Save As; LibreOffice "
                  "Calc: File ▸ Save As…, type Excel 2007-365 (.xlsx) — or as CSV UTF-8, and "
                  "submit it again.");
}

static int refuse_zip(kh_findings_t *f, const char *what_en)
{
    char vi[512], en[512];
    snprintf(vi, sizeof vi, "Tệp có dạng .xlsx nhưng không đọc được như một sổ làm việc "
             "(tệp bị hỏng, bị cắt ngắn hoặc không phải của Excel/LibreOffice). Hãy mở tệp "
             "bằng Excel hoặc LibreOffice Calc, lưu lại thành .xlsx hoặc CSV UTF-8 rồi nộp lại.");
    snprintf(en, sizeof en, "The file looks like an .xlsx but cannot be read as a workbook "
             "(%s). Open it in Excel or LibreOffice Calc, save it again as .xlsx or CSV UTF-8 "
             "and submit it again.", what_en);
    return refuse(f, "XLSX_UNREADABLE", 0, vi, en);
}

static int refuse_big(kh_findings_t *f, const char *what_vi, const char *what_en)
{
    char vi[512], en[512];
    snprintf(vi, sizeof vi, "Sổ làm việc quá lớn (%s) nên nút không đọc nó. Hãy kiểm tra "
             "đây đúng là mẫu báo cáo của đơn vị, xoá các trang, dòng hoặc cột thừa rồi nộp lại.",
             what_vi);
    snprintf(en, sizeof en, "The workbook is too large (%s), so the node does not read it. "
             "Check that it is the unit's report template, remove extra sheets, rows or "
             "columns and submit it again.", what_en);
    return refuse(f, "XLSX_TOO_LARGE", 0, vi, en);
}

/* ---- CSV in other encodings ---- */

/* Converts in (inlen bytes, encoding `from`) to UTF-8 composed to NFC.  Returns 0 (*out
 * malloc'd, NUL-terminated), 1 when in is not text in that encoding, -1 out of memory. */
static int to_utf8_nfc(const char *from, const char *in, size_t inlen, char **out,
                       size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    iconv_t cd = iconv_open("UTF-8", from);
    if (cd == (iconv_t)-1)
        return 1;                   /* this libc has no such converter */
    size_t cap = inlen * 3 + 16;    /* a byte or a UTF-16 unit: at most 3 UTF-8 bytes */
    char *buf = malloc(cap);
    if (!buf) {
        iconv_close(cd);
        return -1;
    }
    char *ip = (char *)in, *op = buf;
    size_t il = inlen, ol = cap - 1;
    size_t rc = iconv(cd, &ip, &il, &op, &ol);
    if (rc != (size_t)-1)
        rc = iconv(cd, NULL, NULL, &op, &ol);      /* flush a combining state */
    iconv_close(cd);
    if (rc == (size_t)-1) {
        free(buf);
        return errno == ENOMEM ? -1 : 1;
    }
    size_t n = (size_t)(op - buf);
    size_t nn = 0;
    uint8_t *nfc = u8_normalize(UNINORM_NFC, (const uint8_t *)buf, n, NULL, &nn);
    free(buf);
    if (!nfc)
        return errno == ENOMEM ? -1 : 1;
    char *z = realloc(nfc, nn + 1);
    if (!z) {
        free(nfc);
        return -1;
    }
    z[nn] = '\0';
    *out = z;
    *outlen = nn;
    return 0;
}

/* UTF-16 without a BOM: in a CSV file of digits, commas and codes, most characters are
 * ASCII, so one byte of each pair is NUL — the high one.  Returns 'L', 'B' or 0. */
static int utf16_guess(const char *buf, size_t len)
{
    size_t n = len < 4096 ? len : 4096;
    n &= ~(size_t)1;
    if (n < 4)
        return 0;
    size_t z_even = 0, z_odd = 0;
    for (size_t i = 0; i < n; i += 2) {
        z_even += buf[i] == '\0';
        z_odd += buf[i + 1] == '\0';
    }
    size_t pairs = n / 2;
    if (z_odd * 10 >= pairs * 3 && z_even * 50 < pairs)
        return 'L';
    if (z_even * 10 >= pairs * 3 && z_odd * 50 < pairs)
        return 'B';
    return 0;
}

static int decode_text(const char *buf, size_t len, char **out, size_t *outlen,
                       char encoding[NODE_ENCODING_MAX], kh_findings_t *f)
{
    const char *from = NULL, *name = NULL;
    size_t skip = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        kh_strlcpy(encoding, "UTF-8 BOM", NODE_ENCODING_MAX);
        if (u8_check((const uint8_t *)buf + 3, len - 3) != NULL)
            return 0;               /* kh_report says which line is not UTF-8 */
        char *c = malloc(len - 3 + 1);
        if (!c)
            return -1;
        memcpy(c, buf + 3, len - 3);
        c[len - 3] = '\0';
        *out = c;
        *outlen = len - 3;
        return 0;
    }
    if (len >= 2 && memcmp(buf, "\xFF\xFE", 2) == 0) {
        from = "UTF-16LE", name = "UTF-16LE", skip = 2;
    } else if (len >= 2 && memcmp(buf, "\xFE\xFF", 2) == 0) {
        from = "UTF-16BE", name = "UTF-16BE", skip = 2;
    } else {
        int g = utf16_guess(buf, len);
        if (g)
            from = name = g == 'L' ? "UTF-16LE" : "UTF-16BE";
    }
    if (!from && u8_check((const uint8_t *)buf, len) == NULL) {
        kh_strlcpy(encoding, "UTF-8", NODE_ENCODING_MAX);
        return 0;                   /* read as it is */
    }
    if (!from)
        from = "WINDOWS-1258", name = "Windows-1258";
    kh_strlcpy(encoding, name, NODE_ENCODING_MAX);
    int rc = to_utf8_nfc(from, buf + skip, len - skip, out, outlen);
    if (rc <= 0)
        return rc;
    char vi[512], en[512];
    snprintf(vi, sizeof vi, "Nút không đọc được tệp như văn bản %s (UTF-8, UTF-16 hay "
             "Windows-1258). Hãy mở tệp bằng bảng tính và lưu lại thành CSV UTF-8 (Excel: "
             "Tệp ▸ Lưu thành ▸ CSV UTF-8; LibreOffice Calc: Tệp ▸ Lưu thành…, Văn bản CSV, "
             "Bộ ký tự Unicode (UTF-8)) hoặc .xlsx rồi nộp lại.", name);
    snprintf(en, sizeof en, "The node cannot read the file as %s text (UTF-8, UTF-16 or "
             "Windows-1258). Open it in a spreadsheet and save it again as CSV UTF-8 (Excel: "
             "File ▸ Save As ▸ CSV UTF-8; LibreOffice Calc: File ▸ Save As…, Text CSV, "
             "Character set Unicode (UTF-8)) or as .xlsx and submit it again.", name);
    return refuse(f, "NOT_TEXT", 0, vi, en);
}

/* ---- XLSX ---- */

typedef struct {
    uint32_t row, col;          /* 1-based */
    char *text;
} cell_t;

typedef struct {
    zip_t *za;
    kh_findings_t *f;
    char **sst;                 /* shared strings */
    size_t n_sst, cap_sst;
    cell_t *cells;              /* non-empty cells of the sheet */
    size_t n_cells, cap_cells;
    uint32_t max_row, max_col;
} xl_t;

typedef enum { PART_OK, PART_MISSING, PART_TOO_LARGE, PART_BROKEN, PART_OOM } part_t;

/* Reads one part of the zip, bounded by NODE_SHEET_PART_MAX both as declared and as
 * read (a part that says less than it holds is a broken part). */
static part_t read_part(zip_t *za, const char *name, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(za, name, 0, &st) < 0)
        return PART_MISSING;
    if (!(st.valid & ZIP_STAT_SIZE))
        return PART_BROKEN;
    if (st.size > NODE_SHEET_PART_MAX)
        return PART_TOO_LARGE;
    zip_file_t *zf = zip_fopen(za, name, 0);
    if (!zf)
        return PART_BROKEN;
    char *d = malloc((size_t)st.size + 1);
    if (!d) {
        zip_fclose(zf);
        return PART_OOM;
    }
    size_t got = 0;
    part_t rc = PART_OK;
    while (got < st.size) {
        zip_int64_t n = zip_fread(zf, d + got, st.size - got);
        if (n <= 0) {
            rc = PART_BROKEN;
            break;
        }
        got += (size_t)n;
    }
    char extra;
    if (rc == PART_OK && zip_fread(zf, &extra, 1) != 0)
        rc = PART_BROKEN;           /* more than declared, or a CRC error at the end */
    zip_fclose(zf);
    if (rc != PART_OK) {
        free(d);
        return rc;
    }
    d[got] = '\0';
    *data = d;
    *len = got;
    return PART_OK;
}

/* read_part with its outcome told: 0 (*data read; NULL when the part is missing and
 * missing_ok), 1 refused (a finding names the part), -1 out of memory. */
static int load_part(xl_t *x, const char *name, int missing_ok, char **data, size_t *len)
{
    char why[600];
    switch (read_part(x->za, name, data, len)) {
    case PART_OK:
        return 0;
    case PART_OOM:
        return -1;
    case PART_TOO_LARGE:
        snprintf(why, sizeof why, "phần %s", name);
        return refuse_big(x->f, why, why + strlen("phần "));
    case PART_MISSING:
        if (missing_ok)
            return 0;
        break;
    case PART_BROKEN:
        break;
    }
    snprintf(why, sizeof why, "%s is missing or damaged", name);
    return refuse_zip(x->f, why);
}

static xmlTextReaderPtr xml_reader(const char *data, size_t len)
{
    /* no network, no DTD loading, no entity substitution; errors are ours to report */
    return xmlReaderForMemory(data, (int)len, NULL, NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static int is_elem(xmlTextReaderPtr r, const char *name)
{
    return xmlTextReaderNodeType(r) == XML_READER_TYPE_ELEMENT &&
           strcmp((const char *)xmlTextReaderConstLocalName(r), name) == 0;
}

/* Collects the text inside the current element: of its <t> elements (<si>, <is>),
 * leaving out phonetic runs (<rPh>), or all of it when `plain` (<v>); the reader is left
 * on the element's end.  A line break becomes a space (a CSV line is a sheet row).
 * Returns 0 (*out malloc'd), 1 when the XML is broken or the text longer than
 * NODE_SHEET_CELL_MAX, -1 out of memory. */
static int collect_text(xmlTextReaderPtr r, int plain, char **out)
{
    *out = NULL;
    size_t len = 0, cap = 64;
    char *t = malloc(cap);
    if (!t)
        return -1;
    int rc = 1;
    if (!xmlTextReaderIsEmptyElement(r)) {
        int depth = xmlTextReaderDepth(r);
        int in_t = plain, in_rph = 0;
        while ((rc = xmlTextReaderRead(r)) == 1) {
            int type = xmlTextReaderNodeType(r);
            const char *ln = (const char *)xmlTextReaderConstLocalName(r);
            if (type == XML_READER_TYPE_END_ELEMENT && xmlTextReaderDepth(r) == depth)
                break;
            if (type == XML_READER_TYPE_ELEMENT && !xmlTextReaderIsEmptyElement(r)) {
                if (strcmp(ln, "t") == 0)
                    in_t = 1;
                else if (strcmp(ln, "rPh") == 0)
                    in_rph = 1;
            } else if (type == XML_READER_TYPE_END_ELEMENT) {
                if (strcmp(ln, "t") == 0)
                    in_t = plain;
                else if (strcmp(ln, "rPh") == 0)
                    in_rph = 0;
            } else if (in_t && !in_rph &&
                       (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
                        type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE ||
                        type == XML_READER_TYPE_WHITESPACE)) {
                const char *v = (const char *)xmlTextReaderConstValue(r);
                size_t n = v ? strlen(v) : 0;
                if (len + n > NODE_SHEET_CELL_MAX) {
                    free(t);
                    return 1;
                }
                if (len + n + 1 > cap) {
                    size_t nc = (len + n + 1) * 2;
                    char *g = realloc(t, nc);
                    if (!g) {
                        free(t);
                        return -1;
                    }
                    t = g;
                    cap = nc;
                }
                memcpy(t + len, v, n);
                len += n;
            }
        }
        if (rc != 1) {
            free(t);
            return 1;
        }
    }
    t[len] = '\0';
    for (char *p = t; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    *out = t;
    return 0;
}

/* The shared strings (a workbook of numbers only may have none).  Returns 0, 1 refused
 * (finding added), -1 out of memory. */
static int read_sst(xl_t *x)
{
    char *data;
    size_t len;
    int got = load_part(x, "xl/sharedStrings.xml", 1, &data, &len);
    if (got != 0 || !data)
        return got;
    xmlTextReaderPtr r = xml_reader(data, len);
    int rc = r ? 0 : -1;
    while (rc == 0 && (got = xmlTextReaderRead(r)) == 1) {
        if (!is_elem(r, "si"))
            continue;
        if (x->n_sst >= NODE_SHEET_MAX_STRINGS) {
            rc = refuse_big(x->f, "quá nhiều chuỗi", "too many strings");
            break;
        }
        char *s;
        int c = collect_text(r, 0, &s);
        if (c != 0) {
            rc = c < 0 ? -1 : refuse_zip(x->f, "xl/sharedStrings.xml is not valid XML");
            break;
        }
        if (KH_GROW(x->sst, x->n_sst, x->cap_sst, 256) < 0) {
            free(s);
            rc = -1;
            break;
        }
        x->sst[x->n_sst++] = s;
    }
    if (rc == 0 && got != 0)
        rc = refuse_zip(x->f, "xl/sharedStrings.xml is not valid XML");
    xmlFreeTextReader(r);
    free(data);
    return rc;
}

/* The path in the zip of the sheet to read: NODE_SHEET_NAME's, else the first sheet's.
 * Returns 0, 1 refused, -1 out of memory. */
static int find_sheet(xl_t *x, char *path, size_t cap)
{
    /* r:id's namespace: transitional (what Excel and LibreOffice write), or strict */
    static const char *const rel_ns[] = {
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "http://purl.oclc.org/ooxml/officeDocument/relationships"};
    char *data;
    size_t len;
    int got = load_part(x, "xl/workbook.xml", 0, &data, &len);
    if (got != 0)
        return got;
    char rid[256] = "";
    int found = 0;
    xmlTextReaderPtr r = xml_reader(data, len);
    if (!r) {
        free(data);
        return -1;
    }
    while (!found && xmlTextReaderRead(r) == 1) {
        if (!is_elem(r, "sheet"))
            continue;
        xmlChar *name = xmlTextReaderGetAttribute(r, (const xmlChar *)"name");
        xmlChar *id = NULL;
        for (int k = 0; k < 2 && !id; k++)
            id = xmlTextReaderGetAttributeNs(r, (const xmlChar *)"id",
                                             (const xmlChar *)rel_ns[k]);
        int ours = name && strcmp((const char *)name, NODE_SHEET_NAME) == 0;
        if (id && (ours || !rid[0]))
            kh_strlcpy(rid, (const char *)id, sizeof rid);
        found = ours && id;
        xmlFree(name);
        xmlFree(id);
    }
    xmlFreeTextReader(r);
    free(data);
    if (!rid[0])
        return refuse_zip(x->f, "xl/workbook.xml names no sheet");
    got = load_part(x, "xl/_rels/workbook.xml.rels", 0, &data, &len);
    if (got != 0)
        return got;
    r = xml_reader(data, len);
    if (!r) {
        free(data);
        return -1;
    }
    path[0] = '\0';
    while (!path[0] && xmlTextReaderRead(r) == 1) {
        if (!is_elem(r, "Relationship"))
            continue;
        xmlChar *id = xmlTextReaderGetAttribute(r, (const xmlChar *)"Id");
        xmlChar *target = xmlTextReaderGetAttribute(r, (const xmlChar *)"Target");
        if (id && target && strcmp((const char *)id, rid) == 0) {
            const char *t = (const char *)target;
            /* relative to xl/, or absolute in the package */
            if (t[0] == '/')
                snprintf(path, cap, "%s", t + 1);
            else
                snprintf(path, cap, "xl/%s", t);
        }
        xmlFree(id);
        xmlFree(target);
    }
    xmlFreeTextReader(r);
    free(data);
    if (!path[0])
        return refuse_zip(x->f, "the sheet's relationship is missing");
    return 0;
}

/* "C5" → column 3, row 5.  Returns 0, or -1 when ref is not a cell reference within the
 * bounds. */
static int parse_ref(const char *ref, uint32_t *col, uint32_t *row)
{
    uint32_t c = 0, r = 0;
    const char *p = ref;
    for (; *p >= 'A' && *p <= 'Z'; p++) {
        c = c * 26 + (uint32_t)(*p - 'A' + 1);
        if (c > 16384)
            return -1;
    }
    if (p == ref)
        return -1;
    const char *digits = p;
    for (; *p >= '0' && *p <= '9'; p++) {
        r = r * 10 + (uint32_t)(*p - '0');
        if (r > 1048576)
            return -1;
    }
    if (p == digits || *p || r == 0)
        return -1;
    *col = c;
    *row = r;
    return 0;
}

/* A number as a spreadsheet shows it: to Excel's 15 significant digits (a sum stored as
 * 1893.0000000000002 is 1893, 0.30000000000000004 is 0.3), then as the shortest text
 * that reads back to that double.  Never an exponent for a whole number below 1e15
 * (kh_value reads no exponent). */
static void number_text(const char *v, char *out, size_t cap)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end || errno == ERANGE || !isfinite(d)) {
        snprintf(out, cap, "%s", v);           /* not a number: as it is (a finding later) */
        return;
    }
    char shown[32];
    snprintf(shown, sizeof shown, "%.15g", d);
    d = strtod(shown, NULL);
    if (d == floor(d) && fabs(d) < 1e15) {
        snprintf(out, cap, "%.0f", d == 0 ? 0.0 : d);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    /* a fraction below 1e-4 would be written with an exponent: write it plainly */
    if (strchr(out, 'e') && fabs(d) < 1) {
        for (int prec = 1; prec <= 30; prec++) {
            snprintf(out, cap, "%.*f", prec, d);
            if (strtod(out, NULL) == d)
                break;
        }
    }
}

/* Stores one cell (its text taken over).  Returns 0, 1 refused, -1 out of memory. */
static int put_cell(xl_t *x, uint32_t row, uint32_t col, char *text)
{
    if (!text[0]) {
        free(text);
        return 0;
    }
    if (row > NODE_SHEET_MAX_ROWS || col > KH_WIDE_MAX_COLS) {
        free(text);
        char vi[256], en[256];
        snprintf(vi, sizeof vi, "có dữ liệu ở dòng %u, cột %u (tối đa %u dòng, %u cột)", row,
                 col, NODE_SHEET_MAX_ROWS, (unsigned)KH_WIDE_MAX_COLS);
        snprintf(en, sizeof en, "data at row %u, column %u (at most %u rows, %u columns)", row,
                 col, NODE_SHEET_MAX_ROWS, (unsigned)KH_WIDE_MAX_COLS);
        return refuse_big(x->f, vi, en);
    }
    if (KH_GROW(x->cells, x->n_cells, x->cap_cells, 1024) < 0) {
        free(text);
        return -1;
    }
    x->cells[x->n_cells++] = (cell_t){row, col, text};
    if (row > x->max_row)
        x->max_row = row;
    if (col > x->max_col)
        x->max_col = col;
    return 0;
}

/* One <c> element: its text by its type.  Returns 0, 1 refused, -1 out of memory. */
static int read_cell(xl_t *x, xmlTextReaderPtr r, uint32_t row, uint32_t col)
{
    xmlChar *t = xmlTextReaderGetAttribute(r, (const xmlChar *)"t");
    char type[16] = "n";
    if (t)
        kh_strlcpy(type, (const char *)t, sizeof type);
    xmlFree(t);
    if (xmlTextReaderIsEmptyElement(r))
        return 0;
    int depth = xmlTextReaderDepth(r), rc;
    char *v = NULL, *inl = NULL;
    while ((rc = xmlTextReaderRead(r)) == 1) {
        int nt = xmlTextReaderNodeType(r);
        if (nt == XML_READER_TYPE_END_ELEMENT && xmlTextReaderDepth(r) == depth)
            break;
        int c = 0;
        if (is_elem(r, "v") && !v)
            c = collect_text(r, 1, &v);
        else if (is_elem(r, "is") && !inl)
            c = collect_text(r, 0, &inl);
        if (c) {
            free(v);
            free(inl);
            return c < 0 ? -1 : refuse_zip(x->f, "the sheet is not valid XML");
        }
    }
    if (rc != 1) {
        free(v);
        free(inl);
        return refuse_zip(x->f, "the sheet is not valid XML");
    }
    char *text = NULL;
    if (strcmp(type, "inlineStr") == 0) {
        text = inl;
        inl = NULL;
    } else if (v && strcmp(type, "s") == 0) {
        char *end;
        errno = 0;
        unsigned long i = strtoul(v, &end, 10);
        if (end == v || *end || errno || i >= x->n_sst) {
            free(v);
            free(inl);
            return refuse_zip(x->f, "a cell names a shared string that does not exist");
        }
        text = strdup(x->sst[i]);
    } else if (v && (strcmp(type, "n") == 0)) {
        char num[64];
        number_text(v, num, sizeof num);
        text = strdup(num);
    } else if (v && strcmp(type, "b") == 0) {
        text = strdup(strcmp(v, "0") == 0 ? "0" : "1");
    } else if (v) {                 /* str (a formula's text), e (#N/A …), d (ISO date) */
        text = v;
        v = NULL;
    }
    free(v);
    free(inl);
    if (!text)
        return 0;
    for (char *p = text; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return put_cell(x, row, col, text);
}

/* The sheet's cells.  Returns 0, 1 refused, -1 out of memory. */
static int read_sheet(xl_t *x, const char *path)
{
    char *data;
    size_t len;
    int got = load_part(x, path, 0, &data, &len);
    if (got != 0)
        return got;
    xmlTextReaderPtr r = xml_reader(data, len);
    if (!r) {
        free(data);
        return -1;
    }
    /* a row or cell without its reference follows the one before it */
    uint32_t row = 0, col = 0;
    int rc = 0;
    while (rc == 0 && (got = xmlTextReaderRead(r)) == 1) {
        if (is_elem(r, "row")) {
            xmlChar *a = xmlTextReaderGetAttribute(r, (const xmlChar *)"r");
            long n = 0;
            if (a && kh_parse_long((const char *)a, 1, 1048576, &n) < 0)
                rc = refuse_zip(x->f, "a row's number is not valid");
            row = a ? (uint32_t)n : row + 1;
            col = 0;
            xmlFree(a);
        } else if (is_elem(r, "c")) {
            xmlChar *a = xmlTextReaderGetAttribute(r, (const xmlChar *)"r");
            uint32_t cr = row, cc = col + 1;
            if (a && parse_ref((const char *)a, &cc, &cr) < 0)
                rc = refuse_zip(x->f, "a cell's reference is not valid");
            xmlFree(a);
            if (rc == 0 && (cr != row || row == 0))
                rc = refuse_zip(x->f, "a cell is outside its row");
            col = cc;
            if (rc == 0)
                rc = read_cell(x, r, row, col);
        }
    }
    if (rc == 0 && got != 0)
        rc = refuse_zip(x->f, "the report sheet is not valid XML");
    xmlFreeTextReader(r);
    free(data);
    return rc;
}

static int cell_cmp(const void *a, const void *b)
{
    const cell_t *x = a, *y = b;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return x->col < y->col ? -1 : x->col > y->col;
}

/* The cells as CSV: line N is row N, every row max_col fields.  Returns 0, 1 refused,
 * -1 out of memory. */
static int write_csv(xl_t *x, char **out, size_t *outlen)
{
    qsort(x->cells, x->n_cells, sizeof *x->cells, cell_cmp);
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    if (!m)
        return -1;
    size_t i = 0;
    int rc = 0;
    for (uint32_t row = 1; row <= x->max_row && rc == 0; row++) {
        if (i < x->n_cells && x->cells[i].row == row) {
            uint32_t col = 1;
            for (; i < x->n_cells && x->cells[i].row == row; i++) {
                if (x->cells[i].col < col)
                    continue;           /* the same cell twice: the first one counts */
                for (; col < x->cells[i].col; col++)
                    fputc(',', m);
                kh_csv_field(m, x->cells[i].text);
            }
            for (; col < x->max_col; col++)
                fputc(',', m);
        }
        fputs("\r\n", m);
        if (ftell(m) > (long)KH_REPORT_MAX_BYTES)
            rc = refuse_big(x->f, "bảng tính dưới dạng CSV vượt quá giới hạn",
                            "the sheet as CSV is over the bound");
    }
    if (fclose(m) != 0) {
        free(buf);
        return -1;
    }
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *outlen = n;
    return 0;
}

static int decode_xlsx(const char *buf, size_t len, char **out, size_t *outlen,
                       kh_findings_t *f)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, &ze);
    if (!src) {
        zip_error_fini(&ze);
        return -1;
    }
    zip_t *za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!za) {
        zip_source_free(src);
        char why[160];
        snprintf(why, sizeof why, "%s", zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return refuse_zip(f, why);
    }
    zip_error_fini(&ze);
    xl_t x = {.za = za, .f = f};
    char path[512];
    int rc = read_sst(&x);
    if (rc == 0)
        rc = find_sheet(&x, path, sizeof path);
    if (rc == 0)
        rc = read_sheet(&x, path);
    if (rc == 0 && x.n_cells == 0)
        rc = refuse(f, "XLSX_EMPTY", 0, "Trang báo cáo của sổ làm việc không có ô nào có dữ "
                    "liệu. Hãy điền số liệu vào mẫu (trang \"" NODE_SHEET_NAME "\") rồi nộp lại.",
                    "The workbook's report sheet has no cell with data. Fill in the template "
                    "(sheet \"" NODE_SHEET_NAME "\") and submit it again.");
    if (rc == 0)
        rc = write_csv(&x, out, outlen);
    for (size_t i = 0; i < x.n_sst; i++)
        free(x.sst[i]);
    free(x.sst);
    for (size_t i = 0; i < x.n_cells; i++)
        free(x.cells[i].text);
    free(x.cells);
    zip_discard(za);
    return rc;
}

int node_sheet_decode(const char *buf, size_t len, char **out, size_t *outlen,
                      char encoding[NODE_ENCODING_MAX], kh_findings_t *f)
{
    *out = NULL;
    *outlen = 0;
    if (len >= 4 && memcmp(buf, "PK\x03\x04", 4) == 0) {
        kh_strlcpy(encoding, "XLSX", NODE_ENCODING_MAX);
        return decode_xlsx(buf, len, out, outlen, f);
    }
    if (len >= 8 && memcmp(buf, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) == 0) {
        kh_strlcpy(encoding, "XLS", NODE_ENCODING_MAX);
        return refuse_xls(f);
    }
    return decode_text(buf, len, out, outlen, encoding, f);
}

/* "A", "Z", "AA" … for column col (1-based). */
static void column_name(uint32_t col, char *out, size_t cap)
{
    char rev[8];
    size_t n = 0;
    for (; col > 0 && n < sizeof rev; col = (col - 1) / 26)
        rev[n++] = (char)('A' + (col - 1) % 26);
    size_t i = 0;
    for (; i < n && i + 1 < cap; i++)
        out[i] = rev[n - 1 - i];
    out[i] = '\0';
}

static int prefix(char **msg, const char *pre)
{
    size_t a = strlen(pre), b = strlen(*msg);
    char *m = malloc(a + b + 1);
    if (!m)
        return -1;
    memcpy(m, pre, a);
    memcpy(m + a, *msg, b + 1);
    free(*msg);
    *msg = m;
    return 0;
}

int node_sheet_name_cells(const char *csv, size_t csv_len, kh_findings_t *f)
{
    /* the header row: the wide form's codes (plain: a code is never quoted), or the long
     * form's period,orgunit,indicator,value */
    const char *end = memchr(csv, '\n', csv_len);
    size_t hl = end ? (size_t)(end - csv) : csv_len;
    char *hdr = malloc(hl + 1);
    if (!hdr)
        return -1;
    memcpy(hdr, csv, hl);
    hdr[hl] = '\0';
    if (hl && hdr[hl - 1] == '\r')
        hdr[hl - 1] = '\0';
    int long_form = strcmp(hdr, "period,orgunit,indicator,value") == 0;
    int rc = 0;
    for (size_t i = 0; i < f->n && rc == 0; i++) {
        Kh__Finding *x = f->items[i];
        if (!x->line || !x->indicator || !x->indicator[0] || !x->message_vi || !x->message_en)
            continue;
        uint32_t col = long_form ? 4 : 0;
        size_t il = strlen(x->indicator);
        uint32_t k = 1;
        for (const char *p = hdr; !col && p; k++) {
            const char *c = strchr(p, ',');
            size_t l = c ? (size_t)(c - p) : strlen(p);
            if (k > 3 && l == il && memcmp(p, x->indicator, il) == 0)
                col = k;
            p = c ? c + 1 : NULL;
        }
        if (!col)
            continue;
        char name[16], vi[48], en[48];
        column_name(col, name, sizeof name);
        snprintf(vi, sizeof vi, "Ô %s%u: ", name, x->line);
        snprintf(en, sizeof en, "Cell %s%u: ", name, x->line);
        if (prefix(&x->message_vi, vi) < 0 || prefix(&x->message_en, en) < 0)
            rc = -1;
    }
    free(hdr);
    return rc;
}

void node_sheet_init(void)
{
    xmlInitParser();
}
