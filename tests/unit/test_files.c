/*
 * test_files.c — files from outside (lib/base/kh_util.h): kh_escape, the one escaping of
 * names printed anywhere (what it keeps, what it escapes, that its output is one
 * line of valid UTF-8 from which the name can be read back, that a cut never splits
 * an escape or a character), and kh_read_regular, which reads only an ordinary file:
 * a symbolic link, a hard link, a FIFO (without blocking), a folder and a file over
 * the bound are refused unread.  Also the private mode of kh_write_file_atomic, and the
 * library's one trim, one UTF-8 character reader and one number format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kh_util.h"

static void expect(const char *in, const char *want)
{
    char out[256];
    assert_int_equal(kh_escape(in, out, sizeof out), 0);
    assert_string_equal(out, want);
}

static void test_escape_keeps_text(void **state)
{
    (void)state;
    expect("", "");
    expect("835-2018S1.csv", "835-2018S1.csv");
    expect("Báo cáo Bến Tre – Mỏ Cày Nam.csv", "Báo cáo Bến Tre – Mỏ Cày Nam.csv");
    expect("a b\"c'd.csv", "a b\"c'd.csv");
    expect("😀.csv", "😀.csv");                          /* 4-byte UTF-8 */
}

static void test_escape_controls(void **state)
{
    (void)state;
    expect("a\nb.csv", "a\\nb.csv");
    expect("a\tb\rc", "a\\tb\\rc");
    expect("back\\slash", "back\\\\slash");
    expect("\x01\x1b[31mred", "\\x01\\x1b[31mred");      /* a terminal escape */
    expect("del\x7f", "del\\x7f");
    expect("nel\xc2\x85x", "nel\\xc2\\x85x");            /* U+0085, a C1 control */
    expect("ls\xe2\x80\xa8ps\xe2\x80\xa9", "ls\\xe2\\x80\\xa8ps\\xe2\\x80\\xa9");
    expect("rlo\xe2\x80\xaevsc.exe", "rlo\\xe2\\x80\\xaevsc.exe");   /* U+202E */
    expect("\xe2\x81\xa6x\xe2\x81\xa9", "\\xe2\\x81\\xa6x\\xe2\\x81\\xa9");   /* U+2066, U+2069 */
}

static void test_escape_invalid_utf8(void **state)
{
    (void)state;
    expect("\xff.csv", "\\xff.csv");
    expect("end\xc3", "end\\xc3");                        /* cut sequence at the end */
    expect("\xc3(", "\\xc3(");                            /* lead byte, no continuation */
    expect("\xc0\xaf", "\\xc0\\xaf");                     /* overlong '/' */
    expect("\xed\xa0\x80", "\\xed\\xa0\\x80");            /* a UTF-16 surrogate */
    expect("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");   /* above U+10FFFF */
    expect("\x80\x80", "\\x80\\x80");                     /* lone continuation bytes */
}

/* Reads the escaped form back: the name's bytes. */
static size_t unescape(const char *in, char *out)
{
    size_t o = 0;
    while (*in) {
        if (*in != '\\') {
            out[o++] = *in++;
            continue;
        }
        in++;
        switch (*in) {
        case '\\': out[o++] = '\\'; in++; break;
        case 'n': out[o++] = '\n'; in++; break;
        case 't': out[o++] = '\t'; in++; break;
        case 'r': out[o++] = '\r'; in++; break;
        case 'x': {
            unsigned v;
            assert_int_equal(sscanf(in + 1, "%2x", &v), 1);
            out[o++] = (char)v;
            in += 3;
            break;
        }
        default: fail_msg("unknown escape \\%c", *in);
        }
    }
    out[o] = '\0';
    return o;
}

/* Random names (fixed seed): the output is valid UTF-8 (jansson takes it as a string),
 * has no control character, no C1 or separator character, and gives back the name. */
static void test_escape_random_names(void **state)
{
    (void)state;
    srand(11);
    static const unsigned char pool[] = {'a', 'Z', '.', '\\', '\n', '\t', '\r', 0x01, 0x1b,
                                         0x7f, 0x80, 0x85, 0xa8, 0xbf, 0xc2, 0xc3, 0xe2,
                                         0xed, 0xf0, 0xf4, 0xff, 0x9f, 0xa0, 0x81};
    for (int round = 0; round < 20000; round++) {
        char in[64], out[KH_ESCAPE_CAP(63)], back[64];
        size_t n = (size_t)(rand() % 63);
        for (size_t i = 0; i < n; i++)
            in[i] = (char)pool[rand() % (int)sizeof pool];
        in[n] = '\0';
        assert_int_equal(kh_escape(in, out, sizeof out), 0);
        for (const unsigned char *p = (const unsigned char *)out; *p; p++) {
            assert_true(*p >= 0x20 && *p != 0x7f);
            if (p[0] == 0xc2)
                assert_true(p[1] < 0x80 || p[1] > 0x9f);          /* no C1 control */
            if (p[0] == 0xe2 && p[1] == 0x80)
                assert_true(p[2] != 0xa8 && p[2] != 0xa9 && (p[2] < 0xaa || p[2] > 0xae));
        }
        json_t *j = json_string(out);
        assert_non_null(j);
        json_decref(j);
        assert_int_equal(unescape(out, back), n);
        assert_memory_equal(back, in, n);
    }
}

static void test_escape_cut(void **state)
{
    (void)state;
    char out[16];
    memset(out, 'X', sizeof out);
    assert_int_equal(kh_escape("ab\ncd", out, 4), -1);     /* "ab\n" needs 5 bytes */
    assert_string_equal(out, "ab");
    assert_int_equal(kh_escape("ab\ncd", out, 5), -1);
    assert_string_equal(out, "ab\\n");
    assert_int_equal(kh_escape("ab\ncd", out, 8), 0);
    assert_string_equal(out, "ab\\ncd");
    assert_int_equal(kh_escape("xé", out, 3), -1);         /* é is 2 bytes: not split */
    assert_string_equal(out, "x");
    assert_int_equal(kh_escape("\xff", out, 4), -1);        /* \xff is 4 bytes: whole or none */
    assert_string_equal(out, "");
    assert_int_equal(kh_escape("abc", out, 0), -1);
    /* the cap that never cuts: every byte escaped */
    char worst[65], big[KH_ESCAPE_CAP(64)];
    memset(worst, 0x01, 64);
    worst[64] = '\0';
    assert_int_equal(kh_escape(worst, big, sizeof big), 0);
    assert_int_equal(strlen(big), 256);
}

/* ---- kh_read_regular ---- */

