#!/usr/bin/env bash
# overload.sh short|long — ten times the normal rate for at least 10 s (short) / 60 s
# (long), and on until the overload has reached the nodes.
#
# 1. normal: every district submits one report every 250 ms (36 reports/s); the rate
#    the province counts (accepted at the aggregator) over the phase after a 3 s
#    warm-up is the normal rate R (a figure: it sizes the load, it is never checked).
# 2. overload: 10 x R, submitted by parallel `kh-node submit` loops (two per district,
#    several files per submit, on an absolute schedule; revisions of the demo files),
#    for OVER seconds; then, if the nodes' outboxes have not yet held MIN_NODES reports
#    at once (more than all their windows in flight: reports the province could not
#    take yet), every district adds a burst of reports every few seconds until they
#    have (within LIMIT seconds): a machine too slow for the loops to outpace the
#    province still gets an overload.
# 3. drain: the loops stop; everything settles.
# max_backlog is 300 here (deployed: 1000), so that a short overload already shows where
# the backlog goes: each stage holds at most that many messages for the next one, then
# stops taking new ones, and so back to the nodes.
# Checks — counts and states, none depends on the machine's speed: the overload reached
# the nodes (the state above); the province's backlog stays bounded (every outbox
# between stages, sampled each second, at most max_backlog + two batches); backpressure
# reaches the nodes (what the province has not counted and may not hold waits in the
# nodes' outboxes: at the end of the overload their depth is at least submitted -
# counted - what the stages between the collector and the aggregator may hold - 200 for
# what is counted between the readings); after the drain verify_exactly_once (no silent
# drops, each report counted once).  Figures ("# …"): the rates, the depths, the drain
# time, every process's VmRSS against its design bound (rss_bounded, lib-faults.sh).
source "$(dirname "$0")/lib-faults.sh"
faults_tier "${1:-}"
set -u
if [ "$TIER" = short ]; then NORMAL=10 OVER=10 LIMIT=300; else NORMAL=30 OVER=60 LIMIT=600; fi
NORMAL_PACE_MS=250
MAX_BACKLOG=300 BATCH=64 WINDOW=64
MIN_NODES=$((9 * WINDOW + BATCH))

accepted_now() { sql "$RUN/aggregator.db" 'SELECT count(*) FROM accepted'; }
nodes_depth() { local d n t=0; for d in "${DISTRICTS[@]}"; do n=$(node_outbox "$d"); t=$((t + ${n:-0})); done; echo "$t"; }
rate() { python3 -c "import sys; print('%.1f' % (float(sys.argv[1]) / max(1e-3, float(sys.argv[3]) - float(sys.argv[2]))))" "$@"; }
# burst_sync N — every district submits N more reports at once; returns when queued
burst_sync() {
    local n=$1 d k pids=()
    for d in "${DISTRICTS[@]}"; do
        local files=()
        for ((k = 0; k < n; k++)); do files+=("$RUN/input-a/$d/$d-${PERIODS[$((k % 8))]}.csv"); done
        ("$BIN/kh-node" submit --district "$d" --force "${files[@]}" 2>>"$RUN/submit-errors" |
            sed -n 's/: .*queued$//p' >>"$RUN/submitted/$d-burst") &
        pids+=($!)
    done
    wait "${pids[@]}"
}
nodes_peak() { local p; p=$(samples_max depth nodes "$1"); echo "${p:-0}"; }

faults_start overload 3000 max_backlog "$MAX_BACKLOG" window "$WINDOW" || exit 1
sampler_start
BASE_FROM=$(now)
feeders_start "$NORMAL_PACE_MS"
sleep 3                                      # warm-up: the first reports through
a0=$(accepted_now); s0=$(submitted_count); t0=$(now)
sleep $((NORMAL - 3))                        # the normal phase's length, on purpose
a1=$(accepted_now); s1=$(submitted_count); t1=$(now)
feeders_stop
BASE_TO=$t1
R=$(rate $((a1 - a0)) "$t0" "$t1")
note "normal: submitted $(rate $((s1 - s0)) "$t0" "$t1") reports/s, counted $R reports/s"
normal_peak=$(nodes_peak "$BASE_FROM")

# 10 x R: LOOPS loops per district, BATCH_FILES files per submit, every PACE ms
LOOPS=2
read -r BATCH_FILES PACE < <(python3 -c "
import sys
target = 10 * max(1.0, float(sys.argv[1]))             # reports/s over 9 districts
batch = max(1, round(target * 0.25 / (9 * $LOOPS)))    # about one submit every 250 ms
print(batch, max(20, round(batch * 9 * $LOOPS * 1000 / target)))" "$R")
note "overload: $LOOPS loops x 9 districts, $BATCH_FILES report(s) per submit every $PACE ms"
mark overload
s2=$(submitted_count); a2=$(accepted_now); t2=$(now)
feeders_start "$PACE" "$BATCH_FILES" "$LOOPS"
sleep "$OVER"                                # the overload's length, on purpose
bursts=0 start=$SECONDS
while [ "$(nodes_peak "$t2")" -lt "$MIN_NODES" ] && [ $((SECONDS - start)) -lt "$LIMIT" ]; do
    burst_sync 32; bursts=$((bursts + 1))
    sleep 2                                  # a sample or two of the nodes' outboxes
done
peak=$(nodes_peak "$t2")
check "the overload reached the nodes: their outboxes held $peak reports at once (>= $MIN_NODES, more than their windows; normal peak ${normal_peak}; $bursts extra burst(s) of 32 per district)" \
    test "$peak" -ge "$MIN_NODES"
s3=$(submitted_count); a3=$(accepted_now); d3=$(nodes_depth); t3=$(now)
feeders_stop
mark drain
sub=$((s3 - s2))
note "overload: submitted $(rate "$sub" "$t2" "$t3") reports/s ($sub reports in $(python3 -c "print('%.0f' % ($t3 - $t2))") s), counted $(rate $((a3 - a2)) "$t2" "$t3") reports/s meanwhile (normal: $R)"
for q in collector.outbox_validator validator.outbox_aggregator aggregator.outbox_notifier notifier.outbox_collector; do
    per=1; [ "$q" = aggregator.outbox_notifier ] && per=2
    qpeak=$(samples_max depth "$q" "$t2")
    check "the province's backlog stays bounded: $q peaked at ${qpeak:-0} (max_backlog $MAX_BACKLOG)" \
        test "${qpeak:-0}" -le $(( (MAX_BACKLOG + 2 * BATCH) * per ))
done
behind=$((s3 - a3))                            # submitted, not yet counted (since the start)
may_hold=$((2 * (MAX_BACKLOG + 2 * BATCH)))     # collector → validator → aggregator, bounded above
check "backpressure reaches the nodes: $d3 reports wait there at the end; $behind not counted yet, the province may hold $may_hold" \
    test "$d3" -ge $((behind - may_hold - 200))
check "everything settles after the overload" wait_settled 600 "${DISTRICTS[@]}"
t4=$(now)
note "drain: $(python3 -c "print('%.0f' % ($t4 - $t3))") s after the overload stopped; from its start to the end of the drain $(rate $(( $(accepted_now) - a2 )) "$t2" "$t4") reports/s counted"
sleep 1.5                                    # one more sample after the end
rss_bounded overload "$BASE_TO" "$(now)"
verify_exactly_once overload
faults_cleanup
