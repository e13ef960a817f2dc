// prf, prf+ and the key derivations of RFC 7296 §2.13, §2.14, §2.17,
// §2.18. Expected values: RFC 4231 for HMAC, the rest computed at
// test-writing time by an independent python reimplementation (hmac
// module) of the RFC's formulas.
#include "ike/crypto/ike_keys.h"
#include "ike/crypto/prf.h"
#include "ike/ike_types.h"
#include "test_ike_crypto_hex.h"

#include <doctest/doctest.h>

#include <string>

using namespace xdpsec::ike;
using test::hex;
using test::to_hex;

namespace {

// Recognisable byte patterns (a*i + b mod 256), as in the python script.
Bytes pattern(std::size_t n, unsigned a, unsigned b) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(a * i + b);
    return out;
}

ByteView text(const char* s) {
    return {reinterpret_cast<const uint8_t*>(s), std::char_traits<char>::length(s)};
}

}  // namespace

TEST_CASE("Prf: HMAC-SHA2 prfs give RFC 4231 test case 2") {
    CHECK(Prf::create(prf::hmac_sha2_256 - 1) == nullptr);
    CHECK(Prf::create(2) == nullptr);  // PRF_HMAC_SHA1 is not offered
    CHECK(Prf::create(8) == nullptr);
    const struct {
        uint16_t id;
        std::size_t size;
        const char* mac;
    } cases[] = {
        {prf::hmac_sha2_256, 32,
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {prf::hmac_sha2_384, 48,
         "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecf"
         "ab21649"},
        {prf::hmac_sha2_512, 64,
         "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f"
         "8f0e6fd"
         "caeab1a34d4a6b4b636e070a38bce737"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.id);
        const auto p = Prf::create(c.id);
        REQUIRE(p != nullptr);
        CHECK(p->id() == c.id);
        CHECK(p->output_size() == c.size);
        CHECK(p->key_size() == c.size);
        CHECK(to_hex(p->compute(text("Jefe"), text("what do ya want for nothing?"))) == c.mac);
        // The multi-part form hashes the concatenation.
        CHECK(to_hex(p->compute(text("Jefe"), {text("what do ya "), ByteView(),
                                               text("want for nothing?")})) == c.mac);
    }
}

TEST_CASE("Prf: an empty key is a key, not 'keep the previous one'") {
    const auto p = Prf::create(prf::hmac_sha2_256);
    REQUIRE(p != nullptr);
    CHECK(to_hex(p->compute(ByteView(), text("abc"))) ==
          "fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351");
}

TEST_CASE("Prf: prf+ matches RFC 7296 §2.13 and stops at 255 blocks") {
    const auto p = Prf::create(prf::hmac_sha2_256);
    REQUIRE(p != nullptr);
    const Bytes k = pattern(32, 3, 1);
    const Bytes s = pattern(40, 5, 7);
    const std::string t100 =
        "77cec991fb74170d5d759c2f54d5cc9e5a0a6187dafbda9b95928a0439b5ccbaa299ad09e88e7e42f41db2adb1"
        "e270d1"
        "fcd9adf7ad035709246dd1b3da23e359e159f9389e2a946d27773a532e41824f8e458e3152963612af412a5773"
        "bc6802"
        "2212db7b";
    CHECK(to_hex(p->plus(k, s, 1)) == t100.substr(0, 2));
    CHECK(to_hex(p->plus(k, s, 32)) == t100.substr(0, 64));
    CHECK(to_hex(p->plus(k, s, 33)) == t100.substr(0, 66));
    CHECK(to_hex(p->plus(k, s, 100)) == t100);
    CHECK(p->plus(k, s, 0).empty());

    const SecretVector full = p->plus(k, s, 255 * 32);
    REQUIRE(full.size() == 255 * 32);
    CHECK(to_hex(full.sub(full.size() - 16, 16)) == "d0ba1fccd321124a18520b6fa2314573");
    CHECK(p->plus(k, s, 255 * 32 + 1).empty());

    const auto p512 = Prf::create(prf::hmac_sha2_512);
    REQUIRE(p512 != nullptr);
    CHECK(to_hex(p512->plus(k, s, 150)) ==
          "dd6fc0cb40fc6af17375c1e7e8cf8b7a67e28de6ea40038e3965e73dc8e5027c91d1637a8cab5445f31b4370"
          "f2eba636"
          "39ba6461493275be0fe6b62bedba3d27a75a1b844b49ceea4e52df19093bd2c940f87c910cc4f0da4bd64df0"
          "b08e3ece"
          "78c82bae4fcade1e9f7bba6da570401e87b3221f0e64c312043558e2570322b6cc2e73b5154ddf7b48706f21"
          "20abc59e"
          "011c64f69c71");
    CHECK(p512->plus(k, s, 255 * 64 + 1).empty());
}

TEST_CASE("derive_ike_keys: SKEYSEED and SK_* per RFC 7296 §2.14") {
    const Bytes ni = pattern(32, 7, 1);
    const Bytes nr = pattern(24, 11, 0x80);
    const Bytes gir = pattern(256, 13, 5);
    const uint64_t spi_i = 0x0123456789abcdefULL, spi_r = 0xfedcba9876543210ULL;

    SUBCASE("HMAC-SHA2-256 prf, HMAC-SHA2-256-128, AES-CBC-256") {
        const auto p = Prf::create(prf::hmac_sha2_256);
        REQUIRE(p != nullptr);
        const IkeKeys k = derive_ike_keys(*p, ni, nr, gir, spi_i, spi_r, 32, 32);
        REQUIRE(!k.empty());
        CHECK(to_hex(k.sk_d) == "8194e00df9f0fae26fa52a380d877ba7cefcea8cd4e8731936a65333fb8fcff2");
        CHECK(to_hex(k.sk_ai) ==
              "88d10ecf5a6d94f3955a6668889b8e7d62dd189ce031c1b2f0e827a3857e4f69");
        CHECK(to_hex(k.sk_ar) ==
              "accc8ee23913bc67cd4df766c9bc8e0c38ad3315eb02428df0023ee413501b07");
        CHECK(to_hex(k.sk_ei) ==
              "de83b32df7fdb28601af6a88431f6112636dcba21066afd42e5332fe81675c72");
        CHECK(to_hex(k.sk_er) ==
              "3b96c79d041adccaee55e1709214dccda8ee8ea58b1f6654db8f2af2c0844480");
        CHECK(to_hex(k.sk_pi) ==
              "78b69ab6123c345eca2760e0ec69d9513e32ffaa1cc9878cd152a77fb7c8b37f");
        CHECK(to_hex(k.sk_pr) ==
              "25780c6c1fdd063c71f8ef3bc9a91e50dd92b37d8b84e66669c77dd57583fef1");
    }
    SUBCASE("HMAC-SHA2-384 prf, AES-GCM-256 (no integrity key, 4-byte salt)") {
        const auto p = Prf::create(prf::hmac_sha2_384);
        REQUIRE(p != nullptr);
        const IkeKeys k = derive_ike_keys(*p, ni, nr, gir, spi_i, spi_r, 0,
                                          ike_encr_key_size(encr::aes_gcm_16, 256));
        REQUIRE(!k.empty());
        CHECK(to_hex(k.sk_d) ==
              "70b3cc55f83d524fee1ae305f4e0f875e903e974f67024a72e1d7d7893223e6bbb35c50e563aa7dd58e0"
              "d14b599c9abb");
        CHECK(k.sk_ai.empty());
        CHECK(k.sk_ar.empty());
        CHECK(to_hex(k.sk_ei) ==
              "911d16470f0b34bce55cea8fc3325d20ebc5b8408ad15362ef116036d867f6857a0517ed");
        CHECK(to_hex(k.sk_er) ==
              "477d34c5125749c197005639ab6a37e8e387ccc09a4fd9d57fe7aaa89783dcb5528519d9");
        CHECK(to_hex(k.sk_pi) ==
              "32986e244d8065f354cd28bffea2ac0399efb3a3bb1ffa6a9fc549ce08823c068e3f8af2be04609df62f"
              "2188f8a8781c");
        CHECK(to_hex(k.sk_pr) ==
              "440f2fe5dbcc7fe4d510009baebee57cd48f5640ee94b87f20baf23eb6941eb3d49a3eabfa61bf2d987e"
              "7f1c19d57105");
    }
}

TEST_CASE("derive_rekeyed_ike_keys: old prf for SKEYSEED, new prf for prf+ (RFC 7296 §2.18)") {
    const auto old_prf = Prf::create(prf::hmac_sha2_256);
    const auto new_prf = Prf::create(prf::hmac_sha2_512);
    REQUIRE(old_prf != nullptr);
    REQUIRE(new_prf != nullptr);
    const Bytes sk_d = pattern(32, 17, 9);
    const Bytes gir = pattern(32, 19, 3);
    const Bytes ni = pattern(16, 23, 2);
    const Bytes nr = pattern(20, 29, 4);
    const IkeKeys k = derive_rekeyed_ike_keys(*old_prf, sk_d, *new_prf, gir, ni, nr,
                                              0x1111222233334444ULL, 0x5555666677778888ULL, 64, 16);
    REQUIRE(!k.empty());
    CHECK(to_hex(k.sk_d) ==
          "7c75aa233405a1d03a45e72f188a7811256964e7c909832f5b40241f2be70af63c8161c12de01516e764c390"
          "ccff0883"
          "ded38032523d19fcc50eb0b7157f4ede");
    CHECK(to_hex(k.sk_ai) ==
          "8ca7ded424df869f34e93fed83d2648dff80f5db6049c4d2414b0fb6ab595f1fbbd1154e200217fb96c776af"
          "5a765ba1"
          "98c2031558679055c2510cbe31196cc0");
    CHECK(to_hex(k.sk_ar) ==
          "5d2fb252961bf5019cd0b9c3905a447409de5db8676d4501a627668f0a1fc439f9a9e111e5725c291c2165fa"
          "9f7ff871"
          "f9681dfcd9acf72b544b88530b4fc9ba");
    CHECK(to_hex(k.sk_ei) == "dee8642d7d23da561cd88027269deb7c");
    CHECK(to_hex(k.sk_er) == "ee992ef3598ef8b06c7b49c8ad1b8a92");
    CHECK(to_hex(k.sk_pi) ==
          "ed28d4cbc78a11dc243e99d9ae61d89626a83d5d03eab0a855b66c970ee7b64691fd252ac668000372cf186b"
          "bd437725"
          "4fb4ae98357f0b24007d3c59b3b95840");
    CHECK(to_hex(k.sk_pr) ==
          "ebdb5d1fcd80e716ee1c7a44dc3f65439a5af710c0a1740bfb99bf19493350d306f8d9703151df5f21d651ed"
          "49a0fc2d"
          "25319c64881275c5e3969816d22ac735");

    // §2.18: a rekey without a new Diffie-Hellman exchange is refused.
    CHECK(derive_rekeyed_ike_keys(*old_prf, sk_d, *new_prf, ByteView(), ni, nr, 1, 2, 64, 16)
              .empty());
}

TEST_CASE("derive_child_keymat: KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr) (RFC 7296 §2.17)") {
    const auto p = Prf::create(prf::hmac_sha2_256);
    REQUIRE(p != nullptr);
    const Bytes sk_d = pattern(32, 17, 9);
    const Bytes gir = pattern(32, 19, 3);
    const Bytes ni = pattern(16, 23, 2);
    const Bytes nr = pattern(20, 29, 4);
    CHECK(to_hex(derive_child_keymat(*p, sk_d, ByteView(), ni, nr, 128)) ==
          "39cd0b6fef063cf0f7e78303ac60356a5c6890ae9b4f8c07a7f767756a787e8860f54a8686e168df355b08f0"
          "51ec49ae"
          "9d51b7cf272a3b2f37b4006d4ee0f1f47c0b1348d09966c208ce5c47446eee994306fe472ae2f9e4c3542b67"
          "662788ad"
          "11cb54a6878c80e5690c8c721b91405d6a09465b5e87725330bba1cb33d5914e");
    CHECK(to_hex(derive_child_keymat(*p, sk_d, gir, ni, nr, 72)) ==
          "4551f261b9109e89c36d570c6b4ff41aefd9e227f8570660ab387a83d75fe75391e682a4a75ad58711f2fb8e"
          "62503e5d"
          "172bf7bb5c6f16455f3c8d48b4998c94f84ebbdb68397b5a");
    CHECK(derive_child_keymat(*p, sk_d, gir, ni, nr, 255 * 32 + 1).empty());
}

TEST_CASE("Key and ICV sizes of the IKE transforms") {
    CHECK(ike_encr_key_size(encr::aes_cbc, 128) == 16);
    CHECK(ike_encr_key_size(encr::aes_cbc, 256) == 32);
    CHECK(ike_encr_key_size(encr::aes_cbc, 0) == 0);
    CHECK(ike_encr_key_size(encr::aes_cbc, 192) == 0);
    CHECK(ike_encr_key_size(encr::aes_gcm_16, 128) == 20);  // RFC 5282: + 4-byte salt
    CHECK(ike_encr_key_size(encr::aes_gcm_16, 256) == 36);
    CHECK(ike_encr_key_size(encr::aes_gcm_16, 0) == 0);
    CHECK(ike_encr_key_size(encr::chacha20_poly1305, 0) == 36);  // RFC 7634 §2
    CHECK(ike_encr_key_size(encr::chacha20_poly1305, 256) == 36);
    CHECK(ike_encr_key_size(encr::chacha20_poly1305, 128) == 0);
    CHECK(ike_encr_key_size(3, 192) == 0);  // 3DES
    CHECK(integ_key_size(integ::hmac_sha2_256_128) == 32);
    CHECK(integ_key_size(integ::hmac_sha2_384_192) == 48);
    CHECK(integ_key_size(integ::hmac_sha2_512_256) == 64);
    CHECK(integ_key_size(integ::none) == 0);
    CHECK(integ_key_size(2) == 0);  // HMAC-SHA1-96
    CHECK(integ_icv_size(integ::hmac_sha2_256_128) == 16);
    CHECK(integ_icv_size(integ::hmac_sha2_384_192) == 24);
    CHECK(integ_icv_size(integ::hmac_sha2_512_256) == 32);
    CHECK(integ_icv_size(integ::none) == 0);
}
