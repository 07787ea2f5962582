build-san/tests/unit/test_feed_report.o: tests/unit/test_feed_report.c \
 tests/unit/../../tools/kh-feed/report.c \
 tests/unit/../../tools/kh-feed/report.h lib/kh_catalog.h \
 build-san/gen/kh.pb-c.h lib/kh_util.h
tests/unit/../../tools/kh-feed/report.c:
tests/unit/../../tools/kh-feed/report.h:
lib/kh_catalog.h:
build-san/gen/kh.pb-c.h:
lib/kh_util.h:
