build-san/lib/kh_catalog.o: lib/kh_catalog.c lib/kh_catalog.h \
 build-san/gen/kh.pb-c.h lib/kh_rules.h
lib/kh_catalog.h:
build-san/gen/kh.pb-c.h:
lib/kh_rules.h:
