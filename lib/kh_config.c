/*
 * kh_config.c — INI configuration via inih; see kh_config.h.  Entries are kept in a
 * small array (a config has tens of keys, not thousands), bounded by KH_CONFIG_MAX.
 */
#include "kh_config.h"
#include "kh_util.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KH_CONFIG_MAX 512

typedef struct {
    char *section, *key, *value;
} entry_t;

struct kh_config {
    entry_t e[KH_CONFIG_MAX];
    size_t n;
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

/* inih reports an indented continuation line as another value of the same key:
 * join them with a space, so a list may span lines (see [logs] endpoints). */
static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    kh_config_t *c = user;
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

kh_config_t *kh_config_load(const char *path, char *err, size_t errlen)
{
    kh_config_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int rc = ini_parse(path, on_entry, c);
    if (rc != 0) {
        if (rc < 0)
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        else
            snprintf(err, errlen, "%s:%d: syntax error or too many keys", path, rc);
        kh_config_destroy(&c);
        return NULL;
    }
    return c;
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

const char *kh_config_raw(const kh_config_t *c, const char *section, const char *key,
                          const char *dflt)
{
    entry_t *e = find(c, section, key);
    return e ? e->value : dflt;
}

int kh_config_str(const kh_config_t *c, const char *section, const char *key,
                  const char *dflt, char *out, size_t cap)
{
    const char *v = kh_config_raw(c, section, key, dflt);
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
                rep = kh_config_raw(c, vars[i].sec, vars[i].key, ".");
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

int kh_config_long(const kh_config_t *c, const char *section, const char *key, long dflt,
                   long min, long max, long *out, char *err, size_t errlen)
{
    const char *v = kh_config_raw(c, section, key, NULL);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (kh_parse_long(v, min, max, out) < 0) {
        snprintf(err, errlen, "[%s] %s = %s: expected an integer from %ld to %ld", section,
                 key, v, min, max);
        return -1;
    }
    return 0;
}

int kh_config_max_message(const kh_config_t *c, int internal, long *out, char *err,
                          size_t errlen)
{
    long ext;
    if (kh_config_long(c, "general", "max_message_bytes", 4L << 20, 1024, 256L << 20, &ext, err,
                       errlen) < 0)
        return -1;
    if (!internal) {
        *out = ext;
        return 0;
    }
    return kh_config_long(c, "general", "internal_max_message_bytes", 2 * ext + (4L << 20), 1024,
                          1L << 30, out, err, errlen);
}

int kh_config_clock(const kh_config_t *c, char *err, size_t errlen)
{
    return kh_clock_set(kh_config_raw(c, "general", "clock", ""), err, errlen);
}
