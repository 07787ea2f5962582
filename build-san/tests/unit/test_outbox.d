build-san/tests/unit/test_outbox.o: tests/unit/test_outbox.c lib/kh_db.h \
 lib/kh_log.h lib/kh_outbox.h
lib/kh_db.h:
lib/kh_log.h:
lib/kh_outbox.h:
