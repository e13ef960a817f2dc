// AES-GCM and AES-GMAC known answers.
//  - McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", Appendix B:
//    test cases 1-4 (AES-128) and 13-16 (AES-256). Cases 5, 6, 17 and 18 use
//    64- or 480-bit IVs and cases 7-12 AES-192, neither of which ESP uses.
//  - draft-mcgrew-gcm-test-01, "Test Cases for the use of GCM and GMAC in IPsec
//    ESP": complete ESP packets from the SPI to the ICV. GCM cases 1-6 and
//    8-14 (case 7 is AES-192) and the GMAC case with key 4c80cdef... (RFC 4543,
//    ENCR_NULL_AUTH_AES_GMAC). The draft's plaintexts are ESP payloads with
//    their trailer; their next header is 1 throughout, also where the payload
//    is an IPv4 packet.
#pragma once

#include <cstdint>
#include <string_view>

namespace kat::gcm {

struct SpecCase {
    int number;
    std::string_view key;         // K
    std::string_view plaintext;   // P
    std::string_view iv;          // IV (96 bits)
    std::string_view aad;         // A
    std::string_view ciphertext;  // C
    std::string_view tag;         // T
};

inline constexpr SpecCase kSpecCases[] = {
    {1,
     "00000000 00000000 00000000 00000000",
     "",
     "00000000 00000000 00000000",
     "",
     "",
     "58e2fcce fa7e3061 367f1d57 a4e7455a"},
    {2,
     "00000000 00000000 00000000 00000000",
     "00000000 00000000 00000000 00000000",
     "00000000 00000000 00000000",
     "",
     "0388dace 60b6a392 f328c2b9 71b2fe78",
     "ab6e47d4 2cec13bd f53a67b2 1257bddf"},
    {3,
     "feffe992 8665731c 6d6a8f94 67308308",
     "d9313225 f88406e5 a55909c5 aff5269a"
     "86a7a953 1534f7da 2e4c303d 8a318a72"
     "1c3c0c95 95680953 2fcf0e24 49a6b525"
     "b16aedf5 aa0de657 ba637b39 1aafd255",
     "cafebabe facedbad decaf888",
     "",
     "42831ec2 21777424 4b7221b7 84d0d49c"
     "e3aa212f 2c02a4e0 35c17e23 29aca12e"
     "21d514b2 5466931c 7d8f6a5a ac84aa05"
     "1ba30b39 6a0aac97 3d58e091 473f5985",
     "4d5c2af3 27cd64a6 2cf35abd 2ba6fab4"},
    {4,
     "feffe992 8665731c 6d6a8f94 67308308",
     "d9313225 f88406e5 a55909c5 aff5269a"
     "86a7a953 1534f7da 2e4c303d 8a318a72"
     "1c3c0c95 95680953 2fcf0e24 49a6b525"
     "b16aedf5 aa0de657 ba637b39",
     "cafebabe facedbad decaf888",
     "feedface deadbeef feedface deadbeef"
     "abaddad2",
     "42831ec2 21777424 4b7221b7 84d0d49c"
     "e3aa212f 2c02a4e0 35c17e23 29aca12e"
     "21d514b2 5466931c 7d8f6a5a ac84aa05"
     "1ba30b39 6a0aac97 3d58e091",
     "5bc94fbc 3221a5db 94fae95a e7121a47"},
    {13,
     "00000000 00000000 00000000 00000000"
     "00000000 00000000 00000000 00000000",
     "",
     "00000000 00000000 00000000",
     "",
     "",
     "530f8afb c74536b9 a963b4f1 c4cb738b"},
    {14,
     "00000000 00000000 00000000 00000000"
     "00000000 00000000 00000000 00000000",
     "00000000 00000000 00000000 00000000",
     "00000000 00000000 00000000",
     "",
     "cea7403d 4d606b6e 074ec5d3 baf39d18",
     "d0d1c8a7 99996bf0 265b98b5 d48ab919"},
    {15,
     "feffe992 8665731c 6d6a8f94 67308308"
     "feffe992 8665731c 6d6a8f94 67308308",
     "d9313225 f88406e5 a55909c5 aff5269a"
     "86a7a953 1534f7da 2e4c303d 8a318a72"
     "1c3c0c95 95680953 2fcf0e24 49a6b525"
     "b16aedf5 aa0de657 ba637b39 1aafd255",
     "cafebabe facedbad decaf888",
     "",
     "522dc1f0 99567d07 f47f37a3 2a84427d"
     "643a8cdc bfe5c0c9 7598a2bd 2555d1aa"
     "8cb08e48 590dbb3d a7b08b10 56828838"
     "c5f61e63 93ba7a0a bcc9f662 898015ad",
     "b094dac5 d93471bd ec1a5022 70e3cc6c"},
    {16,
     "feffe992 8665731c 6d6a8f94 67308308"
     "feffe992 8665731c 6d6a8f94 67308308",
     "d9313225 f88406e5 a55909c5 aff5269a"
     "86a7a953 1534f7da 2e4c303d 8a318a72"
     "1c3c0c95 95680953 2fcf0e24 49a6b525"
     "b16aedf5 aa0de657 ba637b39",
     "cafebabe facedbad decaf888",
     "feedface deadbeef feedface deadbeef"
     "abaddad2",
     "522dc1f0 99567d07 f47f37a3 2a84427d"
     "643a8cdc bfe5c0c9 7598a2bd 2555d1aa"
     "8cb08e48 590dbb3d a7b08b10 56828838"
     "c5f61e63 93ba7a0a bcc9f662",
     "76fc6ece 0f4e1768 cddf8853 bb2d551b"},
};

struct EspCase {
    int number;
    std::string_view key;        // AES key, without the salt
    std::string_view nonce;      // salt (4 bytes) || IV (8 bytes)
    uint32_t spi;
    uint64_t seq;
    bool esn;                    // the draft gives a 64-bit sequence number (12-byte AAD)
    std::string_view plaintext;  // ESP payload and trailer
    std::string_view packet;     // SPI, SN, IV, ciphertext, ICV
};

inline constexpr EspCase kEspCases[] = {
    {1,
     "4c80cdef bb5d10da 906ac73c 3613a634",
     "2e443b68 4956ed7e 3b244cfe",
     0x00004321, 0x8765432100000000, true,
     "45000048 699a0000 80114db7 c0a80102"
     "c0a80101 0a9bf156 38d30100 00010000"
     "00000000 045f7369 70045f75 64700373"
     "69700963 79626572 63697479 02646b00"
     "00210001 01020201",
     "00004321 00000000 4956ed7e 3b244cfe"
     "fecf537e 729d5b07 dc30df52 8dd22b76"
     "8d1b9873 6696a6fd 348509fa 13ceac34"
     "cfa2436f 14a3f3cf 65925bf1 f4a13c5d"
     "15b21e18 84f5ff62 47aeabb7 86b93bce"
     "61bc17d7 68fd9732 45901814 8f6cbe72"
     "2fd04796 562dfdb4"},
    {2,
     "feffe992 8665731c 6d6a8f94 67308308",
     "cafebabe facedbad decaf888",
     0x0000a5f8, 0x0000000a, false,
     "4500003e 698f0000 80114dcc c0a80102"
     "c0a80101 0a980035 002a2343 b2d00100"
     "00010000 00000000 03736970 09637962"
     "65726369 74790264 6b000001 00010001",
     "0000a5f8 0000000a facedbad decaf888"
     "deb22cd9 b07c72c1 6e3a65be eb8df304"
     "a5a5897d 33ae530f 1ba76d5d 114d2a5c"
     "3de81827 c10e9a4f 51330d0e ec416642"
     "cfbb85a5 b47e48a4 ec3b9ba9 5d918bd1"
     "83b70d3a a8bc6ee4 c309e9d8 5a41ad4a"},
    {3,
     "abbccdde f0011223 34455667 78899aab"
     "abbccdde f0011223 34455667 78899aab",
     "11223344 01020304 05060708",
     0x4a2cbfe3, 0x00000002, false,
     "45000030 69a64000 80062690 c0a80102"
     "9389155e 0a9e008b 2dc57ee0 00000000"
     "70024000 20bf0000 020405b4 01010402"
     "01020201",
     "4a2cbfe3 00000002 01020304 05060708"
     "ff425c9b 724599df 7a3bcd51 0194e00d"
     "6a78107f 1b0b1cbf 06efae9d 65a5d763"
     "748a6379 85771d34 7f054565 9f14e99d"
     "ef842d8e b335f4ee cfdbf831 824b4c49"
     "15956c96"},
    {4,
     "00000000 00000000 00000000 00000000",
     "00000000 00000000 00000000",
     0x00000000, 0x00000001, false,
     "4500003c 99c50000 8001cb7a 40679318"
     "01010101 0800075c 02004400 61626364"
     "65666768 696a6b6c 6d6e6f70 71727374"
     "75767761 62636465 66676869 01020201",
     "00000000 00000001 00000000 00000000"
     "4688daf2 f973a392 732909c3 31d56d60"
     "f694abaa 414b5e7f f5fdcdff f5e9a284"
     "45647649 2719ffb6 4de7d9dc a1e1d894"
     "bc3bd578 73ed4d18 1d19d4d5 c8c18af3"
     "f821d496 eeb096e9 8ad2b69e 4799c71d"},
    {5,
     "3de09874 b388e649 1988d0c3 607eae1f",
     "57690e43 4e280000 a2fca1a3",
     0x42f67e3f, 0x1010101010101010, true,
     "4500003c 99c30000 8001cb7c 40679318"
     "01010101 0800085c 02004300 61626364"
     "65666768 696a6b6c 6d6e6f70 71727374"
     "75767761 62636465 66676869 01020201",
     "42f67e3f 10101010 4e280000 a2fca1a3"
     "fba2caa4 853cf9f0 f22cb10d 86dd83b0"
     "fec75691 cf1a04b0 0d1138ec 9c357917"
     "65acbd87 01ad7984 5bf9fe3f ba487bc9"
     "1755e666 2b4c8d0d 1f5e2273 9530320a"
     "e0d731cc 978ecafa eae88f00 e80d6e48"},
    {6,
     "3de09874 b388e649 1988d0c3 607eae1f",
     "57690e43 4e280000 a2fca1a3",
     0x42f67e3f, 0x1010101010101010, true,
     "4500001c 42a20000 8001441f 406793b6"
     "e0000002 0a00f5ff 01020201",
     "42f67e3f 10101010 4e280000 a2fca1a3"
     "fba2ca84 5e5df9f0 f22c3e6e 86dd831e"
     "1fc65792 cd1af913 0e1379ed 369f071f"
     "35e034be 95f112e4 e7d05d35"},
    {8,
     "abbccdde f0011223 34455667 78899aab",
     "decaf888 cafedeba ceface74",
     0x00000100, 0x0000000000000001, true,
     "45000049 33ba0000 7f119106 c3fb1d10"
     "c2b1d326 c02831ce 0035dd7b 800302d5"
     "00004e20 001e8c18 d75b81dc 91baa047"
     "6b91b924 b280389d 92c963ba c046ec95"
     "9b6266c0 4722b149 23010101",
     "00000100 00000001 cafedeba ceface74"
     "18a6fd42 f72cbf4a b2a2ea90 1f73d814"
     "e3e7f243 d95412e1 c349c1d2 fbec168f"
     "9190feeb af2cb019 84e65863 965d7472"
     "b79da345 e0e78019 1f0d2f0e 0f496c22"
     "6f2127b2 7db35724 e7845d68 651f57e6"
     "5f354f75 ff170157 69623436"},
    {9,
     "abbccdde f0011223 34455667 78899aab"
     "abbccdde f0011223 34455667 78899aab",
     "73616c74 616e6401 69766563",
     0x17405e67, 0x156f3126dd0db99b, true,
     "45080028 732c0000 4006e9f9 0a010612"
     "0a01038f 06b88023 dd6bafbe cb712602"
     "50101f64 6d540001",
     "17405e67 dd0db99b 616e6401 69766563"
     "f2d69ecd bd5a0d5b 8d5ef38b ad4da58d"
     "1f278fde 98ef6754 9d524a30 18d9a57f"
     "f4d3a31c e673119e 451626c2 415771e3"
     "b7eebca6 14c89b35"},
    {10,
     "3de09874 b388e649 1988d0c3 607eae1f",
     "57690e43 4e280000 a2fca1a3",
     0x42f67e3f, 0x1010101010101010, true,
     "45000049 333e0000 7f119182 c3fb1d10"
     "c2b1d326 c02831ce 0035cb45 8003025b"
     "000001e0 001e8c18 d65759d5 2284a035"
     "2c71475c 8880391c 764d6e5e e0496b32"
     "5ae270c0 38994939 15010101",
     "42f67e3f 10101010 4e280000 a2fca1a3"
     "fba2cad1 2fc1f9f0 0d3cebf3 05410db8"
     "3d7784b6 07323d22 0f24b0a9 7d541828"
     "00cadb0f 68d99ef0 e0c0c89a e9bea888"
     "4e52d65b c1afd074 0f742444 747b5b39"
     "ab533163 aad4550e e5160975 cdb608c5"
     "76918960 9763b8e1 8caa81e2"},
    {11,
     "abbccdde f0011223 34455667 78899aab"
     "abbccdde f0011223 34455667 78899aab",
     "73616c74 616e6401 69766563",
     0x17405e67, 0x156f3126dd0db99b, true,
     "63697363 6f017275 6c657301 74686501"
     "6e657477 65016465 66696e65 01746865"
     "74656368 6e6f6c6f 67696573 01746861"
     "7477696c 6c016465 66696e65 746f6d6f"
     "72726f77 01020201",
     "17405e67 dd0db99b 616e6401 69766563"
     "d4b7ed86 a1777f2e a13d6973 d324c69e"
     "7b43f826 fb568312 26508beb d2dceb18"
     "d0a6df10 e5487df0 74113e14 c641024e"
     "3e6773d9 1a62ee42 9b043a10 e3efe6b0"
     "12a49363 412364f8 c0cac587 f249e56b"
     "11e24f30 e44ccc76"},
    {12,
     "7d773d00 c144c525 ac619d18 c84a3f47",
     "d9664267 43457e91 82443bc6",
     0x335467ae, 0xffffffff, false,
     "01020201",
     "335467ae ffffffff 43457e91 82443bc6"
     "437f866b cb3f699f e9b0822b ac961c45"
     "04bef270"},
    {13,
     "abbccdde f0011223 34455667 78899aab",
     "decaf888 cafedeba ceface74",
     0x00000100, 0x0000000000000001, true,
     "746f0162 65016f72 016e6f74 01746f01"
     "62650001",
     "00000100 00000001 cafedeba ceface74"
     "29c9fc69 a197d038 ccdd14e2 ddfcaa05"
     "43332164 41250352 4303ed3c 6c5f2838"
     "43af8c3e"},
    {14,
     "6c656761 6c697a65 6d617269 6a75616e"
     "61616e64 646f6974 6265666f 72656961",
     "7475726e 33302169 6765746d",
     0x796b6963, 0xffffffffffffffff, true,
     "45000030 da3a0000 8001df3b c0a80005"
     "c0a80001 0800c6cd 02000700 61626364"
     "65666768 696a6b6c 6d6e6f70 71727374"
     "01020201",
     "796b6963 ffffffff 33302169 6765746d"
     "f97ab2aa 356d8edc e17644ac 8c78e25d"
     "d24dedbb 29ebf1b6 4a274b39 b49c3a86"
     "4cd3d78c a4ae68a3 2b42458f b57dbe82"
     "1dcc63b9 d0937ba2 945f6693 68661a32"
     "9fb4c053"},
};

// The draft's GMAC test case: ESP with ENCR_NULL_AUTH_AES_GMAC, payload in the
// clear, ICV over SPI, SN, IV and payload (RFC 4543 §3.3).
namespace gmac {
inline constexpr std::string_view kKey = "4c80cdef bb5d10da 906ac73c 3613a634";
inline constexpr std::string_view kSalt = "22433c64";
inline constexpr uint32_t kSpi = 0x00004321;
inline constexpr uint32_t kSeq = 7;
inline constexpr std::string_view kIv = "00000000 00000000";
inline constexpr std::string_view kPayload =
    "45000030 da3a0000 8001df3b c0a80005"
    "c0a80001 0800c6cd 02000700 61626364"
    "65666768 696a6b6c 6d6e6f70 71727374"
    "01020201";
inline constexpr std::string_view kIcv = "f2a9a836 e155106a a8dcd618 e4099aaa";
}  // namespace gmac

}  // namespace kat::gcm
