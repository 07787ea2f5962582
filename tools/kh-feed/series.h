/*
 * series.h — series across a reorganisation of units (issue 12, item 4).
 *
 * After a reorganisation (reorg.csv: each old unit → the new unit(s) that took it over
 * on a date), a half-year of the new units is set beside the last half-year before the
 * reorganisation that the mirror holds for the old units, on the new units:
 *
 *  - a new unit's "before" value is the sum of the cells of the old units that went
 *    WHOLE into it (a rate: the summed numerator over the summed denominator);
 *  - a new unit that took over PART of an old unit (whole = no) is listed, marked not
 *    comparable, and given no "before" value: the old unit's figures are never
 *    apportioned;
 *  - a new unit one of whose old units has no cells in that half-year (another
 *    province's commune, whose reports this province never had) is marked likewise.
 *
 * Compared: the programme's rates (targets.csv) and indicators whose code both
 * programmes (before and now) have, at the level of the new units; counts and money
 * only.  Only new units with at least one old unit that has cells are listed.
 */
#ifndef KH_FEED_SERIES_H
#define KH_FEED_SERIES_H

#include <stdio.h>
#include <sqlite3.h>

#include "kh_catalog.h"

/* Writes the comparison for half-year `period` to `out`: as text for people (fmt "text":
 * titled, each new unit on a line and its rates "CODE before → now" on lines of at most
 * 100 columns below it, nothing when no reorganisation precedes the period), or
 * as CSV (fmt "csv": "period,orgunit,old_units,indicator,before_period,before,now,
 * comparable", one line per unit and compared code; "before" and "now" empty when
 * unknown).  Returns the number of units listed, or -1 with a one-line reason on
 * stderr (malformed period, no programme, database error, out of memory). */
int kh_feed_series(sqlite3 *mirror, const kh_catalog_t *cat, const char *period,
                   const char *fmt, FILE *out);

#endif
