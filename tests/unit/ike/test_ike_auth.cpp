// Shared-key AUTH and the signed octets (RFC 7296 §2.15). Expected values
// were computed with Python's hmac/hashlib when the tests were written:
//   msg   = bytes((i*7) & 0xff for i in range(80))
//   nonce = bytes(0xa0 + i for i in range(32))
//   sk_p  = bytes(range(1, 33))
//   id    = bytes([2,0,0,0]) + b"moon.strongswan.org"
//   octets = msg + nonce + hmac.new(sk_p, id, sha256).digest()
//   psk   = b"This is a strong password"
//   auth  = hmac.new(hmac.new(psk, b"Key Pad for IKEv2", h).digest(), octets, h)
#include "ike/auth/psk.h"
#include "ike/auth/signed_octets.h"
#include "ike/ike_types.h"
#include "test_ike_auth_fixture.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using namespace xdpsec::ike;
using test::hex;
using test::text;

namespace {

struct Inputs {
    Bytes msg, nonce, sk_p, id_body;
    Inputs() {
        for (int i = 0; i < 80; ++i) msg.push_back(static_cast<uint8_t>((i * 7) & 0xff));
        for (int i = 0; i < 32; ++i) nonce.push_back(static_cast<uint8_t>(0xa0 + i));
        for (int i = 1; i <= 32; ++i) sk_p.push_back(static_cast<uint8_t>(i));
        id_body = {2, 0, 0, 0};
        const Bytes name = text("moon.strongswan.org");
        id_body.insert(id_body.end(), name.begin(), name.end());
    }
    Bytes expected_octets(std::string_view mac_hex) const {
        Bytes o = msg;
        o.insert(o.end(), nonce.begin(), nonce.end());
        const Bytes mac = hex(mac_hex);
        o.insert(o.end(), mac.begin(), mac.end());
        return o;
    }
};

constexpr std::string_view kIdMac256 =
    "32add500e15103fc098876f640599221433e270a69e3193396df37d01b3e4311";
constexpr std::string_view kIdMac384 =
    "3f02f1a62570a129ca509ca3c513644332547530b4cedd00d9fedbda1852819463184b46818a087b719ae71c1b13"
    "be20";
constexpr std::string_view kIdMac512 =
    "22f28d66a79123fb197c50ea79193c9f21938bcc3ba96347694260c889c4c0dd529270ba1c6ed4d806ff75a02ca2"
    "9904b137f8b866f0c81a1d564a4481a457c0";

constexpr std::string_view kAuth256 =
    "a09e0a964ec2cb6512da2c2fed7ec93340035a63d0bb8c043c2726dac8feab18";
constexpr std::string_view kAuth384 =
    "e1342a6d693f936ddf3d97124bb31dd06ac8661451793f9f2e2c3f8a82b4b624b880ed13b59bf07e89112c8675a6"
    "70bb";
constexpr std::string_view kAuth512 =
    "5bf8c3aca1619cc80ef78da5a837db1fe28bdfd9faa203d25b34ed3cc4e53388c243dd9e95d24cbf85e559844525"
    "f1400302d7f7a237e56e57d358e8768e2155";

}  // namespace

TEST_CASE("ike auth: signed octets are message | peer nonce | prf(SK_p, IDx')") {
    const Inputs in;
    CHECK(signed_octets(prf::hmac_sha2_256, in.msg, in.nonce, in.sk_p, in.id_body) ==
          in.expected_octets(kIdMac256));
    CHECK(signed_octets(prf::hmac_sha2_384, in.msg, in.nonce, in.sk_p, in.id_body) ==
          in.expected_octets(kIdMac384));
    CHECK(signed_octets(prf::hmac_sha2_512, in.msg, in.nonce, in.sk_p, in.id_body) ==
          in.expected_octets(kIdMac512));
}

TEST_CASE("ike auth: signed octets change with every input") {
    const Inputs in;
    const Bytes base = signed_octets(prf::hmac_sha2_256, in.msg, in.nonce, in.sk_p, in.id_body);
    Bytes id2 = in.id_body;
    id2.back() ^= 1;
    Bytes sk2 = in.sk_p;
    sk2[0] ^= 0x80;
    CHECK(signed_octets(prf::hmac_sha2_256, in.msg, in.nonce, in.sk_p, id2) != base);
    CHECK(signed_octets(prf::hmac_sha2_256, in.msg, in.nonce, sk2, in.id_body) != base);
}

TEST_CASE("ike auth: signed octets refuse unknown prfs and empty inputs") {
    const Inputs in;
    CHECK(signed_octets(2 /* HMAC-SHA1 */, in.msg, in.nonce, in.sk_p, in.id_body).empty());
    CHECK(signed_octets(0, in.msg, in.nonce, in.sk_p, in.id_body).empty());
    CHECK(signed_octets(prf::hmac_sha2_256, {}, in.nonce, in.sk_p, in.id_body).empty());
    CHECK(signed_octets(prf::hmac_sha2_256, in.msg, {}, in.sk_p, in.id_body).empty());
    CHECK(signed_octets(prf::hmac_sha2_256, in.msg, in.nonce, {}, in.id_body).empty());
    const Bytes short_id = {2, 0, 0};
    CHECK(signed_octets(prf::hmac_sha2_256, in.msg, in.nonce, in.sk_p, short_id).empty());
}

TEST_CASE("ike auth: PSK AUTH matches an independent HMAC computation") {
    const Inputs in;
    const Bytes octets = in.expected_octets(kIdMac256);
    const Bytes psk = text("This is a strong password");
    CHECK(psk_auth(prf::hmac_sha2_256, psk, octets) == hex(kAuth256));
    CHECK(psk_auth(prf::hmac_sha2_384, psk, octets) == hex(kAuth384));
    CHECK(psk_auth(prf::hmac_sha2_512, psk, octets) == hex(kAuth512));
}

TEST_CASE("ike auth: PSK verification") {
    const Inputs in;
    const Bytes octets = in.expected_octets(kIdMac256);
    const Bytes psk = text("This is a strong password");
    const Bytes good = hex(kAuth256);
    CHECK(psk_verify(prf::hmac_sha2_256, psk, octets, good));

    Bytes flipped = good;
    flipped[31] ^= 0x01;
    CHECK_FALSE(psk_verify(prf::hmac_sha2_256, psk, octets, flipped));
    CHECK_FALSE(psk_verify(prf::hmac_sha2_256, text("This is a strong passwort"), octets, good));
    Bytes octets2 = octets;
    octets2[0] ^= 0x01;
    CHECK_FALSE(psk_verify(prf::hmac_sha2_256, psk, octets2, good));
    // A truncated AUTH, an empty one, the wrong prf.
    CHECK_FALSE(psk_verify(prf::hmac_sha2_256, psk, octets, ByteView(good).first(16)));
    CHECK_FALSE(psk_verify(prf::hmac_sha2_256, psk, octets, {}));
    CHECK_FALSE(psk_verify(prf::hmac_sha2_384, psk, octets, good));
}

TEST_CASE("ike auth: PSK AUTH refuses an empty PSK and unknown prfs") {
    const Bytes octets = text("octets");
    CHECK(psk_auth(prf::hmac_sha2_256, {}, octets).empty());
    CHECK(psk_auth(1 /* HMAC-MD5 */, text("psk"), octets).empty());
    CHECK_FALSE(psk_verify(prf::hmac_sha2_256, {}, octets, {}));
}
