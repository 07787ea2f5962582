/*
 * kh_value.h — reading one cell of a report as a value of its indicator: a count or a
 * sum of money (whole, not negative), a flag (0 or 1), a score within the indicator's
 * range, or one of its option codes (empty: no option).  Numbers are read as people
 * type them in Vietnamese and English spreadsheets ("1.234.567", "1,234,567", "72,5");
 * a separator that could be read two ways is refused, never guessed (kh_value.c says
 * how each form is read).
 */
#ifndef KH_VALUE_H
#define KH_VALUE_H

#include <stddef.h>
#include "kh_indicator.h"

typedef struct {
    int is_empty;            /* an option left blank (NONE) */
    double num;              /* count, money, flag, score */
    int option;              /* KH_VT_OPTION: index into options[], -1 when empty */
    int normalised;          /* 1 when thousands separators were removed */
} kh_value_t;

/* Parses `raw` as a value of `ind`.  Returns 0 and fills out, or -1 and writes a
 * bilingual reason ("không phải số / not a number") into the two buffers. */
int kh_value_parse(const kh_indicator_t *ind, const char *raw, kh_value_t *out,
                   char *why_vi, size_t vi_len, char *why_en, size_t en_len);

/* A cell of a file whose decimal mark is the comma (a semicolon CSV: what a spreadsheet
 * in the Vietnamese locale saves) rewritten, where that locale reads it one way only,
 * into the form kh_value_parse reads the same way without a warning: dot thousands and
 * a decimal comma ("1.893" → "1893", "1.234.567,5" → "1234567.5", "12,5" → "12.5",
 * "12,0" → "12").  A cell that is plain digits, that is no number, or that is
 * genuinely ambiguous — one comma before exactly 3 digits and no dot ("1,234": 1.234 in
 * this locale, 1234 as an English file types it) — is kept as it is, for
 * kh_value_parse's usual rules (a warning or a refusal).  A fraction of exactly 3
 * digits gets a fourth, "0", so that it is never taken for a thousands group.
 * Returns 1 when out (cap bytes) holds the rewritten cell, 0 when raw is kept. */
int kh_value_decimal_comma(const char *raw, char *out, size_t cap);

/* Whether two cells of `ind` hold the same value, however each is written: both are
 * read by kh_value_parse (a cell it refuses is read again as kh_value_decimal_comma
 * rewrites it, and with the blanks that group thousands read as a separator: "1 893", a no-break or
 * a thin space), so "1893", "1.893" and "1 893" are one count and "12,5" and "12.5" one
 * score.  Returns KH_OK (kh_result.h) when both are read and equal (the spelling alone
 * may differ), KH_NO when they differ or either cannot be read as a value of `ind`
 * (then only an identical text is the same: KH_OK). */
int kh_value_same(const kh_indicator_t *ind, const char *a, const char *b);

#endif
