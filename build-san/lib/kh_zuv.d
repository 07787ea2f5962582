build-san/lib/kh_zuv.o: lib/kh_zuv.c lib/kh_zuv.h lib/kh_log.h
lib/kh_zuv.h:
lib/kh_log.h:
