#!/usr/bin/env bash
# The workbook a director reads and its PDF (issue 15, items 2 and 3), against the real
# pipeline with the demo's reports: first 2020S2 with only two districts reported (a
# partial province total: marked in the text summary, the workbook and the PDF), then
# every report.  The 2020 workbook, converted by LibreOffice headless, prints on at most
# 4 A4 pages with its charts and cover; the PDF export carries the official header
# (motto, number, the pinned clock's date) and page numbers; the summary sheet's figures
# equal the independent sums (expected_totals.py); --level is honoured; a missing
# soffice is told clearly.  The XLSX and PDF files are kept under tests/out/workbook/.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test workbook
ART=$TOP/tests/out/workbook
rm -rf "$ART" && mkdir -p "$ART"
WB="python3 $TOP/tests/e2e/check_workbook.py"
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
set_conf collector replay_clock node
pipeline start >/dev/null || exit 1

# soffice with a private profile, as kh-feed runs it: any user, several at once
to_pdf() {      # to_pdf XLSX — writes XLSX's PDF beside it
    local dir
    dir=$(mktemp -d "$RUN/soffice.XXXXXX")
    soffice "-env:UserInstallation=file://$dir" --headless --norestore \
        --convert-to pdf --outdir "$(dirname "$1")" "$1" >"$dir.log" 2>&1
}
pdftext() { pdftotext "$1" - | tr -s ' \n' '  '; }          # the text, blanks joined
has() { grep -qF -- "$2" <<<"$1"; }                          # has TEXT NEEDLE

# ---- a partial period: 2020S2 of 829 and 831 only ---------------------------------------
for d in "${DISTRICTS[@]}"; do
    for p in "${PERIODS[@]}"; do
        [ "$p" = 2020S2 ] && [ "$d" != 829 ] && [ "$d" != 831 ] && continue
        "$BIN/kh-node" submit --district "$d" --submitted-at "$(submit_date "$p" 0)" \
            "$RUN/input/$d/$d-$p.csv" >/dev/null || echo "not ok - submit $d-$p"
    done
done
check "the 65 reports settle (2020S2: two of nine districts)" wait_settled 120 "${DISTRICTS[@]}"
"$BIN/kh-feed" sync >/dev/null
"$BIN/kh-feed" summary --period 2020S2 --no-sync >"$ART/summary-2020S2-partial.txt"
check "partial 2020S2: the text summary says 'tổng chưa đủ / partial: 2 of 9 units' at its head, in every part" \
    python3 "$TOP/tests/e2e/check_domain.py" partial "2 of 9" "$ART/summary-2020S2-partial.txt"
check "partial 2020S2: the text summary still fits 100 columns, with its as-of line" \
    python3 "$TOP/tests/e2e/check_domain.py" summary 2020S2 "$ART/summary-2020S2-partial.txt"
"$BIN/kh-feed" export --period 2020S2 --format xlsx --no-sync --output "$ART/2020S2-partial.xlsx"
$WB texts "$ART/2020S2-partial.xlsx" >"$RUN/partial-texts.txt"
check "partial 2020S2: the workbook says it on the cover, the summary and the completeness sheet" \
    test "$(grep -c 'tổng chưa đủ / partial: 2 of 9 units' "$RUN/partial-texts.txt")" -ge 4
check "partial 2020S2: the workbook heads the province column 'Toàn tỉnh (chưa đủ)'" \
    grep -qx 'Toàn tỉnh (chưa đủ)' "$RUN/partial-texts.txt"
"$BIN/kh-feed" export --period 2020S2 --format pdf --no-sync --output "$ART/2020S2-partial.pdf"
check_eq "partial 2020S2: kh-feed export --format pdf exits 0" 0 "$?"
ptext=$(pdftext "$ART/2020S2-partial.pdf")
check "partial 2020S2: the PDF says 'tổng chưa đủ / partial: 2 of 9 units'" \
    has "$ptext" "tổng chưa đủ / partial: 2 of 9 units"

# ---- every report ------------------------------------------------------------------------
for d in "${DISTRICTS[@]}"; do
    [ "$d" = 829 ] || [ "$d" = 831 ] && continue
    "$BIN/kh-node" submit --district "$d" --submitted-at "$(submit_date 2020S2 0)" \
        "$RUN/input/$d/$d-2020S2.csv" >/dev/null || echo "not ok - submit $d-2020S2"
done
check "all 72 reports settle" wait_settled 120 "${DISTRICTS[@]}"
"$BIN/kh-feed" sync >/dev/null
"$BIN/kh-feed" summary --period 2020 --no-sync >"$ART/summary-2020.txt"
check "2020: the text summary is whole (no 'partial'), in lines of at most 100 columns, with its as-of line" \
    python3 -c 'import re,sys; t=open(sys.argv[1],encoding="utf-8").read(); sys.exit("partial" in t or max(map(len,t.split("\n")))>100 or not re.search(r"^Dữ liệu đến / data as of .*\(feed seq 72\)$",t,re.M))' \
    "$ART/summary-2020.txt"

# the workbook of 2020, through LibreOffice
"$BIN/kh-feed" export --period 2020 --format xlsx --no-sync --output "$ART/2020.xlsx"
check_eq "kh-feed export --period 2020 --format xlsx exits 0" 0 "$?"
check_eq "the workbook's sheets: cover, summary, completeness shown; the long list and the charts' figures hidden" \
    "Trang bìa:shown Tổng hợp:shown Tình hình báo cáo:shown Tỉnh:hidden Huyện, Thành phố:hidden Xã, Phường, Thị trấn:hidden Số liệu biểu đồ:hidden" \
    "$($WB sheets "$ART/2020.xlsx" | tr '\t' ':' | paste -sd' ')"
check "every printed sheet: A4 (9) landscape, fit to width, header, footer 'Trang &P / &N'" \
    bash -c "$WB print '$ART/2020.xlsx' | awk -F'\t' '\$2!=\"landscape\" || \$3!=9 || \$4!=\"fit\" || \$5!=1 || \$7!=\"header\" || \$8 !~ /Trang &P \\/ &N/ {bad=1} END {exit bad || NR!=3}'"
check "the summary and completeness sheets repeat their title rows on every page" \
    bash -c "[ \$($WB print '$ART/2020.xlsx' | awk -F'\t' '\$6 ~ /\\\$1:\\\$/' | wc -l) = 2 ]"
read -r ntargets nwith milestone < <(python3 -c 'import csv,sys
r=list(csv.DictReader(open(sys.argv[1],encoding="utf-8")))
print(len(r), sum(1 for t in r if t["target"]), r[0]["milestone"])' "$TOP/data/targets.csv")
root_code=$(awk -F, '$4==1 {print $1; exit}' "$TOP/data/units.csv")
check_eq "one chart per rate of targets.csv ($ntargets)" "$ntargets" \
    "$(unzip -l "$ART/2020.xlsx" | grep -c 'xl/charts/chart[0-9]*\.xml')"
check_eq "each chart draws the rate as bars; the $nwith with a target draw it too (Chỉ tiêu $milestone)" \
    "$ntargets $nwith" "$(cd "$RUN" && rm -rf x && mkdir x && cd x && unzip -q "$ART/2020.xlsx" 'xl/charts/*' &&
        for f in xl/charts/chart*.xml; do
            grep -q '<c:barChart>' "$f" && echo bar
            [ "$(grep -o '<c:ser>' "$f" | wc -l)" = 2 ] && grep -q "Chỉ tiêu $milestone" "$f" && echo target
        done | sort | uniq -c | awk '{printf "%s%s", (NR>1 ? " " : ""), $1}')"
to_pdf "$ART/2020.xlsx"
check "LibreOffice converts the 2020 workbook to PDF" test -s "$ART/2020.pdf"
pages=$(pdfinfo "$ART/2020.pdf" | awk '/^Pages:/{print $2}')
echo "# the 2020 workbook prints on $pages pages"
check "the 2020 workbook prints on at most 4 pages ($pages)" test "${pages:-99}" -le 4
check "… every one A4 (595 × 842 pt, landscape)" \
    bash -c "pdfinfo -f 1 -l $pages '$ART/2020.pdf' | awk '/^Page.*size:/{n++; if (!(\$4 ~ /^841\\.8/ && \$6 ~ /^595\\.[23]/)) bad=1} END {exit bad || n != $pages}'"
wtext=$(pdftext "$ART/2020.pdf")
missing=""
while IFS=, read -r code name _; do
    has "$wtext" "$name" || missing="$missing $code"
done < <(python3 -c 'import csv,sys; [print(r["code"]+","+r["name_vi"]) for r in csv.DictReader(open(sys.argv[1],encoding="utf-8"))]' "$TOP/data/targets.csv")
check "the charts are in the PDF: each rate's name as its title, its target's year, its axis ('%')" \
    bash -c "[ -z '$missing' ] && grep -qF 'Chỉ tiêu $milestone' <<<'$wtext' && grep -qF 'Tỷ lệ (%)' <<<'$wtext'"
doc=$(python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1],encoding="utf-8")))[-1]; print(r["programme"]+"\t"+r["legal_basis"]+"\t"+r["agency"])' "$TOP/data/document.csv")
IFS=$'\t' read -r programme basis agency <<<"$doc"
root=$(awk -F, '$4==1 {print $2; exit}' "$TOP/data/units.csv")
check "the cover in the PDF: the province ($root), the period, data as of … (feed seq 72)" \
    bash -c "grep -qF '$root — năm 2020 (2020)' <<<'$wtext' && grep -qF '(feed seq 72)' <<<'$wtext' && grep -qF 'Dữ liệu đến / Data as of' <<<'$wtext'"
check "the cover in the PDF: the programme and its legal basis (document.csv)" \
    bash -c "grep -qF -- '$programme' <<<'$wtext' && grep -qF -- '$basis' <<<'$wtext'"
$WB texts "$ART/2020.xlsx" >"$RUN/texts.txt"
check "the cover in the XLSX: the same texts" \
    bash -c "grep -qF -- '$programme' '$RUN/texts.txt' && grep -qF -- '$basis' '$RUN/texts.txt' && grep -qF 'Dữ liệu đến / data as of' '$RUN/texts.txt'"
check "2020 is whole: nothing says partial in the workbook" bash -c "! grep -q 'partial' '$RUN/texts.txt'"

# the summary sheet's figures against the independent sums (the half-year 2020S2)
"$BIN/kh-feed" export --period 2020S2 --format xlsx --no-sync --output "$ART/2020S2.xlsx"
$WB cells 2020S2 "$ART/2020S2.xlsx" >"$RUN/sheet-2020S2.csv"
files=()
for d in "${DISTRICTS[@]}"; do files+=("$RUN/input/$d/$d-2020S2.csv"); done
python3 "$TOP/tests/e2e/expected_totals.py" "${files[@]}" >"$RUN/expected-2020S2.csv"
check "the summary sheet's figures (9 districts and the province) equal the independent sums" \
    python3 "$TOP/tests/e2e/compare_csv.py" "$RUN/expected-2020S2.csv" "$RUN/sheet-2020S2.csv"
check_eq "… and it has them all: a figure for every expected value" \
    "$(($(wc -l <"$RUN/expected-2020S2.csv") - 1))" \
    "$(python3 - "$RUN/expected-2020S2.csv" "$RUN/sheet-2020S2.csv" <<'PY'
import csv, sys
want = {(r["orgunit"], r["indicator"]) for r in csv.DictReader(open(sys.argv[1]))}
got = {(r["orgunit"], r["indicator"]) for r in csv.DictReader(open(sys.argv[2]))}
print(len(want & got))
PY
)"
# the year: the same figures as the CSV export of 2020
for l in 2 1; do "$BIN/kh-feed" export --period 2020 --level $l --no-sync; done \
    | grep -v '^period,' | grep -v ',COMPLETENESS\.' | (echo period,orgunit,indicator,value; cat) >"$RUN/export-2020.csv"
$WB cells 2020 "$ART/2020.xlsx" >"$RUN/sheet-2020.csv"
check "the 2020 summary sheet equals the CSV export of 2020 (rates included)" \
    python3 - "$RUN/export-2020.csv" "$RUN/sheet-2020.csv" <<'PY'
import csv, sys
a = {(r["orgunit"], r["indicator"]): float(r["value"]) for r in csv.DictReader(open(sys.argv[1]))}
b = {(r["orgunit"], r["indicator"]): float(r["value"]) for r in csv.DictReader(open(sys.argv[2]))}
bad = [k for k in a if k not in b or abs(a[k] - b[k]) > 0.005] + [k for k in b if k not in a]
print("\n".join(map(str, bad[:10])), file=sys.stderr)
sys.exit(1 if bad or not a else 0)
PY

# --level: the summary's columns are the units of that level
"$BIN/kh-feed" export --period 2020 --format xlsx --level 3 --no-sync --output "$ART/2020-level3.xlsx"
check_eq "--level 3: the summary's columns are the communes (and the province)" "3 1" \
    "$($WB units "$ART/2020-level3.xlsx" | sort -u | python3 -c '
