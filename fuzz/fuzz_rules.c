/*
 * fuzz_rules — the rule language of data/rules.csv (lib/model/kh_rules.h): kh_rule_compile
 * against the real indicator catalogue, then, for what compiles, kh_expr_indicators,
 * kh_expr_uses_previous and kh_expr_eval (which renders the values of a failing rule
 * into the detail buffers).
 *
 * Input: the rule text, optionally followed by a NUL byte and "value bytes" that drive
 * the evaluation: byte 0 and 1 size the Vietnamese and English detail buffers (1..256
 * bytes, allocated exactly so that an overrun is caught), byte 2 the error buffer of
 * the compiler (1..256); the rest give each indicator's current and previous value
 * (missing, empty option, an option, a number).  Without a NUL the whole input is the
 * rule and the values come from a fixed pattern.  Seeds: fuzz/corpus/fuzz_rules/, one
 * rule of data/rules.csv per file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_rules.h"
#include "fuzz_common.h"

static const kh_indicator_t *inds;
static size_t n_inds;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    fz_load_catalog((*argv)[0]);
    inds = kh_catalog_indicator_at(fz_cat, 0);
    n_inds = kh_catalog_indicator_count(fz_cat);
    return 0;
}

/* kh_rule_resolve_fn over the catalogue: the index in the indicator array */
static int resolve(void *arg, const char *code)
{
    (void)arg;
    const kh_indicator_t *d = kh_catalog_indicator(fz_cat, code);
    return d ? (int)(d - inds) : -1;
}

typedef struct {
    const uint8_t *v;
    size_t n;
} vals_t;

static uint8_t vbyte(const vals_t *x, size_t i)
{
    static const uint8_t pattern[] = {7, 200, 3, 0, 90, 255, 41, 12};
    return x->n ? x->v[i % x->n] : pattern[i % sizeof pattern];
}

static int get_value(void *arg, int ind, kh_value_t *out)
{
    const vals_t *x = arg;
    uint8_t b = vbyte(x, 2 * (size_t)ind);
    if (b == 0xFF)
        return -1;                                  /* missing */
    memset(out, 0, sizeof *out);
    out->option = -1;
    const kh_indicator_t *d = &inds[ind];
    if (d->vtype == KH_VT_OPTION) {
        int k = b % (d->n_options + 1) - 1;
        out->option = k;
        out->is_empty = k < 0;
    } else {
        out->num = (b & 0x80) ? (double)(b & 0x7F) * 1000003.0 : (double)b - 8;
        if (d->vtype == KH_VT_FLAG)
            out->num = b & 1;
        out->normalised = (b & 0x40) != 0;
    }
    return 0;
}

static int get_prev(void *arg, int ind, double *out)
{
    const vals_t *x = arg;
    uint8_t b = vbyte(x, 2 * (size_t)ind + 1);
    if (b == 0xFF)
        return -1;
    *out = (double)b - 4;
    return 0;
}

static size_t size_from(uint8_t b) { return (size_t)b + 1; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    vals_t x = {nul ? nul + 1 : NULL, nul ? size - tlen - 1 : 0};
    char *text = malloc(tlen + 1);
    if (!text)
        return 0;
    memcpy(text, data, tlen);
    text[tlen] = '\0';

    size_t errlen = x.n > 2 ? size_from(x.v[2]) : 256;
    char *err = malloc(errlen);
    kh_expr_t *e = NULL;
    if (err && kh_rule_compile(text, inds, n_inds, resolve, NULL, &e, err, errlen) == 0) {
        int refs[KH_RULE_MAX_NODES];
        size_t nr = kh_expr_indicators(e, refs, KH_RULE_MAX_NODES);
        for (size_t i = 0; i < nr && i < KH_RULE_MAX_NODES; i++)
            if (refs[i] < 0 || (size_t)refs[i] >= n_inds)
                abort();                            /* an index outside the catalogue */
        size_t vi_len = x.n > 0 ? size_from(x.v[0]) : 256;
        size_t en_len = x.n > 1 ? size_from(x.v[1]) : 256;
        char *vi = malloc(vi_len), *en = malloc(en_len);
        if (vi && en) {
            vi[0] = en[0] = '\0';
            kh_rule_result_t res = kh_expr_eval(e, get_value, get_prev, &x, "2019S2",
                                                vi, vi_len, en, en_len);
            /* a detail must be a terminated string within its buffer (ASan checks strlen) */
            if (res == KH_RULE_FAIL && (strlen(vi) >= vi_len || strlen(en) >= en_len))
                abort();
            if (kh_expr_uses_previous(e))               /* and with no previous period */
                kh_expr_eval(e, get_value, NULL, &x, "2019S2", vi, vi_len, en, en_len);
        }
        free(vi);
        free(en);
        kh_expr_free(e);
    }
    free(err);
    free(text);
    return 0;
}
