/*
 * node.h — kh-node, the district office's end of the pipeline.
 *
 * A report file is parsed and checked with the province's own catalogue and rules
 * (lib/model/kh_catalog) before it is queued, so a district officer sees every mistake at
 * once, offline.  A queued report lives in the node's outbox database until the
 * collector acknowledges it; receipts that come back are stored once and appended
 * to `<file>.receipts.jsonl` next to the report file (or in <node folder>/receipts/ when
 * that folder is not writable: node_submit_file) and to the node's log.
 */
#ifndef KH_NODE_H
#define KH_NODE_H

#include <sqlite3.h>

#include "kh_catalog.h"
#include "kh_findings.h"
#include "kh_util.h"
#include "kh_keys.h"
#include "kh_link.h"

/* Whether the node is connected to the province now, and if not, why (issue 14): set by
 * the running node from its link's handshakes (connection.c), shown by `status`, the
 * log and the web page. */
typedef enum {
    NODE_CONN_UNKNOWN = 0,     /* not tried yet (or `submit`, which does not connect) */
    NODE_CONN_OK,              /* a handshake succeeded: the province takes our key */
    NODE_CONN_REFUSED_KEY,     /* the province refused our key (not registered, revoked,
                                * or registered for another unit) */
    NODE_CONN_WRONG_SERVER_KEY,/* the handshake fails: server.pub is not the province's */
    NODE_CONN_UNREACHABLE,     /* nothing answers at [node] collector (host, port, network) */
} node_conn_t;

/* A line of text for a state: what it means and what to do next, in Vietnamese and in
 * English (static strings). */
void node_conn_describe(node_conn_t c, const char **vi, const char **en);
/* A short stable name for logs and JSON: "unknown", "ok", "refused_key",
 * "wrong_server_key", "unreachable". */
const char *node_conn_name(node_conn_t c);

typedef struct {
    char district[KH_CODE_MAX];
    char dir[1024];            /* node folder: outbox.db, spool/ */
    kh_catalog_t *cat;
    sqlite3 *db;
    kh_link_t *link;           /* NULL for the submit command: it only queues */
    int quiet;                 /* 1: never print to stderr even with link NULL (the web
                                * page's node: its stderr is the service's log) */
    kh_key_t key;              /* the district's key: signs reports, CURVE identity */
    int has_key;               /* 0: reports go unsigned ([security] curve = no) */
    size_t max_file_bytes;     /* [node] max_file_bytes; 0: KH_REPORT_MAX_BYTES */
    uint64_t queued, rejected_locally, receipts;
    uint64_t files_refused;    /* of rejected_locally: refused unread (node_submit_file) */
    node_conn_t conn;          /* the link's state now (running node only) */
    int64_t conn_since;        /* kh_real_ms when conn last changed; 0: never */
} node_t;

/* Opens (creating) the node database in dir.  Returns 0 or -1 after printing why. */
int node_open_db(node_t *n);

/* A report file read and checked, not queued (node_prepare). */
typedef struct {
    Kh__Report r;              /* what was read; report_id, district and source_name set
                                * when the syntax is sound */
    kh_findings_t f;           /* every problem found: errors and warnings */
    size_t errors;             /* errors in f */
    int syntax;                /* syntax errors: > 0 means the values were not checked */
    int refused;               /* 1: refused unread (why, size); r and f are empty */
    kh_file_problem_t why;
    uint64_t size;
    char name[256];            /* the file's name as shown (escaped, <= 255 bytes) */
    char encoding[48];         /* what the file was read as (sheet.h): "UTF-8", … */
} node_prep_t;

/* Reads path (only an ordinary file: kh_read_regular), decodes it (sheet.h), parses
 * and checks it with the province's rules as of today.  Writes nothing, queues
 * nothing, prints nothing.  Returns 0 (the outcome is in p: refused, syntax, errors,
 * f), -1 on a system error (errno).  Free p with node_prep_clear either way. */
int node_prepare(node_t *n, const char *path, node_prep_t *p);
void node_prep_clear(node_prep_t *p);

/* Parses, checks and queues one file.  `receipt_dir`: where to write the receipts
 * file (NULL: next to the file).  force: queue even when the local check finds
 * errors (the province decides).  submitted_at: unix ms to record as the submit
 * time (0: now); only a collector set to replay_clock = node believes it, for
 * importing past reports.  The "queued" and "rejected_locally" receipts of a file read
 * name its `encoding` (sheet.h: "UTF-8", "XLSX", …); the submit command says it on
 * stderr too when it is not plain UTF-8 or the file is refused.  Returns 0 when queued,
 * 1 when refused locally
 * (the reasons are in the receipts file, in the log and — for the submit command,
 * link NULL — on stderr; the running node's stderr is its log, JSON lines only), -1
 * on a system error.
 * Only an ordinary file is read (kh_read_regular, lib/base/kh_util.h): a symbolic link, a
 * file with more than one name (hard link), a FIFO, socket, device or folder, a file
 * the node may not read and one larger than max_file_bytes are refused unread — with
 * a receipt (stage rejected_locally, a finding that says what is wrong and what to
 * do), a line on stderr and a log line, none of which shows anything of the file's
 * contents — counted in rejected_locally and files_refused, and the call returns 1
 * at once (a FIFO never blocks it).  The file name is escaped (kh_escape) wherever it
 * is shown: receipts, stderr, log lines, the report's source_name (at most 255 bytes). */
int node_submit_file(node_t *n, const char *path, const char *receipt_dir, int force,
                     int64_t submitted_at);
/* Issue 14, node_submit_file further:
 * - returns 2 when the values are identical to the revision last queued for the same
 *   report id (node_content_hash) and force is 0: nothing queued, no new revision; a receipt line with
 *   stage "unchanged", a line on stderr (submit), a log line;
 * - the submit command (link NULL, receipt_dir NULL): the file's folder is made absolute
 *   (realpath; the database stores that path) and the receipts go beside it, or, when
 *   that folder takes no file, into <node folder>/receipts/ with a line on stderr saying
 *   where; a receipt that cannot be written makes it return -1 (after queuing: the
 *   report is queued all the same).  It prints the findings (warnings too, at most
 *   NODE_SHOW_FINDINGS) on stderr and the queued line, with the revision and the count of
 *   warnings, on stdout;
 * - every receipt line has "at_text" beside "at": local time with its offset. */
/* Findings shown on the terminal; the rest are in the receipts file. */
#define NODE_SHOW_FINDINGS 20

/* A hash of a report's content: the canonical long-form CSV (kh_report_write_csv) of its
 * values, lines in order — the same values from an XLSX or a CSV, wide or long, are the
 * same hash.  out: 64 hex digits.  Returns 0 or -1 (out of memory). */
#define NODE_HASH_HEX 65
int node_content_hash(const Kh__Report *r, char out[NODE_HASH_HEX]);

/* Applies a RECEIPT payload from the collector: stores it once, writes it out.
 * Returns 0 (new or already known: acknowledge it), -1 malformed or storage error. */
int node_apply_receipt(node_t *n, const uint8_t *payload, size_t len, char *event_id,
                       size_t cap);

/* The collector acknowledged report `key` ("<report_id>/<revision>"). */
void node_on_received(node_t *n, const char *key, int dup);

/* Prints a header, one line per report (id, revision, stage in Vietnamese/English, feed
 * sequence, submitted at in local time, file), the outbox depth, the running node's
 * connection state since when with what to do, and the reminders.  Every text field is escaped (kh_escape): a
 * newline, tab or control character in a file name never breaks a line.  Returns 0
 * or -1. */
int node_print_status(node_t *n, FILE *out);
/* The same as one JSON document: {district, reports: [{id, revision, period, stage,
 * stage_text, feed_seq, submitted_at (ISO, UTC), file, receipts}], outbox, connection:
 * {state, since (ISO or null), since_text, message_vi, message}, reminders: [{period, at,
 * message_vi, message}]}.  Text fields escaped as above.  Returns 0 or -1. */
int node_print_status_json(node_t *n, FILE *out);
/* A stage's name as an officer reads it ("đã nhận/received"); the name itself when unknown. */
const char *node_stage_text(const char *stage);

#endif
