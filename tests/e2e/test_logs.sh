#!/usr/bin/env bash
# kh-logs shows the log lines of all four services and the nodes, live, and its
# filters (service, level, district) work.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test logs
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
pipeline start 831 832 >/dev/null || exit 1
out=$RUN/logs-seen; mkdir -p "$out"
field() { python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l).get(sys.argv[2],""))' "$1" "$2" | sort -u | paste -sd' '; }
# five kh-logs, stopped with SIGTERM once each has what it should show (--idle-ms is
# only a safety net)
L=(--idle-ms 600000)
"$BIN/kh-logs" --json "${L[@]}" >"$out/all" & lp=($!)
"$BIN/kh-logs" --json "${L[@]}" --service validator >"$out/validator" & lp+=($!)
"$BIN/kh-logs" --json "${L[@]}" --district 831 >"$out/d831" & lp+=($!)
"$BIN/kh-logs" --json "${L[@]}" --level warn >"$out/warn" & lp+=($!)
"$BIN/kh-logs" "${L[@]}" --district 832 >"$out/text832" & lp+=($!)
sed 's/^\(2018S2,[0-9]*,HO.TONG,\).*/\1-5/' "$RUN/input/832/832-2018S2.csv" >"$RUN/bad-832.csv"
# what each should show (the checks below say it in full): the lines of a counted 831
# report and of a rejected 832 report
services_in() { grep -o '"service":"[a-z]*"' "$1" | sort -u | wc -l; }   # (lines still written)
seen_all() {
    [ "$(services_in "$out/all")" = 5 ] &&
    grep -q '"event":"report.counted".*"report_id":"831-2018S1","district":"831"' "$out/all" &&
    grep -q report.accepted "$out/validator" &&
    [ "$(services_in "$out/d831")" -ge 4 ] &&
    grep -q '"event":"report.rejected".*"district":"832"' "$out/warn" &&
    grep -qE 'warn +validator +report.rejected +\[832 832-2018S2\]' "$out/text832"
}
# a subscription takes effect some time after kh-logs connects (it must reach every
# publisher): the two reports are sent again (new revisions) until every kh-logs has
# shown them, for 120 s at most
rounds=0 start=$SECONDS
while ! seen_all && [ $((SECONDS - start)) -lt 120 ]; do
    "$BIN/kh-node" submit --district 831 "$RUN/input/831/831-2018S1.csv" >/dev/null
    "$BIN/kh-node" submit --district 832 --force "$RUN/bad-832.csv" >/dev/null 2>&1
    rounds=$((rounds + 1))
    wait_settled 120 831 832
    wait_for 5 seen_all
done
echo "# every kh-logs showed the reports' lines after $rounds round(s) of submissions"
kill -TERM "${lp[@]}" 2>/dev/null
wait "${lp[@]}"

check_eq "every service and node appears in the live stream" "aggregator collector node notifier validator" \
    "$(field "$out/all" service)"
check "each line is one JSON object with ts, level, service, event, msg" python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o=json.loads(l); assert all(k in o for k in ("ts","level","service","event","msg")), l' "$out/all"
check "report lines carry the report id and district" \
    grep -q '"event":"report.counted".*"report_id":"831-2018S1","district":"831"' "$out/all"
check_eq "--service validator shows only the validator" validator "$(field "$out/validator" service)"
check "--service validator shows its verdicts" grep -q report.accepted "$out/validator"
check_eq "--district 831 shows only district 831" 831 "$(field "$out/d831" district)"
check "--district 831 shows the node's and the services' lines" \
    test "$(field "$out/d831" service | wc -w)" -ge 4
check "--level warn shows no info lines" test -z "$(grep '"level":"info"' "$out/warn")"
check "--level warn shows the rejection" grep -q '"event":"report.rejected".*"district":"832"' "$out/warn"
check "the text form is readable: time, level, service, event, district and report" \
    grep -qE '^20[0-9-]+T[0-9:.]+Z +warn +validator +report.rejected +\[832 832-2018S2\]' "$out/text832"
check "no process died" all_alive
