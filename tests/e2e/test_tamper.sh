#!/usr/bin/env bash
# Tamper evidence that covers what is counted (issue 11): someone with the sqlite3 shell
# on the aggregator's database.
#
# A run of the pipeline (two districts, five reports, one of them revised), stopped; then
#   a. the clean database: `kh-admin verify --totals` recomputes every district and
#      province cell from the counted reports and finds them all; `kh-admin audit verify`
#      finds every entry as the aggregator signed it (the key and the checkpoint file it
#      made at its first start; the last checkpoint is in its log stream too);
#   b. a province total edited (+100000 on HO.TONG of 2019S2): the audit log cannot see
#      it, `verify --totals` names that cell with both values (exit 1); a district cell
#      deleted and an extra cell inserted are named too;
#   c. on a copy, the triggers dropped and the last audit rows deleted: the chain is
#      intact, but `audit verify` names the entries cut off and the checkpoints that
#      signed them (exit 1), and the aggregator refuses to start on that database;
#   d. on a copy, one entry's body rewritten and every later hash recomputed (Python,
#      the encoding documented in lib/security/kh_audit.h): the chain is intact, but `audit
#      verify` names that entry, its hash and the signed one, and the entries re-hashed
#      after it (exit 1).
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
ADMIN=$BIN/kh-admin
[ -x "$ADMIN" ] || { echo "not ok - $ADMIN is not built (make)"; exit 1; }
start_test tamper
IN=$RUN/input
OUT=$RUN/tamper; mkdir -p "$OUT"
python3 "$TOP/scripts/gen-demo-data.py" "$IN" 2>/dev/null
pipeline start 829 833 >/dev/null || exit 1
ADB=$RUN/aggregator.db
CP=$RUN/audit.checkpoints
AKEY=$RUN/keys/aggregator-audit.key

"$BIN/kh-node" submit --district 833 "$IN/833/833-2019S1.csv" "$IN/833/833-2019S2.csv" >/dev/null
"$BIN/kh-node" submit --district 829 "$IN/829/829-2019S2.csv" "$IN/829/829-2020S1.csv" >/dev/null
wait_settled 120 829 833 || true
# revision 2 of 833-2019S2: one commune's households +10 % (the province cell then moves
# by a difference, as the aggregator counts a revision)
python3 - "$IN/833/833-2019S2.csv" "$OUT/833-2019S2-r2.csv" <<'PY'
import sys
rows = [l.rstrip("\n").split(",") for l in open(sys.argv[1], encoding="utf-8")]
commune = rows[1][1]
for r in rows[1:]:
    if r[1] == commune and r[2] == "HO.TONG":
        r[3] = str(int(r[3]) + int(r[3]) // 10)
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(",".join(r) for r in rows) + "\n")
PY
"$BIN/kh-node" submit --district 833 "$OUT/833-2019S2-r2.csv" >/dev/null
check "the reports settle" wait_settled 120 829 833
check_eq "four reports counted, one of them revision 2" "4 1" \
    "$(sql "$ADB" "SELECT count(*), sum(revision=2) FROM counted" | tr '|' ' ')"
pipeline stop >/dev/null 2>&1

N=$(sql "$ADB" "SELECT count(*) FROM audit")
LAST=$(sql "$ADB" "SELECT hash FROM audit WHERE seq=$N")
check "the audit log has entries, seq 1..N" test "$N" -gt 100 -a "$(sql "$ADB" "SELECT max(seq) FROM audit")" = "$N"

# ---- a. the clean database ---------------------------------------------------------------
check_eq "the aggregator made its audit key at the first start: secret 0600, .pub beside" "600 yes" \
    "$(stat -c %a "$AKEY") $([ -f "${AKEY%.key}.pub" ] && echo yes)"
check_eq "…and logged its fingerprint (keep a copy off the machine)" 1 \
    "$(grep -c '"event":"audit.key_created".*"fingerprint":"[0-9a-f]\{16\}"' "$RUN/logs/aggregator.log")"
check_eq "the checkpoint file: mode 0640 (less what the umask takes)" \
    "$(printf '%o' $((0640 & ~0$(umask))))" "$(stat -c %a "$CP")"
check_eq "its lines sign entries 1..N without gap or overlap, each hash the stored one" "ok" \
    "$(python3 - "$CP" "$ADB" <<'PY'
import json, sqlite3, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
db = dict(sqlite3.connect(sys.argv[2]).execute("SELECT seq, hash FROM audit"))
want = 1
for o in lines:
    assert o["from"] == want, (o["from"], want)
    assert len(o["hashes"]) == o["to"] - o["from"] + 1
    for i, h in enumerate(o["hashes"]):
        assert db[o["from"] + i] == h, o["from"] + i
    want = o["to"] + 1
assert want - 1 == len(db), (want, len(db))
print("ok")
PY
)"
check_eq "the log stream carries the last checkpoint: audit.checkpoint with to=N and its hash" \
    "$N $LAST" \
    "$(grep '"event":"audit.checkpoint"' "$RUN/logs/aggregator.log" | tail -1 |
       python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); print(o["to"], o["hash"])')"

CELLS=$(sql "$ADB" "SELECT count(*) FROM total WHERE n > 0")
"$ADMIN" verify --totals >"$OUT/totals-a.txt" 2>&1; rc=$?
check_eq "verify --totals on the clean database: exit 0" 0 "$rc"
check_eq "…every stored cell recomputed from the four counted reports" \
    "totals verified: $CELLS cells of 4 reports match" "$(tail -1 "$OUT/totals-a.txt")"
check_eq "…no cell line" 0 "$(grep -c '^cell ' "$OUT/totals-a.txt")"
check_eq "…the signatures checked with the key registry" \
    "signatures: 4 counted report(s) checked with the key registry" \
    "$(grep '^signatures:' "$OUT/totals-a.txt")"
"$ADMIN" audit verify >"$OUT/audit-a.txt" 2>&1; rc=$?
check_eq "audit verify on the clean database: exit 0" 0 "$rc"
check_eq "…chain intact, every entry signed as stored" \
    "audit chain intact: $N entries|audit log verified: $N entries, every signed one as it was signed" \
    "$(head -1 "$OUT/audit-a.txt")|$(tail -1 "$OUT/audit-a.txt")"
check "…the last signed entry is N with its hash" \
    grep -q "^checkpoints: .* the last signed entry $N at .*, hash $LAST\$" "$OUT/audit-a.txt"

copy() { rm -f "$1"; sqlite3 "$ADB" ".backup '$1'"; }
copy "$OUT/clean.db"

# ---- b. a province total edited --------------------------------------------------------------
B=$OUT/b.db; copy "$B"
PROV=$(sql "$ADB" "SELECT orgunit FROM total WHERE period='2019S2' AND indicator='HO.TONG'
                   AND orgunit NOT IN ('829','833')")
read -r S0 N0 < <(sql "$ADB" "SELECT printf('%d', sum), n FROM total WHERE period='2019S2'
                              AND orgunit='$PROV' AND indicator='HO.TONG'" | tr '|' ' ')
check_eq "the province of 829 and 833 is 83" 83 "$PROV"
sqlite3 "$B" "UPDATE total SET sum = sum + 100000 WHERE period='2019S2' AND orgunit='83'
              AND indicator='HO.TONG'"
"$ADMIN" audit verify --db "$B" >/dev/null 2>&1; rc=$?
check_eq "the audit log cannot see an edited total: audit verify still exit 0" 0 "$rc"
"$ADMIN" verify --totals --db "$B" >"$OUT/totals-b.txt" 2>&1; rc=$?
check_eq "verify --totals after +100000 on 2019S2/83/HO.TONG: exit 1" 1 "$rc"
check_eq "…one line, naming the cell, the stored and the recomputed value, what to do" \
    "cell 2019S2/83/HO.TONG: stored $((S0 + 100000)) (n $N0), recomputed $S0 (n $N0) from the counted reports: the stored total was changed — restore aggregator.db from a backup" \
    "$(grep '^cell ' "$OUT/totals-b.txt")"
check "…and the summary: 1 of the cells differs, what to do" \
    grep -q "^totals DIFFER: 1 of the $CELLS cells recomputed from 4 reports .* What to do: " "$OUT/totals-b.txt"

B2=$OUT/b2.db; copy "$B2"
read -r DS DN < <(sql "$B2" "SELECT printf('%d', sum), n FROM total WHERE period='2020S1'
                             AND orgunit='829' AND indicator='HO.TONG'" | tr '|' ' ')
sqlite3 "$B2" "DELETE FROM total WHERE period='2020S1' AND orgunit='829' AND indicator='HO.TONG';
               INSERT INTO total VALUES('2019S1','833','QUY.FAKE',5000000,1)"
"$ADMIN" verify --totals --db "$B2" >"$OUT/totals-b2.txt" 2>&1; rc=$?
check_eq "a district cell deleted and a cell nobody counts inserted: exit 1" 1 "$rc"
check_eq "…both named, each way" \
    "cell 2019S1/833/QUY.FAKE: stored 5000000 (n 1), recomputed: none (no counted report gives it): the stored total was added or changed — restore aggregator.db from a backup|cell 2020S1/829/HO.TONG: stored: none, recomputed $DS (n $DN) from the counted reports: the total is missing from the database — restore aggregator.db from a backup" \
    "$(grep '^cell ' "$OUT/totals-b2.txt" | paste -sd'|')"

# ---- c. the last audit rows cut off ------------------------------------------------------------
C=$OUT/c.db; copy "$C"
K=15
sqlite3 "$C" "DELETE FROM audit WHERE seq > $((N - K))" 2>"$OUT/c-del.err"
check "the trigger refuses the DELETE" grep -q 'append-only' "$OUT/c-del.err"
sqlite3 "$C" "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq > $((N - K))"
check_eq "…dropped: $K entries gone" $((N - K)) "$(sql "$C" "SELECT count(*) FROM audit")"
"$ADMIN" audit verify --db "$C" >"$OUT/audit-c.txt" 2>&1; rc=$?
check_eq "audit verify after the cut: exit 1" 1 "$rc"
check_eq "…the chain alone cannot tell (intact, shorter)" "audit chain intact: $((N - K)) entries" \
    "$(head -1 "$OUT/audit-c.txt")"
check "…the entries cut off are named, with the checkpoint line(s) that signed them" \
    grep -qE "^audit entries $((N - K + 1))–$N were cut off the end of the audit log: checkpoint lines? [0-9]+(–[0-9]+)? \(" \
    "$OUT/audit-c.txt"
check_eq "…one finding" 1 "$(grep -c '^audit entr' "$OUT/audit-c.txt")"
check "…and what to do" grep -q '^audit log NOT verified (see above).  What to do: .*restore aggregator.db from a backup' \
    "$OUT/audit-c.txt"

# the aggregator, started on the cut database, refuses (its checkpoints signed more)
cp "$C" "$ADB"; rm -f "$ADB-wal" "$ADB-shm"
off=$(log_size aggregator)
pipeline restart aggregator >/dev/null 2>&1; rc=$?
check "the aggregator does not start on the cut database" test "$rc" -ne 0
check "…its log says which entries are gone and what to do" \
    grep -q "\"event\":\"audit.anchor\".*entries $((N - K + 1))–$N were cut off.*restore a database that holds them" \
    <(tail -c +$((off + 1)) "$RUN/logs/aggregator.log")
pipeline stop >/dev/null 2>&1
cp "$OUT/clean.db" "$ADB"; rm -f "$ADB-wal" "$ADB-shm"

# ---- d. one entry rewritten, every later hash recomputed ------------------------------------------
D=$OUT/d.db; copy "$D"
E=$(sql "$D" "SELECT min(seq) FROM audit WHERE kind='value' AND subject='2019S2/83/HO.TONG'")
SIGNED=$(sql "$D" "SELECT hash FROM audit WHERE seq=$E")
python3 - "$D" "$E" >"$OUT/d.out" <<'PY'
import hashlib, json, sqlite3, struct, sys
db, first = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(db)
def s(x): b = x.encode(); return struct.pack(">I", len(b)) + b
def h(seq, at, kind, subject, body, prev):   # lib/security/kh_audit.h
    return hashlib.sha256(s("KH-AUDIT-v1") + struct.pack(">q", seq) + struct.pack(">q", at) +
                          s(kind) + s(subject) + s(body) + s(prev)).hexdigest()
rows = con.execute("SELECT seq,at,kind,subject,body,prev,hash FROM audit WHERE seq >= ? "
                   "ORDER BY seq", (first,)).fetchall()
assert all(h(*r[:6]) == r[6] for r in rows), "the documented encoding does not give the stored hashes"
con.execute("DROP TRIGGER audit_no_update")
prev = rows[0][5]
for seq, at, kind, subject, body, _, _ in rows:
    if seq == first:
        b = json.loads(body); b["after"]["sum"] += 100000
        body = json.dumps(b, separators=(",", ":"), ensure_ascii=False)
    new = h(seq, at, kind, subject, body, prev)
    con.execute("UPDATE audit SET body=?, prev=?, hash=? WHERE seq=?", (body, prev, new, seq))
    if seq == first:
        print(new)
    prev = new
con.commit()
PY
check "the entry rewritten and every later hash recomputed (the documented encoding)" test -s "$OUT/d.out"
REWRITTEN=$(head -1 "$OUT/d.out")
"$ADMIN" audit verify --db "$D" >"$OUT/audit-d.txt" 2>&1; rc=$?
check_eq "audit verify after the rewrite: exit 1" 1 "$rc"
check_eq "…the chain alone cannot tell (intact)" "audit chain intact: $N entries" "$(head -1 "$OUT/audit-d.txt")"
check "…entry $E is named: its hash, the checkpoint that signed it, the signed hash" \
    grep -qE "^audit entry $E was rewritten: its hash $REWRITTEN differs from the one signed at checkpoint line [0-9]+ \([^)]*\), $SIGNED\$" \
    "$OUT/audit-d.txt"
check "…and the entries re-hashed after it" \
    grep -q "^audit entries $((E + 1))–$N were re-hashed to hide the change before them" "$OUT/audit-d.txt"
check_eq "…two findings" 2 "$(grep -c '^audit entr' "$OUT/audit-d.txt")"
"$ADMIN" audit verify --db "$OUT/clean.db" >/dev/null 2>&1; rc=$?
check_eq "the clean copy still verifies (exit 0)" 0 "$rc"

# ---- no checkpoints to check against ---------------------------------------------------------------
cp "$KH_CONFIG" "$OUT/nocp.ini"
KH_CONFIG=$OUT/nocp.ini set_conf aggregator audit_checkpoints "$OUT/no-such.checkpoints"
"$ADMIN" --config "$OUT/nocp.ini" audit verify >"$OUT/audit-nocp.txt" 2>&1; rc=$?
check_eq "no checkpoint file while the database holds entries: exit 1" 1 "$rc"
check "…saying that none of the $N entries is signed" \
    grep -q "^none of the $N audit entries is signed: the checkpoint file $OUT/no-such.checkpoints is missing" \
    "$OUT/audit-nocp.txt"
cp "$KH_CONFIG" "$OUT/nokey.ini"
KH_CONFIG=$OUT/nokey.ini set_conf aggregator audit_key "$OUT/no-such.key"
"$ADMIN" --config "$OUT/nokey.ini" audit verify >"$OUT/audit-nokey.txt" 2>&1; rc=$?
check_eq "the checkpoint file there but no public key to check it: exit 2 (cannot tell)" 2 "$rc"
check "…saying which key file to copy" \
    grep -q "^checkpoints: cannot be checked: .*no-such.pub.* copy the aggregator's audit public key" \
    "$OUT/audit-nokey.txt"
