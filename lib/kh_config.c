/*
 * kh_config.c — INI configuration via inih; see kh_config.h.  Entries are kept in a
 * small array (a config has tens of keys, not thousands), bounded by KH_CONFIG_MAX.
 * kh_config_load refuses a section or key that no program reads (KNOWN below, the
 * options of deploy/kh.ini): a typo ("lisen", "[colector]") would otherwise be silently
 * ignored and its default used.
 */
#include "kh_config.h"
#include "kh_util.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KH_CONFIG_MAX 512

/* Every section and its keys, as deploy/kh.ini documents them (test_config checks that
 * the two agree, both ways).  metrics_socket: where kh-admin status asks a service for
 * its figures (default the service's run folder). */
static const struct {
    const char *section;
    const char *keys;           /* space-separated */
} KNOWN[] = {
    {"general", "run_dir data_dir log_level clock hwm max_message_bytes "
                "internal_max_message_bytes heartbeat_ms batch_max batch_ms window resend_ms "
                "max_backlog selfcheck_timeout_ms selfcheck_attempts"},
    {"calendar", "s1_due s2_due"},
    {"security", "curve keys_dir keys_db server_key handshake_ms verify_signatures province "
                 "selfcheck_key"},
    {"collector", "listen receipts validator db log replay_clock max_connections_per_key "
                  "max_connections node_queue max_values max_ack_keys max_revision_step "
                  "max_unspoken_per_address metrics metrics_socket"},
    {"validator", "listen db log metrics metrics_socket"},
    {"aggregator", "listen feed snapshot db audit_key audit_checkpoints log metrics "
                   "metrics_socket"},
    {"notifier", "listen db log metrics metrics_socket reminder_days grace_days "
                 "check_interval_s first_period webhook_url webhook_timeout_ms webhook_retry "
                 "webhook_max_attempts webhook_give_up_s webhook_max_inflight"},
    {"node", "collector key server_key dir max_file_bytes log metrics metrics_socket"},
    {"feed", "mirror key server_key"},
    {"logs", "endpoints key server_key"},
};
#define N_KNOWN (sizeof KNOWN / sizeof KNOWN[0])

/* Whether `word` is one of the space-separated words of `list`. */
static int in_list(const char *list, const char *word)
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
    char sections[256] = "", near[64];
    size_t used = 0;
    for (size_t i = 0; i < N_KNOWN; i++) {
        if (strcmp(KNOWN[i].section, section) == 0) {
            if (in_list(KNOWN[i].keys, key))
                return 0;
            nearest(KNOWN[i].keys, key, near, sizeof near);
            if (near[0])
                snprintf(why, cap, "unknown key '%.40s' in [%s]: did you mean '%s'? / khóa "
                         "'%.40s' không có trong [%s]: có phải '%s'?", key, section, near, key,
                         section, near);
            else
                snprintf(why, cap, "unknown key '%.40s' in [%s]: remove the line or use one "
                         "of its keys: %s / khóa '%.40s' không có trong [%s]: hãy xóa dòng này",
                         key, section, KNOWN[i].keys, key, section);
            return -1;
        }
        used += (size_t)snprintf(sections + used, sizeof sections - used, "%s%s",
                                 i ? " " : "", KNOWN[i].section);
    }
    nearest(sections, section, near, sizeof near);
    if (near[0])
        snprintf(why, cap, "unknown section [%.40s]: did you mean [%s]? / mục [%.40s] không "
                 "có: có phải [%s]?", section, near, section, near);
    else
        snprintf(why, cap, "unknown section [%.40s]: remove it or use one of: %s / mục "
                 "[%.40s] không có: hãy xóa mục này", section, sections, section);
    return -1;
}

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
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        else if (ps.why[0])
            snprintf(err, errlen, "%s:%d: %s", path, rc, ps.why);
        else
            snprintf(err, errlen, "%s:%d: syntax error or too many keys", path, rc);
        kh_config_destroy(&ps.c);
        return NULL;
    }
    return ps.c;
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
    for (size_t i = 0; section && i < N_KNOWN; i++)
        if (strcmp(KNOWN[i].section, section) == 0)
            return KNOWN[i].keys;
    return NULL;
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
