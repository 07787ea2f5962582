# One Makefile for the whole tree.  `make` builds everything into build/;
# `make test` runs unit and end-to-end tests; `make demo` runs the Bến Tre demo.
# Libraries are Debian's packages, found with pkg-config (scripts/deps.sh installs them).

CC      := gcc
PKGS    := libzmq libprotobuf-c sqlite3 libuv inih jansson xlsxwriter libsodium libzstd \
           libsystemd libmicrohttpd libcurl libzip libxml-2.0 gnutls
B       := build
# make V=1 shows the full commands
Q       := $(if $(V),,@)
VERSION ?= 0.13.0
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP
CFLAGS  += -DKH_SYSCONFDIR='"$(SYSCONFDIR)"' -DKH_VERSION='"$(VERSION)"'
# lib/ is grouped by what it is for (docs/STYLE.md); a header is included by its name
LIB_DIRS := $(sort $(dir $(wildcard lib/*/*.h)))
CFLAGS  += -I$(B)/gen $(addprefix -I,$(LIB_DIRS)) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libcsv ships no .pc file: link it by name.
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv -lunistring -lm

PROTO_C := $(B)/gen/kh.pb-c.c
PROTO_H := $(B)/gen/kh.pb-c.h
LIB_SRC := $(wildcard lib/*/*.c)
LIB_OBJ := $(patsubst %.c,$(B)/%.o,$(LIB_SRC)) $(B)/gen/kh.pb-c.o
LIBKH   := $(B)/libkh.a

SERVICES := collector validator aggregator notifier node
TOOLS    := kh-feed kh-logs kh-admin
BINS     := $(patsubst %,$(B)/bin/kh-%,$(SERVICES)) $(patsubst %,$(B)/bin/%,$(TOOLS))

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))

.PHONY: all deps test demo clean unit
.SECONDARY:
# the fuzz targets are compiled (not linked: libFuzzer is clang's) by every build, so
# that a changed interface cannot leave them behind unseen until someone fuzzes
FUZZ_OBJ := $(patsubst %.c,$(B)/%.o,$(wildcard fuzz/fuzz_*.c))

all: $(BINS) $(UNIT_BIN) $(FUZZ_OBJ)

deps:
	@scripts/deps.sh

$(PROTO_C) $(PROTO_H): proto/kh.proto
	@mkdir -p $(B)/gen
	@echo "  PROTO $<"
	$(Q)protoc-c --proto_path=proto --c_out=$(B)/gen $<

$(B)/gen/kh.pb-c.o: $(PROTO_C)
	$(Q)$(CC) $(filter-out -Wextra,$(CFLAGS)) -c -o $@ $<

$(B)/%.o: %.c $(PROTO_H)
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# made anew each time: `ar r` only adds, so a lib/*.c removed or renamed (a branch switched)
# would leave its object in the archive, defining its symbols twice
$(LIBKH): $(LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

.SECONDEXPANSION:
objs = $(patsubst %.c,$(B)/%.o,$(wildcard $(1)/*.c))
$(B)/bin/kh-%: $$(call objs,services/$$*) $(LIBKH)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# a tool may link a service's module too: kh-admin reads the services' stores through them
MOD_kh-admin := services/aggregator/store services/collector/store
$(patsubst %,$(B)/bin/%,$(TOOLS)): $(B)/bin/%: $$(call objs,tools/$$*) \
                                   $$(addsuffix .o,$$(addprefix $(B)/,$$(MOD_$$*))) $(LIBKH)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# the modules of a service or tool that a unit test links besides libkh.a (never a main.c)
MOD_test_co_store    := services/collector/store
MOD_test_conns       := services/collector/conns
MOD_test_door        := services/collector/conns
MOD_test_feed_report := tools/kh-feed/report tools/kh-feed/book
MOD_test_ledger      := services/aggregator/ledger services/aggregator/update \
                        services/aggregator/audit services/aggregator/store \
                        services/aggregator/previous services/aggregator/cache
MOD_test_node        := services/node/node services/node/sheet services/node/connection
MOD_test_notify      := services/notifier/notices
MOD_test_sheet       := services/node/sheet
MOD_test_svg         := tools/kh-feed/svg
MOD_test_tree        := tools/kh-feed/series tools/kh-feed/mirror
MOD_test_wide        := services/node/template
$(B)/tests/%: $(B)/tests/unit/%.o $$(addsuffix .o,$$(addprefix $(B)/,$$(MOD_$$*))) $(LIBKH)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs cmocka)

unit: deps $(UNIT_BIN)
	@tests/run-all.sh --unit-only

test: deps all
	@tests/run-all.sh

demo: deps all
	@scripts/demo

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# ---- fragments: sanitizer build and fuzz targets (mk/san-fuzz.mk), test tools (mk/tools.mk)
-include mk/*.mk
