/*
 * fuzz_proto — the protobuf decode path of every message of proto/kh.proto that a
 * process receives (fuzz_proto.h lists them): the first byte of the input chooses the
 * type, the rest is the payload.
 *
 * For each input: unpack (as the receivers do, default allocator); when it decodes,
 * protobuf_c_message_check, re-pack (the packed size must be what get_packed_size
 * said), unpack the re-packed bytes (must decode, except for the known protobuf-c bug
 * of has_field_zero below) and pack them again (must give the same bytes), then free.  And what the services do next with a decoded message:
 *   Report  → the collector's and validator's checks of the id, revision and period,
 *             then kh_validate as the validator calls it;
 *   Verdict → kh_validate with a previous-period lookup, as the aggregator calls it.
 *
 * Note: the decoder itself is Debian's libprotobuf-c.so, which is not instrumented:
 * libFuzzer gets no coverage from inside it and ASan sees only what its interceptors
 * see (memcpy, malloc…); the generated code (build-fuzz/gen/kh.pb-c.c) and everything
 * of lib/ are instrumented.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh.pb-c.h"
#include "kh_catalog.h"
#include "kh_findings.h"
#include "kh_validate.h"
#include "fuzz_common.h"
#include "fuzz_proto.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    fz_load_catalog((*argv)[0]);
    return 0;
}

static void fail(const char *type, const char *what)
{
    fprintf(stderr, "fuzz_proto: %s: %s\n", type, what);
    abort();
}

/* Known libprotobuf-c 1.4.1 bug (found by this target): the decoder accepts a field
 * number 0 whose key is written in more than one byte (0x81 0x00 …) and keeps it as an
 * unknown field; pack writes it back as the one-byte key 0x01, which the decoder then
 * refuses.  1 when m or a message inside it holds such a field: the re-pack checks are
 * then skipped, so that the target goes on finding other things (the consequence for
 * the collector, which re-packs what a node sends, is reported with the target). */
static int has_field_zero(const ProtobufCMessage *m)
{
    if (!m)
        return 0;
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0)
            return 1;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *base = (const char *)m + fd->offset;
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + fd->quantifier_offset);
            ProtobufCMessage *const *a = *(ProtobufCMessage *const *const *)base;
            for (size_t k = 0; k < n; k++)
                if (has_field_zero(a[k]))
                    return 1;
        } else if (has_field_zero(*(ProtobufCMessage *const *)base)) {
            return 1;
        }
    }
    return 0;
}

static void validate(const Kh__Report *r, int as_aggregator)
{
    kh_findings_t f = {0};
    if (as_aggregator)
        kh_validate_previous(fz_cat, r, fz_prev, NULL, &f);
    else
        kh_validate(fz_cat, r, FUZZ_TODAY, &f);
    kh_findings_clear(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *name = fz_types[data[0] % FZ_NTYPES].name;
    const ProtobufCMessageDescriptor *desc = fz_types[data[0] % FZ_NTYPES].desc;
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, size - 1, data + 1);
    if (!m)
        return 0;
    if (!protobuf_c_message_check(m))
        fail(name, "a decoded message fails protobuf_c_message_check");

    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        fail(name, "out of memory");
    if (protobuf_c_message_pack(m, buf) != n)
        fail(name, "pack wrote another size than get_packed_size");
    ProtobufCMessage *m2 = protobuf_c_message_unpack(desc, NULL, n, buf);
    if (!m2 && !has_field_zero(m))
        fail(name, "the re-packed message does not decode");
    if (m2) {
        size_t n2 = protobuf_c_message_get_packed_size(m2);
        uint8_t *buf2 = malloc(n2 ? n2 : 1);
        if (!buf2)
            fail(name, "out of memory");
        if (protobuf_c_message_pack(m2, buf2) != n2 || n2 != n || memcmp(buf, buf2, n) != 0)
            fail(name, "packing the decoded re-packed message gives other bytes");
        free(buf2);
        protobuf_c_message_free_unpacked(m2, NULL);
    }
    free(buf);

    if (desc == &kh__report__descriptor) {
        const Kh__Report *r = (const Kh__Report *)m;
        /* services/collector/main.c and services/validator/main.c refuse these */
        if (r->report_id[0] && strlen(r->report_id) <= 64 && r->revision != 0 &&
            strlen(r->period) <= 16)
            validate(r, 0);
    } else if (desc == &kh__verdict__descriptor) {
        const Kh__Verdict *v = (const Kh__Verdict *)m;
        if (v->report)
            validate(v->report, 1);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
