/*
 * test_wide.c — the template's wide form: `kh-node template` (services/node/template.c)
 * writes it, lib/model/kh_report.c reads it back.
 *
 * Templates for 829 (Thành phố Bến Tre) before and after the merger of 1 February
 * 2020 (17 communes in 2019S2, 14 in 2020S1); a template filled with the values of
 * a generated demo report (scripts/gen-demo-data.py) parses to exactly the values of
 * the long form and passes kh_validate; the wide form's syntax errors carry their
 * lines; BOM, CRLF, semicolons; the XLSX form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <csv.h>

#include "../../services/node/template.h"

#include <unistd.h>

#include "kh_report.h"
#include "kh_util.h"
#include "kh_validate.h"
#include "report_fixture.h"

#define TODAY 20250101   /* after every period used below */

static kh_catalog_t *g_cat;
static char g_dir[64];             /* scratch folder */
static char g_demo[128];           /* gen-demo-data.py output */

/* ---- helpers ------------------------------------------------------------------------ */

typedef struct {
    char ***rows;      /* rows[i][j]: NUL-terminated fields */
    int *nf;
    int n, cap;
    char **cur;
    int cur_n, cur_cap;
} table_t;

static void t_field(void *data, size_t len, void *arg)
{
    table_t *t = arg;
    if (t->cur_n == t->cur_cap) {
        t->cur_cap = t->cur_cap ? t->cur_cap * 2 : 16;
        t->cur = realloc(t->cur, (size_t)t->cur_cap * sizeof *t->cur);
    }
    t->cur[t->cur_n++] = strndup(data ? data : "", len);
}

static void t_record(int c, void *arg)
{
    (void)c;
    table_t *t = arg;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->rows = realloc(t->rows, (size_t)t->cap * sizeof *t->rows);
        t->nf = realloc(t->nf, (size_t)t->cap * sizeof *t->nf);
    }
    t->rows[t->n] = t->cur;
    t->nf[t->n++] = t->cur_n;
    t->cur = NULL;
    t->cur_n = t->cur_cap = 0;
}

/* Reads a CSV buffer (BOM skipped) into rows of fields. */
static void table_read(table_t *t, const char *buf, size_t len)
{
    memset(t, 0, sizeof *t);
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        buf += 3;
        len -= 3;
    }
    struct csv_parser p;
    assert_int_equal(csv_init(&p, CSV_APPEND_NULL), 0);
    assert_int_equal(csv_parse(&p, buf, len, t_field, t_record, t), len);
    csv_fini(&p, t_field, t_record, t);
    csv_free(&p);
}

static void table_free(table_t *t)
{
    for (int i = 0; i < t->n; i++) {
        for (int j = 0; j < t->nf[i]; j++)
            free(t->rows[i][j]);
        free(t->rows[i]);
    }
    free(t->rows);
    free(t->nf);
    memset(t, 0, sizeof *t);
}

static char *slurp(const char *path, size_t *len)
{
    char *buf;
    if (kh_read_file(path, KH_REPORT_MAX_BYTES, &buf, len) < 0)
        fail_msg("cannot read %s", path);
    return buf;
}

/* Writes the template of 829/period into the scratch folder; returns its path. */
static const char *write_template(const char *period, node_tpl_format_t fmt)
{
    static char path[160];
    char err[512];
    snprintf(path, sizeof path, "%s/829-%s-mau.%s", g_dir, period,
             fmt == NODE_TPL_XLSX ? "xlsx" : "csv");
    int rc = node_template_write(g_cat, "829", period, fmt, path, 1, err, sizeof err);
    if (rc != 0)
        fail_msg("node_template_write: %d %s", rc, err);
    return path;
}

static int parse_str(const char *s, Kh__Report *r, kh_findings_t *f)
{
    return kh_report_parse_csv(s, strlen(s), r, f);
}

static void clear(Kh__Report *r, kh_findings_t *f)
{
    kh_report_clear(r);
    kh_findings_clear(f);
}

/* Exactly one finding, a CSV_SYNTAX error on `line` whose English text has `needle`. */
static void assert_one_syntax(const kh_findings_t *f, uint32_t line, const char *needle)
{
    if (f->n != 1)
        dump(f);
    assert_int_equal(f->n, 1);
    assert_string_equal(f->items[0]->code, "CSV_SYNTAX");
    assert_true(f->items[0]->is_error);
    if (f->items[0]->line != line)
        fail_msg("\"%s\" on line %u, expected %u", f->items[0]->message_en, f->items[0]->line,
                 line);
    if (!strstr(f->items[0]->message_en, needle))
        fail_msg("\"%s\" does not contain \"%s\"", f->items[0]->message_en, needle);
    assert_true(f->items[0]->message_vi[0] != '\0');
}

static const Kh__Value *find_value(const Kh__Report *r, const char *org, const char *ind)
{
    for (size_t i = 0; i < r->n_values; i++)
        if (strcmp(r->values[i]->orgunit, org) == 0 && strcmp(r->values[i]->indicator, ind) == 0)
            return r->values[i];
    return NULL;
}

static int row_has_name(const table_t *t, const char *name)
{
    for (int i = 2; i < t->n; i++)
        if (t->nf[i] > 2 && strcmp(t->rows[i][2], name) == 0)
            return 1;
    return 0;
}

static void csv_cell(FILE *f, const char *s)
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

/* Fills the CSV template of 829/period with the values of the long-form demo file
 * (an empty option becomes NONE), as a spreadsheet saving "CSV UTF-8" would: BOM,
 * CRLF.  Returns the long-form report (caller clears it) in *lr; the filled file's
 * path in out. */
static void fill_template(const char *period, Kh__Report *lr, char *out, size_t cap)
{
    char path[256];
    snprintf(path, sizeof path, "%s/829/829-%s.csv", g_demo, period);
    size_t len;
    char *buf = slurp(path, &len);
    kh_findings_t f = {0};
    assert_int_equal(kh_report_parse_csv(buf, len, lr, &f), 0);
    free(buf);
    kh_findings_clear(&f);

    buf = slurp(write_template(period, NODE_TPL_CSV), &len);
    table_t t;
    table_read(&t, buf, len);
    free(buf);
    snprintf(out, cap, "%s/829-%s-filled.csv", g_dir, period);
    FILE *fp = fopen(out, "wb");
    assert_non_null(fp);
    fputs("\xEF\xBB\xBF", fp);
    for (int i = 0; i < t.n; i++) {
        for (int j = 0; j < t.nf[i]; j++) {
            if (j)
                fputc(',', fp);
            const char *cell = t.rows[i][j];
            if (i >= 2 && j >= 3) {
                const Kh__Value *v = find_value(lr, t.rows[i][1], t.rows[0][j]);
                cell = !v ? "" : v->raw[0] ? v->raw : KH_WIDE_NO_OPTION;
            }
            csv_cell(fp, cell);
        }
        fputs("\r\n", fp);
    }
    fclose(fp);
    table_free(&t);
}

/* The filled template parses to the long form's values, exactly, and passes. */
static void check_roundtrip(const char *period, size_t n_units)
{
    Kh__Report lr = KH__REPORT__INIT, wr = KH__REPORT__INIT;
    char filled[256];
    fill_template(period, &lr, filled, sizeof filled);
    size_t len;
    char *buf = slurp(filled, &len);
    kh_findings_t f = {0};
    int syn = kh_report_parse_csv(buf, len, &wr, &f);
    free(buf);
    if (syn)
        dump(&f);
    assert_int_equal(syn, 0);
    assert_string_equal(wr.period, period);
    assert_int_equal(wr.n_values, lr.n_values);
    for (size_t i = 0; i < lr.n_values; i++) {
        const Kh__Value *a = lr.values[i];
        const Kh__Value *b = find_value(&wr, a->orgunit, a->indicator);
        if (!b)
            fail_msg("%s/%s missing from the wide form", a->orgunit, a->indicator);
        assert_string_equal(b->raw, a->raw);
        /* line: the unit's row (data rows start on line 3, district last) */
        assert_in_range(b->line, 3, 2 + n_units);
    }
    /* no (orgunit, indicator) twice */
    for (size_t i = 0; i < wr.n_values; i++)
        assert_ptr_equal(find_value(&wr, wr.values[i]->orgunit, wr.values[i]->indicator),
                         wr.values[i]);
    assert_int_equal(kh_report_set_str(&wr.district, "829"), 0);
    size_t errors = kh_validate(g_cat, &wr, TODAY, &f);
    if (errors)
        dump(&f);
    assert_int_equal(errors, 0);
    clear(&wr, &f);
    kh_report_clear(&lr);
}

