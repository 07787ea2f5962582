/*
 * fuzz_sheet — kh-node's file decoder (services/node/sheet.c): what the node does with
 * any file an officer drops into its spool before the CSV codec sees it.  The input is
 * a whole file: an .xlsx (libzip, libxml2's reader), an .xls, or CSV text in UTF-8,
 * UTF-16 or Windows-1258.  Checked: no crash, no leak, no sanitizer report; a refusal
 * always carries an error finding; what is decoded is valid UTF-8 within the CSV bound
 * and goes on through kh_report_parse_csv as in node_prepare.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistr.h>

#include "../services/node/sheet.h"
#include "kh_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kh_findings_t f = {0};
    char enc[NODE_ENCODING_MAX] = "", *out = NULL;
    size_t n = 0;
    int rc = node_sheet_decode((const char *)data, size, &out, &n, enc, &f);
    if (rc == 1 && f.n_errors == 0) {
        fprintf(stderr, "fuzz_sheet: refused without an error finding\n");
        abort();
    }
    if (rc == 0 && out && (n > KH_REPORT_MAX_BYTES ||
                           u8_check((const uint8_t *)out, n) != NULL)) {
        fprintf(stderr, "fuzz_sheet: decoded text out of bounds or not UTF-8 (%s)\n", enc);
        abort();
    }
    if (rc == 0) {
        Kh__Report r = KH__REPORT__INIT;
        kh_findings_t pf = {0};
        kh_report_parse_csv(out ? out : (const char *)data, out ? n : size, &r, &pf);
        kh_findings_clear(&pf);
        kh_report_clear(&r);
    }
    free(out);
    kh_findings_clear(&f);
    return 0;
}
