/*
 * kh-bench — the load generator and the floor of `make bench` (scripts/bench).
 *
 *   kh-bench run --endpoint EP --server-key FILE.pub --keys-db DB --data DIR
 *                --nodes N --base CODE [--pids DIR] [--light N] [--pace-ms MS]
 *                [--load-per-node R] [--window W] [--resend-ms MS] [--floor-db FILE]
 *                [--csv FILE] [--label TEXT] [--timeout S] [--no-hello]
 *
 * One process plays N district nodes against a running collector: districts BASE,
 * BASE+1, … (they must be in the catalogue of DIR, with their communes: scripts/bench
 * writes a catalogue with synthetic districts), each with its own Ed25519/CURVE key,
 * generated and registered in the key registry DB here.  Each simulated node has its
 * own DEALER connection (no routing id, as kh-node), sends HELLO (its district) on it,
 * then complete, valid 2020S2 reports (every commune in force, every S2 indicator;
 * checked with kh_validate before anything is sent), signed as kh-node signs them.
 * It acknowledges every RECEIPT (as kh-node does) and timestamps, per report:
 * submit → the collector's ACK (received: stored durably) and submit → the first
 * final receipt (counted, or rejected / superseded).
 *
 * Phases: warm-up (one report per node; every connection is up and authenticated
 * when each has its ACK), light (LIGHT reports in all, one every MS milliseconds,
 * round robin over the nodes: latency at light load), load (LOAD-PER-NODE reports
 * per node, at most W unacknowledged per node, as fast as the pipeline takes them:
 * throughput).  Then the floor: the same encoded reports of the load phase decoded
 * and their values inserted into one SQLite database (WAL, synchronous=NORMAL, as
 * lib/store/kh_db.c opens every service's) in transactions of 64 reports.
 *
 * Output: two CSV rows (light, load) appended to --csv (header written when the file
 * is new), with the peak RSS (VmHWM) and CPU time of each service whose pid is in
 * --pids DIR/<service>.pid; a summary on stdout; progress on stderr.
 * Exit status: 0 done; 3 when a phase timed out or a report was rejected (rows are
 * still written, with a note); 1 on an error; 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#include <zmq.h>

#include "kh.pb-c.h"
#include "kh_catalog.h"
#include "kh_db.h"
#include "kh_keys.h"
#include "kh_log.h"
#include "kh_report.h"
#include "kh_sign.h"
#include "kh_util.h"
#include "kh_validate.h"
#include "kh_wire.h"
#include "kh_zuv.h"

#ifndef KH_T_HELLO
#define KH_T_HELLO "HELLO"      /* node → collector, first on each connection */
#endif

#define PERIOD      "2020S2"
#define MAX_NODES   5000
#define MAX_REVS    100000
#define FLOOR_BATCH 64
#define N_SVC       4

static const char *const svc_names[N_SVC] = {"collector", "validator", "aggregator", "notifier"};

enum { PH_CONN, PH_WARM, PH_LIGHT, PH_LOAD, PH_N };
static const char *const ph_names[PH_N] = {"connect", "warm-up", "light", "load"};

typedef struct node node_t;

typedef struct {
    uint8_t *buf;          /* the signed, encoded report */
    size_t len;
    int phase;
    double t_sub, t_ack, t_fin;   /* ms, monotonic; 0 = not yet */
    int stage;             /* final stage seen, -1 none */
} rep_t;

struct node {
    char district[16];         /* a number: BASE + i */
    char report_id[96];
    kh_key_t key;
    kh_zsock_t *s;
    rep_t *reps;           /* reps[rev - 1] */
    uint32_t n_reps;
    uint32_t next;         /* next revision to send in the current phase (1-based) */
    uint32_t last;         /* last revision of the current phase */
    int inflight;          /* sent, not acknowledged */
    double last_progress;  /* last send or ack, for the resend probe */
};

static struct {
    const char *endpoint, *server_key, *keys_db, *data, *pids, *floor_db, *csv, *label;
    long nodes, base, light, pace_ms, load_per_node, window, resend_ms, timeout_s;
    int hello, routing_id;
} o = {.light = 100, .pace_ms = 200, .load_per_node = 10, .window = 64, .resend_ms = 3000,
       .timeout_s = 300, .hello = 1, .label = ""};

static node_t *nodes;
static size_t values_per_report;
static uv_loop_t loop;
static uv_timer_t tick, pace, progress;
static int phase = -1;
static double phase_start, phase_deadline;
static long ph_total[PH_N], ph_sent[PH_N], ph_acked[PH_N], ph_final[PH_N];
static long light_k;                  /* next light report */
static long resends, rejected, superseded, unexpected, ack_failures;
static int timed_out[PH_N];
static kh_key_t server;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void fail(const char *what)
{
    fprintf(stderr, "kh-bench: %s\n", what);
    exit(1);
}

/* ---- the reports ------------------------------------------------------------------------ */

/* A valid raw value for indicator `ind` in revision `rev` (the rules of data/rules.csv
 * hold: registered <= total, recognised <= registered, members <= population, …; a few
 * values move with the revision, so each revision changes what is counted). */
