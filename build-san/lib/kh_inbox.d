build-san/lib/kh_inbox.o: lib/kh_inbox.c lib/kh_inbox.h lib/kh_wire.h \
 lib/kh_zuv.h lib/kh_log.h
lib/kh_inbox.h:
lib/kh_wire.h:
lib/kh_zuv.h:
lib/kh_log.h:
