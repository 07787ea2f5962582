/*
 * test_sheet.c — services/node/sheet: a report file as the officer keeps it, decoded to
 * the CSV kh_report reads.  The same CSV in UTF-8, UTF-8 with BOM, UTF-16 LE/BE with a
 * BOM, UTF-16 LE without one and Windows-1258 (tone marks as combining characters, as
 * Excel writes them) decodes to the same bytes; an .xlsx written here by libxlsxwriter
 * (shared strings with rich-text runs, inline strings, numbers, a boolean, a formula's
 * cached value, empty cells, a sparse row) is read back exactly, line N being row N;
 * a truncated zip, an .xls, a zip bomb (a part that declares a huge size) and bytes that
 * are no text are refused with a finding, not a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../services/node/sheet.h"

#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xlsxwriter.h>
#include <zip.h>

#include "kh_report.h"
#include "kh_util.h"

/* NFC, as a UTF-8 file typed on Windows or Linux holds it */
static const char csv_ref[] =
    "period,orgunit,orgunit_name,HO.TONG\r\n"
    "Kỳ báo cáo,Mã đơn vị,Tên đơn vị,Tổng số hộ\r\n"
    "2019S1,28756,Thị trấn Mỏ Cày,1893\r\n"
    "2019S1,28759,Xã Định Thủy,\"1.234\"\r\n";

/* Decodes buf; the CSV kh_report would read (a copy) and the encoding named. */
static char *decoded(const char *buf, size_t len, char *enc, size_t *outlen)
{
    kh_findings_t f = {0};
    char *out = NULL;
    int rc = node_sheet_decode(buf, len, &out, outlen, enc, &f);
    assert_int_equal(rc, 0);
    assert_int_equal(f.n, 0);
    if (!out) {               /* read as it is */
        out = malloc(len + 1);
        assert_non_null(out);
        memcpy(out, buf, len);
        out[len] = '\0';
        *outlen = len;
    }
    return out;
}

static char *convert(const char *to, const char *in, size_t inlen, size_t *outlen)
{
    iconv_t cd = iconv_open(to, "UTF-8");
    assert_true(cd != (iconv_t)-1);
    size_t cap = inlen * 4 + 16;
    char *out = malloc(cap), *op = out, *ip = (char *)in;
    size_t il = inlen, ol = cap;
    assert_int_not_equal(iconv(cd, &ip, &il, &op, &ol), (size_t)-1);
    iconv_close(cd);
    *outlen = (size_t)(op - out);
    return out;
}

static void expect_same(const char *buf, size_t len, const char *encoding)
{
    char enc[NODE_ENCODING_MAX] = "";
    size_t n;
    char *out = decoded(buf, len, enc, &n);
    assert_string_equal(enc, encoding);
    assert_int_equal(n, strlen(csv_ref));
    assert_memory_equal(out, csv_ref, n);
    free(out);
}

static void test_utf8(void **state)
{
    (void)state;
    expect_same(csv_ref, strlen(csv_ref), "UTF-8");
    char bom[sizeof csv_ref + 3] = "\xEF\xBB\xBF";
    memcpy(bom + 3, csv_ref, sizeof csv_ref);
    expect_same(bom, strlen(bom), "UTF-8 BOM");
}

static void test_utf16(void **state)
{
    (void)state;
    const char *tos[] = {"UTF-16LE", "UTF-16BE"};
    for (int i = 0; i < 2; i++) {
        size_t n;
        char *u = convert(tos[i], csv_ref, strlen(csv_ref), &n);
        char *b = malloc(n + 2);
        memcpy(b, i == 0 ? "\xFF\xFE" : "\xFE\xFF", 2);
        memcpy(b + 2, u, n);
        expect_same(b, n + 2, tos[i]);
        /* without its BOM: the NUL bytes of the ASCII characters tell */
        expect_same(u, n, tos[i]);
        free(b);
        free(u);
    }
}

static void test_windows_1258(void **state)
{
    (void)state;
    /* what Excel's plain "CSV" writes on a Vietnamese Windows: a base letter followed by
     * a combining tone mark (0xD2 hook above, 0xF2 dot below, 0xCC grave, 0xEC acute,
     * 0xDE tilde) */
    const char cp[] =
        "period,orgunit,orgunit_name,HO.TONG\r\n"
        "Ky\xCC ba\xECo ca\xECo,Ma\xDE \xF0\xF5n vi\xF2,T\xEAn \xF0\xF5n vi\xF2,"
        "T\xF4\xD2ng s\xF4\xEC h\xF4\xF2\r\n"
        "2019S1,28756,Thi\xF2 tr\xE2\xECn Mo\xD2 Ca\xCCy,1893\r\n"
        "2019S1,28759,Xa\xDE \xD0i\xF2nh Thu\xD2y,\"1.234\"\r\n";
    expect_same(cp, strlen(cp), "Windows-1258");
    /* the same text converted by iconv (precomposed where CP1258 has the letter) */
    size_t m;
    char *c2 = convert("WINDOWS-1258", csv_ref, strlen(csv_ref), &m);
    expect_same(c2, m, "Windows-1258");
    free(c2);
}

