#!/usr/bin/env python3
"""expected_rates.py — the independent oracle for a rate over several half-years.

Usage:  tests/e2e/expected_rates.py [--data DIR] PERIOD FILE...

PERIOD is a year (2020) or a programme (2017-2020).  Reads district report files
(long form CSV `period,orgunit,indicator,value`; for a district and half-year the
last file given wins) and prints, without using any of the C code, the rate
TL.TTHTCD_HO_TRO of each district and of the province over PERIOD as CSV
`period,orgunit,indicator,value`, by its definition (data/README.md): of the
communes reported with a community learning centre (TTHTCD.CO = 1) in the latest
half-year of PERIOD, the share that were funded (TTHTCD.HO_TRO = 1) in some half-year
of PERIOD up to it.  Communes merged away before then are in neither part.  Rates
with 2 decimals at most; a unit with no centre has no row.
"""
import argparse
import csv
import os
import re
import sys
from collections import defaultdict


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def halves(period):
    m = re.fullmatch(r"(\d{4})(?:-(\d{4}))?", period)
    if not m:
        sys.exit("expected_rates: PERIOD is a year or a programme: %r" % period)
    y0 = int(m.group(1))
    y1 = int(m.group(2) or y0)
    return ["%dS%d" % (y, h) for y in range(y0, y1 + 1) for h in (1, 2)]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "data"))
    ap.add_argument("period")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    units = read_csv(os.path.join(a.data, "units.csv"))
    province = next(u["code"] for u in units if u["level"] == "1")
    district_of = {u["code"]: u["parent_code"] for u in units if u["level"] == "3"}
    hs = halves(a.period)

    reports = {}                                  # (district, half) -> rows
    for path in a.files:
        rows = read_csv(path)
        per = {r["period"] for r in rows}
        dis = {district_of[r["orgunit"]] for r in rows if r["orgunit"] in district_of}
        if len(per) != 1 or len(dis) != 1:
            sys.exit("expected_rates: %s: one period and one district expected" % path)
        reports[(dis.pop(), per.pop())] = rows
    value = {}                                    # (half, commune, indicator) -> number
    for (d, h), rows in reports.items():
        for r in rows:
            if r["orgunit"] in district_of and r["indicator"] in ("TTHTCD.CO", "TTHTCD.HO_TRO"):
                value[(h, r["orgunit"], r["indicator"])] = int(r["value"])

    num, den = defaultdict(int), defaultdict(int)
    for d in sorted({d for d, _ in reports}):
        known = [h for h in hs if (d, h) in reports]
        if not known:
            continue
        last = known[-1]
        for c, parent in district_of.items():
            if parent != d or value.get((last, c, "TTHTCD.CO")) is None:
                continue
            centre = value[(last, c, "TTHTCD.CO")] == 1
            funded = any(value.get((h, c, "TTHTCD.HO_TRO")) == 1
                         for h in hs[: hs.index(last) + 1])
            for unit in (d, province):
                den[unit] += centre
                num[unit] += centre and funded
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["period", "orgunit", "indicator", "value"])
    for unit in sorted(den):
        if den[unit]:
            s = "%.2f" % round(100.0 * num[unit] / den[unit] + 1e-9, 2)
            w.writerow([a.period, unit, "TL.TTHTCD_HO_TRO", s.rstrip("0").rstrip(".")])


if __name__ == "__main__":
    main()
