#!/usr/bin/env bash
# crash.sh short|long — kill -9 of every service (and of the nodes) at random moments
# while the nine districts keep submitting, then restart; the pass criterion is
# verify_exactly_once (lib-faults.sh).
#
# One continuous stream per run folder, many cycles against it, one verification at
# the end.  A cycle is one of four kinds, in turn:
#   random    after 0.1-1 s, kill -9; restart after 0-300 ms
#   commit    a burst (8 reports from each district at once) fills the group-commit
#             batches; kill -9 right after the victim's own progress counter moves
#             (its last batch just committed, the next one is being applied); restart
#   recovery  kill, restart, and kill again within 100 ms of the restart: on odd
#             cycles after its new service.ready line (while it resends its outbox),
#             on even ones while it is still starting (before service.ready); restart
#   pair      the victim and another process killed by one kill(2) call; both restarted
# Targets: collector, validator, aggregator, notifier, and node (a random district's
# kh-node run each cycle).
#   short: one stream, 5 cycles per target, interleaved (one cycle of each kind at least)
#   long:  one stream per target, 100 cycles each (CRASH_CYCLES overrides)
# resend_ms is 300, so what was in doubt is resent quickly.
# Process control follows scripts/run-local's rules: after kill -9 a cycle goes on only
# once the process is gone (however long it takes to die), and a restart counts only
# when a new pid logged its own service.ready line; no check depends on how fast.
source "$(dirname "$0")/lib-faults.sh"
faults_tier "${1:-}"
set -u
SEED=${FAULTS_SEED:-$$}
RANDOM=$SEED
note "crash: seed $SEED (FAULTS_SEED=$SEED replays the same choices)"
TARGETS=(collector validator aggregator notifier node)
KINDS=(random commit recovery pair)
if [ "$TIER" = short ]; then CYCLES=${CRASH_CYCLES:-5}; else CYCLES=${CRASH_CYCLES:-100}; fi
declare -A KILLS=() CYC=()
RESTART_FAILS=0 KILL_FAILS=0

rnd_ms() { echo $((RANDOM % ($2 - $1 + 1) + $1)); }             # rnd_ms MIN MAX
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }
base_of() { case $1 in node-*) echo node ;; *) echo "$1" ;; esac; }
pick() {          # pick TARGET — a process name (a random district for "node")
    if [ "$1" = node ]; then echo "node-${DISTRICTS[$((RANDOM % 9))]}"; else echo "$1"; fi
}
pid_now() { cat "$RUN/pids/$1.pid" 2>/dev/null; }

# progress NAME — a counter that moves each time NAME commits a batch
progress() {
    case $1 in
        collector) sql "$RUN/collector.db" 'SELECT count(*) FROM report' ;;
        validator) sql "$RUN/validator.db" "SELECT ifnull(max(seq),0) FROM sqlite_sequence WHERE name='outbox_aggregator'" ;;
        aggregator) sql "$RUN/aggregator.db" 'SELECT count(*) FROM accepted' ;;
        notifier) sql "$RUN/notifier.db" 'SELECT count(*) FROM event' ;;
        node-*) sql "$RUN/$1/outbox.db" 'SELECT count(*) FROM report WHERE received_at IS NOT NULL' ;;
    esac 2>/dev/null || echo 0
}

# kill9 NAME... — kill -9 all of them with one kill(2) call, then wait until each is
# gone (run-local's rule: absent from /proc, a zombie, or its pid now another process's),
# however long that takes, up to KILL_WAIT_S (lib.sh); one still there after that is a
# failure (KILL_FAILS, restart-errors)
kill9() {
    local n i names=("$@") pids=() starts=()
    for n in "$@"; do
        pids+=("$(pid_now "$n")"); starts+=("$(pid_start "${pids[-1]}")")
        KILLS[$(base_of "$n")]=$((${KILLS[$(base_of "$n")]:-0} + 1))
    done
    kill -KILL "${pids[@]}" 2>/dev/null
    for i in "${!pids[@]}"; do
        wait_gone "$KILL_WAIT_S" "${pids[$i]}" "${starts[$i]}" && continue
        KILL_FAILS=$((KILL_FAILS + 1))
        echo "${names[$i]}: pid ${pids[$i]} still alive ${KILL_WAIT_S} s after kill -9" >>"$RUN/restart-errors"
    done
}

# restart NAME — run-local restart: it stops a recorded process that is still alive
# (waits for a dying one), starts a new one and returns once the new pid logged its own
# service.ready line (run-local's contract).  Counted as come back only when, besides,
# the pid file names a new pid whose own ready line is in the log after the restart
# began.  A failure is counted (RESTART_FAILS) and the process started once more, so the
# stream goes on.
restart() {
    local name=$1 old new off
    old=$(pid_now "$name") off=$(log_size "$name")
    if pipeline restart "$name" >/dev/null 2>>"$RUN/restart-errors"; then
        new=$(pid_now "$name")
        [ "$new" != "$old" ] && ready_since "$name" "$new" "$off" && return 0
        echo "$name: run-local restart returned 0, but no new pid logged ready ($old → $new)" >>"$RUN/restart-errors"
    fi
    RESTART_FAILS=$((RESTART_FAILS + 1))
    echo "$name did not come back after a restart; see $RUN/logs/$name.log" >>"$RUN/restart-errors"
    pipeline restart "$name" >/dev/null 2>>"$RUN/restart-errors"
}

# until_moved LIMIT_S COMMAND... — poll COMMAND without pause until it succeeds or
# LIMIT_S seconds pass (for moments that last milliseconds; not a check)
until_moved() {
    local t=$1 start=$SECONDS; shift
    until "$@"; do [ $((SECONDS - start)) -ge "$t" ] && return 1; done
}
progress_moved() { [ "$(progress "$1")" -gt "$2" ]; }
new_pid_running() { local p; p=$(pid_now "$1"); [ -n "$p" ] && [ "$p" != "$2" ] && pid_running "$p"; }

cycle() {         # cycle TARGET KIND N
    local t=$1 kind=$2 n=$3 v u p0 i old
    v=$(pick "$t")
    CYC[$t]=$((${CYC[$t]:-0} + 1))
    case $kind in
    random)
        sleep_ms "$(rnd_ms 100 1000)"; kill9 "$v"; sleep_ms "$(rnd_ms 0 300)"; restart "$v" ;;
    commit)
        p0=$(progress "$v")
        burst 8
        until_moved 60 progress_moved "$v" "$p0"
        kill9 "$v"; sleep_ms "$(rnd_ms 0 200)"; restart "$v" ;;
    recovery)
        kill9 "$v"
        if ((n % 2)); then
            restart "$v"; sleep_ms "$(rnd_ms 0 100)"; kill9 "$v"
        else
            old=$(pid_now "$v")
            (pipeline restart "$v" >/dev/null 2>&1) &
            local bg=$!
            until_moved 120 new_pid_running "$v" "$old"
            sleep_ms "$(rnd_ms 0 50)"
            kill9 "$v"
            wait "$bg"
        fi
        sleep_ms "$(rnd_ms 0 100)"; restart "$v" ;;
    pair)
        u=$(pick "${TARGETS[$((RANDOM % 5))]}")
        while [ "$u" = "$v" ]; do u=$(pick "${TARGETS[$((RANDOM % 5))]}"); done
        kill9 "$v" "$u"; sleep_ms "$(rnd_ms 0 300)"; restart "$v"; restart "$u" ;;
    esac
}

# stream LABEL TARGET... — a fresh pipeline, the feeders on (one report every 500 ms
# from each district), CYCLES cycles per target, then settle and verify once.
stream() {
    local label=$1; shift
    local start=$SECONDS c t k=0
    KILLS=() CYC=() RESTART_FAILS=0 KILL_FAILS=0
    faults_start "$label" 300 || exit 1
    feeders_start 500
    for ((c = 1; c <= CYCLES; c++)); do
        for t in "$@"; do
            cycle "$t" "${KINDS[$(( (c - 1) % 4 ))]}" "$c"
            k=$((k + 1))
            ((k % 20 == 0)) && [ "$TIER" = long ] && echo "  $label: $k cycles, $(submitted_count) reports submitted" >&2
        done
    done
    feeders_stop
    wait    # the bursts' submits
    check "$label: everything settles after the last crash" wait_settled 300 "${DISTRICTS[@]}"
    check_eq "$label: every process killed was gone within ${KILL_WAIT_S} s (see restart-errors)" 0 "$KILL_FAILS"
    check_eq "$label: every restart came back: a new pid logged its own ready line (see restart-errors)" 0 "$RESTART_FAILS"
    verify_exactly_once "$label"
    local summary=""
    for t in "${TARGETS[@]}"; do summary+=" $t ${CYC[$t]:-0}/${KILLS[$t]:-0}"; done
    note "$label: cycles/kill -9 per target:$summary; $(grep -hc '"level":"error"' "$RUN"/logs/*.log | paste -sd+ | bc) error log lines; $((SECONDS - start)) s"
    for t in "$@"; do
        check "$label: at least $CYCLES kill -9 cycles of $t" test "${CYC[$t]:-0}" -ge "$CYCLES"
    done
    faults_cleanup
}

if [ "$TIER" = short ]; then
    stream crash "${TARGETS[@]}"
else
    for t in "${TARGETS[@]}"; do stream "crash-$t" "$t"; done
fi
