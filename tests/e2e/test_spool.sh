#!/usr/bin/env bash
# A district officer drops report files into the node's spool folder: the running
# node picks them up (libuv fs events), checks, queues and sends them, moves each
# to spool/sent/ (or spool/refused/) and writes the receipts beside it.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test spool
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
pipeline start 835 >/dev/null || exit 1
spool=$RUN/node-835/spool
cp "$RUN/input/835/835-2018S1.csv" "$RUN/input/835/835-2018S2.csv" "$spool/"
printf 'period,orgunit,indicator,value\n2018S1,99999,HO.TONG,12\n' >"$spool/sai.csv"
wait_for 120 eval '[ -e "$spool/sent/835-2018S2.csv" ] && [ -e "$spool/refused/sai.csv" ]'
check "the dropped files leave the spool folder" test ! -e "$spool/835-2018S1.csv" -a ! -e "$spool/sai.csv"
check "good files go to sent/" test -e "$spool/sent/835-2018S1.csv" -a -e "$spool/sent/835-2018S2.csv"
check "a wrong file goes to refused/ with its reasons" \
    grep -q '"stage":"rejected_locally".*UNKNOWN_UNIT' "$spool/refused/sai.csv.receipts.jsonl"
check "both reports settle" wait_settled 180 835
check_eq "receipts beside the sent file: queued, received, accepted, counted" \
    "queued received accepted counted" \
    "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["stage"] for l in open(sys.argv[1])))' \
       "$spool/sent/835-2018S2.csv.receipts.jsonl")"
check_eq "the province counted both" 2 "$(sql "$RUN/aggregator.db" "SELECT count(*) FROM counted WHERE district='835'")"
check "no process died" all_alive
