# lib.sh — helpers shared by the end-to-end tests and the demo (sourced, not run).
#
# A test gets its own run folder and its own ports, starts the real processes with
# scripts/run-local, and checks what they stored and printed.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$TOP/${KH_BUILD:-build}/bin      # KH_BUILD=build-san: the sanitizer build (make san)
export KH_BIN=$BIN

# The pipeline's clock in every test ([general] clock): a fixed day outside every
# reminder window (7 days before 20 June / 5 December) and far from midnight, so that
# no test depends on the day it runs (make test passes under faketime on any day).  A
# test that walks the calendar sets its own (test_notify).
# Exported as KH_CLOCK as well, so that the tools a test runs without the config
# (kh-inject) keep the same clock; set_clock changes both.
TEST_CLOCK=${KH_TEST_CLOCK:-2027-03-10T10:00:00}
export KH_CLOCK=$TEST_CLOCK
set_clock() { set_conf general clock "$1"; export KH_CLOCK=$1; }   # set_clock 2020-12-06T10:00:00

# mkrun DIR PORTBASE — a run folder with a config using ports PORTBASE..PORTBASE+6
# (7101-7103 nodes/feed/snapshot, 7104-7107 the four services' metrics endpoints)
mkrun() {
    local dir=$1 base=$2
    rm -rf "$dir"; mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    sed -e "s|^run_dir = .*|run_dir = $dir|" \
        -e "s|^clock = .*|clock = $TEST_CLOCK|" \
        -e "s|^data_dir = .*|data_dir = $TOP/data|" \
        -e "s|127.0.0.1:7101|127.0.0.1:$base|g" \
        -e "s|127.0.0.1:7102|127.0.0.1:$((base + 1))|g" \
        -e "s|127.0.0.1:7103|127.0.0.1:$((base + 2))|g" \
        -e "s|127.0.0.1:7104|127.0.0.1:$((base + 3))|g" \
        -e "s|127.0.0.1:7105|127.0.0.1:$((base + 4))|g" \
        -e "s|127.0.0.1:7106|127.0.0.1:$((base + 5))|g" \
        -e "s|127.0.0.1:7107|127.0.0.1:$((base + 6))|g" \
        "$TOP/deploy/kh.ini" >"$dir/kh.ini"
    export KH_CONFIG=$dir/kh.ini RUN=$dir
    "$TOP/scripts/run-local" keys >/dev/null     # as an admin would, once
}

# conf SECTION KEY — the value of one key of $KH_CONFIG (%RUN% resolved, comment dropped)
conf() { sed -n "/^\[$1\]/,/^\[/s/^$2 *= *\([^ ;]*\).*/\1/p" "$KH_CONFIG" | sed "s|%RUN%|$RUN|"; }

# set_conf SECTION KEY VALUE — change one key of $KH_CONFIG
set_conf() {
    python3 - "$KH_CONFIG" "$1" "$2" "$3" <<'PY'
import sys, re
path, sec, key, val = sys.argv[1:]
out, cur, done = [], None, False
for line in open(path, encoding="utf-8"):
    m = re.match(r"\[(.+)\]", line)
    if m:
        if cur == sec and not done:
            out.append(f"{key} = {val}\n"); done = True
        cur = m.group(1)
    elif cur == sec and re.match(rf"{re.escape(key)}\s*=", line):
        line = f"{key} = {val}\n"; done = True
    out.append(line)
if not done:
    out.append(f"[{sec}]\n{key} = {val}\n")
open(path, "w", encoding="utf-8").write("".join(out))
PY
}

pipeline() { "$TOP/scripts/run-local" "$@"; }

