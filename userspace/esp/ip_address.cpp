#include "esp/ip_address.h"

#include <arpa/inet.h>

namespace xdpsec::esp {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    if (text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    const std::string s(text);
    IpAddress a;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
        a.family = 4;
        return a;
    }
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
        a.family = 6;
        return a;
    }
    return std::nullopt;
}

std::string IpAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family == 4) inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
    else if (family == 6) inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
    else return "unset";
    return buf;
}

}  // namespace xdpsec::esp
