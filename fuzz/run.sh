#!/usr/bin/env bash
# run.sh — runs libFuzzer targets one after the other, each for FUZZ_SECONDS (default
# 30) over its committed seeds, and prints executions per target.  (make fuzz)
#   fuzz/run.sh BINDIR TARGET...
# The committed corpus fuzz/corpus/TARGET/ is only read; what the fuzzer adds goes to
# $FUZZ_WORK/TARGET/ (default build-fuzz/corpus), its output to $FUZZ_WORK/TARGET.log.
# A crash, leak, sanitizer report or timeout saves the input as
# fuzz/crashes/TARGET-{crash,leak,timeout,oom}-SHA1; replay it with
#   BINDIR/TARGET fuzz/crashes/FILE
# Exit status 1 when any target found something.
set -u
cd "$(dirname "$0")/.."
bindir=$1; shift
secs=${FUZZ_SECONDS:-30}
work=${FUZZ_WORK:-build-fuzz/corpus}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
mkdir -p fuzz/crashes
bad=0
rows=()
for t in "$@"; do
    mkdir -p "$work/$t"
    log=$work/$t.log
    echo "  FUZZ  $t for ${secs}s (seeds fuzz/corpus/$t, log $log)"
    "$bindir/$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="fuzz/crashes/$t-" "$work/$t" "fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
    execs=$(stat number_of_executed_units) rate=$(stat average_exec_per_sec)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
    saved=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    if [ "$rc" -ne 0 ]; then
        bad=1
        rows+=("$(printf '%-11s FAIL  %s executions before it stopped (exit %d); input: %s' \
                  "$t" "${execs:-?}" "$rc" "${saved:-none}")")
        grep -m1 -B2 -A25 -E 'ERROR: |runtime error:|==ABORTING|fuzz_[a-z]+: ' "$log" | sed 's/^/    /'
    else
        rows+=("$(printf '%-11s ok    %s executions (%s/s), %s, %s new inputs' \
                  "$t" "${execs:-?}" "${rate:-?}" "${cov:-cov: ?}" "$(stat new_units_added)")")
    fi
done
echo "fuzz results (${secs}s per target):"
printf '  %s\n' "${rows[@]}"
exit $bad
