/*
 * kh_wire.h — framing of the messages between processes: [routing id,] type, payload.
 * The type names which protobuf message the payload holds (see proto/kh.proto).
 */
#ifndef KH_WIRE_H
#define KH_WIRE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "kh_zuv.h"

#define KH_T_REPORT   "REPORT"
#define KH_T_VERDICT  "VERDICT"
#define KH_T_EVENT    "EVENT"
#define KH_T_RECEIPT  "RECEIPT"
#define KH_T_ACK      "ACK"
#define KH_T_HELLO    "HELLO"     /* node → collector on each new connection; payload: district */
#define KH_T_FEED     "FEED"
#define KH_T_FEED_REQ "SNAPSHOT?"
#define KH_T_FEED_END "SNAPSHOT$"
#define KH_T_HIST_REQ "HISTORY?"
#define KH_T_HISTORY  "HISTORY"
#define KH_TYPE_MAX   16
#define KH_KEY_MAX    128   /* longest message key: "<report_id>/<revision>/<stage>" */

typedef struct {
    const void *rid;            /* routing id frame (ROUTER only), else NULL */
    size_t rid_len;
    char type[KH_TYPE_MAX];
    const uint8_t *payload;
    size_t len;
} kh_wmsg_t;

/* Splits received frames.  has_rid: the first frame is a routing id (ROUTER).
 * Returns 0, or -1 when the frame count or the type frame is wrong. */
int kh_wire_parse(zmq_msg_t *parts, int n, int has_rid, kh_wmsg_t *out);

/* Sends [rid,] type, payload.  rid NULL for DEALER/PUB.  Returns 0 or -1 (errno as
 * kh_zsock_sendv). */
int kh_wire_send_raw(kh_zsock_t *s, const void *rid, size_t rid_len, const char *type,
                     const void *payload, size_t len);
/* Packs m and sends it.  Returns 0 or -1. */
int kh_wire_send(kh_zsock_t *s, const void *rid, size_t rid_len, const char *type,
                 const ProtobufCMessage *m);
/* Packs m into a new malloc'd buffer.  Returns 0 or -1. */
int kh_wire_pack(const ProtobufCMessage *m, uint8_t **buf, size_t *len);

/* Counts the top-level occurrences of field number `field` in a protobuf encoding without
 * decoding it (no allocation): the work a message would cost is bounded before it is done
 * (a REPORT of 2 million empty values, an ACK of 2 million empty keys).  Returns the count,
 * or -1 when buf is not a well-formed encoding (the decoder would refuse it too). */
long kh_wire_count_field(const uint8_t *buf, size_t len, uint32_t field);
/* Copies buf into out (at least len bytes) without the top-level occurrences of `field`
 * (e.g. a REPORT without its values, to read its id and refuse it).  Returns the length
 * written; buf must be well-formed (kh_wire_count_field >= 0), else 0. */
size_t kh_wire_without_field(const uint8_t *buf, size_t len, uint32_t field, uint8_t *out);
/* Frees the unknown fields of m and of every message inside it (m was decoded with the
 * default allocator).  What a sender adds beyond the schema is not ours to pass on, and
 * libprotobuf-c 1.4.1 packs one unknown field (number 0 in a two-byte key) into bytes
 * its own decoder refuses: a message without unknown fields always decodes again. */
void kh_wire_drop_unknown(ProtobufCMessage *m);

/* Sends an Ack for `keys` (with parallel duplicate flags, may be NULL). */
int kh_wire_ack(kh_zsock_t *s, const void *rid, size_t rid_len, char **keys, int *dups,
                size_t n);

#endif
