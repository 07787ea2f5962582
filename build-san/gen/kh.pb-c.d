build-san/gen/kh.pb-c.o: build-san/gen/kh.pb-c.c build-san/gen/kh.pb-c.h
build-san/gen/kh.pb-c.h:
