#!/usr/bin/env bash
# A district officer drops report files into the node's spool folder: the running
# node picks them up (libuv fs events), checks, queues and sends them, moves each
# to spool/sent/ (or spool/refused/) and writes the receipts beside it.
# Then what is not an ordinary report file (issue 11): a symbolic link to a secret
# outside the spool, a hard link to it, a FIFO, a file over [node] max_file_bytes —
# each refused unread with a receipt and a log line, nothing of the secret anywhere;
# `kh-node submit` on a FIFO returns at once; a file refused but impossible to move is
# handled once, not in a loop; a name with a newline keeps `kh-node status` one line
# per report; a good report is still counted after all that; and every database,
# receipts file and log is 0640 or stricter.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test spool
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
bound=65536
set_conf node max_file_bytes $bound
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

# ---- what is not an ordinary report file ---------------------------------------------------
# the secret outside the spool, as /etc/shadow would be; its marker stands where a read
# file's text is shown in a receipt (an unknown unit code is quoted in the finding)
marker="KHSECRET$$"
secret=$RUN/outside/shadow
mkdir -p "$RUN/outside"
printf 'period,orgunit,indicator,value\n2019S1,%s,HO.TONG,1\n' "$marker" >"$secret"
trapped=$RUN/outside/passwd             # a receipts file planted as a link to it
printf 'untouched\n' >"$trapped"
ln -s "$secret" "$spool/link.csv"
ln "$secret" "$spool/hard.csv"
mkfifo "$spool/pipe.csv"
python3 - "$spool/big.csv" "$bound" "$marker" <<'PY'
import sys
path, bound, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3]
head = f"period,orgunit,indicator,value\n2019S1,{marker},HO.TONG,1\n"
with open(path, "w") as f:
    f.write(head + "x" * (bound + 1 - len(head)))
PY
printf 'period,orgunit,indicator,value\n2018S1,99999,HO.TONG,12\n' >"$spool/trap.csv"
ln -s "$trapped" "$spool/trap.csv.receipts.jsonl"
mkdir -p "$spool/refused/stuck.csv/full"   # stuck.csv cannot be moved there: stays
ln -s "$secret" "$spool/stuck.csv"
nl_name=$'835\nnewline.csv'                 # a good report under a name with a newline
cp "$RUN/input/835/835-2019S1.csv" "$spool/$nl_name"
wait_for 120 eval '[ -L "$spool/refused/link.csv" ] && [ -p "$spool/refused/pipe.csv" ] &&
    [ -e "$spool/refused/hard.csv" ] && [ -e "$spool/refused/big.csv" ] &&
    [ -e "$spool/refused/trap.csv" ] && [ -e "$spool/sent/$nl_name" ] &&
    [ -e "$spool/stuck.csv.receipts.jsonl" ]'
code_of() { python3 -c 'import json,sys; print(" ".join(f["code"] for l in open(sys.argv[1]) for f in json.loads(l)["findings"]))' "$1"; }
check_eq "a symbolic link to a file outside is refused, with a receipt" FILE_IS_LINK \
    "$(code_of "$spool/refused/link.csv.receipts.jsonl")"
check "…which says what to do, in Vietnamese and English" \
    grep -q '"message_vi":"Đây là một liên kết.*Hãy sao chép.*"message":"This is a symbolic link' \
    "$spool/refused/link.csv.receipts.jsonl"
check "…and is moved to refused/ as the link it is" test -L "$spool/refused/link.csv"
check_eq "a hard link to that file is refused" FILE_IS_LINK "$(code_of "$spool/refused/hard.csv.receipts.jsonl")"
check_eq "a FIFO is refused" NOT_A_FILE "$(code_of "$spool/refused/pipe.csv.receipts.jsonl")"
check "…its receipt names what it is" grep -q 'it is a FIFO' "$spool/refused/pipe.csv.receipts.jsonl"
check_eq "a file over max_file_bytes is refused" FILE_TOO_LARGE \
    "$(code_of "$spool/refused/big.csv.receipts.jsonl")"
check "…saying the size and the bound" \
    grep -q "$((bound + 1)) bytes; at most $bound" "$spool/refused/big.csv.receipts.jsonl"
check_eq "a planted receipts link is never written through" "untouched" "$(cat "$trapped")"
check "a refused file that cannot be moved stays in the spool" test -L "$spool/stuck.csv"
node_log=$RUN/logs/node-835.log
check_eq "each refusal has one log line" "FILE_IS_LINK FILE_IS_LINK FILE_TOO_LARGE NOT_A_FILE" \
    "$(python3 -c '
import json, sys
codes = sorted(o["code"] for o in map(json.loads, open(sys.argv[1]))
               if o["event"] == "file.refused" and o["file"] in ("link.csv", "hard.csv", "pipe.csv", "big.csv"))
print(" ".join(codes))' "$node_log")"

# `kh-node submit` on a FIFO and on a link: refused at once (timeout is only a hang guard)
mkfifo "$RUN/outside/cli.csv"
timeout 60 "$BIN/kh-node" submit --district 835 "$RUN/outside/cli.csv" >"$RUN/cli.out" 2>"$RUN/cli.err"
check_eq "kh-node submit FIFO returns at once, refused (exit 1)" 1 "$?"
check "…saying it is a FIFO, in Vietnamese and English" \
    grep -q 'đây là ống FIFO.*it is a FIFO' "$RUN/cli.err"
timeout 60 "$BIN/kh-node" submit --district 835 --force "$spool/refused/link.csv" \
    >>"$RUN/cli.out" 2>>"$RUN/cli.err"
check_eq "kh-node submit LINK is refused (exit 1), even with --force" 1 "$?"

# after all that, a good report still goes through; by the time it is counted the
# node has scanned the spool many times: the stuck file was handled once
cp "$RUN/input/835/835-2019S2.csv" "$spool/"
wait_for 120 test -e "$spool/sent/835-2019S2.csv"
check "every report settles" wait_settled 180 835
check_eq "the province counted the good reports (the newline-named one too)" 4 \
    "$(sql "$RUN/aggregator.db" "SELECT count(*) FROM counted WHERE district='835'")"
check_eq "the stuck file got one receipt, not one per scan" 1 "$(wc -l <"$spool/stuck.csv.receipts.jsonl")"
check_eq "…and one log line" 1 "$(grep -c '"event":"file.refused".*"file":"stuck.csv"' "$node_log")"
check "the secret never appears in a receipt, log, database or kh-node's output" \
    test -z "$(grep -rlaF -D skip --include='*.jsonl' --include='*.log' --include='*.db' \
               --include='*.db-wal' --include='*.out' --include='*.err' -e "$marker" "$RUN")"
check "every log line is one JSON object" python3 -c '
import json, sys
for f in sys.argv[1:]:
    for l in open(f, encoding="utf-8"):
        json.loads(l)' "$RUN"/logs/*.log

# the name with a newline: kh-node status stays one line per report (a header of two
# lines, the reports, the outbox, the connection on three lines)
status=$("$BIN/kh-node" status --district 835)
check_eq "kh-node status: the header, one line per report, the outbox and the connection" \
    $(( $(sql "$RUN/node-835/outbox.db" "SELECT count(*) FROM report") + 6 )) "$(printf '%s\n' "$status" | wc -l)"
check "…the newline shown escaped as \\n" grep -qF " $spool/sent/835\\nnewline.csv" <<<"$status"
check "…the same in status --json, and every report has its five fields" \
    test -n "$(node_stages 835 | grep -F $'\t'"$spool/sent/835\\nnewline.csv")" -a \
         -z "$(node_stages 835 | awk -F'\t' 'NF != 5')"
check "the receipt names it escaped" grep -qF '"file":"835\\nnewline.csv"' "$spool/sent/$nl_name.receipts.jsonl"

# modes: nothing the services, the node or run-local made is readable by others
loose=$(find "$RUN" \( -name '*.db' -o -name '*.db-wal' -o -name '*.db-shm' -o -name '*.receipts.jsonl' \
             -o -name '*.log' -o -name '*.pid' \) -type f -perm /027 -printf '%m %p\n')
check_eq "databases, receipts and logs are 0640 or stricter" "" "$loose"
check_eq "outbox.db is 640" 640 "$(stat -c %a "$RUN/node-835/outbox.db")"
check_eq "aggregator.db is 640" 640 "$(stat -c %a "$RUN/aggregator.db")"
check_eq "a receipts file is 640" 640 "$(stat -c %a "$spool/sent/835-2019S2.csv.receipts.jsonl")"
check_eq "a log is 640" 640 "$(stat -c %a "$node_log")"
check_eq "the spool folder is 750" 750 "$(stat -c %a "$spool")"
check "no process died" all_alive
