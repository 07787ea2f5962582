/*
 * kh_config.h — the one INI configuration file (deploy/kh.ini) shared by every
 * process, parsed with inih.  Values may contain %RUN% (the [general] run_dir) and
 * %DISTRICT% (set by kh-node from --district); kh_config_str expands them.
 */
#ifndef KH_CONFIG_H
#define KH_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef struct kh_config kh_config_t;

/* Loads `path`: every section and key must be an option of the table (lib/process/kh_options.h)
 * and every value of its type and range.  Relative paths (options of type path, set or
 * by default) are made absolute from the file's folder.  Returns NULL and a one-line
 * reason in err: a syntax error, or
 * "kh.ini:12: unknown key 'lisen' in [collector]: did you mean 'listen'? / …", or
 * "kh.ini:3: unknown section [colector]: did you mean [collector]? / …", or
 * "kh.ini:40: [collector] max_values = lots: expected an integer from 1 to 200000 / …". */
kh_config_t *kh_config_load(const char *path, char *err, size_t errlen);
/* Which configuration file a program reads, the same rule for every program: `arg`
 * (its --config) when not NULL; else $KH_CONFIG; else, for a program built in a source
 * tree and run from its build folder (…/build/bin/kh-x), that tree's deploy/kh.ini;
 * else the installed one, SYSCONFDIR/khuyenhoc/kh.ini (/etc/khuyenhoc/kh.ini unless
 * built with another SYSCONFDIR).  Writes it into out; returns out. */
const char *kh_config_path(const char *arg, char *out, size_t cap);

/* What every program takes before its command: "--version" (printed: returns 1, the
 * program exits 0) and "--config FILE" (taken out of argv, *cfgpath set).  Returns 0
 * otherwise.  So `kh-x --config FILE COMMAND …` works the same for every program. */
int kh_config_front_args(int *argc, char **argv, const char *prog, const char **cfgpath);

/* Prints, for a program's --help, which configuration file it reads (kh_config_path). */
void kh_config_help(FILE *out);

/* The INI syntax alone, any section and key (the parser's own tests); every program
 * uses kh_config_load. */
kh_config_t *kh_config_parse(const char *path, char *err, size_t errlen);
/* 1 when section.key is an option kh_config_load accepts, else 0. */
int kh_config_known(const char *section, const char *key);
/* The keys of a known section, space-separated, or NULL for an unknown section. */
const char *kh_config_section_keys(const char *section);
void kh_config_destroy(kh_config_t **self_p);

/* Sets or replaces section.key (copies both).  Returns 0 or -1 (out of memory). */
int kh_config_set(kh_config_t *c, const char *section, const char *key, const char *value);

/* The value as written, else the option's default (lib/process/kh_options.c, the only place a
 * default is written), else NULL (an option off by default, or no such option). */
const char *kh_config_raw(const kh_config_t *c, const char *section, const char *key);

/* 1 when a yes/no option is "yes", else 0. */
int kh_config_yes(const kh_config_t *c, const char *section, const char *key);

/* The value (kh_config_raw; "" when none) with %RUN% and %DISTRICT% expanded into out.
 * Returns 0, or -1 when it does not fit in cap. */
int kh_config_str(const kh_config_t *c, const char *section, const char *key, char *out,
                  size_t cap);

/* An integer option, in its range (the table's).  Returns 0, or -1 with a reason in
 * err when the value is not such an integer (a config from kh_config_parse, or
 * kh_config_set) or the option is no integer option with a default. */
int kh_config_long(const kh_config_t *c, const char *section, const char *key, long *out,
                   char *err, size_t errlen);

/* The largest message accepted: from outside (internal = 0: what a node may send the
 * collector, [general] max_message_bytes, default 4 MiB) or between the province's
 * own processes and to kh-feed (internal = 1: [general] internal_max_message_bytes,
 * default twice the outside limit plus 4 MiB, since a report grows on its way: the
 * verdict carries the report and its findings).  Returns 0, or -1 with a reason. */
int kh_config_max_message(const kh_config_t *c, int internal, long *out, char *err,
                          size_t errlen);

/* Sets the pipeline's clock (kh_util.h, kh_clock_set) from [general] clock; KH_CLOCK in
 * the environment wins.  Every process that reads the configuration calls it, so they
 * all share one clock.  Returns 0, or -1 with a one-line reason in err. */
int kh_config_clock(const kh_config_t *c, char *err, size_t errlen);

#endif
