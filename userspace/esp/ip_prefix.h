// An address prefix, as traffic selectors and routes use them.
#pragma once

#include "esp/ip_address.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xdpsec::esp {

struct IpPrefix {
    IpAddress addr;   // host bits are zero
    uint8_t len = 0;  // prefix length in bits

    // "198.51.100.0/24", "2001:db8::/32", or a bare address (a host prefix).
    // Host bits set ("10.1.0.1/24") are refused as the likely typo they are;
    // *why says what is wrong.
    static std::optional<IpPrefix> parse(std::string_view text, std::string* why);
    static IpPrefix host(const IpAddress& a);
    // addr_bytes: an address of the given family (4 or 6) in network order.
    bool contains(uint8_t family, const uint8_t* addr_bytes) const;
    std::string to_string() const;

    friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
};

}  // namespace xdpsec::esp
