/*
 * series.c — a half-year of the new units beside the last one of the old units they took
 * over (reorg.csv); see series.h.
 */
#include "series.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kh_util.h"

#include <uniwidth.h>

#define SERIES_WIDTH 100        /* the summary's width (report.c): a line of the text */

typedef struct {
    char code[KH_CODE_MAX];          /* the rate's or the indicator's code */
    const kh_target_t *t_now, *t_before;   /* a rate in both programmes, else NULL */
} cmp_t;

/* The cell (period, orgunit, indicator): 1 and its sum, or 0 when absent, -1 on error. */
static int cell(sqlite3_stmt *st, const char *period, const char *org, const char *ind,
                double *sum)
{
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, period, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, org, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ind, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *sum = sqlite3_column_double(st, 0);
        return sqlite3_column_int64(st, 1) > 0;
    }
    return rc == SQLITE_DONE ? 0 : -1;
}

/* A value of a code at one unit: a rate (numerator / denominator × 100) or a sum. */
static int value_at(sqlite3_stmt *st, const char *period, const char *org, const cmp_t *c,
                    const kh_target_t *t, double *out)
{
    if (!t)
        return cell(st, period, org, c->code, out);
    double num, den;
    int a = cell(st, period, org, t->numerator, &num);
    int b = cell(st, period, org, t->denominator, &den);
    if (a < 0 || b < 0)
        return -1;
    if (!a || !b || den <= 0)
        return 0;
    *out = num / den * 100;
    return 1;
}

/* The Vietnamese decimal comma in a number written for people ("87,42"). */
static void comma(char *s)
{
    for (; *s; s++)
        if (*s == '.')
            *s = ',';
}

static void fmt(double v, int is_rate, char *buf, size_t cap)
{
    if (is_rate)
        snprintf(buf, cap, "%.2f", round(v * 100) / 100);
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, cap, "%.0f", v);
    else
        snprintf(buf, cap, "%.2f", v);
}

