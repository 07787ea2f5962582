/*
 * audit.c — `kh-admin audit verify [--db FILE]`: checks the aggregator's audit log
 * (lib/security/kh_audit.h) twice: the hash chain (names the first broken link), and the signed
 * checkpoints ([aggregator] audit_checkpoints, verified with the .pub of [aggregator]
 * audit_key), which name an entry rewritten even when every later hash was recomputed,
 * and entries cut off the end or removed.
 *
 *   exit 0  chain intact and every signed entry as signed ("audit log verified: …")
 *   exit 1  a broken link, a checkpoint finding, or entries that no checkpoint signs
 *           (no checkpoint file while the database holds entries)
 *   exit 2  the database cannot be read; the checkpoint file exists but the public key
 *           to check it does not; a usage error
 *
 * Also here: admin_open_aggregator_db, shared by the subcommands.
 */
#include "admin.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kh_audit.h"
#include "kh_config.h"
#include "kh_keys.h"
#include "kh_util.h"

#define FINDINGS_SHOWN 200

static const char audit_usage[] =
    "usage: kh-admin [--config FILE] audit verify [--db FILE]\n"
    "Checks the aggregator's audit log ([aggregator] db, or --db FILE: a copy or a backup):\n"
    "every revision applied and every change of a unit's total is an entry\n"
    "holding the hash of the one before, and after each commit the aggregator signs the new\n"
    "entries' hashes with its audit key as one line of the checkpoint file ([aggregator]\n"
    "audit_checkpoints, checked with the .pub beside [aggregator] audit_key).\n"
    "Prints \"audit chain intact: N entries\" or \"audit chain broken at entry SEQ: …\" (the\n"
    "first entry changed, or whose link to the one before is wrong), then each checkpoint\n"
    "finding: an entry rewritten (its hash differs from the one signed, even if every later\n"
    "hash was recomputed), entries cut off the end or removed (with the checkpoint that\n"
    "signed them), a checkpoint line that does not verify.  Entries written since the last\n"
    "checkpoint are listed as not signed yet (not a finding).\n"
    "Exit 0: \"audit log verified\"; 1: a finding — also when the database holds entries\n"
    "but no checkpoint signs any (no checkpoint file: nothing could show a rewrite or a\n"
    "cut); 2: the database cannot be read, or the checkpoint file exists but its public key\n"
    "cannot be read (copy the .pub from the aggregator's host).\n"
    "The last entries cut off together with the last checkpoint lines look like a shorter\n"
    "log: compare the last checkpoint printed with the last audit.checkpoint line of the\n"
    "log stream (kh-logs), which leaves the machine.\n";

int admin_open_aggregator_db(const char *config_path, const char *db_path, sqlite3 **db)
{
    *db = NULL;
    char err[512], path[PATH_MAX];
    if (db_path) {
        if (kh_strlcpy(path, db_path, sizeof path) < 0) {
            fprintf(stderr, "kh-admin: --db: the path is too long\n");
            return -1;
        }
    } else {
        kh_config_t *cfg = kh_config_load(config_path, err, sizeof err);
        if (!cfg) {
            fprintf(stderr, "kh-admin: %s\n", err);
            return -1;
        }
        int rc = kh_config_str(cfg, "aggregator", "db", path,
                               sizeof path);
        kh_config_destroy(&cfg);
        if (rc < 0) {
            fprintf(stderr, "kh-admin: [aggregator] db is too long\n");
            return -1;
        }
    }
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "kh-admin: %s: no aggregator database there (%s)\n", path,
                db_path ? "--db" : "[aggregator] db");
        return -1;
    }
    /* read-write without create: a WAL database may need its -shm made; nothing is
     * written (query_only) */
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(*db, "PRAGMA query_only=1", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "kh-admin: %s: %s\n", path, *db ? sqlite3_errmsg(*db) : "out of memory");
        sqlite3_close(*db);
        *db = NULL;
        return -1;
    }
    sqlite3_busy_timeout(*db, 5000);
    return 0;
}

typedef struct {
    long shown, more;
} shown_t;

static void print_finding(void *arg, const char *line)
{
    shown_t *s = arg;
    if (s->shown < FINDINGS_SHOWN) {
        printf("%s\n", line);
        s->shown++;
    } else {
        s->more++;
    }
}

/* The public key that checks the checkpoints: the .pub beside [aggregator] audit_key, or
 * the key file itself.  Returns 0, or -1 with why. */
static int audit_public_key(const char *key_path, uint8_t pk[32], char *fp, char *pub,
                            size_t pubcap, char *why, size_t cap)
{
    kh_key_t k;
    char err[512];
    pub[0] = '\0';
    if (kh_key_pub_path(key_path, pub, pubcap) < 0) {
        snprintf(why, cap, "[aggregator] audit_key = %.400s does not end in .key", key_path);
        return -1;
    }
    if (kh_key_read(pub, &k, err, sizeof err) < 0 && kh_key_read(key_path, &k, why, cap) < 0) {
        snprintf(why, cap, "%s", err);
        return -1;
    }
    memcpy(pk, k.ed_pk, 32);
    kh_key_fingerprint(k.ed_pk, fp);
    return 0;
}

int admin_audit(int argc, char **argv, const char *config_path)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(audit_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "verify") != 0) {
        fprintf(stderr, "kh-admin: unknown audit command '%s'; see kh-admin audit --help\n",
                argv[1]);
        return 2;
    }
    const char *db_path = NULL;
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"db", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': config_path = optarg; break;
        case 'd': db_path = optarg; break;
        case 'h': fputs(audit_usage, stdout); return 0;
        default: fprintf(stderr, "kh-admin: bad option; see kh-admin audit --help\n"); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kh-admin: audit verify takes no argument ('%s')\n", argv[optind]);
        return 2;
    }
    char err[512], key_path[PATH_MAX], cp_path[PATH_MAX];
    kh_config_t *cfg = kh_config_load(config_path, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "kh-admin: %s\n", err);
        return 2;
    }
    int too_long = kh_config_str(cfg, "aggregator", "audit_key", key_path,
                                 sizeof key_path) < 0 ||
                   kh_config_str(cfg, "aggregator", "audit_checkpoints", cp_path, sizeof cp_path) < 0;
    kh_config_destroy(&cfg);
    if (too_long) {
        fprintf(stderr, "kh-admin: [aggregator] audit_key or audit_checkpoints is too long\n");
        return 2;
    }
    sqlite3 *db;
    if (admin_open_aggregator_db(config_path, db_path, &db) < 0)
        return 2;

    /* 1. the hash chain */
    int64_t broken = 0;
    char why[512];
    int chain = kh_audit_verify(db, &broken, why, sizeof why);
    if (chain < 0) {
        fprintf(stderr, "kh-admin: cannot read the audit log: %s\n", why);
        sqlite3_close(db);
        return 2;
    }
    int64_t n = kh_audit_count(db);
    if (chain == 1) {
        /* why starts with "entry SEQ: " — the sentence below names it already */
        const char *colon = strstr(why, ": ");
        printf("audit chain broken at entry %lld: %s\n", (long long)broken,
               colon ? colon + 2 : why);
    } else {
        printf("audit chain intact: %lld entries\n", (long long)n);
        int64_t last = 0;
        char hash[65];
        if (n > 0 && kh_audit_last(db, &last, hash) == KH_OK)
            printf("last entry %lld, hash %s\n", (long long)last, hash);
    }

    /* 2. the signed checkpoints */
    int rc = chain == 1 ? 1 : 0, unanchored = 0;
    uint8_t pk[32];
    char fp[17], pub[PATH_MAX];
    int have_file = access(cp_path, F_OK) == 0;
    if (audit_public_key(key_path, pk, fp, pub, sizeof pub, why, sizeof why) < 0) {
        if (have_file) {
            printf("checkpoints: cannot be checked: %s — copy the aggregator's audit public "
                   "key (%s on its host) here, or point [aggregator] audit_key at it\n", why,
                   pub[0] ? pub : key_path);
            rc = rc ? rc : 2;
        } else if (n > 0) {
            printf("checkpoints: none — no checkpoint file %s and no audit key %s: nothing "
                   "shows whether entries were rewritten or cut off (the aggregator makes both "
                   "when it starts)\n", cp_path, key_path);
            rc = 1;
            unanchored = 1;
        } else {
            printf("checkpoints: none yet (no checkpoint file %s)\n", cp_path);
        }
        goto verdict;
    }
    kh_audit_cp_summary_t sum;
    shown_t shown = {0};
    int cp = kh_audit_checkpoints_verify(db, cp_path, pk, print_finding, &shown, &sum, err,
                                         sizeof err);
    if (cp < 0) {
        printf("checkpoints: cannot be checked: %s\n", err);
        rc = rc ? rc : 2;
        goto verdict;
    }
    if (shown.more)
        printf("… and %ld more finding(s)\n", shown.more);
    if (sum.good_lines > 0) {
        char at[32];
        kh_iso_time(sum.last_at, at, sizeof at);
        printf("checkpoints: %s, %lld line(s) signed by key %s (%s); the last signed entry "
               "%lld at %s, hash %s\n", cp_path, (long long)sum.lines, fp, pub,
               (long long)sum.signed_to, at, sum.last_hash);
    } else if (!cp) {
        printf("checkpoints: none yet (%s)\n", sum.file_missing ? "no checkpoint file"
                                                              : "the checkpoint file is empty");
    }
    if (sum.unsigned_from)
        printf("not signed yet: %s %lld–%lld (written since the last checkpoint: the "
               "aggregator signs them after its next commit, or when it starts again)\n",
               sum.unsigned_from == sum.last_seq ? "entry" : "entries",
               (long long)sum.unsigned_from, (long long)sum.last_seq);
    if (cp == 1)
        rc = 1;
    unanchored = n > 0 && sum.good_lines == 0;

verdict:
    if (rc == 0)
        printf("audit log verified: %lld entries, every signed one as it was signed\n",
               (long long)n);
    else if (rc == 1 && unanchored)
        printf("audit log NOT verified: no checkpoint signs its entries.  What to do: restore "
               "the checkpoint file ([aggregator] audit_checkpoints) and the audit key's .pub "
               "from the aggregator's host or a backup and run kh-admin audit verify again; "
               "without them, compare the last entry's hash above with the last "
               "audit.checkpoint line of the log stream (kh-logs).\n");
    else if (rc == 1)
        printf("audit log NOT verified (see above).  What to do: stop the aggregator and keep "
               "this database as evidence; restore aggregator.db from a backup taken before "
               "the first entry named, then run kh-admin audit verify and kh-admin verify "
               "--totals on it; compare the last audit.checkpoint lines of the log stream "
               "(kh-logs) with the checkpoints above: they say what was signed when.\n");
    else
        printf("audit log not fully checked (see above)\n");
    sqlite3_close(db);
    return rc;
}