static const char *value_for(const kh_indicator_t *ind, uint32_t rev, char *buf, size_t cap)
{
    static const struct { const char *code, *raw; } fixed[] = {
        {"TTHTCD.CO", "1"}, {"TTHTCD.HO_TRO", "1"}, {"TTHTCD.KINH_PHI", "1000000"},
        {"TTHTCD.LOP", "5"}, {"TTHTCD.LUOT_HOC", "200"}, {"TTHTCD.XEP_LOAI", "TOT"},
        {"GDHT.DANG_KY", "1500"}, {"GDHT.CONG_NHAN", "1200"}, {"DH.TONG", "50"},
        {"DHHT.DANG_KY", "40"}, {"DHHT.CONG_NHAN", "30"}, {"AP.TONG", "10"},
        {"CDHT.DANG_KY", "8"}, {"CDHT.CONG_NHAN", "6"}, {"DV.TONG", "20"},
        {"DVHT.DANG_KY", "15"}, {"DVHT.CONG_NHAN", "10"}, {"CDX.DIEM", "80"},
        {"CDX.XEP_LOAI", "KHA"}, {"DS.TONG", "8000"}, {"HKH.HOI_VIEN", "1500"},
        {"HKH.HOI_VIEN_MOI", "100"}, {"HKH.CHI_HOI", "10"}, {"HKH.TO_HOI", "20"},
        {"HKH.BAN_KH", "5"}, {"QUY.CHI", "40000000"}, {"QUY.SUAT", "100"},
        {"TH.TO_CHUC_KH", "20"}, {"TH.DVHT", "10"},
    };
    if (strcmp(ind->code, "HO.TONG") == 0) {
        snprintf(buf, cap, "%u", 2000 + rev % 50);
        return buf;
    }
    if (strcmp(ind->code, "QUY.VAN_DONG") == 0) {
        snprintf(buf, cap, "%u", 50000000 + (rev % 1000) * 1000);
        return buf;
    }
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(ind->code, fixed[i].code) == 0)
            return fixed[i].raw;
    switch (ind->vtype) {          /* an indicator added to the catalogue later */
    case KH_VT_FLAG: return "0";
    case KH_VT_SCORE:
        snprintf(buf, cap, "%g", (ind->score_min + ind->score_max) / 2);
        return buf;
    case KH_VT_OPTION: return ind->n_options ? ind->options[0] : "";
    default: return "10";
    }
}

/* Builds node n's revision `rev` (signed, encoded) into *buf.  With `check`, runs
 * kh_validate on it first.  Returns 0, or -1 (printed). */
static int build_report(const kh_catalog_t *cat, node_t *n, uint32_t rev, int check,
                        uint8_t **buf, size_t *len)
{
    kh_period_t p;
    if (kh_period_parse(PERIOD, &p) < 0)
        return -1;
    int32_t end = kh_period_end(&p);
    /* the units the report covers (the district, then its communes), in force at the end */
    size_t nc = kh_catalog_report_units(cat, n->district, end, NULL, 0);
    const kh_unit_t **communes = calloc(nc + 1, sizeof *communes);
    size_t ni = kh_catalog_indicator_count(cat);
    size_t cap = (nc + 1) * ni;
    Kh__Value *vals = calloc(cap ? cap : 1, sizeof *vals);
    Kh__Value **vp = calloc(cap ? cap : 1, sizeof *vp);
    char (*raw)[32] = calloc(cap ? cap : 1, sizeof *raw);
    int rc = -1;
    if (!communes || !vals || !vp || !raw)
        goto out;
    kh_catalog_report_units(cat, n->district, end, communes, nc);
    Kh__Report r = KH__REPORT__INIT;
    char source[96];
    snprintf(source, sizeof source, "bench-%s-%u.csv", n->district, rev);
    r.report_id = n->report_id;
    r.revision = rev;
    r.district = n->district;
    r.period = PERIOD;
    r.source_name = source;
    r.submitted_at = kh_now_ms();
    size_t k = 0;
    for (size_t row = 0; row < nc; row++) {        /* each unit: its level's indicators */
        const char *unit = communes[row]->code;
        int lvl = communes[row]->level;
        for (size_t i = 0; i < ni; i++) {
            const kh_indicator_t *ind = kh_catalog_indicator_at(cat, i);
            if (ind->level != lvl || !ind->in_s2)
                continue;
            kh__value__init(&vals[k]);
            vals[k].orgunit = (char *)unit;
            vals[k].indicator = (char *)ind->code;
            vals[k].raw = (char *)value_for(ind, rev, raw[k], sizeof raw[k]);
            vals[k].line = (uint32_t)k + 2;
            vp[k] = &vals[k];
            k++;
        }
    }
    r.values = vp;
    r.n_values = k;
    values_per_report = k;
    if (check) {
        kh_findings_t f = {0};
        size_t errors = kh_validate(cat, &r, kh_today(), &f);
        if (errors > 0) {
            fprintf(stderr, "kh-bench: the generated report of %s is not valid (%zu errors)%s%s\n",
                    n->district, errors, f.n ? "; first: " : "",
                    f.n ? f.items[0]->message_en : "");
            kh_findings_clear(&f);
            goto out;
        }
        kh_findings_clear(&f);
    }
    if (kh_sign_report(&r, n->key.ed_sk, n->key.id) < 0)
        goto out;
    rc = kh_wire_pack(&r.base, buf, len);
    kh_sign_clear(&r);
out:
    free(communes);
    free(vals);
    free(vp);
    free(raw);
    return rc;
}

/* ---- the services' memory and CPU -------------------------------------------------------- */

typedef struct {
    long hwm_kib[N_SVC], rss_kib[N_SVC];
    double cpu_s[N_SVC], cpu_self;
} usage_t;

static int svc_pid(const char *name)
{
    if (!o.pids)
        return -1;
    char path[PATH_MAX], *buf;
    size_t len;
    snprintf(path, sizeof path, "%s/%s.pid", o.pids, name);
    if (kh_read_file(path, 64, &buf, &len) < 0)
        return -1;
    long pid = strtol(buf, NULL, 10);
    free(buf);
    return pid > 0 ? (int)pid : -1;
}

static long status_kib(int pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t fl = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, fl) == 0 && line[fl] == ':')
            v = strtol(line + fl + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static double cpu_seconds(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');      /* the command name may hold spaces */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void sample(usage_t *u)
{
    for (int i = 0; i < N_SVC; i++) {
        int pid = svc_pid(svc_names[i]);
        u->hwm_kib[i] = pid > 0 ? status_kib(pid, "VmHWM") : -1;
        u->rss_kib[i] = pid > 0 ? status_kib(pid, "VmRSS") : -1;
        u->cpu_s[i] = pid > 0 ? cpu_seconds(pid) : -1;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    u->cpu_self = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- sending and receiving --------------------------------------------------------------- */

static int send_rev(node_t *n, uint32_t rev, int again)
{
    rep_t *r = &n->reps[rev - 1];
    if (kh_wire_send_raw(n->s, NULL, 0, KH_T_REPORT, r->buf, r->len) < 0)
        return -1;                       /* EAGAIN: at the high-water mark, later */
    double t = now_ms();
    if (!again) {
        r->t_sub = t;
        r->phase = phase;
        ph_sent[phase]++;
        n->inflight++;
    } else {
        resends++;
    }
    n->last_progress = t;
    return 0;
}

/* Load phase: up to `window` unacknowledged per node. */
static void top_up(node_t *n)
{
    while (phase == PH_LOAD && n->next <= n->last && n->inflight < o.window)
        if (send_rev(n, n->next, 0) < 0)
            break;
        else
            n->next++;
}

static void on_ack(node_t *n, const uint8_t *payload, size_t len)
{
    Kh__Ack *a = kh__ack__unpack(NULL, len, payload);
    if (!a) {
        unexpected++;
        return;
    }
    double t = now_ms();
    for (size_t i = 0; i < a->n_keys; i++) {
        const char *slash = strrchr(a->keys[i], '/');
        long rev;
        if (!slash || kh_parse_long(slash + 1, 1, (long)n->n_reps, &rev) < 0) {
            unexpected++;
            continue;
        }
        rep_t *r = &n->reps[rev - 1];
        if (r->t_ack == 0 && r->t_sub > 0) {
            r->t_ack = t;
            ph_acked[r->phase]++;
            n->inflight--;
            n->last_progress = t;
        }
    }
    kh__ack__free_unpacked(a, NULL);
    top_up(n);
}

static void on_receipt(node_t *n, const uint8_t *payload, size_t len)
{
    Kh__Receipt *e = kh__receipt__unpack(NULL, len, payload);
    if (!e || !e->event_id[0]) {
        if (e)
            kh__receipt__free_unpacked(e, NULL);
        unexpected++;
        return;
    }
    char *keys[1] = {e->event_id};
    if (kh_wire_ack(n->s, NULL, 0, keys, NULL, 1) < 0)   /* as kh-node: every receipt */
        ack_failures++;                                   /* the collector sends it again */
    int final = e->stage == KH__STAGE__STAGE_COUNTED || e->stage == KH__STAGE__STAGE_REJECTED ||
                e->stage == KH__STAGE__STAGE_SUPERSEDED;
    if (strcmp(e->report_id, n->report_id) != 0 || e->revision < 1 || e->revision > n->n_reps) {
        unexpected++;
    } else if (final) {
        rep_t *r = &n->reps[e->revision - 1];
        if (r->t_fin == 0 && r->t_sub > 0) {
            r->t_fin = now_ms();
            r->stage = (int)e->stage;
            ph_final[r->phase]++;
            if (e->stage == KH__STAGE__STAGE_REJECTED) {
                if (rejected++ == 0)
                    fprintf(stderr, "\nkh-bench: %s rev %u REJECTED: %s\n", n->report_id,
                            e->revision, e->n_findings ? e->findings[0]->message_en : "?");
            } else if (e->stage == KH__STAGE__STAGE_SUPERSEDED) {
                superseded++;
            }
        }
    }
    kh__receipt__free_unpacked(e, NULL);
}

static void on_msg(kh_zsock_t *s, zmq_msg_t *parts, int nparts, void *arg)
{
    (void)s;
    node_t *n = arg;
    kh_wmsg_t m;
    if (kh_wire_parse(parts, nparts, 0, &m) < 0)
        unexpected++;
    else if (strcmp(m.type, KH_T_ACK) == 0)
        on_ack(n, m.payload, m.len);
    else if (strcmp(m.type, KH_T_RECEIPT) == 0)
        on_receipt(n, m.payload, m.len);
    else
        unexpected++;
}

/* ---- phases ------------------------------------------------------------------------------ */

static void start_phase(int ph);

static void on_pace(uv_timer_t *t)
{
    (void)t;
    if (phase != PH_LIGHT || light_k >= ph_total[PH_LIGHT])
        return;
    node_t *n = &nodes[light_k % o.nodes];
    if (send_rev(n, n->next, 0) == 0) {
        n->next++;
        light_k++;
    }
}

static void print_progress(int final_line)
{
    if (phase < 0)
        return;
    if (phase == PH_CONN)
        fprintf(stderr, "\r  %s%sconnect %6ld/%ld connections established  %5.1f s  ", o.label,
                *o.label ? ": " : "", ph_acked[PH_CONN], o.nodes, (now_ms() - phase_start) / 1e3);
    else
        fprintf(stderr, "\r  %s%s%-7s %6ld/%ld sent %6ld received %6ld counted  %5.1f s  ", o.label,
            *o.label ? ": " : "", ph_names[phase], ph_sent[phase], ph_total[phase],
            ph_acked[phase], ph_final[phase], (now_ms() - phase_start) / 1e3);
    if (final_line)
        fputc('\n', stderr);
}

static void on_progress(uv_timer_t *t)
{
    (void)t;
    print_progress(0);
}

/* Established tcp connections whose local port is `port` (the collector's side of the
 * nodes' connections, when it runs on this machine), or -1. */
static long established(int port)
{
    static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    long n = -1;
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "r");
        char line[512];
        if (!f)
            continue;
        if (n < 0)
            n = 0;
        while (fgets(line, sizeof line, f)) {
            char local[128], st[8];
            unsigned lport;
            char *colon;
            if (sscanf(line, " %*s %127s %*s %7s", local, st) != 2 ||
                !(colon = strrchr(local, ':')) || sscanf(colon + 1, "%x", &lport) != 1)
                continue;
            if ((int)lport == port && strcmp(st, "01") == 0)
                n++;
        }
        fclose(f);
    }
    return n;
}

static usage_t u_idle;
static double conn_done_at;

static void on_tick(uv_timer_t *t)
{
    (void)t;
    double now = now_ms();
    if (phase == PH_CONN) {
        /* every connection established (seen from the collector's side), then a second
         * for the CURVE handshakes and HELLOs: the memory of N idle connections */
        const char *colon = strrchr(o.endpoint, ':');
        long est = colon ? established((int)strtol(colon + 1, NULL, 10)) : -1;
        ph_acked[PH_CONN] = est < 0 ? 0 : est;
        if (conn_done_at == 0 && (est < 0 || est >= o.nodes || now > phase_deadline)) {
            if (est >= 0 && est < o.nodes)
                fprintf(stderr, "\nkh-bench: only %ld of %ld connections established\n", est,
                        o.nodes);
            conn_done_at = now;
        }
        if (conn_done_at > 0 && now - conn_done_at > 1000) {
            sample(&u_idle);
            print_progress(1);
            start_phase(PH_WARM);
        }
        return;
    }
    /* a report not acknowledged after resend_ms, with nothing heard from the collector on
     * that connection meanwhile, goes again (one probe per node, as kh-node's link) */
    for (long i = 0; i < o.nodes; i++) {
        node_t *n = &nodes[i];
        if (n->inflight == 0 || now - n->last_progress < (double)o.resend_ms)
            continue;
        for (uint32_t rev = 1; rev <= n->n_reps; rev++) {
            rep_t *r = &n->reps[rev - 1];
            if (r->t_sub > 0 && r->t_ack == 0) {
                send_rev(n, rev, 1);
                break;
            }
        }
    }
    if (phase == PH_LOAD)
        for (long i = 0; i < o.nodes; i++)
            top_up(&nodes[i]);
    int done = ph_final[phase] >= ph_total[phase];   /* (connect: see above) */
    if (!done && now > phase_deadline) {
        timed_out[phase] = 1;
        print_progress(1);
        fprintf(stderr, "kh-bench: %s phase timed out: %ld of %ld reports without a final "
                "receipt (%ld not acknowledged)\n", ph_names[phase],
                ph_total[phase] - ph_final[phase], ph_total[phase],
                ph_total[phase] - ph_acked[phase]);
        done = 1;
    }
    if (!done)
        return;
    print_progress(1);
    if (phase + 1 < PH_N)
        start_phase(phase + 1);
    else
        uv_stop(&loop);
}

static usage_t u_light, u_load0, u_load1;

static void start_phase(int ph)
{
    if (ph == PH_LOAD)
        sample(&u_light);        /* peaks so far: connections, warm-up, light load */
    phase = ph;
    phase_start = now_ms();
    uint32_t first = ph <= PH_WARM ? 1 : ph == PH_LIGHT ? 2
                   : 2 + (uint32_t)((o.light + o.nodes - 1) / o.nodes);
    uint32_t count = ph == PH_CONN ? 0 : ph == PH_WARM ? 1
                   : ph == PH_LIGHT ? (uint32_t)((o.light + o.nodes - 1) / o.nodes)
                   : (uint32_t)o.load_per_node;
    ph_total[ph] = ph == PH_CONN ? o.nodes : ph == PH_LIGHT ? o.light : (long)count * o.nodes;
    for (long i = 0; i < o.nodes; i++) {
        nodes[i].next = first;
        nodes[i].last = first + count - 1;
    }
    double budget = ph == PH_LIGHT ? (double)o.light * (double)o.pace_ms : 0;
    phase_deadline = phase_start + budget + (double)o.timeout_s * 1e3;
    if (ph == PH_CONN) {
        phase_deadline = phase_start + 60e3;
    } else if (ph == PH_WARM) {
        for (long i = 0; i < o.nodes; i++)
            if (send_rev(&nodes[i], 1, 0) == 0)
                nodes[i].next++;
    } else if (ph == PH_LIGHT) {
        light_k = 0;
        uv_timer_start(&pace, on_pace, 0, (uint64_t)o.pace_ms);
    } else {
        uv_timer_stop(&pace);
        sample(&u_load0);
        for (long i = 0; i < o.nodes; i++)
            top_up(&nodes[i]);
    }
}

/* ---- statistics -------------------------------------------------------------------------- */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted v[n]; -1 when n is 0. */
static double pct(const double *v, size_t n, double p)
{
    if (n == 0)
        return -1;
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    return v[(k > n ? n : k) - 1];
}

typedef struct {
    long n;
    double secs, reports_s, values_s, recv_reports_s;
    double r50, r99, c50, c99;
} stats_t;

static int phase_stats(int ph, stats_t *st)
{
    size_t cap = (size_t)ph_total[ph] + 1, nr = 0, nc = 0;
    double *rv = malloc(cap * sizeof *rv), *cv = malloc(cap * sizeof *cv);
    if (!rv || !cv) {
        free(rv);
        free(cv);
        return -1;
    }
    double t0 = 0, t_ack = 0, t_fin = 0;
    long n = 0;
    for (long i = 0; i < o.nodes; i++)
        for (uint32_t k = 0; k < nodes[i].n_reps; k++) {
            rep_t *r = &nodes[i].reps[k];
            if (r->t_sub == 0 || r->phase != ph)
                continue;
            if (t0 == 0 || r->t_sub < t0)
                t0 = r->t_sub;
            if (r->t_ack > 0 && nr < cap) {
                rv[nr++] = r->t_ack - r->t_sub;
                if (r->t_ack > t_ack)
                    t_ack = r->t_ack;
            }
            if (r->t_fin > 0 && nc < cap) {
                cv[nc++] = r->t_fin - r->t_sub;
                if (r->t_fin > t_fin)
                    t_fin = r->t_fin;
                n++;
            }
        }
    qsort(rv, nr, sizeof *rv, cmp_d);
    qsort(cv, nc, sizeof *cv, cmp_d);
    memset(st, 0, sizeof *st);
    st->n = n;
    st->secs = t_fin > t0 ? (t_fin - t0) / 1e3 : 0;
    st->reports_s = st->secs > 0 ? (double)n / st->secs : 0;
    st->values_s = st->reports_s * (double)values_per_report;
    st->recv_reports_s = t_ack > t0 ? (double)nr / ((t_ack - t0) / 1e3) : 0;
    st->r50 = pct(rv, nr, 50);
    st->r99 = pct(rv, nr, 99);
    st->c50 = pct(cv, nc, 50);
    st->c99 = pct(cv, nc, 99);
    free(rv);
    free(cv);
    return 0;
}

/* ---- the floor --------------------------------------------------------------------------- */

static const char *const floor_schema[] = {
    "CREATE TABLE value (report_id TEXT NOT NULL, revision INTEGER NOT NULL,"
    " orgunit TEXT NOT NULL, indicator TEXT NOT NULL, raw TEXT NOT NULL);",
};

/* Decodes every load-phase report and inserts its values, FLOOR_BATCH reports per
 * transaction.  Returns 0 and sets reports/s and values/s, or -1. */
static int run_floor(double *reports_s, double *values_s)
{
    sqlite3 *db;
    char err[512];
    unlink(o.floor_db);
    if (kh_db_open(&db, o.floor_db, floor_schema, 1, err, sizeof err) < 0) {
        fprintf(stderr, "kh-bench: floor: %s\n", err);
        return -1;
    }
    sqlite3_stmt *st = kh_db_prepare(db, "INSERT INTO value(report_id,revision,orgunit,"
                                         "indicator,raw) VALUES(?,?,?,?,?)");
    if (!st) {
        kh_db_close(&db);
        return -1;
    }
    long n = 0, vals = 0, in_batch = 0;
    int rc = 0;
    double t0 = now_ms(), last = t0;
    for (long i = 0; i < o.nodes && rc == 0; i++)
        for (uint32_t k = 0; k < nodes[i].n_reps && rc == 0; k++) {
            rep_t *rp = &nodes[i].reps[k];
            if (rp->phase != PH_LOAD || rp->t_sub == 0)
                continue;
            if (in_batch == 0 && kh_db_exec(db, "BEGIN", "floor") < 0) {
                rc = -1;
                break;
            }
            Kh__Report *r = kh__report__unpack(NULL, rp->len, rp->buf);
            if (!r) {
                rc = -1;
                break;
            }
            for (size_t v = 0; v < r->n_values; v++) {
                sqlite3_bind_text(st, 1, r->report_id, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, r->revision);
                sqlite3_bind_text(st, 3, r->values[v]->orgunit, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 4, r->values[v]->indicator, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 5, r->values[v]->raw, -1, SQLITE_STATIC);
                if (sqlite3_step(st) != SQLITE_DONE)
                    rc = -1;
                sqlite3_reset(st);
            }
            vals += (long)r->n_values;
            kh__report__free_unpacked(r, NULL);
            n++;
            if (++in_batch == FLOOR_BATCH) {
                in_batch = 0;
                if (kh_db_exec(db, "COMMIT", "floor") < 0)
                    rc = -1;
            }
            double t = now_ms();
            if (t - last > 1000) {
                last = t;
                fprintf(stderr, "\r  %s%sfloor   %6ld reports decoded and stored  %5.1f s  ",
                        o.label, *o.label ? ": " : "", n, (t - t0) / 1e3);
            }
        }
    if (rc == 0 && in_batch > 0 && kh_db_exec(db, "COMMIT", "floor") < 0)
        rc = -1;
    double secs = (now_ms() - t0) / 1e3;
    fprintf(stderr, "\r  %s%sfloor   %6ld reports decoded and stored  %5.1f s  \n", o.label,
            *o.label ? ": " : "", n, secs);
    sqlite3_finalize(st);
    kh_db_close(&db);
    unlink(o.floor_db);
    char side[PATH_MAX];
    snprintf(side, sizeof side, "%s-wal", o.floor_db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", o.floor_db);
    unlink(side);
    if (rc < 0 || secs <= 0)
        return -1;
    *reports_s = (double)n / secs;
    *values_s = (double)vals / secs;
    return 0;
}

/* ---- output ------------------------------------------------------------------------------ */

static const char csv_header[] =
    "label,nodes,values_per_report,mode,reports,seconds,reports_s,values_s,received_reports_s,"
    "received_p50_ms,received_p99_ms,counted_p50_ms,counted_p99_ms,floor_reports_s,"
    "floor_values_s,ratio,hwm_kib_collector,hwm_kib_validator,hwm_kib_aggregator,"
    "hwm_kib_notifier,rss_kib_collector,rss_kib_validator,rss_kib_aggregator,rss_kib_notifier,"
    "cpu_s_collector,cpu_s_validator,cpu_s_aggregator,cpu_s_notifier,"
    "cpu_s_bench,resends,rejected,superseded,note\n";

static void csv_row(FILE *f, const char *mode, const stats_t *s, double fr, double fv,
                    const usage_t *peak, const usage_t *c0, const usage_t *c1, const char *note)
{
    fprintf(f, "%s,%ld,%zu,%s,%ld,%.2f,%.1f,%.0f,%.1f,%.1f,%.1f,%.1f,%.1f,", o.label, o.nodes,
            values_per_report, mode, s->n, s->secs, s->reports_s, s->values_s, s->recv_reports_s,
            s->r50, s->r99, s->c50, s->c99);
    if (fr > 0)
        fprintf(f, "%.1f,%.0f,%.3f,", fr, fv, fv > 0 ? s->values_s / fv : 0);
    else
        fputs(",,,", f);
    for (int i = 0; i < N_SVC; i++)
        fprintf(f, "%ld,", peak->hwm_kib[i]);
    for (int i = 0; i < N_SVC; i++)         /* resident now (VmRSS), beside the peak */
        fprintf(f, "%ld,", peak->rss_kib[i]);
    for (int i = 0; i < N_SVC; i++)
        if (c0 && c1 && c0->cpu_s[i] >= 0 && c1->cpu_s[i] >= 0)
            fprintf(f, "%.2f,", c1->cpu_s[i] - c0->cpu_s[i]);
        else
            fputs(",", f);
    if (c0 && c1)
        fprintf(f, "%.2f,", c1->cpu_self - c0->cpu_self);
    else
        fputs(",", f);
    fprintf(f, "%ld,%ld,%ld,%s\n", resends, rejected, superseded, note);
}

/* ---- main -------------------------------------------------------------------------------- */

static long num(const char *opt, const char *s, long min, long max)
{
    long v;
    if (kh_parse_long(s, min, max, &v) < 0) {
        fprintf(stderr, "kh-bench: %s wants an integer in [%ld, %ld], not '%s'\n", opt, min, max, s);
        exit(2);
    }
    return v;
}

static const char usage[] =
    "usage: kh-bench run --endpoint EP --server-key FILE.pub --keys-db DB --data DIR\n"
    "                    --nodes N --base CODE [--pids DIR] [--light N (100)]\n"
    "                    [--pace-ms MS (200)] [--load-per-node R (10)] [--window W (64)]\n"
    "                    [--resend-ms MS (3000)] [--floor-db FILE] [--csv FILE]\n"
    "                    [--label TEXT] [--timeout S (300)] [--no-hello] [--routing-id]\n"
    "  --routing-id: the DEALER's routing id is the district (collectors that route\n"
    "  receipts by routing id); by default none, as kh-node, and a HELLO names the node\n";

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "run") != 0) {
        fputs(usage, argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
        return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2;
    }
    static const struct option opts[] = {
        {"endpoint", required_argument, 0, 'e'}, {"server-key", required_argument, 0, 's'},
        {"keys-db", required_argument, 0, 'k'},  {"data", required_argument, 0, 'd'},
        {"pids", required_argument, 0, 'p'},     {"nodes", required_argument, 0, 'n'},
        {"base", required_argument, 0, 'b'},     {"light", required_argument, 0, 'l'},
        {"pace-ms", required_argument, 0, 'P'},  {"load-per-node", required_argument, 0, 'r'},
        {"window", required_argument, 0, 'w'},   {"resend-ms", required_argument, 0, 'R'},
        {"floor-db", required_argument, 0, 'f'}, {"csv", required_argument, 0, 'c'},
        {"label", required_argument, 0, 'L'},    {"timeout", required_argument, 0, 't'},
        {"no-hello", no_argument, 0, 'H'},       {"routing-id", no_argument, 0, 'I'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'e': o.endpoint = optarg; break;
        case 's': o.server_key = optarg; break;
        case 'k': o.keys_db = optarg; break;
        case 'd': o.data = optarg; break;
        case 'p': o.pids = optarg; break;
        case 'n': o.nodes = num("--nodes", optarg, 1, MAX_NODES); break;
        case 'b': o.base = num("--base", optarg, 1, 999999999L - MAX_NODES); break;
        case 'l': o.light = num("--light", optarg, 0, MAX_REVS); break;
        case 'P': o.pace_ms = num("--pace-ms", optarg, 1, 60000); break;
        case 'r': o.load_per_node = num("--load-per-node", optarg, 1, MAX_REVS); break;
        case 'w': o.window = num("--window", optarg, 1, 10000); break;
        case 'R': o.resend_ms = num("--resend-ms", optarg, 100, 600000); break;
        case 'f': o.floor_db = optarg; break;
        case 'c': o.csv = optarg; break;
        case 'L': o.label = optarg; break;
        case 't': o.timeout_s = num("--timeout", optarg, 1, 86400); break;
        case 'H': o.hello = 0; break;
        case 'I': o.routing_id = 1; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (!o.endpoint || !o.server_key || !o.keys_db || !o.data || !o.nodes || !o.base) {
        fputs(usage, stderr);
        return 2;
    }
    kh_log_init("kh-bench", KH_LOG_WARN);
    if (sodium_init() < 0)
        fail("libsodium does not start");
    /* one DEALER per simulated node: raise the descriptor limit to the hard one */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    char err[512];
    kh_catalog_t *cat = kh_catalog_load(o.data, 620, 1205, err, sizeof err);
    if (!cat) {
        fprintf(stderr, "kh-bench: catalogue %s: %s\n", o.data, err);
        return 1;
    }
    if (kh_key_read(o.server_key, &server, err, sizeof err) < 0) {
        fprintf(stderr, "kh-bench: %s\n", err);
        return 1;
    }
    nodes = calloc((size_t)o.nodes, sizeof *nodes);
    if (!nodes)
        fail("out of memory");
    uint32_t n_reps = 1 + (uint32_t)((o.light + o.nodes - 1) / o.nodes) + (uint32_t)o.load_per_node;

    /* a key per simulated node, registered as an admin would (kh-admin keys register),
     * all in one transaction */
    kh_key_t *ks = calloc((size_t)o.nodes, sizeof *ks);
    if (!ks)
        fail("out of memory");
    for (long i = 0; i < o.nodes; i++) {
        node_t *n = &nodes[i];
        char id[KH_KEY_ID_MAX];
        snprintf(n->district, sizeof n->district, "%ld", o.base + i);
        snprintf(n->report_id, sizeof n->report_id, "%s-%s", n->district, PERIOD);
        snprintf(id, sizeof id, "bench-%s", n->district);
        if (kh_key_generate(id, "district", n->district, &ks[i]) < 0) {
            fprintf(stderr, "kh-bench: key %s: cannot make it\n", id);
            return 1;
        }
        n->key = ks[i];
        if (!kh_catalog_unit_on(cat, n->district, 20201231)) {
            fprintf(stderr, "kh-bench: district %s is not in the catalogue %s\n", n->district,
                    o.data);
            return 1;
        }
    }
    kh_keys_t *keys;
    if (kh_keys_open(&keys, o.keys_db, err, sizeof err) < 0) {
        fprintf(stderr, "kh-bench: %s\n", err);
        return 1;
    }
    if (kh_keys_register_all(keys, ks, (size_t)o.nodes, kh_real_ms() - 1000, err,
                             sizeof err) < 0) {
        fprintf(stderr, "kh-bench: key %s\n", err);
        return 1;
    }
    kh_keys_destroy(&keys);
    sodium_memzero(ks, (size_t)o.nodes * sizeof *ks);
    free(ks);

    /* every report built, signed and encoded before the clock starts */
    double tb = now_ms();
    for (long i = 0; i < o.nodes; i++) {
        node_t *n = &nodes[i];
        n->n_reps = n_reps;
        n->reps = calloc(n_reps, sizeof *n->reps);
        if (!n->reps)
            fail("out of memory");
        for (uint32_t k = 0; k < n_reps; k++) {
            n->reps[k].stage = -1;
            n->reps[k].phase = -1;
            if (build_report(cat, n, k + 1, i == 0 && k == 0, &n->reps[k].buf,
                             &n->reps[k].len) < 0)
                fail("cannot build the reports");
        }
        if (now_ms() - tb > 1000 || i + 1 == o.nodes) {
            tb = now_ms();
            fprintf(stderr, "\r  %s%sbuilding %ld/%ld nodes' reports (%u each, %zu values, "
                    "%zu bytes encoded)  ", o.label, *o.label ? ": " : "", i + 1, o.nodes,
                    n_reps, values_per_report, nodes[0].reps[0].len);
        }
    }
    fputc('\n', stderr);
    kh_catalog_destroy(&cat);

    void *zctx = zmq_ctx_new();
    if (!zctx || zmq_ctx_set(zctx, ZMQ_MAX_SOCKETS, (int)o.nodes + 64) < 0)
        fail("cannot make a ZeroMQ context");
    uv_loop_init(&loop);
    for (long i = 0; i < o.nodes; i++) {
        node_t *n = &nodes[i];
        kh_zopts_t zo = {0};
        zo.hwm = 1000;
        zo.routing_id = o.routing_id ? n->district : NULL;  /* kh-node sets none */
        zo.heartbeat_ms = 2000;
        zo.curve_server_pk = server.curve_pk;
        zo.curve_pk = n->key.curve_pk;
        zo.curve_sk = n->key.curve_sk;
        n->s = kh_zsock_new(&loop, zctx, ZMQ_DEALER, &zo, on_msg, n);
        if (!n->s || kh_zsock_connect(n->s, o.endpoint) < 0) {
            fprintf(stderr, "kh-bench: node %s: cannot connect to %s: %s\n", n->district,
                    o.endpoint, zmq_strerror(zmq_errno()));
            return 1;
        }
        /* the first message on every new connection, as kh-node (queued until connected) */
        if (o.hello && kh_wire_send_raw(n->s, NULL, 0, KH_T_HELLO, n->district,
                                        strlen(n->district)) < 0)
            fail("cannot queue HELLO");
    }
    uv_timer_init(&loop, &tick);
    uv_timer_init(&loop, &pace);
    uv_timer_init(&loop, &progress);
    uv_timer_start(&tick, on_tick, 5, 5);
    uv_timer_start(&progress, on_progress, 1000, 1000);
    start_phase(PH_CONN);
    uv_run(&loop, UV_RUN_DEFAULT);
    sample(&u_load1);

    /* the connections are no longer needed: close before the floor, which runs alone */
    uv_timer_stop(&tick);
    uv_timer_stop(&pace);
    uv_timer_stop(&progress);
    for (long i = 0; i < o.nodes; i++)
        kh_zsock_close(nodes[i].s);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_close((uv_handle_t *)&pace, NULL);
    uv_close((uv_handle_t *)&progress, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);

    stats_t sl, sd;
    if (phase_stats(PH_LIGHT, &sl) < 0 || phase_stats(PH_LOAD, &sd) < 0)
        fail("out of memory");
    double fr = 0, fv = 0;
    if (o.floor_db && run_floor(&fr, &fv) < 0)
        fprintf(stderr, "kh-bench: the floor failed\n");

    char note_l[128] = "", note_d[128] = "";
    if (timed_out[PH_WARM] || timed_out[PH_LIGHT])
        snprintf(note_l, sizeof note_l, "timeout");
    if (timed_out[PH_LOAD])
        snprintf(note_d, sizeof note_d, "timeout");
    if (unexpected)
        fprintf(stderr, "kh-bench: %ld unexpected message(s) from the collector\n", unexpected);
    if (ack_failures)
        fprintf(stderr, "kh-bench: %ld receipt(s) not acknowledged at once (queue full)\n",
                ack_failures);
    if (o.csv) {
        FILE *chk = fopen(o.csv, "r");
        int fresh = !chk || fgetc(chk) == EOF;
        if (chk)
            fclose(chk);
        FILE *f = fopen(o.csv, "a");
        if (!f) {
            fprintf(stderr, "kh-bench: %s: %s\n", o.csv, strerror(errno));
            return 1;
        }
        if (fresh)
            fputs(csv_header, f);
        stats_t none = {.r50 = -1, .r99 = -1, .c50 = -1, .c99 = -1};
        csv_row(f, "idle", &none, 0, 0, &u_idle, NULL, NULL, "");
        csv_row(f, "light", &sl, 0, 0, &u_light, NULL, NULL, note_l);
        csv_row(f, "load", &sd, fr, fv, &u_load1, &u_load0, &u_load1, note_d);
        if (fclose(f) != 0) {
            fprintf(stderr, "kh-bench: %s: %s\n", o.csv, strerror(errno));
            return 1;
        }
    }
    printf("%s: %ld nodes, %zu values a report\n", o.label, o.nodes, values_per_report);
    printf("  light (1 report / %ld ms): received p50 %.1f p99 %.1f ms, counted p50 %.1f "
           "p99 %.1f ms\n", o.pace_ms, sl.r50, sl.r99, sl.c50, sl.c99);
    printf("  load: %ld reports in %.2f s: %.1f reports/s, %.0f values/s (received %.1f "
           "reports/s); received p50 %.1f p99 %.1f ms, counted p50 %.1f p99 %.1f ms\n",
           sd.n, sd.secs, sd.reports_s, sd.values_s, sd.recv_reports_s, sd.r50, sd.r99, sd.c50,
           sd.c99);
    if (fv > 0)
        printf("  floor: %.1f reports/s, %.0f values/s; pipeline/floor %.3f\n", fr, fv,
               sd.values_s / fv);
    printf("  peak RSS KiB collector/validator/aggregator/notifier: connected, idle "
           "%ld/%ld/%ld/%ld; at the end %ld/%ld/%ld/%ld\n", u_idle.hwm_kib[0], u_idle.hwm_kib[1],
           u_idle.hwm_kib[2], u_idle.hwm_kib[3],
           u_load1.hwm_kib[0], u_load1.hwm_kib[1], u_load1.hwm_kib[2], u_load1.hwm_kib[3]);

    for (long i = 0; i < o.nodes; i++) {
        for (uint32_t k = 0; k < nodes[i].n_reps; k++)
            free(nodes[i].reps[k].buf);
        free(nodes[i].reps);
    }
    free(nodes);
    uv_loop_close(&loop);
    zmq_ctx_term(zctx);
    return timed_out[PH_WARM] || timed_out[PH_LIGHT] || timed_out[PH_LOAD] || rejected ? 3 : 0;
}
