/*
 * web_int.h — what the two files of the web page share (web.h is the module's public
 * header): the page's state, its bounds, and the pages web.c answers with.  Included by
 * services/node/web.c (the server: requests, uploads, authentication, start and stop,
 * `kh-node web-password`) and services/node/web_page.c (every page and JSON reply:
 * HTML built with every outside text escaped) only.
 *
 * Invariant: everything here runs on libmicrohttpd's one thread, except node_web_start
 * and node_web_stop (the node's main thread, before and after it).
 */
#ifndef KH_NODE_WEB_INT_H
#define KH_NODE_WEB_INT_H

#include <microhttpd.h>
#include <sodium.h>

#include "kh_metrics.h"
#include "web.h"

#define WEB_CONNECTIONS 32         /* an office's browsers, with room for a few stuck ones */
#define WEB_PER_IP 16              /* one browser opens a handful at once */
#define WEB_TIMEOUT_S 60           /* an idle connection is closed after this */
#define WEB_REPORTS_MAX 200        /* reports listed on the overview: 8 years × a few revisions */
#define WEB_RECEIPTS_MAX 100       /* receipts listed for one report revision */
#define WEB_PAGE_MAX (8u << 20)    /* a page: KH_MAX_FINDINGS rows of about 1 KiB fit */
#define WEB_FORM_EXTRA 65536       /* a form's bytes besides the file: boundaries, token */
#define WEB_UPLOADS_MAX 100        /* uploads checked but not sent, kept for the Send button */
#define WEB_AUTH_CACHE 8           /* passwords verified, remembered (their keyed hashes) */
#define WEB_PASSWORD_MIN 8         /* characters of a page password, at least */
#define WEB_PASSWORD_MAX 1024      /* bytes of a password read or tried */
#define WEB_ID_HEX 32              /* an upload's folder name: 16 random bytes */
#define WEB_PEM_MAX 65536          /* a certificate, key or CA file (PEM): a chain fits */

struct node_web {
    struct MHD_Daemon *d;
    kh_service_t *svc;
    node_t n;                          /* the page's own node: link NULL, quiet */
    char token[65];                    /* the CSRF token of this process */
    char pwhash[crypto_pwhash_STRBYTES];
    int has_pw;
    int loopback;                      /* bound to 127.x: the Host header is checked */
    unsigned port;
    char *tls_cert, *tls_key, *tls_ca;  /* PEM, NUL-terminated; NULL: plain HTTP / no CA */
    kh_metric_t *m_requests, *m_refused, *m_uploads, *m_sent;   /* atomics: any thread */
    uint8_t auth_key[crypto_generichash_KEYBYTES];
    uint8_t auth_ok[WEB_AUTH_CACHE][crypto_generichash_BYTES];
    size_t n_auth, auth_next;
    char uploads[PATH_MAX];            /* <dir>/web-uploads */
    char listen[64];
};

/* ---- web_page.c: the replies ---- */

/* 2*bytes random hex digits (libsodium) into out (2*bytes + 1). */
void web_random_hex(char *out, size_t bytes);
/* A page with one message, what happened and what to do (en NULL: vi holds both). */
enum MHD_Result web_message(node_web_t *w, struct MHD_Connection *c, unsigned status,
                            const char *vi, const char *en);
/* 303 to `to`, a path of this page. */
enum MHD_Result web_redirect(struct MHD_Connection *c, const char *to);
/* 401 with the Basic auth challenge and a page that says whom to ask. */
enum MHD_Result web_ask_password(node_web_t *w, struct MHD_Connection *c);
/* GET /: the connection, the upload form, the reports, the template form. */
enum MHD_Result web_overview(node_web_t *w, struct MHD_Connection *c);
/* The node's check of the uploaded file `path` (upload folder id): every finding, and
 * the Send button when there is no error. */
enum MHD_Result web_checked(node_web_t *w, struct MHD_Connection *c, const char *id,
                            const char *path);
/* GET /report/ID/REV and /api/report/ID/REV (rest: "ID/REV"). */
enum MHD_Result web_report(node_web_t *w, struct MHD_Connection *c, const char *rest);
enum MHD_Result web_api_report(node_web_t *w, struct MHD_Connection *c, const char *rest);
/* GET /api/status. */
enum MHD_Result web_api_status(node_web_t *w, struct MHD_Connection *c);
/* GET /template?period=P&format=csv|xlsx: the file, or a page saying what is wrong. */
enum MHD_Result web_template(node_web_t *w, struct MHD_Connection *c);
/* POST /check (token checked by the caller): node_check_all's items. */
enum MHD_Result web_check(node_web_t *w, struct MHD_Connection *c);

#endif
