/*
 * kh_catalog.c — loads the report model from the data directory (units with validity
 * dates, who reports when, indicators, rules, targets), answers lookups through hash tables, parses
 * periods and cell values, and validates whole reports into bilingual findings.
 *
 * Loading is strict and bounded: every file is read whole (at most KH_FILE_MAX bytes),
 * must be valid UTF-8, is parsed with libcsv in strict mode, and every row is checked;
 * the first problem ends the load with "file:line: what".  Cross-references (parents,
 * cycles, overlapping validity, merged-into targets, rule and target indicators) are
 * checked once all rows of a file are in.  After loading, the catalogue is immutable,
 * so one catalogue may serve several threads.
 *
 * Validation (kh_validate) makes one pass over the report's values, resolving each
 * unit and indicator in O(1) and placing parsed values in a grid (communes of the
 * district × indicators), then checks completeness and applies the rules unit by
 * unit from the grid.  Problems about one unit or indicator code (unknown, merged,
 * of another district, wrong level or half-year) are reported once, at the first line
 * where the code appears; value problems are reported per cell.
 */
#include "kh_catalog.h"
#include "kh_config.h"
#include "kh_util.h"
#include "kh_rules.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unicase.h>

#define KH_FILE_MAX ((size_t)4 << 20)   /* refuse data files larger than 4 MiB */
#define KH_ROWS_MAX 100000              /* and more rows than this */
#define KH_FIELD_MAX 4096               /* longest single CSV field */
#define KH_FIELDS_MAX 32                /* most fields on one row */
#define KH_MSG_MAX 1024                 /* one finding message */
#define KH_RAW_SHOW 80                  /* bytes of a raw value quoted in a message */

/* ==== small helpers ===================================================================== */

/* Copies untrusted text for a message: valid UTF-8 only (other bytes and control
 * characters become '?'), at most max_bytes, "…" appended when cut. */
static void safe_text(char *dst, size_t cap, const char *src, size_t max_bytes)
{
    if (cap == 0)
        return;
    size_t o = 0, i = 0, n = src ? strlen(src) : 0;
    size_t limit = cap > 4 ? cap - 4 : 0;   /* room for "…" and the NUL */
    if (max_bytes > limit)
        max_bytes = limit;
    while (i < n) {
        size_t l = kh_utf8_len(src + i, n - i, NULL);
        if (o + (l ? l : 1) > max_bytes) {
            if (o + 3 < cap) {
                memcpy(dst + o, "\xE2\x80\xA6", 3);
                o += 3;
            }
            break;
        }
        if (l == 0 || (l == 1 && ((unsigned char)src[i] < 0x20 || src[i] == 0x7F))) {
            dst[o++] = '?';
            i++;
        } else {
            memcpy(dst + o, src + i, l);
            o += l;
            i += l;
        }
    }
    dst[o] = '\0';
}

static char *xstrdup(const char *s)
{
    return strdup(s ? s : "");
}

/* "2020-01-31" → 20200131; "" → 0 (no date).  Returns 0 or -1. */
static int in_force(const kh_unit_t *u, int32_t date);
static int valid_mmdd(int mmdd);
static int32_t unit_row_on(const kh_catalog_t *c, const char *code, int32_t date);

/* A level number 1..KH_MAX_LEVELS, or -1. */
static int parse_level(const char *s)
{
    if (strlen(s) != 1 || s[0] < '1' || s[0] > '0' + KH_MAX_LEVELS)
        return -1;
    return s[0] - '0';
}

/* A lowercase word of a-z and _ (a unit type), 1..15 bytes. */
static int valid_word(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 15)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
            return 0;
    return 1;
}

static int parse_iso_date(const char *s, int32_t *out)
{
    *out = 0;
    return *s == '\0' ? 0 : kh_date_parse(s, out);
}

/* Codes of units, indicators and rules: 1..KH_CODE_MAX-1 of [A-Za-z0-9_.-]. */
static int valid_code(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= KH_CODE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return 0;
    return 1;
}

/* ==== hash table: string key → int ====================================================== */

typedef struct {
    const char *key;
    int32_t val;
} slot_t;

typedef struct {
    slot_t *slots;
    size_t mask;
} htab_t;

static int htab_init(htab_t *t, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2 + 1)
        cap <<= 1;
    t->slots = calloc(cap, sizeof *t->slots);
    t->mask = cap - 1;
    return t->slots ? 0 : -1;
}

static void htab_free(htab_t *t)
{
    free(t->slots);
    t->slots = NULL;
}

/* Finds key; returns its value or -1. */
static int32_t htab_get(const htab_t *t, const char *key)
{
    if (!t->slots || !key)
        return -1;
    for (size_t i = kh_hash_str(key) & t->mask;; i = (i + 1) & t->mask) {
        if (!t->slots[i].key)
            return -1;
        if (strcmp(t->slots[i].key, key) == 0)
            return t->slots[i].val;
    }
}

/* Inserts key → val unless present.  Returns -1 when inserted, else the existing
 * value.  The table never fills: it is sized for twice the keys it will hold. */
static int32_t htab_put(htab_t *t, const char *key, int32_t val)
{
    for (size_t i = kh_hash_str(key) & t->mask;; i = (i + 1) & t->mask) {
        if (!t->slots[i].key) {
            t->slots[i].key = key;
            t->slots[i].val = val;
            return -1;
        }
        if (strcmp(t->slots[i].key, key) == 0)
            return t->slots[i].val;
    }
}

/* ==== the catalogue ===================================================================== */

typedef struct {
    char id[KH_CODE_MAX];
    int is_error;
    int level;
    int in_s1, in_s2;
    char *text, *msg_vi, *msg_en;
    kh_expr_t *expr;
    int first_ind;          /* the indicator a finding points at */
    int line;
} rule_t;

/* A row of reporters.csv: a level or one unit reports over a range of days. */
typedef struct {
    int level;                 /* 1..KH_MAX_LEVELS, or 0 for a row naming one unit */
    int self;                  /* scope "self": the unit's own work, not its subtree's */
    char unit[KH_CODE_MAX];    /* "" for a level row */
    int32_t valid_from, valid_to;   /* yyyymmdd inclusive; 0 = open */
    int line;                  /* 0 for the default row */
} reporter_t;

/* A row of levels.csv: what the units of a level are called over a range of days. */
typedef struct {
    int level;
    char *name_vi, *name_en;
    int32_t valid_from, valid_to;
    int line;
} level_t;

struct kh_catalog {
    kh_unit_t *units;
    size_t n_units;
    int *unit_line;
    int32_t *unit_next;     /* next row with the same code, -1 at the end */
    htab_t unit_ix;         /* code → first row of that code */
    int32_t *child_next;    /* next row with the same parent code, -1 at the end */
    htab_t child_ix;        /* parent code → first row naming it as parent */
    int depth;              /* deepest level of any row */

    level_t *levels;        /* levels.csv */
    size_t n_levels;

    kh_reorg_t *reorg;      /* reorg.csv (optional), in file order */
    size_t n_reorg;

    reporter_t *reporters;  /* reporters.csv */
    size_t n_reporters;

    kh_indicator_t *inds;
    size_t n_inds;
    int *ind_line;
    htab_t ind_ix;

    rule_t *rules;
    size_t n_rules;

    kh_target_t *targets;
    size_t n_targets;

    int s1_due, s2_due;     /* mmdd */
    kh_pkind_t report_kind; /* KH_P_HALF (two reports a year) or KH_P_YEAR (one) */

    /* options.csv of the programme (optional): labels of option codes */
    struct { int ind; int option; char *label_vi, *label_en; } *opt_labels;
    size_t n_opt_labels;

    /* sections.csv of the programme (optional): titles by section number */
    struct { int section; char *title_vi, *title_en; } *sections;
    size_t n_sections;

    /* Programmes (programmes.csv).  The root catalogue owns the units, the levels and
     * who reports; each programme is a view: a copy of the root's struct sharing those
     * (root != NULL marks a view) with its own indicators, rules, targets and sections.
     * Without programmes.csv the root is the only programme, on every day. */
    const kh_catalog_t *root;
    kh_catalog_t **progs;
    size_t n_progs;
    char prog_code[KH_CODE_MAX];
    char *prog_name_vi, *prog_name_en, *prog_source;
    int32_t prog_from, prog_to;
};

/* ==== CSV reading ======================================================================= */

typedef struct loader loader_t;
/* Handles one data row; v[] holds the row's fields in the order of the expected
 * columns.  Returns 0 or -1 after calling fail(). */
typedef int (*row_fn)(loader_t *L, char **v, int line);

struct loader {
    const char *fname;
    kh_catalog_t *c;
    const char *const *cols;   /* expected column names */
    size_t n_cols;
    size_t n_optional;         /* the last n_optional of cols may be absent: "" then */
    int colmap[KH_FIELDS_MAX]; /* expected column → index in the file */
    size_t n_header;           /* fields on the header row; 0 before the header */
    row_fn fn;
    char *fields[KH_FIELDS_MAX];
    size_t n_fields;
    int cur_line, row_line;
    size_t n_rows;
    int failed;
    char *err;
    size_t errlen;
};

static void fail(loader_t *L, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(loader_t *L, int line, const char *fmt, ...)
{
    if (L->failed)
        return;
    L->failed = 1;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (L->err && L->errlen) {
        if (line > 0)
            snprintf(L->err, L->errlen, "%s:%d: %s", L->fname, line, what);
        else
            snprintf(L->err, L->errlen, "%s: %s", L->fname, what);
    }
}

static void drop_fields(loader_t *L)
{
    for (size_t i = 0; i < L->n_fields; i++)
        free(L->fields[i]);
    L->n_fields = 0;
}

static void on_field(void *s, size_t len, void *data)
{
    loader_t *L = data;
    if (L->failed)
        return;
    if (L->n_fields == 0)
        L->row_line = L->cur_line;
    if (L->n_fields >= KH_FIELDS_MAX) {
        fail(L, L->row_line, "more than %d fields", KH_FIELDS_MAX);
        return;
    }
    if (len > KH_FIELD_MAX) {
        fail(L, L->cur_line, "field longer than %d bytes", KH_FIELD_MAX);
        return;
    }
    char *f = malloc(len + 1);
    if (!f) {
        fail(L, L->cur_line, "out of memory");
        return;
    }
    if (len)
        memcpy(f, s, len);
    f[len] = '\0';
    L->fields[L->n_fields++] = f;
}

static void on_header(loader_t *L)
{
    for (size_t j = 0; j < L->n_cols; j++)
        L->colmap[j] = -1;
    for (size_t i = 0; i < L->n_fields; i++) {
        char *name = kh_trim(L->fields[i]);
        for (size_t j = 0; j < L->n_cols; j++) {
            if (strcmp(name, L->cols[j]) != 0)
                continue;
            if (L->colmap[j] >= 0) {
                fail(L, L->row_line, "column '%s' appears twice", name);
                return;
            }
            L->colmap[j] = (int)i;
        }
    }
    for (size_t j = 0; j + L->n_optional < L->n_cols; j++)
        if (L->colmap[j] < 0) {
            fail(L, L->row_line, "missing column '%s'", L->cols[j]);
            return;
        }
    L->n_header = L->n_fields;
}

static void on_record(int term, void *data)
{
    (void)term;
    loader_t *L = data;
    if (L->failed) {
        drop_fields(L);
        return;
    }
    /* A line of nothing but separators or spaces is skipped like an empty one. */
    int blank = 1;
    for (size_t i = 0; i < L->n_fields && blank; i++)
        blank = *kh_trim(L->fields[i]) == '\0';
    if (L->n_fields == 0 || (blank && L->n_header > 0)) {
        drop_fields(L);
        return;
    }
    if (L->n_header == 0) {
        on_header(L);
    } else if (L->n_fields != L->n_header) {
        fail(L, L->row_line, "expected %zu fields, found %zu", L->n_header, L->n_fields);
    } else if (++L->n_rows > KH_ROWS_MAX) {
        fail(L, L->row_line, "more than %d rows", KH_ROWS_MAX);
    } else {
        char *v[KH_FIELDS_MAX];
        static char absent[1];      /* an optional column the file does not have: "" */
        for (size_t j = 0; j < L->n_cols; j++)
            v[j] = L->colmap[j] >= 0 ? kh_trim(L->fields[L->colmap[j]]) : absent;
        L->fn(L, v, L->row_line);
    }
    drop_fields(L);
}

/* Reads dir/fname whole, within KH_FILE_MAX.  Returns 0 or -1 after fail(). */
static int read_whole(loader_t *L, const char *dir, char **buf, size_t *len)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, L->fname);
    if (n < 0 || (size_t)n >= sizeof path) {
        fail(L, 0, "path too long");
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(L, 0, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 64 * 1024, used = 0;
    char *b = malloc(cap + 1);
    while (b) {
        if (used == cap) {
            if (cap > KH_FILE_MAX)
                break;
            char *nb = realloc(b, cap * 2 + 1);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + used, 1, cap - used, f);
        used += got;
        if (got == 0)
            break;
    }
    int rerr = ferror(f);
    fclose(f);
    if (!b) {
        fail(L, 0, "out of memory");
        return -1;
    }
    if (used > KH_FILE_MAX) {
        free(b);
        fail(L, 0, "file larger than %zu bytes", KH_FILE_MAX);
        return -1;
    }
    if (rerr) {
        free(b);
        fail(L, 0, "read error");
        return -1;
    }
    b[used] = '\0';
    *buf = b;
    *len = used;
    return 0;
}

/* Parses the file row by row, calling L->fn for each data row. */
static int load_csv(loader_t *L, const char *dir)
{
    char *buf;
    size_t len;
    if (read_whole(L, dir, &buf, &len) < 0)
        return -1;
    size_t start = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        start = 3;   /* a byte-order mark, as spreadsheets write */
    /* The whole file must be text: valid UTF-8 and no NUL bytes. */
    int line = 1;
    for (size_t i = start; i < len;) {
        if (buf[i] == '\0') {
            fail(L, line, "NUL byte in file");
            break;
        }
        size_t l = kh_utf8_len(buf + i, len - i, NULL);
        if (l == 0) {
            fail(L, line, "invalid UTF-8");
            break;
        }
        if (buf[i] == '\n')
            line++;
        i += l;
    }
    struct csv_parser p;
    if (!L->failed && csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        fail(L, 0, "out of memory");
    if (L->failed) {
        free(buf);
        return -1;
    }
    L->cur_line = 1;
    /* Fed one physical line at a time so that callbacks know the line number. */
    for (size_t i = start; i < len && !L->failed;) {
        char *nl = memchr(buf + i, '\n', len - i);
        size_t chunk = nl ? (size_t)(nl - (buf + i)) + 1 : len - i;
        if (csv_parse(&p, buf + i, chunk, on_field, on_record, L) != chunk)
            fail(L, L->cur_line, "malformed CSV (%s)", csv_strerror(csv_error(&p)));
        i += chunk;
        if (nl)
            L->cur_line++;
    }
    if (!L->failed && csv_fini(&p, on_field, on_record, L) != 0)
        fail(L, L->cur_line, "malformed CSV (%s)", csv_strerror(csv_error(&p)));
    drop_fields(L);
    csv_free(&p);
    free(buf);
    if (!L->failed && L->n_header == 0)
        fail(L, 0, "empty file (no header row)");
    return L->failed ? -1 : 0;
}

/* "S1 S2", "S1", "S2" → flags.  Returns 0 or -1. */
static int parse_halves(const char *s, int *in_s1, int *in_s2)
{
    *in_s1 = *in_s2 = 0;
    const char *p = s;
    int any = 0;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        if (p[0] == 'S' && (p[1] == '1' || p[1] == '2') && (p[2] == ' ' || p[2] == '\0')) {
            int *flag = p[1] == '1' ? in_s1 : in_s2;
            if (*flag)
                return -1;   /* listed twice */
            *flag = 1;
            any = 1;
            p += 2;
        } else {
            return -1;
        }
    }
    return any ? 0 : -1;
}

/* A plain decimal number ("70", "0.5") into *out.  Returns 0 or -1. */
static int parse_plain_number(const char *s, double *out)
{
    double v = 0, scale = 0;
    int digits = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (isdigit((unsigned char)*s)) {
            if (++digits > 15)
                return -1;
            if (scale > 0) {
                v += (*s - '0') * scale;
                scale /= 10;
            } else {
                v = v * 10 + (*s - '0');
            }
        } else if (*s == '.' && scale == 0 && digits > 0 && isdigit((unsigned char)s[1])) {
            scale = 0.1;
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

/* ---- units ------------------------------------------------------------------------------ */

static const char *const unit_cols[] = { "code", "name", "type", "level", "parent_code",
                                         "valid_from", "valid_to", "merged_into" };
enum { UC_CODE, UC_NAME, UC_TYPE, UC_LEVEL, UC_PARENT, UC_FROM, UC_TO, UC_MERGED };

typedef struct {
    loader_t L;
    size_t cap;
} unit_loader_t;

static int unit_row(loader_t *L, char **v, int line)
{
    unit_loader_t *UL = (unit_loader_t *)L;
    kh_catalog_t *c = L->c;
    if (strlen(v[UC_CODE]) >= KH_CODE_MAX) {
        fail(L, line, "unit code longer than %d characters", KH_CODE_MAX - 1);
        return -1;
    }
    if (!valid_code(v[UC_CODE])) {
        fail(L, line, "bad unit code '%.64s'", v[UC_CODE]);
        return -1;
    }
    if (!*v[UC_NAME]) {
        fail(L, line, "unit %s has no name", v[UC_CODE]);
        return -1;
    }
    if (!valid_word(v[UC_TYPE])) {
        fail(L, line, "unit %s: bad type '%.32s' (a word of a-z and _, at most 15 letters, "
             "e.g. xa, phuong)", v[UC_CODE], v[UC_TYPE]);
        return -1;
    }
    int level = parse_level(v[UC_LEVEL]);
    if (level < 0) {
        fail(L, line, "unit %s: level must be a number from 1 (the root) to %d", v[UC_CODE],
             KH_MAX_LEVELS);
        return -1;
    }
    if (level == 1 && *v[UC_PARENT]) {
        fail(L, line, "unit %s: a level-1 unit has no parent", v[UC_CODE]);
        return -1;
    }
    if (level > 1 && !*v[UC_PARENT]) {
        fail(L, line, "unit %s: missing parent_code", v[UC_CODE]);
        return -1;
    }
    if (*v[UC_PARENT] && !valid_code(v[UC_PARENT])) {
        fail(L, line, "unit %s: bad parent_code '%.64s'", v[UC_CODE], v[UC_PARENT]);
        return -1;
    }
    int32_t from, to;
    if (parse_iso_date(v[UC_FROM], &from) < 0) {
        fail(L, line, "unit %s: bad valid_from '%.32s' (expected YYYY-MM-DD)", v[UC_CODE],
             v[UC_FROM]);
        return -1;
    }
    if (parse_iso_date(v[UC_TO], &to) < 0) {
        fail(L, line, "unit %s: bad valid_to '%.32s' (expected YYYY-MM-DD)", v[UC_CODE],
             v[UC_TO]);
        return -1;
    }
    if (from && to && from > to) {
        fail(L, line, "unit %s: valid_from is after valid_to", v[UC_CODE]);
        return -1;
    }
    if (*v[UC_MERGED]) {
        if (!valid_code(v[UC_MERGED])) {
            fail(L, line, "unit %s: bad merged_into '%.64s'", v[UC_CODE], v[UC_MERGED]);
            return -1;
        }
        if (!to) {
            fail(L, line, "unit %s: merged_into needs a valid_to date", v[UC_CODE]);
            return -1;
        }
        if (strcmp(v[UC_MERGED], v[UC_CODE]) == 0) {
            fail(L, line, "unit %s is merged into itself", v[UC_CODE]);
            return -1;
        }
    }
    if (KH_GROW(c->units, c->n_units, UL->cap, 64) < 0) {
        fail(L, line, "out of memory");
        return -1;
    }
    int *nl = realloc(c->unit_line, UL->cap * sizeof *nl);
    if (!nl) {
        fail(L, line, "out of memory");
        return -1;
    }
    c->unit_line = nl;
    kh_unit_t *u = &c->units[c->n_units];
    memset(u, 0, sizeof *u);
    snprintf(u->code, sizeof u->code, "%s", v[UC_CODE]);
    snprintf(u->type, sizeof u->type, "%s", v[UC_TYPE]);
    snprintf(u->parent, sizeof u->parent, "%s", v[UC_PARENT]);
    snprintf(u->merged_into, sizeof u->merged_into, "%s", v[UC_MERGED]);
    u->level = level;
    if (level > c->depth)
        c->depth = level;
    u->valid_from = from;
    u->valid_to = to;
    if (!(u->name = xstrdup(v[UC_NAME]))) {
        fail(L, line, "out of memory");
        return -1;
    }
    c->unit_line[c->n_units] = line;
    c->n_units++;
    return 0;
}

static int overlaps(const kh_unit_t *a, const kh_unit_t *b)
{
    int32_t af = a->valid_from, at = a->valid_to ? a->valid_to : 99991231;
    int32_t bf = b->valid_from, bt = b->valid_to ? b->valid_to : 99991231;
    return af <= bt && bf <= at;
}

/* Finds a cycle among parent links (by code, over all rows).  Returns 0 or -1. */
static int check_cycles(loader_t *L)
{
    kh_catalog_t *c = L->c;
    size_t n = c->n_units;
    int8_t *color = calloc(n ? n : 1, 1);
    int32_t *stack_node = malloc((n ? n : 1) * sizeof *stack_node);
    int32_t *stack_it = malloc((n ? n : 1) * sizeof *stack_it);
    int rc = 0;
    if (!color || !stack_node || !stack_it) {
        fail(L, 0, "out of memory");
        rc = -1;
        goto out;
    }
    for (size_t h = 0; h < n && rc == 0; h++) {
        if (htab_get(&c->unit_ix, c->units[h].code) != (int32_t)h || color[h])
            continue;   /* only chain heads stand for a code */
        size_t sp = 0;
        stack_node[sp] = (int32_t)h;
        stack_it[sp++] = (int32_t)h;
        color[h] = 1;
        while (sp > 0 && rc == 0) {
            int32_t u = stack_node[sp - 1], r = stack_it[sp - 1];
            if (r < 0) {
                color[u] = 2;
                sp--;
                continue;
            }
            stack_it[sp - 1] = c->unit_next[r];
            if (!c->units[r].parent[0])
                continue;
            int32_t p = htab_get(&c->unit_ix, c->units[r].parent);
            if (p < 0)
                continue;   /* reported as unknown parent */
            if (color[p] == 1) {
                char path[512];
                size_t used = 0;
                size_t k = 0;
                while (k < sp && stack_node[k] != p)
                    k++;
                for (; k < sp && used < sizeof path; k++)
                    used += (size_t)snprintf(path + used, sizeof path - used, "%s → ",
                                             c->units[stack_node[k]].code);
                if (used < sizeof path)
                    snprintf(path + used, sizeof path - used, "%s", c->units[p].code);
                fail(L, c->unit_line[r], "cycle in the unit tree: %s", path);
                rc = -1;
            } else if (color[p] == 0) {
                color[p] = 1;
                stack_node[sp] = p;
                stack_it[sp++] = p;
            }
        }
    }
out:
    free(color);
    free(stack_node);
    free(stack_it);
    return rc;
}

static int load_units(kh_catalog_t *c, const char *dir, char *err, size_t errlen)
{
    unit_loader_t UL = { .L = { .fname = "units.csv", .c = c, .cols = unit_cols,
                                .n_cols = 8, .fn = unit_row, .err = err, .errlen = errlen } };
    loader_t *L = &UL.L;
    if (load_csv(L, dir) < 0)
        return -1;
    if (c->n_units == 0) {
        fail(L, 0, "no units");
        return -1;
    }
    c->unit_next = malloc(c->n_units * sizeof *c->unit_next);
    if (!c->unit_next || htab_init(&c->unit_ix, c->n_units) < 0) {
        fail(L, 0, "out of memory");
        return -1;
    }
    /* Rows of one code form a chain in file order; their validity must not overlap. */
    int32_t *tail = malloc(c->n_units * sizeof *tail);
    if (!tail) {
        fail(L, 0, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < c->n_units; i++) {
        const kh_unit_t *u = &c->units[i];
        c->unit_next[i] = -1;
        int32_t head = htab_put(&c->unit_ix, u->code, (int32_t)i);
        if (head < 0) {
            tail[i] = (int32_t)i;
            continue;
        }
        for (int32_t r = head; r >= 0; r = c->unit_next[r]) {
            if (overlaps(&c->units[r], u)) {
                fail(L, c->unit_line[i], "unit %s: validity overlaps the row of line %d",
                     u->code, c->unit_line[r]);
                free(tail);
                return -1;
            }
        }
        c->unit_next[tail[head]] = (int32_t)i;
        tail[head] = (int32_t)i;
    }
    free(tail);
    /* Parents and merge targets must exist. */
    for (size_t i = 0; i < c->n_units; i++) {
        const kh_unit_t *u = &c->units[i];
        if (u->parent[0] && htab_get(&c->unit_ix, u->parent) < 0) {
            fail(L, c->unit_line[i], "unit %s: unknown parent unit %s", u->code, u->parent);
            return -1;
        }
        if (u->merged_into[0]) {
            int32_t m = htab_get(&c->unit_ix, u->merged_into);
            if (m < 0) {
                fail(L, c->unit_line[i], "unit %s: merged_into names unknown unit %s",
                     u->code, u->merged_into);
                return -1;
            }
        }
    }
    if (check_cycles(L) < 0)
        return -1;
    /* Without cycles, each parent must exist while its child does and sit exactly one
     * level up on those days (a code may change level between periods: 28756 was a
     * level-3 ward of a district until 2025 and is a level-2 ward of a province after). */
    for (size_t i = 0; i < c->n_units; i++) {
        const kh_unit_t *u = &c->units[i];
        if (!u->parent[0])
            continue;
        int covered = 0;
        for (int32_t r = htab_get(&c->unit_ix, u->parent); r >= 0; r = c->unit_next[r]) {
            const kh_unit_t *p = &c->units[r];
            if (!overlaps(p, u))
                continue;
            covered = 1;
            if (p->level != u->level - 1) {
                fail(L, c->unit_line[i], "unit %s (level %d): parent %s is level %d", u->code,
                     u->level, p->code, p->level);
                return -1;
            }
        }
        /* on the child's first and last day, and on each day a parent row begins or ends
         * inside the child's life, a parent row must be in force */
        int32_t first = u->valid_from ? u->valid_from : 10101;
        int32_t last = u->valid_to ? u->valid_to : 99991231;
        int32_t gap = 0;
        if (covered && unit_row_on(c, u->parent, first) < 0)
            gap = first;
        else if (covered && unit_row_on(c, u->parent, last) < 0)
            gap = last;
        for (int32_t r = htab_get(&c->unit_ix, u->parent); covered && !gap && r >= 0;
             r = c->unit_next[r]) {
            const kh_unit_t *p = &c->units[r];
            int32_t after = p->valid_to ? kh_date_add(p->valid_to, 1) : 0;
            int32_t before = p->valid_from ? kh_date_add(p->valid_from, -1) : 0;
            if (after > first && after <= last && unit_row_on(c, u->parent, after) < 0)
                gap = after;
            else if (before >= first && before < last && unit_row_on(c, u->parent, before) < 0)
                gap = before;
        }
        if (!covered || gap) {
            char d[16] = "";
            if (gap)
                kh_date_iso(gap, d, sizeof d);
            fail(L, c->unit_line[i], "unit %s: its parent %s does not exist %s%s, while %s does",
                 u->code, u->parent, gap ? "on " : "on any day", d, u->code);
            return -1;
        }
    }
    /* children by parent code, for subtrees */
    c->child_next = malloc(c->n_units * sizeof *c->child_next);
    int32_t *ctail = malloc(c->n_units * sizeof *ctail);
    if (!c->child_next || !ctail || htab_init(&c->child_ix, c->n_units) < 0) {
        free(ctail);
        fail(L, 0, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < c->n_units; i++) {
        c->child_next[i] = -1;
        ctail[i] = -1;
    }
    for (size_t i = 0; i < c->n_units; i++) {
        const kh_unit_t *u = &c->units[i];
        if (!u->parent[0])
            continue;
        int32_t head = htab_put(&c->child_ix, u->parent, (int32_t)i);
        if (head < 0) {
            ctail[i] = (int32_t)i;
            continue;
        }
        c->child_next[ctail[head]] = (int32_t)i;
        ctail[head] = (int32_t)i;
    }
    free(ctail);
    return 0;
}

static int range_overlaps(int32_t af, int32_t at, int32_t bf, int32_t bt)
{
    return af <= (bt ? bt : 99991231) && bf <= (at ? at : 99991231);
}

static void fmt_range(int32_t from, int32_t to, char *out, size_t cap)
{
    char f[16] = "the start", t[16] = "no end";
    if (from)
        kh_date_iso(from, f, sizeof f);
    if (to)
        kh_date_iso(to, t, sizeof t);
    snprintf(out, cap, "%s to %s", f, t);
}

/* ---- level names (levels.csv) -------------------------------------------------------------- */

static const char *const lvl_cols[] = { "level", "name_vi", "name_en", "valid_from", "valid_to" };
enum { LC_LEVEL, LC_VI, LC_EN, LC_FROM, LC_TO };

typedef struct {
    loader_t L;
    size_t cap;
} lvl_loader_t;

static int lvl_row(loader_t *L, char **v, int line)
{
    lvl_loader_t *LL = (lvl_loader_t *)L;
    kh_catalog_t *c = L->c;
    level_t r = { .line = line };
    if ((r.level = parse_level(v[LC_LEVEL])) < 0) {
        fail(L, line, "level must be a number from 1 (the root) to %d", KH_MAX_LEVELS);
        return -1;
    }
    if (!*v[LC_VI] || !*v[LC_EN]) {
        fail(L, line, "level %d: name_vi and name_en are required", r.level);
        return -1;
    }
    if (parse_iso_date(v[LC_FROM], &r.valid_from) < 0 ||
        parse_iso_date(v[LC_TO], &r.valid_to) < 0) {
        fail(L, line, "level %d: bad valid_from or valid_to (expected YYYY-MM-DD)", r.level);
        return -1;
    }
    if (r.valid_from && r.valid_to && r.valid_from > r.valid_to) {
        fail(L, line, "level %d: valid_from is after valid_to", r.level);
        return -1;
    }
    for (size_t i = 0; i < c->n_levels; i++)
        if (c->levels[i].level == r.level &&
            range_overlaps(c->levels[i].valid_from, c->levels[i].valid_to, r.valid_from,
                           r.valid_to)) {
            fail(L, line, "level %d is named already in an overlapping range (line %d)",
                 r.level, c->levels[i].line);
            return -1;
        }
    if (KH_GROW(c->levels, c->n_levels, LL->cap, 64) < 0 ||
        !(r.name_vi = xstrdup(v[LC_VI])) || !(r.name_en = xstrdup(v[LC_EN]))) {
        free(r.name_vi);
        fail(L, line, "out of memory");
        return -1;
    }
    c->levels[c->n_levels++] = r;
    return 0;
}

/* Every unit row's level must be named on the unit's first and last day (and the rows
 * of one level must leave no gap inside a unit's life: checked at both ends and at
 * each level row's boundaries that fall inside it). */
static int level_named_on(const kh_catalog_t *c, int level, int32_t day)
{
    for (size_t i = 0; i < c->n_levels; i++) {
        const level_t *l = &c->levels[i];
        if (l->level == level && range_overlaps(l->valid_from, l->valid_to, day, day))
            return 1;
    }
    return 0;
}

static int load_levels(kh_catalog_t *c, const char *dir, char *err, size_t errlen)
{
    lvl_loader_t LL = { .L = { .fname = "levels.csv", .c = c, .cols = lvl_cols,
                               .n_cols = 5, .fn = lvl_row, .err = err, .errlen = errlen } };
    if (load_csv(&LL.L, dir) < 0)
        return -1;
    for (size_t i = 0; i < c->n_units; i++) {
        const kh_unit_t *u = &c->units[i];
        int32_t first = u->valid_from ? u->valid_from : 10101;
        int32_t last = u->valid_to ? u->valid_to : 99991231;
        int ok = level_named_on(c, u->level, first) && level_named_on(c, u->level, last);
        for (size_t k = 0; ok && k < c->n_levels; k++) {
            const level_t *l = &c->levels[k];
            if (l->level != u->level)
                continue;
            if (l->valid_to && l->valid_to >= first && l->valid_to < last)
                ok = level_named_on(c, u->level, kh_date_add(l->valid_to, 1));
            if (ok && l->valid_from && l->valid_from > first && l->valid_from <= last)
                ok = level_named_on(c, u->level, kh_date_add(l->valid_from, -1));
        }
        if (!ok) {
            char rg[64];
            fmt_range(u->valid_from, u->valid_to, rg, sizeof rg);
            snprintf(err, errlen, "levels.csv: level %d has no name on some day from %s, "
                     "when unit %s (units.csv line %d) has that level", u->level, rg, u->code,
                     c->unit_line[i]);
            return -1;
        }
    }
    return 0;
}

/* ---- who reports (reporters.csv) ---------------------------------------------------------- */

static const char *const rep_cols[] = { "level", "unit", "valid_from", "valid_to", "note",
                                        "scope" };
enum { RPC_LEVEL, RPC_UNIT, RPC_FROM, RPC_TO, RPC_NOTE, RPC_SCOPE };

typedef struct {
    loader_t L;
    size_t cap;
} rep_loader_t;

static int rep_row(loader_t *L, char **v, int line)
{
    rep_loader_t *RL = (rep_loader_t *)L;
    kh_catalog_t *c = L->c;
    reporter_t r = { .line = line };
    if (!*v[RPC_LEVEL] == !*v[RPC_UNIT]) {
        fail(L, line, "give either a level or a unit code, not %s",
             *v[RPC_LEVEL] ? "both" : "neither");
        return -1;
    }
    if (*v[RPC_LEVEL]) {
        r.level = parse_level(v[RPC_LEVEL]);
        int any = 0;
        for (size_t i = 0; r.level > 0 && i < c->n_units && !any; i++)
            any = c->units[i].level == r.level;
        if (!any) {
            fail(L, line, "unknown level '%.32s': no unit of units.csv has it (levels 1 to %d)",
                 v[RPC_LEVEL], c->depth);
            return -1;
        }
    } else {
        if (strlen(v[RPC_UNIT]) >= KH_CODE_MAX || !valid_code(v[RPC_UNIT])) {
            fail(L, line, "bad unit code '%.64s'", v[RPC_UNIT]);
            return -1;
        }
        if (htab_get(&c->unit_ix, v[RPC_UNIT]) < 0) {
            fail(L, line, "unknown unit %s (not in units.csv)", v[RPC_UNIT]);
            return -1;
        }
        snprintf(r.unit, sizeof r.unit, "%s", v[RPC_UNIT]);
    }
    if (parse_iso_date(v[RPC_FROM], &r.valid_from) < 0) {
        fail(L, line, "bad valid_from '%.32s' (expected YYYY-MM-DD)", v[RPC_FROM]);
        return -1;
    }
    if (parse_iso_date(v[RPC_TO], &r.valid_to) < 0) {
        fail(L, line, "bad valid_to '%.32s' (expected YYYY-MM-DD)", v[RPC_TO]);
        return -1;
    }
    if (r.valid_from && r.valid_to && r.valid_from > r.valid_to) {
        fail(L, line, "valid_from is after valid_to");
        return -1;
    }
    if (*v[RPC_SCOPE] && strcmp(v[RPC_SCOPE], "subtree") && strcmp(v[RPC_SCOPE], "self")) {
        fail(L, line, "scope must be subtree (the unit and every unit below it, the default) "
             "or self (the unit's own work), not '%.32s'", v[RPC_SCOPE]);
        return -1;
    }
    r.self = !strcmp(v[RPC_SCOPE], "self");
    char rg[64];
    fmt_range(r.valid_from, r.valid_to, rg, sizeof rg);
    if (r.unit[0]) {
        /* the unit must exist on some day of the range */
        int exists = 0;
        for (int32_t u = htab_get(&c->unit_ix, r.unit); u >= 0 && !exists; u = c->unit_next[u]) {
            exists = range_overlaps(c->units[u].valid_from, c->units[u].valid_to, r.valid_from,
                                    r.valid_to);
        }
        if (!exists) {
            fail(L, line, "unit %s does not exist from %s (units.csv)", r.unit, rg);
            return -1;
        }
    }
    for (size_t i = 0; i < c->n_reporters; i++) {
        const reporter_t *o = &c->reporters[i];
        if (!range_overlaps(o->valid_from, o->valid_to, r.valid_from, r.valid_to))
            continue;
        if (r.level && o->level == r.level) {
            fail(L, line, "level %d reports already in an overlapping range (line %d)",
                 r.level, o->line);
            return -1;
        }
        if (r.unit[0] && !strcmp(o->unit, r.unit)) {
            fail(L, line, "unit %s reports already in an overlapping range (line %d)",
                 r.unit, o->line);
            return -1;
        }
        /* a unit row and a level row: in conflict when a row of the unit exists, at that
         * level, on a day both ranges cover (a code may change level between periods) */
        const char *code = r.unit[0] ? r.unit : o->unit;
        int lvl = r.level ? r.level : o->level;
        if (!code[0] || !lvl)
            continue;
        int32_t from = r.valid_from > o->valid_from ? r.valid_from : o->valid_from;
        int32_t to = !r.valid_to ? o->valid_to : !o->valid_to ? r.valid_to
                     : r.valid_to < o->valid_to ? r.valid_to : o->valid_to;
        for (int32_t k = htab_get(&c->unit_ix, code); k >= 0; k = c->unit_next[k]) {
            if (c->units[k].level != lvl ||
                !range_overlaps(c->units[k].valid_from, c->units[k].valid_to, from, to))
                continue;
            fail(L, line, "unit %s reports already through level %d in an overlapping range "
                 "(lines %d and %d)", code, lvl, o->line, line);
            return -1;
        }
    }
    if (KH_GROW(c->reporters, c->n_reporters, RL->cap, 64) < 0) {
        fail(L, line, "out of memory");
        return -1;
    }
    c->reporters[c->n_reporters++] = r;
    return 0;
}

/* The reporters.csv row under which unit row u reports on `day`, or NULL. */
static const reporter_t *reporter_of(const kh_catalog_t *c, const kh_unit_t *u, int32_t day)
{
    for (size_t i = 0; i < c->n_reporters; i++) {
        const reporter_t *r = &c->reporters[i];
        if (range_overlaps(r->valid_from, r->valid_to, day, day) &&
            (r->level ? r->level == u->level : !strcmp(r->unit, u->code)))
            return r;
    }
    return NULL;
}

static int cmp_day(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

/* A reporting unit reports for every unit below it (unless its scope is "self"), so no
 * reporting unit may sit below another on any day: its values would be counted twice.  The answer changes only on a
 * day some unit or reporters.csv row begins or ends, so those days are the ones checked. */
static int check_nesting(loader_t *L)
{
    kh_catalog_t *c = L->c;
    size_t cap = 2 * (c->n_units + c->n_reporters) + 1, nd = 0;
    int32_t *days = malloc(cap * sizeof *days);
    if (!days) {
        fail(L, 0, "out of memory");
        return -1;
    }
    days[nd++] = 10101;
    for (size_t i = 0; i < c->n_units; i++) {
        days[nd++] = c->units[i].valid_from ? c->units[i].valid_from : 10101;
        days[nd++] = c->units[i].valid_to ? kh_date_add(c->units[i].valid_to, 1) : 10101;
    }
    for (size_t i = 0; i < c->n_reporters; i++) {
        days[nd++] = c->reporters[i].valid_from ? c->reporters[i].valid_from : 10101;
        days[nd++] = c->reporters[i].valid_to ? kh_date_add(c->reporters[i].valid_to, 1) : 10101;
    }
    qsort(days, nd, sizeof *days, cmp_day);
    int rc = 0;
    for (size_t k = 0; k < nd && rc == 0; k++) {
        int32_t day = days[k];
        if (day <= 0 || (k > 0 && days[k - 1] == day))
            continue;
        for (size_t i = 0; i < c->n_units && rc == 0; i++) {
            const kh_unit_t *u = &c->units[i];
            const reporter_t *ru;
            if (!in_force(u, day) || !(ru = reporter_of(c, u, day)))
                continue;
            const kh_unit_t *a = u;
            for (int hop = 0; hop < KH_MAX_LEVELS && rc == 0 &&
                              (a = kh_catalog_parent_on(c, a, day)) != NULL; hop++) {
                const reporter_t *ra = reporter_of(c, a, day);
                if (!ra || ra->self)
                    continue;       /* a unit reporting its own work covers no unit below */
                char dv[16];
                kh_date_iso(day, dv, sizeof dv);
                fail(L, ru->line > ra->line ? ru->line : ra->line, "unit %s (line %d) and unit "
                     "%s above it (line %d) both report on %s: a reporting unit reports for "
                     "every unit below it, so %s would be counted twice", u->code, ru->line,
                     a->code, ra->line, dv, u->code);
                rc = -1;
            }
        }
    }
    free(days);
    return rc;
}

/* reporters.csv: who reports is data, there is no default. */
static int load_reporters(kh_catalog_t *c, const char *dir, char *err, size_t errlen)
{
    rep_loader_t RL = { .L = { .fname = "reporters.csv", .c = c, .cols = rep_cols,
                               .n_cols = 6, .n_optional = 1, .fn = rep_row, .err = err,
                               .errlen = errlen } };
    if (load_csv(&RL.L, dir) < 0)
        return -1;
    if (c->n_reporters == 0) {
        fail(&RL.L, 0, "no reporting units (a header and no rows): nobody could send a report");
        return -1;
    }
    return check_nesting(&RL.L);
}

/* ---- indicators ------------------------------------------------------------------------- */

static const char *const ind_cols[] = { "code", "section", "level", "value_type", "options",
                                        "time_aggregation", "periods", "name_vi", "name_en",
                                        "unit" };
enum { IC_CODE, IC_SECTION, IC_LEVEL, IC_VTYPE, IC_OPTIONS, IC_TAGG, IC_PERIODS, IC_NAME_VI,
       IC_NAME_EN, IC_UNIT };

typedef struct {
    loader_t L;
    size_t cap;
} ind_loader_t;

static int parse_options(loader_t *L, int line, kh_indicator_t *d, const char *s)
{
    char buf[KH_FIELD_MAX + 1];
    snprintf(buf, sizeof buf, "%s", s);
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        size_t n = strlen(tok);
        if (n == 0 || n >= sizeof d->options[0]) {
            fail(L, line, "indicator %s: option '%.32s' is longer than %zu characters",
                 d->code, tok, sizeof d->options[0] - 1);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            if (!isalnum((unsigned char)tok[i]) && tok[i] != '_') {
                fail(L, line, "indicator %s: bad option code '%s'", d->code, tok);
                return -1;
            }
        if (strcmp(tok, "NONE") == 0) {
            fail(L, line, "indicator %s: NONE is reserved for the empty option", d->code);
            return -1;
        }
        for (int i = 0; i < d->n_options; i++)
            if (strcmp(d->options[i], tok) == 0) {
                fail(L, line, "indicator %s: option %s listed twice", d->code, tok);
                return -1;
            }
        if (d->n_options >= KH_MAX_OPTIONS) {
            fail(L, line, "indicator %s: more than %d options", d->code, KH_MAX_OPTIONS);
            return -1;
        }
        snprintf(d->options[d->n_options++], sizeof d->options[0], "%s", tok);
    }
    if (d->n_options == 0) {
        fail(L, line, "indicator %s: an option indicator needs its options", d->code);
        return -1;
    }
    return 0;
}

static int ind_row(loader_t *L, char **v, int line)
{
    ind_loader_t *IL = (ind_loader_t *)L;
    kh_catalog_t *c = L->c;
    const char *code = v[IC_CODE];
    if (strlen(code) >= KH_CODE_MAX) {
        fail(L, line, "indicator code longer than %d characters", KH_CODE_MAX - 1);
        return -1;
    }
    if (!valid_code(code)) {
        fail(L, line, "bad indicator code '%.64s'", code);
        return -1;
    }
    kh_indicator_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.code, sizeof d.code, "%s", code);
    double sec;
    if (parse_plain_number(v[IC_SECTION], &sec) < 0 || sec < 1 || sec > 99 ||
        sec != (int)sec) {
        fail(L, line, "indicator %s: section must be a whole number from 1 to 99", code);
        return -1;
    }
    d.section = (int)sec;
    if (c->n_sections && !kh_catalog_section_title(c, d.section, 0)) {
        fail(L, line, "indicator %s: section %d is not in sections.csv", code, d.section);
        return -1;
    }
    d.level = parse_level(v[IC_LEVEL]);
    if (d.level < 1 || d.level > c->depth) {
        fail(L, line, "indicator %s: level must be a level of units.csv (1 to %d), not "
             "'%.32s'", code, c->depth, v[IC_LEVEL]);
        return -1;
    }
    const char *vt = v[IC_VTYPE];
    if (strcmp(vt, "count") == 0) d.vtype = KH_VT_COUNT;
    else if (strcmp(vt, "money") == 0) d.vtype = KH_VT_MONEY;
    else if (strcmp(vt, "flag") == 0) d.vtype = KH_VT_FLAG;
    else if (strcmp(vt, "score") == 0) d.vtype = KH_VT_SCORE;
    else if (strcmp(vt, "option") == 0) d.vtype = KH_VT_OPTION;
    else {
        fail(L, line, "indicator %s: bad value_type '%.32s' (count, money, flag, score, "
             "option)", code, vt);
        return -1;
    }
    const char *opts = v[IC_OPTIONS];
    if (d.vtype == KH_VT_OPTION) {
        if (parse_options(L, line, &d, opts) < 0)
            return -1;
    } else if (d.vtype == KH_VT_SCORE) {
        /* "min-max", both plain non-negative numbers. */
        char buf[64];
        snprintf(buf, sizeof buf, "%s", opts);
        char *dash = strchr(buf, '-');
        double lo, hi;
        if (!dash || strlen(opts) >= sizeof buf) {
            fail(L, line, "indicator %s: a score needs its range in options (e.g. 0-100)", code);
            return -1;
        }
        *dash = '\0';
        if (parse_plain_number(buf, &lo) < 0 || parse_plain_number(dash + 1, &hi) < 0 ||
            !(lo < hi)) {
            fail(L, line, "indicator %s: bad score range '%.32s' (e.g. 0-100)", code, opts);
            return -1;
        }
        d.score_min = lo;
        d.score_max = hi;
    } else if (*opts) {
        fail(L, line, "indicator %s: options are only for option and score indicators", code);
        return -1;
    }
    if (strcmp(v[IC_TAGG], "sum") == 0) d.tagg = KH_TA_SUM;
    else if (strcmp(v[IC_TAGG], "last") == 0) d.tagg = KH_TA_LAST;
    else if (strcmp(v[IC_TAGG], "max") == 0) d.tagg = KH_TA_MAX;
    else {
        fail(L, line, "indicator %s: bad time_aggregation '%.32s' (sum, last, max)", code,
             v[IC_TAGG]);
        return -1;
    }
    if (parse_halves(v[IC_PERIODS], &d.in_s1, &d.in_s2) < 0) {
        fail(L, line, "indicator %s: bad periods '%.32s' (S1 S2, S1 or S2)", code,
             v[IC_PERIODS]);
        return -1;
    }
    if (!*v[IC_NAME_VI] || !*v[IC_NAME_EN]) {
        fail(L, line, "indicator %s: name_vi and name_en are required", code);
        return -1;
    }
    if (KH_GROW(c->inds, c->n_inds, IL->cap, 64) < 0) {
        fail(L, line, "out of memory");
        return -1;
    }
    int *nl = realloc(c->ind_line, IL->cap * sizeof *nl);
    if (!nl) {
        fail(L, line, "out of memory");
        return -1;
    }
    c->ind_line = nl;
    d.name_vi = xstrdup(v[IC_NAME_VI]);
    d.name_en = xstrdup(v[IC_NAME_EN]);
    d.unit = xstrdup(v[IC_UNIT]);
    c->inds[c->n_inds] = d;
    c->ind_line[c->n_inds] = line;
    c->n_inds++;
    if (!d.name_vi || !d.name_en || !d.unit) {
        fail(L, line, "out of memory");
        return -1;
    }
    return 0;
}

static int load_indicators(kh_catalog_t *c, const char *dir, const char *prefix, char *err,
                           size_t errlen)
{
    char fname[KH_CODE_MAX + 64];
    snprintf(fname, sizeof fname, "%sindicators.csv", prefix);
    ind_loader_t IL = { .L = { .fname = fname, .c = c, .cols = ind_cols,
                               .n_cols = 10, .fn = ind_row, .err = err, .errlen = errlen } };
    loader_t *L = &IL.L;
    if (load_csv(L, dir) < 0)
        return -1;
    if (c->n_inds == 0) {
        fail(L, 0, "no indicators");
        return -1;
    }
    if (htab_init(&c->ind_ix, c->n_inds) < 0) {
        fail(L, 0, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < c->n_inds; i++) {
        int32_t prev = htab_put(&c->ind_ix, c->inds[i].code, (int32_t)i);
        if (prev >= 0) {
            fail(L, c->ind_line[i], "indicator %s already defined on line %d",
                 c->inds[i].code, c->ind_line[prev]);
            return -1;
        }
    }
    return 0;
}

/* ---- rules ------------------------------------------------------------------------------ */

static const char *const rule_cols[] = { "id", "severity", "level", "periods", "rule",
                                         "message_vi", "message_en" };
enum { RC_ID, RC_SEV, RC_LEVEL, RC_PERIODS, RC_RULE, RC_MSG_VI, RC_MSG_EN };

typedef struct {
    loader_t L;
    size_t cap;
} rule_loader_t;

static int resolve_ind(void *arg, const char *code)
{
    return htab_get(&((const kh_catalog_t *)arg)->ind_ix, code);
}

static int rule_row(loader_t *L, char **v, int line)
{
    rule_loader_t *RL = (rule_loader_t *)L;
    kh_catalog_t *c = L->c;
    const char *id = v[RC_ID];
    if (!valid_code(id)) {
        fail(L, line, "bad rule id '%.64s'", id);
        return -1;
    }
    for (size_t i = 0; i < c->n_rules; i++)
        if (strcmp(c->rules[i].id, id) == 0) {
            fail(L, line, "rule %s already defined on line %d", id, c->rules[i].line);
            return -1;
        }
    rule_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.id, sizeof r.id, "%s", id);
    r.line = line;
    if (strcmp(v[RC_SEV], "error") == 0)
        r.is_error = 1;
    else if (strcmp(v[RC_SEV], "warning") != 0) {
        fail(L, line, "rule %s: severity must be error or warning", id);
        return -1;
    }
    r.level = parse_level(v[RC_LEVEL]);
    if (r.level < 1 || r.level > c->depth) {
        fail(L, line, "rule %s: level must be a level of units.csv (1 to %d)", id, c->depth);
        return -1;
    }
    if (parse_halves(v[RC_PERIODS], &r.in_s1, &r.in_s2) < 0) {
        fail(L, line, "rule %s: bad periods '%.32s' (S1 S2, S1 or S2)", id, v[RC_PERIODS]);
        return -1;
    }
    if (!*v[RC_MSG_VI] || !*v[RC_MSG_EN]) {
        fail(L, line, "rule %s: message_vi and message_en are required", id);
        return -1;
    }
    char why[256];
    if (kh_rule_compile(v[RC_RULE], c->inds, c->n_inds, resolve_ind, c, &r.expr, why,
                        sizeof why) < 0) {
        fail(L, line, "rule %s: %s", id, why);
        return -1;
    }
    /* Every indicator must be reported at the rule's level whenever the rule applies:
     * otherwise the rule could never be evaluated. */
    int refs[KH_RULE_MAX_NODES];
    size_t nr = kh_expr_indicators(r.expr, refs, KH_RULE_MAX_NODES);
    r.first_ind = nr ? refs[0] : -1;
    for (size_t i = 0; i < nr; i++) {
        const kh_indicator_t *d = &c->inds[refs[i]];
        const char *why2 = NULL;
        char lv[48];
        snprintf(lv, sizeof lv, "is reported at level %d, not %d", d->level, r.level);
        if (d->level != r.level)
            why2 = lv;
        else if ((r.in_s1 && !d->in_s1) || (r.in_s2 && !d->in_s2))
            why2 = "is not reported in every half-year the rule lists";
        if (why2) {
            fail(L, line, "rule %s: indicator %s %s", id, d->code, why2);
            kh_expr_free(r.expr);
            return -1;
        }
    }
    if (nr == 0) {
        fail(L, line, "rule %s: reads no indicator", id);
        kh_expr_free(r.expr);
        return -1;
    }
    r.text = xstrdup(v[RC_RULE]);
    r.msg_vi = xstrdup(v[RC_MSG_VI]);
    r.msg_en = xstrdup(v[RC_MSG_EN]);
    if (KH_GROW(c->rules, c->n_rules, RL->cap, 64) < 0 || !r.text ||
        !r.msg_vi || !r.msg_en) {
        free(r.text);
        free(r.msg_vi);
        free(r.msg_en);
        kh_expr_free(r.expr);
        fail(L, line, "out of memory");
        return -1;
    }
    c->rules[c->n_rules++] = r;
    return 0;
}

static int load_rules(kh_catalog_t *c, const char *dir, const char *prefix, char *err,
                      size_t errlen)
{
    char fname[KH_CODE_MAX + 64];
    snprintf(fname, sizeof fname, "%srules.csv", prefix);
    rule_loader_t RL = { .L = { .fname = fname, .c = c, .cols = rule_cols, .n_cols = 7,
                                .fn = rule_row, .err = err, .errlen = errlen } };
    return load_csv(&RL.L, dir);
}

/* ---- targets ---------------------------------------------------------------------------- */

static const char *const target_cols[] = { "code", "name_vi", "name_en", "numerator",
                                           "denominator", "milestone", "target",
                                           "target_difficult_areas", "source" };
enum { TC_CODE, TC_NAME_VI, TC_NAME_EN, TC_NUM, TC_DEN, TC_MILESTONE, TC_TARGET,
       TC_TARGET_DIFF, TC_SOURCE };

typedef struct {
    loader_t L;
    size_t cap;
} target_loader_t;

static int parse_target_value(const char *s, double *out)
{
    if (!*s) {
        *out = -1;
        return 0;
    }
    return parse_plain_number(s, out) == 0 && *out <= 100 ? 0 : -1;
}

static int target_row(loader_t *L, char **v, int line)
{
    target_loader_t *TL = (target_loader_t *)L;
    kh_catalog_t *c = L->c;
    const char *code = v[TC_CODE];
    if (!valid_code(code)) {
        fail(L, line, "bad target code '%.64s'", code);
        return -1;
    }
    for (size_t i = 0; i < c->n_targets; i++)
        if (strcmp(c->targets[i].code, code) == 0) {
            fail(L, line, "target %s listed twice", code);
            return -1;
        }
    if (!*v[TC_NAME_VI] || !*v[TC_NAME_EN]) {
        fail(L, line, "target %s: name_vi and name_en are required", code);
        return -1;
    }
    const char *parts[2] = { v[TC_NUM], v[TC_DEN] };
    const kh_indicator_t *pi[2];
    for (int i = 0; i < 2; i++) {
        int32_t ix = htab_get(&c->ind_ix, parts[i]);
        if (ix < 0) {
            fail(L, line, "target %s: unknown indicator %.64s", code, parts[i]);
            return -1;
        }
        pi[i] = &c->inds[ix];
        if (pi[i]->vtype == KH_VT_OPTION || pi[i]->vtype == KH_VT_SCORE) {
            fail(L, line, "target %s: %.64s is an option or a score; a rate needs counts, "
                 "money or flags", code, parts[i]);
            return -1;
        }
    }
    /* a rate's numerator and denominator must come from the same units */
    if (pi[0]->level != pi[1]->level) {
        fail(L, line, "target %s: numerator %.64s and denominator %.64s are reported at "
             "different levels", code, parts[0], parts[1]);
        return -1;
    }
    kh_target_t t;
    memset(&t, 0, sizeof t);
    snprintf(t.code, sizeof t.code, "%s", code);
    snprintf(t.numerator, sizeof t.numerator, "%s", v[TC_NUM]);
    snprintf(t.denominator, sizeof t.denominator, "%s", v[TC_DEN]);
    if (parse_target_value(v[TC_TARGET], &t.target) < 0 ||
        parse_target_value(v[TC_TARGET_DIFF], &t.target_difficult) < 0) {
        fail(L, line, "target %s: targets must be empty or a number from 0 to 100", code);
        return -1;
    }
    double ms = 0;
    if (*v[TC_MILESTONE] && (parse_plain_number(v[TC_MILESTONE], &ms) < 0 || ms < 1900 ||
                             ms > 2999 || ms != (int)ms)) {
        fail(L, line, "target %s: milestone must be a year (e.g. 2025) or empty", code);
        return -1;
    }
    if (!*v[TC_MILESTONE] && (t.target >= 0 || t.target_difficult >= 0)) {
        fail(L, line, "target %s: a target needs its milestone year", code);
        return -1;
    }
    t.milestone = (int)ms;
    if (KH_GROW(c->targets, c->n_targets, TL->cap, 64) < 0) {
        fail(L, line, "out of memory");
        return -1;
    }
    t.name_vi = xstrdup(v[TC_NAME_VI]);
    t.name_en = xstrdup(v[TC_NAME_EN]);
    t.source = xstrdup(v[TC_SOURCE]);
    c->targets[c->n_targets++] = t;
    if (!t.name_vi || !t.name_en || !t.source) {
        fail(L, line, "out of memory");
        return -1;
    }
    return 0;
}

static int load_targets(kh_catalog_t *c, const char *dir, const char *prefix, char *err,
                        size_t errlen)
{
    char fname[KH_CODE_MAX + 64];
    snprintf(fname, sizeof fname, "%stargets.csv", prefix);
    target_loader_t TL = { .L = { .fname = fname, .c = c, .cols = target_cols,
                                  .n_cols = 9, .fn = target_row, .err = err,
                                  .errlen = errlen } };
    return load_csv(&TL.L, dir);
}

/* ---- reorganisations (reorg.csv, optional) ------------------------------------------------- */

static const char *const reorg_cols[] = { "old_province", "old_code", "old_name", "new_code",
                                          "new_name", "whole", "date" };

typedef struct {
    loader_t L;
    size_t cap;
} reorg_loader_t;

static int reorg_row(loader_t *L, char **v, int line)
{
    reorg_loader_t *RL = (reorg_loader_t *)L;
    kh_catalog_t *c = L->c;
    kh_reorg_t r;
    memset(&r, 0, sizeof r);
    if (strlen(v[1]) >= KH_CODE_MAX || !valid_code(v[1]) || strlen(v[3]) >= KH_CODE_MAX ||
        !valid_code(v[3]) || strlen(v[0]) >= KH_CODE_MAX) {
        fail(L, line, "bad old_code, new_code or old_province");
        return -1;
    }
    if (!*v[2]) {
        fail(L, line, "%s: old_name is required", v[1]);
        return -1;
    }
    if (strcmp(v[5], "yes") && strcmp(v[5], "no")) {
        fail(L, line, "%s: whole must be yes or no", v[1]);
        return -1;
    }
    if (parse_iso_date(v[6], &r.date) < 0 || !r.date) {
        fail(L, line, "%s: bad date '%.32s' (the day the new unit took over, YYYY-MM-DD)",
             v[1], v[6]);
        return -1;
    }
    snprintf(r.old_province, sizeof r.old_province, "%s", v[0]);
    snprintf(r.old_code, sizeof r.old_code, "%s", v[1]);
    snprintf(r.new_code, sizeof r.new_code, "%s", v[3]);
    r.whole = !strcmp(v[5], "yes");
    r.line = line;
    if (!kh_catalog_unit_on(c, r.new_code, r.date)) {
        fail(L, line, "%s: new unit %s is not in units.csv on %s", r.old_code, r.new_code, v[6]);
        return -1;
    }
    for (size_t i = 0; i < c->n_reorg; i++) {
        const kh_reorg_t *o = &c->reorg[i];
        if (strcmp(o->old_code, r.old_code) || o->date != r.date)
            continue;
        if (!strcmp(o->new_code, r.new_code) || o->whole || r.whole) {
            fail(L, line, "%s: listed twice for one day, or whole and split at once (line %d "
                 "of the same unit)", r.old_code, o->line);
            return -1;
        }
    }
    if (KH_GROW(c->reorg, c->n_reorg, RL->cap, 64) < 0 ||
        !(r.old_name = xstrdup(v[2]))) {
        fail(L, line, "out of memory");
        return -1;
    }
    c->reorg[c->n_reorg++] = r;
    return 0;
}

static int file_exists(const char *dir, const char *name);

static int load_reorg(kh_catalog_t *c, const char *dir, char *err, size_t errlen)
{
    if (!file_exists(dir, "reorg.csv"))
        return 0;
    reorg_loader_t RL = { .L = { .fname = "reorg.csv", .c = c, .cols = reorg_cols, .n_cols = 7,
                                 .fn = reorg_row, .err = err, .errlen = errlen } };
    return load_csv(&RL.L, dir);
}

size_t kh_catalog_reorg_of(const kh_catalog_t *c, const char *old_code, int32_t date,
                           const kh_reorg_t **out, size_t cap)
{
    if (!c || !old_code)
        return 0;
    if (c->root)
        c = c->root;
    /* the latest reorganisation of that code on or before `date` */
    int32_t best = 0;
    for (size_t i = 0; i < c->n_reorg; i++)
        if (!strcmp(c->reorg[i].old_code, old_code) && c->reorg[i].date <= date &&
            c->reorg[i].date > best)
            best = c->reorg[i].date;
    size_t n = 0;
    for (size_t i = 0; best && i < c->n_reorg; i++)
        if (!strcmp(c->reorg[i].old_code, old_code) && c->reorg[i].date == best) {
            if (out && n < cap)
                out[n] = &c->reorg[i];
            n++;
        }
    return n;
}

size_t kh_catalog_reorg_count(const kh_catalog_t *c)
{
    if (!c)
        return 0;
    return c->root ? c->root->n_reorg : c->n_reorg;
}

const kh_reorg_t *kh_catalog_reorg_at(const kh_catalog_t *c, size_t i)
{
    if (c && c->root)
        c = c->root;
    return c && i < c->n_reorg ? &c->reorg[i] : NULL;
}

size_t kh_catalog_reorg_into(const kh_catalog_t *c, const char *new_code, int32_t date,
                             const kh_reorg_t **out, size_t cap)
{
    if (!c || !new_code)
        return 0;
    if (c->root)
        c = c->root;
    size_t n = 0;
    for (size_t i = 0; i < c->n_reorg; i++)
        if (!strcmp(c->reorg[i].new_code, new_code) && c->reorg[i].date == date) {
            if (out && n < cap)
                out[n] = &c->reorg[i];
            n++;
        }
    return n;
}

/* ---- sections (sections.csv, optional) ---------------------------------------------------- */

static const char *const sec_cols[] = { "section", "title_vi", "title_en" };

typedef struct {
    loader_t L;
    size_t cap;
} sec_loader_t;

static int sec_row(loader_t *L, char **v, int line)
{
    sec_loader_t *SL = (sec_loader_t *)L;
    kh_catalog_t *c = L->c;
    double n;
    if (parse_plain_number(v[0], &n) < 0 || n < 1 || n > 99 || n != (int)n) {
        fail(L, line, "section must be a whole number from 1 to 99");
        return -1;
    }
    if (!*v[1] || !*v[2]) {
        fail(L, line, "section %d: title_vi and title_en are required", (int)n);
        return -1;
    }
    for (size_t i = 0; i < c->n_sections; i++)
        if (c->sections[i].section == (int)n) {
            fail(L, line, "section %d listed twice", (int)n);
            return -1;
        }
    if (KH_GROW(c->sections, c->n_sections, SL->cap, 64) < 0) {
        fail(L, line, "out of memory");
        return -1;
    }
    c->sections[c->n_sections].section = (int)n;
    c->sections[c->n_sections].title_vi = xstrdup(v[1]);
    c->sections[c->n_sections].title_en = xstrdup(v[2]);
    if (!c->sections[c->n_sections].title_vi || !c->sections[c->n_sections++].title_en) {
        fail(L, line, "out of memory");
        return -1;
    }
    return 0;
}

static int file_exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    return n > 0 && (size_t)n < sizeof path && stat(path, &st) == 0;
}

static int load_sections(kh_catalog_t *c, const char *dir, const char *prefix, char *err,
                         size_t errlen)
{
    char fname[KH_CODE_MAX + 64];
    snprintf(fname, sizeof fname, "%ssections.csv", prefix);
    if (!file_exists(dir, fname))
        return 0;
    sec_loader_t SL = { .L = { .fname = fname, .c = c, .cols = sec_cols, .n_cols = 3,
                               .fn = sec_row, .err = err, .errlen = errlen } };
    return load_csv(&SL.L, dir);
}

/* ---- option labels (options.csv, optional) ------------------------------------------------- */

static const char *const opt_cols[] = { "indicator", "option", "label_vi", "label_en" };

typedef struct {
    loader_t L;
    size_t cap;
} opt_loader_t;

static int opt_row(loader_t *L, char **v, int line)
{
    opt_loader_t *OL = (opt_loader_t *)L;
    kh_catalog_t *c = L->c;
    int32_t ii = htab_get(&c->ind_ix, v[0]);
    if (ii < 0 || c->inds[ii].vtype != KH_VT_OPTION) {
        fail(L, line, "%.64s is not an option indicator of indicators.csv", v[0]);
        return -1;
    }
    const kh_indicator_t *d = &c->inds[ii];
    int k = 0;
    while (k < d->n_options && strcmp(d->options[k], v[1]) != 0)
        k++;
    if (k == d->n_options) {
        fail(L, line, "%s has no option '%.32s'", d->code, v[1]);
        return -1;
    }
    if (!*v[2] || !*v[3]) {
        fail(L, line, "%s %s: label_vi and label_en are required", d->code, v[1]);
        return -1;
    }
    for (size_t i = 0; i < c->n_opt_labels; i++)
        if (c->opt_labels[i].ind == ii && c->opt_labels[i].option == k) {
            fail(L, line, "%s %s labelled twice", d->code, v[1]);
            return -1;
        }
    if (KH_GROW(c->opt_labels, c->n_opt_labels, OL->cap, 64) < 0) {
        fail(L, line, "out of memory");
        return -1;
    }
    c->opt_labels[c->n_opt_labels].ind = ii;
    c->opt_labels[c->n_opt_labels].option = k;
    c->opt_labels[c->n_opt_labels].label_vi = xstrdup(v[2]);
    c->opt_labels[c->n_opt_labels].label_en = xstrdup(v[3]);
    if (!c->opt_labels[c->n_opt_labels].label_vi || !c->opt_labels[c->n_opt_labels++].label_en) {
        fail(L, line, "out of memory");
        return -1;
    }
    return 0;
}

static int load_options(kh_catalog_t *c, const char *dir, const char *prefix, char *err,
                        size_t errlen)
{
    char fname[KH_CODE_MAX + 64];
    snprintf(fname, sizeof fname, "%soptions.csv", prefix);
    if (!file_exists(dir, fname))
        return 0;
    opt_loader_t OL = { .L = { .fname = fname, .c = c, .cols = opt_cols, .n_cols = 4,
                               .fn = opt_row, .err = err, .errlen = errlen } };
    return load_csv(&OL.L, dir);
}

/* One programme's files (prefix "" or its folder) into c. */
static int load_programme_files(kh_catalog_t *c, const char *dir, const char *prefix,
                                char *err, size_t errlen)
{
    return load_sections(c, dir, prefix, err, errlen) < 0 ||
                   load_indicators(c, dir, prefix, err, errlen) < 0 ||
                   load_options(c, dir, prefix, err, errlen) < 0 ||
                   load_rules(c, dir, prefix, err, errlen) < 0 ||
                   load_targets(c, dir, prefix, err, errlen) < 0
               ? -1
               : 0;
}

/* ---- programmes (programmes.csv, optional) -------------------------------------------------- */

static const char *const prog_cols[] = { "code", "name_vi", "name_en", "valid_from", "valid_to",
                                         "folder", "source", "s1_due", "s2_due",
                                         "report_period" };
enum { PC_CODE, PC_VI, PC_EN, PC_FROM, PC_TO, PC_FOLDER, PC_SOURCE, PC_S1, PC_S2, PC_KIND };

typedef struct {
    loader_t L;
    size_t cap;
    const char *dir;
} prog_loader_t;

static void free_programme_parts(kh_catalog_t *c);

static int prog_row(loader_t *L, char **v, int line)
{
    prog_loader_t *PL = (prog_loader_t *)L;
    kh_catalog_t *c = L->c;
    if (strlen(v[PC_CODE]) >= KH_CODE_MAX || !valid_code(v[PC_CODE])) {
        fail(L, line, "bad programme code '%.64s' (letters, digits, - . _)", v[PC_CODE]);
        return -1;
    }
    if (!*v[PC_VI] || !*v[PC_EN]) {
        fail(L, line, "programme %s: name_vi and name_en are required", v[PC_CODE]);
        return -1;
    }
    int32_t from, to;
    if (parse_iso_date(v[PC_FROM], &from) < 0 || parse_iso_date(v[PC_TO], &to) < 0 ||
        (from && to && from > to)) {
        fail(L, line, "programme %s: bad valid_from / valid_to (YYYY-MM-DD, from before to)",
             v[PC_CODE]);
        return -1;
    }
    for (size_t i = 0; i < c->n_progs; i++) {
        const kh_catalog_t *o = c->progs[i];
        if (!strcmp(o->prog_code, v[PC_CODE]) ||
            range_overlaps(o->prog_from, o->prog_to, from, to)) {
            fail(L, line, "programme %s overlaps programme %s: one programme is in force on "
                 "a day", v[PC_CODE], o->prog_code);
            return -1;
        }
    }
    kh_pkind_t kind;
    if (!*v[PC_KIND] || !strcmp(v[PC_KIND], "half-year")) {
        kind = KH_P_HALF;
    } else if (!strcmp(v[PC_KIND], "year")) {
        kind = KH_P_YEAR;
        if (*v[PC_S1]) {
            fail(L, line, "programme %s reports once a year: leave s1_due empty (its report "
                 "is due on s2_due)", v[PC_CODE]);
            return -1;
        }
    } else {
        fail(L, line, "programme %s: bad report_period '%.16s' (half-year or year)",
             v[PC_CODE], v[PC_KIND]);
        return -1;
    }
    int due[2] = { 0, 0 };
    /* its calendar: the due dates of its half-years (mmdd), else the configuration's */
    for (int k = 0; k < 2; k++) {
        const char *d = v[k ? PC_S2 : PC_S1];
        double mmdd;
        if (!*d)
            continue;
        if (parse_plain_number(d, &mmdd) < 0 || mmdd != (int)mmdd || !valid_mmdd((int)mmdd)) {
            fail(L, line, "programme %s: bad %s '%.16s' (a day of the year as mmdd, e.g. 620 "
                 "for 20 June)", v[PC_CODE], k ? "s2_due" : "s1_due", d);
            return -1;
        }
        due[k] = (int)mmdd;
    }
    if (KH_GROW(c->progs, c->n_progs, PL->cap, 64) < 0) {
        fail(L, line, "out of memory");
        return -1;
    }
    kh_catalog_t *p = malloc(sizeof *p);
    if (!p) {
        fail(L, line, "out of memory");
        return -1;
    }
    /* a view: the root's units, levels and reporters, its own programme parts */
    *p = *c;
    p->root = c;
    p->progs = NULL;
    p->n_progs = 0;
    p->inds = NULL; p->n_inds = 0; p->ind_line = NULL; memset(&p->ind_ix, 0, sizeof p->ind_ix);
    p->rules = NULL; p->n_rules = 0;
    p->targets = NULL; p->n_targets = 0;
    p->sections = NULL; p->n_sections = 0;
    p->opt_labels = NULL; p->n_opt_labels = 0;
    snprintf(p->prog_code, sizeof p->prog_code, "%s", v[PC_CODE]);
    if (due[0])
        p->s1_due = due[0];
    if (due[1])
        p->s2_due = due[1];
    p->report_kind = kind;
    p->prog_from = from;
    p->prog_to = to;
    p->prog_name_vi = xstrdup(v[PC_VI]);
    p->prog_name_en = xstrdup(v[PC_EN]);
    p->prog_source = xstrdup(v[PC_SOURCE]);
    c->progs[c->n_progs++] = p;
    if (!p->prog_name_vi || !p->prog_name_en || !p->prog_source) {
        fail(L, line, "out of memory");
        return -1;
    }
    /* the folder of its files, relative to the data folder: programmes/<code>/ unless
     * the row names one (another deployment's programme may be shared: "..") */
    char prefix[KH_CODE_MAX + 16];
    const char *folder = v[PC_FOLDER];
    if (strlen(folder) > KH_CODE_MAX || strchr(folder, '\\') ||
        (*folder && strspn(folder, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789-._/") != strlen(folder))) {
        fail(L, line, "programme %s: bad folder '%.64s' (a relative path of letters, digits, "
             "- . _ /)", p->prog_code, folder);
        return -1;
    }
    if (*folder)
        snprintf(prefix, sizeof prefix, "%s%s", folder,
                 folder[strlen(folder) - 1] == '/' ? "" : "/");
    else
        snprintf(prefix, sizeof prefix, "programmes/%s/", p->prog_code);
    if (load_programme_files(p, PL->dir, prefix, L->err, L->errlen) < 0) {
        L->failed = 1;      /* the reason is in err already, with its file and line */
        return -1;
    }
    return 0;
}

/* programmes.csv and each programme's folder; without the file, the programme's files
 * are at the top of the data folder. */
static int load_programmes(kh_catalog_t *c, const char *dir, char *err, size_t errlen)
{
    if (!file_exists(dir, "programmes.csv"))
        return load_programme_files(c, dir, "", err, errlen);
    prog_loader_t PL = { .L = { .fname = "programmes.csv", .c = c, .cols = prog_cols,
                                .n_cols = 10, .n_optional = 3, .fn = prog_row, .err = err, .errlen = errlen },
                         .dir = dir };
    if (load_csv(&PL.L, dir) < 0)
        return -1;
    if (c->n_progs == 0) {
        fail(&PL.L, 0, "no programmes (a header and no rows)");
        return -1;
    }
    return 0;
}

/* ---- load / destroy --------------------------------------------------------------------- */

static int valid_mmdd(int mmdd)
{
    return mmdd >= 0 && mmdd <= 9999 && kh_date_valid(20010000 + mmdd);   /* a common year */
}

kh_catalog_t *kh_catalog_from_config(const struct kh_config *cfg, char *err, size_t errlen)
{
    char dir[1024], why[512];
    long s1, s2;
    if (kh_config_str(cfg, "general", "data_dir", dir, sizeof dir) < 0) {
        snprintf(err, errlen, "[general] data_dir is too long");
        return NULL;
    }
    if (kh_config_long(cfg, "calendar", "s1_due", &s1, why, sizeof why) < 0 ||
        kh_config_long(cfg, "calendar", "s2_due", &s2, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s", why);
        return NULL;
    }
    kh_catalog_t *c = kh_catalog_load(dir, (int)s1, (int)s2, why, sizeof why);
    if (!c)
        snprintf(err, errlen, "%s (catalogue folder %s, [general] data_dir)", why, dir);
    return c;
}

kh_catalog_t *kh_catalog_load(const char *data_dir, int s1_due_mmdd, int s2_due_mmdd,
                              char *err, size_t errlen)
{
    char dummy[8];
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    if (!data_dir) {
        snprintf(err, errlen, "no data directory");
        return NULL;
    }
    /* 0 or less: the Bến Tre defaults (20 June, 5 December). */
    if (s1_due_mmdd <= 0)
        s1_due_mmdd = 620;
    if (s2_due_mmdd <= 0)
        s2_due_mmdd = 1205;
    if (!valid_mmdd(s1_due_mmdd) || !valid_mmdd(s2_due_mmdd)) {
        snprintf(err, errlen, "calendar: bad due date (expected mmdd, e.g. 620 and 1205)");
        return NULL;
    }
    kh_catalog_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->s1_due = s1_due_mmdd;
    c->s2_due = s2_due_mmdd;
    if (load_units(c, data_dir, err, errlen) < 0 ||
        load_levels(c, data_dir, err, errlen) < 0 ||
        load_reporters(c, data_dir, err, errlen) < 0 ||
        load_reorg(c, data_dir, err, errlen) < 0 ||
        load_programmes(c, data_dir, err, errlen) < 0) {
        kh_catalog_destroy(&c);
        return NULL;
    }
    return c;
}

/* The parts a programme owns: indicators, rules, targets, sections, names. */
static void free_programme_parts(kh_catalog_t *c)
{
    for (size_t i = 0; i < c->n_inds; i++) {
        free(c->inds[i].name_vi);
        free(c->inds[i].name_en);
        free(c->inds[i].unit);
    }
    free(c->inds);
    free(c->ind_line);
    htab_free(&c->ind_ix);
    for (size_t i = 0; i < c->n_rules; i++) {
        free(c->rules[i].text);
        free(c->rules[i].msg_vi);
        free(c->rules[i].msg_en);
        kh_expr_free(c->rules[i].expr);
    }
    free(c->rules);
    for (size_t i = 0; i < c->n_targets; i++) {
        free(c->targets[i].name_vi);
        free(c->targets[i].name_en);
        free(c->targets[i].source);
    }
    free(c->targets);
    for (size_t i = 0; i < c->n_sections; i++) {
        free(c->sections[i].title_vi);
        free(c->sections[i].title_en);
    }
    free(c->sections);
    for (size_t i = 0; i < c->n_opt_labels; i++) {
        free(c->opt_labels[i].label_vi);
        free(c->opt_labels[i].label_en);
    }
    free(c->opt_labels);
    free(c->prog_name_vi);
    free(c->prog_name_en);
    free(c->prog_source);
}

void kh_catalog_destroy(kh_catalog_t **self_p)
{
    if (!self_p || !*self_p || (*self_p)->root)
        return;             /* a programme view belongs to its root */
    kh_catalog_t *c = *self_p;
    for (size_t i = 0; i < c->n_progs; i++) {
        free_programme_parts(c->progs[i]);
        free(c->progs[i]);
    }
    free(c->progs);
    free_programme_parts(c);
    for (size_t i = 0; i < c->n_units; i++)
        free(c->units[i].name);
    free(c->units);
    free(c->unit_line);
    free(c->unit_next);
    htab_free(&c->unit_ix);
    free(c->child_next);
    htab_free(&c->child_ix);
    for (size_t i = 0; i < c->n_levels; i++) {
        free(c->levels[i].name_vi);
        free(c->levels[i].name_en);
    }
    free(c->levels);
    for (size_t i = 0; i < c->n_reorg; i++)
        free(c->reorg[i].old_name);
    free(c->reorg);
    free(c->reporters);
    free(c);
    *self_p = NULL;
}

const kh_catalog_t *kh_catalog_for(const kh_catalog_t *c, int32_t date)
{
    if (!c)
        return NULL;
    if (c->root)
        c = c->root;
    if (c->n_progs == 0)
        return c;
    for (size_t i = 0; i < c->n_progs; i++)
        if (range_overlaps(c->progs[i]->prog_from, c->progs[i]->prog_to, date, date))
            return c->progs[i];
    return NULL;
}

const kh_catalog_t *kh_catalog_for_period(const kh_catalog_t *c, const char *period)
{
    kh_period_t p;
    if (!c || !period || kh_period_parse(period, &p) < 0)
        return NULL;
    return kh_catalog_for(c, kh_period_end(&p));
}

size_t kh_catalog_programme_count(const kh_catalog_t *c)
{
    if (!c)
        return 0;
    if (c->root)
        c = c->root;
    return c->n_progs ? c->n_progs : 1;
}

const kh_catalog_t *kh_catalog_programme_at(const kh_catalog_t *c, size_t i)
{
    if (!c)
        return NULL;
    if (c->root)
        c = c->root;
    if (c->n_progs == 0)
        return i == 0 ? c : NULL;
    return i < c->n_progs ? c->progs[i] : NULL;
}

const char *kh_catalog_programme_name(const kh_catalog_t *c, int en)
{
    if (!c || !c->root)
        return "";
    return en ? c->prog_name_en : c->prog_name_vi;
}

const char *kh_catalog_programme_code(const kh_catalog_t *c)
{
    return c && c->root ? c->prog_code : "";
}

void kh_catalog_programme_range(const kh_catalog_t *c, int32_t *from, int32_t *to)
{
    *from = c && c->root ? c->prog_from : 0;
    *to = c && c->root ? c->prog_to : 0;
}

const char *kh_catalog_option_label(const kh_catalog_t *c, const kh_indicator_t *ind,
                                    int option, int en)
{
    if (!c || !ind || ind < c->inds || ind >= c->inds + c->n_inds)
        return NULL;
    int ii = (int)(ind - c->inds);
    for (size_t i = 0; i < c->n_opt_labels; i++)
        if (c->opt_labels[i].ind == ii && c->opt_labels[i].option == option)
            return en ? c->opt_labels[i].label_en : c->opt_labels[i].label_vi;
    return NULL;
}

const char *kh_catalog_section_title(const kh_catalog_t *c, int section, int en)
{
    for (size_t i = 0; c && i < c->n_sections; i++)
        if (c->sections[i].section == section)
            return en ? c->sections[i].title_en : c->sections[i].title_vi;
    return NULL;
}

/* ==== lookups =========================================================================== */

static int32_t ind_index(const kh_catalog_t *c, const char *code)
{
    return c && code ? htab_get(&c->ind_ix, code) : -1;
}

const kh_indicator_t *kh_catalog_indicator(const kh_catalog_t *c, const char *code)
{
    int32_t i = ind_index(c, code);
    return i >= 0 ? &c->inds[i] : NULL;
}

size_t kh_catalog_indicator_count(const kh_catalog_t *c)
{
    return c ? c->n_inds : 0;
}

const kh_indicator_t *kh_catalog_indicator_at(const kh_catalog_t *c, size_t i)
{
    return c && i < c->n_inds ? &c->inds[i] : NULL;
}

size_t kh_catalog_target_count(const kh_catalog_t *c)
{
    return c ? c->n_targets : 0;
}

const kh_target_t *kh_catalog_target_at(const kh_catalog_t *c, size_t i)
{
    return c && i < c->n_targets ? &c->targets[i] : NULL;
}

static int in_force(const kh_unit_t *u, int32_t date)
{
    return (u->valid_from == 0 || u->valid_from <= date) &&
           (u->valid_to == 0 || date <= u->valid_to);
}

static int32_t unit_row_on(const kh_catalog_t *c, const char *code, int32_t date)
{
    if (!c || !code)
        return -1;
    for (int32_t r = htab_get(&c->unit_ix, code); r >= 0; r = c->unit_next[r])
        if (in_force(&c->units[r], date))
            return r;
    return -1;
}

const kh_unit_t *kh_catalog_unit_on(const kh_catalog_t *c, const char *code, int32_t date)
{
    int32_t r = unit_row_on(c, code, date);
    return r >= 0 ? &c->units[r] : NULL;
}

const kh_unit_t *kh_catalog_unit_any(const kh_catalog_t *c, const char *code)
{
    if (!c || !code)
        return NULL;
    int32_t best = -1;
    for (int32_t r = htab_get(&c->unit_ix, code); r >= 0; r = c->unit_next[r])
        if (best < 0 || c->units[r].valid_from > c->units[best].valid_from)
            best = r;
    return best >= 0 ? &c->units[best] : NULL;
}

int kh_catalog_reports(const kh_catalog_t *c, const char *unit, int32_t yyyymmdd)
{
    if (!c || !unit)
        return -1;
    const kh_unit_t *u = kh_catalog_unit_on(c, unit, yyyymmdd);
    if (!u)
        return 0;
    for (size_t i = 0; i < c->n_reporters; i++) {
        const reporter_t *r = &c->reporters[i];
        if ((r->valid_from == 0 || r->valid_from <= yyyymmdd) &&
            (r->valid_to == 0 || yyyymmdd <= r->valid_to) &&
            (r->level ? r->level == (int)u->level : !strcmp(r->unit, unit)))
            return 1;
    }
    return 0;
}

int kh_catalog_reports_ever(const kh_catalog_t *c, const char *unit)
{
    if (!c || !unit)
        return -1;
    for (size_t i = 0; i < c->n_reporters; i++) {
        const reporter_t *r = &c->reporters[i];
        for (int32_t k = htab_get(&c->unit_ix, unit); k >= 0; k = c->unit_next[k]) {
            const kh_unit_t *u = &c->units[k];
            if ((r->level ? r->level == (int)u->level : !strcmp(r->unit, unit)) &&
                range_overlaps(u->valid_from, u->valid_to, r->valid_from, r->valid_to))
                return 1;
        }
    }
    return 0;
}

size_t kh_catalog_units_on(const kh_catalog_t *c, int level, const char *parent,
                           int32_t date, const kh_unit_t **out, size_t cap)
{
    if (!c)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < c->n_units; i++) {
        const kh_unit_t *u = &c->units[i];
        if ((level && u->level != level) || !in_force(u, date))
            continue;
        if (parent && parent[0] && strcmp(u->parent, parent) != 0)
            continue;
        if (out && n < cap)
            out[n] = u;
        n++;
    }
    return n;
}

size_t kh_catalog_subtree_on(const kh_catalog_t *c, const char *code, int32_t date,
                             const kh_unit_t **out, size_t cap)
{
    int32_t root = unit_row_on(c, code, date);
    if (root < 0)
        return 0;
    /* Depth first with an explicit stack of "next child row to look at" per level: the
     * tree is at most KH_MAX_LEVELS deep (the loader refuses deeper levels). */
    int32_t stack[KH_MAX_LEVELS + 1];
    size_t sp = 0, n = 0;
    if (out && n < cap)
        out[n] = &c->units[root];
    n++;
    stack[sp++] = htab_get(&c->child_ix, c->units[root].code);
    while (sp > 0) {
        int32_t r = stack[sp - 1];
        if (r < 0) {
            sp--;
            continue;
        }
        stack[sp - 1] = c->child_next[r];
        if (!in_force(&c->units[r], date))
            continue;
        if (out && n < cap)
            out[n] = &c->units[r];
        n++;
        if (sp < sizeof stack / sizeof stack[0])
            stack[sp++] = htab_get(&c->child_ix, c->units[r].code);
    }
    return n;
}

int kh_catalog_reports_self(const kh_catalog_t *c, const char *code, int32_t date)
{
    const kh_unit_t *u = c ? kh_catalog_unit_on(c, code, date) : NULL;
    if (!u)
        return 0;
    const reporter_t *r = reporter_of(c->root ? c->root : c, u, date);
    return r && r->self;
}

size_t kh_catalog_report_units(const kh_catalog_t *c, const char *code, int32_t date,
                               const kh_unit_t **out, size_t cap)
{
    const kh_unit_t *u = kh_catalog_unit_on(c, code, date);
    if (!u)
        return 0;
    const reporter_t *r = reporter_of(c->root ? c->root : c, u, date);
    if (r && r->self) {
        if (out && cap)
            out[0] = u;
        return 1;
    }
    return kh_catalog_subtree_on(c, code, date, out, cap);
}

const kh_unit_t *kh_catalog_parent_on(const kh_catalog_t *c, const kh_unit_t *u, int32_t date)
{
    return u && u->parent[0] ? kh_catalog_unit_on(c, u->parent, date) : NULL;
}

int kh_catalog_depth(const kh_catalog_t *c)
{
    return c ? c->depth : 0;
}

const char *kh_catalog_level_name(const kh_catalog_t *c, int level, int32_t date, int en)
{
    if (!c)
        return NULL;
    const level_t *best = NULL;
    for (size_t i = 0; i < c->n_levels; i++) {
        const level_t *l = &c->levels[i];
        if (l->level != level)
            continue;
        if (range_overlaps(l->valid_from, l->valid_to, date, date)) {
            best = l;
            break;
        }
        if (!best || l->valid_from > best->valid_from)
            best = l;
    }
    return best ? (en ? best->name_en : best->name_vi) : NULL;
}

size_t kh_catalog_reporters_ever(const kh_catalog_t *c, const kh_unit_t **out, size_t cap)
{
    if (!c)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < c->n_units; i++) {
        const kh_unit_t *u = &c->units[i];
        if (htab_get(&c->unit_ix, u->code) != (int32_t)i ||
            kh_catalog_reports_ever(c, u->code) != 1)
            continue;
        /* the latest row of the code (28756: the ward of 86, not of 829) */
        const kh_unit_t *latest = kh_catalog_unit_any(c, u->code);
        if (out && n < cap)
            out[n] = latest ? latest : u;
        n++;
    }
    return n;
}

size_t kh_catalog_reporters_on(const kh_catalog_t *c, int32_t yyyymmdd, const kh_unit_t **out,
                               size_t cap)
{
    if (!c)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < c->n_units; i++) {
        const kh_unit_t *u = &c->units[i];
        if (!in_force(u, yyyymmdd) || kh_catalog_reports(c, u->code, yyyymmdd) != 1)
            continue;
        if (out && n < cap)
            out[n] = u;
        n++;
    }
    return n;
}

/* ==== periods =========================================================================== */

static int four_digits(const char *s, int *out)
{
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)s[i]))
            return -1;
    if (s[0] == '0')
        return -1;   /* years 1000..9999 */
    *out = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    return 0;
}

int kh_period_parse(const char *s, kh_period_t *out)
{
    if (!s || !out)
        return -1;
    size_t n = strnlen(s, 16);
    kh_period_t p = { KH_P_HALF, 0, 0, 0 };
    if (n < 4 || four_digits(s, &p.year) < 0)
        return -1;
    if (n == 4) {
        p.kind = KH_P_YEAR;
    } else if (n == 6 && s[4] == 'S' && (s[5] == '1' || s[5] == '2')) {
        p.kind = KH_P_HALF;
        p.half = s[5] - '0';
    } else if (n == 9 && s[4] == '-' && four_digits(s + 5, &p.year_to) == 0 &&
               p.year_to > p.year) {
        p.kind = KH_P_PROGRAMME;
    } else {
        return -1;
    }
    if (p.kind != KH_P_PROGRAMME)
        p.year_to = p.year;
    *out = p;
    return 0;
}

int32_t kh_period_end(const kh_period_t *p)
{
    if (!p)
        return 0;
    switch (p->kind) {
    case KH_P_HALF: return p->year * 10000 + (p->half == 1 ? 630 : 1231);
    case KH_P_YEAR: return p->year * 10000 + 1231;
    case KH_P_PROGRAMME: return p->year_to * 10000 + 1231;
    }
    return 0;
}

/* First day of a half-year or a year (used for PERIOD_FUTURE). */
static int32_t period_start(const kh_period_t *p)
{
    return p->year * 10000 + (p->kind == KH_P_HALF && p->half == 2 ? 701 : 101);
}

void kh_period_format(const kh_period_t *p, char *buf, size_t cap)
{
    if (!buf || !cap)
        return;
    buf[0] = '\0';
    if (!p)
        return;
    switch (p->kind) {
    case KH_P_HALF: snprintf(buf, cap, "%04dS%d", p->year % 10000, p->half == 2 ? 2 : 1); break;
    case KH_P_YEAR: snprintf(buf, cap, "%04d", p->year % 10000); break;
    case KH_P_PROGRAMME:
        snprintf(buf, cap, "%04d-%04d", p->year % 10000, p->year_to % 10000);
        break;
    }
}

void kh_period_label(const kh_period_t *p, int en, char *buf, size_t cap)
{
    if (!buf || !cap)
        return;
    buf[0] = '\0';
    if (!p)
        return;
    switch (p->kind) {
    case KH_P_HALF:
        if (en)
            snprintf(buf, cap, "%s %d", p->half == 1 ? "January-June" : "July-December",
                     p->year);
        else
            snprintf(buf, cap, "6 tháng %s năm %d", p->half == 1 ? "đầu" : "cuối", p->year);
        break;
    case KH_P_YEAR: snprintf(buf, cap, en ? "the year %d" : "năm %d", p->year); break;
    case KH_P_PROGRAMME:
        snprintf(buf, cap, en ? "%d-%d" : "giai đoạn %d–%d", p->year, p->year_to);
        break;
    }
}

kh_pkind_t kh_catalog_report_kind(const kh_catalog_t *c)
{
    return c && c->report_kind == KH_P_YEAR ? KH_P_YEAR : KH_P_HALF;
}

int kh_catalog_is_report_period(const kh_catalog_t *c, const kh_period_t *p)
{
    if (!c || !p || (p->kind != KH_P_HALF && p->kind != KH_P_YEAR))
        return 0;
    const kh_catalog_t *pc = kh_catalog_for(c, kh_period_end(p));
    if (!pc)
        return p->kind == KH_P_HALF;    /* no programme then: NO_PROGRAMME says so */
    return kh_catalog_report_kind(pc) == p->kind;
}

int32_t kh_period_due(const kh_catalog_t *c, const kh_period_t *p)
{
    if (!c || !p || (p->kind != KH_P_HALF && p->kind != KH_P_YEAR))
        return 0;
    const kh_catalog_t *pc = kh_catalog_for(c, kh_period_end(p));
    if (pc)
        c = pc;             /* the calendar of the programme in force then */
    if (kh_catalog_report_kind(c) != p->kind)
        return 0;
    return p->year * 10000 + (p->kind == KH_P_HALF && p->half == 1 ? c->s1_due : c->s2_due);
}

int kh_catalog_period_closing(const kh_catalog_t *c, const kh_period_t *half,
                              kh_period_t *out)
{
    if (!half || half->kind != KH_P_HALF || !out)
        return 0;
    *out = *half;
    const kh_catalog_t *pc = c ? kh_catalog_for(c, kh_period_end(half)) : NULL;
    if (kh_catalog_report_kind(pc ? pc : c) != KH_P_YEAR)
        return 1;
    if (half->half != 2)
        return 0;                   /* the year's one report is made at its end */
    out->kind = KH_P_YEAR;
    out->half = 0;
    return 1;
}

int kh_catalog_check_period(const kh_catalog_t *c, const char *period, kh_period_t *out,
                            char *vi, size_t vcap, char *en, size_t ecap)
{
    kh_period_t p;
    int parsed = period && kh_period_parse(period, &p) == 0 &&
                 (p.kind == KH_P_HALF || p.kind == KH_P_YEAR);
    if (parsed && kh_catalog_is_report_period(c, &p)) {
        if (out)
            *out = p;
        return 0;
    }
    char sp[64];
    safe_text(sp, sizeof sp, period ? period : "", 32);
    const kh_catalog_t *pc = parsed ? kh_catalog_for(c, kh_period_end(&p)) : NULL;
    if (pc && kh_catalog_report_kind(pc) == KH_P_YEAR) {
        snprintf(vi, vcap, "Kỳ báo cáo \"%s\" không hợp lệ: chương trình %s báo cáo mỗi năm "
                 "một lần, kỳ báo cáo là năm, ví dụ %04d", sp, kh_catalog_programme_name(pc, 0),
                 p.year);
        snprintf(en, ecap, "Malformed period \"%s\": programme %s reports once a year; the "
                 "period is the year, e.g. %04d", sp, kh_catalog_programme_name(pc, 1), p.year);
    } else {
        snprintf(vi, vcap, "Kỳ báo cáo \"%s\" không hợp lệ: phải có dạng NămS1 hoặc NămS2, ví "
                 "dụ 2018S1 (6 tháng đầu năm) hoặc 2018S2 (cả năm)", sp);
        snprintf(en, ecap, "Malformed period \"%s\": expected a half-year such as 2018S1 "
                 "(January-June) or 2018S2 (July-December)", sp);
    }
    return -1;
}

size_t kh_catalog_report_periods(const kh_catalog_t *c, const kh_period_t *p,
                                 char (*out)[8], size_t cap)
{
    if (!p)
        return 0;
    size_t n = 0;
    int first_half = p->kind == KH_P_HALF ? p->half : 1;
    int last_half = p->kind == KH_P_HALF ? p->half : 2;
    int y_to = p->kind == KH_P_PROGRAMME ? p->year_to : p->year;
    for (int y = p->year; y <= y_to; y++)
        for (int h = (y == p->year ? first_half : 1); h <= (y == y_to ? last_half : 2); h++) {
            kh_period_t q = { KH_P_HALF, y, h, y }, r;
            if (!kh_catalog_period_closing(c, &q, &r) ||
                (p->kind == KH_P_HALF && r.kind == KH_P_YEAR))
                continue;           /* a year's report is not within a half-year */
            if (out && n < cap)
                kh_period_format(&r, out[n], 8);
            n++;
        }
    return n;
}

size_t kh_period_halves(const kh_period_t *p, char (*out)[8], size_t cap)
{
    return kh_catalog_report_periods(NULL, p, out, cap);   /* no programme: half-years */
}

/* ==== values ============================================================================ */

/*
 * Numbers as people type them in Vietnamese and English spreadsheets.
 *
 * A number is an optional '-' followed by digit groups separated by '.' or ','
 * (no leading or trailing separator, no two in a row).  How separators are read:
 *
 *  - none: a plain integer ("1234567").
 *  - both '.' and ',': the last separator is the decimal mark and must occur once;
 *    the other kind groups thousands ("1.234.567,5" or "1,234,567.5").
 *  - one kind, two or more times: thousands separators ("1.234.567", "1,234,567").
 *  - one separator, once ("12.500", "1,5"):
 *      count and money are whole numbers, so a decimal mark is impossible: it is a
 *      thousands separator when it is followed by exactly 3 digits and preceded by
 *      1-3 digits not starting with 0 ("12.500" = 12500); anything else ("1,5",
 *      "1.23", "0.500") is rejected as ambiguous;
 *      a score may have decimals: followed by 3 digits after 1-3 digits not starting
 *      with 0 ("1.500") it could be either and is rejected; otherwise it is the
 *      decimal mark ("72.5", "72,5" = 72.5).
 *  In every thousands reading, the first group has 1-3 digits and every later group
 *  exactly 3; otherwise the number is rejected.  `normalised` is set whenever
 *  thousands separators were removed, so the validator can warn.  Flags are exactly
 *  "0" or "1".  At most 15 significant digits (money in đồng fits; doubles stay exact).
 */
typedef enum {
    NUM_OK, NUM_NOT_NUMBER, NUM_AMBIGUOUS, NUM_TOO_LARGE
} numerr_t;

static numerr_t parse_grouped(const char *s, int allow_decimal, double *out, int *neg,
                              int *has_fraction, int *grouped)
{
    *neg = 0;
    *has_fraction = 0;
    *grouped = 0;
    if (*s == '-') {
        *neg = 1;
        s++;
    }
    /* Split into digit groups and separators. */
    enum { MAXG = 32 };
    const char *gs[MAXG];
    size_t gl[MAXG];
    char sep[MAXG];
    size_t ng = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return NUM_NOT_NUMBER;
    for (;;) {
        if (ng >= MAXG)
            return NUM_TOO_LARGE;
        gs[ng] = p;
        while (isdigit((unsigned char)*p))
            p++;
        gl[ng] = (size_t)(p - gs[ng]);
        if (gl[ng] == 0)
            return NUM_NOT_NUMBER;   /* separator at the end or two in a row */
        if (*p == '\0') {
            sep[ng++] = '\0';
            break;
        }
        if (*p != '.' && *p != ',')
            return NUM_NOT_NUMBER;
        sep[ng++] = *p++;
    }
    size_t nsep = ng - 1;
    size_t n_dot = 0, n_comma = 0;
    for (size_t i = 0; i < nsep; i++)
        *(sep[i] == '.' ? &n_dot : &n_comma) += 1;
    size_t int_groups = ng;        /* groups forming the integer part */
    int thousands = 0;
    if (nsep == 0) {
        /* plain integer */
    } else if (n_dot && n_comma) {
        char dec = sep[nsep - 1];
        if ((dec == '.' ? n_dot : n_comma) != 1)
            return NUM_AMBIGUOUS;
        int_groups = ng - 1;
        thousands = int_groups > 1;
        *has_fraction = 1;
    } else if (nsep >= 2) {
        thousands = 1;
    } else {
        int looks_thousands = gl[0] <= 3 && gs[0][0] != '0' && gl[1] == 3;
        if (!allow_decimal) {
            if (!looks_thousands)
                return NUM_AMBIGUOUS;
            thousands = 1;
        } else {
            if (looks_thousands)
                return NUM_AMBIGUOUS;
            int_groups = 1;
            *has_fraction = 1;
        }
    }
    if (thousands) {
        if (gl[0] > 3 || (gs[0][0] == '0' && int_groups > 1))
            return NUM_AMBIGUOUS;
        for (size_t i = 1; i < int_groups; i++)
            if (gl[i] != 3)
                return NUM_AMBIGUOUS;
        *grouped = 1;
    }
    size_t digits = 0;
    double v = 0;
    for (size_t i = 0; i < int_groups; i++)
        for (size_t k = 0; k < gl[i]; k++) {
            if (++digits > 15 && !(v == 0 && gs[i][k] == '0'))
                return NUM_TOO_LARGE;
            v = v * 10 + (gs[i][k] - '0');
        }
    if (*has_fraction) {
        const char *f = gs[ng - 1];
        double scale = 0.1;
        if (gl[ng - 1] > 15)
            return NUM_TOO_LARGE;
        for (size_t k = 0; k < gl[ng - 1]; k++, scale /= 10)
            v += (f[k] - '0') * scale;
    }
    *out = v;
    return NUM_OK;
}

static void why(char *vi, size_t vi_len, char *en, size_t en_len, const char *m_vi,
                const char *m_en)
{
    if (vi && vi_len)
        snprintf(vi, vi_len, "%s", m_vi);
    if (en && en_len)
        snprintf(en, en_len, "%s", m_en);
}

int kh_value_parse(const kh_indicator_t *ind, const char *raw, kh_value_t *out,
                   char *why_vi, size_t vi_len, char *why_en, size_t en_len)
{
    if (why_vi && vi_len)
        why_vi[0] = '\0';
    if (why_en && en_len)
        why_en[0] = '\0';
    if (!ind || !out) {
        why(why_vi, vi_len, why_en, en_len, "lỗi nội bộ", "internal error");
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->option = -1;
    char buf[128];
    size_t rl = raw ? strlen(raw) : 0;
    if (rl >= sizeof buf) {
        why(why_vi, vi_len, why_en, en_len, "giá trị quá dài", "value too long");
        return -1;
    }
    memcpy(buf, raw ? raw : "", rl + 1);
    char *s = kh_trim(buf);

    if (ind->vtype == KH_VT_OPTION) {
        if (*s == '\0') {
            out->is_empty = 1;
            return 0;
        }
        for (int i = 0; i < ind->n_options; i++)
            if (strcmp(s, ind->options[i]) == 0) {
                out->option = i;
                return 0;
            }
        char list[KH_MAX_OPTIONS * 18] = "";
        size_t used = 0;
        for (int i = 0; i < ind->n_options && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                     ind->options[i]);
        if (why_vi && vi_len)
            snprintf(why_vi, vi_len, "không có trong danh sách; phải là một trong %s hoặc để "
                     "trống", list);
        if (why_en && en_len)
            snprintf(why_en, en_len, "not in the list; must be one of %s, or empty", list);
        return -1;
    }
    if (*s == '\0') {
        why(why_vi, vi_len, why_en, en_len, "ô trống, cần nhập một số",
            "empty; a number is required");
        return -1;
    }
    if (ind->vtype == KH_VT_FLAG) {
        if (strcmp(s, "0") == 0 || strcmp(s, "1") == 0) {
            out->num = s[0] - '0';
            return 0;
        }
        why(why_vi, vi_len, why_en, en_len, "chỉ được là 0 (không) hoặc 1 (có)",
            "must be 0 (no) or 1 (yes)");
        return -1;
    }
    int is_score = ind->vtype == KH_VT_SCORE;
    double v = 0;
    int neg = 0, frac = 0, grouped = 0;
    switch (parse_grouped(s, is_score, &v, &neg, &frac, &grouped)) {
    case NUM_OK:
        break;
    case NUM_NOT_NUMBER:
        why(why_vi, vi_len, why_en, en_len, "không phải là số", "not a number");
        return -1;
    case NUM_TOO_LARGE:
        why(why_vi, vi_len, why_en, en_len, "số quá lớn", "number too large");
        return -1;
    case NUM_AMBIGUOUS:
        if (is_score)
            why(why_vi, vi_len, why_en, en_len,
                "dấu phân cách không rõ ràng: không biết là dấu thập phân hay dấu hàng nghìn "
                "(hàng nghìn phải theo nhóm 3 chữ số, ví dụ 1.234.567)",
                "ambiguous separator: cannot tell a decimal mark from a thousands separator "
                "(thousands come in groups of 3 digits, e.g. 1,234,567)");
        else
            why(why_vi, vi_len, why_en, en_len,
                "dấu phân cách không rõ ràng: số nguyên không có phần thập phân và hàng "
                "nghìn phải theo nhóm 3 chữ số (ví dụ 1.234.567)",
                "ambiguous separator: a whole number has no decimal part and thousands come "
                "in groups of 3 digits (e.g. 1,234,567)");
        return -1;
    }
    if (neg)
        v = -v;
    if (v == 0)
        v = 0;   /* "-0" */
    if (ind->vtype == KH_VT_COUNT || ind->vtype == KH_VT_MONEY) {
        if (v < 0) {
            why(why_vi, vi_len, why_en, en_len, "không được là số âm", "must not be negative");
            return -1;
        }
        if (frac && v != floor(v)) {
            if (ind->vtype == KH_VT_MONEY)
                why(why_vi, vi_len, why_en, en_len, "phải là số đồng chẵn (số nguyên)",
                    "must be a whole number of đồng");
            else
                why(why_vi, vi_len, why_en, en_len, "phải là số nguyên",
                    "must be a whole number");
            return -1;
        }
    } else if (is_score) {
        if (v < ind->score_min || v > ind->score_max) {
            char a[32], b[32];
            kh_fmt_num(ind->score_min, a, sizeof a);
            kh_fmt_num(ind->score_max, b, sizeof b);
            if (why_vi && vi_len)
                snprintf(why_vi, vi_len, "điểm phải nằm trong khoảng %s–%s", a, b);
            if (why_en && en_len)
                snprintf(why_en, en_len, "score must be between %s and %s", a, b);
            return -1;
        }
    }
    out->num = v;
    out->normalised = grouped;
    return 0;
}

/* ==== findings ========================================================================== */

static void finding_free(Kh__Finding *f)
{
    if (!f)
        return;
    char **s[] = { &f->code, &f->orgunit, &f->indicator, &f->value, &f->message_vi,
                   &f->message_en };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        if (*s[i] != protobuf_c_empty_string)
            free(*s[i]);
    free(f);
}

static Kh__Finding *finding_new(const char *code, int is_error, uint32_t line,
                                const char *orgunit, const char *indicator, const char *value,
                                const char *msg_vi, const char *msg_en)
{
    Kh__Finding *f = malloc(sizeof *f);
    if (!f)
        return NULL;
    kh__finding__init(f);
    f->is_error = is_error ? 1 : 0;
    f->line = line;
    f->code = xstrdup(code);
    f->orgunit = xstrdup(orgunit);
    f->indicator = xstrdup(indicator);
    f->value = xstrdup(value);
    f->message_vi = xstrdup(msg_vi);
    f->message_en = xstrdup(msg_en);
    if (!f->code || !f->orgunit || !f->indicator || !f->value || !f->message_vi ||
        !f->message_en) {
        char **s[] = { &f->code, &f->orgunit, &f->indicator, &f->value, &f->message_vi,
                       &f->message_en };
        for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
            if (*s[i] == protobuf_c_empty_string)
                *s[i] = NULL;
        finding_free(f);
        return NULL;
    }
    return f;
}

int kh_findings_add(kh_findings_t *f, const char *code, int is_error, uint32_t line,
                    const char *orgunit, const char *indicator, const char *value,
                    const char *msg_vi, const char *msg_en)
{
    if (!f)
        return -1;
    if (f->n >= KH_MAX_FINDINGS) {
        /* Full: the last entry is the overflow notice; keep it an error if any dropped
         * finding was one, so that the verdict does not change. */
        Kh__Finding *last = f->items[f->n - 1];
        if (is_error && !last->is_error) {
            last->is_error = 1;
            f->n_errors++;
        }
        return -1;
    }
    if (kh_grow(&f->items, f->n, &f->cap, sizeof *f->items, 16, KH_MAX_FINDINGS) < 0)
        return -1;
    Kh__Finding *item;
    int rc = 0;
    if (f->n == KH_MAX_FINDINGS - 1) {
        char vi[160], en[160];
        snprintf(vi, sizeof vi, "Quá nhiều vấn đề: chỉ liệt kê %d vấn đề đầu tiên",
                 KH_MAX_FINDINGS - 1);
        snprintf(en, sizeof en, "Too many problems: only the first %d are listed",
                 KH_MAX_FINDINGS - 1);
        item = finding_new("TOO_MANY_FINDINGS", is_error, 0, "", "", "", vi, en);
        rc = -1;
    } else {
        item = finding_new(code, is_error, line, orgunit, indicator, value, msg_vi, msg_en);
    }
    if (!item)
        return -1;
    f->items[f->n++] = item;
    if (item->is_error)
        f->n_errors++;
    return rc;
}

void kh_findings_clear(kh_findings_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        finding_free(f->items[i]);
    free(f->items);
    f->items = NULL;
    f->n = f->cap = 0;
    f->n_errors = 0;
}

/* ==== validation ======================================================================== */

typedef struct {
    int32_t vidx;     /* value index + 1; 0 = no value */
    int8_t ok;        /* parsed */
    kh_value_t v;
} cell_t;

typedef struct {
    const kh_catalog_t *c;
    const Kh__Report *r;
    kh_findings_t *out;
    size_t errors;            /* every error found, also those past the findings cap */
    int full;                 /* findings list full: stop formatting messages */
    kh_period_t period;
    int have_period;
    int32_t end;              /* last day of the period */
    const kh_unit_t *reporter;  /* the reporting unit in force at the period end */
    const kh_unit_t **units;  /* the reporter, then every unit below it (subtree order) */
    size_t n_units;
    int32_t *row_of_unit;     /* catalogue unit row → grid row (index into units) */
    cell_t *grid;             /* n_units × n_inds */
    int8_t *row_seen;         /* the row had at least one value line */
    int previous_only;        /* kh_validate_previous: only the previous-period rules speak */
    int8_t *needed;           /* previous_only: the indicators those rules read (else NULL) */
    int quiet;                /* the values are being read, not judged: emit nothing */
    htab_t once;              /* "kind\x1fcode" keys reported once */
    char **once_keys;
    size_t n_once, cap_once;
} vctx_t;

static void emit(vctx_t *V, const char *code, int is_error, uint32_t line, const char *org,
                 const char *ind, const char *value, const char *vi, const char *en)
{
    if (V->quiet && strcmp(code, "INTERNAL") != 0)     /* a failure is never quiet */
        return;
    if (is_error)
        V->errors++;
    if (V->full) {
        kh_findings_add(V->out, code, is_error, line, org, ind, value, vi, en);
        return;
    }
    /* Everything that reaches a Finding is valid UTF-8 of bounded size: raw strings
     * come from the district, and a message cut by snprintf may end mid-character. */
    char sv[KH_RAW_SHOW * 2], so[KH_CODE_MAX * 2], si[KH_CODE_MAX * 2];
    char mvi[KH_MSG_MAX], men[KH_MSG_MAX];
    safe_text(sv, sizeof sv, value, KH_RAW_SHOW);
    safe_text(so, sizeof so, org, KH_CODE_MAX);
    safe_text(si, sizeof si, ind, KH_CODE_MAX);
    safe_text(mvi, sizeof mvi, vi, sizeof mvi);
    safe_text(men, sizeof men, en, sizeof men);
    if (kh_findings_add(V->out, code, is_error, line, so, si, sv, mvi, men) < 0 &&
        V->out->n >= KH_MAX_FINDINGS)
        V->full = 1;
}

/* 1 the first time (kind, key) is seen in this report, else 0. */
static int first_time(vctx_t *V, const char *kind, const char *key)
{
    char buf[KH_CODE_MAX * 4];
    snprintf(buf, sizeof buf, "%s\x1f%.*s", kind, KH_CODE_MAX * 3, key ? key : "");
    if (!V->once.slots || V->n_once >= V->cap_once)
        return 1;
    if (htab_get(&V->once, buf) >= 0)
        return 0;
    char *k = strdup(buf);
    if (!k)
        return 1;
    V->once_keys[V->n_once++] = k;
    htab_put(&V->once, k, 1);
    return 1;
}

/* "Phường 1 (28771)" for a unit; the quoted code alone when unknown. */
static void unit_label(const kh_unit_t *u, const char *code, char *out, size_t cap)
{
    char sc[KH_CODE_MAX * 2];
    safe_text(sc, sizeof sc, code, KH_CODE_MAX);
    if (u)
        snprintf(out, cap, "%s (%s)", u->name, u->code);
    else
        snprintf(out, cap, "\"%s\"", sc);
}

void kh_catalog_level_word(const kh_catalog_t *c, int level, int32_t date, int en, char *out,
                       size_t cap)
{
    const char *name = kh_catalog_level_name(c, level, date, en);
    if (!name) {
        snprintf(out, cap, en ? "level %d" : "cấp %d", level);
        return;
    }
    if (en) {
        snprintf(out, cap, "%s", name);
        return;
    }
    size_t len = cap - 1;
    uint8_t *low = u8_tolower((const uint8_t *)name, strlen(name), NULL, NULL,
                              (uint8_t *)out, &len);
    if (!low) {
        snprintf(out, cap, "%s", name);
        return;
    }
    if (low != (uint8_t *)out) {      /* did not fit: libunistring allocated */
        snprintf(out, cap, "%s", name);
        free(low);
        return;
    }
    out[len] = '\0';
}

/* When `code` was reorganised (reorg.csv) on or before `date`: writes into vi/en what
 * became of it and what to do ("… đã nhập vào Xã Y (29734) từ 01/07/2025: hãy báo cáo
 * theo mã 29734"), and returns 1; 0 when the file says nothing of it. */
static int reorg_message(const kh_catalog_t *c, const char *code, int32_t date, char *vi,
                         size_t vcap, char *en, size_t ecap)
{
    const kh_reorg_t *rows[16];
    size_t n = kh_catalog_reorg_of(c, code, date, rows, 16);
    if (n == 0)
        return 0;
    if (n > 16)
        n = 16;
    char dv[16], de[16], lvi[1024] = "", len_[1024] = "";
    kh_date_vi(rows[0]->date, dv, sizeof dv);
    kh_date_iso(rows[0]->date, de, sizeof de);
    size_t uv = 0, ue = 0;
    for (size_t i = 0; i < n && uv < sizeof lvi && ue < sizeof len_; i++) {
        const kh_unit_t *nu = kh_catalog_unit_on(c, rows[i]->new_code, rows[i]->date);
        const char *name = nu ? nu->name : rows[i]->new_code;
        uv += (size_t)snprintf(lvi + uv, sizeof lvi - uv, "%s%s (%s)",
                               i == 0 ? "" : i + 1 == n ? " và " : ", ", name,
                               rows[i]->new_code);
        ue += (size_t)snprintf(len_ + ue, sizeof len_ - ue, "%s%s (%s)",
                               i == 0 ? "" : i + 1 == n ? " and " : ", ", name,
                               rows[i]->new_code);
    }
    if (n == 1) {
        snprintf(vi, vcap, "%s (%s) đã nhập vào %s từ %s: hãy báo cáo theo mã %s",
                 rows[0]->old_name, code, lvi, dv, rows[0]->new_code);
        snprintf(en, ecap, "%s (%s) became part of %s on %s: report under code %s",
                 rows[0]->old_name, code, len_, de, rows[0]->new_code);
    } else {
        snprintf(vi, vcap, "%s (%s) đã được chia cho %s từ %s: hãy báo cáo số liệu của mỗi "
                 "đơn vị mới theo mã của đơn vị đó", rows[0]->old_name, code, lvi, dv);
        snprintf(en, ecap, "%s (%s) was divided among %s on %s: report each new unit's "
                 "figures under its own code", rows[0]->old_name, code, len_, de);
    }
    return 1;
}

/* Successor in force on `date` of a unit merged away, following chains of merges. */
static const kh_unit_t *successor(const kh_catalog_t *c, const kh_unit_t *u, int32_t date)
{
    for (int hop = 0; hop < 8 && u && u->merged_into[0]; hop++) {
        const kh_unit_t *n = kh_catalog_unit_on(c, u->merged_into, date);
        if (n)
            return n;
        u = kh_catalog_unit_any(c, u->merged_into);
    }
    return NULL;
}

int kh_catalog_explain_gone(const kh_catalog_t *c, const char *code, int32_t date, char *vi,
                            size_t vcap, char *en, size_t ecap)
{
    if (!c || !code || kh_catalog_unit_on(c, code, date))
        return 0;
    if (reorg_message(c, code, date, vi, vcap, en, ecap))
        return 1;
    const kh_unit_t *any = kh_catalog_unit_any(c, code);
    const kh_unit_t *succ = any && any->valid_to && any->valid_to < date
                                ? successor(c, any, date) : NULL;
    if (!succ)
        return 0;
    char dv[16], de[16];
    kh_date_vi(kh_date_add(any->valid_to, 1), dv, sizeof dv);
    kh_date_iso(kh_date_add(any->valid_to, 1), de, sizeof de);
    snprintf(vi, vcap, "%s (%s) đã sáp nhập vào %s (%s) từ %s: hãy báo cáo theo mã %s", any->name,
             code, succ->name, succ->code, dv, succ->code);
    snprintf(en, ecap, "%s (%s) was merged into %s (%s) on %s: report under code %s", any->name,
             code, succ->name, succ->code, de, succ->code);
    return 1;
}

/* Resolves a value's orgunit to a grid row; reports (once per code) why it cannot. */
static int32_t resolve_row(vctx_t *V, const Kh__Value *val)
{
    const kh_catalog_t *c = V->c;
    const char *org = val->orgunit ? val->orgunit : "";
    int32_t r = unit_row_on(c, org, V->end);
    if (r >= 0 && V->reporter) {
        int32_t row = V->row_of_unit[r];
        if (row >= 0)
            return row;
    }
    if (!first_time(V, "unit", org))
        return -1;
    char vi[KH_MSG_MAX], en[KH_MSG_MAX], lab[256], dv[16], de[16];
    const kh_unit_t *u = r >= 0 ? &c->units[r] : NULL;
    if (u) {
        if (!V->reporter)
            return -1;   /* UNKNOWN_DISTRICT already said what is wrong */
        /* In force, but neither the reporting unit nor a unit below it — or below it, but
         * the reporting unit reports its own work only (scope self). */
        const kh_unit_t *p = kh_catalog_parent_on(c, u, V->end);
        unit_label(u, org, lab, sizeof lab);
        int below = 0;
        for (const kh_unit_t *a = p; a && !below; a = kh_catalog_parent_on(c, a, V->end))
            below = a == V->reporter || !strcmp(a->code, V->reporter->code);
        if (below) {
            /* who reports for u: u itself or its nearest ancestor reporting for its subtree */
            const kh_unit_t *w = u;
            while (w && !(kh_catalog_reports(c, w->code, V->end) == 1 &&
                          kh_catalog_reports_self(c, w->code, V->end) != 1))
                w = kh_catalog_parent_on(c, w, V->end);
            snprintf(vi, sizeof vi, "%s chỉ báo cáo công việc của chính mình (reporters.csv, "
                     "scope self); số liệu của %s do %s báo cáo: hãy xoá các dòng này",
                     V->reporter->name, lab, w ? w->name : "đơn vị khác");
            snprintf(en, sizeof en, "%s reports its own work only (reporters.csv, scope self); "
                     "%s's figures are reported by %s: delete these rows", V->reporter->name,
                     lab, w ? w->name : "another unit");
        } else if (p) {
            snprintf(vi, sizeof vi, "%s thuộc %s, không thuộc %s: hãy xoá các dòng này, đơn vị "
                     "đó do nơi khác báo cáo", lab, p->name, V->reporter->name);
            snprintf(en, sizeof en, "%s belongs to %s, not to %s: delete these rows, another "
                     "unit reports for it", lab, p->name, V->reporter->name);
        } else {
            snprintf(vi, sizeof vi, "%s không phải là đơn vị trực thuộc %s: hãy xoá các dòng "
                     "này", lab, V->reporter->name);
            snprintf(en, sizeof en, "%s is not a unit under %s: delete these rows", lab,
                     V->reporter->name);
        }
        emit(V, "OTHER_DISTRICT", 1, val->line, org, val->indicator, "", vi, en);
        return -1;
    }
    if (reorg_message(c, org, V->end, vi, sizeof vi, en, sizeof en)) {
        emit(V, "MERGED_UNIT", 1, val->line, org, val->indicator, "", vi, en);
        return -1;
    }
    const kh_unit_t *any = kh_catalog_unit_any(c, org);
    unit_label(any, org, lab, sizeof lab);
    if (!any) {
        snprintf(vi, sizeof vi, "Mã đơn vị %s không có trong danh mục đơn vị hành chính", lab);
        snprintf(en, sizeof en, "Unit code %s is not in the list of administrative units", lab);
        emit(V, "UNKNOWN_UNIT", 1, val->line, org, val->indicator, "", vi, en);
        return -1;
    }
    /* Find the row that ended last before the period end, if any. */
    const kh_unit_t *ended = NULL;
    for (int32_t k = htab_get(&c->unit_ix, org); k >= 0; k = c->unit_next[k]) {
        const kh_unit_t *x = &c->units[k];
        if (x->valid_to && x->valid_to < V->end && (!ended || x->valid_to > ended->valid_to))
            ended = x;
    }
    if (!ended) {
        kh_date_vi(any->valid_from, dv, sizeof dv);
        kh_date_iso(any->valid_from, de, sizeof de);
        snprintf(vi, sizeof vi, "%s chỉ tồn tại từ ngày %s, sau kỳ báo cáo", lab, dv);
        snprintf(en, sizeof en, "%s exists only from %s, after the period", lab, de);
        emit(V, "UNKNOWN_UNIT", 1, val->line, org, val->indicator, "", vi, en);
        return -1;
    }
    int32_t gone = kh_date_add(ended->valid_to, 1);
    kh_date_vi(gone, dv, sizeof dv);
    kh_date_iso(gone, de, sizeof de);
    const kh_unit_t *succ = successor(c, ended, V->end);
    if (succ) {
        snprintf(vi, sizeof vi, "%s đã sáp nhập vào %s (%s) từ %s", ended->name, succ->name,
                 succ->code, dv);
        snprintf(en, sizeof en, "%s was merged into %s (%s) on %s", ended->name, succ->name,
                 succ->code, de);
        emit(V, "MERGED_UNIT", 1, val->line, org, val->indicator, "", vi, en);
    } else {
        snprintf(vi, sizeof vi, "%s không còn tồn tại từ ngày %s", lab, dv);
        snprintf(en, sizeof en, "%s ceased to exist on %s", lab, de);
        emit(V, "UNKNOWN_UNIT", 1, val->line, org, val->indicator, "", vi, en);
    }
    return -1;
}

static const kh_unit_t *row_unit(const vctx_t *V, int32_t row)
{
    return V->units[row];
}

/* Whether an indicator (or rule) is asked in half-year `half`; a yearly report (half 0)
 * asks every one. */
static int in_half(const kh_indicator_t *d, int half)
{
    return half == 0 || (half == 1 ? d->in_s1 : d->in_s2);
}

static void check_value(vctx_t *V, size_t i)
{
    const kh_catalog_t *c = V->c;
    const Kh__Value *val = V->r->values[i];
    if (!val)
        return;
    const char *org = val->orgunit ? val->orgunit : "";
    const char *code = val->indicator ? val->indicator : "";
    const char *raw = val->raw ? val->raw : "";
    char vi[KH_MSG_MAX], en[KH_MSG_MAX], sc[KH_CODE_MAX * 2], lab[256];

    int32_t row = -1;
    if (V->have_period) {
        row = resolve_row(V, val);
        if (row >= 0)
            V->row_seen[row] = 1;
    }
    int32_t ii = ind_index(c, code);
    if (V->needed && (ii < 0 || !V->needed[ii]))
        return;             /* no previous-period rule reads it: not read at all */
    if (ii < 0) {
        if (first_time(V, "ind", code)) {
            safe_text(sc, sizeof sc, code, KH_CODE_MAX);
            snprintf(vi, sizeof vi, "Mã chỉ tiêu \"%s\" không có trong danh mục chỉ tiêu", sc);
            snprintf(en, sizeof en, "Indicator code \"%s\" is not in the indicator catalogue",
                     sc);
            emit(V, "UNKNOWN_INDICATOR", 1, val->line, org, code, "", vi, en);
        }
        return;
    }
    const kh_indicator_t *d = &c->inds[ii];
    const kh_unit_t *u = row >= 0 ? row_unit(V, row) : NULL;
    unit_label(u, org, lab, sizeof lab);
    int usable = row >= 0;
    if (V->have_period && !in_half(d, V->period.half)) {
        usable = 0;
        if (first_time(V, "half", d->code)) {
            int only = d->in_s1 ? 1 : 2;
            snprintf(vi, sizeof vi, "Chỉ tiêu %s (%s) chỉ báo cáo trong kỳ %s, không báo cáo "
                     "trong kỳ %s", d->code, d->name_vi,
                     only == 2 ? "cuối năm (S2)" : "6 tháng đầu năm (S1)", V->r->period);
            snprintf(en, sizeof en, "%s (%s) is reported only in the %s, not in %s", d->code,
                     d->name_en, only == 2 ? "year-end report (S2)" : "mid-year report (S1)",
                     V->r->period);
            emit(V, "WRONG_HALF", 1, val->line, org, d->code, "", vi, en);
        }
    }
    if (row >= 0 && d->level != u->level) {
        usable = 0;
        char key[KH_CODE_MAX * 2 + 8];
        snprintf(key, sizeof key, "%s\x1f%d", d->code, u->level);
        if (first_time(V, "level", key)) {
            char wi[128], we[128], ui[128], ue[128];
            kh_catalog_level_word(c, d->level, V->end, 0, wi, sizeof wi);
            kh_catalog_level_word(c, d->level, V->end, 1, we, sizeof we);
            kh_catalog_level_word(c, u->level, V->end, 0, ui, sizeof ui);
            kh_catalog_level_word(c, u->level, V->end, 1, ue, sizeof ue);
            snprintf(vi, sizeof vi, "Chỉ tiêu %s (%s) là chỉ tiêu cấp %s: hãy báo cáo theo mã "
                     "của từng đơn vị cấp %s, không theo %s (cấp %s)", d->code, d->name_vi, wi,
                     wi, lab, ui);
            snprintf(en, sizeof en, "%s (%s) is reported per %s (level %d): report it under "
                     "each such unit's code, not under %s (%s)", d->code, d->name_en, we,
                     d->level, lab, ue);
            emit(V, "WRONG_LEVEL", 1, val->line, org, d->code, "", vi, en);
        }
    }
    /* The value itself. */
    kh_value_t pv;
    char wv[256], we[256], sr[KH_RAW_SHOW * 2];
    int ok = kh_value_parse(d, raw, &pv, wv, sizeof wv, we, sizeof we) == 0;
    safe_text(sr, sizeof sr, raw, KH_RAW_SHOW);
    if (!ok) {
        snprintf(vi, sizeof vi, "Giá trị \"%s\" của %s tại %s không hợp lệ: %s", sr, d->code,
                 lab, wv);
        snprintf(en, sizeof en, "Invalid value \"%s\" for %s at %s: %s", sr, d->code, lab, we);
        emit(V, "BAD_VALUE", 1, val->line, org, d->code, raw, vi, en);
    } else if (pv.normalised) {
        char num[64];
        kh_fmt_num(pv.num, num, sizeof num);
        snprintf(vi, sizeof vi, "Giá trị \"%s\" của %s tại %s được hiểu là %s (đã bỏ dấu phân "
                 "cách hàng nghìn)", sr, d->code, lab, num);
        snprintf(en, sizeof en, "Value \"%s\" for %s at %s was read as %s (thousands "
                 "separators removed)", sr, d->code, lab, num);
        emit(V, "NORMALISED", 0, val->line, org, d->code, raw, vi, en);
    }
    if (!usable)
        return;
    cell_t *cell = &V->grid[(size_t)row * V->c->n_inds + (size_t)ii];
    if (cell->vidx) {
        uint32_t first = V->r->values[cell->vidx - 1]->line;
        snprintf(vi, sizeof vi, "%s của %s được báo cáo hai lần (dòng %u và dòng %u); chỉ dùng "
                 "giá trị ở dòng %u", d->code, lab, first, val->line, first);
        snprintf(en, sizeof en, "%s for %s is reported twice (lines %u and %u); only the value "
                 "on line %u is used", d->code, lab, first, val->line, first);
        emit(V, "DUPLICATE_ROW", 1, val->line, org, d->code, raw, vi, en);
        return;
    }
    cell->vidx = (int32_t)i + 1;
    cell->ok = (int8_t)ok;
    if (ok)
        cell->v = pv;
}

static void check_missing(vctx_t *V)
{
    const kh_catalog_t *c = V->c;
    char vi[KH_MSG_MAX], en[KH_MSG_MAX], lab[256];
    /* Units below the reporter in subtree order, then the reporter's own row; a unit
     * whose level has no indicator in this half-year needs no row. */
    int level_used[KH_MAX_LEVELS + 1] = {0};
    for (size_t j = 0; j < c->n_inds; j++)
        if (in_half(&c->inds[j], V->period.half))
            level_used[c->inds[j].level] = 1;
    for (size_t k = 1; k <= V->n_units; k++) {
        size_t row = k % V->n_units;
        const kh_unit_t *u = row_unit(V, (int32_t)row);
        if (!level_used[u->level])
            continue;
        unit_label(u, u->code, lab, sizeof lab);
        if (row > 0 && !V->row_seen[row]) {
            snprintf(vi, sizeof vi, "Thiếu số liệu của %s", lab);
            snprintf(en, sizeof en, "No values reported for %s", lab);
            emit(V, "MISSING_UNIT", 1, 0, u->code, "", "", vi, en);
            continue;
        }
        for (size_t j = 0; j < c->n_inds; j++) {
            const kh_indicator_t *d = &c->inds[j];
            if (d->level != u->level || !in_half(d, V->period.half))
                continue;
            if (V->grid[row * c->n_inds + j].vidx)
                continue;
            snprintf(vi, sizeof vi, "Thiếu chỉ tiêu %s (%s) của %s", d->code, d->name_vi, lab);
            snprintf(en, sizeof en, "Missing %s (%s) for %s", d->code, d->name_en, lab);
            emit(V, "MISSING_VALUE", 1, 0, u->code, d->code, "", vi, en);
        }
    }
}

typedef struct {
    vctx_t *V;
    const cell_t *cells;      /* the unit's row of the grid */
    const char *orgunit;
    kh_prev_fn prev;
    void *prev_arg;
    const char *prev_period;
} rulectx_t;

static int rule_get(void *arg, int ind, kh_value_t *out)
{
    rulectx_t *x = arg;
    const cell_t *cell = &x->cells[ind];
    if (!cell->vidx || !cell->ok)
        return -1;
    *out = cell->v;
    return 0;
}

static int rule_prev(void *arg, int ind, double *out)
{
    rulectx_t *x = arg;
    if (!x->prev)
        return -1;
    return x->prev(x->prev_arg, x->prev_period, x->orgunit, x->V->c->inds[ind].code, out) == 0
               ? 0 : -1;
}

static void check_rules(vctx_t *V, kh_prev_fn prev, void *prev_arg)
{
    const kh_catalog_t *c = V->c;
    char prev_period[16];
    if (V->period.kind == KH_P_YEAR)
        snprintf(prev_period, sizeof prev_period, "%04d", V->period.year - 1);
    else if (V->period.half == 1)
        snprintf(prev_period, sizeof prev_period, "%04dS2", V->period.year - 1);
    else
        snprintf(prev_period, sizeof prev_period, "%04dS1", V->period.year);
    char dvi[512], den[512], vi[KH_MSG_MAX], en[KH_MSG_MAX];
    for (size_t k = 0; k < c->n_rules; k++) {
        const rule_t *rule = &c->rules[k];
        /* a previous-period rule needs the counted values of the period before; without
         * them (the node, the validator) it cannot fail, and only it can with them */
        if (kh_expr_uses_previous(rule->expr) != (prev != NULL))
            continue;
        if (!in_half(&(kh_indicator_t){ .in_s1 = rule->in_s1, .in_s2 = rule->in_s2 },
                     V->period.half))
            continue;
        for (size_t row = 0; row < V->n_units; row++) {
            const kh_unit_t *u = row_unit(V, (int32_t)row);
            if (!V->row_seen[row] || u->level != rule->level)
                continue;
            rulectx_t x = { V, &V->grid[row * c->n_inds], u->code, prev, prev_arg,
                            prev_period };
            if (kh_expr_eval(rule->expr, rule_get, rule_prev, &x, prev_period, dvi,
                             sizeof dvi, den, sizeof den) != KH_RULE_FAIL)
                continue;
            snprintf(vi, sizeof vi, "%s (%s)", rule->msg_vi, dvi);
            snprintf(en, sizeof en, "%s (%s)", rule->msg_en, den);
            const cell_t *fc = rule->first_ind >= 0 ? &x.cells[rule->first_ind] : NULL;
            const Kh__Value *fv = fc && fc->vidx ? V->r->values[fc->vidx - 1] : NULL;
            emit(V, rule->id, rule->is_error, fv ? fv->line : 0, u->code,
                 rule->first_ind >= 0 ? c->inds[rule->first_ind].code : "",
                 fv && fv->raw ? fv->raw : "", vi, en);
        }
    }
}

/* previous_only: marks the indicators the previous-period rules of this half-year read,
 * the only values then worth reading.  Returns 0, or -1 when memory is short. */
static int mark_needed(vctx_t *V)
{
    const kh_catalog_t *c = V->c;
    V->needed = calloc(c->n_inds ? c->n_inds : 1, 1);
    if (!V->needed)
        return -1;
    int idx[64];
    for (size_t k = 0; k < c->n_rules; k++) {
        const rule_t *rule = &c->rules[k];
        if (!kh_expr_uses_previous(rule->expr) ||
            !in_half(&(kh_indicator_t){ .in_s1 = rule->in_s1, .in_s2 = rule->in_s2 },
                     V->period.half))
            continue;
        size_t n = kh_expr_indicators(rule->expr, idx, sizeof idx / sizeof *idx);
        if (n > sizeof idx / sizeof *idx) {     /* a rule this wide: read every value */
            free(V->needed);
            V->needed = NULL;
            return 0;
        }
        for (size_t i = 0; i < n; i++)
            if (idx[i] >= 0 && (size_t)idx[i] < c->n_inds)
                V->needed[idx[i]] = 1;
    }
    return 0;
}

static void vctx_free(vctx_t *V)
{
    free(V->needed);
    free(V->units);
    free(V->row_of_unit);
    free(V->grid);
    free(V->row_seen);
    for (size_t i = 0; i < V->n_once; i++)
        free(V->once_keys[i]);
    free(V->once_keys);
    htab_free(&V->once);
}

static size_t validate(const kh_catalog_t *c, const Kh__Report *r, int32_t today_yyyymmdd,
                       kh_prev_fn prev, void *prev_arg, kh_findings_t *out)
{
    if (!out)
        return 1;
    vctx_t V;
    memset(&V, 0, sizeof V);
    V.c = c;
    V.r = r;
    V.out = out;
    /* with the previous period's values at hand the report has been judged already:
     * its values are only read, and only the rules comparing them with the period
     * before speak */
    V.previous_only = prev != NULL;
    V.quiet = V.previous_only;
    if (!c || !r) {
        emit(&V, "INTERNAL", 1, 0, "", "", "", "Lỗi nội bộ: thiếu danh mục hoặc báo cáo",
             "Internal error: no catalogue or no report");
        return V.errors;
    }
    char vi[KH_MSG_MAX], en[KH_MSG_MAX], sp[64], d1[16], d2[16];
    const char *period = r->period ? r->period : "";
    const char *district = r->district ? r->district : "";
    /* Keys for once-only findings: at most three per value. */
    size_t n_vals = r->n_values;
    V.cap_once = 3 * n_vals + 1;
    V.once_keys = malloc(V.cap_once * sizeof *V.once_keys);
    if (!V.once_keys || htab_init(&V.once, 3 * n_vals + 1) < 0) {
        emit(&V, "INTERNAL", 1, 0, "", "", "", "Lỗi nội bộ: hết bộ nhớ",
             "Internal error: out of memory");
        vctx_free(&V);
        return V.errors;
    }

    /* The period. */
    safe_text(sp, sizeof sp, period, 32);
    kh_period_t p;
    if (kh_catalog_check_period(c, period, &p, vi, sizeof vi, en, sizeof en) < 0) {
        emit(&V, "PERIOD_MALFORMED", 1, 0, "", "", period, vi, en);
    } else {
        V.period = p;
        V.have_period = 1;
        V.end = kh_period_end(&p);
        /* Reports are due before the half-year ends (20 June, 5 December), so a report
         * is premature only when its half-year has not begun. */
        int32_t start = period_start(&p);
        if (today_yyyymmdd > 0 && today_yyyymmdd < start) {
            kh_date_vi(start, d1, sizeof d1);
            kh_date_vi(today_yyyymmdd, d2, sizeof d2);
            snprintf(vi, sizeof vi, "Kỳ báo cáo %s chưa bắt đầu (bắt đầu từ %s, hôm nay là %s)",
                     sp, d1, d2);
            kh_date_iso(start, d1, sizeof d1);
            kh_date_iso(today_yyyymmdd, d2, sizeof d2);
            snprintf(en, sizeof en, "Period %s has not started yet (it starts on %s; today is "
                     "%s)", sp, d1, d2);
            emit(&V, "PERIOD_FUTURE", 1, 0, "", "", period, vi, en);
        }
    }

    /* The programme in force at the period end decides the indicators and rules. */
    if (V.have_period) {
        const kh_catalog_t *pc = kh_catalog_for(c, V.end);
        if (!pc) {
            kh_date_vi(V.end, d1, sizeof d1);
            kh_date_iso(V.end, d2, sizeof d2);
            snprintf(vi, sizeof vi, "Không có chương trình nào có hiệu lực vào ngày %s (cuối kỳ "
                     "%s): kỳ này không có báo cáo; hãy kiểm tra kỳ báo cáo", d1, sp);
            snprintf(en, sizeof en, "No programme is in force on %s (the end of period %s): "
                     "nothing is reported for it; check the period", d2, sp);
            emit(&V, "NO_PROGRAMME", 1, 0, "", "", period, vi, en);
            V.have_period = 0;
        } else {
            V.c = c = pc;
        }
    }
    if (!V.have_period && (c->n_progs || c->root)) {
        /* without a programme there is no catalogue to check the values against: the
         * period's finding says what to fix */
        size_t errors = V.errors;
        vctx_free(&V);
        return errors;
    }

    /* The reporting unit, the units below it in force at the period end, the grid. */
    if (V.have_period) {
        const kh_unit_t *d = kh_catalog_unit_on(c, district, V.end);
        if (!d || kh_catalog_reports(c, district, V.end) != 1) {
            char sd[KH_CODE_MAX * 2];
            safe_text(sd, sizeof sd, district, KH_CODE_MAX);
            kh_date_vi(V.end, d1, sizeof d1);
            kh_date_iso(V.end, d2, sizeof d2);
            const kh_unit_t *any = d ? d : kh_catalog_unit_any(c, district);
            const kh_unit_t *succ = !d && any ? successor(c, any, V.end) : NULL;
            if (!d && reorg_message(c, district, V.end, vi, sizeof vi, en, sizeof en)) {
                /* vi, en: what became of it, and the code to report under */
            } else if (succ) {
                snprintf(vi, sizeof vi, "\"%s\" (%s) không còn tồn tại vào ngày %s: %s (%s) đã "
                         "tiếp nhận đơn vị này; hãy báo cáo kỳ %s theo mã %s", sd, any->name, d1,
                         succ->name, succ->code, sp, succ->code);
                snprintf(en, sizeof en, "\"%s\" (%s) no longer exists on %s: %s (%s) took it "
                         "over; report period %s under code %s", sd, any->name, d2, succ->name,
                         succ->code, sp, succ->code);
            } else {
                snprintf(vi, sizeof vi, "Mã \"%s\" không phải là đơn vị báo cáo vào ngày %s "
                         "(cuối kỳ %s): hãy kiểm tra mã đơn vị trong tệp báo cáo", sd, d1, sp);
                snprintf(en, sizeof en, "\"%s\" is not a reporting unit on %s (the end of "
                         "period %s): check the unit code of the report", sd, d2, sp);
            }
            emit(&V, "UNKNOWN_DISTRICT", 1, 0, district, "", "", vi, en);
        } else {
            V.reporter = d;
            V.n_units = kh_catalog_report_units(c, d->code, V.end, NULL, 0);
            V.units = calloc(V.n_units, sizeof *V.units);
            V.row_of_unit = malloc(c->n_units * sizeof *V.row_of_unit);
            V.grid = calloc(V.n_units * c->n_inds, sizeof *V.grid);
            V.row_seen = calloc(V.n_units, 1);
            if (!V.units || !V.row_of_unit || !V.grid || !V.row_seen) {
                emit(&V, "INTERNAL", 1, 0, "", "", "", "Lỗi nội bộ: hết bộ nhớ",
                     "Internal error: out of memory");
                vctx_free(&V);
                return V.errors;
            }
            kh_catalog_report_units(c, d->code, V.end, V.units, V.n_units);
            for (size_t i = 0; i < c->n_units; i++)
                V.row_of_unit[i] = -1;
            for (size_t k = 0; k < V.n_units; k++)
                V.row_of_unit[V.units[k] - c->units] = (int32_t)k;
        }
    }

    if (V.previous_only && V.reporter && mark_needed(&V) < 0) {
        emit(&V, "INTERNAL", 1, 0, "", "", "", "Lỗi nội bộ: hết bộ nhớ",
             "Internal error: out of memory");
        vctx_free(&V);
        return V.errors;
    }
    for (size_t i = 0; i < n_vals; i++)
        check_value(&V, i);

    if (V.reporter) {
        if (!V.previous_only)
            check_missing(&V);
        V.quiet = 0;
        check_rules(&V, prev, prev_arg);
    }
    size_t errors = V.errors;
    vctx_free(&V);
    return errors;
}

size_t kh_validate(const kh_catalog_t *c, const Kh__Report *r, int32_t today_yyyymmdd,
                   kh_findings_t *out)
{
    return validate(c, r, today_yyyymmdd, NULL, NULL, out);
}

size_t kh_validate_previous(const kh_catalog_t *c, const Kh__Report *r, kh_prev_fn prev,
                            void *prev_arg, kh_findings_t *out)
{
    if (!prev)
        return out ? 0 : 1;
    return validate(c, r, 0, prev, prev_arg, out);
}
