#include "esp/ip_prefix.h"

#include <charconv>

namespace xdpsec::esp {

std::optional<IpPrefix> IpPrefix::parse(std::string_view text, std::string* why) {
    auto quoted = [&] { return "'" + std::string(text) + "'"; };
    auto fail = [&](const std::string& reason) -> std::optional<IpPrefix> {
        if (why) *why = quoted() + " " + reason;
        return std::nullopt;
    };
    const auto slash = text.find('/');
    const auto addr = IpAddress::parse(text.substr(0, slash));
    if (!addr) return fail("is not an address prefix");
    IpPrefix p = host(*addr);
    const unsigned max = p.len;
    if (slash != std::string_view::npos) {
        const auto lt = text.substr(slash + 1);
        unsigned len = 0;
        auto [end, ec] = std::from_chars(lt.data(), lt.data() + lt.size(), len);
        if (lt.empty() || ec != std::errc{} || end != lt.data() + lt.size() || len > max) {
            if (why) *why = quoted() + ": prefix length must be 0.." + std::to_string(max);
            return std::nullopt;
        }
        p.len = static_cast<uint8_t>(len);
    }
    IpPrefix network = p;
    for (unsigned bit = p.len; bit < max; ++bit)
        network.addr.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
    if (network.addr != p.addr) return fail("has host bits set (the network is " + network.to_string() + ")");
    return p;
}

IpPrefix IpPrefix::host(const IpAddress& a) { return {a, static_cast<uint8_t>(a.length() * 8)}; }

bool IpPrefix::contains(uint8_t family, const uint8_t* b) const {
    if (family != addr.family) return false;
    const unsigned full = len / 8;
    for (unsigned i = 0; i < full; ++i)
        if (b[i] != addr.bytes[i]) return false;
    if (len % 8 == 0) return true;
    const auto mask = static_cast<uint8_t>(0xff00u >> (len % 8));
    return (b[full] & mask) == addr.bytes[full];
}

std::string IpPrefix::to_string() const { return addr.to_string() + "/" + std::to_string(len); }

}  // namespace xdpsec::esp
