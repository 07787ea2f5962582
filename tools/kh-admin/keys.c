/*
 * keys.c — `kh-admin keys`: the key lifecycle of districts, the province and admins.
 *
 *   kh-admin keys init-server                      the province's server key (once)
 *   kh-admin keys generate --role R --unit U --id ID   a key pair: ID.key (0600) + ID.pub
 *   kh-admin keys register FILE.pub                accept that key from now on
 *   kh-admin keys list
 *   kh-admin keys revoke ID                        refused at once, connected or not
 *   kh-admin keys rotate --old ID --new FILE.pub [--grace-hours H]
 *
 * Files go to [security] keys_dir; the registry is [security] keys_db.
 *
 * A key can only be registered for a unit that reports (issue 12, item 2): generate,
 * register and rotate refuse a role-district key whose unit is not a reporting unit of
 * the catalogue's reporters.csv ([general] data_dir) for any period — past, present or
 * future.  "Ever" rather than "today": reports are judged by the period they cover (the
 * collector refuses a report for a period in which its sender does not report), a unit
 * that reported in the past must still be able to send late reports and revisions for
 * those periods (the seed's 2017–2020 reports replayed in 2027), and one that starts
 * reporting later needs its key before its first period.  Province, analyst and admin
 * keys are not reporting keys and are not checked.  An analyst key reads the province
 * feed (kh-feed on the analyst's own computer) and nothing else: one per person, so one
 * can be revoked without touching the service account's province key.
 */
#include "admin.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "kh_catalog.h"
#include "kh_config.h"
#include "kh_keys.h"
#include "kh_util.h"

static const char keys_usage[] =
    "usage: kh-admin keys init-server\n"
    "       kh-admin keys generate --role district|province|analyst|admin --unit CODE --id ID\n"
    "       kh-admin keys register FILE.pub\n"
    "       kh-admin keys list\n"
    "       kh-admin keys revoke ID\n"
    "       kh-admin keys rotate --old ID --new FILE.pub [--grace-hours H (default 72)]\n"
    "Key files are written to [security] keys_dir; the registry is [security] keys_db.\n"
    "Roles: district (a reporting unit's node), province (the service account's kh-feed),\n"
    "analyst (one person's kh-feed: reads the feed, nothing else), admin (kh-logs).\n"
    "A district key (the role of every reporting unit) is generated, registered or rotated\n"
    "only for a unit that reports for some period in the catalogue's reporters.csv\n"
    "([general] data_dir); otherwise: exit code 3, nothing written.  Exit codes: 0 done,\n"
    "1 failed, 2 usage, 3 refused: not a reporting unit.\n";

static int open_registry(kh_config_t *cfg, kh_keys_t **keys)
{
    char path[PATH_MAX], err[512];
    if (kh_config_str(cfg, "security", "keys_db", path, sizeof path) < 0) {
        fprintf(stderr, "kh-admin: [security] keys_db is too long\n");
        return -1;
    }
    if (kh_keys_open(keys, path, err, sizeof err) < 0) {
        fprintf(stderr, "kh-admin: %s\n", err);
        return -1;
    }
    return 0;
}

/* A key of role district only for a unit that reports (the file's comment).  Returns 0
 * when the key may be made or registered, 3 (the exit code) when refused, 1 when the
 * catalogue cannot be loaded; a message on stderr for both. */
static int reporter_check(const kh_config_t *cfg, const char *role, const char *unit)
{
    if (strcmp(role, "district") != 0)
        return 0;
    char err[1024];
    kh_catalog_t *cat = kh_catalog_from_config(cfg, err, sizeof err);
    if (!cat) {
        fprintf(stderr, "kh-admin: không đọc được danh mục để kiểm tra đơn vị %s có báo cáo "
                        "hay không / cannot load the catalogue to check that unit %s reports: "
                        "%s\n", unit, unit, err);
        return 1;
    }
    int reports = kh_catalog_reports_ever(cat, unit);
    const kh_unit_t *u = kh_catalog_unit_any(cat, unit);
    if (reports != 1)
        fprintf(stderr,
                "kh-admin: %s%s%s không phải là đơn vị báo cáo trong danh mục; chỉ cấp khóa cho "
                "đơn vị có báo cáo: kiểm tra lại mã, hoặc thêm đơn vị (hay cấp của nó) vào "
                "reporters.csv trước / %s is not a reporting unit of the catalogue; a key can "
                "only be registered for a unit that reports: check the code, or add the unit "
                "(or its level) to reporters.csv in [general] data_dir first\n",
                unit, u ? " " : " (mã không có trong danh mục / not in the unit list)",
                u ? u->name : "", unit);
    kh_catalog_destroy(&cat);
    return reports == 1 ? 0 : 3;
}

/* The unit the server's key stands for: [security] province, or else the root of the
 * unit tree (the level-1 unit in force today), into out.  0, or 1 with
 * the reason on stderr. */
static int server_unit(const kh_config_t *cfg, char *out, size_t cap)
{
    const char *set = kh_config_raw(cfg, "security", "province");
    if (set && *set) {
        kh_strlcpy(out, set, cap);
        return 0;
    }
    char err[1024];
    kh_catalog_t *cat = kh_catalog_from_config(cfg, err, sizeof err);
    if (!cat) {
        fprintf(stderr, "kh-admin: cannot load the catalogue to name the server's unit (the "
                "root of the unit tree), and [security] province is not set: %s\n", err);
        return 1;
    }
    const kh_unit_t *root = NULL;
    if (kh_catalog_units_on(cat, 1, "", kh_today(), &root, 1) == 0)
        root = NULL;
    if (root)
        kh_strlcpy(out, root->code, cap);
    kh_catalog_destroy(&cat);
    if (!root) {
        fprintf(stderr, "kh-admin: the unit tree has no root in force today: set [security] "
                "province to the province's code\n");
        return 1;
    }
    return 0;
}

