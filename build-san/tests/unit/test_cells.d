build-san/tests/unit/test_cells.o: tests/unit/test_cells.c \
 tests/unit/../../services/aggregator/cells.c \
 tests/unit/../../services/aggregator/cells.h build-san/gen/kh.pb-c.h \
 lib/kh_catalog.h
tests/unit/../../services/aggregator/cells.c:
tests/unit/../../services/aggregator/cells.h:
build-san/gen/kh.pb-c.h:
lib/kh_catalog.h:
