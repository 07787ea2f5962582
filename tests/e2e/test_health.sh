#!/usr/bin/env bash
# Health (issue 6): every service serves its counters as Prometheus text on its metrics
# endpoint, and `kh-admin status` shows them with the last report of each district.
# While the 72 demo reports flow, the four endpoints and kh-admin status answer and
# parse; at rest the counters add up exactly (what the collector took in, what the
# validator decided, what the aggregator counted), nothing is malformed, every queue is
# empty, kh-admin shows the same figures as /metrics and the nine districts' last
# reports; then one malformed message moves the malformed counters by exactly one.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
INJ=$TOP/${KH_BUILD:-build}/tests/tools/kh-inject
[ -x "$INJ" ] || { echo "not ok - $INJ is not built (make)"; exit 1; }
start_test health
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
pipeline start >/dev/null || exit 1

SVCS=(collector validator aggregator notifier)
declare -A ADDR
for s in "${SVCS[@]}"; do ADDR[$s]=$(conf "$s" metrics); done
check "the four metrics addresses are in the configuration (per-test ports)" \
    test -n "${ADDR[collector]}" -a -n "${ADDR[validator]}" -a -n "${ADDR[aggregator]}" \
         -a -n "${ADDR[notifier]}" -a "${ADDR[collector]}" != 127.0.0.1:7104
M=$RUN/metrics; mkdir -p "$M"

# promcheck FILE — the Prometheus text exposition format (0.0.4): every sample line is
# NAME[{LABEL="VALUE",…}] NUMBER, its family has one HELP and one TYPE line before it,
# the series of a family are together and none is repeated
promcheck() {
    python3 - "$1" <<'PY'
import re, sys
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
lab = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:\\.|[^"\\])*"'
sample = re.compile(rf'^({name})(\{{{lab}(?:,{lab})*\}})? (-?[0-9.]+(?:[eE][-+]?[0-9]+)?)$')
help_, type_, done, seen, cur, n = set(), {}, set(), set(), None, 0
for i, l in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    l = l.rstrip("\n")
    if l.startswith("# HELP "):
        f = l.split(" ")[2]
        assert f not in help_, f"line {i}: second HELP for {f}"
        help_.add(f)
    elif l.startswith("# TYPE "):
        _, _, f, t = l.split(" ")
        assert f not in type_ and t in ("counter", "gauge"), f"line {i}: {l}"
        type_[f] = t
    else:
        m = sample.match(l)
        assert m, f"line {i}: not a sample: {l!r}"
        f = m.group(1)
        assert f in help_ and f in type_, f"line {i}: {f} has no HELP/TYPE before it"
        assert f == cur or f not in done, f"line {i}: family {f} split"
        if cur and f != cur: done.add(cur)
        cur = f
        key = f + (m.group(2) or "")
        assert key not in seen, f"line {i}: {key} twice"
        seen.add(key); n += 1
        if type_[f] == "counter": assert float(m.group(3)) >= 0, f"line {i}: negative counter"
assert n >= 3, "no samples"
PY
}
scrape() { curl -sf -m 60 "http://${ADDR[$1]}/metrics" >"$2"; }    # scrape SERVICE FILE
val() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "missing" }' "$M/$2"; }
nstatus() { grep -cE '^(collector|validator|aggregator|notifier) +up ' "$1"; }

# ---- while the reports flow -------------------------------------------------------------
# the first four districts' reports, then the other five once a scrape has seen a count
# between 0 and 72: so /metrics is surely read while reports are on their way, however
# fast or slow the machine is
(submit_all "$RUN/input" 829 831 832 833 &&
 wait_for 300 test -e "$M/seen-midway" && submit_all "$RUN/input" 834 835 836 837 838) &
submitter=$!
rounds=0 bad=0 status_bad=0 flow_start=$SECONDS
while :; do
    for s in "${SVCS[@]}"; do
        { scrape "$s" "$M/flow-$s" && promcheck "$M/flow-$s" 2>>"$M/flow-errors"; } ||
            { bad=$((bad + 1)); echo "round $rounds: $s" >>"$M/flow-errors"; }
    done
    "$BIN/kh-admin" status --timeout-ms 60000 >"$M/flow-status" 2>&1 || status_bad=$((status_bad + 1))
    [ "$(nstatus "$M/flow-status")" = 4 ] || status_bad=$((status_bad + 1))
    rounds=$((rounds + 1))
    # what was seen: the collector's reports in, the aggregator's counted
    c_in=$(val 'kh_outbox_queued_total{outbox="validator"}' flow-collector)
    a_in=$(val kh_reports_counted_total flow-aggregator)
    echo "$c_in $a_in" >>"$M/flow-seen"
    awk '($1 > 0 && $1 < 72) || ($2 > 0 && $2 < 72) { f = 1 } END { exit !f }' "$M/flow-seen" &&
        touch "$M/seen-midway"
    if [ -n "$submitter" ] && ! kill -0 "$submitter" 2>/dev/null; then
        wait "$submitter"
        check_eq "the 72 reports are queued at the nodes" 0 "$?"
        submitter=
    fi
    # until the aggregator has counted what it will count (or 300 s: then the checks
    # below say what is missing)
    [ -z "$submitter" ] && { [ "$a_in" = 72 ] || [ $((SECONDS - flow_start)) -ge 300 ]; } && break
    sleep 0.2
done
echo "# seen while flowing (collector in, aggregator counted): $(sort -u "$M/flow-seen" | paste -sd,)"
check "/metrics read while the reports were on their way (a count between 0 and 72 seen)" \
    awk '($1 > 0 && $1 < 72) || ($2 > 0 && $2 < 72) { f = 1 } END { exit !f }' "$M/flow-seen"
check "while reports flow, $rounds rounds: each /metrics answers and is Prometheus text" \
    test "$rounds" -ge 1 -a "$bad" -eq 0
[ "$bad" -eq 0 ] || sed 's/^/# /' "$M/flow-errors"
check_eq "while reports flow, kh-admin status answers (exit 0) with four services up" 0 "$status_bad"
check "all 72 reports settle" wait_settled 180 "${DISTRICTS[@]}"

# ---- at rest: two scrapes 1.2 s apart agree (the counts are copied every 0.5 s, by a timer
# of the loop that answers the scrape: a scrape answered 1.2 s after another comes after a
# copy, however slow the machine) --------------------------------------------------------------
rest() {
    for s in "${SVCS[@]}"; do scrape "$s" "$M/$1-$s" || return 1; done
}
settled=0 rest_start=$SECONDS
while [ $((SECONDS - rest_start)) -lt 300 ]; do
    rest a || { sleep 0.5; continue; }
    sleep 1.2
    rest b || continue
    same=1
    for s in "${SVCS[@]}"; do
        cmp -s <(grep -v '^kh_uptime_seconds' "$M/a-$s") <(grep -v '^kh_uptime_seconds' "$M/b-$s") ||
            same=0
    done
    depth=$(cat "$M"/b-* | awk '$1 ~ /^kh_outbox_depth/ { t += $2 } END { print t + 0 }')
    if [ "$same" = 1 ] && [ "$depth" = 0 ]; then settled=1; break; fi
done
check "the counters come to rest with every queue empty" test "$settled" = 1
for s in "${SVCS[@]}"; do cp "$M/b-$s" "$M/$s"; done
for s in "${SVCS[@]}"; do
    check "$s: /metrics at rest is Prometheus text" promcheck "$M/$s"
    check_eq "$s: kh_service_info names the service" 1 \
        "$(grep -c "^kh_service_info{service=\"$s\",version=\"[^\"]*\"} 1$" "$M/$s")"
done
for s in "${SVCS[@]}"; do
    check "$s: queues empty at rest ($(grep '^kh_outbox_depth' "$M/$s" | paste -sd' '))" \
        test -z "$(awk '$1 ~ /^kh_outbox_depth/ && $2 != 0' "$M/$s")" -a \
             -n "$(grep '^kh_outbox_depth' "$M/$s")"
    check_eq "$s: nothing malformed reached its inbox" 0 "$(val kh_inbox_malformed_total "$s")"
done
for s in validator aggregator; do
    check_eq "$s: no malformed message" 0 "$(val kh_messages_malformed_total "$s")"
done

# what the nodes were told, one final stage per report
stages=$(for d in "${DISTRICTS[@]}"; do node_stages "$d"; done | cut -f3 | sort | uniq -c |
         awk '{ printf "%s=%s ", $2, $1 }')
n_counted=$(for d in "${DISTRICTS[@]}"; do node_stages "$d"; done | awk -F'\t' '$3 == "counted"' | wc -l)
n_rejected=$(for d in "${DISTRICTS[@]}"; do node_stages "$d"; done | awk -F'\t' '$3 == "rejected"' | wc -l)
echo "# stages at the nodes: $stages"

# collector: every report sent was received once, and queued once for the validator
check_eq "collector: reports received (queued for the validator) = reports sent" 72 \
    "$(val 'kh_outbox_queued_total{outbox="validator"}' collector)"
check_eq "collector: kh_reports_received_total = reports sent" 72 \
    "$(val kh_reports_received_total collector)"
check_eq "collector: none refused at the door" 0 "$(val kh_reports_refused_total collector)"
check_eq "collector: messages applied = 72 reports + every receipt the notifier queued" \
    "$((72 + $(val 'kh_outbox_queued_total{outbox="collector"}' notifier)))" \
    "$(val kh_inbox_applied_total collector)"
# validator: every message received was decided
v_recv=$(val kh_inbox_received_total validator)
v_acc=$(val kh_reports_accepted_total validator)
v_rej=$(val 'kh_reports_rejected_total{reason="rules"}' validator)
check_eq "validator: accepted + rejected = received ($v_acc + $v_rej)" "$v_recv" $((v_acc + v_rej))
check "validator: received every report (72, more only if the collector resent)" \
    test "$v_recv" -ge 72 -a "$v_recv" -le $((72 + $(val 'kh_outbox_resent_total{outbox="validator"}' collector)))
# aggregator: each report's verdict applied once; counted + superseded + refused = accepted
a_app=$(val kh_inbox_applied_total aggregator)
a_cnt=$(val kh_reports_counted_total aggregator)
a_sup=$(val kh_reports_superseded_total aggregator)
a_sig=$(val 'kh_reports_rejected_total{reason="signature"}' aggregator)
a_vrej=$(val kh_verdicts_rejected_total aggregator)
check_eq "aggregator: one verdict applied per report" 72 "$a_app"
check_eq "aggregator: counted + superseded + bad signature + rejected verdicts = applied" \
    "$a_app" $((a_cnt + a_sup + a_sig + a_vrej))
check_eq "aggregator: nothing superseded, no bad signature (no revisions here)" "0 0" "$a_sup $a_sig"
check_eq "aggregator: counted = the nodes' 'counted' receipts" "$n_counted" "$a_cnt"
check_eq "aggregator: counted = rows of its counted table" \
    "$(sql "$RUN/aggregator.db" 'SELECT count(*) FROM counted')" "$a_cnt"
check_eq "aggregator: rejected verdicts = the nodes' 'rejected' receipts" "$n_rejected" "$a_vrej"
if [ "$v_recv" = 72 ]; then
    check_eq "validator accepted = aggregator counted + superseded + bad signature" \
        "$v_acc" $((a_cnt + a_sup + a_sig))
    check_eq "validator rejected = aggregator's rejected verdicts" "$v_rej" "$a_vrej"
else      # a report validated twice (resent) is a duplicate at the aggregator
    check_eq "validator decisions = aggregator applied + duplicates" \
        $((v_acc + v_rej)) $((a_app + $(val kh_inbox_duplicates_total aggregator)))
fi
check_eq "notifier: every event it received was applied or a duplicate" \
    "$(val kh_inbox_received_total notifier)" \
    $(($(val kh_inbox_applied_total notifier) + $(val kh_inbox_duplicates_total notifier)))

# ---- kh-admin status shows the same ------------------------------------------------------
"$BIN/kh-admin" status --json >"$M/status.json"
check_eq "kh-admin status --json: exit 0 (all up)" 0 "$?"
"$BIN/kh-admin" status >"$M/status.txt"
check_eq "kh-admin status: exit 0" 0 "$?"
check_eq "kh-admin status: four services up" 4 "$(nstatus "$M/status.txt")"
rest now
check "kh-admin status --json: every series equals /metrics (uptime aside)" \
    python3 - "$M/status.json" "$M" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
ok = True
for s in st["services"]:
    if s["state"] != "up": print(f"# {s['service']} {s['state']}"); ok = False; continue
    prom = {}
    for l in open(f"{sys.argv[2]}/now-{s['service']}"):
        if l.startswith("#"): continue
        k, v = l.split(" "); prom[k] = float(v)
    got = {k: float(v) for k, v in s["metrics"].items()}
    for k in set(prom) | set(got):
        if k == "kh_uptime_seconds": continue
        if prom.get(k) != got.get(k):
            print(f"# {s['service']} {k}: /metrics {prom.get(k)} status {got.get(k)}"); ok = False
sys.exit(0 if ok else 1)
PY
row() { awk -v s="$1" '$1 == s' "$M/status.txt"; }
check_eq "kh-admin status: the validator's row shows its accepted and rejected" "$v_acc $v_rej" \
    "$(row validator | awk '{ print $5, $6 }')"
check_eq "kh-admin status: the aggregator's row shows what it counted" "$a_cnt" \
    "$(row aggregator | awk '{ print $7 }')"
check "kh-admin status: queue depths shown" grep -q 'validator=0 nodes=0' <(row collector)

# the last report of each district: nine, each 2020S2, with what became of it
expect=$(for d in "${DISTRICTS[@]}"; do
    printf '%s %s-2020S2 2020S2 1 %s\n' "$d" "$d" \
        "$(node_stages "$d" | awk -F'\t' -v id="$d-2020S2" '$1 == id { print $3 }')"
done)
check_eq "kh-admin status: the last report of all nine districts, 2020S2, with its stage" \
    "$expect" "$(python3 -c 'import json,sys
for d in json.load(open(sys.argv[1]))["districts"]:
    print(d["district"], d["report_id"], d["period"], d["revision"], d["stage"])' "$M/status.json")"
check "kh-admin status: districts named from the catalogue (Ba Tri, Giồng Trôm…)" \
    python3 -c 'import json,sys
ds = json.load(open(sys.argv[1]))["districts"]
sys.exit(not (len(ds) == 9 and all(d["name"] for d in ds) and all(d["received_at"] for d in ds)))' \
    "$M/status.json"
check "kh-admin status (table): nine district rows" \
    test "$(grep -cE '^8[23][0-9] .*2020S2' "$M/status.txt")" = 9

# ---- one malformed message ------------------------------------------------------------------
VALIDATOR=$(conf validator listen)
"$INJ" --endpoint "$VALIDATOR" --type BOGUS --raw 0a05ab --wait-ms 300 >"$M/inject" 2>&1
check_eq "a message of an unknown type is sent to the validator (not acknowledged)" "" \
    "$(grep ACK "$M/inject")"
malformed_moved() {
    scrape validator "$M/after-validator" 2>/dev/null &&
        [ "$(val kh_messages_malformed_total after-validator)" != 0 ]
}
wait_for 120 malformed_moved
sleep 1.2        # on purpose: a second copy (every 0.5 s), where a double count would show
scrape validator "$M/after-validator"
check_eq "validator: malformed counter up by exactly one" 1 "$(val kh_messages_malformed_total after-validator)"
check_eq "validator: its inbox counted it malformed, once" 1 "$(val kh_inbox_malformed_total after-validator)"
check_eq "validator: received one more, decided nothing more" \
    "$((v_recv + 1)) $v_acc $v_rej" \
    "$(val kh_inbox_received_total after-validator) $(val kh_reports_accepted_total after-validator) $(val 'kh_reports_rejected_total{reason="rules"}' after-validator)"
for s in collector aggregator notifier; do
    scrape "$s" "$M/after-$s"
    check_eq "$s: still nothing malformed" 0 "$(val kh_inbox_malformed_total "after-$s")"
done
check_eq "kh-admin status shows the validator's malformed count" 1 \
    "$("$BIN/kh-admin" status | awk '$1 == "validator" { print $9 }')"

# ---- down is down ----------------------------------------------------------------------------
pipeline kill notifier >/dev/null 2>&1
"$BIN/kh-admin" status --timeout-ms 60000 >"$M/down.txt" 2>&1   # the down one refuses at once
check_eq "kh-admin status: exit 1 when a service is down" 1 "$?"
check "kh-admin status: the notifier is shown down, the others up" \
    test "$(awk '$1 == "notifier" { print $2 }' "$M/down.txt")" = down -a "$(nstatus "$M/down.txt")" = 3
KH_CONFIG=$RUN/missing.ini "$BIN/kh-admin" status >"$M/nocfg.txt" 2>&1
check_eq "kh-admin status: exit 2 when the configuration cannot be read" 2 "$?"
check_eq "…with a one-line reason" 1 "$(wc -l <"$M/nocfg.txt")"

# ---- a metrics port already taken: the service says so and does not start --------------------
python3 -c 'import socket, sys, time
h, p = sys.argv[1].rsplit(":", 1)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((h, int(p))); s.listen(1); print("held", flush=True); time.sleep(600)' \
    "${ADDR[notifier]}" >"$M/holder" &
holder=$!
wait_for 120 grep -q held "$M/holder"
timeout 300 "$BIN/kh-notifier" >"$M/taken.txt" 2>&1
rc=$?
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
check_eq "a service whose metrics port is taken does not start (exit 1)" 1 "$rc"
check "…and says why in one line" \
    grep -q "cannot listen on ${ADDR[notifier]} for metrics: Address already in use" "$M/taken.txt"
