build-san/lib/kh_wire.o: lib/kh_wire.c lib/kh_wire.h lib/kh_zuv.h \
 build-san/gen/kh.pb-c.h
lib/kh_wire.h:
lib/kh_zuv.h:
build-san/gen/kh.pb-c.h:
