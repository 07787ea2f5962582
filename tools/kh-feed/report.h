/*
 * report.h — what kh-feed tells a person from the province feed's local mirror
 * (SQLite, filled by the sync code in main.c): the summary table a province officer
 * reads (indicators by reporting unit with the root's total, rates against the 2020
 * targets of targets.csv, and which reporting units reported on time) and the exports
 * (`period,orgunit,indicator,value` rows in CSV, JSON or XLSX).
 *
 * The unit tree is data: levels are numbers, 1 the root, down to kh_catalog_depth(),
 * named by levels.csv (in the seed: 1 Tỉnh, 2 Huyện/Thành phố, 3 Xã/Phường/Thị trấn);
 * reporters.csv says which units report (in the seed, the units of level 2).  Nothing
 * here assumes a number of levels or names one.
 *
 * Everything is computed from the mirror's half-year cells and the catalogue.  The
 * aggregator stored every unit's cells (each unit of a reporting unit's subtree, the
 * reporting unit itself, every ancestor), so a unit's value is its own cell; only TIME
 * is rolled up here:
 *
 *  - time roll-up (half-years → year → programme) per indicator, on each unit's own
 *    cells: `sum` adds the halves; `last` takes the latest half that has the cell (for
 *    an option indicator: the latest half that has any option of it, so the counts of
 *    two halves are never mixed); `max` takes the largest half value.  Above the level
 *    an indicator is reported for, a `max` flag is a count of units, so over several
 *    halves it counts the units of the indicator's level below whose flag was ever 1
 *    ("flags: ever true"; merged units included; the aggregate's own cells only when the
 *    mirror has no cells of such units).  So for `last`, a reporting unit missing from
 *    the latest half shows its earlier report while the root shows its own latest cell
 *    (the units that reported then): numerator and denominator of a rate always come
 *    from the same set of units;
 *  - scores (CDX.DIEM) are averages: a half's value is sum / n; `last` keeps the
 *    latest half's average (`sum`, if ever used: Σ sum / Σ n);
 *  - options are counted per option ("CDX.XEP_LOAI=TOT" = units rated TOT);
 *  - rates (TL.* of targets.csv) are numerator / denominator × 100 from the rolled-up
 *    values at the unit itself, rounded to 2 decimals, omitted when the denominator
 *    is 0 or missing (or the numerator is missing) — never an average of lower rates;
 *  - completeness per half-year, about the reporting units at the half's end
 *    (kh_catalog_reporters_on), whatever their level: expected, reported (a row in
 *    `status`), on time (received on or before the due date, local date), late,
 *    missing.
 *
 * Functions that can fail return -1 and print one line ("kh-feed: …") on stderr.
 */
#ifndef KH_FEED_REPORT_H
#define KH_FEED_REPORT_H

#include <stdio.h>
#include <stddef.h>
#include <sqlite3.h>
#include <xlsxwriter.h>
#include "kh_catalog.h"

#define KH_FEED_MAX_HALVES 40   /* longest period accepted: a 20-year programme */

typedef enum {
    KH_FEED_VALUE = 0,          /* an indicator (or "CODE=OPT" option count) */
    KH_FEED_RATE,               /* a TL.* rate, in percent */
    KH_FEED_COMPLETENESS        /* COMPLETENESS.* for one half-year */
} kh_feed_kind_t;

/* One exported row. */
typedef struct {
    char period[16];                  /* the requested period; the half for completeness */
    char orgunit[KH_CODE_MAX];
    const char *unit_name;            /* catalogue-owned official name */
    char indicator[KH_CODE_MAX + 24]; /* "TTHTCD.LOP", "CDX.XEP_LOAI=TOT", "TL.GDHT", … */
    double value;                     /* rates and averages already rounded to 2 decimals */
    int is_int;                       /* 1: printed without decimals */
    kh_feed_kind_t kind;
    const kh_indicator_t *ind;        /* KH_FEED_VALUE */
    int option;                       /* KH_FEED_VALUE of an option indicator: index, else -1 */
    const kh_target_t *target;        /* KH_FEED_RATE */
} kh_feed_row_t;

