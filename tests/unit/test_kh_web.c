/*
 * test_kh_web.c — what the two web servers share (lib/security/kh_web.h): the listen
 * address, the Host check against DNS rebinding, and reading a new password from stdin
 * (one whole line, at least N characters — code points, not bytes — at most M bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kh_result.h"
#include "kh_web.h"

static void test_listen_parse(void **state)
{
    (void)state;
    struct sockaddr_in sa;
    assert_int_equal(kh_web_listen_parse("127.0.0.1:8490", &sa), KH_OK);
    assert_int_equal(ntohs(sa.sin_port), 8490);
    assert_int_equal(ntohl(sa.sin_addr.s_addr), INADDR_LOOPBACK);
    assert_int_equal(kh_web_listen_parse("10.1.2.3:1", &sa), KH_OK);
    assert_int_equal(kh_web_listen_parse("127.0.0.1", &sa), KH_NO);        /* no port */
    assert_int_equal(kh_web_listen_parse("127.0.0.1:0", &sa), KH_NO);
    assert_int_equal(kh_web_listen_parse("127.0.0.1:65536", &sa), KH_NO);
    assert_int_equal(kh_web_listen_parse("localhost:8490", &sa), KH_NO);  /* IPv4 only */
    assert_int_equal(kh_web_listen_parse("1.2.3.4:80x", &sa), KH_NO);
    assert_int_equal(kh_web_listen_parse(NULL, &sa), KH_NO);
}

static void test_host_ok(void **state)
{
    (void)state;
    assert_true(kh_web_host_ok("127.0.0.1:8490", 8490, "127.0.0.1:8490"));
    assert_true(kh_web_host_ok("localhost:8490", 8490, "127.0.0.1:8490"));
    assert_false(kh_web_host_ok("evil.example:8490", 8490, "127.0.0.1:8490"));
    assert_false(kh_web_host_ok("127.0.0.1:8491", 8490, "127.0.0.1:8490"));
    assert_false(kh_web_host_ok("127.0.0.1", 8490, "127.0.0.1:8490"));
    assert_false(kh_web_host_ok(NULL, 8490, "127.0.0.1:8490"));
    assert_false(kh_web_host_ok("", 8490, ""));
}

/* Runs kh_web_password_read with `input` on stdin. */
static long read_from(const char *input, char *pw, size_t cap)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    assert_int_equal(write(fd[1], input, strlen(input)), (ssize_t)strlen(input));
    close(fd[1]);
    int saved = dup(STDIN_FILENO);
    dup2(fd[0], STDIN_FILENO);
    close(fd[0]);
    clearerr(stdin);
    long n = kh_web_password_read("test", "", pw, cap, 8, 32);
    char rest[64];
    while (fgets(rest, sizeof rest, stdin)) {}
    dup2(saved, STDIN_FILENO);
    close(saved);
    clearerr(stdin);
    return n;
}

static void test_password_read(void **state)
{
    (void)state;
    char pw[34];
    assert_int_equal(read_from("mat-khau-1\n", pw, sizeof pw), 10);
    assert_string_equal(pw, "mat-khau-1");
    assert_int_equal(read_from("mat-khau-2", pw, sizeof pw), 10);      /* last line, no \n */
    assert_int_equal(read_from("mat-khau-3\r\nmore\n", pw, sizeof pw), 10);
    assert_int_equal(read_from("ngắn\n", pw, sizeof pw), -1);           /* 4 characters */
    assert_int_equal(pw[0], '\0');                                      /* wiped */
    assert_int_equal(read_from("mậtkhẩu\n", pw, sizeof pw), -1);        /* 7 chars, 11 bytes */
    assert_int_equal(read_from("mậtkhẩuu\n", pw, sizeof pw), 12);       /* 8 chars, 12 bytes */
    assert_int_equal(read_from("0123456789012345678901234567890123456789\n", pw, sizeof pw),
                     -1);                                               /* over 32 bytes */
    assert_int_equal(read_from("", pw, sizeof pw), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_parse),
        cmocka_unit_test(test_host_ok),
        cmocka_unit_test(test_password_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
