/*
 * kh_sign.c — canonical bytes, Ed25519 signatures and digests of reports; see kh_sign.h.
 */
#include "kh_sign.h"

#include <stdlib.h>
#include <string.h>

#include "kh_buf.h"
#include "kh_keys.h"
#include "kh_report.h"
#include "kh_util.h"

int kh_sign_canonical(const Kh__Report *r, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    if (r->n_values > UINT32_MAX)
        return -1;
    kh_buf_t c = {0};
    /* a full district report is ~20 KB: start big enough for most */
    kh_buf_reserve(&c, 1024 + r->n_values * 40);
    kh_buf_str(&c, KH_SIGN_VERSION);
    kh_buf_str(&c, r->report_id);
    kh_buf_u32(&c, r->revision);
    kh_buf_str(&c, r->district);
    kh_buf_str(&c, r->period);
    kh_buf_i64(&c, r->submitted_at);
    kh_buf_str(&c, r->source_name);
    kh_buf_u32(&c, (uint32_t)r->n_values);
    for (size_t i = 0; i < r->n_values; i++) {
        const Kh__Value *v = r->values[i];
        kh_buf_str(&c, v ? v->orgunit : NULL);
        kh_buf_str(&c, v ? v->indicator : NULL);
        kh_buf_str(&c, v ? v->raw : NULL);
        kh_buf_u32(&c, v ? v->line : 0);
    }
    return kh_buf_take(&c, buf, len) == KH_OK ? 0 : -1;
}

static int sodium_ready(void)
{
    return sodium_init() < 0 ? -1 : 0;     /* 0 first time, 1 after: both fine */
}

int kh_sign_report(Kh__Report *r, const uint8_t sk[crypto_sign_SECRETKEYBYTES],
                   const char *signer)
{
    if (sodium_ready() < 0)
        return -1;
    uint8_t *buf;
    size_t len;
    if (kh_sign_canonical(r, &buf, &len) < 0)
        return -1;
    uint8_t *sig = malloc(crypto_sign_BYTES);
    int rc = -1;
    if (sig && crypto_sign_detached(sig, NULL, buf, len, sk) == 0 &&
        kh_report_set_str(&r->signer, signer ? signer : "") == 0) {
        free(r->signature.data);
        r->signature.data = sig;
        r->signature.len = crypto_sign_BYTES;
        sig = NULL;
        rc = 0;
    }
    free(sig);
    free(buf);
    return rc;
}

/* kh_sign_verify on r's canonical bytes made already (buf NULL: they could not be). */
static int verify_bytes(const Kh__Report *r, const uint8_t *buf, size_t len,
                        const uint8_t pk[crypto_sign_PUBLICKEYBYTES])
{
    if (!buf || sodium_ready() < 0 || !r->signature.data ||
        r->signature.len != crypto_sign_BYTES)
        return -1;
    return crypto_sign_verify_detached(r->signature.data, buf, len, pk) == 0 ? 0 : -1;
}

int kh_sign_verify(const Kh__Report *r, const uint8_t pk[crypto_sign_PUBLICKEYBYTES])
{
    if (sodium_ready() < 0 || !r->signature.data || r->signature.len != crypto_sign_BYTES)
        return -1;
    uint8_t *buf;
    size_t len;
    if (kh_sign_canonical(r, &buf, &len) < 0)
        return -1;
    int rc = verify_bytes(r, buf, len, pk);
    free(buf);
    return rc;
}

void kh_sign_hex(const uint8_t *b, size_t len, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    size_t k = 0;
    for (size_t i = 0; i < len && k + 2 < cap; i++) {
        out[k++] = digits[b[i] >> 4];
        out[k++] = digits[b[i] & 15];
    }
    if (cap)
        out[k] = '\0';
}

/* kh_sign_digest on r's canonical bytes made already (buf NULL: they could not be). */
static void digest_bytes(const uint8_t *buf, size_t len, char hex[65])
{
    hex[0] = '\0';
    if (!buf || sodium_ready() < 0)
        return;
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, buf, len);
    kh_sign_hex(h, sizeof h, hex, 65);
}

