/*
 * kh_options.c — the table of configuration options (see kh_options.h) and what is
 * made from it: the check of one value, a section's --help, the commented kh.ini.
 *
 * To add an option: one row below, in its section, where kh.ini should show it; then
 * `build/bin/kh-admin config example > deploy/kh.ini` (test_config fails until the two
 * agree).  The program reads it with kh_config_str / kh_config_long / kh_config_yes,
 * which take no default: the row's is the only one.
 */
#include "kh_options.h"
#include "kh_util.h"

#include <string.h>


/* clang-format off */
static const kh_option_t OPTIONS[] = {
/* ---- [general] ---- */
{"general", "run_dir", KH_OPT_PATH, 0, 0, NULL, "../run", NULL,
 "databases, ipc sockets, node folders (%RUN% below stands for it)"},
{"general", "data_dir", KH_OPT_PATH, 0, 0, NULL, "../data", NULL,
 "the catalogue: units, who reports, indicators, rules, targets"},
{"general", "log_level", KH_OPT_CHOICE, 0, 0, "debug info warn error", "info", NULL,
 "the least level logged"},
{"general", "clock", KH_OPT_TEXT, 0, 0, NULL, "real", NULL,
 "the pipeline's clock: when reports are received, validated and counted, which day it\n"
 "is for due dates, reminders and late alerts, which units are in force.  \"real\" (or\n"
 "empty): the machine's clock.  A date-time (2027-06-15T10:00:00, local time; Z or +07:00\n"
 "may follow) for a replay of past reports or a test: each process's clock reads it when\n"
 "the process starts and advances from there.  The environment's KH_CLOCK wins over this\n"
 "line.  Log times and key lifetimes always follow the machine's clock."},
{"general", "hwm", KH_OPT_INT, 1, 1000000, NULL, "1000", NULL,
 "ZeroMQ high-water mark per socket, in messages"},
{"general", "max_message_bytes", KH_OPT_INT, 1024, 268435456, NULL, "4194304", NULL,
 "what a node may send the collector; larger: the node is dropped"},
{"general", "internal_max_message_bytes", KH_OPT_INT, 1024, 1073741824, NULL, NULL,
 "12582912",
 "between the province's own processes a report grows (its verdict carries its\n"
 "findings): not set, it is 2 x max_message_bytes + 4 MiB"},
{"general", "heartbeat_ms", KH_OPT_INT, 0, 600000, NULL, "2000", NULL,
 "ZMTP heartbeats: a dead tcp peer is noticed in 3 intervals"},
{"general", "batch_max", KH_OPT_INT, 1, 4096, NULL, "64", NULL,
 "group commit: at most this many messages per transaction..."},
{"general", "batch_ms", KH_OPT_INT, 0, 10000, NULL, "5", NULL,
 "...or this many milliseconds after the first"},
{"general", "window", KH_OPT_INT, 1, 10000, NULL, "64", NULL,
 "unacknowledged messages in flight per destination"},
{"general", "resend_ms", KH_OPT_INT, 10, 3600000, NULL, "3000", NULL,
 "resend what is not acknowledged after this long"},
{"general", "max_backlog", KH_OPT_INT, 0, 100000000, NULL, "1000", NULL,
 "backpressure: a stage with this many messages waiting for the next stage stops taking\n"
 "new ones until fewer than half wait, so a slow stage slows the one before it, back to\n"
 "the nodes, which keep their reports on disk (0: no limit)"},
{"general", "selfcheck_timeout_ms", KH_OPT_INT, 100, 60000, NULL, "5000", NULL,
 "the start-up self-check: before a service says it is ready, a test client with a key\n"
 "nobody registered connects to each of its CURVE endpoints (the collector's node door,\n"
 "the aggregator's feed, a tcp log stream) and must be refused.  Refused: ready.  Let in:\n"
 "a security failure, the service stops with exit code 1.  No answer (a loaded machine):\n"
 "tried again with a fresh client, each wait twice the one before, up to 60 s; after the\n"
 "last attempt the service stops with exit code 75 (EX_TEMPFAIL) and the supervisor\n"
 "starts it again.  This is the first attempt's wait"},
{"general", "selfcheck_attempts", KH_OPT_INT, 1, 50, NULL, "6", NULL,
 "attempts in all (the defaults allow 5+10+20+40+60+60 s, about 3 minutes)"},

/* ---- [calendar] ---- */
{"calendar", "s1_due", KH_OPT_INT, 101, 1231, NULL, "620", NULL,
 "S1 (January-June) reports are due on this day (mmdd: 20 June)"},
{"calendar", "s2_due", KH_OPT_INT, 101, 1231, NULL, "1205", NULL,
 "S2 (July-December) reports are due on this day (mmdd: 5 December)"},

/* ---- [security] ---- */
{"security", "curve", KH_OPT_YESNO, 0, 0, NULL, "yes", NULL,
 "CURVE on every tcp endpoint; \"no\" only on a closed network"},
{"security", "keys_dir", KH_OPT_PATH, 0, 0, NULL, "%RUN%/keys", NULL,
 "where kh-admin keys writes key files"},
{"security", "keys_db", KH_OPT_PATH, 0, 0, NULL, "%RUN%/keys.db", NULL,
 "the registry of accepted public keys (kh-admin keys register)"},
{"security", "server_key", KH_OPT_PATH, 0, 0, NULL, "%RUN%/keys/server.key", NULL,
 "the province's server key (kh-admin keys init-server)"},
{"security", "handshake_ms", KH_OPT_INT, 100, 600000, NULL, "10000", NULL,
 "a client that has not finished its handshake by then is dropped"},
{"security", "verify_signatures", KH_OPT_YESNO, 0, 0, NULL, "yes", NULL,
 "count only reports signed by their district's key (needs curve = yes: nodes sign with\n"
 "their key); \"no\" only for the transition while nodes have no keys"},
{"security", "province", KH_OPT_TEXT, 0, 0, NULL, NULL, NULL,
 "the unit of the server key; not set: the root of the unit tree ([general] data_dir)"},
{"security", "selfcheck_key", KH_OPT_PATH, 0, 0, NULL, NULL, "%RUN%/keys/admin.key",
 "the key the start-up self-check's client presents (a .key file with its secret, as\n"
 "kh-admin keys generate writes it); not set: a fresh random key on each attempt,\n"
 "registered nowhere.  Only to test the alarm: set it to a registered key and the\n"
 "service must refuse to run (exit code 1, \"self-check FAILED: ... let in\")"},

/* ---- [collector] ---- */
{"collector", "listen", KH_OPT_ENDPOINT, 0, 0, NULL, "tcp://127.0.0.1:7101", NULL,
 "nodes connect here (the only door from outside)"},
{"collector", "receipts", KH_OPT_ENDPOINT, 0, 0, NULL, "ipc://%RUN%/collector-receipts.sock",
 NULL, "the notifier sends receipts here"},
{"collector", "validator", KH_OPT_ENDPOINT, 0, 0, NULL, "ipc://%RUN%/validator.sock", NULL,
 "where reports go next (the validator's listen)"},
{"collector", "db", KH_OPT_PATH, 0, 0, NULL, "%RUN%/collector.db", NULL,
 "SQLite: stored reports, outboxes to validator and nodes"},
{"collector", "log", KH_OPT_ENDPOINT, 0, 0, NULL, "ipc://%RUN%/log-collector.sock", NULL,
 "log PUB for kh-logs; tcp:// needs curve = yes (admin keys only)"},
{"collector", "replay_clock", KH_OPT_CHOICE, 0, 0, "collector node", "collector", NULL,
 "\"node\": trust the node's submit time (importing past reports)"},
{"collector", "max_connections_per_key", KH_OPT_INT, 1, 1000, NULL, "2", NULL,
 "open connections one node key may hold (a reconnect while the old one dies)"},
{"collector", "max_connections", KH_OPT_INT, 1, 1000000, NULL, "4096", NULL,
 "node connections remembered in all; more are refused"},
{"collector", "node_queue", KH_OPT_INT, 1, 100000, NULL, "4", NULL,
 "messages one node connection may have waiting in memory here"},
{"collector", "max_values", KH_OPT_INT, 1, 200000, NULL, "50000", NULL,
 "the door against a hostile sender (README \"The door\"): work bounded before it is done.\n"
 "Values one report may hold; more: refused with a receipt"},
{"collector", "max_ack_keys", KH_OPT_INT, 1, 1000000, NULL, "1024", NULL,
 "keys one ACK from a node may name; more: dropped"},
{"collector", "max_revision_step", KH_OPT_INT, 1, 1000000000, NULL, "1000", NULL,
 "a revision at most this far above the last one received"},
{"collector", "max_unspoken_per_address", KH_OPT_INT, 1, 100000, NULL, "32", NULL,
 "connections from one address that have not spoken yet"},
{"collector", "metrics", KH_OPT_ADDRESS, 0, 0, NULL, "127.0.0.1:7104", NULL,
 "GET /metrics (Prometheus text) for kh-admin status; empty: off"},
{"collector", "metrics_socket", KH_OPT_PATH, 0, 0, NULL, "%RUN%/collector.metrics.sock", NULL,
 "the same, private (0660), read first by kh-admin; empty: none"},

/* ---- [validator] ---- */
{"validator", "listen", KH_OPT_ENDPOINT, 0, 0, NULL, "ipc://%RUN%/validator.sock", NULL,
 "ROUTER: reports from the collector"},
{"validator", "db", KH_OPT_PATH, 0, 0, NULL, "%RUN%/validator.db", NULL,
 "SQLite: outboxes to aggregator and notifier"},
{"validator", "log", KH_OPT_ENDPOINT, 0, 0, NULL, "ipc://%RUN%/log-validator.sock", NULL,
 "log PUB for kh-logs"},
{"validator", "metrics", KH_OPT_ADDRESS, 0, 0, NULL, "127.0.0.1:7105", NULL,
 "GET /metrics (Prometheus text) for kh-admin status; empty: off"},
{"validator", "metrics_socket", KH_OPT_PATH, 0, 0, NULL, "%RUN%/validator.metrics.sock", NULL, "the same, private (0660), read first by kh-admin; empty: none"},

/* ---- [aggregator] ---- */
{"aggregator", "listen", KH_OPT_ENDPOINT, 0, 0, NULL, "ipc://%RUN%/aggregator.sock", NULL,
 "ROUTER: accepted reports from the validator"},
{"aggregator", "feed", KH_OPT_ENDPOINT, 0, 0, NULL, "tcp://127.0.0.1:7102", NULL,
 "PUB: one message per change, with a sequence number"},
{"aggregator", "snapshot", KH_OPT_ENDPOINT, 0, 0, NULL, "tcp://127.0.0.1:7103", NULL,
 "ROUTER: whole state or a range of missed updates"},
{"aggregator", "db", KH_OPT_PATH, 0, 0, NULL, "%RUN%/aggregator.db", NULL,
 "SQLite: revisions, counted values, totals, feed, audit log"},
{"aggregator", "audit_key", KH_OPT_PATH, 0, 0, NULL, "%RUN%/keys/aggregator-audit.key", NULL,
 "the audit log's anchor: after each commit the new audit entries are signed with this\n"
 "key (Ed25519, made with its .pub beside it at the first start; keep a copy of the .pub\n"
 "and a backup of the key off this machine) as one line of the checkpoint file; kh-admin\n"
 "audit verify checks the database against it.  If entries it signed are gone or\n"
 "changed, the aggregator does not start (its log line says what to do)"},
{"aggregator", "audit_checkpoints", KH_OPT_PATH, 0, 0, NULL, "%RUN%/audit.checkpoints", NULL,
 "the checkpoint file"},
{"aggregator", "log", KH_OPT_ENDPOINT, 0, 0, NULL, "ipc://%RUN%/log-aggregator.sock", NULL,
 "log PUB for kh-logs"},
{"aggregator", "metrics", KH_OPT_ADDRESS, 0, 0, NULL, "127.0.0.1:7106", NULL,
 "GET /metrics (Prometheus text) for kh-admin status; empty: off"},
{"aggregator", "metrics_socket", KH_OPT_PATH, 0, 0, NULL, "%RUN%/aggregator.metrics.sock", NULL, "the same, private (0660), read first by kh-admin; empty: none"},

/* ---- [notifier] ---- */
{"notifier", "listen", KH_OPT_ENDPOINT, 0, 0, NULL, "ipc://%RUN%/notifier.sock", NULL,
 "ROUTER: events from validator and aggregator"},
{"notifier", "db", KH_OPT_PATH, 0, 0, NULL, "%RUN%/notifier.db", NULL,
 "SQLite: events, outbox of receipts to the collector"},
{"notifier", "log", KH_OPT_ENDPOINT, 0, 0, NULL, "ipc://%RUN%/log-notifier.sock", NULL,
 "log PUB for kh-logs"},
{"notifier", "metrics", KH_OPT_ADDRESS, 0, 0, NULL, "127.0.0.1:7107", NULL,
 "GET /metrics (Prometheus text) for kh-admin status; empty: off"},
{"notifier", "metrics_socket", KH_OPT_PATH, 0, 0, NULL, "%RUN%/notifier.metrics.sock", NULL,
 "the same, private (0660), read first by kh-admin; empty: none"},
{"notifier", "reminder_days", KH_OPT_INT, 0, 180, NULL, "7", NULL,
 "notices (README: Notifications), each made once (by its id, in notifier.db).  Remind\n"
 "districts without a report this many days before the due date ([calendar]), through\n"
 "their node; 0: no reminders"},
{"notifier", "grace_days", KH_OPT_INT, 0, 365, NULL, "15", NULL,
 "\"late\" alerts the day after the due date; \"missing\" alerts this many days later for\n"
 "districts still without a report"},
{"notifier", "check_interval_s", KH_OPT_INT, 1, 86400, NULL, "600", NULL,
 "how often the calendar is checked (seconds)"},
{"notifier", "first_period", KH_OPT_TEXT, 0, 0, NULL, NULL, "2020S2",
 "the first half-year notices are made for; not set: the half-year in which the notifier\n"
 "first started (kept in notifier.db), so a new installation does not alert about old\n"
 "half-years.  The notices' \"today\" is the day of [general] clock"},
{"notifier", "webhook_url", KH_OPT_TEXT, 0, 0, NULL, NULL,
 "https://alerts.example.vn/khuyenhoc",
 "province alerts (late, missing, warnings, period complete) are POSTed as JSON (UTF-8:\n"
 "id, kind, period, district, district_name, text_vi, text_en, at, date; header\n"
 "Idempotency-Key: the id) and kept in notifier.db until answered 2xx; not set: no\n"
 "webhook"},
{"notifier", "webhook_timeout_ms", KH_OPT_INT, 100, 600000, NULL, "10000", NULL,
 "per attempt"},
{"notifier", "webhook_retry", KH_OPT_TEXT, 0, 0, NULL, "10,30,60,300,900,3600", NULL,
 "seconds to wait after the 1st, 2nd... failure (the last repeats)"},
{"notifier", "webhook_max_attempts", KH_OPT_INT, 0, 1000000, NULL, "50", NULL,
 "give up after this many attempts (0: no limit); logged as an error"},
{"notifier", "webhook_give_up_s", KH_OPT_INT, 0, 31536000, NULL, "259200", NULL,
 "...or when the next attempt would be this long after the notice (0: never)"},
{"notifier", "webhook_max_inflight", KH_OPT_INT, 1, 64, NULL, "4", NULL,
 "requests at once"},

/* ---- [node] ---- */
{"node", "collector", KH_OPT_ENDPOINT, 0, 0, NULL, "tcp://127.0.0.1:7101", NULL,
 "the province's collector (the district is not read from this file: kh-node's\n"
 "--district sets it, and %DISTRICT%)"},
{"node", "key", KH_OPT_PATH, 0, 0, NULL, "%RUN%/keys/node-%DISTRICT%.key", NULL,
 "this district's secret key (mode 0600)"},
{"node", "server_key", KH_OPT_PATH, 0, 0, NULL, "%RUN%/keys/server.pub", NULL,
 "the province's server public key"},
{"node", "dir", KH_OPT_PATH, 0, 0, NULL, "%RUN%/node-%DISTRICT%", NULL,
 "outbox.db and spool/ (drop report files here)"},
{"node", "max_file_bytes", KH_OPT_INT, 1, 16777216, NULL, "16777216", NULL,
 "a report file larger than this (bytes) is refused unread, with a receipt saying so;\n"
 "at most 16 MiB, the largest report file the node reads.  Only ordinary files are read:\n"
 "a link, FIFO, folder or device in the spool is refused the same way"},
{"node", "web_listen", KH_OPT_TEXT, 0, 0, NULL, "127.0.0.1:8480", NULL,
 "the district officer's web page (kh-node run): IPV4:PORT, or \"off\" (or empty): none.\n"
 "An address other than 127.x.x.x (the office's network) needs web_password_file, else\n"
 "the node refuses to start.  When the port is taken, the node runs on without the page\n"
 "(logged as an error: choose another port)"},
{"node", "web_password_file", KH_OPT_PATH, 0, 0, NULL, NULL, "/etc/khuyenhoc/web.pass",
 "the web page's password (HTTP Basic, any user name), hashed: written by\n"
 "`kh-node web-password FILE` (reads the password from stdin); not set: no password"},
{"node", "web_tls_cert", KH_OPT_PATH, 0, 0, NULL, NULL, "/etc/khuyenhoc/web.crt",
 "HTTPS for the web page: its certificate (PEM), with web_tls_key; not set: plain HTTP"},
{"node", "web_tls_key", KH_OPT_PATH, 0, 0, NULL, NULL, "/etc/khuyenhoc/web.key",
 "the web page's private key (PEM, mode 0600)"},
{"node", "web_tls_client_ca", KH_OPT_PATH, 0, 0, NULL, NULL, "/etc/khuyenhoc/office-ca.crt",
 "with HTTPS: only a browser with a certificate this CA (PEM) signed opens the page;\n"
 "instead of (or with) a password for an address other than 127.x.x.x"},
{"node", "log", KH_OPT_ENDPOINT, 0, 0, NULL, "ipc://%RUN%/log-node-%DISTRICT%.sock", NULL,
 "log PUB for kh-logs"},
{"node", "metrics", KH_OPT_ADDRESS, 0, 0, NULL, NULL, "127.0.0.1:7108",
 "GET /metrics of this node; not set: off"},
{"node", "metrics_socket", KH_OPT_PATH, 0, 0, NULL, "%RUN%/node.metrics.sock", NULL,
 "the same, private, when metrics is on; empty: none"},

/* ---- [feed] ---- */
{"feed", "mirror", KH_OPT_PATH, 0, 0, NULL, "%RUN%/feed-mirror.db", NULL,
 "kh-feed's local copy of the province feed"},
{"feed", "key", KH_OPT_PATH, 0, 0, NULL, "%RUN%/keys/province.key", NULL,
 "the province analyst's key (role province)"},
{"feed", "server_key", KH_OPT_PATH, 0, 0, NULL, "%RUN%/keys/server.pub", NULL,
 "the province's server public key"},
{"feed", "dashboard_listen", KH_OPT_TEXT, 0, 0, NULL, "127.0.0.1:8490", NULL,
 "kh-feed serve, the dashboard in the browser: IPV4:PORT (--listen overrides it).  Any\n"
 "address but 127.0.0.1 needs dashboard_password_file (or use 127.0.0.1 behind a reverse\n"
 "proxy that logs people in)"},
{"feed", "dashboard_password_file", KH_OPT_PATH, 0, 0, NULL, NULL,
 "/etc/khuyenhoc/dashboard.pass",
 "the dashboard's logins, one `user:argon2id-hash` line each: `kh-feed passwd USER` adds\n"
 "or changes one (reads the password from stdin); not set: no login"},
{"feed", "dashboard_sync_s", KH_OPT_INT, 0, 86400, NULL, "10", NULL,
 "the dashboard catches the mirror up when a page is asked for, at most once in this many\n"
 "seconds (0: for every page)"},

/* ---- [logs] ---- */
{"logs", "endpoints", KH_OPT_TEXT, 0, 0, NULL,
 "ipc://%RUN%/log-collector.sock ipc://%RUN%/log-validator.sock "
 "ipc://%RUN%/log-aggregator.sock ipc://%RUN%/log-notifier.sock "
 "ipc://%RUN%/log-node-%DISTRICT%.sock", NULL,
 "kh-logs subscribes to all of these (space-separated; an indented line continues the\n"
 "list); %DISTRICT% expands to every district's node.  A tcp:// endpoint is a CURVE\n"
 "stream: kh-logs uses an admin's key for it"},
{"logs", "key", KH_OPT_PATH, 0, 0, NULL, "%RUN%/keys/admin.key", NULL,
 "kh-logs' key for tcp:// streams (kh-admin keys generate --role admin ...; register it)"},
{"logs", "server_key", KH_OPT_PATH, 0, 0, NULL, "%RUN%/keys/server.pub", NULL,
 "the province's server public key"},
};
/* clang-format on */
#define N_OPTIONS (sizeof OPTIONS / sizeof OPTIONS[0])

static const char *const HEADER =
    "; kh.ini — the one configuration file of the khuyến học reporting pipeline.\n"
    ";\n"
    "; Every program reads it: --config FILE, else $KH_CONFIG, else the source tree's\n"
    "; deploy/kh.ini for a program built there, else /etc/khuyenhoc/kh.ini.  A relative\n"
    "; path is taken from this file's folder; %RUN% stands for [general] run_dir and\n"
    "; %DISTRICT% for the node's --district.  An unknown section or key, or a value of the\n"
    "; wrong type, stops the program with the line's number.  A line commented out shows an\n"
    "; example of an option that is off by default.\n"
    ";\n"
    "; This copy runs the whole pipeline on one machine under ../run (scripts/run-local).\n"
    "; On a province host: keep ipc:// between the four services and make the node-facing\n"
    "; endpoints tcp:// on the host's public address.  On a district host only [general],\n"
    "; [calendar], [security] curve/handshake_ms and [node] matter.  `make install` copies\n"
    "; it to /etc/khuyenhoc/kh.ini with run_dir = /var/lib/khuyenhoc and data_dir under\n"
    "; PREFIX/share/khuyenhoc (README: Deploying).\n"
    ";\n"
    "; Written by `kh-admin config example` from the table of options (lib/process/kh_options.c):\n"
    "; change the table, not this copy.\n";

