# mk/bench.mk — `make bench` (issue 6, part 4): the whole pipeline on this machine under
# load from build/tests/bench/kh-bench (tests/bench/kh-bench.c), which plays 9, 100 and
# 1,000 district nodes; throughput, latency, each service's peak memory, and in the same
# run the floor (decode + insert the same reports into SQLite).  Driver: scripts/bench.
# Included at the end of the Makefile.
#
#   make bench                  the full run (about 10 minutes); table on stdout, CSV in
#                               run/bench/bench.csv, progress on stderr
#   make bench BENCH_QUICK=1    a short run (about a minute) of fewer, smaller steps

BENCH_BIN := $(B)/tests/bench/kh-bench

.PHONY: bench
bench: deps all $(BENCH_BIN)
	@KH_BUILD=$(B) BENCH_QUICK=$(BENCH_QUICK) scripts/bench

$(BENCH_BIN): $(B)/tests/bench/kh-bench.o $(LIBKH)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
