build-san/tools/kh-logs/main.o: tools/kh-logs/main.c lib/kh_catalog.h \
 build-san/gen/kh.pb-c.h lib/kh_config.h lib/kh_log.h lib/kh_util.h
lib/kh_catalog.h:
build-san/gen/kh.pb-c.h:
lib/kh_config.h:
lib/kh_log.h:
lib/kh_util.h:
