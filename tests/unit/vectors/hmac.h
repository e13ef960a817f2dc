// HMAC known answers for the ESP integrity algorithms.
//  - RFC 2202 §3, HMAC-SHA-1 test cases 1, 3 and 5: those with a 20-byte key,
//    the key size of HMAC-SHA1-96 (RFC 2404 §3). Case 5 is printed truncated
//    to 96 bits ("digest-96").
//  - RFC 4231 §4, test cases 1-7 for HMAC-SHA-256, -384 and -512. Case 5 is
//    printed truncated to 128 bits.
//  - RFC 4868 §2.7.2, the authenticator test cases, whose keys have the sizes
//    ESP uses (32, 48, 64 bytes); given as the full PRF output, which
//    HMAC-SHA-256-128 / -384-192 / -512-256 truncate to 16 / 24 / 32 bytes.
//    AUTH512-4 is left out: its printed values are known to be inconsistent
//    (Nettle's test suite skips it for that reason).
// Keys, data and MACs in hex; ASCII data is given as its bytes.
#pragma once

#include "esp/algorithm.h"

#include <string_view>

namespace kat::hmac {

struct Sha1Case {
    int number;
    std::string_view key;
    std::string_view data;
    std::string_view mac;  // full 160 bits, or 96 for case 5
};

inline constexpr Sha1Case kRfc2202[] = {
    {1,
     "0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b",
     "48692054 68657265",
     "b6173186 55057264 e28bc0b6 fb378c8e f146be00"},
    {3,
     "aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa",
     "dddddddd dddddddd dddddddd dddddddd dddddddd dddddddd dddddddd dddddddd"
     "dddddddd dddddddd dddddddd dddddddd dddd",
     "125d7342 b9ac11cd 91a39af4 8aa17b4f 63f175d3"},
    {5,
     "0c0c0c0c 0c0c0c0c 0c0c0c0c 0c0c0c0c 0c0c0c0c",
     "54657374 20576974 68205472 756e6361 74696f6e",
     "4c1a0342 4b55e07f e7f27be1"},
};

struct Rfc4231Case {
    int number;
    std::string_view key;
    std::string_view data;
    std::string_view sha256, sha384, sha512;  // 128-bit truncations in case 5
};

inline constexpr Rfc4231Case kRfc4231[] = {
    {1,
     "0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b",
     "48692054 68657265",
     "b0344c61 d8db3853 5ca8afce af0bf12b 881dc200 c9833da7 26e9376c 2e32cff7",
     "afd03944 d8489562 6b0825f4 ab46907f 15f9dadb e4101ec6 82aa034c 7cebc59c"
     "faea9ea9 076ede7f 4af152e8 b2fa9cb6",
     "87aa7cde a5ef619d 4ff0b424 1a1d6cb0 2379f4e2 ce4ec278 7ad0b305 45e17cde"
     "daa833b7 d6b8a702 038b274e aea3f4e4 be9d914e eb61f170 2e696c20 3a126854"},
    {2,
     "4a656665",
     "77686174 20646f20 79612077 616e7420 666f7220 6e6f7468 696e673f",
     "5bdcc146 bf60754e 6a042426 089575c7 5a003f08 9d273983 9dec58b9 64ec3843",
     "af45d2e3 76484031 617f78d2 b58a6b1b 9c7ef464 f5a01b47 e42ec373 6322445e"
     "8e2240ca 5e69e2c7 8b3239ec fab21649",
     "164b7a7b fcf819e2 e395fbe7 3b56e0a3 87bd6422 2e831fd6 10270cd7 ea250554"
     "9758bf75 c05a994a 6d034f65 f8f0e6fd caeab1a3 4d4a6b4b 636e070a 38bce737"},
    {3,
     "aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa",
     "dddddddd dddddddd dddddddd dddddddd dddddddd dddddddd dddddddd dddddddd"
     "dddddddd dddddddd dddddddd dddddddd dddd",
     "773ea91e 36800e46 854db8eb d09181a7 2959098b 3ef8c122 d9635514 ced565fe",
     "88062608 d3e6ad8a 0aa2ace0 14c8a86f 0aa635d9 47ac9feb e83ef4e5 5966144b"
     "2a5ab39d c13814b9 4e3ab6e1 01a34f27",
     "fa73b008 9d56a284 efb0f075 6c890be9 b1b5dbdd 8ee81a36 55f83e33 b2279d39"
     "bf3e8482 79a722c8 06b485a4 7e67c807 b946a337 bee89426 74278859 e13292fb"},
    {4,
     "01020304 05060708 090a0b0c 0d0e0f10 11121314 15161718 19",
     "cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd"
     "cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd cdcd",
     "82558a38 9a443c0e a4cc8198 99f2083a 85f0faa3 e578f807 7a2e3ff4 6729665b",
     "3e8a69b7 783c2585 1933ab62 90af6ca7 7a998148 0850009c c5577c6e 1f573b4e"
     "6801dd23 c4a7d679 ccf8a386 c674cffb",
     "b0ba4656 37458c69 90e5a8c5 f61d4af7 e576d97f f94b872d e76f8050 361ee3db"
     "a91ca5c1 1aa25eb4 d679275c c5788063 a5f19741 120c4f2d e2adebeb 10a298dd"},
    {5,
     "0c0c0c0c 0c0c0c0c 0c0c0c0c 0c0c0c0c 0c0c0c0c",
     "54657374 20576974 68205472 756e6361 74696f6e",
     "a3b61674 73100ee0 6e0c796c 2955552b",
     "3abf34c3 503b2a23 a46efc61 9baef897",
     "415fad62 71580a53 1d4179bc 891d87a6"},
    {6,
     "aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa"
     "aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa"
     "aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa"
     "aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa"
     "aaaaaa",
     "54657374 20557369 6e67204c 61726765 72205468 616e2042 6c6f636b 2d53697a"
     "65204b65 79202d20 48617368 204b6579 20466972 7374",
     "60e43159 1ee0b67f 0d8a26aa cbf5b77f 8e0bc621 3728c514 0546040f 0ee37f54",
     "4ece0844 85813e90 88d2c63a 041bc5b4 4f9ef101 2a2b588f 3cd11f05 033ac4c6"
     "0c2ef6ab 4030fe82 96248df1 63f44952",
     "80b24263 c7c1a3eb b71493c1 dd7be8b4 9b46d1f4 1b4aeec1 121b0137 83f8f352"
     "6b56d037 e05f2598 bd0fd221 5d6a1e52 95e64f73 f63f0aec 8b915a98 5d786598"},
    {7,
     "aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa"
     "aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa"
     "aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa"
     "aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa"
     "aaaaaa",
     "54686973 20697320 61207465 73742075 73696e67 2061206c 61726765 72207468"
     "616e2062 6c6f636b 2d73697a 65206b65 7920616e 64206120 6c617267 65722074"
     "68616e20 626c6f63 6b2d7369 7a652064 6174612e 20546865 206b6579 206e6565"
     "64732074 6f206265 20686173 68656420 6265666f 72652062 65696e67 20757365"
     "64206279 20746865 20484d41 4320616c 676f7269 74686d2e",
     "9b09ffa7 1b942fcb 27635fbc d5b0e944 bfdc6364 4f071393 8a7f5153 5c3a35e2",
     "6617178e 941f020d 351e2f25 4e8fd32c 602420fe b0b8fb9a dccebb82 461e99c5"
     "a678cc31 e799176d 3860e611 0c46523e",
     "e37b6a77 5dc87dba a4dfa9f9 6e5e3ffd debd71f8 86728986 5df5a32d 20cdc944"
     "b6022cac 3c4982b1 0d5eeb55 c3e4de15 134676fb 6de04460 65c97440 fa8c6a58"},
};

struct Rfc4868Case {
    std::string_view name;
    xdpsec::esp::Integrity integrity;
    std::string_view key;
    std::string_view data;
    std::string_view prf;  // PRF-HMAC-SHA-* output; the authenticator is its left half
};

inline constexpr Rfc4868Case kRfc4868[] = {
    {"AUTH256-1", xdpsec::esp::Integrity::hmac_sha256_128,
     "0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b",
     "48692054 68657265",
     "198a607e b44bfbc6 9903a0f1 cf2bbdc5 ba0aa3f3 d9ae3c1c 7a3b1696 a0b68cf7"},
    {"AUTH256-2", xdpsec::esp::Integrity::hmac_sha256_128,
     "4a656665 4a656665 4a656665 4a656665 4a656665 4a656665 4a656665 4a656665",
     "77686174 20646f20 79612077 616e7420 666f7220 6e6f7468 696e673f",
     "167f9285 88c5cc2e ef8e3093 caa0e87c 9ff566a1 4794aa61 648d8162 1a2a40c6"},
    {"AUTH256-3", xdpsec::esp::Integrity::hmac_sha256_128,
     "aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa",
     "dddddddd dddddddd dddddddd dddddddd dddddddd dddddddd dddddddd dddddddd"
     "dddddddd dddddddd dddddddd dddddddd dddd",
     "cdcb1220 d1ecccea 91e53aba 3092f962 e549fe6c e9ed7fdc 43191fbd e45c30b0"},
    {"AUTH256-4", xdpsec::esp::Integrity::hmac_sha256_128,
     "01020304 05060708 090a0b0c 0d0e0f10 11121314 15161718 191a1b1c 1d1e1f20",
     "cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd"
     "cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd cdcd",
     "372efcf9 b40b35c2 115b1346 903d2ef4 2fced46f 0846e725 7bb156d3 d7b30d3f"},
    {"AUTH384-1", xdpsec::esp::Integrity::hmac_sha384_192,
     "0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b"
     "0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b",
     "48692054 68657265",
     "b6a8d563 6f5c6a72 24f9977d cf7ee6c7 fb6d0c48 cbdee973 7a959796 489bddbc"
     "4c5df61d 5b3297b4 fb68dab9 f1b582c2"},
    {"AUTH384-2", xdpsec::esp::Integrity::hmac_sha384_192,
     "4a656665 4a656665 4a656665 4a656665 4a656665 4a656665 4a656665 4a656665"
     "4a656665 4a656665 4a656665 4a656665",
     "77686174 20646f20 79612077 616e7420 666f7220 6e6f7468 696e673f",
     "2c735397 4f1842fd 66d53c45 2ca42122 b28c0b59 4cfb184d a86a368e 9b8e16f5"
     "349524ca 4e82400c bde0686d 403371c9"},
    {"AUTH384-3", xdpsec::esp::Integrity::hmac_sha384_192,
     "aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa"
     "aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa",
     "dddddddd dddddddd dddddddd dddddddd dddddddd dddddddd dddddddd dddddddd"
     "dddddddd dddddddd dddddddd dddddddd dddd",
     "809f439b e0027432 1d4a5386 52164b53 554a5081 84a0c316 0353e342 8597003d"
     "35914a18 770f9443 98705494 4b7c4b4a"},
    {"AUTH384-4", xdpsec::esp::Integrity::hmac_sha384_192,
     "01020304 05060708 090a0b0c 0d0e0f10 11121314 15161718 191a1b1c 1d1e1f20"
     "0a0b0c0d 0e0f1011 12131415 16171819",
     "cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd"
     "cdcdcdcd cdcdcdcd cdcdcdcd cdcdcdcd cdcd",
     "5b540085 c6e63580 96532b24 93609ed1 cb298f77 4f87bb5c 2ebf182c 83cc7428"
     "707fb92e ab2536a5 81225822 8bc96687"},
    {"AUTH512-1", xdpsec::esp::Integrity::hmac_sha512_256,
     "0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b"
     "0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b 0b0b0b0b",
     "48692054 68657265",
     "637edc6e 01dce7e6 742a9945 1aae82df 23da3e92 439e590e 43e761b3 3e910fb8"
     "ac2878eb d5803f6f 0b61dbce 5e251ff8 789a4722 c1be65ae a45fd464 e89f8f5b"},
    {"AUTH512-2", xdpsec::esp::Integrity::hmac_sha512_256,
     "4a656665 4a656665 4a656665 4a656665 4a656665 4a656665 4a656665 4a656665"
     "4a656665 4a656665 4a656665 4a656665 4a656665 4a656665 4a656665 4a656665",
     "77686174 20646f20 79612077 616e7420 666f7220 6e6f7468 696e673f",
     "cb370917 ae8a7ce2 8cfd1d8f 4705d614 1c173b2a 9362c15d f235dfb2 51b15454"
     "6aa334ae 9fb9afc2 184932d8 695e397b fa0ffb93 466cfcce aae38c83 3b7dba38"},
    {"AUTH512-3", xdpsec::esp::Integrity::hmac_sha512_256,
     "aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa"
     "aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa",
     "dddddddd dddddddd dddddddd dddddddd dddddddd dddddddd dddddddd dddddddd"
     "dddddddd dddddddd dddddddd dddddddd dddd",
     "2ee7acd7 83624ca9 398710f3 ee05ae41 b9f9b051 0c87e49e 586cc9bf 961733d8"
     "623c7b55 cebefccf 02d5581a cc1c9d5f b1ff68a1 de45509f be4da9a4 33922655"},
};

}  // namespace kat::hmac
