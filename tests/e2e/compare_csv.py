#!/usr/bin/env python3
"""compare_csv.py — compare the pipeline's export with the oracle's expected values.

Usage:  tests/e2e/compare_csv.py [--data DIR] EXPECTED ACTUAL

Both files are CSV `period,orgunit,indicator,value` (UTF-8, BOM allowed), compared
as sets of rows keyed by (period, orgunit, indicator).  Values: when the expected
value is an integer it must be matched exactly (an ACTUAL "1234.0" matches "1234"),
except for score indicators (data/indicators.csv), whose mean may happen to be whole;
other numbers match within 0.005 absolute or relative; anything else as text.

Ignored in ACTUAL (the oracle does not compute them): indicators starting with
`TL.` or `COMPLETENESS.`, rows of commune-level units (data/units.csv) and
rows whose period is not a half-year (year and programme roll-ups).  An option
count (`CODE=OPT`) of 0 on one side matches a missing row on the other.

Prints the first 20 differences and a last line "N rows compared, M differences";
exits 0 iff there is no difference.
"""
import argparse
import csv
import os
import re
import sys
from decimal import Decimal, InvalidOperation

HALF = re.compile(r"^\d{4}S[12]$")
SHOW = 20


def read(path, skip):
    rows, dups = {}, []
    with open(path, encoding="utf-8-sig", newline="") as f:
        r = csv.reader(f)
        header = next(r, None)
        if header != ["period", "orgunit", "indicator", "value"]:
            sys.exit("compare_csv: %s: bad header %r" % (path, header))
        for line, row in enumerate(r, start=2):
            if not row:
                continue
            if len(row) != 4:
                sys.exit("compare_csv: %s:%d: expected 4 fields, got %d" % (path, line, len(row)))
            key = tuple(row[:3])
            if skip(key):
                continue
            if key in rows:
                dups.append("duplicate in %s: %s" % (os.path.basename(path), ",".join(row)))
            rows[key] = row[3]
    return rows, dups


def dec(text):
    try:
        d = Decimal(text.strip())
        return d if d.is_finite() else None
    except InvalidOperation:
        return None


def same(expected, actual, exact_ok=True):
    e, a = dec(expected), dec(actual)
    if e is None or a is None:
        return expected == actual
    if exact_ok and e == e.to_integral_value() and "." not in expected and "e" not in expected.lower():
        return a == e
    diff = abs(e - a)
    return diff <= Decimal("0.005") or diff <= Decimal("0.005") * max(abs(e), abs(a))


def is_zero_option(key, value):
    return "=" in key[2] and dec(value) == 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Compare expected and actual aggregate CSV files.")
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "data"))
    ap.add_argument("expected")
    ap.add_argument("actual")
    a = ap.parse_args()

    with open(os.path.join(a.data, "units.csv"), encoding="utf-8-sig", newline="") as f:
        communes = {u["code"] for u in csv.DictReader(f) if u["level"] == "3"}
    with open(os.path.join(a.data, "indicators.csv"), encoding="utf-8-sig", newline="") as f:
        scores = {i["code"] for i in csv.DictReader(f) if i["value_type"] == "score"}

    def skip_actual(key):
        period, orgunit, indicator = key
        return (indicator.startswith("TL.") or indicator.startswith("COMPLETENESS.")
                or orgunit in communes or not HALF.match(period))

    exp, dups_e = read(a.expected, lambda key: False)
    act, dups_a = read(a.actual, skip_actual)

    diffs = dups_e + dups_a
    keys = sorted(set(exp) | set(act))
    for key in keys:
        k = ",".join(key)
        if key not in act:
            if not is_zero_option(key, exp[key]):
                diffs.append("missing: %s expected %s" % (k, exp[key]))
        elif key not in exp:
            if not is_zero_option(key, act[key]):
                diffs.append("extra:   %s actual %s" % (k, act[key]))
        elif not same(exp[key], act[key], key[2] not in scores):
            diffs.append("differ:  %s expected %s actual %s" % (k, exp[key], act[key]))

    for d in diffs[:SHOW]:
        print(d)
    if len(diffs) > SHOW:
        print("... %d more" % (len(diffs) - SHOW))
    print("%d rows compared, %d differences" % (len(keys), len(diffs)))
    sys.exit(0 if not diffs else 1)


if __name__ == "__main__":
    main()