typedef struct {
    kh_feed_row_t *rows;
    size_t n, cap;
} kh_feed_rows_t;

/* Parses a --level argument: a level number 1..kh_catalog_depth(cat).  Returns 0, or -1
 * after printing "kh-feed: --level must be a level number: 1 Tỉnh, 2 Huyện/Thành phố, …"
 * (every level with its name on `day` in levels.csv). */
int kh_feed_level_parse(const kh_catalog_t *cat, const char *s, int32_t day, int *out);

/* Computes the rows of `period` (half-year, year or programme) at `level` (1 = the root
 * .. kh_catalog_depth), in export order: the units of the level in unit-file order (those
 * in force at some half's end of the period, then those that have cells in some half,
 * e.g. units merged away during the period), for each unit its indicators in catalogue
 * order (only those with a value), then its rates, then its completeness rows (the root:
 * EXPECTED, REPORTED, ON_TIME, LATE, MISSING per half; a reporting unit: REPORTED and
 * ON_TIME 1/0 per half it reports in; others: none).  `out` must be zeroed or cleared;
 * rows are appended.  Returns 0, or -1 with a one-line reason on stderr (malformed
 * period, a level the tree does not have, database error, out of memory). */
int kh_feed_rows(sqlite3 *mirror, const kh_catalog_t *cat, const char *period, int level,
                 kh_feed_rows_t *out);
void kh_feed_rows_clear(kh_feed_rows_t *rows);

/* The row of `orgunit` and `indicator` (and `period`, NULL = any), or NULL. */
const kh_feed_row_t *kh_feed_rows_find(const kh_feed_rows_t *rows, const char *period,
                                       const char *orgunit, const char *indicator);

/* Formats a row value as the exports write it: integers without decimals, others
 * with up to 2 decimals ("72.5", "63.33"), '.' as the decimal point. */
void kh_feed_format_value(const kh_feed_row_t *row, char *buf, size_t cap);
/* A number written the Vietnamese way, as the summary prints it: '.' groups thousands,
 * ',' is the decimal point, up to 2 decimals (1.234.567; 72,5); `sign`: '+' before a
 * positive number (a gap).  The dashboard (serve) shows its figures so. */
void kh_feed_format_vi(double v, int is_int, int sign, char *buf, size_t cap);

/* Prints the table a person reads for `period` (half-year "2020S2", year "2020" or
 * programme "2017-2020"): indicators (Vietnamese name and code, grouped by the
 * programme's five sections) by reporting unit (those at the period end, full names;
 * the part and the columns named by their level in levels.csv, e.g. "I. CHỈ TIÊU THEO
 * HUYỆN/THÀNH PHỐ"), then "Toàn <root level>" (the root's cells), then rates against
 * targets (value at each reporting unit and the root, the 2020 target and the root's gap
 * in percentage points), then completeness per half-year (expected, reported, on time,
 * late, missing, and each reporting unit with its status, revision and received time).
 * Numbers are written the Vietnamese way (1.234.567; 72,5); money in triệu đồng (the
 * exports keep đồng); "–" where there is no value.  Returns 0, or -1 with a one-line
 * reason on stderr (e.g. unknown period). */
int kh_feed_summary(sqlite3 *mirror, const kh_catalog_t *cat, const char *period, FILE *out);

/* What the mirror holds data to: `when` the latest receipt of any report in it
 * (dd/mm/yyyy HH:MM, local time; "–" when none) and `seq` the last feed sequence
 * number applied.  For the "Dữ liệu đến / data as of … (feed seq N)" line of every
 * surface.  Returns 0, or -1 after printing the reason (database error). */
int kh_feed_asof(sqlite3 *mirror, char *when, size_t cap, unsigned long long *seq);

