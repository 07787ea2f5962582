/*
 * fuzz_proto.h — the message types fuzz_proto decodes, in the order of their type
 * byte (an input's first byte modulo the count).  Shared with gen_proto_seeds.c,
 * which writes one seed per type.  The seven wire messages come first, in a fixed
 * order, so committed seeds keep their meaning; types that a newer proto/kh.proto
 * defines are appended after them when their generated code exists (#ifdef on the
 * generated INIT macro), so this file compiles with the proto before and after.
 */
#ifndef KH_FUZZ_PROTO_H
#define KH_FUZZ_PROTO_H

#include <stddef.h>
#include "kh.pb-c.h"

static const struct {
    const char *name;
    const ProtobufCMessageDescriptor *desc;
} fz_types[] = {
    {"Report", &kh__report__descriptor},           /* 0 node → collector → validator */
    {"Verdict", &kh__verdict__descriptor},         /* 1 validator → aggregator / notifier */
    {"Receipt", &kh__receipt__descriptor},         /* 2 notifier → collector → node, EVENT */
    {"Ack", &kh__ack__descriptor},                 /* 3 every hop */
    {"FeedUpdate", &kh__feed_update__descriptor},  /* 4 feed PUB, snapshot items */
    {"FeedRequest", &kh__feed_request__descriptor},/* 5 SNAPSHOT? */
    {"FeedEnd", &kh__feed_end__descriptor},        /* 6 SNAPSHOT$ */
#ifdef KH__HISTORY_REQUEST__INIT
    {"HistoryRequest", &kh__history_request__descriptor},   /* HISTORY? */
#endif
#ifdef KH__HISTORY__INIT
    {"History", &kh__history__descriptor},         /* HISTORY */
#endif
#ifdef KH__FINDINGS__INIT
    {"Findings", &kh__findings__descriptor},       /* a blob in the aggregator's database */
#endif
};
#define FZ_NTYPES (sizeof fz_types / sizeof fz_types[0])

#endif
