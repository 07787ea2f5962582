#!/usr/bin/env bash
# scripts/run-local's process control (the contract is in its header): a killed process
# counts as gone only when it is gone, and a (re)start counts only when the NEW pid
# logged its own service.ready line.
#
#  1. restart after kill waits for the new collector's ready line, not one an earlier run
#     left in its (appended) log: the collector starts slowly (a wrapper sleeps 1 s
#     before exec), so a restart that took an old line would return before it is ready.
#  2. kill returns only once the process is gone.  A process that takes long to die is
#     made with the cgroup v1 freezer (root): a frozen process sent SIGKILL stays alive
#     (state D, SIGKILL pending) until it is thawed, here 3 s later.
#  3. restart of a dying process (frozen, then SIGKILL from outside run-local) waits
#     until it is gone, then starts a new validator, which processes a report.
#  4. start with a dying validator does the same.
#  5. restart when the recorded pid is another live process (a stand-in that ignores
#     SIGTERM and lives 3 s: the "dying process" of a machine without the freezer)
#     returns only after that process is gone and a new validator logged ready; the
#     new validator processes a report.
#  6. restart of a healthy service stops it and starts a new one.
#  7. stop waits for a process that ignores SIGTERM, kills it, and returns once it is gone.
# Without root or the freezer, 2-4 run in a weaker form (the killed process dies at
# once: kill must still return only after it is gone), and a note says so.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test runlocal
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
slow=$RUN/slow-bin
mkdir -p "$slow"
for b in "$BIN"/kh-*; do ln -s "$b" "$slow/"; done
rm "$slow/kh-collector"
printf '#!/bin/sh\nsleep 1\nexec "%s" "$@"\n' "$BIN/kh-collector" >"$slow/kh-collector"
chmod +x "$slow/kh-collector"
export KH_BIN=$slow

pidf() { cat "$RUN/pids/$1.pid"; }
ready() { grep -c '"event":"service.ready"' "$RUN/logs/collector.log"; }
# sigkill_pending PID — the process has SIGKILL pending (it is dying)
sigkill_pending() {
    local k v
    while read -r k v; do
        case $k in SigPnd:|ShdPnd:) (( 0x$v & 0x100 )) && return 0 ;; esac
    done 2>/dev/null <"/proc/$1/status"
    return 1
}
# counted ID — the aggregator counted report ID (and district 829's node was told)
counted() { [ "$(sql "$RUN/aggregator.db" "SELECT count(*) FROM counted WHERE report_id='$1'")" = 1 ]; }
# accepted_by PID ID — the validator with that pid logged that it accepted report ID
accepted_by() { grep -F "\"pid\":$1,\"event\":\"report.accepted\"" "$RUN/logs/validator.log" | grep -qF "\"report_id\":\"$2\""; }
submit() { "$BIN/kh-node" submit --district 829 "$RUN/input/829/829-$1.csv" >/dev/null; }

# the cgroup v1 freezer, for a process that takes long to die
FZ=/sys/fs/cgroup/freezer
CG=$FZ/kh-runlocal-$$
freezer=0
if [ "$(id -u)" = 0 ] && [ -w "$FZ/cgroup.procs" ] && mkdir "$CG" 2>/dev/null; then freezer=1; fi
freeze() { echo "$1" >"$CG/cgroup.procs" && echo FROZEN >"$CG/freezer.state"; }
thaw() { [ "$freezer" = 1 ] && echo THAWED >"$CG/freezer.state"; return 0; }
frozen() { [ "$(cat "$CG/freezer.state")" = FROZEN ]; }
trap 'thaw; pipeline stop >/dev/null 2>&1 || true; [ "$freezer" = 1 ] && rmdir "$CG" 2>/dev/null' EXIT
[ "$freezer" = 1 ] ||
    note_nf="# no cgroup v1 freezer here (needs root): 2-4 run with a process that dies at once"
[ -z "${note_nf:-}" ] || echo "$note_nf"

pipeline start 829 >/dev/null || { echo "not ok - the pipeline starts"; exit 1; }
check_eq "first start: one ready line" 1 "$(ready)"

# ---- 1. restart after kill: the new collector's own ready line --------------------------
for n in 2 3; do
    old=$(pidf collector)
    pipeline kill collector
    pipeline restart collector >/dev/null
    new=$(pidf collector)
    check_eq "restart $((n - 1)) returns once the new collector is ready (ready line $n)" \
        "$n" "$(ready)"
    check "restart $((n - 1)): a new pid ($old → $new), whose own ready line is logged" \
        eval '[ "$new" != "$old" ] && ready_since collector "$new"'
done
check "the restarted collector runs" all_alive

# ---- 2. kill returns only once the process is gone ------------------------------------------
old=$(pidf validator)
if [ "$freezer" = 1 ]; then
    freeze "$old"
    check "kill: the validator is frozen" wait_for 60 frozen
fi
(pipeline kill validator; rc=$?; pid_gone "$old" && g=gone || g=alive; echo "rc=$rc $g" >"$RUN/kill.out") &
bg=$!
if [ "$freezer" = 1 ]; then
    check "kill: SIGKILL is pending at the frozen validator" wait_for 60 sigkill_pending "$old"
    sleep 3      # on purpose: a kill that did not wait would have returned by now
    check "kill has not returned while the killed validator lives (state D, SIGKILL pending)" \
        eval '[ ! -s "$RUN/kill.out" ] && pid_running "$old"'
    thaw
fi
wait "$bg"
check_eq "kill returns 0 once the validator is gone" "rc=0 gone" "$(cat "$RUN/kill.out")"

# ---- 3. restart of a dying validator ---------------------------------------------------------
pipeline restart validator >/dev/null || echo "not ok - the validator restarts after 2"
old=$(pidf validator) off=$(log_size validator)
if [ "$freezer" = 1 ]; then freeze "$old"; wait_for 60 frozen; fi
kill -KILL "$old"                     # from outside run-local: the pid file still names it
rm -f "$RUN/restart.out"
(pipeline restart validator >/dev/null; echo "rc=$?" >"$RUN/restart.out") &
bg=$!
if [ "$freezer" = 1 ]; then
    check "restart: the recorded validator is dying (SIGKILL pending, frozen)" \
        wait_for 60 sigkill_pending "$old"
    sleep 3      # on purpose: a restart that took the dying one for alive would be back by now
    check "restart has not returned while the recorded validator is dying" test ! -s "$RUN/restart.out"
    check_eq "…and has started no other validator meanwhile" "$old" "$(pidf validator)"
    thaw
fi
wait "$bg"
new=$(pidf validator)
check_eq "restart of a dying validator returns 0" rc=0 "$(cat "$RUN/restart.out")"
check "…with a new pid ($old → $new), which logged its own ready line" \
    eval '[ "$new" != "$old" ] && ready_since validator "$new" "$off"'
check "…the old one is gone, the new one runs" eval 'pid_gone "$old" && pid_running "$new"'
submit 2019S1
check "the new validator processes a report: counted" wait_for 120 counted 829-2019S1
check "…accepted by the new pid" accepted_by "$new" 829-2019S1

# ---- 4. start with a dying validator ----------------------------------------------------------
old=$(pidf validator) off=$(log_size validator)
if [ "$freezer" = 1 ]; then freeze "$old"; wait_for 60 frozen; fi
kill -KILL "$old"
rm -f "$RUN/start.out"
(pipeline start 829 >/dev/null; echo "rc=$?" >"$RUN/start.out") &
bg=$!
if [ "$freezer" = 1 ]; then
    wait_for 60 sigkill_pending "$old"
    sleep 3      # on purpose, as in 3
    check "start has not returned while the recorded validator is dying" test ! -s "$RUN/start.out"
    thaw
fi
wait "$bg"
new=$(pidf validator)
check_eq "start with a dying validator returns 0" rc=0 "$(cat "$RUN/start.out")"
check "…having started a new one ($old → $new), which logged its own ready line" \
    eval '[ "$new" != "$old" ] && ready_since validator "$new" "$off" && pid_running "$new"'
check "every process runs" all_alive

# ---- 5. restart while the recorded pid is another live process ------------------------------
old=$(pidf validator) off=$(log_size validator)
pipeline kill validator
# a stand-in that ignores SIGTERM (ignored signals stay ignored across exec) for 3 s
bash -c 'trap "" TERM; exec sleep 3' &
stand=$!
echo "$stand" >"$RUN/pids/validator.pid"
pipeline restart validator >/dev/null
rc=$?
pid_gone "$stand" && g=gone || g=alive
new=$(pidf validator)
check_eq "restart over a live recorded process returns 0 once that process is gone" "0 gone" "$rc $g"
check "…with a new validator ($stand → $new) that logged its own ready line" \
    eval '[ "$new" != "$stand" ] && [ "$new" != "$old" ] && ready_since validator "$new" "$off"'
check "…which runs" pid_running "$new"
submit 2019S2
check "…and processes a report: counted" wait_for 120 counted 829-2019S2
check "…accepted by the new pid" accepted_by "$new" 829-2019S2
wait "$stand" 2>/dev/null || true

# ---- 6. restart of a healthy service --------------------------------------------------------
old=$(pidf aggregator) st=$(pid_start "$old") off=$(log_size aggregator)
pipeline restart aggregator >/dev/null
rc=$?
new=$(pidf aggregator)
check_eq "restart of a healthy aggregator returns 0" 0 "$rc"
check "…the old one is gone, a new one ($old → $new) logged its own ready line and runs" \
    eval 'pid_gone "$old" "$st" && [ "$new" != "$old" ] && ready_since aggregator "$new" "$off" && pid_running "$new"'
submit 2020S1
check "…and counts a report" wait_for 120 counted 829-2020S1
check "every process runs" all_alive

# ---- 7. stop: a process that ignores SIGTERM is killed, and stop waits until it is gone -------
pipeline kill notifier
bash -c 'trap "" TERM; exec sleep 600' &
stand=$!
echo "$stand" >"$RUN/pids/notifier.pid"
pids=$(cat "$RUN"/pids/*.pid | paste -sd' ')
KH_STOP_WAIT_S=2 pipeline stop >/dev/null 2>"$RUN/stop.err"
rc=$?
left=""
for p in $pids; do pid_running "$p" && left+=" $p"; done
check_eq "stop returns 0 once every process is gone (one ignoring SIGTERM, killed after 2 s)" \
    "0 " "$rc $left"
check "…and says that it had to kill it" grep -q "notifier (pid $stand) did not stop within 2 s" "$RUN/stop.err"
wait "$stand" 2>/dev/null || true     # killed by SIGKILL: its status is 137
