#!/usr/bin/env bash
# A district officer asks kh-node for the fill-in template (wide form: one row per
# commune, one column per indicator), fills it in (here: with the values of the
# generated long-form report) and submits it: the province counts exactly what the
# long form would have given.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test template
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
pipeline start 829 >/dev/null || exit 1
long=$RUN/input/829/829-2019S2.csv
work=$RUN/officer
mkdir -p "$work"

# the template, written into the current folder under its default name
check "kh-node template writes 829-2019S2-mau.csv" \
    bash -c "cd '$work' && '$BIN/kh-node' template --district 829 --period 2019S2 >/dev/null"
tpl=$work/829-2019S2-mau.csv
check "the template is UTF-8 with a BOM and CRLF lines" python3 -c '
import sys; b = open(sys.argv[1], "rb").read()
sys.exit(not (b.startswith(b"\xef\xbb\xbf") and b.count(b"\n") == b.count(b"\r\n") > 2))' "$tpl"
check_eq "rows: header, names, 17 communes, the district last" "20 829" \
    "$(python3 -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1], encoding="utf-8-sig"))); print(len(r), r[-1][1])' "$tpl")"
rc=0; (cd "$work" && "$BIN/kh-node" template --district 829 --period 2019S2) >/dev/null 2>&1 || rc=$?
check_eq "an existing template is not overwritten" 1 "$rc"
rc=0; msg=$("$BIN/kh-node" template --district 999 --period 2019S2 --output "$work/x.csv" 2>&1) || rc=$?
check_eq "an unknown district: exit 2" 2 "$rc"
check_eq "… with a one-line bilingual reason" 1 "$(printf '%s\n' "$msg" | grep -c 'không phải là đơn vị báo cáo.*is not a reporting unit')"
rc=0; "$BIN/kh-node" template --district 829 --period 2019S3 --output "$work/x.csv" >/dev/null 2>&1 || rc=$?
check_eq "a malformed period: exit 2" 2 "$rc"
check "the XLSX template is a workbook" bash -c \
    "'$BIN/kh-node' template --district 829 --period 2019S2 --format xlsx --output '$work/mau.xlsx' >/dev/null &&
     head -c 2 '$work/mau.xlsx' | grep -q PK"
rc=0; msg=$("$BIN/kh-node" submit --district 829 "$work/mau.xlsx" 2>&1) || rc=$?
check "the XLSX template is read as XLSX; left empty, it is refused: no values" \
    test "$rc" = 1 -a -n "$(printf '%s' "$msg" | grep 'read as XLSX')" \
         -a -n "$(printf '%s' "$msg" | grep 'the template has no values')"

# the officer fills it in: every cell from the long-form report (an empty option,
# a commune without a learning centre, is written NONE); saved as a spreadsheet would
filled=$work/829-2019S2-filled.csv
python3 - "$tpl" "$long" "$filled" <<'PY'
import csv, sys
tpl, long_path, out = sys.argv[1:]
rows = list(csv.reader(open(tpl, encoding="utf-8-sig", newline="")))
vals = {(r["orgunit"], r["indicator"]): r["value"]
        for r in csv.DictReader(open(long_path, encoding="utf-8-sig", newline=""))}
codes = rows[0]
for row in rows[2:]:
    for j in range(3, len(codes)):
        v = vals.pop((row[1], codes[j]), None)
        row[j] = "" if v is None else (v if v != "" else "NONE")
if vals:
    sys.exit("values with no cell in the template: %s" % sorted(vals)[:5])
with open(out, "w", encoding="utf-8-sig", newline="") as f:
    csv.writer(f, lineterminator="\r\n").writerows(rows)
PY
check "every value of the long form has its cell in the template" test -s "$filled"
check "kh-node submit accepts the filled template" \
    bash -c "'$BIN/kh-node' submit --district 829 '$filled' >/dev/null"
check "the report settles" wait_settled 60 829
check_eq "receipts: queued, received, accepted, counted" "queued received accepted counted" \
    "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["stage"] for l in open(sys.argv[1])))' \
       "$filled.receipts.jsonl")"

# the province's totals against the independent sums of the long-form file
"$BIN/kh-feed" sync >/dev/null
for lvl in 2 1; do
    "$BIN/kh-feed" export --period 2019S2 --level "$lvl" --no-sync
done | grep -v '^period,' | (echo period,orgunit,indicator,value; cat) >"$RUN/actual.csv"
python3 "$TOP/tests/e2e/expected_totals.py" "$long" >"$RUN/expected.csv"
check "district and province totals equal the sums computed from the long form" \
    python3 "$TOP/tests/e2e/compare_csv.py" "$RUN/expected.csv" "$RUN/actual.csv"
check_eq "829 has district rows in the export" 1 \
    "$(grep -c '^2019S2,829,HO.TONG,' "$RUN/actual.csv")"
check "no process died" all_alive
