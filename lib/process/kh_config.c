/*
 * kh_config.c — INI configuration via inih; see kh_config.h.  Entries are kept in a
 * small array (a config has tens of keys, not thousands), bounded by KH_CONFIG_MAX.
 * kh_config_load refuses a section or key that no program reads (the table of
 * lib/process/kh_options.c): a typo ("lisen", "[colector]") would otherwise be silently ignored
 * and its default used.
 */
#include "kh_config.h"
#include "kh_options.h"
#include "kh_util.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KH_CONFIG_MAX 512

/* The keys of `section` (space-separated) into out, or the sections when section is
 * NULL.  Returns out. */
static char *names(const char *section, char *out, size_t cap)
{
    size_t n, used = 0;
    const kh_option_t *o = kh_options(&n);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *w = section ? o[i].key : o[i].section;
        if ((section && strcmp(o[i].section, section) != 0) || (!section && kh_in_words(out, w)))
            continue;
        int k = snprintf(out + used, cap - used, "%s%s", used ? " " : "", w);
        if (k < 0 || (size_t)k >= cap - used)
            break;
        used += (size_t)k;
    }
    return out;
}

/* Edit distance of a and b (insert, delete, replace), capped at 9: names are short. */
static int distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 9;
    int d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            d[i][j] = best;
        }
    return d[la][lb] > 9 ? 9 : d[la][lb];
}

/* The nearest word of `list` to `word` within 2 edits into out ("" when none). */
static void nearest(const char *list, const char *word, char *out, size_t cap)
{
    int best = 3;
    out[0] = '\0';
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, " ");
        char w[64];
        if (k < sizeof w) {
            memcpy(w, p, k);
            w[k] = '\0';
            int dd = distance(word, w);
            if (dd < best) {
                best = dd;
                snprintf(out, cap, "%s", w);
            }
        }
        p += k;
        p += strspn(p, " ");
    }
}

/* 0 when section.key is an option some program reads, else -1 with why. */
static int check_known(const char *section, const char *key, char *why, size_t cap)
{
    char list[2048], near[64];
    if (kh_option_find(section, key))
        return 0;
    if (strcmp(section, "notifier") == 0 && strcmp(key, "clock") == 0) {
        /* retired when the pipeline got one clock */
        snprintf(why, cap, "[notifier] clock is no longer read: the whole pipeline runs on one "
                 "clock; move the date to [general] clock (e.g. 2020-12-06T10:00:00) / hãy "
                 "chuyển ngày sang [general] clock");
        return -1;
    }
    if (kh_option_section(section)) {
        names(section, list, sizeof list);
        nearest(list, key, near, sizeof near);
        if (near[0])
            snprintf(why, cap, "unknown key '%.40s' in [%s]: did you mean '%s'? / khóa "
                     "'%.40s' không có trong [%s]: có phải '%s'?", key, section, near, key,
                     section, near);
        else
            snprintf(why, cap, "unknown key '%.40s' in [%s]: remove the line or use one "
                     "of its keys: %.300s / khóa '%.40s' không có trong [%s]: hãy xóa dòng này",
                     key, section, list, key, section);
        return -1;
    }
    names(NULL, list, sizeof list);
    nearest(list, section, near, sizeof near);
    if (near[0])
        snprintf(why, cap, "unknown section [%.40s]: did you mean [%s]? / mục [%.40s] không "
                 "có: có phải [%s]?", section, near, section, near);
    else
        snprintf(why, cap, "unknown section [%.40s]: remove it or use one of: %.300s / mục "
                 "[%.40s] không có: hãy xóa mục này", section, list, section);
    return -1;
}

typedef struct {
    char *section, *key, *value;
} entry_t;

struct kh_config {
    entry_t e[KH_CONFIG_MAX];
    size_t n;
    char dir[PATH_MAX];         /* the file's folder: relative paths start there */
};

static entry_t *find(const kh_config_t *c, const char *section, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].section, section) == 0 && strcmp(c->e[i].key, key) == 0)
            return (entry_t *)&c->e[i];
    return NULL;
}

int kh_config_set(kh_config_t *c, const char *section, const char *key, const char *value)
{
    entry_t *e = find(c, section, key);
    char *v = strdup(value);
    if (!v)
        return -1;
    if (e) {
        free(e->value);
        e->value = v;
        return 0;
    }
    if (c->n >= KH_CONFIG_MAX) {
        free(v);
        return -1;
    }
    e = &c->e[c->n];
    e->section = strdup(section);
    e->key = strdup(key);
    e->value = v;
    if (!e->section || !e->key) {
        free(e->section);
        free(e->key);
        free(v);
        return -1;
    }
    c->n++;
    return 0;
}

typedef struct {
    kh_config_t *c;
    int strict;                 /* refuse what check_known does not know */
    char why[512];              /* why the entry was refused ("" for a syntax error) */
} parse_t;

/* inih reports an indented continuation line as another value of the same key:
 * join them with a space, so a list may span lines (see [logs] endpoints). */
