build-san/tests/unit/test_catalog.o: tests/unit/test_catalog.c \
 lib/kh_catalog.h build-san/gen/kh.pb-c.h lib/kh_rules.h lib/kh_catalog.h
lib/kh_catalog.h:
build-san/gen/kh.pb-c.h:
lib/kh_rules.h:
lib/kh_catalog.h:
