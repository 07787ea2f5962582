/*
 * kh_wire.c — framing helpers; see kh_wire.h.
 */
#include "kh_wire.h"
#include "kh.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void kh_wire_drop_unknown(ProtobufCMessage *m)
{
    if (!m)
        return;
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        free(m->unknown_fields[i].data);
    free(m->unknown_fields);
    m->unknown_fields = NULL;
    m->n_unknown_fields = 0;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        char *base = (char *)m + fd->offset;
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(size_t *)((char *)m + fd->quantifier_offset);
            ProtobufCMessage **a = *(ProtobufCMessage ***)base;
            for (size_t k = 0; k < n; k++)
                kh_wire_drop_unknown(a[k]);
        } else {
            kh_wire_drop_unknown(*(ProtobufCMessage **)base);
        }
    }
}

int kh_wire_parse(zmq_msg_t *parts, int n, int has_rid, kh_wmsg_t *out)
{
    int base = has_rid ? 1 : 0;
    memset(out, 0, sizeof *out);
    if (n != base + 2)
        return -1;
    if (has_rid) {
        out->rid = zmq_msg_data(&parts[0]);
        out->rid_len = zmq_msg_size(&parts[0]);
    }
    size_t tl = zmq_msg_size(&parts[base]);
    if (tl == 0 || tl >= KH_TYPE_MAX)
        return -1;
    memcpy(out->type, zmq_msg_data(&parts[base]), tl);
    out->type[tl] = '\0';
    out->payload = zmq_msg_data(&parts[base + 1]);
    out->len = zmq_msg_size(&parts[base + 1]);
    return 0;
}

int kh_wire_send_raw(kh_zsock_t *s, const void *rid, size_t rid_len, const char *type,
                     const void *payload, size_t len)
{
    const void *bufs[3];
    size_t lens[3];
    int n = 0;
    if (rid) {
        bufs[n] = rid;
        lens[n++] = rid_len;
    }
    bufs[n] = type;
    lens[n++] = strlen(type);
    bufs[n] = payload ? payload : "";
    lens[n++] = len;
    return kh_zsock_sendv(s, bufs, lens, n);
}

int kh_wire_pack(const ProtobufCMessage *m, uint8_t **buf, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return -1;
    *len = protobuf_c_message_pack(m, b);
    *buf = b;
    return 0;
}

int kh_wire_send(kh_zsock_t *s, const void *rid, size_t rid_len, const char *type,
                 const ProtobufCMessage *m)
{
    uint8_t *b;
    size_t n;
    if (kh_wire_pack(m, &b, &n) < 0)
        return -1;
    int rc = kh_wire_send_raw(s, rid, rid_len, type, b, n);
    int e = errno;
    free(b);
    errno = e;
    return rc;
}

int kh_wire_ack(kh_zsock_t *s, const void *rid, size_t rid_len, char **keys, int *dups,
                size_t n)
{
    Kh__Ack ack = KH__ACK__INIT;
    protobuf_c_boolean *d = NULL;
    if (dups && n) {
        d = calloc(n, sizeof *d);
        if (!d)
            return -1;
        for (size_t i = 0; i < n; i++)
            d[i] = dups[i] != 0;
        ack.n_duplicate = n;
        ack.duplicate = d;
    }
    ack.n_keys = n;
    ack.keys = keys;
    int rc = kh_wire_send(s, rid, rid_len, KH_T_ACK, &ack.base);
    free(d);
    return rc;
}

/* One base-128 varint at *p (at most 10 bytes).  Returns 0, or -1 when cut short. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Walks the top-level fields of buf: counts those numbered `field` and, when out is not
 * NULL, copies the others there (*outlen bytes).  Returns the count or -1. */
static long walk(const uint8_t *buf, size_t len, uint32_t field, uint8_t *out, size_t *outlen)
{
    if (outlen)
        *outlen = 0;
    if (len == 0)               /* an empty message (buf may be NULL): no field at all */
        return 0;
    const uint8_t *p = buf, *end = buf + len;
    long n = 0;
    size_t o = 0;
    while (p < end) {
        const uint8_t *start = p;
        uint64_t tag, v;
        if (varint(&p, end, &tag) < 0 || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
            return -1;
        switch (tag & 7) {
        case 0:
            if (varint(&p, end, &v) < 0)
                return -1;
            break;
        case 1:
            if (end - p < 8)
                return -1;
            p += 8;
            break;
        case 2:
            if (varint(&p, end, &v) < 0 || v > (uint64_t)(end - p))
                return -1;
            p += v;
            break;
        case 5:
            if (end - p < 4)
                return -1;
            p += 4;
            break;
        default:                /* groups (3, 4) are not used by proto3; 6, 7 do not exist */
            return -1;
        }
        if ((tag >> 3) == field) {
            n++;
        } else if (out) {
            memcpy(out + o, start, (size_t)(p - start));
            o += (size_t)(p - start);
        }
    }
    if (outlen)
        *outlen = o;
    return n;
}

long kh_wire_count_field(const uint8_t *buf, size_t len, uint32_t field)
{
    return walk(buf, len, field, NULL, NULL);
}

size_t kh_wire_without_field(const uint8_t *buf, size_t len, uint32_t field, uint8_t *out)
{
    size_t o = 0;
    return walk(buf, len, field, out, &o) < 0 ? 0 : o;
}