import csv, sys
lv = {}
for r in csv.DictReader(open(sys.argv[1], encoding="utf-8")): lv[r["code"]] = r["level"]
print(" ".join(sorted({lv.get(l.strip(), "?") for l in sys.stdin}, reverse=True)))' "$TOP/data/units.csv")"
check_eq "--level 3: in blocks of at most 10 communes, each with the province's column" 0 \
    "$($WB units "$ART/2020-level3.xlsx" | awk -v root="$root_code" '$1==root {if (n > 10) bad++; n=0; next} {n++} END {print bad+0}')"
check_eq "by default the columns are the nine reporting districts and the province" \
    "${DISTRICTS[*]} $root_code" "$($WB units "$ART/2020.xlsx" | paste -sd' ')"

# the PDF for the director and the Ministry
"$BIN/kh-feed" export --period 2020 --format pdf --number "125/BC-SGDĐT" --no-sync \
    --output "$ART/2020-report.pdf"
check_eq "kh-feed export --format pdf --number … exits 0" 0 "$?"
rtext=$(pdftext "$ART/2020-report.pdf")
rpages=$(pdfinfo "$ART/2020-report.pdf" | awk '/^Pages:/{print $2}')
check "the PDF's first page: the agency ($agency) and the national motto" \
    bash -c "pdftotext -l 1 '$ART/2020-report.pdf' - | tr -s ' \n' '  ' | grep -qF '$agency' && pdftotext -l 1 '$ART/2020-report.pdf' - | grep -qF 'CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM' && pdftotext -l 1 '$ART/2020-report.pdf' - | grep -qF 'Độc lập - Tự do - Hạnh phúc'"
check "… the number given (Số: 125/BC-SGDĐT)" has "$rtext" "Số: 125/BC-SGDĐT"
d=${KH_CLOCK:0:10}
y=${d:0:4} m=$((10#${d:5:2})) dd=${d:8:2}
[ "$m" -lt 3 ] && m=0$m
check "… the date of the pipeline's clock, never today's (ngày $dd tháng $m năm $y)" \
    has "$rtext" "ngày $dd tháng $m năm $y"
check_eq "… page numbers on every page (Trang k / $rpages)" "$rpages" \
    "$(pdftotext "$ART/2020-report.pdf" - | grep -c "^Trang [0-9]* / $rpages\$")"
check "… at most 4 A4 pages ($rpages)" test "${rpages:-99}" -le 4
# two at once (each LibreOffice with its own profile), one of them without --number
"$BIN/kh-feed" export --period 2020 --format pdf --no-sync --output "$ART/2020-nonumber.pdf" &
p1=$!
"$BIN/kh-feed" export --period 2020S2 --format pdf --no-sync --output "$ART/2020S2.pdf" &
p2=$!
r1=0; wait $p1 || r1=$?
r2=0; wait $p2 || r2=$?
check_eq "two PDF exports at once both succeed" "0 0" "$r1 $r2"
check "without --number: the placeholder of document.csv (Số: …/BC-SGDĐT)" \
    has "$(pdftext "$ART/2020-nonumber.pdf")" "Số: …/BC-SGDĐT"
check "… and the other is the half-year's, whole" \
    bash -c "pdftotext '$ART/2020S2.pdf' - | grep -qF '6 tháng cuối năm 2020 (2020S2)' && ! pdftotext '$ART/2020S2.pdf' - | grep -q partial"
check "… leaving no temporary folder behind" bash -c "! ls -d '$ART'/*.d-* >/dev/null 2>&1"

# no LibreOffice: a clear message, what to install, and no file
rc=0
KH_SOFFICE=/nonexistent/soffice "$BIN/kh-feed" export --period 2020 --format pdf --no-sync \
    --output "$RUN/none.pdf" 2>"$RUN/nosoffice.err" || rc=$?
check_eq "soffice missing: exit 1" 1 "$rc"
check "… saying so in Vietnamese and English, and what to install" \
    bash -c "grep -q 'không tìm thấy LibreOffice' '$RUN/nosoffice.err' && grep -q 'install libreoffice-calc' '$RUN/nosoffice.err'"
check "… and leaving no file behind" bash -c "! ls '$RUN'/none.pdf* >/dev/null 2>&1"
check "no process died" all_alive
