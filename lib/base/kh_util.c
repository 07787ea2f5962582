/*
 * kh_util.c — clocks, bounded copies, files, escaping; see kh_util.h.
 */
#include "kh_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <unistr.h>

int64_t kh_real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t kh_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The pipeline's clock: offset_ms added to the machine's clock.  Set once at start
 * (kh_clock_set), or on first use from KH_CLOCK. */
static int clock_ready;
static int64_t clock_offset_ms;
static char clock_spec[40];

int kh_clock_parse(const char *spec, int64_t *ms)
{
    if (!spec || !spec[0] || !strcmp(spec, "real"))
        return 0;
    size_t n = strlen(spec);
    char date[11];
    int32_t d;
    if (n < 10 || n >= 32)
        return -1;
    memcpy(date, spec, 10);
    date[10] = '\0';
    if (kh_date_parse(date, &d) < 0)
        return -1;
    int hh = 0, mi = 0, ss = 0, used = 10;
    const char *p = spec + 10;
    if (*p == 'T' || *p == ' ') {
        int k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &hh, &mi, &k) != 2 || k != 5)
            return -1;
        used += 1 + k;
        if (spec[used] == ':') {
            if (sscanf(spec + used + 1, "%2d%n", &ss, &k) != 1 || k != 2)
                return -1;
            used += 3;
        }
        if (hh > 23 || mi > 59 || ss > 59 || hh < 0 || mi < 0 || ss < 0)
            return -1;
    }
    p = spec + used;
    struct tm tm = {.tm_year = d / 10000 - 1900, .tm_mon = d / 100 % 100 - 1,
                    .tm_mday = d % 100, .tm_hour = hh, .tm_min = mi, .tm_sec = ss,
                    .tm_isdst = -1};
    time_t t;
    if (!*p) {
        t = mktime(&tm);                           /* local time */
        if (t == (time_t)-1)
            return -1;
    } else {
        long off = 0;
        if (!strcmp(p, "Z")) {
            off = 0;
        } else if ((p[0] == '+' || p[0] == '-') && strlen(p) == 6 && p[3] == ':') {
            int oh, om, k = 0;
            if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5 || oh > 14 || om > 59 ||
                oh < 0 || om < 0)
                return -1;
            off = (oh * 3600L + om * 60L) * (p[0] == '-' ? -1 : 1);
        } else {
            return -1;
        }
        t = timegm(&tm) - off;
    }
    *ms = (int64_t)t * 1000;
    return 1;
}

int kh_clock_set(const char *spec, char *err, size_t errlen)
{
    const char *env = getenv("KH_CLOCK");
    const char *from = "[general] clock";
    if (env && env[0]) {
        spec = env;
        from = "KH_CLOCK";
    } else if (!spec) {
        spec = "";
    }
    int64_t at = 0;
    int r = kh_clock_parse(spec, &at);
    if (r < 0 || strlen(spec) >= sizeof clock_spec) {
        snprintf(err, errlen, "%s = \"%.60s\" is neither \"real\" nor a date-time like "
                 "2027-06-15T10:00:00 (local time; Z or +07:00 may follow)", from, spec);
        return -1;
    }
    clock_offset_ms = r ? at - kh_real_ms() : 0;
    snprintf(clock_spec, sizeof clock_spec, "%s", r ? spec : "");
    clock_ready = 1;
    return 0;
}

int kh_clock_fixed(char *out, size_t cap)
{
    if (!clock_ready) {
        char err[160];
        if (kh_clock_set(NULL, err, sizeof err) < 0)
            clock_ready = 1;                       /* a bad KH_CLOCK: the machine's clock */
    }
    if (out && cap)
        snprintf(out, cap, "%s", clock_spec);
    return clock_spec[0] != '\0';
}

int64_t kh_now_ms(void)
{
    if (!clock_ready)
        kh_clock_fixed(NULL, 0);
    return kh_real_ms() + clock_offset_ms;
}

