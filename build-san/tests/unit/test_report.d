build-san/tests/unit/test_report.o: tests/unit/test_report.c \
 lib/kh_catalog.h build-san/gen/kh.pb-c.h lib/kh_report.h \
 lib/kh_catalog.h
lib/kh_catalog.h:
build-san/gen/kh.pb-c.h:
lib/kh_report.h:
lib/kh_catalog.h:
