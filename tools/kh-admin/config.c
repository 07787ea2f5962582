/*
 * config.c — kh-admin config: the table of options (lib/process/kh_options.h) for a person.
 *
 *   kh-admin config example            the commented kh.ini (deploy/kh.ini is its output)
 *   kh-admin config get SECTION KEY    the value a program reads: the file's or the
 *                                      default, paths absolute, %RUN% expanded
 *   kh-admin config check              the file loads (every key known, every value of
 *                                      its type): "ok" or the line that does not
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "kh_options.h"

static const char usage[] =
    "usage: kh-admin [--config FILE] config example | get SECTION KEY | check\n"
    "  example   print the commented kh.ini: every option, its default and what it does\n"
    "  get       print one option's value as the programs read it\n"
    "  check     load the configuration file and say whether it holds\n";

int admin_config_cmd(int argc, char **argv, const char *config_path)
{
    if (argc == 2 && strcmp(argv[1], "example") == 0)
        return kh_options_write_ini(stdout) == 0 && fflush(stdout) == 0 ? 0 : 1;
    char err[1024];
    if (argc == 2 && strcmp(argv[1], "check") == 0) {
        kh_config_t *cfg = kh_config_load(config_path, err, sizeof err);
        if (!cfg) {
            fprintf(stderr, "kh-admin: %s\n", err);
            return 1;
        }
        printf("%s: ok (syntax, keys, types and ranges; a service still checks what only "
               "it knows, e.g. webhook_url, clock, first_period, at its start)\n", config_path);
        kh_config_destroy(&cfg);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "get") == 0) {
        if (!kh_option_find(argv[2], argv[3])) {
            fprintf(stderr, "kh-admin: [%s] %s is no option (kh-admin config example lists "
                    "them)\n", argv[2], argv[3]);
            return 1;
        }
        kh_config_t *cfg = kh_config_load(config_path, err, sizeof err);
        if (!cfg) {
            fprintf(stderr, "kh-admin: %s\n", err);
            return 1;
        }
        char v[PATH_MAX + 256];
        int rc = kh_config_str(cfg, argv[2], argv[3], v, sizeof v);
        if (rc == 0)
            printf("%s\n", v);
        else
            fprintf(stderr, "kh-admin: [%s] %s is too long\n", argv[2], argv[3]);
        kh_config_destroy(&cfg);
        return rc == 0 ? 0 : 1;
    }
    fputs(usage, argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
    return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
}