static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    parse_t *ps = user;
    kh_config_t *c = ps->c;
    if (ps->strict && check_known(section, name, ps->why, sizeof ps->why) < 0)
        return 0;               /* inih: zero = error at this line */
    char why[160];
    const kh_option_t *o = kh_option_find(section, name);
    if (ps->strict && kh_option_check(o, value, why, sizeof why) < 0) {
        snprintf(ps->why, sizeof ps->why, "[%s] %s = %.60s: %s; fix the value on this line "
                 "/ giá trị không hợp lệ: hãy sửa giá trị ở dòng này (kh-admin config example "
                 "cho biết giá trị đúng)", section, name, value, why);
        return 0;
    }
    entry_t *e = find(c, section, name);
    if (!e)
        return kh_config_set(c, section, name, value) == 0;   /* inih: nonzero = ok */
    size_t a = strlen(e->value), b = strlen(value);
    char *joined = malloc(a + b + 2);
    if (!joined)
        return 0;
    memcpy(joined, e->value, a);
    joined[a] = ' ';
    memcpy(joined + a + 1, value, b + 1);
    free(e->value);
    e->value = joined;
    return 1;
}

/* Every path option, set or by default, that is relative (not "/…", not "%RUN%/…") is
 * made absolute from the config file's folder, so that a program finds the same files
 * from whatever folder it starts in.  Only a leading "./" or "../" is folded.  Returns 0,
 * or -1 when a path does not fit. */
static int resolve_paths(kh_config_t *c, const char *path)
{
    char real[PATH_MAX];
    if (!realpath(path, real))
        return -1;
    char *slash = strrchr(real, '/');
    if (slash == real)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    kh_strlcpy(c->dir, real, sizeof c->dir);
    size_t n;
    const kh_option_t *o = kh_options(&n);
    for (size_t i = 0; i < n; i++) {
        if (o[i].type != KH_OPT_PATH)
            continue;
        const char *v = kh_config_raw(c, o[i].section, o[i].key);
        if (!v || !v[0] || v[0] == '/' || v[0] == '%')
            continue;
        char dir[PATH_MAX], abs[PATH_MAX];
        kh_strlcpy(dir, c->dir, sizeof dir);
        for (;;) {
            if (strncmp(v, "./", 2) == 0) {
                v += 2;
            } else if (strncmp(v, "../", 3) == 0 || strcmp(v, "..") == 0) {
                v += v[2] ? 3 : 2;
                char *up = strrchr(dir, '/');
                if (up && up != dir)
                    *up = '\0';
                else
                    kh_strlcpy(dir, "/", sizeof dir);
            } else {
                break;
            }
        }
        int k = snprintf(abs, sizeof abs, "%s%s%s", dir, strcmp(dir, "/") && v[0] ? "/" : "",
                         v);
        if (k < 0 || (size_t)k >= sizeof abs || kh_config_set(c, o[i].section, o[i].key, abs) < 0)
            return -1;
    }
    return 0;
}

static kh_config_t *load(const char *path, int strict, char *err, size_t errlen)
{
    parse_t ps = { calloc(1, sizeof(kh_config_t)), strict, "" };
    if (!ps.c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int rc = ini_parse(path, on_entry, &ps);
    if (rc != 0) {
        if (rc < 0)
            snprintf(err, errlen, "%s: cannot read: %s (give the file with --config FILE or "
                     "KH_CONFIG) / không đọc được tệp cấu hình", path, strerror(errno));
        else if (ps.why[0])
            snprintf(err, errlen, "%s:%d: %s", path, rc, ps.why);
        else
            snprintf(err, errlen, "%s:%d: syntax error or too many keys", path, rc);
        kh_config_destroy(&ps.c);
        return NULL;
    }
    if (strict && resolve_paths(ps.c, path) < 0) {
        snprintf(err, errlen, "%s: a path is too long once taken from the file's folder", path);
        kh_config_destroy(&ps.c);
        return NULL;
    }
    return ps.c;
}

#ifndef KH_SYSCONFDIR
#define KH_SYSCONFDIR "/etc"
#endif

const char *kh_config_path(const char *arg, char *out, size_t cap)
{
    const char *env = getenv("KH_CONFIG");
    if (arg || (env && env[0])) {
        kh_strlcpy(out, arg ? arg : env, cap);
        return out;
    }
    char exe[PATH_MAX], tree[PATH_MAX], real[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        /* only a program in <tree>/build…/bin/: an installed one never looks beside it */
        char *name = strrchr(exe, '/');
        if (name && name - exe >= 4 && strncmp(name - 4, "/bin", 4) == 0) {
            name[-4] = '\0';                         /* <tree>/build… */
            char *build = strrchr(exe, '/');
            if (build && strncmp(build + 1, "build", 5) == 0) {
                *build = '\0';                       /* <tree> */
                int k = snprintf(tree, sizeof tree, "%s/deploy/kh.ini", exe);
                if (k > 0 && (size_t)k < sizeof tree && access(tree, R_OK) == 0 &&
                    realpath(tree, real) && strlen(real) < cap) {
                    kh_strlcpy(out, real, cap);
                    return out;
                }
            }
        }
    }
    kh_strlcpy(out, KH_SYSCONFDIR "/khuyenhoc/kh.ini", cap);
    return out;
}

int kh_config_front_args(int *argc, char **argv, const char *prog, const char **cfgpath)
{
    if (*argc >= 2 && strcmp(argv[1], "--version") == 0) {
        kh_print_version(stdout, prog);
        return 1;
    }
    if (*argc >= 3 && strcmp(argv[1], "--config") == 0) {
        *cfgpath = argv[2];
        for (int i = 3; i <= *argc; i++)        /* argv[argc] is NULL: moved too */
            argv[i - 2] = argv[i];
        *argc -= 2;
    }
    return 0;
}

void kh_config_help(FILE *out)
{
    char path[PATH_MAX];
    fprintf(out, "configuration: --config FILE, else $KH_CONFIG, else the source tree's "
            "deploy/kh.ini\n(for a program run from its build folder), else %s\n"
            "(here: %s)\n", KH_SYSCONFDIR "/khuyenhoc/kh.ini",
            kh_config_path(NULL, path, sizeof path));
}

kh_config_t *kh_config_load(const char *path, char *err, size_t errlen)
{
    return load(path, 1, err, errlen);
}

kh_config_t *kh_config_parse(const char *path, char *err, size_t errlen)
{
    return load(path, 0, err, errlen);
}

const char *kh_config_section_keys(const char *section)
{
    static char list[2048];
    return kh_option_section(section) ? names(section, list, sizeof list) : NULL;
}

int kh_config_known(const char *section, const char *key)
{
    char why[512];
    return section && key && check_known(section, key, why, sizeof why) == 0;
}

void kh_config_destroy(kh_config_t **self_p)
{
    kh_config_t *c = *self_p;
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].section);
        free(c->e[i].key);
        free(c->e[i].value);
    }
    free(c);
    *self_p = NULL;
}

