#!/usr/bin/env bash
# stall.sh short|long — a stalled stage: kill -STOP one stage for at least 5 s (short) /
# 30 s (long), and on until the stage before it holds GROW more reports in its outbox,
# while the nine districts submit (30 reports/s; they submit only during the stalls),
# then kill -CONT; each of
# validator, aggregator, notifier and collector in turn, in one stream, with the
# deployed configuration (resend_ms 3000, max_backlog 1000).
#
# Checks, for each stall (counts and states; none depends on the machine's speed):
#  - the stage before backs off: what it must pass on waits in its outbox table on disk,
#    which grows by GROW (100) reports at least — the stall lasts until it has (up to
#    LIMIT s, a generous bound: on a slow machine the reports take longer to get there);
#  - everything submitted during the stall waits upstream, on disk (in the outboxes
#    before the stage, back to the nodes: the stage before stops taking new messages at
#    max_backlog, and so on), at least half of it by the readings (the other half is
#    margin for what moves between the readings of the outboxes);
#  - after kill -CONT everything flows: every outbox drains to at most one window (64)
#    (the feeders stopped, so the drain is finite work; 900 s is a hang guard);
#  - the collector's stall outlasts the nodes' heartbeats (HB_STALL): every node drops its
#    connection and makes a new one, while the collector, once it runs again, still reads
#    what came on the old ones (a CI run hung here: late messages opened closed connections
#    again, which then counted against their keys for ever — conns.h, CONN_GONE); so every
#    node reconnects, and once all has settled the collector counts exactly one open
#    connection per node (kh_node_connections_open);
# at the end: verify_exactly_once.  Figures: how long each stall lasted and each drain
# took, the peak depths, every process's VmRSS against its design bound (rss_bounded in
# lib-faults.sh: a check in the long tier only).
source "$(dirname "$0")/lib-faults.sh"
faults_tier "${1:-}"
set -u
if [ "$TIER" = short ]; then STALL=5 WARM=6; else STALL=30 WARM=15; fi
HB_STALL=10     # > 3 × heartbeat_ms (2 s) + one interval: every node's connection times out
GROW=100 LIMIT=300
PACE_MS=300                      # each district submits every 300 ms: 30 reports/s

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
grown() {           # grown QUEUE DEPTH0 — QUEUE holds GROW reports more than DEPTH0
    local d; d=$(depth_now "$1" 2>/dev/null) && [ -n "$d" ] &&
        [ $(( (d - $2) / $(per_report "$1") )) -ge "$GROW" ]
}
drained() { local q; for q in $ALL; do [ "$(depth_now "$q")" -le 64 ] || return 1; done; }
wait_drained() {     # wait_drained TIMEOUT_S — every outbox at most one window
    local start=$SECONDS
    until drained; do [ $((SECONDS - start)) -ge "$1" ] && { diagnose; return 1; }; sleep 0.5; done
}
# what the admin on call would look at when a drain does not come (as notes, so that
# the CI output shows them)
diagnose() {
    local q d
    for q in $ALL; do note "depth of $q: $(depth_now "$q")"; done
    for d in "${DISTRICTS[@]}"; do note "node $d: outbox $(node_outbox "$d")"; done
    note "collector: $(collector_metric kh_node_connections_open) node connections open"
    grep -ho '"event":"[a-z_.]*"' "$RUN/logs/collector.log" | sort | uniq -c | sort -rn |
        head -15 | while read -r n e; do note "collector.log: $n × $e"; done
}
collector_metric() {    # collector_metric NAME — its value on the collector's /metrics
    curl -sf -m 30 "http://$(conf collector metrics)/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}
reconnects() { grep -c '"event":"link.reconnected"' "$RUN/logs/node-$1.log"; }

faults_start stall 3000 || exit 1
sampler_start
feeders_start "$PACE_MS"
BASE_FROM=$(now)
sleep "$WARM"
BASE_TO=$(now)
# the districts submit only while a stage is stopped: a drain is then a finite amount of
# work, which comes however slow the machine (under make san beside a CPU hog the
# pipeline was slower than the feeders, and a drain "while they keep submitting" never
# came); the deadlines below are hang guards
feeders_stop
for stage in validator aggregator notifier collector; do
    check "before stopping $stage: every outbox drained to <= 64" wait_drained 900
    feeders_start "$PACE_MS"
    read -r -a qs <<<"$(upstream "$stage")"
    declare -A d0=()
    for q in "${qs[@]}"; do d0[$q]=$(depth_now "$q"); done
    pid=$(cat "$RUN/pids/$stage.pid")
    declare -A rc0=()
    for d in "${DISTRICTS[@]}"; do rc0[$d]=$(reconnects "$d"); done
    s0=$(submitted_count)
    mark "stall-$stage"; t0=$(now); st0=$SECONDS
    kill -STOP "$pid"
    near=${qs[0]}
    # the stall's length, on purpose; then until the state
    if [ "$stage" = collector ]; then sleep "$HB_STALL"; else sleep "$STALL"; fi
    until grown "$near" "${d0[$near]}"; do
        [ $((SECONDS - st0)) -ge "$LIMIT" ] && break
        sleep 0.5
    done
    s1=$(submitted_count)
    declare -A d1=()
    # farthest first: a report moving nearer while they are read is counted, not missed
    for ((i = ${#qs[@]} - 1; i >= 0; i--)); do d1[${qs[$i]}]=$(depth_now "${qs[$i]}"); done
    kill -CONT "$pid"
    feeders_stop
    mark "cont-$stage"
    note "$stage stopped $((SECONDS - st0)) s"
    n=$((s1 - s0))
    grow=$(( (${d1[$near]} - ${d0[$near]}) / $(per_report "$near") ))
    check "$stage stopped: $near backs off on disk (${d0[$near]} → ${d1[$near]} rows: $grow reports >= $GROW; $n reports submitted meanwhile)" \
        test "$grow" -ge "$GROW" -a "$n" -gt 0
    total=0 detail=""
    for q in "${qs[@]}"; do
        total=$((total + (${d1[$q]} - ${d0[$q]}) / $(per_report "$q")))
        detail+=" $q ${d0[$q]}→${d1[$q]}"
    done
    check "$stage stopped: the $n reports submitted meanwhile wait upstream, on disk ($total;$detail)" \
        test "$total" -ge $((n / 2))
    start=$SECONDS
    check "$stage continued: every outbox drained to <= 64" wait_drained 900
    note "$stage: drained in $((SECONDS - start)) s; peak depth of $near $(samples_max depth "$near" "$t0") rows"
    if [ "$stage" = collector ]; then
        again=0
        for d in "${DISTRICTS[@]}"; do [ "$(reconnects "$d")" -gt "${rc0[$d]}" ] && again=$((again + 1)); done
        check_eq "collector stalled past the heartbeats: nodes that made a new connection" \
            "${#DISTRICTS[@]}" "$again"
        note "collector: $(collector_metric kh_node_messages_late_total) messages read after their connection closed"
    fi
done
check "everything settles after the stalls" wait_settled 900 "${DISTRICTS[@]}"
one_each() { [ "$(collector_metric kh_node_connections_open)" = "${#DISTRICTS[@]}" ]; }
wait_for 60 one_each
check_eq "after the stalls the collector counts one open connection per node" \
    "${#DISTRICTS[@]}" "$(collector_metric kh_node_connections_open)"
sleep 1.5    # one more sample after the end
rss_bounded stall "$BASE_TO" "$(now)"
verify_exactly_once stall
faults_cleanup
