/*
 * kh_web.c — what the two web servers share; see kh_web.h.
 */
#include "kh_web.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "kh_result.h"
#include "kh_util.h"

int kh_web_listen_parse(const char *s, struct sockaddr_in *sa)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    char host[64];
    long port;
    if (!colon || (size_t)(colon - s) >= sizeof host || kh_parse_long(colon + 1, 1, 65535, &port) < 0)
        return KH_NO;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? KH_OK : KH_NO;
}

int kh_web_host_ok(const char *host, unsigned port, const char *listen)
{
    if (!host)
        return 0;
    char want[3][80];
    snprintf(want[0], sizeof want[0], "127.0.0.1:%u", port);
    snprintf(want[1], sizeof want[1], "localhost:%u", port);
    snprintf(want[2], sizeof want[2], "%s", listen ? listen : "");
    for (int i = 0; i < 3; i++)
        if (want[i][0] && strcmp(host, want[i]) == 0)
            return 1;
    return 0;
}

long kh_web_password_read(const char *prog, const char *prompt, char *pw, size_t cap,
                          size_t min_chars, size_t max_bytes)
{
    struct termios old, quiet;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        fputs(prompt, stderr);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *got = cap > 2 ? fgets(pw, (int)cap, stdin) : NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    size_t len = got ? strcspn(pw, "\r\n") : 0;
    int whole = got && (pw[len] == '\n' || pw[len] == '\r' || feof(stdin));
    if (cap)
        pw[len] = '\0';
    size_t chars = 0;
    for (size_t i = 0; i < len; i++)
        chars += ((unsigned char)pw[i] & 0xc0) != 0x80;
    if (!whole || chars < min_chars || len > max_bytes) {
        sodium_memzero(pw, cap);
        fprintf(stderr, "%s: mật khẩu phải có từ %zu ký tự, một dòng, tối đa %zu byte: hãy "
                "chạy lại / the password must be at least %zu characters on one line, at most "
                "%zu bytes: run it again\n", prog, min_chars, max_bytes, min_chars, max_bytes);
        return -1;
    }
    return (long)len;
}
