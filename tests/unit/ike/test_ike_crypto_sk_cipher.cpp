// The SK payload protection (RFC 7296 §3.14, RFC 5282, RFC 7634). Known
// answers were computed at test-writing time with python's `cryptography`
// (AES-CBC, AESGCM, ChaCha20Poly1305) and `hmac`, building the message
// independently from the RFC text: a 28-byte IKE header and the SK generic
// payload header (body_offset 32), fixed keys and IVs.
#include "ike/crypto/ike_keys.h"
#include "ike/crypto/sk_cipher.h"
#include "ike/ike_types.h"
#include "test_ike_crypto_hex.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

using namespace xdpsec::ike;
using test::hex;
using test::to_hex;

namespace {

constexpr std::size_t kBodyOffset = 32;

Bytes pattern(std::size_t n, unsigned a, unsigned b) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(a * i + b);
    return out;
}

struct Suite {
    uint16_t encr;
    uint16_t key_bits;
    uint16_t integ;
};

const Suite kSuites[] = {
    {encr::aes_cbc, 128, integ::hmac_sha2_256_128}, {encr::aes_cbc, 128, integ::hmac_sha2_384_192},
    {encr::aes_cbc, 128, integ::hmac_sha2_512_256}, {encr::aes_cbc, 256, integ::hmac_sha2_256_128},
    {encr::aes_cbc, 256, integ::hmac_sha2_384_192}, {encr::aes_cbc, 256, integ::hmac_sha2_512_256},
    {encr::aes_gcm_16, 128, integ::none},           {encr::aes_gcm_16, 256, integ::none},
    {encr::chacha20_poly1305, 0, integ::none},
};

std::string name(const Suite& s) {
    return "ENCR " + std::to_string(s.encr) + "/" + std::to_string(s.key_bits) + " INTEG " +
           std::to_string(s.integ);
}

// The keys of the python script: encr pattern(len, 5, 1) for CBC and
// pattern(len, 11, 3) (salt included) for the AEADs, integ pattern(len, 7, 2).
std::unique_ptr<SkCipher> make(const Suite& s) {
    const std::size_t elen = ike_encr_key_size(s.encr, s.key_bits);
    const Bytes ekey = s.encr == encr::aes_cbc ? pattern(elen, 5, 1) : pattern(elen, 11, 3);
    const Bytes ikey = pattern(integ_key_size(s.integ), 7, 2);
    std::string error;
    auto c = SkCipher::create(s.encr, s.key_bits, s.integ, ekey, ikey, &error);
    INFO(error);
    REQUIRE(c != nullptr);
    return c;
}

// The header of the python script: IKE header (SPIs, SK next payload,
// IKE_AUTH, initiator, message ID 1, total length) and SK payload header.
Bytes frame(std::size_t body_len) {
    Bytes m = hex("00112233445566778899aabbccddeeff 2e202308 00000001");
    const std::size_t total = kBodyOffset + body_len;
    for (int shift = 24; shift >= 0; shift -= 8) m.push_back(static_cast<uint8_t>(total >> shift));
    m.push_back(35);
    m.push_back(0);
    m.push_back(static_cast<uint8_t>((4 + body_len) >> 8));
    m.push_back(static_cast<uint8_t>(4 + body_len));
    m.resize(total);
    return m;
}

// Authentic (right ICV or tag) but malformed bodies, from the same python
// script: AES-CBC-128/HMAC-SHA2-256-128 with 20 and 0 ciphertext bytes, and
// 32 decrypted bytes ending in Pad Length 32, 31 and 20; AES-GCM-16-128
// with 0 ciphertext bytes and decrypted 010203, 010202 and 00.
const char* const kCbcCiphertext20 =
    "00112233445566778899aabbccddeeff2e202308000000010000005423000038"
    "a0a9b2bbc4cdd6dfe8f1fa030c151e270102030405060708090a0b0c0d0e0f10"
    "1112131447acf783969102eac075fb064afe252e";
const char* const kCbcCiphertext0 =
    "00112233445566778899aabbccddeeff2e202308000000010000004023000024"
    "a0a9b2bbc4cdd6dfe8f1fa030c151e27397cc2c5a666dba1d35274baf3030ff2";
const char* const kCbcPad32 =
    "00112233445566778899aabbccddeeff2e202308000000010000006023000044"
    "a0a9b2bbc4cdd6dfe8f1fa030c151e2776bf695ef2a481b7751c44ddf3ab8332"
    "b74667c86bf6e80638b550a275b7121289d96bf9e4021d667a07b8c0d008136e";
