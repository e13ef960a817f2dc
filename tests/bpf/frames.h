// Builders for the Ethernet frames the BPF_PROG_TEST_RUN tables feed the XDP
// programs: every header written out field by field, so a row reads as the
// packet it is.
#pragma once

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace xdpsec::test {

using Bytes = std::vector<std::uint8_t>;
using Ipv6Address = std::array<std::uint8_t, 16>;

inline constexpr std::size_t kEthernetMinFrame = 60;  // without FCS: shorter frames are padded
inline constexpr std::uint16_t kIkePort = 500;
inline constexpr std::uint16_t kNattPort = 4500;
inline constexpr std::uint8_t kIpprotoSctp = 132;

inline Bytes operator+(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

inline void put16(Bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v & 0xff));
}

inline void put32(Bytes& b, std::uint32_t v) {
    put16(b, static_cast<std::uint16_t>(v >> 16));
    put16(b, static_cast<std::uint16_t>(v & 0xffff));
}

inline Bytes filler(std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(0xa0 + i % 32);
    return b;
}

inline Bytes pad_to_min_frame(Bytes frame) {
    if (frame.size() < kEthernetMinFrame) frame.resize(kEthernetMinFrame, 0);
    return frame;
}

inline Bytes prefix(const Bytes& frame, std::size_t len) {
    return Bytes(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(len));
}

// "192.0.2.1" in host order.
inline std::uint32_t v4(const char* text) {
    in_addr a{};
    if (inet_pton(AF_INET, text, &a) != 1) throw std::invalid_argument(text);
    return ntohl(a.s_addr);
}

inline Ipv6Address v6(const char* text) {
    Ipv6Address a{};
    if (inet_pton(AF_INET6, text, a.data()) != 1) throw std::invalid_argument(text);
    return a;
}

inline Bytes eth(std::uint16_t ethertype, std::optional<std::uint16_t> vlan_id = std::nullopt) {
    Bytes b = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};  // dst, src
    if (vlan_id) {
        put16(b, ETH_P_8021Q);
        put16(b, *vlan_id);
    }
    put16(b, ethertype);
    return b;
}

struct Ipv4Fields {
    std::uint32_t src = 0xc0000201;   // 192.0.2.1
    std::uint32_t dst = 0xc0000202;   // 192.0.2.2
    std::uint16_t frag_off = 0x4000;  // DF
    std::uint8_t option_words = 0;    // 32-bit words of options (NOPs)
    std::optional<std::uint8_t> ihl;  // default: 5 + option_words
};

inline Ipv4Fields between(const char* src, const char* dst) {
    Ipv4Fields f;
    f.src = v4(src);
    f.dst = v4(dst);
    return f;
}

inline Ipv4Fields with_options(std::uint8_t words) {
    Ipv4Fields f;
    f.option_words = words;
    return f;
}

inline Ipv4Fields with_frag_off(std::uint16_t frag_off, Ipv4Fields f = {}) {
    f.frag_off = frag_off;
    return f;
}

inline Ipv4Fields with_ihl(std::uint8_t ihl) {
    Ipv4Fields f;
    f.ihl = ihl;
    return f;
}

inline Bytes ipv4(std::uint8_t protocol, const Bytes& payload, Ipv4Fields f = {}) {
    const std::uint8_t ihl = f.ihl.value_or(static_cast<std::uint8_t>(5 + f.option_words));
    const std::size_t header_len = (5u + f.option_words) * 4u;
    Bytes b;
    b.push_back(static_cast<std::uint8_t>(4 << 4 | ihl));
    b.push_back(0);
    put16(b, static_cast<std::uint16_t>(header_len + payload.size()));
    put16(b, 0x1234);  // identification
    put16(b, f.frag_off);
    b.push_back(64);
    b.push_back(protocol);
    put16(b, 0);  // checksum: the programs do not look at it
    put32(b, f.src);
    put32(b, f.dst);
    b.resize(header_len, 0x01);  // options: NOP
    return b + payload;
}

struct Ipv6Fields {
    Ipv6Address src = v6("2001:db8::1");
    Ipv6Address dst = v6("2001:db8::2");
};

inline Ipv6Fields between6(const char* src, const char* dst) { return {v6(src), v6(dst)}; }

inline Bytes ipv6(std::uint8_t next_header, const Bytes& payload, const Ipv6Fields& f = {}) {
    Bytes b;
    put32(b, 6u << 28);
    put16(b, static_cast<std::uint16_t>(payload.size()));
    b.push_back(next_header);
    b.push_back(64);
    b.insert(b.end(), f.src.begin(), f.src.end());
    b.insert(b.end(), f.dst.begin(), f.dst.end());
    return b + payload;
}

// Hop-by-hop, routing or destination options header of (units + 1) * 8 octets.
inline Bytes ipv6_opt(std::uint8_t next_header, std::uint8_t units, const Bytes& payload) {
    Bytes b = {next_header, units};
    b.resize((units + 1u) * 8u, 0);  // Pad1 options
    return b + payload;
}

inline Bytes ipv6_frag(std::uint8_t next_header, std::uint16_t offset_units, bool more,
                       const Bytes& payload) {
    Bytes b = {next_header, 0};
    put16(b, static_cast<std::uint16_t>(offset_units << 3 | (more ? 1 : 0)));
    put32(b, 0xcafe);
    return b + payload;
}

inline Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes& payload,
                 std::optional<std::uint16_t> length = std::nullopt) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put16(b, length.value_or(static_cast<std::uint16_t>(8 + payload.size())));
    put16(b, 0);
    return b + payload;
}

inline Bytes tcp(std::uint16_t sport, std::uint16_t dport, const Bytes& payload = filler(20)) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put32(b, 1000);            // sequence number
    put32(b, 0);               // acknowledgment
    put16(b, 5 << 12 | 0x02);  // data offset 5, SYN
    put16(b, 65535);           // window
    put32(b, 0);               // checksum, urgent pointer
    return b + payload;
}

inline Bytes sctp(std::uint16_t sport, std::uint16_t dport) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put32(b, 0x01020304);  // verification tag
    put32(b, 0);           // checksum
    return b + filler(16);
}

inline Bytes icmp(std::uint8_t type, std::uint8_t code = 0) { return Bytes{type, code, 0, 0} + filler(28); }

inline Bytes esp(std::uint32_t spi, std::uint32_t seq = 1, std::size_t body = 48) {
    Bytes b;
    put32(b, spi);
    put32(b, seq);
    return b + filler(body);
}

inline Bytes non_esp_marker_ike() { return Bytes{0, 0, 0, 0} + filler(28); }  // marker + IKE header
inline Bytes arp() { return filler(28); }

}  // namespace xdpsec::test
