build-san/lib/kh_util.o: lib/kh_util.c lib/kh_util.h
lib/kh_util.h:
