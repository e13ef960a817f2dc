// ESP transform names, sizes and SA configuration validation.
#include "esp_fixture.h"

#include <doctest/doctest.h>

#include <string>

using namespace esptest;

namespace {

struct Expected {
    std::string_view token;
    Cipher cipher;
    Integrity integrity;
    uint32_t key, salt, iv, icv, block, integ_key;
    bool aead, encrypts;
};

// Sizes from the defining RFCs: 4106 (GCM: 4-byte salt, 8-byte IV, 16-byte
// ICV), 4543 (GMAC: likewise, no encryption), 7634 (ChaCha20-Poly1305),
// 3602 (AES-CBC: 16-byte IV and block), 2404 (HMAC-SHA1-96) and 4868
// (HMAC-SHA-256/384/512 truncated to half the output, key = output size).
// Stream and counter modes pad to 4 bytes (RFC 4303 §2.4).
constexpr Expected kExpected[] = {
    {"aes128gcm16", Cipher::aes_gcm_128, Integrity::none, 16, 4, 8, 16, 4, 0, true, true},
    {"aes256gcm16", Cipher::aes_gcm_256, Integrity::none, 32, 4, 8, 16, 4, 0, true, true},
    {"chacha20poly1305", Cipher::chacha20_poly1305, Integrity::none, 32, 4, 8, 16, 4, 0, true, true},
    {"aes128gmac", Cipher::aes_gmac_128, Integrity::none, 16, 4, 8, 16, 4, 0, true, false},
    {"aes256gmac", Cipher::aes_gmac_256, Integrity::none, 32, 4, 8, 16, 4, 0, true, false},
    {"aes128-sha1", Cipher::aes_cbc_128, Integrity::hmac_sha1_96, 16, 0, 16, 12, 16, 20, false, true},
    {"aes256-sha1", Cipher::aes_cbc_256, Integrity::hmac_sha1_96, 32, 0, 16, 12, 16, 20, false, true},
    {"aes128-sha256", Cipher::aes_cbc_128, Integrity::hmac_sha256_128, 16, 0, 16, 16, 16, 32, false, true},
    {"aes256-sha256", Cipher::aes_cbc_256, Integrity::hmac_sha256_128, 32, 0, 16, 16, 16, 32, false, true},
    {"aes128-sha384", Cipher::aes_cbc_128, Integrity::hmac_sha384_192, 16, 0, 16, 24, 16, 48, false, true},
    {"aes256-sha384", Cipher::aes_cbc_256, Integrity::hmac_sha384_192, 32, 0, 16, 24, 16, 48, false, true},
    {"aes128-sha512", Cipher::aes_cbc_128, Integrity::hmac_sha512_256, 16, 0, 16, 32, 16, 64, false, true},
    {"aes256-sha512", Cipher::aes_cbc_256, Integrity::hmac_sha512_256, 32, 0, 16, 32, 16, 64, false, true},
};

SaConfig good_config(std::string_view alg, SaDirection dir = SaDirection::inbound) {
    SaOptions o;
    o.alg = alg;
    return make_config(o, dir);
}

std::string create_error(const SaConfig& c) {
    std::string err;
    auto sa = Sa::create(c, &err);
    CHECK(sa == nullptr);
    return err;
}

}  // namespace

TEST_CASE("algorithm: every proposal token parses, names itself back, and has RFC sizes") {
    for (const auto& e : kExpected) {
        CAPTURE(e.token);
        const auto a = Algorithm::parse(e.token);
        REQUIRE(a.has_value());
        CHECK(a->cipher == e.cipher);
        CHECK(a->integrity == e.integrity);
        CHECK(a->name() == e.token);
        CHECK(Algorithm::parse(a->name()) == a);
        CHECK(a->cipher_key_len() == e.key);
        CHECK(a->salt_len() == e.salt);
        CHECK(a->enc_keymat_len() == e.key + e.salt);
        CHECK(a->iv_len() == e.iv);
        CHECK(a->icv_len() == e.icv);
        CHECK(a->block_len() == e.block);
        CHECK(a->integ_key_len() == e.integ_key);
        CHECK(a->is_aead() == e.aead);
        CHECK(a->encrypts() == e.encrypts);
        // RFC 4303 §2.4: the ciphertext must end 4-byte aligned whatever the cipher.
        CHECK(a->block_len() % 4 == 0);
    }
    // The ten proposals the engine tests run with are among them.
    for (auto token : kAlgorithms) {
        CAPTURE(token);
        const auto a = Algorithm::parse(token);
        REQUIRE(a.has_value());
        CHECK(a->name() == token);
    }
}

TEST_CASE("algorithm: unknown or malformed tokens are refused") {
    for (std::string_view bad :
         {"aes128gcm8", "aes128gcm12", "aes128-md5", "", "aes128-", "3des-sha1", "aes192-sha256",
          "aes128", "aes256", "sha256", "-sha256", "aes128--sha256", "aes128sha256", "AES128GCM16",
          "aes128gcm16-esn", "aes128gcm16-noesn", "aes128gcm16 ", " aes128gcm16", "aes128-sha256-modp2048",
          "aes128gcm16-sha256", "aes128-sha2", "aes128-sha1x", "chacha20poly1305-sha256", "aes128gmac-",
          "aes128-none", "aes"}) {
        CAPTURE(bad);
        CHECK_FALSE(Algorithm::parse(bad).has_value());
    }
    // Embedded NUL: not a prefix match of a valid token.
    using namespace std::string_view_literals;
    CHECK_FALSE(Algorithm::parse("aes128gcm16\0"sv).has_value());
    CHECK_FALSE(Algorithm::parse("aes128-sha1\0"sv).has_value());
}

TEST_CASE("algorithm: a default-constructed Algorithm is AES-128-GCM") {
    const Algorithm a;
    CHECK(a.name() == "aes128gcm16");
    CHECK(a == *Algorithm::parse("aes128gcm16"));
    CHECK(a != *Algorithm::parse("aes256gcm16"));
}

TEST_CASE("SaConfig::validate accepts consistent configurations") {
    for (auto token : kAlgorithms) {
        for (auto dir : {SaDirection::inbound, SaDirection::outbound}) {
            for (int family : {4, 6}) {
                for (Mode mode : {Mode::tunnel, Mode::transport}) {
                    for (bool esn : {false, true}) {
                        SaOptions o;
                        o.alg = token;
                        o.family = family;
                        o.mode = mode;
                        o.esn = esn;
                        o.udp = family == 4;
                        const SaConfig c = make_config(o, dir);
                        CAPTURE(token);
                        CHECK(c.validate() == "");
                    }
                }
            }
        }
    }
    SaConfig c = good_config("aes128gcm16");
    c.spi = 256;  // the first unreserved SPI
    CHECK(c.validate() == "");
    c.spi = 0xffffffff;
    CHECK(c.validate() == "");
    c.replay_window = 0;  // anti-replay off, without ESN
    CHECK(c.validate() == "");
    c.replay_window = ReplayWindow::kMinSize;
    CHECK(c.validate() == "");
    c.replay_window = ReplayWindow::kMaxSize;
    CHECK(c.validate() == "");
    c.tfc_pad_to = 1400;
    CHECK(c.validate() == "");
    c.lifetime = Lifetime{100, 100, 5, 5};  // soft == hard is allowed
    CHECK(c.validate() == "");
    c.lifetime = Lifetime{100, 0, 0, 5};  // soft without hard and the reverse
    CHECK(c.validate() == "");

    // The outbound direction has no window: its size is not checked.
    SaConfig out = good_config("aes128gcm16", SaDirection::outbound);
    out.replay_window = 1;
    out.esn = true;
    CHECK(out.validate() == "");
    out.replay_window = 0;
    CHECK(out.validate() == "");
}

TEST_CASE("SaConfig::validate explains what is wrong") {
    const auto has = [](const std::string& why, std::string_view what) {
        CAPTURE(why);
        CHECK(why.find(what) != std::string::npos);
    };

    SUBCASE("reserved SPI") {
        for (uint32_t spi : {0u, 1u, 255u}) {
            SaConfig c = good_config("aes128gcm16");
            c.spi = spi;
            has(c.validate(), "SPI " + std::to_string(spi) + " is reserved");
            has(create_error(c), "reserved");
        }
    }
    SUBCASE("addresses missing or of two families") {
        SaConfig c = good_config("aes128gcm16");
        c.local = IpAddress{};
        has(c.validate(), "local and remote addresses are required");
        c = good_config("aes128gcm16");
        c.remote = IpAddress{};
        has(c.validate(), "local and remote addresses are required");
        c = good_config("aes128gcm16");
        c.remote = addr("2001:db8::1");
        has(c.validate(), "differ in family");
        has(create_error(c), "differ in family");
    }
    SUBCASE("CBC without integrity") {
        for (std::string_view token : {"aes128-sha256", "aes256-sha512"}) {
            SaConfig c = good_config(token);
            c.algorithm.integrity = Integrity::none;
            c.integ_key = SecretBytes{};
            has(c.validate(), "needs an integrity algorithm");
            has(create_error(c), "needs an integrity algorithm");
        }
    }
    SUBCASE("wrong key lengths") {
        for (auto token : kAlgorithms) {
            CAPTURE(token);
            const Algorithm a = algorithm(token);
            for (int delta : {-1, 1}) {
                SaConfig c = good_config(token);
                c.enc_key = key_bytes(delta < 0 ? a.enc_keymat_len() - 1 : a.enc_keymat_len() + 1, 1);
                has(c.validate(), "encryption key for " + std::string(token) + " must be " +
                                      std::to_string(a.enc_keymat_len()) + " bytes");
                has(create_error(c), "encryption key");
            }
            // GCM keymat without its salt.
            SaConfig c = good_config(token);
            c.enc_key = key_bytes(a.cipher_key_len(), 1);
            if (a.salt_len()) has(c.validate(), "encryption key");
            else CHECK(c.validate() == "");

            c = good_config(token);
            c.integ_key = key_bytes(a.integ_key_len() + 1, 2);
            has(c.validate(), "integrity key for " + std::string(token) + " must be " +
                                  std::to_string(a.integ_key_len()) + " bytes");
            if (a.integ_key_len()) {
                c.integ_key = SecretBytes{};
                has(c.validate(), "integrity key");
            }
        }
    }
    SUBCASE("replay window out of range") {
        for (uint32_t w : {1u, ReplayWindow::kMinSize - 1, ReplayWindow::kMaxSize + 1, 0xffffffffu}) {
            SaConfig c = good_config("aes128gcm16");
            c.replay_window = w;
            has(c.validate(), "replay window must be 0 (off) or 32..65536");
            has(create_error(c), "replay window");
        }
    }
    SUBCASE("ESN without a window") {
        SaConfig c = good_config("aes128gcm16");
        c.esn = true;
        c.replay_window = 0;
        has(c.validate(), "ESN needs the anti-replay window");
        has(create_error(c), "ESN");
    }
    SUBCASE("TTL zero") {
        SaConfig c = good_config("aes128gcm16", SaDirection::outbound);
        c.ttl = 0;
        has(c.validate(), "outer TTL must be 1..255");
    }
    SUBCASE("soft lifetime beyond the hard one") {
        SaConfig c = good_config("aes128gcm16");
        c.lifetime = Lifetime{101, 100, 0, 0};
        has(c.validate(), "soft byte lifetime exceeds the hard one");
        c.lifetime = Lifetime{0, 0, 6, 5};
        has(c.validate(), "soft packet lifetime exceeds the hard one");
    }
    SUBCASE("TFC padding outside tunnel mode") {
        SaConfig c = good_config("aes128gcm16", SaDirection::outbound);
        c.mode = Mode::transport;
        c.tfc_pad_to = 100;
        has(c.validate(), "TFC padding needs tunnel mode");
    }
}

TEST_CASE("Sa::create leaves the error alone on success and tolerates a null error pointer") {
    std::string err = "untouched";
    auto sa = Sa::create(good_config("aes256-sha512"), &err);
    CHECK(sa != nullptr);
    CHECK(err == "untouched");
    SaConfig bad = good_config("aes256-sha512");
    bad.spi = 3;
    CHECK(Sa::create(bad, nullptr) == nullptr);
}

TEST_CASE("EspCrypto::create refuses keys of the wrong length") {
    for (auto token : kAlgorithms) {
        CAPTURE(token);
        const Algorithm a = algorithm(token);
        const SecretBytes enc = key_bytes(a.enc_keymat_len(), 3);
        const SecretBytes integ = key_bytes(a.integ_key_len(), 4);
        const SecretBytes short_enc = key_bytes(a.enc_keymat_len() - 1, 3);
        const SecretBytes long_integ = key_bytes(a.integ_key_len() + 4, 4);
        for (auto dir : {EspCrypto::Direction::seal, EspCrypto::Direction::open}) {
            std::string err;
            CHECK(EspCrypto::create(a, dir, enc.view(), integ.view(), &err) != nullptr);
            CHECK(EspCrypto::create(a, dir, short_enc.view(), integ.view(), &err) == nullptr);
            CHECK(err.find("encryption key") != std::string::npos);
            err.clear();
            CHECK(EspCrypto::create(a, dir, enc.view(), long_integ.view(), &err) == nullptr);
            CHECK(err.find("integrity key") != std::string::npos);
        }
    }
}
