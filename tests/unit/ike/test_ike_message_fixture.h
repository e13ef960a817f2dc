// Helpers shared by the test_ike_message*.cpp files.
#pragma once

#include "esp/ip_address.h"
#include "ike/bytes.h"

#include <cstddef>
#include <string>
#include <string_view>

namespace ike_message_test {

using xdpsec::ike::Bytes;

// "0a 0b0c" -> {0x0a, 0x0b, 0x0c}; spaces and newlines are ignored.
inline Bytes hex(std::string_view h) {
    Bytes out;
    std::string digits;
    for (char c : h)
        if (c != ' ' && c != '\n') digits += c;
    for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
    return out;
}

// n bytes counting up from `first`.
inline Bytes seq(std::size_t n, uint8_t first) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(first + i);
    return b;
}

inline void put32(Bytes& b, std::size_t at, std::size_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

inline xdpsec::esp::IpAddress ip(const char* text) { return *xdpsec::esp::IpAddress::parse(text); }

// An IKE_SA_INIT request laid out as strongSwan sends it (SA with two IKE
// proposals, KE for curve25519, Nonce, NAT_DETECTION_SOURCE_IP and
// _DESTINATION_IP, IKEV2_FRAGMENTATION_SUPPORTED,
// SIGNATURE_HASH_ALGORITHMS, REDIRECT_SUPPORTED), built with the
// scapy.contrib.ikev2 layers at test-writing time; 312 bytes.
inline constexpr const char* kStrongswanInitHex =
    "a1b2c3d4e5f6071800000000000000002120220800000000000001382200007802000050010100080300000c"
    "0100000c800e00800300000c0100000c800e0100030000080300000c030000080300000d0300000802000005"
    "0300000802000006030000080400001f000000080400001300000024020100030300000c01000014800e0100"
    "0300000802000005000000080400001f28000028001f0000404142434445464748494a4b4c4d4e4f50515253"
    "5455565758595a5b5c5d5e5f29000024a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babb"
    "bcbdbebf2900001c000040043b8e0c6c1f1ad0a2f5f57f7c0e8b6c1d2e3f4a5b2900001c000040059a1c5e7b"
    "2d4f6081a3c5e7092b4d6f8193a5c7e9290000080000402e290000100000402f000200030004000500000008"
    "00004016";

}  // namespace ike_message_test
