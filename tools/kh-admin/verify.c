/*
 * verify.c — `kh-admin verify --report ID[/REV]`: which district's key signed the
 * numbers the province counted.
 *
 * Reads the revision from the aggregator's database (the counted one for ID, or the
 * given revision), looks its signer up in the key registry as the aggregator does
 * (a key registered for the report's district and valid when the report was received),
 * checks the Ed25519 signature over the report's canonical bytes (lib/kh_sign.h), and
 * compares their digest with the one the audit log recorded when the revision was
 * applied.  Exit 0: valid; 1: invalid (no signature, no such key for that district,
 * signature wrong, digest differs from the audit log); 2: cannot tell (no such report,
 * unreadable database, usage).
 */
#include "admin.h"

#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kh.pb-c.h"
#include "kh_config.h"
#include "kh_db.h"
#include "kh_keys.h"
#include "kh_sign.h"
#include "kh_util.h"

static const char verify_usage[] =
    "usage: kh-admin [--config FILE] verify --report ID[/REV]\n"
    "Shows which key signed a report the province holds, and whether the signature is\n"
    "valid: ID is \"<district>-<period>\" (e.g. 829-2020S2) for the revision that is\n"
    "counted, ID/REV for one revision.  The key must be registered for the report's\n"
    "district and valid when the report was received ([security] keys_db), the signature\n"
    "must verify over the report's canonical bytes, and their digest must be the one the\n"
    "audit log recorded when the revision was applied.\n"
    "Exit 0: valid; 1: invalid; 2: no such report, or a database cannot be read.\n";

/* The audit log's record of (report_id/revision): its seq and digest.  1 found, 0 not,
 * -1 no audit table (a database from before the audit log). */
static int audit_digest(sqlite3 *db, const char *subject, long long *seq, char digest[65])
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT seq, body FROM audit WHERE kind='revision' AND "
                               "subject=? ORDER BY seq LIMIT 1", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, subject, -1, SQLITE_STATIC);
    int found = 0;
    digest[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW) {
        found = 1;
        *seq = sqlite3_column_int64(st, 0);
        json_t *b = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        const char *d = json_string_value(json_object_get(b, "digest"));
        snprintf(digest, 65, "%s", d ? d : "");
        json_decref(b);
    }
    sqlite3_finalize(st);
    return found;
}

int admin_verify(int argc, char **argv, const char *config_path)
{
    const char *arg = NULL;
    static const struct option opts[] = {{"report", required_argument, 0, 'r'},
                                         {"config", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "r:c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'r': arg = optarg; break;
        case 'c': config_path = optarg; break;
        case 'h': fputs(verify_usage, stdout); return 0;
        default: fprintf(stderr, "kh-admin: bad option; see kh-admin verify --help\n"); return 2;
        }
    }
    if (!arg || optind < argc) {
        fprintf(stderr, "kh-admin: verify needs --report ID[/REV] (e.g. 829-2020S2)\n");
        return 2;
    }
    char id[96];
    long rev = 0;
    const char *slash = strchr(arg, '/');
    if (kh_strlcpy(id, arg, sizeof id) < 0 ||
        (slash && kh_parse_long(slash + 1, 1, 0x7fffffffL, &rev) < 0)) {
        fprintf(stderr, "kh-admin: '%s' is not ID or ID/REV (e.g. 829-2020S2/2)\n", arg);
        return 2;
    }
    if (slash)
        id[slash - arg] = '\0';

    sqlite3 *db = NULL, *keys = NULL;
    kh_config_t *cfg = NULL;
    Kh__Verdict *v = NULL;
    int rc = 2;
    char err[512];
    if (admin_open_aggregator_db(config_path, NULL, &db) < 0)
        goto out;
    /* which revision, and what became of it */
    long counted_rev = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT revision FROM counted WHERE report_id=?", -1, &st,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "kh-admin: aggregator database: %s\n", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        counted_rev = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (!rev && !counted_rev) {
        fprintf(stderr, "kh-admin: no revision of %s is counted (ask for one: --report %s/REV)\n",
                id, id);
        goto out;
    }
    if (!rev)
        rev = counted_rev;
    const char *state = NULL;
    if (sqlite3_prepare_v2(db, "SELECT verdict, 1 FROM accepted WHERE report_id=?1 AND "
                               "revision=?2 UNION ALL SELECT verdict, 0 FROM rejected WHERE "
                               "report_id=?1 AND revision=?2", -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "kh-admin: aggregator database: %s\n", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, rev);
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = kh__verdict__unpack(NULL, (size_t)sqlite3_column_bytes(st, 0),
                                sqlite3_column_blob(st, 0));
        state = sqlite3_column_int(st, 1) == 0 ? "rejected, not counted"
                : rev == counted_rev          ? "counted: the revision the province counts"
                                              : "accepted, not counted (another revision is)";
    }
    sqlite3_finalize(st);
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
    char keys_path[PATH_MAX];
    if (!(cfg = kh_config_load(config_path, err, sizeof err))) {
        fprintf(stderr, "kh-admin: %s\n", err);
        goto out;
    }
    if (kh_config_str(cfg, "security", "keys_db", "%RUN%/keys.db", keys_path,
                      sizeof keys_path) < 0 || access(keys_path, R_OK) != 0) {
        fprintf(stderr, "kh-admin: %s: no key registry there ([security] keys_db)\n", keys_path);
        goto out;
    }
    if (kh_keys_open(&keys, keys_path, err, sizeof err) < 0) {
        fprintf(stderr, "kh-admin: %s\n", err);
        goto out;
    }

    char received[32], digest[65], logged[65] = "", subject[128];
    kh_iso_time(r->received_at, received, sizeof received);
    kh_sign_digest(r, digest);
    snprintf(subject, sizeof subject, "%s/%u", r->report_id, r->revision);
    long long aseq = 0;
    int in_audit = audit_digest(db, subject, &aseq, logged);

    printf("report %s revision %u: %s\n", r->report_id, r->revision, state);
    printf("  district     %s\n", r->district);
    printf("  period       %s\n", r->period);
    printf("  file         %s\n", r->source_name);
    printf("  received     %s\n", received);
    printf("  values       %zu\n", r->n_values);
    printf("  signer       %s\n", r->signer[0] ? r->signer : "(none: the report is not signed)");
    const char *problem = NULL;
    char why[256];
    uint8_t pk[32];
    if (!r->signer[0] || r->signature.len == 0) {
        problem = "the report carries no signature";
    } else if (kh_keys_signing_key(keys, r->signer, r->district, r->arrived_at ? r->arrived_at : r->received_at, pk) != 0) {
        snprintf(why, sizeof why, "key '%s' is not a key registered for district %s and valid "
                 "at %s (unknown, revoked or expired)", r->signer, r->district, received);
        problem = why;
    } else {
        char fp[17];
        kh_key_fingerprint(pk, fp);
        printf("  key          registered for district %s, valid when received\n", r->district);
        printf("  fingerprint  %s\n", fp);
        if (kh_sign_verify(r, pk) != 0)
            problem = "the signature does not match the report's contents under that key";
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
    kh_db_close(&keys);
    kh_config_destroy(&cfg);
    if (db)
        sqlite3_close(db);
    return rc;
}
