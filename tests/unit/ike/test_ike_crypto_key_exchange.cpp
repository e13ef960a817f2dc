// Key exchange: RFC 5903 §8 (ECP), RFC 7748 §6.1/§6.2 (X25519/X448) test
// vectors, MODP known answers computed at test-writing time with python's
// pow() over the RFC 3526 primes, and the RFC 6989 checks of the peer's
// value.
#include "ike/crypto/key_exchange.h"
#include "ike/ike_types.h"
#include "test_ike_crypto_hex.h"

#include <doctest/doctest.h>

#include <string>

using namespace xdpsec::ike;
using test::hex;
using test::to_hex;

namespace {

// RFC 3526 §3 and §4 (checked against the formula of the RFC with mpmath).
const char* const kP2048 =
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74"
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437"
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed"
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf05"
    "98da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb"
    "9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3b"
    "e39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf695581718"
    "3995497cea956ae515d2261898fa051015728e5a8aacaa68ffffffffffffffff";
const char* const kP3072 =
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74"
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437"
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed"
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf05"
    "98da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb"
    "9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3b"
    "e39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf695581718"
    "3995497cea956ae515d2261898fa051015728e5a8aaac42dad33170d04507a33"
    "a85521abdf1cba64ecfb850458dbef0a8aea71575d060c7db3970f85a6e1e4c7"
    "abf5ae8cdb0933d71e8c94e04a25619dcee3d2261ad2ee6bf12ffa06d98a0864"
    "d87602733ec86a64521f2b18177b200cbbe117577a615d6c770988c0bad946e2"
    "08e24fa074e5ab3143db5bfce0fd108e4b82d120a93ad2caffffffffffffffff";

Bytes concat(const Bytes& a, const Bytes& b) {
    Bytes r = a;
    r.insert(r.end(), b.begin(), b.end());
    return r;
}

std::unique_ptr<KeyExchange> with_private(uint16_t group, const Bytes& priv) {
    std::string error;
    auto ke = KeyExchange::create_with_private(group, priv, &error);
    INFO(error);
    REQUIRE(ke != nullptr);
    return ke;
}

// compute_shared must refuse `peer` with an error and leave `shared` alone.
void refuses(const KeyExchange& ke, const Bytes& peer) {
    SecretVector shared(ByteView(hex("aa")));
    std::string error;
    CHECK_FALSE(ke.compute_shared(peer, &shared, &error));
    CHECK_FALSE(error.empty());
    CHECK(to_hex(shared) == "aa");
}

struct EcpVector {
    uint16_t group;
    const char *i, *gix, *giy, *r, *grx, *gry, *girx;
};

// RFC 5903 §8.1, §8.2, §8.3 (each value also checked with python
// `cryptography`: i*G, r*G and the ECDH x coordinate).
const EcpVector kEcp[] = {
    {dh::ecp256, "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
     "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180",
     "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
     "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
     "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63",
     "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
     "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE"},
    {dh::ecp384,
     "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F16 "
     "0647B67414DCE655E35B538041E649EE3FAEF896783AB194",
     "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E3 "
     "1634FE72B4C55EE6DE3AC808ACB4BDB4C88732AEE95F41AA",
     "9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144AD "
     "A024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A81C",
     "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060 "
     "855CC9BDA0AA2942E0308312916B8ED2960E4BD55A7448FC",
     "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D "
     "83CFA41732BC509D0D1AC43A0336DEF96FDA41D0774A3571",
     "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416 "
     "DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C",
     "11187331C279962D93D604243FD592CB9D0A926F422E4718 "
     "7521287E7156C5C4D603135569B9E9D09CF5D4A270F59746"},
    {dh::ecp521,
     "0037ADE9319A89F4DABDB3EF411AACCCA5123C61ACAB57B5393DCE47608172A095"
     "AA85A30FE1C2952C6771D937BA9777F5957B2639BAB072462F68C27A57382D4A52",
     "0015417E84DBF28C0AD3C278713349DC7DF153C897A1891BD98BAB4357C9ECBEE1"
     "E3BF42E00B8E380AEAE57C2D107564941885942AF5A7F4601723C4195D176CED3E",
     "017CAE20B6641D2EEB695786D8C946146239D099E18E1D5A514C739D7CB4A10AD8"
     "A788015AC405D7799DC75E7B7D5B6CF2261A6A7F1507438BF01BEB6CA3926F9582",
     "0145BA99A847AF43793FDD0E872E7CDFA16BE30FDC780F97BCCC3F078380201E9C"
     "677D600B343757A3BDBF2A3163E4C2F869CCA7458AA4A4EFFC311F5CB151685EB9",
     "00D0B3975AC4B799F5BEA16D5E13E9AF971D5E9B984C9F39728B5E5739735A219B"
     "97C356436ADC6E95BB0352F6BE64A6C2912D4EF2D0433CED2B6171640012D9460F",
     "015C68226383956E3BD066E797B623C27CE0EAC2F551A10C2C724D9852077B8722"
     "0B6536C5C408A1D2AEBB8E86D678AE49CB57091F4732296579AB44FCD17F0FC56A",
     "01144C7D79AE6956BC8EDB8E7C787C4521CB086FA64407F97894E5E6B2D79B04D1"
     "427E73CA4BAA240A34786859810C06B3C715A3A8CC3151F2BEE417996D19F3DDEA"},
};

}  // namespace

TEST_CASE("KeyExchange: supported groups and their KE data sizes") {
    const struct {
        uint16_t group;
        std::size_t size;
    } groups[] = {{dh::modp2048, 256}, {dh::modp3072, 384},  {dh::ecp256, 64},  {dh::ecp384, 96},
                  {dh::ecp521, 132},   {dh::curve25519, 32}, {dh::curve448, 56}};
    for (const auto& g : groups) {
        CAPTURE(g.group);
        CHECK(key_exchange_supported(g.group));
        CHECK(key_exchange_public_size(g.group) == g.size);
        std::string error;
        auto a = KeyExchange::create(g.group, &error);
        auto b = KeyExchange::create(g.group, &error);
        REQUIRE(a != nullptr);
        REQUIRE(b != nullptr);
        CHECK(a->group() == g.group);
        CHECK(a->public_value().size() == g.size);
        CHECK(a->public_value() != b->public_value());
        SecretVector s1, s2;
        REQUIRE(a->compute_shared(b->public_value(), &s1, &error));
        REQUIRE(b->compute_shared(a->public_value(), &s2, &error));
        CHECK(s1.size() == (g.group >= dh::ecp256 && g.group <= dh::ecp521 ? g.size / 2 : g.size));
        CHECK(to_hex(s1) == to_hex(s2));
    }
    for (uint16_t unsupported : {dh::none, uint16_t{1}, uint16_t{2}, uint16_t{5}, uint16_t{16},
                                 uint16_t{24}, uint16_t{28}, uint16_t{33}}) {
        CAPTURE(unsupported);
        CHECK_FALSE(key_exchange_supported(unsupported));
        CHECK(key_exchange_public_size(unsupported) == 0);
        std::string error;
        CHECK(KeyExchange::create(unsupported, &error) == nullptr);
        CHECK_FALSE(error.empty());
    }
}

TEST_CASE("KeyExchange: RFC 5903 §8 ECDH vectors, x || y without 0x04, shared = x") {
    for (const EcpVector& v : kEcp) {
        CAPTURE(v.group);
        auto i = with_private(v.group, hex(v.i));
        auto r = with_private(v.group, hex(v.r));
        const Bytes gi = concat(hex(v.gix), hex(v.giy));
        const Bytes gr = concat(hex(v.grx), hex(v.gry));
        CHECK(to_hex(i->public_value()) == to_hex(gi));
        CHECK(to_hex(r->public_value()) == to_hex(gr));
        SecretVector si, sr;
        std::string error;
        REQUIRE(i->compute_shared(gr, &si, &error));
        REQUIRE(r->compute_shared(gi, &sr, &error));
        CHECK(to_hex(si) == to_hex(hex(v.girx)));
        CHECK(to_hex(sr) == to_hex(hex(v.girx)));
    }
}

