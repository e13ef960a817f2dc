// RFC 7634 Appendix A: an IPv4 ping protected by a tunnel-mode ESP SA with
// ChaCha20-Poly1305. Byte strings as the appendix prints them.
#pragma once

#include <cstdint>
#include <string_view>

namespace kat::rfc7634 {

// KEYMAT: 32-byte ChaCha20 key followed by the 4-byte salt (RFC 7634 §2).
inline constexpr std::string_view kKeymat =
    "80 81 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f"
    "90 91 92 93 94 95 96 97 98 99 9a 9b 9c 9d 9e 9f"
    "a0 a1 a2 a3";
inline constexpr uint32_t kSpi = 0x01020304;
inline constexpr uint32_t kSeq = 5;
inline constexpr std::string_view kIv = "10 11 12 13 14 15 16 17";

// The inner packet: ICMP echo from 198.51.100.5 to 192.0.2.5.
inline constexpr std::string_view kInnerPacket =
    "45 00 00 54 a6 f2 00 00 40 01 e7 78 c6 33 64 05"
    "c0 00 02 05 08 00 5b 7a 3a 08 00 00 55 3b ec 10"
    "00 07 36 27 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13"
    "14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23"
    "24 25 26 27 28 29 2a 2b 2c 2d 2e 2f 30 31 32 33"
    "34 35 36 37";
// ESP trailer after the inner packet: padding 01 02, pad length 2, next header 4.
inline constexpr std::string_view kTrailer = "01 02 02 04";

// The ESP packet: outer IPv4 header (203.0.113.153 to 203.0.113.5),
// SPI, sequence number, IV, ciphertext and the 16-byte tag.
inline constexpr std::string_view kOuterHeader =
    "45 00 00 8c 23 45 00 00 40 32 de 5b cb 00 71 99"
    "cb 00 71 05";
inline constexpr std::string_view kCiphertext =
    "24 03 94 28 b9 7f 41 7e 3c 13 75 3a 4f 05 08 7b"
    "67 c3 52 e6 a7 fa b1 b9 82 d4 66 ef 40 7a e5 c6"
    "14 ee 80 99 d5 28 44 eb 61 aa 95 df ab 4c 02 f7"
    "2a a7 1e 7c 4c 4f 64 c9 be fe 2f ac c6 38 e8 f3"
    "cb ec 16 3f ac 46 9b 50 27 73 f6 fb 94 e6 64 da"
    "91 65 b8 28 29 f6 41 e0";
inline constexpr std::string_view kTag = "76 aa a8 26 6b 7f b0 f7 b1 1b 36 99 07 e1 ad 43";
inline constexpr std::string_view kLocal = "203.0.113.5";     // receiver: outer destination
inline constexpr std::string_view kRemote = "203.0.113.153";  // sender: outer source

}  // namespace kat::rfc7634
