/*
 * template.c — `kh-node template`; see template.h.
 */
#include "template.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "kh_report.h"
#include "kh_service.h"
#include "kh_util.h"

/* The rows and columns of one template. */
typedef struct {
    char period[12];                    /* canonical "YYYYSn" or "YYYY" */
    kh_period_t p;
    const kh_catalog_t *cat;
    int32_t end;                        /* the period's last day */
    const kh_unit_t *district;          /* the reporting unit */
    const kh_unit_t **units;            /* the units below it (depth first), then itself */
    size_t n_units;
    const kh_indicator_t **inds;        /* indicators of this half, catalogue order */
    size_t n_inds;
} tpl_t;

static void tpl_free(tpl_t *t)
{
    free(t->units);
    free(t->inds);
    memset(t, 0, sizeof *t);
}

/* 0, 2 (user mistake, err set) or -1 (out of memory, err set). */
static int tpl_build(const kh_catalog_t *c, const char *district, const char *period, tpl_t *t,
                     char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    char vi[512], en[512];
    if (kh_catalog_check_period(c, period, &t->p, vi, sizeof vi, en, sizeof en) < 0) {
        snprintf(err, errlen, "%s / %s", vi, en);
        return 2;
    }
    kh_period_format(&t->p, t->period, sizeof t->period);
    int32_t end = kh_period_end(&t->p);
    const kh_unit_t *d = district ? kh_catalog_unit_on(c, district, end) : NULL;
    if (!d || kh_catalog_reports(c, d->code, end) != 1) {
        snprintf(err, errlen, "mã '%.20s' không phải là đơn vị báo cáo vào ngày %d-%02d-%02d: "
                 "hãy kiểm tra mã đơn vị / '%.20s' is not a reporting unit on %d-%02d-%02d: "
                 "check the unit code", district ? district : "",
                 end / 10000, end / 100 % 100, end % 100, district ? district : "",
                 end / 10000, end / 100 % 100, end % 100);
        return 2;
    }
    if (!(c = kh_catalog_for(c, end))) {
        snprintf(err, errlen, "không có chương trình nào có hiệu lực vào ngày %d-%02d-%02d (cuối "
                 "kỳ %s): kỳ này không có báo cáo / no programme is in force on %d-%02d-%02d "
                 "(the end of %s): nothing is reported for it", end / 10000, end / 100 % 100,
                 end % 100, t->period, end / 10000, end / 100 % 100, end % 100, t->period);
        return 2;
    }
    t->cat = c;
    t->end = end;
    t->district = d;
    size_t nu = kh_catalog_report_units(c, d->code, end, NULL, 0);
    size_t ni = kh_catalog_indicator_count(c);
    t->units = calloc(nu ? nu : 1, sizeof *t->units);
    t->inds = calloc(ni ? ni : 1, sizeof *t->inds);
    if (!t->units || !t->inds) {
        tpl_free(t);
        snprintf(err, errlen, "hết bộ nhớ / out of memory");
        return -1;
    }
    /* the units the report covers, the reporting unit first: moved to the last row */
    t->n_units = kh_catalog_report_units(c, d->code, end, t->units, nu);
    memmove(t->units, t->units + 1, (t->n_units - 1) * sizeof *t->units);
    t->units[t->n_units - 1] = d;
    for (size_t i = 0; i < ni; i++) {
        const kh_indicator_t *ind = kh_catalog_indicator_at(c, i);
        if (t->p.kind == KH_P_YEAR || (t->p.half == 1 ? ind->in_s1 : ind->in_s2))
            t->inds[t->n_inds++] = ind;
    }
    return 0;
}

/* Whether the cell of unit u and indicator ind is to be filled. */
static int applies(const kh_unit_t *u, const kh_indicator_t *ind)
{
    return u->level == ind->level;
}

/* ---- CSV ------------------------------------------------------------------------------- */

static void csv_put(FILE *f, const char *s, int first)
{
    if (!first)
        fputc(',', f);
    kh_csv_field(f, s);
}

static int write_csv(const tpl_t *t, FILE *f)
{
    fputs("\xEF\xBB\xBF", f);
    fputs("period,orgunit,orgunit_name", f);
    for (size_t j = 0; j < t->n_inds; j++)
        csv_put(f, t->inds[j]->code, 0);
    fputs("\r\n", f);
    fputs(KH_WIDE_NAMES_FIRST ",Mã đơn vị,Tên đơn vị", f);
    for (size_t j = 0; j < t->n_inds; j++)
        csv_put(f, t->inds[j]->name_vi ? t->inds[j]->name_vi : "", 0);
    fputs("\r\n", f);
    for (size_t i = 0; i < t->n_units; i++) {
        csv_put(f, t->period, 1);
        csv_put(f, t->units[i]->code, 0);
        csv_put(f, t->units[i]->name ? t->units[i]->name : "", 0);
        for (size_t j = 0; j < t->n_inds; j++)
            fputc(',', f);
        fputs("\r\n", f);
    }
    return ferror(f) ? -1 : 0;
}

/* ---- XLSX ------------------------------------------------------------------------------ */

static const char *vtype_vi(kh_vtype_t v)
{
    switch (v) {
    case KH_VT_COUNT: return "số lượng";
    case KH_VT_MONEY: return "tiền (đồng)";
    case KH_VT_FLAG: return "có/không (1/0)";
    case KH_VT_SCORE: return "điểm";
    case KH_VT_OPTION: return "lựa chọn";
    }
    return "";
}


/* Input checks on the cells of column `col` in rows r0..r1 (Excel shows them while
 * typing; kh-node checks again anyway). */
static void xlsx_validation(lxw_worksheet *ws, const kh_indicator_t *ind, lxw_row_t r0,
                            lxw_row_t r1, lxw_col_t col)
{
    static char title[] = "Giá trị không hợp lệ";
    static char m_count[] = "Nhập số nguyên không âm, không có dấu phân cách.";
    static char m_money[] = "Nhập số tiền bằng đồng: số nguyên không âm.";
    static char m_flag[] = "Nhập 1 (có) hoặc 0 (không).";
    static char m_score[] = "Nhập điểm trong khoảng cho phép (thường 0–100).";
    static char m_option[] = "Chọn một mã trong danh sách (NONE: không có gì để xếp loại).";
    char *list[KH_MAX_OPTIONS + 2] = {0};
    lxw_data_validation v;
    memset(&v, 0, sizeof v);
    v.error_title = title;
    switch (ind->vtype) {
    case KH_VT_COUNT:
        v.validate = LXW_VALIDATION_TYPE_INTEGER;
        v.criteria = LXW_VALIDATION_CRITERIA_GREATER_THAN_OR_EQUAL_TO;
        v.value_number = 0;
        v.error_message = m_count;
        break;
    case KH_VT_MONEY:     /* decimal: Excel's whole-number check may stop at 2^31 */
        v.validate = LXW_VALIDATION_TYPE_DECIMAL;
        v.criteria = LXW_VALIDATION_CRITERIA_GREATER_THAN_OR_EQUAL_TO;
        v.value_number = 0;
        v.error_message = m_money;
        break;
    case KH_VT_FLAG:
        v.validate = LXW_VALIDATION_TYPE_INTEGER;
        v.criteria = LXW_VALIDATION_CRITERIA_BETWEEN;
        v.minimum_number = 0;
        v.maximum_number = 1;
        v.error_message = m_flag;
        break;
    case KH_VT_SCORE:
        v.validate = LXW_VALIDATION_TYPE_DECIMAL;
        v.criteria = LXW_VALIDATION_CRITERIA_BETWEEN;
        v.minimum_number = ind->score_min;
        v.maximum_number = ind->score_max;
        v.error_message = m_score;
        break;
    case KH_VT_OPTION: {
        int n = 0;
        for (int k = 0; k < ind->n_options && k < KH_MAX_OPTIONS; k++)
            list[n++] = (char *)ind->options[k];
        list[n++] = (char *)KH_WIDE_NO_OPTION;
        list[n] = NULL;
        v.validate = LXW_VALIDATION_TYPE_LIST;
        v.value_list = list;
        v.error_message = m_option;
        break;
    }
    }
    worksheet_data_validation_range(ws, r0, col, r1, col, &v);
}

static int xlsx_instructions(lxw_workbook *wb, const tpl_t *t, lxw_format *bold,
                             lxw_format *wrap, lxw_format *hdr)
{
    lxw_worksheet *ws = workbook_add_worksheet(wb, "Hướng dẫn");
    if (!ws)
        return -1;
    worksheet_set_column(ws, 0, 0, 18, NULL);
    worksheet_set_column(ws, 1, 1, 70, wrap);
    worksheet_set_column(ws, 2, 2, 12, NULL);
    worksheet_set_column(ws, 3, 3, 16, NULL);
    worksheet_set_column(ws, 4, 4, 14, NULL);
    worksheet_set_paper(ws, 9);                     /* A4 */
    worksheet_fit_to_pages(ws, 1, 0);
    char line[512], label[64];
    lxw_row_t r = 0;
    kh_period_label(&t->p, 0, label, sizeof label);
    snprintf(line, sizeof line, "Mẫu báo cáo khuyến học, khuyến tài, xây dựng xã hội học tập — "
             "%s (mã %s), kỳ %s (%s)", t->district->name, t->district->code, t->period, label);
    worksheet_write_string(ws, r++, 0, line, bold);
    r++;
    char how[512];
    if (t->n_units > 1)
        snprintf(how, sizeof how, "Trang \"Báo cáo\": mỗi đơn vị trực thuộc %s một dòng; dòng "
                 "cuối là số liệu của chính %s. Ô tô xám là chỉ tiêu không áp dụng cho đơn vị "
                 "đó: để trống.", t->district->name, t->district->name);
    else
        snprintf(how, sizeof how, "Trang \"Báo cáo\": một dòng, số liệu của %s. Ô tô xám là "
                 "chỉ tiêu không áp dụng: để trống.", t->district->name);
    const char *const steps[][2] = {
        {"Cách điền", how},
        {"", "Không sửa dòng 1 (mã chỉ tiêu) và các cột Kỳ báo cáo, Mã đơn vị. Dòng 2 và cột Tên "
             "đơn vị chỉ để đọc."},
        {"", "Mọi chỉ tiêu của kỳ này đều bắt buộc: ô bỏ trống được coi là chưa báo cáo và "
             "kh-node sẽ báo thiếu số liệu."},
        {"Số lượng", "Số nguyên không âm, không ghi dấu phân cách hàng nghìn (ví dụ 1250)."},
        {"Tiền", "Số nguyên tính bằng đồng (không phải nghìn đồng), ví dụ 15000000."},
        {"Có/không", "1 = có, 0 = không."},
        {"Điểm", "Từ 0 đến 100, có thể có phần thập phân (ví dụ 82,5 trên máy cài tiếng "
                 "Việt, 82.5 trên máy cài tiếng Anh)."},
        {"Lựa chọn", "Ghi mã của lựa chọn, theo \"Danh sách lựa chọn\" bên dưới. Ghi NONE khi "
                     "không có gì để xếp loại (ví dụ đơn vị chưa có trung tâm học tập cộng đồng)."},
        {"Nộp báo cáo", "Lưu tệp như thường, vẫn là sổ làm việc .xlsx (Excel: Tệp ▸ Lưu / File ▸ "
                        "Save; LibreOffice Calc: Tệp ▸ Lưu / File ▸ Save, chọn \"Dùng định dạng "
                        "Excel 2007-365!\" / \"Use Excel 2007-365!\"), rồi nộp chính tệp .xlsx: "
                        "trên trang web của kh-node, bằng lệnh kh-node submit, hoặc chép vào thư "
                        "mục spool. kh-node đọc trực tiếp trang \"Báo cáo\" của tệp .xlsx: không "
                        "cần lưu thành CSV."},
        {"Hoặc CSV", "Nếu muốn nộp tệp CSV — Excel: Tệp ▸ Lưu thành ▸ CSV UTF-8 (phân tách bằng "
                     "dấu phẩy) / File ▸ Save As ▸ CSV UTF-8 (Comma delimited). LibreOffice Calc: "
                     "Tệp ▸ Lưu thành… / File ▸ Save As…, Kiểu tệp \"Văn bản CSV (.csv)\" / "
                     "\"Text CSV (.csv)\", rồi trong hộp Xuất tệp văn bản / Export Text File: Bộ "
                     "ký tự / Character set \"Unicode (UTF-8)\", Dấu phân cách trường / Field "
                     "delimiter \",\" hoặc \";\". kh-node cũng đọc CSV thường của Excel "
                     "(Windows-1258), UTF-16, và tệp dùng dấu chấm phẩy với dấu phẩy thập phân "
                     "của máy cài tiếng Việt (1.893 là 1893, 12,5 là 12.5). Tệp .xls cũ thì không: "
                     "hãy lưu thành .xlsx."},
        {"In", "Trang \"Báo cáo\" in trên giấy A4 khổ ngang, vừa một trang theo chiều ngang; "
               "hai dòng tiêu đề và các cột mã, tên đơn vị được in lại trên mỗi trang "
               "(Tệp ▸ In / File ▸ Print)."},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        worksheet_write_string(ws, r, 0, steps[i][0], bold);
        worksheet_write_string(ws, r++, 1, steps[i][1], wrap);
    }
    r++;
    worksheet_write_string(ws, r++, 0, "Danh sách lựa chọn", bold);
    static const char *const oh[] = {"Mã chỉ tiêu", "Tên chỉ tiêu", "Mã", "Ý nghĩa"};
    for (lxw_col_t k = 0; k < 4; k++)
        worksheet_write_string(ws, r, k, oh[k], hdr);
    r++;
    int n_opt = 0;
    for (size_t j = 0; j < t->n_inds; j++)
        n_opt += t->inds[j]->vtype == KH_VT_OPTION;
    if (!n_opt)
        worksheet_write_string(ws, r++, 0, "(kỳ này không có chỉ tiêu lựa chọn)", NULL);
    for (size_t j = 0; j < t->n_inds; j++) {
        const kh_indicator_t *ind = t->inds[j];
        if (ind->vtype != KH_VT_OPTION)
            continue;
        for (int k = 0; k <= ind->n_options; k++) {
            worksheet_write_string(ws, r, 0, ind->code, NULL);
            worksheet_write_string(ws, r, 1, ind->name_vi ? ind->name_vi : "", wrap);
            const char *code = k < ind->n_options ? ind->options[k] : KH_WIDE_NO_OPTION;
            worksheet_write_string(ws, r, 2, code, NULL);
            const char *label = k < ind->n_options
                                    ? kh_catalog_option_label(t->cat, ind, k, 0)
                                    : "Không có gì để xếp loại";
            worksheet_write_string(ws, r++, 3, label ? label : "", NULL);
        }
    }
    r++;
    worksheet_write_string(ws, r++, 0, "Danh sách chỉ tiêu", bold);
    static const char *const ih[] = {"Mã chỉ tiêu", "Tên chỉ tiêu", "Cấp", "Kiểu", "Đơn vị tính"};
    for (lxw_col_t k = 0; k < 5; k++)
        worksheet_write_string(ws, r, k, ih[k], hdr);
    r++;
    for (size_t j = 0; j < t->n_inds; j++, r++) {
        const kh_indicator_t *ind = t->inds[j];
        worksheet_write_string(ws, r, 0, ind->code, NULL);
        worksheet_write_string(ws, r, 1, ind->name_vi ? ind->name_vi : "", wrap);
        char lw[128];
        kh_catalog_level_word(t->cat, ind->level, t->end, 0, lw, sizeof lw);
        worksheet_write_string(ws, r, 2, lw, NULL);
        worksheet_write_string(ws, r, 3, vtype_vi(ind->vtype), NULL);
        worksheet_write_string(ws, r, 4, ind->unit ? ind->unit : "", NULL);
    }
    return 0;
}

static int write_xlsx(const tpl_t *t, const char *path)
{
    lxw_workbook *wb = workbook_new(path);
    if (!wb)
        return -1;
    char title[256];
    snprintf(title, sizeof title, "Mẫu báo cáo khuyến học — %s — %s", t->district->name,
             t->period);
    lxw_doc_properties props = {0};
    props.title = title;
    props.subject = "Báo cáo khuyến học, khuyến tài, xây dựng xã hội học tập";
    workbook_set_properties(wb, &props);

    lxw_format *hdr = workbook_add_format(wb);
    format_set_bold(hdr);
    format_set_num_format(hdr, "@");
    format_set_bg_color(hdr, 0xDDEBF7);
    format_set_bottom(hdr, LXW_BORDER_THIN);
    lxw_format *names = workbook_add_format(wb);
    format_set_bold(names);
    format_set_text_wrap(names);
    format_set_align(names, LXW_ALIGN_VERTICAL_TOP);
    format_set_bg_color(names, 0xDDEBF7);
    format_set_bottom(names, LXW_BORDER_THIN);
    lxw_format *text = workbook_add_format(wb);
    format_set_num_format(text, "@");
    lxw_format *whole = workbook_add_format(wb);    /* no separators: a CSV copy stays plain */
    format_set_num_format(whole, "0");
    lxw_format *na = workbook_add_format(wb);       /* a cell that does not apply to the row */
    format_set_pattern(na, LXW_PATTERN_SOLID);
    format_set_bg_color(na, 0xD9D9D9);
    lxw_format *bold = workbook_add_format(wb);
    format_set_bold(bold);
    format_set_align(bold, LXW_ALIGN_VERTICAL_TOP);
    lxw_format *wrap = workbook_add_format(wb);
    format_set_text_wrap(wrap);
    format_set_align(wrap, LXW_ALIGN_VERTICAL_TOP);

    lxw_worksheet *ws = workbook_add_worksheet(wb, "Báo cáo");
    if (!ws) {
        workbook_close(wb);
        return -1;
    }
    static const char *const fixed[3][2] = {
        {"period", KH_WIDE_NAMES_FIRST}, {"orgunit", "Mã đơn vị"}, {"orgunit_name", "Tên đơn vị"}};
    worksheet_set_column(ws, 0, 0, 11, text);
    worksheet_set_column(ws, 1, 1, 11, text);
    worksheet_set_column(ws, 2, 2, 24, text);
    worksheet_set_row(ws, 1, 96, NULL);
    for (lxw_col_t k = 0; k < 3; k++) {
        worksheet_write_string(ws, 0, k, fixed[k][0], hdr);
        worksheet_write_string(ws, 1, k, fixed[k][1], names);
    }
    for (size_t j = 0; j < t->n_inds; j++) {
        const kh_indicator_t *ind = t->inds[j];
        lxw_col_t col = (lxw_col_t)(3 + j);
        lxw_format *f = ind->vtype == KH_VT_OPTION ? text
                        : ind->vtype == KH_VT_SCORE ? NULL : whole;
        worksheet_set_column(ws, col, col, 16, f);
        worksheet_write_string(ws, 0, col, ind->code, hdr);
        worksheet_write_string(ws, 1, col, ind->name_vi ? ind->name_vi : "", names);
    }
    for (size_t i = 0; i < t->n_units; i++) {
        lxw_row_t r = (lxw_row_t)(2 + i);
        worksheet_write_string(ws, r, 0, t->period, text);
        worksheet_write_string(ws, r, 1, t->units[i]->code, text);
        worksheet_write_string(ws, r, 2, t->units[i]->name ? t->units[i]->name : "", text);
        for (size_t j = 0; j < t->n_inds; j++)
            if (!applies(t->units[i], t->inds[j]))
                worksheet_write_blank(ws, r, (lxw_col_t)(3 + j), na);
    }
    /* input checks on the cells to fill, per run of rows of one level */
    for (size_t i = 0; i < t->n_units;) {
        size_t k = i + 1;
        while (k < t->n_units && t->units[k]->level == t->units[i]->level)
            k++;
        for (size_t j = 0; j < t->n_inds; j++)
            if (applies(t->units[i], t->inds[j]))
                xlsx_validation(ws, t->inds[j], (lxw_row_t)(2 + i), (lxw_row_t)(2 + k - 1),
                                (lxw_col_t)(3 + j));
        i = k;
    }
    worksheet_freeze_panes(ws, 2, 3);
    /* printed on A4 landscape, one page wide; the two header rows and the unit code and
     * name columns on every page */
    worksheet_set_paper(ws, 9);
    worksheet_set_landscape(ws);
    worksheet_set_margins(ws, 0.4, 0.4, 0.6, 0.6);
    worksheet_fit_to_pages(ws, 1, 0);
    worksheet_repeat_rows(ws, 0, 1);
    worksheet_repeat_columns(ws, 1, 2);
    char foot[320];
    snprintf(foot, sizeof foot, "&L%s — %s&RTrang &P / &N", t->district->name, t->period);
    worksheet_set_footer(ws, foot);
    worksheet_activate(ws);
    int bad = xlsx_instructions(wb, t, bold, wrap, hdr) < 0;
    lxw_error e = workbook_close(wb);
    return bad || e != LXW_NO_ERROR ? -1 : 0;
}

/* ---- writing the file ------------------------------------------------------------------ */

int node_template_write(const kh_catalog_t *c, const char *district, const char *period,
                        node_tpl_format_t fmt, const char *path, int force, char *err,
                        size_t errlen)
{
    tpl_t t;
    int rc = tpl_build(c, district, period, &t, err, errlen);
    if (rc != 0)
        return rc < 0 ? 1 : rc;
    struct stat st;
    if (!force && stat(path, &st) == 0) {
        tpl_free(&t);
        snprintf(err, errlen, "%s: tệp đã có, dùng --force để ghi đè / the file exists; "
                 "--force overwrites it", path);
        return 1;
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) {
        tpl_free(&t);
        snprintf(err, errlen, "hết bộ nhớ / out of memory");
        return 1;
    }
    snprintf(tmp, plen + 32, "%s.tmp%d", path, (int)getpid());
    int bad;
    errno = 0;
    if (fmt == NODE_TPL_XLSX) {
        bad = write_xlsx(&t, tmp) < 0;
    } else {
        FILE *f = fopen(tmp, "wb");
        bad = !f;
        if (f) {
            bad = write_csv(&t, f) < 0;
            bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
            bad |= fclose(f) != 0;
        }
    }
    if (!bad && rename(tmp, path) < 0)
        bad = 1;
    if (bad) {
        snprintf(err, errlen, "không ghi được / cannot write %s%s%s", path, errno ? ": " : "",
                 errno ? strerror(errno) : "");
        unlink(tmp);
    }
    free(tmp);
    tpl_free(&t);
    return bad;
}

