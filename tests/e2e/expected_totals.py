#!/usr/bin/env python3
"""expected_totals.py — the independent oracle of the end-to-end test.

Usage:  tests/e2e/expected_totals.py [--data DIR] FILE...

Reads district report files (long form CSV `period,orgunit,indicator,value`,
UTF-8 with or without BOM) and prints, without using any of the C code, the
aggregated values the pipeline should export, as CSV `period,orgunit,indicator,
value`: one row per (half-year, unit, indicator) for each district (orgunit = the
district code) and for the province (orgunit = 83).

  count, money, flag   summed over the communes; a district-level indicator is
                       taken as reported; the province sums the districts
  option               counted per option, as indicator `CODE=OPT` (an empty
                       option is not counted; options nobody chose give no row)
  score                the mean over the communes that have a value; the province
                       mean is over all its communes (not a mean of districts)

Numbers are printed as integers, scores with at most 2 decimals (%.2f without
trailing zeros).  A file's district is the district its units belong to
(data/units.csv); when several files have the same district and period,
the last one on the command line wins (a later revision).  Half-years only.
"""
import argparse
import csv
import os
import sys
from collections import defaultdict

PROVINCE = "83"


def die(msg):
    print("expected_totals: " + msg, file=sys.stderr)
    sys.exit(2)


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def number(text, where):
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        die("%s: not a number: %r" % (where, text))


def fmt(x):
    if isinstance(x, int):
        return str(x)
    s = "%.2f" % x
    return s.rstrip("0").rstrip(".") if "." in s else s


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "data"))
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()

    vtype = {r["code"]: r["value_type"] for r in read_csv(os.path.join(a.data, "indicators.csv"))}
    district_of = {}
    for u in read_csv(os.path.join(a.data, "units.csv")):
        if u["level"] == "2":
            district_of[u["code"]] = u["code"]
        elif u["level"] == "3":
            district_of[u["code"]] = u["parent_code"]

    # (district, period) -> rows of the last file given for it
    reports = {}
    for path in a.files:
        rows = read_csv(path)
        periods = {r["period"] for r in rows}
        districts = {district_of.get(r["orgunit"]) for r in rows}
        if len(periods) != 1 or len(districts) != 1 or None in districts:
            die("%s: expected one period and one district, found periods %s, districts %s"
                % (path, sorted(periods), sorted(str(d) for d in districts)))
        reports[(districts.pop(), periods.pop())] = (path, rows)

    total = defaultdict(int)    # (period, unit, indicator) -> sum or count
    n = defaultdict(int)        # (period, unit, indicator) -> number of scores
    for (district, period), (path, rows) in reports.items():
        for i, r in enumerate(rows, start=2):
            ind, value = r["indicator"], r["value"].strip()
            if ind not in vtype:
                die("%s:%d: unknown indicator %s" % (path, i, ind))
            t = vtype[ind]
            if t == "option":
                if value == "":
                    continue
                key, x = ind + "=" + value, 1
            elif t == "score":
                if value == "":
                    continue
                key, x = ind, number(value, "%s:%d" % (path, i))
            else:
                key, x = ind, number(value, "%s:%d" % (path, i))
            for unit in (district, PROVINCE):
                total[(period, unit, key)] += x
                if t == "score":
                    n[(period, unit, key)] += 1

    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["period", "orgunit", "indicator", "value"])
    for key in sorted(total):
        value = total[key] / n[key] if key in n else total[key]
        w.writerow([key[0], key[1], key[2], fmt(value)])


if __name__ == "__main__":
    main()
