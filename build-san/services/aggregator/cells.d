build-san/services/aggregator/cells.o: services/aggregator/cells.c \
 services/aggregator/cells.h build-san/gen/kh.pb-c.h lib/kh_catalog.h
services/aggregator/cells.h:
build-san/gen/kh.pb-c.h:
lib/kh_catalog.h:
