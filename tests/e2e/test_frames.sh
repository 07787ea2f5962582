#!/usr/bin/env bash
# Malformed frames and replays (issue 4, items 5 and 6), sent with tests/tools/kh-inject
# to every socket that accepts messages: the collector's node socket (as district 829)
# and receipts socket, the validator, the aggregator and its snapshot socket, the
# notifier.  Each gets random bytes (one frame, three), nine frames (more than a message may have), an unknown type, a
# truncated payload, a message over max_message_bytes, the wrong type for it, and valid
# messages with absurd fields (empty id, revision 0, a period of 1000 characters, a 10 MB
# string, 300,000 values).  Every process stays up; every malformed input is logged and
# counted exactly once (no sender is left resending something its receiver refuses);
# what is well-formed is acknowledged; a report sent afterwards is counted and what was
# stored before is undisturbed.  Replays — the same report on the same and on a new
# connection, a VERDICT into the aggregator, an EVENT into the notifier — are
# acknowledged as duplicates and applied once.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
INJ=$TOP/${KH_BUILD:-build}/tests/tools/kh-inject
[ -x "$INJ" ] || { echo "not ok - $INJ is not built (make)"; exit 1; }
start_test frames
set_conf general max_message_bytes 65536
set_conf general internal_max_message_bytes 98304   # 96 KiB between the services
set_conf general resend_ms 500        # a message refused forever would be resent often
set_conf security verify_signatures no   # verdicts are injected unsigned here; test_signed covers signatures
set_conf collector max_connections_per_key 16  # kh-inject connects with 829's key again and again (test_security tests the bound)
IN=$RUN/input
python3 "$TOP/scripts/gen-demo-data.py" "$IN" 2>/dev/null
pipeline start 831 >/dev/null || exit 1

# endpoints from the configuration ([section] key, %RUN% expanded)
FRONT=$(conf collector listen) RECEIPTS=$(conf collector receipts) VALIDATOR=$(conf validator listen)
AGG=$(conf aggregator listen) SNAP=$(conf aggregator snapshot) NOTIF=$(conf notifier listen)
check "the six endpoints are read from the configuration" \
    test -n "$FRONT" -a -n "$RECEIPTS" -a -n "$VALIDATOR" -a -n "$AGG" -a -n "$SNAP" -a -n "$NOTIF"

OUT=$RUN/inject; mkdir -p "$OUT"
# the tcp sockets are CURVE: inject as district 829's node and as the province's kh-feed
K829=(--key "$RUN/keys/node-829.key" --server-key "$RUN/keys/server.pub")
KPROV=(--key "$RUN/keys/province.key" --server-key "$RUN/keys/server.pub")
inj() { local n=$1; shift; "$INJ" "$@" >"$OUT/$n" 2>"$OUT/$n.err"; }   # inj NAME ARGS…
W=(--wait-ms 300)              # for what must not be answered (a window, not a bound)
A=(--acks 1 --wait-ms 120000)  # for what must be acknowledged (returns at the ack)
O=(--wait-ms 10000)            # a message over the limit: ZeroMQ drops the peer (the
                               # wait is a generous bound for that state)
P1000=$(printf 'P%.0s' $(seq 1000))
S200=$(printf 'S%.0s' $(seq 200))
# malformed warn lines of SERVICE's log, of one event or all
nlog() { local n; n=$(grep -c "\"event\":\"${2:-[a-z]*\.malformed}\"" "$RUN/logs/$1.log") || true; echo "${n:-0}"; }
sql_n() { sql "$RUN/$1.db" "$2"; }

# what is stored before: one report of 831, counted
"$BIN/kh-node" submit --district 831 "$IN/831/831-2019S1.csv" >/dev/null
check "a first report is counted" wait_settled 120 831
"$BIN/kh-feed" export --period 2019S1 --level 3 >"$RUN/before.csv"
# verdict_of FILE REPORT_ID — the accepted VERDICT message of REPORT_ID as it came: the
# aggregator stores it compressed (zstd, services/aggregator/store.h)
verdict_of() {
    sql "$RUN/aggregator.db" "SELECT writefile('$1.zst', verdict) FROM accepted
                              WHERE report_id='$2'" >/dev/null && zstd -dqf "$1.zst" -o "$1"
}
verdict_of "$OUT/verdict-831.bin" 831-2019S1
check "the aggregator stores a verdict compressed, the message whole inside" \
    test "$(stat -c %s "$OUT/verdict-831.bin.zst")" -lt "$(stat -c %s "$OUT/verdict-831.bin")"