/* ---- the command ----------------------------------------------------------------------- */

static const char template_usage[] =
    "usage: kh-node template --district CODE --period YYYYSn|YYYY [--format csv|xlsx]\n"
    "                        [--output FILE] [--force] [--config FILE]\n"
    "  writes the fill-in report template of a reporting unit for a report period (a\n"
    "  half-year, or the year where the programme reports once a year): one row per unit\n"
    "  below it in force at the period end and one for the unit itself, one column per\n"
    "  indicator of that period.  Default FILE: CODE-PERIOD-mau.csv (or .xlsx);\n"
    "  an existing file is kept unless --force.  The format follows FILE's extension\n"
    "  when --format is not given.  kh-node reads the CSV form: save a filled XLSX as\n"
    "  \"CSV UTF-8\" before submitting it.\n";

int node_template_main(int argc, char **argv)
{
    const char *district = NULL, *period = NULL, *format = NULL, *output = NULL, *cfg = NULL,
               *level = "warn";
    int force = 0;
    static const struct option opts[] = {{"district", required_argument, 0, 'd'},
                                         {"period", required_argument, 0, 'p'},
                                         {"format", required_argument, 0, 'F'},
                                         {"output", required_argument, 0, 'o'},
                                         {"force", no_argument, 0, 'f'},
                                         {"config", required_argument, 0, 'c'},
                                         {"log-level", required_argument, 0, 'l'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "d:p:o:fc:l:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': district = optarg; break;
        case 'p': period = optarg; break;
        case 'F': format = optarg; break;
        case 'o': output = optarg; break;
        case 'f': force = 1; break;
        case 'c': cfg = optarg; break;
        case 'l': level = optarg; break;
        case 'h': fputs(template_usage, stdout); return 0;
        default: fprintf(stderr, "kh-node: bad option; see kh-node template --help\n"); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kh-node: unexpected argument '%s'; see kh-node template --help\n",
                argv[optind]);
        return 2;
    }
    if (!district || !*district || strlen(district) >= KH_CODE_MAX || !period) {
        fprintf(stderr, "kh-node: cần --district MÃ và --period KỲ / --district CODE and "
                        "--period P are required (--district: the reporting unit's code in units.csv; --period: e.g. 2019S2)\n");
        return 2;
    }
    node_tpl_format_t fmt = NODE_TPL_CSV;
    if (format) {
        if (strcmp(format, "xlsx") == 0) {
            fmt = NODE_TPL_XLSX;
        } else if (strcmp(format, "csv") != 0) {
            fprintf(stderr, "kh-node: --format phải là csv hoặc xlsx / --format must be csv or "
                            "xlsx\n");
            return 2;
        }
    } else if (output) {
        size_t l = strlen(output);
        if (l > 5 && strcasecmp(output + l - 5, ".xlsx") == 0)
            fmt = NODE_TPL_XLSX;
    }
    kh_period_t p;
    if (kh_period_parse(period, &p) < 0 || (p.kind != KH_P_HALF && p.kind != KH_P_YEAR)) {
        fprintf(stderr, "kh-node: kỳ báo cáo '%.16s' không hợp lệ, cần dạng 2019S2 (nửa năm) "
                        "hoặc 2026 (năm) / malformed period '%.16s': expected a half-year such "
                        "as 2019S2 or a year such as 2026\n", period, period);
        return 2;
    }
    char defpath[KH_CODE_MAX + 32], pstr[12];
    if (!output) {
        kh_period_format(&p, pstr, sizeof pstr);
        snprintf(defpath, sizeof defpath, "%s-%s-mau.%s", district, pstr,
                 fmt == NODE_TPL_XLSX ? "xlsx" : "csv");
        output = defpath;
    }
    kh_service_t s;
    memset(&s, 0, sizeof s);
    if (kh_service_start(&s, "node", "node-cli", cfg, level, district) < 0)
        return 1;
    kh_catalog_t *cat = kh_service_catalog(&s);
    int rc = 1;
    if (cat) {
        char err[1024];
        rc = node_template_write(cat, district, period, fmt, output, force, err, sizeof err);
        if (rc == 0)
            printf("%s: đã ghi mẫu báo cáo / template written\n", output);
        else
            fprintf(stderr, "kh-node: %s\n", err);
        kh_catalog_destroy(&cat);
    }
    kh_service_fini(&s);
    return rc;
}
