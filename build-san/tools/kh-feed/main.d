build-san/tools/kh-feed/main.o: tools/kh-feed/main.c lib/kh_catalog.h \
 build-san/gen/kh.pb-c.h lib/kh_config.h lib/kh_db.h lib/kh_log.h \
 lib/kh_util.h tools/kh-feed/mirror.h tools/kh-feed/report.h
lib/kh_catalog.h:
build-san/gen/kh.pb-c.h:
lib/kh_config.h:
lib/kh_db.h:
lib/kh_log.h:
lib/kh_util.h:
tools/kh-feed/mirror.h:
tools/kh-feed/report.h:
