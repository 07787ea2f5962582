#!/usr/bin/env bash
# The spreadsheet as the officer keeps it (issue 14): the same filled template submitted
# as UTF-8, UTF-8 with BOM, UTF-16LE, Windows-1258 (iconv), a semicolon file with the
# Vietnamese locale's dot thousands and decimal comma, an .xlsx written by LibreOffice
# (headless, from the template filled in by a script), the CSV LibreOffice writes by
# default (Latin-1: '?' for Vietnamese letters) and Excel's plain CSV on a Vietnamese
# Windows (Windows-1258, ';', decimal comma) — each counted exactly (the province's
# totals equal the independent sums of what the script wrote), each receipt naming the
# encoding read.  Each submission changes one number (a new revision whose content
# differs), so each count shows that very file was read.  A wrong value in an .xlsx is
# found on its sheet row.  An .xlsx dropped into the spool is taken; a file of another
# kind is left there with one log line.  The XLSX template prints on A4 landscape, one
# page wide, titles and unit columns repeated.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test spreadsheet
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
pipeline start 829 >/dev/null || exit 1
long=$RUN/input/829/829-2019S2.csv
work=$RUN/officer
mkdir -p "$work"
export HOME=$RUN/home               # LibreOffice wants a writable home and profile
mkdir -p "$HOME"

# soffice ARGS… — one headless LibreOffice run with a profile of its own, in $work, in
# the locale $LO_LANG (default C.UTF-8: numbers with a decimal point)
soffice_run() {
    local profile=$RUN/lo-profile-$((++LO_RUNS)) lang=${LO_LANG:-C.UTF-8}
    (cd "$work" && LANG=$lang LC_ALL=$lang timeout 300 soffice \
        -env:UserInstallation="file://$profile" --headless --norestore "$@" \
        >>"$RUN/soffice.log" 2>&1)
}
LO_RUNS=0

"$BIN/kh-node" template --district 829 --period 2019S2 --output "$work/mau.csv" >/dev/null 2>&1
"$BIN/kh-node" template --district 829 --period 2019S2 --format xlsx \
    --output "$work/mau.xlsx" >/dev/null 2>&1
check "the XLSX template prints on A4 landscape, one page wide, titles and unit columns repeated" \
    python3 - "$work/mau.xlsx" <<'PY'
import re, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = re.findall(r'<sheet name="([^"]*)"', z.read("xl/workbook.xml").decode())
sheet = z.read("xl/worksheets/sheet%d.xml" % (names.index("Báo cáo") + 1)).decode()
setup = re.search(r"<pageSetup [^>]*>", sheet).group(0)
for want in ('paperSize="9"', 'orientation="landscape"', 'fitToHeight="0"'):
    assert want in setup, (want, setup)
assert "fitToWidth" not in setup or 'fitToWidth="1"' in setup, setup  # 1 is the default
assert 'fitToPage="1"' in sheet
titles = re.search(r'<definedName name="_xlnm.Print_Titles"[^>]*>([^<]*)<', 
                   z.read("xl/workbook.xml").decode()).group(1)
assert "$B:$C" in titles and "$1:$2" in titles, titles
guide = z.read("xl/worksheets/sheet%d.xml" % (names.index("Hướng dẫn") + 1)).decode()
strings = z.read("xl/sharedStrings.xml").decode()
for want in ("LibreOffice Calc", "Text CSV (.csv)", "Unicode (UTF-8)", "CSV UTF-8"):
    assert want in strings, want
PY

# fill.py K LONG_OUT WIDE_OUT — the template filled in with the long form's values, the
# first commune's HO.TONG raised by K (so every submission is new content); writes the
# long form of what it filled (for expected_totals.py) and the wide CSV, UTF-8 BOM, CRLF
cat >"$RUN/fill.py" <<'PY'
import csv, sys
tpl, long_path, k, long_out, out = sys.argv[1:6]
k = int(k)
rows = list(csv.reader(open(tpl, encoding="utf-8-sig", newline="")))
lrows = list(csv.DictReader(open(long_path, encoding="utf-8-sig", newline="")))
first = rows[2][1]
for r in lrows:
    if r["orgunit"] == first and r["indicator"] == "HO.TONG":
        r["value"] = str(int(r["value"]) + k)
vals = {(r["orgunit"], r["indicator"]): r["value"] for r in lrows}
codes = rows[0]
for row in rows[2:]:
    for j in range(3, len(codes)):
        v = vals.pop((row[1], codes[j]), None)
        row[j] = "" if v is None else (v if v != "" else "NONE")
if vals:
    sys.exit("values with no cell in the template: %s" % sorted(vals)[:5])
with open(long_out, "w", encoding="utf-8", newline="") as f:
    w = csv.DictWriter(f, fieldnames=["period", "orgunit", "indicator", "value"],
                       lineterminator="\n")
    w.writeheader()
    w.writerows(lrows)
with open(out, "w", encoding="utf-8-sig", newline="") as f:
    csv.writer(f, lineterminator="\r\n").writerows(rows)
PY

# semicolon.py IN OUT — what a spreadsheet in the Vietnamese locale saves: ';' between
# fields, numbers shown with dot thousands and a decimal comma
cat >"$RUN/semicolon.py" <<'PY'
import csv, re, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
def vi(cell):
    if not re.fullmatch(r"\d+(\.\d+)?", cell):
        return cell
    whole, _, frac = cell.partition(".")
    whole = "{:,}".format(int(whole)).replace(",", ".")
    return whole + ("," + frac if frac else "")
for row in rows[2:]:
    row[3:] = [vi(c) for c in row[3:]]
with open(sys.argv[2], "w", encoding="utf-8-sig", newline="") as f:
    csv.writer(f, delimiter=";", lineterminator="\r\n").writerows(rows)
PY

# stages RECEIPTS — "queued:ENCODING received accepted counted" as the receipts say
stages() {
    python3 -c 'import json, sys
print(" ".join(o["stage"] + (":" + o["encoding"] if o["stage"] == "queued" else "")
               for o in map(json.loads, open(sys.argv[1]))))' "$1"
}

# totals DESCRIPTION K — the province's totals are those of fill.py's K
totals() {
    "$BIN/kh-feed" sync >/dev/null
    for lvl in 2 1; do
        "$BIN/kh-feed" export --period 2019S2 --level "$lvl" --no-sync
    done | grep -v '^period,' | (echo period,orgunit,indicator,value; cat) >"$RUN/actual-$2.csv"
    python3 "$TOP/tests/e2e/expected_totals.py" "$RUN/long-$2.csv" >"$RUN/expected-$2.csv"
    check "$1" python3 "$TOP/tests/e2e/compare_csv.py" "$RUN/expected-$2.csv" "$RUN/actual-$2.csv"
}

# counted FILE ENCODING K — submits FILE, waits for it to settle and checks that its
# receipts name ENCODING and that the province's totals are those of fill.py's K
counted() {
    local file=$1 enc=$2 k=$3 rc=0 err
    err=$("$BIN/kh-node" submit --district 829 "$file" 2>&1 >/dev/null) || rc=$?
    check_eq "$enc: kh-node submit queues $(basename "$file")" 0 "$rc"
    if [ "$enc" = UTF-8 ]; then   # the usual case goes without saying
        check_eq "$enc: submit says nothing on stderr" "" "$err"
    else
        check "$enc: submit says what it read the file as" grep -q "read as $enc\$" <<<"$err"
    fi
    check "$enc: the report settles" wait_settled 180 829
    check_eq "$enc: receipts: queued, received, accepted, counted; queued names the encoding" \
        "queued:$enc received accepted counted" "$(stages "$file.receipts.jsonl")"
    check_eq "$enc: no number read as anything but what it says (no NORMALISED warning)" 0 \
        "$(grep -c NORMALISED "$file.receipts.jsonl")"
    totals "$enc: district and province totals equal the sums of what the script wrote" "$k"
}

fill() {   # fill K — $work/filled-K.csv (UTF-8 BOM) and $RUN/long-K.csv
    python3 "$RUN/fill.py" "$work/mau.csv" "$long" "$1" "$RUN/long-$1.csv" "$work/filled-$1.csv"
}

fill 1
tail -c +4 "$work/filled-1.csv" >"$work/utf8.csv"
counted "$work/utf8.csv" UTF-8 1

fill 2
cp "$work/filled-2.csv" "$work/utf8-bom.csv"
counted "$work/utf8-bom.csv" "UTF-8 BOM" 2

fill 3
tail -c +4 "$work/filled-3.csv" | iconv -f UTF-8 -t UTF-16LE | { printf '\377\376'; cat; } \
    >"$work/utf16le.csv"
counted "$work/utf16le.csv" UTF-16LE 3

fill 4
tail -c +4 "$work/filled-4.csv" | iconv -f UTF-8 -t WINDOWS-1258 >"$work/windows-1258.csv"
check "the Windows-1258 file is not UTF-8" \
    bash -c "! iconv -f UTF-8 -t UTF-8 '$work/windows-1258.csv' >/dev/null 2>&1"
counted "$work/windows-1258.csv" Windows-1258 4

fill 5
python3 "$RUN/semicolon.py" "$work/filled-5.csv" "$work/champhay.csv"
check "the semicolon file has dot thousands and a decimal comma" \
    bash -c "grep -q ';[0-9]\{1,3\}\.[0-9]\{3\};' '$work/champhay.csv' &&
             grep -q ';[0-9]\{1,3\},[0-9];' '$work/champhay.csv'"
counted "$work/champhay.csv" "UTF-8 BOM" 5

# LibreOffice: the filled CSV opened (UTF-8, comma) and saved as .xlsx
fill 6
tail -c +4 "$work/filled-6.csv" >"$work/lo-6.csv"
soffice_run --infilter="CSV:44,34,76,1" --convert-to xlsx "$work/lo-6.csv"
check "LibreOffice wrote lo-6.xlsx" test -s "$work/lo-6.xlsx"
check "lo-6.xlsx is LibreOffice's" python3 -c 'import sys, zipfile
sys.exit(b"LibreOffice" not in zipfile.ZipFile(sys.argv[1]).read("docProps/app.xml"))' \
    "$work/lo-6.xlsx"
counted "$work/lo-6.xlsx" XLSX 6

# … and that workbook saved as CSV with LibreOffice's defaults (no filter options)
fill 7
tail -c +4 "$work/filled-7.csv" >"$work/lo-7.csv"
soffice_run --infilter="CSV:44,34,76,1" --convert-to xlsx "$work/lo-7.csv"
mkdir -p "$work/lo-default"
soffice_run --convert-to csv --outdir "$work/lo-default" "$work/lo-7.xlsx"
check "LibreOffice's default CSV is not UTF-8 (the names are not Latin: '?' and 8-bit)" \
    bash -c "! iconv -f UTF-8 -t UTF-8 '$work/lo-default/lo-7.csv' >/dev/null 2>&1"
counted "$work/lo-default/lo-7.csv" Windows-1258 7

# … and by LibreOffice in the Vietnamese locale: still ',' between fields, the decimal
# comma in quotes ("78,5"), no thousands separators
fill 11
tail -c +4 "$work/filled-11.csv" >"$work/lo-11.csv"
soffice_run --infilter="CSV:44,34,76,1" --convert-to xlsx "$work/lo-11.csv"
mkdir -p "$work/lo-vi"
LO_LANG=vi_VN.UTF-8 soffice_run --convert-to csv --outdir "$work/lo-vi" "$work/lo-11.xlsx"
check "LibreOffice in Vietnamese writes the scores with a decimal comma, in quotes" \
    grep -q ',"[0-9][0-9],[0-9]",' "$work/lo-vi/lo-11.csv"
counted "$work/lo-vi/lo-11.csv" Windows-1258 11

# Excel's plain "CSV" on a Vietnamese Windows: Windows-1258, ';' and the decimal comma
fill 9
python3 "$RUN/semicolon.py" "$work/filled-9.csv" "$work/champhay-9.csv"
tail -c +4 "$work/champhay-9.csv" | iconv -f UTF-8 -t WINDOWS-1258 >"$work/excel-csv.csv"
counted "$work/excel-csv.csv" Windows-1258 9

# a wrong value in a LibreOffice .xlsx: the finding's line is the sheet's row, blank
# rows counted (a blank row after the names row puts the third commune on row 6)
fill 10
python3 - "$work/filled-10.csv" "$work/bad-10.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
rows.insert(2, [""] * len(rows[0]))
rows[5][rows[0].index("HO.TONG")] = "-5"
with open(sys.argv[2], "w", encoding="utf-8", newline="") as f:
    csv.writer(f, lineterminator="\r\n").writerows(rows)
PY
soffice_run --infilter="CSV:44,34,76,1" --convert-to xlsx "$work/bad-10.csv"
rc=0; "$BIN/kh-node" submit --district 829 "$work/bad-10.xlsx" >/dev/null 2>&1 || rc=$?
check_eq "a wrong value in an .xlsx: refused locally" 1 "$rc"
col=$(python3 -c 'import csv, sys
i = next(csv.reader(open(sys.argv[1], encoding="utf-8-sig"))).index("HO.TONG")
print(chr(ord("A") + i) if i < 26 else "A" + chr(ord("A") + i - 26))' "$work/mau.csv")
check_eq "… the finding names row 6 of the sheet, HO.TONG, the value, the cell" \
    "6 BAD_VALUE HO.TONG -5 XLSX Ô ${col}6: | Cell ${col}6:" \
    "$(python3 -c 'import json,sys
for o in map(json.loads, open(sys.argv[1])):
    for f in o.get("findings", []):
        if f["code"] == "BAD_VALUE":
            print(f["line"], f["code"], f["indicator"], f["value"], o["encoding"],
                  f["message_vi"].split(" ")[0], f["message_vi"].split(" ")[1], "|",
                  *f["message"].split(" ")[:2])' \
       "$work/bad-10.xlsx.receipts.jsonl")"

# ---- the spool ---------------------------------------------------------------------------
spool=$RUN/node-829/spool
fill 8
tail -c +4 "$work/filled-8.csv" >"$work/lo-8.csv"
soffice_run --infilter="CSV:44,34,76,1" --convert-to xlsx "$work/lo-8.csv"
cp "$work/lo-8.xlsx" "$spool/BAO-CAO.XLSX"
printf 'not a report\n' >"$spool/ghi-chu.txt"
wait_for 120 eval '[ -e "$spool/sent/BAO-CAO.XLSX" ]'
check "an .XLSX dropped into the spool is taken and sent" test -e "$spool/sent/BAO-CAO.XLSX"
check "the report settles" wait_settled 180 829
check_eq "its receipts: queued (XLSX), received, accepted, counted" \
    "queued:XLSX received accepted counted" "$(stages "$spool/sent/BAO-CAO.XLSX.receipts.jsonl")"
totals "spool .XLSX: totals equal the sums of what the script wrote" 8
# the spool is scanned again at each file event: a new file makes one
cp "$work/utf8.csv" "$spool/.hidden.csv" 2>/dev/null; touch "$spool/x.tmp"
wait_for 60 eval '[ "$(grep -c "\"spool.ignored\"" "$RUN/logs/node-829.log")" -ge 2 ]'
check "a file of another kind stays in the spool, unread" test -e "$spool/ghi-chu.txt"
check_eq "… with one spool.ignored line each, not one per scan" 1 \
    "$(grep '"spool.ignored"' "$RUN/logs/node-829.log" | grep -c 'ghi-chu.txt')"
check "no process died" all_alive
