#!/usr/bin/env bash
# run-all.sh — runs every unit test binary (cmocka) and every end-to-end script,
# counts their checks, and ends with the line "N passed, N failed".
#   tests/run-all.sh [--unit-only] [NAME-FILTER]
set -u
cd "$(dirname "$0")/.."
unit_only=0
[ "${1:-}" = --unit-only ] && { unit_only=1; shift; }
filter=${1:-}
passed=0 failed=0
out=tests/out
mkdir -p "$out"

for t in build/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    [ -n "$filter" ] && [[ $name != *$filter* ]] && continue
    log="$out/$name.log"
    "$t" >"$log" 2>&1
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    p=${p:-0} f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi     # crashed before its summary
    passed=$((passed + p)) failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        echo "FAIL $name ($p passed, $f failed)"; grep -E '^\[  (FAILED|ERROR) |error:|Failure' "$log" | head -20
    else
        echo "ok   $name ($p passed)"
    fi
done

if [ "$unit_only" = 0 ]; then
    for t in tests/e2e/test_*.sh; do
        name=$(basename "$t" .sh)
        [ -n "$filter" ] && [[ $name != *$filter* ]] && continue
        log="$out/$name.log"
        start=$SECONDS
        timeout 900 bash "$t" >"$log" 2>&1
        rc=$?
        p=$(grep -c '^ok ' "$log")
        f=$(grep -c '^not ok ' "$log")
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $name exited $rc" >>"$log"; fi
        passed=$((passed + p)) failed=$((failed + f))
        if [ "$f" -ne 0 ]; then
            echo "FAIL $name ($p passed, $f failed, $((SECONDS - start))s); see $log"
            grep -E '^not ok ' "$log" | head -20; tail -15 "$log"
        else
            echo "ok   $name ($p passed, $((SECONDS - start))s)"
        fi
    done
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
