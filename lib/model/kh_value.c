/*
 * kh_value.c — one cell read as a value of its indicator (kh_value.h).  The reasons it
 * gives are bilingual and say what to type instead; it never changes what a number
 * means to make it fit (an ambiguous separator is refused).
 */
#include "kh_value.h"
#include "kh_result.h"
#include "kh_util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/*
 * Numbers as people type them in Vietnamese and English spreadsheets.
 *
 * A number is an optional '-' followed by digit groups separated by '.' or ','
 * (no leading or trailing separator, no two in a row).  How separators are read:
 *
 *  - none: a plain integer ("1234567").
 *  - both '.' and ',': the last separator is the decimal mark and must occur once;
 *    the other kind groups thousands ("1.234.567,5" or "1,234,567.5").
 *  - one kind, two or more times: thousands separators ("1.234.567", "1,234,567").
 *  - one separator, once ("12.500", "1,5"):
 *      count and money are whole numbers, so a decimal mark is impossible: it is a
 *      thousands separator when it is followed by exactly 3 digits and preceded by
 *      1-3 digits not starting with 0 ("12.500" = 12500); anything else ("1,5",
 *      "1.23", "0.500") is rejected as ambiguous;
 *      a score may have decimals: followed by 3 digits after 1-3 digits not starting
 *      with 0 ("1.500") it could be either and is rejected; otherwise it is the
 *      decimal mark ("72.5", "72,5" = 72.5).
 *  In every thousands reading, the first group has 1-3 digits and every later group
 *  exactly 3; otherwise the number is rejected.  `normalised` is set whenever
 *  thousands separators were removed, so the validator can warn.  Flags are exactly
 *  "0" or "1".  At most 15 significant digits (money in đồng fits; doubles stay exact).
 */
typedef enum {
    NUM_OK, NUM_NOT_NUMBER, NUM_AMBIGUOUS, NUM_TOO_LARGE
} numerr_t;

static numerr_t parse_grouped(const char *s, int allow_decimal, double *out, int *neg,
                              int *has_fraction, int *grouped)
{
    *neg = 0;
    *has_fraction = 0;
    *grouped = 0;
    if (*s == '-') {
        *neg = 1;
        s++;
    }
    /* Split into digit groups and separators. */
    enum { MAXG = 32 };
    const char *gs[MAXG];
    size_t gl[MAXG];
    char sep[MAXG];
    size_t ng = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return NUM_NOT_NUMBER;
    for (;;) {
        if (ng >= MAXG)
            return NUM_TOO_LARGE;
        gs[ng] = p;
        while (isdigit((unsigned char)*p))
            p++;
        gl[ng] = (size_t)(p - gs[ng]);
        if (gl[ng] == 0)
            return NUM_NOT_NUMBER;   /* separator at the end or two in a row */
        if (*p == '\0') {
            sep[ng++] = '\0';
            break;
        }
        if (*p != '.' && *p != ',')
            return NUM_NOT_NUMBER;
        sep[ng++] = *p++;
    }
    size_t nsep = ng - 1;
    size_t n_dot = 0, n_comma = 0;
    for (size_t i = 0; i < nsep; i++)
        *(sep[i] == '.' ? &n_dot : &n_comma) += 1;
    size_t int_groups = ng;        /* groups forming the integer part */
    int thousands = 0;
    if (nsep == 0) {
        /* plain integer */
    } else if (n_dot && n_comma) {
        char dec = sep[nsep - 1];
        if ((dec == '.' ? n_dot : n_comma) != 1)
            return NUM_AMBIGUOUS;
        int_groups = ng - 1;
        thousands = int_groups > 1;
        *has_fraction = 1;
    } else if (nsep >= 2) {
        thousands = 1;
    } else {
        int looks_thousands = gl[0] <= 3 && gs[0][0] != '0' && gl[1] == 3;
        if (!allow_decimal) {
            if (!looks_thousands)
                return NUM_AMBIGUOUS;
            thousands = 1;
        } else {
            if (looks_thousands)
                return NUM_AMBIGUOUS;
            int_groups = 1;
            *has_fraction = 1;
        }
    }
    if (thousands) {
        if (gl[0] > 3 || (gs[0][0] == '0' && int_groups > 1))
            return NUM_AMBIGUOUS;
        for (size_t i = 1; i < int_groups; i++)
            if (gl[i] != 3)
                return NUM_AMBIGUOUS;
        *grouped = 1;
    }
    size_t digits = 0;
    double v = 0;
    for (size_t i = 0; i < int_groups; i++)
        for (size_t k = 0; k < gl[i]; k++) {
            if (++digits > 15 && !(v == 0 && gs[i][k] == '0'))
                return NUM_TOO_LARGE;
            v = v * 10 + (gs[i][k] - '0');
        }
    if (*has_fraction) {
        const char *f = gs[ng - 1];
        double scale = 0.1;
        if (gl[ng - 1] > 15)
            return NUM_TOO_LARGE;
        for (size_t k = 0; k < gl[ng - 1]; k++, scale /= 10)
            v += (f[k] - '0') * scale;
    }
    *out = v;
    return NUM_OK;
}

static void why(char *vi, size_t vi_len, char *en, size_t en_len, const char *m_vi,
                const char *m_en)
{
    if (vi && vi_len)
        snprintf(vi, vi_len, "%s", m_vi);
    if (en && en_len)
        snprintf(en, en_len, "%s", m_en);
}

int kh_value_parse(const kh_indicator_t *ind, const char *raw, kh_value_t *out,
                   char *why_vi, size_t vi_len, char *why_en, size_t en_len)
{
    if (why_vi && vi_len)
        why_vi[0] = '\0';
    if (why_en && en_len)
        why_en[0] = '\0';
    if (!ind || !out) {
        why(why_vi, vi_len, why_en, en_len, "lỗi nội bộ", "internal error");
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->option = -1;
    char buf[128];
    size_t rl = raw ? strlen(raw) : 0;
    if (rl >= sizeof buf) {
        why(why_vi, vi_len, why_en, en_len, "giá trị quá dài", "value too long");
        return -1;
    }
    memcpy(buf, raw ? raw : "", rl + 1);
    char *s = kh_trim(buf);

    if (ind->vtype == KH_VT_OPTION) {
        if (*s == '\0') {
            out->is_empty = 1;
            return 0;
        }
        for (int i = 0; i < ind->n_options; i++)
            if (strcmp(s, ind->options[i]) == 0) {
                out->option = i;
                return 0;
            }
        char list[KH_MAX_OPTIONS * 18] = "";
        size_t used = 0;
        for (int i = 0; i < ind->n_options && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                     ind->options[i]);
        if (why_vi && vi_len)
            snprintf(why_vi, vi_len, "không có trong danh sách; phải là một trong %s hoặc để "
                     "trống", list);
        if (why_en && en_len)
            snprintf(why_en, en_len, "not in the list; must be one of %s, or empty", list);
        return -1;
    }
    if (*s == '\0') {
        why(why_vi, vi_len, why_en, en_len, "ô trống, cần nhập một số",
            "empty; a number is required");
        return -1;
    }
    if (ind->vtype == KH_VT_FLAG) {
        if (strcmp(s, "0") == 0 || strcmp(s, "1") == 0) {
            out->num = s[0] - '0';
            return 0;
        }
        why(why_vi, vi_len, why_en, en_len, "chỉ được là 0 (không) hoặc 1 (có)",
            "must be 0 (no) or 1 (yes)");
        return -1;
    }
    int is_score = ind->vtype == KH_VT_SCORE;
    double v = 0;
    int neg = 0, frac = 0, grouped = 0;
    switch (parse_grouped(s, is_score, &v, &neg, &frac, &grouped)) {
    case NUM_OK:
        break;
    case NUM_NOT_NUMBER:
        why(why_vi, vi_len, why_en, en_len, "không phải là số", "not a number");
        return -1;
    case NUM_TOO_LARGE:
        why(why_vi, vi_len, why_en, en_len, "số quá lớn", "number too large");
        return -1;
    case NUM_AMBIGUOUS:
        if (is_score)
            why(why_vi, vi_len, why_en, en_len,
                "dấu phân cách không rõ ràng: không biết là dấu thập phân hay dấu hàng nghìn "
                "(hàng nghìn phải theo nhóm 3 chữ số, ví dụ 1.234.567)",
                "ambiguous separator: cannot tell a decimal mark from a thousands separator "
                "(thousands come in groups of 3 digits, e.g. 1,234,567)");
        else
            why(why_vi, vi_len, why_en, en_len,
                "dấu phân cách không rõ ràng: số nguyên không có phần thập phân và hàng "
                "nghìn phải theo nhóm 3 chữ số (ví dụ 1.234.567)",
                "ambiguous separator: a whole number has no decimal part and thousands come "
                "in groups of 3 digits (e.g. 1,234,567)");
        return -1;
    }
    if (neg)
        v = -v;
    if (v == 0)
        v = 0;   /* "-0" */
    if (ind->vtype == KH_VT_COUNT || ind->vtype == KH_VT_MONEY) {
        if (v < 0) {
            why(why_vi, vi_len, why_en, en_len, "không được là số âm", "must not be negative");
            return -1;
        }
        if (frac && v != floor(v)) {
            if (ind->vtype == KH_VT_MONEY)
                why(why_vi, vi_len, why_en, en_len, "phải là số đồng chẵn (số nguyên)",
                    "must be a whole number of đồng");
            else
                why(why_vi, vi_len, why_en, en_len, "phải là số nguyên",
                    "must be a whole number");
            return -1;
        }
    } else if (is_score) {
        if (v < ind->score_min || v > ind->score_max) {
            char a[32], b[32];
            kh_fmt_num(ind->score_min, a, sizeof a);
            kh_fmt_num(ind->score_max, b, sizeof b);
            if (why_vi && vi_len)
                snprintf(why_vi, vi_len, "điểm phải nằm trong khoảng %s–%s", a, b);
            if (why_en && en_len)
                snprintf(why_en, en_len, "score must be between %s and %s", a, b);
            return -1;
        }
    }
    out->num = v;
    out->normalised = grouped;
    return 0;
}

int kh_value_decimal_comma(const char *raw, char *out, size_t cap)
{
    char buf[128];
    if (!raw || strlen(raw) >= sizeof buf)
        return 0;
    snprintf(buf, sizeof buf, "%s", raw);
    const char *s = kh_trim(buf);
    char digits[128];
    size_t nd = 0, ndots = 0;
    int neg = *s == '-';
    s += neg;
    /* the integer part: plain digits, or groups of 3 after a first of 1-3 */
    const char *p = s;
    size_t group = 0;
    while (isdigit((unsigned char)*p) || *p == '.') {
        if (*p == '.') {
            if (group != 3 && !(ndots == 0 && group >= 1 && group <= 3))
                return 0;
            if (ndots == 0 && s[0] == '0')
                return 0;           /* "0.500": no thousands group starts with 0 */
            ndots++;
            group = 0;
        } else {
            digits[nd++] = *p;
            group++;
        }
        p++;
    }
    if (nd == 0 || (ndots && group != 3))
        return 0;
    const char *frac = NULL;
    size_t nf = 0;
    if (*p == ',') {
        frac = ++p;
        while (isdigit((unsigned char)*p))
            p++;
        nf = (size_t)(p - frac);
        if (nf == 0)
            return 0;
    }
    if (*p || (!ndots && !frac) || (!ndots && nf == 3))
        return 0;
    int zero = 1;
    for (size_t i = 0; i < nf; i++)
        zero &= frac[i] == '0';
    int n = snprintf(out, cap, "%s%.*s%s%.*s%s", neg ? "-" : "", (int)nd, digits,
                     frac && !zero ? "." : "", frac && !zero ? (int)nf : 0, frac ? frac : "",
                     frac && !zero && nf == 3 ? "0" : "");
    return n > 0 && (size_t)n < cap;
}

/* Reads raw as a value of ind the way kh_value_same says: as it is, else as the
 * decimal-comma locale writes it, else with each blank before a group of 3 digits read
 * as a thousands separator (an ASCII space, U+00A0 no-break space, U+2009 thin space,
 * U+202F narrow no-break space).
 * Returns 0 and fills v, or -1. */
static int read_loose(const kh_indicator_t *ind, const char *raw, kh_value_t *v)
{
    if (kh_value_parse(ind, raw, v, NULL, 0, NULL, 0) == 0)
        return 0;
    char alt[128];
    if (kh_value_decimal_comma(raw, alt, sizeof alt) &&
        kh_value_parse(ind, alt, v, NULL, 0, NULL, 0) == 0)
        return 0;
    if (strlen(raw) >= sizeof alt)
        return -1;
    /* a blank groups thousands only before exactly 3 digits: it becomes the separator
     * the cell does not already use as its decimal mark ("1 893,5" → "1.893,5") */
    char sep = strchr(raw, '.') ? ',' : '.';
    size_t o = 0, dropped = 0;
    for (size_t i = 0; raw[i]; i++) {
        const unsigned char *p = (const unsigned char *)raw + i;
        size_t blank = p[0] == ' ' ? 1
                     : p[0] == 0xC2 && p[1] == 0xA0 ? 2
                     : p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0x89 || p[2] == 0xAF) ? 3 : 0;
        const unsigned char *q = p + blank;
        if (blank && o > 0 && isdigit((unsigned char)alt[o - 1]) && isdigit(q[0]) &&
            isdigit(q[1]) && isdigit(q[2]) && !isdigit(q[3])) {
            i += blank - 1;
            alt[o++] = sep;
            dropped++;
            continue;
        }
        alt[o++] = raw[i];
    }
    alt[o] = '\0';
    if (!dropped)
        return -1;
    if (kh_value_parse(ind, alt, v, NULL, 0, NULL, 0) == 0)
        return 0;
    char alt2[128];
    return kh_value_decimal_comma(alt, alt2, sizeof alt2) &&
                   kh_value_parse(ind, alt2, v, NULL, 0, NULL, 0) == 0
               ? 0
               : -1;
}

int kh_value_same(const kh_indicator_t *ind, const char *a, const char *b)
{
    if (!a || !b)
        return a == b ? KH_OK : KH_NO;
    if (strcmp(a, b) == 0)
        return KH_OK;
    kh_value_t va, vb;
    if (!ind || read_loose(ind, a, &va) < 0 || read_loose(ind, b, &vb) < 0)
        return KH_NO;
    if (ind->vtype == KH_VT_OPTION)
        return va.is_empty == vb.is_empty && va.option == vb.option ? KH_OK : KH_NO;
    return va.num == vb.num ? KH_OK : KH_NO;
}
