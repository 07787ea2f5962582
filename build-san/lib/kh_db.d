build-san/lib/kh_db.o: lib/kh_db.c lib/kh_db.h lib/kh_log.h
lib/kh_db.h:
lib/kh_log.h:
