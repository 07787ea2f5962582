build-san/tests/unit/test_config.o: tests/unit/test_config.c \
 lib/kh_config.h
lib/kh_config.h:
