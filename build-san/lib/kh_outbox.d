build-san/lib/kh_outbox.o: lib/kh_outbox.c lib/kh_outbox.h lib/kh_log.h \
 lib/kh_util.h
lib/kh_outbox.h:
lib/kh_log.h:
lib/kh_util.h:
