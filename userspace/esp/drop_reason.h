// Why the ESP engine refused a packet. One enum for both directions so that
// per-SA counters, logs and `xdpsecctl sa list` use the same names.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace xdpsec::esp {

enum class EspDrop : uint8_t {
    none = 0,
    // decapsulation
    truncated,          // shorter than ESP header + IV + trailer + ICV, or a bad length field
    bad_spi,            // packet SPI is not this SA's
    auth_failed,        // ICV mismatch (RFC 4303 §3.4.4)
    replayed,           // sequence number already seen inside the window
    too_old,            // sequence number left of the window
    bad_padding,        // pad length beyond payload or pad bytes not 1, 2, 3, ...
    bad_next_header,    // next header not allowed in this mode
    bad_inner_packet,   // tunnel mode: inner packet not IPv4/IPv6 or inconsistent length
    ecn_drop,           // RFC 6040: outer CE on a Not-ECT inner packet
    dummy_packet,       // next header 59 (RFC 4303 §2.6 TFC dummy): discarded by design
    fragment,           // an IP fragment: ESP needs whole datagrams (no reassembly here)
    // encapsulation
    not_ip,             // input is not an IPv4/IPv6 packet we can protect
    no_room,            // buffer lacks head- or tailroom for the ESP overhead
    seq_overflow,       // sequence counter exhausted: rekey needed, never wrap (RFC 4303 §3.3.3)
    // both
    lifetime_expired,   // hard byte/packet lifetime reached
    crypto_error,       // OpenSSL refused an operation (should not happen)
    count_
};

inline constexpr std::size_t kEspDropCount = static_cast<std::size_t>(EspDrop::count_);

inline constexpr std::array<std::string_view, kEspDropCount> kEspDropNames = {
    "none",       "truncated",        "bad_spi",     "auth_failed",      "replayed",
    "too_old",    "bad_padding",      "bad_next_header", "bad_inner_packet", "ecn_drop",
    "dummy_packet", "fragment",       "not_ip",         "no_room",     "seq_overflow",     "lifetime_expired",
    "crypto_error",
};

constexpr std::string_view to_string(EspDrop d) {
    auto i = static_cast<std::size_t>(d);
    return i < kEspDropCount ? kEspDropNames[i] : std::string_view{"unknown"};
}

}  // namespace xdpsec::esp
