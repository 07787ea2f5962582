build-san/tools/kh-feed/mirror.o: tools/kh-feed/mirror.c \
 tools/kh-feed/mirror.h build-san/gen/kh.pb-c.h lib/kh_db.h lib/kh_util.h \
 lib/kh_wire.h lib/kh_zuv.h
tools/kh-feed/mirror.h:
build-san/gen/kh.pb-c.h:
lib/kh_db.h:
lib/kh_util.h:
lib/kh_wire.h:
lib/kh_zuv.h:
