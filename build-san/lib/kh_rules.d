build-san/lib/kh_rules.o: lib/kh_rules.c lib/kh_rules.h lib/kh_catalog.h \
 build-san/gen/kh.pb-c.h
lib/kh_rules.h:
lib/kh_catalog.h:
build-san/gen/kh.pb-c.h:
