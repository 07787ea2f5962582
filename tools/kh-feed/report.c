/*
 * report.c — summaries and exports of kh-feed, computed from the province feed's
 * local mirror (tables cell, status; see report.h for the semantics).  Nothing here
 * knows how many levels the unit tree has or what they are called: levels are numbers
 * 1 (the root) .. kh_catalog_depth(), named by levels.csv, and completeness is about
 * the reporting units of reporters.csv, whatever their level.
 *
 * Design notes.
 *
 *  - One "roll" holds everything a period needs: the half-years it covers, the units
 *    (level by level: the units in force at some half's end, then the units of the file
 *    that have cells in some half; the root, in force at the period end, first), one
 *    slot per indicator (one per option for an option indicator, named "CODE=OPT"), the
 *    raw half-year cells [unit][slot][half] as read from the mirror, the rolled-up value
 *    [unit][slot], each unit's ancestors among the units, the reporting units of each
 *    half with their status, and the names of the levels.  The summary and the exports
 *    only read a roll.
 *  - Every size is bounded by the catalogue: units by the unit file, slots by
 *    indicators × KH_MAX_OPTIONS, halves by KH_FEED_MAX_HALVES.  A cell whose unit or
 *    indicator the catalogue does not know is skipped and counted.
 *  - Unit-file order across a boundary change (in the seed, communes merged on
 *    2020-02-01): within a level, the units in force at the latest half's end come first
 *    in catalogue order, and each unit that only existed earlier is inserted right after
 *    its predecessor in the list of the half where it existed.  A code with two rows (in
 *    the seed, Phường 2 → Phường An Hội keeps 28777) is one unit, named and placed on the
 *    level it has at the latest half that knows it.
 *  - Values are the mirror's: the aggregator already stored the cells of every unit of a
 *    reporting unit's subtree and of every ancestor, so nothing is summed over units
 *    here, except over TIME: roll-up over several halves (report.h states the rules)
 *    takes every unit from its own cells (roll_values), then the `max` flags of the units
 *    above the indicator's level again from the units of that level below them
 *    (roll_up_flags): an aggregate's flag is a count.
 *  - Rates are computed from the rolled-up numerator and denominator of the unit
 *    itself, so a root rate is never an average of lower rates.
 */
#include "report.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicase.h>
#include <unistr.h>
#include <uniwidth.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "kh_util.h"

#define SLOT_NAME_MAX (KH_CODE_MAX + 24)

/* ---- small helpers ---------------------------------------------------------------- */

static void report_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report_err(const char *fmt, ...)
{
    va_list ap;
    fputs("kh-feed: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int oom(void)
{
    report_err("hết bộ nhớ / out of memory");
    return -1;
}

static double round2(double x)
{
    double r = round(x * 100.0) / 100.0;
    return r == 0 ? 0.0 : r;  /* no "-0" */
}

/* Plain number: integers without decimals, others with up to 2 decimals, '.' point. */
static void fmt_plain(double v, int is_int, char *buf, size_t cap)
{
    if (v == 0) v = 0.0;
    if (is_int) {
        snprintf(buf, cap, "%.0f", v);
        return;
    }
    snprintf(buf, cap, "%.2f", round2(v));
    char *dot = strchr(buf, '.');
    if (!dot) return;
    size_t len = strlen(buf);
    while (len > 0 && buf[len - 1] == '0') buf[--len] = '\0';
    if (len > 0 && buf[len - 1] == '.') buf[--len] = '\0';
}

/* Vietnamese writing: '.' groups thousands, ',' is the decimal point (1.234.567; 72,5).
 * `sign` adds '+' to positive numbers (gaps). */
static void fmt_vi(double v, int is_int, int sign, char *buf, size_t cap)
{
    char plain[64];
    fmt_plain(v, is_int, plain, sizeof plain);
    const char *p = plain;
    size_t o = 0;
    if (cap == 0) return;
#define PUT(ch) do { if (o + 1 < cap) buf[o++] = (ch); } while (0)
    if (*p == '-') { PUT('-'); p++; }
    else if (sign && v > 0) PUT('+');
    size_t int_len = strcspn(p, ".");
    for (size_t i = 0; i < int_len; i++) {
        if (i > 0 && (int_len - i) % 3 == 0) PUT('.');
        PUT(p[i]);
    }
    if (p[int_len] == '.') {
        PUT(',');
        for (const char *q = p + int_len + 1; *q; q++) PUT(*q);
    }
#undef PUT
    buf[o] = '\0';
}

/* Display width of UTF-8 text (libunistring: a combining mark takes no column, in case
 * a name arrives decomposed). */
static size_t text_width(const char *s)
{
    int w = u8_strwidth((const uint8_t *)s, "UTF-8");
    return w > 0 ? (size_t)w : 0;
}

/* The display width of the first n bytes of s (a word of a longer text, measured in place). */
static size_t text_width_n(const char *s, size_t n)
{
    int w = u8_width((const uint8_t *)s, n, "UTF-8");
    return w > 0 ? (size_t)w : 0;
}

/* Bytes of s that fit in `cols` columns (cut at a character boundary; the combining
 * marks of the last character that fits stay with it). */
static size_t text_prefix(const char *s, size_t cols)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t n = strlen(s), bytes = 0, w = 0;
    while (bytes < n) {
        ucs4_t uc;
        int len = u8_mbtouc(&uc, p + bytes, n - bytes);
        int cw = uc_width(uc, "UTF-8");
        if (cw < 0)
            cw = 1;
        if (w + (size_t)cw > cols)
            break;
        w += (size_t)cw;
        bytes += (size_t)len;
    }
    return bytes;
}

/* Prints s in `cols` columns, padded; never cut (tbl_print wraps a wider text first). */
static void put_cell(FILE *out, const char *s, size_t cols, int right, int pad)
{
    size_t w = text_width(s);
    if (right) for (size_t i = w; i < cols; i++) fputc(' ', out);
    fputs(s, out);
    if (!right && pad) for (size_t i = w; i < cols; i++) fputc(' ', out);
}

/* An option as people read it: its label in the programme's options.csv ("Tốt",
 * "Mức độ 2 (Tốt)"), else its code. */
static const char *option_label(const kh_catalog_t *cat, const kh_indicator_t *ind, int opt)
{
    const char *l = kh_catalog_option_label(cat, ind, opt, 0);
    return l ? l : ind->options[opt];
}

/* A section's title from the programme's sections.csv, else "Phần N" into buf. */
static const char *section_title(const kh_catalog_t *cat, int s, char *buf, size_t cap)
{
    const char *t = kh_catalog_section_title(cat, s, 0);
    if (t)
        return t;
    snprintf(buf, cap, "Phần %d", s);
    return buf;
}

/* ---- level names (levels.csv) -------------------------------------------------------- */

/* What the units of a level are called: as a title ("Huyện/Thành phố" in the seed), in
 * running text ("huyện/thành phố") and in a heading ("HUYỆN/THÀNH PHỐ"). */
typedef struct {
    char title[128], lower[128], upper[160];
} lword_t;

/* Upper case of UTF-8 text (libunistring's u8_toupper); the text as it is when the
 * upper case does not fit. */
static void upper_text(const char *s, char *out, size_t cap)
{
    size_t len = cap - 1;
    uint8_t *up = u8_toupper((const uint8_t *)s, strlen(s), NULL, NULL, (uint8_t *)out, &len);
    if (up == (uint8_t *)out) {
        out[len] = '\0';
        return;
    }
    free(up);   /* NULL (error) or a larger buffer: the text did not fit */
    kh_strlcpy(out, s, cap);
}

/* Fills w from the title: lower case for running text, upper case for headings. */
static void words_from_title(const char *title, lword_t *w)
{
    kh_strlcpy(w->title, title, sizeof w->title);
    size_t len = sizeof w->lower - 1;
    uint8_t *low = u8_tolower((const uint8_t *)title, strlen(title), NULL, NULL,
                              (uint8_t *)w->lower, &len);
    if (low == (uint8_t *)w->lower) w->lower[len] = '\0';
    else { free(low); kh_strlcpy(w->lower, title, sizeof w->lower); }
    upper_text(title, w->upper, sizeof w->upper);
}

/* The words of `level` on `day`: its Vietnamese name in levels.csv
 * (kh_catalog_level_name), the catalogue's lower case of it (kh_catalog_level_word), and
 * its upper case; "Cấp N" when the file names the level nowhere (the catalogue refuses a
 * unit of an unnamed level, so only a level without units can be). */
static void level_words(const kh_catalog_t *cat, int level, int32_t day, lword_t *w)
{
    const char *name = kh_catalog_level_name(cat, level, day, 0);
    if (!name) {
        char fallback[32];
        snprintf(fallback, sizeof fallback, "Cấp %d", level);
        words_from_title(fallback, w);
        return;
    }
    kh_strlcpy(w->title, name, sizeof w->title);
    kh_catalog_level_word(cat, level, day, 0, w->lower, sizeof w->lower);
    upper_text(name, w->upper, sizeof w->upper);
}

/* The words for a set of units (the reporting units of a half-year): their level's
 * when they all have one level, else "Đơn vị báo cáo" (reporting unit).  The root, when
 * it reports its own work beside units below it, is the whole-province column, not one
 * of theirs: it does not count. */
static void units_words(const kh_catalog_t *cat, const kh_unit_t *const *units, size_t n,
                        int32_t day, lword_t *w)
{
    int level = -1;
    for (size_t i = 0; i < n; i++) {
        if (units[i]->level == 1 && n > 1)
            continue;
        if (level < 0) level = units[i]->level;
        else if (units[i]->level != level) level = 0;
    }
    if (level > 0) level_words(cat, level, day, w);
    else words_from_title("Đơn vị báo cáo", w);    /* mixed levels (or none) */
}

/* "1 Tỉnh, 2 Huyện/Thành phố, 3 Xã/Phường/Thị trấn" for the seed: every level with its
 * name on `day`, for messages. */
static void levels_list(const kh_catalog_t *cat, int32_t day, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int l = 1; l <= kh_catalog_depth(cat) && o < cap; l++) {
        const char *name = kh_catalog_level_name(cat, l, day, 0);
        int n = snprintf(buf + o, cap - o, "%s%d %s", l > 1 ? ", " : "", l, name ? name : "");
        if (n < 0) break;
        o += (size_t)n;
    }
}

/* The words of the levels of the indicators that `pick` selects, joined by ", " (in the
 * seed "xã/phường/thị trấn" for the scores); "" when no indicator is selected. */
static void indicator_levels_word(const kh_catalog_t *cat, int (*pick)(const kh_indicator_t *),
                                  int32_t day, char *buf, size_t cap)
{
    int seen[KH_MAX_LEVELS + 1] = {0};
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < kh_catalog_indicator_count(cat); i++) {
        const kh_indicator_t *ind = kh_catalog_indicator_at(cat, i);
        if (!ind || !pick(ind) || ind->level < 1 || ind->level > KH_MAX_LEVELS ||
            seen[ind->level])
            continue;
        seen[ind->level] = 1;
        char w[128];
        kh_catalog_level_word(cat, ind->level, day, 0, w, sizeof w);
        if (o < cap) {
            int n = snprintf(buf + o, cap - o, "%s%s", o ? ", " : "", w);
            if (n > 0) o += (size_t)n;
        }
    }
}

static int is_score(const kh_indicator_t *ind) { return ind->vtype == KH_VT_SCORE; }

static int is_ever_flag(const kh_indicator_t *ind)
{
    return ind->tagg == KH_TA_MAX && ind->vtype != KH_VT_SCORE && ind->vtype != KH_VT_OPTION;
}

/* ---- the roll ----------------------------------------------------------------------- */

typedef struct {
    const kh_indicator_t *ind;
    int option;                 /* index into ind->options, -1 for a plain indicator */
    size_t first, count;        /* the slots of this indicator */
    char name[SLOT_NAME_MAX];   /* "CODE" or "CODE=OPT" */
} slot_t;

typedef struct { double sum; double n; int has; } hcell_t;
typedef struct { double v; int has; } rv_t;
typedef struct { const char *code; size_t idx; } ix_t;

typedef kh_feed_ustat_t dstat_t;    /* a reporting unit of the half-year */

typedef struct {
    char name[8];
    kh_period_t p;
    int32_t end, due;
    dstat_t *d;                 /* the reporting units at the half's end (reporters.csv) */
    size_t nd, n_reported, n_on_time;
    lword_t w;                  /* what they are called: their level's name */
} half_t;

typedef kh_feed_roll_t roll_t;
struct kh_feed_roll {
    const kh_catalog_t *cat;
    kh_period_t p;
    char pstr[16];
    int32_t end;
    int depth;                  /* levels 1..depth (kh_catalog_depth) */
    half_t half[KH_FEED_MAX_HALVES];
    size_t nh;
    const kh_unit_t **units;    /* level by level, each in unit-file order; [0] the root */
    int32_t *uday;              /* a day each unit's row is in force (for its ancestors) */
    size_t nu;
    size_t lv_from[KH_MAX_LEVELS + 1], lv_to[KH_MAX_LEVELS + 1];   /* the units of a level */
    long *anc;                  /* [u * KH_MAX_LEVELS + k], k < nanc[u]: ancestors of u */
    unsigned char *nanc;
    long *rep;                  /* [h * nu + u]: index into half[h].d, -1: not reporting */
    size_t *cols, ncols;        /* summary columns: the reporting units at the period end */
    lword_t colw, rootw;        /* their words; the root level's words */
    slot_t *slots;
    size_t ns;
    ix_t *uix, *six;
    hcell_t *cells;             /* [(u * ns + s) * nh + h] */
    rv_t *rv;                   /* [u * ns + s] */
    size_t n_skipped;           /* cells of unknown units or indicators */
};

void kh_feed_roll_free(roll_t **rp)
{
    roll_t *r = *rp;
    if (!r) return;
    for (size_t h = 0; h < r->nh; h++) free(r->half[h].d);
    free(r->units);
    free(r->uday);
    free(r->anc);
    free(r->nanc);
    free(r->rep);
    free(r->cols);
    free(r->slots);
    free(r->uix);
    free(r->six);
    free(r->cells);
    free(r->rv);
    free(r);
    *rp = NULL;
}

static int ix_cmp(const void *a, const void *b)
{
    return strcmp(((const ix_t *)a)->code, ((const ix_t *)b)->code);
}

static long ix_find(const ix_t *ix, size_t n, const char *code)
{
    ix_t key = {code, 0};
    const ix_t *hit = bsearch(&key, ix, n, sizeof *ix, ix_cmp);
    return hit ? (long)hit->idx : -1;
}

static int level_ok(int level) { return level >= 1 && level <= KH_MAX_LEVELS; }

/* Units of `level` (0: any) under `parent` ("" any) in force on `date`, into a new array. */
static int units_on(const kh_catalog_t *cat, int level, const char *parent, int32_t date,
                    const kh_unit_t ***out, size_t *n)
{
    const kh_unit_t *one[1];
    size_t total = kh_catalog_units_on(cat, level, parent, date, one, 1);
    *out = NULL;
    *n = 0;
    if (total == 0) return 0;
    const kh_unit_t **arr = calloc(total, sizeof *arr);
    if (!arr) return oom();
    size_t got = kh_catalog_units_on(cat, level, parent, date, arr, total);
    *out = arr;
    *n = got < total ? got : total;
    return 0;
}

static int sql_fail(sqlite3 *db, const char *what)
{
    report_err("bản sao cục bộ lỗi / mirror database error (%s): %s", what, sqlite3_errmsg(db));
    return -1;
}

/* ---- choosing the units: one linked list per level, a hash of the codes placed ---- */

typedef struct {
    const kh_unit_t *u;
    int32_t day;                /* a day the row u is in force */
    long next;                  /* the next unit of its level, -1 at the end */
} unode_t;

typedef struct {
    unode_t *node;
    size_t n, cap;
    long head[KH_MAX_LEVELS + 1], tail[KH_MAX_LEVELS + 1];
    long *hash;                 /* open addressing: node index + 1, 0 = empty slot */
    size_t hcap;                /* a power of two, at least twice n */
} ubuild_t;

static size_t code_hash(const char *s)
{
    size_t h = 14695981039346656037u;   /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static long ub_find(const ubuild_t *b, const char *code)
{
    if (!b->hcap) return -1;
    for (size_t i = code_hash(code) & (b->hcap - 1);; i = (i + 1) & (b->hcap - 1)) {
        long k = b->hash[i];
        if (k == 0) return -1;
        if (strcmp(b->node[k - 1].u->code, code) == 0) return k - 1;
    }
}

static void ub_hash_put(ubuild_t *b, long k)
{
    size_t i = code_hash(b->node[k].u->code) & (b->hcap - 1);
    while (b->hash[i]) i = (i + 1) & (b->hcap - 1);
    b->hash[i] = k + 1;
}

/* Places u on its level right after node `prev` (-1: first of the level).  Returns the
 * new node, or -1 when out of memory (printed). */
static long ub_insert(ubuild_t *b, long prev, const kh_unit_t *u, int32_t day)
{
    if (KH_GROW(b->node, b->n, b->cap, 256) < 0)
        return oom();
    if ((b->n + 1) * 2 > b->hcap) {
        size_t hcap = b->hcap ? b->hcap * 2 : 512;
        long *nh = calloc(hcap, sizeof *nh);
        if (!nh) return oom();
        free(b->hash);
        b->hash = nh;
        b->hcap = hcap;
        for (size_t k = 0; k < b->n; k++) ub_hash_put(b, (long)k);
    }
    int l = u->level;
    long k = (long)b->n++;
    b->node[k] = (unode_t){u, day, -1};
    if (prev < 0) {
        b->node[k].next = b->head[l];
        b->head[l] = k;
        if (b->tail[l] < 0) b->tail[l] = k;
    } else {
        b->node[k].next = b->node[prev].next;
        b->node[prev].next = k;
        if (b->tail[l] == prev) b->tail[l] = k;
    }
    ub_hash_put(b, k);
    return k;
}

/* A day the row u is in force: `day` itself when it is, else its last day (or its first,
 * for a row that begins after `day`). */
static int32_t unit_day(const kh_unit_t *u, int32_t day)
{
    if ((u->valid_from == 0 || u->valid_from <= day) && (u->valid_to == 0 || day <= u->valid_to))
        return day;
    if (u->valid_to && u->valid_to < day) return u->valid_to;
    return u->valid_from;
}

/* The units of the roll, level by level: those in force at some half's end (merged in
 * unit-file order, see the design notes), then any other unit of the unit file that has
 * cells in some half; then the index of their codes.  Returns 0 or -1 (printed). */
static int roll_units(roll_t *r, sqlite3 *db)
{
    ubuild_t b = {0};
    for (int l = 0; l <= KH_MAX_LEVELS; l++) b.head[l] = b.tail[l] = -1;
    int rc = -1;
    sqlite3_stmt *st = NULL;
    for (size_t k = r->nh; k-- > 0;) {
        const kh_unit_t **list;
        size_t n;
        if (units_on(r->cat, 0, "", r->half[k].end, &list, &n) < 0) goto out;
        long prev[KH_MAX_LEVELS + 1];   /* insert position: after the predecessor */
        for (int l = 0; l <= KH_MAX_LEVELS; l++) prev[l] = -1;
        for (size_t i = 0; i < n; i++) {
            const kh_unit_t *u = list[i];
            if (!level_ok(u->level)) continue;
            long at = ub_find(&b, u->code);
            if (at >= 0) {   /* placed by a later half: on this level, a predecessor */
                if (b.node[at].u->level == u->level) prev[u->level] = at;
                continue;
            }
            if ((prev[u->level] = ub_insert(&b, prev[u->level], u, r->half[k].end)) < 0) {
                free(list);
                goto out;
            }
        }
        free(list);
    }
    if (sqlite3_prepare_v2(db, "SELECT DISTINCT orgunit FROM cell WHERE period = ?1", -1, &st,
                           NULL) != SQLITE_OK) {
        sql_fail(db, "cell");
        goto out;
    }
    for (size_t h = 0; h < r->nh; h++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, r->half[h].name, -1, SQLITE_STATIC);
        int src;
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
            const char *code = (const char *)sqlite3_column_text(st, 0);
            if (!code || ub_find(&b, code) >= 0) continue;
            const kh_unit_t *u = kh_catalog_unit_any(r->cat, code);
            if (!u || !level_ok(u->level)) continue;   /* unknown: counted by roll_cells */
            if (ub_insert(&b, b.tail[u->level], u, unit_day(u, r->end)) < 0) goto out;
        }
        if (src != SQLITE_DONE) {
            sql_fail(db, "cell");
            goto out;
        }
    }
    r->units = calloc(b.n + 1, sizeof *r->units);
    r->uday = calloc(b.n + 1, sizeof *r->uday);
    r->uix = calloc(b.n + 1, sizeof *r->uix);
    if (!r->units || !r->uday || !r->uix) {
        oom();
        goto out;
    }
    for (int l = 1; l <= KH_MAX_LEVELS; l++) {
        r->lv_from[l] = r->nu;
        for (long k = b.head[l]; k >= 0; k = b.node[k].next) {
            r->units[r->nu] = b.node[k].u;
            r->uday[r->nu++] = b.node[k].day;
        }
        r->lv_to[l] = r->nu;
    }
    /* units[0] is the root in force at the period's end (the rest of the code counts on
     * it): over a year or a programme that spans a reorganisation of the root (83 until
     * 30 June 2025, 86 after) the earlier root would otherwise come first */
    for (size_t k = r->lv_from[1]; k < r->lv_to[1]; k++) {
        if (!kh_catalog_unit_on(r->cat, r->units[k]->code, r->end))
            continue;
        const kh_unit_t *root = r->units[k];
        int32_t day = r->uday[k];
        memmove(r->units + 1, r->units, k * sizeof *r->units);
        memmove(r->uday + 1, r->uday, k * sizeof *r->uday);
        r->units[0] = root;
        r->uday[0] = day;
        break;
    }
    for (size_t u = 0; u < r->nu; u++) r->uix[u] = (ix_t){r->units[u]->code, u};
    qsort(r->uix, r->nu, sizeof *r->uix, ix_cmp);
    rc = 0;
out:
    sqlite3_finalize(st);
    free(b.node);
    free(b.hash);
    return rc;
}

/* Each unit's ancestors among the units of the roll, as in force on its day: its
 * parent, the parent's parent, … up to the root. */
static int roll_ancestors(roll_t *r)
{
    r->anc = calloc(r->nu * KH_MAX_LEVELS + 1, sizeof *r->anc);
    r->nanc = calloc(r->nu + 1, sizeof *r->nanc);
    if (!r->anc || !r->nanc) return oom();
    for (size_t u = 0; u < r->nu; u++) {
        const kh_unit_t *row = r->units[u];
        for (int hop = 0; hop < KH_MAX_LEVELS && row && row->parent[0]; hop++) {
            const kh_unit_t *p = kh_catalog_parent_on(r->cat, row, r->uday[u]);
            if (!p) p = kh_catalog_unit_any(r->cat, row->parent);
            if (!p) break;
            long a = ix_find(r->uix, r->nu, p->code);
            if (a >= 0 && (size_t)a != u && r->nanc[u] < KH_MAX_LEVELS)
                r->anc[u * KH_MAX_LEVELS + r->nanc[u]++] = a;
            row = p;
        }
    }
    return 0;
}

/* 1 when unit l is below unit u. */
static int is_below(const roll_t *r, size_t l, size_t u)
{
    for (size_t k = 0; k < r->nanc[l]; k++)
        if (r->anc[l * KH_MAX_LEVELS + k] == (long)u) return 1;
    return 0;
}

static int roll_slots(roll_t *r)
{
    size_t ni = kh_catalog_indicator_count(r->cat);
    r->slots = calloc(ni * KH_MAX_OPTIONS + 1, sizeof *r->slots);
    if (!r->slots) return oom();
    for (size_t i = 0; i < ni; i++) {
        const kh_indicator_t *ind = kh_catalog_indicator_at(r->cat, i);
        if (!ind) continue;
        size_t first = r->ns;
        if (ind->vtype == KH_VT_OPTION) {
            int no = ind->n_options < KH_MAX_OPTIONS ? ind->n_options : KH_MAX_OPTIONS;
            for (int k = 0; k < no; k++) {
                slot_t *s = &r->slots[r->ns++];
                s->ind = ind;
                s->option = k;
                snprintf(s->name, sizeof s->name, "%s=%s", ind->code, ind->options[k]);
            }
        } else {
            slot_t *s = &r->slots[r->ns++];
            s->ind = ind;
            s->option = -1;
            kh_strlcpy(s->name, ind->code, sizeof s->name);
        }
        for (size_t k = first; k < r->ns; k++) {
            r->slots[k].first = first;
            r->slots[k].count = r->ns - first;
        }
    }
    r->six = calloc(r->ns + 1, sizeof *r->six);
    if (!r->six) return oom();
    for (size_t s = 0; s < r->ns; s++) r->six[s] = (ix_t){r->slots[s].name, s};
    qsort(r->six, r->ns, sizeof *r->six, ix_cmp);
    return 0;
}

static int roll_cells(roll_t *r, sqlite3 *db)
{
    size_t n = r->nu * r->ns;
    if (r->ns && n / r->ns != r->nu) return oom();
    r->cells = calloc(n * r->nh + 1, sizeof *r->cells);
    r->rv = calloc(n + 1, sizeof *r->rv);
    if (!r->cells || !r->rv) return oom();

    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT orgunit, indicator, sum, n FROM cell WHERE period = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, "cell");
    for (size_t h = 0; h < r->nh; h++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, r->half[h].name, -1, SQLITE_STATIC);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *org = (const char *)sqlite3_column_text(st, 0);
            const char *ind = (const char *)sqlite3_column_text(st, 1);
            long u = org ? ix_find(r->uix, r->nu, org) : -1;
            long s = ind ? ix_find(r->six, r->ns, ind) : -1;
            if (u < 0 || s < 0) { r->n_skipped++; continue; }
            hcell_t *c = &r->cells[((size_t)u * r->ns + (size_t)s) * r->nh + h];
            c->sum = sqlite3_column_double(st, 2);
            c->n = (double)sqlite3_column_int64(st, 3);
            c->has = 1;
        }
        if (rc != SQLITE_DONE) { sqlite3_finalize(st); return sql_fail(db, "cell"); }
    }
    sqlite3_finalize(st);
    return 0;
}

static hcell_t *cell_at(const roll_t *r, size_t u, size_t s, size_t h)
{
    return &r->cells[(u * r->ns + s) * r->nh + h];
}

static const rv_t *rv_at(const roll_t *r, size_t u, size_t s) { return &r->rv[u * r->ns + s]; }

/* A half's value of a plain slot: the sum, or the average for a score. */
static int half_value(const roll_t *r, size_t u, size_t s, size_t h, double *v)
{
    const hcell_t *c = cell_at(r, u, s, h);
    if (!c->has) return 0;
    if (r->slots[s].ind->vtype == KH_VT_SCORE) {
        if (c->n <= 0) return 0;
        *v = c->sum / c->n;
    } else {
        *v = c->sum;
    }
    return 1;
}

/* Over several halves, a `max` flag above the level where it is reported counts the
 * units whose flag was ever 1 (README: "flags: ever true"): in the seed, Phú Khương
 * funded in S1 and Phú Tân in S2 make 2 funded centres in the year, where the maximum of
 * the district's half-year counts would say 1.  Every unit of the indicator's level below
 * the aggregate counts, merged ones included (a centre funded in 2019 was funded), at
 * every level above it (in a tree of four levels, the root and both levels between).  An
 * aggregate with no such unit in the mirror keeps the maximum of its own cells.  `sum` and
 * `last` keep the aggregate's own cells: its latest cell is a consistent set of units for
 * both a rate's numerator and denominator. */
static void roll_up_flags(roll_t *r)
{
    for (size_t s = 0; s < r->ns; s++) {
        const slot_t *sl = &r->slots[s];
        const kh_indicator_t *ind = sl->ind;
        if (!is_ever_flag(ind) || sl->option >= 0 || !level_ok(ind->level)) continue;
        size_t l0 = r->lv_from[ind->level], l1 = r->lv_to[ind->level];
        for (size_t u = 0; u < r->nu; u++) {
            if (r->units[u]->level >= ind->level) continue;   /* aggregates only */
            double sum = 0;
            int any = 0;
            for (size_t l = l0; l < l1; l++) {
                const rv_t *v = rv_at(r, l, s);
                if (!v->has || !is_below(r, l, u)) continue;
                sum += v->v;
                any = 1;
            }
            if (any) r->rv[u * r->ns + s] = (rv_t){sum, 1};
        }
    }
}

static void roll_values(roll_t *r)
{
    for (size_t u = 0; u < r->nu; u++) {
        for (size_t s = 0; s < r->ns; s++) {
            const slot_t *sl = &r->slots[s];
            rv_t *out = &r->rv[u * r->ns + s];
            double v;
            if (sl->option >= 0 && sl->ind->tagg == KH_TA_LAST) {
                /* the latest half with any option of this indicator */
                for (size_t h = r->nh; h-- > 0;) {
                    int any = 0;
                    for (size_t k = sl->first; k < sl->first + sl->count; k++)
                        any |= cell_at(r, u, k, h)->has;
                    if (!any) continue;
                    if (cell_at(r, u, s, h)->has) *out = (rv_t){cell_at(r, u, s, h)->sum, 1};
                    break;
                }
                continue;
            }
            if (sl->ind->vtype == KH_VT_SCORE && sl->ind->tagg == KH_TA_SUM) {
                double sum = 0, n = 0;   /* pooled average over the halves */
                for (size_t h = 0; h < r->nh; h++) {
                    const hcell_t *c = cell_at(r, u, s, h);
                    if (c->has) { sum += c->sum; n += c->n; }
                }
                if (n > 0) *out = (rv_t){sum / n, 1};
                continue;
            }
            switch (sl->ind->tagg) {
            case KH_TA_SUM:
                for (size_t h = 0; h < r->nh; h++)
                    if (half_value(r, u, s, h, &v)) { out->v += v; out->has = 1; }
                break;
            case KH_TA_LAST:
                for (size_t h = r->nh; h-- > 0;)
                    if (half_value(r, u, s, h, &v)) { *out = (rv_t){v, 1}; break; }
                break;
            case KH_TA_MAX:
                for (size_t h = 0; h < r->nh; h++)
                    if (half_value(r, u, s, h, &v) && (!out->has || v > out->v))
                        *out = (rv_t){v, 1};
                break;
            }
        }
    }
    if (r->nh >= 2) roll_up_flags(r);
}

/* The reporting units of each half-year (reporters.csv at the half's end, whatever their
 * level) with their status, what they are called, and the summary's columns: the
 * reporting units at the period end (the root's children when nobody reports then). */
static int roll_status(roll_t *r, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT revision, received_at FROM status"
                           " WHERE period = ?1 AND district = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, "status");
    r->rep = malloc((r->nh * r->nu + 1) * sizeof *r->rep);
    if (!r->rep) { sqlite3_finalize(st); return oom(); }
    for (size_t i = 0; i < r->nh * r->nu; i++) r->rep[i] = -1;
    for (size_t h = 0; h < r->nh; h++) {
        half_t *hf = &r->half[h];
        size_t n = kh_catalog_reporters_on(r->cat, hf->end, NULL, 0);
        const kh_unit_t **list = calloc(n + 1, sizeof *list);
        hf->d = calloc(n + 1, sizeof *hf->d);
        if (!list || !hf->d) { free(list); sqlite3_finalize(st); return oom(); }
        n = kh_catalog_reporters_on(r->cat, hf->end, list, n);
        hf->nd = n;
        units_words(r->cat, list, n, hf->end, &hf->w);
        for (size_t i = 0; i < n; i++) {
            dstat_t *d = &hf->d[i];
            d->unit = list[i];
            long u = ix_find(r->uix, r->nu, list[i]->code);
            if (u >= 0) r->rep[h * r->nu + (size_t)u] = (long)i;
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, hf->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, list[i]->code, -1, SQLITE_STATIC);
            int rc = sqlite3_step(st);
            if (rc == SQLITE_ROW) {
                d->reported = 1;
                d->revision = sqlite3_column_int64(st, 0);
                d->received_at = sqlite3_column_int64(st, 1);
                d->on_time = kh_ms_to_date(d->received_at) <= hf->due;
                hf->n_reported++;
                hf->n_on_time += (size_t)d->on_time;
            } else if (rc != SQLITE_DONE) {
                free(list);
                sqlite3_finalize(st);
                return sql_fail(db, "status");
            }
        }
        free(list);
    }
    sqlite3_finalize(st);

    r->cols = calloc(r->nu + 1, sizeof *r->cols);
    if (!r->cols) return oom();
    const half_t *last = &r->half[r->nh - 1];   /* its end is the period's end */
    for (size_t i = 0; i < last->nd; i++) {
        long u = ix_find(r->uix, r->nu, last->d[i].unit->code);
        if (u > 0) r->cols[r->ncols++] = (size_t)u;   /* not the root: its own column */
    }
    r->colw = last->w;
    if (r->ncols == 0 && r->depth >= 2) {
        for (size_t u = r->lv_from[2]; u < r->lv_to[2]; u++)
            if (kh_catalog_unit_on(r->cat, r->units[u]->code, r->end) && is_below(r, u, 0))
                r->cols[r->ncols++] = u;
        level_words(r->cat, 2, r->end, &r->colw);
    }
    return 0;
}

int kh_feed_roll_build(sqlite3 *db, const kh_catalog_t *cat, const char *period, roll_t **out)
{
    *out = NULL;
    if (!db || !cat) {
        report_err("không có bản sao cục bộ hoặc danh mục / no mirror or catalogue");
        return -1;
    }
    roll_t *r = calloc(1, sizeof *r);
    if (!r) return oom();
    r->cat = cat;
    r->depth = kh_catalog_depth(cat);
    if (!period || kh_period_parse(period, &r->p) < 0) {
        report_err("kỳ báo cáo không hợp lệ / invalid period: \"%s\" (ví dụ / e.g. 2020S2, 2020, "
                   "2017-2020)", period ? period : "");
        goto out_free;
    }
    kh_period_format(&r->p, r->pstr, sizeof r->pstr);
    r->end = kh_period_end(&r->p);
    /* the report periods it sums: its half-years, or its years where the programme in
     * force reports yearly */
    char names[KH_FEED_MAX_HALVES][8];
    size_t nh = kh_catalog_report_periods(cat, &r->p, names, KH_FEED_MAX_HALVES);
    if (nh == 0) {
        report_err("kỳ %s không có báo cáo: chương trình có hiệu lực khi đó báo cáo mỗi năm "
                   "một lần, hãy chọn kỳ là năm (ví dụ %04d) / no report covers %s: the "
                   "programme in force reports once a year, choose the year (e.g. %04d)",
                   r->pstr, r->p.year, r->pstr, r->p.year);
        goto out_free;
    }
    if (nh > KH_FEED_MAX_HALVES) {
        report_err("kỳ báo cáo quá dài / period too long: \"%s\"", period);
        goto out_free;
    }
    r->nh = nh;
    for (size_t h = 0; h < nh; h++) {
        half_t *hf = &r->half[h];
        memcpy(hf->name, names[h], sizeof hf->name);
        hf->name[sizeof hf->name - 1] = '\0';
        if (kh_period_parse(hf->name, &hf->p) < 0) {
            report_err("kỳ báo cáo không hợp lệ / invalid report period: \"%s\"", hf->name);
            goto out_free;
        }
        hf->end = kh_period_end(&hf->p);
        hf->due = kh_period_due(cat, &hf->p);
    }
    level_words(cat, 1, r->end, &r->rootw);

    /* each step prints its own reason when it fails */
    if (roll_units(r, db) < 0) goto out_free;
    if (r->lv_to[1] == 0 || !kh_catalog_unit_on(cat, r->units[0]->code, r->end)) {
        report_err("danh mục không có %s nào (cấp 1) vào %d / the catalogue has no unit of "
                   "level 1 in force on %d", r->rootw.lower, (int)r->end, (int)r->end);
        goto out_free;
    }
    if (roll_ancestors(r) < 0 || roll_slots(r) < 0 || roll_cells(r, db) < 0) goto out_free;
    roll_values(r);
    if (roll_status(r, db) < 0) goto out_free;
    *out = r;
    return 0;

out_free:
    kh_feed_roll_free(&r);
    return -1;
}

/* The numerator and denominator of a rate at unit u, from the same units and the same
 * half-years (targets.csv: "a rate's numerator and denominator roll up the same way"):
 *  - both flows (`sum`): summed over the halves where both are known;
 *  - otherwise the denominator is a stock or a flag taken at h*, the latest half where
 *    both are known at u, and the numerator is taken at h* too (a stock), summed up to
 *    h* (a flow), or, for an "ever true" (`max`) numerator over several halves, counted
 *    over the units that make up the denominator at h*: each unit of the indicator's
 *    own level under u with a denominator at h* counts its numerator's maximum over
 *    the halves up to h*, and a flag over a flag counts only where both are 1 (of the
 *    centres at the end of the period, those funded at some time in it).  A unit
 *    merged away before h* is in neither part, so the rate of a subset is at most 100.
 * Returns 1, or 0 when there is no common half. */
static int rate_parts(const roll_t *r, size_t u, size_t sn, size_t sd, double *num, double *den)
{
    const kh_indicator_t *in = r->slots[sn].ind, *id = r->slots[sd].ind;
    double a, b;
    *num = *den = 0;
    if (in->tagg == KH_TA_SUM && id->tagg == KH_TA_SUM) {
        int any = 0;
        for (size_t h = 0; h < r->nh; h++)
            if (half_value(r, u, sn, h, &a) && half_value(r, u, sd, h, &b)) {
                *num += a;
                *den += b;
                any = 1;
            }
        return any;
    }
    size_t hs = r->nh;
    for (size_t h = r->nh; h-- > 0;)
        if (half_value(r, u, sn, h, &a) && half_value(r, u, sd, h, &b)) { hs = h; break; }
    if (hs == r->nh) return 0;
    *den = b;
    if (in->tagg == KH_TA_SUM) {
        *num = 0;
        for (size_t h = 0; h <= hs; h++)
            if (half_value(r, u, sn, h, &a)) *num += a;
        return 1;
    }
    *num = a;
    if (in->tagg != KH_TA_MAX || hs == 0) return 1;

    int flags = in->vtype == KH_VT_FLAG && id->vtype == KH_VT_FLAG;
    if (!level_ok(in->level)) return 1;
    size_t l0 = r->lv_from[in->level], l1 = r->lv_to[in->level];
    if (r->units[u]->level == in->level) l0 = u, l1 = u + 1;
    double n = 0, d = 0;
    int any = 0;
    for (size_t l = l0; l < l1; l++) {
        if (l != u && !is_below(r, l, u)) continue;
        double dl, nl = 0, x;
        if (!half_value(r, l, sd, hs, &dl)) continue;
        for (size_t h = 0; h <= hs; h++)
            if (half_value(r, l, sn, h, &x) && x > nl) nl = x;
        if (flags) nl = nl > 0 && dl > 0 ? 1 : 0;
        n += nl;
        d += dl;
        any = 1;
    }
    if (any) { *num = n; *den = d; }   /* else: the unit's own cells at h*, as above */
    return 1;
}

/* Rate of target t at unit u (rounded to 2 decimals).  Returns 1, or 0 when it cannot
 * be computed (numerator or denominator missing, no common half, denominator 0). */
static int rate_at(const roll_t *r, size_t u, const kh_target_t *t, double *out)
{
    long sn = ix_find(r->six, r->ns, t->numerator);
    long sd = ix_find(r->six, r->ns, t->denominator);
    if (sn < 0 || sd < 0) return 0;
    double num, den;
    if (!rate_parts(r, u, (size_t)sn, (size_t)sd, &num, &den) || den == 0) return 0;
    *out = round2(num / den * 100.0);
    return 1;
}

/* ---- rows --------------------------------------------------------------------------- */

void kh_feed_rows_clear(kh_feed_rows_t *rows)
{
    if (!rows) return;
    free(rows->rows);
    rows->rows = NULL;
    rows->n = rows->cap = 0;
}

static kh_feed_row_t *row_add(kh_feed_rows_t *rows, const char *period, const kh_unit_t *u,
                              const char *indicator, double value, int is_int,
                              kh_feed_kind_t kind)
{
    if (KH_GROW(rows->rows, rows->n, rows->cap, 256) < 0)
        return NULL;
    kh_feed_row_t *row = &rows->rows[rows->n++];
    memset(row, 0, sizeof *row);
    kh_strlcpy(row->period, period, sizeof row->period);
    kh_strlcpy(row->orgunit, u->code, sizeof row->orgunit);
    row->unit_name = u->name;
    kh_strlcpy(row->indicator, indicator, sizeof row->indicator);
    row->value = value == 0 ? 0.0 : value;
    row->is_int = is_int;
    row->kind = kind;
    row->option = -1;
    return row;
}

/* 0 when `level` is a level of the catalogue's tree, else -1 after printing why. */
static int check_level(const kh_catalog_t *cat, int level, int32_t day)
{
    if (level >= 1 && level <= kh_catalog_depth(cat)) return 0;
    char list[1024];
    levels_list(cat, day, list, sizeof list);
    report_err("cấp không hợp lệ / invalid level: %d (%s)", level, list);
    return -1;
}

/* The rows of the units of `level`, in the roll's order: values, rates, completeness.
 * Completeness goes on the root (counts of the reporting units per half) and on each
 * reporting unit, whatever its level (REPORTED, ON_TIME 1/0 for each half it reports
 * in); the root's counts take the place of its own when the root itself reports. */
static int rows_of_level(const roll_t *r, int level, kh_feed_rows_t *out)
{
    static const char *root_codes[] = {"COMPLETENESS.EXPECTED", "COMPLETENESS.REPORTED",
                                       "COMPLETENESS.ON_TIME", "COMPLETENESS.LATE",
                                       "COMPLETENESS.MISSING"};
    if (!level_ok(level)) return 0;
    size_t nt = kh_catalog_target_count(r->cat);
    for (size_t u = r->lv_from[level]; u < r->lv_to[level]; u++) {
        const kh_unit_t *unit = r->units[u];
        for (size_t s = 0; s < r->ns; s++) {
            const rv_t *v = rv_at(r, u, s);
            if (!v->has) continue;
            const slot_t *sl = &r->slots[s];
            int is_int = sl->ind->vtype != KH_VT_SCORE;
            kh_feed_row_t *row = row_add(out, r->pstr, unit, sl->name,
                                         is_int ? v->v : round2(v->v), is_int, KH_FEED_VALUE);
            if (!row) return -1;
            row->ind = sl->ind;
            row->option = sl->option;
        }
        for (size_t t = 0; t < nt; t++) {
            const kh_target_t *tg = kh_catalog_target_at(r->cat, t);
            double rate;
            if (!tg || !rate_at(r, u, tg, &rate)) continue;
            kh_feed_row_t *row = row_add(out, r->pstr, unit, tg->code, rate, 0, KH_FEED_RATE);
            if (!row) return -1;
            row->target = tg;
        }
        for (size_t h = 0; h < r->nh; h++) {
            const half_t *hf = &r->half[h];
            if (u == 0) {
                double v[5] = {(double)hf->nd, (double)hf->n_reported, (double)hf->n_on_time,
                               (double)(hf->n_reported - hf->n_on_time),
                               (double)(hf->nd - hf->n_reported)};
                for (size_t k = 0; k < 5; k++)
                    if (!row_add(out, hf->name, unit, root_codes[k], v[k], 1,
                                 KH_FEED_COMPLETENESS))
                        return -1;
            } else if (r->rep[h * r->nu + u] >= 0) {
                const dstat_t *d = &hf->d[r->rep[h * r->nu + u]];
                if (!row_add(out, hf->name, unit, "COMPLETENESS.REPORTED", d->reported, 1,
                             KH_FEED_COMPLETENESS) ||
                    !row_add(out, hf->name, unit, "COMPLETENESS.ON_TIME", d->on_time, 1,
                             KH_FEED_COMPLETENESS))
                    return -1;
            }
        }
    }
    return 0;
}

int kh_feed_level_parse(const kh_catalog_t *cat, const char *s, int32_t day, int *out)
{
    long v;
    if (cat && s && kh_parse_long(s, 1, kh_catalog_depth(cat), &v) == 0) {
        *out = (int)v;
        return 0;
    }
    char list[1024];
    levels_list(cat, day, list, sizeof list);
    report_err("--level must be a level number: %s", list);
    return -1;
}

int kh_feed_roll_rows(const roll_t *r, int level, kh_feed_rows_t *out)
{
    int rc = check_level(r->cat, level, r->end);
    if (rc == 0 && (rc = rows_of_level(r, level, out)) < 0)
        report_err("hết bộ nhớ / out of memory");
    return rc;
}

int kh_feed_rows(sqlite3 *mirror, const kh_catalog_t *cat, const char *period, int level,
                 kh_feed_rows_t *out)
{
    roll_t *r;
    if (kh_feed_roll_build(mirror, cat, period, &r) < 0) return -1;
    int rc = kh_feed_roll_rows(r, level, out);
    kh_feed_roll_free(&r);
    return rc;
}

size_t kh_feed_roll_halves(const roll_t *r)
{
    return r->nh;
}

kh_feed_half_t kh_feed_roll_half(const roll_t *r, size_t h)
{
    const half_t *hf = &r->half[h];
    return (kh_feed_half_t){.name = hf->name, .p = hf->p, .end = hf->end, .due = hf->due,
                            .d = hf->d, .nd = hf->nd, .n_reported = hf->n_reported,
                            .n_on_time = hf->n_on_time, .title = hf->w.title};
}

const kh_feed_row_t *kh_feed_rows_find(const kh_feed_rows_t *rows, const char *period,
                                       const char *orgunit, const char *indicator)
{
    for (size_t i = 0; rows && i < rows->n; i++) {
        const kh_feed_row_t *row = &rows->rows[i];
        if (strcmp(row->orgunit, orgunit) == 0 && strcmp(row->indicator, indicator) == 0 &&
            (!period || strcmp(row->period, period) == 0))
            return row;
    }
    return NULL;
}

void kh_feed_format_value(const kh_feed_row_t *row, char *buf, size_t cap)
{
    fmt_plain(row->value, row->is_int, buf, cap);
}

void kh_feed_format_vi(double v, int is_int, int sign, char *buf, size_t cap)
{
    fmt_vi(v, is_int, sign, buf, cap);
}

/* ---- the summary -------------------------------------------------------------------- */

/* A text table: rows of cells (NULL = empty), or a heading row printed as is. */
#define TBL_COLS 32
typedef struct {
    int heading;
    char *cell[TBL_COLS];
} tbl_line_t;

typedef struct {
    size_t ncols, nrows, cap;   /* ncols <= TBL_COLS */
    tbl_line_t *rows;
    int right[TBL_COLS];
    size_t maxw[TBL_COLS], minw[TBL_COLS];
    int wrap_head;              /* the first row (the header) wraps at its blanks */
    int oom;
} tbl_t;

static size_t tbl_row(tbl_t *t, int heading)
{
    if (t->ncols > TBL_COLS || KH_GROW(t->rows, t->nrows, t->cap, 64) < 0) {
        t->oom = 1;
        return (size_t)-1;
    }
    memset(&t->rows[t->nrows], 0, sizeof t->rows[t->nrows]);
    t->rows[t->nrows].heading = heading;
    return t->nrows++;
}

static void tbl_set(tbl_t *t, size_t row, size_t col, const char *s)
{
    if (row == (size_t)-1 || col >= t->ncols || !s) return;
    char *d = strdup(s);
    if (!d) { t->oom = 1; return; }
    free(t->rows[row].cell[col]);
    t->rows[row].cell[col] = d;
}

static void tbl_free(tbl_t *t)
{
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) free(t->rows[r].cell[c]);
    free(t->rows);
    memset(t, 0, sizeof *t);
}

/* The next line of s in `cols` columns: *len bytes to print, *next bytes to skip.  A
 * text wider than the column is wrapped at the last blank that fits (or, for a single
 * word wider than the column, at the column's edge): never cut. */
static void wrap_line(const char *s, size_t cols, size_t *len, size_t *next)
{
    if (cols == 0 || text_width(s) <= cols) {
        *len = *next = strlen(s);
        return;
    }
    size_t b = text_prefix(s, cols);
    size_t k = b;
    if (s[b] != ' ')
        while (k > 0 && s[k] != ' ') k--;
    if (k == 0) {            /* one word wider than the column */
        *len = *next = b > 0 ? b : 1;
        while (s[*next] && ((unsigned char)s[*next] & 0xC0) == 0x80) (*next)++, (*len)++;
        return;
    }
    *len = k;
    *next = k;
    while (s[*next] == ' ') (*next)++;
}

/* The display width of the widest word of s (a header that may wrap at its blanks). */
static size_t widest_word(const char *s)
{
    size_t best = 0;
    while (*s) {
        size_t n = strcspn(s, " ");
        size_t w = text_width_n(s, n);
        if (w > best) best = w;
        s += n;
        while (*s == ' ') s++;
    }
    return best;
}

/* Each column's printed width into w (the widest cell, at least minw, at most maxw; the
 * first row counts only its widest word when wrap_head is set) and the whole line's. */
static size_t tbl_widths(const tbl_t *t, size_t w[TBL_COLS])
{
    size_t total = 0;
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = t->minw[c];
        for (size_t r = 0; r < t->nrows; r++) {
            const char *s = t->rows[r].cell[c];
            if (t->rows[r].heading || !s) continue;
            size_t cw = r == 0 && t->wrap_head ? widest_word(s) : text_width(s);
            if (cw > w[c]) w[c] = cw;
        }
        if (t->maxw[c] && w[c] > t->maxw[c]) w[c] = t->maxw[c];
        total += w[c] + (c ? 2 : 0);
    }
    return total;
}

static void tbl_print(const tbl_t *t, FILE *out)
{
    size_t w[TBL_COLS] = {0};
    size_t total = tbl_widths(t, w);
    for (size_t r = 0; r < t->nrows; r++) {
        if (t->rows[r].heading) {
            const char *s = t->rows[r].cell[0];
            if (s) fprintf(out, "%s\n", s);
            else { for (size_t i = 0; i < total; i++) fputc('-', out); fputc('\n', out); }
            continue;
        }
        const char *rem[32];
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->rows[r].cell[c];
            rem[c] = s ? s : "";
        }
        for (int pass = 0;; pass++) {   /* one printed line per pass: wrapped cells go on */
            char seg[32][512];
            size_t last = 0;
            int any = pass == 0;
            for (size_t c = 0; c < t->ncols; c++) {
                size_t len, next;
                wrap_line(rem[c], w[c], &len, &next);
                if (len >= sizeof seg[c]) len = next = sizeof seg[c] - 1;
                memcpy(seg[c], rem[c], len);
                seg[c][len] = '\0';
                rem[c] += next;
                if (len) { last = c; any = 1; }
            }
            if (!any) break;
            for (size_t c = 0; c <= last; c++) {
                if (c) fputs("  ", out);
                put_cell(out, seg[c], w[c], t->right[c], c < last);
            }
            fputc('\n', out);
            int more = 0;
            for (size_t c = 0; c < t->ncols; c++) more |= rem[c][0] != '\0';
            if (!more) break;
        }
    }
}

static int indicator_in_period(const roll_t *r, const kh_indicator_t *ind)
{
    for (size_t h = 0; h < r->nh; h++)
        if (r->half[h].p.kind == KH_P_YEAR || (r->half[h].p.half == 1 && ind->in_s1) ||
            (r->half[h].p.half == 2 && ind->in_s2))
            return 1;
    return 0;
}

/* A period as people say it (kh_period_label: "6 tháng đầu năm 2020", "năm 2020",
 * "giai đoạn 2017–2020") and its code. */
static void describe_period(const roll_t *r, char *buf, size_t cap)
{
    char vi[64];
    kh_period_label(&r->p, 0, vi, sizeof vi);
    snprintf(buf, cap, "%s (%s)", vi, r->pstr);
}

static void fmt_time(int64_t ms, char *buf, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm)) { kh_strlcpy(buf, "?", cap); return; }
    strftime(buf, cap, "%d/%m/%Y %H:%M", &tm);
}

/* The summary's lines are at most SUMMARY_WIDTH columns (a terminal, a printed page in
 * portrait); the unit columns are printed in blocks of at most SUMMARY_COLS units, each
 * block as many as fit in that width (each block with the whole-province column), so
 * that every unit is shown however many report (124 communes). */
#define SUMMARY_WIDTH 100
#define SUMMARY_COLS 10
#define UNIT_COL_MIN 9      /* a unit's column: "Thành phố" fits, longer names wrap */

/* "(đơn vị 11–20 / 124)" when the units are shown in several blocks, else "". */
static void block_note(const roll_t *r, size_t from, size_t n, char *buf, size_t cap)
{
    if (n >= r->ncols)
        buf[0] = '\0';
    else
        snprintf(buf, cap, " (%.*s %zu–%zu / %zu)", 120, r->colw.lower, from + 1, from + n,
                 r->ncols);
}

/* 1 when the root's figures of the period leave out a reporting unit that was expected
 * (some half-year has fewer reports than reporting units); then `buf` says
 * "tổng chưa đủ / partial: 2 of 9 units" (with each half-year named when there are
 * several).  0 and "" when the total is whole. */
int kh_feed_roll_partial(const roll_t *r, char *buf, size_t cap)
{
    size_t o = 0;
    int partial = 0;
    char none[1];
    if (!buf || cap == 0) buf = none, cap = sizeof none;
    buf[0] = '\0';
    for (size_t h = 0; h < r->nh; h++) {
        const half_t *hf = &r->half[h];
        if (hf->n_reported >= hf->nd) continue;
        int n = snprintf(buf + o, o < cap ? cap - o : 0, "%s%zu of %zu units%s%s%s",
                         partial ? "; " : "tổng chưa đủ / partial: ", hf->n_reported, hf->nd,
                         r->nh > 1 ? " (" : "", r->nh > 1 ? hf->name : "", r->nh > 1 ? ")" : "");
        if (n > 0) o += (size_t)n;
        if (o >= cap) o = cap - 1;
        partial = 1;
    }
    return partial;
}

/* The whole-province column's head: "Toàn tỉnh", "Toàn tỉnh (chưa đủ)" when partial. */
static void whole_head(const roll_t *r, char *buf, size_t cap)
{
    snprintf(buf, cap, "Toàn %s%s", r->rootw.lower,
             kh_feed_roll_partial(r, NULL, 0) ? " (chưa đủ)" : "");
}

/* Table I for the unit columns cols[from .. from+ndc): each indicator's name (with its
 * unit of measure) on a line of its own, then its code and values, so that the columns
 * of the units get the width.  Returns 0 printed, 1 wider than SUMMARY_WIDTH (nothing
 * printed: the caller tries fewer units), -1 out of memory. */
static int summary_indicators(const roll_t *r, FILE *out, size_t from, size_t ndc)
{
    tbl_t t = {0};
    size_t ncol = 1 + ndc + 1;
    t.ncols = ncol;
    t.wrap_head = 1;
    for (size_t c = 1; c < ncol; c++) {
        t.right[c] = 1;
        t.minw[c] = UNIT_COL_MIN;
    }

    size_t hr = tbl_row(&t, 0);
    tbl_set(&t, hr, 0, "Mã chỉ tiêu");
    t.minw[0] = text_width("Mã chỉ tiêu");   /* the codes' column head is not wrapped */
    char buf[256], whole[192];
    whole_head(r, whole, sizeof whole);
    for (size_t d = 0; d < ndc; d++) tbl_set(&t, hr, 1 + d, r->units[r->cols[from + d]]->name);
    tbl_set(&t, hr, ncol - 1, whole);
    tbl_row(&t, 1);

    for (int sec = 1; sec <= 99; sec++) {       /* sections.csv numbers them 1..99 */
        int titled = 0;
        for (size_t s = 0; s < r->ns; s++) {
            const slot_t *sl = &r->slots[s];
            if (sl->ind->section != sec || !indicator_in_period(r, sl->ind)) continue;
            if (!titled) {
                size_t row = tbl_row(&t, 1);
                char stb[32];
                tbl_set(&t, row, 0, section_title(r->cat, sec, stb, sizeof stb));
                titled = 1;
            }
            if (sl->option <= 0) {   /* the indicator's name and unit, on a line of its own */
                char unit[128];
                if (sl->option == 0)   /* an option indicator counts units of its level */
                    kh_catalog_level_word(r->cat, sl->ind->level, r->end, 0, unit, sizeof unit);
                else
                    kh_strlcpy(unit, sl->ind->vtype == KH_VT_MONEY ? "triệu đồng" : sl->ind->unit,
                               sizeof unit);
                char line[1024];
                int len = snprintf(line, sizeof line, "  %s%s%s%s", sl->ind->name_vi,
                                   unit[0] ? " (" : "", unit, unit[0] ? ")" : "");
                /* an option indicator's options, by code and label, on the same line */
                for (size_t k = sl->first; sl->option == 0 && k < sl->first + sl->count; k++) {
                    const char *code = sl->ind->options[r->slots[k].option];
                    const char *label = option_label(r->cat, sl->ind, r->slots[k].option);
                    if (len < 0 || (size_t)len >= sizeof line) break;
                    len += snprintf(line + len, sizeof line - (size_t)len, "%s%s%s%s",
                                    k == sl->first ? ": " : ", ", code,
                                    strcmp(label, code) ? " = " : "",
                                    strcmp(label, code) ? label : "");
                }
                tbl_set(&t, tbl_row(&t, 1), 0, line);
            }
            size_t row = tbl_row(&t, 0);
            tbl_set(&t, row, 0, sl->name);
            for (size_t c = 0; c < ndc + 1; c++) {
                size_t u = c < ndc ? r->cols[from + c] : 0;
                const rv_t *v = rv_at(r, u, s);
                if (v->has && sl->ind->vtype == KH_VT_MONEY) {
                    fmt_vi(v->v / 1e6, 0, 0, buf, sizeof buf);   /* millions, to 2 decimals */
                } else if (v->has) {
                    fmt_vi(v->v, sl->ind->vtype != KH_VT_SCORE, 0, buf, sizeof buf);
                } else {
                    int any = 0;   /* an option no unit chose: 0 */
                    if (sl->option >= 0)
                        for (size_t k = sl->first; k < sl->first + sl->count; k++)
                            any |= rv_at(r, u, k)->has;
                    kh_strlcpy(buf, any ? "0" : "–", sizeof buf);
                }
                tbl_set(&t, row, 1 + c, buf);
            }
        }
    }
    int rc = t.oom ? -1 : 0;
    size_t w[TBL_COLS];
    if (rc == 0 && ndc > 1 && tbl_widths(&t, w) > SUMMARY_WIDTH) rc = 1;
    if (rc == 0) {
        char note[256], partial[256];
        block_note(r, from, ndc, note, sizeof note);
        fprintf(out, "%sI. CHỈ TIÊU THEO %s%s\n\n", from ? "\n" : "", r->colw.upper, note);
        tbl_print(&t, out);
        char scored[256];   /* the levels whose units are scored */
        indicator_levels_word(r->cat, is_score, r->end, scored, sizeof scored);
        fprintf(out, "Số tiền ghi theo triệu đồng (tệp xuất ghi đủ đồng)%s%s; \"–\": chưa có số "
                "liệu.\n", scored[0] ? "; điểm là bình quân các " : "", scored);
        if (kh_feed_roll_partial(r, partial, sizeof partial))
            fprintf(out, "Cột %s: %s — chỉ cộng các %s đã báo cáo.\n", whole, partial,
                    r->colw.lower);
    }
    tbl_free(&t);
    return rc;
}

/* The milestone year of the targets in force for the period (the programme's
 * targets.csv), when all of them name the same one; else 0 (each is told beside it). */
static int common_milestone(const roll_t *r)
{
    int year = 0;
    for (size_t i = 0; i < kh_catalog_target_count(r->cat); i++) {
        const kh_target_t *tg = kh_catalog_target_at(r->cat, i);
        if (!tg || !tg->milestone) continue;
        if (year && tg->milestone != year) return 0;
        year = tg->milestone;
    }
    return year;
}

/* Table II: the reporting units as rows (then the whole province, the target and the
 * gap), the rates of targets [from .. from+nt) as columns numbered (1), (2) … and
 * explained below.  Returns 0 printed, 1 too wide (the caller tries fewer rates), -1. */
static int summary_rates(const roll_t *r, FILE *out, size_t from, size_t nt)
{
    tbl_t t = {0};
    size_t ncol = 2 + nt;
    t.ncols = ncol;
    t.maxw[1] = 28;
    for (size_t c = 2; c < ncol; c++) t.right[c] = 1;
    char buf[128], whole[192];
    whole_head(r, whole, sizeof whole);
    size_t hr = tbl_row(&t, 0);
    tbl_set(&t, hr, 0, "Mã");
    tbl_set(&t, hr, 1, r->colw.title);
    for (size_t k = 0; k < nt; k++) {
        snprintf(buf, sizeof buf, "(%zu)", from + k + 1);
        tbl_set(&t, hr, 2 + k, buf);
    }
    tbl_row(&t, 1);
    int milestone = common_milestone(r);
    for (size_t c = 0; c < r->ncols + 1; c++) {
        size_t u = c < r->ncols ? r->cols[c] : 0;
        if (c == r->ncols) tbl_row(&t, 1);
        size_t row = tbl_row(&t, 0);
        tbl_set(&t, row, 0, c < r->ncols ? r->units[u]->code : "");
        tbl_set(&t, row, 1, c < r->ncols ? r->units[u]->name : whole);
        for (size_t k = 0; k < nt; k++) {
            const kh_target_t *tg = kh_catalog_target_at(r->cat, from + k);
            double v;
            if (tg && rate_at(r, u, tg, &v)) fmt_vi(v, 0, 0, buf, sizeof buf);
            else kh_strlcpy(buf, "–", sizeof buf);
            tbl_set(&t, row, 2 + k, buf);
        }
    }
    size_t trow = tbl_row(&t, 0), grow = tbl_row(&t, 0);
    char mh[48] = "Chỉ tiêu";
    if (milestone) snprintf(mh, sizeof mh, "Chỉ tiêu %d", milestone);
    tbl_set(&t, trow, 1, mh);
    tbl_set(&t, grow, 1, "Chênh lệch (điểm %)");
    for (size_t k = 0; k < nt; k++) {
        const kh_target_t *tg = kh_catalog_target_at(r->cat, from + k);
        double v;
        if (!tg || tg->target < 0) {
            tbl_set(&t, trow, 2 + k, "–");
            tbl_set(&t, grow, 2 + k, "–");
            continue;
        }
        fmt_vi(tg->target, 0, 0, buf, sizeof buf);
        if (tg->target_difficult >= 0) {
            char d[32];
            fmt_vi(tg->target_difficult, 0, 0, d, sizeof d);
            size_t len = strlen(buf);
            snprintf(buf + len, sizeof buf - len, " (%s*)", d);
        }
        tbl_set(&t, trow, 2 + k, buf);
        if (rate_at(r, 0, tg, &v)) fmt_vi(round2(v - tg->target), 0, 1, buf, sizeof buf);
        else kh_strlcpy(buf, "–", sizeof buf);
        tbl_set(&t, grow, 2 + k, buf);
    }
    int rc = t.oom ? -1 : 0;
    size_t w[TBL_COLS];
    if (rc == 0 && nt > 1 && tbl_widths(&t, w) > SUMMARY_WIDTH) rc = 1;
    if (rc == 0) {
        size_t all = kh_catalog_target_count(r->cat);
        if (nt < all)
            fprintf(out, "\nII. TỶ LỆ SO VỚI CHỈ TIÊU (%%) (tỷ lệ %zu–%zu / %zu)\n\n", from + 1,
                    from + nt, all);
        else
            fprintf(out, "\nII. TỶ LỆ SO VỚI CHỈ TIÊU (%%)\n\n");
        tbl_print(&t, out);
        const char *source = NULL;
        for (size_t k = 0; k < nt; k++) {
            const kh_target_t *tg = kh_catalog_target_at(r->cat, from + k);
            if (!tg) continue;
            if (!source && tg->source && tg->source[0]) source = tg->source;
            char ms[48] = "";
            if (!milestone && tg->milestone) snprintf(ms, sizeof ms, " — chỉ tiêu năm %d",
                                                      tg->milestone);
            fprintf(out, "(%zu) %s: %s%s\n", from + k + 1, tg->code, tg->name_vi, ms);
        }
        char partial[256];
        if (kh_feed_roll_partial(r, partial, sizeof partial))
            fprintf(out, "Dòng %s: %s.\n", whole, partial);
        char ms[32] = "";
        if (milestone) snprintf(ms, sizeof ms, " năm %d", milestone);
        fprintf(out,
                "Tỷ lệ = tử số / mẫu số × 100, tính từ số liệu tổng hợp ở từng cấp. Chỉ tiêu%s "
                "theo %s; (*) vùng khó khăn. Chênh lệch = toàn %s − chỉ tiêu (điểm %%).\n",
                ms, source ? source : "targets.csv", r->rootw.lower);
        int last_year = r->p.kind == KH_P_PROGRAMME ? r->p.year_to : r->p.year;
        if (milestone && last_year > milestone)
            fprintf(out, "Kỳ báo cáo sau năm của chỉ tiêu (%d): đây là mốc gần nhất trong "
                    "targets.csv của chương trình / the period is after the targets' year, the "
                    "latest in the programme's targets.csv.\n", milestone);
    }
    tbl_free(&t);
    return rc;
}

static int summary_completeness(const roll_t *r, FILE *out)
{
    fputs("\nIII. TÌNH HÌNH BÁO CÁO\n", out);
    char buf[64];
    for (size_t h = 0; h < r->nh; h++) {
        const half_t *hf = &r->half[h];
        char due[16], vi[64];
        kh_date_vi(hf->due, due, sizeof due);
        kh_period_label(&hf->p, 0, vi, sizeof vi);
        fprintf(out,
                "\n%s (%s, hạn nộp %s): phải báo cáo %zu · đã báo cáo %zu · đúng hạn %zu · "
                "trễ hạn %zu · chưa báo cáo %zu\n",
                vi, hf->name, due, hf->nd, hf->n_reported, hf->n_on_time,
                hf->n_reported - hf->n_on_time, hf->nd - hf->n_reported);
        if (hf->n_reported < hf->nd)
            fprintf(out, "Toàn %s %s — tổng chưa đủ / partial: %zu of %zu units\n",
                    r->rootw.lower, hf->name, hf->n_reported, hf->nd);
        tbl_t t = {0};
        t.ncols = 5;
        t.right[3] = 1;
        size_t hr = tbl_row(&t, 0);
        tbl_set(&t, hr, 0, "Mã");
        tbl_set(&t, hr, 1, hf->w.title);
        tbl_set(&t, hr, 2, "Tình trạng");
        tbl_set(&t, hr, 3, "Lần gửi");
        tbl_set(&t, hr, 4, "Nhận lúc");
        for (size_t i = 0; i < hf->nd; i++) {
            const dstat_t *d = &hf->d[i];
            size_t row = tbl_row(&t, 0);
            tbl_set(&t, row, 0, d->unit->code);
            tbl_set(&t, row, 1, d->unit->name);
            if (d->reported) {
                tbl_set(&t, row, 2, d->on_time ? "đúng hạn" : "trễ hạn");
                snprintf(buf, sizeof buf, "%lld", d->revision);
                tbl_set(&t, row, 3, buf);
                fmt_time(d->received_at, buf, sizeof buf);
                tbl_set(&t, row, 4, buf);
            } else {
                tbl_set(&t, row, 2, "chưa báo cáo");
                tbl_set(&t, row, 3, "–");
                tbl_set(&t, row, 4, "–");
            }
        }
        int oom = t.oom;
        if (!oom) tbl_print(&t, out);
        tbl_free(&t);
        if (oom) return -1;
    }
    return 0;
}

/* The warnings kept with the counted reports of each half-year: the rules of
 * severity "warning" and the previous-period comparison.  At most `per_half` lines
 * per half-year are printed, then how many more.  Returns 0 or -1. */
static int summary_warnings(sqlite3 *mirror, const roll_t *r, FILE *out, int per_half)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(mirror, "SELECT district,code,orgunit,message_vi FROM warning "
                                   "WHERE period=? ORDER BY district,orgunit,code", -1, &st,
                           NULL) != SQLITE_OK)
        return 0;                 /* a mirror from before warnings were kept */
    fprintf(out, "\nIV. CẢNH BÁO (báo cáo vẫn được tính; cần %s xem lại)\n", r->colw.lower);
    int any = 0;
    for (size_t h = 0; h < r->nh; h++) {
        sqlite3_bind_text(st, 1, r->half[h].name, -1, SQLITE_STATIC);
        int n = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (n == 0) {
                char vi[64];
                kh_period_label(&r->half[h].p, 0, vi, sizeof vi);
                fprintf(out, "\n%s (%s):\n", vi, r->half[h].name);
            }
            if (n < per_half)
                fprintf(out, "  %s  %-4s %s  %s\n", sqlite3_column_text(st, 0),
                        sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
                        sqlite3_column_text(st, 3));
            n++;
        }
        if (n > per_half)
            fprintf(out, "  … và %d cảnh báo khác\n", n - per_half);
        any |= n > 0;
        sqlite3_reset(st);
    }
    if (!any)
        fputs("Không có cảnh báo.\n", out);
    sqlite3_finalize(st);
    return ferror(out) ? -1 : 0;
}

int kh_feed_asof(sqlite3 *mirror, char *when, size_t cap, unsigned long long *seq)
{
    sqlite3_stmt *st = NULL;
    *seq = 0;
    kh_strlcpy(when, "–", cap);
    if (sqlite3_prepare_v2(mirror, "SELECT (SELECT value FROM meta WHERE key='seq'),"
                                   " (SELECT max(received_at) FROM status)", -1, &st,
                           NULL) != SQLITE_OK)
        return sql_fail(mirror, "meta");
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return sql_fail(mirror, "meta");
    }
    *seq = (unsigned long long)sqlite3_column_int64(st, 0);
    if (sqlite3_column_type(st, 1) != SQLITE_NULL)
        fmt_time(sqlite3_column_int64(st, 1), when, cap);
    sqlite3_finalize(st);
    return 0;
}

/* Prints text (lines) to out, each line at most SUMMARY_WIDTH columns: a longer one (a
 * paragraph, a warning's message) goes on over indented lines, wrapped at its blanks
 * (the tables are made to fit already). */
static void put_wrapped(const char *text, FILE *out)
{
    while (*text) {
        size_t n = strcspn(text, "\n");
        char line[4096];
        size_t len = n < sizeof line ? n : sizeof line - 1;
        memcpy(line, text, len);
        line[len] = '\0';
        text += n + (text[n] == '\n');
        if (text_width(line) <= SUMMARY_WIDTH) {
            fprintf(out, "%s\n", line);
            continue;
        }
        size_t indent = strspn(line, " ") + 2;
        if (indent > 40) indent = 2;
        const char *rem = line;
        for (int first = 1; *rem; first = 0) {
            size_t l, next;
            size_t room = SUMMARY_WIDTH - (first ? 0 : indent);
            wrap_line(rem, room, &l, &next);
            fprintf(out, "%*s%.*s\n", first ? 0 : (int)indent, "", (int)l, rem);
            rem += next;
        }
    }
}

int kh_feed_summary(sqlite3 *mirror, const kh_catalog_t *cat, const char *period, FILE *fout)
{
    if (!fout) {
        report_err("không có nơi in / no output");
        return -1;
    }
    roll_t *r;
    if (kh_feed_roll_build(mirror, cat, period, &r) < 0) return -1;
    char *text = NULL;
    size_t text_len = 0;
    FILE *out = open_memstream(&text, &text_len);
    if (!out) {
        kh_feed_roll_free(&r);
        return oom();
    }
    char desc[96], when[64], partial[256];
    unsigned long long seq;
    int rc = kh_feed_asof(mirror, when, sizeof when, &seq);
    describe_period(r, desc, sizeof desc);
    fprintf(out, "TỔNG HỢP KHUYẾN HỌC, KHUYẾN TÀI, XÂY DỰNG XÃ HỘI HỌC TẬP — %s\n",
            r->units[0]->name);
    fprintf(out, "Kỳ báo cáo: %s\n", desc);
    fprintf(out, "Dữ liệu đến / data as of %s (feed seq %llu)\n", when, seq);
    if (kh_feed_roll_partial(r, partial, sizeof partial))
        fprintf(out, "Toàn %s: %s — số liệu toàn %s chỉ gồm các %s đã báo cáo; chờ các %s "
                "còn lại báo cáo (mục III).\n", r->rootw.lower, partial, r->rootw.lower,
                r->colw.lower, r->colw.lower);
    if (r->nh > 1) {
        char flagged[256];   /* the levels of the "ever true" flags */
        indicator_levels_word(r->cat, is_ever_flag, r->end, flagged, sizeof flagged);
        fprintf(out, "Cộng dồn các kỳ 6 tháng: chỉ tiêu phát sinh cộng các kỳ; chỉ tiêu thời "
                "điểm lấy kỳ gần nhất có số liệu của từng cột (%s thiếu báo cáo kỳ cuối hiện số "
                "kỳ trước, cột Toàn %s là số của %s kỳ gần nhất); chỉ tiêu có/không đếm số "
                "%s từng đạt; tỷ lệ tính tử số và mẫu số trên cùng các đơn vị, cùng kỳ.\n",
                r->colw.lower, r->rootw.lower, r->rootw.lower,
                flagged[0] ? flagged : "đơn vị");
    }
    fputc('\n', out);
    /* blocks of units, each as many as fit in SUMMARY_WIDTH */
    for (size_t from = 0; rc == 0 && (from < r->ncols || from == 0);) {
        size_t n = r->ncols - from < SUMMARY_COLS ? r->ncols - from : SUMMARY_COLS;
        while ((rc = summary_indicators(r, out, from, n)) == 1) n--;
        from += n ? n : 1;
    }
    size_t nt = kh_catalog_target_count(r->cat);
    for (size_t from = 0; rc == 0 && from < nt;) {
        size_t n = nt - from;
        while ((rc = summary_rates(r, out, from, n)) == 1) n--;
        from += n ? n : 1;
    }
    if (rc < 0 || summary_completeness(r, out) < 0 || summary_warnings(mirror, r, out, 20) < 0) {
        report_err("hết bộ nhớ / out of memory");
        rc = -1;
    }
    if (rc == 0 && r->n_skipped)
        fprintf(out, "\nGhi chú: bỏ qua %zu ô số liệu có đơn vị hoặc chỉ tiêu không có trong "
                     "danh mục.\n", r->n_skipped);
    kh_feed_roll_free(&r);
    int bad = ferror(out);
    if (fclose(out) != 0 || bad) {
        if (rc == 0) oom();
        rc = -1;
    }
    if (rc == 0) put_wrapped(text, fout);
    free(text);
    if (rc == 0 && ferror(fout)) {
        report_err("không ghi được / write error: %s", strerror(errno));
        rc = -1;
    }
    return rc;
}

/* ---- exports ------------------------------------------------------------------------ */

/* The Vietnamese label of a row's indicator; completeness rows name the reporting
 * units of their half-year by their level ("Số huyện/thành phố phải báo cáo" in the
 * seed) on the root, and say 1/0 on a reporting unit. */
static void row_label(const roll_t *r, const kh_feed_row_t *row, char *buf, size_t cap)
{
    switch (row->kind) {
    case KH_FEED_VALUE:
        if (row->option >= 0)
            snprintf(buf, cap, "%s — %s", row->ind->name_vi,
                     option_label(r->cat, row->ind, row->option));
        else
            kh_strlcpy(buf, row->ind->name_vi, cap);
        return;
    case KH_FEED_RATE: snprintf(buf, cap, "%s (%%)", row->target->name_vi); return;
    case KH_FEED_COMPLETENESS: break;
    }
    const char *senders = r->colw.lower;
    for (size_t h = 0; h < r->nh; h++)
        if (strcmp(r->half[h].name, row->period) == 0) senders = r->half[h].w.lower;
    const char *c = row->indicator + strlen("COMPLETENESS.");
    int root = strcmp(row->orgunit, r->units[0]->code) == 0;
    if (strcmp(c, "EXPECTED") == 0) snprintf(buf, cap, "Số %s phải báo cáo", senders);
    else if (strcmp(c, "REPORTED") == 0 && root) snprintf(buf, cap, "Số %s đã báo cáo", senders);
    else if (strcmp(c, "REPORTED") == 0) kh_strlcpy(buf, "Đã báo cáo (1 = có)", cap);
    else if (strcmp(c, "ON_TIME") == 0 && root)
        snprintf(buf, cap, "Số %s báo cáo đúng hạn", senders);
    else if (strcmp(c, "ON_TIME") == 0) kh_strlcpy(buf, "Báo cáo đúng hạn (1 = có)", cap);
    else if (strcmp(c, "LATE") == 0) snprintf(buf, cap, "Số %s báo cáo trễ hạn", senders);
    else if (strcmp(c, "MISSING") == 0) snprintf(buf, cap, "Số %s chưa báo cáo", senders);
    else kh_strlcpy(buf, row->indicator, cap);
}

/* Writes buf to path ("-" = stdout).  Returns 0 or -1 after printing the reason. */
static int put_output(const char *path, const char *buf, size_t len)
{
    if (strcmp(path, "-") == 0) {
        if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
            report_err("không ghi được ra stdout / cannot write to stdout: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
    if (kh_write_file_atomic(path, buf, len) < 0) {
        report_err("không ghi được / cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int export_csv(const kh_feed_rows_t *rows, const char *path)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) {
        report_err("hết bộ nhớ / out of memory");
        return -1;
    }
    fputs("period,orgunit,indicator,value\n", m);
    char v[64];
    for (size_t i = 0; i < rows->n; i++) {
        const kh_feed_row_t *row = &rows->rows[i];
        kh_feed_format_value(row, v, sizeof v);
        fprintf(m, "%s,%s,%s,%s\n", row->period, row->orgunit, row->indicator, v);
    }
    int bad = ferror(m);
    if (fclose(m) != 0 || bad) {
        free(buf);
        report_err("hết bộ nhớ / out of memory");
        return -1;
    }
    int rc = put_output(path, buf, len);
    free(buf);
    return rc;
}

static int export_json(const kh_feed_rows_t *rows, const char *period, int level,
                       const char *path)
{
    json_t *root = json_object();
    json_t *arr = json_array();
    int bad = !root || !arr;
    if (!bad) {
        bad |= json_object_set_new(root, "period", json_string(period));
        bad |= json_object_set_new(root, "level", json_integer(level));
        bad |= json_object_set(root, "rows", arr);
    }
    for (size_t i = 0; !bad && i < rows->n; i++) {
        const kh_feed_row_t *row = &rows->rows[i];
        json_t *o = json_object();
        if (!o) { bad = 1; break; }
        bad |= json_object_set_new(o, "period", json_string(row->period));
        bad |= json_object_set_new(o, "orgunit", json_string(row->orgunit));
        bad |= json_object_set_new(o, "name", json_string(row->unit_name ? row->unit_name : ""));
        bad |= json_object_set_new(o, "indicator", json_string(row->indicator));
        bad |= json_object_set_new(o, "value", row->is_int
                                                   ? json_integer((json_int_t)llround(row->value))
                                                   : json_real(round2(row->value)));
        bad |= json_array_append_new(arr, o);
    }
    json_decref(arr);
    char *text = bad ? NULL : json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(15));
    json_decref(root);
    if (!text) {
        report_err("không tạo được JSON / cannot build JSON (out of memory?)");
        return -1;
    }
    size_t len = strlen(text);
    char *withnl = realloc(text, len + 2);
    if (!withnl) { free(text); report_err("hết bộ nhớ / out of memory"); return -1; }
    withnl[len] = '\n';
    withnl[len + 1] = '\0';
    int rc = put_output(path, withnl, len + 1);
    free(withnl);
    return rc;
}

void kh_feed_sheet_name(const char *title, int level, char *out, size_t cap)
{
    char s[LXW_MAX_SHEETNAME_LENGTH] = "";
    size_t o = 0, cps = 0;
    for (const unsigned char *p = (const unsigned char *)title; *p && cps < 31;) {
        size_t len = 1;
        while (p[len] && (p[len] & 0xC0) == 0x80) len++;
        const char *put = NULL;
        char one[8];
        if (*p == '/') put = ", ";
        else if (strchr("[]:*?\\", *p)) put = "-";
        else { memcpy(one, p, len); one[len] = '\0'; put = one; }
        if (*p == '/' && cps + 2 > 31) break;
        if (o + strlen(put) + 1 > sizeof s) break;
        memcpy(s + o, put, strlen(put) + 1);
        o += strlen(put);
        cps += *p == '/' ? 2 : 1;
        p += len;
        if (cps == 31 && *p && *p != ' ') {   /* cut in a word: back to its start */
            char *sp = strrchr(s, ' ');
            if (sp && sp > s) { *sp = '\0'; o = (size_t)(sp - s); }
        }
    }
    while (o > 0 && strchr(" ,'", s[o - 1])) s[--o] = '\0';
    size_t lead = strspn(s, "' ");
    if (!s[lead]) snprintf(out, cap, "Cấp %d", level);
    else kh_strlcpy(out, s + lead, cap);
}

/* One sheet per level, named by the level (kh_feed_sheet_name), its unit column headed by the
 * level's name; the name and label columns are as wide as their longest text, so no name
 * is shown cut.  Two levels of one name: the second sheet is "Cấp N". */
static int xlsx_sheet(lxw_workbook *wb, const roll_t *rl, int level, const kh_feed_rows_t *rows,
                      lxw_format *hdr, lxw_format *fint, lxw_format *fdec, lxw_format *ftext,
                      int active)
{
    lword_t w;
    level_words(rl->cat, level, rl->end, &w);
    char sheet[LXW_MAX_SHEETNAME_LENGTH];
    kh_feed_sheet_name(w.title, level, sheet, sizeof sheet);
    if (workbook_validate_sheet_name(wb, sheet) != LXW_NO_ERROR)
        snprintf(sheet, sizeof sheet, "Cấp %d", level);
    lxw_worksheet *ws = workbook_add_worksheet(wb, sheet);
    if (!ws) return -1;
    const char *heads[] = {"Kỳ báo cáo", "Mã đơn vị", w.title, "Mã chỉ tiêu", "Chỉ tiêu",
                           "Giá trị"};
    double widths[] = {12, 11, 26, 30, 70, 18};
    char label[512];
    double wt = (double)text_width(w.title) + 2;
    if (wt > widths[2]) widths[2] = wt;
    for (size_t i = 0; i < rows->n; i++) {
        const kh_feed_row_t *row = &rows->rows[i];
        double wn = (double)text_width(row->unit_name ? row->unit_name : "") + 2;
        row_label(rl, row, label, sizeof label);
        double wl = (double)text_width(label) + 2;
        if (wn > widths[2]) widths[2] = wn;
        if (wl > widths[4]) widths[4] = wl;
    }
    for (lxw_col_t c = 0; c < 6; c++) {
        worksheet_set_column(ws, c, c, widths[c] > 255 ? 255 : widths[c], NULL);
        worksheet_write_string(ws, 0, c, heads[c], hdr);
    }
    lxw_row_t r = 1;
    for (size_t i = 0; i < rows->n && r < LXW_ROW_MAX; i++, r++) {
        const kh_feed_row_t *row = &rows->rows[i];
        worksheet_write_string(ws, r, 0, row->period, ftext);
        worksheet_write_string(ws, r, 1, row->orgunit, ftext);
        worksheet_write_string(ws, r, 2, row->unit_name ? row->unit_name : "", ftext);
        worksheet_write_string(ws, r, 3, row->indicator, ftext);
        row_label(rl, row, label, sizeof label);
        worksheet_write_string(ws, r, 4, label, ftext);
        worksheet_write_number(ws, r, 5, row->value, row->is_int ? fint : fdec);
    }
    worksheet_freeze_panes(ws, 1, 0);
    worksheet_autofilter(ws, 0, 0, r > 1 ? r - 1 : 1, 5);
    if (active) worksheet_activate(ws);
    return 0;
}

int kh_feed_xlsx_fill(lxw_workbook *wb, const roll_t *r, int level)
{
    char title[128];   /* copied by workbook_set_properties */
    snprintf(title, sizeof title, "Khuyến học, xây dựng xã hội học tập — %s", r->pstr);
    lxw_doc_properties props = {0};
    props.title = title;
    props.subject = "Tổng hợp báo cáo khuyến học, khuyến tài, xây dựng xã hội học tập";
    props.company = r->units[0]->name;
    workbook_set_properties(wb, &props);

    lxw_format *hdr = workbook_add_format(wb);
    format_set_bold(hdr);
    format_set_bg_color(hdr, 0xDDEBF7);
    format_set_bottom(hdr, LXW_BORDER_THIN);
    format_set_text_wrap(hdr);
    lxw_format *fint = workbook_add_format(wb);
    format_set_num_format(fint, "#,##0");
    lxw_format *fdec = workbook_add_format(wb);
    format_set_num_format(fdec, "0.00");
    lxw_format *ftext = workbook_add_format(wb);
    format_set_num_format(ftext, "@");

    for (int l = 1; l <= r->depth; l++) {
        kh_feed_rows_t rows = {0};
        if (rows_of_level(r, l, &rows) < 0) {
            kh_feed_rows_clear(&rows);
            return oom();
        }
        int bad = xlsx_sheet(wb, r, l, &rows, hdr, fint, fdec, ftext, l == level) < 0;
        kh_feed_rows_clear(&rows);   /* the worksheet keeps its own copies */
        if (bad) {
            report_err("không tạo được trang tính / cannot add the worksheet of level %d", l);
            return -1;
        }
    }
    return 0;
}

static int export_xlsx(sqlite3 *mirror, const kh_catalog_t *cat, const char *period, int level,
                       const char *path)
{
    roll_t *r;
    if (kh_feed_roll_build(mirror, cat, period, &r) < 0) return -1;
    if (check_level(cat, level, r->end) < 0) {
        kh_feed_roll_free(&r);
        return -1;
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    if (!tmp) {
        kh_feed_roll_free(&r);
        return oom();
    }
    snprintf(tmp, plen + 8, "%s.tmp", path);
    int rc = -1;
    lxw_workbook *wb = workbook_new(tmp);
    if (!wb) {
        report_err("không tạo được tệp / cannot create %s", path);
        goto out;
    }
    int bad = kh_feed_xlsx_fill(wb, r, level) < 0;
    lxw_error err = workbook_close(wb);
    if (bad || err != LXW_NO_ERROR) {
        if (err != LXW_NO_ERROR)
            report_err("không ghi được / cannot write %s: %s", path, lxw_strerror(err));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) < 0) {
        report_err("không ghi được / cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    free(tmp);
    kh_feed_roll_free(&r);
    return rc;
}

int kh_feed_export(sqlite3 *mirror, const kh_catalog_t *cat, const char *period, int level,
                   const char *format, const char *path)
{
    if (!format || (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0 &&
                    strcmp(format, "xlsx") != 0)) {
        report_err("định dạng không hợp lệ / invalid format: \"%s\" (csv, json, xlsx)",
                   format ? format : "");
        return -1;
    }
    if (!path || !path[0]) {
        report_err("thiếu tệp đích / no output path");
        return -1;
    }
    if (strcmp(format, "xlsx") == 0) {
        if (strcmp(path, "-") == 0) {
            report_err("xlsx cần một tệp, không ghi ra stdout / xlsx needs a file, not stdout");
            return -1;
        }
        return export_xlsx(mirror, cat, period, level, path);
    }
    roll_t *r;
    if (kh_feed_roll_build(mirror, cat, period, &r) < 0) return -1;
    kh_feed_rows_t rows = {0};
    int rc = check_level(cat, level, r->end);
    if (rc == 0 && (rc = rows_of_level(r, level, &rows)) < 0)
        report_err("hết bộ nhớ / out of memory");
    else if (rc == 0 && strcmp(format, "csv") == 0)
        rc = export_csv(&rows, path);
    else if (rc == 0)
        rc = export_json(&rows, r->pstr, level, path);
    kh_feed_rows_clear(&rows);
    kh_feed_roll_free(&r);
    return rc;
}
