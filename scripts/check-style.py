#!/usr/bin/env python3
"""check-style.py — the banned calls of docs/STYLE.md, found in the C sources.

Usage:  scripts/check-style.py [PATH...]      (default: lib services tools tests fuzz)
        scripts/check-style.py --self-test

Reads every .c and .h file under PATH, with comments, string literals and character
literals blanked (so "strcpy" in a comment or a message is no hit), and reports each call
of a banned function as FILE:LINE: NAME — what to use instead.  Exit code 1 when it finds
one, 0 otherwise.  Also reported: an #include of a .c file (a module is linked, never
included: the Makefile's MOD_<test> lists what a unit test links).  --self-test writes a planted file with each banned call, in code and in
comments and strings, and checks that exactly the calls in code are found.
Standard library only.
"""
import os
import re
import sys
import tempfile

# name -> what to use instead
BANNED = {
    "strcpy": "kh_strlcpy or snprintf(dst, sizeof dst, \"%s\", src): a bound",
    "strcat": "kh_strlcpy at the end, or snprintf with an offset",
    "strncpy": "kh_strlcpy (strncpy leaves no NUL when it cuts)",
    "strncat": "kh_strlcpy at the end",
    "sprintf": "snprintf with the buffer's size",
    "vsprintf": "vsnprintf with the buffer's size",
    "gets": "fgets",
    "atoi": "strtol with an end pointer and a range check (kh_config_long for options)",
    "atol": "strtol with an end pointer and a range check",
    "atoll": "strtoll with an end pointer and a range check",
    "atof": "strtod with an end pointer",
    "strtok": "strtok_r, or a loop over strchr",
    "tmpnam": "mkstemp",
    "mktemp": "mkstemp",
    "alloca": "a bounded array, or malloc",
    "assert": "a returned error: outside input is counted and refused, never asserted",
    "#include .c": "link the module (a unit test: MOD_<test> in the Makefile)",
}
INCLUDE_C = re.compile(r'^\s*#\s*include\s*["<][^">]*\.c[">]')
CALL = re.compile(r"(?<![\w.>])(" + "|".join(sorted(BANNED, key=len, reverse=True)) +
                  r")\s*\(")


def blank(text):
    """The text with comments and string/char literals replaced by spaces (newlines
    kept, so line numbers hold)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def check_file(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    hits = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if INCLUDE_C.match(line):
            hits.append((path, lineno, "#include .c"))
    for lineno, line in enumerate(blank(text).split("\n"), 1):
        if line.lstrip().startswith("#"):
            continue                 # a preprocessor line: #include <assert.h> is no call
        for m in CALL.finditer(line):
            hits.append((path, lineno, m.group(1)))
    return hits


def sources(paths):
    for p in paths:
        if os.path.isfile(p):
            yield p
            continue
        for root, dirs, files in os.walk(p):
            dirs.sort()
            for name in sorted(files):
                if name.endswith((".c", ".h")) and not name.endswith(".pb-c.c") \
                        and not name.endswith(".pb-c.h"):
                    yield os.path.join(root, name)


def run(paths):
    hits = [h for p in sources(paths) for h in check_file(p)]
    for path, lineno, name in hits:
        print("%s:%d: %s — %s" % (path, lineno, name, BANNED[name]))
    return hits


PLANTED = """/* strcpy(a, b) in a comment is no call; nor is sprintf( */
// atoi(s) in a line comment
#include <assert.h>
#include "../services/collector/conns.c"
static const char *msg = "use strcat(x) never; gets(y)";
static char c = '(';
int f(char *d, const char *s, const char *n)
{
    strcpy(d, s);
    strcat (d, s);
    sprintf(d, "%s", s);
    int k = atoi(n) + (int)atof(n);
    char *t = strtok(d, ",");
    assert(k > 0);
    my_strcpy(d, s);        /* another function: no hit */
    x.strcpy(d);            /* a member: no hit */
    return t != 0;
}
"""


def self_test():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "planted.c")
        with open(path, "w", encoding="utf-8") as f:
            f.write(PLANTED)
        got = sorted((line, name) for _, line, name in check_file(path))
    want = [(4, "#include .c"), (9, "strcpy"), (10, "strcat"), (11, "sprintf"), (12, "atof"),
            (12, "atoi"), (13, "strtok"), (14, "assert")]
    if got != want:
        print("self-test failed: found %s, expected %s" % (got, want))
        return 1
    print("self-test: the %d planted calls found, none in comments, strings or "
          "#include" % len(want))
    return 0


def main():
    args = sys.argv[1:]
    if args == ["--self-test"]:
        return self_test()
    if any(a.startswith("-") for a in args):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    paths = args or [os.path.join(here, p) for p in ("lib", "services", "tools", "tests", "fuzz")]
    hits = run(paths)
    n_files = sum(1 for _ in sources(paths))
    print("%d banned call(s) in %d files" % (len(hits), n_files))
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
