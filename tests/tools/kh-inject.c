/*
 * kh-inject — sends hand-made messages to a pipeline socket, for the tests of
 * malformed input and replays (tests/e2e/test_frames.sh).
 *
 * It connects a DEALER (with a routing id if --id is given: a node's district for
 * the collector's node socket) to an endpoint, sends one message --repeat times,
 * then waits up to --wait-ms for replies and prints one line per reply on stdout:
 *
 *   ACK <key> dup=<0|1>            one line per acknowledged key
 *   RECEIPT <event_id> stage=<n>   (also EVENT)
 *   FEED seq=<n> cells=<n> statuses=<n>
 *   SNAPSHOT$ seq=<n> complete=<0|1>
 *   HISTORY entries=<n>
 *   <type> bytes=<n>               anything else (a type that is not text is shown in hex)
 *   FRAMES <n>                     a reply that is not [type, payload]
 *   DISCONNECTED                   the peer closed the connection (e.g. a message over
 *                                  its ZMQ_MAXMSGSIZE); the DEALER reconnects by itself
 *
 * The message is either a list of frames (--raw HEX, --random N; --frames K repeats
 * the list to K frames), or [type, payload] when --type or --as is given, the payload
 * being --file F, --raw HEX, --random N, or a message built from a report file
 * (--report-file CSV --district D --revision R, parsed with lib/model/kh_report.h) or from
 * the overrides alone, as a Report, a Verdict, an EVENT/RECEIPT, a HistoryRequest or
 * a FeedRequest (--as).  Everything is bounded: sizes, counts, time.
 *
 * Exit status: 0 done; 3 when --acks/--replies was given and not reached in time;
 * 1 on an error; 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <zmq.h>

#include "kh.pb-c.h"
#include "kh_catalog.h"
#include "kh_report.h"
#include "kh_keys.h"
#include "kh_sign.h"
#include "kh_util.h"
#include "kh_wire.h"

#define MAX_BYTES    (64u << 20)   /* --random, --file, --big-string */
#define MAX_HEX      (1u << 20)    /* bytes of one --raw frame */
#define MAX_SOURCES  16            /* --raw / --random frames given */
#define MAX_FRAMES   64            /* --frames */
#define MAX_REPEAT   10000
#define MAX_WAIT_MS  120000
#define MAX_TINY     1000000       /* --tiny values or findings */
#define MAX_PRINTED  10000         /* reply lines printed (the rest only counted) */
#define MAX_RPARTS   8             /* frames of a reply kept */

static const char *usage =
    "usage: kh-inject --endpoint EP [--id RID] MESSAGE [--repeat N] [--wait-ms MS]\n"
    "                 [--linger-ms MS] [--acks N | --replies N] [--key FILE.key --server-key FILE.pub [--no-sign]]\n"
    "MESSAGE, frames as given:\n"
    "  --raw HEX            a frame from hex digits (repeatable)\n"
    "  --random N           a frame of N random bytes (repeatable)\n"
    "  --frames K           K frames in all (the list repeated, random bytes renewed)\n"
    "MESSAGE, [type, payload]:\n"
    "  --type T             the type frame (default from --as)\n"
    "  --file F | --raw HEX | --random N        the payload as given, or built:\n"
    "  --as report|verdict|event|receipt|history|feedreq\n"
    "  --report-file CSV    values and period from a report file (long or wide form)\n"
    "  --district D --revision R --period P --report-id S --source-name S\n"
    "  --event-id S --stage N --rejected --from-seq N --to-seq N\n"
    "  --big-string N       a string of N bytes, in --big-field (default source):\n"
    "  --big-field source|raw|period|report_id|district|event_id\n"
    "  --tiny N             N tiny values (report, verdict) or findings (event, receipt)\n"
    "  --truncate           keep about the first half of the payload, cut inside a field\n"
    "  --out FILE           write the payload to FILE instead of sending\n"
    "  --frames K           K frames in all: extra one-byte frames after the payload\n";

static kh_key_t g_key;          /* --key: the CURVE identity, and it signs reports */
static int g_no_sign;           /* --no-sign: send reports unsigned all the same */

typedef enum { AS_NONE, AS_REPORT, AS_VERDICT, AS_EVENT, AS_RECEIPT, AS_HISTORY, AS_FEEDREQ } as_t;

typedef struct {
    int is_random;
    size_t n;          /* random: size */
    uint8_t *bytes;    /* raw: decoded bytes */
} source_t;

static struct {
    const char *endpoint, *id, *type, *file, *report_file, *out;
    const char *district, *period, *report_id, *source_name, *event_id, *big_field;
    long revision, stage, frames, repeat, wait_ms, linger_ms, acks, replies, tiny, big;
    unsigned long long from_seq, to_seq;
    int rejected, truncate;
    as_t as;
    source_t src[MAX_SOURCES];
    int n_src;
} o = {.revision = 1, .repeat = 1, .wait_ms = 1000, .linger_ms = 2000, .acks = -1, .replies = -1, .stage = 1};

static void die(const char *what)
{
    fprintf(stderr, "kh-inject: %s\n", what);
    exit(1);
}

static void fill_random(uint8_t *b, size_t n)
{
    while (n > 0) {
        ssize_t r = getrandom(b, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("getrandom failed");
        }
        b += r;
        n -= (size_t)r;
    }
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static long num(const char *opt, const char *s, long min, long max)
{
    long v;
    if (kh_parse_long(s, min, max, &v) < 0) {
        fprintf(stderr, "kh-inject: %s wants an integer in [%ld, %ld], not '%s'\n", opt, min,
                max, s);
        exit(2);
    }
    return v;
}

static void add_source(int is_random, const char *arg)
{
    if (o.n_src == MAX_SOURCES) {
        fprintf(stderr, "kh-inject: at most %d --raw/--random frames\n", MAX_SOURCES);
        exit(2);
    }
    source_t *s = &o.src[o.n_src++];
    s->is_random = is_random;
    if (is_random) {
        s->n = (size_t)num("--random", arg, 0, MAX_BYTES);
        return;
    }
    size_t len = strlen(arg);
    if (len % 2 || len / 2 > MAX_HEX) {
        fprintf(stderr, "kh-inject: --raw wants an even number of hex digits (at most %u bytes)\n",
                MAX_HEX);
        exit(2);
    }
    s->n = len / 2;
    s->bytes = malloc(s->n ? s->n : 1);
    if (!s->bytes)
        die("out of memory");
    for (size_t i = 0; i < s->n; i++) {
        int h = hexval(arg[2 * i]), l = hexval(arg[2 * i + 1]);
        if (h < 0 || l < 0) {
            fprintf(stderr, "kh-inject: --raw: '%s' is not hex\n", arg);
            exit(2);
        }
        s->bytes[i] = (uint8_t)(h << 4 | l);
    }
}

/* The bytes of source s (random ones renewed on each call); *len set.  Caller frees. */
static uint8_t *source_bytes(const source_t *s, size_t *len)
{
    uint8_t *b = malloc(s->n ? s->n : 1);
    if (!b)
        die("out of memory");
    if (s->is_random)
        fill_random(b, s->n);
    else
        memcpy(b, s->bytes, s->n);
    *len = s->n;
    return b;
}

/* ---- building a message -------------------------------------------------------------- */

static const char *stage_tag(long s)
{
    static const char *const t[] = {"received", "accepted", "rejected", "counted", "superseded"};
    return s >= 0 && s < 5 ? t[s] : "unknown";
}

static void set(char **field, const char *v)
{
    if (kh_report_set_str(field, v) < 0)
        die("out of memory");
}

/* Builds the payload of --as into *buf, *len. */
static void build(uint8_t **buf, size_t *len)
{
    Kh__Report r = KH__REPORT__INIT;
    if (o.report_file) {
        char *csv;
        size_t n;
        if (kh_read_file(o.report_file, KH_REPORT_MAX_BYTES, &csv, &n) < 0) {
            perror(o.report_file);
            exit(1);
        }
        kh_findings_t f = {0};
        int syn = kh_report_parse_csv(csv, n, &r, &f);
        free(csv);
        if (syn != 0) {
            fprintf(stderr, "kh-inject: %s: %d syntax error(s)%s%s\n", o.report_file, syn,
                    f.n ? ", first: " : "", f.n ? f.items[0]->message_en : "");
            exit(1);
        }
        kh_findings_clear(&f);
        const char *slash = strrchr(o.report_file, '/');
        set(&r.source_name, slash ? slash + 1 : o.report_file);
    }
    if (o.district)
        set(&r.district, o.district);
    if (o.period)
        set(&r.period, o.period);
    char id[200];
    snprintf(id, sizeof id, "%.90s-%.90s", r.district, r.period);
    set(&r.report_id, o.report_id ? o.report_id : id);
    if (o.source_name)
        set(&r.source_name, o.source_name);
    r.revision = (uint32_t)o.revision;
    r.submitted_at = kh_now_ms();

    /* tiny values: they replace the file's */
    Kh__Value *tiny_v = NULL;
    Kh__Finding *tiny_f = NULL, **tiny_fp = NULL;
    size_t n_tiny = (size_t)(o.tiny > 0 ? o.tiny : 0);
    if (n_tiny && (o.as == AS_REPORT || o.as == AS_VERDICT)) {
        Kh__Report keep = r;               /* strings stay; the file's values go */
        keep.n_values = 0;
        keep.values = NULL;
        r.period = r.report_id = r.district = r.source_name = (char *)protobuf_c_empty_string;
        kh_report_clear(&r);
        r = keep;
        tiny_v = calloc(n_tiny, sizeof *tiny_v);
        r.values = calloc(n_tiny, sizeof *r.values);
        if (!tiny_v || !r.values)
            die("out of memory");
        for (size_t i = 0; i < n_tiny; i++) {
            kh__value__init(&tiny_v[i]);
            tiny_v[i].orgunit = "1";
            tiny_v[i].indicator = "X";
            tiny_v[i].raw = "1";
            tiny_v[i].line = (uint32_t)(i + 2);
            r.values[i] = &tiny_v[i];
        }
        r.n_values = n_tiny;
    } else if (n_tiny) {
        tiny_f = calloc(n_tiny, sizeof *tiny_f);
        tiny_fp = calloc(n_tiny, sizeof *tiny_fp);
        if (!tiny_f || !tiny_fp)
            die("out of memory");
        for (size_t i = 0; i < n_tiny; i++) {
            kh__finding__init(&tiny_f[i]);
            tiny_f[i].code = "X";
            tiny_f[i].is_error = 1;
            tiny_fp[i] = &tiny_f[i];
        }
    }

    Kh__Receipt ev = KH__RECEIPT__INIT;
    char event_id[KH_KEY_MAX + 64];
    snprintf(event_id, sizeof event_id, "%.64s/%u/%s", r.report_id, r.revision,
             stage_tag(o.stage));
    char *ev_id = NULL;
    set(&ev_id, o.event_id ? o.event_id : event_id);

    char *big = NULL;
    if (o.big > 0) {
        big = malloc((size_t)o.big + 1);
        if (!big)
            die("out of memory");
        memset(big, 'x', (size_t)o.big);
        big[o.big] = '\0';
        const char *f = o.big_field ? o.big_field : "source";
        char **dst = strcmp(f, "source") == 0 ? &r.source_name
                   : strcmp(f, "period") == 0 ? &r.period
                   : strcmp(f, "report_id") == 0 ? &r.report_id
                   : strcmp(f, "district") == 0 ? &r.district
                   : strcmp(f, "event_id") == 0 ? &ev_id
                   : strcmp(f, "raw") == 0 && r.n_values && !tiny_v ? &r.values[0]->raw : NULL;
        if (!dst) {
            fprintf(stderr, "kh-inject: --big-field %s: unknown field (raw needs file values)\n", f);
            exit(2);
        }
        free(*dst != protobuf_c_empty_string ? *dst : NULL);
        *dst = big;
    }

    /* a node signs what it sends; so does kh-inject when it has a district's key */
    if (g_key.has_secret && !g_no_sign && (o.as == AS_REPORT || o.as == AS_VERDICT) &&
        kh_sign_report(&r, g_key.ed_sk, g_key.id) < 0) {
        fprintf(stderr, "kh-inject: cannot sign\n");
        exit(2);
    }
    const ProtobufCMessage *m = &r.base;
    Kh__Verdict vd = KH__VERDICT__INIT;
    Kh__HistoryRequest hr = KH__HISTORY_REQUEST__INIT;
    Kh__FeedRequest fr = KH__FEED_REQUEST__INIT;
    switch (o.as) {
    case AS_VERDICT:
        vd.report = &r;
        vd.accepted = !o.rejected;
        vd.validated_at = kh_now_ms();
        m = &vd.base;
        break;
    case AS_EVENT:
    case AS_RECEIPT:
        ev.event_id = ev_id;
        ev.report_id = r.report_id;
        ev.revision = r.revision;
        ev.district = r.district;
        ev.period = r.period;
        ev.stage = (Kh__Stage)o.stage;
        ev.source_name = r.source_name;
        ev.at = kh_now_ms();
        ev.findings = tiny_fp;
        ev.n_findings = tiny_fp ? n_tiny : 0;
        m = &ev.base;
        break;
    case AS_HISTORY:
        hr.district = r.district;
        hr.period = r.period;
        m = &hr.base;
        break;
    case AS_FEEDREQ:
        fr.from_seq = o.from_seq;
        fr.to_seq = o.to_seq;
        m = &fr.base;
        break;
    default:
        break;
    }
    if (kh_wire_pack(m, buf, len) < 0)
        die("out of memory");
    if (tiny_v) {
        free(tiny_v);
        free(r.values);
        r.values = NULL;
        r.n_values = 0;
    }
    free(tiny_f);
    free(tiny_fp);
    free(ev_id != protobuf_c_empty_string ? ev_id : NULL);
    kh_sign_clear(&r);
    kh_report_clear(&r);
}

/* ---- replies ------------------------------------------------------------------------- */

static long n_replies, n_ack_keys, n_dups, n_printed, n_disconnects;

static void print_type(const uint8_t *t, size_t n)
{
    int text = n > 0 && n < 64;
    for (size_t i = 0; text && i < n; i++)
        text = t[i] > 32 && t[i] < 127;
    if (text)
        printf("%.*s", (int)n, (const char *)t);
    else {
        printf("0x");
        for (size_t i = 0; i < n && i < 32; i++)
            printf("%02x", t[i]);
    }
}

static void on_reply(zmq_msg_t *parts, int n)
{
    n_replies++;
    int print = n_printed < MAX_PRINTED;
    if (n != 2) {
        if (print)
            printf("FRAMES %d\n", n);
        n_printed += print;
        return;
    }
    const uint8_t *t = zmq_msg_data(&parts[0]), *p = zmq_msg_data(&parts[1]);
    size_t tl = zmq_msg_size(&parts[0]), pl = zmq_msg_size(&parts[1]);
#define IS(T) (tl == strlen(T) && memcmp(t, T, tl) == 0)
    if (IS(KH_T_ACK)) {
        Kh__Ack *a = kh__ack__unpack(NULL, pl, p);
        if (!a) {
            if (print)
                printf("ACK undecodable bytes=%zu\n", pl);
        } else {
            for (size_t i = 0; i < a->n_keys; i++) {
                int dup = i < a->n_duplicate && a->duplicate[i];
                n_ack_keys++;
                n_dups += dup;
                if (n_printed < MAX_PRINTED) {
                    printf("ACK %s dup=%d\n", a->keys[i], dup);
                    n_printed++;
                }
            }
            kh__ack__free_unpacked(a, NULL);
        }
        return;
    }
    n_printed += print;
    if (!print)
        return;
    if (IS(KH_T_RECEIPT) || IS(KH_T_EVENT)) {
        Kh__Receipt *e = kh__receipt__unpack(NULL, pl, p);
        print_type(t, tl);
        if (e)
            printf(" %.200s stage=%d\n", e->event_id, (int)e->stage);
        else
            printf(" undecodable bytes=%zu\n", pl);
        if (e)
            kh__receipt__free_unpacked(e, NULL);
    } else if (IS(KH_T_FEED)) {
        Kh__FeedUpdate *u = kh__feed_update__unpack(NULL, pl, p);
        if (u)
            printf("FEED seq=%llu cells=%zu statuses=%zu\n", (unsigned long long)u->seq,
                   u->n_cells, u->n_statuses);
        else
            printf("FEED undecodable bytes=%zu\n", pl);
        if (u)
            kh__feed_update__free_unpacked(u, NULL);
    } else if (IS(KH_T_FEED_END)) {
        Kh__FeedEnd *e = kh__feed_end__unpack(NULL, pl, p);
        if (e)
            printf("SNAPSHOT$ seq=%llu complete=%d\n", (unsigned long long)e->seq, e->complete);
        else
            printf("SNAPSHOT$ undecodable bytes=%zu\n", pl);
        if (e)
            kh__feed_end__free_unpacked(e, NULL);
    } else if (IS(KH_T_HISTORY)) {
        Kh__History *h = kh__history__unpack(NULL, pl, p);
        if (h)
            printf("HISTORY entries=%zu\n", h->n_entries);
        else
            printf("HISTORY undecodable bytes=%zu\n", pl);
        if (h)
            kh__history__free_unpacked(h, NULL);
    } else {
        print_type(t, tl);
        printf(" bytes=%zu\n", pl);
    }
#undef IS
}

/* Receives the waiting replies, at most 1000 (the caller's clock decides the rest).
 * Returns 0, or -1 on a socket error. */
static int drain(void *sock)
{
    for (int k = 0; k < 1000; k++) {
        zmq_msg_t parts[MAX_RPARTS];
        int n = 0, more = 1;
        while (more) {
            zmq_msg_t tmp, *m = n < MAX_RPARTS ? &parts[n] : &tmp;
            zmq_msg_init(m);
            if (zmq_msg_recv(m, sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(m);
                for (int i = 0; i < n; i++)
                    zmq_msg_close(&parts[i]);
                return errno == EAGAIN ? 0 : -1;
            }
            more = zmq_msg_more(m);
            if (n < MAX_RPARTS)
                n++;
            else
                zmq_msg_close(m);
        }
        on_reply(parts, n);
        for (int i = 0; i < n; i++)
            zmq_msg_close(&parts[i]);
    }
    return 0;
}

/* Prints a line per disconnection the monitor saw; the event's frames are dropped. */
static void drain_monitor(void *mon)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        int first = zmq_msg_size(&m) >= 2, more = zmq_msg_more(&m);
        uint16_t ev = 0;
        if (first)
            memcpy(&ev, zmq_msg_data(&m), sizeof ev);
        zmq_msg_close(&m);
        while (more) {             /* the endpoint frame */
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
        if (ev == ZMQ_EVENT_DISCONNECTED && n_printed < MAX_PRINTED) {
            printf("DISCONNECTED\n");
            n_printed++;
            n_disconnects++;
        }
    }
}

static int done(void)
{
    return (o.acks >= 0 && n_ack_keys >= o.acks) || (o.replies >= 0 && n_replies >= o.replies);
}

/* ---- main ------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"endpoint", 1, 0, 'e'}, {"id", 1, 0, 'i'}, {"raw", 1, 0, 'x'}, {"random", 1, 0, 'n'},
        {"frames", 1, 0, 'k'}, {"type", 1, 0, 't'}, {"file", 1, 0, 'f'},
        {"report-file", 1, 0, 'c'}, {"district", 1, 0, 'd'}, {"revision", 1, 0, 'r'},
        {"period", 1, 0, 'p'}, {"report-id", 1, 0, 'I'}, {"source-name", 1, 0, 'S'},
        {"event-id", 1, 0, 'E'}, {"stage", 1, 0, 's'}, {"rejected", 0, 0, 'R'},
        {"from-seq", 1, 0, 'F'}, {"to-seq", 1, 0, 'T'}, {"big-string", 1, 0, 'b'},
        {"big-field", 1, 0, 'B'}, {"tiny", 1, 0, 'y'}, {"truncate", 0, 0, 'u'},
        {"out", 1, 0, 'o'}, {"as", 1, 0, 'a'}, {"repeat", 1, 0, 'N'}, {"wait-ms", 1, 0, 'w'},
        {"linger-ms", 1, 0, 'L'},
        {"acks", 1, 0, 'A'}, {"replies", 1, 0, 'Y'}, {"help", 0, 0, 'h'},
        {"key", 1, 0, 'K'}, {"server-key", 1, 0, 'V'}, {"no-sign", 0, 0, 'G'}, {0, 0, 0, 0}};
    const char *key_file = NULL, *server_file = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'e': o.endpoint = optarg; break;
        case 'K': key_file = optarg; break;
        case 'G': g_no_sign = 1; break;
        case 'V': server_file = optarg; break;
        case 'i': o.id = optarg; break;
        case 'x': add_source(0, optarg); break;
        case 'n': add_source(1, optarg); break;
        case 'k': o.frames = num("--frames", optarg, 1, MAX_FRAMES); break;
        case 't': o.type = optarg; break;
        case 'f': o.file = optarg; break;
        case 'c': o.report_file = optarg; break;
        case 'd': o.district = optarg; break;
        case 'r': o.revision = num("--revision", optarg, 0, UINT32_MAX); break;
        case 'p': o.period = optarg; break;
        case 'I': o.report_id = optarg; break;
        case 'S': o.source_name = optarg; break;
        case 'E': o.event_id = optarg; break;
        case 's': o.stage = num("--stage", optarg, 0, 1000); break;
        case 'R': o.rejected = 1; break;
        case 'F': o.from_seq = (unsigned long long)num("--from-seq", optarg, 0, INT64_MAX); break;
        case 'T': o.to_seq = (unsigned long long)num("--to-seq", optarg, 0, INT64_MAX); break;
        case 'b': o.big = num("--big-string", optarg, 0, MAX_BYTES); break;
        case 'B': o.big_field = optarg; break;
        case 'y': o.tiny = num("--tiny", optarg, 0, MAX_TINY); break;
        case 'u': o.truncate = 1; break;
        case 'o': o.out = optarg; break;
        case 'a': {
            static const char *const names[] = {"", "report", "verdict", "event", "receipt",
                                                "history", "feedreq"};
            o.as = AS_NONE;
            for (int i = 1; i < 7; i++)
                if (strcmp(optarg, names[i]) == 0)
                    o.as = (as_t)i;
            if (o.as == AS_NONE) {
                fprintf(stderr, "kh-inject: --as %s: unknown\n", optarg);
                return 2;
            }
            break;
        }
        case 'N': o.repeat = num("--repeat", optarg, 0, MAX_REPEAT); break;   /* 0: connect, send nothing */
        case 'w': o.wait_ms = num("--wait-ms", optarg, 0, MAX_WAIT_MS); break;
        case 'L': o.linger_ms = num("--linger-ms", optarg, 0, MAX_WAIT_MS); break;
        case 'A': o.acks = num("--acks", optarg, 0, 1000000); break;
        case 'Y': o.replies = num("--replies", optarg, 0, 1000000); break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (key_file) {
        char kerr[512];
        if (kh_key_read(key_file, &g_key, kerr, sizeof kerr) < 0) {
            fprintf(stderr, "kh-inject: %s\n", kerr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kh-inject: unexpected argument '%s'\n%s", argv[optind], usage);
        return 2;
    }
    if (o.as == AS_NONE && o.report_file)
        o.as = AS_REPORT;
    static const char *const as_type[] = {NULL, KH_T_REPORT, KH_T_VERDICT, KH_T_EVENT,
                                          KH_T_RECEIPT, KH_T_HIST_REQ, KH_T_FEED_REQ};
    const char *type = o.type ? o.type : as_type[o.as];
    int typed = type != NULL || o.out != NULL;
    if (!o.out && !o.endpoint) {
        fprintf(stderr, "kh-inject: --endpoint is required\n%s", usage);
        return 2;
    }
    if (!typed && o.n_src == 0 && !o.file && o.repeat > 0) {
        fprintf(stderr, "kh-inject: nothing to send (--repeat 0: connect and say nothing)\n%s",
                usage);
        return 2;
    }
    if (!typed && o.file) {
        fprintf(stderr, "kh-inject: --file needs --type (or --as)\n");
        return 2;
    }

    /* the payload of a typed message */
    uint8_t *payload = NULL;
    size_t plen = 0;
    if (typed) {
        if (o.as != AS_NONE) {
            build(&payload, &plen);
        } else if (o.file) {
            char *b;
            if (kh_read_file(o.file, MAX_BYTES, &b, &plen) < 0) {
                perror(o.file);
                return 1;
            }
            payload = (uint8_t *)b;
        } else if (o.n_src > 0) {
            payload = source_bytes(&o.src[0], &plen);
        } else {
            payload = malloc(1);
            if (!payload)
                die("out of memory");
        }
        /* about half, cut inside a field: a cut that fell between two fields would leave a
         * shorter message that still decodes (then it is not "truncated" at all) */
        if (o.truncate)
            for (plen /= 2; plen > 0 && kh_wire_count_field(payload, plen, 1) >= 0;)
                plen--;
    }
    if (o.out) {
        FILE *f = fopen(o.out, "wb");
        if (!f || (plen && fwrite(payload, 1, plen, f) != plen) || fclose(f) != 0) {
            perror(o.out);
            return 1;
        }
        free(payload);
        return 0;
    }

    void *ctx = zmq_ctx_new();
    void *sock = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
    if (!sock)
        die("cannot create a ZeroMQ socket");
    /* what is still unsent when the wait ends goes on for up to --linger-ms: a 10 MB message
     * to a slow peer (sanitizers, a busy machine) is not cut off by our own exit */
    int linger = (int)o.linger_ms, sndtimeo = 5000, hwm = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo);
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (o.id && zmq_setsockopt(sock, ZMQ_ROUTING_ID, o.id, strlen(o.id)) < 0)
        die("bad --id (1 to 255 bytes)");
    if (key_file || server_file) {             /* CURVE, as a node or kh-feed would */
        kh_key_t me, server;
        char err[512];
        if (!key_file || !server_file)
            die("--key and --server-key go together");
        if (kh_key_read(key_file, &me, err, sizeof err) < 0 || !me.has_secret ||
            kh_key_read(server_file, &server, err, sizeof err) < 0)
            die("cannot read the keys");
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server.curve_pk, 32) < 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, me.curve_pk, 32) < 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, me.curve_sk, 32) < 0)
            die("cannot set the CURVE keys");
    }
    /* disconnections are reported on a monitor socket */
    void *mon = NULL;
    if (zmq_socket_monitor(sock, "inproc://kh-inject-monitor", ZMQ_EVENT_DISCONNECTED) == 0 &&
        (mon = zmq_socket(ctx, ZMQ_PAIR)) != NULL &&
        zmq_connect(mon, "inproc://kh-inject-monitor") < 0) {
        zmq_close(mon);
        mon = NULL;
    }
    if (mon)
        zmq_setsockopt(mon, ZMQ_LINGER, &(int){0}, sizeof(int));
    if (zmq_connect(sock, o.endpoint) < 0) {
        fprintf(stderr, "kh-inject: %s: %s\n", o.endpoint, zmq_strerror(zmq_errno()));
        return 1;
    }

    /* the frames of one message */
    long nf = typed ? (o.frames > 2 ? o.frames : 2) : (o.frames ? o.frames : o.n_src);
    long sent = 0;
    size_t msg_bytes = 0;
    int rc = 0;
    for (long rep = 0; rep < o.repeat && rc == 0; rep++) {
        msg_bytes = 0;
        for (long i = 0; i < nf && rc == 0; i++) {
            uint8_t *b = NULL;
            const void *data;
            size_t len;
            if (typed && i == 0) {
                data = type;
                len = strlen(type);
            } else if (typed && i == 1) {
                data = payload;
                len = plen;
            } else if (typed) {
                uint8_t one = (uint8_t)i;
                data = b = malloc(1);
                if (!b)
                    die("out of memory");
                *b = one;
                len = 1;
            } else {
                data = b = source_bytes(&o.src[i % o.n_src], &len);
            }
            if (zmq_send(sock, data, len, i + 1 < nf ? ZMQ_SNDMORE : 0) < 0) {
                fprintf(stderr, "kh-inject: send: %s\n", zmq_strerror(zmq_errno()));
                rc = 1;
            }
            msg_bytes += len;
            free(b);
        }
        if (rc == 0)
            sent++;
        if (drain(sock) < 0)
            rc = 1;
    }

    int64_t deadline = kh_mono_ms() + o.wait_ms;
    while (rc == 0 && !done()) {
        int64_t left = deadline - kh_mono_ms();
        if (left <= 0)
            break;
        zmq_pollitem_t it[2] = {{sock, 0, ZMQ_POLLIN, 0}, {mon, 0, ZMQ_POLLIN, 0}};
        int n = zmq_poll(it, mon ? 2 : 1, (long)left);
        if (n < 0 && zmq_errno() != EINTR)
            rc = 1;
        else if (n > 0 && (it[0].revents & ZMQ_POLLIN) && drain(sock) < 0)
            rc = 1;
        else if (n > 0 && mon && (it[1].revents & ZMQ_POLLIN))
            drain_monitor(mon);
    }
    if (mon)
        drain_monitor(mon);
    fflush(stdout);
    fprintf(stderr, "kh-inject: sent %ld message(s) of %ld frame(s), %zu bytes each; "
                    "%ld repl%s, %ld ack key(s), %ld duplicate(s), %ld disconnection(s)\n",
            sent, nf, msg_bytes, n_replies, n_replies == 1 ? "y" : "ies", n_ack_keys, n_dups,
            n_disconnects);
    if (mon) {
        zmq_socket_monitor(sock, NULL, 0);
        zmq_close(mon);
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    free(payload);
    for (int i = 0; i < o.n_src; i++)
        free(o.src[i].bytes);
    if (rc == 0 && (o.acks >= 0 || o.replies >= 0) && !done())
        rc = 3;
    return rc;
}
