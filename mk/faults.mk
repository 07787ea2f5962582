# mk/faults.mk — the fault suite (issue 4: crashes, a stalled stage, overload, network
# partitions, a full disk).  Included at the end of the Makefile.
#
#   make test-faults                  every tests/faults/*.sh script, long tier; last line
#                                     "N passed, N failed" (tests/faults/run-faults.sh)
#   make test-faults FAULTS=crash     one script (or several: FAULTS="crash stall")
#   make test-faults-short            the short tier alone (it also runs in `make test`,
#                                     as tests/e2e/test_faults_short.sh)

.PHONY: test-faults test-faults-short
test-faults: deps all
	@tests/faults/run-faults.sh long $(FAULTS)

test-faults-short: deps all
	@tests/faults/run-faults.sh short $(FAULTS)
