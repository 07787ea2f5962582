/*
 * fuzz_csv — the report file codec and the validation behind it: what kh-node does with
 * a file dropped into its spool folder, and the checks the validator and the
 * aggregator run on the report.
 *
 * The input is a report file (either form: kh_report_parse_csv tells them apart by the
 * header).  When it parses without syntax errors:
 *   - round trip: the long form written by kh_report_write_csv must parse back to the
 *     same period and values (orgunit, indicator, raw, in order); a difference aborts;
 *   - kh_validate with the real catalogue, as kh-node and the validator call it (no
 *     previous-period lookup, a fixed "today"), and as the aggregator calls it (with a
 *     previous-period lookup, today 0).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_report.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    fz_load_catalog((*argv)[0]);
    return 0;
}

static void roundtrip(const Kh__Report *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return;
    int wrc = kh_report_write_csv(r, m);
    fclose(m);
    if (wrc < 0) {
        free(buf);
        return;
    }
    Kh__Report r2 = KH__REPORT__INIT;
    kh_findings_t f2 = {0};
    int syn = kh_report_parse_csv(buf, len, &r2, &f2);
    const char *what = NULL;
    size_t at = 0;
    if (syn < 0)
        what = NULL;                                    /* out of memory: not a finding */
    else if (syn > 0)
        what = "the written file does not parse";
    else if (strcmp(r->period, r2.period) != 0)
        what = "period differs";
    else if (r->n_values != r2.n_values)
        what = "number of values differs";
    else
        for (at = 0; at < r->n_values && !what; at++)
            if (strcmp(r->values[at]->orgunit, r2.values[at]->orgunit) != 0 ||
                strcmp(r->values[at]->indicator, r2.values[at]->indicator) != 0 ||
                strcmp(r->values[at]->raw, r2.values[at]->raw) != 0)
                what = "a value differs";
    if (what) {
        fprintf(stderr, "fuzz_csv: round trip through kh_report_write_csv: %s "
                "(%zu vs %zu values, value #%zu)\n--- written:\n%.*s\n",
                what, r->n_values, r2.n_values, at, (int)(len < 4000 ? len : 4000), buf);
        for (size_t i = 0; i < f2.n; i++)
            fprintf(stderr, "  reparse: line %u: %s\n", f2.items[i]->line,
                    f2.items[i]->message_en);
        abort();
    }
    kh_findings_clear(&f2);
    kh_report_clear(&r2);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Kh__Report r = KH__REPORT__INIT;
    kh_findings_t f = {0};
    int syn = kh_report_parse_csv((const char *)data, size, &r, &f);
    if (syn == 0) {
        roundtrip(&r);
        if (kh_report_set_str(&r.district, fz_district_of(&r)) == 0 &&
            kh_report_set_str(&r.report_id, "fuzz") == 0) {
            kh_findings_clear(&f);
            kh_validate(fz_cat, &r, FUZZ_TODAY, &f);    /* node, validator */
            kh_findings_clear(&f);
            kh_validate_previous(fz_cat, &r, fz_prev, NULL, &f);          /* aggregator */
        }
    }
    kh_findings_clear(&f);
    kh_report_clear(&r);
    return 0;
}
