/*
 * sheet.c — see sheet.h.
 */
#include "sheet.h"

#include <string.h>

#include "kh_util.h"

int node_sheet_decode(const char *buf, size_t len, char **out, size_t *outlen,
                      char encoding[NODE_ENCODING_MAX], kh_findings_t *f)
{
    (void)f;
    *out = NULL;
    *outlen = 0;
    int bom = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0;
    kh_strlcpy(encoding, bom ? "UTF-8 BOM" : "UTF-8", NODE_ENCODING_MAX);
    return 0;
}
