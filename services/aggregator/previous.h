/*
 * previous.h — the previous-period rules ("HO.TONG within 25% of previous"), the one
 * check the validator cannot make: it keeps no state, so they run here, against the
 * counted revision of the district's report for the previous half-year
 * (kh_validate_previous).
 * Invariants: only warnings come out of them (the report is accepted already, and is
 * counted whatever they say); they only read the database.
 */
#ifndef KH_AG_PREVIOUS_H
#define KH_AG_PREVIOUS_H

#include "agg.h"
#include "kh.pb-c.h"
#include "kh_catalog.h"
#include "kh_findings.h"

/* The verdict's warnings plus those of the previous-period rules, into `out` (a new
 * array, free it; the pointers in it are borrowed from v and from extra, which the caller
 * clears with kh_findings_clear after).  Returns the count, or -1 when memory is short. */
int ag_previous_warnings(agg_t *a, const Kh__Verdict *v, kh_findings_t *extra,
                         Kh__Finding ***out);

#endif
