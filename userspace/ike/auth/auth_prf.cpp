#include "ike/auth/auth_prf.h"

#include "ike/ike_types.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <cstring>
#include <memory>

namespace xdpsec::ike {

namespace {

struct MacFree {
    void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
};
struct MacCtxFree {
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

const char* digest_name(uint16_t prf_id) {
    switch (prf_id) {
    case prf::hmac_sha2_256: return "SHA2-256";
    case prf::hmac_sha2_384: return "SHA2-384";
    case prf::hmac_sha2_512: return "SHA2-512";
    default: return nullptr;
    }
}

}  // namespace

std::size_t auth_prf_size(uint16_t prf_id) {
    switch (prf_id) {
    case prf::hmac_sha2_256: return 32;
    case prf::hmac_sha2_384: return 48;
    case prf::hmac_sha2_512: return 64;
    default: return 0;
    }
}

bool auth_prf(uint16_t prf_id, ByteView key, ByteView data, std::span<uint8_t> out) {
    const char* md = digest_name(prf_id);
    if (md == nullptr || out.size() != auth_prf_size(prf_id)) {
        if (!out.empty()) std::memset(out.data(), 0, out.size());
        return false;
    }
    std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
    std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(mac ? EVP_MAC_CTX_new(mac.get()) : nullptr);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(md), 0),
        OSSL_PARAM_construct_end(),
    };
    // HMAC takes an empty key only through a non-null pointer.
    static const uint8_t kNoKey = 0;
    const uint8_t* key_ptr = key.empty() ? &kNoKey : key.data();
    size_t written = 0;
    const bool ok = ctx && EVP_MAC_init(ctx.get(), key_ptr, key.size(), params) == 1 &&
                    EVP_MAC_update(ctx.get(), data.data(), data.size()) == 1 &&
                    EVP_MAC_final(ctx.get(), out.data(), &written, out.size()) == 1 &&
                    written == out.size();
    if (!ok) std::memset(out.data(), 0, out.size());
    return ok;
}

}  // namespace xdpsec::ike