const char *kh_config_raw(const kh_config_t *c, const char *section, const char *key)
{
    entry_t *e = find(c, section, key);
    if (e)
        return e->value;
    const kh_option_t *o = kh_option_find(section, key);
    return o ? o->dflt : NULL;
}

int kh_config_yes(const kh_config_t *c, const char *section, const char *key)
{
    const char *v = kh_config_raw(c, section, key);
    return v && strcmp(v, "yes") == 0;
}

int kh_config_str(const kh_config_t *c, const char *section, const char *key, char *out,
                  size_t cap)
{
    const char *v = kh_config_raw(c, section, key);
    if (!v)
        v = "";
    static const struct { const char *tok, *sec, *key; } vars[] = {
        {"%RUN%", "general", "run_dir"}, {"%DISTRICT%", "node", "district"}};
    size_t o = 0;
    while (*v) {
        const char *rep = NULL;
        size_t toklen = 0;
        for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
            size_t tl = strlen(vars[i].tok);
            if (strncmp(v, vars[i].tok, tl) == 0) {
                rep = kh_config_raw(c, vars[i].sec, vars[i].key);
                if (!rep)
                    rep = ".";
                toklen = tl;
                break;
            }
        }
        if (rep) {
            size_t rl = strlen(rep);
            if (o + rl >= cap)
                return -1;
            memcpy(out + o, rep, rl);
            o += rl;
            v += toklen;
        } else {
            if (o + 1 >= cap)
                return -1;
            out[o++] = *v++;
        }
    }
    if (o >= cap)
        return -1;
    out[o] = '\0';
    return 0;
}

int kh_config_long(const kh_config_t *c, const char *section, const char *key, long *out,
                   char *err, size_t errlen)
{
    const kh_option_t *o = kh_option_find(section, key);
    const char *v = kh_config_raw(c, section, key);
    if (!o || o->type != KH_OPT_INT || !v) {
        snprintf(err, errlen, "[%s] %s is no integer option with a default (lib/process/kh_options.c)",
                 section, key);
        return -1;
    }
    if (kh_parse_long(v, o->min, o->max, out) < 0) {
        snprintf(err, errlen, "[%s] %s = %s: expected an integer from %ld to %ld", section,
                 key, v, o->min, o->max);
        return -1;
    }
    return 0;
}

int kh_config_max_message(const kh_config_t *c, int internal, long *out, char *err,
                          size_t errlen)
{
    long ext;
    if (kh_config_long(c, "general", "max_message_bytes", &ext, err, errlen) < 0)
        return -1;
    if (!internal) {
        *out = ext;
        return 0;
    }
    /* not set: derived from the outside limit (the table has no default for it) */
    if (!kh_config_raw(c, "general", "internal_max_message_bytes")) {
        *out = 2 * ext + (4L << 20);
        return 0;
    }
    return kh_config_long(c, "general", "internal_max_message_bytes", out, err, errlen);
}

int kh_config_clock(const kh_config_t *c, char *err, size_t errlen)
{
    const char *v = kh_config_raw(c, "general", "clock");
    return kh_clock_set(v ? v : "", err, errlen);
}
