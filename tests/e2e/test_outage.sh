#!/usr/bin/env bash
# A node started while the collector is down keeps its reports and delivers them
# when the collector comes up; each gets its receipts.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test outage
set_conf general resend_ms 500
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
pipeline restart node-831 >/dev/null || exit 1        # the node alone: no province yet
for p in 2019S1 2019S2 2020S1; do
    "$BIN/kh-node" submit --district 831 "$RUN/input/831/831-$p.csv" >/dev/null
done
sleep 2          # on purpose: a window in which a wrong delivery would happen
check_eq "three reports wait in the node's outbox while the collector is down" 3 "$(node_outbox 831)"
check_eq "none has a receipt yet" "queued queued queued" \
    "$(node_stages 831 | cut -f3 | paste -sd' ')"
pipeline start 831 >/dev/null || exit 1               # the province comes up
check "all three are delivered and settle" wait_settled 180 831
check_eq "the outbox is empty" 0 "$(node_outbox 831)"
for p in 2019S1 2019S2 2020S1; do
    r="$RUN/input/831/831-$p.csv.receipts.jsonl"
    check_eq "831-$p: receipts queued, received, accepted, counted" \
        "queued received accepted counted" \
        "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["stage"] for l in open(sys.argv[1])))' "$r")"
done
check_eq "the province counted the three" 3 "$(sql "$RUN/aggregator.db" "SELECT count(*) FROM counted WHERE district='831'")"

# and the other way round: the node down while receipts are produced
pipeline kill node-831
"$BIN/kh-node" submit --district 831 "$RUN/input/831/831-2020S2.csv" >/dev/null
sleep 0.5
pipeline restart node-831 >/dev/null
check "a report sent after a node restart settles" wait_settled 180 831
check "no process died" all_alive
