#!/usr/bin/env bash
# A node that says what is wrong (issue 14), with the real pipeline:
# - `kh-node check` on a good node: every line OK, exit 0; then an unregistered key, a
#   wrong server key, a wrong port and an unwritable spool (a read-only bind mount, which
#   stops root too), each found on its own line (named by its id), exit 1;
# - the running node with an unregistered key: `kh-node status` shows "refused_key" and
#   its log the WARN, once; the key registered, it connects by itself (INFO);
# - a collector restarting is never taken for a refused key;
# - receipts: beside the file's absolute path after a submission by a relative path, with
#   a readable local date; from a read-only folder in the node's folder, stderr saying
#   where, every later receipt there too;
# - identical content submitted twice is one revision, counted once by the province.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test check
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
pipeline start 829 >/dev/null || { echo "not ok - the pipeline starts"; exit 1; }
K=$RUN/keys

# check_with NAME SECTION KEY VALUE — a copy of the config with one key changed; prints
# its path
check_with() {
    local cfg=$RUN/check-$1.ini
    cp "$KH_CONFIG" "$cfg"
    KH_CONFIG=$cfg set_conf "$2" "$3" "$4"
    echo "$cfg"
}
# run_check CONFIG — kh-node check's output into $out, its exit code into $rc
run_check() { rc=0; out=$("$BIN/kh-node" --config "$1" check --district 829 2>&1) || rc=$?; }
# line ID — the item's line
line() { printf '%s\n' "$out" | grep -E "^[^ ]+ +$1 "; }
is_ok() { line "$1" | grep -q '^OK '; }
is_fail() { line "$1" | grep -q '^LỖI/FAIL '; }

# ---- a good node ---------------------------------------------------------------------------
run_check "$KH_CONFIG"
check_eq "a good node: kh-node check exits 0" 0 "$rc"
check_eq "… with six lines, all OK" "6 6" \
    "$(printf '%s\n' "$out" | grep -cE '^(OK|LỖI/FAIL) ') $(printf '%s\n' "$out" | grep -c '^OK ')"
check "… and says so" grep -q 'Tất cả đều ổn / all OK' <<<"$out"

# ---- an unregistered key -------------------------------------------------------------------
"$BIN/kh-admin" keys generate --role district --unit 829 --id 829-new >/dev/null
cfg_key=$(check_with key node key "$K/829-new.key")
run_check "$cfg_key"
check_eq "an unregistered key: exit 1" 1 "$rc"
check "… the registered line fails: refused, not registered, revoked or for another unit" \
    eval 'is_fail registered && grep -q "Refused: not registered, revoked or for another unit" <<<"$out"'
check "… the key file, the server key and reachability are OK" \
    eval 'is_ok key_file && is_ok server_key && is_ok reachable'

# ---- a wrong server key --------------------------------------------------------------------
"$BIN/kh-admin" keys generate --role province --unit 829 --id other-server >/dev/null
cfg_srv=$(check_with server node server_key "$K/other-server.pub")
run_check "$cfg_srv"
check_eq "a wrong server key: exit 1" 1 "$rc"
check "… the server_key line fails, saying server.pub is not the province's" \
    eval 'is_fail server_key && grep -q "server key file (server_key) is not the province" <<<"$out"'
check "… the key file and reachability are OK" eval 'is_ok key_file && is_ok reachable'

# ---- a wrong port --------------------------------------------------------------------------
port=$(conf node collector | sed 's/.*://')
cfg_port=$(check_with port node collector "tcp://127.0.0.1:$((port + 9))")
run_check "$cfg_port"
check_eq "a wrong port: exit 1" 1 "$rc"
check "… the reachable line fails, naming the endpoint" \
    eval 'is_fail reachable && line reachable >/dev/null && grep -q "127.0.0.1:$((port + 9))" <<<"$out"'
check "… the key file and the spool are OK" eval 'is_ok key_file && is_ok spool'

# ---- an unwritable spool: a read-only bind mount (root cannot write there either) --------------
spool=$RUN/node-829/spool
mkdir -p "$spool"
rc=0
out=$(unshare -m bash -c "mount --bind '$spool' '$spool' && mount -o remount,bind,ro '$spool' &&
      '$BIN/kh-node' check --district 829" 2>&1) || rc=$?
check_eq "an unwritable spool: exit 1" 1 "$rc"
check "… the spool line fails, saying what to do" \
    eval 'is_fail spool && grep -q "Cannot write into the spool folder" <<<"$out"'
n_fail=$(printf '%s\n' "$out" | grep -c '^LỖI/FAIL ')
check_eq "… and only that line" 1 "$n_fail"
[ "$n_fail" = 1 ] || printf '%s\n' "$out" | sed 's/^/# /'

# ---- the running node with an unregistered key -----------------------------------------------
cfg_run=$(check_with run node key "$K/829-new.key")
KH_CONFIG=$cfg_run set_conf node dir "$RUN/node-829-new"
KH_CONFIG=$cfg_run set_conf node log "ipc://$RUN/log-node-new.sock"
KH_CONFIG=$cfg_run set_conf node metrics_socket "$RUN/node-new.metrics.sock"
nlog=$RUN/logs/node-829-new.log
"$BIN/kh-node" --config "$cfg_run" run --district 829 2>"$nlog" &
npid=$!
state() { KH_CONFIG=$cfg_run node_conn 829; }
is_state() { [ "$(state)" = "$1" ]; }
check "the node with an unregistered key: status says refused_key" wait_for 120 is_state refused_key
check "… with what to do (register the public key)" \
    bash -c "'$BIN/kh-node' --config '$cfg_run' status --district 829 |
             grep -q 'kh-admin keys register'"
check "… and the log has the WARN, once, however many tries" \
    eval '[ "$(grep "\"level\":\"warn\"" "$nlog" | grep -c "\"event\":\"node.connection\".*refused_key")" = 1 ]'
"$BIN/kh-admin" keys register "$K/829-new.pub" >/dev/null
check "the key registered: the node connects by itself" wait_for 120 is_state ok
check "… and logs it (INFO)" \
    grep -q '"level":"info".*"event":"node.connection".*"state":"ok"' "$nlog"
kill "$npid" 2>/dev/null; wait "$npid" 2>/dev/null

# the same node with the wrong server key, then with the wrong port: each said at once
for bad in "server_key $K/other-server.pub wrong_server_key" \
           "collector tcp://127.0.0.1:$((port + 9)) unreachable"; do
    set -- $bad
    cfg_bad=$(check_with "run-$3" node key "$K/node-829.key")
    for kv in "dir $RUN/node-829-$3" "log ipc://$RUN/log-node-$3.sock" \
              "metrics_socket $RUN/node-$3.metrics.sock" "$1 $2"; do
        KH_CONFIG=$cfg_bad set_conf node ${kv%% *} "${kv#* }"
    done
    blog=$RUN/logs/node-829-$3.log
    "$BIN/kh-node" --config "$cfg_bad" run --district 829 2>"$blog" &
    bpid=$!
    bstate() { [ "$(KH_CONFIG=$cfg_bad node_conn 829)" = "$1" ]; }
    check "the running node with the wrong ${1/_/ }: status says $3" wait_for 120 bstate "$3"
    check_eq "… and its log has the WARN, once, not one per retry" "1 1" \
        "$(grep -c '"event":"node.connection"' "$blog") $(grep -c "\"level\":\"warn\".*\"event\":\"node.connection\".*\"state\":\"$3\"" "$blog")"
    kill "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null
done

# ---- a collector restarting is not a refused key ---------------------------------------------
check "the pipeline's node is connected" wait_for 120 eval '[ "$(node_conn 829)" = ok ]'
pipeline restart collector >/dev/null
check "after the collector's restart the node is connected again" \
    wait_for 120 eval '[ "$(node_conn 829)" = ok ]'
check "… and it never said refused_key or wrong_server_key" \
    eval '! grep -E "\"event\":\"node.connection\".*(refused_key|wrong_server_key)" "$RUN/logs/node-829.log"'

# ---- receipts where the officer looks --------------------------------------------------------
work=$RUN/officer
mkdir -p "$work"
cp "$RUN/input/829/829-2019S1.csv" "$work/"
rc=0
(cd "$work" && TZ=ICT-7 "$BIN/kh-node" submit --district 829 829-2019S1.csv) >/dev/null 2>&1 || rc=$?
check_eq "a relative path: queued, exit 0" 0 "$rc"
check "… the receipts beside the file" test -s "$work/829-2019S1.csv.receipts.jsonl"
check "… the database has the file's absolute path" \
    eval '[ "$(node_stages 829 | awk -F"\t" "\$1 == \"829-2019S1\" { print \$5 }")" = "$work/829-2019S1.csv" ]'
check "… a readable local date beside the epoch ms" python3 -c '
import json, sys, datetime
r = json.loads(open(sys.argv[1]).readline())
t = datetime.datetime.fromtimestamp(r["at"] / 1000, datetime.timezone(datetime.timedelta(hours=7)))
sys.exit(r["at_text"] != t.strftime("%Y-%m-%d %H:%M:%S +07:00"))' "$work/829-2019S1.csv.receipts.jsonl"
stages() { python3 -c 'import json,sys; print(" ".join(json.loads(l)["stage"] for l in open(sys.argv[1])))' "$1"; }
check "… and the later receipts there too (counted)" \
    wait_for 120 eval '[ "$(stages "$work/829-2019S1.csv.receipts.jsonl")" = "queued received accepted counted" ]'

# identical content again (another copy of the same values): not a new revision
mkdir -p "$work/again"
cp "$RUN/input/829/829-2019S1.csv" "$work/again/"
rc=0
err=$("$BIN/kh-node" submit --district 829 "$work/again/829-2019S1.csv" 2>&1 >/dev/null) || rc=$?
check_eq "identical content: exit 0" 0 "$rc"
check "… the officer is told (Vietnamese and English)" \
    eval 'grep -q "giống hệt lần sửa 1.*identical to revision 1" <<<"$err"'
check "… a receipt says unchanged" grep -q '"stage":"unchanged"' "$work/again/829-2019S1.csv.receipts.jsonl"
check_eq "… one revision at the node" 1 "$(node_stages 829 | grep -c '^829-2019S1	')"
check_eq "… the outbox is empty (nothing sent again)" 0 "$(node_outbox 829)"
check_eq "the province received one revision, counted once" "1 1" \
    "$(sql "$RUN/collector.db" "SELECT count(*) FROM report WHERE report_id='829-2019S1'") $(sql "$RUN/aggregator.db" "SELECT count(*) FROM counted WHERE district='829' AND period='2019S1'")"

# from a read-only folder: the receipts go to the node's folder, stderr says where
ro=$RUN/readonly
mkdir -p "$ro"
cp "$RUN/input/829/829-2019S2.csv" "$ro/"
rc=0
err=$(unshare -m bash -c "mount --bind '$ro' '$ro' && mount -o remount,bind,ro '$ro' &&
      '$BIN/kh-node' submit --district 829 '$ro/829-2019S2.csv'" 2>&1 >/dev/null) || rc=$?
kept=$RUN/node-829/receipts/829-2019S2.csv.receipts.jsonl
check_eq "a read-only folder: queued, exit 0" 0 "$rc"
check "… stderr says where the receipts are" \
    eval 'grep -qF "Receipts are written to $kept" <<<"$err" && grep -qF "Biên nhận được ghi tại $kept" <<<"$err"'
check "… nothing written beside the file" test ! -e "$ro/829-2019S2.csv.receipts.jsonl"
check "… and every receipt is kept there, counted at last" \
    wait_for 120 eval '[ "$(stages "$kept" 2>/dev/null)" = "queued received accepted counted" ]'
check "every process still runs" all_alive
