#!/usr/bin/env bash
# A malformed file (broken CSV, unknown indicator, text where a number belongs) is
# rejected with the line and the reason in the receipt; no process crashes and
# nothing stored is disturbed.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test malformed
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
pipeline start 832 >/dev/null || exit 1
"$BIN/kh-node" submit --district 832 "$RUN/input/832/832-2019S1.csv" "$RUN/input/832/832-2019S2.csv" >/dev/null
wait_settled 60 832
"$BIN/kh-feed" export --period 2019 --level 3 >"$RUN/before.csv"

bad=$RUN/bad; mkdir -p "$bad"
# 1. broken CSV: an unterminated quote on line 4, five fields on line 3
{ echo "period,orgunit,indicator,value"; echo "2020S1,28891,HO.TONG,1200"
  echo "2020S1,28891,DS.TONG,4000,extra"; echo '2020S1,28891,"HKH.HOI_VIEN,900'; } >"$bad/broken.csv"
"$BIN/kh-node" submit --district 832 "$bad/broken.csv" >/dev/null 2>&1
check_eq "a broken CSV is refused by the node (exit 1)" 1 "$?"
reasons() { python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l)
    if r["stage"] in ("rejected","rejected_locally"):
        for f in r["findings"]: print(f["line"], f["code"], f["message"])' "$1"; }
check "the receipt gives line 3 and the field count" \
    grep -q '^3 CSV_SYNTAX the row has 5 fields' <(reasons "$bad/broken.csv.receipts.jsonl")
check "the receipt names the unterminated quote" \
    grep -q 'CSV_SYNTAX.*unterminated' <(reasons "$bad/broken.csv.receipts.jsonl")

# 2. a valid file with an unknown indicator and text for a number, sent anyway
python3 - "$RUN/input/832/832-2020S1.csv" "$bad/wrong.csv" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
out = []
for i, l in enumerate(lines):
    p = l.split(",")
    if i == 5: p[2] = "HO.TONG_SAI"          # line 6: unknown indicator
    if i == 9: p[3] = "mười hai"             # line 10: text where a number belongs
    out.append(",".join(p))
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(out) + "\n")
PY
"$BIN/kh-node" submit --district 832 --force "$bad/wrong.csv" >/dev/null 2>&1
check "forced through the node, it settles" wait_settled 60 832
r=$(reasons "$bad/wrong.csv.receipts.jsonl")
check "the province's receipt names line 6: unknown indicator" grep -q '^6 UNKNOWN_INDICATOR' <<<"$r"
check "the province's receipt names line 10: not a number" grep -q '^10 BAD_VALUE' <<<"$r"
check_eq "the province's verdict is 'rejected'" rejected \
    "$(node_stages 832 | awk -F'\t' '$1=="832-2020S1"{print $3}')"

# 3. not text at all
head -c 3000 /dev/urandom >"$bad/random.csv"
"$BIN/kh-node" submit --district 832 "$bad/random.csv" >/dev/null 2>&1
check_eq "random bytes are refused by the node (exit 1)" 1 "$?"
check "and the receipt says why (not text in any encoding the node reads, or its syntax)" \
    grep -qE 'NOT_TEXT|CSV_SYNTAX' <(reasons "$bad/random.csv.receipts.jsonl")

check "no process crashed" all_alive
"$BIN/kh-feed" export --period 2019 --level 3 >"$RUN/after.csv"
check "what was stored before is undisturbed" cmp -s "$RUN/before.csv" "$RUN/after.csv"
check_eq "nothing of 2020S1 was counted" 0 \
    "$(sql "$RUN/aggregator.db" "SELECT count(*) FROM counted WHERE period='2020S1'")"
