/*
 * kh_report.h — the report codec: a report file to a Kh__Report and back.  Files are
 * UTF-8 with optional BOM, CRLF or LF, quoted fields allowed; the delimiter is the
 * comma, or the semicolon when the header starts `period;` (what a spreadsheet in a
 * comma-decimal locale such as Vietnamese saves as "CSV"; in such a file a value cell is
 * read with that locale's dot thousands and decimal comma — "1.893" is 1893, "12,5" is
 * 12.5, the normal case and no warning — and its raw is that reading in the form every
 * stage reads the same way (kh_value_decimal_comma: "1893", "12.5"); a genuinely
 * ambiguous cell is kept as typed, for kh_value_parse's rules).  Parsing finds every
 * syntax problem (bad header, wrong number of fields, more than one period, invalid
 * UTF-8, a field too long, an Excel workbook instead of CSV) with its line; what the
 * values mean is kh_validate's business.  Two forms, told apart by the header:
 *
 * Long form — header `period,orgunit,indicator,value`, one row per value.
 *
 * Wide form — what `kh-node template` writes (services/node/template.c):
 *   line 1   period,orgunit,orgunit_name,<indicator code>,<indicator code>,…
 *   line 2   Kỳ báo cáo,Mã đơn vị,Tên đơn vị,<Vietnamese name>,…   (optional)
 *   then     one row per unit: period, unit code, unit name (for people, ignored),
 *            then one cell per indicator column.
 *   - Every non-empty indicator cell is a value (orgunit from the row, indicator from
 *     the header, line = the row's line); an empty cell is no value (not reported:
 *     kh_validate says MISSING_VALUE where the indicator was due).  The cell
 *     KH_WIDE_NO_OPTION ("NONE") is an option given as empty — the long form's empty
 *     option (nothing to rate) — and becomes raw "".
 *   - A row whose first cell is KH_WIDE_NAMES_FIRST is the names row and is skipped
 *     (wherever it is).  A row with no unit code and no values is skipped (blank or a
 *     note); one with values but no unit code is an error.
 *   - Every row has the header's number of fields; the period is the same on every
 *     row; codes are not checked here (an unknown one reaches kh_validate as
 *     UNKNOWN_INDICATOR at the first row using it), but a code twice in the header is
 *     an error (line 1), and so is a value under a column whose header cell is empty
 *     (such columns are otherwise ignored, e.g. trailing ones a spreadsheet added).
 */
#ifndef KH_REPORT_H
#define KH_REPORT_H

#include <stddef.h>
#include <stdio.h>
#include "kh.pb-c.h"
#include "kh_findings.h"

#define KH_REPORT_MAX_BYTES (16u << 20)   /* a file larger than this is refused */
#define KH_REPORT_MAX_VALUES 200000
#define KH_FIELD_MAX 512
#define KH_WIDE_MAX_COLS 1024                /* fields of a wide-form row */
#define KH_WIDE_NAMES_FIRST "Kỳ báo cáo"     /* first cell of the wide form's names row */
#define KH_WIDE_NO_OPTION "NONE"             /* wide-form cell: an option given as empty */

/* Parses buf (either form) into r (whose values and period it allocates: free with
 * kh_report_clear).  Appends syntax problems to f.  Returns the number of syntax
 * errors (0: r holds the values), or -1 when out of memory. */
int kh_report_parse_csv(const char *buf, size_t len, Kh__Report *r, kh_findings_t *f);

/* Frees what kh_report_parse_csv (or kh_report_set_str) allocated in r, leaving
 * an empty report. */
void kh_report_clear(Kh__Report *r);

/* Replaces *field (a string of r) with a copy of v.  Returns 0 or -1. */
int kh_report_set_str(char **field, const char *v);

/* Writes the long form of r to f.  Returns 0 or -1. */
int kh_report_write_csv(const Kh__Report *r, FILE *f);
/* Writes one CSV field to f: as it is, or in quotes (a quote doubled) when it holds a
 * comma, a quote or a line break, or begins or ends with a space (which a spreadsheet
 * would drop). */
void kh_csv_field(FILE *f, const char *s);

/* The id of a unit's report for a period, everywhere the same: "<unit>-<period>"
 * ("829-2019S1").  Returns 0, or -1 when it does not fit in cap (out is then ""). */
#define KH_REPORT_ID_MAX 96
int kh_report_id(char *out, size_t cap, const char *unit, const char *period);

/* ---- the form of a report from outside ----
 * What the collector checks before storing a REPORT a node sent (issue 11: one field
 * that a later stage cannot handle must never get past the door): every string is
 * valid UTF-8 without control characters (the file name may not hold them either:
 * kh-node escapes names it shows), ids and codes within their lengths, the period
 * well-formed (kh_period_parse), at most max_values values.  The revision's bound
 * against the last one seen needs the collector's database and is checked there. */
typedef struct {
    const char *code;           /* NOT_UTF8, PERIOD_MALFORMED, TOO_LARGE, BAD_FIELD */
    char field[32];             /* which field: "period", "values[12].raw", … */
} kh_form_error_t;

/* Returns 0 when r has the form, else -1 with e filled in. */
int kh_report_form(const Kh__Report *r, size_t max_values, kh_form_error_t *e);

/* 1 when s (NUL-terminated) is valid UTF-8 without C0 controls or DEL. */
int kh_text_ok(const char *s);

#endif
