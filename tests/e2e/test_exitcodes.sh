#!/usr/bin/env bash
# Exit codes (issue 10): every service — kh-collector, kh-validator, kh-aggregator,
# kh-notifier and kh-node run — exits non-zero when it stops for a failure and 0 only
# on SIGTERM or SIGINT, so that systemd's Restart=on-failure restarts it:
#   a bad configuration value        -> 1, its last line names the option
#   a database it cannot open        -> 1 (the path under a regular file)
#   a port it cannot bind            -> 1 (its metrics port held by another process)
#   a self-check that lets a key in  -> 1, "self-check FAILED: … let … in", never ready
#                                       ([security] selfcheck_key = a registered key of a
#                                       role the endpoint admits, so the real ZAP handler
#                                       really lets it in)
#   started normally, then SIGTERM   -> 0 (and SIGINT -> 0)
# Each binary is run directly under `timeout`, so a hang fails instead of blocking.
# (The retry of a self-check that gets no answer, exit code 75: tests/unit/test_selfcheck.c.)
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test exitcodes
ADMIN=$BIN/kh-admin
K=$RUN/keys
# an admin's key (the log streams admit admins) and a key nobody registered
"$ADMIN" keys generate --role admin --unit 83 --id admin >/dev/null &&
    "$ADMIN" keys register "$K/admin.pub" >/dev/null || { echo "not ok - admin key"; exit 1; }
"$ADMIN" keys generate --role district --unit 829 --id stranger >/dev/null ||
    { echo "not ok - stranger key"; exit 1; }
BASE=$(sed -n 's|^listen = tcp://127.0.0.1:\([0-9]*\).*|\1|p' "$KH_CONFIG" | head -1)
cp "$KH_CONFIG" "$RUN/kh.ini.orig"
reset_conf() { cp "$RUN/kh.ini.orig" "$KH_CONFIG"; }
SERVICES=(collector validator aggregator notifier node)
OUT=$RUN/exit; mkdir -p "$OUT"

# cmd NAME — sets CMD to the command line of a service (kh-node run for node)
cmd() {
    case $1 in
        node) CMD=("$BIN/kh-node" run --district 829 --config "$KH_CONFIG") ;;
        *) CMD=("$BIN/kh-$1" --config "$KH_CONFIG") ;;
    esac
}
section() { [ "$1" = node ] && echo node || echo "$1"; }

# run_to_end NAME OUT — runs the service until it stops by itself (60 s at most: a hang
# is killed by timeout and fails with 124); prints its exit code
run_to_end() {
    local rc
    cmd "$1"
    timeout 60 "${CMD[@]}" >"$2" 2>&1; rc=$?
    echo "$rc"
}

# expect_fail NAME WHAT OUT PATTERN — exit code 1 and the last line matches PATTERN
expect_fail() {
    local name=$1 what=$2 out=$3 pat=$4 rc
    rc=$(run_to_end "$name" "$out")
    check_eq "$name: $what: exits 1" 1 "$rc"
    check "$name: $what: the last line says why ($pat)" bash -c "tail -1 '$out' | grep -q -- '$pat'"
    check "$name: $what: never said it was ready" bash -c "! grep -q '\"event\":\"service.ready\"' '$out'"
}

# ---- (a) a bad configuration value ---------------------------------------------------------
declare -A BAD_SEC=([collector]=collector [validator]=general [aggregator]=security
                    [notifier]=notifier [node]=general)
declare -A BAD_KEY=([collector]=replay_clock [validator]=hwm [aggregator]=verify_signatures
                    [notifier]=webhook_url [node]=heartbeat_ms)
declare -A BAD_VAL=([collector]=sometimes [validator]=many [aggregator]=perhaps
                    [notifier]=ftp://example.vn/hook [node]=-5)
for s in "${SERVICES[@]}"; do
    reset_conf
    set_conf "${BAD_SEC[$s]}" "${BAD_KEY[$s]}" "${BAD_VAL[$s]}"
    expect_fail "$s" "[${BAD_SEC[$s]}] ${BAD_KEY[$s]} = ${BAD_VAL[$s]}" "$OUT/$s-badconf.log" \
        "${BAD_KEY[$s]}"
    reset_conf
    set_conf general selfcheck_attempts 0
    expect_fail "$s" "[general] selfcheck_attempts = 0" "$OUT/$s-badattempts.log" \
        "selfcheck_attempts = 0: expected an integer from 1 to 50"
done
# an option no program reads (a typo) is refused with the file and line, never ignored
declare -A TYPO_SEC=([collector]=collector [validator]=validator [aggregator]=aggregator
                     [notifier]=notifier [node]=node)
declare -A TYPO_KEY=([collector]=lisen [validator]=dbb [aggregator]=snapshott
                     [notifier]=reminder_day [node]=colector)
declare -A TYPO_FIX=([collector]=listen [validator]=db [aggregator]=snapshot
                     [notifier]=reminder_days [node]=collector)
for s in "${SERVICES[@]}"; do
    reset_conf
    set_conf "${TYPO_SEC[$s]}" "${TYPO_KEY[$s]}" x
    line=$(grep -n "^${TYPO_KEY[$s]} = x" "$KH_CONFIG" | cut -d: -f1)
    expect_fail "$s" "a typo, ${TYPO_KEY[$s]} in [${TYPO_SEC[$s]}]" "$OUT/$s-typo.log" \
        "kh.ini:$line: unknown key .${TYPO_KEY[$s]}. in \[${TYPO_SEC[$s]}\]: did you mean .${TYPO_FIX[$s]}.?"
done
reset_conf
printf '[colector]\nlisten = tcp://127.0.0.1:1\n' >>"$KH_CONFIG"
line=$(grep -n '^\[colector\]' "$KH_CONFIG" | cut -d: -f1)
expect_fail validator "a misspelt section, [colector]" "$OUT/validator-typo-section.log" \
    "kh.ini:$((line + 1)): unknown section \[colector\]: did you mean \[collector\]?"
rc=0; "$BIN/kh-feed" summary --period 2020S2 --no-sync --config "$KH_CONFIG" \
    >"$OUT/feed-typo.log" 2>&1 || rc=$?
check "kh-feed refuses the misspelt section too (exit $rc), naming the line" \
    bash -c "[ $rc != 0 ] && grep -q 'kh.ini:$((line + 1)): unknown section' '$OUT/feed-typo.log'"
rc=0; "$ADMIN" --config "$KH_CONFIG" status >"$OUT/admin-typo.log" 2>&1 || rc=$?
check "kh-admin refuses it too (exit $rc), naming the line" \
    bash -c "[ $rc != 0 ] && grep -q 'kh.ini:$((line + 1)): unknown section' '$OUT/admin-typo.log'"
reset_conf
set_conf security selfcheck_key "$K/does-not-exist.key"
expect_fail collector "[security] selfcheck_key names no file" "$OUT/collector-nokeyfile.log" \
    "does-not-exist.key"
reset_conf
set_conf security selfcheck_key "$K/admin.pub"
expect_fail aggregator "[security] selfcheck_key names a public key only" \
    "$OUT/aggregator-pubkey.log" "without its secret"

# ---- (b) a database it cannot open ----------------------------------------------------------
: >"$RUN/a-file"
for s in "${SERVICES[@]}"; do
    reset_conf
    if [ "$s" = node ]; then set_conf node dir "$RUN/a-file/node-829"
    else set_conf "$s" db "$RUN/a-file/$s.db"; fi
    expect_fail "$s" "its database under a regular file" "$OUT/$s-db.log" "a-file"
done

# ---- (b') a port it cannot bind --------------------------------------------------------------
HOLD=$((BASE + 9))
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); print("ok", flush=True); time.sleep(300)' \
    "$HOLD" >"$RUN/hold.out" 2>&1 &
holder=$!
for i in $(seq 1 100); do grep -q ok "$RUN/hold.out" 2>/dev/null && break; sleep 0.1; done
for s in "${SERVICES[@]}"; do
    reset_conf
    set_conf "$(section "$s")" metrics "127.0.0.1:$HOLD"
    expect_fail "$s" "its metrics port in use" "$OUT/$s-port.log" "127.0.0.1:$HOLD"
done
reset_conf
set_conf collector listen "tcp://127.0.0.1:$HOLD"
expect_fail collector "its node door's port in use" "$OUT/collector-door.log" "cannot bind"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null

# ---- (c) a self-check that lets a key in ------------------------------------------------------
# the collector's node door (domain "nodes") admits district keys; the aggregator's feed
# (domain "feed") the province key; a tcp log stream (domain "logs") admin keys
declare -A ADMITTED=([collector]=$K/829-1.key [aggregator]=$K/province.key
                     [validator]=$K/admin.key [notifier]=$K/admin.key [node]=$K/admin.key)
declare -A LOGPORT=([validator]=$((BASE + 7)) [notifier]=$((BASE + 8)) [node]=$((BASE + 9)))
with_log_stream() {    # with_log_stream NAME — validator, notifier, node: a tcp log stream
    [ -n "${LOGPORT[$1]:-}" ] && set_conf "$(section "$1")" log "tcp://127.0.0.1:${LOGPORT[$1]}"
    return 0
}
for s in "${SERVICES[@]}"; do
    reset_conf
    with_log_stream "$s"
    set_conf security selfcheck_key "${ADMITTED[$s]}"
    expect_fail "$s" "self-check with a registered key ($(basename "${ADMITTED[$s]}"))" \
        "$OUT/$s-admitted.log" "service.stop"
    check "$s: the key was really let in by the ZAP handler" \
        grep -q '"event":"auth.allowed"' "$OUT/$s-admitted.log"
    check "$s: logged as an error: self-check FAILED … let … in" \
        grep -q '"level":"error".*"event":"auth.selfcheck","msg":"self-check FAILED: .* let .* in' \
        "$OUT/$s-admitted.log"
done

# ---- (d) started normally, then SIGTERM (and SIGINT): 0 ---------------------------------------
# start_wait NAME OUT — starts the service under timeout in the background, waits (60 s at
# most) for its ready line; sets $pid (timeout's, which passes signals on).  Returns 1 when
# it never got ready.
start_wait() {
    local i
    cmd "$1"
    timeout 120 "${CMD[@]}" >"$2" 2>&1 &
    pid=$!
    for i in $(seq 1 600); do
        grep -q '"event":"service.ready"' "$2" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
stop_with() {          # stop_with SIGNAL — signals $pid, sets $rc to its exit code
    kill "-$1" "$pid" 2>/dev/null
    wait "$pid"; rc=$?
}
for s in "${SERVICES[@]}"; do
    for sig in TERM INT; do
        reset_conf
        log=$OUT/$s-$sig.log
        if ! start_wait "$s" "$log"; then
            echo "not ok - $s: started normally, it got ready"; tail -3 "$log"
            kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; continue
        fi
        stop_with "$sig"
        check_eq "$s: started normally, then SIG$sig: exits 0" 0 "$rc"
        check "$s: SIG$sig: it drained and said it stopped" \
            grep -q '"event":"service.stop"' "$log"
    done
done

# the same with a tcp log stream and a key nobody registered as selfcheck_key: refused,
# so ready; SIGTERM: 0
for s in validator node; do
    reset_conf
    with_log_stream "$s"
    set_conf security selfcheck_key "$K/stranger.key"
    log=$OUT/$s-stranger.log
    if start_wait "$s" "$log"; then
        check "$s: a selfcheck_key nobody registered is refused: the self-check passes" \
            grep -q '"event":"auth.selfcheck","msg":"self-check passed' "$log"
        stop_with TERM
        check_eq "$s: …ready, then SIGTERM: exits 0" 0 "$rc"
    else
        echo "not ok - $s: with a stranger's selfcheck_key it got ready"; tail -3 "$log"
        kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    fi
done
reset_conf
