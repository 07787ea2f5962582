/*
 * kh_period.c — period arithmetic (kh_period.h): parsing "2026S1", "2026", "2021-2030"
 * strictly (four-digit years from 1000, a programme's last year after its first), the
 * first and last day, the canonical text and the words people use.  Pure functions of
 * their arguments: no catalogue, no clock, no state.
 */
#include "kh_period.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int four_digits(const char *s, int *out)
{
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)s[i]))
            return -1;
    if (s[0] == '0')
        return -1;   /* years 1000..9999 */
    *out = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    return 0;
}

int kh_period_parse(const char *s, kh_period_t *out)
{
    if (!s || !out)
        return -1;
    size_t n = strnlen(s, 16);
    kh_period_t p = { KH_P_HALF, 0, 0, 0 };
    if (n < 4 || four_digits(s, &p.year) < 0)
        return -1;
    if (n == 4) {
        p.kind = KH_P_YEAR;
    } else if (n == 6 && s[4] == 'S' && (s[5] == '1' || s[5] == '2')) {
        p.kind = KH_P_HALF;
        p.half = s[5] - '0';
    } else if (n == 9 && s[4] == '-' && four_digits(s + 5, &p.year_to) == 0 &&
               p.year_to > p.year) {
        p.kind = KH_P_PROGRAMME;
    } else {
        return -1;
    }
    if (p.kind != KH_P_PROGRAMME)
        p.year_to = p.year;
    *out = p;
    return 0;
}

int32_t kh_period_end(const kh_period_t *p)
{
    if (!p)
        return 0;
    switch (p->kind) {
    case KH_P_HALF: return p->year * 10000 + (p->half == 1 ? 630 : 1231);
    case KH_P_YEAR: return p->year * 10000 + 1231;
    case KH_P_PROGRAMME: return p->year_to * 10000 + 1231;
    }
    return 0;
}

int32_t kh_period_start(const kh_period_t *p)
{
    if (!p)
        return 0;
    return p->year * 10000 + (p->kind == KH_P_HALF && p->half == 2 ? 701 : 101);
}

/* Empties buf (when it has room) and says whether there is a period to write into it. */
static int text_begin(const kh_period_t *p, char *buf, size_t cap)
{
    if (!buf || !cap)
        return 0;
    buf[0] = '\0';
    return p != NULL;
}

void kh_period_format(const kh_period_t *p, char *buf, size_t cap)
{
    if (!text_begin(p, buf, cap))
        return;
    switch (p->kind) {
    case KH_P_HALF: snprintf(buf, cap, "%04dS%d", p->year % 10000, p->half == 2 ? 2 : 1); break;
    case KH_P_YEAR: snprintf(buf, cap, "%04d", p->year % 10000); break;
    case KH_P_PROGRAMME:
        snprintf(buf, cap, "%04d-%04d", p->year % 10000, p->year_to % 10000);
        break;
    }
}

void kh_period_label(const kh_period_t *p, int en, char *buf, size_t cap)
{
    if (!text_begin(p, buf, cap))
        return;
    switch (p->kind) {
    case KH_P_HALF:
        if (en)
            snprintf(buf, cap, "%s %d", p->half == 1 ? "January-June" : "July-December",
                     p->year);
        else
            snprintf(buf, cap, "6 tháng %s năm %d", p->half == 1 ? "đầu" : "cuối", p->year);
        break;
    case KH_P_YEAR: snprintf(buf, cap, en ? "the year %d" : "năm %d", p->year); break;
    case KH_P_PROGRAMME:
        snprintf(buf, cap, en ? "%d-%d" : "giai đoạn %d–%d", p->year, p->year_to);
        break;
    }
}

int kh_period_nth_half(const kh_period_t *p, size_t i, kh_period_t *out)
{
    if (!p || !out)
        return 0;
    if (p->kind == KH_P_HALF) {
        if (i > 0)
            return 0;
        *out = (kh_period_t){ KH_P_HALF, p->year, p->half, p->year };
        return 1;
    }
    int y_to = p->kind == KH_P_PROGRAMME ? p->year_to : p->year;
    if (y_to < p->year || i >= 2 * (size_t)(y_to - p->year + 1))
        return 0;
    int y = p->year + (int)(i / 2);
    *out = (kh_period_t){ KH_P_HALF, y, (int)(i % 2) + 1, y };
    return 1;
}

size_t kh_period_halves(const kh_period_t *p, char (*out)[8], size_t cap)
{
    size_t n = 0;
    kh_period_t h;
    for (; kh_period_nth_half(p, n, &h); n++)
        if (out && n < cap)
            kh_period_format(&h, out[n], 8);
    return n;
}

kh_period_t kh_period_half_of(int32_t d)
{
    kh_period_t p = {KH_P_HALF, d / 10000, d / 100 % 100 <= 6 ? 1 : 2, 0};
    return p;
}

kh_period_t kh_period_next_half(kh_period_t p)
{
    if (p.half == 1) {
        p.half = 2;
    } else {
        p.half = 1;
        p.year++;
    }
    return p;
}

int kh_period_cmp(const kh_period_t *a, const kh_period_t *b)
{
    int32_t ea = kh_period_end(a), eb = kh_period_end(b);
    return (ea > eb) - (ea < eb);
}
