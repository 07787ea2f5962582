#!/usr/bin/env python3
"""gen-tree.py — a complete catalogue folder for a unit tree the programs have never seen.

Usage:  scripts/gen-tree.py OUTDIR --shape four-level|flat-300 [--seed N] [--from DIR]

Writes OUTDIR/units.csv, levels.csv, reporters.csv, indicators.csv, rules.csv,
targets.csv (and programmes.csv: flat-300) and a README.md: a data folder ([general] data_dir) for testing a
deployment whose tree, levels and reporting units are not the Bến Tre seed's
(issue 12, "the reporting model is data").  Unit codes are invented (letters and
digits, never official codes); the indicators, rules and targets are copied from the
seed's folder (--from, default data/) with their levels renumbered.

  four-level  a province (Z9) of 3 regions (level 2, "Vùng"), each of 3 or 4
              districts (level 3, "Quận"), each of 4 to 8 wards (level 4, "Phường");
              the districts report for their wards (reporters.csv: level 3).
              Indicators at levels 3 and 4: a subset of the seed's, its level 2
              (district) becoming 3 and its level 3 (commune) becoming 4; the rules
              and targets on them.  On 2026-01-01 the tree changes: the last ward of
              the first district is merged into the district's first ward, the last
              ward of the second district moves to the third district, and a new ward
              opens in the last district (so 2025S2 and 2026S1 differ).
  flat-300    a province (F7) of 300 communes (level 2) that report for themselves
              (reporters.csv: level 2), once a year (programmes.csv: one programme,
              2021-2030, report_period year); the seed's commune indicators at level
              2, its district indicators and their rules left out.

--seed N (default 1) varies the number of districts and wards of four-level.  The same
arguments give the same files.  Standard library only.
"""
import argparse
import csv
import os
import random
import sys

CHANGE_DAY = "2026-01-01"          # four-level: the day the tree changes
BEFORE_CHANGE = "2025-12-31"

# four-level: the seed's indicators kept (seed level 2 -> 3, seed level 3 -> 4)
FOUR_LEVEL_INDICATORS = {
    "TT.TIN_BAI", "TT.HOI_NGHI", "TT.TUAN_LE", "TT.NGAY_SACH", "CS.KIEM_TRA",
    "TH.TO_CHUC_KH", "TH.DVHT",
    "TTHTCD.CO", "TTHTCD.HO_TRO", "TTHTCD.KINH_PHI", "TTHTCD.XEP_LOAI", "HO.TONG",
    "GDHT.DANG_KY", "GDHT.CONG_NHAN", "DH.TONG", "DHHT.DANG_KY", "DHHT.CONG_NHAN",
    "CDX.DIEM", "CDX.XEP_LOAI", "DS.TONG", "HKH.HOI_VIEN", "HKH.HOI_VIEN_MOI",
    "QUY.VAN_DONG", "QUY.CHI",
}


def die(msg):
    print("gen-tree: " + msg, file=sys.stderr)
    sys.exit(1)


def read(src, name):
    path = os.path.join(src, name)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            r = csv.DictReader(f)
            return r.fieldnames, list(r)
    except OSError as e:
        die("%s: %s" % (path, e.strerror))


def write(outdir, name, header, rows):
    with open(os.path.join(outdir, name), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(h, "") for h in header] if isinstance(r, dict) else r)


def rule_indicators(text, codes):
    """The indicator codes a rule text names (identifiers with a dot)."""
    out, word = set(), ""
    for ch in text + " ":
        if ch.isalnum() or ch in "_.":
            word += ch
        else:
            if "." in word and not word[0].isdigit():
                out.add(word)
            word = ""
    return out


def catalogue(src, keep, relevel):
    """The seed's indicators, rules and targets restricted to `keep` (a function of an
    indicator row), levels renumbered by `relevel` (seed level -> new level)."""
    ih, inds = read(src, "indicators.csv")
    inds = [dict(i, level=str(relevel[i["level"]])) for i in inds
            if i["level"] in relevel and keep(i)]
    codes = {i["code"] for i in inds}
    rh, rules = read(src, "rules.csv")
    kept_rules = []
    for r in rules:
        names = rule_indicators(r["rule"], codes)
        if r["level"] in relevel and names and names <= codes:
            kept_rules.append(dict(r, level=str(relevel[r["level"]])))
    th, targets = read(src, "targets.csv")
    targets = [t for t in targets if t["numerator"] in codes and t["denominator"] in codes]
    return (ih, inds), (rh, kept_rules), (th, targets)


UNIT_HEADER = ["code", "name", "type", "level", "parent_code", "valid_from", "valid_to",
               "merged_into"]
LEVEL_HEADER = ["level", "name_vi", "name_en", "valid_from", "valid_to"]
REPORTER_HEADER = ["level", "unit", "valid_from", "valid_to", "note"]
PROGRAMME_HEADER = ["code", "name_vi", "name_en", "valid_from", "valid_to", "folder", "source",
                    "s1_due", "s2_due", "report_period"]


def unit(code, name, type_, level, parent, valid_from="", valid_to="", merged_into=""):
    return [code, name, type_, str(level), parent, valid_from, valid_to, merged_into]


def four_level(seed):
    r = random.Random("gen-tree/four-level/%s" % seed)
    units = [unit("Z9", "Tỉnh Thử Nghiệm", "tinh", 1, "")]
    regions = ["Bắc", "Trung", "Nam"]
    districts = []                       # (code, [ward codes])
    qn = 0
    for ri, rname in enumerate(regions, start=1):
        rcode = "Z9V%d" % ri
        units.append(unit(rcode, "Vùng %s" % rname, "vung", 2, "Z9"))
        for di in range(1, r.randint(3, 4) + 1):
            qn += 1
            dcode = "%sQ%d" % (rcode, di)
            districts.append((dcode, []))
            units.append(unit(dcode, "Quận %d" % qn, "quan", 3, rcode))
            for wi in range(1, r.randint(4, 8) + 1):
                wcode = "%sP%02d" % (dcode, wi)
                districts[-1][1].append(wcode)
                units.append(unit(wcode, "Phường %d" % wi, "phuong", 4, dcode))
    # the changes of CHANGE_DAY
    by_code = {u[0]: u for u in units}
    d1, d2, d3, dl = districts[0], districts[1], districts[2], districts[-1]
    merged = by_code[d1[1][-1]]
    merged[6], merged[7] = BEFORE_CHANGE, d1[1][0]
    moved = by_code[d2[1][-1]]
    moved[6] = BEFORE_CHANGE
    after = unit(moved[0], moved[1] + " (chuyển về %s)" % by_code[d3[0]][1], "phuong", 4, d3[0],
                 CHANGE_DAY)
    units.insert(units.index(moved) + 1, after)
    new_code = "%sP%02d" % (dl[0], len(dl[1]) + 1)
    units.append(unit(new_code, "Phường %d (mới)" % (len(dl[1]) + 1), "phuong", 4, dl[0],
                      CHANGE_DAY))
    levels = [["1", "Tỉnh", "Province", "", ""],
              ["2", "Vùng", "Region", "", ""],
              ["3", "Quận", "Urban district", "", ""],
              ["4", "Phường", "Ward", "", ""]]
    reporters = [["3", "", "", "", "Các quận báo cáo cho các phường của mình / the urban "
                  "districts report for their wards"]]
    cat = catalogue(SRC, lambda i: i["code"] in FOUR_LEVEL_INDICATORS, {"2": 3, "3": 4})
    readme = """# A generated catalogue: four levels (scripts/gen-tree.py --shape four-level --seed %s)

Invented codes, not official ones.  Level 1: the province Z9 (Tỉnh Thử Nghiệm); level 2:
3 regions (Vùng, Z9V1…); level 3: %d urban districts (Quận, Z9V1Q1…), which report for
their wards (reporters.csv: level 3); level 4: the wards (Phường, Z9V1Q1P01…).

On %s: ward %s is merged into %s; ward %s moves from %s to %s; ward %s opens in %s.

Indicators, rules and targets: a subset of the Bến Tre seed's (data/), its level 2
(district) renumbered 3 and its level 3 (commune) renumbered 4.
""" % (seed, len(districts), CHANGE_DAY, merged[0], d1[1][0], moved[0], d2[0], d3[0],
       new_code, dl[0])
    return units, levels, reporters, cat, readme


