#!/usr/bin/env bash
# The report model end to end: revisions and their history, warnings kept with the
# accepted report and shown to the province (including the previous-period rule,
# which only the aggregator can check), and the February 2020 commune merger.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test history
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
pipeline start 829 833 >/dev/null || exit 1
in=$RUN/input
"$BIN/kh-node" submit --district 833 "$in/833/833-2019S1.csv" "$in/833/833-2019S2.csv" >/dev/null
wait_settled 60 833

# revision 2 of 2019S2: one commune's households +40 % (rule R16 warns) — registered
# households raised too so the error rules still hold
python3 - "$in/833/833-2019S2.csv" "$RUN/833-2019S2-r2.csv" <<'PY'
import sys
rows = [l.rstrip("\n").split(",") for l in open(sys.argv[1], encoding="utf-8")]
commune = rows[1][1]
for r in rows[1:]:
    if r[1] == commune and r[2] == "HO.TONG":
        old = int(r[3]); r[3] = str(int(old * 1.4))
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(",".join(r) for r in rows) + "\n")
print(commune, old, int(old * 1.4), file=open(sys.argv[2] + ".info", "w"))
PY
read -r commune old new <"$RUN/833-2019S2-r2.csv.info"
"$BIN/kh-node" submit --district 833 "$RUN/833-2019S2-r2.csv" >/dev/null
# revision 3: a negative count, sent anyway: rejected
sed "s/^\(2019S2,$commune,HKH.CHI_HOI,\).*/\1-4/" "$in/833/833-2019S2.csv" >"$RUN/833-2019S2-r3.csv"
"$BIN/kh-node" submit --district 833 --force "$RUN/833-2019S2-r3.csv" >/dev/null 2>&1
# revision 4 (issue 15): revision 2 with two households counts and a score spelled
# otherwise ("1880" → "1.880", "80.5" → "80,5") and one value really changed (the
# district's news items +1): history tells the 3 spellings from the 1 changed value
python3 - "$RUN/833-2019S2-r2.csv" "$RUN/833-2019S2-r4.csv" "$commune" <<'PY'
import sys
rows = [l.rstrip("\n").split(",") for l in open(sys.argv[1], encoding="utf-8")]
respelled = 0
for r in rows[1:]:
    if r[1] == sys.argv[3]:
        continue
    if r[2] == "HO.TONG" and respelled < 2 and int(r[3]) >= 1000:
        r[3] = "{:,}".format(int(r[3])).replace(",", ".")
        respelled += 1
    elif r[2] == "CDX.DIEM" and "." in r[3] and respelled == 2:
        r[3] = '"' + r[3].replace(".", ",") + '"'
        respelled += 1
    elif r[2] == "TT.TIN_BAI":
        r[3] = str(int(r[3]) + 1)
assert respelled == 3, respelled
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(",".join(r) for r in rows) + "\n")
PY
"$BIN/kh-node" submit --district 833 "$RUN/833-2019S2-r4.csv" >/dev/null
check "the revisions settle" wait_settled 60 833
check "revision 2's receipt carries the R16 warning (households +40 %)" \
    grep -q '"stage":"accepted".*"code":"R16"' "$RUN/833-2019S2-r2.csv.receipts.jsonl"

"$BIN/kh-feed" history --district 833 --period 2019S2 >"$RUN/history.txt"
check "history: revision 1 accepted, replaced" grep -q '^Lần 1 .*accepted, replaced' "$RUN/history.txt"
check "history: revision 2 accepted, replaced by revision 4" \
    grep -q '^Lần 2 .*accepted, replaced' "$RUN/history.txt"
check "history: revision 3 rejected, with its reason" \
    grep -q '^Lần 3 .*rejected' "$RUN/history.txt"
check "history: the changed value, before and after" \
    grep -q "($commune) HO.TONG: $old → $new" "$RUN/history.txt"
block() { awk -v n="$1" '/^Lần /{on = ($2 == n)} on' "$RUN/history.txt"; }
check_eq "history: revision 2 changed exactly one value" 1 \
    "$(block 2 | grep -c '^      .*→')"
check "history: revision 4 accepted, counted" grep -q '^Lần 4 .*accepted, counted' "$RUN/history.txt"
check "history: revision 4, 1 value changed (not 4)" \
    grep -q '^    1 giá trị thay đổi .*/ values changed' <(block 4)
check "history: revision 4, 3 changes of spelling only, told apart" \
    grep -q '^    3 chỉ khác cách viết.*/ spelling only' <(block 4)
check "history: a spelling-only change shows both texts (1.880-style, 80,5-style)" \
    grep -Eq '^      .*HO.TONG: "[0-9]+" = "[0-9]\.[0-9]{3}"$' <(block 4)
check_eq "history: revision 4 lists exactly one value change with →" 1 \
    "$(block 4 | grep -c '^      .*→')"
"$BIN/kh-feed" summary --period 2019S2 >"$RUN/summary.txt"
check "the province summary lists the warning" grep -q "833  R16  $commune" "$RUN/summary.txt"

# the merger: Phường 1 (28771) ceased on 1 Feb 2020
sed 's/^2020S1,28777,/2020S1,28771,/' "$in/829/829-2020S1.csv" >"$RUN/829-2020S1-old-ward.csv"
"$BIN/kh-node" submit --district 829 --force "$RUN/829-2020S1-old-ward.csv" >/dev/null 2>&1
"$BIN/kh-node" submit --district 829 "$in/829/829-2019S2.csv" "$in/829/829-2020S1.csv" >/dev/null
check "the merger reports settle" wait_settled 60 829
check "a 2020S1 report naming Phường 1 is rejected naming Phường An Hội" \
    grep -q '"stage":"rejected".*MERGED_UNIT.*Phường An Hội' "$RUN/829-2020S1-old-ward.csv.receipts.jsonl"
check_eq "2019S2 with 17 communes and 2020S1 with 14 are both counted" "2019S2 2020S1" \
    "$(sql "$RUN/aggregator.db" "SELECT group_concat(period,' ') FROM (SELECT period FROM counted WHERE district='829' ORDER BY period)")"
"$BIN/kh-feed" export --period 2019S2 --level 3 | grep -c ',HO.TONG,' >"$RUN/n19"
"$BIN/kh-feed" export --period 2020S1 --level 3 | grep -c ',HO.TONG,' >"$RUN/n20"
check_eq "commune rows: 17 communes in 2019S2 + 17 of 833's" 34 "$(cat "$RUN/n19")"
check_eq "commune rows: 14 in 2020S1" 14 "$(cat "$RUN/n20")"
h19=$("$BIN/kh-feed" export --period 2019S2 --level 2 --no-sync | grep '^2019S2,829,HO.TONG,' | cut -d, -f4)
h20=$("$BIN/kh-feed" export --period 2020S1 --level 2 --no-sync | grep '^2020S1,829,HO.TONG,' | cut -d, -f4)
check "the district series stays continuous across the merger (households within 5 %)" \
    python3 -c "import sys; a,b=$h19,$h20; sys.exit(abs(b-a)/a > 0.05)"
check "no process died" all_alive
