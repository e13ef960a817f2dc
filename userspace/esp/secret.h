// Key material with a fixed home: never copied implicitly, wiped with
// OPENSSL_cleanse when it dies. Printing it is impossible by construction
// (no accessor returns text).
#pragma once

#include <openssl/crypto.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <span>

namespace xdpsec::esp {

class SecretBytes {
public:
    static constexpr std::size_t kMax = 112;  // largest keymat: AES-256 + SHA-512 key, with room

    SecretBytes() = default;
    explicit SecretBytes(std::span<const uint8_t> b) { assign(b); }
    SecretBytes(const SecretBytes& o) { assign(o.view()); }
    SecretBytes& operator=(const SecretBytes& o) {
        if (this != &o) assign(o.view());
        return *this;
    }
    ~SecretBytes() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

    // Returns false (and keeps nothing) when b is longer than kMax.
    bool assign(std::span<const uint8_t> b) {
        OPENSSL_cleanse(bytes_.data(), bytes_.size());
        if (b.size() > kMax) {
            size_ = 0;
            return false;
        }
        if (!b.empty()) std::memcpy(bytes_.data(), b.data(), b.size());
        size_ = b.size();
        return true;
    }
    std::span<const uint8_t> view() const { return {bytes_.data(), size_}; }
    std::size_t size() const { return size_; }

private:
    std::array<uint8_t, kMax> bytes_{};
    std::size_t size_ = 0;
};

}  // namespace xdpsec::esp
