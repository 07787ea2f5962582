#!/usr/bin/env bash
# diskfull.sh short|long — a service's disk fills up while reports flow.
#
# The victim's database ([SERVICE] db) lives on a small tmpfs mounted inside the
# test's run folder ($RUN/full; $RUN/SERVICE.db is a symlink to it for the shared
# checks).  Reports flow; the stage after the victim is paused (SIGSTOP) while the
# victim sends it a few more; the victim's WAL is checkpointed and truncated and a
# filler file takes every free page; more reports come; the paused stage is continued,
# so its acknowledgements reach a victim that can no longer write.  Checks:
#   - no acknowledgement without a commit: every key the victim's sender no longer
#     holds in its outbox is committed at the victim (read the outbox, then the
#     victim: a key can only move forward in between), and what the victim could not
#     commit is still in the sender's outbox (at the nodes: never acknowledged);
#     sampled three times while the victim retries (the senders resend every 0.5 s);
#   - an error log line names the full disk, the database and what to do;
#   - the victim stays up;
#   - when the filler is deleted it recovers by itself: everything settles,
#     verify_exactly_once passes and no outbox keeps a row (verify_drained).
#
#   short: the collector, then the aggregator (2 nodes; ≈ 15 s; DF_VICTIMS="…" to choose)
#   long:  collector, validator, aggregator, notifier in turn (9 nodes, more reports,
#          two fill/free cycles each)
#
# Needs root (mount -t tmpfs).  The tmpfs is unmounted on exit, also on failure.
source "$(dirname "$0")/lib-netfs.sh"
set -u
faults_tier "${1:-}"
mode=$TIER
unset RUN                          # set by mkrun, per victim (cleanup() looks at it)
if [ "$(id -u)" != 0 ]; then echo "ok - diskfull: SKIP (needs root for mount)"; exit 0; fi

P=$$
if [ "$mode" = short ]; then
    victims=(${DF_VICTIMS:-collector aggregator}); nodes=(829 831); before=2 held_n=2 during=6 cycles=1 size=8m
else
    victims=(collector validator aggregator notifier); nodes=("${DISTRICTS[@]}")
    before=2 held_n=2 during=5 cycles=2 size=32m
fi
for old in "$TOP"/tests/out/run-faults-diskfull-*; do   # earlier runs no longer running
    [ -d "$old" ] || continue
    pid=${old##*-}
    kill -0 "$pid" 2>/dev/null && continue
    mountpoint -q "$old/full" && umount -l "$old/full"
    rm -rf "$old"
done
snapshot_bin || { echo "not ok - diskfull: cannot copy the binaries"; exit 1; }
input=$TOP/tests/out/run-faults-diskfull-input-$P
python3 "$TOP/scripts/gen-demo-data.py" "$input" 2>/dev/null
rm -rf "$input/extra"

mnt=""
cleanup() {
    local f
    for f in "${RUN:-/nonexistent}"/pids/*.pid; do [ -e "$f" ] && kill -CONT "$(cat "$f")" 2>/dev/null; done
    [ -n "${RUN:-}" ] || { snapshot_bin_remove; return 0; }
    pipeline stop >/dev/null 2>&1
    if [ -n "$mnt" ] && mountpoint -q "$mnt"; then
        umount "$mnt" 2>/dev/null || umount -l "$mnt"
    fi
    rm -rf "$input"
    snapshot_bin_remove
}
trap cleanup EXIT
trap 'exit 1' INT TERM

submit() { submit_next "$@"; }
keys() {          # keys DB SQL — one key per line, sorted
    sqlw "$1" "$2" | sort -u
}
# the sender's outbox (A) and what the victim has committed (B), as key lists
outbox_keys() {
    local d
    case $victim in
    collector) for d in "${nodes[@]}"; do sqlw "$(node_db "$d")" "SELECT key FROM outbox_collector"; done | sort -u ;;
    validator) keys "$RUN/collector.db" "SELECT key FROM outbox_validator" ;;
    aggregator) keys "$RUN/validator.db" "SELECT key FROM outbox_aggregator" ;;
    notifier) { sqlw "$RUN/validator.db" "SELECT key FROM outbox_notifier"
                sqlw "$RUN/aggregator.db" "SELECT key FROM outbox_notifier"; } | sort -u ;;
    esac
}
committed_keys() {
    case $victim in
    collector) keys "$vdb" "SELECT report_id||'/'||revision FROM report" ;;
    validator) { sqlw "$vdb" "SELECT key FROM outbox_aggregator"
                 sqlw "$RUN/aggregator.db" "SELECT report_id||'/'||revision FROM accepted UNION ALL
                                           SELECT report_id||'/'||revision FROM rejected"; } | sort -u ;;
    aggregator) keys "$vdb" "SELECT report_id||'/'||revision FROM accepted UNION ALL
                             SELECT report_id||'/'||revision FROM rejected" ;;
    notifier) keys "$vdb" "SELECT event_id FROM event" ;;
    esac
}
# the sender's stage is quiet: everything the victim will ever get is produced
upstream_quiet() {
    local d
    [ "$victim" = collector ] && return 0          # the nodes are its senders
    for d in "${nodes[@]}"; do [ "$(depth "$(node_db "$d")" outbox_collector)" = 0 ] || return 1; done
    case $victim in validator) return 0 ;; esac
    [ "$(depth "$RUN/collector.db" outbox_validator)" = 0 ] || return 1
    case $victim in aggregator) return 0 ;; esac
    [ "$(depth "$RUN/validator.db" outbox_aggregator)" = 0 ]
}
# the log line an admin needs: an error naming the full disk and the database
full_logged() {
    grep '"level":"error"' "$RUN/logs/$victim.log" | grep -i 'full' | grep -qF "$vdb"
}
# the stage after the victim, and the victim's outbox towards it
downstream() {
    case $victim in collector) echo validator ;; validator) echo aggregator ;;
                    aggregator) echo notifier ;; notifier) echo collector ;; esac
}
outbox_down() { echo "outbox_$(downstream)"; }
signal() { kill "-$1" "$(cat "$RUN/pids/$2.pid")"; }      # signal STOP|CONT SERVICE
held() { [ "$(depth "$vdb" "$(outbox_down)")" -ge $((held_n * ${#nodes[@]})) ]; }
at_validator() {
    [ "$(depth "$RUN/validator.db" outbox_aggregator)" -ge $((held_n * ${#nodes[@]})) ]
}
alive_victim() { pid_running "$(cat "$RUN/pids/$victim.pid")"; }

for victim in "${victims[@]}"; do
    mkrun "$TOP/tests/out/run-faults-diskfull-$victim-$P" $((24000 + (P % 800) * 10 + 5))
    set_conf general resend_ms 500
    cp -r "$input" "$RUN/input"
    mnt=$RUN/full
    mkdir -p "$mnt"
    mount -t tmpfs -o size=$size,mode=0755 "kh-$P-full" "$mnt" ||
        { echo "not ok - $victim: cannot mount a tmpfs"; exit 1; }
    vdb=$mnt/$victim.db
    set_conf "$victim" db "$vdb"
    ln -s "full/$victim.db" "$RUN/$victim.db"     # where the shared checks look for it
    NEXT_PERIOD=()
    pipeline start "${nodes[@]}" >/dev/null || { echo "not ok - $victim: pipeline did not start"; exit 1; }
    for d in "${nodes[@]}"; do submit "$d" "$before"; done
    check "$victim: reports flow while its disk has room" wait_settled 180 "${nodes[@]}"

    for cycle in $(seq 1 "$cycles"); do
        # acknowledgements must arrive while the disk is full too: the stage after the
        # victim is paused (SIGSTOP) while the victim sends it a few reports (for the
        # notifier: receipts), and continued once the disk is full.  The notifier's
        # next stage is the collector, its first: the reports are held at the validator
        # (aggregator paused) until the collector is paused too.
        down=$(downstream)
        if [ "$victim" = notifier ]; then
            signal STOP aggregator
            for d in "${nodes[@]}"; do submit "$d" "$held_n"; done
            wait_for 180 at_validator
            signal STOP collector
            signal CONT aggregator
        else
            signal STOP "$down"
            for d in "${nodes[@]}"; do submit "$d" "$held_n"; done
        fi
        check "$victim (fill $cycle): with the $down paused, what it sent waits in its outbox" \
            wait_for 180 held
        # fill: take every free page (even the deletion of an acknowledged row needs a
        # WAL frame), then send more.  First the WAL is
        # checkpointed and truncated: a WAL reset after an automatic checkpoint would
        # be written over in place, in space already taken, and not fill anything.
        [ "$(sqlw "$vdb" 'PRAGMA wal_checkpoint(TRUNCATE)')" = "0|0|0" ] ||
            echo "not ok - $victim (fill $cycle): the WAL could not be truncated"
        dd if=/dev/zero of="$mnt/filler" bs=1M 2>/dev/null   # until ENOSPC
        free=$(df --output=avail -B1 "$mnt" | tail -1 | tr -d " ")
        check_eq "$victim (fill $cycle): the tmpfs is full" 0 "$free"
        for d in "${nodes[@]}"; do submit "$d" "$during"; done
        signal CONT "$down"                       # its acknowledgements come now
        check "$victim (fill $cycle): an error log line names the full disk and the database" \
            wait_for 180 full_logged
        check "$victim (fill $cycle): the stages before it deliver what they have" \
            wait_for 180 upstream_quiet
        # samples while the victim retries (the senders resend every 0.5 s)
        ok=1 stuck=0 samples=""
        for sample in 1 2 3; do
            sleep 1
            outbox_keys >"$RUN/A.$sample"            # first the sender's outbox …
            committed_keys >"$RUN/B.$sample"         # … then the victim
            sort -u "$RUN/A.$sample" "$RUN/B.$sample" >"$RUN/AB.$sample"
            n=$(comm -23 "$RUN/A.$sample" "$RUN/B.$sample" | wc -l)
            samples+=" $n"
            [ "$n" -gt 0 ] && stuck=1
        done
        check "$victim (fill $cycle): it cannot commit, the sender keeps the rest (stuck:$samples)" \
            test "$stuck" = 1
        check "$victim (fill $cycle): still running while full" alive_victim
        if [ "$victim" = collector ]; then
            # the nodes' own record: nothing acknowledged that the collector lacks
            acked=$(for d in "${nodes[@]}"; do
                sqlw "$(node_db "$d")" "SELECT report_id||'/'||revision FROM report WHERE received_at IS NOT NULL"
            done | sort -u | comm -23 - "$RUN/B.3" | wc -l)
            check_eq "collector (fill $cycle): no node holds an acknowledgement the collector did not commit" 0 "$acked"
        fi
        t0=${EPOCHREALTIME/./}
        rm -f "$mnt/filler"
        check "$victim (free $cycle): space is back: everything settles by itself" \
            wait_settled 300 "${nodes[@]}"
        t1=${EPOCHREALTIME/./}
        note "$victim (cycle $cycle): recovered $(((t1 - t0) / 1000)) ms after the filler was deleted;" \
             "stuck at the sender while full:$samples"
        # acknowledged (gone from the sender's outbox) ⇒ committed: every key that ever
        # reached the victim was, at each sample, still at the sender or already committed
        committed_keys >"$RUN/final"
        for sample in 1 2 3; do
            lost=$(comm -23 "$RUN/final" "$RUN/AB.$sample" | wc -l)
            [ "$lost" = 0 ] || { ok=0; echo "  sample $sample: $lost acknowledged but not committed:" \
                                 "$(comm -23 "$RUN/final" "$RUN/AB.$sample" | head -3 | paste -sd' ')" >&2; }
        done
        check "$victim (fill $cycle): no acknowledgement without a commit (3 samples)" test "$ok" = 1
    done
    line=$(grep '"event":"db.full"' "$RUN/logs/$victim.log" | head -1)
    note "$victim logged: ${line:0:600}"
    note "$victim: $(grep -c '"level":"error"' "$RUN/logs/$victim.log") error line(s) in its log;" \
         "then: $(grep '"event":"db.space"' "$RUN/logs/$victim.log" | head -1 | cut -c1-300)"
    verify_exactly_once "diskfull-$victim"
    verify_drained "diskfull-$victim" "${nodes[@]}"
    pipeline stop >/dev/null
    mkdir -p "$RUN/full-copy"; cp -a "$mnt/." "$RUN/full-copy/"   # for a post-mortem
    umount "$mnt" || umount -l "$mnt"
done
