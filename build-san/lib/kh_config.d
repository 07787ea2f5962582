build-san/lib/kh_config.o: lib/kh_config.c lib/kh_config.h lib/kh_util.h
lib/kh_config.h:
lib/kh_util.h:
