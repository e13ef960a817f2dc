// An address prefix of a traffic selector, and the test the worker applies
// to every decrypted packet (RFC 4301 §5.2: the inner packet must match the
// SA's selectors).
#pragma once

#include "esp/ip_address.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xdpsec::dataplane {

struct Prefix {
    esp::IpAddress addr;  // host bits cleared
    uint8_t len = 0;

    // "198.51.100.0/24", "2001:db8::/32", or a bare address (a host prefix).
    static std::optional<Prefix> parse(std::string_view text);
    // The host prefix of an address.
    static Prefix host(const esp::IpAddress& a);
    bool contains(uint8_t family, const uint8_t* addr_bytes) const;
    std::string to_string() const;
};

}  // namespace xdpsec::dataplane
