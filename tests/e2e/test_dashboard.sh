#!/usr/bin/env bash
# The province's dashboard in a real browser (issue 15, item 1): `kh-feed serve` on the
# real pipeline fed the demo data, driven in headless Chromium (tests/e2e/webdriver.py).
#  - while 838 has not yet reported 2020S2, the province totals of 2020S2 and 2020 are
#    marked partial ("8 / 9") on the overview and the indicator page;
#  - once it has (the dashboard catches up by itself), every figure of the province
#    overview of 2020 and of 2017-2020 (indicators, rates, targets, gaps, completeness)
#    equals the independent sums of expected_totals.py --period (and expected_rates.py
#    for the rate of funded centres); the indicator page lists every district with the
#    oracle's value, ranked, with a bar per unit and the target line; the trend page
#    shows the programme's half-years and years, the root's years equal to the oracle;
#  - the CSV of the overview is exactly `kh-feed export --level 1`;
#  - an unknown period or code is a 400/404 page in Vietnamese and English;
#  - on 127.0.0.2 (not 127.0.0.1) the dashboard refuses to start without a password
#    file, then asks for a login; a wrong password is refused, the right one opens the
#    overview with an HttpOnly, SameSite=Strict session cookie; repeated failures from
#    one address are refused unchecked (429).
# Screenshots: tests/out/dashboard/ (overview, indicator, trend, partial, login).
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test dashboard
base=$((20000 + ($$ % 400) * 10))
port=$((base + 7)) port2=$((base + 8)) cd_port=$((base + 9))   # mkrun uses base..base+6
art=$TOP/tests/out/dashboard
rm -rf "$art"; mkdir -p "$art"
IN=$RUN/input
python3 "$TOP/scripts/gen-demo-data.py" "$IN" 2>/dev/null
set_conf collector replay_clock node
set_conf feed dashboard_sync_s 0
pipeline start >/dev/null || exit 1

# every report but 838's 2020S2: the province's 2020S2 total is partial
submit_all "$IN" 829 831 832 833 834 835 836 837 || exit 1
for p in "${PERIODS[@]}"; do
    [ "$p" = 2020S2 ] && continue
    "$BIN/kh-node" submit --district 838 --submitted-at "$(submit_date "$p" 0)" \
        "$IN/838/838-$p.csv" >/dev/null || exit 1
done
check "71 reports settle" wait_settled 180 "${DISTRICTS[@]}"
# 838's first 2020S2 report has a value that is not a number: the province refuses it
not_a_number "$IN/838/838-2020S2.csv" "$RUN/838-2020S2-sai.csv"
"$BIN/kh-node" submit --district 838 --force --submitted-at 2020-12-01 "$RUN/838-2020S2-sai.csv" \
    >/dev/null 2>&1
rejected_838() { node_stages 838 | grep -q "^838-2020S2"$'\t'"1"$'\t'"rejected"; }
check "838's wrong 2020S2 report is rejected" wait_for 120 rejected_838

setsid "$BIN/kh-feed" serve --listen "127.0.0.1:$port" >"$RUN/serve.out" 2>"$RUN/serve.err" &
serve_pid=$!
chromedriver_start "$cd_port"
serve2_pid=
trap 'kill -- -$cd_pid 2>/dev/null; kill $serve_pid $serve2_pid 2>/dev/null;
      pipeline stop >/dev/null 2>&1 || true' EXIT
up() { grep -q "dashboard: http://$1/" "$2"; }
check "kh-feed serve says where the dashboard is" wait_for 60 up "127.0.0.1:$port" "$RUN/serve.out"

# the oracle: every half-year's file, and the rolled-up values of 2020 and 2017-2020
files=()
for d in "${DISTRICTS[@]}"; do for p in "${PERIODS[@]}"; do files+=("$IN/$d/$d-$p.csv"); done; done
for p in 2020 2017-2020; do
    python3 "$TOP/tests/e2e/expected_totals.py" --period "$p" "${files[@]}" >"$RUN/expected-$p.csv"
    python3 "$TOP/tests/e2e/expected_rates.py" "$p" "${files[@]}" | tail -n +2 \
        >>"$RUN/expected-$p.csv"
done
late="836-2019S2 837-2018S1"    # submit_all's late reports (lib.sh)

python3 - "$TOP/tests/e2e" "$cd_port" "http://127.0.0.1:$port" "$art" "$RUN/profile" \
    "$RUN" "$BIN" "$TOP/data" "$late" "${DISTRICTS[*]}" <<'PY'
import csv, json, os, subprocess, sys, time, urllib.error, urllib.request
sys.path.insert(0, sys.argv[1])
from webdriver import Driver, WebDriverError
_, _, cd_port, site, art, profile, run, bindir, data, late, districts = sys.argv
late, districts = late.split(), districts.split()
failed = 0
def check(desc, ok, detail=""):
    global failed
    print(("ok - " if ok else "not ok - ") + desc + ("" if ok or not detail else f": {detail}"))
    failed += not ok

def vi_number(text):
    """'1.234.567' -> 1234567, '72,5' -> 72.5, '+3,25' -> 3.25; None for '–'."""
    t = text.replace("*", "").strip()
    if t in ("", "–"):
        return None
    t = t.replace(".", "").replace(",", ".").lstrip("+")
    return float(t)

def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))

units = read_csv(os.path.join(data, "units.csv"))
root = next(u["code"] for u in units if u["level"] == "1")
targets = {t["code"]: t for t in read_csv(os.path.join(data, "targets.csv"))}
def expected(period):
    return {(r["orgunit"], r["indicator"]): float(r["value"])
            for r in read_csv(os.path.join(run, f"expected-{period}.csv"))}

d = Driver(int(cd_port))
def open_page(url, css):
    d.get(site + url)
    d.wait_for(f"{url} to show {css}", lambda: d.exists(css), 120)

def table(css, cell):
    return d.script("return Array.from(document.querySelectorAll(arguments[0])).map("
                    "r => [r.dataset.code || r.dataset.unit || r.dataset.half || r.dataset.period,"
                    " (r.querySelector(arguments[1]) || {textContent: ''}).textContent,"
                    " r.className || '']);", css, cell)

try:
    d.wait_for("chromedriver to be ready", d.ready, 120)
    d.start("/usr/bin/chromium", profile)

    # ---- a partial total: 838 has not reported 2020S2 ----------------------------------
    open_page("/?period=2020S2", "#figures")
    d.screenshot(f"{art}/overview-2020S2-partial.png")
    note = d.find_all("#partial .partial-half")
    got = [(d.attr(e, "data-half"), d.attr(e, "data-reported"), d.attr(e, "data-expected"))
           for e in note]
    check("2020S2 without 838: the overview says the totals are partial, 8 of 9",
          got == [("2020S2", "8", "9")], f"{got}")
    text = d.text(d.find("#partial"))
    check("… in Vietnamese and English (tổng chưa đủ / partial: 8 of 9 units)",
          "Tổng chưa đủ" in text and "partial: 8 of 9 units" in text, text[:300])
    marked = d.script("return document.querySelectorAll('#figures td.value.partial').length")
    allv = d.script("return document.querySelectorAll('#figures td.value').length")
    check("… and every total of the figures is marked partial", allv > 20 and marked == allv,
          f"{marked} of {allv}")
    grid = {r[0]: r for r in table("#grid tbody tr", "td[data-half='2020S2']")}
    check("the completeness grid shows 838's 2020S2 rejected (the aggregator's history), "
          "the others on time", "bị từ chối / rejected" in grid.get("838", ["", ""])[1] and
          all("đúng hạn" in grid[u][1] for u in districts if u != "838"), f"{grid.get('838')}")
    check("… and draws it so (SVG)",
          d.script("return document.querySelectorAll('svg.grid rect.cell.rejected').length") == 1)
    open_page("/?period=2020", "#figures")
    got = [d.attr(e, "data-half") for e in d.find_all("#partial .partial-half")]
    check("the year 2020 says its 2020S2 totals are partial", got == ["2020S2"], f"{got}")
    open_page("/indicator?period=2020S2&code=TL.GDHT", "#units")
    check("the indicator page marks its total partial too",
          d.exists("#partial") and d.exists("#total td.value.partial"))

    # ---- 838 reports: the dashboard catches up by itself -------------------------------
    subprocess.run([f"{bindir}/kh-node", "submit", "--district", "838", "--submitted-at",
                    "2020-12-01", f"{run}/input/838/838-2020S2.csv"], check=True,
                   stdout=subprocess.DEVNULL)
    def whole():
        d.get(site + "/?period=2020")
        return d.exists("#figures") and not d.exists("#partial")
    d.wait_for("the 2020 overview without a partial note", whole, 300)
    d.screenshot(f"{art}/overview-2020.png")
    check("after 838's report the 2020 overview is whole (no partial note)", True)

    for period in ("2020", "2017-2020"):
        open_page(f"/?period={period}", "#figures")
        if period == "2017-2020":
            d.screenshot(f"{art}/overview-2017-2020.png")
        if period == "2020":       # the print stylesheet: the page prints as its report
            cdp = lambda cmd, params: d._call("POST", d._s("/goog/cdp/execute"),
                                              {"cmd": cmd, "params": params})
            cdp("Emulation.setEmulatedMedia", {"media": "print"})
            hidden = d.script("return [getComputedStyle(document.querySelector('nav')).display,"
                              " getComputedStyle(document.querySelector('form')).display,"
                              " getComputedStyle(document.querySelector('#figures')).display]")
            cdp("Emulation.setEmulatedMedia", {"media": ""})
            pdf = cdp("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True})
            with open(f"{art}/overview-2020-print.pdf", "wb") as fp:
                fp.write(__import__("base64").b64decode(pdf["data"]))
            txt = subprocess.run(["pdftotext", "-layout", f"{art}/overview-2020-print.pdf", "-"],
                                 capture_output=True, text=True).stdout
            check("printed, the overview drops its menu and forms and keeps the figures, "
                  "the data-as-of line and the rates",
                  hidden == ["none", "none", "table"] and "data as of" in txt and
                  "TL.GDHT" in txt and "Xem / Show" not in txt, f"{hidden}")
        exp = expected(period)
        exp_root = {k[1]: v for k, v in exp.items() if k[0] == root}
        shown = {}
        for code, text, _ in table("#figures tbody tr", "td.value"):
            shown[code] = vi_number(text)
        for code, text, _ in table("#rates tbody tr", "td.value"):
            v = vi_number(text)
            if v is not None:
                shown[code] = v
        bad = []
        for k in sorted(set(shown) | set(exp_root)):
            a, e = shown.get(k), exp_root.get(k)
            if "=" in k and (a or 0) == 0 and (e or 0) == 0:
                continue                     # an option nobody chose: 0 or no row
            if a is None or e is None or abs(a - e) > (0.0051 if k.startswith("TL.") else 0):
                bad.append((k, a, e))
        check(f"{period}: every figure of the province overview ({len(shown)}) equals the "
              f"independent sums", not bad and len(shown) >= 40, f"{bad[:8]}")
        # targets and gaps
        bad = []
        for code, tt, _ in table("#rates tbody tr", "td.target"):
            t = targets[code]["target"]
            want = float(t) if t else None
            got = vi_number(tt.split("(")[0])
            if want != got:
                bad.append((code, got, want))
        for code, gt, _ in table("#rates tbody tr", "td.gap"):
            t = targets[code]["target"]
            got = vi_number(gt)
            want = round(exp_root[code] - float(t), 2) if t and code in exp_root else None
            if (got is None) != (want is None) or (got is not None and abs(got - want) > 0.0051):
                bad.append((code, got, want))
        check(f"{period}: every target is targets.csv's and every gap is rate − target",
              not bad, f"{bad[:6]}")
        # completeness: nine expected each half, every report in, the two late ones late
        halves = [r for r in table("#completeness tbody tr", "td")]
        rows = d.script("return Array.from(document.querySelectorAll('#completeness tbody tr'))"
                        ".map(r => [r.dataset.half].concat(Array.from(r.querySelectorAll('td.num'))"
                        ".map(c => c.textContent)))")
        bad = []
        for row in rows:
            h = row[0]
            n_late = sum(1 for x in late if x.endswith("-" + h))
            want = [str(len(districts)), str(len(districts)), str(len(districts) - n_late),
                    str(n_late), "0"]
            if row[1:] != want:
                bad.append((h, row[1:], want))
        check(f"{period}: completeness per half-year: {len(districts)} expected, all reported, "
              f"the late ones late", rows and not bad, f"{bad[:3]}")

    # ---- the indicator page: every district, ranked, the bar chart -------------------------
    open_page("/indicator?period=2020&code=TL.GDHT", "#units")
    d.screenshot(f"{art}/indicator-TL.GDHT-2020.png")
    exp = expected("2020")
    rows = table("#units tbody tr", "td.value")
    ranks = table("#units tbody tr", "td.rank")
    got = {r[0]: vi_number(r[1]) for r in rows}
    bad = [(u, got.get(u), exp.get((u, "TL.GDHT"))) for u in districts + [root]
           if got.get(u) is None or abs(got[u] - exp[(u, "TL.GDHT")]) > 0.0051]
    check("the indicator page lists every district and the province with the oracle's rate",
          not bad and [r[0] for r in rows][:len(districts)] == districts, f"{bad[:5]}")
    vals = sorted((got[u] for u in districts), reverse=True)
    rk = {r[0]: r[1] for r in ranks}
    bad = [u for u in districts if rk.get(u) != str(1 + sum(1 for v in vals if v > got[u]))]
    check("… each district ranked (1 = highest)", not bad, f"{bad}")
    nbars = d.script("return document.querySelectorAll('svg.bars rect.bar').length")
    tline = d.script("var l = document.querySelector('svg.bars line.target');"
                     " return l ? l.getAttribute('data-value') : null")
    check("… a bar per unit and the province, the target line at 70",
          nbars == len(districts) + 1 and tline is not None and float(tline) == 70.0,
          f"{nbars} bars, target {tline}")
    open_page("/indicator?period=2020&code=TL.GDHT&sort=desc", "#units")
    order = [vi_number(r[1]) for r in table("#units tbody tr", "td.value")][:len(districts)]
    check("sorted high to low on request", order == sorted(order, reverse=True), f"{order}")

    # ---- the trend page ---------------------------------------------------------------------
    open_page("/trend?period=2017-2020&code=TL.GDHT&unit=829", "#trend-halves")
    d.screenshot(f"{art}/trend-TL.GDHT-2017-2020.png")
    hv = table("#trend-halves tbody tr", "td.root")
    yv = table("#trend-years tbody tr", "td.root")
    uv = table("#trend-years tbody tr", "td.unit")
    check("the trend shows the 8 half-years and the 4 years of the programme",
          [r[0] for r in hv] == ["2017S1", "2017S2", "2018S1", "2018S2", "2019S1", "2019S2",
                                 "2020S1", "2020S2"] and [r[0] for r in yv] ==
          ["2017", "2018", "2019", "2020"], f"{[r[0] for r in hv]} {[r[0] for r in yv]}")
    y20 = {r[0]: vi_number(r[1]) for r in yv}.get("2020")
    u20 = {r[0]: vi_number(r[1]) for r in uv}.get("2020")
    check("… its 2020 point equals the oracle, for the province and for 829",
          y20 is not None and abs(y20 - exp[(root, "TL.GDHT")]) < 0.0051 and
          u20 is not None and abs(u20 - exp[("829", "TL.GDHT")]) < 0.0051,
          f"{y20} {u20} vs {exp[(root, 'TL.GDHT')]} {exp[('829', 'TL.GDHT')]}")
    npts = d.script("return document.querySelectorAll('svg.lines circle.point').length")
    nvals = sum(1 for t in (hv, yv, table("#trend-halves tbody tr", "td.unit"), uv)
                for r in t if vi_number(r[1]) is not None)
    check("… S1 has no value of an S2 indicator (–); drawn as lines, a point per value",
          vi_number(hv[0][1]) is None and vi_number(hv[1][1]) is not None and
          npts == nvals and nvals >= 16, f"{npts} points, {nvals} values")

    # ---- downloads and errors -------------------------------------------------------------
    with urllib.request.urlopen(site + "/?period=2020&format=csv", timeout=120) as r:
        page_csv = r.read().decode()
        cd = r.headers.get("Content-Disposition", "")
    export = subprocess.run([f"{bindir}/kh-feed", "export", "--period", "2020", "--level", "1",
                             "--no-sync"], check=True, capture_output=True, text=True).stdout
    check("the overview's CSV is exactly kh-feed export --level 1", page_csv == export and
          "attachment" in cd, f"{len(page_csv)} vs {len(export)} bytes")
    with urllib.request.urlopen(site + "/indicator?period=2020&code=TL.GDHT&format=csv",
                                timeout=120) as r:
        ind_csv = list(csv.DictReader(r.read().decode().splitlines()))
    bad = [(x["orgunit"], x["value"]) for x in ind_csv
           if abs(float(x["value"]) - exp[(x["orgunit"], "TL.GDHT")]) > 0.0051 or
           abs(float(x["gap"]) - (float(x["value"]) - 70)) > 0.0051]
    check("the indicator page's CSV: every district and the province, the oracle's rate, "
          "target and gap", len(ind_csv) == len(districts) + 1 and not bad, f"{bad[:4]}")
    with urllib.request.urlopen(site + "/export.xlsx?period=2020", timeout=120) as r:
        xl = r.read()
    check("the overview's XLSX is a workbook", xl[:2] == b"PK" and len(xl) > 5000, f"{len(xl)}")
    for url, status, words in (("/?period=2099S9", 400, "Kỳ báo cáo không hợp lệ"),
                               ("/indicator?period=2020&code=KHONG.CO", 404, "No indicator"),
                               ("/trend?period=2017-2020&unit=ZZZ", 404, "No unit"),
                               ("/?period=" + "2" * 80, 400, "Too many or too long"),
                               ("/khong-co", 404, "no such page")):
        try:
            urllib.request.urlopen(site + url, timeout=120)
            code, body = 200, ""
        except urllib.error.HTTPError as e:
            code, body = e.code, e.read().decode()
        check(f"{url[:40]}: {status} with what to do, in both languages",
              code == status and words in body and "Về trang tổng quan" in body, f"{code}")
except Exception as e:          # noqa: BLE001 — any failure is one "not ok"
    print(f"not ok - the browser session: {e}")
    failed += 1
    try:
        d.screenshot(f"{art}/error.png")
    except (WebDriverError, OSError):
        pass
finally:
    try:
        d.quit()
    except (WebDriverError, OSError):
        pass
PY

# the dashboard's "data as of" is the text summary's: the same time, the same feed seq
"$BIN/kh-feed" summary --period 2020 --no-sync >"$RUN/summary-2020.txt" 2>/dev/null
asof_text=$(sed -n 's/^Dữ liệu đến \/ data as of \(.*\) (feed seq \([0-9]*\))$/\1 \2/p' "$RUN/summary-2020.txt")
asof_page=$(curl -sf -m 120 "http://127.0.0.1:$port/?period=2020" |
    sed -n 's/.*<span id="asof-time">\([^<]*\)<\/span> (feed seq <span id="feed-seq">\([0-9]*\)<.*/\1 \2/p')
check "the dashboard's data-as-of line says what the summary says ($asof_text)" \
    test -n "$asof_text" -a "$asof_text" = "$asof_page"

# ---- the login on an address other than 127.0.0.1 -----------------------------------------
rc=0; "$BIN/kh-feed" serve --listen "127.0.0.2:$port2" >/dev/null 2>"$RUN/nopass.err" || rc=$?
check_eq "on 127.0.0.2 without a password file the dashboard does not start: exit 1" 1 "$rc"
check "… saying to set dashboard_password_file (kh-feed passwd)" \
    grep -q 'dashboard_password_file.*kh-feed passwd' "$RUN/nopass.err"
set_conf feed dashboard_password_file "$RUN/dashboard.pass"
printf 'mat-khau-dung-1\n' | "$BIN/kh-feed" passwd analyst >/dev/null
pass_ok() { grep -q '^analyst:\$argon2id\$' "$1" && [ "$(stat -c %a "$1" | cut -c3)" = 0 ]; }
check "kh-feed passwd writes a user:argon2id line, the file unreadable by others" \
    pass_ok "$RUN/dashboard.pass"
setsid "$BIN/kh-feed" serve --listen "127.0.0.2:$port2" >"$RUN/serve2.out" 2>"$RUN/serve2.err" &
serve2_pid=$!
check "kh-feed serve on 127.0.0.2 starts with a login" wait_for 60 up "127.0.0.2:$port2" \
    "$RUN/serve2.out"

python3 - "$TOP/tests/e2e" "$cd_port" "http://127.0.0.2:$port2" "$art" "$RUN/profile2" <<'PY'
import sys, urllib.error, urllib.parse, urllib.request
sys.path.insert(0, sys.argv[1])
from webdriver import Driver, WebDriverError
_, _, cd_port, site, art, profile = sys.argv
failed = 0
def check(desc, ok, detail=""):
    global failed
    print(("ok - " if ok else "not ok - ") + desc + ("" if ok or not detail else f": {detail}"))
    failed += not ok
d = Driver(int(cd_port))
try:
    d.start("/usr/bin/chromium", profile)
    d.get(site + "/?period=2020")
    d.wait_for("the login form", lambda: d.exists("#login"), 120)
    d.screenshot(f"{art}/login.png")
    check("on 127.0.0.2 the dashboard asks for a login first, showing no figure",
          "/login" in d.url() and not d.exists("#figures"), d.url())
    d.send_keys(d.find("#user"), "analyst")
    d.send_keys(d.find("#password"), "mat-khau-sai")
    d.click(d.find("#submit"))
    d.wait_for("the refusal", lambda: d.exists("#login-error"), 120)
    msg = d.text(d.find("#login-error"))
    check("a wrong password is refused, in both languages",
          "Sai tên người dùng hoặc mật khẩu" in msg and "Wrong user name or password" in msg
          and not d.exists("#figures"), msg)
    d.send_keys(d.find("#user"), "analyst")
    d.send_keys(d.find("#password"), "mat-khau-dung-1")
    d.click(d.find("#submit"))
    d.wait_for("the overview", lambda: d.exists("#figures"), 120)
    check("the right password opens the overview", d.exists("#asof"))
except Exception as e:          # noqa: BLE001
    print(f"not ok - the browser session (login): {e}")
    failed += 1
finally:
    try:
        d.quit()
    except (WebDriverError, OSError):
        pass

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None
op = urllib.request.build_opener(NoRedirect)
def login(pw):
    body = urllib.parse.urlencode({"user": "analyst", "password": pw}).encode()
    try:
        r = op.open(urllib.request.Request(site + "/login", data=body), timeout=120)
        return r.status, r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.headers
code, h = login("mat-khau-dung-1")
cookie = h.get("Set-Cookie", "")
check("a good login: 303 to the overview with a session cookie, HttpOnly, SameSite=Strict",
      code == 303 and "HttpOnly" in cookie and "SameSite=Strict" in cookie, f"{code} {cookie}")
try:
    op.open(site + "/", timeout=120)
    code = 200
except urllib.error.HTTPError as e:
    code = e.code
check("without the cookie a page answers 303 to /login", code == 303, f"{code}")
try:
    op.open(urllib.request.Request(site + "/login", data=b"user=analyst&password=" + b"x" * 5000),
            timeout=120)
    code = 200
except urllib.error.HTTPError as e:
    code = e.code
check("a login body over the bound (2 KiB) is refused unread: 413", code == 413, f"{code}")
codes = [login("sai-%d-mat-khau" % i)[0] for i in range(5)]
code, _ = login("mat-khau-dung-1")
check("five wrong passwords are refused (403), then even the right one is refused unchecked "
      "(429) for a while", codes == [403] * 5 and code == 429, f"{codes} {code}")
PY

n_png=$(find "$art" -name '*.png' -size +5k | wc -l)
check "screenshots of the overview, an indicator and a trend are kept" test "$n_png" -ge 5
echo "# screenshots: $art"
check "every log line is one JSON object" python3 -c '
import json, sys
for f in sys.argv[1:]:
    for l in open(f, encoding="utf-8"):
        json.loads(l)' "$RUN"/logs/*.log
check "no process died" all_alive
