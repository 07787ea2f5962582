#!/usr/bin/env bash
# run-faults.sh short|long [NAME...] — run the fault scripts and count their checks.
#
# Runs every fault script tests/faults/*.sh (all but lib-*.sh and this one; or only the
# NAMEs given, e.g. crash stall) as `bash SCRIPT short|long`, one after the other, each
# with its output in tests/out/faults-NAME-TIER.log.  Prints every check line ("ok - …",
# "not ok - …") and note ("# …") the scripts print, a "# NAME: …" summary per script,
# and ends with "N passed, N failed".  A script that exits non-zero without a failed
# check counts as one failure; so does one that runs past its time limit (short: 1800 s,
# long: 7200 s; FAULTS_TIMEOUT overrides) — a guard against a hang, not a measure of
# speed: a short script takes 20–80 s here alone, several times that under make san
# beside a busy machine (the stall case once passed 600 s that way).  Exit status 0 iff nothing failed.
#
#   make test-faults                    the long tier (mk/faults.mk)
#   tests/e2e/test_faults_short.sh      the short tier, inside `make test`
set -u
cd "$(dirname "$0")/../.."
tier=${1:-}
case $tier in short|long) shift ;; *) echo "usage: tests/faults/run-faults.sh short|long [NAME...]" >&2; exit 2 ;; esac
if [ "$tier" = short ]; then limit=${FAULTS_TIMEOUT:-1800}; else limit=${FAULTS_TIMEOUT:-7200}; fi
scripts=()
if [ $# -gt 0 ]; then
    for n in "$@"; do scripts+=("tests/faults/${n%.sh}.sh"); done
else
    for f in tests/faults/*.sh; do
        case ${f##*/} in lib-*|run-faults.sh) continue ;; esac
        scripts+=("$f")
    done
fi
mkdir -p tests/out
passed=0 failed=0 all_start=$SECONDS
for f in "${scripts[@]}"; do
    name=$(basename "$f" .sh)
    log=tests/out/faults-$name-$tier.log
    start=$SECONDS
    if [ ! -f "$f" ]; then
        echo "not ok - $name: no such fault script $f"; failed=$((failed + 1)); continue
    fi
    timeout --kill-after=30 "$limit" bash "$f" "$tier" >"$log" 2>&1
    rc=$?
    grep -E '^(ok |not ok |# )' "$log"
    p=$(grep -c '^ok ' "$log")
    n=$(grep -c '^not ok ' "$log")
    if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
            echo "not ok - $name: still running after ${limit}s (see $log)"
        else
            echo "not ok - $name: exited $rc (see $log)"
        fi
        n=1
    fi
    # a script stopped by its time limit had no chance to stop its pipeline: whatever
    # its run folders still record is stopped here, so nothing outlives the script
    for d in tests/out/run-faults-"$name" tests/out/run-faults-"$name"-*; do
        [ -f "$d/kh.ini" ] && [ -d "$d/pids" ] || continue
        ls "$d"/pids/*.pid >/dev/null 2>&1 || continue
        KH_CONFIG=$d/kh.ini KH_BIN=$d/bin KH_STOP_WAIT_S=10 scripts/run-local stop >/dev/null 2>&1 ||
            echo "# $name: could not stop what $d still ran"
    done
    passed=$((passed + p)) failed=$((failed + n))
    echo "# $name ($tier): $p passed, $n failed, $((SECONDS - start)) s; log $log"
done
echo "# all fault scripts ($tier): $((SECONDS - all_start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