const kh_option_t *kh_options(size_t *n)
{
    *n = N_OPTIONS;
    return OPTIONS;
}

const kh_option_t *kh_option_find(const char *section, const char *key)
{
    for (size_t i = 0; section && key && i < N_OPTIONS; i++)
        if (strcmp(OPTIONS[i].section, section) == 0 && strcmp(OPTIONS[i].key, key) == 0)
            return &OPTIONS[i];
    return NULL;
}

int kh_option_section(const char *section)
{
    for (size_t i = 0; section && i < N_OPTIONS; i++)
        if (strcmp(OPTIONS[i].section, section) == 0)
            return 1;
    return 0;
}

int kh_option_check(const kh_option_t *o, const char *v, char *why, size_t cap)
{
    long x;
    switch (o->type) {
    case KH_OPT_INT:
        if (kh_parse_long(v, o->min, o->max, &x) == 0)
            return 0;
        snprintf(why, cap, "expected an integer from %ld to %ld", o->min, o->max);
        return -1;
    case KH_OPT_YESNO:
        if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0)
            return 0;
        snprintf(why, cap, "expected yes or no");
        return -1;
    case KH_OPT_CHOICE:
        if (kh_in_words(o->choices, v))
            return 0;
        snprintf(why, cap, "expected one of: %s", o->choices);
        return -1;
    case KH_OPT_ENDPOINT:
        if (!v[0] || strncmp(v, "tcp://", 6) == 0 || strncmp(v, "ipc://", 6) == 0 ||
            strncmp(v, "inproc://", 9) == 0)
            return 0;
        snprintf(why, cap, "expected an endpoint: tcp://HOST:PORT or ipc://PATH");
        return -1;
    case KH_OPT_ADDRESS:
        if (!v[0] || strchr(v, ':'))
            return 0;
        snprintf(why, cap, "expected HOST:PORT (or nothing: off)");
        return -1;
    case KH_OPT_TEXT:
    case KH_OPT_PATH:
        return 0;
    }
    snprintf(why, cap, "unknown type");
    return -1;
}

static const char *type_name(const kh_option_t *o, char *buf, size_t cap)
{
    switch (o->type) {
    case KH_OPT_INT: snprintf(buf, cap, "integer %ld..%ld", o->min, o->max); break;
    case KH_OPT_YESNO: snprintf(buf, cap, "yes|no"); break;
    case KH_OPT_CHOICE: snprintf(buf, cap, "one of: %s", o->choices); break;
    case KH_OPT_ENDPOINT: snprintf(buf, cap, "endpoint"); break;
    case KH_OPT_ADDRESS: snprintf(buf, cap, "host:port"); break;
    case KH_OPT_PATH: snprintf(buf, cap, "path"); break;
    case KH_OPT_TEXT: snprintf(buf, cap, "text"); break;
    }
    return buf;
}

int kh_options_help(FILE *out, const char *section)
{
    if (!kh_option_section(section))
        return -1;
    fprintf(out, "options read from [%s] of the configuration file:\n", section);
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const kh_option_t *o = &OPTIONS[i];
        if (strcmp(o->section, section) != 0)
            continue;
        char t[96];
        size_t first = strcspn(o->help, "\n");
        fprintf(out, "  %-26s %s (%s): %.*s%s\n", o->key, o->dflt ? o->dflt : "(not set)",
                type_name(o, t, sizeof t), (int)first, o->help, o->help[first] ? " …" : "");
    }
    return 0;
}

/* `text` as comment lines, each "; " + line. */
static void comment(FILE *out, const char *text)
{
    for (const char *p = text; *p;) {
        size_t k = strcspn(p, "\n");
        fprintf(out, "; %.*s\n", (int)k, p);
        p += k;
        if (*p)
            p++;
    }
}

int kh_options_write_ini(FILE *out)
{
    fputs(HEADER, out);
    const char *section = "";
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const kh_option_t *o = &OPTIONS[i];
        if (strcmp(o->section, section) != 0) {
            section = o->section;
            fprintf(out, "\n[%s]\n", section);
        }
        comment(out, o->help);
        if (o->dflt)
            fprintf(out, "%s = %s\n", o->key, o->dflt);
        else if (o->example)
            fprintf(out, ";%s = %s\n", o->key, o->example);
    }
    return ferror(out) ? -1 : 0;
}
