#!/usr/bin/env python3
"""check_literals.py — the code names no level, no province and no unit (issue 12).

Usage:  tests/e2e/check_literals.py [--data DIR] PATH...

The unit tree, the level names and who reports are data (data/units.csv, levels.csv,
reporters.csv); the programs must work for any province and any tree.  This reads every
.c and .h file under the PATHs (lib/, services/, tools/), drops the comments, and
reports, with file and line:

  identifier  KH_LEVEL_… or MAX_DISTRICTS (the old fixed levels)
  comparison  a level compared with a number other than 1 (`level == 2`, `3 != u->level`);
              level 1 is the root by definition of the numbering, so `level == 1` is
              allowed
  word        a string literal holding the name of a level below the province, in
              Vietnamese (huyện, quận, thị xã, thành phố, xã, phường, thị trấn, đặc
              khu; "xã hội", society, is not a level) or the name of a province of the
              data (Bến Tre, Vĩnh Long, Trà Vinh)
  code        a string literal or a number that is the code of a unit of DIR/units.csv
              (the province 83, the districts 829–838, any commune code)

Prints one line per finding and "N findings"; exits 1 when there is any.
Standard library only.
"""
import argparse
import csv
import os
import re
import sys

LEVEL_WORDS = ["huyện", "quận", "thị xã", "thành phố", "phường", "thị trấn", "đặc khu"]
PROVINCES = ["bến tre", "vĩnh long", "trà vinh"]
IDENT = re.compile(r"\bKH_LEVEL_\w+|\bMAX_DISTRICTS\b")
COMPARE = re.compile(r"\blevel\s*[!=]=\s*([2-9])\b|\b([2-9])\s*[!=]=\s*[\w>.-]*level\b")
XA = re.compile(r"(?<![\w])xã(?! hội)(?![\w])")
NUMBER = re.compile(r"(?<![\w.])(\d{2,})(?![\w.])")


def strip_comments(text):
    """Returns (code, strings): the text with comments blanked (newlines kept, so line
    numbers hold) and the list of (line, literal) of its string literals."""
    out, strings = [], []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            chunk = text[i:j]
            out.append("\n" * chunk.count("\n"))
            line += chunk.count("\n")
            i = j
            continue
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            lit = text[i:j + 1]
            if c == '"':
                strings.append((line, lit[1:-1]))
            out.append(c + " " * 0 + c)       # the literal's text is checked apart
            line += lit.count("\n")
            out.append("\n" * lit.count("\n"))
            i = j + 1
            continue
        if c == "\n":
            line += 1
        out.append(c)
        i += 1
    return "".join(out), strings


def unit_codes(data):
    path = os.path.join(data, "units.csv")
    with open(path, encoding="utf-8-sig", newline="") as f:
        return {u["code"] for u in csv.DictReader(f) if len(u["code"]) >= 2}


def check_file(path, codes, findings):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    code, strings = strip_comments(text)
    for no, ln in enumerate(code.split("\n"), 1):
        for m in IDENT.finditer(ln):
            findings.append("%s:%d: identifier %s" % (path, no, m.group(0)))
        for m in COMPARE.finditer(ln):
            findings.append("%s:%d: comparison with a level number: %s" % (path, no, m.group(0)))
        if not ln.lstrip().startswith("#"):
            for m in NUMBER.finditer(ln):
                if m.group(1) in codes and len(m.group(1)) >= 3:
                    findings.append("%s:%d: code %s (a unit of units.csv)" % (path, no, m.group(1)))
    for no, lit in strings:
        low = lit.lower()
        for w in LEVEL_WORDS:
            if w in low:
                findings.append("%s:%d: word \"%s\" names a level: \"%s\"" % (path, no, w, lit[:80]))
        if XA.search(low):
            findings.append("%s:%d: word \"xã\" names a level: \"%s\"" % (path, no, lit[:80]))
        for p in PROVINCES:
            if p in low:
                findings.append("%s:%d: province name \"%s\": \"%s\"" % (path, no, p, lit[:80]))
        for tok in re.findall(r"(?<![\w.%])\d{2,}(?![\w.])", lit):
            if tok in codes:
                findings.append("%s:%d: code %s (a unit of units.csv) in \"%s\"" %
                                (path, no, tok, lit[:80]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="data")
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    codes = unit_codes(a.data)
    findings = []
    files = 0
    for top in a.paths:
        for root, _, names in os.walk(top):
            for name in sorted(names):
                if name.endswith((".c", ".h")):
                    files += 1
                    check_file(os.path.join(root, name), codes, findings)
    for f in findings:
        print(f)
    print("%d findings in %d files" % (len(findings), files))
    return 1 if findings or files == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
