#!/usr/bin/env bash
# The style guide's mechanical rules (docs/STYLE.md), checked on every `make test`: no
# banned call (strcpy, sprintf, atoi, strtok, assert, …) and no #include of a .c file in
# lib/, services/, tools/, tests/ or fuzz/.
# The checker first proves on a planted file that it finds each kind of call and none in
# comments, strings or #include lines, so a green result is not an empty search.
set -u
cd "$(dirname "$0")/../.."
n=0
check() {     # check DESCRIPTION COMMAND...
    local d=$1; shift
    n=$((n + 1))
    if out=$("$@" 2>&1); then echo "ok $n - $d"; else echo "not ok $n - $d"; printf '%s\n' "$out" | head -20; fi
}
check "check-style.py finds the planted banned calls, and only those" \
    python3 scripts/check-style.py --self-test
check "no banned call, no included .c file in lib/, services/, tools/, tests/, fuzz/ ($(python3 scripts/check-style.py | tail -1))" \
    python3 scripts/check-style.py
