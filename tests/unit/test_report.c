/*
 * test_report.c — unit tests of the report file codec (lib/model/kh_report.{h,c}).
 *
 * Each test parses a small in-memory file and checks the values (with their line
 * numbers) or the CSV_SYNTAX findings (with their line numbers and messages).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_catalog.h"
#include "kh_report.h"

#define HDR "period,orgunit,indicator,value\n"

/* ---- helpers ------------------------------------------------------------------------ */

typedef struct {
    Kh__Report r;
    kh_findings_t f;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    Kh__Report init = KH__REPORT__INIT;
    fx->r = init;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    kh_report_clear(&fx->r);
    kh_findings_clear(&fx->f);
    free(fx);
    return 0;
}

static int parse_n(fixture_t *fx, const char *buf, size_t len)
{
    return kh_report_parse_csv(buf, len, &fx->r, &fx->f);
}

static int parse(fixture_t *fx, const char *s) { return parse_n(fx, s, strlen(s)); }

static void assert_value(const Kh__Report *r, size_t i, const char *org, const char *ind,
                         const char *raw, uint32_t line)
{
    assert_true(i < r->n_values);
    assert_string_equal(r->values[i]->orgunit, org);
    assert_string_equal(r->values[i]->indicator, ind);
    assert_string_equal(r->values[i]->raw, raw);
    assert_int_equal(r->values[i]->line, line);
}

/* The only finding, which must be a CSV_SYNTAX error on `line` whose English message
 * contains `needle`. */
static void assert_one_syntax(const kh_findings_t *f, uint32_t line, const char *needle)
{
    if (f->n != 1) {
        for (size_t i = 0; i < f->n; i++)
            fprintf(stderr, "  finding %zu: line %u: %s\n", i, f->items[i]->line,
                    f->items[i]->message_en);
        fail_msg("expected exactly one finding (line %u, \"%s\"), got %zu", line,
                 needle ? needle : "", f->n);
    }
    assert_int_equal(f->n_errors, 1);
    const Kh__Finding *x = f->items[0];
    assert_string_equal(x->code, "CSV_SYNTAX");
    assert_true(x->is_error);
    if (x->line != line)
        fail_msg("finding \"%s\" is on line %u, expected line %u", x->message_en, x->line,
                 line);
    if (needle && !strstr(x->message_en, needle))
        fail_msg("message_en \"%s\" does not contain \"%s\"", x->message_en, needle);
    assert_true(x->message_vi && x->message_vi[0]);
}

static const char VALID[] =
    HDR
    "2020S2,28756,HO.TONG,1200\n"
    "2020S2,28756,CDX.XEP_LOAI,TOT\n"
    "2020S2,28757,HO.TONG,980\n"
    "2020S2,829,TT.TIN_BAI,14\n";

static void check_valid(const Kh__Report *r)
{
    assert_string_equal(r->period, "2020S2");
    assert_int_equal(r->n_values, 4);
    assert_value(r, 0, "28756", "HO.TONG", "1200", 2);
    assert_value(r, 1, "28756", "CDX.XEP_LOAI", "TOT", 3);
    assert_value(r, 2, "28757", "HO.TONG", "980", 4);
    assert_value(r, 3, "829", "TT.TIN_BAI", "14", 5);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_valid_lf(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(parse(fx, VALID), 0);
    assert_int_equal(fx->f.n, 0);
    check_valid(&fx->r);
}

static void test_crlf(void **state)
{
    fixture_t *fx = *state;
    const char *s = "period,orgunit,indicator,value\r\n"
                    "2020S2,28756,HO.TONG,1200\r\n"
                    "2020S2,28756,CDX.XEP_LOAI,TOT\r\n"
                    "2020S2,28757,HO.TONG,980\r\n"
                    "2020S2,829,TT.TIN_BAI,14\r\n";
    assert_int_equal(parse(fx, s), 0);
    assert_int_equal(fx->f.n, 0);
    check_valid(&fx->r);   /* no '\r' left in any value, same line numbers */
}

static void test_bom(void **state)
{
    fixture_t *fx = *state;
    char buf[sizeof VALID + 3];
    memcpy(buf, "\xEF\xBB\xBF", 3);
    memcpy(buf + 3, VALID, sizeof VALID);
    assert_int_equal(parse(fx, buf), 0);
    assert_int_equal(fx->f.n, 0);
    check_valid(&fx->r);
}

static void test_bom_crlf_no_final_newline(void **state)
{
    fixture_t *fx = *state;
    const char *s = "\xEF\xBB\xBFperiod,orgunit,indicator,value\r\n"
                    "2020S2,28756,HO.TONG,1200\r\n"
                    "2020S2,28757,HO.TONG,980";
    assert_int_equal(parse(fx, s), 0);
    assert_int_equal(fx->r.n_values, 2);
    assert_value(&fx->r, 1, "28757", "HO.TONG", "980", 3);
}

static void test_quoted_field_with_comma(void **state)
{
    fixture_t *fx = *state;
    const char *s = HDR
                    "2020S2,28756,HO.TONG,\"1,200\"\n"
                    "\"2020S2\",\"28757\",\"HO.TONG\",\"say \"\"hi\"\", ok\"\n";
    assert_int_equal(parse(fx, s), 0);
    assert_int_equal(fx->f.n, 0);
    assert_int_equal(fx->r.n_values, 2);
    assert_value(&fx->r, 0, "28756", "HO.TONG", "1,200", 2);
    assert_value(&fx->r, 1, "28757", "HO.TONG", "say \"hi\", ok", 3);
    assert_string_equal(fx->r.period, "2020S2");
}

static void test_blank_lines_ignored(void **state)
{
    fixture_t *fx = *state;
    const char *s = "\n"
                    HDR
                    "\n"
                    "2020S2,28756,HO.TONG,1200\n"
                    "\r\n"
                    "   \n"
                    "2020S2,28757,HO.TONG,980\n"
                    "\n\n";
    assert_int_equal(parse(fx, s), 0);
    assert_int_equal(fx->f.n, 0);
    assert_int_equal(fx->r.n_values, 2);
    /* physical line numbers still count the blank lines */
    assert_value(&fx->r, 0, "28756", "HO.TONG", "1200", 4);
    assert_value(&fx->r, 1, "28757", "HO.TONG", "980", 7);
}

static void test_wrong_header(void **state)
{
    fixture_t *fx = *state;
    const char *s = "period,unit,indicator,value\n"
                    "2020S2,28756,HO.TONG,1200\n";
    assert_int_equal(parse(fx, s), 1);
    assert_one_syntax(&fx->f, 1, "header");
}

static void test_header_with_three_fields(void **state)
{
    fixture_t *fx = *state;
    const char *s = "period,orgunit,indicator\n"
                    "2020S2,28756,HO.TONG,1200\n";
    assert_int_equal(parse(fx, s), 1);
    assert_one_syntax(&fx->f, 1, "header");
}

static void test_five_fields(void **state)
{
    fixture_t *fx = *state;
    const char *s = HDR
                    "2020S2,28756,HO.TONG,1200\n"
                    "2020S2,28757,HO.TONG,980,extra\n"
                    "2020S2,829,TT.TIN_BAI,14\n";
    assert_int_equal(parse(fx, s), 1);
    assert_one_syntax(&fx->f, 3, "5 fields");
    /* the good rows are kept, the bad one is not */
    assert_int_equal(fx->r.n_values, 2);
    assert_value(&fx->r, 1, "829", "TT.TIN_BAI", "14", 4);
}

static void test_two_periods(void **state)
{
    fixture_t *fx = *state;
    const char *s = HDR
                    "2020S2,28756,HO.TONG,1200\n"
                    "2020S2,28757,HO.TONG,980\n"
                    "2020S1,829,TT.TIN_BAI,14\n";
    assert_int_equal(parse(fx, s), 1);
    assert_one_syntax(&fx->f, 4, "2020S1");
    assert_non_null(strstr(fx->f.items[0]->message_en, "2020S2"));
    assert_string_equal(fx->f.items[0]->value, "2020S1");
    assert_string_equal(fx->r.period, "2020S2");
}

static void test_unterminated_quote(void **state)
{
    fixture_t *fx = *state;
    const char *s = HDR
                    "2020S2,28756,HO.TONG,1200\n"
                    "2020S2,28757,HO.TONG,\"980\n"
                    "2020S2,829,TT.TIN_BAI,14\n";
    int rc = parse(fx, s);
    assert_true(rc >= 1);
    int found = 0;
    for (size_t i = 0; i < fx->f.n; i++)
        if (strstr(fx->f.items[i]->message_en, "unterminated")) {
            found = 1;
            assert_string_equal(fx->f.items[i]->code, "CSV_SYNTAX");
            assert_true(fx->f.items[i]->is_error);
            assert_true(fx->f.items[i]->line >= 3);
        }
    assert_true(found);
}

static void test_invalid_utf8_line3(void **state)
{
    fixture_t *fx = *state;
    const char *s = HDR
                    "2020S2,28756,HO.TONG,1200\n"
                    "2020S2,28757,HO.TONG,Ph\xFF\xFEng\n"
                    "2020S2,829,TT.TIN_BAI,14\n";
    assert_int_equal(parse(fx, s), 1);
    assert_one_syntax(&fx->f, 3, "UTF-8");
}

static void test_invalid_utf8_truncated_sequence_last_line(void **state)
{
    fixture_t *fx = *state;
    /* "ư" is C6 B0: cut after its first byte, at the very end of the file */
    const char *s = HDR
                    "2020S2,28756,HO.TONG,1200\n"
                    "2020S2,28757,HO.TONG,\xC6";
    assert_int_equal(parse(fx, s), 1);
    assert_one_syntax(&fx->f, 3, "UTF-8");
}

static void test_valid_vietnamese_utf8(void **state)
{
    fixture_t *fx = *state;
    const char *s = HDR "2020S2,28756,HO.TONG,Phường Phú Khương \xF0\x9F\x98\x80\n";
    assert_int_equal(parse(fx, s), 0);
    assert_value(&fx->r, 0, "28756", "HO.TONG", "Phường Phú Khương \xF0\x9F\x98\x80", 2);
}

/* RFC 3629: overlong forms, UTF-16 surrogates and code points above U+10FFFF are not
 * UTF-8.  Each must be refused like any other invalid byte sequence. */
static void test_invalid_utf8_overlong(void **state)
{
    fixture_t *fx = *state;
    const char *s = HDR "2020S2,28756,HO.TONG,1200\n"
                        "2020S2,28757,HO.TONG,\xE0\x80\xAF\n";   /* '/' as 3 bytes */
    assert_int_equal(parse(fx, s), 1);
    assert_one_syntax(&fx->f, 3, "UTF-8");
}

static void test_invalid_utf8_surrogate(void **state)
{
    fixture_t *fx = *state;
    const char *s = HDR "2020S2,28756,HO.TONG,1200\n"
                        "2020S2,28757,HO.TONG,\xED\xA0\x80\n";   /* U+D800 */
    assert_int_equal(parse(fx, s), 1);
    assert_one_syntax(&fx->f, 3, "UTF-8");
}

static void test_invalid_utf8_above_max_code_point(void **state)
{
    fixture_t *fx = *state;
    const char *s = HDR "2020S2,28756,HO.TONG,1200\n"
                        "2020S2,28757,HO.TONG,\xF5\x80\x80\x80\n";   /* > U+10FFFF */
    assert_int_equal(parse(fx, s), 1);
    assert_one_syntax(&fx->f, 3, "UTF-8");
}

static void test_empty_file(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(parse_n(fx, "", 0), 1);
    assert_one_syntax(&fx->f, 1, "empty");
    assert_int_equal(fx->r.n_values, 0);
}

static void test_bom_only_file(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(parse(fx, "\xEF\xBB\xBF"), 1);
    assert_one_syntax(&fx->f, 1, "empty");
}

static void test_header_only(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(parse(fx, HDR), 1);
    assert_one_syntax(&fx->f, 2, "no data rows");
    assert_int_equal(fx->r.n_values, 0);
}

static void test_field_too_long(void **state)
{
    fixture_t *fx = *state;
    char longv[KH_FIELD_MAX + 1];
    memset(longv, '7', KH_FIELD_MAX);          /* KH_FIELD_MAX bytes: one too many */
    longv[KH_FIELD_MAX] = '\0';
    char buf[4096];
    snprintf(buf, sizeof buf, HDR "2020S2,28756,HO.TONG,1200\n2020S2,28757,HO.TONG,%s\n",
             longv);
    assert_int_equal(parse(fx, buf), 1);
    char needle[32];
    snprintf(needle, sizeof needle, "%d bytes", KH_FIELD_MAX - 1);
    assert_one_syntax(&fx->f, 3, needle);
    assert_int_equal(fx->r.n_values, 1);
}

static void test_field_of_max_length_accepted(void **state)
{
    fixture_t *fx = *state;
    char v[KH_FIELD_MAX];
    memset(v, '7', KH_FIELD_MAX - 1);          /* exactly KH_FIELD_MAX-1 bytes: allowed */
    v[KH_FIELD_MAX - 1] = '\0';
    char buf[4096];
    snprintf(buf, sizeof buf, HDR "2020S2,28756,HO.TONG,\"%s\"\n", v);
    assert_int_equal(parse(fx, buf), 0);
    assert_int_equal(fx->r.n_values, 1);
    assert_int_equal(strlen(fx->r.values[0]->raw), KH_FIELD_MAX - 1);
}

static void test_multiline_quoted_field_line_numbers(void **state)
{
    fixture_t *fx = *state;
    const char *s = HDR
                    "2020S2,28756,HO.TONG,1200\n"
                    "2020S2,28757,\"HO.\n"
                    "TONG\",980\n"
                    "2020S2,829,TT.TIN_BAI,\"1\r\n"
                    "4\"\r\n"
                    "2020S2,28759,HO.TONG,5\n";
    assert_int_equal(parse(fx, s), 0);
    assert_int_equal(fx->f.n, 0);
    assert_int_equal(fx->r.n_values, 4);
    assert_value(&fx->r, 0, "28756", "HO.TONG", "1200", 2);
    assert_value(&fx->r, 1, "28757", "HO.\nTONG", "980", 3);   /* starts on line 3 */
    assert_value(&fx->r, 2, "829", "TT.TIN_BAI", "1\r\n4", 5);
    assert_value(&fx->r, 3, "28759", "HO.TONG", "5", 7);       /* after two spanning rows */
}

static void test_error_line_after_multiline_field(void **state)
{
    fixture_t *fx = *state;
    const char *s = HDR
                    "2020S2,28757,HO.TONG,\"9\n"
                    "8\n"
                    "0\"\n"
                    "2020S2,28757,HO.TONG\n";
    assert_int_equal(parse(fx, s), 1);
    assert_one_syntax(&fx->f, 5, "3 fields");
}

/* A record's line is the line it starts on, also when its first field is the one
 * that spans lines (kh_report.c: "every record knows the line it started on"). */
static void test_multiline_first_field_line_number(void **state)
{
    fixture_t *fx = *state;
    const char *s = HDR
                    "2020S2,28756,HO.TONG,1200\n"
                    "\"2020\n"
                    "S2\",28757,HO.TONG,980\n"
                    "2020S2,28759,HO.TONG,5\n";
    assert_int_equal(parse(fx, s), 1);
    /* the period "2020\nS2" differs from "2020S2": the row starts on line 3 */
    assert_one_syntax(&fx->f, 3, "differs");
    assert_int_equal(fx->r.n_values, 2);
    assert_value(&fx->r, 1, "28759", "HO.TONG", "5", 5);
}

/* After a syntax error the parser goes on: the next broken line is found too. */
static void test_errors_after_a_stray_quote_are_found(void **state)
{
    fixture_t *fx = *state;
    const char *s = HDR
                    "2020S2,28756,HO.TONG,12\"3\n"
                    "2020S2,28757,HO.TONG,980\n"
                    "2020S2,28758,HO.TONG,1,2\n";
    assert_int_equal(parse(fx, s), 2);
    assert_int_equal(fx->f.n, 2);
    assert_int_equal(fx->f.items[0]->line, 2);
    assert_int_equal(fx->f.items[1]->line, 4);
    assert_non_null(strstr(fx->f.items[1]->message_en, "5 fields"));
}

/* An empty period is an error on every row, the first ones included (found by fuzzing:
 * leading rows without a period used to take the period of the rows after them). */
static void test_empty_period(void **state)
{
    fixture_t *fx = *state;
    const char *s = HDR
                    ",28756,HO.TONG,1200\n"
                    "2020S2,28757,HO.TONG,980\n"
                    ",28758,HO.TONG,5\n";
    assert_int_equal(parse(fx, s), 2);
    assert_int_equal(fx->f.items[0]->line, 2);
    assert_int_equal(fx->f.items[1]->line, 4);
    assert_non_null(strstr(fx->f.items[0]->message_en, "period"));
}

/* Old Mac spreadsheets end lines with CR alone. */
static void test_cr_only_line_endings(void **state)
{
    fixture_t *fx = *state;
    const char *s = "period,orgunit,indicator,value\r"
                    "2020S2,28756,HO.TONG,1200\r"
                    "2020S2,28757,HO.TONG,980\r";
    assert_int_equal(parse(fx, s), 0);
    assert_int_equal(fx->r.n_values, 2);
    assert_value(&fx->r, 1, "28757", "HO.TONG", "980", 3);
}

static void test_stray_quote(void **state)
{
    fixture_t *fx = *state;
    const char *s = HDR
                    "2020S2,28756,HO.TONG,1200\n"
                    "2020S2,28757,HO.TONG,98\"0\n"
                    "2020S2,28759,HO.TONG,5\n";
    assert_true(parse(fx, s) >= 1);
    assert_true(fx->f.n >= 1);
    assert_string_equal(fx->f.items[0]->code, "CSV_SYNTAX");
    assert_true(fx->f.items[0]->is_error);
    assert_int_equal(fx->f.items[0]->line, 3);
}

static void test_write_round_trip(void **state)
{
    fixture_t *fx = *state;
    const char *s = "\xEF\xBB\xBF" HDR
                    "2020S2,28756,HO.TONG,1200\r\n"
                    "2020S2,28756,CDX.XEP_LOAI,\n"
                    "2020S2,28757,\"Phường, \"\"Phú Tân\"\"\",\"1,234\"\n"
                    "2020S2,28757,NOTE,\"two\n"
                    "lines\"\n"
                    "2020S2,829,TT.TIN_BAI,14\n";
    assert_int_equal(parse(fx, s), 0);
    assert_int_equal(fx->r.n_values, 5);

    char *out = NULL;
    size_t outlen = 0;
    FILE *mf = open_memstream(&out, &outlen);
    assert_non_null(mf);
    assert_int_equal(kh_report_write_csv(&fx->r, mf), 0);
    assert_int_equal(fclose(mf), 0);
    assert_true(strncmp(out, HDR, strlen(HDR)) == 0);

    Kh__Report r2 = KH__REPORT__INIT;
    kh_findings_t f2 = {0};
    assert_int_equal(kh_report_parse_csv(out, outlen, &r2, &f2), 0);
    assert_int_equal(f2.n, 0);
    assert_string_equal(r2.period, fx->r.period);
    assert_int_equal(r2.n_values, fx->r.n_values);
    for (size_t i = 0; i < r2.n_values; i++) {
        assert_string_equal(r2.values[i]->orgunit, fx->r.values[i]->orgunit);
        assert_string_equal(r2.values[i]->indicator, fx->r.values[i]->indicator);
        assert_string_equal(r2.values[i]->raw, fx->r.values[i]->raw);
    }
    assert_string_equal(r2.values[2]->indicator, "Phường, \"Phú Tân\"");
    assert_string_equal(r2.values[2]->raw, "1,234");
    assert_string_equal(r2.values[3]->raw, "two\nlines");
    assert_string_equal(r2.values[1]->raw, "");
    kh_report_clear(&r2);
    kh_findings_clear(&f2);
    free(out);
}

static void test_clear_and_reuse(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(parse(fx, VALID), 0);
    assert_int_equal(kh_report_set_str(&fx->r.report_id, "829-2020S2"), 0);
    assert_int_equal(kh_report_set_str(&fx->r.district, "829"), 0);
    kh_report_clear(&fx->r);
    assert_int_equal(fx->r.n_values, 0);
    assert_null(fx->r.values);
    assert_string_equal(fx->r.period, "");
    assert_string_equal(fx->r.report_id, "");
    assert_string_equal(fx->r.district, "");
    assert_string_equal(fx->r.source_name, "");

    /* the same struct takes another report, of another period */
    const char *s = HDR "2021S1,28759,HO.TONG,7\n";
    assert_int_equal(parse(fx, s), 0);
    assert_string_equal(fx->r.period, "2021S1");
    assert_int_equal(fx->r.n_values, 1);
    assert_value(&fx->r, 0, "28759", "HO.TONG", "7", 2);

    /* clearing twice is harmless */
    kh_report_clear(&fx->r);
    kh_report_clear(&fx->r);
    assert_int_equal(fx->r.n_values, 0);
    assert_int_equal(parse(fx, VALID), 0);
    check_valid(&fx->r);
}

static void test_many_rows_grow(void **state)
{
    fixture_t *fx = *state;
    size_t n = 1000, cap = 64 * n + 64;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t o = (size_t)snprintf(buf, cap, HDR);
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(buf + o, cap - o, "2020S2,%zu,HO.TONG,%zu\n", 30000 + i, i);
    assert_int_equal(parse_n(fx, buf, o), 0);
    assert_int_equal(fx->r.n_values, n);
    assert_value(&fx->r, n - 1, "30999", "HO.TONG", "999", (uint32_t)n + 1);
    free(buf);
}

/* One CSV quoting (the report's long form and the node's template both write it). */
static void test_csv_field(void **state)
{
    (void)state;
    struct { const char *in, *out; } c[] = {
        {"82901", "82901"},
        {"Huyện Ba Tri", "Huyện Ba Tri"},
        {"Ba Tri, Bến Tre", "\"Ba Tri, Bến Tre\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"two\nlines", "\"two\nlines\""},
        {" lead", "\" lead\""},
        {"trail ", "\"trail \""},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        assert_non_null(f);
        kh_csv_field(f, c[i].in);
        fclose(f);
        assert_string_equal(out, c[i].out);
        free(out);
    }
}

/* One report id, and a unit or period too long for it is refused, never cut. */
static void test_report_id(void **state)
{
    (void)state;
    char id[KH_REPORT_ID_MAX];
    assert_int_equal(kh_report_id(id, sizeof id, "829", "2019S1"), 0);
    assert_string_equal(id, "829-2019S1");
    assert_int_equal(kh_report_id(id, sizeof id, "29236", "2026"), 0);
    assert_string_equal(id, "29236-2026");
    char small[8];
    assert_int_equal(kh_report_id(small, sizeof small, "829", "2019S1"), -1);
    assert_string_equal(small, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_lf, setup, teardown),
        cmocka_unit_test(test_csv_field),
        cmocka_unit_test(test_report_id),
        cmocka_unit_test_setup_teardown(test_crlf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bom_crlf_no_final_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quoted_field_with_comma, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blank_lines_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_with_three_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_five_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_periods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unterminated_quote, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_line3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_truncated_sequence_last_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_valid_vietnamese_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_overlong, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_surrogate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_above_max_code_point, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bom_only_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_of_max_length_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiline_quoted_field_line_numbers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_error_line_after_multiline_field, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_multiline_first_field_line_number, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stray_quote, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_after_a_stray_quote_are_found, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cr_only_line_endings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_period, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clear_and_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_rows_grow, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
