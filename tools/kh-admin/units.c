/*
 * units.c — `kh-admin units`: what the catalogue ([general] data_dir) says about the unit
 * tree, for an admin setting up a deployment and for the scripts that start one:
 *
 *   kh-admin units reporters [--period P | --on YYYY-MM-DD | --ever]
 *       the reporting units (reporters.csv) of a half-year (in force at its end), of a
 *       day, or of any day; one per line: code, level, name (tab-separated)
 *   kh-admin units root [--on YYYY-MM-DD]
 *       the root of the tree on that day (default today): code, level, name
 *   kh-admin units levels [--on YYYY-MM-DD]
 *       each level's number and names on that day
 *
 * A script reads the first column (`cut -f1`).  Exit codes: 0, 1 when the catalogue
 * cannot be loaded or nothing matches, 2 for a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "kh_catalog.h"
#include "kh_util.h"

static const char units_usage[] =
    "usage: kh-admin units reporters [--period P | --on YYYY-MM-DD | --ever]\n"
    "       kh-admin units root [--on YYYY-MM-DD]\n"
    "       kh-admin units levels [--on YYYY-MM-DD]\n"
    "  reporters: the units that report (reporters.csv) for half-year P (in force at its\n"
    "             end), on a day (default today), or on any day (--ever)\n"
    "  root:      the root of the unit tree on the day\n"
    "  levels:    each level's number and names on the day\n"
    "  One line per unit: code, level, name, separated by tabs.\n";

/* yyyymmdd from "YYYY-MM-DD"; 0 when malformed. */
static int32_t parse_day(const char *s)
{
    int y, m, d;
    char tail;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return 0;
    int32_t v = y * 10000 + m * 100 + d;
    return kh_date_add(v, 0) == v ? v : 0;
}

static void print_unit(const kh_unit_t *u)
{
    printf("%s\t%d\t%s\n", u->code, u->level, u->name);
}

int admin_units(int argc, char **argv, const char *config_path)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(units_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *what = argv[1];
    if (strcmp(what, "reporters") && strcmp(what, "root") && strcmp(what, "levels")) {
        fprintf(stderr, "kh-admin units: unknown '%s'; see kh-admin units --help\n", what);
        return 2;
    }
    const char *period = NULL, *on = NULL;
    int ever = 0;
    static const struct option opts[] = {
        {"period", required_argument, 0, 'p'}, {"on", required_argument, 0, 'o'},
        {"ever", no_argument, 0, 'e'}, {0, 0, 0, 0}};
    optind = 2;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'p': period = optarg; break;
        case 'o': on = optarg; break;
        case 'e': ever = 1; break;
        default: fputs(units_usage, stderr); return 2;
        }
    }
    if (optind < argc || (!!period + !!on + ever) > 1 ||
        (strcmp(what, "reporters") && (period || ever))) {
        fputs(units_usage, stderr);
        return 2;
    }
    kh_config_t *cfg = admin_config(config_path);
    if (!cfg)
        return 1;
    char err[1024];
    int32_t day = kh_today();
    if (on && !(day = parse_day(on))) {
        fprintf(stderr, "kh-admin units: --on '%s' is not a date YYYY-MM-DD\n", on);
        kh_config_destroy(&cfg);
        return 2;
    }
    if (period) {
        kh_period_t p;
        if (kh_period_parse(period, &p) < 0 || (p.kind != KH_P_HALF && p.kind != KH_P_YEAR)) {
            fprintf(stderr, "kh-admin units: --period '%s' is not a half-year such as "
                    "2025S2 or a year such as 2026\n", period);
            kh_config_destroy(&cfg);
            return 2;
        }
        day = kh_period_end(&p);
    }
    kh_catalog_t *cat = kh_catalog_from_config(cfg, err, sizeof err);
    kh_config_destroy(&cfg);
    if (!cat) {
        fprintf(stderr, "kh-admin: cannot load the catalogue: %s\n", err);
        return 1;
    }
    size_t n = 0;
    if (!strcmp(what, "levels")) {
        for (int l = 1; l <= kh_catalog_depth(cat); l++) {
            const char *vi = kh_catalog_level_name(cat, l, day, 0);
            const char *en = kh_catalog_level_name(cat, l, day, 1);
            printf("%d\t%s\t%s\n", l, vi ? vi : "", en ? en : "");
            n++;
        }
    } else {
        size_t total = !strcmp(what, "root") ? kh_catalog_units_on(cat, 1, "", day, NULL, 0)
                       : ever ? kh_catalog_reporters_ever(cat, NULL, 0)
                              : kh_catalog_reporters_on(cat, day, NULL, 0);
        const kh_unit_t **list = calloc(total ? total : 1, sizeof *list);
        if (!list) {
            fprintf(stderr, "kh-admin: out of memory\n");
            kh_catalog_destroy(&cat);
            return 1;
        }
        n = !strcmp(what, "root") ? kh_catalog_units_on(cat, 1, "", day, list, total)
            : ever ? kh_catalog_reporters_ever(cat, list, total)
                   : kh_catalog_reporters_on(cat, day, list, total);
        if (n > total)
            n = total;
        for (size_t i = 0; i < n; i++)
            print_unit(list[i]);
        free(list);
    }
    kh_catalog_destroy(&cat);
    if (n == 0) {
        char d[16];
        kh_date_iso(day, d, sizeof d);
        fprintf(stderr, "kh-admin units: no %s %s%s (check reporters.csv and units.csv in "
                "[general] data_dir)\n", what, ever ? "on any day" : "on ", ever ? "" : d);
        return 1;
    }
    return 0;
}