/* ---- setup ---------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    char err[256];
    g_cat = kh_catalog_load("data", 620, 1205, err, sizeof err);
    if (!g_cat) {
        fprintf(stderr, "catalogue: %s\n", err);
        return -1;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/kh-test-wide-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(g_demo, sizeof g_demo, "%s/demo", g_dir);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "python3 scripts/gen-demo-data.py %s 2>/dev/null", g_demo);
    return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    kh_catalog_destroy(&g_cat);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- the template ------------------------------------------------------------------- */

static void check_template_shape(const char *period, int half, size_t n_communes)
{
    size_t len;
    char *buf = slurp(write_template(period, NODE_TPL_CSV), &len);
    /* BOM, CRLF only */
    assert_true(len > 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0);
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r'))
            fail_msg("a bare LF at byte %zu", i);
    assert_true(len >= 2 && buf[len - 2] == '\r' && buf[len - 1] == '\n');
    table_t t;
    table_read(&t, buf, len);
    free(buf);

    /* columns: the indicators of this half, catalogue order */
    size_t n_inds = 0;
    for (size_t i = 0; i < kh_catalog_indicator_count(g_cat); i++) {
        const kh_indicator_t *d = kh_catalog_indicator_at(g_cat, i);
        if (half == 1 ? d->in_s1 : d->in_s2) {
            assert_true(3 + n_inds < (size_t)t.nf[0]);
            assert_string_equal(t.rows[0][3 + n_inds], d->code);
            assert_string_equal(t.rows[1][3 + n_inds], d->name_vi);
            n_inds++;
        }
    }
    assert_int_equal(t.nf[0], 3 + n_inds);
    assert_string_equal(t.rows[0][0], "period");
    assert_string_equal(t.rows[0][1], "orgunit");
    assert_string_equal(t.rows[0][2], "orgunit_name");
    assert_string_equal(t.rows[1][0], "Kỳ báo cáo");
    assert_string_equal(t.rows[1][1], "Mã đơn vị");
    assert_string_equal(t.rows[1][2], "Tên đơn vị");

    /* rows: the communes in force at the period end in file order, the district last */
    const kh_unit_t *cs[64];
    kh_period_t p;
    assert_int_equal(kh_period_parse(period, &p), 0);
    size_t nc = kh_catalog_units_on(g_cat, 3, "829", kh_period_end(&p), cs, 64);
    assert_int_equal(nc, n_communes);
    assert_int_equal(t.n, 2 + n_communes + 1);
    for (int i = 2; i < t.n; i++) {
        assert_int_equal(t.nf[i], 3 + n_inds);
        assert_string_equal(t.rows[i][0], period);
        const kh_unit_t *u = (size_t)(i - 2) < nc ? cs[i - 2] : NULL;
        assert_string_equal(t.rows[i][1], u ? u->code : "829");
        assert_string_equal(t.rows[i][2], u ? u->name : "Thành phố Bến Tre");
        for (int j = 3; j < t.nf[i]; j++)
            assert_string_equal(t.rows[i][j], "");
    }
    table_free(&t);
}

static void test_template_2019s2(void **state)
{
    (void)state;
    check_template_shape("2019S2", 2, 17);
    size_t len;
    char *buf = slurp(write_template("2019S2", NODE_TPL_CSV), &len);
    table_t t;
    table_read(&t, buf, len);
    free(buf);
    assert_true(row_has_name(&t, "Phường 1"));
    assert_true(row_has_name(&t, "Phường 2"));     /* 28777 before it became An Hội */
    assert_true(row_has_name(&t, "Xã Mỹ Thành"));
    assert_false(row_has_name(&t, "Phường An Hội"));
    /* every indicator of the catalogue but Book Day (21 April: S1 only) is reported in
     * S2; the Lifelong Learning Week (1–7 October) is */
    assert_int_equal(t.nf[0], 3 + 38);
    int week = 0;
    for (int j = 0; j < t.nf[0]; j++) {
        if (strcmp(t.rows[0][j], "TT.NGAY_SACH") == 0) fail_msg("Book Day in the S2 template");
        week |= strcmp(t.rows[0][j], "TT.TUAN_LE") == 0;
    }
    assert_true(week);
    table_free(&t);
}

static void test_template_2020s1(void **state)
{
    (void)state;
    check_template_shape("2020S1", 1, 14);
    size_t len;
    char *buf = slurp(write_template("2020S1", NODE_TPL_CSV), &len);
    table_t t;
    table_read(&t, buf, len);
    free(buf);
    assert_true(row_has_name(&t, "Phường An Hội"));
    assert_false(row_has_name(&t, "Phường 1"));
    assert_false(row_has_name(&t, "Phường 3"));
    assert_false(row_has_name(&t, "Xã Mỹ Thành"));
    static const char *const s2_only[] = {"TTHTCD.XEP_LOAI", "GDHT.CONG_NHAN", "CDX.DIEM",
                                          "CDX.XEP_LOAI", "TH.DVHT", "TT.TUAN_LE"};
    for (size_t k = 0; k < sizeof s2_only / sizeof s2_only[0]; k++)
        for (int j = 0; j < t.nf[0]; j++)
            if (strcmp(t.rows[0][j], s2_only[k]) == 0)
                fail_msg("S2-only %s in the S1 template", s2_only[k]);
    table_free(&t);
}

static void test_template_errors(void **state)
{
    (void)state;
    char err[512], path[160];
    snprintf(path, sizeof path, "%s/e.csv", g_dir);
    unlink(path);
    assert_int_equal(node_template_write(g_cat, "999", "2019S2", NODE_TPL_CSV, path, 0, err,
                                         sizeof err), 2);
    assert_non_null(strstr(err, "is not a reporting unit on 2019-12-31"));
    assert_null(strchr(err, '\n'));
    /* a commune is no district */
    assert_int_equal(node_template_write(g_cat, "28756", "2019S2", NODE_TPL_CSV, path, 0, err,
                                         sizeof err), 2);
    static const char *const bad[] = {"2019", "2019S3", "2017-2020", "19S2", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(node_template_write(g_cat, "829", bad[i], NODE_TPL_CSV, path, 0, err,
                                             sizeof err), 2);
        assert_non_null(strstr(err, "Malformed period"));   /* the validator's words */
        assert_non_null(strstr(err, "Kỳ báo cáo"));
    }
    assert_int_equal(access(path, F_OK), -1);     /* nothing written */
    assert_int_equal(node_template_write(g_cat, "829", "2019S2", NODE_TPL_CSV, path, 0, err,
                                         sizeof err), 0);
    /* an existing file is kept unless force */
    assert_int_equal(node_template_write(g_cat, "829", "2020S1", NODE_TPL_CSV, path, 0, err,
                                         sizeof err), 1);
    assert_non_null(strstr(err, "exists"));
    size_t len;
    char *buf = slurp(path, &len);
    assert_non_null(strstr(buf, "\r\n2019S2,"));
    free(buf);
    assert_int_equal(node_template_write(g_cat, "829", "2020S1", NODE_TPL_CSV, path, 1, err,
                                         sizeof err), 0);
    buf = slurp(path, &len);
    assert_non_null(strstr(buf, "\r\n2020S1,"));
    free(buf);
}

static void test_template_xlsx(void **state)
{
    (void)state;
    const char *path = write_template("2019S2", NODE_TPL_XLSX);
    size_t len;
    char *buf = slurp(path, &len);
    assert_true(len > 2000);
    assert_memory_equal(buf, "PK\x03\x04", 4);
    /* handed to the parser by mistake: a clear message, not "invalid UTF-8" */
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    assert_int_equal(kh_report_parse_csv(buf, len, &r, &f), 1);
    assert_one_syntax(&f, 1, "Excel");
    free(buf);
    clear(&r, &f);
    path = write_template("2020S1", NODE_TPL_XLSX);
    buf = slurp(path, &len);
    assert_memory_equal(buf, "PK", 2);
    free(buf);
}

/* ---- filled templates ------------------------------------------------------------------ */

static void test_filled_2019s2_equals_long_form(void **state)
{
    (void)state;
    check_roundtrip("2019S2", 18);
}

static void test_filled_2020s1_equals_long_form(void **state)
{
    (void)state;
    check_roundtrip("2020S1", 15);
}

/* The demo's 829-2019S2 has one option left empty (a commune without a learning
 * centre has no centre rating): NONE in the wide form, "" in the report. */
static void test_none_is_the_empty_option(void **state)
{
    (void)state;
    Kh__Report lr = KH__REPORT__INIT;
    char filled[256];
    fill_template("2019S2", &lr, filled, sizeof filled);
    size_t n_empty = 0;
    for (size_t i = 0; i < lr.n_values; i++)
        n_empty += lr.values[i]->raw[0] == '\0';
    assert_true(n_empty >= 1);       /* the case is really exercised */
    size_t len;
    char *buf = slurp(filled, &len);
    assert_non_null(strstr(buf, ",NONE,"));
    free(buf);
    kh_report_clear(&lr);
}

/* A cell left empty is no value: kh_validate reports it missing. */
static void test_empty_cell_is_missing(void **state)
{
    (void)state;
    Kh__Report lr = KH__REPORT__INIT, wr = KH__REPORT__INIT;
    char filled[256];
    fill_template("2020S1", &lr, filled, sizeof filled);
    size_t len;
    char *buf = slurp(filled, &len);
    /* empty the HO.TONG cell of the first commune row (line 3) */
    table_t t;
    table_read(&t, buf, len);
    free(buf);
    int col = -1;
    for (int j = 0; j < t.nf[0]; j++)
        if (strcmp(t.rows[0][j], "HO.TONG") == 0)
            col = j;
    assert_true(col > 3);
    char *s = NULL;
    size_t sl = 0;
    FILE *m = open_memstream(&s, &sl);
    for (int i = 0; i < t.n; i++) {
        for (int j = 0; j < t.nf[i]; j++) {
            if (j)
                fputc(',', m);
            csv_cell(m, i == 2 && j == col ? "" : t.rows[i][j]);
        }
        fputs("\n", m);
    }
    fclose(m);
    kh_findings_t f = {0};
    assert_int_equal(kh_report_parse_csv(s, sl, &wr, &f), 0);
    assert_int_equal(wr.n_values, lr.n_values - 1);
    assert_null(find_value(&wr, t.rows[2][1], "HO.TONG"));
    assert_int_equal(kh_report_set_str(&wr.district, "829"), 0);
    size_t errors = kh_validate(g_cat, &wr, TODAY, &f);
    size_t missing = 0;
    for (size_t i = 0; i < f.n; i++)
        if (strcmp(f.items[i]->code, "MISSING_VALUE") == 0) {
            missing++;
            assert_string_equal(f.items[i]->orgunit, t.rows[2][1]);
            assert_string_equal(f.items[i]->indicator, "HO.TONG");
        }
    if (missing != 1)
        dump(&f);
    assert_int_equal(missing, 1);
    assert_true(errors >= 1);
    free(s);
    table_free(&t);
    clear(&wr, &f);
    kh_report_clear(&lr);
}

/* ---- the wide form's syntax ---------------------------------------------------------- */

#define WHDR "period,orgunit,orgunit_name,HO.TONG,CDX.XEP_LOAI,TT.TIN_BAI\n"
#define WNAMES "Kỳ báo cáo,Mã đơn vị,Tên đơn vị,Tổng số hộ,Xếp loại,\"Tin, bài\"\n"

static void test_wide_values_and_lines(void **state)
{
    (void)state;
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    const char *s = WHDR WNAMES
                    "2020S2,28756,Phường Phú Khương,1200,TOT,\n"
                    "2020S2,28757,Phường Phú Tân, 980 ,NONE,\n"
                    "\n"
                    "2020S2,829,Thành phố Bến Tre,,,14\n";
    assert_int_equal(parse_str(s, &r, &f), 0);
    assert_int_equal(f.n, 0);
    assert_string_equal(r.period, "2020S2");
    assert_int_equal(r.n_values, 5);
    static const struct { const char *org, *ind, *raw; uint32_t line; } want[] = {
        {"28756", "HO.TONG", "1200", 3}, {"28756", "CDX.XEP_LOAI", "TOT", 3},
        {"28757", "HO.TONG", "980", 4},  {"28757", "CDX.XEP_LOAI", "", 4},
        {"829", "TT.TIN_BAI", "14", 6}};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(r.values[i]->orgunit, want[i].org);
        assert_string_equal(r.values[i]->indicator, want[i].ind);
        assert_string_equal(r.values[i]->raw, want[i].raw);
        assert_int_equal(r.values[i]->line, want[i].line);
    }
    clear(&r, &f);
    /* without the names row, and the unit name ignored */
    s = WHDR "2020S2,28756,,1200,TOT,\n";
    assert_int_equal(parse_str(s, &r, &f), 0);
    assert_int_equal(r.n_values, 2);
    assert_int_equal(r.values[0]->line, 2);
    clear(&r, &f);
}

