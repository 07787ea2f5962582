#!/usr/bin/env python3
"""expected_totals.py — the independent oracle of the end-to-end test.

Usage:  tests/e2e/expected_totals.py [--data DIR] [--period P] FILE...

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
the last one on the command line wins (a later revision).

--period P (a year 2020 or a programme 2017-2020) prints instead the values rolled up
over the half-years of P that the files have (data/README.md, "time roll-up"), for
each district and the province, period = P:

  sum                  the half-year values added
  last                 the value of the latest half-year that has it (an option: the
                       latest half-year with any option of the indicator, its counts)
  max of a flag        at a unit above the flag's own level: the number of units of
                       that level below it whose flag was 1 in some half-year
  rates (targets.csv)  numerator / denominator × 100, 2 decimals, from the rolled-up
                       parts over the same half-years: both sums over the halves where
                       both are known, else both at the latest half where both are
                       known (a `sum` numerator: added up to it).  A rate whose
                       numerator is a `max` flag is expected_rates.py's.
"""
import argparse
import csv
import math
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
    ap.add_argument("--period", help="a year or a programme: values rolled up over it")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()

    inds = read_csv(os.path.join(a.data, "indicators.csv"))
    vtype = {r["code"]: r["value_type"] for r in inds}
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

    if a.period:
        return print_rolled(a, inds, reports, district_of, total, n)
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["period", "orgunit", "indicator", "value"])
    for key in sorted(total):
        value = total[key] / n[key] if key in n else total[key]
        w.writerow([key[0], key[1], key[2], fmt(value)])


def halves_of(period):
    parts = period.split("-")
    if not all(p.isdigit() and len(p) == 4 for p in parts) or len(parts) > 2:
        die("--period must be a year (2020) or a programme (2017-2020): %r" % period)
    y0, y1 = int(parts[0]), int(parts[-1])
    return ["%dS%d" % (y, h) for y in range(y0, y1 + 1) for h in (1, 2)]


def round2(x):
    """Half away from zero, as C's round(x * 100) / 100."""
    return math.floor(abs(x) * 100 + 0.5) / 100 * (1 if x >= 0 else -1)


def print_rolled(a, inds, reports, district_of, total, n):
    hs = halves_of(a.period)
    by_code = {r["code"]: r for r in inds}
    units = sorted({k[1] for k in total})
    # a half's value of (unit, key): the sum, or the mean of a score
    def half(h, u, key):
        k = (h, u, key)
        if k not in total:
            return None
        return total[k] / n[k] if k in n else total[k]
    # the flags at their own level: (half, unit of that level) -> value, from the files
    flag_unit = defaultdict(dict)           # (indicator) -> {(half, unit): value}
    for (district, period), (path, rows) in reports.items():
        for r in rows:
            ind = by_code.get(r["indicator"])
            if ind and ind["value_type"] == "flag" and ind["time_aggregation"] == "max" \
                    and r["value"].strip() != "":
                flag_unit[ind["code"]][(period, r["orgunit"])] = number(r["value"], path)
    out = {}
    for u in units:
        for ind in inds:
            code, t, agg = ind["code"], ind["value_type"], ind["time_aggregation"]
            if t == "option":
                keys = [code + "=" + o for o in ind["options"].split()]
                for h in reversed(hs):
                    if any((h, u, k) in total for k in keys):
                        for k in keys:
                            if (h, u, k) in total:
                                out[(u, k)] = total[(h, u, k)]
                        break
                continue
            vals = [(h, half(h, u, code)) for h in hs if half(h, u, code) is not None]
            if not vals:
                continue
            if agg == "sum":
                out[(u, code)] = sum(v for _, v in vals)
            elif agg == "last":
                out[(u, code)] = vals[-1][1]
            elif t == "flag" and u != unit_code_level(u, district_of, ind):
                ever = defaultdict(int)
                for (h, x), v in flag_unit[code].items():
                    if h in hs and (u == PROVINCE or district_of.get(x) == u):
                        ever[x] = max(ever[x], v)
                out[(u, code)] = sum(ever.values())
            else:
                out[(u, code)] = max(v for _, v in vals)
    for tg in read_csv(os.path.join(a.data, "targets.csv")):
        num, den = by_code.get(tg["numerator"]), by_code.get(tg["denominator"])
        if not num or not den or num["time_aggregation"] == "max":
            continue
        for u in units:
            both = [h for h in hs if half(h, u, num["code"]) is not None
                    and half(h, u, den["code"]) is not None]
            if not both:
                continue
            if num["time_aggregation"] == "sum" and den["time_aggregation"] == "sum":
                x = sum(half(h, u, num["code"]) for h in both)
                y = sum(half(h, u, den["code"]) for h in both)
            else:
                hstar = both[-1]
                y = half(hstar, u, den["code"])
                if num["time_aggregation"] == "sum":
                    x = sum(half(h, u, num["code"]) for h in hs[: hs.index(hstar) + 1]
                            if half(h, u, num["code"]) is not None)
                else:
                    x = half(hstar, u, num["code"])
            if y:
                out[(u, tg["code"])] = round2(x / y * 100.0)
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["period", "orgunit", "indicator", "value"])
    for (u, k) in sorted(out):
        w.writerow([a.period, u, k, fmt(out[(u, k)])])


def unit_code_level(u, district_of, ind):
    """u itself when u is a unit of the indicator's own level (a flag is then its max)."""
    level = "1" if u == PROVINCE else "2" if u in district_of.values() else "3"
    return u if level == ind["level"] else None


if __name__ == "__main__":
    main()
