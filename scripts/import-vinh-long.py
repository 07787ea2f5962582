#!/usr/bin/env python3
"""import-vinh-long.py — builds the data folder of the new Vĩnh Long province (data/vinh_long/)
from the seed's tree and the 2025 reorganisation files.

Usage:  scripts/import-vinh-long.py SHARED_DATA_DIR [--seed data] [--out data/vinh_long]

SHARED_DATA_DIR holds vinh_long_2025_units.csv (code,name,type,parent_code,valid_from: the
province 86 and its 124 communes, from 1 July 2025) and vinh_long_2025_reorg.csv
(old_province,old_code,old_name,new_code,new_name,whole: each pre-reform commune → the
new one(s) that took it over).  The output is committed; this script says how it was made
(run once, by hand; a clone does not need the shared folder).

Writes into OUT:
  units.csv      the seed's Bến Tre tree (province 83, its districts and communes), each
                 row still open on 30 June 2025 ended that day (districts were abolished,
                 83 merged into 86), a commune that went WHOLE into one new commune of
                 another code marked merged_into it; then province 86 and its communes
                 (level 2, parent 86) from 1 July 2025.  A code may name two units: 28756
                 is a level-3 ward of 829 until 30 June 2025 and a level-2 ward of 86 after.
  reorg.csv      the reorganisation file as given, with the day it took effect (date)
  levels.csv, reporters.csv, programmes.csv are written by hand (see data/README.md).

Nine communes of the seed (2020) are not in the reorganisation file: they were merged in
the 2023–2025 round, whose dates and successors the data here do not give.  They end on
30 June 2025 like the others, with no successor; the script lists them.
Standard library only.
"""
import argparse
import csv
import os
import sys

REFORM_END, REFORM_START = "2025-06-30", "2025-07-01"


def read(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("shared")
    ap.add_argument("--seed", default="data")
    ap.add_argument("--out", default=os.path.join("data", "vinh_long"))
    a = ap.parse_args()
    seed = read(os.path.join(a.seed, "units.csv"))
    new = read(os.path.join(a.shared, "vinh_long_2025_units.csv"))
    reorg = read(os.path.join(a.shared, "vinh_long_2025_reorg.csv"))
    old_province = next(u["code"] for u in seed if u["level"] == "1")
    new_province = next(u["code"] for u in new if not u["parent_code"])
    dest = {}
    for r in reorg:
        if r["old_province"] == old_province:
            dest.setdefault(r["old_code"], []).append(r)
    cols = ["code", "name", "type", "level", "parent_code", "valid_from", "valid_to",
            "merged_into"]
    rows, unmapped = [], []
    for u in seed:
        u = dict(u)
        if not u["valid_to"]:
            u["valid_to"] = REFORM_END
            d = dest.get(u["code"], [])
            if u["level"] == "1":
                u["merged_into"] = new_province
            elif u["level"] == "3":
                if not d:
                    unmapped.append(u["code"] + " " + u["name"])
                elif len(d) == 1 and d[0]["whole"] == "yes" and d[0]["new_code"] != u["code"]:
                    u["merged_into"] = d[0]["new_code"]
        rows.append(u)
    for u in new:
        rows.append({"code": u["code"], "name": u["name"], "type": u["type"],
                     "level": "1" if not u["parent_code"] else "2",
                     "parent_code": u["parent_code"], "valid_from": u["valid_from"],
                     "valid_to": "", "merged_into": ""})
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "units.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(a.out, "reorg.csv"), "w", encoding="utf-8", newline="") as f:
        fields = list(reorg[0].keys()) + ["date"]
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for r in reorg:
            w.writerow(dict(r, date=REFORM_START))
    print("import-vinh-long: %d units, %d reorganisation rows; %d seed communes not in the "
          "reorganisation file: %s" % (len(rows), len(reorg), len(unmapped), ", ".join(unmapped)),
          file=sys.stderr)


if __name__ == "__main__":
    main()
