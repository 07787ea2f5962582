/*
 * notices.h — the notifier's pure logic: which notices are due for a half-year on a
 * given day, their unique ids and their bilingual texts.  No I/O, no clock: main.c
 * gives "today" (the real clock, or [notifier] clock for replay and tests) and the
 * state it keeps in notifier.db; tests/unit/test_notify.c tests this file alone.
 *
 * Kinds and when they are due (for one half-year P with due date D, on day T):
 *   reminder     to a district that has no accepted report for P, when
 *                D - reminder_days <= T <= D (reminder_days 0: no reminders)
 *   late         to the province, per district without an accepted report, when T > D
 *   missing      to the province, per district still without one, when T > D + grace_days
 *   late-report  to the province, when a district's first accepted report for P arrives
 *                after D (decided on the event, see nt_is_late)
 *   warnings     to the province, for each accepted revision carrying warnings
 *   complete     to the province, once every district in force has a counted report
 * Each has one id (nt_notice_id), stored with a UNIQUE key: produced exactly once.
 */
#ifndef KH_NOTICES_H
#define KH_NOTICES_H

#include <stddef.h>
#include <stdint.h>

#include "kh_catalog.h"

typedef enum {
    NT_REMINDER = 0,
    NT_LATE,
    NT_MISSING,
    NT_LATE_REPORT,
    NT_WARNINGS,
    NT_COMPLETE,
} nt_kind_t;
#define NT_KINDS 6

/* "reminder", "late", "missing", "late", "warnings", "complete" (the webhook's `kind`:
 * a report that came late is a "late" alert too). */
const char *nt_kind_name(nt_kind_t k);
/* The id prefix: as nt_kind_name, but "late-report" for NT_LATE_REPORT. */
const char *nt_kind_tag(nt_kind_t k);

/* ---- dates (yyyymmdd integers; the rest is in lib/base/kh_util.h: kh_date_diff, kh_date_iso,
 * kh_date_vi) ---- */
/* 1 when d is a real calendar date in years 1900..9999. */
int nt_date_valid(int32_t d);
/* d plus `days` (may be negative).  Returns 0 when d or the result is not valid. */
int32_t nt_date_add(int32_t d, int days);
/* "YYYY-MM-DD" → yyyymmdd.  Returns 0, or -1 when it is not a valid date. */
int nt_date_parse(const char *s, int32_t *out);

/* ---- half-years (the arithmetic is lib/model/kh_period.h's) ---- */
/* The half-years to check on day `today`: from `first` to the one containing
 * today + reminder_days, at most cap of them (the latest ones when there are more).
 * Returns the count written. */
size_t nt_periods_to_check(kh_period_t first, int32_t today, int reminder_days,
                           kh_period_t *out, size_t cap);

/* ---- what is due ---- */
typedef struct {
    int reminder_days;       /* >= 0; 0: no reminders */
    int grace_days;          /* >= 0: "missing" this many days after "late" */
} nt_policy_t;

typedef struct {
    const char *code;        /* district code */
    int reported;            /* has an accepted (or counted) report for the period */
    int counted;             /* a revision of it is counted */
} nt_district_t;

typedef struct {
    nt_kind_t kind;
    size_t district;         /* index into the districts given; (size_t)-1 for complete */
} nt_due_t;

/* The notices due on `today` for a half-year whose due date is `due`, given its
 * districts d[0..n) (those in force at the end of the period).  Writes at most cap
 * entries (2n + 1 always suffice), in district order, then complete.  Returns the count
 * written.  Deterministic: the same state and day give the same list, so the caller
 * may run it as often as it likes and store each by its id. */
size_t nt_due_notices(const nt_policy_t *pol, int32_t today, int32_t due,
                      const nt_district_t *d, size_t n, nt_due_t *out, size_t cap);

/* 1 when a report first accepted on `arrived` is late for due date `due`. */
int nt_is_late(int32_t arrived, int32_t due);

/* The notice's unique id:
 *   reminder/2020S2/829   late/2020S2/829   missing/2020S2/829   late-report/2020S2/829
 *   warnings/829-2020S2/2 (subject: the report id, rev: its revision)   complete/2020S2
 * `subject` is the district for the per-district kinds, the report id for warnings and
 * unused for complete.  Returns 0, or -1 when it does not fit in cap. */
int nt_notice_id(nt_kind_t k, const char *period, const char *subject, unsigned rev,
                 char *out, size_t cap);

/* What the texts say. */
typedef struct {
    const char *period;
    const char *district;      /* code */
    const char *name;          /* district name (catalogue), or the code */
    int32_t due;               /* due date of the period */
    int32_t today;             /* the day the notice is made */
    int32_t arrived;           /* NT_LATE_REPORT: the day the report arrived */
    const char *report_id;     /* NT_WARNINGS */
    unsigned revision;         /* NT_WARNINGS */
    size_t n_warnings;         /* NT_WARNINGS */
    const char *first_code;    /* NT_WARNINGS: the first warning's code and messages */
    const char *first_vi, *first_en;
    size_t n_districts;        /* NT_COMPLETE */
} nt_text_args_t;

/* Writes the Vietnamese and English texts (UTF-8, cut to the buffers at a character
 * boundary, never invalid: they go into JSON).  Returns 0, or -1 for an unknown kind. */
int nt_texts(nt_kind_t k, const nt_text_args_t *a, char *vi, size_t vi_cap, char *en,
             size_t en_cap);

/* Makes s valid UTF-8 in place: a character cut at the end is dropped, any other
 * invalid byte becomes '?'. */
void nt_utf8_clean(char *s);

#endif
