#include "dataplane/selector.h"

#include <charconv>

namespace xdpsec::dataplane {

std::optional<Prefix> Prefix::parse(std::string_view text) {
    const auto slash = text.find('/');
    auto addr = esp::IpAddress::parse(text.substr(0, slash));
    if (!addr) return std::nullopt;
    const unsigned max = addr->length() * 8;
    unsigned len = max;
    if (slash != std::string_view::npos) {
        const auto lt = text.substr(slash + 1);
        auto [p, ec] = std::from_chars(lt.data(), lt.data() + lt.size(), len);
        if (ec != std::errc{} || p != lt.data() + lt.size() || lt.empty() || len > max)
            return std::nullopt;
    }
    Prefix pf{*addr, static_cast<uint8_t>(len)};
    for (unsigned bit = len; bit < max; ++bit)
        pf.addr.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
    return pf;
}

Prefix Prefix::host(const esp::IpAddress& a) { return {a, static_cast<uint8_t>(a.length() * 8)}; }

bool Prefix::contains(uint8_t family, const uint8_t* b) const {
    if (family != addr.family) return false;
    const unsigned full = len / 8;
    for (unsigned i = 0; i < full; ++i)
        if (b[i] != addr.bytes[i]) return false;
    if (len % 8 == 0) return true;
    const auto mask = static_cast<uint8_t>(0xff00u >> (len % 8));
    return (b[full] & mask) == addr.bytes[full];
}

std::string Prefix::to_string() const { return addr.to_string() + "/" + std::to_string(len); }

}  // namespace xdpsec::dataplane
