/*
 * fuzz_common.h — shared by the libFuzzer targets (fuzz/fuzz_*.c): the real catalogue
 * (data/), loaded once in LLVMFuzzerInitialize, and deterministic stand-ins for the
 * callbacks the pipeline supplies (previous-period values).
 *
 * The data directory is $KH_DATA_DIR, else ./data (make fuzz runs from the repository
 * root), else data/ two levels above the binary (build-fuzz/fuzz/fuzz_x).
 */
#ifndef KH_FUZZ_COMMON_H
#define KH_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_catalog.h"
#include "kh_validate.h"

#define FUZZ_TODAY 20250101     /* fixed "today" for kh_validate: reproducible runs */

static kh_catalog_t *fz_cat;

static inline void fz_load_catalog(const char *argv0)
{
    char err[256] = "", from_bin[1024] = "";
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
    if (slash)
        snprintf(from_bin, sizeof from_bin, "%.*s/../../data", (int)(slash - argv0), argv0);
    const char *dirs[] = {getenv("KH_DATA_DIR"), "data", from_bin[0] ? from_bin : NULL};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0] && !fz_cat; i++)
        if (dirs[i])
            fz_cat = kh_catalog_load(dirs[i], 620, 1205, err, sizeof err);
    if (!fz_cat) {
        fprintf(stderr, "fuzz: cannot load the catalogue (set KH_DATA_DIR): %s\n", err);
        exit(1);
    }
}

static inline uint32_t fz_hash(const char *s, uint32_t h)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* kh_prev_fn: a previous-period value made up from the key, so that "within N% of
 * previous" rules see a missing value, a zero, and ordinary values. */
static inline int fz_prev(void *arg, const char *period, const char *orgunit, const char *indicator,
                   double *out)
{
    (void)arg;
    uint32_t h = fz_hash(indicator, fz_hash(orgunit, fz_hash(period, 2166136261u)));
    switch (h % 8) {
    case 0: return -1;
    case 1: *out = 0; return 0;
    default: *out = (double)(h % 5000) + 1; return 0;
    }
}

/* The unit a node would send the report as: the first unit of the report that reports
 * (reporters.csv, on any day), else the nearest of its ancestors that does, else the
 * first unit that ever reports. */
static inline const char *fz_district_of(const Kh__Report *r)
{
    for (size_t i = 0; i < r->n_values; i++) {
        const kh_unit_t *u = kh_catalog_unit_any(fz_cat, r->values[i]->orgunit);
        for (int hop = 0; u && hop < KH_MAX_LEVELS; hop++) {
            if (kh_catalog_reports_ever(fz_cat, u->code) == 1)
                return u->code;
            u = u->parent[0] ? kh_catalog_unit_any(fz_cat, u->parent) : NULL;
        }
    }
    const kh_unit_t *first = NULL;
    return kh_catalog_reporters_ever(fz_cat, &first, 1) > 0 && first ? first->code : "";
}

#endif
