/*
 * template.h — `kh-node template`: the fill-in template of a district report in the
 * wide form that lib/model/kh_report.c reads back (see kh_report.h for the exact layout):
 *
 *   row 1  period,orgunit,orgunit_name,<indicator code>,…      (machine-readable)
 *   row 2  Kỳ báo cáo,Mã đơn vị,Tên đơn vị,<indicator name_vi>,…  (for people)
 *   then   one row per commune in force at the period end (unit-file order), and the
 *          district's own row last; every indicator cell empty, to be filled.
 *
 * The columns are the indicators reported in that half-year (catalogue order).
 * CSV: UTF-8 with BOM, CRLF.  XLSX: the same cells on sheet "Báo cáo" (headers bold,
 * panes frozen at the first value cell, cells that do not apply to a row's level
 * shaded, input checks; printed on A4 landscape, one page wide, the two header rows and
 * the unit code and name columns repeated on every page), plus a sheet "Hướng dẫn" with
 * instructions in Vietnamese naming Excel's and LibreOffice Calc's menus.  The node
 * reads the filled .xlsx itself (services/node/sheet.c): no need to save it as CSV,
 * though a CSV from either spreadsheet is read too.
 */
#ifndef KH_NODE_TEMPLATE_H
#define KH_NODE_TEMPLATE_H

#include <stddef.h>

#include "kh_catalog.h"

typedef enum { NODE_TPL_CSV, NODE_TPL_XLSX } node_tpl_format_t;

/* Writes the template of `district` for half-year `period` to `path` (refusing an
 * existing file unless force; written to a temporary file and renamed).  Returns 0;
 * 2 when district or period is wrong (a user mistake); 1 when the file exists or
 * cannot be written.  On failure err holds a one-line bilingual reason. */
int node_template_write(const kh_catalog_t *c, const char *district, const char *period,
                        node_tpl_format_t fmt, const char *path, int force, char *err,
                        size_t errlen);

/* `kh-node template …` (argv[1] == "template"): parses its options, loads the
 * catalogue from the configuration, writes the file.  Returns the exit status. */
int node_template_main(int argc, char **argv);

#endif
