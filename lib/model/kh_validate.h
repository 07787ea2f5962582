/*
 * kh_validate.h — the checks a whole report must pass against the catalogue: its
 * period, the reporting unit and the units below it in force at the period end, the
 * indicators of the programme in force then, each value, completeness, and the rules of
 * rules.csv; every problem becomes a bilingual finding (kh_findings.h).
 *
 * The same code runs in kh-node (before sending, offline) and in the validator
 * (authoritative), so a district officer sees exactly what the province will say; the
 * aggregator runs only kh_validate_previous, the one check that needs its counted values.
 */
#ifndef KH_VALIDATE_H
#define KH_VALIDATE_H

#include <stddef.h>
#include <stdint.h>
#include "kh.pb-c.h"
#include "kh_catalog.h"
#include "kh_findings.h"

/* Previous-period value lookup for "within N% of previous" rules.  Returns 0 and sets
 * *out when the unit had a value for the indicator in `period`, -1 otherwise. */
typedef int (*kh_prev_fn)(void *arg, const char *period, const char *orgunit,
                          const char *indicator, double *out);

/* Checks a whole report and appends every problem to `out` (not only the first):
 * period malformed or in the future (relative to today_yyyymmdd); no programme in
 * force; the reporting unit not one at the period end; units unknown, outside the
 * reporting unit's subtree, merged before the period (naming the unit that took it
 * over), missing; indicators unknown, of the wrong level, not reported in this
 * half-year; values not parseable for their type; duplicate rows; every rule of the
 * programme's rules.csv but those comparing with the previous period (they need the
 * counted values only the aggregator holds: kh_validate_previous).  c may be the
 * catalogue or any of its programmes: the programme in force at the period end is used.
 * Returns the number of errors (0: accepted). */
/* Finding codes (E error, W warning):
 *   PERIOD_MALFORMED E   not "YYYYS1"/"YYYYS2" (a year or programme is no report period)
 *   PERIOD_FUTURE    E   the half-year has not begun on today_yyyymmdd (reports are due
 *                        before the half-year ends — 20 June, 5 December — so the end
 *                        date cannot be the test); today_yyyymmdd <= 0 skips the check
 *   NO_PROGRAMME     E   no programme (programmes.csv) is in force at the period end
 *   UNKNOWN_DISTRICT E   the report's unit (r->district, the historical name) is not a
 *                        reporting unit (reporters.csv) in force at the period end; when
 *                        the code was taken over, the message names the unit that did
 *   UNKNOWN_UNIT     E   orgunit unknown, not yet created, or dissolved
 *   MERGED_UNIT      E   orgunit merged before the period end; names the successor
 *   OTHER_DISTRICT   E   a unit in force that is neither the reporting unit nor below it
 *   MISSING_UNIT     E   a unit below the reporting unit, in force at the period end, of
 *                        a level with indicators this half-year, without any value
 *   WRONG_LEVEL      E   an indicator under a unit of another level than its own
 *   UNKNOWN_INDICATOR E  indicator code not in the catalogue
 *   WRONG_HALF       E   indicator not reported in this half-year (S2-only in S1)
 *   MISSING_VALUE    E   an indicator of this half missing for a unit of its level
 *   BAD_VALUE        E   kh_value_parse refused the value (its reason in the message)
 *   NORMALISED       W   thousands separators were removed ("1.234.567" read as 1234567)
 *   DUPLICATE_ROW    E   a second row for one (orgunit, indicator); the first one counts
 *   R01…             E/W a rule of rules.csv, with the values involved in the message
 *   TOO_MANY_FINDINGS    the KH_MAX_FINDINGS-th entry when more were found
 *   INTERNAL         E   no catalogue/report, or out of memory
 * Unit and indicator problems are reported once per code (at its first line); value
 * problems once per row.  A rule is skipped for a unit when a value it reads is
 * missing or unparseable (already reported). */
size_t kh_validate(const kh_catalog_t *c, const Kh__Report *r, int32_t today_yyyymmdd,
                   kh_findings_t *out);

/* The one check kh_validate cannot make: the rules comparing a value with the same
 * unit's value in the period before ("within P% of previous"), whose values only the
 * aggregator holds.  Reads the report's values without judging them again (it was
 * validated once, by the validator) and appends to `out` only the findings of those
 * rules.  Returns the number of errors among them. */
size_t kh_validate_previous(const kh_catalog_t *c, const Kh__Report *r, kh_prev_fn prev,
                            void *prev_arg, kh_findings_t *out);

#endif
