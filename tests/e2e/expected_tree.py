#!/usr/bin/env python3
"""expected_tree.py — the independent oracle of the any-tree test: the totals of every
unit at every level, computed from the catalogue files and the report files alone.

Usage:  tests/e2e/expected_tree.py --data DIR [--compare ACTUAL] REPORT...

REPORT: report files (long form CSV `period,orgunit,indicator,value`, UTF-8 with or
without BOM) or folders searched for *.csv.  Each file is one period (half-year or year) of one
reporting unit: the unit of reporters.csv (the level-2 units without that file) in
force at the period's end that is each row's unit or one of its ancestors then.  When
several files have the same reporting unit and period, the last one named wins (a later
revision).  DIR holds units.csv, reporters.csv and indicators.csv.

Prints CSV `period,orgunit,indicator,sum,n`, sorted: the cell model of lib/model/kh_cells.h,
(orgunit, indicator) -> (sum, n), for every unit that has a value in its subtree, at
every level, the root included:

  count, money, flag, score   sum: the values of the unit and of every unit below it
                              in force at the period's end; n: how many values
  option                      counted per option, as indicator `CODE=OPT`: sum = n =
                              the number of units that chose it (an empty option is
                              not counted)

Sums print as integers when whole, else with up to 6 decimals.

--above-reporters: only the cells of the reporting units and of the units above them
(what the aggregator's table `total` keeps; the cells of the units below a reporting
unit travel in the feed, to kh-feed's mirror).

--compare ACTUAL: instead of printing, compares with ACTUAL, a CSV with the same header
(the aggregator's table: sqlite3 -csv -header aggregator.db 'SELECT period, orgunit,
indicator, sum, n FROM total'): the same cells, each sum within 1e-6 (relative) and n
equal.  Prints the first 20 differences and a last line "N cells compared (level 1: a,
level 2: b, …), M differences"; exits 0 iff there is none.
"""
import argparse
import csv
import os
import re
import sys
from collections import defaultdict

HALF = re.compile(r"^(\d{4})(?:S([12]))?$")      # a half-year, or a year
SHOW = 20


def die(msg):
    print("expected_tree: " + msg, file=sys.stderr)
    sys.exit(2)


def read_csv(path, required=True):
    if not os.path.exists(path):
        if required:
            die("%s: no such file" % path)
        return None
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def period_end(period):
    """The last day of a report's period: a half-year (2026S1) or a year (2026, where the
    programme reports once a year)."""
    m = HALF.match(period)
    if not m:
        die("%r is not a half-year or a year" % period)
    return "%s-%s" % (m.group(1), "06-30" if m.group(2) == "1" else "12-31")


def covers(row, day):
    return (not row["valid_from"] or row["valid_from"] <= day) and \
        (not row["valid_to"] or day <= row["valid_to"])


class Tree:
    def __init__(self, data):
        self.units = read_csv(os.path.join(data, "units.csv"))
        self.reporters = read_csv(os.path.join(data, "reporters.csv"), required=False)
        if self.reporters is None:
            self.reporters = [{"level": "2", "unit": "", "valid_from": "", "valid_to": ""}]
        self.cache = {}

    def on(self, day):
        """{code: unit row in force on day}, and the reporting codes that day."""
        if day not in self.cache:
            rows = {}
            for u in self.units:
                if covers(u, day):
                    if u["code"] in rows:
                        die("units.csv: two rows of %s in force on %s" % (u["code"], day))
                    rows[u["code"]] = u
            reps = [r for r in self.reporters if covers(r, day)]
            levels = {r["level"] for r in reps if r["level"]}
            codes = {r["unit"] for r in reps if r["unit"]}
            reporting = {c for c, u in rows.items() if u["level"] in levels or c in codes}
            self.cache[day] = (rows, reporting)
        return self.cache[day]

    def chain(self, code, day):
        """The unit and its ancestors in force on day, nearest first."""
        rows, _ = self.on(day)
        out = []
        while code:
            u = rows.get(code)
            if u is None:
                die("unit %s is not in force on %s (units.csv)" % (code, day))
            out.append(u)
            if len(out) > 9:
                die("units.csv: a cycle above %s on %s" % (out[0]["code"], day))
            code = u["parent_code"]
        return out


def report_files(args):
    for a in args:
        if os.path.isdir(a):
            for root, dirs, files in os.walk(a):
                dirs.sort()
                for f in sorted(files):
                    if f.endswith(".csv"):
                        yield os.path.join(root, f)
        else:
            yield a


def number(text, where):
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            die("%s: not a number: %r" % (where, text))


def expected(data, args):
    tree = Tree(data)
    vtype = {i["code"]: i["value_type"] for i in read_csv(os.path.join(data, "indicators.csv"))}
    reports = {}                    # (reporter, period) -> (path, rows)
    for path in report_files(args):
        rows = read_csv(path)
        periods = {r["period"] for r in rows}
        if len(periods) != 1:
            die("%s: expected one period, found %s" % (path, sorted(periods)))
        period = periods.pop()
        day = period_end(period)
        _, reporting = tree.on(day)
        found = set()
        for r in rows:
            rep = [u["code"] for u in tree.chain(r["orgunit"], day) if u["code"] in reporting]
            if len(rep) != 1:
                die("%s: unit %s has %d reporting units above it on %s" % (
                    path, r["orgunit"], len(rep), day))
            found.add(rep[0])
        if len(found) != 1:
            die("%s: units of several reporting units: %s" % (path, sorted(found)))
        reports[(found.pop(), period)] = (path, rows)

    cells = defaultdict(lambda: [0, 0])       # (period, orgunit, indicator) -> [sum, n]
    level = {}                                # (period, orgunit) -> level then
    up = set()                                # (period, orgunit): a reporting unit or above
    for (reporter, period), (path, rows) in sorted(reports.items()):
        up.update((period, u["code"]) for u in tree.chain(reporter, period_end(period)))
        day = period_end(period)
        for i, r in enumerate(rows, start=2):
            ind, value = r["indicator"], r["value"].strip()
            if ind not in vtype:
                die("%s:%d: unknown indicator %s" % (path, i, ind))
            if value == "":
                continue
            if vtype[ind] == "option":
                key, x = ind + "=" + value, 1
            else:
                key, x = ind, number(value, "%s:%d" % (path, i))
            for u in tree.chain(r["orgunit"], day):
                c = cells[(period, u["code"], key)]
                c[0] += x
                c[1] += 1
                level[(period, u["code"])] = int(u["level"])
    return cells, level, up


def fmt(x):
    if isinstance(x, int) or float(x).is_integer():
        return str(int(x))
    return ("%.6f" % x).rstrip("0").rstrip(".")


def compare(cells, level, path):
    actual = {}
    for i, r in enumerate(read_csv(path), start=2):
        key = (r["period"], r["orgunit"], r["indicator"])
        if key in actual:
            die("%s:%d: %s twice" % (path, i, ",".join(key)))
        actual[key] = (float(r["sum"]), int(float(r["n"])))
    diffs, per_level = [], defaultdict(int)
    for key in sorted(set(cells) | set(actual)):
        k = ",".join(key)
        if key not in actual:
            diffs.append("missing: %s expected sum %s n %d" % (k, fmt(cells[key][0]), cells[key][1]))
            continue
        if key not in cells:
            diffs.append("extra:   %s actual sum %s n %d" % (k, fmt(actual[key][0]), actual[key][1]))
            continue
        (es, en), (as_, an) = cells[key], actual[key]
        if abs(es - as_) > 1e-6 * max(1.0, abs(es)) or en != an:
            diffs.append("differ:  %s expected sum %s n %d, actual sum %s n %d"
                         % (k, fmt(es), en, fmt(as_), an))
        else:
            per_level[level[key[:2]]] += 1
    for d in diffs[:SHOW]:
        print(d)
    if len(diffs) > SHOW:
        print("... %d more" % (len(diffs) - SHOW))
    print("%d cells compared (%s), %d differences" % (
        len(set(cells) | set(actual)),
        ", ".join("level %d: %d" % (lv, n) for lv, n in sorted(per_level.items())), len(diffs)))
    return not diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--compare", metavar="ACTUAL")
    ap.add_argument("--above-reporters", action="store_true")
    ap.add_argument("reports", nargs="+")
    a = ap.parse_args()
    cells, level, up = expected(a.data, a.reports)
    if a.above_reporters:
        cells = {k: v for k, v in cells.items() if k[:2] in up}
    if a.compare:
        sys.exit(0 if compare(cells, level, a.compare) else 1)
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["period", "orgunit", "indicator", "sum", "n"])
    for key in sorted(cells):
        w.writerow([key[0], key[1], key[2], fmt(cells[key][0]), cells[key][1]])


if __name__ == "__main__":
    main()
