/*
 * kh_findings.c — the findings list (kh_findings.h): each Finding's strings are copies
 * owned by the list (protobuf-c's empty string is never freed), the list is bounded,
 * and the overflow notice keeps the verdict the dropped findings would have given.
 */
#include "kh_findings.h"
#include "kh_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kh_findings_text(char *dst, size_t cap, const char *src, size_t max_bytes)
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
