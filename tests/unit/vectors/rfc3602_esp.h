// RFC 3602 §4, test cases 5 to 8: complete IPv4 packets protected with ESP
// and AES-128-CBC. The RFC's packets use encryption only: the post-encryption
// packet ends with the ciphertext and carries no ICV (its IP total length
// counts IP header, SPI, sequence number, IV and ciphertext, nothing more).
// Fields as the RFC lists them; hex as it prints it, in 32-bit groups.
#pragma once

#include <cstdint>
#include <string_view>

namespace kat {

struct Rfc3602Packet {
    std::string_view name;
    std::string_view key;
    uint32_t spi;
    uint32_t seq;
    std::string_view iv;
    bool tunnel;                     // false: transport mode
    std::string_view original_ip;    // original packet: IP header (20 bytes)
    std::string_view original_data;  // original packet: data
    std::string_view esp_ip;         // post-encryption packet: IP header
    std::string_view encrypted;      // post-encryption packet: encrypted data
};

inline constexpr Rfc3602Packet kRfc3602Packets[] = {
    {"RFC 3602 case 5 (transport, ping 192.168.123.100)",
     "90d382b4 10eeba7a d938c46c ec1a82bf",
     0x4321, 1,
     "e96e8c08 ab465763 fd098d45 dd3ff893",
     false,
     "45000054 08f20000 4001f9fe c0a87b03 c0a87b64",
     "08000ebd a70a0000 8e9c083d b95b0700 08090a0b 0c0d0e0f 10111213 14151617"
     "18191a1b 1c1d1e1f 20212223 24252627 28292a2b 2c2d2e2f 30313233 34353637",
     "4500007c 08f20000 4032f9a5 c0a87b03 c0a87b64",
     "f663c25d 325c18c6 a9453e19 4e120849 a4870b66 cc6b9965 330013b4 898dc856"
     "a4699e52 3a55db08 0b59ec3a 8e4b7e52 775b07d1 db34ed9c 538ab50c 551b874a"
     "a269add0 47ad2d59 13ac19b7 cfbad4a6"},
    {"RFC 3602 case 6 (transport, ping 192.168.123.100)",
     "90d382b4 10eeba7a d938c46c ec1a82bf",
     0x4321, 8,
     "69d08df7 d203329d b093fc49 24e5bd80",
     false,
     "45000030 08fe0000 4001fa16 c0a87b03 c0a87b64",
     "0800b5e8 a80a0500 a69c083d 0b660e00 77777777 77777777 77777777",
     "4500004c 08fe0000 4032f9c9 c0a87b03 c0a87b64",
     "f5199588 1ec4e0c4 488987ce 742e8109 689bb379 d2d750c0 d915dca3 46a89f75"},
    {"RFC 3602 case 7 (tunnel, ping 192.168.123.200)",
     "01234567 89abcdef 01234567 89abcdef",
     0x8765, 2,
     "f4e76524 4f6407ad f13dc138 0f673f37",
     true,
     "45000054 09040000 4001f988 c0a87b03 c0a87bc8",
     "08009f76 a90a0100 b49c083d 02a20400 08090a0b 0c0d0e0f 10111213 14151617"
     "18191a1b 1c1d1e1f 20212223 24252627 28292a2b 2c2d2e2f 30313233 34353637",
     "4500008c 09050000 4032f91e c0a87b03 c0a87bc8",
     "773b5241 a4c44922 5e4f3ce5 ed611b0c 237ca96c f74a9301 3c1b0ea1 a0cf70f8"
     "e4ecaec7 8ac53aad 7a0f022b 859243c6 47752e94 a859352b 8a4d4d2d ecd136e5"
     "c177f132 ad3fbfb2 201ac990 4c74ee0a 109e0ca1 e4dfe9d5 a100b842 f1c22f0d"},
    {"RFC 3602 case 8 (tunnel, ping 192.168.123.200)",
     "01234567 89abcdef 01234567 89abcdef",
     0x8765, 5,
     "85d47224 b5f3dd5d 2101d4ea 8dffab22",
     true,
     "45000044 090c0000 4001f990 c0a87b03 c0a87bc8",
     "0800d63c aa0a0200 c69c083d a3de0300 ffffffff ffffffff ffffffff ffffffff"
     "ffffffff ffffffff ffffffff ffffffff",
     "4500007c 090d0000 4032f926 c0a87b03 c0a87bc8",
     "15b92683 819596a8 047232cc 00f7048f e45318e1 1f8a0f62 ede3c3fc 61203bb5"
     "0f980a08 c9843fd3 a1b06d5c 07ff9639 b7eb7dfb 3512e5de 435e7207 ed971ef3"
     "d2726d9b 5ef6affc 6d17a0de cbb13892"},
};

}  // namespace kat
