build-san/lib/kh_log.o: lib/kh_log.c lib/kh_log.h lib/kh_util.h
lib/kh_log.h:
lib/kh_util.h:
