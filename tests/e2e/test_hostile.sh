#!/usr/bin/env bash
# The door holds against a registered district that turns hostile, and against anyone
# else (issue 11).  Each attack is made against the real processes (scripts/run-local),
# then: it was refused or set aside, logged and counted; no service died; a valid report
# from another district sent right after is counted; what was counted before is unchanged.
# The collector's resident memory after each attack goes to the test's output.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
INJ=$TOP/${KH_BUILD:-build}/tests/tools/kh-inject
ADMIN=$BIN/kh-admin
start_test hostile
set_conf general resend_ms 500
set_conf security handshake_ms 2000
IN=$RUN/input
python3 "$TOP/scripts/gen-demo-data.py" "$IN" 2>/dev/null
pipeline start 829 831 >/dev/null || exit 1
K=$RUN/keys
FRONT=$(conf collector listen) AGG=$(conf aggregator listen) MET=$(conf collector metrics)
K829=(--key "$K/node-829.key" --server-key "$K/server.pub")
K831=(--key "$K/node-831.key" --server-key "$K/server.pub")
until_ok() { wait_for 120 "$@"; }
nlog() { local n; n=$(grep -c "\"event\":\"$2\"" "$RUN/logs/$1.log") || true; echo "${n:-0}"; }
metric() {       # metric NAME [LABEL_VALUE] — the collector's series, 0 when absent
    curl -sf -m 60 "http://$MET/metrics" |
        awk -v n="$1" -v l="${2:-}" '$1 == n || (l != "" && index($1, n "{") == 1 && index($1, "\"" l "\"")) { v = $2 } END { print v + 0 }'
}
pid_of() { cat "$RUN/pids/$1.pid"; }
rss() { ps -o rss= -p "$(pid_of collector)" | tr -d ' '; }
note_rss() { echo "# collector RSS after $1: $(rss) KiB" | tee -a "$RUN/rss.txt"; }
alive() { all_alive >/dev/null; }
counted() {      # counted DISTRICT PERIOD REVISION
    [ "$(sql "$RUN/aggregator.db" "SELECT revision FROM counted WHERE district='$1' AND period='$2'")" = "$3" ]
}
# a valid report from district 831, sent right after an attack, is counted
REV831=0
after_attack() {       # after_attack NAME PERIOD
    REV831=$((REV831 + 1))
    local t0=$SECONDS
    "$INJ" --endpoint "$FRONT" "${K831[@]}" --report-file "$IN/831/831-$2.csv" --district 831 \
        --revision "$REV831" --acks 1 --wait-ms 120000 >"$RUN/after-$1.out" 2>&1
    check "after $1: a valid report of 831 is acknowledged" grep -q "^ACK 831-$2/$REV831" "$RUN/after-$1.out"
    check "after $1: …and counted" until_ok counted 831 "$2" "$REV831"
    echo "# after $1: 831's report counted $((SECONDS - t0)) s after it was sent"
    check "after $1: every service is still running" alive
    note_rss "$1"
}
"$INJ" --endpoint "$FRONT" "${K831[@]}" --report-file "$IN/831/831-2017S1.csv" --district 831 \
    --revision 1 --acks 1 --wait-ms 120000 >/dev/null 2>&1
check "before: 831's 2017S1 is counted" until_ok counted 831 2017S1 1
totals_before=$(sql "$RUN/aggregator.db" "SELECT count(*), total(sum) FROM total WHERE period='2017S1'")
note_rss "start"

# ---- 1. invalid UTF-8 in the period: dropped at the door, never reaches a later stage ----
m0=$(metric kh_messages_malformed_total)
"$INJ" --endpoint "$FRONT" "${K829[@]}" --report-file "$IN/829/829-2019S1.csv" --district 829 \
    --period $'\xff0' --repeat 100 --wait-ms 300 >"$RUN/utf8.out" 2>&1
malformed_100() { [ "$(metric kh_messages_malformed_total)" -ge $((m0 + 100)) ]; }
check "100 reports with an invalid-UTF-8 period: all counted as malformed" until_ok malformed_100
check_eq "…exactly 100" $((m0 + 100)) "$(metric kh_messages_malformed_total)"
check "…none acknowledged" test -z "$(grep '^ACK' "$RUN/utf8.out")"
check "…logged, rate-limited (at most 5 lines a source in 10 s)" \
    test "$(grep -c '"event":"report.malformed".*not UTF-8' "$RUN/logs/collector.log")" -le 10
check "…and at least once" grep -q '"event":"report.malformed".*not UTF-8' "$RUN/logs/collector.log"
check_eq "…none stored" 0 "$(sql "$RUN/collector.db" "SELECT count(*) FROM report WHERE period NOT GLOB '[0-9][0-9][0-9][0-9]S[12]'")"
after_attack utf8-period 2017S2
# the same with a valid period but a value that is not text: refused with a receipt
printf 'period,orgunit,indicator,value\n2019S2,82901,HO.TONG,1\n' >"$RUN/ok.csv"

# ---- 2. a revision of 2^32-1: refused; the genuine next revision counts ----------------
"$INJ" --endpoint "$FRONT" "${K829[@]}" --report-file "$IN/829/829-2019S1.csv" --district 829 \
    --revision 4294967295 --acks 1 --wait-ms 120000 >"$RUN/rev.out" 2>&1
check "revision 4294967295: acknowledged (with a receipt)…" grep -q '^ACK 829-2019S1/4294967295' "$RUN/rev.out"
check "…refused as REVISION_TOO_HIGH" grep -q '"event":"report.refused".*"code":"REVISION_TOO_HIGH"' "$RUN/logs/collector.log"
check_eq "…not stored" 0 "$(sql "$RUN/collector.db" "SELECT count(*) FROM report WHERE revision > 1000")"
"$INJ" --endpoint "$FRONT" "${K829[@]}" --report-file "$IN/829/829-2019S1.csv" --district 829 \
    --revision 1 --acks 1 --wait-ms 120000 >/dev/null 2>&1
check "the genuine revision 1 is counted" until_ok counted 829 2019S1 1
"$INJ" --endpoint "$FRONT" "${K829[@]}" --report-file "$IN/829/829-2019S1.csv" --district 829 \
    --revision 2 --acks 1 --wait-ms 120000 >/dev/null 2>&1
check "…and its next revision 2 replaces it" until_ok counted 829 2019S1 2
after_attack revision 2018S1

# ---- 3. amplification: 2 million empty ACK keys, 2 million empty values -----------------
python3 -c "import sys; sys.stdout.buffer.write(b'\x0a\x00' * 2000000)" >"$RUN/ack.bin"
a0=$(metric kh_door_refused_total ack_keys)
"$INJ" --endpoint "$FRONT" "${K829[@]}" --type ACK --file "$RUN/ack.bin" --wait-ms 300 >/dev/null 2>&1
ack_refused() { [ "$(metric kh_door_refused_total ack_keys)" -ge $((a0 + 1)) ]; }
check "an ACK of 2,000,000 keys is refused before its keys are read" until_ok ack_refused
check "…and logged" grep -q '"event":"message.malformed".*max_ack_keys' "$RUN/logs/collector.log"
note_rss "the 2-million-key ACK"
python3 - "$RUN/big-report.bin" <<'EOF'
import sys
def s(field, v):
    b = v.encode(); return bytes([field << 3 | 2, len(b)]) + b
with open(sys.argv[1], "wb") as f:
    f.write(s(1, "829-2019S2") + bytes([2 << 3, 1]) + s(4, "2019S2") + b"\x42\x00" * 2000000)
EOF
"$INJ" --endpoint "$FRONT" "${K829[@]}" --type REPORT --file "$RUN/big-report.bin" --acks 1 \
    --wait-ms 120000 >"$RUN/big-report.out" 2>&1
check "a REPORT of 2,000,000 empty values is acknowledged (with a receipt)…" \
    grep -q '^ACK 829-2019S2/1' "$RUN/big-report.out"
check "…refused as TOO_LARGE" grep -q '"event":"report.refused".*"report_id":"829-2019S2".*"code":"TOO_LARGE"' "$RUN/logs/collector.log"
check_eq "…not stored" 0 "$(sql "$RUN/collector.db" "SELECT count(*) FROM report WHERE report_id='829-2019S2'")"
after_attack amplification 2018S2

# ---- 4. a client without CURVE, an unknown key in a loop: refused, counted, few lines ----
mech0=$(metric kh_door_refused_total mechanism)
# a ZMTP 3.0 greeting asking for the NULL mechanism, from a client that then waits: the
# collector must see the mismatch itself (a ZeroMQ client that notices it first and
# leaves ends as a failed handshake without detail)
python3 - "${FRONT#tcp://}" <<'EOF'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
s.settimeout(120)
s.sendall(b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\0") + b"\0" * 32)
try:
    while s.recv(4096):
        pass
except OSError:
    pass
EOF
mech_counted() { [ "$(metric kh_door_refused_total mechanism)" -ge $((mech0 + 1)) ]; }
check "a NULL-mechanism client is refused and counted" until_ok mech_counted
check "…and logged" grep -q '"event":"door.refused".*"reason":"mechanism"' "$RUN/logs/collector.log"
"$ADMIN" keys generate --role district --unit 829 --id stranger >/dev/null
u0=$(metric kh_door_refused_total unknown_key)
lines0=$(nlog collector auth.refused)
for i in $(seq 1 40); do
    "$INJ" --endpoint "$FRONT" --key "$K/stranger.key" --server-key "$K/server.pub" \
        --type HELLO --raw 383239 --wait-ms 50 >/dev/null 2>&1 &
done
wait
unknown_40() { [ "$(metric kh_door_refused_total unknown_key)" -ge $((u0 + 40)) ]; }
check "40 handshakes with an unknown key: each refused and counted" until_ok unknown_40
lines=$(( $(nlog collector auth.refused) - lines0 ))
check "…but not 40 log lines (rate-limited per address): $lines" test "$lines" -le 10
after_attack refusals 2019S1

# ---- 5. handshake_ms applies to the door: a silent TCP connection is dropped in time -----
hs=$(python3 - "${FRONT#tcp://}" <<'EOF'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
t = time.monotonic()
s.settimeout(120)
try:
    while s.recv(4096):
        pass
except OSError:
    pass
print(int((time.monotonic() - t) * 1000))
EOF
)
echo "# a silent TCP connection was closed after ${hs} ms (handshake_ms = 2000; libzmq's default is 30000)"
check "a connection that never completes its handshake is closed well before libzmq's 30 s: ${hs} ms" \
    test "$hs" -lt 20000

# ---- 6. 2,000 raw TCP connections from one address while a registered node reconnects -----
pa0=$(metric kh_door_refused_total per_address)
python3 - "${FRONT#tcp://}" "$RUN/flood.ready" >"$RUN/flood.out" 2>&1 <<'EOF' &
import resource, select, socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
held, failed = [], 0
for i in range(2000):       # from 127.0.0.2: another host on the loopback than the nodes
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    try:
        s.connect((host, int(port)))
        held.append(s)
    except OSError:
        failed += 1
        s.close()
print("opened", len(held), "failed", failed, flush=True)
open(sys.argv[2], "w").close()
closed, deadline = 0, time.monotonic() + 600      # a hang guard, not a measure
ep = select.epoll()
for s in held:
    ep.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
by_fd = {s.fileno(): s for s in held}
while by_fd and time.monotonic() < deadline:
    for fd, _ in ep.poll(1.0):
        try:
            data = by_fd[fd].recv(4096)
        except OSError:
            data = b""
        if not data:            # the collector closed (or reset) it
            ep.unregister(fd)
            by_fd.pop(fd).close()
            closed += 1
print("closed", closed, flush=True)
EOF
flood=$!
check "the flood opened its 2,000 connections" until_ok test -e "$RUN/flood.ready"
"$INJ" --endpoint "$FRONT" "${K829[@]}" --report-file "$IN/829/829-2020S1.csv" --district 829 \
    --revision 1 --acks 1 --wait-ms 120000 >"$RUN/during-flood.out" 2>&1
check "during the flood, district 829 connects and its report is acknowledged" \
    grep -q '^ACK 829-2020S1/1' "$RUN/during-flood.out"
check "…and counted" until_ok counted 829 2020S1 1
wait "$flood"
cat "$RUN/flood.out"
check_eq "the flood's 2,000 connections were all opened, then all closed by the collector" \
    "opened 2000 failed 0,closed 2000" "$(paste -sd, "$RUN/flood.out")"
pa=$(( $(metric kh_door_refused_total per_address) - pa0 ))
echo "# cut for the per-address bound: $pa (the rest ran out of handshake time)"
check "most were cut at once for the per-address bound (32 unspoken a host): $pa" test "$pa" -ge 1000
check "the cuts were logged, rate-limited" test "$(nlog collector door.cut)" -le 60
after_attack flood 2019S2

# ---- 7. an admitted key that never speaks does not hold a connection past its time ------
"$INJ" --endpoint "$FRONT" "${K829[@]}" --repeat 0 --wait-ms 30000 >"$RUN/silent.out" 2>&1 &
silent=$!
s0=$(metric kh_door_refused_total silent)
silent_cut() { [ "$(metric kh_door_refused_total silent)" -gt "$s0" ]; }
check "a connection admitted with 829's key that says nothing is cut" until_ok silent_cut
wait "$silent"
check "…the client saw its connection end" grep -q '^DISCONNECTED' "$RUN/silent.out"

# ---- 8. revocation cuts the live connection ------------------------------------------
"$ADMIN" keys generate --role district --unit 829 --id 829-spare >/dev/null
"$ADMIN" keys register "$K/829-spare.pub" >/dev/null
"$INJ" --endpoint "$FRONT" --key "$K/829-spare.key" --server-key "$K/server.pub" \
    --type HELLO --raw 383239 --wait-ms 60000 >"$RUN/spare.out" 2>&1 &
spare=$!
spare_in() { grep -q '"event":"node.connected".*"key_id":"829-spare"' "$RUN/logs/collector.log"; }
check "a second key of 829 connects" until_ok spare_in
"$ADMIN" keys revoke 829-spare >/dev/null
revoked_cut() { grep -q '"event":"door.cut".*"reason":"revoked".*829-spare' "$RUN/logs/collector.log"; }
check "revoking it cuts its live connection" until_ok revoked_cut
wait "$spare"
check "…the client saw it end" grep -q '^DISCONNECTED' "$RUN/spare.out"
"$INJ" --endpoint "$FRONT" "${K829[@]}" --report-file "$IN/829/829-2020S2.csv" --district 829 \
    --revision 1 --acks 1 --wait-ms 120000 >/dev/null 2>&1
check "829's node (its other key) still gets its receipts" wait_settled 120 829
after_attack revocation 2020S1

# ---- 9. defence in depth: a message a later stage cannot apply is set aside -------------
# straight into the aggregator (as a broken validator would): a rejected verdict whose
# period is not UTF-8 makes the audit entry fail; it goes to the dead-letter table
"$INJ" --endpoint "$AGG" --report-file "$IN/832/832-2017S1.csv" --district 832 --as verdict \
    --rejected --period $'\xff0' --report-id '832-x' --acks 1 --wait-ms 120000 >"$RUN/dead.out" 2>&1
check "the aggregator acknowledges a verdict it cannot apply (the validator stops resending)" \
    grep -q '^ACK 832-x/1' "$RUN/dead.out"
check_eq "…and keeps it as a dead letter" 1 "$(sql "$RUN/aggregator.db" "SELECT count(*) FROM dead_letter")"
check "…logged" grep -q '"event":"inbox.dead_letter".*"key":"832-x/1"' "$RUN/logs/aggregator.log"
check "kh-admin status shows it" sh -c "'$ADMIN' status | grep -q 'dead letter'"
"$ADMIN" dead-letters replay aggregator --all >"$RUN/replay.out" 2>&1
replayed_again() { [ "$(sql "$RUN/aggregator.db" "SELECT attempts FROM dead_letter")" = 2 ]; }
check "a replay that fails again leaves it set aside (2 attempts)" until_ok replayed_again
check "kh-admin dead-letters list names it" sh -c "'$ADMIN' dead-letters list aggregator | grep -q '832-x/1'"
after_attack dead-letter 2020S2

# ---- 10. the documented size is the real one; a slow client cannot hide the collector ----
mal0=$(metric kh_messages_malformed_total) size0=$(metric kh_door_refused_total size)
MAXB=$(conf general max_message_bytes); MAXB=${MAXB:-4194304}
"$INJ" --endpoint "$FRONT" "${K829[@]}" --type ACK --random "$MAXB" --wait-ms 300 >/dev/null 2>&1
"$INJ" --endpoint "$FRONT" "${K829[@]}" --type ACK --random $((MAXB + 1)) --wait-ms 300 >/dev/null 2>&1
at_door() { [ "$(metric kh_messages_malformed_total)" -ge $((mal0 + 2)) ]; }
check "a payload of exactly max_message_bytes reaches the door (refused there as malformed, not dropped)" until_ok at_door
check_eq "one byte more is refused for its size, counted" $((size0 + 1)) "$(metric kh_door_refused_total size)"
check "…and logged" grep -q '"event":"message.too_large"' "$RUN/logs/collector.log"
check "the private metrics socket is the service's user and group only (0660)" \
    test "$(stat -c %a "$RUN/collector.metrics.sock")" = 660
python3 - "$MET" "$RUN/slow.ready" "$RUN/slow.stop" >"$RUN/slow.out" 2>&1 <<'EOF' &
import os, socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
held = []
for i in range(100):        # more than the endpoint takes: each sends half a request line
    try:
        s = socket.create_connection((host, int(port)), timeout=5)
        s.sendall(b"GET /metr")
        held.append(s)
    except OSError:
        pass
open(sys.argv[2], "w").close()
end = time.monotonic() + 120
while not os.path.exists(sys.argv[3]) and time.monotonic() < end:
    for s in held:          # a byte now and then, as a slowloris does
        try:
            s.send(b"i")
        except OSError:
            pass
    time.sleep(1)
EOF
slow=$!
check "a slow client holds the metrics port's connections" until_ok test -e "$RUN/slow.ready"
"$ADMIN" status >"$RUN/status-slow.out" 2>&1; rc=$?
touch "$RUN/slow.stop"; wait "$slow"
check_eq "meanwhile kh-admin status still answers, every service up (exit 0)" 0 "$rc"
check "…the collector shown up" grep -qE '^collector +up' "$RUN/status-slow.out"

# ---- what was counted before is unchanged ---------------------------------------------
check_eq "the 2017S1 totals are what they were before the attacks" "$totals_before" \
    "$(sql "$RUN/aggregator.db" "SELECT count(*), total(sum) FROM total WHERE period='2017S1'")"
check "no service died" alive
cat "$RUN/rss.txt"
pipeline stop >/dev/null

