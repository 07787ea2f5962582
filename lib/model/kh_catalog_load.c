/*
 * kh_catalog_load.c — the catalogue read from its data folder (kh_catalog_load,
 * kh_catalog_from_config) and freed (kh_catalog_destroy): a strict CSV reader, then one
 * loader per file, in the order each needs the ones before: units.csv, levels.csv,
 * reporters.csv, reorg.csv (optional), then the programmes (programmes.csv, optional),
 * each with sections.csv and options.csv (optional), indicators.csv, rules.csv and
 * targets.csv.
 *
 * Loading is strict and bounded: every file is read whole (at most KH_FILE_MAX bytes),
 * must be valid UTF-8, is parsed with libcsv in strict mode, and every row is checked;
 * the first problem ends the load with "file:line: what".  Cross-references (parents,
 * cycles, overlapping validity, merged-into targets, rule and target indicators) are
 * checked once all rows of a file are in.  After loading, the catalogue is immutable,
 * so one catalogue may serve several threads (its struct: kh_catalog_int.h).
 */
#include "kh_catalog_int.h"
#include "kh_config.h"
#include "kh_util.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KH_FILE_MAX ((size_t)4 << 20)   /* refuse data files larger than 4 MiB */
#define KH_ROWS_MAX 100000              /* and more rows than this */
#define KH_FIELD_MAX 4096               /* longest single CSV field */
#define KH_FIELDS_MAX 32                /* most fields on one row */

/* ==== small helpers ===================================================================== */

static int valid_mmdd(int mmdd);

/* 1 when dir/name exists (an optional file of the data folder). */
static int file_exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    return n > 0 && (size_t)n < sizeof path && stat(path, &st) == 0;
}

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

/* "2020-01-31" → 20200131; "" → 0 (no date).  Returns 0 or -1. */
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

