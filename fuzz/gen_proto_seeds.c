/*
 * gen_proto_seeds — writes fuzz_proto's seed corpus: for each message type of
 * fuzz_proto.h, its type byte followed by a packed, plausible message (and one
 * with the type byte alone: the empty message).
 *
 *   gen_proto_seeds OUTDIR REPORT.csv
 *
 * REPORT.csv is a long-form report (fuzz/make-seeds.sh passes one made by
 * scripts/gen-demo-data.py); it becomes the Report and the Verdict's report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh.pb-c.h"
#include "kh_catalog.h"
#include "kh_report.h"
#include "fuzz_proto.h"

static const char *outdir;

static void put(const ProtobufCMessage *m, const char *suffix)
{
    size_t t;
    for (t = 0; t < FZ_NTYPES && fz_types[t].desc != m->descriptor; t++)
        ;
    if (t == FZ_NTYPES)
        return;
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n + 1);
    if (!buf)
        exit(1);
    buf[0] = (uint8_t)t;
    protobuf_c_message_pack(m, buf + 1);
    char path[1024];
    snprintf(path, sizeof path, "%s/%02zu-%s%s", outdir, t, fz_types[t].name, suffix);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, n + 1, f) != n + 1 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    free(buf);
}

static Kh__Finding *finding(const char *code, int err, uint32_t line, const char *ou,
                            const char *ind, const char *val)
{
    static Kh__Finding fs[8];
    static size_t n;
    Kh__Finding *f = &fs[n++ % 8];
    kh__finding__init(f);
    f->code = (char *)code;
    f->is_error = err;
    f->line = line;
    f->orgunit = (char *)ou;
    f->indicator = (char *)ind;
    f->value = (char *)val;
    f->message_vi = "Số hộ được công nhận vượt số hộ đăng ký";
    f->message_en = "Households recognised exceed households registered";
    return f;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gen_proto_seeds OUTDIR REPORT.csv\n");
        return 2;
    }
    outdir = argv[1];
    static char csv[1 << 20];
    FILE *in = fopen(argv[2], "rb");
    size_t len = in ? fread(csv, 1, sizeof csv, in) : 0;
    if (!in || len == 0) {
        perror(argv[2]);
        return 1;
    }
    fclose(in);

    /* empty messages */
    for (size_t t = 0; t < FZ_NTYPES; t++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%02zu-%s-empty", outdir, t, fz_types[t].name);
        FILE *f = fopen(path, "wb");
        uint8_t b = (uint8_t)t;
        if (!f || fwrite(&b, 1, 1, f) != 1 || fclose(f) != 0)
            return 1;
    }

    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t syn = {0};
    if (kh_report_parse_csv(csv, len, &r, &syn) != 0) {
        fprintf(stderr, "%s does not parse\n", argv[2]);
        return 1;
    }
    const char *district = r.n_values ? r.values[r.n_values - 1]->orgunit : "829";
    char id[64];
    snprintf(id, sizeof id, "%s-%s", district, r.period);
    kh_report_set_str(&r.report_id, id);
    kh_report_set_str(&r.district, district);
    kh_report_set_str(&r.source_name, "bao-cao.csv");
    r.revision = 2;
    r.submitted_at = 1606780800000;
    r.received_at = 1606780801234;
    put(&r.base, "");

    /* a small report too: fewer values, an empty option, a quoted-looking raw */
    size_t keep = r.n_values;
    r.n_values = keep < 6 ? keep : 6;
    put(&r.base, "-small");

    Kh__Finding *fl[3] = {
        finding("R02", 1, 17, "28789", "GDHT.CONG_NHAN", "1234"),
        finding("NORMALISED", 0, 40, "28756", "QUY.VAN_DONG", "1.234.567"),
        finding("MISSING_UNIT", 1, 0, "28792", "", ""),
    };
    Kh__Verdict v = KH__VERDICT__INIT;
    v.report = &r;
    v.accepted = 0;
    v.findings = fl;
    v.n_findings = 3;
    v.validated_at = 1606780802000;
    put(&v.base, "");

    char ev[96];
    snprintf(ev, sizeof ev, "%s/2/%d", id, KH__STAGE__STAGE_REJECTED);
    Kh__Receipt rc = KH__RECEIPT__INIT;
    rc.event_id = ev;
    rc.report_id = id;
    rc.revision = 2;
    rc.district = (char *)district;
    rc.period = r.period;
    rc.stage = KH__STAGE__STAGE_REJECTED;
    rc.findings = fl;
    rc.n_findings = 3;
    rc.at = 1606780803000;
    rc.source_name = "bao-cao.csv";
    put(&rc.base, "");
    rc.stage = KH__STAGE__STAGE_COUNTED;
    rc.n_findings = 0;
    rc.feed_seq = 4711;
    put(&rc.base, "-counted");

    char *keys[2] = {ev, id};
    protobuf_c_boolean dup[2] = {0, 1};
    Kh__Ack ack = KH__ACK__INIT;
    ack.keys = keys;
    ack.n_keys = 2;
    ack.duplicate = dup;
    ack.n_duplicate = 2;
    put(&ack.base, "");

    Kh__Cell c1 = KH__CELL__INIT, c2 = KH__CELL__INIT;
    c1.period = "2020S2"; c1.orgunit = "829"; c1.indicator = "HO.TONG"; c1.sum = 36512; c1.n = 16;
    c2.period = "2020S2"; c2.orgunit = "28756"; c2.indicator = "CDX.XEP_LOAI=TOT"; c2.sum = 1;
    c2.n = 1; c2.deleted = 1;
    Kh__Cell *cells[2] = {&c1, &c2};
    Kh__Status st = KH__STATUS__INIT;
    st.district = "829"; st.period = "2020S2"; st.report_id = id; st.revision = 2;
    st.received_at = 1606780801234; st.counted_at = 1606780804000; st.warnings = 1;
    Kh__Status *sts[1] = {&st};
    Kh__FeedUpdate fu = KH__FEED_UPDATE__INIT;
    fu.seq = 4711;
    fu.cells = cells;
    fu.n_cells = 2;
    fu.statuses = sts;
    fu.n_statuses = 1;
    put(&fu.base, "");

    Kh__FeedRequest fr = KH__FEED_REQUEST__INIT;
    fr.from_seq = 4700;
    fr.to_seq = 4711;
    put(&fr.base, "");

    Kh__FeedEnd fe = KH__FEED_END__INIT;
    fe.seq = 4711;
    fe.complete = 1;
    put(&fe.base, "");

#ifdef KH__HISTORY_REQUEST__INIT
    Kh__HistoryRequest hr = KH__HISTORY_REQUEST__INIT;
    hr.district = (char *)district;
    hr.period = r.period;
    put(&hr.base, "");
#endif
#ifdef KH__HISTORY__INIT
    Kh__Change ch = KH__CHANGE__INIT;
    ch.orgunit = "28756"; ch.indicator = "QUY.VAN_DONG"; ch.before = "120000000";
    ch.after = "132500000";
    Kh__Change *chs[1] = {&ch};
    Kh__HistoryEntry he1 = KH__HISTORY_ENTRY__INIT, he2 = KH__HISTORY_ENTRY__INIT;
    he1.revision = 1; he1.received_at = 1606780801234; he1.decided_at = 1606780802000;
    he1.accepted = 0; he1.findings = fl; he1.n_findings = 1; he1.source_name = "a.csv";
    he1.n_values = 470;
    he2.revision = 2; he2.accepted = 1; he2.counted = 1; he2.changes = chs; he2.n_changes = 1;
    he2.findings = fl + 1; he2.n_findings = 1; he2.n_values = 470;
    Kh__HistoryEntry *hes[2] = {&he1, &he2};
    Kh__History h = KH__HISTORY__INIT;
    h.district = (char *)district;
    h.period = r.period;
    h.entries = hes;
    h.n_entries = 2;
    put(&h.base, "");
#endif
#ifdef KH__FINDINGS__INIT
    Kh__Findings fs = KH__FINDINGS__INIT;
    fs.items = fl;
    fs.n_items = 3;
    put(&fs.base, "");
#endif

    r.n_values = keep;
    kh_report_clear(&r);
    kh_findings_clear(&syn);
    return 0;
}
