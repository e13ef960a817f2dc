// Hex helpers for the IKE crypto tests' known answers.
#pragma once

#include "ike/bytes.h"

#include <string>
#include <string_view>

namespace xdpsec::ike::test {

// Hex digits to bytes; spaces are skipped so that RFC layouts paste as is.
inline Bytes hex(std::string_view s) {
    auto nibble = [](char c) -> uint8_t {
        if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
        if (c >= 'a' && c <= 'f') return static_cast<uint8_t>(c - 'a' + 10);
        return static_cast<uint8_t>(c - 'A' + 10);
    };
    Bytes out;
    int half = -1;
    for (char c : s) {
        if (c == ' ' || c == '\n') continue;
        if (half < 0) {
            half = nibble(c);
        } else {
            out.push_back(static_cast<uint8_t>(half << 4 | nibble(c)));
            half = -1;
        }
    }
    return out;
}

inline std::string to_hex(ByteView b) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (uint8_t x : b) {
        s += d[x >> 4];
        s += d[x & 15];
    }
    return s;
}

inline std::string to_hex(const SecretVector& v) { return to_hex(v.view()); }

}  // namespace xdpsec::ike::test
