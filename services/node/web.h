/*
 * web.h — the district officer's web page, served by the running node (`kh-node run`):
 * drop or choose a report file (CSV or XLSX), see at once every problem the node's own
 * check finds (node_prepare), send it, follow its receipts live; the list of reports;
 * whether the node is connected to the province now and, if not, why; the connection
 * check (check.h); the template (template.h).  Vietnamese with English beside it.
 *
 * Configuration ([node]):
 *   web_listen         IPV4:PORT (default 127.0.0.1:8480); "" or "off": no page.  An
 *                      address other than a loopback one (127.x.x.x) needs a password.
 *   web_password_file  a file written by `kh-node web-password FILE` (libsodium's
 *                      crypto_pwhash_str of the password): HTTP Basic auth, any user name.
 *   web_tls_cert, web_tls_key   HTTPS (PEM files; libmicrohttpd with GnuTLS).
 *   web_tls_client_ca  with HTTPS: only a browser whose certificate this CA signed may
 *                      open the page (checked with GnuTLS on every request); like a
 *                      password, it lets the page listen on the office's network.
 *
 * Threading (the invariants): libmicrohttpd runs the page on ONE internal thread of its
 * own.  That thread has its OWN node_t with its own SQLite connection to the node's
 * outbox.db (link NULL, quiet: it never prints to stderr, which is the service's log):
 * it queues a report exactly like `kh-node submit`, another process would, and the
 * running node sees the write through PRAGMA data_version.  It never touches the libuv
 * loop's objects.  The catalogue is shared: read-only after load.  The only other
 * shared things are the log (kh_log_write is serialised) and the service's
 * configuration (read-only).
 *
 * Bounds: connections (WEB_CONNECTIONS, WEB_PER_IP), a connection's idle time
 * (WEB_TIMEOUT_S), an upload ([node] max_file_bytes plus the form's own bytes), the
 * reports listed (WEB_REPORTS_MAX), the pages (WEB_PAGE_MAX), the uploads prepared but
 * not sent (WEB_UPLOADS_MAX; older ones go first).
 *
 * Every POST form carries a per-process random token (CSRF): a POST without it is
 * refused.  Every text on a page is escaped for HTML.
 *
 * Log events: web.start (info), web.config (error: a configuration the page refuses;
 * the node stops), web.listen (error: the page could not start; the node goes on
 * without it), web.request (debug), web.upload, web.submit, web.check (info, with
 * district and report_id), web.refused (warn, rate-limited: a bad token, a bad password,
 * no client certificate, too large).
 */
#ifndef KH_NODE_WEB_H
#define KH_NODE_WEB_H

#include "kh_result.h"
#include "kh_service.h"
#include "node.h"

typedef struct node_web node_web_t;

/* Starts the page for the running node n (its district, dir, catalogue, key and
 * max_file_bytes are copied; the page opens its own database connection) as [node]
 * web_listen and web_password_file of s say.  Returns KH_OK (started, *out set),
 * KH_NO (off by configuration, or the port cannot be had: logged, *out NULL, the node
 * goes on without the page), KH_ERR (a configuration the page must refuse: a bad
 * address, a non-loopback address without a password file, a password file that cannot
 * be read; logged with what to do — the node must not start). */
int node_web_start(kh_service_t *s, const node_t *n, node_web_t **out);

/* Stops the page (waits for its thread) and frees it; sets *w to NULL.  NULL: nothing. */
void node_web_stop(node_web_t **w);

/* `kh-node web-password FILE` (argv[1] == "web-password"): reads a password from stdin
 * (one line, at least WEB_PASSWORD_MIN characters), writes its crypto_pwhash_str to
 * FILE (mode 0640, replaced atomically).  Returns the exit status (0, 1 failed, 2
 * usage). */
int node_web_password_main(int argc, char **argv);

#endif
