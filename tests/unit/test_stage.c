/*
 * test_stage.c — the stage skeleton (lib/process/kh_stage.h) as a process: a stage
 * defined here runs in a child (kh_stage_main, the real loop, database and sockets) and
 * the test talks to its inbox ROUTER over ipc like the stage before it would:
 *
 *   - a message with wrong frames and one of a type the stage does not take are
 *     refused and counted as malformed (2), never handed to the stage's apply;
 *   - a message of its type is applied once and acknowledged with the key apply wrote
 *     (persist, then ack);
 *   - SIGTERM stops it: the stop hook, then fini, and exit code 0;
 *   - a setup that fails: exit code 1, never ready, no loop;
 *   - --help: exit code 0.
 *
 * The child writes what its hooks saw into a file the parent reads after it exited.  No
 * assertion depends on the machine's speed: the receive waits only bound a hang.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "kh.pb-c.h"
#include "kh_outbox.h"
#include "kh_stage.h"

static char dir[64], cfg[128], listen_ep[128];

typedef struct {
    kh_stage_t *st;
    int applied, ready, stopped;
    char seen[64];
} probe_t;

static void report(probe_t *p)
{
    char path[160];
    snprintf(path, sizeof path, "%s/seen", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fprintf(f, "applied=%d ready=%d stopped=%d malformed=%llu seen=%s\n", p->applied, p->ready,
            p->stopped, (unsigned long long)kh_stage_malformed_count(p->st), p->seen);
    fclose(f);
}

static int setup_ok(kh_stage_t *st, void *arg)
{
    probe_t *p = arg;
    p->st = st;
    return kh_stage_db(st) && kh_stage_catalog(st) && kh_stage_link(st, 0) &&
                   !kh_stage_link(st, 1)
               ? 0
               : -1;
}

static int setup_fails(kh_stage_t *st, void *arg)
{
    (void)st;
    (void)arg;
    return -1;
}

static int apply(void *arg, const kh_wmsg_t *m, char *key, size_t keycap)
{
    probe_t *p = arg;
    p->applied++;
    snprintf(p->seen, sizeof p->seen, "%s:%.*s", m->type, (int)m->len, (const char *)m->payload);
    snprintf(key, keycap, "k%d", p->applied);
    return KH_APPLY_NEW;
}

static void ready(void *arg)
{
    probe_t *p = arg;
    p->ready++;
    /* the parent waits for this file before it sends */
    char path[160];
    snprintf(path, sizeof path, "%s/ready", dir);
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
}

static void stop(void *arg) { ((probe_t *)arg)->stopped++; }
static void fini(void *arg) { report(arg); }

static const char *const migrations[] = {
    KH_OUTBOX_SCHEMA("aggregator") KH_OUTBOX_EXPIRY("aggregator"),
};

static kh_stage_def_t def = {
    .name = "validator",
    .usage = "a stage under test\n",
    .migrations = migrations,
    .n_migrations = 1,
    .types = {KH_T_REPORT},
    .links = {{"aggregator", "aggregator", "listen"}},
    .setup = setup_ok,
    .apply = apply,
    .ready = ready,
    .stop = stop,
    .fini = fini,
};

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_stage_%d", (int)getpid());
    mkdir(dir, 0700);
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(cfg, sizeof cfg, "%s/kh.ini", dir);
    snprintf(listen_ep, sizeof listen_ep, "ipc://%s/v.sock", dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "[general]\nrun_dir = %s\ndata_dir = %s/data\n"
               "[validator]\nlisten = %s\nmetrics =\nmetrics_socket =\n"
               "[aggregator]\nlisten = ipc://%s/nobody.sock\n",
            dir, cwd, listen_ep, dir);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs the stage in a child; returns its pid. */
static pid_t spawn(const char *arg1)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static probe_t p;
        char *argv[] = {"kh-validator", "--config", cfg, (char *)arg1, NULL};
        if (!arg1)
            argv[3] = NULL;
        _exit(kh_stage_main(&def, &p, arg1 ? 4 : 3, argv));
    }
    return pid;
}

static int exit_code(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void wait_file(const char *name, pid_t child)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    for (int i = 0; i < 6000 && access(path, F_OK) != 0; i++) {
        int status;
        assert_int_equal(waitpid(child, &status, WNOHANG), 0);   /* still running */
        usleep(10000);
    }
    assert_int_equal(access(path, F_OK), 0);
}

static void send2(void *s, const char *a, const char *b)
{
    assert_true(zmq_send(s, a, strlen(a), b ? ZMQ_SNDMORE : 0) >= 0);
    if (b)
        assert_true(zmq_send(s, b, strlen(b), 0) >= 0);
}

static void test_applies_counts_and_stops(void **state)
{
    (void)state;
    pid_t child = spawn(NULL);
    wait_file("ready", child);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int t = 60000, zero = 0;
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &t, sizeof t);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(s, listen_ep), 0);
    send2(s, "REPORT", NULL);                   /* wrong frames: a type without payload */
    send2(s, "BOGUS", "x");                      /* a type the stage does not take */
    send2(s, KH_T_REPORT, "payload-1");
    /* the ACK of what was applied (the refused ones are never acknowledged) */
    char type[16] = "", buf[256];
    assert_true(zmq_recv(s, type, sizeof type - 1, 0) > 0);
    assert_string_equal(type, KH_T_ACK);
    int more;
    size_t ml = sizeof more;
    zmq_getsockopt(s, ZMQ_RCVMORE, &more, &ml);
    assert_true(more);
    int n = zmq_recv(s, buf, sizeof buf, 0);
    assert_true(n > 0);
    Kh__Ack *ack = kh__ack__unpack(NULL, (size_t)n, (const uint8_t *)buf);
    assert_non_null(ack);
    assert_int_equal(ack->n_keys, 1);
    assert_string_equal(ack->keys[0], "k1");
    kh__ack__free_unpacked(ack, NULL);
    zmq_close(s);
    zmq_ctx_term(ctx);
    assert_int_equal(kill(child, SIGTERM), 0);
    assert_int_equal(exit_code(child), KH_EXIT_OK);
    char path[160], line[256] = "";
    snprintf(path, sizeof path, "%s/seen", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_string_equal(line, "applied=1 ready=1 stopped=1 malformed=2 seen=REPORT:payload-1\n");
}

static void test_failed_setup_exits_1(void **state)
{
    (void)state;
    def.setup = setup_fails;
    pid_t child = spawn(NULL);
    int code = exit_code(child);
    def.setup = setup_ok;
    assert_int_equal(code, KH_EXIT_FAILURE);
    char path[160];
    snprintf(path, sizeof path, "%s/ready", dir);
    assert_int_not_equal(access(path, F_OK), 0);     /* never said ready */
    snprintf(path, sizeof path, "%s/seen", dir);
    assert_int_not_equal(access(path, F_OK), 0);     /* no loop, no fini */
}

static void test_help_exits_0(void **state)
{
    (void)state;
    pid_t child = spawn("--help");
    assert_int_equal(exit_code(child), KH_EXIT_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_applies_counts_and_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_setup_exits_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help_exits_0, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
