#!/usr/bin/env bash
# The district officer's web page in a real browser (issue 14): headless Chromium from
# Debian, driven through chromedriver's W3C WebDriver API (tests/e2e/webdriver.py), on
# the real pipeline.  The officer opens the page, uploads a report with one wrong value
# (send_keys of the file's path to the <input type=file>) and reads that exact finding on
# the page (line, commune, indicator); uploads the good report, presses "Gửi lên tỉnh /
# Send to the province", and waits on the report's page until the receipt "Đã tính /
# Counted" arrives by itself (the page polls), with the feed sequence the province gave;
# then the wrong file forced through `kh-node submit --force`: revision 2's page shows
# the province's rejection and its finding.
# A screenshot of each step is kept in build/artefacts/webpage/ (printed at the end).
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test webpage
base=$((20000 + ($$ % 400) * 10))
web_port=$((base + 8)) cd_port=$((base + 9))      # mkrun's range uses base..base+6
art=$TOP/build/artefacts/webpage
rm -rf "$art"; mkdir -p "$art"
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
set_conf node web_listen "127.0.0.1:$web_port"
pipeline start 835 >/dev/null || exit 1
check "the node logs where its web page is" \
    grep -q "\"event\":\"web.start\".*127.0.0.1:$web_port" "$RUN/logs/node-835.log"

# the officer's two files: one value that is not a number (line 5), and the good report
work=$RUN/officer
mkdir -p "$work"
good=$work/835-2018S2.csv
cp "$RUN/input/835/835-2018S2.csv" "$good"
bad=$work/835-2018S2-sai.csv
not_a_number "$good" "$bad"
read -r bad_unit bad_ind < <(sed -n 5p "$bad" | awk -F, '{print $2, $3}')

chromedriver_start "$cd_port"
trap 'kill -- -$cd_pid 2>/dev/null; pipeline stop >/dev/null 2>&1 || true' EXIT

python3 - "$TOP/tests/e2e" "$cd_port" "http://127.0.0.1:$web_port" "$art" "$RUN/profile" \
    "$bad" "$good" "$bad_unit" "$bad_ind" "$RUN/aggregator.db" "$BIN/kh-node" <<'PY'
import sqlite3, sys
sys.path.insert(0, sys.argv[1])
from webdriver import Driver, WebDriverError
_, _, cd_port, site, art, profile, bad, good, bad_unit, bad_ind, agg, kh_node = sys.argv
failed = 0
def check(desc, ok, detail=""):
    global failed
    print(("ok - " if ok else "not ok - ") + desc + ("" if ok or not detail else f": {detail}"))
    failed += not ok
d = Driver(int(cd_port))
shot = 0
def snap(name):
    global shot
    shot += 1
    return d.screenshot(f"{art}/{shot:02d}-{name}.png")
