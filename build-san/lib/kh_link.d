build-san/lib/kh_link.o: lib/kh_link.c lib/kh_link.h lib/kh_outbox.h \
 lib/kh_wire.h lib/kh_zuv.h build-san/gen/kh.pb-c.h lib/kh_log.h
lib/kh_link.h:
lib/kh_outbox.h:
lib/kh_wire.h:
lib/kh_zuv.h:
build-san/gen/kh.pb-c.h:
lib/kh_log.h:
