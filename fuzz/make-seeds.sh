#!/usr/bin/env bash
# make-seeds.sh — (re)writes the committed seed corpora under fuzz/corpus/ (make fuzz-seeds).
#   fuzz/make-seeds.sh GEN_PROTO_SEEDS    (the helper built from fuzz/gen_proto_seeds.c)
# Deterministic: the demo reports come from scripts/gen-demo-data.py's default seed.
#   fuzz_csv    three long-form demo reports (S1, S2 after the 2020 merger, one with an
#               R02 error), the same S2 report in the wide form and with semicolons, and
#               small hand-written files (BOM + CRLF + quotes, syntax errors)
#   fuzz_rules  each rule of data/rules.csv, one per file, and two with value bytes
#   fuzz_proto  every message type, packed (gen_proto_seeds)
set -euo pipefail
cd "$(dirname "$0")/.."
gen=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 scripts/gen-demo-data.py "$tmp/demo" 2>/dev/null

c=fuzz/corpus/fuzz_csv
rm -rf "$c"; mkdir -p "$c"
cp "$tmp/demo/829/829-2017S1.csv" "$c/long-829-2017S1.csv"
cp "$tmp/demo/829/829-2020S2.csv" "$c/long-829-2020S2.csv"
cp "$tmp/demo/extra/829-2020S2-rev-bad.csv" "$c/long-829-2020S2-R02.csv"
python3 - "$tmp/demo/829/829-2020S1.csv" "$c" <<'PY'
import csv, sys
src, out = sys.argv[1:]
rows = list(csv.DictReader(open(src, encoding="utf-8")))
codes, units = [], {}
for r in rows:
    if r["indicator"] not in codes: codes.append(r["indicator"])
    units.setdefault(r["orgunit"], {})[r["indicator"]] = r["value"] if r["value"] != "" else "NONE"
period = rows[0]["period"]
def write(path, sep, names):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=sep, lineterminator="\r\n" if sep == ";" else "\n")
        w.writerow(["period", "orgunit", "orgunit_name"] + codes)
        if names:
            w.writerow(["Kỳ báo cáo", "Mã đơn vị", "Tên đơn vị"] + codes)
        for u, vals in units.items():
            w.writerow([period, u, "Đơn vị " + u] + [vals.get(k, "") for k in codes])
write(f"{out}/wide-829-2020S1.csv", ",", True)
write(f"{out}/wide-semicolon-829-2020S1.csv", ";", False)
PY
printf '\xEF\xBB\xBFperiod,orgunit,indicator,value\r\n2020S2,28756,HO.TONG,"2,841"\r\n"2020S2","28756","CDX.XEP_LOAI",""\r\n2020S2,829,TT.TIN_BAI,"7""2"\r\n' \
    >"$c/small-bom-crlf-quotes.csv"
printf 'period,orgunit,indicator,value\n2020S2,28756,HO.TONG,1.234.567\n2020S1,28756,HO.TONG,12\n2020S2,28756\n"unterminated\n' \
    >"$c/small-errors.csv"
printf 'period,orgunit,indicator,value\n2020S2,99999,NO.SUCH,x\n2020S2,28756,HO.TONG,-5\n' >"$c/small-unknown.csv"

c=fuzz/corpus/fuzz_rules
rm -rf "$c"; mkdir -p "$c"
python3 - data/rules.csv "$c" <<'PY'
import csv, sys
src, out = sys.argv[1:]
for r in csv.DictReader(open(src, encoding="utf-8")):
    open(f"{out}/{r['id']}", "wb").write(r["rule"].encode())
# rule, NUL, value bytes (detail buffer sizes, error buffer size, values): a failing
# evaluation into small buffers
open(f"{out}/R01-values", "wb").write(b"GDHT.DANG_KY <= HO.TONG\0" + bytes([20, 9, 30, 250, 3, 1, 2, 3, 4]))
open(f"{out}/within-values", "wb").write(b"HO.TONG within 25% of previous\0" + bytes([255, 255, 40, 200, 9]))
PY

c=fuzz/corpus/fuzz_proto
rm -rf "$c"; mkdir -p "$c"
"$gen" "$c" "$tmp/demo/829/829-2020S1.csv"
du -sh fuzz/corpus/* >&2
