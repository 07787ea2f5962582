# mk/tools.mk — tools the tests use (issue 4, item 5): build/tests/tools/kh-inject, which
# sends hand-made frames to a pipeline socket (tests/e2e/test_frames.sh).  Included at
# the end of the Makefile; `all` builds what TOOLS_EXTRA lists.

TOOLS_EXTRA += $(B)/tests/tools/kh-inject
all: $(TOOLS_EXTRA)

$(B)/tests/tools/kh-inject: $(B)/tests/tools/kh-inject.o $(LIBKH)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
