/*
 * sheet.h — a report file as the officer keeps it, turned into the UTF-8 CSV that
 * lib/model/kh_report.c reads.
 *
 * Today: UTF-8 with or without BOM, passed through as it is.  (Issue 14: XLSX, UTF-16
 * and Windows-1258 are read here too.)
 */
#ifndef KH_NODE_SHEET_H
#define KH_NODE_SHEET_H

#include <stddef.h>

#include "kh_findings.h"

#define NODE_ENCODING_MAX 48

/* Decodes buf (len bytes, a whole file).  On 0: *out is the UTF-8 CSV (malloc'd; free
 * it) or NULL when buf is to be read as it is, and `encoding` names what the file was
 * read as ("UTF-8", "UTF-8 BOM", …, for the receipt).  Returns 1 when the file cannot be
 * read as a report at all (an error finding in f says why and what to do), -1 when out
 * of memory. */
int node_sheet_decode(const char *buf, size_t len, char **out, size_t *outlen,
                      char encoding[NODE_ENCODING_MAX], kh_findings_t *f);

#endif