TEST_CASE("KeyExchange: RFC 7748 §6.1 X25519 and §6.2 X448 vectors") {
    SUBCASE("X25519") {
        auto a =
            with_private(dh::curve25519,
                         hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
        auto b =
            with_private(dh::curve25519,
                         hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
        CHECK(to_hex(a->public_value()) ==
              "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        CHECK(to_hex(b->public_value()) ==
              "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        SecretVector s;
        std::string error;
        REQUIRE(a->compute_shared(b->public_value(), &s, &error));
        CHECK(to_hex(s) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        REQUIRE(b->compute_shared(a->public_value(), &s, &error));
        CHECK(to_hex(s) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    }
    SUBCASE("X448") {
        auto a = with_private(dh::curve448,
                              hex("9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28d"
                                  "d9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b"));
        auto b = with_private(dh::curve448,
                              hex("1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d"
                                  "6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d"));
        CHECK(to_hex(a->public_value()) ==
              "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c"
              "22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0");
        CHECK(to_hex(b->public_value()) ==
              "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b430"
              "27d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609");
        SecretVector s;
        std::string error;
        REQUIRE(a->compute_shared(b->public_value(), &s, &error));
        CHECK(to_hex(s) ==
              "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282b"
              "b60c0b56fd2464c335543936521c24403085d59a449a5037514a879d");
    }
}

TEST_CASE("KeyExchange: MODP against python pow(), both values left-padded to the prime") {
    // x, g^x mod p, a peer value y, y^x mod p; chosen so that g^x and the
    // shared secret both start with a zero byte.
    const struct {
        uint16_t group;
        const char *x, *gx, *peer, *shared;
    } cases[] = {
        {dh::modp2048, "387abe0adecb10b1983dc0d5ddb7a14416224afb1a5e6c5c1a41ddc9e11964b7",
         "00c8833a8390638724283d2a1e0198df57841759b4041a6f7041b69125341115"
         "d8483df81c8d74281362e280a848261758928346cd5bdd1515387d3fda4241f5"
         "d7754377938a45fe6200fc0d865fe9f906373d7551f426acb4b9acf3ab2629d5"
         "471d1b077146544e53e80686bf37338c335e2e8841a17d3213372f9fcef417d5"
         "957c1896c1dc95ab363b55d282dc6e842897e2774f98e7a71c6a213c3fbb26a5"
         "c7ff3c256ad994ae1d9b7a28bfbf7f9f6fd77f58be663ab85577f136c83f925a"
         "49a1017c025671ac74d9f639fee892ede43190c49c65e39577ade670d3fca370"
         "ccf607d517bb977ff796c68594873a09875d54c35e8f4fa5d36d3ed8261c50fd",
         "ead827f327c008446ff0cdf59dde86e35df4b6f42421477e37567c6ee4021990"
         "468c724e1f008b18218c8327f88e2ed2edc2b0a2e949ad4f4f6a73574c6d9254"
         "d2eda3dc8e31555a88ddd46376c0bdda1c1221976a96afe0437f221869ea4b26"
         "447497320ea513abad9ad7f1dec2bdee5cd2c2e6384c9d4b1906124145f627cc"
         "2e8aff002db1fb0684779963bd5bbd13c2e1ba5368c6d1897e5388afd90e2470"
         "22b37521866e85b7e7f8aa4f4d0b73e77531c302957cab11998ad7bb05d33816"
         "8cfc5274959666144a07ac5d502a08c11302368d771edac765409d05ec7bdac2"
         "8f57f87427607a4c64f21caf1edfbaf055c5a8c122998b1253c67a7431b19234",
         "00ef6af119f086f667ba0ce26a320dc0cc27ea5fc5ae1e0d7137e7071ed00516"
         "51521f61b85c06c49b524a1aded8539ed1991f8ea4537240cff93dd43a16d9e2"
         "bf91b953876fcabc28ae342ea981148676c941be7caa2f160292f2f56a9e5e36"
         "a4c5177b6779f0b34ab399c542dd66244d5263a5b66cad0777e2beea8cede4bd"
         "4adaed094979ee888820bbae17cb49d690d73ebb7a88985b04efe26128584b1e"
         "fb09889d2658372e6737e21657adc4d8d59648606b1098f002dda0e4e4cf6ae7"
         "d935c056104e9413372a705c1760b0fc78eb15297d68d70523d68c6288a4afed"
         "9da7e9275b76718687e794dfbef5ce1cde4f228a681959241fffb3c979c19256"},
        {dh::modp3072, "b6409ce163148f1746fd31581581c36620d546f8d7efbe0dd5c2472e963d5ee8",
         "0069e8044ab9da27223afe8c99edaf13dfef3bbe483bf10451be48cb8b66f58c"
         "71b49e0103369c9703b8951dee961160977a98a3b81a402cb5cbb01e49e86615"
         "dce7f79aa1d5afb305d0123b380748f907c01b0f25a038c158da0a5bfa4e4081"
         "f134e854a990eeb4f37ff3207d484f4b60a76333c25febc84b30b47581d860f3"
         "d6e16d8c61439ec3cf1808c1c8267448fcfb222deb5d2a97676c4eb1642a8482"
         "0b54087730af2839b1e2787b244b91fd7008b2f37b2ed8043129198c8f389176"
         "edd13996a21f15190fab868d0b976243745b05f9f8b5336e0d0ca6f1ac465e28"
         "dee519dd7e7c4c38de21dcd9b98e3d9856870ef69dde5448c8e9bcac0cadd682"
         "9252f04824720295fcd7ebfe3859956392b142230e4a3c6c2c1ffba246cb9c6c"
         "43b6dbb261c9c94f0e126e3a91700fd11902f6189db5129926774641b81d1d11"
         "07a58e08550279602449348d0aaa1c1b18cf1d3f3da7da3aee043d07247a1ddd"
         "9347973054feb11c4f134018e84220adbf6c680549b3170197f5da239f274958",
         "4adcea5e0bd739e918b9d2580893ae1cc68b3538b220dd1a37961666224e0ab5"
         "4cc8b03b2a7c1cab2c728f07bcde17e36ede4a427331b5f696e7036f090eb0ad"
         "87d14066152fbb913c9fb52e2338a7965246de2733717df323fe221edbd484b2"
         "b635203f16bcbd32a793ed387211da4415caa0d35397540459aa5201dc16490f"
         "87fff8b83fde7f47d304071774634368af4874a6f15ea85c4d3110aaf0f3b78c"
         "24190d588a11b8582d610cf745c7ecad70412940bb288f78fbc506ae0b048bc3"
         "af8272d7f2e8644274cf80107a2bb2b9f6de987a0d15b83ed2b832f71d3f84c6"
         "1f127b13775011ca1500f6363ef843baeb8d835b962ea41c1d5b4e138445e5af"
         "e5e955bf9447c95fda134f5ce28013ee4651001844b612b276d694cabbb88735"
         "582373df158d0ca4d5e4203c148415382d7399d984364e0ecb9d0ede82364073"
         "c08ff1a7f0a3b94bc6d3089a4469fe9ca200e200a4788c3609e9635fc82f29b8"
         "7e2a7a1cf926383a659b6b07569a94418c9651e16fee851ce2dabc01cd3482b6",
         "00347506e2d0fe17b1bcf4cda5874bf13df8b8b9edb903d90b8204154f54152f"
         "f23c95b7356d9ce6ae5341ca722106aa52674cd0d09ad9186e7639c763291269"
         "33676dcf7b2b3ae0a073e9bd9d4c9840f8b4561753107f4c93b46a1dc7b2a4ab"
         "86014bb0933abeade55f122e79d439ec930d2df35064c213c8a629fe7b7bbcd7"
         "f604818ac73325248cdc8947bfe9ff1497026755f2aa991ff865f808b532fac3"
         "3e00d86157571ebb077c088f7c773a3e6d5bbc9358722c000000522e9e29bc89"
         "620b84d1caf6565fa80e8cd8dcff8ed8e34f989f85f806416fa7ea6dec37670f"
         "98ae52d503fed39990a93b3bedec6e95f846554efa86d2078fd2a112c002c523"
         "156ad79f2d1e911d57bcbbdcbb9e1d1fc9fe7010659c5af85f08e477f645d631"
         "1f31f4ab462e2af1c276c8c7e4911692d0a967eac88bc12cdb54329125f55e5d"
         "4a4cb6b294b7a289a741debe9e2646f9f8e9cb254c607a5c662061eede4e1435"
         "2b5b21d6ec5de3184c72457b72a07230eb5bacca8488ad5065e8ffde87adb7fc"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.group);
        auto ke = with_private(c.group, hex(c.x));
        CHECK(ke->public_value()[0] == 0);
        CHECK(to_hex(ke->public_value()) == to_hex(hex(c.gx)));
        SecretVector s;
        std::string error;
        REQUIRE(ke->compute_shared(hex(c.peer), &s, &error));
        CHECK(s.size() == ke->public_value().size());
        CHECK(s.data()[0] == 0);
        CHECK(to_hex(s) == to_hex(hex(c.shared)));
        // y = g = 2 is a valid peer value whose shared secret is g^x itself.
        Bytes two(ke->public_value().size(), 0);
        two.back() = 2;
        REQUIRE(ke->compute_shared(two, &s, &error));
        CHECK(to_hex(s) == to_hex(ke->public_value()));
    }
}

TEST_CASE(
    "KeyExchange: RFC 6989 §2.1 MODP checks refuse 0, 1, p-1, p, values above p, bad lengths") {
    const struct {
        uint16_t group;
        const char* p;
    } cases[] = {{dh::modp2048, kP2048}, {dh::modp3072, kP3072}};
    for (const auto& c : cases) {
        CAPTURE(c.group);
        std::string error;
        auto ke = KeyExchange::create(c.group, &error);
        REQUIRE(ke != nullptr);
        const Bytes p = hex(c.p);
        const std::size_t n = p.size();
        REQUIRE(n == key_exchange_public_size(c.group));
        Bytes v(n, 0);
        refuses(*ke, v);  // 0
        v.back() = 1;
        refuses(*ke, v);  // 1
        Bytes pm1 = p;
        pm1.back() = static_cast<uint8_t>(pm1.back() - 1);  // p ends in 0xff
        refuses(*ke, pm1);
        refuses(*ke, p);
        refuses(*ke, Bytes(n, 0xff));
        refuses(*ke, Bytes(n - 1, 0x55));
        refuses(*ke, Bytes(n + 1, 0x55));
        refuses(*ke, Bytes());
        // A one byte shorter encoding of an otherwise valid value: the KE
        // data must have the prime's length (RFC 7296 §3.4).
        Bytes two(n - 1, 0);
        two.back() = 2;
        refuses(*ke, two);
    }
}

TEST_CASE("KeyExchange: RFC 6989 §2.3 ECP checks refuse bad points and lengths") {
    for (const EcpVector& v : kEcp) {
        CAPTURE(v.group);
        auto ke = with_private(v.group, hex(v.i));
        const Bytes gr = concat(hex(v.grx), hex(v.gry));
        const std::size_t n = gr.size();
        Bytes bad = gr;
        bad.back() ^= 1;  // y changed: off the curve
        refuses(*ke, bad);
        bad = gr;
        bad[0] ^= 0x01;  // x changed
        refuses(*ke, bad);
        refuses(*ke, Bytes(n, 0));     // (0, 0) is not on these curves
        refuses(*ke, Bytes(n, 0xff));  // coordinates >= p
        refuses(*ke, Bytes(gr.begin(), gr.end() - 1));
        Bytes longer = gr;
        longer.push_back(0);
        refuses(*ke, longer);
        // With the SEC1 prefix, the encoding is one byte too long.
        Bytes sec1{0x04};
        sec1.insert(sec1.end(), gr.begin(), gr.end());
        refuses(*ke, sec1);
        refuses(*ke, Bytes(gr.begin(), gr.begin() + static_cast<long>(n / 2)));  // x only
        SecretVector s;
        std::string error;
        CHECK(ke->compute_shared(gr, &s, &error));  // the genuine value still works
    }
}

TEST_CASE("KeyExchange: X25519/X448 refuse wrong lengths and all-zero results (RFC 8031 §2)") {
    const struct {
        uint16_t group;
        std::size_t n;
    } cases[] = {{dh::curve25519, 32}, {dh::curve448, 56}};
    for (const auto& c : cases) {
        CAPTURE(c.group);
        std::string error;
        auto ke = KeyExchange::create(c.group, &error);
        REQUIRE(ke != nullptr);
        refuses(*ke, Bytes(c.n - 1, 9));
        refuses(*ke, Bytes(c.n + 1, 9));
        refuses(*ke, Bytes());
        // u = 0 and u = 1 are small-order points: the result is all zero.
        Bytes u(c.n, 0);
        refuses(*ke, u);
        u[0] = 1;  // little-endian u = 1
        refuses(*ke, u);
        SecretVector s;
        error.clear();
        CHECK_FALSE(ke->compute_shared(u, &s, &error));
        CHECK(error.find("zero") != std::string::npos);
    }
}

TEST_CASE("KeyExchange: create_with_private refuses unusable private keys") {
    std::string error;
    CHECK(KeyExchange::create_with_private(dh::curve25519, Bytes(31, 1), &error) == nullptr);
    CHECK(KeyExchange::create_with_private(dh::curve448, Bytes(32, 1), &error) == nullptr);
    CHECK(KeyExchange::create_with_private(dh::ecp256, Bytes(32, 0), &error) == nullptr);
    // The P-256 group order n and a scalar above it.
    CHECK(KeyExchange::create_with_private(
              dh::ecp256, hex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"),
              &error) == nullptr);
    CHECK(KeyExchange::create_with_private(dh::ecp256, Bytes(32, 0xff), &error) == nullptr);
    CHECK(KeyExchange::create_with_private(dh::ecp256, Bytes(31, 1), &error) == nullptr);
    CHECK(KeyExchange::create_with_private(dh::modp2048, Bytes(32, 0), &error) == nullptr);
    CHECK(KeyExchange::create_with_private(dh::modp2048, Bytes(), &error) == nullptr);
    CHECK(KeyExchange::create_with_private(dh::none, Bytes(32, 1), &error) == nullptr);
    CHECK_FALSE(error.empty());
    // n - 1 is the largest valid scalar.
    CHECK(KeyExchange::create_with_private(
              dh::ecp256, hex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632550"),
              &error) != nullptr);
}
