#!/usr/bin/env bash
# The new Vĩnh Long province (issue 12): the same binaries, another data folder
# (data/vinh_long: the old Bến Tre tree until 30 June 2025, province 86 and its 124
# communes from 1 July 2025, the 2021–2030 programme, the reorganisation mapping).
#   - a commune reports 2025S2 for itself with its own key and is counted, under the
#     province, with the 2021–2030 indicators;
#   - a pre-reform commune code is refused naming the commune that took it over: as a
#     row of a report (the validator, MERGED_UNIT), as the unit of a report (kh-node's
#     check, UNKNOWN_DISTRICT), and for a key (kh-admin, exit 3);
#   - the totals of the province equal the sum of the communes' reports;
#   - the series across the reform: the same run first counts the seed's nine 2020S2
#     reports (Bến Tre, data/), then switches to data/vinh_long; kh-feed series sets each
#     new commune beside the sum of the old communes that went whole into it (an oracle
#     in Python from the files and reorg.csv), and marks the ones made from a divided
#     commune as not comparable.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test vinhlong
set_conf collector replay_clock node
OUT=$RUN/out; mkdir -p "$OUT"
# ---- the old world: Bến Tre's nine districts report 2020S2 ----------------------------
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
pipeline start >/dev/null || { echo "not ok - the seed's pipeline starts"; exit 1; }
for d in "${DISTRICTS[@]}"; do
    "$BIN/kh-node" submit --district "$d" --submitted-at 2020-12-01 "$RUN/input/$d/$d-2020S2.csv" \
        >/dev/null || { echo "not ok - $d-2020S2 queued"; exit 1; }
done
check "the nine 2020S2 reports of Bến Tre settle" wait_settled 120 "${DISTRICTS[@]}"
"$BIN/kh-feed" sync >/dev/null
pipeline stop >/dev/null
# ---- the new world: the same run, the new province's data folder ------------------------
set_conf general data_dir "$TOP/data/vinh_long"
pipeline keys >/dev/null || { echo "not ok - keys for the new province"; exit 1; }
check "a key was made for each of the 124 communes, the province (its own work) and the 9 old districts" \
    test "$(ls "$RUN/keys" | grep -c '^node-.*\.key$')" = 134
pipeline start 28756 29734 86 >/dev/null || { echo "not ok - the pipeline starts"; exit 1; }

# write_report UNIT FILE HOUSEHOLDS [EXTRA-ROW…] — a complete 2025S2 report of UNIT under
# the 2021–2030 programme: every S2 indicator of its level (LEVEL, default 2: a commune),
# households HOUSEHOLDS, the rest small numbers
write_report() {
    python3 - "$TOP/data/vinh_long/programmes/2021-2030/indicators.csv" "${LEVEL:-2}" "$@" <<'PY'
import csv, sys
inds, level, unit, path, households = sys.argv[1:6]
extra = sys.argv[6:]
with open(path, "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["period", "orgunit", "indicator", "value"])
    for d in csv.DictReader(open(inds, encoding="utf-8")):
        if "S2" not in d["periods"].split() or d["level"] != level:
            continue
        v = (d["options"].split()[0] if d["value_type"] == "option" else
             households if d["code"] == "HO.TONG" else
             "1" if d["value_type"] == "flag" else "3")
        w.writerow(["2025S2", unit, d["code"], v])
    for row in extra:
        w.writerow(row.split(","))
PY
}
write_report 28756 "$OUT/28756-2025S2.csv" 2400
write_report 29734 "$OUT/29734-2025S2.csv" 1700
for u in 28756 29734; do
    "$BIN/kh-node" submit --district $u --submitted-at 2025-12-01 "$OUT/$u-2025S2.csv" \
        >"$OUT/submit-$u.txt" 2>&1
    check_eq "commune $u's 2025S2 report passes the node's check and is queued" 0 "$?"
done
# the province reports its own work (scope self in reporters.csv: level-1 indicators only)
LEVEL=1 write_report 86 "$OUT/86-2025S2.csv" 0
"$BIN/kh-node" submit --district 86 --submitted-at 2025-12-01 "$OUT/86-2025S2.csv" \
    >"$OUT/submit-86.txt" 2>&1
check_eq "the province's own 2025S2 report (Sở GD&ĐT, Hội Khuyến học tỉnh) passes the node's check" 0 "$?"
check "all three settle" wait_settled 60 28756 29734 86
check_eq "86-2025S2 is counted" "86-2025S2 1 counted" \
    "$(node_stages 86 | awk -F'\t' '{print $1, $2, $3}')"
check_eq "28756-2025S2 is counted" "28756-2025S2 1 counted" \
    "$(node_stages 28756 | awk -F'\t' '{print $1, $2, $3}')"
check_eq "29734-2025S2 is counted" "29734-2025S2 1 counted" \
    "$(node_stages 29734 | awk -F'\t' '{print $1, $2, $3}')"
AGG=$RUN/aggregator.db
check_eq "province 86's households are the two communes' sum (2400 + 1700)" 4100 \
    "$(sql "$AGG" "SELECT CAST(sum AS INTEGER) FROM total WHERE period='2025S2' AND orgunit='86' AND indicator='HO.TONG'")"
check_eq "… from 2 reports" 2 \
    "$(sql "$AGG" "SELECT n FROM total WHERE period='2025S2' AND orgunit='86' AND indicator='HO.TONG'")"
check_eq "the 2021–2030 programme's rating (TT 25/2023) is counted per option" 2 \
    "$(sql "$AGG" "SELECT CAST(sum AS INTEGER) FROM total WHERE period='2025S2' AND orgunit='86' AND indicator='CDX.XEP_LOAI=MUC2'")"
check_eq "the province's own work is its own cell (upper-secondary schools: 3)" 3 \
    "$(sql "$AGG" "SELECT CAST(sum AS INTEGER) FROM total WHERE period='2025S2' AND orgunit='86' AND indicator='TINH.THPT'")"
# the province corrects its own report: its own cell is replaced, the communes' sums it
# also holds (as their ancestor) are untouched
sed 's/^2025S2,86,TINH.THPT,3$/2025S2,86,TINH.THPT,5/' "$OUT/86-2025S2.csv" >"$OUT/86-2025S2-r2.csv"
"$BIN/kh-node" submit --district 86 --submitted-at 2025-12-02 "$OUT/86-2025S2-r2.csv" >/dev/null 2>&1
check "the province's revision 2 settles" wait_settled 60 86
check_eq "… its own cell now 5 (upper-secondary schools)" 5 \
    "$(sql "$AGG" "SELECT CAST(sum AS INTEGER) FROM total WHERE period='2025S2' AND orgunit='86' AND indicator='TINH.THPT'")"
check_eq "… the communes' households it holds are still 4100, from 2 reports" "4100 2" \
    "$(sql "$AGG" "SELECT CAST(sum AS INTEGER) || ' ' || n FROM total WHERE period='2025S2' AND orgunit='86' AND indicator='HO.TONG'")"
check_eq "no cell of a district: there are none after the reform" 0 \
    "$(sql "$AGG" "SELECT count(*) FROM total WHERE period='2025S2' AND orgunit NOT IN ('86','28756','29734')")"

# a row under a pre-reform code (Phường 8, 28759, went whole into Phường Phú Khương)
write_report 28756 "$OUT/28756-2025S2-r2.csv" 2400 "2025S2,28759,HO.TONG,300"
"$BIN/kh-node" submit --district 28756 --submitted-at 2025-12-02 \
    "$OUT/28756-2025S2-r2.csv" >"$OUT/submit-r2.txt" 2>&1
check_eq "the node's own check refuses it: exit 1" 1 "$?"
check "naming the commune that took 28759 over" \
    grep -q "Phường 8 (28759) đã nhập vào Phường Phú Khương (28756) từ 01/07/2025" "$OUT/submit-r2.txt"
# sent anyway (--force: the province decides)
"$BIN/kh-node" submit --district 28756 --force --submitted-at 2025-12-02 \
    "$OUT/28756-2025S2-r2.csv" >/dev/null 2>&1
check "revision 2 settles" wait_settled 60 28756
check_eq "revision 2 is rejected by the province, revision 1 stays counted" "1:counted 2:rejected " \
    "$(node_stages 28756 | awk -F'\t' '{printf "%s:%s ", $2, $3}')"
check "its receipt names the new commune, in Vietnamese and English" python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
rej = [x for x in r if x["stage"] == "rejected"]
f = [f for f in rej[0]["findings"] if f["code"] == "MERGED_UNIT"] if rej else []
sys.exit(not (f and "Phường Phú Khương (28756)" in f[0]["message_vi"]
              and "became part of Phường Phú Khương (28756)" in f[0]["message"]))' \
    "$OUT/28756-2025S2-r2.csv.receipts.jsonl"

# a report addressed with a pre-reform code: the node refuses it, naming the successor
write_report 28759 "$OUT/28759-2025S2.csv" 300
"$BIN/kh-node" submit --district 28759 --submitted-at 2025-12-01 "$OUT/28759-2025S2.csv" \
    >"$OUT/submit-28759.txt" 2>&1
check_eq "kh-node submit --district 28759 is refused (not queued): exit 1" 1 "$?"
check "saying to report under 28756" grep -q "report under code 28756" "$OUT/submit-28759.txt"
"$BIN/kh-admin" keys generate --role district --unit 28759 --id old-28759 >"$OUT/key-28759.txt" 2>&1
check_eq "no key for the pre-reform commune 28759: exit 3" 3 "$?"
"$BIN/kh-admin" keys generate --role district --unit 829 --id old-829 >"$OUT/key-829.txt" 2>&1
check_eq "a key for old district 829 is still possible (late 2017–2020 reports): exit 0" 0 "$?"

# ---- the series across the reform ----------------------------------------------------------
"$BIN/kh-feed" series --period 2025S2 --format csv >"$OUT/series.csv"
check_eq "kh-feed series exits 0" 0 "$?"
python3 - "$TOP/data/vinh_long/reorg.csv" "$RUN/input" "$OUT/series.csv" >"$OUT/series-check.txt" <<'PY'
import csv, glob, sys
reorg, inputs, series = sys.argv[1:4]
old = {}                                    # 2020S2 values of the old communes
for f in glob.glob(inputs + "/*/*-2020S2.csv"):
    for r in csv.DictReader(open(f, encoding="utf-8")):
        if r["indicator"] in ("HO.TONG", "GDHT.CONG_NHAN"):
            old[(r["orgunit"], r["indicator"])] = float(r["value"])
into = {}
for r in csv.DictReader(open(reorg, encoding="utf-8")):
    into.setdefault(r["new_code"], []).append(r)
rows = {(r["orgunit"], r["indicator"]): r for r in csv.DictReader(open(series, encoding="utf-8"))}
bad, n_cmp, n_not = [], 0, 0
for new, parts in into.items():
    have = [p for p in parts if (p["old_code"], "HO.TONG") in old]
    if not have:
        if (new, "HO.TONG") in rows:
            bad.append("%s listed without any old figures" % new)
        continue
    comparable = all(p["whole"] == "yes" and (p["old_code"], "HO.TONG") in old for p in parts)
    row = rows.get((new, "HO.TONG"))
    if row is None:
        bad.append("%s missing" % new); continue
    if comparable:
        n_cmp += 1
        want = sum(old[(p["old_code"], "HO.TONG")] for p in parts)
        num = sum(old[(p["old_code"], "GDHT.CONG_NHAN")] for p in parts)
        rate = rows[(new, "TL.GDHT")]
        if row["comparable"] != "yes" or float(row["before"]) != want:
            bad.append("%s HO.TONG before %s, want %s" % (new, row["before"], want))
        if abs(float(rate["before"]) - round(num / want * 100, 2)) > 0.005:
            bad.append("%s TL.GDHT before %s, want %.2f" % (new, rate["before"], num / want * 100))
    else:
        n_not += 1
        if row["comparable"] != "no" or row["before"] != "":
            bad.append("%s should be marked not comparable, with no before value" % new)
print("%d comparable, %d not comparable" % (n_cmp, n_not))
for b in bad:
    print("BAD", b)
sys.exit(1 if bad or n_cmp == 0 or n_not == 0 else 0)
PY
check_eq "series: each new commune's 2020S2 figures are the sums of the old communes that went whole into it; divided ones not comparable ($(head -1 "$OUT/series-check.txt"))" \
    "0" "$?"
sed -n '/^BAD/p' "$OUT/series-check.txt" | head -5
check_eq "… Xã Tân Thành Bình (28921), which took part of Xã Hòa Lộc, is marked not comparable" \
    "28921,no" "$(awk -F, '$2=="28921" && $4=="HO.TONG"{print $2","$8}' "$OUT/series.csv")"
"$BIN/kh-feed" summary --period 2025S2 --no-sync >"$OUT/summary-2025S2.txt"
check "the 2025S2 summary sets the new communes beside their 2020 figures" \
    grep -q "SO SÁNH VỚI TRƯỚC KHI SẮP XẾP ĐƠN VỊ (từ 01/07/2025)" "$OUT/summary-2025S2.txt"
check_eq "… shows all 124 communes, in blocks of at most 10 that follow on (none dropped)" \
    "1-124 ok" "$(sed -n 's/^I\. CHỈ TIÊU THEO XÃ\/PHƯỜNG (xã\/phường \([0-9]*\)–\([0-9]*\) \/ 124)$/\1 \2/p' \
        "$OUT/summary-2025S2.txt" | awk 'NR==1{first=$1} {if ($1 != prev + 1 || $2 - $1 >= 10) bad=1; prev=$2}
            END {print first "-" prev, bad ? "gap" : "ok"}')"
check "… in lines at most 100 columns wide, with the data's as-of line (issue 15)" \
    python3 -c 'import sys,re; t=open(sys.argv[1],encoding="utf-8").read(); sys.exit(max(map(len,t.split("\n")))>100 or not re.search(r"^Dữ liệu đến / data as of .*\(feed seq \d+\)$",t,re.M))' \
    "$OUT/summary-2025S2.txt"
check "… the last commune of the list among them" \
    grep -q "$(tail -1 "$TOP/data/vinh_long/units.csv" | cut -d, -f2)" "$OUT/summary-2025S2.txt"
check "… shows every section of the 2021–2030 programme, the province's own work (7) too" \
    bash -c "grep -q '^6\\. Hội Khuyến học' '$OUT/summary-2025S2.txt' && grep -q '^7\\. Công việc của tỉnh' '$OUT/summary-2025S2.txt' && grep -q '^TINH.THPT ' '$OUT/summary-2025S2.txt'"
check "… names the reform's level (Xã/Phường) and the 2025 milestone of QĐ 387" \
    bash -c "grep -q 'CHỈ TIÊU THEO XÃ/PHƯỜNG' '$OUT/summary-2025S2.txt' && grep -q 'Chỉ tiêu 2025' '$OUT/summary-2025S2.txt'"

# a year and a programme that span the reform (83 until 30 June 2025, 86 after): the root
# of the summary is the one in force at the period's end
for p in 2025 2021-2030; do
    "$BIN/kh-feed" summary --period "$p" --no-sync >"$OUT/summary-$p.txt" 2>&1
    check_eq "kh-feed summary --period $p exits 0" 0 "$?"
    check "… and is the new province's" grep -q "TỔNG HỢP.*Tỉnh Vĩnh Long" "$OUT/summary-$p.txt"
done
# the dashboard's trend of a new commune across the reform (issue 15): its figures before
# (the series' sums of the old communes that went whole into it) lead its line; a commune
# made from a divided one is not compared
dport=$((20000 + ($$ % 400) * 10 + 7))      # mkrun uses base..base+6
setsid "$BIN/kh-feed" serve --listen "127.0.0.1:$dport" >"$OUT/serve.out" 2>"$OUT/serve.err" &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; pipeline stop >/dev/null 2>&1 || true' EXIT
served() { grep -q "dashboard: http://127.0.0.1:$dport/" "$OUT/serve.out"; }
check "kh-feed serve starts on the new province's mirror" wait_for 60 served
python3 - "http://127.0.0.1:$dport" "$OUT/series.csv" <<'PY2'
import csv, re, sys, urllib.request
site, series = sys.argv[1:3]
rows = {(r["orgunit"], r["indicator"]): r for r in csv.DictReader(open(series, encoding="utf-8"))}
def vi(plain):
    if plain == "":
        return "–"
    ip, _, dec = plain.partition(".")
    dec = dec.rstrip("0")
    ip = "{:,}".format(int(ip)).replace(",", ".")
    return ip + ("," + dec if dec else "")
for unit, comparable in (("28756", "yes"), ("28921", "no")):
    r = rows[(unit, "HO.TONG")]
    page = urllib.request.urlopen(f"{site}/trend?period=2021-2030&code=HO.TONG&unit={unit}",
                                  timeout=120).read().decode()
    before = re.search(r'<td class="num before">([^<]*)</td>', page)
    now = re.search(r'<td class="num now">([^<]*)</td>', page)
    comp = re.search(r'data-comparable="(\w+)"', page)
    got = (before and before.group(1), now and now.group(1), comp and comp.group(1))
    want = (f"{r['before_period']}: {vi(r['before'])}", f"{r['period']}: {vi(r['now'])}", comparable)
    chart = page[page.find('class="chart lines"'):]
    first_x = re.search(r'class="x"[^>]*>([^<]*)<', chart).group(1)
    lead = first_x == r["before_period"] and f'data-value="{float(r["before"] or 0):.2f}"' in chart
    ok = got == want and (lead if comparable == "yes" else first_x != r["before_period"])
    print(("ok - " if ok else "not ok - ") + f"dashboard trend of {unit} across the reform: before "
          f"and after as kh-feed series, comparable {comparable}" + ("" if ok else f": {got} {want} {first_x}"))
PY2
check "kh-admin verify --totals: the stored totals are the counted reports' sums" \
    "$BIN/kh-admin" verify --totals
check "no process died" all_alive
