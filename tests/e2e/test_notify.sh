#!/usr/bin/env bash
# Notifications (issue 6): reminders to the districts that have not reported, province
# alerts (late, missing, late report, rule warnings, period complete) on an HTTP webhook
# that fails at first, every notice made once and delivered once, across kill -9 and
# restarts.  "Today" is the pipeline's clock ([general] clock, 10:00 of the day); each
# change of day restarts the four province services on the new day (the nodes stay up).
#
#   20 Nov 2020  829, 831 (one commune breaks warning rule R14), 832 report: a warnings
#                alert, delivered on the 5th attempt (500, 500, 500, dropped, 200)
#   30 Nov       reminder window (due 5 Dec, reminder_days 7): reminders to 833–838 only;
#                kill -9, restart: no second reminder; 833 reports on time
#   6 Dec        the receiver answers 503; late alerts for 834–838; kill -9 in the middle
#                of their retries; 834 reports (a late report); the receiver recovers
#   20 Dec       past the grace (10 days): missing alerts for 835–838; they report (late
#                reports); all nine counted: the period-complete notice
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test notify
base=$((20000 + ($$ % 400) * 10))        # start_test's port range; +7 is free for the sink
port=$((base + 7))
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
in=$RUN/input

set_conf notifier first_period 2020S2
set_conf notifier reminder_days 7
set_conf notifier grace_days 10
set_conf notifier check_interval_s 1
set_clock 2020-11-20T10:00:00
set_conf notifier webhook_url "http://127.0.0.1:$port/kh"
set_conf notifier webhook_retry 1
set_conf notifier webhook_timeout_ms 60000   # no attempt fails by a timeout on a slow machine:
                                              # the sink answers or drops at once

mkdir -p "$RUN/sink"
python3 "$TOP/tests/e2e/webhook_sink.py" --port "$port" --dir "$RUN/sink" --fail-first 3 \
    --drop-first 1 --fail-while "$RUN/sink.fail" >"$RUN/sink.log" 2>&1 &
sink=$!
trap 'kill "$sink" 2>/dev/null; pipeline stop >/dev/null 2>&1 || true' EXIT

ndb() { sql "$RUN/notifier.db" "$1"; }
is() { [ "$(ndb "$1")" = "$2" ]; }                 # is QUERY EXPECTED
counted() { node_stages "$1" |
            awk -F'\t' -v r="$1-2020S2" '$1 == r && $3 == "counted" { f = 1 } END { exit !f }'; }
all_counted() { local d; for d in "$@"; do counted "$d" || return 1; done; }
reminders() { node_reminders "$1" 2020S2; }
all_reminded() { local d; for d in "$@"; do [ "$(reminders "$d")" -ge 1 ] || return 1; done; }
ids() { ndb "SELECT ifnull(group_concat(id, ' '), '') FROM (SELECT id FROM notice WHERE $1 ORDER BY id)"; }
PROVINCE=(notifier aggregator validator collector)
restart_notifier() {   # restart_notifier DAY [kill] — a new day: the province services
    # stopped (SIGTERM) and started on DAY; kill: the notifier alone killed -9 and started
    # again on the same day
    if [ "${2:-}" = kill ]; then
        pipeline kill notifier
        pipeline restart notifier >/dev/null
        return
    fi
    local s p
    for s in "${PROVINCE[@]}"; do
        p=$(cat "$RUN/pids/$s.pid"); kill -TERM "$p"; wait_gone 120 "$p"
    done
    set_clock "${1}T10:00:00"
    for s in "${PROVINCE[@]}"; do pipeline restart "$s" >/dev/null; done
}
late5="late/2020S2/834 late/2020S2/835 late/2020S2/836 late/2020S2/837 late/2020S2/838"

pipeline start >/dev/null || exit 1
wait_for 60 test -s "$RUN/sink.log" || { echo "not ok - the webhook receiver did not start"; exit 1; }

# ---- 20 November: three districts report, one with a rule warning ----------------------
python3 - "$in/831/831-2020S2.csv" "$RUN/831-2020S2.csv" <<'PY'
import sys
rows = [l.rstrip("\n").split(",") for l in open(sys.argv[1], encoding="utf-8")]
commune = rows[1][1]
raised = next(int(r[3]) for r in rows[1:] if r[1] == commune and r[2] == "QUY.VAN_DONG")
for r in rows[1:]:
    if r[1] == commune and r[2] == "QUY.CHI":
        r[3] = str(raised * 3)          # spent three times what was raised: R14 warns
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(",".join(r) for r in rows) + "\n")
PY
"$BIN/kh-node" submit --district 829 "$in/829/829-2020S2.csv" >/dev/null
"$BIN/kh-node" submit --district 831 "$RUN/831-2020S2.csv" >/dev/null
"$BIN/kh-node" submit --district 832 "$in/832/832-2020S2.csv" >/dev/null
check "20 Nov: 829, 831, 832 are counted" wait_for 180 all_counted 829 831 832
check "831's receipt carries the R14 warning" \
    grep -q '"stage":"accepted".*"code":"R14"' "$RUN/831-2020S2.csv.receipts.jsonl"
check "the warning raises a warnings alert" wait_for 60 is "SELECT count(*) FROM notice WHERE kind='warnings'" 1
sleep 1.5          # on purpose: a window for a wrong notice (a calendar check every 1 s)
check_eq "20 Nov: only the warnings alert (no reminder, no late alert yet)" \
    "warnings/831-2020S2/1" "$(ids "1")"
check "the warnings alert is delivered" \
    wait_for 120 is "SELECT count(*) FROM delivery WHERE delivered_at IS NOT NULL" 1
check_eq "its delivery record: 5 attempts, last HTTP 200, no error left" "5|200|" \
    "$(ndb "SELECT attempts||'|'||http_status||'|'||ifnull(last_error,'') FROM delivery")"
check_eq "every attempt recorded: 500, 500, 500, dropped (no status), 200" "500 500 500 - 200" \
    "$(ndb "SELECT group_concat(ifnull(http_status,'-'),' ') FROM (SELECT http_status FROM attempt ORDER BY n)")"
check "the dropped attempt's error is recorded" \
    is "SELECT error <> '' FROM attempt WHERE n=4" 1

# ---- 30 November: the reminder window ----------------------------------------------------
restart_notifier 2020-11-30
check "30 Nov: reminders reach the six districts without a report" \
    wait_for 120 all_reminded 833 834 835 836 837 838
check_eq "no reminder reaches 829, 831, 832 (they reported)" "0 0 0" \
    "$(reminders 829) $(reminders 831) $(reminders 832)"
restart_notifier 2020-11-30 kill             # kill -9, same day: nothing made again
sleep 2.5          # on purpose: a window for a second reminder (a calendar check every 1 s)
check_eq "after kill -9 and restart: one reminder each at the nodes" "1 1 1 1 1 1" \
    "$(for d in 833 834 835 836 837 838; do reminders "$d"; done | paste -sd' ')"
check_eq "notifier.db: the six reminders, once each" \
    "reminder/2020S2/833 reminder/2020S2/834 reminder/2020S2/835 reminder/2020S2/836 reminder/2020S2/837 reminder/2020S2/838" \
    "$(ids "kind='reminder'")"
check "the node keeps the reminder, in Vietnamese and English" \
    grep -q '"message_vi":"Nhắc hạn: .*2020S2.*05/12/2020.*"message":"Reminder: ' "$RUN/node-833/reminders.jsonl"
check "the node logs it as a warning" grep -q '"event":"receipt.reminder"' "$RUN/logs/node-833.log"
check_eq "reminders are not sent to the webhook" 0 \
    "$(ndb "SELECT count(*) FROM delivery WHERE notice_id LIKE 'reminder/%'")"
"$BIN/kh-node" submit --district 833 "$in/833/833-2020S2.csv" >/dev/null
check "833 reports on time" wait_for 180 all_counted 833

# ---- 6 December: past the due date; the receiver fails; kill -9 mid-retries -------------
touch "$RUN/sink.fail"
restart_notifier 2020-12-06
check "6 Dec: late alerts for exactly 834–838" wait_for 120 is \
    "SELECT group_concat(id,' ') FROM (SELECT id FROM notice WHERE kind='late' AND id LIKE 'late/%' ORDER BY id)" "$late5"
check "their deliveries fail and are retried (two attempts each at least)" wait_for 120 is \
    "SELECT count(*) FROM delivery WHERE notice_id LIKE 'late/%' AND attempts >= 2 AND delivered_at IS NULL" 5
restart_notifier 2020-12-06 kill
check_eq "after kill -9: still five late alerts, none delivered" "5 0" \
    "$(ndb "SELECT count(*)||' '||count(delivered_at) FROM notice JOIN delivery ON notice_id=id WHERE id LIKE 'late/%'")"
"$BIN/kh-node" submit --district 834 "$in/834/834-2020S2.csv" >/dev/null
check "834 reports after the due date" wait_for 180 all_counted 834
check "834's report raises a late-report alert" \
    wait_for 60 is "SELECT count(*) FROM notice WHERE id='late-report/2020S2/834'" 1
check "the retries resumed after the restart (503s recorded after it)" wait_for 120 is \
    "SELECT count(*) >= 5 FROM attempt WHERE http_status=503 AND at > (SELECT max(created_at) FROM delivery)" 1
rm -f "$RUN/sink.fail"
check "once the receiver recovers every alert so far is delivered" wait_for 120 is \
    "SELECT count(*) FROM delivery WHERE delivered_at IS NULL" 0

# ---- 20 December: past the grace; the rest report late; the period completes ------------
restart_notifier 2020-12-20
check "20 Dec: missing alerts for exactly 835–838" wait_for 120 is \
    "SELECT group_concat(id,' ') FROM (SELECT id FROM notice WHERE kind='missing' ORDER BY id)" \
    "missing/2020S2/835 missing/2020S2/836 missing/2020S2/837 missing/2020S2/838"
check_eq "no period-complete notice while districts are missing" "" "$(ids "kind='complete'")"
for d in 835 836 837 838; do "$BIN/kh-node" submit --district "$d" "$in/$d/$d-2020S2.csv" >/dev/null; done
check "all nine districts are counted" wait_for 240 all_counted 829 831 832 833 834 835 836 837 838
check "the period-complete notice appears" wait_for 60 is "SELECT count(*) FROM notice WHERE kind='complete'" 1
check "every alert is delivered" wait_for 120 is "SELECT count(*) FROM delivery WHERE delivered_at IS NULL" 0
restart_notifier 2020-12-20                   # once more: nothing new is made
sleep 2.5          # on purpose: a window for a wrong notice (a calendar check every 1 s)

# ---- the whole record ------------------------------------------------------------------------
expected="complete/2020S2 late-report/2020S2/834 late-report/2020S2/835 late-report/2020S2/836 late-report/2020S2/837 late-report/2020S2/838 $late5 missing/2020S2/835 missing/2020S2/836 missing/2020S2/837 missing/2020S2/838 warnings/831-2020S2/1"
check_eq "the province alerts are exactly these 16" "$expected" "$(ids "kind <> 'reminder'")"
check_eq "each has one delivery, delivered, none given up" "16 16 0" \
    "$(ndb "SELECT count(*)||' '||count(delivered_at)||' '||count(gave_up_at) FROM delivery")"
got=$(python3 - "$RUN/sink/accepted.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
print(" ".join(sorted(r["id"] for r in rows)))
PY
)
check_eq "the receiver accepted each alert exactly once (none missing, none twice)" "$expected" "$got"
check_eq "no duplicate reached the receiver" 0 "$(grep -c '"dup": true' "$RUN/sink/accepted.jsonl")"
check "each POST carried its id as Idempotency-Key, and the fields" python3 - "$RUN/sink/accepted.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(l)
    assert r["idempotency_key"] == r["id"], r
    for k in ("kind", "period", "district", "district_name", "text_vi", "text_en", "at"):
        assert k in r, (k, r)
    assert r["period"] == "2020S2" and r["text_vi"] and r["text_en"], r
    assert r["kind"] in ("late", "missing", "warnings", "complete"), r
PY
check "alert texts: Vietnamese with the district's name, English beside" python3 - "$RUN/sink/accepted.jsonl" <<'PY'
import json, sys
rows = {json.loads(l)["id"]: json.loads(l) for l in open(sys.argv[1], encoding="utf-8")}
r = rows["late-report/2020S2/834"]
assert r["kind"] == "late" and r["district"] == "834", r
assert "06/12/2020" in r["text_vi"] and "trễ 1 ngày" in r["text_vi"], r["text_vi"]
assert "arrived on 2020-12-06, 1 day after" in r["text_en"], r["text_en"]
assert r["district_name"] and r["district_name"] in r["text_vi"], r
m = rows["missing/2020S2/838"]
assert "Thiếu báo cáo" in m["text_vi"] and "15 days after" in m["text_en"], m
c = rows["complete/2020S2"]
assert "9" in c["text_en"] and c["district"] == "", c
PY
check "the receiver saw the failures the records show (requests >= attempts)" python3 - "$RUN/sink/requests.jsonl" "$(ndb "SELECT count(*) FROM attempt")" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
attempts = int(sys.argv[2])
assert sum(1 for r in reqs if r["answer"] == 503) >= 10, "fewer than 10 failures"
assert len(reqs) >= attempts, (len(reqs), attempts)
PY
check "retries and give-ups are logged (retries: warn; none given up)" \
    bash -c "grep -q '\"event\":\"webhook.retry\"' '$RUN/logs/notifier.log' && ! grep -q '\"event\":\"webhook.give_up\"' '$RUN/logs/notifier.log'"
check_eq "the nodes still hold one reminder each (833–838)" "1 1 1 1 1 1" \
    "$(for d in 833 834 835 836 837 838; do reminders "$d"; done | paste -sd' ')"
check "notifier.db passes integrity_check" is "PRAGMA integrity_check" ok
check "no process died" all_alive

# ---- giving up: nobody listens, two attempts at most ------------------------------------------
set_conf notifier webhook_url "http://127.0.0.1:$((base + 8))/kh"      # nothing listens there
set_conf notifier webhook_max_attempts 2
restart_notifier 2020-12-20
cp "$RUN/831-2020S2.csv" "$RUN/831-2020S2-r2.csv"       # the same values: --force sends
"$BIN/kh-node" submit --district 831 --force "$RUN/831-2020S2-r2.csv" >/dev/null 2>&1  # them again
check "831's revision 2 (the same warning) raises its own warnings alert" wait_for 180 is \
    "SELECT count(*) FROM notice WHERE id='warnings/831-2020S2/2'" 1
check "with nobody listening its delivery is given up after 2 attempts" wait_for 120 is \
    "SELECT attempts||' '||(gave_up_at IS NOT NULL)||' '||(delivered_at IS NULL) FROM delivery WHERE notice_id='warnings/831-2020S2/2'" "2 1 1"
check "the give-up is logged as an error, with the notice id" \
    bash -c "grep '\"event\":\"webhook.give_up\"' '$RUN/logs/notifier.log' | grep '\"level\":\"error\"' | grep -q 'warnings/831-2020S2/2'"
check_eq "a revision of a district already in is no late report, and completes nothing again" \
    "0 1" "$(ndb "SELECT count(*) FROM notice WHERE id='late-report/2020S2/831'")$(echo -n ' ')$(ndb "SELECT count(*) FROM notice WHERE kind='complete'")"
metrics() { python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$((base + 6))/metrics', timeout=5).read().decode())"; }
has_metrics() { local m; m=$(metrics) || return 1; local l; for l in "$@"; do grep -qxF "$l" <<<"$m" || return 1; done; }
check "the notifier's metrics count it (since this start: 1 alert, 2 failed, 1 retry, 1 given up, 0 pending)" \
    wait_for 60 has_metrics 'kh_notices_total{kind="alert"} 1' 'kh_webhook_failed_total 2' \
    'kh_webhook_retries_total 1' 'kh_webhook_given_up_total 1' 'kh_webhook_delivered_total 0' \
    'kh_webhook_pending 0' 'kh_notices_total{kind="reminder"} 0'
check "no process died (after the give-up)" all_alive
