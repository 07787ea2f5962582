/*
 * admin.h — kh-admin's subcommands, one file each.
 */
#ifndef KH_ADMIN_H
#define KH_ADMIN_H

#include <sqlite3.h>

#include "kh_config.h"

#define ADMIN_N_SERVICES 4     /* collector, validator, aggregator, notifier */

/* The configuration at config_path with its clock ([general] clock) set, or NULL after
 * printing "kh-admin: <reason>" (the caller picks the exit status). */
kh_config_t *admin_config(const char *config_path);

/* kh-admin keys …: argv[0] is "keys".  Returns the exit status. */
int admin_keys(int argc, char **argv, const char *config_path);

/* kh-admin verify --report ID[/REV] (verify.c): which key signed the counted revision;
 * kh-admin verify --totals: the stored totals against the counted reports.
 * kh-admin audit verify (audit.c): the aggregator's audit chain and its signed
 * checkpoints.  argv[0] is the subcommand's name.  Return the exit status (0
 * valid/intact, 1 invalid/broken, 2 cannot tell). */
int admin_verify(int argc, char **argv, const char *config_path);
int admin_audit(int argc, char **argv, const char *config_path);
/* kh-admin status [--json] (status.c): the services' health from their metrics endpoints,
 * the last report per district.  Returns 0 all up, 1 a service is down, 2 error. */
int admin_status(int argc, char **argv, const char *config_path);

/* kh-admin units reporters|root|levels (units.c): the unit tree of the catalogue.
 * Returns the exit status. */
int admin_units(int argc, char **argv, const char *config_path);

/* kh-admin config example|get SECTION KEY|check (config.c): the table of options as a
 * commented kh.ini, one value as the programs read it, whether the file loads.
 * Returns the exit status (0, 1 the file does not load / no such option, 2 usage). */
int admin_config_cmd(int argc, char **argv, const char *config_path);

/* kh-admin dead-letters … (deadletters.c).  Returns the exit status. */
int admin_dead_letters(int argc, char **argv, const char *config_path);
/* Dead letters per service (collector, validator, aggregator, notifier order); -1 where a
 * database cannot be read.  Returns 0, or -1 when none can. */
int admin_dead_letter_counts(kh_config_t *cfg, long long counts[ADMIN_N_SERVICES]);

/* The aggregator's database (db_path, e.g. --db FILE, or when NULL [aggregator] db),
 * opened for reading (never created).  Returns 0, or -1 after printing a one-line
 * reason. */
int admin_open_aggregator_db(const char *config_path, const char *db_path, sqlite3 **db);

#endif
