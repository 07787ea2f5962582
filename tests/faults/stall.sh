#!/usr/bin/env bash
# stall.sh short|long — a stalled stage: kill -STOP one stage for 5 s (short) / 30 s
# (long) while the nine districts keep submitting (30 reports/s), then kill -CONT; each
# of validator, aggregator, notifier and collector in turn, in one stream, with the
# deployed configuration (resend_ms 3000, max_backlog 1000).
#
# Checks, for each stall:
#  - the stage before backs off: what it must pass on waits in its outbox table on disk,
#    which grows by at least min(submitted meanwhile, max_backlog) / 2 rows; and with
#    the outboxes further upstream (the stage before stops taking new messages at
#    max_backlog, and so on back to the nodes) by at least half of what was submitted
#    during the stall: nothing is dropped, everything waits on disk;
#  - after kill -CONT everything flows: every outbox drains to at most one window (64)
#    within 300 s;
# throughout: every process's VmRSS, sampled each second, stays bounded (rss_bounded in
# lib-faults.sh: under 64 MiB, and under 2x its peak before the first stall or that
# peak plus the senders' windows); at the end: verify_exactly_once.
source "$(dirname "$0")/lib-faults.sh"
faults_tier "${1:-}"
set -u
if [ "$TIER" = short ]; then STALL=5 WARM=6; else STALL=30 WARM=15; fi
PACE_MS=300                      # each district submits every 300 ms: 30 reports/s
MAX_BACKLOG=1000                 # deploy/kh.ini's, stated here for the checks

# the outboxes before STAGE, nearest first (as sampler names)
upstream() {
    case $1 in
        validator) echo collector.outbox_validator nodes ;;
        aggregator) echo validator.outbox_aggregator collector.outbox_validator nodes ;;
        notifier) echo aggregator.outbox_notifier validator.outbox_aggregator collector.outbox_validator nodes ;;
        collector) echo nodes ;;
    esac
}
ALL="collector.outbox_validator validator.outbox_aggregator aggregator.outbox_notifier notifier.outbox_collector nodes"
depth_now() {
    local n d total=0
    case $1 in
        nodes) for d in "${DISTRICTS[@]}"; do n=$(node_outbox "$d"); total=$((total + ${n:-0})); done
               echo "$total" ;;
        *) sql "$RUN/${1%%.*}.db" "SELECT count(*) FROM ${1#*.}" ;;
    esac
}
# per report: the aggregator passes two events (accepted, counted) to the notifier
per_report() { case $1 in aggregator.outbox_notifier) echo 2 ;; *) echo 1 ;; esac; }
drained() { local q; for q in $ALL; do [ "$(depth_now "$q")" -le 64 ] || return 1; done; }
wait_drained() {     # wait_drained TIMEOUT_S — every outbox at most one window
    local start=$SECONDS
    until drained; do [ $((SECONDS - start)) -ge "$1" ] && return 1; sleep 0.5; done
}

faults_start stall 3000 || exit 1
sampler_start
feeders_start "$PACE_MS"
BASE_FROM=$(now)
sleep "$WARM"
BASE_TO=$(now)
for stage in validator aggregator notifier collector; do
    wait_drained 300
    read -r -a qs <<<"$(upstream "$stage")"
    declare -A d0=()
    for q in "${qs[@]}"; do d0[$q]=$(depth_now "$q"); done
    pid=$(cat "$RUN/pids/$stage.pid")
    s0=$(submitted_count)
    mark "stall-$stage"; t0=$(now)
    kill -STOP "$pid"
    sleep "$STALL"
    s1=$(submitted_count)
    declare -A d1=()
    for q in "${qs[@]}"; do d1[$q]=$(depth_now "$q"); done
    kill -CONT "$pid"
    mark "cont-$stage"
    n=$((s1 - s0))
    near=${qs[0]}
    grow=$(( (${d1[$near]} - ${d0[$near]}) / $(per_report "$near") ))
    want=$(( (n < MAX_BACKLOG ? n : MAX_BACKLOG) / 2 ))
    check "$stage stopped ${STALL}s: $near backs off on disk (${d0[$near]} → ${d1[$near]} rows; $n reports submitted meanwhile)" \
        test "$grow" -ge "$want" -a "$n" -gt 0
    total=0 detail=""
    for q in "${qs[@]}"; do
        total=$((total + (${d1[$q]} - ${d0[$q]}) / $(per_report "$q")))
        detail+=" $q ${d0[$q]}→${d1[$q]}"
    done
    check "$stage stopped: the $n reports submitted meanwhile wait upstream, on disk ($total;$detail)" \
        test "$total" -ge $((n / 2))
    start=$SECONDS
    check "$stage continued: every outbox drained to <= 64 within 300 s" wait_drained 300
    note "$stage: drained in $((SECONDS - start)) s; peak depth of $near $(samples_max depth "$near" "$t0") rows"
done
feeders_stop
check "everything settles after the stalls" wait_settled 300 "${DISTRICTS[@]}"
sleep 1.5    # one more sample after the end
rss_bounded stall "$BASE_TO" "$(now)"
verify_exactly_once stall
faults_cleanup