typedef struct {
    char dir[64];
    char path[128];
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/kh-test-files-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static const char *in_dir(fx_t *f, const char *name)
{
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    return f->path;
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

/* kh_read_regular on path: its return, with *why and *size. */
static int read_it(const char *path, size_t max, kh_file_problem_t *why, uint64_t *size,
                   char **buf)
{
    size_t len = 0;
    *buf = NULL;
    int rc = kh_read_regular(path, max, buf, &len, why, size);
    if (rc == 0)
        assert_int_equal(len, strlen(*buf));
    return rc;
}

static void test_read_regular(void **state)
{
    fx_t *f = *state;
    kh_file_problem_t why;
    uint64_t size;
    char *buf;
    write_text(in_dir(f, "r.csv"), "period,orgunit\n");
    assert_int_equal(read_it(f->path, 1 << 20, &why, &size, &buf), 0);
    assert_int_equal(why, KH_FILE_OK);
    assert_string_equal(buf, "period,orgunit\n");
    free(buf);
    /* exactly the bound is read, one byte over is refused unread */
    assert_int_equal(read_it(f->path, 15, &why, &size, &buf), 0);
    free(buf);
    assert_int_equal(read_it(f->path, 14, &why, &size, &buf), 1);
    assert_int_equal(why, KH_FILE_TOO_LARGE);
    assert_int_equal(size, 15);
    assert_null(buf);
    /* gone: a system error */
    assert_int_equal(read_it(in_dir(f, "none.csv"), 100, &why, &size, &buf), -1);
    assert_int_equal(errno, ENOENT);
}

static void test_read_refuses_links(void **state)
{
    fx_t *f = *state;
    kh_file_problem_t why;
    uint64_t size;
    char *buf, secret[128], lnk[128];
    snprintf(secret, sizeof secret, "%s", in_dir(f, "secret"));
    write_text(secret, "root:SECRET-MARKER:19000:0:99999:7:::\n");
    snprintf(lnk, sizeof lnk, "%s", in_dir(f, "link.csv"));
    assert_int_equal(symlink(secret, lnk), 0);
    assert_int_equal(read_it(lnk, 1 << 20, &why, &size, &buf), 1);
    assert_int_equal(why, KH_FILE_SYMLINK);
    assert_null(buf);
    /* a hard link to it: two names, refused */
    assert_int_equal(link(secret, in_dir(f, "hard.csv")), 0);
    assert_int_equal(read_it(f->path, 1 << 20, &why, &size, &buf), 1);
    assert_int_equal(why, KH_FILE_HARDLINK);
    assert_null(buf);
}

static void test_read_refuses_fifo_and_folder(void **state)
{
    fx_t *f = *state;
    kh_file_problem_t why;
    uint64_t size;
    char *buf;
    assert_int_equal(mkfifo(in_dir(f, "pipe.csv"), 0600), 0);
    alarm(60);                      /* a hang guard: a blocked open fails the test */
    assert_int_equal(read_it(f->path, 1 << 20, &why, &size, &buf), 1);
    alarm(0);
    assert_int_equal(why, KH_FILE_NOT_REGULAR);
    assert_null(buf);
    struct stat st;
    assert_int_equal(lstat(f->path, &st), 0);
    assert_string_equal(kh_file_kind(st.st_mode, 0), "FIFO");
    assert_int_equal(mkdir(in_dir(f, "dir.csv"), 0700), 0);
    assert_int_equal(read_it(f->path, 1 << 20, &why, &size, &buf), 1);
    assert_int_equal(why, KH_FILE_NOT_REGULAR);
    assert_int_equal(lstat(f->path, &st), 0);
    assert_string_equal(kh_file_kind(st.st_mode, 1), "thư mục");
    /* a symbolic link to a FIFO: the link is refused, the FIFO never opened */
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/pipe.csv", f->dir);
    assert_int_equal(symlink(fifo, in_dir(f, "to-pipe.csv")), 0);
    alarm(60);
    assert_int_equal(read_it(f->path, 1 << 20, &why, &size, &buf), 1);
    alarm(0);
    assert_int_equal(why, KH_FILE_SYMLINK);
}

static void test_atomic_write_private(void **state)
{
    fx_t *f = *state;
    mode_t old = umask(0);          /* whatever the umask, never readable by others */
    assert_int_equal(kh_write_file_atomic(in_dir(f, "out.xlsx"), "x", 1), 0);
    umask(old);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
}

/* kh_trim: one rule for every text read from a spreadsheet (reports and catalogue). */
/* One word of a space-separated list: whole words only, at any place, blanks runs too. */
static void test_in_words(void **state)
{
    (void)state;
    assert_int_equal(kh_in_words("debug info warn error", "info"), 1);
    assert_int_equal(kh_in_words("debug info warn error", "error"), 1);
    assert_int_equal(kh_in_words("debug info warn error", "debug"), 1);
    assert_int_equal(kh_in_words("debug info warn error", "inf"), 0);
    assert_int_equal(kh_in_words("debug info warn error", "errors"), 0);
    assert_int_equal(kh_in_words("collector  node", "node"), 1);
    assert_int_equal(kh_in_words("", "x"), 0);
    assert_int_equal(kh_in_words("a b", ""), 0);
}

/* kh_hash_str: 64-bit FNV-1a (its published test values), the same for the same text. */
static void test_hash_str(void **state)
{
    (void)state;
    assert_true(kh_hash_str("") == 0xcbf29ce484222325ULL);
    assert_true(kh_hash_str("a") == 0xaf63dc4c8601ec8cULL);
    assert_true(kh_hash_str("foobar") == 0x85944171f73967e8ULL);
    char a[] = "829-2020S2", b[] = "829-2020S2";
    assert_true(kh_hash_str(a) == kh_hash_str(b));
    assert_true(kh_hash_str("829-2020S2") != kh_hash_str("829-2020S1"));
}

static void test_trim(void **state)
{
    (void)state;
    struct { const char *in, *out; } c[] = {
        {"  12\t", "12"},
        {"\xC2\xA0" "1.234\xC2\xA0", "1.234"},                  /* no-break spaces */
        {"\r\n Hội Khuyến học \xC2\xA0\r\n", "Hội Khuyến học"},
        {"a \xC2\xA0 b", "a \xC2\xA0 b"},                         /* inside: kept */
        {" \xC2\xA0\t ", ""},
        {"", ""},
        {"\xC2", "\xC2"},                                        /* half a no-break space */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char buf[64];
        kh_strlcpy(buf, c[i].in, sizeof buf);
        assert_ptr_equal(kh_trim(buf), buf);
        assert_string_equal(buf, c[i].out);
    }
}

/* kh_utf8_len: strict UTF-8, one character at a time. */
static void test_utf8_len(void **state)
{
    (void)state;
    uint32_t cp = 0;
    assert_int_equal(kh_utf8_len("a", 1, &cp), 1);
    assert_int_equal(cp, 'a');
    assert_int_equal(kh_utf8_len("ệ", 3, &cp), 3);
    assert_int_equal(cp, 0x1EC7);
    assert_int_equal(kh_utf8_len("\xF0\x9F\x93\x9A", 4, &cp), 4);
    assert_int_equal(cp, 0x1F4DA);
    assert_int_equal(kh_utf8_len("ệ", 2, NULL), 0);                   /* cut short */
    assert_int_equal(kh_utf8_len("\xC0\xAF", 2, NULL), 0);          /* overlong '/' */
    assert_int_equal(kh_utf8_len("\xE0\x80\xAF", 3, NULL), 0);     /* overlong */
    assert_int_equal(kh_utf8_len("\xED\xA0\x80", 3, NULL), 0);     /* a surrogate */
    assert_int_equal(kh_utf8_len("\xF4\x90\x80\x80", 4, NULL), 0); /* above U+10FFFF */
    assert_int_equal(kh_utf8_len("\x80", 1, NULL), 0);
    assert_int_equal(kh_utf8_len("", 0, NULL), 0);
}

/* kh_grow: the one growable array (doubling, a first size, a bound). */
static void test_grow(void **state)
{
    (void)state;
    int *v = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(KH_GROW(v, n, cap, 8), 0);
        assert_true(cap > n);
        v[n++] = i;
    }
    assert_int_equal(cap, 1024);                  /* 8, 16, …, 1024 */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(v[i], i);
    free(v);
    /* bounded: at max items it refuses, the array unchanged */
    long *w = NULL;
    n = cap = 0;
    for (; n < 10; n++) {
        assert_int_equal(kh_grow(&w, n, &cap, sizeof *w, 4, 10), 0);
        w[n] = (long)n;
    }
    assert_int_equal(cap, 10);
    long *before = w;
    assert_int_equal(kh_grow(&w, n, &cap, sizeof *w, 4, 10), -1);
    assert_ptr_equal(w, before);
    assert_int_equal(cap, 10);
    free(w);
}

static void test_fmt_num(void **state)
{
    (void)state;
    char b[32];
    kh_fmt_num(-0.0, b, sizeof b);
    assert_string_equal(b, "0");
    kh_fmt_num(72.5, b, sizeof b);
    assert_string_equal(b, "72.5");
    kh_fmt_num(1234567, b, sizeof b);
    assert_string_equal(b, "1234567");
    assert_string_equal(kh_u64_str(18446744073709551615ULL, b, sizeof b), "18446744073709551615");
    assert_ptr_equal(kh_u64_str(0, b, sizeof b), b);
    assert_string_equal(b, "0");
    kh_fmt_num(0.1 + 0.2, b, sizeof b);
    assert_string_equal(b, "0.3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_keeps_text),
        cmocka_unit_test(test_escape_controls),
        cmocka_unit_test(test_escape_invalid_utf8),
        cmocka_unit_test(test_escape_random_names),
        cmocka_unit_test(test_escape_cut),
        cmocka_unit_test(test_in_words),
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_utf8_len),
        cmocka_unit_test(test_fmt_num),
        cmocka_unit_test(test_grow),
        cmocka_unit_test(test_hash_str),
        cmocka_unit_test_setup_teardown(test_read_regular, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_refuses_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_refuses_fifo_and_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_write_private, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