static void expect_refused(const char *buf, size_t len, const char *code)
{
    kh_findings_t f = {0};
    char enc[NODE_ENCODING_MAX] = "", *out = NULL;
    size_t n = 0;
    assert_int_equal(node_sheet_decode(buf, len, &out, &n, enc, &f), 1);
    assert_null(out);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.n_errors, 1);
    assert_string_equal(f.items[0]->code, code);
    assert_non_null(strstr(f.items[0]->message_en, "submit it again"));
    assert_true(strlen(f.items[0]->message_vi) > 0);
    kh_findings_clear(&f);
}

static void test_not_text(void **state)
{
    (void)state;
    /* 0x81 is no character of Windows-1258 and no UTF-8 */
    const char b[] = "period,orgunit,indicator,value\r\n2019S1,\x81\x8A,X,1\r\n";
    expect_refused(b, strlen(b), "NOT_TEXT");
}

/* ---- XLSX ---- */

static char *read_all(const char *path, size_t *len)
{
    char *buf;
    assert_int_equal(kh_read_file(path, 1u << 24, &buf, len), 0);
    return buf;
}

/* A workbook: a first sheet that is not the report, then "Báo cáo". */
static char *make_xlsx(int constant_memory, size_t *len)
{
    char path[] = "/tmp/kh-test-sheet-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    lxw_workbook_options o = {.constant_memory = (uint8_t)constant_memory,
                              .tmpdir = (char *)"/tmp"};
    lxw_workbook *wb = workbook_new_opt(path, &o);
    assert_non_null(wb);
    lxw_worksheet *other = workbook_add_worksheet(wb, "Ghi chú");
    worksheet_write_string(other, 0, 0, "not this one", NULL);
    lxw_worksheet *ws = workbook_add_worksheet(wb, NODE_SHEET_NAME);
    lxw_format *bold = workbook_add_format(wb);
    format_set_bold(bold);
    const char *hdr[] = {"period", "orgunit", "orgunit_name", "HO.TONG", "HS.GIOI", "QUY"};
    for (int c = 0; c < 6; c++)
        worksheet_write_string(ws, 0, (lxw_col_t)c, hdr[c], bold);
    worksheet_write_string(ws, 1, 0, "Kỳ báo cáo", NULL);
    if (!constant_memory) {          /* rich text: runs joined (shared strings only) */
        lxw_rich_string_tuple a = {.format = bold, .string = "Mã "};
        lxw_rich_string_tuple b = {.format = NULL, .string = "đơn vị"};
        lxw_rich_string_tuple *rs[] = {&a, &b, NULL};
        worksheet_write_rich_string(ws, 1, 1, rs, NULL);
    } else {
        worksheet_write_string(ws, 1, 1, "Mã đơn vị", NULL);
    }
    worksheet_write_string(ws, 1, 2, "Tên đơn vị, \"xã\"", NULL);   /* quoted in CSV */
    worksheet_write_string(ws, 2, 0, "2019S1", NULL);
    worksheet_write_string(ws, 2, 1, "28756", NULL);
    worksheet_write_string(ws, 2, 2, "Thị trấn Mỏ Cày", NULL);
    worksheet_write_number(ws, 2, 3, 1893, NULL);
    worksheet_write_number(ws, 2, 4, 12.5, NULL);
    worksheet_write_number(ws, 2, 5, 1234567.891, NULL);
    /* row 4 empty; row 5 sparse: B, D empty */
    worksheet_write_string(ws, 4, 0, "2019S1", NULL);
    worksheet_write_string(ws, 4, 2, "Xã\nĐịnh Thủy", NULL);       /* a line break */
    worksheet_write_boolean(ws, 4, 4, 1, NULL);
    worksheet_write_formula_num(ws, 4, 5, "=1+1", NULL, 2);
    worksheet_write_number(ws, 6, 3, 0.1, NULL);                   /* row 7 */
    assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
    char *buf = read_all(path, len);
    unlink(path);
    return buf;
}

