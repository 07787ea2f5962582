/*
 * kh_web.h — what the two web servers share (kh-node's page for the district officer,
 * services/node/web.c; kh-feed's dashboard for the province analyst, tools/kh-feed/
 * serve.c): the listen address, the Host check that keeps a page on 127.0.0.1 out of
 * reach of a web site pointing a DNS name at it (DNS rebinding), and reading a new
 * password from stdin for its argon2id hash.
 */
#ifndef KH_WEB_H
#define KH_WEB_H

#include <netinet/in.h>
#include <stddef.h>

/* "A.B.C.D:PORT" (IPv4, port 1..65535) → sa.  Returns KH_OK, or KH_NO when s is not such
 * an address. */
int kh_web_listen_parse(const char *s, struct sockaddr_in *sa);

/* 1 when `host` (a request's Host header, NULL when none) names the page's own address:
 * "127.0.0.1:PORT", "localhost:PORT" or `listen` as configured; else 0. */
int kh_web_host_ok(const char *host, unsigned port, const char *listen);

/* Reads one line from stdin as a new password into pw (cap bytes; the terminal does not
 * echo it), asking with `prompt` on a terminal.  It must be whole (one line), at least
 * min_chars characters (code points) and at most max_bytes bytes (max_bytes + 2 <= cap).
 * Returns its length in bytes, or -1 after printing "<prog>: …" in Vietnamese and English
 * (pw is then wiped). */
long kh_web_password_read(const char *prog, const char *prompt, char *pw, size_t cap,
                          size_t min_chars, size_t max_bytes);

#endif
