build-san/tools/kh-feed/report.o: tools/kh-feed/report.c \
 tools/kh-feed/report.h lib/kh_catalog.h build-san/gen/kh.pb-c.h \
 lib/kh_util.h
tools/kh-feed/report.h:
lib/kh_catalog.h:
build-san/gen/kh.pb-c.h:
lib/kh_util.h:
