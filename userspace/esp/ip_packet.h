// Just enough IPv4/IPv6 header handling for ESP: byte access, checksums and
// locating the upper-layer header behind IPv6 extension headers.
#pragma once

#include <cstdint>
#include <cstring>

namespace xdpsec::esp::ip {

inline constexpr uint8_t kProtoIpip = 4;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIpv6 = 41;
inline constexpr uint8_t kProtoEsp = 50;
inline constexpr uint8_t kProtoNone = 59;  // RFC 4303 §2.6 dummy packet
inline constexpr uint32_t kIpv4HeaderLen = 20;
inline constexpr uint32_t kIpv6HeaderLen = 40;
inline constexpr uint32_t kUdpHeaderLen = 8;

inline uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t load32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline void store16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
inline void store32(uint8_t* p, uint32_t v) {
    store16(p, static_cast<uint16_t>(v >> 16));
    store16(p + 2, static_cast<uint16_t>(v));
}

// One's-complement sum of len bytes (RFC 1071), not yet folded or inverted.
uint32_t checksum_add(uint32_t sum, const uint8_t* p, uint32_t len);
uint16_t checksum_fold(uint32_t sum);

// Recomputes the IPv4 header checksum in place.
void ipv4_set_checksum(uint8_t* hdr);

// UDP checksum over an IPv6 pseudo header (RFC 8200 §8.1), written in place.
void udp6_set_checksum(const uint8_t* ip6, uint8_t* udp, uint32_t udp_len);

inline bool ipv4_is_fragment(const uint8_t* hdr) { return (load16(hdr + 6) & 0x3fff) != 0; }

// Where the upper layer starts in an IPv6 packet.
struct Ipv6Walk {
    bool ok = false;           // false: truncated or malformed chain
    bool fragment = false;     // a Fragment header was met
    uint8_t proto = 0;         // the upper-layer protocol found
    uint32_t offset = 0;       // its offset from the IPv6 header
    uint32_t nh_offset = 0;    // offset of the byte that names it (6 = fixed header)
};

// Walks hop-by-hop, routing, fragment and destination options headers.
// insertion_point: stop where transport-mode ESP goes (RFC 4303 §3.1.1:
// after hop-by-hop, routing and fragment headers, before final destination
// options) instead of at the upper layer.
Ipv6Walk ipv6_walk(const uint8_t* ip6, uint32_t len, bool insertion_point);

}  // namespace xdpsec::esp::ip
