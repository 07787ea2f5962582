/*
 * kh_util.h — small helpers every process uses: clocks, bounded string copies,
 * reading a whole file with a size limit (and reading only a regular file, for files
 * that come from outside), escaping names from outside for printing, and making
 * directories with private modes.
 */
#ifndef KH_UTIL_H
#define KH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* Every program's --version: "kh-collector 0.13.0" and the project's name. */
void kh_print_version(FILE *out, const char *prog);

/* ---- dates as yyyymmdd integers (20201205) ---- */
int kh_date_valid(int32_t d);                  /* a real day of a year 1000..9999 */
/* "2020-12-05" → 20201205.  Returns 0, or -1 when it is not such a valid date. */
int kh_date_parse(const char *s, int32_t *out);
int32_t kh_date_add(int32_t d, int days);      /* 0 when d or the result is not valid */
int kh_date_diff(int32_t a, int32_t b);        /* a − b in days */

/* ---- text ---- */
/* Trims ASCII blanks (space, tab, CR, LF) and no-break spaces (U+00A0, which spreadsheets
 * put around numbers) from both ends of s, in place (the text moves to s).  Returns s. */
char *kh_trim(char *s);
/* The length of the valid UTF-8 character at s (n bytes left), or 0 when the bytes there
 * are not one (libunistring's rules: no overlong forms, no surrogates); *cp its code
 * point (cp may be NULL). */
size_t kh_utf8_len(const char *s, size_t n, uint32_t *cp);
/* Room for one more item in a growable array: when n == *cap, the array at *arr (arr is
 * the address of a pointer to `size`-byte items) is reallocated to twice its capacity —
 * `first` items the first time, never more than `max` when max > 0.  Returns 0, or -1
 * when memory is short or the array holds max items already (the array unchanged).
 *     if (KH_GROW(v->items, v->n, v->cap, 64) < 0) return -1;
 *     v->items[v->n++] = x; */
int kh_grow(void *arr, size_t n, size_t *cap, size_t size, size_t first, size_t max);
#define KH_GROW(arr, n, cap, first) kh_grow(&(arr), (n), &(cap), sizeof *(arr), (first), 0)

/* 1 when `word` is one of the space-separated words of `list`, else 0. */
int kh_in_words(const char *list, const char *word);
/* A hash of the string s for a table in memory (64-bit FNV-1a: fast on short codes; not
 * for anything an adversary chooses to collide).  Inline: it runs in hot lookups. */
static inline uint64_t kh_hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ULL;   /* the FNV offset basis */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* A count as a log field's text ("1234") in buf; returns buf. */
const char *kh_u64_str(uint64_t n, char *buf, size_t cap);

/* A number as rules and messages write it: "%.15g", never "-0". */
void kh_fmt_num(double v, char *out, size_t cap);
void kh_date_iso(int32_t d, char *out, size_t cap);   /* "2020-12-05" */
int64_t kh_date_start_ms(int32_t d);           /* local midnight starting day d, unix ms; 0 when d is not valid */
void kh_date_vi(int32_t d, char *out, size_t cap);    /* "05/12/2020" */

/* Copies at most cap-1 bytes and terminates.  Returns 0, or -1 when src was cut. */
int kh_strlcpy(char *dst, const char *src, size_t cap);

/* Reads the whole file into a new NUL-terminated buffer.  Returns 0 and sets *buf,*len;
 * -1 with errno set (EFBIG when larger than max). */
int kh_read_file(const char *path, size_t max, char **buf, size_t *len);

/* ---- a file from outside (a report a district dropped into the spool) ----
 * kh_read_regular reads it only when it is an ordinary file of at most max bytes:
 *  - never through a symbolic link (the last component is lstat'ed, then opened
 *    O_NOFOLLOW), and never a file with more than one name (a hard link to a file
 *    elsewhere, e.g. /etc/shadow);
 *  - never blocking: a FIFO, socket, device or directory is refused before it is
 *    opened (lstat) and, should it have been swapped in since, after (fstat on the
 *    descriptor opened O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC);
 *  - never reading a file too large: the size is checked on the open descriptor
 *    before anything is read.
 * Returns 0 with *buf (NUL-terminated, free it) and *len; 1 when the file is refused
 * (*why says why, *size is its size in bytes when known, else 0; nothing of it was
 * read); -1 on a system error (errno; e.g. ENOENT, EMFILE, EIO). */
typedef enum {
    KH_FILE_OK = 0,
    KH_FILE_SYMLINK,        /* a symbolic link: never followed */
    KH_FILE_HARDLINK,       /* a regular file with more than one name */
    KH_FILE_NOT_REGULAR,    /* a directory, FIFO, socket or device */
    KH_FILE_TOO_LARGE,      /* more than max bytes */
    KH_FILE_UNREADABLE,     /* permission denied */
} kh_file_problem_t;
int kh_read_regular(const char *path, size_t max, char **buf, size_t *len,
                    kh_file_problem_t *why, uint64_t *size);
/* What a file that is not regular is, in English ("FIFO", "directory", …) and
 * Vietnamese, from its st_mode (for messages). */
const char *kh_file_kind(unsigned mode, int vietnamese);

/* Writes buf to path atomically (temp file mode 0640, fsync, rename).  Returns 0 or -1. */
int kh_write_file_atomic(const char *path, const void *buf, size_t len);

/* ---- file modes ----
 * Every process (kh_service_start, kh-node, kh-admin, kh-feed, kh-logs) sets this umask
 * first, so that what it creates — databases (SQLite creates them with the umask),
 * receipts, logs, sockets, templates, exports — is never readable by other users:
 * files 0640 or stricter, folders 0750.  (The systemd units set UMask=0027 as well.) */
#define KH_UMASK 027

/* ---- names from outside, printed ----
 * kh_escape writes `in` (a file name, or any text from outside) so that it is safe in
 * a line of output — a tab-separated line (kh-node status), a receipts or log line, a
 * terminal: valid UTF-8 text is kept as it is (Vietnamese names stay readable); a
 * backslash becomes \\, a tab, newline or carriage return \t \n \r, and every other
 * byte that is not printable text becomes \xHH (two lower-case hex digits), byte by
 * byte: ASCII control characters and DEL, each byte of invalid UTF-8, and the UTF-8
 * bytes of the C1 controls (U+0080–U+009F), the line and paragraph separators
 * (U+2028, U+2029) and the bidirectional controls (U+061C, U+200E, U+200F,
 * U+202A–U+202E, U+2066–U+2069).  The result is valid UTF-8 without control
 * characters, and the original bytes can be read back from it.  One escaping for the
 * whole pipeline: every name printed anywhere goes through it.
 * Writes at most cap-1 bytes and terminates (never in the middle of an escape or of a
 * character).  Returns 0, or -1 when the result was cut to fit (or cap is 0). */
int kh_escape(const char *in, char *out, size_t cap);
#define KH_ESCAPE_CAP(n) (4 * (size_t)(n) + 1)  /* a cap that never cuts n bytes of input */

/* mkdir -p (mode as mkdir(2): the umask applies).  Returns 0 or -1 with errno. */
int kh_mkdirs(const char *path, int mode);

/* Parses a decimal integer in [min,max] from s (whole string).  Returns 0 or -1. */
int kh_parse_long(const char *s, long min, long max, long *out);

#endif
