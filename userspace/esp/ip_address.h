// An IPv4 or IPv6 address in network byte order.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xdpsec::esp {

struct IpAddress {
    uint8_t family = 0;             // 4 or 6; 0 = unset
    std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4

    static std::optional<IpAddress> parse(std::string_view text);
    std::string to_string() const;
    uint32_t length() const { return family == 4 ? 4 : 16; }

    friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

}  // namespace xdpsec::esp
