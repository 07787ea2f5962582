/*
 * kh_stage.h — the skeleton of a province stage (collector, validator, aggregator,
 * notifier): what every one of them does around its own logic, written once.
 *
 * A stage is a kh_stage_def_t (its name, its store's schema, the message types its
 * ROUTER takes, the stages it sends to, and its hooks) handed to kh_stage_main, which
 * owns, in this order:
 *
 *   1. the process (lib/process/kh_service.h: command line, configuration, logging, loop,
 *      ZeroMQ context, signals);
 *   2. the catalogue ([general] data_dir);
 *   3. the database [NAME] db, opened with the definition's migrations (or its own
 *      open function);
 *   4. the inbox ROUTER bound at [NAME] listen (or the definition's listen key): each
 *      message's frames parsed (wrong frames: "message.malformed", counted), handed to
 *      the inbox (lib/transport/kh_inbox.h: group commit, then acknowledge), and inside the batch
 *      a type the stage does not take is refused ("message.malformed", counted) before
 *      the stage's apply sees it;
 *   5. the named links to the next stages ([SECTION] KEY of each, lib/transport/kh_link.h),
 *      pumped after each commit and every 100 ms; backpressure (kh_service_gate) on the
 *      sum of their outboxes;
 *   6. the stage's own setup (setup hook): its configuration, statements, sockets;
 *   7. the count of malformed messages (kh_messages_malformed_total), and the
 *      self-check before ready (the door the setup named with kh_stage_selfcheck, else
 *      the log stream only), then the ready hook;
 *   8. the stop: the inbox first (what is applied is committed and acknowledged), then
 *      the stage's stop hook (its own handles), then the timer, the ROUTER and the links;
 *      after the loop the stage's fini hook, the database, the catalogue, the process;
 *   9. the exit code (kh_service.h: 0 on SIGTERM, 1 for a failure at any step above,
 *      75 when the self-check got no answer).
 *
 * A stage's main.c is its definition and its hooks:
 *
 *     static const kh_stage_def_t def = {.name = "validator", ...};
 *     int main(int argc, char **argv) { static validator_t v; return kh_stage_main(&def, &v, argc, argv); }
 */
#ifndef KH_STAGE_H
#define KH_STAGE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "kh_catalog.h"
#include "kh_inbox.h"
#include "kh_link.h"
#include "kh_service.h"
#include "kh_zuv.h"

#define KH_STAGE_MAX_LINKS 4
#define KH_STAGE_MAX_TYPES 4

typedef struct kh_stage kh_stage_t;

/* A link to the next stage: its outbox's name in this stage's database, and where the
 * next stage listens ([section] key of the configuration). */
typedef struct {
    const char *name;
    const char *section, *key;
} kh_stage_link_def_t;

typedef struct {
    const char *name;              /* process name (kh-NAME) and its config section */
    const char *usage;             /* --help's description */
    const char *listen_key;        /* the inbox ROUTER's endpoint key; NULL: "listen" */
    const char *const *migrations; /* the database's schema (lib/store/kh_db.h) … */
    size_t n_migrations;
    /* … or, when set, the stage opens its database itself: 0, or -1 with err set */
    int (*open_db)(sqlite3 **db, const char *path, char *err, size_t errlen);
    const char *types[KH_STAGE_MAX_TYPES];     /* message types the inbox takes */
    kh_stage_link_def_t links[KH_STAGE_MAX_LINKS];
    const char *malformed_help;    /* the help of kh_messages_malformed_total */

    /* the stage's own start (step 6); 0, or -1 after logging why (exit code 1) */
    int (*setup)(kh_stage_t *st, void *arg);
    /* one message inside the inbox's batch transaction (kh_inbox_apply_fn) */
    int (*apply)(void *arg, const kh_wmsg_t *m, char *key, size_t keycap);
    /* after each commit, before the links are pumped (optional) */
    void (*committed)(void *arg);
    /* with each pump of the links: after a commit and every 100 ms (optional) */
    void (*pump)(void *arg);
    /* once every self-check passed: logs the ready line (kh_service_ready; optional:
     * "ready" with the listen endpoint) */
    void (*ready)(void *arg);
    /* closes the stage's own handles (optional) */
    void (*stop)(void *arg);
    /* after the loop: frees the stage's own state (optional) */
    void (*fini)(void *arg);
} kh_stage_def_t;

/* Runs the stage: returns the process's exit code (what main returns). */
int kh_stage_main(const kh_stage_def_t *def, void *arg, int argc, char **argv);

/* What the skeleton owns, lent to the stage (valid from setup until fini). */
kh_service_t *kh_stage_service(kh_stage_t *st);
kh_catalog_t *kh_stage_catalog(kh_stage_t *st);
sqlite3 *kh_stage_db(kh_stage_t *st);
kh_inbox_t *kh_stage_inbox(kh_stage_t *st);
kh_zsock_t *kh_stage_in(kh_stage_t *st);
const char *kh_stage_listen(const kh_stage_t *st);     /* the endpoint `in` is bound at */
/* The link of the definition's links[i]. */
kh_link_t *kh_stage_link(kh_stage_t *st, size_t i);

/* Counts one malformed message more (the stage's own checks); returns the new count. */
uint64_t kh_stage_malformed(kh_stage_t *st);
uint64_t kh_stage_malformed_count(const kh_stage_t *st);

/* Names the CURVE door of this stage to self-check before ready (kh_service_selfcheck).
 * Returns 0, or -1 after logging. */
int kh_stage_selfcheck(kh_stage_t *st, kh_zsock_t *sock, const uint8_t server_pk[32]);

/* Backpressure pauses `sock` instead of the inbox ROUTER (the collector: the nodes'). */
void kh_stage_gate_socket(kh_stage_t *st, kh_zsock_t *sock);

/* Pumps the links now (and the pump hook), then backpressure. */
void kh_stage_pump(kh_stage_t *st);

#endif
