#!/usr/bin/env python3
"""check_domain.py — issue 12, item 5, on the demo's real output (test_totals).

Usage:  tests/e2e/check_domain.py rates EXPECTED ACTUAL
        tests/e2e/check_domain.py summary HALF SUMMARY_TXT
        tests/e2e/check_domain.py partial "K of N" SUMMARY_TXT
        tests/e2e/check_domain.py workbook DATE XLSX

rates:    every TL.TTHTCD_HO_TRO row of EXPECTED (expected_rates.py) is in ACTUAL with
          the same value (±0.005), and no rate of ACTUAL whose numerator is declared a
          subset of its denominator (an error rule `NUM <= DEN` of rules.csv) exceeds 100.
summary:  the summary of half-year HALF (2020S1) names it "6 tháng đầu năm 2020" (S2:
          "6 tháng cuối năm"), never "Kỳ 2020S1"; the reporting units' column and part I
          are named by their level as levels.csv names it (the level of reporters.csv on
          the half's last day: "Huyện/Thành phố" in the seed); no text is cut ("…"),
          every word of every indicator reported in HALF is printed; (issue 15) no line is
          wider than 100 columns, a "Dữ liệu đến / data as of … (feed seq N)" line is
          there, and the targets' column is headed with their milestone year in
          targets.csv ("Chỉ tiêu 2020" in the seed), no other year.
partial:  (issue 15) a summary whose root total covers K of N reporting units says
          "tổng chưa đủ / partial: K of N units" at its head, under every block of part I,
          in part II and in part III, and heads the whole-province column "(chưa đủ)".
workbook: the long list's sheets (one per level, beside the cover, summary and
          completeness sheets of issue 15) and their unit column are named by level
          (levels.csv, '/' written ", " in a sheet name), and every unit name of units.csv in force on DATE
          (yyyy-mm-dd) of the root's level and the reporting level is written whole, in a
          column at least as wide as the longest one.
Exits 0 iff all holds; prints what does not.
"""
import csv
import os
import re
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "data")
bad = []


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def in_force(u, date):
    return (not u["valid_from"] or u["valid_from"] <= date) and \
        (not u["valid_to"] or date <= u["valid_to"])


def level_label(level, date):
    """The name of `level` (a string, "2") on `date` in levels.csv."""
    rows = [r for r in read_csv(os.path.join(DATA, "levels.csv")) if r["level"] == level]
    for r in rows:
        if in_force(r, date):
            return r["name_vi"]
    return max(rows, key=lambda r: r["valid_from"])["name_vi"] if rows else "Cấp " + level


def reporting_level(date):
    """The level that reporters.csv names on `date` (a row naming a level)."""
    for r in read_csv(os.path.join(DATA, "reporters.csv")):
        if r["level"] and in_force(r, date):
            return r["level"]
    bad.append("reporters.csv names no reporting level on %s" % date)
    return "2"


def rates(expected, actual):
    want = read_csv(expected)
    got = {(r["period"], r["orgunit"], r["indicator"]): float(r["value"]) for r in read_csv(actual)}
    if not want:
        bad.append("the oracle computed no rate")
    for r in want:
        k = (r["period"], r["orgunit"], r["indicator"])
        if k not in got:
            bad.append("missing %s" % (k,))
        elif abs(got[k] - float(r["value"])) > 0.005:
            bad.append("%s: expected %s, got %s" % (k, r["value"], got[k]))
    subset = set()
    for rule in read_csv(os.path.join(DATA, "rules.csv")):
        m = re.fullmatch(r"\s*([A-Z0-9_.]+)\s*<=\s*([A-Z0-9_.]+)\s*", rule["rule"])
        if rule["severity"] == "error" and m:
            subset.add((m.group(1), m.group(2)))
    for t in read_csv(os.path.join(DATA, "targets.csv")):
        if (t["numerator"], t["denominator"]) not in subset:
            continue
        for k, v in got.items():
            if k[2] == t["code"] and v > 100:
                bad.append("%s = %s %% > 100 %% (%s ⊆ %s)" % (k, v, t["numerator"], t["denominator"]))


def summary(half, path):
    text = open(path, encoding="utf-8").read()
    year, h = half[:4], half[-1]
    said = "6 tháng %s năm %s" % ("đầu" if h == "1" else "cuối", year)
    if "Kỳ báo cáo: %s (%s)" % (said, half) not in text:
        bad.append("the summary does not say \"Kỳ báo cáo: %s (%s)\"" % (said, half))
    if "Kỳ " + half in text:
        bad.append("the summary still says \"Kỳ %s\"" % half)
    date = "%s-%s" % (year, "06-30" if h == "1" else "12-31")
    label = level_label(reporting_level(date), date)
    if "\nMã   %s  " % label not in text:
        bad.append("the reporting units' column is not named \"%s\"" % label)
    if not re.search(r"CHỈ TIÊU THEO %s( \([^)]*\))?\n" % re.escape(label.upper()), text):
        bad.append("part I is not titled by \"%s\"" % label.upper())
    if "…" in text:
        bad.append("a text is cut with \"…\"")
    for n, line in enumerate(text.split("\n"), 1):
        if len(line) > 100:
            bad.append("line %d is %d columns wide (at most 100): %s" % (n, len(line), line[:60]))
    if not re.search(r"^Dữ liệu đến / data as of \S+ \S+ \(feed seq \d+\)$", text, re.M):
        bad.append("no \"Dữ liệu đến / data as of … (feed seq N)\" line")
    years = {t["milestone"] for t in read_csv(os.path.join(DATA, "targets.csv"))}
    heads = set(re.findall(r"Chỉ tiêu (\d{4})\b", text))
    if len(years) == 1 and heads != years:
        bad.append("the targets' column is headed %s, targets.csv says %s" % (heads, years))
    for ind in read_csv(os.path.join(DATA, "indicators.csv")):
        if "S" + h not in ind["periods"].split():
            continue
        for w in ind["name_vi"].split():
            if w not in text:
                bad.append("%s: \"%s\" is not printed" % (ind["code"], w))


def partial(k_of_n, path):
    text = open(path, encoding="utf-8").read()
    mark = "tổng chưa đủ / partial: %s units" % k_of_n
    head, _, rest = text.partition("\nI. ")
    part1, _, rest = rest.partition("\nII. ")
    part2, _, part3 = rest.partition("\nIII. ")
    flat = lambda t: re.sub(r"\n +", " ", t)   # a wrapped line joined again
    if mark not in flat(head):
        bad.append("the head does not say %r" % mark)
    blocks = part1.split("CHỈ TIÊU THEO ")[1:]
    for i, b in enumerate(blocks):
        if mark not in flat(b):
            bad.append("block %d of part I does not say %r" % (i + 1, mark))
        if "(chưa đủ)" not in b:
            bad.append("block %d of part I does not head the whole column \"(chưa đủ)\"" % (i + 1))
    if mark not in flat(part2) or "(chưa đủ)" not in part2:
        bad.append("part II does not say %r" % mark)
    if mark not in flat(part3):
        bad.append("part III does not say %r" % mark)


def workbook(date, path):
    z = zipfile.ZipFile(path)
    wb = z.read("xl/workbook.xml").decode()
    shared = z.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in z.namelist() else ""
    names = re.findall(r'<sheet name="([^"]*)"', wb)
    levels = ("1", reporting_level(date))
    for level in levels:
        label = level_label(level, date)
        if label.replace("/", ", ") not in names:
            bad.append("no sheet named %r (sheets: %s)" % (label.replace("/", ", "), names))
        if ">%s<" % label not in shared:
            bad.append("no column headed %r" % label)
    depth = max(int(u["level"]) for u in read_csv(os.path.join(DATA, "units.csv")))
    # issue 15: the workbook has a cover, the summary and completeness sheets, the
    # charts' figures, and the long list: one sheet per level, named by the level
    level_sheets = [level_label(str(l), date).replace("/", ", ") for l in range(1, depth + 1)]
    if len([n for n in names if n in level_sheets]) != depth:
        bad.append("%d levels, not one sheet each (sheets: %s)" % (depth, names))
    longest = 0
    for u in read_csv(os.path.join(DATA, "units.csv")):
        if u["level"] in levels and in_force(u, date):
            longest = max(longest, len(u["name"]))
            if ">%s<" % u["name"] not in shared:
                bad.append("the name %r is not written whole" % u["name"])
    rels = z.read("xl/_rels/workbook.xml.rels").decode()
    target = {}
    for attrs in re.findall(r"<Relationship ([^>]*)>", rels):
        a = dict(re.findall(r'(\w+)="([^"]*)"', attrs))
        target[a.get("Id")] = a.get("Target", "")
    for name, rid in re.findall(r'<sheet name="([^"]*)" sheetId="\d+"[^>]* r:id="([^"]+)"', wb):
        if name not in level_sheets:
            continue
        sheet = "xl/" + target[rid].lstrip("/").replace("xl/", "", 1)
        xml = z.read(sheet).decode()
        m = re.search(r'<col min="3" max="3" width="([0-9.]+)"', xml)
        if not m or float(m.group(1)) < longest:
            bad.append("%s: the unit name column is narrower than %d" % (sheet, longest))


def main():
    what = sys.argv[1] if len(sys.argv) == 4 else ""
    if what == "rates":
        rates(sys.argv[2], sys.argv[3])
    elif what == "summary":
        summary(sys.argv[2], sys.argv[3])
    elif what == "partial":
        partial(sys.argv[2], sys.argv[3])
    elif what == "workbook":
        workbook(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
    for b in bad[:20]:
        print(b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