static void test_wide_bom_crlf(void **state)
{
    (void)state;
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    const char *s = "\xEF\xBB\xBF"
                    "period,orgunit,orgunit_name,HO.TONG,CDX.XEP_LOAI\r\n"
                    "Kỳ báo cáo,Mã đơn vị,Tên đơn vị,Tổng số hộ,Xếp loại\r\n"
                    "2020S2,28756,Phường Phú Khương,1200,TOT\r\n"
                    "2020S2,28757,Phường Phú Tân,980,KHA";        /* no final newline */
    assert_int_equal(parse_str(s, &r, &f), 0);
    assert_int_equal(r.n_values, 4);
    assert_string_equal(r.values[1]->raw, "TOT");
    assert_string_equal(r.values[3]->raw, "KHA");
    assert_int_equal(r.values[3]->line, 4);
    clear(&r, &f);
}

static void test_wide_semicolons(void **state)
{
    (void)state;
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    const char *s = "\xEF\xBB\xBF"
                    "period;orgunit;orgunit_name;HO.TONG;CDX.DIEM\r\n"
                    "Kỳ báo cáo;Mã đơn vị;Tên đơn vị;Tổng số hộ;\"Điểm; CĐHT\"\r\n"
                    "2020S2;28756;Phường Phú Khương;1200;82,5\r\n"
                    "2020S2;28757;Phường Phú Tân;1.893;82,125\r\n"
                    "2020S2;28758;Phường 8;1,234;0,5\r\n";
    assert_int_equal(parse_str(s, &r, &f), 0);
    assert_int_equal(f.n, 0);
    assert_int_equal(r.n_values, 6);
    assert_string_equal(r.values[1]->indicator, "CDX.DIEM");
    /* the decimal comma and dot thousands of the locale that saves ';', read as such */
    assert_string_equal(r.values[1]->raw, "82.5");
    assert_string_equal(r.values[2]->raw, "1893");
    assert_string_equal(r.values[3]->raw, "82,125");       /* 82.125 or 82125: as typed */
    /* one comma before 3 digits: 1.234 here, 1234 in English: kept for kh_value's rules */
    assert_string_equal(r.values[4]->raw, "1,234");
    assert_string_equal(r.values[5]->raw, "0.5");
    clear(&r, &f);
    /* a comma file keeps its own rules: nothing rewritten */
    s = "period,orgunit,orgunit_name,HO.TONG,CDX.DIEM\r\n"
        "2020S2,28756,Phường Phú Khương,1.893,\"82,5\"\r\n";
    assert_int_equal(parse_str(s, &r, &f), 0);
    assert_string_equal(r.values[0]->raw, "1.893");
    assert_string_equal(r.values[1]->raw, "82,5");
    clear(&r, &f);
}

/* The names row as LibreOffice's default CSV (Latin-1) writes it: a letter it cannot
 * write becomes '?'; the row is still the names row, skipped. */
static void test_wide_names_row_lossy(void **state)
{
    (void)state;
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    const char *s = "period,orgunit,orgunit_name,HO.TONG\n"
                    "K? báo cáo,M? ??n v?,T?n ??n v?,T?ng s? h?\n"
                    "2020S2,28756,Ph??ng Phú Kh??ng,1200\n";
    assert_int_equal(parse_str(s, &r, &f), 0);
    assert_int_equal(r.n_values, 1);
    assert_int_equal(r.values[0]->line, 3);
    clear(&r, &f);
    /* only a '?' for one character: a longer or different cell is a row */
    s = "period,orgunit,orgunit_name,HO.TONG\n"
        "K?? báo cáo,28756,x,1200\n";
    parse_str(s, &r, &f);
    assert_int_equal(r.n_values, 1);
    clear(&r, &f);
}

/* After a CSV syntax error the parser goes on with the next line: still with ';'. */
static void test_wide_semicolons_after_syntax_error(void **state)
{
    (void)state;
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    const char *s = "period;orgunit;orgunit_name;HO.TONG;DS.TONG\r\n"
                    "2020S2;28756;Phường \"Phú\" Khương;1200;5000\r\n"
                    "2020S2;28757;Phường Phú Tân;980;4000\r\n";
    assert_int_equal(parse_str(s, &r, &f), 1);
    assert_one_syntax(&f, 2, "CSV syntax");
    assert_int_equal(r.n_values, 2);
    assert_string_equal(r.values[0]->orgunit, "28757");
    assert_string_equal(r.values[1]->raw, "4000");
    assert_int_equal(r.values[1]->line, 3);
    clear(&r, &f);
}

static void test_wide_field_count(void **state)
{
    (void)state;
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    const char *s = WHDR WNAMES
                    "2020S2,28756,Phường Phú Khương,1200,TOT,\n"
                    "2020S2,28757,Phường Phú Tân,980,KHA\n";
    assert_int_equal(parse_str(s, &r, &f), 1);
    assert_one_syntax(&f, 4, "the header has 6");
    clear(&r, &f);
    s = WHDR "2020S2,28756,Phường Phú Khương,1200,TOT,,7\n";
    assert_int_equal(parse_str(s, &r, &f), 1);
    assert_one_syntax(&f, 2, "7 fields");
    clear(&r, &f);
}

static void test_wide_two_periods(void **state)
{
    (void)state;
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    const char *s = WHDR WNAMES
                    "2020S2,28756,Phường Phú Khương,1200,TOT,\n"
                    "2020S2,28757,Phường Phú Tân,980,KHA,\n"
                    "2020S1,829,Thành phố Bến Tre,,,14\n";
    assert_int_equal(parse_str(s, &r, &f), 1);
    assert_one_syntax(&f, 5, "differs");
    clear(&r, &f);
}

static void test_wide_duplicate_code(void **state)
{
    (void)state;
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    const char *s = "period,orgunit,orgunit_name,HO.TONG,DS.TONG,HO.TONG\n"
                    "2020S2,28756,Phường Phú Khương,1200,5000,1300\n";
    assert_int_equal(parse_str(s, &r, &f), 1);
    assert_one_syntax(&f, 1, "column F");
    clear(&r, &f);
}

static void test_wide_column_without_code(void **state)
{
    (void)state;
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    /* trailing columns a spreadsheet added are ignored while empty */
    const char *s = "period,orgunit,orgunit_name,HO.TONG,,\n"
                    "2020S2,28756,Phường Phú Khương,1200,,\n"
                    "2020S2,28757,Phường Phú Tân,980,,\n";
    assert_int_equal(parse_str(s, &r, &f), 0);
    assert_int_equal(r.n_values, 2);
    clear(&r, &f);
    s = "period,orgunit,orgunit_name,HO.TONG,,\n"
        "2020S2,28756,Phường Phú Khương,1200,,\n"
        "2020S2,28757,Phường Phú Tân,980,,ghi chú\n";
    assert_int_equal(parse_str(s, &r, &f), 1);
    assert_one_syntax(&f, 3, "cell F3");
    clear(&r, &f);
}

static void test_wide_row_without_unit(void **state)
{
    (void)state;
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    /* a row with neither unit nor values is skipped (a blank row, a note) */
    const char *s = WHDR
                    "2020S2,28756,Phường Phú Khương,1200,TOT,\n"
                    ",,,,,\n"
                    ",,Ghi chú: số liệu tạm tính,,,\n"
                    "2020S2,,Phường Phú Tân,980,KHA,\n";
    assert_int_equal(parse_str(s, &r, &f), 1);
    assert_one_syntax(&f, 5, "no unit code");
    assert_int_equal(r.n_values, 2);
    clear(&r, &f);
}

