build-san/lib/kh_report.o: lib/kh_report.c lib/kh_report.h \
 build-san/gen/kh.pb-c.h lib/kh_catalog.h
lib/kh_report.h:
build-san/gen/kh.pb-c.h:
lib/kh_catalog.h:
