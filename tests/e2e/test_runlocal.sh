#!/usr/bin/env bash
# scripts/run-local restart waits for the NEW process's service.ready line, not for one
# an earlier run of the same service left in its (appended) log.  Regression test: the
# collector is made to start slowly (a wrapper sleeps 1 s before exec), so a restart that
# returned on the old ready line would come back before the new collector is ready.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test runlocal
slow=$RUN/slow-bin
mkdir -p "$slow"
for b in "$BIN"/kh-*; do ln -s "$b" "$slow/"; done
rm "$slow/kh-collector"
printf '#!/bin/sh\nsleep 1\nexec "%s" "$@"\n' "$BIN/kh-collector" >"$slow/kh-collector"
chmod +x "$slow/kh-collector"
export KH_BIN=$slow
ready() { grep -c '"event":"service.ready"' "$RUN/logs/collector.log"; }
pipeline start 829 >/dev/null || exit 1
check_eq "first start: one ready line" 1 "$(ready)"
for n in 2 3; do
    pipeline kill collector
    pipeline restart collector >/dev/null
    check_eq "restart $((n - 1)) returns once the new collector is ready (ready line $n)" \
        "$n" "$(ready)"
done
check "the restarted collector runs" all_alive
pipeline stop >/dev/null
