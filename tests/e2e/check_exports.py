#!/usr/bin/env python3
"""check_exports.py — kh-feed's half-year exports against the oracle, both ways.

Usage:  tests/e2e/check_exports.py --data DIR ORACLE.csv EXPORT.csv

ORACLE.csv is expected_tree.py's output (period,orgunit,indicator,sum,n: every unit of
every level, from the report files alone); EXPORT.csv is what `kh-feed export --period P
--level N --format csv` wrote for the half-years and levels compared
(period,orgunit,indicator,value).  A count, money or flag is exported as its sum, an
option count ("CODE=OPT") as its sum, a score as sum / n rounded to 2 decimals.  Rates
(TL.*) and completeness rows are left to other checks.  Every oracle cell of an exported
(period, unit) must be in the export with that value, and every exported value must be an
oracle cell.  Prints one line per difference (at most 20) and a summary; exit 1 on any.
Standard library only.
"""
import argparse
import csv
import os
import sys
from decimal import ROUND_HALF_UP, Decimal


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("oracle")
    ap.add_argument("export")
    a = ap.parse_args()
    with open(os.path.join(a.data, "indicators.csv"), encoding="utf-8-sig") as f:
        vtype = {r["code"]: r["value_type"] for r in csv.DictReader(f)}
    want = {}
    with open(a.oracle, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            code = r["indicator"].split("=")[0]
            s, n = float(r["sum"]), int(r["n"])
            if n == 0:
                continue
            # a score's average, rounded half away from zero as the exports do (73.125 →
            # 73.13; Python's round() would give 73.12)
            v = (float(Decimal(repr(s / n)).quantize(Decimal("0.01"), ROUND_HALF_UP))
                 if vtype.get(code) == "score" else s)
            want[(r["period"], r["orgunit"], r["indicator"])] = v
    got, units = {}, set()
    with open(a.export, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["period"] == "period" or r["indicator"].startswith(("TL.", "COMPLETENESS.")):
                continue
            got[(r["period"], r["orgunit"], r["indicator"])] = float(r["value"])
            units.add((r["period"], r["orgunit"]))
    bad = []
    for k, v in want.items():
        if (k[0], k[1]) not in units:
            continue                      # a unit of a level not exported
        if k not in got:
            bad.append("missing from the export: %s %s %s (oracle %s)" % (k + (v,)))
        elif abs(got[k] - v) > 0.005:
            bad.append("%s %s %s: exported %s, oracle %s" % (k + (got[k], v)))
    for k in got:
        if k not in want:
            bad.append("exported but not in the oracle: %s %s %s" % k)
    for b in bad[:20]:
        print(b)
    print("%d values of %d units compared, %d differences" % (len(got), len(units), len(bad)))
    return 1 if bad or not got else 0


if __name__ == "__main__":
    sys.exit(main())
