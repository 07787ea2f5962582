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
    # a stream of 216 reports: every district-period three times (revisions 1-3)
    (for round in 1 2 3; do SUBMIT_AGAIN=1 submit_all "$RUN/input"; done) &
    feeder=$!
    # kill when a random number of reports (10-60) have got through the collector (a
    # state; the deadline is only a bound)
    target=$((RANDOM % 51 + 10)) t0=$SECONDS
    while :; do
        n=$(sql "$RUN/collector.db" 'SELECT count(*) FROM report' 2>/dev/null || echo 0)
        [ "${n:-0}" -ge "$target" ] || [ $((SECONDS - t0)) -ge 300 ] && break
        sleep 0.02
    done
    at_kill=$n
    pipeline kill "$victim"
    check "$victim: killed mid-stream ($at_kill of 216 received at the kill)" \
        test "$at_kill" -ge 10 -a "$at_kill" -lt 216
    sleep 0.3                # on purpose: down for a moment while the stream goes on
    pipeline restart "$victim" >/dev/null
    wait "$feeder"
    check "$victim killed mid-stream: all 216 reports settle after restart" \
        wait_settled 180 "${DISTRICTS[@]}"
    agg=$RUN/aggregator.db
    check_eq "$victim: 72 counted" 72 "$(sql "$agg" 'SELECT count(*) FROM counted')"
    check_eq "$victim: 216 accepted, none twice" 216 "$(sql "$agg" 'SELECT count(*) FROM accepted')"
    check_eq "$victim: the counted revision is the last (3) everywhere" 72 \
        "$(sql "$agg" 'SELECT count(*) FROM counted WHERE revision=3')"
    superseded=$(sql "$RUN/notifier.db" "SELECT count(*) FROM event WHERE stage=4")
    check_eq "$victim: feed updates + superseded = 216 (each revision applied once)" 216 \
        "$(( $(sql "$agg" 'SELECT count(*) FROM feed') + superseded ))"
    check_eq "$victim: the collector stored 216 reports" 216 \
        "$(sql "$RUN/collector.db" 'SELECT count(*) FROM report')"
    "$BIN/kh-feed" sync >/dev/null
    for p in "${PERIODS[@]}"; do
        for lvl in 2 1; do "$BIN/kh-feed" export --period "$p" --level "$lvl" --no-sync; done
    done | grep -v '^period,' | (echo period,orgunit,indicator,value; cat) >"$RUN/actual.csv"
    check "$victim: totals equal the independent sums" \
        python3 "$TOP/tests/e2e/compare_csv.py" "$TOP/tests/out/kill9-expected.csv" "$RUN/actual.csv"
    for db in collector validator aggregator notifier; do
        check_eq "$victim: $db.db integrity" ok "$(sql "$RUN/$db.db" 'PRAGMA integrity_check')"
    done
    check "$victim: no process died after the restart" all_alive
    pipeline stop >/dev/null
done