def flat_300(seed):
    units = [unit("F7", "Tỉnh Đồng Bằng Thử Nghiệm", "tinh", 1, "")]
    for k in range(1, 301):
        units.append(unit("F7X%03d" % k, "Xã %d" % k, "xa", 2, "F7"))
    levels = [["1", "Tỉnh", "Province", "", ""],
              ["2", "Xã/Phường", "Commune/Ward", "", ""]]
    reporters = [["2", "", "", "", "Mỗi xã tự báo cáo / each commune reports for itself"]]
    cat = catalogue(SRC, lambda i: True, {"3": 2})
    programmes = [["2021-2030", "Chương trình thử nghiệm (báo cáo năm)",
                   "Test programme (yearly reports)", "2021-01-01", "2030-12-31", ".",
                   "scripts/gen-tree.py", "", "1205", "year"]]
    readme = """# A generated catalogue: two levels (scripts/gen-tree.py --shape flat-300)

Invented codes, not official ones.  Level 1: the province F7; level 2: 300 communes
(F7X001 … F7X300), each reporting for itself (reporters.csv: level 2).

One programme, 2021–2030, reported once a year (programmes.csv: report_period
`year`, due on 5 December): a report's period is the year (2026), and it holds
every indicator of the level, whatever its `periods` column says.

Indicators, rules and targets: the Bến Tre seed's commune indicators (its level 3)
at level 2; its district indicators, and the rules on them, are left out.
"""
    return units, levels, reporters, cat, readme, programmes


SRC = None


def main():
    global SRC
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Write a catalogue folder for a generated tree.")
    ap.add_argument("outdir")
    ap.add_argument("--shape", required=True, choices=("four-level", "flat-300"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--from", dest="src", default=os.path.join(here, "..", "data"),
                    help="the seed's catalogue folder, for indicators, rules and targets "
                    "(default: data/)")
    a = ap.parse_args()
    SRC = a.src
    if a.shape == "four-level":
        (units, levels, reporters, cat, readme), programmes = four_level(a.seed), None
    else:
        units, levels, reporters, cat, readme, programmes = flat_300(a.seed)
    (ih, inds), (rh, rules), (th, targets) = cat
    if not inds:
        die("no indicator of %s/indicators.csv is kept" % a.src)
    os.makedirs(a.outdir, exist_ok=True)
    write(a.outdir, "units.csv", UNIT_HEADER, units)
    write(a.outdir, "levels.csv", LEVEL_HEADER, levels)
    write(a.outdir, "reporters.csv", REPORTER_HEADER, reporters)
    write(a.outdir, "indicators.csv", ih, inds)
    write(a.outdir, "rules.csv", rh, rules)
    write(a.outdir, "targets.csv", th, targets)
    if programmes:
        write(a.outdir, "programmes.csv", PROGRAMME_HEADER, programmes)
    with open(os.path.join(a.outdir, "README.md"), "w", encoding="utf-8") as f:
        f.write(readme)
    print("%s: %d unit rows, %d indicators, %d rules, %d targets in %s"
          % (a.shape, len(units), len(inds), len(rules), len(targets), a.outdir),
          file=sys.stderr)


if __name__ == "__main__":
    main()
