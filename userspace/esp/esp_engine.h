// ESP encapsulation and decapsulation (RFC 4303, RFC 3948) on one packet in
// place. No I/O, no allocation, no locks: the caller owns the SA and buffer.
#pragma once

#include "esp/packet_buffer.h"
#include "esp/sa.h"

#include <cstdint>

namespace xdpsec::esp {

enum class EncapStatus : uint8_t {
    ok,        // buffer now holds the outer packet
    too_big,   // would exceed the MTU (or 64 KiB): inner_mtu says what fits (send ICMP)
    dropped,   // see drop
};

struct EncapResult {
    EncapStatus status = EncapStatus::ok;
    EspDrop drop = EspDrop::none;
    uint32_t inner_mtu = 0;     // with too_big: largest inner packet that fits (0: none)
    bool soft_expired = false;  // the SA passed a soft lifetime: rekey
};

struct DecapResult {
    EspDrop drop = EspDrop::none;  // none: buffer now holds the inner packet
    bool soft_expired = false;
    uint8_t next_header = 0;       // inner protocol (4/41 in tunnel mode)
    explicit operator bool() const { return drop == EspDrop::none; }
};

// Bytes ESP adds to an inner packet of inner_len bytes (outer IP header in
// tunnel mode, UDP, ESP header, IV, padding, trailer, ICV). In transport mode
// the padding assumes a bare IP header: IPv4 options or IPv6 extension headers
// in front of ESP can shift it by up to block - 4 bytes with AES-CBC.
uint32_t esp_overhead(const SaConfig& config, uint32_t inner_len);

// Protects the IP packet in buf with an outbound SA. mtu bounds the outer
// packet (0: only the 16-bit IP length bounds it).
EncapResult encapsulate(Sa& sa, PacketBuffer& buf, uint32_t mtu);

// Verifies and strips ESP from the outer IP packet in buf with an inbound SA.
DecapResult decapsulate(Sa& sa, PacketBuffer& buf);

}  // namespace xdpsec::esp
