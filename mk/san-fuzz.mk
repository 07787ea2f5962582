# mk/san-fuzz.mk — the sanitizer build and the fuzz targets (issue 4, items 8 and 9).
# Included at the end of the Makefile; the normal build in build/ does not change.
#
#   make san            everything built with ASan + UBSan (clang) into build-san/, then the
#                       whole test suite (tests/run-all.sh) on those binaries; any sanitizer
#                       report (leaks included), from a test binary, a service, a node or a
#                       tool, is a failure of the test during which it appeared; reports
#                       are kept in tests/out/san/<test>/
#   make san SAN_FILTER=spool          only the tests whose name matches "spool" (an ERE:
#                                      SAN_FILTER='spool|frames')
#   make san SAN_EXCLUDE='^test_anytree$'   all but the tests whose name matches (.ci/run)
#   make fuzz           the libFuzzer targets (clang, ASan + UBSan) built into build-fuzz/,
#                       each run FUZZ_SECONDS (30) over its seeds fuzz/corpus/<target>/;
#                       prints the executions per target; inputs that crash are saved
#                       under fuzz/crashes/
#   make fuzz FUZZ_TARGETS=fuzz_csv FUZZ_SECONDS=600      one target, longer
#   make fuzz-seeds     rewrite the committed seed corpora (fuzz/make-seeds.sh)
#   make clean-san-fuzz remove build-san/ and build-fuzz/
#
# Both work by running this Makefile again with another build folder (B=…), compiler
# and KH_SAN_FLAGS, which is appended to CFLAGS (compiling and linking) below.

SAN_B        := build-san
# clang, not gcc: gcc's UBSan runtime (a library apart from its ASan runtime) ignores
# log_path and always writes to stderr, which some tests send to /dev/null; clang's
# single runtime writes every report to log_path.  `make san SAN_CC=gcc` also works: its
# UBSan reports are then found only in the services' and the tests' logs.
SAN_CC       := clang
SAN_FLAGS    := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# Every instrumented process writes its reports here (log_path), so that a report from a
# service (whose stderr is its log) or from a tool a test runs is seen by tests/run-all.sh.
SAN_REPORTS  := $(CURDIR)/tests/out/san-reports
SAN_ENV      := KH_BUILD=$(SAN_B) KH_SAN_REPORTS=$(SAN_REPORTS) \
                ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:log_path=$(SAN_REPORTS)/asan \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(SAN_REPORTS)/ubsan

FUZZ_B       := build-fuzz
FUZZ_CC      := clang
FUZZ_FLAGS   := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=all
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= fuzz_proto fuzz_csv fuzz_rules fuzz_door fuzz_sheet

ifneq ($(KH_SAN_FLAGS),)
CFLAGS += $(KH_SAN_FLAGS)
endif

.PHONY: san san-build fuzz fuzz-build fuzz-seeds clean-san-fuzz

san: deps san-build
	@rm -rf $(SAN_REPORTS) && mkdir -p $(SAN_REPORTS)
	@$(SAN_ENV) tests/run-all.sh '$(SAN_FILTER)' '$(SAN_EXCLUDE)'

# a build folder is made again from scratch when its compiler or flags change
fresh = @echo '$(1)' | cmp -s - $(2)/.flags 2>/dev/null || \
        { rm -rf $(2) && mkdir -p $(2) && echo '$(1)' >$(2)/.flags; }

san-build:
	$(call fresh,$(SAN_CC) $(SAN_FLAGS),$(SAN_B))
	@$(MAKE) --no-print-directory B=$(SAN_B) CC=$(SAN_CC) KH_SAN_FLAGS='$(SAN_FLAGS)' all

fuzz: deps fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh $(FUZZ_B)/fuzz $(FUZZ_TARGETS)

fuzz-build:
	$(call fresh,$(FUZZ_CC) $(FUZZ_FLAGS),$(FUZZ_B))
	@$(MAKE) --no-print-directory B=$(FUZZ_B) CC=$(FUZZ_CC) KH_SAN_FLAGS='$(FUZZ_FLAGS)' \
	    $(patsubst %,$(FUZZ_B)/fuzz/%,$(FUZZ_TARGETS))

fuzz-seeds: deps
	$(call fresh,$(FUZZ_CC) $(FUZZ_FLAGS),$(FUZZ_B))
	@$(MAKE) --no-print-directory B=$(FUZZ_B) CC=$(FUZZ_CC) KH_SAN_FLAGS='$(FUZZ_FLAGS)' \
	    $(FUZZ_B)/fuzz/gen_proto_seeds
	@fuzz/make-seeds.sh $(FUZZ_B)/fuzz/gen_proto_seeds

clean-san-fuzz:
	rm -rf $(SAN_B) $(FUZZ_B)

# In the sub-make (B=build-fuzz): a target is its fuzz/<name>.c on libkh.a, with libFuzzer's
# main; the seed helper has its own main.
$(B)/fuzz/gen_proto_seeds: $(B)/fuzz/gen_proto_seeds.o $(LIBKH)
	@echo "  LD    $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

FUZZ_ALL := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
$(patsubst %,$(B)/fuzz/%,$(FUZZ_ALL)): $(B)/fuzz/%: $(B)/fuzz/%.o $(LIBKH)
	@echo "  LD    $@"
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# fuzz_door also runs the collector's connection table (a collector-only module)
$(B)/fuzz/fuzz_door: $(B)/services/collector/conns.o
# fuzz_sheet runs kh-node's file decoder (a node-only module)
$(B)/fuzz/fuzz_sheet: $(B)/services/node/sheet.o
