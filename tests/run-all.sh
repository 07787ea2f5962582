#!/usr/bin/env bash
# run-all.sh — runs every unit test binary (cmocka), every static check
# (tests/static: the style guide's rules) and every end-to-end script, counts their
# checks, and ends with the line "N passed, N failed".
#   tests/run-all.sh [--unit-only | --e2e-only] [NAME-FILTER [NAME-EXCLUDE]]
# NAME-FILTER: an extended regular expression matched against the test names
# (test_frames, …): "frames" or "frames|expiry".  NAME-EXCLUDE: the tests whose name
# matches it are left out of this run (make san SAN_EXCLUDE=…: CI's sanitizer pass).
set -u
cd "$(dirname "$0")/.."
unit_only=0 e2e_only=0
[ "${1:-}" = --unit-only ] && { unit_only=1; shift; }
[ "${1:-}" = --e2e-only ] && { e2e_only=1; shift; }
filter=${1:-}
exclude=${2:-}
# 0 when test NAME is to run here
selected() { { [ -z "$filter" ] || [[ $1 =~ $filter ]]; } && { [ -z "$exclude" ] || ! [[ $1 =~ $exclude ]]; }; }
passed=0 failed=0
out=tests/out
mkdir -p "$out"
build=${KH_BUILD:-build}          # make san: KH_BUILD=build-san

# Sanitizer build (make san): every sanitizer report that appears while a test runs is
# one more failure of that test — from the reports directory KH_SAN_REPORTS (make san
# points ASAN_OPTIONS/UBSAN_OPTIONS log_path there, so it catches every instrumented
# process: test binaries, services, nodes, tools), or else from the test's log and the
# services' logs (their stderr) in the run folders.  Reports are kept in $out/san/NAME/.
san=0; { [ -n "${KH_SAN_REPORTS:-}" ] || [ "$build" != build ]; } && san=1
san_pat='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:'
[ "$san" = 1 ] && rm -rf "$out/san"
san_begin() { [ "$san" = 1 ] && touch "$out/.san-mark"; return 0; }
san_end() {       # san_end NAME LOG — sets san_n to the number of reports and prints them
    san_n=0
    [ "$san" = 1 ] || return 0
    local f n logs=("$2")
    if [ -n "${KH_SAN_REPORTS:-}" ]; then
        for f in "$KH_SAN_REPORTS"/*; do
            [ -f "$f" ] || continue
            mkdir -p "$out/san/$1"; mv "$f" "$out/san/$1/"; logs+=("$out/san/$1/${f##*/}")
        done
    fi
    while IFS= read -r f; do logs+=("$f"); done \
        < <(find "$out" -path '*/logs/*.log' -newer "$out/.san-mark" 2>/dev/null)
    for f in "${logs[@]}"; do
        n=$(grep -cE "$san_pat" "$f" 2>/dev/null) || n=0
        [ "$n" -gt 0 ] || continue
        san_n=$((san_n + n))
        echo "  SANITIZER ($n) in $f:"; grep -m3 -A12 -E "$san_pat" "$f" | sed 's/^/    /'
    done
    return 0
}

for t in "$build"/tests/test_*; do
    [ "$e2e_only" = 1 ] && break
    [ -x "$t" ] || continue
    name=$(basename "$t")
    selected "$name" || continue
    log="$out/$name.log"
    san_begin
    "$t" >"$log" 2>&1
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    p=${p:-0} f=${f:-0}
    san_out=$(san_end "$name" "$log"; echo "n=$san_n")
    f=$((f + ${san_out##*n=}))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi     # crashed before its summary
    passed=$((passed + p)) failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        echo "FAIL $name ($p passed, $f failed)"; grep -E '^\[  (FAILED|ERROR) |error:|Failure' "$log" | head -20
        printf '%s\n' "${san_out%n=*}" | sed '/^$/d'
    else
        echo "ok   $name ($p passed)"
    fi
done

if [ "$unit_only" = 0 ]; then
    for t in tests/static/test_*.sh tests/e2e/test_*.sh; do
        name=$(basename "$t" .sh)
        selected "$name" || continue
        log="$out/$name.log"
        start=$SECONDS
        san_begin
        timeout 3600 bash "$t" >"$log" 2>&1     # a hang guard, far above any test's time
        rc=$?
        p=$(grep -c '^ok ' "$log")
        f=$(grep -c '^not ok ' "$log")
        san_out=$(san_end "$name" "$log"; echo "n=$san_n")
        f=$((f + ${san_out##*n=}))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $name exited $rc" >>"$log"; fi
        passed=$((passed + p)) failed=$((failed + f))
        if [ "$f" -ne 0 ]; then
            echo "FAIL $name ($p passed, $f failed, $((SECONDS - start))s); see $log"
            # each failed check with the '# ' lines the test printed after it (what it
            # saw): CI shows only this part of the output
            awk '/^not ok /{on=1; print; next} on && /^# /{print; next} {on=0}' "$log" |
                head -60
            tail -15 "$log"
            printf '%s\n' "${san_out%n=*}" | sed '/^$/d'
        else
            echo "ok   $name ($p passed, $((SECONDS - start))s)"
        fi
    done
fi
if [ "$san" = 1 ]; then       # a process that outlived its test reports late
    san_begin; san_out=$(san_end after-last-test /dev/null; echo "n=$san_n")
    n=${san_out##*n=}
    [ "$n" -gt 0 ] && { failed=$((failed + n)); echo "FAIL sanitizer reports after the last test"
                        printf '%s\n' "${san_out%n=*}" | sed '/^$/d'; }
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
