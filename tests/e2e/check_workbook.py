#!/usr/bin/env python3
"""check_workbook.py — reads kh-feed's workbook (issue 15) the way a test must: from the
XLSX's XML, with the standard library only.

Usage:  tests/e2e/check_workbook.py cells PERIOD XLSX        the summary sheet as CSV
        tests/e2e/check_workbook.py texts XLSX               every text of every sheet
        tests/e2e/check_workbook.py sheets XLSX              name<TAB>hidden, one a line
        tests/e2e/check_workbook.py units XLSX               the summary's unit codes
        tests/e2e/check_workbook.py print XLSX               each printed sheet's setup

cells:  the figures of the sheet "Tổng hợp" as CSV `period,orgunit,indicator,value`:
        the indicator of a row is in the (hidden) first column, the unit of a column in
        the (hidden) row whose first cell is "orgunit" above each block; rows without a
        code (a target, a gap) and cells without a number ("–") give no row.
texts:  the shared strings and inline strings, one a line.
units:  the unit codes of the summary's columns, in order, the root's last of each block.
print:  for each sheet that is not hidden: name, orientation, paper size, fitToWidth,
        the repeated rows, whether header and footer are set and the footer's text.
"""
import csv
import re
import sys
import zipfile
import xml.etree.ElementTree as ET

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def shared(z):
    if "xl/sharedStrings.xml" not in z.namelist():
        return []
    root = ET.fromstring(z.read("xl/sharedStrings.xml"))
    return ["".join(t.text or "" for t in si.iter("{%s}t" % NS["m"])) for si in root.findall("m:si", NS)]


def sheets(z):
    """[(name, hidden, path)] in workbook order."""
    wb = ET.fromstring(z.read("xl/workbook.xml"))
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels}
    out = []
    for s in wb.find("m:sheets", NS):
        path = target[s.get(REL)]
        path = path.lstrip("/") if path.startswith("/") else "xl/" + path
        out.append((s.get("name"), s.get("state") == "hidden", path))
    return out, wb


def col_index(ref):
    letters = re.match(r"[A-Z]+", ref).group(0)
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def grid(z, path, strings):
    """{row: {col: value}} with numbers as float, texts as str."""
    root = ET.fromstring(z.read(path))
    out = {}
    for row in root.iter("{%s}row" % NS["m"]):
        r = int(row.get("r"))
        for c in row.findall("m:c", NS):
            v = c.find("m:v", NS)
            t = c.get("t")
            if t == "inlineStr":
                val = "".join(x.text or "" for x in c.iter("{%s}t" % NS["m"]))
            elif v is None:
                continue
            elif t == "s":
                val = strings[int(v.text)]
            elif t == "str":
                val = v.text or ""
            else:
                val = float(v.text)
            out.setdefault(r, {})[col_index(c.get("r"))] = val
    return out


def summary_grid(z):
    strings = shared(z)
    for name, hidden, path in sheets(z)[0]:
        if name == "Tổng hợp":
            return grid(z, path, strings)
    sys.exit("no sheet named Tổng hợp")


def cells(period, xlsx):
    z = zipfile.ZipFile(xlsx)
    g = summary_grid(z)
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["period", "orgunit", "indicator", "value"])
    units = {}
    for r in sorted(g):
        row = g[r]
        if row.get(0) == "orgunit":
            units = {c: v for c, v in row.items() if c > 0}
            continue
        code = row.get(0)
        if not isinstance(code, str) or code in ("", "indicator") or not units:
            continue
        for c, org in units.items():
            v = row.get(c)
            if isinstance(v, float):
                w.writerow([period, org, code, ("%d" % v) if v == int(v) else ("%.2f" % v)])


def texts(xlsx):
    z = zipfile.ZipFile(xlsx)
    for s in shared(z):
        print(s)
    for name in z.namelist():
        if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name):
            for t in ET.fromstring(z.read(name)).iter("{%s}is" % NS["m"]):
                print("".join(x.text or "" for x in t.iter("{%s}t" % NS["m"])))


def units_of(xlsx):
    z = zipfile.ZipFile(xlsx)
    g = summary_grid(z)
    for r in sorted(g):
        if g[r].get(0) == "orgunit":
            for c in sorted(k for k in g[r] if k > 0):
                print(g[r][c])


def list_sheets(xlsx):
    z = zipfile.ZipFile(xlsx)
    for name, hidden, path in sheets(z)[0]:
        print("%s\t%s" % (name, "hidden" if hidden else "shown"))


def print_setup(xlsx):
    z = zipfile.ZipFile(xlsx)
    all_sheets, wb = sheets(z)
    names = {}
    dn = wb.find("m:definedNames", NS)
    for d in (dn if dn is not None else []):
        if d.get("name") == "_xlnm.Print_Titles":
            names[int(d.get("localSheetId"))] = d.text
    for i, (name, hidden, path) in enumerate(all_sheets):
        if hidden:
            continue
        root = ET.fromstring(z.read(path))
        ps = root.find("m:pageSetup", NS)
        pr = root.find("m:sheetPr/m:pageSetUpPr", NS)
        hf = root.find("m:headerFooter", NS)
        footer = hf.find("m:oddFooter", NS).text if hf is not None and hf.find("m:oddFooter", NS) is not None else ""
        header = hf.find("m:oddHeader", NS).text if hf is not None and hf.find("m:oddHeader", NS) is not None else ""
        print("\t".join([name, ps.get("orientation", "") if ps is not None else "",
                         ps.get("paperSize", "") if ps is not None else "",
                         "fit" if pr is not None and pr.get("fitToPage") == "1" else "nofit",
                         ps.get("fitToWidth", "1") if ps is not None else "",
                         names.get(i, ""), "header" if header else "noheader", footer or ""]))


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "cells":
        cells(a[1], a[2])
    elif len(a) == 2 and a[0] == "texts":
        texts(a[1])
    elif len(a) == 2 and a[0] == "units":
        units_of(a[1])
    elif len(a) == 2 and a[0] == "sheets":
        list_sheets(a[1])
    elif len(a) == 2 and a[0] == "print":
        print_setup(a[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