static const char xlsx_csv[] =
    "period,orgunit,orgunit_name,HO.TONG,HS.GIOI,QUY\r\n"
    "Kỳ báo cáo,Mã đơn vị,\"Tên đơn vị, \"\"xã\"\"\",,,\r\n"
    "2019S1,28756,Thị trấn Mỏ Cày,1893,12.5,1234567.891\r\n"
    "\r\n"
    "2019S1,,Xã Định Thủy,,1,2\r\n"
    "\r\n"
    ",,,0.1,,\r\n";

static void test_xlsx(void **state)
{
    (void)state;
    for (int cm = 0; cm < 2; cm++) {
        size_t len, n;
        char *x = make_xlsx(cm, &len);
        char enc[NODE_ENCODING_MAX] = "";
        char *out = decoded(x, len, enc, &n);
        assert_string_equal(enc, "XLSX");
        assert_string_equal(out, xlsx_csv);
        assert_int_equal(n, strlen(xlsx_csv));
        free(out);
        free(x);
    }
}

/* Writes a zip of (name, text) parts to a temporary file with libzip; its bytes. */
static char *make_zip(const char *const parts[][2], size_t n, size_t *len)
{
    char path[] = "/tmp/kh-test-sheet-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    int err = 0;
    zip_t *z = zip_open(path, ZIP_TRUNCATE, &err);
    assert_non_null(z);
    for (size_t i = 0; i < n; i++) {
        zip_source_t *src = zip_source_buffer(z, parts[i][1], strlen(parts[i][1]), 0);
        assert_non_null(src);
        assert_true(zip_file_add(z, parts[i][0], src, ZIP_FL_ENC_UTF_8) >= 0);
    }
    assert_int_equal(zip_close(z), 0);
    char *buf = read_all(path, len);
    unlink(path);
    return buf;
}

/* What Excel writes and libxlsxwriter does not: numbers to 17 digits (a sum of
 * decimals), rows and cells without their reference, rich inline strings with a
 * phonetic run, an error value, a formula, a shared string with blanks, strict OOXML's
 * relationship namespace, an absolute target. */
static void test_xlsx_as_excel_writes_it(void **state)
{
    (void)state;
    static const char *const parts[][2] = {
        {"xl/workbook.xml",
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
         "<workbook xmlns=\"http://purl.oclc.org/ooxml/spreadsheetml/main\" "
         "xmlns:r=\"http://purl.oclc.org/ooxml/officeDocument/relationships\"><sheets>"
         "<sheet name=\"Other\" sheetId=\"1\" r:id=\"rId1\"/>"
         "<sheet name=\"" NODE_SHEET_NAME "\" sheetId=\"2\" r:id=\"rId2\"/>"
         "</sheets></workbook>"},
        {"xl/_rels/workbook.xml.rels",
         "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/"
         "package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"w\" "
         "Target=\"worksheets/a.xml\"/><Relationship Id=\"rId2\" Type=\"w\" "
         "Target=\"/xl/worksheets/b.xml\"/></Relationships>"},
        {"xl/worksheets/a.xml", "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" "
         "t=\"inlineStr\"><is><t>not this one</t></is></c></row></sheetData></worksheet>"},
        {"xl/worksheets/b.xml",
         "<worksheet xmlns=\"http://purl.oclc.org/ooxml/spreadsheetml/main\"><sheetData>"
         "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>period</t></is></c>"
         "<c t=\"inlineStr\"><is><r><t>org</t></r><r><rPr/><t>unit</t></r>"
         "<rPh sb=\"0\" eb=\"1\"><t>X</t></rPh></is></c></row>"
         "<row><c r=\"A2\"><v>1893.0000000000002</v></c>"
         "<c r=\"C2\"><v>0.30000000000000004</v></c><c r=\"D2\" t=\"b\"><v>1</v></c>"
         "<c r=\"E2\" t=\"e\"><v>#N/A</v></c><c r=\"F2\"><f>1+1</f><v>2</v></c>"
         "<c r=\"G2\" t=\"s\"><v>0</v></c><c r=\"H2\" s=\"3\"/></row>"
         "</sheetData></worksheet>"},
        {"xl/sharedStrings.xml",
         "<sst><si><t xml:space=\"preserve\"> a </t></si></sst>"},
    };
    size_t len, n;
    char *x = make_zip(parts, sizeof parts / sizeof parts[0], &len);
    char enc[NODE_ENCODING_MAX] = "";
    char *out = decoded(x, len, enc, &n);
    assert_string_equal(enc, "XLSX");
    assert_string_equal(out, "period,orgunit,,,,,\r\n"
                             "1893,,0.3,1,#N/A,2,\" a \"\r\n");
    free(out);
    free(x);
}

