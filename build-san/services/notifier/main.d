build-san/services/notifier/main.o: services/notifier/main.c \
 build-san/gen/kh.pb-c.h lib/kh_db.h lib/kh_inbox.h lib/kh_wire.h \
 lib/kh_zuv.h lib/kh_link.h lib/kh_outbox.h lib/kh_log.h lib/kh_service.h \
 lib/kh_catalog.h lib/kh_config.h lib/kh_util.h
build-san/gen/kh.pb-c.h:
lib/kh_db.h:
lib/kh_inbox.h:
lib/kh_wire.h:
lib/kh_zuv.h:
lib/kh_link.h:
lib/kh_outbox.h:
lib/kh_log.h:
lib/kh_service.h:
lib/kh_catalog.h:
lib/kh_config.h:
lib/kh_util.h:
