#!/usr/bin/env bash
# kill -9 of any one service in the middle of a stream of submissions, then a
# restart: no acknowledged report is lost and none is counted twice.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
input=$TOP/tests/out/kill9-input
rm -rf "$input"; python3 "$TOP/scripts/gen-demo-data.py" "$input" 2>/dev/null
files=()
for d in "${DISTRICTS[@]}"; do for p in "${PERIODS[@]}"; do files+=("$input/$d/$d-$p.csv"); done; done
python3 "$TOP/tests/e2e/expected_totals.py" "${files[@]}" >"$TOP/tests/out/kill9-expected.csv"

for victim in collector validator aggregator notifier; do
    start_test "kill9-$victim"
    set_conf general resend_ms 400
    cp -r "$input" "$RUN/input"
    pipeline start >/dev/null || exit 1
    submit_all "$RUN/input" &
    feeder=$!
    sleep 0.$((RANDOM % 6 + 2))
    pipeline kill "$victim"
    counted_at_kill=$(for d in "${DISTRICTS[@]}"; do node_stages "$d"; done | grep -c counted)
    check "$victim: killed mid-stream ($counted_at_kill of 72 counted at the kill)" \
        test "$counted_at_kill" -lt 72
    sleep 0.3
    pipeline restart "$victim" >/dev/null
    wait "$feeder"
    check "$victim killed mid-stream: all 72 reports settle after restart" \
        wait_settled 120 "${DISTRICTS[@]}"
    agg=$RUN/aggregator.db
    check_eq "$victim: 72 counted" 72 "$(sql "$agg" 'SELECT count(*) FROM counted')"
    check_eq "$victim: 72 accepted, none twice" 72 "$(sql "$agg" 'SELECT count(*) FROM accepted')"
    check_eq "$victim: exactly 72 feed updates (each report counted once)" 72 \
        "$(sql "$agg" 'SELECT count(*) FROM feed')"
    check_eq "$victim: the collector stored 72 reports" 72 \
        "$(sql "$RUN/collector.db" 'SELECT count(*) FROM report')"
    "$BIN/kh-feed" sync >/dev/null
    for p in "${PERIODS[@]}"; do
        for lvl in district province; do "$BIN/kh-feed" export --period "$p" --level "$lvl" --no-sync; done
    done | grep -v '^period,' | (echo period,orgunit,indicator,value; cat) >"$RUN/actual.csv"
    check "$victim: totals equal the independent sums" \
        python3 "$TOP/tests/e2e/compare_csv.py" "$TOP/tests/out/kill9-expected.csv" "$RUN/actual.csv"
    for db in collector validator aggregator notifier; do
        check_eq "$victim: $db.db integrity" ok "$(sql "$RUN/$db.db" 'PRAGMA integrity_check')"
    done
    check "$victim: no process died after the restart" all_alive
    pipeline stop >/dev/null
done
