#!/usr/bin/env bash
# partition.sh short|long — network partitions between the districts and the province.
#
# Each district node runs in its own network namespace, joined to the host by a veth
# pair with a private /30 that this test creates (10.A.B.x, A.B from the test's pid;
# the only addresses used besides loopback).  The collector listens on 0.0.0.0 on a
# test port; each node's config points at the host side of its veth.  Then: reports
# flow, links are cut (interface down on the node's side: the host keeps its route
# and its packets die on a veth without carrier; or on both sides) while the
# districts keep submitting, links come back, links flap.  Checks: during a cut the
# reports wait in the node's outbox and none reaches the province; after it the nodes
# reconnect by themselves (ZeroMQ reconnects every 100 ms; ZMTP heartbeats,
# [general] heartbeat_ms, drop a dead connection after 3 intervals) and deliver;
# nothing is lost or counted twice (verify_exactly_once), no outbox keeps a row
# (verify_drained).  Notes: per cut, how long after the link came back the nodes had
# a TCP connection again and their outboxes were empty, and how many connections
# outlived the cut (a cut shorter than the heartbeat timeout does not break TCP).
#
#   short: 2 nodes, a long cut, a short cut on both sides, 12 s of flapping (≈ 30 s)
#   long:  9 nodes, 8 rounds of cuts of random subsets (1–15 s), 3 min of flapping
#
# Needs root (ip netns, veth).  Everything created is named kh-PID-… and removed on
# exit, also on failure.
source "$(dirname "$0")/lib-netfs.sh"
set -u
faults_tier "${1:-}"
mode=$TIER
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
    echo "ok - partition: SKIP (needs root and iproute2)"; exit 0
fi

P=$$
if [ "$mode" = short ]; then nodes=(829 831); else nodes=("${DISTRICTS[@]}"); fi
port=$((24000 + (P % 800) * 10))
for old in "$TOP"/tests/out/run-faults-partition-*; do   # earlier runs no longer running
    [ -d "$old" ] && ! kill -0 "${old##*-}" 2>/dev/null && rm -rf "$old"
done
mkrun "$TOP/tests/out/run-faults-partition-$P" "$port"
snapshot_bin || { echo "not ok - partition: cannot copy the binaries"; exit 1; }
set_conf collector listen "tcp://0.0.0.0:$port"
set_conf general resend_ms 1000
# short: a dead connection is dropped after 3 s; long: the shipped 2000 ms (6 s)
[ "$mode" = short ] && set_conf general heartbeat_ms 1000
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
rm -rf "$RUN/input/extra"

# a /24 for the test's /30s that nothing on the host uses yet
a=$(((P >> 8) & 255)) b=$((P & 255))
for _ in $(seq 1 256); do
    ip -4 route show | grep -q "10\.$a\.$b\." || ip -4 addr show | grep -q "inet 10\.$a\.$b\." || break
    b=$(((b + 1) & 255))
done
net=10.$a.$b

bg_pids=()
cleanup() {
    local p d i
    for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null; done
    pipeline stop >/dev/null 2>&1
    for i in "${!nodes[@]}"; do
        ip netns del "kh-$P-${nodes[$i]}" 2>/dev/null    # takes the veth pair with it
        ip link del "kh-$P-h$i" 2>/dev/null
    done
    ip route del unreachable "$net.0/24" 2>/dev/null
    snapshot_bin_remove
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# packets for the test's addresses never leave by the default route, even while a
# host-side interface is down and its /30 route gone
ip route add unreachable "$net.0/24" metric 4000 || { echo "not ok - partition: cannot add route"; exit 1; }
for i in "${!nodes[@]}"; do
    d=${nodes[$i]} ns=kh-$P-${nodes[$i]} h=kh-$P-h$i n=kh-$P-n$i
    ip netns add "$ns" &&
    ip link add "$h" type veth peer name "$n" &&
    ip link set "$n" netns "$ns" &&
    { ip link set dev "$h" addrgenmode none 2>/dev/null; ip -n "$ns" link set dev "$n" addrgenmode none 2>/dev/null; true; } &&
    ip addr add "$net.$((4 * i + 1))/30" dev "$h" &&
    ip -n "$ns" addr add "$net.$((4 * i + 2))/30" dev "$n" &&
    ip link set "$h" up && ip -n "$ns" link set "$n" up && ip -n "$ns" link set lo up ||
        { echo "not ok - partition: cannot create namespace $ns"; exit 1; }
    cp "$KH_CONFIG" "$RUN/node-$d.ini"
    KH_CONFIG=$RUN/node-$d.ini set_conf node collector "tcp://$net.$((4 * i + 1)):$port"
done

for s in notifier aggregator validator collector; do pipeline restart "$s" >/dev/null || exit 1; done
start_node() {     # start_node INDEX — kh-node run inside the district's namespace
    local d=${nodes[$1]}
    KH_CONFIG=$RUN/node-$d.ini ip netns exec "kh-$P-$d" "$BIN/kh-node" run --district "$d" \
        >>"$RUN/logs/node-$d.log" 2>&1 &
    echo $! >"$RUN/pids/node-$d.pid"
}
for i in "${!nodes[@]}"; do start_node "$i"; done
for d in "${nodes[@]}"; do      # started: its own pid logged its ready line
    wait_for 120 ready_since "node-$d" "$(cat "$RUN/pids/node-$d.pid")" ||
        { echo "not ok - partition: node $d did not start"; tail -3 "$RUN/logs/node-$d.log"; exit 1; }
done
check "the nodes run in their own namespaces (no route to the host but their veth)" \
    ip netns exec "kh-$P-${nodes[0]}" sh -c "! ip -4 route | grep -v '^$net\.' | grep -q ."

submit() { submit_next "$@"; }
ob() { depth "$(node_db "$1")" outbox_collector; }
coll_has() { sql "$RUN/collector.db" "SELECT count(*) FROM report WHERE district='$1'"; }
cut() {            # cut INDEX node|both — the link goes down
    ip -n "kh-$P-${nodes[$1]}" link set "kh-$P-n$1" down
    [ "$2" = both ] && ip link set "kh-$P-h$1" down
    return 0
}
restore() {        # restore INDEX
    ip link set "kh-$P-h$1" up
    ip -n "kh-$P-${nodes[$1]}" link set "kh-$P-n$1" up
}
# established INDEX — the node has a TCP connection to the collector
established() {
    ip netns exec "kh-$P-${nodes[$1]}" ss -Htn state established "( dport = :$port )" 2>/dev/null |
        grep -q .
}
drained() { local d; for d in "$@"; do [ "$(ob "$d")" = 0 ] || return 1; done; }
# time_to_drain TIMEOUT D... — ms until these nodes' outboxes are empty (-1: timeout)
time_to_drain() {
    local t0 tmax=$1; shift
    t0=$(now_ms)
    while ! drained "$@"; do
        [ $(($(now_ms) - t0)) -ge $((tmax * 1000)) ] && { echo -1; return 1; }
        sleep 0.1
    done
    echo $(($(now_ms) - t0))
}
reconnects=()

# ---- 1. reports flow over the veths -------------------------------------------------
for d in "${nodes[@]}"; do submit "$d" 3; done
check "before any cut: the first reports settle over the veths" wait_settled 180 "${nodes[@]}"

# cut_round WHICH SECONDS MODE — cut the nodes WHICH (indexes), submit 3 reports each
# during the cut, check they wait at the node, restore, time the delivery
cut_round() {
    local which=$1 secs=$2 how=$3 i d before=() names=() ok=1 t
    for i in $which; do names+=("${nodes[$i]}"); before+=("$(coll_has "${nodes[$i]}")"); cut "$i" "$how"; done
    for d in "${names[@]}"; do submit "$d" 3; done
    sleep "$secs"
    local k=0
    for i in $which; do
        d=${nodes[$i]}
        [ "$(ob "$d")" -ge 3 ] || { ok=0; echo "  node $d: outbox $(ob "$d") during the cut" >&2; }
        [ "$(coll_has "$d")" = "${before[$k]}" ] || { ok=0; echo "  node $d: the collector got a report during the cut" >&2; }
        k=$((k + 1))
    done
    check "cut of ${#names[@]} node(s) (${names[*]}), ${secs}s, $how side(s) down: reports wait in the outbox, none reaches the province" \
        test "$ok" = 1
    local kept=0 t0 tc
    for i in $which; do established "$i" && kept=$((kept + 1)); done
    t0=$(now_ms)
    for i in $which; do restore "$i"; done
    for i in $which; do wait_for 120 established "$i"; done
    tc=$(($(now_ms) - t0))
    t=$(time_to_drain 120 "${names[@]}")
    reconnects+=("${secs}s/$how:connected+${tc}/delivered+$t(kept:$kept)")
    check "after the ${secs}s cut: the nodes reconnect by themselves and deliver (${t} ms)" test "$t" -ge 0
}

nap() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }   # nap MS
# flap SECONDS — every node's link goes down and up at random (0.5–2 s each way)
# while every node submits; returns when done
flap() {
    local secs=$1 i end
    end=$((SECONDS + secs))
    for i in "${!nodes[@]}"; do
        (RANDOM=$((P + i)); while [ $SECONDS -lt $end ]; do
            cut "$i" node; nap $((500 + RANDOM % 1500))
            restore "$i"; nap $((500 + RANDOM % 1500))
         done; restore "$i") &
        bg_pids+=($!)
    done
    (while [ $SECONDS -lt $end ]; do
        for d in "${nodes[@]}"; do submit "$d" 1; done; sleep 1
     done) &
    bg_pids+=($!)
    for p in "${bg_pids[@]}"; do wait "$p"; done
    bg_pids=()
    for i in "${!nodes[@]}"; do restore "$i"; done
}

if [ "$mode" = short ]; then
    cut_round "0 1" 6 node          # longer than the heartbeat timeout: connections dropped
    cut_round "0" 2 both            # shorter: the TCP connection may survive it
    flap 12
else
    RANDOM=$P
    for round in $(seq 1 8); do
        which=""
        for i in "${!nodes[@]}"; do [ $((RANDOM % 2)) = 1 ] && which+="$i "; done
        [ -n "$which" ] || which="$((RANDOM % ${#nodes[@]}))"
        how=node; [ $((RANDOM % 3)) = 0 ] && how=both
        # the other nodes keep sending meanwhile
        for i in "${!nodes[@]}"; do [[ " $which " == *" $i "* ]] || submit "${nodes[$i]}" 1; done
        cut_round "$which" $((RANDOM % 15 + 1)) "$how"
    done
    flap 180
fi

t=$(time_to_drain 180 "${nodes[@]}")
reconnects+=("flapping:$t")
check "after flapping: every outbox drains by itself (${t} ms)" test "$t" -ge 0
check "every report settles" wait_settled 300 "${nodes[@]}"
verify_exactly_once partition
verify_drained partition "${nodes[@]}"
note "partition ($mode): $(sql "$RUN/collector.db" 'SELECT count(*) FROM report') reports;" \
     "after the link came back (ms; kept: connections that outlived the cut):" \
     "${reconnects[*]}"