sql "$RUN/notifier.db" "SELECT writefile('$OUT/event-831.bin', payload) FROM event
                        WHERE event_id='831-2019S1/1/counted'" >/dev/null
for s in collector validator aggregator notifier; do
    check_eq "no malformed input logged by the $s yet" 0 "$(nlog $s)"
done

# ---- phase 1: max_message_bytes 65536; the six sockets at once --------------------------
front() {        # the collector's node socket, as district 829 (one connection at a time)
    local C=(--endpoint "$FRONT" "${K829[@]}")
    inj f-other "${C[@]}" --report-file "$IN/831/831-2020S1.csv" --district 831 "${A[@]}"
    inj f-badperiod "${C[@]}" --report-file "$IN/829/829-2020S1.csv" --district 829 --period 2020S3 "${A[@]}"
    inj f-rand1 "${C[@]}" --random 64 "${W[@]}"
    inj f-rand3 "${C[@]}" --random 64 --frames 3 "${W[@]}"
    inj f-five "${C[@]}" --random 16 --frames 9 "${W[@]}"
    inj f-unknown "${C[@]}" --type BOGUS --raw 0a05ab "${W[@]}"
    inj f-trunc "${C[@]}" --report-file "$IN/829/829-2020S1.csv" --district 829 --truncate "${W[@]}"
    inj f-over "${C[@]}" --type REPORT --random 102400 "${O[@]}"
    inj f-wrong "${C[@]}" --report-file "$IN/829/829-2020S1.csv" --district 829 --as verdict "${W[@]}"
    inj f-badack "${C[@]}" --type ACK --raw 0a05ab "${W[@]}"
    inj f-noid "${C[@]}" --report-file "$IN/829/829-2020S1.csv" --district 829 --report-id '' "${W[@]}"
    inj f-rev0 "${C[@]}" --report-file "$IN/829/829-2020S1.csv" --district 829 --revision 0 "${W[@]}"
    inj f-p1000 "${C[@]}" --report-file "$IN/829/829-2020S1.csv" --district 829 --report-id 829-P \
        --period "$P1000" "${W[@]}"
    # field number 0 in a two-byte tag: libprotobuf-c decodes it but cannot re-decode
    # what it packs again (found by fuzzing); refused at the door, not passed on
    inj f-tag0 "${C[@]}" --type REPORT \
        --raw 0a0a3832392d3230313953311001220632303139533181000000000000000000 "${W[@]}"
    # a report just under the door's limit whose verdict and event grow past it (every
    # value "abc": one finding each): it must still flow to the end, not be resent forever
    sed '2,$s/,[^,]*$/,abc/' "$IN/829/829-2019S1.csv" >"$OUT/abc.csv"
    inj f-grow "${C[@]}" --report-file "$OUT/abc.csv" --district 829 "${A[@]}"
}
receipts() {     # the collector's receipts socket (the notifier's)
    local C=(--endpoint "$RECEIPTS") R=(--report-file "$IN/831/831-2018S1.csv" --district 831 --as receipt)
    inj r-rand1 "${C[@]}" --random 64 "${W[@]}"
    inj r-rand3 "${C[@]}" --random 64 --frames 3 "${W[@]}"
    inj r-five "${C[@]}" --random 16 --frames 9 "${W[@]}"
    inj r-unknown "${C[@]}" --type BOGUS --raw 0a05ab "${W[@]}"
    inj r-trunc "${C[@]}" "${R[@]}" --source-name "$S200" --truncate "${W[@]}"
    inj r-over "${C[@]}" --type RECEIPT --random 102400 "${O[@]}"
    inj r-wrong "${C[@]}" --report-file "$IN/829/829-2020S1.csv" --district 829 "${W[@]}"
    inj r-noid "${C[@]}" "${R[@]}" --event-id '' "${W[@]}"
    inj r-rev0 "${C[@]}" "${R[@]}" --revision 0 "${A[@]}"
    inj r-p1000 "${C[@]}" "${R[@]}" --report-id 831-P-R --period "$P1000" "${A[@]}"
}
validator() {
    local C=(--endpoint "$VALIDATOR") R=(--report-file "$IN/829/829-2017S1.csv" --district 829)
    inj v-rand1 "${C[@]}" --random 64 "${W[@]}"
    inj v-rand3 "${C[@]}" --random 64 --frames 3 "${W[@]}"
    inj v-five "${C[@]}" --random 16 --frames 9 "${W[@]}"
    inj v-unknown "${C[@]}" --type BOGUS --raw 0a05ab "${W[@]}"
    inj v-trunc "${C[@]}" "${R[@]}" --truncate "${W[@]}"
    inj v-over "${C[@]}" --type REPORT --random 102400 "${O[@]}"
    inj v-wrong "${C[@]}" "${R[@]}" --as receipt "${W[@]}"
    inj v-noid "${C[@]}" "${R[@]}" --report-id '' "${W[@]}"
    inj v-rev0 "${C[@]}" "${R[@]}" --revision 0 "${W[@]}"
    inj v-nodistrict "${C[@]}" "${R[@]}" --district '' --report-id 829-2017S1 "${W[@]}"
    inj v-p1000 "${C[@]}" "${R[@]}" --report-id 829-P-V --period "$P1000" "${A[@]}"
}
aggregator() {
    local C=(--endpoint "$AGG") R=(--report-file "$IN/832/832-2018S1.csv" --district 832 --as verdict)
    inj a-rand1 "${C[@]}" --random 64 "${W[@]}"
    inj a-rand3 "${C[@]}" --random 64 --frames 3 "${W[@]}"
    inj a-five "${C[@]}" --random 16 --frames 9 "${W[@]}"
    inj a-unknown "${C[@]}" --type BOGUS --raw 0a05ab "${W[@]}"
    inj a-trunc "${C[@]}" --type VERDICT --file "$OUT/verdict-831.bin" --truncate "${W[@]}"
    inj a-over "${C[@]}" --type VERDICT --random 102400 "${O[@]}"
    inj a-wrong "${C[@]}" "${R[@]}" --as event "${W[@]}"
    inj a-noid "${C[@]}" "${R[@]}" --report-id '' "${W[@]}"
    inj a-rev0 "${C[@]}" "${R[@]}" --revision 0 "${W[@]}"
    inj a-p1000 "${C[@]}" "${R[@]}" --report-id 832-P-A --period "$P1000" "${W[@]}"
    inj a-p1000-rejected "${C[@]}" "${R[@]}" --rejected --report-id 832-P-A --period "$P1000" "${A[@]}"
}
notifier() {
    local C=(--endpoint "$NOTIF") R=(--report-file "$IN/831/831-2018S2.csv" --district 831 --as event)
    inj n-rand1 "${C[@]}" --random 64 "${W[@]}"
    inj n-rand3 "${C[@]}" --random 64 --frames 3 "${W[@]}"
    inj n-five "${C[@]}" --random 16 --frames 9 "${W[@]}"
    inj n-unknown "${C[@]}" --type BOGUS --raw 0a05ab "${W[@]}"
    inj n-trunc "${C[@]}" --type EVENT --file "$OUT/event-831.bin" --truncate "${W[@]}"
    inj n-over "${C[@]}" --type EVENT --random 102400 "${O[@]}"
    inj n-wrong "${C[@]}" "${R[@]}" --as verdict "${W[@]}"
    inj n-noid "${C[@]}" "${R[@]}" --event-id '' "${W[@]}"
    inj n-rev0 "${C[@]}" "${R[@]}" --revision 0 "${A[@]}"
    inj n-p1000 "${C[@]}" "${R[@]}" --report-id 831-P-N --period "$P1000" "${A[@]}"
}
snapshot() {     # the aggregator's snapshot socket: SNAPSHOT? and HISTORY? requests
    local C=(--endpoint "$SNAP" "${KPROV[@]}")
    inj s-rand1 "${C[@]}" --random 64 "${W[@]}"
    inj s-rand3 "${C[@]}" --random 64 --frames 3 "${W[@]}"
    inj s-five "${C[@]}" --random 16 --frames 9 "${W[@]}"
    inj s-unknown "${C[@]}" --type BOGUS --raw 0a05ab "${W[@]}"
    inj s-trunc "${C[@]}" --as history --district 831 --period 2019S1 --truncate "${W[@]}"
    inj s-over "${C[@]}" --type 'SNAPSHOT?' --random 102400 "${O[@]}"
    inj s-wrong "${C[@]}" --report-file "$IN/829/829-2020S1.csv" --district 829 --as verdict "${W[@]}"
    inj s-noid "${C[@]}" --as history --replies 1 --wait-ms 120000
    inj s-p1000 "${C[@]}" --as history --district 831 --period "$P1000" "${W[@]}"
    inj s-ahead "${C[@]}" --as feedreq --from-seq 1000000000 --replies 1 --wait-ms 120000
    inj s-range "${C[@]}" --as feedreq --from-seq 1 --to-seq 9223372036854775807 --replies 2 \
        --wait-ms 120000
}
front & receipts & validator & aggregator & notifier & snapshot & wait

