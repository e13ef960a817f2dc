// A pre-shared key or other secret text: copied only on purpose, wiped with
// OPENSSL_cleanse when it dies, and with no accessor that yields a
// std::string (which could be logged or reallocated without a wipe).
#pragma once

#include <openssl/crypto.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace xdpsec::control {

class SecretString {
public:
    SecretString() = default;
    explicit SecretString(std::string_view text) { assign(text); }
    SecretString(const SecretString& o) { assign(o.text_view()); }
    SecretString& operator=(const SecretString& o) {
        if (this != &o) assign(o.text_view());
        return *this;
    }
    SecretString(SecretString&& o) noexcept : bytes_(std::move(o.bytes_)) {}
    SecretString& operator=(SecretString&& o) noexcept {
        if (this != &o) {
            wipe();
            bytes_ = std::move(o.bytes_);
        }
        return *this;
    }
    ~SecretString() { wipe(); }

    // The buffer is sized once, so no reallocation leaves a copy behind.
    void assign(std::string_view text) {
        wipe();
        bytes_.assign(text.begin(), text.end());
    }
    std::span<const uint8_t> bytes() const { return {bytes_.data(), bytes_.size()}; }
    std::size_t size() const { return bytes_.size(); }
    bool empty() const { return bytes_.empty(); }

private:
    std::string_view text_view() const {
        return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
    }
    void wipe() {
        if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
        bytes_.clear();
    }

    std::vector<uint8_t> bytes_;
};

}  // namespace xdpsec::control
