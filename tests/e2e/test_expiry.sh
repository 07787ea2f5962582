#!/usr/bin/env bash
# Reminders that can't be delivered don't pile up (issue 10).  Only two of the nine
# districts run a node.  On 15 June 2027 (inside the reminder window of 2027S1, due
# 20 June) the notifier reminds all nine: 829 and 831 take theirs, the seven others wait
# in the collector's outbox.  On 21 June (the due date passed) each waiting reminder
# expires: it leaves the outbox for good, recorded in outbox_nodes_expired, and
# kh-admin status says how many notices expired undelivered, and for whom.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test expiry
# the seed's districts report for 2017–2020 only (data/reporters.csv): here they go on
# reporting, so that 2027S1 has reminders (who reports is data)
mkdir -p "$RUN/data" && cp "$TOP"/data/*.csv "$RUN/data/"
printf 'level,unit,valid_from,valid_to,note\n2,,2017-01-01,,the districts with no end\n' \
    >"$RUN/data/reporters.csv"
set_conf general data_dir "$RUN/data"
set_clock 2027-06-15T10:00:00
set_conf notifier first_period 2027S1
set_conf notifier reminder_days 7
set_conf notifier check_interval_s 1

base=$((20000 + ($$ % 400) * 10))        # start_test's port range: the collector's metrics at +3
cdb() { sql "$RUN/collector.db" "$1"; }
ndb() { sql "$RUN/notifier.db" "$1"; }
is() { [ "$(sql "$1" "$2")" = "$3" ]; }            # is DB QUERY EXPECTED
reminders() { node_reminders "$1" 2027S1; }
absent=(832 833 834 835 836 837 838)

pipeline start 829 831 >/dev/null || { echo "not ok - the pipeline starts"; exit 1; }

# ---- 15 June: nine reminders, two delivered, seven waiting ------------------------------
check "15 Jun: the notifier makes a reminder for each of the nine districts" \
    wait_for 60 is "$RUN/notifier.db" "SELECT count(*) FROM notice WHERE kind='reminder'" 9
check "829 and 831 (nodes running) each receive theirs" \
    wait_for 60 eval '[ "$(reminders 829)" = 1 ] && [ "$(reminders 831)" = 1 ]'
check "the seven others wait in the collector's outbox, one each" \
    wait_for 60 is "$RUN/collector.db" \
    "SELECT group_concat(dest, ' ') FROM (SELECT dest FROM outbox_nodes ORDER BY dest)" "${absent[*]}"
check_eq "each waiting reminder expires at the end of its due date (21 Jun 2027 00:00 local)" \
    "$(date -d '2027-06-21 00:00:00' +%s)000" \
    "$(cdb "SELECT DISTINCT expires_at FROM outbox_nodes")"
check_eq "nothing has expired yet" 0 "$(cdb "SELECT count(*) FROM outbox_nodes_expired")"
check "kh-admin status: 7 reminders waiting, 0 expired" bash -c \
    "'$BIN/kh-admin' status --json | python3 -c 'import json,sys; n=json.load(sys.stdin)[\"notices\"]; sys.exit(0 if (n[\"reminders_waiting\"], n[\"expired_undelivered\"]) == (7, 0) else 1)'"

# ---- 21 June: past the due date; the province services start on the new day ------------
for s in notifier aggregator validator collector; do
    p=$(cat "$RUN/pids/$s.pid"); kill -TERM "$p"; wait_gone 120 "$p"
done
set_clock 2027-06-21T10:00:00
for s in notifier aggregator validator collector; do pipeline restart "$s" >/dev/null; done

check "21 Jun: the collector's outbox to the nodes empties (nothing resent for ever)" \
    wait_for 60 is "$RUN/collector.db" "SELECT count(*) FROM outbox_nodes" 0
check_eq "the seven undelivered reminders are recorded as expired, once each" \
    "reminder/2027S1/832 reminder/2027S1/833 reminder/2027S1/834 reminder/2027S1/835 reminder/2027S1/836 reminder/2027S1/837 reminder/2027S1/838" \
    "$(cdb "SELECT group_concat(key, ' ') FROM (SELECT key FROM outbox_nodes_expired ORDER BY key)")"
check_eq "the notifier's outbox to the collector is empty too" 0 \
    "$(ndb "SELECT count(*) FROM outbox_collector")"
check "the expiry is logged for the admin, with the reminder's id and district" bash -c \
    "grep '\"event\":\"outbox.expired\"' '$RUN/logs/collector.log' | grep '\"key\":\"reminder/2027S1/835\"' | grep -q '\"dest\":\"835\"'"
status=$("$BIN/kh-admin" status)
check "kh-admin status: 7 expired undelivered, naming the seven districts" \
    grep -q "expired undelivered: *7  (832 833 834 835 836 837 838)" <<<"$status"
check "kh-admin status says what to do about it" grep -q -- "-> these units' nodes" <<<"$status"
check "kh-admin status --json: expired_undelivered 7, reminders_waiting 0" bash -c \
    "'$BIN/kh-admin' status --json | python3 -c 'import json,sys; n=json.load(sys.stdin)[\"notices\"]; sys.exit(0 if (n[\"reminders_waiting\"], n[\"expired_undelivered\"], n[\"expired_districts\"]) == (0, 7, \"832 833 834 835 836 837 838\") else 1)'"
url="http://127.0.0.1:$((base + 3))/metrics"
expired_metric() { curl -fsS --max-time 5 "$url" | grep -qx 'kh_outbox_expired_total{outbox="nodes"} 7'; }
check "the collector's metrics count them (kh_outbox_expired_total{outbox=\"nodes\"} 7)" \
    wait_for 10 expired_metric

# ---- a node that comes later gets no stale reminder ---------------------------------------
before=$(grep -c '"event":"node.connected".*"district":"835"' "$RUN/logs/collector.log")
pipeline restart node-835 >/dev/null
check "835's node connects to the collector" wait_for 60 bash -c \
    "[ \$(grep -c '\"event\":\"node.connected\".*\"district\":\"835\"' '$RUN/logs/collector.log') -gt $before ]"
# a window for a wrong event: what the collector would send 835 goes at its next pump
# after the HELLO, a resend after resend_ms (3 s); wait past both, then look
sleep 4
check_eq "835's node, started after the due date, never receives the expired reminder" 0 \
    "$(reminders 835)"
check_eq "829 and 831 kept exactly one reminder each" "1 1" "$(reminders 829) $(reminders 831)"
check "collector.db passes integrity_check" is "$RUN/collector.db" "PRAGMA integrity_check" ok
check "no process died" all_alive
