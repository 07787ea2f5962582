/*
 * kh_period.h — the reporting periods and their arithmetic, without the catalogue:
 * "YYYYS1" / "YYYYS2" (half-years), "YYYY" (a year) and "YYYY-YYYY" (a programme, for
 * roll-ups); parsing, the first and last day, the canonical text, the words people
 * use, and the half-years a period covers.  Which periods a programme reports and when
 * they are due depend on the catalogue: kh_catalog.h (kh_catalog_is_report_period,
 * kh_period_due, kh_catalog_report_periods).
 *
 * Days are integers yyyymmdd (20200201); years 1000..9999.
 */
#ifndef KH_PERIOD_H
#define KH_PERIOD_H

#include <stddef.h>
#include <stdint.h>

typedef enum { KH_P_HALF, KH_P_YEAR, KH_P_PROGRAMME } kh_pkind_t;
typedef struct {
    kh_pkind_t kind;
    int year, half;          /* KH_P_HALF: half 1 or 2; KH_P_YEAR: half 0 */
    int year_to;             /* KH_P_PROGRAMME: years year..year_to */
} kh_period_t;

/* 0 on success, -1 if `s` is not a well-formed period. */
int kh_period_parse(const char *s, kh_period_t *out);
int32_t kh_period_end(const kh_period_t *p);              /* last day, yyyymmdd */
/* First day of a half-year (1 January or 1 July), or of a year or programme's first
 * year (1 January). */
int32_t kh_period_start(const kh_period_t *p);
/* The canonical text of p: "2026S1", "2026", "2021-2030" (at least 10 bytes). */
void kh_period_format(const kh_period_t *p, char *buf, size_t cap);
/* p as people say it: "6 tháng đầu năm 2020" / "January-June 2020", "năm 2020" / "the
 * year 2020", "giai đoạn 2017–2020" / "2017-2020" (en != 0: English). */
void kh_period_label(const kh_period_t *p, int en, char *buf, size_t cap);
/* Half-years covered by p, in time order, as "YYYYSn" strings into out (cap entries
 * of 8 bytes).  Returns the count. */
size_t kh_period_halves(const kh_period_t *p, char (*out)[8], size_t cap);
/* The i-th half-year (0: the first) that p covers, in time order, into *out (a
 * KH_P_HALF period).  Returns 1, or 0 when p covers fewer than i + 1 half-years. */
int kh_period_nth_half(const kh_period_t *p, size_t i, kh_period_t *out);
/* The half-year containing day d. */
kh_period_t kh_period_half_of(int32_t d);
/* The half-year after half-year p. */
kh_period_t kh_period_next_half(kh_period_t p);
/* <0, 0, >0 as a ends before, with, after b (by their last days: a year ends with its
 * S2). */
int kh_period_cmp(const kh_period_t *a, const kh_period_t *b);

#endif
