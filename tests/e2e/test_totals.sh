#!/usr/bin/env bash
# Every value of the demo's 72 reports is counted exactly once, and a corrected
# revision replaces the earlier one exactly while the earlier one stays in history.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test totals
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
set_conf collector replay_clock node
pipeline start >/dev/null || exit 1
submit_all "$RUN/input" || exit 1
check "all 72 reports settle" wait_settled 120 "${DISTRICTS[@]}"

# the rejected revision, then the corrected one
"$BIN/kh-node" submit --district 829 --force "$RUN/input/extra/829-2020S2-rev-bad.csv" >/dev/null
wait_settled 60 829
"$BIN/kh-node" submit --district 829 "$RUN/input/extra/829-2020S2-rev-fixed.csv" >/dev/null
check "the revisions settle" wait_settled 60 829

stages=$(node_stages 829 | awk -F'\t' '$1=="829-2020S2"{printf "%s:%s ", $2, $3}')
check_eq "829-2020S2: revision 1 counted then replaced, 2 rejected, 3 counted" \
    "1:counted 2:rejected 3:counted " "$stages"
bad_receipt="$RUN/input/extra/829-2020S2-rev-bad.csv.receipts.jsonl"
check "the rejection names rule R02 with its line" \
    python3 -c 'import json,sys
r=[json.loads(l) for l in open(sys.argv[1])]
rej=[x for x in r if x["stage"]=="rejected"]
sys.exit(not (rej and any(f["code"]=="R02" and f["line"]>1 and "GDHT.CONG_NHAN" in f["message_vi"] for f in rej[0]["findings"])))' "$bad_receipt"

# the pipeline's aggregates against sums computed independently from the files
"$BIN/kh-feed" sync >/dev/null
for p in "${PERIODS[@]}"; do
    for lvl in 2 1; do "$BIN/kh-feed" export --period "$p" --level "$lvl" --no-sync; done
done | grep -v '^period,' | (echo period,orgunit,indicator,value; cat) >"$RUN/actual.csv"
files=()
for d in "${DISTRICTS[@]}"; do for p in "${PERIODS[@]}"; do files+=("$RUN/input/$d/$d-$p.csv"); done; done
python3 "$TOP/tests/e2e/expected_totals.py" "${files[@]}" "$RUN/input/extra/829-2020S2-rev-fixed.csv" \
    >"$RUN/expected.csv"
check "district and province totals equal the independent sums, every half-year" \
    python3 "$TOP/tests/e2e/compare_csv.py" "$RUN/expected.csv" "$RUN/actual.csv"
python3 "$TOP/tests/e2e/expected_totals.py" "${files[@]}" >"$RUN/expected-rev1.csv"
old=$(grep '^2020S2,83,QUY.VAN_DONG,' "$RUN/expected-rev1.csv" | cut -d, -f4)
new=$(grep '^2020S2,83,QUY.VAN_DONG,' "$RUN/actual.csv" | cut -d, -f4)
check_eq "the corrected revision moved the province fund by exactly 19,500,000" \
    19500000 "$((new - old))"

# issue 12, item 5: a rate's numerator and denominator from the same units and halves
# (TL.TTHTCD_HO_TRO showed 121.43 % for TP. Bến Tre over 2017-2020), against an oracle
for p in 2017-2020 2020; do
    for lvl in 2 1; do "$BIN/kh-feed" export --period "$p" --level "$lvl" --no-sync; done
done | grep -v '^period,' | (echo period,orgunit,indicator,value; cat) >"$RUN/actual-rates.csv"
for p in 2017-2020 2020; do
    python3 "$TOP/tests/e2e/expected_rates.py" "$p" "${files[@]}" "$RUN/input/extra/829-2020S2-rev-fixed.csv"
done | grep -v '^period,' | (echo period,orgunit,indicator,value; cat) >"$RUN/expected-rates.csv"
check "rates over a year and the programme equal the oracle's, none of a subset above 100 %" \
    python3 "$TOP/tests/e2e/check_domain.py" rates "$RUN/expected-rates.csv" "$RUN/actual-rates.csv"
"$BIN/kh-feed" summary --period 2020S1 --no-sync >"$RUN/summary-2020S1.txt"
check "the summary says 6 tháng đầu năm 2020, names the unit column by level, cuts nothing" \
    python3 "$TOP/tests/e2e/check_domain.py" summary 2020S1 "$RUN/summary-2020S1.txt"
"$BIN/kh-feed" export --period 2017-2020 --level 2 --format xlsx --no-sync \
    --output "$RUN/2017-2020.xlsx" >/dev/null
check "the workbook names sheets and the unit column by level and writes every name whole" \
    python3 "$TOP/tests/e2e/check_domain.py" workbook 2020-12-31 "$RUN/2017-2020.xlsx"

# issue 12: --level is a level number; a word is refused with the levels by name
rc=0; msg=$("$BIN/kh-feed" export --period 2020 --level district --no-sync 2>&1 >/dev/null) || rc=$?
check_eq "export --level district is refused: exit 2" 2 "$rc"
check_eq "… with the levels of levels.csv by number and name" 1 \
    "$(printf '%s\n' "$msg" | grep -c 'level number: 1 Tỉnh, 2 Huyện/Thành phố, 3 Xã/Phường/Thị trấn$')"

agg=$RUN/aggregator.db
check_eq "72 district-periods counted, once each" 72 "$(sql "$agg" 'SELECT count(*) FROM counted')"
check_eq "73 feed updates: 72 reports + 1 corrected revision (none for the rejected one)" \
    73 "$(sql "$agg" 'SELECT count(*) FROM feed')"
check_eq "history keeps every accepted revision of 829-2020S2" "1 3" \
    "$(sql "$agg" "SELECT group_concat(revision,' ') FROM (SELECT revision FROM accepted WHERE report_id='829-2020S2' ORDER BY revision)")"
check_eq "the collector keeps every received revision" "1 2 3" \
    "$(sql "$RUN/collector.db" "SELECT group_concat(revision,' ') FROM (SELECT revision FROM report WHERE report_id='829-2020S2' ORDER BY revision)")"
check_eq "the counted revision of 829-2020S2 is 3" 3 \
    "$(sql "$agg" "SELECT revision FROM counted WHERE district='829' AND period='2020S2'")"
check_eq "the mirror knows 72 statuses" 72 "$(sql "$RUN/feed-mirror.db" 'SELECT count(*) FROM status')"
check "no process died" all_alive
