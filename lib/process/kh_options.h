/*
 * kh_options.h — the one table of configuration options.
 *
 * Every option any program reads from kh.ini is one row here: its section, name, type,
 * range, default and help.  Everything else comes from this table and from nowhere
 * else: kh_config_load refuses an unknown section or key and a value of the wrong type
 * or range (naming the file and line); a key the file does not set reads as the
 * table's default; each program's --help lists its section's options; and
 * `kh-admin config example` writes the commented deploy/kh.ini (a test checks the file
 * in the repository is exactly that output).
 *
 * Invariants: (section, key) is unique; rows of a section are adjacent, in the order
 * kh.ini shows them; a default is a valid value of its type; an option with no
 * default (NULL) reads as "" and is shown commented out with its example.
 */
#ifndef KH_OPTIONS_H
#define KH_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    KH_OPT_TEXT,        /* any text */
    KH_OPT_PATH,        /* a file or folder; relative: to the config file's folder */
    KH_OPT_ENDPOINT,    /* a ZeroMQ endpoint (tcp://, ipc://, inproc://) */
    KH_OPT_ADDRESS,     /* host:port of an HTTP listener, or empty (off) */
    KH_OPT_INT,         /* an integer in [min, max] */
    KH_OPT_YESNO,       /* yes | no */
    KH_OPT_CHOICE,      /* one of the space-separated words of `choices` */
} kh_opt_type_t;

typedef struct {
    const char *section, *key;
    kh_opt_type_t type;
    long min, max;              /* KH_OPT_INT */
    const char *choices;        /* KH_OPT_CHOICE */
    const char *dflt;           /* as written in kh.ini; NULL: not set (reads as "") */
    const char *example;        /* shown commented out when dflt is NULL; may be NULL */
    const char *help;           /* lines separated by '\n'; the first is the summary */
} kh_option_t;

/* The row of section.key, or NULL. */
const kh_option_t *kh_option_find(const char *section, const char *key);

/* The rows, in order: *n set to their number. */
const kh_option_t *kh_options(size_t *n);

/* 1 when some row has this section, else 0. */
int kh_option_section(const char *section);

/* Is `value` a valid value of option o?  Returns 0, or -1 with the reason in why
 * ("expected an integer from 1 to 1000"). */
int kh_option_check(const kh_option_t *o, const char *value, char *why, size_t cap);

/* The options of `section` for a program's --help: one line each, "  key = default
 * (type, range): summary".  Returns 0, or -1 (no such section). */
int kh_options_help(FILE *out, const char *section);

/* The commented kh.ini: a header, then every section with each option's help as
 * comment lines and its default (or its example, commented out).  deploy/kh.ini is
 * this output.  Returns 0, or -1 on a write error. */
int kh_options_write_ini(FILE *out);

#endif
