#!/usr/bin/env bash
# Only registered districts get in (issue 5): CURVE on the door and on the feed, the
# district taken from the key, revocation at once, rotation with a grace period, and a
# service that cannot enforce authentication refuses to start.  A key can only be
# registered for a unit that reports (issue 12, item 2: data/reporters.csv), and the
# collector refuses a report for a period in which its sender does not report.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
INJ=$TOP/${KH_BUILD:-build}/tests/tools/kh-inject
ADMIN=$BIN/kh-admin
start_test security
set_conf general resend_ms 500
IN=$RUN/input
python3 "$TOP/scripts/gen-demo-data.py" "$IN" 2>/dev/null
pipeline start 829 831 >/dev/null || exit 1
K=$RUN/keys
FRONT=$(conf collector listen) SNAP=$(conf aggregator snapshot)
until_ok() { wait_for 120 "$@"; }    # until_ok COMMAND... — true within 120 s (lib.sh)
nlog() { local n; n=$(grep -c "\"event\":\"$2\"" "$RUN/logs/$1.log") || true; echo "${n:-0}"; }

check "the collector proved at start that an unknown key is refused" \
    grep -q '"event":"auth.selfcheck".*passed' "$RUN/logs/collector.log"
check "so did the aggregator for its feed" \
    grep -q '"event":"auth.selfcheck".*passed' "$RUN/logs/aggregator.log"
check "secret keys are files of mode 0600" \
    test "$(stat -c %a "$K/node-829.key")" = 600 -a "$(stat -c %a "$K/server.key")" = 600

# a key can only be registered for a unit that reports (data/reporters.csv: the districts,
# 2017-2020): not for commune 28756 (Phường Phú Khương of 829, data/units.csv),
# nor for a code not in the tree; the district keys of this run were made and registered
# by run-local (keys generate + register), and 829-2 below
"$ADMIN" keys generate --role district --unit 28756 --id commune-28756 >"$RUN/commune-gen.out" 2>&1
check_eq "a district key for commune 28756 is refused at generation: exit code 3" 3 "$?"
check "saying why and what to do" grep -q \
    "28756 is not a reporting unit of the catalogue; a key can only be registered for a unit that reports: check the code, or add the unit (or its level) to reporters.csv" \
    "$RUN/commune-gen.out"
check "in Vietnamese too" grep -q "28756 Phường Phú Khương không phải là đơn vị báo cáo" "$RUN/commune-gen.out"
check "no key file is written" test ! -e "$K/commune-28756.key" -a ! -e "$K/commune-28756.pub"
"$ADMIN" keys generate --role district --unit 99999 --id nowhere >"$RUN/nowhere.out" 2>&1
check_eq "a code not in the unit tree: refused, exit code 3" 3 "$?"
check "saying it is not in the unit list" grep -q "99999 (mã không có trong danh mục / not in the unit list)" "$RUN/nowhere.out"
# who reports is data: with a catalogue where the communes report (for themselves,
# from 2021), the same command makes the commune's key; the province's catalogue still
# refuses to register it
mkdir -p "$RUN/data-communes" && cp "$TOP"/data/*.csv "$RUN/data-communes/"
echo '3,,2021-01-01,,the communes from 2021' >>"$RUN/data-communes/reporters.csv"
sed "s|^data_dir = .*|data_dir = $RUN/data-communes|" "$KH_CONFIG" >"$RUN/communes.ini"
check "with communes in reporters.csv, the commune's key is generated" \
    "$ADMIN" --config "$RUN/communes.ini" keys generate --role district --unit 28756 --id commune-28756
"$ADMIN" keys register "$K/commune-28756.pub" >"$RUN/commune-reg.out" 2>&1
check_eq "registering it under the seed's catalogue: refused, exit code 3" 3 "$?"
check "saying why" grep -q "28756 is not a reporting unit" "$RUN/commune-reg.out"
"$ADMIN" keys rotate --old 829-1 --new "$K/commune-28756.pub" >"$RUN/commune-rot.out" 2>&1
check_eq "nor can it replace a district's key by rotation" 3 "$?"
check "it is not in the registry, 829-1 is active as before" bash -c \
    "! '$ADMIN' keys list | grep -q '^commune-28756 ' && '$ADMIN' keys list | grep -q '^829-1 .* active'"
# a registered district key, a report for a period in which the districts do not report
# (2021S1, after their range 2017-2020): acknowledged and refused by the collector
"$INJ" --endpoint "$FRONT" --key "$K/node-829.key" --server-key "$K/server.pub" \
    --report-file "$IN/829/829-2019S1.csv" --district 829 --period 2021S1 --acks 1 \
    --wait-ms 120000 >"$RUN/after-range.out" 2>&1
check "829's key sending a 2021S1 report: acknowledged" grep -q '^ACK 829-2021S1/1' "$RUN/after-range.out"
check "and refused as UNKNOWN_SENDER, not a reporting unit for 2021S1" bash -c \
    "grep '\"event\":\"report.refused\"' '$RUN/logs/collector.log' | grep '\"code\":\"UNKNOWN_SENDER\"' |
     grep -q 'the sender (829) is not a registered reporting unit for period 2021S1'"
check_eq "…and not stored" 0 "$(sql "$RUN/collector.db" "SELECT count(*) FROM report WHERE report_id='829-2021S1'")"

# an unknown key: a key pair nobody registered
"$ADMIN" keys generate --role district --unit 829 --id stranger >/dev/null
before=$(nlog collector auth.refused)
"$INJ" --endpoint "$FRONT" --key "$K/stranger.key" --server-key "$K/server.pub" \
    --report-file "$IN/829/829-2019S1.csv" --district 829 --wait-ms 1500 >"$RUN/stranger.out" 2>&1
check "an unknown key gets nothing in (no acknowledgement)" test -z "$(grep '^ACK' "$RUN/stranger.out")"
check "and is logged" test "$(nlog collector auth.refused)" -gt "$before"
check_eq "nothing of it is stored" 0 "$(sql "$RUN/collector.db" "SELECT count(*) FROM report WHERE report_id='829-2019S1'")"
# no key at all (plain tcp) is no better
"$INJ" --endpoint "$FRONT" --report-file "$IN/829/829-2019S1.csv" --district 829 \
    --wait-ms 1500 >"$RUN/plain.out" 2>&1
check "a client without CURVE gets nothing in" test -z "$(grep '^ACK' "$RUN/plain.out")"
# the feed: a district's key may not read it
"$INJ" --endpoint "$SNAP" --key "$K/node-829.key" --server-key "$K/server.pub" --as feedreq \
    --from-seq 1 --wait-ms 1500 >"$RUN/feed-district.out" 2>&1
check "a district's key may not read the province feed" test -z "$(grep -E '^(FEED|SNAPSHOT)' "$RUN/feed-district.out")"
check "the aggregator logged the refusal" grep -q '"event":"auth.refused".*"domain":"feed"' "$RUN/logs/aggregator.log"
# an analyst's own key (issue 15, item 4): reads the feed, and nothing else
"$ADMIN" keys generate --role analyst --unit 83 --id analyst-lan >/dev/null &&
    "$ADMIN" keys register "$K/analyst-lan.pub" >/dev/null
check "kh-admin makes and registers an analyst key" grep -q '^role = analyst' "$K/analyst-lan.pub"
"$INJ" --endpoint "$SNAP" --key "$K/analyst-lan.key" --server-key "$K/server.pub" --as feedreq \
    --from-seq 1 --wait-ms 120000 >"$RUN/feed-analyst.out" 2>&1
check "an analyst's key reads the province feed" grep -qE '^(FEED|SNAPSHOT)' "$RUN/feed-analyst.out"
role_refused() {     # the collector's count of handshakes refused for the key's role
    curl -sf -m 60 "http://$(conf collector metrics)/metrics" |
        awk '/^kh_door_refused_total\{reason="role"\}/ {print $2}'
}
before=$(role_refused)
"$INJ" --endpoint "$FRONT" --key "$K/analyst-lan.key" --server-key "$K/server.pub" \
    --report-file "$IN/829/829-2019S1.csv" --district 829 --wait-ms 1500 >"$RUN/analyst-send.out" 2>&1
check "but sends nothing: no acknowledgement from the collector" test -z "$(grep '^ACK' "$RUN/analyst-send.out")"
check "the collector refused it for its role (kh_door_refused_total{reason=\"role\"})" \
    test "$(role_refused)" -gt "${before:-0}"
rc=0; "$ADMIN" keys generate --role reader --unit 83 --id nobody >"$RUN/badrole.out" 2>&1 || rc=$?
check_eq "a role kh-admin does not know is refused: exit code 2" 2 "$rc"
check "naming the roles it knows" grep -q 'district|province|analyst|admin' "$RUN/badrole.out"

# district 829's own node stays connected while we speak with its key: the collector
# routes by key, not by the routing id a client chooses, and never hands an id over
# a key of district 829 sending a report for district 831
"$INJ" --endpoint "$FRONT" --key "$K/node-829.key" --server-key "$K/server.pub" \
    --report-file "$IN/831/831-2019S1.csv" --district 831 --acks 1 --wait-ms 120000 >"$RUN/other.out" 2>&1
check "829's key sending 831's report: acknowledged and refused" grep -q '^ACK 831-2019S1/1' "$RUN/other.out"
check "and logged" grep -q '"event":"report.refused".*"code":"OTHER_DISTRICT"' "$RUN/logs/collector.log"
# a registered key sending an unsigned report: the collector refuses it (the first of two
# signature checks; the aggregator's is in test_signed.sh)
"$INJ" --endpoint "$FRONT" --key "$K/node-829.key" --server-key "$K/server.pub" --no-sign \
    --report-file "$IN/829/829-2020S1.csv" --district 829 --acks 1 --wait-ms 120000 >"$RUN/unsigned.out" 2>&1
check "an unsigned report from a registered key: acknowledged and refused" grep -q '^ACK 829-2020S1/1' "$RUN/unsigned.out"
check "…as BAD_SIGNATURE, logged" grep -q '"event":"report.refused".*"code":"BAD_SIGNATURE"' "$RUN/logs/collector.log"
check_eq "…and not stored" 0 "$(sql "$RUN/collector.db" "SELECT count(*) FROM report WHERE report_id='829-2020S1'")"

# a bound on connections per key (max_connections_per_key, 2 by default): 829's node
# holds one, a second client with the key holds another, a third is refused at the door
before=$(nlog collector auth.too_many_connections)
conns=$(nlog collector node.connected)
"$INJ" --endpoint "$FRONT" --key "$K/node-829.key" --server-key "$K/server.pub" --type HELLO \
    --raw 383239 --wait-ms 8000 >"$RUN/second.out" 2>&1 &
second=$!
connected_more() { [ "$(nlog collector node.connected)" -gt "$1" ]; }
check "the second client with the key is let in" until_ok connected_more "$conns"
"$INJ" --endpoint "$FRONT" --key "$K/node-829.key" --server-key "$K/server.pub" \
    --report-file "$IN/829/829-2018S1.csv" --district 829 --wait-ms 1500 >"$RUN/third.out" 2>&1
check "a third connection with one key gets nothing in" test -z "$(grep '^ACK' "$RUN/third.out")"
check "and is logged" test "$(nlog collector auth.too_many_connections)" -gt "$before"
check "the node itself still gets its receipts meanwhile" wait_settled 120 829
wait "$second"
again() {        # the collector learns of the close from its socket monitor: a moment
    "$INJ" --endpoint "$FRONT" --key "$K/node-829.key" --server-key "$K/server.pub" \
        --report-file "$IN/829/829-2018S1.csv" --district 829 --acks 1 --wait-ms 3000 \
        >"$RUN/again.out" 2>&1
    grep -q '^ACK 829-2018S1/1' "$RUN/again.out"
}
check "once one closes, the key connects again" until_ok again

# a client choosing district 831's old routing id gets none of 831's receipts: they go
# to the connection on which 831's key last spoke (connections counted before it starts:
# counted after, its own could already be in the count)
conns=$(nlog collector node.connected)
"$INJ" --endpoint "$FRONT" --id 831 --key "$K/node-829.key" --server-key "$K/server.pub" \
    --type HELLO --raw 383331 --wait-ms 8000 >"$RUN/thief.out" 2>&1 &
thief=$!
check "the client with 831's routing id is connected (as 829)" until_ok connected_more "$conns"
"$BIN/kh-node" submit --district 831 "$IN/831/831-2018S2.csv" >/dev/null
check "831's report is counted, its node gets every receipt" wait_settled 120 831
wait "$thief"
check "the client with 831's routing id got none of 831's receipts" test -z "$(grep '831-2018S2' "$RUN/thief.out")"
check "it was not let in as 831 (its HELLO counts as 829)" \
    grep -q '"event":"node.connected".*"district":"829"' "$RUN/logs/collector.log"
# the real thing works and is signed
"$BIN/kh-node" submit --district 829 "$IN/829/829-2019S1.csv" >/dev/null
check "a registered node's report is counted" wait_settled 60 829
check "and its signature names district 829's key" \
    bash -c "'$ADMIN' verify --report 829-2019S1 | grep -q 'VALID: signed by 829-1, the key of district 829'"

# revocation: at once, without a restart, the connected node cut off
"$ADMIN" keys revoke 831-1 >/dev/null
"$BIN/kh-node" submit --district 831 "$IN/831/831-2019S1.csv" >/dev/null
# (either the node's report arrived and was dropped, auth.revoked, or the revocation timer
# cut the connection first, door.cut reason revoked: both are the revocation at work, and
# which comes first is a race the sanitizer build's slower node loses)
check "the collector refused the revoked key (the report dropped, or the connection cut)" \
    wait_for 120 grep -qE '"event":"auth\.revoked".*"key_id":"831-1"|"event":"door\.cut".*"reason":"revoked".*"key_id":"831-1"' \
    "$RUN/logs/collector.log"
check_eq "after revocation the connected node's report is not received" 0 \
    "$(sql "$RUN/collector.db" "SELECT count(*) FROM report WHERE report_id='831-2019S1' AND revision=1")"
check_eq "the report waits in the node's outbox" 1 "$(node_outbox 831)"
check "kh-admin keys list shows it revoked" bash -c "'$ADMIN' keys list | grep -q '^831-1 .* revoked'"

# rotation: a new key for 831, the old one (revoked here) replaced; for 829 a rotation
# with a grace period keeps both valid
"$ADMIN" keys generate --role district --unit 829 --id 829-2 >/dev/null
"$ADMIN" keys rotate --old 829-1 --new "$K/829-2.pub" --grace-hours 1 >/dev/null
check "after a rotation both keys are valid during the grace period" \
    bash -c "'$ADMIN' keys list | grep -q '^829-1 .* active' && '$ADMIN' keys list | grep -q '^829-2 .* active'"
cp -p "$K/829-2.key" "$K/node-829.key.new" && mv "$K/node-829.key.new" "$K/node-829.key"
pipeline kill node-829; pipeline restart node-829 >/dev/null
"$BIN/kh-node" submit --district 829 "$IN/829/829-2019S2.csv" >/dev/null
check "the node with its new key is counted" wait_settled 60 829
check "signed by the new key" \
    bash -c "'$ADMIN' verify --report 829-2019S2 | grep -q 'VALID: signed by 829-2'"

# the log stream over the network (issue 5, item 1): a CURVE server that lets admin keys
# subscribe and no one else; on ipc it stays on the host
LOGEP="tcp://127.0.0.1:$(( ${FRONT##*:} + 7 ))"
set_conf validator log "$LOGEP"
"$ADMIN" keys generate --role admin --unit 83 --id admin >/dev/null
"$ADMIN" keys register "$K/admin.pub" >/dev/null
pipeline kill validator; pipeline restart validator >/dev/null
check "the validator proved at start that its log stream refuses an unknown key" \
    wait_for 120 grep -q '"event":"auth.selfcheck".*log stream refused' "$RUN/logs/validator.log"
logs_as() {      # logs_as KEYFILE OUT — kh-logs on the tcp stream with that key, until
                 # its first line or SIGTERM (--idle-ms is only a safety net)
    sed -e "s|^key = %RUN%/keys/admin.key.*|key = $1|" -e 's/^endpoints *=.*/endpoints =/' "$KH_CONFIG" >"$2.ini"
    "$BIN/kh-logs" --config "$2.ini" --connect "$LOGEP" --service validator \
        --grep 829-2017S1 --count 1 --idle-ms 600000 >"$2" 2>&1 &
}
logs_as "$K/admin.key" "$RUN/logs-admin.out"; admin_pid=$!
logs_as "$K/stranger.key" "$RUN/logs-stranger.out"; stranger_pid=$!
logs_as "$K/node-829.key" "$RUN/logs-district.out"; district_pid=$!
# a subscription takes effect some time after the connection (the CURVE handshake, then
# the subscription reaches the publisher): 829-2017S1 is sent again (a new revision)
# every 5 s until the admin's kh-logs has shown a line of it, for 120 s at most (--force:
# the same values again are otherwise not a new revision)
admin_read() { grep -q 'validator .*829-2017S1' "$RUN/logs-admin.out"; }
tries=0 start=$SECONDS
while ! admin_read && [ $((SECONDS - start)) -lt 120 ]; do
    "$BIN/kh-node" submit --district 829 --force "$IN/829/829-2017S1.csv" >/dev/null
    tries=$((tries + 1))
    wait_for 5 admin_read
done
echo "# the admin's kh-logs read its line after $tries submission(s) of 829-2017S1"
check "an admin's key reads the validator's log over tcp" admin_read
refusals() { [ "$(grep -c '"event":"auth.refused".*"domain":"logs"' "$RUN/logs/validator.log")" -ge 2 ]; }
check "the validator logged both refusals" wait_for 120 refusals
kill -TERM "$admin_pid" "$stranger_pid" "$district_pid" 2>/dev/null
wait "$admin_pid" "$stranger_pid" "$district_pid"
check "an unknown key reads nothing" test ! -s "$RUN/logs-stranger.out"
check "nor does a district's key" test ! -s "$RUN/logs-district.out"

# fail closed: a collector without its server key, and one without a registry, refuse to start
pipeline stop >/dev/null
set_conf security curve no
"$BIN/kh-validator" >"$RUN/logtcp-nocurve.log" 2>&1; rc=$?
check_eq "a tcp log stream without CURVE: the validator refuses to start" 1 "$rc"
check "saying why" grep -q 'log stream over the network needs \[security\] curve = yes' "$RUN/logtcp-nocurve.log"
set_conf security curve yes
set_conf validator log "ipc://%RUN%/log-validator.sock"
mv "$K/server.key" "$K/server.key.away"
"$BIN/kh-collector" >"$RUN/nokey.log" 2>&1; rc=$?
check_eq "a collector without its server key refuses to start" 1 "$rc"
check "with a clear message" grep -q '"event":"security.key".*server.key' "$RUN/nokey.log"
mv "$K/server.key.away" "$K/server.key"
chmod 644 "$K/server.key"
"$BIN/kh-collector" >"$RUN/loose.log" 2>&1; rc=$?
check_eq "a server key readable by others: refuses to start" 1 "$rc"
check "saying why" grep -q 'readable by others' "$RUN/loose.log"
chmod 600 "$K/server.key"
set_conf security curve maybe
"$BIN/kh-collector" >"$RUN/badconf.log" 2>&1; rc=$?
check_eq "[security] curve neither yes nor no: refuses to start" 1 "$rc"