/* ==== the loaders, one per file ========================================================= */

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
    if (!(u->name = strdup(v[UC_NAME]))) {
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
        if (kh_htab_get(c->unit_ix, c->units[h].code) != (int32_t)h || color[h])
            continue;   /* only chain heads stand for a code */
        size_t sp = 0;
        stack_node[sp] = (int32_t)h;
        stack_it[sp++] = (int32_t)h;
        color[h] = 1;
        while (sp > 0 && rc == 0) {
            int32_t u = stack_node[sp - 1], r = stack_it[sp - 1];
            if (r < 0) {
                color[(uint32_t)u] = 2;     /* a row: never negative (gcc cannot tell) */
                sp--;
                continue;
            }
            stack_it[sp - 1] = c->unit_next[r];
            if (!c->units[r].parent[0])
                continue;
            int32_t p = kh_htab_get(c->unit_ix, c->units[r].parent);
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
    if (!c->unit_next || !(c->unit_ix = kh_htab_new(c->n_units))) {
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
        int32_t head = kh_htab_put(c->unit_ix, u->code, (int32_t)i);
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
        if (u->parent[0] && kh_htab_get(c->unit_ix, u->parent) < 0) {
            fail(L, c->unit_line[i], "unit %s: unknown parent unit %s", u->code, u->parent);
            return -1;
        }
        if (u->merged_into[0]) {
            int32_t m = kh_htab_get(c->unit_ix, u->merged_into);
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
        for (int32_t r = kh_htab_get(c->unit_ix, u->parent); r >= 0; r = c->unit_next[r]) {
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
        if (covered && kh_catalog_unit_row(c, u->parent, first) < 0)
            gap = first;
        else if (covered && kh_catalog_unit_row(c, u->parent, last) < 0)
            gap = last;
        for (int32_t r = kh_htab_get(c->unit_ix, u->parent); covered && !gap && r >= 0;
             r = c->unit_next[r]) {
            const kh_unit_t *p = &c->units[r];
            int32_t after = p->valid_to ? kh_date_add(p->valid_to, 1) : 0;
            int32_t before = p->valid_from ? kh_date_add(p->valid_from, -1) : 0;
            if (after > first && after <= last && kh_catalog_unit_row(c, u->parent, after) < 0)
                gap = after;
            else if (before >= first && before < last &&
                     kh_catalog_unit_row(c, u->parent, before) < 0)
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
    if (!c->child_next || !ctail || !(c->child_ix = kh_htab_new(c->n_units))) {
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
        int32_t head = kh_htab_put(c->child_ix, u->parent, (int32_t)i);
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
            kh_catalog_overlaps(c->levels[i].valid_from, c->levels[i].valid_to, r.valid_from,
                           r.valid_to)) {
            fail(L, line, "level %d is named already in an overlapping range (line %d)",
                 r.level, c->levels[i].line);
            return -1;
        }
    if (KH_GROW(c->levels, c->n_levels, LL->cap, 64) < 0 ||
        !(r.name_vi = strdup(v[LC_VI])) || !(r.name_en = strdup(v[LC_EN]))) {
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
        if (l->level == level && kh_catalog_overlaps(l->valid_from, l->valid_to, day, day))
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
        if (kh_htab_get(c->unit_ix, v[RPC_UNIT]) < 0) {
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
        for (int32_t u = kh_htab_get(c->unit_ix, r.unit); u >= 0 && !exists;
             u = c->unit_next[u]) {
            exists = kh_catalog_overlaps(c->units[u].valid_from, c->units[u].valid_to,
                                         r.valid_from, r.valid_to);
        }
        if (!exists) {
            fail(L, line, "unit %s does not exist from %s (units.csv)", r.unit, rg);
            return -1;
        }
    }
    for (size_t i = 0; i < c->n_reporters; i++) {
        const reporter_t *o = &c->reporters[i];
        if (!kh_catalog_overlaps(o->valid_from, o->valid_to, r.valid_from, r.valid_to))
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
        for (int32_t k = kh_htab_get(c->unit_ix, code); k >= 0; k = c->unit_next[k]) {
            if (c->units[k].level != lvl ||
                !kh_catalog_overlaps(c->units[k].valid_from, c->units[k].valid_to, from, to))
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

static int cmp_day(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

/* A reporting unit reports for every unit below it (unless its scope is "self"), so no
 * reporting unit may sit below another on any day: its values would be counted twice.
 * The answer changes only on a day some unit or reporters.csv row begins or ends, so
 * those days are the ones checked. */
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
            if (!kh_catalog_in_force(u, day) || !(ru = kh_catalog_reporter_of(c, u, day)))
                continue;
            const kh_unit_t *a = u;
            for (int hop = 0; hop < KH_MAX_LEVELS && rc == 0 &&
                              (a = kh_catalog_parent_on(c, a, day)) != NULL; hop++) {
                const reporter_t *ra = kh_catalog_reporter_of(c, a, day);
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
    d.name_vi = strdup(v[IC_NAME_VI]);
    d.name_en = strdup(v[IC_NAME_EN]);
    d.unit = strdup(v[IC_UNIT]);
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
    if (!(c->ind_ix = kh_htab_new(c->n_inds))) {
        fail(L, 0, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < c->n_inds; i++) {
        int32_t prev = kh_htab_put(c->ind_ix, c->inds[i].code, (int32_t)i);
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
    return kh_htab_get(((const kh_catalog_t *)arg)->ind_ix, code);
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
    r.text = strdup(v[RC_RULE]);
    r.msg_vi = strdup(v[RC_MSG_VI]);
    r.msg_en = strdup(v[RC_MSG_EN]);
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
        int32_t ix = kh_htab_get(c->ind_ix, parts[i]);
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
    t.name_vi = strdup(v[TC_NAME_VI]);
    t.name_en = strdup(v[TC_NAME_EN]);
    t.source = strdup(v[TC_SOURCE]);
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
        !(r.old_name = strdup(v[2]))) {
        fail(L, line, "out of memory");
        return -1;
    }
    c->reorg[c->n_reorg++] = r;
    return 0;
}

static int load_reorg(kh_catalog_t *c, const char *dir, char *err, size_t errlen)
{
    if (!file_exists(dir, "reorg.csv"))
        return 0;
    reorg_loader_t RL = { .L = { .fname = "reorg.csv", .c = c, .cols = reorg_cols, .n_cols = 7,
                                 .fn = reorg_row, .err = err, .errlen = errlen } };
    return load_csv(&RL.L, dir);
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
    c->sections[c->n_sections].title_vi = strdup(v[1]);
    c->sections[c->n_sections].title_en = strdup(v[2]);
    if (!c->sections[c->n_sections].title_vi || !c->sections[c->n_sections++].title_en) {
        fail(L, line, "out of memory");
        return -1;
    }
    return 0;
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
    int32_t ii = kh_htab_get(c->ind_ix, v[0]);
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
    c->opt_labels[c->n_opt_labels].label_vi = strdup(v[2]);
    c->opt_labels[c->n_opt_labels].label_en = strdup(v[3]);
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
            kh_catalog_overlaps(o->prog_from, o->prog_to, from, to)) {
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
    p->inds = NULL; p->n_inds = 0; p->ind_line = NULL; p->ind_ix = NULL;
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
    p->prog_name_vi = strdup(v[PC_VI]);
    p->prog_name_en = strdup(v[PC_EN]);
    p->prog_source = strdup(v[PC_SOURCE]);
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
                                .n_cols = 10, .n_optional = 3, .fn = prog_row, .err = err,
                                .errlen = errlen },
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
    kh_htab_destroy(&c->ind_ix);
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
    kh_htab_destroy(&c->unit_ix);
    free(c->child_next);
    kh_htab_destroy(&c->child_ix);
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

