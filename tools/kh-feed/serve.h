/*
 * serve.h — `kh-feed serve`, the province's dashboard in the browser, and `kh-feed passwd
 * USER`, which adds or changes a dashboard login (serve.c; the pages: serve_page.c).
 */
#ifndef KH_FEED_SERVE_H
#define KH_FEED_SERVE_H

/* Runs `kh-feed serve [--listen IPV4:PORT]` or `kh-feed passwd USER` (argv[1] the
 * command; cfgpath the --config given before it, or NULL).  serve returns when SIGINT or
 * SIGTERM arrives.  Returns the process's exit code: 0, 1 (could not start or write: the
 * reason printed) or 2 (bad arguments). */
int kh_feed_serve_main(int argc, char **argv, const char *cfgpath);

#endif
