build-san/services/node/node.o: services/node/node.c services/node/node.h \
 lib/kh_catalog.h build-san/gen/kh.pb-c.h lib/kh_link.h lib/kh_outbox.h \
 lib/kh_wire.h lib/kh_zuv.h lib/kh_db.h lib/kh_log.h lib/kh_report.h \
 lib/kh_catalog.h lib/kh_util.h lib/kh_wire.h
services/node/node.h:
lib/kh_catalog.h:
build-san/gen/kh.pb-c.h:
lib/kh_link.h:
lib/kh_outbox.h:
lib/kh_wire.h:
lib/kh_zuv.h:
lib/kh_db.h:
lib/kh_log.h:
lib/kh_report.h:
lib/kh_catalog.h:
lib/kh_util.h:
lib/kh_wire.h:
