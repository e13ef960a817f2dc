// The IKEv2 pseudorandom function and prf+ (RFC 7296 §2.13) for the
// HMAC-SHA2 prfs of RFC 4868. Stateless after creation: one instance can
// serve any number of keys.
#pragma once

#include "ike/bytes.h"

#include <openssl/types.h>

#include <cstdint>
#include <initializer_list>
#include <memory>

namespace xdpsec::ike {

class Prf {
public:
    // PRF_HMAC_SHA2_256/384/512 (ids 5/6/7); nullptr for any other id.
    static std::unique_ptr<Prf> create(uint16_t prf_id);
    ~Prf();
    Prf(const Prf&) = delete;
    Prf& operator=(const Prf&) = delete;

    uint16_t id() const { return id_; }
    std::size_t output_size() const { return output_size_; }
    // RFC 7296 §2.13/§2.14: SK_d, SK_pi and SK_pr have the prf's preferred
    // key length, which for HMAC is its output size (RFC 4868).
    std::size_t key_size() const { return output_size_; }

    // prf(key, data); empty only if OpenSSL fails.
    SecretVector compute(ByteView key, ByteView data) const;
    // prf(key, parts[0] | parts[1] | ...) without building the concatenation.
    SecretVector compute(ByteView key, std::initializer_list<ByteView> parts) const;

    // prf+(key, seed) of RFC 7296 §2.13, truncated to `length` bytes. The
    // counter byte stops at 255, so lengths above 255 * output_size() are
    // refused (empty result), as are OpenSSL failures.
    SecretVector plus(ByteView key, ByteView seed, std::size_t length) const;

private:
    struct MacFree {
        void operator()(EVP_MAC* mac) const;
    };
    Prf(uint16_t id, const char* digest, std::size_t output_size, EVP_MAC* mac);

    uint16_t id_;
    const char* digest_;
    std::size_t output_size_;
    std::unique_ptr<EVP_MAC, MacFree> mac_;  // "HMAC", fetched once
};

}  // namespace xdpsec::ike
