build-san/lib/kh_service.o: lib/kh_service.c lib/kh_service.h \
 lib/kh_catalog.h build-san/gen/kh.pb-c.h lib/kh_config.h lib/kh_zuv.h \
 lib/kh_log.h lib/kh_util.h
lib/kh_service.h:
lib/kh_catalog.h:
build-san/gen/kh.pb-c.h:
lib/kh_config.h:
lib/kh_zuv.h:
lib/kh_log.h:
lib/kh_util.h:
