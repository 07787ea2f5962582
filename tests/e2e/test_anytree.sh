#!/usr/bin/env bash
# Any hierarchy, any programme (issue 12): the real pipeline with catalogues it has never
# seen (scripts/gen-tree.py) — four levels whose level-3 units report for their wards, with
# a merger, a move and a new ward between the two half-years; and 300 communes reporting
# for themselves — counts every report scripts/gen-demo-data.py makes for them, flags
# none (every rule holds, the previous-period ones included), and rolls the values up to
# every unit of every level exactly as the independent oracle tests/e2e/expected_tree.py
# computes them from the files.  A unit that does not report gets no key.  The 300
# communes' programme is reported once a year (programmes.csv report_period year): their
# reports are for 2025 and 2026, and a half-year report is refused saying so.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
BATCH=25                   # nodes running at once (the door admits 32 new connections per address)

quiet() { "$@" >/dev/null; }

# node pids started by this test, stopped by pid when their batch has settled
stop_nodes() {             # stop_nodes UNIT...
    local d p st i pids=() starts=()
    for d in "$@"; do
        p=$(cat "$RUN/pids/node-$d.pid" 2>/dev/null) || continue
        st=$(pid_start "$p") || { rm -f "$RUN/pids/node-$d.pid"; continue; }
        kill -TERM "$p" 2>/dev/null
        pids+=("$p") starts+=("$st")
    done
    for i in "${!pids[@]}"; do wait_gone 60 "${pids[$i]}" "${starts[$i]}" || return 1; done
    for d in "$@"; do rm -f "$RUN/pids/node-$d.pid"; done
}

# compare_levels DESCRIPTION LEVELS ACTUAL [OPTION] — expected_tree.py --compare passes and
# has compared cells of each of LEVELS ("1 2 3")
compare_levels() {
    local out=$RUN/compare-$(basename "$3" .csv).txt rc=0 got
    python3 "$TOP/tests/e2e/expected_tree.py" --data "$RUN/data" ${4:-} --compare "$3" \
        "$RUN/input" >"$out" 2>&1 || rc=$?
    got=$(grep -o 'level [0-9]*: [1-9]' "$out" | sed 's/level \([0-9]*\).*/\1/' | paste -sd' ')
    check_eq "$1 at levels $2 ($(tail -1 "$out"))" "0 $2" "$rc $got"
    [ "$rc" = 0 ] || head -20 "$out"
}

# any_tree SHAPE ROOT NON_REPORTING LEVELS LEVELS_UP PERIODS — one whole run for a
# generated catalogue: LEVELS its levels, LEVELS_UP those of the reporting units and
# above, PERIODS its report periods (the last one summarised)
any_tree() {
    local shape=$1 root=$2 other=$3 levels=$4 levels_up=$5 HALVES=$6 d rc n_files i
    local last=${HALVES##*,}
    echo "# $shape"
    start_test "anytree-$shape"
    python3 "$TOP/scripts/gen-tree.py" "$RUN/data" --shape "$shape" --seed 3 2>/dev/null
    python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" --data "$RUN/data" --periods "$HALVES" \
        --seed 3 2>/dev/null
    set_conf general data_dir "$RUN/data"
    set_conf security province "$root"
    local units=() files=()
    for d in "$RUN"/input/*/; do units+=("$(basename "$d")"); done
    for d in "${units[@]}"; do files+=("$RUN/input/$d"/*.csv); done
    n_files=${#files[@]}
    check "$shape: the generated catalogue loads (a template for ${units[0]})" \
        quiet "$BIN/kh-node" template --district "${units[0]}" --period "$last" \
        --output "$RUN/template.csv"

    # a key per reporting unit, as an admin makes them; none for a unit that does not report
    local made=0
    for d in "${units[@]}"; do
        "$BIN/kh-admin" keys generate --role district --unit "$d" --id "$d-1" >/dev/null &&
        "$BIN/kh-admin" keys register "$RUN/keys/$d-1.pub" >/dev/null &&
        cp -p "$RUN/keys/$d-1.key" "$RUN/keys/node-$d.key" && made=$((made + 1))
    done
    check_eq "$shape: a key for each of the ${#units[@]} reporting units" "${#units[@]}" "$made"
    rc=0; "$BIN/kh-admin" keys generate --role district --unit "$other" --id "$other-1" \
        >/dev/null 2>&1 || rc=$?
    check_eq "$shape: no key for $other, which does not report (exit code 3)" 3 "$rc"
    check "$shape: ... and no key file written" test ! -e "$RUN/keys/$other-1.key"

    # the reports, queued with each unit's node, then sent by the nodes, a batch at a time
    for d in "${units[@]}"; do
        "$BIN/kh-node" submit --district "$d" "$RUN/input/$d"/*.csv >/dev/null || {
            echo "not ok - $shape: kh-node submit refused a report of $d"; return; }
    done
    local settled=0
    for ((i = 0; i < ${#units[@]}; i += BATCH)); do
        local batch=("${units[@]:i:BATCH}")
        pipeline start "${batch[@]}" >/dev/null || { echo "not ok - $shape: pipeline start"; return; }
        wait_settled 120 "${batch[@]}" && settled=$((settled + ${#batch[@]}))
        stop_nodes "${batch[@]}"
    done
    check_eq "$shape: every node's reports settled" "${#units[@]}" "$settled"

    local agg=$RUN/aggregator.db
    check_eq "$shape: all $n_files reports counted, once each" "$n_files" \
        "$(sql "$agg" 'SELECT count(*) FROM counted')"
    check_eq "$shape: none rejected" 0 "$(sql "$agg" 'SELECT count(*) FROM rejected')"
    check_eq "$shape: no warning on any (every rule holds, within N% of previous included)" 0 \
        "$(sql "$agg" 'SELECT count(*) FROM counted WHERE warnings > 0')"
    check_eq "$shape: the reporting units of each period ($HALVES)" \
        "$(for p in ${HALVES//,/ }; do ls "$RUN"/input/*/*-"$p".csv | wc -l; done | paste -sd' ')" \
        "$(for p in ${HALVES//,/ }; do sql "$agg" "SELECT count(*) FROM counted WHERE period='$p'"; done | paste -sd' ')"

    # the totals against the oracle's: the aggregator's table (the reporting units and every
    # level above them), the feed mirror (every unit of every level: the cells below a
    # reporting unit travel in the feed)
    sqlite3 -batch -csv -header "$agg" 'SELECT period, orgunit, indicator, sum, n FROM total' \
        >"$RUN/total.csv"
    compare_levels "$shape: the aggregator's totals equal the oracle's" "$levels_up" \
        "$RUN/total.csv" --above-reporters
    rc=0; "$BIN/kh-feed" sync >/dev/null 2>"$RUN/feed-sync.err" || rc=$?
    check_eq "$shape: kh-feed sync" 0 "$rc"
    sqlite3 -batch -csv -header "$RUN/feed-mirror.db" \
        'SELECT period, orgunit, indicator, sum, n FROM cell' >"$RUN/mirror.csv"
    compare_levels "$shape: the feed mirror's cells equal the oracle's" "$levels" "$RUN/mirror.csv"
    # what a person reads: the exports of every level against the oracle, the summary
    # named by the tree's own levels
    python3 "$TOP/tests/e2e/expected_tree.py" --data "$RUN/data" "$RUN/input" >"$RUN/oracle.csv"
    for p in ${HALVES//,/ }; do
        for lv in $levels; do "$BIN/kh-feed" export --period "$p" --level "$lv" --no-sync; done
    done >"$RUN/exports.csv"
    rc=0; python3 "$TOP/tests/e2e/check_exports.py" --data "$RUN/data" "$RUN/oracle.csv" \
        "$RUN/exports.csv" >"$RUN/exports-check.txt" 2>&1 || rc=$?
    check_eq "$shape: kh-feed's exports at levels $levels equal the oracle ($(tail -1 "$RUN/exports-check.txt"))" 0 "$rc"
    [ "$rc" = 0 ] || head -5 "$RUN/exports-check.txt"
    "$BIN/kh-feed" summary --period "$last" --no-sync >"$RUN/summary.txt"
    local rep_level
    rep_level=$(awk -F, 'NR==2{print $1}' "$RUN/data/reporters.csv")
    local upper
    upper=$(python3 -c 'import csv,sys; print(next(r["name_vi"] for r in csv.DictReader(open(sys.argv[1])) if r["level"]==sys.argv[2]).upper())' \
        "$RUN/data/levels.csv" "$rep_level")
    check "$shape: the summary's columns are named by the reporting level (CHỈ TIÊU THEO $upper)" \
        grep -q "CHỈ TIÊU THEO $upper" "$RUN/summary.txt"
    check "$shape: … and no word of the seed's tree in it (huyện, Bến Tre)" \
        bash -c "! grep -qi -e 'huyện' -e 'Bến Tre' '$RUN/summary.txt'"
    "$BIN/kh-admin" verify --totals >"$RUN/verify.txt" 2>&1
    rc=$?
    check_eq "$shape: kh-admin verify --totals passes ($(tail -1 "$RUN/verify.txt"))" 0 "$rc"
    check "$shape: no process died" all_alive
}

any_tree four-level Z9 Z9V1Q1P01 "1 2 3 4" "1 2 3" 2025S2,2026S1
pipeline stop >/dev/null 2>&1
any_tree flat-300 F7 F7 "1 2" "1 2" 2025,2026
# reported once a year: what a half-year gets
rc=0; "$BIN/kh-node" template --district F7X001 --period 2026S1 --output "$RUN/t.csv" \
    >/dev/null 2>"$RUN/tpl-half.err" || rc=$?
check_eq "flat-300: no template for the half-year 2026S1 (exit code 2)" 2 "$rc"
check "… the node says the programme reports once a year, and the period to use (2026)" \
    grep -q "báo cáo mỗi năm một lần, kỳ báo cáo là năm, ví dụ 2026" "$RUN/tpl-half.err"
rc=0; "$BIN/kh-feed" summary --period 2026S1 --no-sync >/dev/null 2>"$RUN/sum-half.err" || rc=$?
check "flat-300: kh-feed summary of 2026S1 fails, saying to choose the year" bash -c \
    "[ $rc != 0 ] && grep -q 'choose the year (e.g. 2026)' '$RUN/sum-half.err'"
check "flat-300: the summary of 2026 is of the year (năm 2026)" \
    grep -q "năm 2026 (2026)" "$RUN/summary.txt"
