/*
 * kh_config.h — the one INI configuration file (deploy/kh.ini) shared by every
 * process, parsed with inih.  Values may contain %RUN% (the [general] run_dir) and
 * %DISTRICT% (set by kh-node from --district); kh_config_str expands them.
 */
#ifndef KH_CONFIG_H
#define KH_CONFIG_H

#include <stddef.h>

typedef struct kh_config kh_config_t;

/* Loads `path`: every section and key must be an option some program reads (those of
 * deploy/kh.ini).  Returns NULL and a one-line reason in err: a syntax error, or
 * "kh.ini:12: unknown key 'lisen' in [collector]: did you mean 'listen'? / …", or
 * "kh.ini:3: unknown section [colector]: did you mean [collector]? / …". */
kh_config_t *kh_config_load(const char *path, char *err, size_t errlen);
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

/* The raw value or dflt. */
const char *kh_config_raw(const kh_config_t *c, const char *section, const char *key,
                          const char *dflt);

/* The value (or dflt) with %RUN% and %DISTRICT% expanded into out.  Returns 0, or
 * -1 when it does not fit in cap. */
int kh_config_str(const kh_config_t *c, const char *section, const char *key,
                  const char *dflt, char *out, size_t cap);

/* An integer in [min,max], or dflt when absent.  Returns 0, or -1 with a reason in
 * err when the value is present but not such an integer. */
int kh_config_long(const kh_config_t *c, const char *section, const char *key, long dflt,
                   long min, long max, long *out, char *err, size_t errlen);

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
