/*
 * kh-admin — the admins' tool.
 *
 *   kh-admin keys …          the key lifecycle (keys.c)
 *   kh-admin verify --report ID[/REV]   which district's key signed a counted report (verify.c)
 *   kh-admin verify --totals the stored totals recomputed from the counted reports (verify.c)
 *   kh-admin audit verify    the aggregator's hash-chained audit log and its signed
 *                            checkpoints (audit.c)
 *   kh-admin status [--json] the services' health and the last report per district (status.c)
 *   kh-admin dead-letters …  messages a service set aside, replayed by an admin (deadletters.c)
 *   kh-admin units …         the unit tree: who reports, the root, the levels (units.c)
 *
 *   kh-admin config …        the options: a commented kh.ini, one value, a check (config.c)
 *
 * --config FILE before the subcommand (else kh_config_path's rule: $KH_CONFIG, the
 * source tree's deploy/kh.ini, /etc/khuyenhoc/kh.ini).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "admin.h"
#include "kh_util.h"

static const char usage[] =
    "usage: kh-admin [--config FILE] COMMAND …\n"
    "  keys …                     key pairs and the registry (kh-admin keys --help)\n"
    "  verify --report ID[/REV]   which reporting unit's key signed the numbers counted for a\n"
    "                             report, and whether the signature holds\n"
    "  verify --totals            recompute every total of every level from the\n"
    "                             counted reports and compare with the stored totals\n"
    "  audit verify               check the aggregator's tamper-evident audit log against\n"
    "                             the checkpoints its audit key signed\n"
    "  status [--json]            each service's state, uptime, queues and counters (its\n"
    "                             metrics endpoint); the last report per reporting unit\n"
    "  dead-letters list|replay|drop   messages a service could not apply and set aside\n"
    "  units reporters|root|levels     the unit tree of the catalogue: who reports for a\n"
    "                             half-year, the root, the level names\n"
    "  config example             the commented kh.ini of every option and its default\n"
    "  config get SECTION KEY     one option's value as the programs read it (paths\n"
    "                             absolute, %RUN% expanded); config check: the file loads\n"
    "--config FILE before the command; --version.  COMMAND --help for details.\n";

kh_config_t *admin_config(const char *config_path)
{
    char err[1024];
    kh_config_t *cfg = kh_config_load(config_path, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "kh-admin: %s\n", err);
        return NULL;
    }
    if (kh_config_clock(cfg, err, sizeof err) < 0) {
        fprintf(stderr, "kh-admin: %s\n", err);
        kh_config_destroy(&cfg);
        return NULL;
    }
    return cfg;
}

int main(int argc, char **argv)
{
    umask(KH_UMASK);        /* key registry, keys: never readable by others (kh_util.h) */
    const char *arg = NULL;
    char path[PATH_MAX];
    int i = 1;
    if (kh_config_front_args(&argc, argv, "kh-admin", &arg))
        return 0;
    const char *cfg = kh_config_path(arg, path, sizeof path);
    if (i >= argc || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
        fputs(usage, i >= argc ? stderr : stdout);
        kh_config_help(i >= argc ? stderr : stdout);
        return i >= argc ? 2 : 0;
    }
    if (!strcmp(argv[i], "config"))
        return admin_config_cmd(argc - i, argv + i, cfg);
    if (!strcmp(argv[i], "keys"))
        return admin_keys(argc - i, argv + i, cfg);
    if (!strcmp(argv[i], "verify"))
        return admin_verify(argc - i, argv + i, cfg);
    if (!strcmp(argv[i], "audit"))
        return admin_audit(argc - i, argv + i, cfg);
    if (!strcmp(argv[i], "dead-letters"))
        return admin_dead_letters(argc - i, argv + i, cfg);
    if (!strcmp(argv[i], "units"))
        return admin_units(argc - i, argv + i, cfg);
    if (!strcmp(argv[i], "status"))
        return admin_status(argc - i, argv + i, cfg);
    fprintf(stderr, "kh-admin: unknown command '%s'; see kh-admin --help\n", argv[i]);
    return 2;
}