/* A line of the CSV is a row of the sheet: kh_report's lines are the officer's rows. */
static void test_xlsx_lines_are_rows(void **state)
{
    (void)state;
    size_t len, n;
    char *x = make_xlsx(0, &len);
    char enc[NODE_ENCODING_MAX];
    char *out = decoded(x, len, enc, &n);
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    /* row 5 has values but no unit code, row 7 neither period nor code: errors there */
    assert_true(kh_report_parse_csv(out, n, &r, &f) > 0);
    int row5 = 0, row7 = 0;
    for (size_t i = 0; i < f.n; i++) {
        row5 += f.items[i]->line == 5;
        row7 += f.items[i]->line == 7;
    }
    assert_true(row5 > 0);
    assert_true(row7 > 0);
    kh_findings_clear(&f);
    /* a finding of a row and an indicator names its cell; one of a row alone does not */
    assert_int_equal(kh_findings_add(&f, "X", 1, 3, "28756", "HS.GIOI", "1", "sai", "wrong"),
                     0);
    assert_int_equal(kh_findings_add(&f, "X", 1, 5, "", "", "", "dòng", "row"), 0);
    assert_int_equal(kh_findings_add(&f, "X", 0, 3, "28756", "QUY", "", "a", "b"), 0);
    assert_int_equal(node_sheet_name_cells(out, n, &f), 0);
    assert_string_equal(f.items[0]->message_vi, "Ô E3: sai");
    assert_string_equal(f.items[0]->message_en, "Cell E3: wrong");
    assert_string_equal(f.items[1]->message_en, "row");
    assert_string_equal(f.items[2]->message_en, "Cell F3: b");
    kh_findings_clear(&f);
    /* the long form: the value column */
    const char lf[] = "period,orgunit,indicator,value\r\n2019S1,28756,HO.TONG,-1\r\n";
    assert_int_equal(kh_findings_add(&f, "X", 1, 2, "28756", "HO.TONG", "-1", "a", "b"), 0);
    assert_int_equal(node_sheet_name_cells(lf, strlen(lf), &f), 0);
    assert_string_equal(f.items[0]->message_vi, "Ô D2: a");
    kh_findings_clear(&f);
    kh_report_clear(&r);
    free(out);
    free(x);
}

/* Patches the uncompressed size of `part` in its local header and in the central
 * directory (what a zip bomb declares). */
static int patch_size(char *z, size_t len, const char *part, uint32_t size)
{
    size_t pl = strlen(part);
    int done = 0;
    for (size_t o = 0; o + 46 < len; o++) {
        if (memcmp(z + o, "PK\x03\x04", 4) == 0 && o + 30 + pl <= len &&
            (size_t)(unsigned char)z[o + 26] + 256u * (unsigned char)z[o + 27] == pl &&
            memcmp(z + o + 30, part, pl) == 0) {
            memcpy(z + o + 22, &size, 4);      /* little-endian host */
            done++;
        }
        if (memcmp(z + o, "PK\x01\x02", 4) == 0 && o + 46 + pl <= len &&
            (size_t)(unsigned char)z[o + 28] + 256u * (unsigned char)z[o + 29] == pl &&
            memcmp(z + o + 46, part, pl) == 0) {
            memcpy(z + o + 24, &size, 4);
            done++;
        }
    }
    return done;
}

static void test_xlsx_refused(void **state)
{
    (void)state;
    size_t len;
    char *x = make_xlsx(0, &len);
    /* truncated: the central directory is gone */
    expect_refused(x, len / 2, "XLSX_UNREADABLE");
    /* a zip bomb: the sheet says it is 2 GB */
    assert_int_equal(patch_size(x, len, "xl/worksheets/sheet2.xml", 0x7FFFFFF0u), 2);
    expect_refused(x, len, "XLSX_TOO_LARGE");
    /* a part that holds more than it declares */
    assert_int_equal(patch_size(x, len, "xl/worksheets/sheet2.xml", 10), 2);
    expect_refused(x, len, "XLSX_UNREADABLE");
    free(x);
    /* an old binary workbook */
    char xls[512] = "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
    expect_refused(xls, sizeof xls, "OLD_EXCEL");
    /* a zip that is no workbook */
    const char junk[] = "PK\x03\x04 and then nothing of a zip";
    expect_refused(junk, sizeof junk - 1, "XLSX_UNREADABLE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_utf16),
        cmocka_unit_test(test_windows_1258),
        cmocka_unit_test(test_not_text),
        cmocka_unit_test(test_xlsx),
        cmocka_unit_test(test_xlsx_as_excel_writes_it),
        cmocka_unit_test(test_xlsx_lines_are_rows),
        cmocka_unit_test(test_xlsx_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
