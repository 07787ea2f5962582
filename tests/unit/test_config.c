/*
 * test_config.c — unit tests of the INI configuration (lib/process/kh_config.{h,c}) on
 * temporary files, and on the real deploy/kh.ini (run from the repository root).
 *
 * inih as Debian builds it (libinih 55): inline comments start with ';' preceded by
 * whitespace ("key = value   ; comment" gives "value"; "x;y" stays "x;y"), '#'
 * starts a comment only at the beginning of a line, and an indented line continues
 * the previous key (kh_config joins the pieces with one space).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kh_config.h"
#include "kh_options.h"

typedef struct {
    char dir[64];
    char path[128];
    kh_config_t *cfg;
    char err[512];
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/kh_test_config_XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/kh.ini", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    kh_config_destroy(&fx->cfg);
    unlink(fx->path);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Writes text to the fixture's file and loads it; fails the test if it does not load. */
static kh_config_t *load_text(fx_t *fx, const char *text)
{
    write_file(fx->path, text);
    fx->err[0] = '\0';
    fx->cfg = kh_config_parse(fx->path, fx->err, sizeof fx->err);   /* the syntax alone */
    if (!fx->cfg)
        fail_msg("kh_config_parse: %s", fx->err);
    return fx->cfg;
}

static void assert_raw(const kh_config_t *c, const char *sec, const char *key, const char *v)
{
    const char *got = kh_config_raw(c, sec, key);
    if (!got)
        fail_msg("[%s] %s is missing", sec, key);
    assert_string_equal(got, v);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_inline_comments(void **state)
{
    fx_t *fx = *state;
    kh_config_t *c = load_text(fx,
        "; a comment line\n"
        "# another comment line\n"
        "[general]\n"
        "run_dir = ./run               ; databases, ipc sockets, node folders\n"
        "hwm = 1000                    ; ZeroMQ high-water mark per socket, in messages\n"
        "log_level = info\t; debug | info | warn | error\n"
        "plain = no comment here   \n"
        "semi = a;b\n"
        "hash = x # not a comment\n"
        "empty =\n"
        "colon: separator\n"
        "[collector]\n"
        "replay_clock = collector      ; \"node\": trust the node's submit time\n");
    assert_raw(c, "general", "run_dir", "./run");
    assert_raw(c, "general", "hwm", "1000");
    assert_raw(c, "general", "log_level", "info");
    assert_raw(c, "general", "plain", "no comment here");   /* trailing blanks trimmed */
    assert_raw(c, "general", "semi", "a;b");                /* ';' needs a blank before */
    assert_raw(c, "general", "hash", "x # not a comment");
    assert_raw(c, "general", "empty", "");
    assert_raw(c, "general", "colon", "separator");
    assert_raw(c, "collector", "replay_clock", "collector");
    /* sections are separate; an absent option reads as the table's default, a key that
     * is no option as nothing */
    assert_null(kh_config_raw(c, "collector", "run_dir"));
    assert_string_equal(kh_config_raw(c, "general", "batch_ms"), "5");
    assert_null(kh_config_raw(c, "general", "nope"));
    assert_null(kh_config_raw(c, "security", "selfcheck_key"));   /* off by default */
    long v = 0;
    char err[256] = "";
    assert_int_equal(kh_config_long(c, "general", "hwm", &v, err, sizeof err), 0);
    assert_int_equal(v, 1000);
}

static void test_expansion(void **state)
{
    fx_t *fx = *state;
    kh_config_t *c = load_text(fx,
        "[general]\n"
        "run_dir = /var/lib/khuyenhoc   ; province host\n"
        "[collector]\n"
        "db = %RUN%/collector.db\n"
        "receipts = ipc://%RUN%/collector-receipts.sock ; comment\n"
        "[node]\n"
        "dir = %RUN%/node-%DISTRICT%\n"
        "log = ipc://%RUN%/log-node-%DISTRICT%.sock\n"
        "odd = 100%%RUN%-%RUN -%DISTRICT\n");
    assert_int_equal(kh_config_set(c, "node", "district", "829"), 0);
    char out[256];
    assert_int_equal(kh_config_str(c, "collector", "db", out, sizeof out), 0);
    assert_string_equal(out, "/var/lib/khuyenhoc/collector.db");
    assert_int_equal(kh_config_str(c, "collector", "receipts", out, sizeof out), 0);
    assert_string_equal(out, "ipc:///var/lib/khuyenhoc/collector-receipts.sock");
    assert_int_equal(kh_config_str(c, "node", "dir", out, sizeof out), 0);
    assert_string_equal(out, "/var/lib/khuyenhoc/node-829");
    assert_int_equal(kh_config_str(c, "node", "log", out, sizeof out), 0);
    assert_string_equal(out, "ipc:///var/lib/khuyenhoc/log-node-829.sock");
    /* incomplete tokens stay as written */
    assert_int_equal(kh_config_str(c, "node", "odd", out, sizeof out), 0);
    assert_string_equal(out, "100%/var/lib/khuyenhoc-%RUN -%DISTRICT");
    /* the default is expanded too; the raw value is not */
    assert_int_equal(kh_config_str(c, "feed", "mirror", out,
                                   sizeof out), 0);
    assert_string_equal(out, "/var/lib/khuyenhoc/feed-mirror.db");
    assert_raw(c, "node", "dir", "%RUN%/node-%DISTRICT%");
    /* absent with a NULL default: empty */
    assert_int_equal(kh_config_str(c, "feed", "nothing", out, sizeof out), 0);
    assert_string_equal(out, "");
    /* another district after kh_config_set replaces it */
    assert_int_equal(kh_config_set(c, "node", "district", "831"), 0);
    assert_int_equal(kh_config_str(c, "node", "dir", out, sizeof out), 0);
    assert_string_equal(out, "/var/lib/khuyenhoc/node-831");
}

/* run_dir not set: the table's default "../run", taken from the file's folder */
static void test_expansion_run_dir_default(void **state)
{
    fx_t *fx = *state;
    write_file(fx->path, "[validator]\ndb = %RUN%/validator.db\n");
    char err[512] = "", out[256], want[256];
    fx->cfg = kh_config_load(fx->path, err, sizeof err);
    if (!fx->cfg)
        fail_msg("%s", err);
    assert_int_equal(kh_config_str(fx->cfg, "validator", "db", out, sizeof out), 0);
    assert_string_equal(out, "/tmp/run/validator.db");      /* fx->dir is /tmp/kh_test_… */
    /* and without %RUN%: the validator's db by default is under it */
    kh_config_destroy(&fx->cfg);
    write_file(fx->path, "[general]\nrun_dir = state\n");
    fx->cfg = kh_config_load(fx->path, err, sizeof err);
    assert_non_null(fx->cfg);
    assert_int_equal(kh_config_str(fx->cfg, "validator", "db", out, sizeof out), 0);
    snprintf(want, sizeof want, "%s/state/validator.db", fx->dir);
    assert_string_equal(out, want);
}

/* Relative paths are taken from the config file's folder, whatever the working folder;
 * "./" and "../" are folded; absolute paths, %RUN% paths and other types stay. */
static void test_relative_paths(void **state)
{
    fx_t *fx = *state;
    write_file(fx->path, "[general]\nrun_dir = ./here\ndata_dir = ../../data\n"
                         "[security]\nkeys_db = /abs/keys.db\n"
                         "[collector]\ndb = %RUN%/c.db\nlisten = tcp://127.0.0.1:1\n"
                         "[feed]\nmirror = m.db\n");
    char err[512] = "", want[256], out[256], cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir("/"), 0);                 /* not the file's folder */
    fx->cfg = kh_config_load(fx->path, err, sizeof err);
    assert_int_equal(chdir(cwd), 0);
    if (!fx->cfg)
        fail_msg("%s", err);
    snprintf(want, sizeof want, "%s/here", fx->dir);
    assert_raw(fx->cfg, "general", "run_dir", want);
    assert_raw(fx->cfg, "general", "data_dir", "/data");     /* /tmp/x/../../data */
    assert_raw(fx->cfg, "security", "keys_db", "/abs/keys.db");
    assert_raw(fx->cfg, "collector", "db", "%RUN%/c.db");
    assert_int_equal(kh_config_str(fx->cfg, "collector", "db", out, sizeof out), 0);
    snprintf(want, sizeof want, "%s/here/c.db", fx->dir);
    assert_string_equal(out, want);
    snprintf(want, sizeof want, "%s/m.db", fx->dir);
    assert_raw(fx->cfg, "feed", "mirror", want);
    assert_raw(fx->cfg, "collector", "listen", "tcp://127.0.0.1:1");
}

/* A value of the wrong type or range refuses the file, naming the line and the range. */
static void test_strict_values(void **state)
{
    fx_t *fx = *state;
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"[general]\nwindow = 0\n", ":2: [general] window = 0: expected an integer from 1 to 10000"},
        {"[general]\n\nhwm = 12abc\n", ":3: [general] hwm = 12abc: expected an integer"},
        {"[security]\ncurve = maybe\n", ":2: [security] curve = maybe: expected yes or no"},
        {"[general]\nlog_level = loud\n", ":2: [general] log_level = loud: expected one of: "
                                          "debug info warn error"},
        {"[collector]\nlisten = 127.0.0.1:7101\n", ":2: [collector] listen = 127.0.0.1:7101: "
                                                   "expected an endpoint"},
        {"[collector]\nreplay_clock = nodes\n", "expected one of: collector node"},
        {"[notifier]\nclock = 2020-12-06T10:00:00\n", ":2: [notifier] clock is no longer "
                                                      "read: the whole pipeline runs on one clock"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_file(fx->path, bad[i].text);
        char err[1024] = "";
        assert_null(kh_config_load(fx->path, err, sizeof err));
        assert_contains(err, fx->path);
        assert_contains(err, bad[i].why);
    }
}

static void test_expansion_capacity(void **state)
{
    fx_t *fx = *state;
    kh_config_t *c = load_text(fx, "[general]\nrun_dir = ./run\n[x]\nplain = abc\n"
                                   "db = %RUN%/d\n");
    char out[16];
    assert_int_equal(kh_config_str(c, "x", "plain", out, 4), 0);   /* exact fit */
    assert_string_equal(out, "abc");
    assert_int_equal(kh_config_str(c, "x", "plain", out, 3), -1);  /* one short */
    assert_int_equal(kh_config_str(c, "x", "db", out, 8), 0);      /* "./run/d" */
    assert_string_equal(out, "./run/d");
    assert_int_equal(kh_config_str(c, "x", "db", out, 7), -1);
    assert_int_equal(kh_config_str(c, "x", "db", out, 5), -1);    /* inside %RUN% */
}

static void test_long_range_errors(void **state)
{
    fx_t *fx = *state;
    kh_config_t *c = load_text(fx,
        "[general]\n"
        "batch_max = 64                ; group commit\n"
        "window = 0\n"
        "hwm = 12abc\n"
        "resend_ms = 99999999999999999999999\n"
        "empty =\n"
        "negative = -5\n");
    long v = -1;
    char err[256] = "";
    assert_int_equal(kh_config_long(c, "general", "batch_max", &v, err, sizeof err),
                     0);
    assert_int_equal(v, 64);
    /* absent: the table's default */
    assert_int_equal(kh_config_long(c, "general", "batch_ms", &v, err, sizeof err), 0);
    assert_int_equal(v, 5);
    /* a key that is no integer option of the table: refused, saying so */
    assert_int_equal(kh_config_long(c, "general", "negative", &v, err, sizeof err), -1);
    assert_contains(err, "[general] negative is no integer option");
    assert_int_equal(kh_config_long(c, "general", "log_level", &v, err, sizeof err), -1);

    /* the ranges are the table's (the parser alone lets these through) */
    struct {
        const char *key;
        long min, max;
    } bad[] = {{"window", 1, 10000}, {"hwm", 1, 1000000}, {"resend_ms", 10, 3600000}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        v = 12345;
        assert_int_equal(kh_config_long(c, "general", bad[i].key,
                                        &v, err, sizeof err), -1);
        assert_contains(err, "general");
        assert_contains(err, bad[i].key);
        char range[64];
        snprintf(range, sizeof range, "%ld to %ld", bad[i].min, bad[i].max);
        assert_contains(err, range);
    }
    /* the message also shows the value as written */
    kh_config_long(c, "general", "hwm", &v, err, sizeof err);
    assert_contains(err, "12abc");
}

static void test_syntax_error_line(void **state)
{
    fx_t *fx = *state;
    write_file(fx->path,
               "[general]\n"
               "run_dir = ./run\n"
               "\n"
               "this line has no equals sign\n"
               "hwm = 1000\n");
    char err[512] = "";
    kh_config_t *c = kh_config_load(fx->path, err, sizeof err);
    assert_null(c);
    char where[200];
    snprintf(where, sizeof where, "%s:4:", fx->path);
    assert_contains(err, where);
}

static void test_syntax_error_bad_section(void **state)
{
    fx_t *fx = *state;
    write_file(fx->path, "; header\n[general\nrun_dir = ./run\n");
    char err[512] = "";
    assert_null(kh_config_load(fx->path, err, sizeof err));
    char where[200];
    snprintf(where, sizeof where, "%s:2:", fx->path);
    assert_contains(err, where);
}

static void test_continuation_joins_with_space(void **state)
{
    fx_t *fx = *state;
    kh_config_t *c = load_text(fx,
        "[logs]\n"
        "; kh-logs subscribes to all of these\n"
        "endpoints = ipc://%RUN%/log-collector.sock ipc://%RUN%/log-validator.sock\n"
        "            ipc://%RUN%/log-aggregator.sock ipc://%RUN%/log-notifier.sock\n"
        "\tipc://%RUN%/log-node-%DISTRICT%.sock\n"
        "after = 1\n"
        "[general]\n"
        "run_dir = ./run\n");
    assert_raw(c, "logs", "endpoints",
               "ipc://%RUN%/log-collector.sock ipc://%RUN%/log-validator.sock "
               "ipc://%RUN%/log-aggregator.sock ipc://%RUN%/log-notifier.sock "
               "ipc://%RUN%/log-node-%DISTRICT%.sock");
    assert_raw(c, "logs", "after", "1");
    assert_int_equal(kh_config_set(c, "node", "district", "829"), 0);
    char out[512];
    assert_int_equal(kh_config_str(c, "logs", "endpoints", out, sizeof out), 0);
    assert_string_equal(out,
                        "ipc://./run/log-collector.sock ipc://./run/log-validator.sock "
                        "ipc://./run/log-aggregator.sock ipc://./run/log-notifier.sock "
                        "ipc://./run/log-node-829.sock");
}

static void test_missing_file(void **state)
{
    fx_t *fx = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/does-not-exist.ini", fx->dir);
    char err[512] = "";
    assert_null(kh_config_load(path, err, sizeof err));
    assert_contains(err, path);
    assert_contains(err, "cannot read");
    assert_contains(err, "No such file");
}

static void test_set_and_replace(void **state)
{
    fx_t *fx = *state;
    kh_config_t *c = load_text(fx, "[node]\ncollector = tcp://127.0.0.1:7101\n");
    assert_int_equal(kh_config_set(c, "node", "collector", "tcp://127.0.0.1:9999"), 0);
    assert_raw(c, "node", "collector", "tcp://127.0.0.1:9999");   /* replaced, not joined */
    assert_int_equal(kh_config_set(c, "node", "district", "829"), 0);
    assert_raw(c, "node", "district", "829");
    assert_null(kh_config_raw(c, "general", "district"));
}

/* ---- strict loading: an option no program reads is refused, with its line ---------- */

static void test_strict_unknown_key(void **state)
{
    fx_t *fx = *state;
    write_file(fx->path, "[general]\nrun_dir = ./run\n[collector]\nlisen = tcp://127.0.0.1:1\n");
    char err[1024] = "", where[256];
    assert_null(kh_config_load(fx->path, err, sizeof err));
    snprintf(where, sizeof where, "%s:4: unknown key 'lisen' in [collector]: did you mean "
             "'listen'?", fx->path);
    assert_contains(err, where);
    assert_contains(err, "khóa 'lisen' không có trong [collector]");
    /* nothing near: the section's keys, and what to do */
    write_file(fx->path, "[validator]\nzzzzzzzz = 1\n");
    assert_null(kh_config_load(fx->path, err, sizeof err));
    assert_contains(err, ":2: unknown key 'zzzzzzzz' in [validator]: remove the line or use "
                         "one of its keys: listen db log metrics");
    /* the parser alone takes it (its own tests), and the strict check says why not */
    kh_config_t *c = kh_config_parse(fx->path, err, sizeof err);
    assert_non_null(c);
    kh_config_destroy(&c);
    assert_int_equal(kh_config_known("validator", "zzzzzzzz"), 0);
    assert_int_equal(kh_config_known("validator", "listen"), 1);
}

static void test_strict_unknown_section(void **state)
{
    fx_t *fx = *state;
    write_file(fx->path, "; a comment\n[general]\n[colector]\nlisten = tcp://127.0.0.1:1\n");
    char err[1024] = "", where[256];
    assert_null(kh_config_load(fx->path, err, sizeof err));
    snprintf(where, sizeof where, "%s:4: unknown section [colector]: did you mean [collector]?",
             fx->path);
    assert_contains(err, where);
    write_file(fx->path, "[nothing_like_it]\nx = 1\n");
    assert_null(kh_config_load(fx->path, err, sizeof err));
    assert_contains(err, ":2: unknown section [nothing_like_it]: remove it or use one of: "
                         "general calendar security");
    assert_null(kh_config_section_keys("nothing_like_it"));
}

/* deploy/kh.ini is the table of options written out (kh-admin config example): every
 * option, its default and its help, and nothing else. */