const char* const kCbcPad31 =
    "00112233445566778899aabbccddeeff2e202308000000010000006023000044"
    "a0a9b2bbc4cdd6dfe8f1fa030c151e2776bf695ef2a481b7751c44ddf3ab8332"
    "2f05f37f4205c97ae6377cc09e59359eaabcbac6f13be1661ab6889c56bebed6";
const char* const kCbcPad20 =
    "00112233445566778899aabbccddeeff2e202308000000010000006023000044"
    "a0a9b2bbc4cdd6dfe8f1fa030c151e2776bf695ef2a481b7751c44ddf3ab8332"
    "fd599de09febf28c22e5cd1d157d755f69fd2de2313b9c7d562ecd75f1b41cfe";
const char* const kGcmCiphertext0 =
    "00112233445566778899aabbccddeeff2e20230800000001000000382300001c"
    "505d6a7784919eaba7216b326db49760b39a98bc724dc189";
const char* const kGcmPad3 =
    "00112233445566778899aabbccddeeff2e202308000000010000003b2300001f"
    "505d6a7784919eab575c402631eeea78f776fc2263dfe5ab79c97c";
const char* const kGcmPad2 =
    "00112233445566778899aabbccddeeff2e202308000000010000003b2300001f"
    "505d6a7784919eab575c411a4e2f21688bfe3efcd52040efb947a0";
const char* const kGcmPad0 =
    "00112233445566778899aabbccddeeff2e20230800000001000000392300001d"
    "505d6a7784919eab563617572ff297defdda79d6848d308534";

Bytes sealed(SkCipher& c, ByteView plaintext) {
    Bytes m = frame(c.body_size(plaintext.size()));
    REQUIRE(c.seal(m, kBodyOffset, plaintext));
    return m;
}

}  // namespace

TEST_CASE("SkCipher: known answers for every suite (python cryptography)") {
    const Bytes pt =
        hex("4144474a4d505356595c5f6265686b6e7174777a7d808386898c8f9295989b9e"
            "a1a4a7aaad");
    const struct {
        uint16_t encr, key_bits, integ;
        const char* message;
    } kats[] = {
        {encr::aes_cbc, 128, integ::hmac_sha2_256_128,
         "00112233445566778899aabbccddeeff2e202308000000010000007023000054"
         "a0a9b2bbc4cdd6dfe8f1fa030c151e277919e869192f8f7d49b3ab2dcb5a4b34"
         "e584977df7666b9dc1cefaae72a11476851544a3fc7ce890b4f1cce69a480ae9"
         "fe35b321a3f4530261d19c115fdfdb61"},
        {encr::aes_cbc, 128, integ::hmac_sha2_384_192,
         "00112233445566778899aabbccddeeff2e20230800000001000000782300005c"
         "a0a9b2bbc4cdd6dfe8f1fa030c151e277919e869192f8f7d49b3ab2dcb5a4b34"
         "e584977df7666b9dc1cefaae72a11476851544a3fc7ce890b4f1cce69a480ae9"
         "9f82f2060290df0975bb3f3d8200720a0d1b8405c722228c"},
        {encr::aes_cbc, 128, integ::hmac_sha2_512_256,
         "00112233445566778899aabbccddeeff2e202308000000010000008023000064"
         "a0a9b2bbc4cdd6dfe8f1fa030c151e277919e869192f8f7d49b3ab2dcb5a4b34"
         "e584977df7666b9dc1cefaae72a11476851544a3fc7ce890b4f1cce69a480ae9"
         "11c83d0ff3a80f9435b3ae67283e69703b99f5603074a7be632b728285644180"},
        {encr::aes_cbc, 256, integ::hmac_sha2_256_128,
         "00112233445566778899aabbccddeeff2e202308000000010000007023000054"
         "a0a9b2bbc4cdd6dfe8f1fa030c151e270f4f477df70b26a7d124add5503a9d33"
         "bff04577279cff440830fddbbea404ba24524fa4b55f0b7a4fa12149ee537b1b"
         "a790d45f26af767de7b63be73c59fb5f"},
        {encr::aes_cbc, 256, integ::hmac_sha2_384_192,
         "00112233445566778899aabbccddeeff2e20230800000001000000782300005c"
         "a0a9b2bbc4cdd6dfe8f1fa030c151e270f4f477df70b26a7d124add5503a9d33"
         "bff04577279cff440830fddbbea404ba24524fa4b55f0b7a4fa12149ee537b1b"
         "c2f49c73e2f93c15d945a14ce4f8064532ad3c71fdfe6d23"},
        {encr::aes_cbc, 256, integ::hmac_sha2_512_256,
         "00112233445566778899aabbccddeeff2e202308000000010000008023000064"
         "a0a9b2bbc4cdd6dfe8f1fa030c151e270f4f477df70b26a7d124add5503a9d33"
         "bff04577279cff440830fddbbea404ba24524fa4b55f0b7a4fa12149ee537b1b"
         "7817c389eae9e34b631e289900aa21b06221abfa8df7b74dfda3b6e7654d53d1"},
        {encr::aes_gcm_16, 128, integ::none,
         "00112233445566778899aabbccddeeff2e202308000000010000005e23000042"
         "505d6a7784919eab171a04d790645eac41fbd9ce23928bf24daf076d241ef339"
         "ea9ed9aa690b9049eb8593e46761ddf73112b192ed2937a9d275856794a8"},
        {encr::aes_gcm_16, 256, integ::none,
         "00112233445566778899aabbccddeeff2e202308000000010000005e23000042"
         "505d6a7784919eab2b42661bd209729e6c4f82d2afc1acbb200d604687f6da50"
         "4657000139361353f1dbce450f35792c86c2be39128f4a4f5cc767d3c0cc"},
        {encr::chacha20_poly1305, 0, integ::none,
         "00112233445566778899aabbccddeeff2e202308000000010000005e23000042"
         "505d6a7784919eab99384b3f500ada4b360e3ff9fe3763c58ad53e9e20a02489"
         "36d5f34a8fe26e3dc3418dc65b5c8eda2db9e325af0aad3e10d86a42adb5"},
    };
    for (const auto& k : kats) {
        const Suite s{k.encr, k.key_bits, k.integ};
        CAPTURE(name(s));
        auto c = make(s);
        const Bytes iv = s.encr == encr::aes_cbc ? pattern(16, 9, 0xa0) : pattern(8, 13, 0x50);
        const Bytes expect = hex(k.message);
        Bytes m = frame(c->body_size(pt.size()));
        REQUIRE(m.size() == expect.size());
        REQUIRE(c->seal_with_iv(m, kBodyOffset, pt, iv));
        CHECK(to_hex(m) == to_hex(expect));
        Bytes back;
        std::string error;
        CHECK(c->open(expect, kBodyOffset, &back, &error));
        CHECK(back == pt);
    }
}