int admin_keys(int argc, char **argv, const char *config_path)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(keys_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1], *role = NULL, *unit = NULL, *id = NULL, *old = NULL, *next = NULL;
    long grace_h = 72;
    static const struct option opts[] = {
        {"role", required_argument, 0, 'r'}, {"unit", required_argument, 0, 'u'},
        {"id", required_argument, 0, 'i'},   {"old", required_argument, 0, 'o'},
        {"new", required_argument, 0, 'n'},  {"grace-hours", required_argument, 0, 'g'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "r:u:i:o:n:g:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'r': role = optarg; break;
        case 'u': unit = optarg; break;
        case 'i': id = optarg; break;
        case 'o': old = optarg; break;
        case 'n': next = optarg; break;
        case 'g':
            if (kh_parse_long(optarg, 0, 24 * 365, &grace_h) < 0) {
                fprintf(stderr, "kh-admin: --grace-hours wants hours (0 to 8760)\n");
                return 2;
            }
            break;
        case 'h': fputs(keys_usage, stdout); return 0;
        default: fprintf(stderr, "kh-admin: bad option; see kh-admin keys --help\n"); return 2;
        }
    }
    kh_config_t *cfg = admin_config(config_path);
    if (!cfg)
        return 1;
    char err[512];
    char dir[PATH_MAX];
    kh_config_str(cfg, "security", "keys_dir", dir, sizeof dir);
    int rc = 1;
    kh_keys_t *keys = NULL;
    kh_key_t k;
    char server_code[KH_CODE_MAX];
    if (!strcmp(cmd, "init-server") || !strcmp(cmd, "generate")) {
        int server = !strcmp(cmd, "init-server");
        if (server) {
            role = "server";
            if (server_unit(cfg, server_code, sizeof server_code) != 0)
                goto out;
            unit = server_code;
            id = "server";
        }
        if (!role || !unit || !id ||
            (!server && strcmp(role, "district") && strcmp(role, "province") &&
             strcmp(role, "analyst") && strcmp(role, "admin"))) {
            fprintf(stderr, "kh-admin: generate needs --role district|province|analyst|admin, "
                            "--unit and --id\n");
            rc = 2;
            goto out;
        }
        if (!server && (rc = reporter_check(cfg, role, unit)) != 0)
            goto out;
        rc = 1;
        if (kh_mkdirs(dir, 0700) < 0 || kh_key_generate(id, role, unit, &k) < 0 ||
            kh_key_write(&k, dir) < 0) {
            fprintf(stderr, "kh-admin: cannot write %s/%s.key: %s\n", dir, id,
                    errno == EEXIST ? "it exists already (keys are never overwritten)"
                                    : errno ? strerror(errno) : "invalid id (letters, digits, - _ .)");
            goto out;
        }
        char fp[17];
        kh_key_fingerprint(k.ed_pk, fp);
        printf("%s/%s.key (secret, mode 0600) and %s/%s.pub written; fingerprint %s\n", dir, id,
               dir, id, fp);
        rc = 0;
    } else if (!strcmp(cmd, "register") || !strcmp(cmd, "rotate")) {
        const char *file = !strcmp(cmd, "register") ? (optind < argc ? argv[optind] : NULL) : next;
        if (!file || (!strcmp(cmd, "rotate") && !old)) {
            fprintf(stderr, "kh-admin: %s\n", !strcmp(cmd, "register")
                                                   ? "register needs FILE.pub"
                                                   : "rotate needs --old ID and --new FILE.pub");
            rc = 2;
            goto out;
        }
        if (kh_key_read(file, &k, err, sizeof err) < 0) {
            fprintf(stderr, "kh-admin: %s\n", err);
            goto out;
        }
        if (!strcmp(k.role, "server")) {
            fprintf(stderr, "kh-admin: the server's own key is not registered\n");
            goto out;
        }
        if ((rc = reporter_check(cfg, k.role, k.unit)) != 0)
            goto out;
        rc = 1;
        if (open_registry(cfg, &keys) < 0)
            goto out;
        if (!strcmp(cmd, "register") ? kh_keys_register(keys, &k, kh_real_ms(), err, sizeof err)
                                     : kh_keys_rotate(keys, old, &k, grace_h * 3600000LL, err,
                                                      sizeof err)) {
            fprintf(stderr, "kh-admin: %s: %s\n", k.id, err);
            goto out;
        }
        if (!strcmp(cmd, "register"))
            printf("registered %s (%s %s)\n", k.id, k.role, k.unit);
        else
            printf("rotated: %s registered; %s stays valid for %ld more hour(s)\n", k.id, old,
                   grace_h);
        rc = 0;
    } else if (!strcmp(cmd, "list")) {
        rc = open_registry(cfg, &keys) < 0 || kh_keys_list(keys, stdout) < 0;
    } else if (!strcmp(cmd, "revoke")) {
        if (optind >= argc) {
            fprintf(stderr, "kh-admin: revoke needs the key ID\n");
            rc = 2;
            goto out;
        }
        if (open_registry(cfg, &keys) < 0)
            goto out;
        int r = kh_keys_revoke(keys, argv[optind]);
        if (r == 0)
            printf("revoked %s: refused from now on, connected or not\n", argv[optind]);
        else
            fprintf(stderr, "kh-admin: %s\n", r > 0 ? "no such key" : kh_keys_errmsg(keys));
        rc = r != 0;
    } else {
        fprintf(stderr, "kh-admin: unknown keys command '%s'; see kh-admin keys --help\n", cmd);
        rc = 2;
    }
out:
    kh_keys_destroy(&keys);
    kh_config_destroy(&cfg);
    return rc;
}