static void test_wide_multiline_names_row(void **state)
{
    (void)state;
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    const char *s = "period,orgunit,orgunit_name,HO.TONG\n"
                    "Kỳ báo cáo,Mã đơn vị,Tên đơn vị,\"Tổng số\nhộ gia đình\"\n"
                    "2020S2,28756,Phường Phú Khương,1200\n"
                    "2020S2,28757,Phường Phú Tân,x,y\n";
    assert_int_equal(parse_str(s, &r, &f), 1);
    assert_one_syntax(&f, 5, "5 fields");   /* line 5: the quoted name spans 2-3 */
    clear(&r, &f);
}

static void test_wide_unfilled_template(void **state)
{
    (void)state;
    size_t len;
    char *buf = slurp(write_template("2019S2", NODE_TPL_CSV), &len);
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    assert_int_equal(kh_report_parse_csv(buf, len, &r, &f), 1);
    assert_one_syntax(&f, 3, "no values");
    free(buf);
    clear(&r, &f);
}

static void test_wide_unknown_indicator(void **state)
{
    (void)state;
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    const char *s = "period,orgunit,orgunit_name,HO.TONG,XX.KHONG_CO\n"
                    "Kỳ báo cáo,Mã đơn vị,Tên đơn vị,Tổng số hộ,?\n"
                    "2019S2,28756,Phường Phú Khương,1200,\n"
                    "2019S2,28757,Phường Phú Tân,980,3\n";
    assert_int_equal(parse_str(s, &r, &f), 0);
    assert_int_equal(r.n_values, 3);
    assert_string_equal(r.values[2]->indicator, "XX.KHONG_CO");
    assert_int_equal(kh_report_set_str(&r.district, "829"), 0);
    kh_validate(g_cat, &r, TODAY, &f);
    const Kh__Finding *u = NULL;
    for (size_t i = 0; i < f.n; i++)
        if (strcmp(f.items[i]->code, "UNKNOWN_INDICATOR") == 0)
            u = f.items[i];
    assert_non_null(u);
    assert_string_equal(u->indicator, "XX.KHONG_CO");
    assert_int_equal(u->line, 4);     /* the first row with a value in that column */
    clear(&r, &f);
}

static void test_header_neither_form(void **state)
{
    (void)state;
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    const char *s = "period,orgunit,name,HO.TONG\n2020S2,28756,x,1200\n";
    assert_int_equal(parse_str(s, &r, &f), 1);
    assert_one_syntax(&f, 1, "orgunit_name");
    clear(&r, &f);
}

static void test_long_form_unchanged(void **state)
{
    (void)state;
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    const char *s = "period,orgunit,indicator,value\n"
                    "2020S2,28756,HO.TONG,1200\n"
                    "2020S2,28756,CDX.XEP_LOAI,\n"
                    "2020S2,28756,CDX.XEP_LOAI,NONE\n";    /* the long form keeps NONE as written */
    assert_int_equal(parse_str(s, &r, &f), 0);
    assert_int_equal(r.n_values, 3);
    assert_string_equal(r.values[1]->raw, "");
    assert_string_equal(r.values[2]->raw, "NONE");
    clear(&r, &f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_2019s2),
        cmocka_unit_test(test_template_2020s1),
        cmocka_unit_test(test_template_errors),
        cmocka_unit_test(test_template_xlsx),
        cmocka_unit_test(test_filled_2019s2_equals_long_form),
        cmocka_unit_test(test_filled_2020s1_equals_long_form),
        cmocka_unit_test(test_none_is_the_empty_option),
        cmocka_unit_test(test_empty_cell_is_missing),
        cmocka_unit_test(test_wide_values_and_lines),
        cmocka_unit_test(test_wide_bom_crlf),
        cmocka_unit_test(test_wide_semicolons),
        cmocka_unit_test(test_wide_semicolons_after_syntax_error),
        cmocka_unit_test(test_wide_names_row_lossy),
        cmocka_unit_test(test_wide_field_count),
        cmocka_unit_test(test_wide_two_periods),
        cmocka_unit_test(test_wide_duplicate_code),
        cmocka_unit_test(test_wide_column_without_code),
        cmocka_unit_test(test_wide_row_without_unit),
        cmocka_unit_test(test_wide_multiline_names_row),
        cmocka_unit_test(test_wide_unfilled_template),
        cmocka_unit_test(test_wide_unknown_indicator),
        cmocka_unit_test(test_header_neither_form),
        cmocka_unit_test(test_long_form_unchanged),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