# node_stages DISTRICT — "report_id<TAB>revision<TAB>stage<TAB>feed_seq<TAB>file" lines
# from the node (kh-node status --json; reminders are not reports)
node_json() { "$BIN/kh-node" status --district "$1" --json; }
node_stages() {
    node_json "$1" | python3 -c 'import json, sys
for r in json.load(sys.stdin)["reports"]:
    print(r["id"], r["revision"], r["stage"], r["feed_seq"], r["file"], sep="\t")'
}
node_outbox() { node_json "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["outbox"])'; }
# node_reminders DISTRICT PERIOD — how many reminders for PERIOD the node has
node_reminders() {
    node_json "$1" | python3 -c 'import json, sys
print(sum(r["period"] == sys.argv[1] for r in json.load(sys.stdin)["reminders"]))' "$2"
}
# node_conn DISTRICT — the running node's connection state ("ok", "refused_key", …)
node_conn() { node_json "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["connection"]["state"])'; }

# wait_settled TIMEOUT_S DISTRICT... — until every report of these nodes has a final
# receipt (counted, rejected or superseded).  Prints progress.  Returns 1 on timeout.
wait_settled() {
    local timeout=$1; shift
    local start=$SECONDS total pending d id rev stage seq src
    while :; do
        total=0; pending=0
        for d in "$@"; do
            while IFS=$'\t' read -r id rev stage seq src; do
                total=$((total + 1))
                case $stage in counted|rejected|superseded) ;; *) pending=$((pending + 1)) ;; esac
            done < <(node_stages "$d")
        done
        [ "${QUIET:-0}" = 1 ] || printf '\r  %d/%d reports settled' $((total - pending)) "$total" >&2
        if [ "$pending" -eq 0 ]; then [ "${QUIET:-0}" = 1 ] || echo >&2; return 0; fi
        if [ $((SECONDS - start)) -ge "$timeout" ]; then
            echo >&2; echo "wait_settled: $pending of $total reports not settled after ${timeout}s" >&2
            return 1
        fi
        sleep 0.3
    done
}

# sql DB QUERY — one sqlite3 query (read-only use)
sql() { sqlite3 -batch -noheader "$1" "$2"; }

DISTRICTS=(829 831 832 833 834 835 836 837 838)
PERIODS=(2017S1 2017S2 2018S1 2018S2 2019S1 2019S2 2020S1 2020S2)

# due date helper for the demo: a submit date before (or after) the due date
submit_date() {   # PERIOD LATE(0/1)
    local y=${1:0:4} h=${1:5:1}
    if [ "$h" = 1 ]; then [ "$2" = 1 ] && echo "$y-07-02" || echo "$y-06-15"
    else [ "$2" = 1 ] && echo "$y-12-19" || echo "$y-12-01"; fi
}

# submit_all INPUT [DISTRICT...] — the 72 demo reports (or those of these districts),
# district by district, with plausible dates (two of them late).  Prints progress.
# SUBMIT_AGAIN=1: --force, the same values again are a new revision (kh-node otherwise
# queues nothing for a file identical to the revision last queued).
submit_all() {
    local input=$1 n=0 late d p; shift
    local ds=("$@"); [ ${#ds[@]} -gt 0 ] || ds=("${DISTRICTS[@]}")
    for d in "${ds[@]}"; do
        for p in "${PERIODS[@]}"; do
            late=0
            [ "$d-$p" = 836-2019S2 ] && late=1
            [ "$d-$p" = 837-2018S1 ] && late=1
            "$BIN/kh-node" submit --district "$d" ${SUBMIT_AGAIN:+--force} \
                --submitted-at "$(submit_date "$p" "$late")" \
                "$input/$d/$d-$p.csv" >/dev/null || return 1
            n=$((n + 1))
            [ "${QUIET:-0}" = 1 ] || printf '\r  %d/%d reports queued' "$n" $((8 * ${#ds[@]})) >&2
        done
    done
    [ "${QUIET:-0}" = 1 ] || echo >&2
}

# not_a_number SRC DST — DST is report SRC with the value of its line 5 written in words
# ("mười"): what an officer's slip looks like; the province refuses it (not a number)
not_a_number() {
    python3 - "$1" "$2" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
f = lines[4].split(","); f[-1] = "mười"; lines[4] = ",".join(f)
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(lines) + "\n")
PY
}

# chromedriver_start PORT — Debian's chromedriver on PORT, logging to
# $RUN/chromedriver.log, in a process group of its own (the browser it starts goes with
# it: kill -- -$cd_pid); sets cd_pid
chromedriver_start() {
    setsid /usr/bin/chromedriver --port="$1" --log-path="$RUN/chromedriver.log" \
        >/dev/null 2>&1 &
    cd_pid=$!
}

# ---- checks: each prints "ok - …" or "not ok - …" (counted by tests/run-all.sh) ----
check() {        # check DESCRIPTION COMMAND...
    local d=$1; shift
    if "$@"; then echo "ok - $d"; else echo "not ok - $d"; fi
}
check_eq() {     # check_eq DESCRIPTION EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "not ok - $1: expected '$2', got '$3'"; fi
}
# start_test NAME — a fresh run folder on a port range of its own; stops it on exit
start_test() {
    local base=$((20000 + ($$ % 400) * 10))
    mkrun "$TOP/tests/out/run-$1" "$base"
    trap 'pipeline stop >/dev/null 2>&1 || true' EXIT
}
# all_alive — every process started by run-local is still running
all_alive() {
    local f ok=0
    for f in "$RUN"/pids/*.pid; do
        pid_running "$(cat "$f")" || { echo "dead: $(basename "$f" .pid)" >&2; ok=1; }
    done
    return $ok
}

# ---- waiting for a state ---------------------------------------------------------------------
# wait_for TIMEOUT_S COMMAND... — until COMMAND succeeds (polled every 0.1 s for the
# first 2 s, then every 0.25 s); 1 if it still fails after TIMEOUT_S seconds.  The
# timeout is a generous bound for a state that must come (its failure means the state
# never came), never a measure of speed: a test asserts states and counts, not times.
wait_for() {
    local t=$1 start=$SECONDS i=0; shift
    until "$@"; do
        [ $((SECONDS - start)) -ge "$t" ] && return 1
        if [ $i -lt 20 ]; then sleep 0.1; else sleep 0.25; fi
        i=$((i + 1))
    done
}

# ---- processes: the rules of scripts/run-local (see its header) ------------------------------
# pid_start PID — the start time of process PID (clock ticks since boot; fails if none):
# with it, a pid that the kernel gave to another process is not mistaken for the first
pid_start() {
    local s f
    [ -n "${1:-}" ] || return 1
    { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
    read -r -a f <<<"${s##*') '}"
    echo "${f[19]}"
}
# pid_running PID [START] — PID is a live process (a zombie, killed but not reaped yet, is
# dead) and, given START, the one that started then
pid_running() {
    local s f
    [ -n "${1:-}" ] || return 1
    { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
    read -r -a f <<<"${s##*') '}"
    case ${f[0]} in Z|X|x) return 1 ;; esac
    [ -z "${2:-}" ] || [ "${f[19]}" = "$2" ]
}
pid_gone() { ! pid_running "$@"; }         # pid_gone PID [START]
# wait_gone TIMEOUT_S PID [START] — until the process is gone, however long that takes
# (a killed process may take long to die on a loaded machine), up to TIMEOUT_S
wait_gone() {
    local t=$1 start=$SECONDS i=0; shift
    while pid_running "$@"; do
        [ $((SECONDS - start)) -ge "$t" ] && return 1
        if [ $i -lt 100 ]; then sleep 0.01; else sleep 0.1; fi
        i=$((i + 1))
    done
}
KILL_WAIT_S=${KH_KILL_WAIT_S:-300}           # run-local's bound for a killed process to go
# log_size NAME — the size of NAME's log now (an offset for ready_since)
log_size() { stat -c %s "$RUN/logs/$1.log" 2>/dev/null || echo 0; }
# ready_since NAME PID [OFFSET] — NAME's log, from byte OFFSET on (default 0), has the
# service.ready line of PID itself (every log line carries "pid":N): a restart counts
# only when the new pid logged its own ready line
ready_since() {
    grep -qF "\"pid\":$2,\"event\":\"service.ready\"" \
        <(tail -c +$((${3:-0} + 1)) "$RUN/logs/$1.log" 2>/dev/null)
}