int32_t kh_ms_to_date(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

int32_t kh_today(void) { return kh_ms_to_date(kh_now_ms()); }

void kh_iso_time(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

int kh_strlcpy(char *dst, const char *src, size_t cap)
{
    if (cap == 0)
        return -1;
    size_t n = strnlen(src, cap);
    if (n >= cap) {
        memcpy(dst, src, cap - 1);
        dst[cap - 1] = '\0';
        return -1;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

/* Reads exactly size bytes of fd into a new NUL-terminated buffer, and closes fd.
 * Returns 0, or -1 with errno (EIO when the file was cut short while read). */
static int read_whole(int fd, size_t size, char **buf, size_t *len)
{
    char *b = malloc(size + 1);
    size_t got = 0;
    while (b && got < size) {
        ssize_t r = read(fd, b + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r == 0 ? EIO : errno;
            free(b);
            close(fd);
            errno = e;
            return -1;
        }
        got += (size_t)r;
    }
    int e = errno;
    close(fd);
    if (!b) {
        errno = e;
        return -1;
    }
    b[got] = '\0';
    *buf = b;
    *len = got;
    return 0;
}

int kh_read_file(const char *path, size_t max, char **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0)
        goto out_close;
    if ((size_t)st.st_size > max) {
        errno = EFBIG;
        goto out_close;
    }
    return read_whole(fd, (size_t)st.st_size, buf, len);
out_close:;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

int kh_read_regular(const char *path, size_t max, char **buf, size_t *len,
                    kh_file_problem_t *why, uint64_t *size)
{
    struct stat st;
    *why = KH_FILE_OK;
    *size = 0;
    if (lstat(path, &st) < 0)
        return -1;
    /* refused before it is opened: opening a FIFO, device or socket may block or act */
    if (S_ISLNK(st.st_mode)) {
        *why = KH_FILE_SYMLINK;
        return 1;
    }
    if (!S_ISREG(st.st_mode)) {
        *why = KH_FILE_NOT_REGULAR;
        return 1;
    }
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        /* swapped since the lstat: a link now (ELOOP), a socket (ENXIO) */
        if (errno == ELOOP || errno == EMLINK)
            *why = KH_FILE_SYMLINK;
        else if (errno == ENXIO || errno == ENODEV || errno == EISDIR)
            *why = KH_FILE_NOT_REGULAR;
        else if (errno == EACCES || errno == EPERM)
            *why = KH_FILE_UNREADABLE;
        return *why ? 1 : -1;
    }
    if (fstat(fd, &st) < 0)
        goto out_close;
    if (!S_ISREG(st.st_mode))
        *why = KH_FILE_NOT_REGULAR;
    else if (st.st_nlink > 1)
        *why = KH_FILE_HARDLINK;
    else if ((uint64_t)st.st_size > (uint64_t)max)
        *why = KH_FILE_TOO_LARGE;
    if (S_ISREG(st.st_mode))
        *size = (uint64_t)st.st_size;
    if (*why) {
        close(fd);
        return 1;
    }
    int fl = fcntl(fd, F_GETFL);        /* a regular file: reads as usual from here */
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
        goto out_close;
    return read_whole(fd, (size_t)st.st_size, buf, len);
out_close:;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

const char *kh_file_kind(unsigned mode, int vietnamese)
{
    mode_t m = (mode_t)mode;
    if (S_ISLNK(m))
        return vietnamese ? "liên kết tượng trưng" : "symbolic link";
    if (S_ISDIR(m))
        return vietnamese ? "thư mục" : "directory";
    if (S_ISFIFO(m))
        return vietnamese ? "ống FIFO" : "FIFO";
    if (S_ISSOCK(m))
        return vietnamese ? "socket" : "socket";
    if (S_ISCHR(m) || S_ISBLK(m))
        return vietnamese ? "thiết bị" : "device";
    if (S_ISREG(m))
        return vietnamese ? "tệp thông thường" : "regular file";
    return vietnamese ? "tệp đặc biệt" : "special file";
}

/* A code point that is valid UTF-8 but must not reach a line of output as it is. */
static int unprintable(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C ||
           cp == 0x200E || cp == 0x200F || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

int kh_escape(const char *in, char *out, size_t cap)
{
    if (cap == 0)
        return -1;
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)in;
    size_t n = strlen(in), o = 0;
    while (n > 0) {
        char piece[16];
        size_t plen = 0, used;
        uint32_t cp = 0;
        size_t clen = kh_utf8_len((const char *)p, n, &cp);
        if (clen && !unprintable(cp) && cp != '\\') {
            memcpy(piece, p, clen);                     /* printable text: as it is */
            plen = used = clen;
        } else if (clen == 1 && (cp == '\\' || cp == '\t' || cp == '\n' || cp == '\r')) {
            piece[0] = '\\';
            piece[1] = cp == '\\' ? '\\' : cp == '\t' ? 't' : cp == '\n' ? 'n' : 'r';
            plen = 2;
            used = 1;
        } else {
            used = clen ? clen : 1;                     /* invalid: its first byte only */
            for (size_t i = 0; i < used; i++) {
                piece[plen++] = '\\';
                piece[plen++] = 'x';
                piece[plen++] = hex[p[i] >> 4];
                piece[plen++] = hex[p[i] & 0xF];
            }
        }
        if (o + plen >= cap) {
            out[o] = '\0';
            return -1;
        }
        memcpy(out + o, piece, plen);
        o += plen;
        p += used;
        n -= used;
    }
    out[o] = '\0';
    return 0;
}

int kh_write_file_atomic(const char *path, const void *buf, size_t len)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid()) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    const char *p = buf;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            goto out_unlink;
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) < 0)
        goto out_unlink;
    close(fd);
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
out_unlink:;
    int e = errno;
    close(fd);
    unlink(tmp);
    errno = e;
    return -1;
}

int kh_mkdirs(const char *path, int mode)
{
    char tmp[PATH_MAX];
    if (kh_strlcpy(tmp, path, sizeof tmp) < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

int kh_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* ---- dates ------------------------------------------------------------------------------ */

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

int kh_date_valid(int32_t d)
{
    int y = d / 10000, m = d / 100 % 100, day = d % 100;
    return y >= 1000 && y <= 9999 && m >= 1 && m <= 12 && day >= 1 &&
           day <= days_in_month(y, m);
}

int kh_date_parse(const char *s, int32_t *out)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    int32_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7)
            continue;
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (!kh_date_valid(v))
        return -1;
    *out = v;
    return 0;
}

/* days since 1970-01-01 (H. Hinnant's days_from_civil) */
static long to_days(int32_t d)
{
    long y = d / 10000, m = d / 100 % 100, day = d % 100;
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int32_t from_days(long z)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long day = doy - (153 * mp + 2) / 5 + 1;
    long m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
    return (int32_t)(y * 10000 + m * 100 + day);
}

int32_t kh_date_add(int32_t d, int days)
{
    if (!kh_date_valid(d))
        return 0;
    int32_t r = from_days(to_days(d) + days);
    return kh_date_valid(r) ? r : 0;
}

int kh_date_diff(int32_t a, int32_t b) { return (int)(to_days(a) - to_days(b)); }

int64_t kh_date_start_ms(int32_t d)
{
    if (!kh_date_valid(d))
        return 0;
    struct tm tm = {.tm_year = d / 10000 - 1900, .tm_mon = d / 100 % 100 - 1,
                    .tm_mday = d % 100, .tm_isdst = -1};
    time_t t = mktime(&tm);
    return t == (time_t)-1 ? 0 : (int64_t)t * 1000;
}

void kh_date_iso(int32_t d, char *out, size_t cap)
{
    snprintf(out, cap, "%04d-%02d-%02d", (int)(d / 10000), (int)(d / 100 % 100), (int)(d % 100));
}

void kh_date_vi(int32_t d, char *out, size_t cap)
{
    snprintf(out, cap, "%02d/%02d/%04d", (int)(d % 100), (int)(d / 100 % 100), (int)(d / 10000));
}

/* ---- text ---- */

char *kh_trim(char *s)
{
    size_t i = 0, n = strlen(s);
    for (;;) {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
            i++;
        else if ((unsigned char)s[i] == 0xC2 && (unsigned char)s[i + 1] == 0xA0)
            i += 2;
        else
            break;
    }
    for (;;) {
        if (n > i && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                      s[n - 1] == '\n'))
            n--;
        else if (n > i + 1 && (unsigned char)s[n - 2] == 0xC2 && (unsigned char)s[n - 1] == 0xA0)
            n -= 2;
        else
            break;
    }
    memmove(s, s + i, n - i);
    s[n - i] = '\0';
    return s;
}

size_t kh_utf8_len(const char *s, size_t n, uint32_t *cp)
{
    ucs4_t uc;
    int len = n ? u8_mbtoucr(&uc, (const uint8_t *)s, n) : -1;
    if (len <= 0)
        return 0;
    if (cp)
        *cp = uc;
    return (size_t)len;
}

const char *kh_u64_str(uint64_t n, char *buf, size_t cap)
{
    snprintf(buf, cap, "%llu", (unsigned long long)n);
    return buf;
}

void kh_fmt_num(double v, char *out, size_t cap)
{
    if (v == 0)
        v = 0;   /* no "-0" */
    snprintf(out, cap, "%.15g", v);
}

int kh_grow(void *arr, size_t n, size_t *cap, size_t size, size_t first, size_t max)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : (first ? first : 1);
    if (max && nc > max)
        nc = max;
    if (nc <= n || nc > SIZE_MAX / size)
        return -1;
    void *old;
    memcpy(&old, arr, sizeof old);
    void *na = realloc(old, nc * size);
    if (!na)
        return -1;
    memcpy(arr, &na, sizeof na);
    *cap = nc;
    return 0;
}

#ifndef KH_VERSION
#define KH_VERSION "unknown"
#endif

void kh_print_version(FILE *out, const char *prog)
{
    fprintf(out, "%s %s (khuyến học reporting pipeline)\n", prog, KH_VERSION);
}

int kh_in_words(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, " ");
        if (k == n && strncmp(p, word, n) == 0)
            return 1;
        p += k;
        p += strspn(p, " ");
    }
    return 0;
}
