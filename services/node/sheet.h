/*
 * sheet.h — a report file as the officer keeps it, turned into the UTF-8 CSV that
 * lib/model/kh_report.c reads.
 *
 *  - XLSX (a zip: "PK\3\4"): read with libzip and libxml2's xmlReader — the sheet named
 *    NODE_SHEET_NAME (the template's), else the workbook's first sheet; shared strings
 *    (rich-text runs joined, phonetic runs left out), inline strings, numbers (written
 *    as the shortest text that reads back to the same double: 1893, 12.5), booleans
 *    (1/0), formulas' cached values; empty and missing cells are empty fields.  Line N
 *    of the CSV is row N of the sheet (a missing row is a blank line, a line break in a
 *    cell becomes a space), so a finding's line is the row the officer sees.  Every
 *    row has as many fields as the sheet's widest row.  Bounds: each part's declared
 *    and read size (NODE_SHEET_PART_MAX: a zip bomb is refused unread), rows, columns,
 *    shared strings, the CSV made (KH_REPORT_MAX_BYTES, the bound of a CSV file).
 *  - An old binary Excel file (.xls, OLE "D0 CF 11 E0") or a zip that is not a
 *    readable workbook: an error finding that says to save as .xlsx or CSV UTF-8.
 *  - CSV: UTF-8 (passed through as it is; with a BOM the BOM is dropped), UTF-16 LE or
 *    BE with a BOM, or without one when the NUL bytes say so; anything else that is not
 *    valid UTF-8 is read as Windows-1258 (what Excel's plain "CSV" writes on a
 *    Vietnamese Windows; glibc's iconv), whose combining tone marks are composed (NFC,
 *    libunistring).  UTF-16 is composed to NFC too.
 * `encoding` names what was read: "UTF-8", "UTF-8 BOM", "UTF-16LE", "UTF-16BE",
 * "Windows-1258", "XLSX"; it goes into the receipts and the submit command's output.
 */
#ifndef KH_NODE_SHEET_H
#define KH_NODE_SHEET_H

#include <stddef.h>

#include "kh_findings.h"

#define NODE_ENCODING_MAX 48
#define NODE_SHEET_NAME "Báo cáo"            /* the template's sheet (template.c) */
/* an XLSX part (a sheet's XML, the shared strings) larger than this once unzipped is
 * refused: a full district report's sheet is well under 10 MB */
#define NODE_SHEET_PART_MAX (64u << 20)
/* rows of the sheet read: a district has at most a few hundred communes */
#define NODE_SHEET_MAX_ROWS 100000u
/* shared strings: every cell of a sheet within the bounds above could be one */
#define NODE_SHEET_MAX_STRINGS 1000000u
/* one cell's text: Excel's own limit */
#define NODE_SHEET_CELL_MAX 32767u

/* Decodes buf (len bytes, a whole file).  On 0: *out is the UTF-8 CSV (malloc'd; free
 * it) or NULL when buf is to be read as it is, and `encoding` names what the file was
 * read as ("UTF-8", "UTF-8 BOM", …, for the receipt).  Returns 1 when the file cannot be
 * read as a report at all (an error finding in f says why and what to do; `encoding`
 * still names what it looked like), -1 when out of memory. */
int node_sheet_decode(const char *buf, size_t len, char **out, size_t *outlen,
                      char encoding[NODE_ENCODING_MAX], kh_findings_t *f);

/* For an .xlsx (csv: what node_sheet_decode made of it, csv_len bytes): each finding of f
 * tied to a row and an indicator names its cell, "Ô E5: …" / "Cell E5: …" — the
 * indicator's column in the header row (the wide form), or the value column (the long
 * form).  Returns 0, or -1 when out of memory (the findings then keep their messages). */
int node_sheet_name_cells(const char *csv, size_t csv_len, kh_findings_t *f);

/* Prepares the XML parser (libxml2's xmlInitParser).  Call once from the main thread
 * before any thread decodes a file: kh-node's web page decodes on its own thread. */
void node_sheet_init(void);

#endif