static void test_deploy_ini_is_the_table(void **state)
{
    (void)state;
    FILE *f = fopen("deploy/kh.ini", "r");
    if (!f)
        fail_msg("deploy/kh.ini: run the test from the repository root");
    static char have[65536], want[65536];
    size_t nh = fread(have, 1, sizeof have - 1, f);
    fclose(f);
    have[nh] = '\0';
    FILE *m = fmemopen(want, sizeof want - 1, "w");
    assert_non_null(m);
    assert_int_equal(kh_options_write_ini(m), 0);
    long nw = ftell(m);
    fclose(m);
    assert_true(nw > 0 && (size_t)nw < sizeof want - 1);
    want[nw] = '\0';
    if (strcmp(have, want) != 0)
        fail_msg("deploy/kh.ini is not the table of options (lib/process/kh_options.c): run "
                 "build/bin/kh-admin config example > deploy/kh.ini");
    /* and the table is sound: a default is a valid value of its type, keys unique */
    size_t n;
    const kh_option_t *o = kh_options(&n);
    char why[160];
    for (size_t i = 0; i < n; i++) {
        if (o[i].dflt && kh_option_check(&o[i], o[i].dflt, why, sizeof why) < 0)
            fail_msg("[%s] %s: its default %s: %s", o[i].section, o[i].key, o[i].dflt, why);
        assert_true(o[i].help && o[i].help[0]);
        assert_ptr_equal(kh_option_find(o[i].section, o[i].key), &o[i]);
    }
}

/* The deployment file itself: every value loads without its comment. */
static void test_deploy_kh_ini(void **state)
{
    (void)state;
    char err[512] = "";
    kh_config_t *c = kh_config_load("deploy/kh.ini", err, sizeof err);
    if (!c)
        fail_msg("deploy/kh.ini: %s (run the test from the repository root)", err);
    const char *keys[][2] = {
        {"general", "run_dir"},   {"general", "data_dir"},   {"general", "log_level"},
        {"general", "hwm"},       {"general", "batch_max"},  {"general", "batch_ms"},
        {"general", "window"},    {"general", "resend_ms"},  {"calendar", "s1_due"},
        {"calendar", "s2_due"},   {"collector", "listen"},   {"collector", "receipts"},
        {"collector", "validator"}, {"collector", "db"},     {"validator", "listen"},
        {"aggregator", "feed"},   {"aggregator", "snapshot"}, {"node", "collector"},
        {"node", "dir"},          {"logs", "endpoints"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *v = kh_config_raw(c, keys[i][0], keys[i][1]);
        if (!v)
            fail_msg("deploy/kh.ini: [%s] %s missing", keys[i][0], keys[i][1]);
        if (!v[0] || strchr(v, ';') || v[strlen(v) - 1] == ' ' || v[strlen(v) - 1] == '\t')
            fail_msg("deploy/kh.ini: [%s] %s = \"%s\" keeps a comment or blanks", keys[i][0],
                     keys[i][1], v);
    }
    const char *nums[] = {"hwm", "batch_max", "batch_ms", "window", "resend_ms",
                          "max_message_bytes", "heartbeat_ms"};
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        long v;
        if (kh_config_long(c, "general", nums[i], &v, err, sizeof err) < 0)
            fail_msg("deploy/kh.ini: %s", err);
    }
    long s1, s2;
    assert_int_equal(kh_config_long(c, "calendar", "s1_due", &s1, err, sizeof err),
                     0);
    assert_int_equal(kh_config_long(c, "calendar", "s2_due", &s2, err, sizeof err),
                     0);
    assert_int_equal(kh_config_set(c, "node", "district", "829"), 0);
    char out[1024];
    assert_int_equal(kh_config_str(c, "logs", "endpoints", out, sizeof out), 0);
    assert_contains(out, "log-collector.sock ");
    assert_contains(out, "log-node-829.sock");
    assert_null(strstr(out, "%"));
    assert_null(strstr(out, "  "));                  /* single spaces between endpoints */
    assert_int_equal(kh_config_str(c, "node", "dir", out, sizeof out), 0);
    assert_contains(out, "node-829");
    assert_null(strstr(out, "%"));
    kh_config_destroy(&c);
    assert_null(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inline_comments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expansion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expansion_run_dir_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expansion_capacity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_range_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_error_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_error_bad_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_continuation_joins_with_space, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_and_replace, setup, teardown),
        cmocka_unit_test(test_deploy_kh_ini),
        cmocka_unit_test_setup_teardown(test_strict_unknown_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strict_unknown_section, setup, teardown),
        cmocka_unit_test(test_deploy_ini_is_the_table),
        cmocka_unit_test_setup_teardown(test_relative_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strict_values, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