TEST_CASE("SkCipher: body sizes and the padding rule") {
    for (const Suite& s : kSuites) {
        CAPTURE(name(s));
        auto c = make(s);
        const bool cbc = s.encr == encr::aes_cbc;
        CHECK(c->iv_size() == (cbc ? 16u : 8u));
        CHECK(c->icv_size() == (cbc ? integ_icv_size(s.integ) : 16u));
        for (std::size_t n = 0; n < 70; ++n) {
            const std::size_t ct = c->body_size(n) - c->iv_size() - c->icv_size();
            if (cbc) {
                // RFC 7296 §3.14: whole blocks, minimal padding.
                CHECK(ct % 16 == 0);
                CHECK(ct >= n + 1);
                CHECK(ct < n + 1 + 16);
            } else {
                // RFC 5282 §3.2: no padding needed, Pad Length still present.
                CHECK(ct == n + 1);
            }
        }
    }
}

TEST_CASE("SkCipher: seal/open round trips for every suite and many lengths") {
    for (const Suite& s : kSuites) {
        CAPTURE(name(s));
        auto tx = make(s);
        auto rx = make(s);
        for (std::size_t n = 0; n <= 66; ++n) {
            CAPTURE(n);
            const Bytes pt = pattern(n, 31, static_cast<unsigned>(n));
            const Bytes m = sealed(*tx, pt);
            Bytes back{0xee};
            std::string error;
            CHECK(rx->open(m, kBodyOffset, &back, &error));
            CHECK(error.empty());
            CHECK(back == pt);
        }
    }
}

TEST_CASE("SkCipher: every bit flip of a sealed message is refused") {
    for (const Suite& s : kSuites) {
        CAPTURE(name(s));
        auto c = make(s);
        const Bytes pt = pattern(21, 3, 7);
        const Bytes m = sealed(*c, pt);
        std::size_t refused = 0;
        for (std::size_t bit = 0; bit < m.size() * 8; ++bit) {
            Bytes bad = m;
            bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
            Bytes out{0xee};
            std::string error;
            if (!c->open(bad, kBodyOffset, &out, &error)) ++refused;
            CHECK(out == Bytes{0xee});  // nothing returned on failure
        }
        CHECK(refused == m.size() * 8);
    }
}

TEST_CASE("SkCipher: every truncation and an extension are refused without a crash") {
    for (const Suite& s : kSuites) {
        CAPTURE(name(s));
        auto c = make(s);
        const Bytes m = sealed(*c, pattern(40, 5, 5));
        Bytes out;
        std::string error;
        for (std::size_t len = 0; len < m.size(); ++len) {
            CAPTURE(len);
            error.clear();
            CHECK_FALSE(c->open(ByteView(m.data(), len), kBodyOffset, &out, &error));
            CHECK_FALSE(error.empty());
        }
        Bytes longer = m;
        longer.push_back(0);
        CHECK_FALSE(c->open(longer, kBodyOffset, &out, &error));
        // Bodies of every short length from a zeroed buffer, and an offset
        // beyond the end.
        for (std::size_t len = 0; len < 80; ++len) {
            const Bytes zeros(kBodyOffset + len, 0);
            CHECK_FALSE(c->open(zeros, kBodyOffset, &out, &error));
        }
        CHECK_FALSE(c->open(m, m.size() + 1, &out, &error));
        CHECK(c->open(m, kBodyOffset, &out, &error));
    }
}

TEST_CASE("SkCipher: authentic but malformed bodies are refused after the integrity check") {
    std::string error;
    Bytes out;
    SUBCASE("AES-CBC-128 with HMAC-SHA2-256-128") {
        auto c = make({encr::aes_cbc, 128, integ::hmac_sha2_256_128});
        // Ciphertext that is not a whole number of blocks.
        CHECK_FALSE(c->open(hex(kCbcCiphertext20), kBodyOffset, &out, &error));
        CHECK(error.find("blocks") != std::string::npos);
        // No ciphertext at all.
        CHECK_FALSE(c->open(hex(kCbcCiphertext0), kBodyOffset, &out, &error));
        CHECK(error.find("blocks") != std::string::npos);
        // Pad Length 32 in 32 decrypted bytes.
        CHECK_FALSE(c->open(hex(kCbcPad32), kBodyOffset, &out, &error));
        CHECK(error.find("Pad Length") != std::string::npos);
        // Pad Length 31: all padding, no payloads - allowed.
        REQUIRE(c->open(hex(kCbcPad31), kBodyOffset, &out, &error));
        CHECK(out.empty());
        // RFC 7296 §3.14: longer than minimal padding must be accepted.
        REQUIRE(c->open(hex(kCbcPad20), kBodyOffset, &out, &error));
        CHECK(out == pattern(11, 1, 1));
    }
    SUBCASE("AES-GCM-16-128") {
        auto c = make({encr::aes_gcm_16, 128, integ::none});
        // Authentic empty ciphertext: not even a Pad Length byte.
        CHECK_FALSE(c->open(hex(kGcmCiphertext0), kBodyOffset, &out, &error));
        CHECK(error.find("Pad Length") != std::string::npos);
        // Pad Length 3 in 3 decrypted bytes.
        CHECK_FALSE(c->open(hex(kGcmPad3), kBodyOffset, &out, &error));
        CHECK(error.find("Pad Length") != std::string::npos);
        REQUIRE(c->open(hex(kGcmPad2), kBodyOffset, &out, &error));
        CHECK(out.empty());
        REQUIRE(c->open(hex(kGcmPad0), kBodyOffset, &out, &error));
        CHECK(out.empty());
    }
}

TEST_CASE("SkCipher: IVs are fresh per message") {
    for (const Suite& s : kSuites) {
        CAPTURE(name(s));
        auto c = make(s);
        const Bytes pt = pattern(10, 1, 1);
        const Bytes a = sealed(*c, pt);
        const Bytes b = sealed(*c, pt);
        const ByteView iv_a(a.data() + kBodyOffset, c->iv_size());
        const ByteView iv_b(b.data() + kBodyOffset, c->iv_size());
        CHECK(to_hex(iv_a) != to_hex(iv_b));
        if (s.encr != encr::aes_cbc) {
            // The AEAD IV is a counter: consecutive messages differ by one.
            uint64_t x = 0, y = 0;
            for (uint8_t v : iv_a) x = x << 8 | v;
            for (uint8_t v : iv_b) y = y << 8 | v;
            CHECK(y == x + 1);
        }
        CHECK(to_hex(a) != to_hex(b));
    }
}

TEST_CASE("SkCipher: seal refuses a buffer of the wrong size or a wrong IV length") {
    auto c = make({encr::aes_gcm_16, 256, integ::none});
    const Bytes pt = pattern(10, 1, 1);
    Bytes m = frame(c->body_size(pt.size()) + 1);
    CHECK_FALSE(c->seal(m, kBodyOffset, pt));
    m = frame(c->body_size(pt.size()) - 1);
    CHECK_FALSE(c->seal(m, kBodyOffset, pt));
    m = frame(c->body_size(pt.size()));
    CHECK_FALSE(c->seal(m, m.size() + 1, pt));
    CHECK_FALSE(c->seal_with_iv(m, kBodyOffset, pt, pattern(12, 1, 1)));
    CHECK(c->seal(m, kBodyOffset, pt));
}

TEST_CASE("SkCipher: plaintext laid out in place inside the message") {
    for (const Suite& s : kSuites) {
        CAPTURE(name(s));
        auto c = make(s);
        const Bytes pt = pattern(45, 9, 9);
        Bytes m = frame(c->body_size(pt.size()));
        // The codec may write the inner payloads where the ciphertext goes.
        std::copy(pt.begin(), pt.end(), m.begin() + static_cast<long>(kBodyOffset + c->iv_size()));
        REQUIRE(
            c->seal(m, kBodyOffset, ByteView(m.data() + kBodyOffset + c->iv_size(), pt.size())));
        Bytes out;
        std::string error;
        REQUIRE(c->open(m, kBodyOffset, &out, &error));
        CHECK(out == pt);
    }
}

TEST_CASE("SkCipher: create refuses unsupported transforms and wrong key lengths") {
    std::string error;
    const Bytes k16 = pattern(16, 1, 1), k20 = pattern(20, 1, 1), k24 = pattern(24, 1, 1),
                k32 = pattern(32, 1, 1), k36 = pattern(36, 1, 1);
    CHECK(SkCipher::create(encr::aes_cbc, 128, integ::hmac_sha2_256_128, k16, k32, &error) !=
          nullptr);
    CHECK(SkCipher::create(encr::aes_cbc, 192, integ::hmac_sha2_256_128, k24, k32, &error) ==
          nullptr);
    CHECK(SkCipher::create(encr::aes_cbc, 128, integ::hmac_sha2_256_128, k32, k32, &error) ==
          nullptr);
    CHECK(SkCipher::create(encr::aes_cbc, 128, integ::hmac_sha2_256_128, k16, k16, &error) ==
          nullptr);
    CHECK(SkCipher::create(encr::aes_cbc, 128, integ::none, k16, {}, &error) == nullptr);
    CHECK(SkCipher::create(encr::aes_cbc, 128, 2, k16, k20, &error) == nullptr);  // HMAC-SHA1-96
    CHECK(SkCipher::create(encr::aes_gcm_16, 128, integ::none, k20, {}, &error) != nullptr);
    CHECK(SkCipher::create(encr::aes_gcm_16, 128, integ::none, k16, {}, &error) == nullptr);
    CHECK(SkCipher::create(encr::aes_gcm_16, 128, integ::hmac_sha2_256_128, k20, k32, &error) ==
          nullptr);
    CHECK(SkCipher::create(encr::aes_gcm_16, 128, integ::none, k20, k32, &error) == nullptr);
    CHECK(SkCipher::create(encr::chacha20_poly1305, 0, integ::none, k36, {}, &error) != nullptr);
    CHECK(SkCipher::create(encr::chacha20_poly1305, 0, integ::none, k32, {}, &error) == nullptr);
    error.clear();
    CHECK(SkCipher::create(3, 192, integ::hmac_sha2_256_128, k24, k32, &error) == nullptr);  // 3DES
    CHECK_FALSE(error.empty());
}

TEST_CASE("SkCipher: one direction's key does not open the other direction's messages") {
    const Bytes ki = pattern(36, 1, 2), kr = pattern(36, 1, 3);
    std::string error;
    auto i = SkCipher::create(encr::chacha20_poly1305, 0, integ::none, ki, {}, &error);
    auto r = SkCipher::create(encr::chacha20_poly1305, 0, integ::none, kr, {}, &error);
    REQUIRE(i != nullptr);
    REQUIRE(r != nullptr);
    const Bytes m = sealed(*i, pattern(10, 1, 1));
    Bytes out;
    CHECK_FALSE(r->open(m, kBodyOffset, &out, &error));
    CHECK(error.find("integrity") != std::string::npos);
}
