/*
 * kh_util.h — small helpers every process uses: clocks, bounded string copies,
 * reading a whole file with a size limit, and making directories.
 */
#ifndef KH_UTIL_H
#define KH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* ---- clocks ----
 * The pipeline's clock is the one place every "now" of the reporting calendar comes
 * from: when a report was received, validated, counted; which day it is for due dates,
 * reminders and late alerts; which units are in force today.  By default it is the
 * machine's clock.  A test, or a replay of past reports, sets it with
 *     [general] clock = 2027-06-15T10:00:00      (or the environment: KH_CLOCK=…,
 *                                                  which wins over the file)
 * and the process's clock then reads that instant when the process starts and
 * advances with real time from there ("real" or empty: the machine's clock).  Accepted
 * forms: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS], each with an optional Z or ±HH:MM (none:
 * local time).  Two other clocks are not the calendar's and are never set:
 * kh_real_ms, the machine's wall clock (log lines, key lifetimes, retry times stored
 * across restarts), and kh_mono_ms, for durations inside one process. */
int64_t kh_now_ms(void);                       /* the pipeline's clock, unix ms */
int64_t kh_real_ms(void);                      /* the machine's wall clock, unix ms */
int64_t kh_mono_ms(void);                      /* monotonic ms, for durations */
int32_t kh_today(void);                        /* kh_now_ms's local date as yyyymmdd */
int32_t kh_ms_to_date(int64_t ms);             /* unix ms → yyyymmdd (local time) */
/* Sets the pipeline's clock from spec ("real", "" or a date-time as above; NULL: the
 * environment's KH_CLOCK, else real).  The environment's KH_CLOCK, when set, wins over
 * a non-NULL spec.  Returns 0, or -1 with a one-line reason in err (the clock is then
 * unchanged). */
int kh_clock_set(const char *spec, char *err, size_t errlen);
/* Parses such a spec into unix ms.  Returns 1 for a fixed instant, 0 for "real"/"",
 * -1 when it is neither. */
int kh_clock_parse(const char *spec, int64_t *ms);
/* 1 when the pipeline's clock is set (not the machine's); its spec in out. */
int kh_clock_fixed(char *out, size_t cap);
void kh_iso_time(int64_t ms, char *out, size_t cap);   /* "2026-11-27T03:06:04.123Z" */

/* ---- dates as yyyymmdd integers (20201205) ---- */
int kh_date_valid(int32_t d);                  /* a real day of a year 1000..9999 */
/* "2020-12-05" → 20201205.  Returns 0, or -1 when it is not such a valid date. */
int kh_date_parse(const char *s, int32_t *out);
int32_t kh_date_add(int32_t d, int days);      /* 0 when d or the result is not valid */
int kh_date_diff(int32_t a, int32_t b);        /* a − b in days */
void kh_date_iso(int32_t d, char *out, size_t cap);   /* "2020-12-05" */
int64_t kh_date_start_ms(int32_t d);           /* local midnight starting day d, unix ms; 0 when d is not valid */
void kh_date_vi(int32_t d, char *out, size_t cap);    /* "05/12/2020" */

/* Copies at most cap-1 bytes and terminates.  Returns 0, or -1 when src was cut. */
int kh_strlcpy(char *dst, const char *src, size_t cap);

/* Reads the whole file into a new NUL-terminated buffer.  Returns 0 and sets *buf,*len;
 * -1 with errno set (EFBIG when larger than max). */
int kh_read_file(const char *path, size_t max, char **buf, size_t *len);

/* Writes buf to path atomically (temp file, fsync, rename).  Returns 0 or -1. */
int kh_write_file_atomic(const char *path, const void *buf, size_t len);

/* mkdir -p.  Returns 0 or -1 with errno. */
int kh_mkdirs(const char *path, int mode);

/* Parses a decimal integer in [min,max] from s (whole string).  Returns 0 or -1. */
int kh_parse_long(const char *s, long min, long max, long *out);

#endif
