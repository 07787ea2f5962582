#!/usr/bin/env bash
# Signed reports and the tamper-evident audit log (issue 5, items 4 and 5).
#
# A. The audit log of a run: every revision applied and every change of a district or
#    province cell is an entry; the chain is intact and `kh-admin audit verify` says so.
# B. Signatures, checked by the aggregator before anything is counted: verdicts are
#    written here by an independent implementation (Python: the canonical bytes of
#    lib/security/kh_sign.h and Ed25519 per RFC 8032) and sent straight into the aggregator, as a
#    compromised validator could: one signed with the district's registered key is
#    counted and `kh-admin verify` names the district and key; one changed after signing,
#    one signed with another district's key and one unsigned are refused (BAD_SIGNATURE,
#    the district told through the notifier, logged at warn), and nothing of them is counted.
# C. The audit log edited with the sqlite3 shell: the triggers refuse UPDATE and DELETE;
#    after dropping them, an edited entry and a removed one are named by
#    `kh-admin audit verify` (exit 1).
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
INJ=$TOP/${KH_BUILD:-build}/tests/tools/kh-inject
ADMIN=$BIN/kh-admin
for x in "$INJ" "$ADMIN"; do [ -x "$x" ] || { echo "not ok - $x is not built (make)"; exit 1; }; done
start_test signed
IN=$RUN/input
python3 "$TOP/scripts/gen-demo-data.py" "$IN" 2>/dev/null
pipeline start 829 833 >/dev/null || exit 1
OUT=$RUN/signed; mkdir -p "$OUT"
AGG=$(conf aggregator listen)
ADB=$RUN/aggregator.db
nlog() { local n; n=$(grep -c "\"event\":\"$2\"" "$RUN/logs/$1.log") || true; echo "${n:-0}"; }

# ---- A. the audit log of a run ---------------------------------------------------------
"$BIN/kh-node" submit --district 833 "$IN/833/833-2019S1.csv" "$IN/833/833-2019S2.csv" >/dev/null
"$BIN/kh-node" submit --district 829 "$IN/829/829-2020S1.csv" >/dev/null
wait_settled 60 829 833 || true
# revision 2 of 833-2019S2: one commune's households +10 %
python3 - "$IN/833/833-2019S2.csv" "$OUT/833-2019S2-r2.csv" <<'PY'
import sys
rows = [l.rstrip("\n").split(",") for l in open(sys.argv[1], encoding="utf-8")]
commune = rows[1][1]
for r in rows[1:]:
    if r[1] == commune and r[2] == "HO.TONG":
        old = int(r[3]); r[3] = str(old + old // 10)
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(",".join(r) for r in rows) + "\n")
print(old // 10, file=open(sys.argv[2] + ".delta", "w"))
PY
"$BIN/kh-node" submit --district 833 "$OUT/833-2019S2-r2.csv" >/dev/null
check "the reports settle" wait_settled 60 829 833
delta=$(cat "$OUT/833-2019S2-r2.csv.delta")
check_eq "verification is on by default: no warning at start" 0 "$(nlog aggregator security.signatures_off)"
check "kh-admin verify names a node's counted report's district and key" \
    bash -c "'$ADMIN' verify --report 829-2020S1 | grep -q 'VALID: signed by 829-1, the key of district 829'"
check_eq "one 'revision' entry per revision applied (accepted or rejected)" \
    "$(sql "$ADB" "SELECT (SELECT count(*) FROM accepted)+(SELECT count(*) FROM rejected)")" \
    "$(sql "$ADB" "SELECT count(*) FROM audit WHERE kind='revision'")"
check_eq "the revision entry carries district, period, accepted, signer, signature, digest, received_at" \
    "833|2019S2|1|64|1" \
    "$(sql "$ADB" "SELECT json_extract(body,'\$.district'), json_extract(body,'\$.period'),
                          json_extract(body,'\$.accepted'), length(json_extract(body,'\$.digest')),
                          json_extract(body,'\$.received_at') > 0
                   FROM audit WHERE kind='revision' AND subject='833-2019S2/2'")"
n1=$(sql "$ADB" "SELECT count(*) FROM audit WHERE kind='value'
                 AND json_extract(body,'\$.report_id')='833-2019S1'")
check "a first report: its district and province cells are entries (about 40 + 40, not 720)" \
    test "$n1" -ge 20 -a "$n1" -le 400
check_eq "revision 2 changed one commune value: two entries (district and province HO.TONG)" \
    "2019S2/83/HO.TONG 2019S2/833/HO.TONG" \
    "$(sql "$ADB" "SELECT group_concat(subject,' ') FROM (SELECT subject FROM audit WHERE kind='value'
                   AND json_extract(body,'\$.report_id')='833-2019S2'
                   AND json_extract(body,'\$.revision')=2 ORDER BY subject)")"
check_eq "…each with before and after (after − before = the change)" "$delta|$delta" \
    "$(sql "$ADB" "SELECT group_concat(d,'|') FROM (SELECT json_extract(body,'\$.after.sum') -
                   json_extract(body,'\$.before.sum') AS d FROM audit WHERE kind='value'
                   AND json_extract(body,'\$.report_id')='833-2019S2'
                   AND json_extract(body,'\$.revision')=2)")"
"$ADMIN" audit verify >"$OUT/audit-a.txt" 2>&1; rc=$?
check_eq "kh-admin audit verify: exit 0" 0 "$rc"
check_eq "kh-admin audit verify: intact, with every entry" \
    "audit chain intact: $(sql "$ADB" "SELECT count(*) FROM audit") entries" "$(head -1 "$OUT/audit-a.txt")"

# ---- B. signatures, with verification on -----------------------------------------------
set_conf security verify_signatures yes
pipeline kill aggregator
pipeline restart aggregator >/dev/null 2>&1
check_eq "verification on: no warning at restart either" 0 "$(nlog aggregator security.signatures_off)"

# verdicts for 832-2018S1: 1 signed by 832's key; 2 changed after signing; 3 signed by
# 831's key; 4 unsigned.  Prints the digest of revision 1's canonical bytes.
python3 - "$IN/832/832-2018S1.csv" "$RUN/keys" "$OUT" >"$OUT/digest1" <<'PY'
import base64, hashlib, struct, sys, time
csv_path, keys, out = sys.argv[1:]

# --- Ed25519 (RFC 8032, section 6), signing only ---
p = 2**255 - 19; L = 2**252 + 27742317777372353535851937790883648493
d = -121665 * pow(121666, p - 2, p) % p; I = pow(2, (p - 1) // 4, p)
def inv(x): return pow(x, p - 2, p)
def add(P, Q):
    A = (P[1] - P[0]) * (Q[1] - Q[0]) % p; B = (P[1] + P[0]) * (Q[1] + Q[0]) % p
    C = 2 * P[3] * Q[3] * d % p; D = 2 * P[2] * Q[2] % p
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F % p, G * H % p, F * G % p, E * H % p)
def mul(s, P):
    Q = (0, 1, 1, 0)
    while s:
        if s & 1: Q = add(Q, P)
        P = add(P, P); s >>= 1
    return Q
def xrec(y, sign):
    x2 = (y * y - 1) * inv(d * y * y + 1) % p
    x = pow(x2, (p + 3) // 8, p)
    if (x * x - x2) % p: x = x * I % p
    return p - x if (x & 1) != sign else x
gy = 4 * inv(5) % p; gx = xrec(gy, 0); Gp = (gx, gy, 1, gx * gy % p)
def enc(P):
    zi = inv(P[2]); x, y = P[0] * zi % p, P[1] * zi % p
    return (y | ((x & 1) << 255)).to_bytes(32, "little")
def sign(seed, msg):
    h = hashlib.sha512(seed).digest()
    a = (int.from_bytes(h[:32], "little") & ((1 << 254) - 8)) | (1 << 254)
    A = enc(mul(a, Gp))
    r = int.from_bytes(hashlib.sha512(h[32:] + msg).digest(), "little") % L
    R = enc(mul(r, Gp))
    k = int.from_bytes(hashlib.sha512(R + A + msg).digest(), "little") % L
    return R + ((r + k * a) % L).to_bytes(32, "little"), A

def key(kid):
    f = dict(l.split(" = ", 1) for l in open(f"{keys}/{kid}.key").read().splitlines() if " = " in l)
    sk = base64.b64decode(f["secret"]); pk = base64.b64decode(f["public"])
    assert len(sk) == 64 and sk[32:] == pk
    return sk[:32], pk

# --- the canonical bytes (lib/security/kh_sign.h) ---
def s(x): b = x.encode(); return struct.pack(">I", len(b)) + b
def canonical(r):
    b = s("KH-REPORT-v1") + s(r["id"]) + struct.pack(">I", r["rev"]) + s(r["district"]) + \
        s(r["period"]) + struct.pack(">q", r["submitted"]) + s(r["source"]) + struct.pack(">I", len(r["values"]))
    for o, i, raw, line in r["values"]:
        b += s(o) + s(i) + s(raw) + struct.pack(">I", line)
    return b

# --- protobuf (proto/kh.proto: Value, Report, Verdict) ---
def varint(n):
    n &= (1 << 64) - 1; out = b""
    while True:
        if n < 0x80: return out + bytes([n])
        out += bytes([n & 0x7f | 0x80]); n >>= 7
def fv(f, n): return varint(f << 3) + varint(n) if n else b""
def fb(f, b): return varint(f << 3 | 2) + varint(len(b)) + b if b else b""
def report_pb(r):
    b = fb(1, r["id"].encode()) + fv(2, r["rev"]) + fb(3, r["district"].encode()) + \
        fb(4, r["period"].encode()) + fv(5, r["submitted"]) + fv(6, r["received"]) + fb(7, r["source"].encode())
    for o, i, raw, line in r["values"]:
        v = fb(1, o.encode()) + fb(2, i.encode()) + fb(3, raw.encode()) + fv(4, line)
        b += varint(8 << 3 | 2) + varint(len(v)) + v
    return b + fb(9, r.get("sig", b"")) + fb(10, r.get("signer", "").encode())
def verdict_pb(r): return fb(1, report_pb(r)) + fv(2, 1) + fv(4, int(time.time() * 1000))

rows = [l.rstrip("\n").split(",") for l in open(csv_path, encoding="utf-8")][1:]
now = int(time.time() * 1000)
def report(rev):
    return {"id": "832-2018S1", "rev": rev, "district": "832", "period": rows[0][0],
            "submitted": now - 60000, "received": now, "source": "832-2018S1.csv",
            "values": [(o, i, v, n + 2) for n, (_, o, i, v) in enumerate(rows)]}
seed832, pk832 = key("832-1"); seed831, _ = key("831-1")
def signed(rev, seed, kid):
    r = report(rev); sig, A = sign(seed, canonical(r)); r["sig"], r["signer"] = sig, kid
    return r, A
r1, A = signed(1, seed832, "832-1")
assert A == pk832, "the Python Ed25519 does not give libsodium's public key"
r2, _ = signed(2, seed832, "832-1")
o, i, v, line = r2["values"][0]; r2["values"][0] = (o, i, str(int(v) + 1) if v.isdigit() else v + "x", line)
r3, _ = signed(3, seed831, "831-1")
r4 = report(4)
for n, r in ((1, r1), (2, r2), (3, r3), (4, r4)):
    open(f"{out}/verdict-{n}.bin", "wb").write(verdict_pb(r))
print(hashlib.sha256(canonical(r1)).hexdigest())
PY
check "four verdicts written by the independent implementation" test -s "$OUT/verdict-4.bin"
for n in 1 2 3 4; do
    "$INJ" --endpoint "$AGG" --type VERDICT --file "$OUT/verdict-$n.bin" --acks 1 \
        --wait-ms 120000 >"$OUT/inject-$n" 2>&1
    check "verdict $n acknowledged by the aggregator" grep -q "^ACK 832-2018S1/$n dup=0" "$OUT/inject-$n"
done
check_eq "the one signed with 832's registered key is counted" "832-2018S1|1" \
    "$(sql "$ADB" "SELECT report_id, revision FROM counted WHERE district='832' AND period='2018S1'")"
check "…its district cells are in the totals" \
    test "$(sql "$ADB" "SELECT count(*) FROM total WHERE period='2018S1' AND orgunit='832'")" -gt 10
check_eq "changed after signing, another district's key, unsigned: kept as rejected, BAD_SIGNATURE" \
    "2 3 4" "$(sql "$ADB" "SELECT group_concat(revision,' ') FROM (SELECT revision FROM rejected
                           WHERE report_id='832-2018S1' ORDER BY revision)")"
check_eq "…and logged at warn, one line each" 3 \
    "$(grep '"event":"report.bad_signature"' "$RUN/logs/aggregator.log" | grep '"level":"warn"' |
       grep -c '"report_id":"832-2018S1"')"
check "…the reasons: changed contents, not 832's key, no signature" \
    bash -c "grep -q 'does not match the report.s contents' '$RUN/logs/aggregator.log' &&
             grep -q \"key '831-1' is not a key registered for unit 832\" '$RUN/logs/aggregator.log' &&
             grep -q 'carries no signature' '$RUN/logs/aggregator.log'"
three_rejected() { [ "$(sql "$RUN/notifier.db" "SELECT count(*) FROM event
    WHERE event_id IN ('832-2018S1/2/rejected','832-2018S1/3/rejected','832-2018S1/4/rejected')")" = 3 ]; }
check "the district is told: three REJECTED events reach the notifier" wait_for 120 three_rejected
check_eq "the audit log records them (accepted, signer, reason)" \
    "1|1|832-1| 2|0|832-1|BAD_SIGNATURE 3|0|831-1|BAD_SIGNATURE 4|0||BAD_SIGNATURE" \
    "$(sql "$ADB" "SELECT group_concat(x,' ') FROM (SELECT substr(subject,12) || '|' ||
                   json_extract(body,'\$.accepted') || '|' || json_extract(body,'\$.signer') || '|' ||
                   ifnull(json_extract(body,'\$.reason'),'') AS x FROM audit WHERE kind='revision'
                   AND subject LIKE '832-2018S1/%' ORDER BY seq)")"
check_eq "the digest the aggregator logged is the one computed independently" "$(cat "$OUT/digest1")" \
    "$(sql "$ADB" "SELECT json_extract(body,'\$.digest') FROM audit WHERE subject='832-2018S1/1'")"

"$ADMIN" verify --report 832-2018S1 >"$OUT/verify-1.txt" 2>&1; rc=$?
check_eq "kh-admin verify 832-2018S1: exit 0" 0 "$rc"
check "…names the counted revision, district 832, key 832-1, valid" \
    bash -c "grep -q '^report 832-2018S1 revision 1: counted' '$OUT/verify-1.txt' &&
             grep -q '^  unit         832\$' '$OUT/verify-1.txt' &&
             grep -q '^  signer       832-1\$' '$OUT/verify-1.txt' &&
             grep -q '^  fingerprint  [0-9a-f]\{16\}\$' '$OUT/verify-1.txt' &&
             grep -q 'audit .* the same\$' '$OUT/verify-1.txt' &&
             grep -q '^  signature    VALID: signed by 832-1, the key of district 832' '$OUT/verify-1.txt'"
for n in 2 3 4; do
    "$ADMIN" verify --report "832-2018S1/$n" >"$OUT/verify-$n.txt" 2>&1; rc=$?
    check_eq "kh-admin verify 832-2018S1/$n: exit 1" 1 "$rc"
done
check "…each says why" \
    bash -c "grep -q 'INVALID: the signature does not match' '$OUT/verify-2.txt' &&
             grep -q \"INVALID: key '831-1' is not a key registered for unit 832\" '$OUT/verify-3.txt' &&
             grep -q 'INVALID: the report carries no signature' '$OUT/verify-4.txt'"
"$ADMIN" verify --report 836-2020S2 >/dev/null 2>"$OUT/verify-none.txt"; rc=$?
check_eq "kh-admin verify of a report the province does not have: exit 2, one line" "2 1" \
    "$rc $(wc -l <"$OUT/verify-none.txt")"
"$ADMIN" audit verify >"$OUT/audit-b.txt" 2>&1; rc=$?
check_eq "the chain is still intact after the refusals" 0 "$rc"
check "no process died" all_alive

# (keys: unknown, revoked, another district's, misconfiguration: tests/e2e/test_security.sh)

# ---- C. the audit log edited with the sqlite3 shell ----------------------------------------
pipeline stop >/dev/null 2>&1
K=$(sql "$ADB" "SELECT seq FROM audit WHERE subject='832-2018S1/1'")
N=$(sql "$ADB" "SELECT count(*) FROM audit")
sqlite3 "$ADB" "UPDATE audit SET body=replace(body,'832-1','833-1') WHERE seq=$K" >/dev/null 2>"$OUT/upd.err"
check "the trigger refuses an UPDATE" grep -q 'append-only' "$OUT/upd.err"
sqlite3 "$ADB" "DELETE FROM audit WHERE seq=$K" >/dev/null 2>"$OUT/del.err"
check "the trigger refuses a DELETE" grep -q 'append-only' "$OUT/del.err"
check_eq "…nothing changed" "$N" "$(sql "$ADB" "SELECT count(*) FROM audit")"
body=$(sql "$ADB" "SELECT body FROM audit WHERE seq=$K")
sqlite3 "$ADB" "DROP TRIGGER audit_no_update;
                UPDATE audit SET body=replace(body,'\"signer\":\"832-1\"','\"signer\":\"833-1\"') WHERE seq=$K"
check "the signer of entry $K rewritten with the shell" \
    test "$(sql "$ADB" "SELECT json_extract(body,'\$.signer') FROM audit WHERE seq=$K")" = 833-1
"$ADMIN" audit verify >"$OUT/audit-c.txt" 2>&1; rc=$?
check_eq "kh-admin audit verify after the edit: exit 1" 1 "$rc"
check "…naming entry $K and that its contents changed" \
    grep -q "^audit chain broken at entry $K: its hash does not match its contents" "$OUT/audit-c.txt"
# put it back (a single quote in the body is doubled for SQL)
sqlite3 "$ADB" "UPDATE audit SET body='${body//\'/\'\'}' WHERE seq=$K"
"$ADMIN" audit verify >/dev/null 2>&1; rc=$?
check_eq "the body put back: intact again (the chain, not the triggers, is the proof)" 0 "$rc"
sqlite3 "$ADB" "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq=$K"
"$ADMIN" audit verify >"$OUT/audit-d.txt" 2>&1; rc=$?
check_eq "entry $K deleted: exit 1" 1 "$rc"
check "…broken at the next entry, its link to the one before" \
    grep -q "^audit chain broken at entry $((K + 1)): its prev link" "$OUT/audit-d.txt"