int kh_feed_series(sqlite3 *db, const kh_catalog_t *cat, const char *period, const char *fmtname,
                   FILE *out)
{
    kh_period_t p;
    if (kh_period_parse(period, &p) < 0 || !kh_catalog_is_report_period(cat, &p)) {
        fprintf(stderr, "kh-feed: series needs the period of a report (a half-year such as "
                "2025S2, or a year where the programme reports yearly), not '%s'\n", period);
        return -1;
    }
    int csv = !strcmp(fmtname, "csv");
    int32_t end = kh_period_end(&p);
    const kh_catalog_t *now = kh_catalog_for(cat, end);
    if (!now) {
        fprintf(stderr, "kh-feed: no programme is in force at the end of %s\n", period);
        return -1;
    }
    /* the latest reorganisation on or before the period's end */
    int32_t date = 0;
    for (size_t i = 0; i < kh_catalog_reorg_count(cat); i++) {
        int32_t d = kh_catalog_reorg_at(cat, i)->date;
        if (d <= end && d > date)
            date = d;
    }
    if (csv)
        fputs("period,orgunit,old_units,indicator,before_period,before,now,comparable\n", out);
    if (!date)
        return 0;
    sqlite3_stmt *st = NULL, *last = NULL;
    if (sqlite3_prepare_v2(db, "SELECT sum, n FROM cell WHERE period=?1 AND orgunit=?2 AND "
                               "indicator=?3", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT max(period) FROM cell WHERE orgunit=?1 AND period < ?2 "
                               "AND length(period) IN (4, 6)", -1, &last, NULL) != SQLITE_OK) {
        fprintf(stderr, "kh-feed: mirror database error: %s\n", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return -1;
    }
    /* the half-year the reorganisation begins in, and the last one before it with cells
     * of an old unit */
    kh_period_t hp = kh_period_half_of(date);
    char first_new[16], before[16] = "";
    snprintf(first_new, sizeof first_new, "%04dS%d", hp.year, hp.half);
    for (size_t i = 0; i < kh_catalog_reorg_count(cat); i++) {
        const kh_reorg_t *r = kh_catalog_reorg_at(cat, i);
        if (r->date != date)
            continue;
        sqlite3_reset(last);
        sqlite3_bind_text(last, 1, r->old_code, -1, SQLITE_STATIC);
        sqlite3_bind_text(last, 2, first_new, -1, SQLITE_STATIC);
        if (sqlite3_step(last) == SQLITE_ROW && sqlite3_column_type(last, 0) == SQLITE_TEXT) {
            const char *b = (const char *)sqlite3_column_text(last, 0);
            if (strcmp(b, before) > 0)
                kh_strlcpy(before, b, sizeof before);
        }
    }
    sqlite3_finalize(last);
    const kh_catalog_t *old = before[0] ? kh_catalog_for_period(cat, before) : NULL;
    if (!old) {
        sqlite3_finalize(st);
        return 0;                   /* no data of the old units: nothing to compare */
    }
    /* the compared codes: the rates both programmes have, then counts and money */
    size_t max_codes = kh_catalog_target_count(now) + kh_catalog_indicator_count(now);
    cmp_t *cmp = calloc(max_codes ? max_codes : 1, sizeof *cmp);
    if (!cmp) {
        fprintf(stderr, "kh-feed: out of memory\n");
        sqlite3_finalize(st);
        return -1;
    }
    size_t nc = 0;
    for (size_t i = 0; i < kh_catalog_target_count(now); i++) {
        const kh_target_t *t = kh_catalog_target_at(now, i);
        for (size_t k = 0; k < kh_catalog_target_count(old); k++)
            if (!strcmp(kh_catalog_target_at(old, k)->code, t->code)) {
                kh_strlcpy(cmp[nc].code, t->code, sizeof cmp[nc].code);
                cmp[nc].t_now = t;
                cmp[nc++].t_before = kh_catalog_target_at(old, k);
                break;
            }
    }
    size_t n_rates = nc;
    for (size_t i = 0; i < kh_catalog_indicator_count(now); i++) {
        const kh_indicator_t *d = kh_catalog_indicator_at(now, i);
        const kh_indicator_t *o = kh_catalog_indicator(old, d->code);
        if (!o || (d->vtype != KH_VT_COUNT && d->vtype != KH_VT_MONEY) ||
            (o->vtype != KH_VT_COUNT && o->vtype != KH_VT_MONEY) || d->tagg != KH_TA_LAST ||
            o->tagg != KH_TA_LAST)
            continue;           /* stocks only: a flow of one half is no series */
        kh_strlcpy(cmp[nc].code, d->code, sizeof cmp[nc].code);
        cmp[nc].t_now = cmp[nc].t_before = NULL;
        nc++;
    }
    char dv[16];
    kh_date_vi(date, dv, sizeof dv);
    if (!csv) {
        fprintf(out, "\nSO SÁNH VỚI TRƯỚC KHI SẮP XẾP ĐƠN VỊ (từ %s)\n\n", dv);
        fprintf(out, "Kỳ %s của đơn vị mới, đặt cạnh kỳ %s của các đơn vị cũ đã nhập trọn vào "
                "đơn vị đó\n(cộng theo bảng sắp xếp reorg.csv). Một đơn vị cũ bị chia cho nhiều "
                "đơn vị mới thì không chia\nsố liệu theo tỷ lệ: đơn vị mới ghi \"không so sánh "
                "được\". Tỷ lệ tính bằng %%.\n", period, before);
        fprintf(out, "Mỗi đơn vị mới: tỷ lệ, kỳ %s → kỳ %s / each new unit: rate, %s → %s.\n\n",
                before, period, before, period);
    }
    int listed = 0, rc = 0;
    size_t nu = kh_catalog_units_on(cat, 0, "", end, NULL, 0);
    const kh_unit_t **units = calloc(nu ? nu : 1, sizeof *units);
    if (!units) {
        fprintf(stderr, "kh-feed: out of memory\n");
        free(cmp);
        sqlite3_finalize(st);
        return -1;
    }
    kh_catalog_units_on(cat, 0, "", end, units, nu);
    sqlite3_stmt *has_cells = NULL;   /* an old unit's cells in the half-year before */
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM cell WHERE period=?1 AND orgunit=?2 LIMIT 1", -1,
                           &has_cells, NULL) != SQLITE_OK)
        rc = -1;
    for (size_t u = 0; u < nu && rc == 0; u++) {
        /* every old unit it took over (as many as reorg.csv lists: no cap, so the sum
         * never silently misses one); their codes, and one line for each old unit that
         * makes the new one not comparable ("    Xã Hòa Lộc 28924 (bị chia)") */
        size_t nr = kh_catalog_reorg_into(cat, units[u]->code, date, NULL, 0);
        if (nr == 0)
            continue;
        const kh_reorg_t **rows = malloc(nr * sizeof *rows);
        char *olds = NULL, *why = NULL;
        size_t olds_len = 0, why_len = 0;
        FILE *fo = rows ? open_memstream(&olds, &olds_len) : NULL;
        FILE *fw = fo ? open_memstream(&why, &why_len) : NULL;
        /* which old units have cells then; comparable when all do and all went whole */
        int any = 0, comparable = 1;
        if (fw)
            kh_catalog_reorg_into(cat, units[u]->code, date, rows, nr);
        for (size_t i = 0; fw && i < nr; i++) {
            sqlite3_reset(has_cells);
            sqlite3_bind_text(has_cells, 1, before, -1, SQLITE_STATIC);
            sqlite3_bind_text(has_cells, 2, rows[i]->old_code, -1, SQLITE_STATIC);
            int has = sqlite3_step(has_cells);
            if (has != SQLITE_ROW && has != SQLITE_DONE)
                rc = -1;
            has = has == SQLITE_ROW;
            any |= has;
            fprintf(fo, "%s%s", i ? " " : "", rows[i]->old_code);
            if (!rows[i]->whole || !has) {
                fprintf(fw, "    %s %s (%s)\n", rows[i]->old_name, rows[i]->old_code,
                        !rows[i]->whole ? "bị chia" : "không có số liệu");
                comparable = 0;
            }
        }
        /* a stream that could not open or grow (out of memory) holds a text cut short */
        int cut = !fw || ferror(fo) || ferror(fw);
        if (fo)
            cut |= fclose(fo) != 0;
        if (fw)
            cut |= fclose(fw) != 0;
        if (rc == 0 && (cut || !olds || !why)) {
            fprintf(stderr, "kh-feed: out of memory\n");
            rc = -2;
        }
        if (rc != 0 || !any)
            goto next_unit;
        listed++;
        char name[320];
        snprintf(name, sizeof name, "%s (%s)", units[u]->name, units[u]->code);
        size_t col = 0;   /* text: the columns used on the line being written */
        if (!csv) {
            fprintf(out, "%s\n", name);
            col = 0;
        }
        for (size_t k = 0; k < (csv ? nc : n_rates); k++) {
            double b = 0, sn = 0, sd = 0, v = 0;
            int have_b = comparable;
            for (size_t i = 0; have_b && i < nr; i++) {
                if (cmp[k].t_before) {
                    double x = 0, y = 0;
                    int a1 = cell(st, before, rows[i]->old_code, cmp[k].t_before->numerator, &x);
                    int a2 = cell(st, before, rows[i]->old_code, cmp[k].t_before->denominator, &y);
                    if (a1 < 0 || a2 < 0)
                        rc = -1;
                    if (a1 <= 0 || a2 <= 0)
                        have_b = 0;
                    sn += x;
                    sd += y;
                } else {
                    int a = cell(st, before, rows[i]->old_code, cmp[k].code, &v);
                    if (a < 0)
                        rc = -1;
                    if (a <= 0)
                        have_b = 0;
                    b += v;
                }
            }
            if (cmp[k].t_before) {
                if (sd > 0)
                    b = sn / sd * 100;
                else
                    have_b = 0;
            }
            double n = 0;
            int have_n = value_at(st, period, units[u]->code, &cmp[k], cmp[k].t_now, &n);
            if (have_n < 0)
                rc = -1;
            char bs[32] = "", ns[32] = "";
            if (have_b)
                fmt(b, cmp[k].t_before != NULL, bs, sizeof bs);
            if (have_n > 0)
                fmt(n, cmp[k].t_now != NULL, ns, sizeof ns);
            if (csv)
                fprintf(out, "%s,%s,%s,%s,%s,%s,%s,%s\n", period, units[u]->code, olds,
                        cmp[k].code, before, bs, ns, comparable ? "yes" : "no");
            else {
                comma(bs);
                comma(ns);
                /* "CODE before → now" items, as many on a line as fit SERIES_WIDTH */
                char item[160];
                snprintf(item, sizeof item, "%s %s → %s", cmp[k].code, have_b ? bs : "–",
                         have_n > 0 ? ns : "–");
                size_t iw = (size_t)u8_strwidth((const uint8_t *)item, "UTF-8");
                if (col > 0 && col + 3 + iw > SERIES_WIDTH) {
                    fputc('\n', out);
                    col = 0;
                }
                fprintf(out, "%s%s", col ? " · " : "  ", item);
                col += (col ? 3 : 2) + iw;
            }
        }
        if (!csv && col)
            fputc('\n', out);
        if (!csv && !comparable)
            fprintf(out, "  không so sánh được / not comparable:\n%s", why);
    next_unit:
        free(olds);
        free(why);
        free(rows);
    }
    sqlite3_finalize(has_cells);
    free(units);
    free(cmp);
    sqlite3_finalize(st);
    if (rc == -1)       /* (-2: out of memory, said above) */
        fprintf(stderr, "kh-feed: mirror database error: %s\n", sqlite3_errmsg(db));
    if (rc < 0)
        return -1;
    if (!csv)
        fprintf(out, "\n%d đơn vị mới có số liệu của đơn vị cũ / %d new units with figures of "
                "their old units.\n", listed, listed);
    return listed;
}