# replies: an ACK only for what is well-formed; a door refusal is acknowledged too
has() { grep -qx -- "$2" "$OUT/$1"; }
check "door: a report whose verdict outgrows the door's limit is acknowledged" \
    has f-grow "ACK 829-2019S1/1 dup=0"
check "door: another district's report is acknowledged (refused with a receipt)" \
    has f-other "ACK 831-2020S1/1 dup=0"
check "door: a malformed period is refused at the door, with a receipt (issue 11)" \
    has f-badperiod "ACK 829-2020S3/1 dup=0"
check "receipts: revision 0 is carried (acknowledged)" has r-rev0 "ACK 831-2018S1/0/accepted dup=0"
check "receipts: a 1000-character period is carried" has r-p1000 "ACK 831-P-R/1/accepted dup=0"
check "validator: a 1000-character period is rejected, acknowledged" has v-p1000 "ACK 829-P-V/1 dup=0"
check "aggregator: a rejected verdict with a 1000-character period is kept, acknowledged" \
    has a-p1000-rejected "ACK 832-P-A/1 dup=0"
check "notifier: revision 0 is carried" has n-rev0 "ACK 831-2018S2/0/accepted dup=0"
check "notifier: a 1000-character period is carried" has n-p1000 "ACK 831-P-N/1/accepted dup=0"
check "snapshot: a history request without district has an empty answer" has s-noid "HISTORY entries=0"
check "snapshot: a range beyond the feed is not 'complete' (take a snapshot)" \
    grep -q '^SNAPSHOT\$ .* complete=0$' "$OUT/s-ahead"
check "snapshot: a huge range is served and complete" \
    grep -q '^SNAPSHOT\$ seq=1 complete=1$' "$OUT/s-range"
unanswered=(f-rand1 f-rand3 f-five f-unknown f-trunc f-over f-wrong f-badack f-noid f-rev0 f-p1000 f-tag0
            r-rand1 r-rand3 r-five r-unknown r-trunc r-over r-wrong r-noid
            v-rand1 v-rand3 v-five v-unknown v-trunc v-over v-wrong v-noid v-rev0 v-nodistrict
            a-rand1 a-rand3 a-five a-unknown a-trunc a-over a-wrong a-noid a-rev0 a-p1000
            n-rand1 n-rand3 n-five n-unknown n-trunc n-over n-wrong n-noid
            s-rand1 s-rand3 s-five s-unknown s-trunc s-over s-wrong s-p1000)
check_eq "none of the ${#unanswered[@]} malformed messages is answered" 0 \
    "$(cd "$OUT" && cat "${unanswered[@]}" | grep -cv -e '^DISCONNECTED$' -e '^RECEIPT ')"
for o in f-over r-over v-over a-over n-over s-over; do
    check "$o: 100 KB over a 64 KiB max_message_bytes: the peer is dropped" has $o DISCONNECTED
done
check "every process is alive after phase 1" all_alive

# ---- phase 2: max_message_bytes 32 MiB for the 10 MB strings and 300,000 values ----------
set_conf general max_message_bytes 33554432
set_conf general internal_max_message_bytes 67108864
pipeline stop >/dev/null; pipeline start 831 >/dev/null || exit 1
BIG=(--big-string 10000000) TINY=(--tiny 300000)
(inj f-big --endpoint "$FRONT" "${K829[@]}" --report-file "$IN/829/829-2018S1.csv" --district 829 "${BIG[@]}" "${A[@]}"
 inj f-tiny --endpoint "$FRONT" "${K829[@]}" --report-file "$IN/829/829-2018S2.csv" --district 829 "${TINY[@]}" "${A[@]}") &
(inj r-big --endpoint "$RECEIPTS" --report-file "$IN/831/831-2017S1.csv" --district 831 --as receipt "${BIG[@]}" "${A[@]}"
 inj r-tiny --endpoint "$RECEIPTS" --report-file "$IN/831/831-2017S2.csv" --district 831 --as receipt --stage 2 "${TINY[@]}" "${A[@]}") &
(inj v-big --endpoint "$VALIDATOR" --report-file "$IN/829/829-2017S1.csv" --district 829 "${BIG[@]}" "${A[@]}"
 inj v-tiny --endpoint "$VALIDATOR" --report-file "$IN/829/829-2017S2.csv" --district 829 "${TINY[@]}" "${A[@]}") &
(inj a-big --endpoint "$AGG" --report-file "$IN/832/832-2017S1.csv" --district 832 --as verdict "${BIG[@]}" "${A[@]}"
 inj a-tiny --endpoint "$AGG" --report-file "$IN/832/832-2017S2.csv" --district 832 --as verdict "${TINY[@]}" "${A[@]}") &
(inj n-big --endpoint "$NOTIF" --report-file "$IN/831/831-2020S1.csv" --district 831 --as event "${BIG[@]}" "${A[@]}"
 inj n-tiny --endpoint "$NOTIF" --report-file "$IN/831/831-2020S2.csv" --district 831 --as event --stage 2 "${TINY[@]}" "${A[@]}") &
# nothing answers it, so the injector's wait ends first: it lingers until the 10 MB are out
(inj s-big --endpoint "$SNAP" "${KPROV[@]}" --as history --period 2019S1 --big-field district "${BIG[@]}" "${W[@]}" \
     --linger-ms 120000) &
wait
check "door: a 10 MB source name is acknowledged (refused as too large)" has f-big "ACK 829-2018S1/1 dup=0"
check "door: 300,000 values are acknowledged (refused as too large)" has f-tiny "ACK 829-2018S2/1 dup=0"
check_eq "door: neither goes further than the collector" 0 \
    "$(sql "$RUN/aggregator.db" "SELECT count(*) FROM rejected WHERE report_id IN ('829-2018S1','829-2018S2')")"
check "door: the refusals say why" grep -q '"code":"TOO_LARGE"' "$RUN/logs/collector.log"
check "receipts: a 10 MB source name is carried" has r-big "ACK 831-2017S1/1/accepted dup=0"
check "receipts: 300,000 findings are carried" has r-tiny "ACK 831-2017S2/1/rejected dup=0"
check "validator: a 10 MB source name is acknowledged" has v-big "ACK 829-2017S1/1 dup=0"
check "validator: 300,000 values are acknowledged" has v-tiny "ACK 829-2017S2/1 dup=0"
check "aggregator: a verdict with a 10 MB source name is acknowledged" has a-big "ACK 832-2017S1/1 dup=0"
check "aggregator: a verdict with 300,000 values is acknowledged" has a-tiny "ACK 832-2017S2/1 dup=0"
check "notifier: a 10 MB source name is carried" has n-big "ACK 831-2020S1/1/accepted dup=0"
check "notifier: 300,000 findings are carried" has n-tiny "ACK 831-2020S2/1/rejected dup=0"
check_eq "snapshot: a history request for a 10 MB district is not answered" 0 \
    "$(grep -cv '^DISCONNECTED$' "$OUT/s-big")"

# ---- replays -----------------------------------------------------------------------------
REP=(--endpoint "$FRONT" "${K829[@]}" --report-file "$IN/829/829-2020S1.csv" --district 829 --revision 1)
inj replay-a "${REP[@]}" --repeat 2 --acks 2 --wait-ms 120000
check_eq "a report and its replay on the same connection: new, then duplicate" \
    "ACK 829-2020S1/1 dup=0,ACK 829-2020S1/1 dup=1" "$(grep '^ACK' "$OUT/replay-a" | paste -sd,)"
counted_829() { [ "$(sql_n aggregator "SELECT count(*) FROM counted WHERE district='829'
                 AND period='2020S1'")" = 1 ]; }
until_ok() { wait_for 120 "$@"; }
check "the report is counted" until_ok counted_829
# the pipeline is quiet (only receipts for nodes not started yet wait) before counting
inner() {
    local n
    n=$(sql_n collector "SELECT count(*) FROM outbox_validator")
    n=$((n + $(sql_n validator "SELECT (SELECT count(*) FROM outbox_aggregator)+(SELECT count(*) FROM outbox_notifier)")))
    n=$((n + $(sql_n aggregator "SELECT count(*) FROM outbox_notifier")))
    n=$((n + $(sql_n notifier "SELECT count(*) FROM outbox_collector")))
    [ "$n" = 0 ]
}
check "the pipeline is quiet" until_ok inner
feed0=$(sql_n aggregator "SELECT count(*) || '/' || max(seq) FROM feed")
inj replay-b "${REP[@]}" "${A[@]}"
check_eq "the replay on a new connection (the same key): duplicate" \
    "ACK 829-2020S1/1 dup=1" "$(grep '^ACK' "$OUT/replay-b")"
verdict_of "$OUT/verdict-829.bin" 829-2020S1
event_829() { [ -n "$(sql_n notifier "SELECT 1 FROM event WHERE event_id='829-2020S1/1/counted'")" ]; }
check "the notifier has its COUNTED event" until_ok event_829
sql "$RUN/notifier.db" "SELECT writefile('$OUT/event-829.bin', payload) FROM event
                        WHERE event_id='829-2020S1/1/counted'" >/dev/null
events0=$(sql_n notifier "SELECT count(*) FROM event")
inj replay-verdict --endpoint "$AGG" --type VERDICT --file "$OUT/verdict-829.bin" "${A[@]}"
check_eq "a VERDICT replayed into the aggregator: duplicate" "ACK 829-2020S1/1 dup=1" \
    "$(grep '^ACK' "$OUT/replay-verdict")"
inj replay-event --endpoint "$NOTIF" --type EVENT --file "$OUT/event-829.bin" "${A[@]}"
check_eq "an EVENT replayed into the notifier: duplicate" "ACK 829-2020S1/1/counted dup=1" \
    "$(grep '^ACK' "$OUT/replay-event")"
# anything a replay set off is committed before its ACK (in an outbox, or further on):
# once the stages between are quiet it has arrived
check "the pipeline is quiet after the replays" until_ok inner
check_eq "the collector stored the report once" 1 \
    "$(sql_n collector "SELECT count(*) FROM report WHERE report_id='829-2020S1'")"
check_eq "the aggregator applied it once" 1 \
    "$(sql_n aggregator "SELECT count(*) FROM accepted WHERE report_id='829-2020S1'")"
check_eq "no feed update from the replays" "$feed0" \
    "$(sql_n aggregator "SELECT count(*) || '/' || max(seq) FROM feed")"
check_eq "no new event from the replays" "$events0" "$(sql_n notifier "SELECT count(*) FROM event")"

# ---- afterwards: alive, everything counted exactly once, a normal report still counted ----
check "every process is alive after phase 2 and the replays" all_alive
pipeline start 829 832 >/dev/null || exit 1   # real nodes for 829, and 832 (receipts of injected verdicts)
"$BIN/kh-node" submit --district 829 "$IN/829/829-2019S2.csv" >/dev/null
check "a normal report afterwards is received, accepted and counted" wait_settled 120 829 831
check_eq "its stage" counted "$(node_stages 829 | awk -F'\t' '$1=="829-2019S2"{print $3}')"
"$BIN/kh-feed" export --period 2019S1 --level 3 >"$RUN/after.csv"
check "what was stored before is undisturbed" cmp -s "$RUN/before.csv" "$RUN/after.csv"
outboxes() { inner && [ "$(sql_n collector "SELECT count(*) FROM outbox_nodes")" = 0 ]; }
check "every outbox empties: nothing is left resent forever" until_ok outboxes
check "every process is still alive at the end" all_alive
check_eq "the door's refusal reached district 829's node" 1 \
    "$(sql "$RUN/node-829/outbox.db" "SELECT count(*) FROM receipt WHERE event_id='831-2020S1/1/refused'")"
check_eq "so did the door's refusal of the period 2020S3" 1 \
    "$(sql "$RUN/node-829/outbox.db" "SELECT count(*) FROM receipt WHERE event_id='829-2020S3/1/refused'")"
check_eq "the aggregator keeps the rejected revisions, whatever their period (2020S3 never got past the door)" \
    "829-2017S2 829-2019S1 829-P-V 832-P-A" \
    "$(sql_n aggregator "SELECT report_id FROM rejected ORDER BY 1" | paste -sd' ')"
check_eq "what the aggregator counts" \
    "829/2017S1/1 829/2019S2/1 829/2020S1/1 831/2019S1/1 832/2017S1/1 832/2017S2/1" \
    "$(sql_n aggregator "SELECT district||'/'||period||'/'||revision FROM counted ORDER BY 1" | paste -sd' ')"
check_eq "the reports refused as too large are not stored" 0 \
    "$(sql_n collector "SELECT count(*) FROM report WHERE report_id IN ('829-2018S1','829-2018S2')")"
verdict_of "$OUT/verdict-big.bin" 829-2017S1
check_eq "the validator's own 10 MB source name went through whole" 1 \
    "$(( $(stat -c %s "$OUT/verdict-big.bin") > 10000000 ))"

# every malformed input logged and counted exactly once, per service and event
reached() { [ "$(nlog "$1" "$2")" -ge "$3" ]; }
expect() {   # expect SERVICE EVENT N — waits until N lines came (a 10 MB message may still
             # be on its way on a busy machine), then checks there are exactly N
    wait_for 120 reached "$1" "$2" "$3"
    check_eq "$1 logged $3 × $2" "$3" "$(nlog "$1" "$2")"
}
expect collector message.malformed 9     # door: 1 frame, 3 frames, BOGUS, VERDICT, bad ACK;
                                         # receipts: 1 frame, 3 frames, BOGUS, REPORT
expect collector zmq.malformed 2         # 9 frames, on each socket
expect collector report.malformed 5      # truncated, no id, revision 0, 1000-char period, tag 0
expect collector receipt.malformed 2     # truncated, no event id
expect validator message.malformed 4     # 1 frame, 3 frames, BOGUS, RECEIPT
expect validator zmq.malformed 1
expect validator report.malformed 4      # truncated, no id, revision 0, no district
expect aggregator message.malformed 4    # 1 frame, 3 frames, BOGUS, EVENT
expect aggregator zmq.malformed 2        # 9 frames, on listen and on snapshot
expect aggregator verdict.malformed 4    # truncated, no id, revision 0, accepted + bad period
expect aggregator feed.malformed 4       # snapshot: 1 frame, 3 frames, BOGUS, VERDICT
expect aggregator history.malformed 3    # truncated, 1000-char period, 10 MB district
expect notifier message.malformed 4      # 1 frame, 3 frames, BOGUS, VERDICT
expect notifier zmq.malformed 1
expect notifier event.malformed 2        # truncated, no event id
check_eq "the collector's own .malformed warnings carry the counter (zmq.malformed is kh_zuv's)" 16 \
    "$(grep '"event":"[a-z]*\.malformed"' "$RUN/logs/collector.log" | grep -c '"malformed":"[0-9]')"
