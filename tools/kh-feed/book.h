/*
 * book.h — the workbook a director reads and its PDF (issue 15, items 2 and 3):
 * `kh-feed export --format xlsx|pdf`.
 *
 * The workbook (libxlsxwriter), in this order of sheets:
 *  - "Trang bìa" (the cover): the official header (the agency and its superior from the
 *    data folder's document.csv, the national motto, the document's number and the
 *    place and date by the pipeline's clock), the title, the root unit, the period,
 *    "Dữ liệu đến / data as of … (feed seq N)", the programme and its legal basis
 *    (document.csv), the reports received (a partial total marked "tổng chưa đủ /
 *    partial: k of n units"), and one chart per rate of targets.csv: the rate of each
 *    unit as bars and the target in force for the period (its milestone year named) as
 *    a line;
 *  - "Tổng hợp" (the summary's layout): the units of the level (--level; by default the
 *    level of the reporting units) as columns in tree order, in blocks of at most
 *    KH_BOOK_COLS units, each block with the root's column ("Toàn tỉnh", "(chưa đủ)"
 *    when partial); indicators by section with their names and units of measure, then
 *    every rate with its target and the gap; the values are the exports' (money in
 *    đồng); the indicator codes and unit codes are in a hidden column and row, for
 *    whoever checks the figures;
 *  - "Tình hình báo cáo" (completeness): each half-year's reporting units with their
 *    status (on time, late, missing), revision and time received;
 *  - the long `period,orgunit,indicator,value` list, one sheet per level as
 *    kh_feed_xlsx_fill writes it, and the charts' figures ("Số liệu biểu đồ"): hidden,
 *    so that the workbook prints as the report (right-click a sheet tab > Show shows
 *    them).
 * Every printed sheet is A4 landscape, fit to the page width, its title rows repeated,
 * with a header (the root unit, the period) and a footer with "Trang N / M".
 *
 * The PDF is that workbook converted by LibreOffice (soffice --headless --convert-to
 * pdf) with a private profile folder, so that it runs as any user and several at once.
 *
 * Nothing here names a level, a province or a year: the data folder does.
 */
#ifndef KH_FEED_BOOK_H
#define KH_FEED_BOOK_H

#include <sqlite3.h>

#include "kh_catalog.h"

#define KH_BOOK_COLS 10        /* units per block of columns: a block fits a landscape page */
#define KH_SOFFICE_WAIT_S 600  /* LibreOffice's conversion: a big workbook on a busy host */

typedef struct {
    const char *data_dir;      /* the catalogue's folder: document.csv */
    const char *number;        /* the document's number ("125/BC-SGDĐT"); NULL: the
                                * placeholder of document.csv ("…/BC-SGDĐT") */
    int level;                 /* the summary's units; 0: the reporting units' level */
} kh_book_opts_t;

/* Writes the workbook of `period` (half-year, year or programme) to `path` (replaced
 * atomically).  Returns 0, or -1 after printing one line "kh-feed: …" on stderr. */
int kh_feed_book_xlsx(sqlite3 *mirror, const kh_catalog_t *cat, const char *period,
                      const kh_book_opts_t *opts, const char *path);

/* The same workbook converted to PDF at `path` by LibreOffice (soffice on the PATH, or
 * $KH_SOFFICE).  Returns 0, or -1 after printing why; when soffice is missing, what to
 * install, in Vietnamese and English. */
int kh_feed_book_pdf(sqlite3 *mirror, const kh_catalog_t *cat, const char *period,
                     const kh_book_opts_t *opts, const char *path);

#endif