try:
    d.wait_for("chromedriver to be ready", d.ready, 120)
    d.start("/usr/bin/chromium", profile)
    d.get(site + "/")
    d.wait_for("the overview", lambda: d.exists("#upload"), 60)
    snap("overview")
    check("the overview shows the connection, the upload form, the reports and the template",
          all(d.exists(s) for s in ("#conn", "#upload", "#reports", "#template")))
    check("…in Vietnamese with English beside it",
          "Nộp báo cáo" in d.text(d.find("#upload")) and "Submit a report" in d.text(d.find("#upload")))

    # the connection check (check.h): its items, or "no checks" when there are none
    d.click(d.find("#check"))
    d.wait_for("the connection check's page", lambda: d.exists("#checks"), 120)
    snap("connection-check")
    checks = d.text(d.find("#checks"))
    check("the connection check answers with its items or says there are none",
          "Kiểm tra kết nối" in checks and ("Mục" in checks or "Chưa có mục kiểm tra" in checks),
          checks[:300])
    d.get(site + "/")
    d.wait_for("the overview", lambda: d.exists("#upload"), 60)

    # a report with one wrong value: the finding, exactly
    d.send_keys(d.find("#file"), bad)
    snap("bad-file-chosen")
    d.click(d.find("#checkfile"))
    d.wait_for("the check's result", lambda: d.exists("#result"), 60)
    snap("bad-file-findings")
    check("the wrong file: 1 error, 0 warnings",
          (d.text(d.find("#n_errors")), d.text(d.find("#n_warnings"))) == ("1", "0"),
          f"{d.text(d.find('#n_errors'))} errors, {d.text(d.find('#n_warnings'))} warnings")
    rows = d.find_all("#errors-table tbody tr")
    got = [(d.attr(r, "data-line"), d.attr(r, "data-unit"), d.attr(r, "data-indicator"))
           for r in rows]
    check("the finding is line 5, its commune and its indicator", got == [("5", bad_unit, bad_ind)],
          f"{got}")
    row = d.text(rows[0]) if rows else ""
    check("…shown with the value and the reason in both languages",
          "mười" in row and "không phải là số" in row and "not a number" in row, row[:300])
    check("…and the commune's name", "Bình Đại" in row, row[:200])
    check("a file with errors has no Send button", not d.exists("#send"))

    # the good report: no errors, Send, its page follows the receipts by itself
    d.send_keys(d.find("#file"), good)
    d.click(d.find("#checkfile"))
    d.wait_for("the check's result", lambda: d.exists("#send"), 60)
    snap("good-file-checked")
    check("the good file: 0 errors", d.text(d.find("#n_errors")) == "0")
    check("…its report id is shown", d.text(d.find("#report_id")) == "835-2018S2")
    d.click(d.find("#send"))
    d.wait_for("the report's page", lambda: "/report/835-2018S2/1" in d.url(), 60)
    snap("report-sent")
    check("Send leads to the report's page", d.exists("#receipts"))
    # the page reloads itself when a receipt arrives (it polls /api/report every 2 s)
    def counted():
        try:
            return d.attr(d.find("#stage"), "data-stage") == "counted"
        except WebDriverError:
            return False            # the page is reloading
    d.wait_for("the receipt 'counted' on the page", counted, 300)
    snap("report-counted")
    stage = d.text(d.find("#stage"))
    check("the report's page shows 'Đã tính … / Counted'",
          stage.startswith("Đã tính") and "Counted" in stage, stage)
    stages = [d.attr(r, "data-stage") for r in d.find_all("#receipt-table tr.receipt")]
    check("…with every step: queued, received, accepted, counted",
          stages == ["queued", "received", "accepted", "counted"], f"{stages}")
    seq = sqlite3.connect(agg).execute(
        "SELECT seq FROM counted WHERE district='835' AND period='2018S2'").fetchone()
    shown = d.text(d.find("#feed_seq"))
    check("the feed sequence shown is the province's", seq is not None and shown == str(seq[0]),
          f"page {shown}, province {seq}")

    # the wrong file forced through by `kh-node submit --force` (another process): the
    # province rejects revision 2, and its page shows why, line by line
    import subprocess
    subprocess.run([kh_node, "submit", "--district", "835", "--force", bad], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    d.get(site + "/report/835-2018S2/2")
    def rejected():
        try:
            return d.attr(d.find("#stage"), "data-stage") == "rejected"
        except WebDriverError:
            return False
    d.wait_for("the receipt 'rejected' on revision 2's page", rejected, 300)
    snap("report-rejected")
    rec = d.text(d.find("#receipt-table"))
    check("a rejected revision's page shows the province's finding: line, commune, indicator, reason",
          "dòng / line 5" in rec and bad_unit in rec and bad_ind in rec and "not a number" in rec,
          rec[-400:])

    d.get(site + "/")
    d.wait_for("the overview", lambda: d.exists("#reports"), 60)
    snap("overview-after")
    reports = d.text(d.find("#reports"))
    check("the overview lists the report, counted", "835-2018S2" in reports and "Counted" in reports,
          reports[:300])
except Exception as e:          # noqa: BLE001 — any failure is one "not ok"
    print(f"not ok - the browser session: {e}")
    failed += 1
    try:
        snap("error")
    except (WebDriverError, OSError):
        pass
finally:
    try:
        d.quit()
    except (WebDriverError, OSError):
        pass
PY
n_png=$(find "$art" -name '*.png' -size +1k | wc -l)
check "a screenshot of each step is kept" test "$n_png" -ge 9
echo "# screenshots: $art"
check "every log line is one JSON object" python3 -c '
import json, sys
for f in sys.argv[1:]:
    for l in open(f, encoding="utf-8"):
        json.loads(l)' "$RUN"/logs/*.log
check "the upload and the submission are logged with district and report_id" \
    grep -q '"event":"web.submit".*"district":"835","report_id":"835-2018S2"' "$RUN/logs/node-835.log"
check "no process died" all_alive
