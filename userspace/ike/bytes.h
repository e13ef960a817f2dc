// Byte strings of the IKE code: plain ones (messages, nonces, public
// values) and secret ones (shared secrets, SKEYSEED, SK_*, KEYMAT, PSKs),
// which are wiped with OPENSSL_cleanse when they die and never printed.
#pragma once

#include <openssl/crypto.h>

#include <cstdint>
#include <span>
#include <vector>

namespace xdpsec::ike {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

class SecretVector {
public:
    SecretVector() = default;
    explicit SecretVector(std::size_t n) : v_(n) {}
    explicit SecretVector(ByteView b) : v_(b.begin(), b.end()) {}
    SecretVector(const SecretVector& o) : v_(o.v_) {}
    SecretVector(SecretVector&& o) noexcept : v_(std::move(o.v_)) { o.v_.clear(); }
    SecretVector& operator=(const SecretVector& o) {
        if (this != &o) {
            wipe();
            v_ = o.v_;
        }
        return *this;
    }
    SecretVector& operator=(SecretVector&& o) noexcept {
        if (this != &o) {
            wipe();
            v_ = std::move(o.v_);
            o.v_.clear();
        }
        return *this;
    }
    ~SecretVector() { wipe(); }

    // Appends; a reallocation wipes the old storage first.
    void append(ByteView b) {
        if (v_.size() + b.size() > v_.capacity()) {
            std::vector<uint8_t> n;
            n.reserve((v_.size() + b.size()) * 2);
            n.insert(n.end(), v_.begin(), v_.end());
            wipe();
            v_ = std::move(n);
        }
        v_.insert(v_.end(), b.begin(), b.end());
    }
    ByteView view() const { return {v_.data(), v_.size()}; }
    ByteView sub(std::size_t off, std::size_t n) const { return view().subspan(off, n); }
    uint8_t* data() { return v_.data(); }
    const uint8_t* data() const { return v_.data(); }
    std::size_t size() const { return v_.size(); }
    bool empty() const { return v_.empty(); }
    void resize(std::size_t n) {
        if (n < v_.size()) OPENSSL_cleanse(v_.data() + n, v_.size() - n);
        if (n > v_.capacity()) {
            SecretVector t(n);
            std::copy(v_.begin(), v_.end(), t.v_.begin());
            *this = std::move(t);
            return;
        }
        v_.resize(n);
    }

private:
    void wipe() {
        if (!v_.empty()) OPENSSL_cleanse(v_.data(), v_.size());
    }
    std::vector<uint8_t> v_;
};

}  // namespace xdpsec::ike
