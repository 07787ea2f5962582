#!/usr/bin/env bash
# A programme reported once a year (issue 12, item 3: "period kinds (half-year or
# year)").  The seed's tree and indicators under two programmes: 2017–2020 by
# half-years, then 2021–2030 once a year (programmes.csv report_period year, due on
# 5 December).  On 1 December 2027 (inside the reminder window) the notifier reminds
# the nine districts of their 2027 report, never of a half-year; 829's node receives
# its reminder, sends its 2027 report and it is counted; a 2027S2 report (sent past the
# node's own check) is rejected by the validator saying the period is the year; the
# province's summary of 2027 is of the year, and of 2020 still of its half-years.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test yearly
mkdir -p "$RUN/data" && cp "$TOP"/data/*.csv "$RUN/data/"
cat >"$RUN/data/programmes.csv" <<'EOF'
code,name_vi,name_en,valid_from,valid_to,folder,source,s1_due,s2_due,report_period
2017-2020,Chương trình 2017–2020,Programme 2017-2020,2017-01-01,2020-12-31,.,seed,,,
2021-2030,Chương trình thử (báo cáo năm),Test programme (yearly reports),2021-01-01,2030-12-31,.,test,,1205,year
EOF
printf 'level,unit,valid_from,valid_to,note\n2,,2017-01-01,,the districts with no end\n' \
    >"$RUN/data/reporters.csv"
set_conf general data_dir "$RUN/data"
set_conf notifier first_period 2027S1
set_conf notifier reminder_days 7
set_conf notifier check_interval_s 1
set_conf security verify_signatures no   # the injected report below is unsigned
set_clock 2027-12-01T10:00:00
IN=$RUN/input
python3 "$TOP/scripts/gen-demo-data.py" "$IN" --data "$RUN/data" --periods 2020,2027 \
    --seed 5 2>/dev/null
check_eq "gen-demo-data makes the 2027 reports as years (829-2027.csv) and 2020 as half-years" \
    "829-2020S1.csv 829-2020S2.csv 829-2027.csv" "$(ls "$IN/829" | paste -sd' ')"
ndb() { sql "$RUN/notifier.db" "$1"; }
is() { [ "$(sql "$1" "$2")" = "$3" ]; }            # is DB QUERY EXPECTED

pipeline start 829 >/dev/null || { echo "not ok - the pipeline starts"; exit 1; }

# ---- the calendar: one report a year ------------------------------------------------------
check "1 Dec 2027: the notifier reminds each of the nine districts of its 2027 report" \
    wait_for 60 is "$RUN/notifier.db" \
    "SELECT count(*) FROM notice WHERE kind='reminder' AND period='2027'" 9
check_eq "… and of no half-year (the programme reports once a year)" 0 \
    "$(ndb "SELECT count(*) FROM notice WHERE period LIKE '%S%'")"
reminded_2027() { [ "$(node_reminders 829 2027)" -ge 1 ]; }
check "829's node receives its reminder for 2027" wait_for 60 reminded_2027
check "the reminder names the year and its due date (05/12/2027)" bash -c \
    "sqlite3 '$RUN/notifier.db' \"SELECT text_vi FROM notice WHERE id='reminder/2027/829'\" | grep -q '05/12/2027'"

# ---- 829 reports for 2027 and 2020 -------------------------------------------------------
check "kh-node template for 2027 asks every indicator of the year (S2-only ones too)" bash -c \
    "'$BIN/kh-node' template --district 829 --period 2027 --output '$RUN/t2027.csv' >/dev/null &&
     head -1 '$RUN/t2027.csv' | grep -q 'GDHT.CONG_NHAN' && head -1 '$RUN/t2027.csv' | grep -q 'TT.NGAY_SACH'"
rc=0; "$BIN/kh-node" submit --district 829 "$IN/829/829-2027.csv" "$IN/829/829-2020S1.csv" \
    "$IN/829/829-2020S2.csv" >/dev/null 2>&1 || rc=$?
check_eq "kh-node submit accepts the 2027 report and the 2020 half-years" 0 "$rc"
agg=$RUN/aggregator.db
check "the three are counted" wait_for 120 is "$agg" \
    "SELECT group_concat(period, ' ') FROM (SELECT period FROM counted WHERE district='829' ORDER BY period)" \
    "2020S1 2020S2 2027"

# a half-year of the yearly programme, sent past the node's own check
sed 's/^2027,/2027S2,/' "$IN/829/829-2027.csv" >"$RUN/829-2027S2.csv"
rc=0; "$BIN/kh-node" submit --district 829 "$RUN/829-2027S2.csv" >/dev/null 2>"$RUN/half.err" || rc=$?
check "the node refuses a 2027S2 report itself, saying the period is the year" bash -c \
    "[ $rc != 0 ] && grep -q 'mỗi năm một lần, kỳ báo cáo là năm, ví dụ 2027' '$RUN/half.err'"
INJ=$TOP/${KH_BUILD:-build}/tests/tools/kh-inject
FRONT=$(sed -n '/^\[collector\]/,/^\[/s/^listen *= *\([^ ;]*\).*/\1/p' "$KH_CONFIG")
"$INJ" --endpoint "$FRONT" --key "$RUN/keys/node-829.key" --server-key "$RUN/keys/server.pub" \
    --report-file "$RUN/829-2027S2.csv" --district 829 --period 2027S2 --acks 1 \
    --wait-ms 120000 >/dev/null 2>&1
check "the validator rejects the injected 2027S2 report" wait_for 120 is "$agg" \
    "SELECT count(*) FROM rejected WHERE period='2027S2'" 1
check "… saying the programme reports once a year and the period is the year" bash -c \
    "grep '\"event\":\"report.rejected\"' '$RUN/logs/validator.log' | grep '\"period\":\"2027S2\"' |
     grep -q 'reports once a year; the period is the year, e.g. 2027'"
check_eq "nothing was counted for 2027S2" 0 "$(sql "$agg" "SELECT count(*) FROM counted WHERE period='2027S2'")"

# ---- what the province reads -------------------------------------------------------------
"$BIN/kh-feed" sync >/dev/null 2>&1
"$BIN/kh-feed" summary --period 2027 --no-sync >"$RUN/s2027.txt" 2>&1
check "the summary of 2027 is of the year (năm 2027)" grep -q "năm 2027 (2027)" "$RUN/s2027.txt"
rc=0; "$BIN/kh-feed" summary --period 2027S2 --no-sync >/dev/null 2>"$RUN/s-half.err" || rc=$?
check "kh-feed has no summary of 2027S2 and says to choose the year" bash -c \
    "[ $rc != 0 ] && grep -q 'choose the year (e.g. 2027)' '$RUN/s-half.err'"
"$BIN/kh-feed" export --period 2027 --level 2 --no-sync >"$RUN/e2027.csv" 2>/dev/null
check_eq "the export of 2027 holds 829's values of the year, as reported" \
    "$(awk -F, 'NR>1 && $3=="HO.TONG" {s+=$4} END {print s}' "$IN/829/829-2027.csv")" \
    "$(awk -F, '$2=="829" && $3=="HO.TONG" {print $4}' "$RUN/e2027.csv")"
"$BIN/kh-feed" summary --period 2020 --no-sync >"$RUN/s2020.txt" 2>&1
check "the summary of 2020 (under the half-yearly programme) still sums its half-years" \
    grep -q "năm 2020 (2020)" "$RUN/s2020.txt"
check "no process died" all_alive
