#!/usr/bin/env bash
# No level, province or unit literal in the programs (issue 12): the unit tree, the level
# names and who reports are data, so lib/, services/ and tools/ must name none of them.
# tests/e2e/check_literals.py is the check; first it is shown to find each kind of
# literal in a planted file (a check that finds nothing proves nothing), then it runs on
# the real sources.
source "$(dirname "$0")/lib.sh"
set -u
OUT=$TOP/tests/out/literals
rm -rf "$OUT"; mkdir -p "$OUT/planted"
CHECK="python3 $TOP/tests/e2e/check_literals.py --data $TOP/data"

# ---- the checker finds what it must, and only that ----
cat >"$OUT/planted/bad.c" <<'CEOF'
/* comments may name the seed: Huyện Châu Thành (831), KH_LEVEL_DISTRICT, level == 2 */
static const char *a = "Huyện %s";
static int b(int level) { return level == 2; }
static int c(const kh_unit_t *u) { return 3 != u->level; }
static const char *d = "xã %s";
static const char *e = "unit 829 reports";
static int f = KH_LEVEL_COMMUNE;
static const char *g = "Tỉnh Bến Tre";
static int h(int x) { return x == 838; }
static const char *i = "thị trấn";
CEOF
cat >"$OUT/planted/good.c" <<'CEOF'
/* none of these is a level, a province or a unit */
static const char *a = "xây dựng xã hội học tập";      /* "xã hội" is society */
static int b(int level) { return level == 1 || level > depth; }   /* the root is 1 */
static const char *c = "%83s 2020S2 1000";
static const char *d = "Tỉnh";                                    /* the province itself */
CEOF
$CHECK "$OUT/planted" >"$OUT/planted.txt"
check_eq "the checker fails on the planted file" 1 "$?"
for want in 'bad.c:2: word "huyện"' 'bad.c:3: comparison with a level number: level == 2' \
    'bad.c:4: comparison with a level number: 3 != u->level' 'bad.c:5: word "xã"' \
    'bad.c:6: code 829' 'bad.c:7: identifier KH_LEVEL_COMMUNE' 'bad.c:8: province name "bến tre"' \
    'bad.c:9: code 838' 'bad.c:10: word "thị trấn"'; do
    check "it finds $want" grep -qF "$want" "$OUT/planted.txt"
done
check_eq "it finds nothing else (9 findings; comments and good.c are clean)" \
    "9 findings in 2 files" "$(tail -1 "$OUT/planted.txt")"

# ---- the programs ----
$CHECK "$TOP/lib" "$TOP/services" "$TOP/tools" >"$OUT/sources.txt"
rc=$?
sed 's/^/  /' "$OUT/sources.txt" | tail -40
check_eq "lib/, services/ and tools/ name no level, province or unit" 0 "$rc"
