# lib-netfs.sh — helpers of the network-partition and disk-full fault scripts
# (tests/faults/partition.sh, tests/faults/diskfull.sh); sourced, not run.
#
# On top of lib-faults.sh (whose verify_exactly_once is the pass criterion): a
# submit helper that records what it queued the way lib-faults.sh's feeders do,
# small polling helpers (wait_for is tests/e2e/lib.sh's), and verify_drained —
# checks verify_exactly_once does not make: every outbox of the province is empty
# at the end (a row left behind is a message that will never be sent again until a
# restart) and every event the notifier stored came back to its node as a receipt,
# once.

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib-faults.sh"

# snapshot_bin — run on a copy of the binaries: other work in the same tree may relink
# build/bin while a long test runs ("Permission denied" from a half-written file)
snapshot_bin() {
    NETFS_BIN=$(mktemp -d /tmp/kh-netfs-bin.XXXXXX) && cp -a "$BIN/." "$NETFS_BIN/" || return 1
    BIN=$NETFS_BIN
    export KH_BIN=$BIN
}
snapshot_bin_remove() { [ -n "${NETFS_BIN:-}" ] && rm -rf "$NETFS_BIN"; return 0; }

node_db() { echo "$RUN/node-$1/outbox.db"; }

# sqlw DB QUERY — like sql, but waits for a writer's lock instead of failing
sqlw() { sqlite3 -batch -noheader -cmd '.timeout 10000' "$1" "$2"; }

# depth DB TABLE — rows in one outbox table (-1 if the database cannot be read)
depth() { sqlw "$1" "SELECT count(*) FROM $2" 2>/dev/null || echo -1; }

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# submit_next D [N] — the district's next N reports from $RUN/input, one half-year
# after another (a new revision once the eight have gone round); every queued file is
# recorded in $RUN/submitted/D-netfs, as verify_exactly_once expects
declare -A NEXT_PERIOD
submit_next() {
    local d=$1 n=${2:-1} k p f out
    mkdir -p "$RUN/submitted"
    for ((k = 0; k < n; k++)); do
        p=${PERIODS[$((${NEXT_PERIOD[$d]:-0} % 8))]}
        NEXT_PERIOD[$d]=$((${NEXT_PERIOD[$d]:-0} + 1))
        f=$RUN/input/$d/$d-$p.csv
        # --force: after eight the same files come round again, a revision each time
        if out=$("$BIN/kh-node" submit --district "$d" --force "$f" 2>>"$RUN/submit-errors"); then
            printf '%s\n' "$out" | sed -n 's/: .*queued$//p' >>"$RUN/submitted/$d-netfs"
        else
            echo "not ok - kh-node submit $d $p failed (see $RUN/submit-errors)"
        fi
    done
}

# verify_drained LABEL DISTRICT... — every outbox of the province is empty and every
# event stored by the notifier is a receipt at its node, once
verify_drained() {
    local label=$1; shift
    python3 - "$RUN" "$label" "$@" <<'PY'
import os, sqlite3, sys
run, label, nodes = sys.argv[1], sys.argv[2], sys.argv[3:]
def q(path, sql):
    c = sqlite3.connect(os.path.join(run, path), timeout=30)
    try:
        return c.execute(sql).fetchall()
    finally:
        c.close()
def check(desc, ok, detail=""):
    print("%s - %s: %s%s" % ("ok" if ok else "not ok", label, desc,
                             "" if ok or not detail else " (" + detail + ")"))
left = {}
for db, tables in (("collector", ("outbox_validator", "outbox_nodes")),
                   ("validator", ("outbox_aggregator", "outbox_notifier")),
                   ("aggregator", ("outbox_notifier",)), ("notifier", ("outbox_collector",))):
    for t in tables:
        n = q(db + ".db", "SELECT count(*) FROM " + t)[0][0]
        if n:
            left["%s.%s" % (db, t)] = n
check("every outbox of the province is empty", not left, str(left))
wrong = set()
for d in nodes:
    mine = {e for (e,) in q("notifier.db", "SELECT event_id FROM event WHERE district='%s'" % d)}
    got = [e for (e,) in q("node-%s/outbox.db" % d, "SELECT event_id FROM receipt WHERE stage <> 'reminder'")]
    wrong |= mine ^ set(got)
    if len(got) != len(set(got)):
        wrong.add("%s: a receipt twice" % d)
check("every event came back to its node as a receipt, once", not wrong,
      ", ".join(sorted(wrong)[:5]))
PY
}
