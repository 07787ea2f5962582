#!/usr/bin/env bash
# The short tier of the fault suite inside `make test`: every fault script of
# tests/faults/ (crashes, a stalled stage, overload, network partitions, a full disk)
# with `short`, through tests/faults/run-faults.sh, whose check lines tests/run-all.sh
# counts.  The long tier: `make test-faults`.
cd "$(dirname "$0")/../.." || exit 1
exec bash tests/faults/run-faults.sh short