void kh_sign_digest(const Kh__Report *r, char hex[65])
{
    uint8_t *buf;
    size_t len;
    kh_sign_canonical(r, &buf, &len);            /* buf stays NULL when it fails */
    digest_bytes(buf, len, hex);
    free(buf);
}

int64_t kh_sign_key_time(const Kh__Report *r)
{
    return r->arrived_at ? r->arrived_at : r->received_at;
}

/* writes a reason into a buffer the caller may not have given */
#define SAY(buf, cap, ...) ((buf) && (cap) ? (void)snprintf(buf, cap, __VA_ARGS__) : (void)0)

int kh_sign_check(kh_keys_t *keys, const Kh__Report *r, int64_t at_ms, uint8_t pk[32],
                  char digest[65], kh_sign_why_t *why, char *vi, size_t vcap, char *en,
                  size_t ecap)
{
    uint8_t own[32];
    uint8_t *key = pk ? pk : own;
    kh_sign_why_t w;
    /* the canonical bytes, made once for the signature and the digest (a district's
     * report is ~20 KB of them) */
    uint8_t *buf = NULL;
    size_t len = 0;
    if (digest) {
        kh_sign_canonical(r, &buf, &len);        /* buf stays NULL when it fails */
        digest_bytes(buf, len, digest);
    }
    int rc = KH_NO;
    if (!r->signer || !r->signer[0] || !r->signature.data || r->signature.len == 0) {
        w = KH_SIGN_UNSIGNED;
        SAY(vi, vcap, "báo cáo không có chữ ký số của đơn vị báo cáo");
        SAY(en, ecap, "the report carries no signature of its reporting unit");
        goto refused;
    }
    int found = kh_keys_signing_key(keys, r->signer, r->district, at_ms, key);
    if (found == KH_ERR) {
        SAY(vi, vcap, "không đọc được sổ đăng ký khóa: %s", kh_keys_errmsg(keys));
        SAY(en, ecap, "the key registry could not be read: %s", kh_keys_errmsg(keys));
        rc = KH_ERR;
        goto out_free;
    }
    if (found == KH_NO) {
        char at[32];
        kh_iso_time(at_ms, at, sizeof at);
        w = KH_SIGN_NO_KEY;
        SAY(vi, vcap, "khóa '%.64s' không phải là khóa đã đăng ký của đơn vị %.16s còn "
            "hiệu lực lúc %s (chưa đăng ký, đã thu hồi hoặc hết hạn)", r->signer,
            r->district ? r->district : "", at);
        SAY(en, ecap, "key '%.64s' is not a key registered for unit %.16s and valid at %s "
            "(unknown, revoked or expired)", r->signer, r->district ? r->district : "", at);
        goto refused;
    }
    if (!buf)
        kh_sign_canonical(r, &buf, &len);
    if (verify_bytes(r, buf, len, key) != 0) {
        w = KH_SIGN_MISMATCH;
        SAY(vi, vcap, "chữ ký số không khớp với nội dung báo cáo (khóa '%.64s'): báo cáo "
            "đã bị thay đổi sau khi ký, hoặc được ký bằng khóa khác", r->signer);
        SAY(en, ecap, "the signature does not match the report's contents (key '%.64s'): "
            "the report was changed after it was signed, or signed with another key",
            r->signer);
        goto refused;
    }
    rc = KH_OK;
    goto out_free;
refused:
    if (why)
        *why = w;
out_free:
    free(buf);
    return rc;
}

void kh_sign_clear(Kh__Report *r)
{
    free(r->signature.data);
    r->signature.data = NULL;
    r->signature.len = 0;
    if (r->signer && r->signer != protobuf_c_empty_string)
        free(r->signer);
    r->signer = (char *)protobuf_c_empty_string;
}
