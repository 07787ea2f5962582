#!/usr/bin/env bash
# `make install` into a staging folder (DESTDIR), then the installed pipeline run the way
# systemd would run it: each service started from the ExecStart line of its installed
# unit file (paths under DESTDIR), with a stand-in for systemd's NOTIFY_SOCKET
# (notify_listen.py) that records READY=1 / STATUS= / STOPPING=1.  Reports go through;
# an open group-commit batch is committed when SIGTERM arrives; every service exits 0 on
# SIGTERM; nothing is lost or counted twice; `make uninstall` removes what was installed.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1

T=$TOP/tests/out/run-install
D=$T/dest                                   # DESTDIR
rm -rf "$T"; mkdir -p "$T/logs" "$T/notify"
base=$((20000 + ($$ % 400) * 10))           # start_test's port range: base..base+6
B=${KH_BUILD:-build}
SERVICES=(notifier aggregator validator collector)
declare -A PID=()

cleanup() {
    local n
    for n in "${!PID[@]}"; do kill -KILL "${PID[$n]}" 2>/dev/null || true; done
    [ -n "${LISTENER:-}" ] && kill "$LISTENER" 2>/dev/null
    return 0
}
trap cleanup EXIT

# ---- 1. the installed tree ----
make -s --no-print-directory -C "$TOP" B="$B" INSTALL_NO_BUILD=1 install DESTDIR="$D" PREFIX=/usr \
    >"$T/install.out" 2>&1
rc=$?
check_eq "make install DESTDIR=… PREFIX=/usr succeeds" 0 $rc
[ $rc = 0 ] || { tail -5 "$T/install.out"; exit 1; }
missing=""
for p in kh-collector kh-validator kh-aggregator kh-notifier kh-node kh-feed kh-logs kh-admin; do
    [ -x "$D/usr/bin/$p" ] && cmp -s "$D/usr/bin/$p" "$TOP/$B/bin/$p" || missing+=" $p"
done
check_eq "the eight programs are in /usr/bin, executable, the ones built" "" "$missing"
missing=""
for f in "$TOP"/data/*.csv; do
    cmp -s "$f" "$D/usr/share/khuyenhoc/data/${f##*/}" || missing+=" ${f##*/}"
done
check_eq "the catalogue is in /usr/share/khuyenhoc/data" "" "$missing"
UNITS=$D/usr/lib/systemd/system
missing=""
for u in kh-collector.service kh-validator.service kh-aggregator.service kh-notifier.service \
         kh-node@.service; do
    [ -f "$UNITS/$u" ] || { missing+=" $u"; continue; }
    for line in Type=notify Restart=on-failure User=khuyenhoc StateDirectory=khuyenhoc \
                NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes TimeoutStopSec= \
                After= Wants= WantedBy=multi-user.target; do
        grep -q "^$line" "$UNITS/$u" || missing+=" $u:$line"
    done
    grep -q '@[A-Z]*@' "$UNITS/$u" && missing+=" $u:unsubstituted"
done
check_eq "five units in /usr/lib/systemd/system: notify, restart, own user, hardened, substituted" \
    "" "$missing"
check_eq "each unit runs the installed program with the installed config" \
    "/usr/bin/kh-collector --config /etc/khuyenhoc/kh.ini|/usr/bin/kh-node run --district %i --config /etc/khuyenhoc/kh.ini" \
    "$(sed -n 's/^ExecStart=//p' "$UNITS/kh-collector.service" "$UNITS/kh-node@.service" | paste -sd'|')"
# systemd's own reading of the units (on copies whose paths point into DESTDIR: verify
# wants the programs to exist); it prints a line for each directive it cannot parse
mkdir -p "$T/verify"
for u in kh-collector kh-validator kh-aggregator kh-notifier kh-node@; do
    sed -e "s|=/usr/bin/|=$D/usr/bin/|" -e "s| /etc/khuyenhoc/| $D/etc/khuyenhoc/|" \
        "$UNITS/$u.service" >"$T/verify/${u/@/@829}.service"
done
verify=$(cd "$T/verify" && timeout 60 systemd-analyze verify ./*.service 2>&1; echo "rc=$?")
check_eq "systemd-analyze verify reads the five units without a complaint" "rc=0" "$verify"
check "the khuyenhoc user is declared for systemd-sysusers" \
    grep -q '^u khuyenhoc ' "$D/usr/lib/sysusers.d/khuyenhoc.conf"
CONF=$D/etc/khuyenhoc/kh.ini
check_eq "the config is in /etc/khuyenhoc with run_dir and data_dir for an installed system" \
    "/var/lib/khuyenhoc /usr/share/khuyenhoc/data" \
    "$(sed -n 's/^\(run_dir\|data_dir\) = \([^ ;]*\).*/\2/p' "$CONF" | paste -sd' ')"
check_eq "the rest of the config is deploy/kh.ini's" "" \
    "$(diff <(grep -v '^run_dir =\|^data_dir =' "$TOP/deploy/kh.ini") \
            <(grep -v '^run_dir =\|^data_dir =' "$CONF"))"

# ---- 2. the installed config, adjusted only for the run folder, the ports, the clock (a
# fixed day, as every test: lib.sh) and DESTDIR ----
STATE=$T/state
sed -i -e "s|^run_dir = [^ ;]*|run_dir = $STATE|" -e "s|^clock = .*|clock = $TEST_CLOCK|" \
       -e "s|^data_dir = \([^ ;]*\)|data_dir = $D\1|" "$CONF"
for i in 1 2 3 4 5 6 7; do sed -i "s|127.0.0.1:710$i|127.0.0.1:$((base + i - 1))|g" "$CONF"; done
export KH_CONFIG=$CONF RUN=$STATE BIN=$D/usr/bin     # lib.sh's helpers use the installed kh-node
make -s --no-print-directory -C "$TOP" B="$B" INSTALL_NO_BUILD=1 install DESTDIR="$D" PREFIX=/usr >"$T/install2.out" 2>&1
check "make install again keeps a changed config (the new default goes beside it)" \
    bash -c "grep -q '^run_dir = $STATE' '$CONF' && [ -f '$CONF.dist' ]"

# keys, as scripts/run-local keys does (and an admin does once, as the khuyenhoc user)
keys=$STATE/keys
{ "$BIN/kh-admin" keys init-server &&
  "$BIN/kh-admin" keys generate --role district --unit 829 --id 829-1 &&
  "$BIN/kh-admin" keys register "$keys/829-1.pub" &&
  cp -p "$keys/829-1.key" "$keys/node-829.key" &&
  "$BIN/kh-admin" keys generate --role province --unit 83 --id province &&
  "$BIN/kh-admin" keys register "$keys/province.pub"; } >"$T/keys.out" 2>&1
check_eq "keys made and registered with the installed kh-admin" 0 $?
check_eq "the district's secret key file is mode 0600" 600 "$(stat -c %a "$keys/node-829.key")"

# ---- 3. start from the units' ExecStart lines ----
python3 "$TOP/tests/e2e/notify_listen.py" "$T/notify" "${SERVICES[@]}" node-829 &
LISTENER=$!
wait_for 120 test -f "$T/notify/listening"

# exec_start UNIT INSTANCE — the unit's ExecStart words, absolute paths under DESTDIR, %i
exec_start() {
    local w out=()
    for w in $(sed -n 's/^ExecStart=//p' "$UNITS/$1"); do
        w=${w//%i/$2}
        [ "${w:0:1}" = / ] && w=$D$w
        out+=("$w")
    done
    printf '%s\n' "${out[@]}"
}
start_unit() {    # start_unit NAME UNIT [INSTANCE]
    local cmd=()
    mapfile -t cmd < <(exec_start "$2" "${3:-}")
    : >"$T/notify/$1.notify"
    NOTIFY_SOCKET=$T/notify/$1.sock "${cmd[@]}" >>"$T/logs/$1.log" 2>&1 &
    PID[$1]=$!
}
wait_notify() {   # wait_notify NAME LINE — until NAME sent LINE (120 s at most)
    wait_for 120 grep -qx "$2" "$T/notify/$1.notify" 2>/dev/null
}
alive() { kill -0 "${PID[$1]}" 2>/dev/null; }
# stop_unit NAME — SIGTERM as systemd does; sets RC to the exit status (or "hung" if it
# is still running 60 s later — a generous bound, twice TimeoutStopSec — then kills it).
# Runs in this shell: only the parent can wait for the status.
stop_unit() {
    local p=${PID[$1]}
    kill -TERM "$p"
    wait_gone 60 "$p"
    if pid_running "$p"; then
        kill -KILL "$p"; wait "$p" 2>/dev/null; RC=hung
    else
        wait "$p"; RC=$?
    fi
    unset "PID[$1]"
}

for s in "${SERVICES[@]}"; do start_unit "$s" "kh-$s.service"; done
for s in "${SERVICES[@]}"; do
    check "kh-$s (started from kh-$s.service) sends READY=1 to NOTIFY_SOCKET" wait_notify "$s" READY=1
    check "kh-$s sends a STATUS= line with its readiness" grep -q '^STATUS=.' "$T/notify/$s.notify"
    check "kh-$s logged service.ready" grep -q '"event":"service.ready"' "$T/logs/$s.log"
done
start_unit node-829 kh-node@.service 829
check "kh-node (kh-node@829.service) sends READY=1" wait_notify node-829 READY=1

# ---- 4. reports through the installed pipeline ----
python3 "$TOP/scripts/gen-demo-data.py" "$T/input" >/dev/null 2>&1
n=0
for p in 2017S1 2017S2 2018S1 2018S2 2019S1 2019S2; do
    "$BIN/kh-node" submit --district 829 "$T/input/829/829-$p.csv" >/dev/null && n=$((n + 1))
done
check_eq "six reports queued with the installed kh-node" 6 "$n"
check "the six settle" wait_settled 180 829
check_eq "the province counted the six" 6 \
    "$(sql "$STATE/aggregator.db" "SELECT count(*) FROM counted WHERE district='829'")"

# ---- 5. SIGTERM with a group-commit batch open at the collector ----
# one batch stays open 10 s (batch_ms's maximum): what the collector applied is not committed
# until SIGTERM commits it (kh_inbox_close flushes; the ack may or may not leave before
# the socket closes: if not, the node resends and the collector acknowledges a duplicate)
stop_unit collector
check_eq "SIGTERM: the collector exits 0" 0 "$RC"
check "the collector sent STOPPING=1" grep -qx STOPPING=1 "$T/notify/collector.notify"
set_conf general batch_ms 10000
set_conf general batch_max 4096
start_unit collector kh-collector.service
check "the collector is ready again" wait_notify collector READY=1
for p in 2020S1 2020S2; do "$BIN/kh-node" submit --district 829 "$T/input/829/829-$p.csv" >/dev/null; done
applied() { [ "$(grep -c '"event":"report.received".*"report_id":"829-2020S' "$T/logs/collector.log")" -ge 2 ]; }
check "the collector applied the two new reports (in its open batch)" wait_for 120 applied
check_eq "…and has not committed them yet" 0 \
    "$(sql "$STATE/collector.db" "SELECT count(*) FROM report WHERE report_id LIKE '829-2020S%'")"
stop_unit collector
check_eq "SIGTERM with the batch open: the collector exits 0" 0 "$RC"
check_eq "the open batch was committed on the way out" 2 \
    "$(sql "$STATE/collector.db" "SELECT count(*) FROM report WHERE report_id LIKE '829-2020S%'")"
check "the collector sent STOPPING=1 again" grep -qx STOPPING=1 "$T/notify/collector.notify"
set_conf general batch_ms 5
set_conf general batch_max 64
start_unit collector kh-collector.service
check "the collector comes back" wait_notify collector READY=1
check "all eight settle" wait_settled 180 829
check_eq "the province counted all eight, each once" "8 8" \
    "$(sql "$STATE/aggregator.db" "SELECT count(*), count(DISTINCT report_id) FROM counted WHERE district='829'" | tr '|' ' ')"
check_eq "the collector stored each report once" "8 8" \
    "$(sql "$STATE/collector.db" "SELECT count(*), count(DISTINCT report_id||'/'||revision) FROM report" | tr '|' ' ')"
check_eq "the node's outbox is empty" 0 "$(node_outbox 829)"

# ---- 6. every service stops cleanly on SIGTERM ----
for s in node-829 collector validator aggregator notifier; do
    check "${s} was still running before its SIGTERM" alive "$s"
    stop_unit "$s"
    check_eq "SIGTERM: ${s} exits 0" 0 "$RC"
    check "${s} sent STOPPING=1" grep -qx STOPPING=1 "$T/notify/$s.notify"
done
bad=""
for db in collector validator aggregator notifier node-829/outbox; do
    [ "$(sql "$STATE/$db.db" 'PRAGMA integrity_check')" = ok ] || bad+=" $db"
done
check_eq "every database passes integrity_check after the stop" "" "$bad"
check_eq "no service logged a leaked handle or an error" "" \
    "$(grep -h '"level":"error"\|service.leak' "$T"/logs/*.log | head -3)"

# ---- 7. uninstall ----
make -s --no-print-directory -C "$TOP" B="$B" uninstall DESTDIR="$D" PREFIX=/usr >"$T/uninstall.out" 2>&1
check_eq "make uninstall succeeds" 0 $?
check_eq "it removes programs, catalogue, units, sysusers file; keeps the changed config" \
    "$D/etc/khuyenhoc/kh.ini" "$(find "$D" -type f | sort | paste -sd' ')"
