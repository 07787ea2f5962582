/*
 * verify.c — `kh-admin verify --report ID[/REV]`: which district's key signed the
 * numbers the province counted; `kh-admin verify --totals [--db FILE]`: are the totals
 * the province serves the ones its counted reports give?
 *
 * --report reads the revision from the aggregator's database (the counted one for ID,
 * or the given revision; through services/aggregator/store.h and lib/security/kh_audit.h,
 * kh-admin writes no SQL of its own), looks its signer up in the key registry as the
 * aggregator does (a key registered for the report's district and valid when the report
 * was received), checks the Ed25519 signature over the report's canonical bytes
 * (lib/security/kh_sign.h), and compares their digest with the one the audit log
 * recorded when the revision was applied.  Exit 0: valid; 1: invalid (no signature, no
 * such key for that district, signature wrong, digest differs from the audit log); 2:
 * cannot tell (no such report, unreadable database, usage).
 *
 * --totals recomputes every district and province cell of every half-year from the
 * counted reports (table counted → the accepted revision's verdict) with the
 * aggregator's own arithmetic (lib/model/kh_cells.h), checks each counted report as --report
 * does (signature with the key registry, unless [security] verify_signatures = no, and
 * digest against the audit log), and compares with the stored totals (table total) both
 * ways: one line per cell that differs, is stored but counted by no report, or is
 * counted but not stored.  Sums of whole numbers are exact in a double and compared
 * exactly; a sum with decimals (scores) is the aggregator's running sum, added and
 * subtracted revision by revision, so it may differ from the recomputed one in its last
 * digits: it matches within one part in a billion.  Exit 0: every cell matches; 1:
 * differences or a counted report that does not hold; 2: cannot tell (unreadable
 * database, registry or catalogue, a counted district the catalogue does not know).
 */
#include "admin.h"

#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../services/aggregator/store.h"
#include "kh.pb-c.h"
#include "kh_audit.h"
#include "kh_catalog.h"
#include "kh_cells.h"
#include "kh_config.h"
#include "kh_db.h"
#include "kh_keys.h"
#include "kh_sign.h"
#include "kh_util.h"

static const char verify_usage[] =
    "usage: kh-admin [--config FILE] verify --report ID[/REV] [--db FILE]\n"
    "       kh-admin [--config FILE] verify --totals [--db FILE]\n"
    "--report: shows which key signed a report the province holds, and whether the\n"
    "signature is valid: ID is \"<unit>-<period>\" (e.g. <unit>-2020S2) for the revision\n"
    "that is counted, ID/REV for one revision.  The key must be registered for the report's\n"
    "district and valid when the report was received ([security] keys_db), the signature\n"
    "must verify over the report's canonical bytes, and their digest must be the one the\n"
    "audit log recorded when the revision was applied.\n"
    "Exit 0: valid; 1: invalid; 2: no such report, or a database cannot be read.\n"
    "--totals: recomputes every total of every unit and half-year from the\n"
    "counted reports, as the aggregator computes them, checks each counted report as\n"
    "--report does (its signature unless [security] verify_signatures = no), and compares\n"
    "with the totals stored in the aggregator's database ([aggregator] db, or --db FILE: a\n"
    "copy or a backup).  Prints one line per cell that differs, is stored but counted by\n"
    "no report, or is counted but missing (period/orgunit/indicator, stored and recomputed\n"
    "value), then \"totals verified: N cells of M reports match\".  Whole-number sums must\n"
    "be equal; sums with decimals (scores) within one part in a billion (rounding).\n"
    "Exit 0: all match; 1: differences, or a counted report that does not hold; 2: cannot\n"
    "tell (a database, the key registry or the catalogue cannot be read).\n";

/* The key registry ([security] keys_db), as the aggregator reads it.  Returns 0, or -1
 * after printing why. */
static int open_keys(kh_config_t *cfg, kh_keys_t **keys)
{
    char keys_path[PATH_MAX], err[512];
    if (kh_config_str(cfg, "security", "keys_db", keys_path,
                      sizeof keys_path) < 0 || access(keys_path, R_OK) != 0) {
        fprintf(stderr, "kh-admin: %s: no key registry there ([security] keys_db)\n", keys_path);
        return -1;
    }
    if (kh_keys_open(keys, keys_path, err, sizeof err) < 0) {
        fprintf(stderr, "kh-admin: %s\n", err);
        return -1;
    }
    return 0;
}

/* The audit log's record of (report_id/revision): its seq and digest.  1 found, 0 not,
 * -1 no audit table (a database from before the audit log). */
static int audit_digest(sqlite3 *db, const char *subject, long long *seq, char digest[65])
{
    int64_t s = 0;
    char *body = NULL;
    digest[0] = '\0';
    int rc = kh_audit_first(db, "revision", subject, &s, &body);
    if (rc != KH_OK)
        return rc == KH_NO ? 0 : -1;
    *seq = s;
    json_t *b = json_loads(body, 0, NULL);
    const char *d = json_string_value(json_object_get(b, "digest"));
    snprintf(digest, 65, "%s", d ? d : "");
    json_decref(b);
    free(body);
    return 1;
}

/* ---- --totals -------------------------------------------------------------------------- */

/* A cell of one half-year. */
typedef struct {
    char period[32];
    kh_cell_t c;
} pcell_t;

typedef struct {
    pcell_t *v;
    size_t n, cap;
} pcells_t;

static int pcells_push(pcells_t *p, const char *period, const kh_cell_t *c)
{
    if (KH_GROW(p->v, p->n, p->cap, 1024) < 0)
        return -1;
    kh_strlcpy(p->v[p->n].period, period, sizeof p->v[0].period);
    p->v[p->n++].c = *c;
    return 0;
}

static int pcell_cmp(const void *x, const void *y)
{
    const pcell_t *a = x, *b = y;
    int c = strcmp(a->period, b->period);
    return c ? c : kh_cell_cmp(&a->c, &b->c);
}

/* The reporting units' cells under one ancestor and half-year, for its roll-up. */
typedef struct {
    char period[32], unit[KH_CODE_MAX];
    kh_cells_t cells;
} group_t;

/* Equal as the aggregator would keep them: whole numbers add exactly in a double (below
 * 2^53), so they must be equal; a sum with decimals is a running sum (revision by
 * revision) and may differ from a fresh one in its last digits. */
static int same_sum(double a, double b)
{
    if (a == b)
        return 1;
    if (a == floor(a) && b == floor(b) && fabs(a) < 9e15 && fabs(b) < 9e15)
        return 0;
    return fabs(a - b) <= 1e-9 * fmax(1.0, fmax(fabs(a), fabs(b)));
}

/* The shortest form that reads back as the same double. */
static void fmt_num(double x, char *out, size_t cap)
{
    snprintf(out, cap, "%.15g", x);
    if (strtod(out, NULL) != x)
        snprintf(out, cap, "%.17g", x);
}

static const char fix_hint[] = "restore aggregator.db from a backup";

static int verify_totals(const char *config_path, const char *db_path)
{
    sqlite3 *db = NULL;
    kh_keys_t *keys = NULL;
    kh_config_t *cfg = NULL;
    kh_catalog_t *cat = NULL;
    sqlite3_stmt *st = NULL;
    pcells_t rec = {0};
    group_t *groups = NULL;
    size_t n_groups = 0, cap_groups = 0;
    int rc = 2, in_txn = 0;
    long reports = 0, report_problems = 0, cells = 0, differ = 0;
    char err[1024];
    if (!(cfg = kh_config_load(config_path, err, sizeof err))) {
        fprintf(stderr, "kh-admin: %s\n", err);
        goto out;
    }
    if (!(cat = kh_catalog_from_config(cfg, err, sizeof err))) {
        fprintf(stderr, "kh-admin: cannot load the catalogue to recompute the totals: %s\n", err);
        goto out;
    }
    const char *vs = kh_config_raw(cfg, "security", "verify_signatures");
    int check_sigs = strcmp(vs, "no") != 0;
    if (check_sigs && open_keys(cfg, &keys) < 0)
        goto out;
    if (admin_open_aggregator_db(config_path, db_path, &db) < 0)
        goto out;
    /* one read transaction: the counted reports and the totals of the same moment */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        goto db_error;
    in_txn = 1;
    if (!(st = ag_store_counted_all(db)))
        goto db_error;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *district = (const char *)sqlite3_column_text(st, 0);
        const char *period = (const char *)sqlite3_column_text(st, 1);
        const char *report_id = (const char *)sqlite3_column_text(st, 2);
        long long rev = sqlite3_column_int64(st, 3);
        reports++;
        if (sqlite3_column_type(st, 4) == SQLITE_NULL) {
            printf("report %s/%lld: counted for %s %s, but the database holds no such accepted "
                   "revision: its cells cannot be recomputed (the counted or accepted table was "
                   "changed) — %s\n", report_id, rev, district, period, fix_hint);
            report_problems++;
            continue;
        }
        Kh__Verdict *v = ag_store_unpack(sqlite3_column_blob(st, 4),
                                         (size_t)sqlite3_column_bytes(st, 4));
        const Kh__Report *r = v ? v->report : NULL;
        if (!r || strcmp(r->report_id, report_id) != 0 || (long long)r->revision != rev ||
            strcmp(r->district, district) != 0 || strcmp(r->period, period) != 0) {
            printf("report %s/%lld: the stored verdict %s — %s\n", report_id, rev,
                   r ? "is for another report, district or period" : "does not decode",
                   fix_hint);
            report_problems++;
            if (v)
                kh__verdict__free_unpacked(v, NULL);
            continue;
        }
        /* as --report: the signature, and the digest the audit log recorded */
        char why[512], digest[65];
        uint8_t pk[32];
        int sig = KH_OK;
        if (check_sigs)
            sig = kh_sign_check(keys, r, kh_sign_key_time(r), pk, digest, NULL, NULL, 0, why,
                                sizeof why);
        else
            kh_sign_digest(r, digest);
        if (sig == KH_ERR) {
            fprintf(stderr, "kh-admin: the key registry: %s\n", why);
            kh__verdict__free_unpacked(v, NULL);
            rc = 2;
            goto out;
        }
        if (sig == KH_NO) {
            printf("report %s/%lld: counted, but its signature is INVALID: %s (kh-admin verify "
                   "--report %s/%lld) — %s\n", report_id, rev, why, report_id, rev, fix_hint);
            report_problems++;
        }
        json_t *ab = sqlite3_column_type(st, 5) == SQLITE_NULL
                         ? NULL
                         : json_loads((const char *)sqlite3_column_text(st, 5), 0, NULL);
        const char *logged = json_string_value(json_object_get(ab, "digest"));
        if (logged && strcmp(logged, digest) != 0) {
            printf("report %s/%lld: the stored report is not the one the audit log recorded "
                   "when it was applied (digest sha256:%s, recorded sha256:%s) — %s\n",
                   report_id, rev, digest, logged, fix_hint);
            report_problems++;
        }
        json_decref(ab);
        const kh_unit_t *anc[KH_MAX_LEVELS];
        int n_anc = kh_cells_ancestors(cat, district, period, anc, KH_MAX_LEVELS);
        if (n_anc < 0) {
            fprintf(stderr, "kh-admin: report %s/%lld: %s is no unit of the catalogue at the "
                    "end of %s, so the units above it cannot be told (is [general] data_dir "
                    "the aggregator's catalogue?)\n", report_id, rev, district, period);
            kh__verdict__free_unpacked(v, NULL);
            goto out;
        }
        kh_cells_t communes = {0}, dist = {0};
        int ok = kh_cells_from_report(cat, r, &communes, &dist) == 0;
        for (size_t i = 0; ok && i < dist.n; i++)
            ok = pcells_push(&rec, period, &dist.v[i]) == 0;
        for (int k = 0; ok && k < n_anc; k++) {
            group_t *g = NULL;
            for (size_t i = 0; i < n_groups && !g; i++)
                if (!strcmp(groups[i].period, period) && !strcmp(groups[i].unit, anc[k]->code))
                    g = &groups[i];
            if (!g) {
                ok = KH_GROW(groups, n_groups, cap_groups, 16) == 0;
                if (ok) {
                    g = &groups[n_groups++];
                    memset(g, 0, sizeof *g);
                    kh_strlcpy(g->period, period, sizeof g->period);
                    kh_strlcpy(g->unit, anc[k]->code, sizeof g->unit);
                }
            }
            for (size_t i = 0; ok && i < dist.n; i++)
                ok = kh_cells_push(&g->cells, dist.v[i].orgunit, dist.v[i].indicator,
                                   dist.v[i].sum, dist.v[i].n) == 0;
        }
        kh_cells_free(&communes);
        kh_cells_free(&dist);
        kh__verdict__free_unpacked(v, NULL);
        if (!ok) {
            fprintf(stderr, "kh-admin: out of memory\n");
            goto out;
        }
    }
    if (step != SQLITE_DONE)
        goto db_error;
    sqlite3_finalize(st);
    st = NULL;
    /* the ancestors' cells: the reporting units under each rolled up, as the aggregator
     * adds them */
    for (size_t i = 0; i < n_groups; i++) {
        kh_cells_t prov = {0};
        int ok = kh_cells_rollup(&groups[i].cells, groups[i].unit, &prov) == 0;
        for (size_t j = 0; ok && j < prov.n; j++)
            ok = pcells_push(&rec, groups[i].period, &prov.v[j]) == 0;
        kh_cells_free(&prov);
        if (!ok) {
            fprintf(stderr, "kh-admin: out of memory\n");
            goto out;
        }
    }
    if (rec.n > 1)
        qsort(rec.v, rec.n, sizeof *rec.v, pcell_cmp);
    cells = (long)rec.n;

    /* the stored totals against them, both ways (both in (period, orgunit, indicator) order) */
    if (!(st = ag_store_totals_all(db)))
        goto db_error;
    size_t j = 0;
    for (;;) {
        step = sqlite3_step(st);
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            goto db_error;
        pcell_t s;
        memset(&s, 0, sizeof s);
        if (step == SQLITE_ROW) {
            const char *p = (const char *)sqlite3_column_text(st, 0);
            const char *o = (const char *)sqlite3_column_text(st, 1);
            const char *ind = (const char *)sqlite3_column_text(st, 2);
            snprintf(s.period, sizeof s.period, "%s", p ? p : "");
            snprintf(s.c.orgunit, sizeof s.c.orgunit, "%s", o ? o : "");
            snprintf(s.c.indicator, sizeof s.c.indicator, "%s", ind ? ind : "");
            s.c.sum = sqlite3_column_double(st, 3);
            s.c.n = (uint32_t)sqlite3_column_int64(st, 4);
            if (sqlite3_column_int64(st, 4) < 0 || sqlite3_column_int64(st, 4) > UINT32_MAX)
                s.c.n = UINT32_MAX;                  /* no cell has that: shows as different */
        }
        /* the recomputed cells before this stored one (or all that remain) */
        while (j < rec.n && (step == SQLITE_DONE || pcell_cmp(&rec.v[j], &s) < 0)) {
            const pcell_t *e = &rec.v[j++];
            char a[40];
            fmt_num(e->c.sum, a, sizeof a);
            printf("cell %s/%s/%s: stored: none, recomputed %s (n %u) from the counted reports: "
                   "the total is missing from the database — %s\n", e->period, e->c.orgunit,
                   e->c.indicator, a, e->c.n, fix_hint);
            differ++;
        }
        if (step == SQLITE_DONE)
            break;
        char a[40], b[40];
        fmt_num(s.c.sum, a, sizeof a);
        if (j < rec.n && pcell_cmp(&rec.v[j], &s) == 0) {
            const pcell_t *e = &rec.v[j++];
            if (e->c.n == s.c.n && same_sum(e->c.sum, s.c.sum))
                continue;
            fmt_num(e->c.sum, b, sizeof b);
            printf("cell %s/%s/%s: stored %s (n %lld), recomputed %s (n %u) from the counted "
                   "reports: the stored total was changed — %s\n", s.period, s.c.orgunit,
                   s.c.indicator, a, (long long)sqlite3_column_int64(st, 4), b, e->c.n,
                   fix_hint);
            differ++;
        } else {
            /* a province cell every report left (n 0, sum 0 up to rounding) is none */
            if (sqlite3_column_int64(st, 4) == 0 && fabs(s.c.sum) < 1e-6)
                continue;
            printf("cell %s/%s/%s: stored %s (n %lld), recomputed: none (no counted report "
                   "gives it): the stored total was added or changed — %s\n", s.period,
                   s.c.orgunit, s.c.indicator, a, (long long)sqlite3_column_int64(st, 4),
                   fix_hint);
            differ++;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (check_sigs)
        printf("signatures: %ld counted report(s) checked with the key registry\n", reports);
    else
        printf("signatures: not checked ([security] verify_signatures = no)\n");
    if (differ == 0 && report_problems == 0) {
        printf("totals verified: %ld cells of %ld reports match\n", cells, reports);
        rc = 0;
    } else {
        printf("totals DIFFER: %ld of the %ld cells recomputed from %ld reports differ or are "
               "missing or extra; %ld counted report(s) do not hold (see above).  What to do: "
               "the province's totals are not what its counted reports give: stop the "
               "aggregator, keep this database as evidence, restore aggregator.db from a "
               "backup and run kh-admin verify --totals and kh-admin audit verify on it; the "
               "audit log's \"value\" entries for a cell (subject period/orgunit/indicator) "
               "say when it last changed and by which report.\n",
               differ, cells, reports, report_problems);
        rc = 1;
    }
    goto out;
db_error:
    fprintf(stderr, "kh-admin: aggregator database: %s\n", sqlite3_errmsg(db));
    rc = 2;
out:
    sqlite3_finalize(st);
    if (in_txn)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    for (size_t i = 0; i < n_groups; i++)
        kh_cells_free(&groups[i].cells);
    free(groups);
    free(rec.v);
    kh_catalog_destroy(&cat);
    kh_keys_destroy(&keys);
    kh_config_destroy(&cfg);
    if (db)
        sqlite3_close(db);
    return rc;
}

int admin_verify(int argc, char **argv, const char *config_path)
{
    const char *arg = NULL, *db_path = NULL;
    int totals = 0;
    static const struct option opts[] = {{"report", required_argument, 0, 'r'},
                                         {"totals", no_argument, 0, 't'},
                                         {"db", required_argument, 0, 'd'},
                                         {"config", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "r:td:c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'r': arg = optarg; break;
        case 't': totals = 1; break;
        case 'd': db_path = optarg; break;
        case 'c': config_path = optarg; break;
        case 'h': fputs(verify_usage, stdout); return 0;
        default: fprintf(stderr, "kh-admin: bad option; see kh-admin verify --help\n"); return 2;
        }
    }
    if (optind < argc || (totals && arg)) {
        fprintf(stderr, "kh-admin: verify takes --report ID[/REV] or --totals (see kh-admin "
                "verify --help)\n");
        return 2;
    }
    if (totals)
        return verify_totals(config_path, db_path);
    if (!arg) {
        fprintf(stderr, "kh-admin: verify needs --report ID[/REV] (ID = <unit code>-<period>, e.g. <unit>-2020S2) or "
                "--totals\n");
        return 2;
    }
    char id[96];
    long rev = 0;
    const char *slash = strchr(arg, '/');
    if (kh_strlcpy(id, arg, sizeof id) < 0 ||
        (slash && kh_parse_long(slash + 1, 1, 0x7fffffffL, &rev) < 0)) {
        fprintf(stderr, "kh-admin: '%s' is not ID or ID/REV (ID = <unit code>-<period>, e.g. <unit>-2020S2/2)\n", arg);
        return 2;
    }
    if (slash)
        id[slash - arg] = '\0';

    sqlite3 *db = NULL;
    kh_keys_t *keys = NULL;
    kh_config_t *cfg = NULL;
    Kh__Verdict *v = NULL;
    int rc = 2;
    char err[512];
    if (admin_open_aggregator_db(config_path, db_path, &db) < 0)
        goto out;
    /* which revision, and what became of it */
    int64_t counted64 = 0;
    if (ag_store_counted_revision(db, id, &counted64) == KH_ERR) {
        fprintf(stderr, "kh-admin: aggregator database: %s\n", sqlite3_errmsg(db));
        goto out;
    }
    long counted_rev = (long)counted64;
    if (!rev && !counted_rev) {
        fprintf(stderr, "kh-admin: no revision of %s is counted (ask for one: --report %s/REV)\n",
                id, id);
        goto out;
    }
    if (!rev)
        rev = counted_rev;
    const char *state = NULL;
    int accepted = 0, found = ag_store_verdict(db, id, rev, &v, &accepted);
    if (found == KH_ERR) {
        fprintf(stderr, "kh-admin: aggregator database: %s\n", sqlite3_errmsg(db));
        goto out;
    }
    if (found == KH_OK)
        state = !accepted         ? "rejected, not counted"
                : rev == counted_rev ? "counted: the revision the province counts"
                                     : "accepted, not counted (another revision is)";
    if (!state) {
        fprintf(stderr, "kh-admin: the aggregator has no revision %ld of %s\n", rev, id);
        goto out;
    }
    if (!v || !v->report) {
        fprintf(stderr, "kh-admin: %s/%ld: the stored verdict does not decode\n", id, rev);
        goto out;
    }
    const Kh__Report *r = v->report;

    /* the key registry, as the aggregator reads it */
    if (!(cfg = kh_config_load(config_path, err, sizeof err))) {
        fprintf(stderr, "kh-admin: %s\n", err);
        goto out;
    }
    if (open_keys(cfg, &keys) < 0)
        goto out;

    char received[32], digest[65], logged[65] = "", subject[128];
    kh_iso_time(r->received_at, received, sizeof received);
    snprintf(subject, sizeof subject, "%s/%u", r->report_id, r->revision);
    long long aseq = 0;
    int in_audit = audit_digest(db, subject, &aseq, logged);

    printf("report %s revision %u: %s\n", r->report_id, r->revision, state);
    printf("  unit         %s\n", r->district);
    printf("  period       %s\n", r->period);
    char file[KH_ESCAPE_CAP(256)];        /* the district's file name, escaped */
    kh_escape(r->source_name, file, sizeof file);          /* cut past 256 bytes */
    printf("  file         %s\n", file);
    printf("  received     %s\n", received);
    printf("  values       %zu\n", r->n_values);
    printf("  signer       %s\n", r->signer[0] ? r->signer : "(none: the report is not signed)");
    const char *problem = NULL;
    char why[512];
    uint8_t pk[32];
    kh_sign_why_t refused = 0;
    int sig = kh_sign_check(keys, r, kh_sign_key_time(r), pk, digest, &refused, NULL, 0, why,
                            sizeof why);
    if (sig == KH_ERR) {
        fprintf(stderr, "kh-admin: the key registry: %s\n", why);
        rc = 2;
        goto out;
    }
    if (sig == KH_NO && refused != KH_SIGN_MISMATCH) {
        problem = why;
    } else {
        char fp[17];
        kh_key_fingerprint(pk, fp);
        printf("  key          registered for unit %s, valid when received\n", r->district);
        printf("  fingerprint  %s\n", fp);
        if (sig == KH_NO)
            problem = why;
    }
    printf("  digest       sha256:%s\n", digest);
    if (in_audit == 1)
        printf("  audit        entry %lld recorded digest sha256:%s — %s\n", aseq, logged,
               strcmp(logged, digest) == 0 ? "the same" : "DIFFERENT");
    else
        printf("  audit        %s\n", in_audit == 0 ? "no entry for this revision"
                                                    : "no audit log in this database");
    if (!problem && in_audit == 1 && strcmp(logged, digest) != 0)
        problem = "the stored report is not the one the audit log recorded when it was applied";
    if (problem) {
        printf("  signature    INVALID: %s\n", problem);
        rc = 1;
    } else {
        printf("  signature    VALID: signed by %s, the key of district %s\n", r->signer,
               r->district);
        rc = 0;
    }
out:
    if (v)
        kh__verdict__free_unpacked(v, NULL);
    kh_keys_destroy(&keys);
    kh_config_destroy(&cfg);
    if (db)
        sqlite3_close(db);
    return rc;
}
