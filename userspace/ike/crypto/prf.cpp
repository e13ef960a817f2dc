#include "ike/crypto/prf.h"

#include "ike/crypto/openssl_ptr.h"
#include "ike/ike_types.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

namespace xdpsec::ike {

void Prf::MacFree::operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }

Prf::Prf(uint16_t id, const char* digest, std::size_t output_size, EVP_MAC* mac)
    : id_(id), digest_(digest), output_size_(output_size), mac_(mac) {}

Prf::~Prf() = default;

std::unique_ptr<Prf> Prf::create(uint16_t prf_id) {
    // RFC 4868: the prf output is the full HMAC output.
    static constexpr struct {
        uint16_t id;
        const char* digest;
        std::size_t size;
    } kPrfs[] = {
        {prf::hmac_sha2_256, "SHA2-256", 32},
        {prf::hmac_sha2_384, "SHA2-384", 48},
        {prf::hmac_sha2_512, "SHA2-512", 64},
    };
    const char* digest = nullptr;
    std::size_t size = 0;
    for (const auto& p : kPrfs) {
        if (p.id == prf_id) {
            digest = p.digest;
            size = p.size;
        }
    }
    if (digest == nullptr) return nullptr;
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) return nullptr;
    return std::unique_ptr<Prf>(new Prf(prf_id, digest, size, mac));
}

SecretVector Prf::compute(ByteView key, ByteView data) const { return compute(key, {data}); }

SecretVector Prf::compute(ByteView key, std::initializer_list<ByteView> parts) const {
    detail::MacCtx ctx(EVP_MAC_CTX_new(mac_.get()));
    if (!ctx) return {};
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_), 0),
        OSSL_PARAM_construct_end(),
    };
    // A null key pointer would mean "keep the previous key" to OpenSSL; an
    // empty key (e.g. an empty PSK) must still be a key.
    static const uint8_t kNoKey = 0;
    const uint8_t* k = key.empty() ? &kNoKey : key.data();
    if (EVP_MAC_init(ctx.get(), k, key.size(), params) != 1) return {};
    for (ByteView p : parts) {
        if (!p.empty() && EVP_MAC_update(ctx.get(), p.data(), p.size()) != 1) return {};
    }
    SecretVector out(output_size_);
    std::size_t len = 0;
    if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != output_size_)
        return {};
    return out;
}

SecretVector Prf::plus(ByteView key, ByteView seed, std::size_t length) const {
    if (length > 255 * output_size_) return {};
    SecretVector out;
    SecretVector t;  // T(n-1); empty for T1
    for (unsigned n = 1; out.size() < length; ++n) {
        const uint8_t counter = static_cast<uint8_t>(n);
        // RFC 7296 §2.13: T(n) = prf(K, T(n-1) | S | n)
        t = compute(key, {t.view(), seed, ByteView(&counter, 1)});
        if (t.empty()) return {};
        out.append(t.view());
    }
    out.resize(length);
    return out;
}

}  // namespace xdpsec::ike