/* Writes the rows of kh_feed_rows for `period` at `level` (a level number) in `format`:
 *   csv  — header "period,orgunit,indicator,value", one line per row (LF);
 *   json — {"period":…,"level":N,"rows":[{"period","orgunit","name","indicator",
 *          "value"}…]}, "name" being the unit's official name, "value" a number;
 *   xlsx — a workbook with one sheet per level of the tree, named by the level's name
 *          in levels.csv as Excel allows ("Huyện, Thành phố": no '/', at most 31
 *          characters), the one asked for the active sheet; headers Kỳ báo cáo, Mã đơn
 *          vị, <the level's name>, Mã chỉ tiêu, Chỉ tiêu, Giá trị (the long list; `kh-feed
 *          export --format xlsx` writes book.h's workbook, which keeps these sheets
 *          hidden beside its cover, summary and completeness sheets).
 * to `path` ("-" = stdout, not for xlsx; files are replaced atomically).
 * Returns 0, or -1 with a one-line reason on stderr. */
int kh_feed_export(sqlite3 *mirror, const kh_catalog_t *cat, const char *period, int level,
                   const char *format, const char *path);

/* ---- the parts the functions above are made of (their unit test drives them too) ---- */

/* One period rolled up from the mirror (the rules at the top of this file). */
typedef struct kh_feed_roll kh_feed_roll_t;
/* Builds the roll of `period`.  Returns 0, or -1 after printing the reason. */
int kh_feed_roll_build(sqlite3 *db, const kh_catalog_t *cat, const char *period,
                       kh_feed_roll_t **out);
void kh_feed_roll_free(kh_feed_roll_t **rp);
/* The roll's rows at `level`, as kh_feed_rows gives them (`out` zeroed or cleared; rows
 * are appended).  Returns 0, or -1 after printing why (a level the tree does not have,
 * out of memory). */
int kh_feed_roll_rows(const kh_feed_roll_t *r, int level, kh_feed_rows_t *out);

/* A reporting unit of a report period, with its status in the mirror. */
typedef struct {
    const kh_unit_t *unit;
    int reported, on_time;            /* a report counted; received by the due date */
    long long revision;
    int64_t received_at;              /* Unix ms */
} kh_feed_ustat_t;

/* One report period the roll sums (a half-year, or a year where the programme reports
 * yearly): its reporting units (reporters.csv at its end) and how many reported. */
typedef struct {
    const char *name;                 /* "2020S1", "2025" */
    kh_period_t p;
    int32_t end, due;                 /* YYYYMMDD */
    const kh_feed_ustat_t *d;
    size_t nd, n_reported, n_on_time;
    const char *title;                /* what they are called: their level's name, or
                                       * "Đơn vị báo cáo" when their levels differ */
} kh_feed_half_t;

/* How many report periods the roll sums; the h-th of them (0 <= h < that count), owned
 * by the roll. */
size_t kh_feed_roll_halves(const kh_feed_roll_t *r);
kh_feed_half_t kh_feed_roll_half(const kh_feed_roll_t *r, size_t h);
/* Writes "tổng chưa đủ / partial: 2 of 9 units" (each report period named when there are
 * several) to buf when some period lacks an expected report; "" otherwise.  Returns 1
 * when partial, else 0. */
int kh_feed_roll_partial(const kh_feed_roll_t *r, char *buf, size_t cap);
/* Fills workbook wb with the roll: its properties and one sheet per level of the tree
 * (1 .. depth), `level` the active one.  Returns 0, or -1 after printing why. */
int kh_feed_xlsx_fill(lxw_workbook *wb, const kh_feed_roll_t *r, int level);
/* The name of the sheet of `level` titled `title` (its name in levels.csv) as Excel
 * accepts it: '/' becomes ", " ("Huyện/Thành phố" → "Huyện, Thành phố" in the seed), the
 * other characters Excel forbids ([ ] : * ? \\) become '-', an apostrophe cannot begin
 * or end it, and it is cut to 31 characters (code points) at the end of a word when one
 * fits.  "Cấp N" when nothing is left. */
void kh_feed_sheet_name(const char *title, int level, char *out, size_t cap);

#endif
