/*
 * kh_report.h — the report codec: a report file (long form, header
 * `period,orgunit,indicator,value`, UTF-8 with optional BOM, CRLF or LF, quoted
 * fields allowed) to a Kh__Report and back.  Parsing finds every syntax problem
 * (bad header, wrong number of fields, more than one period, invalid UTF-8, a field
 * too long) with its line; what the values mean is kh_validate's business.
 */
#ifndef KH_REPORT_H
#define KH_REPORT_H

#include <stddef.h>
#include <stdio.h>
#include "kh.pb-c.h"
#include "kh_catalog.h"

#define KH_REPORT_MAX_BYTES (16u << 20)   /* a file larger than this is refused */
#define KH_REPORT_MAX_VALUES 200000
#define KH_FIELD_MAX 512

/* Parses buf into r (whose values and period it allocates: free with
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

#endif
