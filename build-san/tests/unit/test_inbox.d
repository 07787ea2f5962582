build-san/tests/unit/test_inbox.o: tests/unit/test_inbox.c \
 build-san/gen/kh.pb-c.h lib/kh_db.h lib/kh_inbox.h lib/kh_wire.h \
 lib/kh_zuv.h lib/kh_link.h lib/kh_outbox.h lib/kh_log.h lib/kh_outbox.h \
 lib/kh_wire.h lib/kh_zuv.h
build-san/gen/kh.pb-c.h:
lib/kh_db.h:
lib/kh_inbox.h:
lib/kh_wire.h:
lib/kh_zuv.h:
lib/kh_link.h:
lib/kh_outbox.h:
lib/kh_log.h:
lib/kh_outbox.h:
lib/kh_wire.h:
lib/kh_zuv.h:
