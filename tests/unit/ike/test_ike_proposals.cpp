// Proposal offers and choices (RFC 7296 §2.7, §3.3) against the RFC and
// strongSwan's behaviour, not against our own output: transform ids are
// IANA's numbers written out here, the preference rules are strongSwan's
// defaults (prefer_configured_proposals = yes: the responder walks its own
// proposals in order and takes, per transform type, the first of its
// transforms the peer offered too; an ESP proposal without ESN transforms
// means "no ESN").
#include "ike/proposal_select.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace xdpsec;
using namespace xdpsec::ike;

namespace {

// IANA "IKEv2 Parameters", written out so that a wrong constant in
// ike_types.h cannot hide here.
constexpr TransformType ENCR = static_cast<TransformType>(1);
constexpr TransformType PRF = static_cast<TransformType>(2);
constexpr TransformType INTEG = static_cast<TransformType>(3);
constexpr TransformType KE = static_cast<TransformType>(4);
constexpr TransformType ESN = static_cast<TransformType>(5);

constexpr uint16_t AES_CBC = 12, AES_GCM_16 = 20, NULL_AUTH_AES_GMAC = 21, CHACHA20_POLY1305 = 28;
constexpr uint16_t PRF_SHA256 = 5, PRF_SHA384 = 6, PRF_SHA512 = 7;
constexpr uint16_t INTEG_NONE = 0, SHA1_96 = 2, SHA256_128 = 12, SHA384_192 = 13, SHA512_256 = 14;
constexpr uint16_t MODP2048 = 14, MODP3072 = 15, ECP256 = 19, ECP384 = 20, ECP521 = 21,
                   X25519 = 31, X448 = 32;
constexpr uint16_t NO_ESN = 0, WITH_ESN = 1;

std::vector<control::IkeProposal> ike_config(const char* list) {
    auto r = control::parse_ike_proposals(list);
    REQUIRE_MESSAGE(r, (r ? "" : r.error()));
    return r.value();
}

std::vector<control::EspProposal> esp_config(const char* list) {
    auto r = control::parse_esp_proposals(list);
    REQUIRE_MESSAGE(r, (r ? "" : r.error()));
    return r.value();
}

TransformWire tf(TransformType type, uint16_t id, uint16_t key_bits = 0) {
    TransformWire t;
    t.type = type;
    t.id = id;
    t.key_bits = key_bits;
    return t;
}

// The same transform with an attribute other than Key Length (§3.3.6).
TransformWire odd(TransformWire t) {
    t.unknown_attribute = true;
    return t;
}

Proposal ike_prop(uint8_t number, std::vector<TransformWire> ts) {
    Proposal p;
    p.number = number;
    p.protocol = ProtocolId::ike;
    p.transforms = std::move(ts);
    return p;
}

Proposal esp_prop(uint8_t number, Bytes spi, std::vector<TransformWire> ts,
                  ProtocolId protocol = ProtocolId::esp) {
    Proposal p;
    p.number = number;
    p.protocol = protocol;
    p.spi = std::move(spi);
    p.transforms = std::move(ts);
    return p;
}

SaPayload sa(std::vector<Proposal> ps) {
    SaPayload s;
    s.proposals = std::move(ps);
    return s;
}

const Bytes kSpi = {0x11, 0x22, 0x33, 0x44};

// The transforms of one type, in wire order (the order is the preference
// within the type, §3.3.6); the order between types carries no meaning.
std::vector<TransformWire> of_type(const Proposal& p, TransformType type) {
    std::vector<TransformWire> out;
    for (const auto& t : p.transforms)
        if (t.type == type) out.push_back(t);
    return out;
}

using Tfs = std::vector<TransformWire>;

// "type:id/key_bits" per transform, so that a failed check prints them.
std::string text(const Tfs& ts) {
    std::string s;
    for (const auto& t : ts) {
        if (!s.empty()) s += ' ';
        s += std::to_string(static_cast<int>(t.type)) + ":" + std::to_string(t.id);
        if (t.key_bits) s += "/" + std::to_string(t.key_bits);
        if (t.unknown_attribute) s += "+attr";
    }
    return s;
}

// `p` holds exactly these transforms per type and nothing else.
void check_transforms(const Proposal& p, const Tfs& encr, const Tfs& prf, const Tfs& integ,
                      const Tfs& ke, const Tfs& esn) {
    CHECK(text(of_type(p, ENCR)) == text(encr));
    CHECK(text(of_type(p, PRF)) == text(prf));
    CHECK(text(of_type(p, INTEG)) == text(integ));
    CHECK(text(of_type(p, KE)) == text(ke));
    CHECK(text(of_type(p, ESN)) == text(esn));
    CHECK(p.transforms.size() ==
          encr.size() + prf.size() + integ.size() + ke.size() + esn.size());
}

void check_suite(const IkeSuite& s, uint16_t encr, uint16_t key_bits, uint16_t integ,
                 uint16_t prf, uint16_t dh) {
    CHECK(s.encr == encr);
    CHECK(s.key_bits == key_bits);
    CHECK(s.integ == integ);
    CHECK(s.prf == prf);
    CHECK(s.dh == dh);
}

esp::Algorithm esp_alg(const char* name) {
    auto a = esp::Algorithm::parse(name);
    REQUIRE_MESSAGE(a, name);
    return *a;
}

}  // namespace

// ---------------------------------------------------------------------------
// Offers
// ---------------------------------------------------------------------------

TEST_CASE("ike proposals: ike_offer of one classic proposal") {
    const auto offer = ike_offer(ike_config("aes256-sha256-x25519"));
    REQUIRE(offer.proposals.size() == 1);
    const auto& p = offer.proposals[0];
    CHECK(p.number == 1);  // §3.3.1: the first proposal is number 1
    CHECK(p.protocol == ProtocolId::ike);
    CHECK(static_cast<int>(p.protocol) == 1);
    CHECK(p.spi.empty());  // §3.3.1: no SPI in IKE_SA_INIT
    // strongSwan: without a PRF token the PRF of the integrity algorithm.
    check_transforms(p, {tf(ENCR, AES_CBC, 256)}, {tf(PRF, PRF_SHA256)}, {tf(INTEG, SHA256_128)},
                     {tf(KE, X25519)}, {});
}

TEST_CASE("ike proposals: ike_offer of several proposals keeps the order within each type") {
    const auto offer = ike_offer(
        ike_config("aes128gcm16-aes256gcm16-prfsha384-prfsha256-ecp384-x25519, "
                   "aes256-aes128-sha512-sha256-modp3072, chacha20poly1305-prfsha512-x448"));
    REQUIRE(offer.proposals.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(offer.proposals[i].number == i + 1);  // §3.3.1: 1, 2, 3…
        CHECK(offer.proposals[i].protocol == ProtocolId::ike);
        CHECK(offer.proposals[i].spi.empty());
    }
    // AEAD: Key Length attribute (RFC 5282 §7), no integrity transform
    // (§3.3: "no integrity algorithm being the RECOMMENDED method").
    check_transforms(offer.proposals[0], {tf(ENCR, AES_GCM_16, 128), tf(ENCR, AES_GCM_16, 256)},
                     {tf(PRF, PRF_SHA384), tf(PRF, PRF_SHA256)}, {},
                     {tf(KE, ECP384), tf(KE, X25519)}, {});
    // Classic: one PRF per integrity algorithm, in the integrity order.
    check_transforms(offer.proposals[1], {tf(ENCR, AES_CBC, 256), tf(ENCR, AES_CBC, 128)},
                     {tf(PRF, PRF_SHA512), tf(PRF, PRF_SHA256)},
                     {tf(INTEG, SHA512_256), tf(INTEG, SHA256_128)}, {tf(KE, MODP3072)}, {});
    // RFC 7634 §4: ChaCha20-Poly1305 has a fixed key; no Key Length attribute.
    check_transforms(offer.proposals[2], {tf(ENCR, CHACHA20_POLY1305, 0)}, {tf(PRF, PRF_SHA512)},
                     {}, {tf(KE, X448)}, {});
}

TEST_CASE("ike proposals: ike_offer after INVALID_KE_PAYLOAD puts the requested group first") {
    const auto ours = ike_config("aes256-sha256-x25519-ecp256-ecp384");
    const auto moved = ike_offer(ours, ECP384);
    REQUIRE(moved.proposals.size() == 1);
    CHECK(text(of_type(moved.proposals[0], KE)) ==
          text({tf(KE, ECP384), tf(KE, X25519), tf(KE, ECP256)}));
    // A group we do not have changes nothing.
    const auto same = ike_offer(ours, MODP2048);
    CHECK(text(of_type(same.proposals[0], KE)) ==
          text({tf(KE, X25519), tf(KE, ECP256), tf(KE, ECP384)}));
    CHECK(ike_offer(ours) == same);
}

TEST_CASE("ike proposals: esp_offer layout, SPI and ESN transforms") {
    SUBCASE("AEAD, no suffix: SPI in network order, no integrity, ESN transform 'no'") {
        const auto offer = esp_offer(esp_config("aes128gcm16"), 0xc1a2b3d4, false);
        REQUIRE(offer.proposals.size() == 1);
        const auto& p = offer.proposals[0];
        CHECK(p.number == 1);
        CHECK(p.protocol == ProtocolId::esp);
        CHECK(static_cast<int>(p.protocol) == 3);
        CHECK(p.spi == Bytes{0xc1, 0xa2, 0xb3, 0xd4});  // §3.3.1: 4-byte SPI for ESP
        // §3.3.3: ESN is mandatory in ESP proposals; strongSwan's default is
        // "no ESN".
        check_transforms(p, {tf(ENCR, AES_GCM_16, 128)}, {}, {}, {}, {tf(ESN, NO_ESN)});
    }
    SUBCASE("-esn") {
        const auto offer = esp_config("aes256-sha512-esn");
        const auto p = esp_offer(offer, 1, false).proposals.at(0);
        CHECK(p.spi == Bytes{0, 0, 0, 1});
        check_transforms(p, {tf(ENCR, AES_CBC, 256)}, {}, {tf(INTEG, SHA512_256)}, {},
                         {tf(ESN, WITH_ESN)});
    }
    SUBCASE("-noesn") {
        const auto p = esp_offer(esp_config("aes128-sha1-noesn"), 7, false).proposals.at(0);
        check_transforms(p, {tf(ENCR, AES_CBC, 128)}, {}, {tf(INTEG, SHA1_96)}, {},
                         {tf(ESN, NO_ESN)});
    }
    SUBCASE("-esn-noesn: both, ESN first as written") {
        const auto p =
            esp_offer(esp_config("chacha20poly1305-esn-noesn"), 7, false).proposals.at(0);
        check_transforms(p, {tf(ENCR, CHACHA20_POLY1305, 0)}, {}, {}, {},
                         {tf(ESN, WITH_ESN), tf(ESN, NO_ESN)});
    }
    SUBCASE("AES-GMAC is an ESP encryption transform with a Key Length (RFC 4543 §8)") {
        const auto p = esp_offer(esp_config("aes256gmac"), 7, false).proposals.at(0);
        check_transforms(p, {tf(ENCR, NULL_AUTH_AES_GMAC, 256)}, {}, {}, {}, {tf(ESN, NO_ESN)});
    }
    SUBCASE("several proposals: numbered 1.., all with our SPI") {
        const auto offer = esp_offer(esp_config("aes256gcm16-esn, aes128-sha256"), 0xdeadbeef, false);
        REQUIRE(offer.proposals.size() == 2);
        CHECK(offer.proposals[0].number == 1);
        CHECK(offer.proposals[1].number == 2);
        for (const auto& p : offer.proposals) CHECK(p.spi == Bytes{0xde, 0xad, 0xbe, 0xef});
        check_transforms(offer.proposals[0], {tf(ENCR, AES_GCM_16, 256)}, {}, {}, {},
                         {tf(ESN, WITH_ESN)});
        check_transforms(offer.proposals[1], {tf(ENCR, AES_CBC, 128)}, {},
                         {tf(INTEG, SHA256_128)}, {}, {tf(ESN, NO_ESN)});
    }
    SUBCASE("PFS groups only when asked for (never in IKE_AUTH, §1.2)") {
        const auto ours = esp_config("aes128gcm16-x25519-ecp256-esn");
        const auto with = esp_offer(ours, 9, true).proposals.at(0);
        check_transforms(with, {tf(ENCR, AES_GCM_16, 128)}, {}, {}, {tf(KE, X25519), tf(KE, ECP256)},
                         {tf(ESN, WITH_ESN)});
        const auto without = esp_offer(ours, 9, false).proposals.at(0);
        check_transforms(without, {tf(ENCR, AES_GCM_16, 128)}, {}, {}, {}, {tf(ESN, WITH_ESN)});
    }
}

// ---------------------------------------------------------------------------
// ESP transform ids
// ---------------------------------------------------------------------------

TEST_CASE("ike proposals: esp_transform_ids are IANA's numbers and esp_algorithm inverts them") {
    struct Row {
        const char* name;
        uint16_t encr, key_bits, integ;
    };
    // ENCR_AES_CBC 12 (RFC 3602), ENCR_AES_GCM_16 20 (RFC 4106),
    // ENCR_NULL_AUTH_AES_GMAC 21 (RFC 4543), ENCR_CHACHA20_POLY1305 28
    // (RFC 7634); AUTH_HMAC_SHA1_96 2, AUTH_HMAC_SHA2_256_128 12,
    // _384_192 13, _512_256 14 (RFC 4868).
    const Row rows[] = {
        {"aes128gcm16", 20, 128, 0},    {"aes256gcm16", 20, 256, 0},
        {"chacha20poly1305", 28, 0, 0}, {"aes128gmac", 21, 128, 0},
        {"aes256gmac", 21, 256, 0},     {"aes128-sha1", 12, 128, 2},
        {"aes128-sha256", 12, 128, 12}, {"aes128-sha384", 12, 128, 13},
        {"aes128-sha512", 12, 128, 14}, {"aes256-sha1", 12, 256, 2},
        {"aes256-sha256", 12, 256, 12}, {"aes256-sha384", 12, 256, 13},
        {"aes256-sha512", 12, 256, 14},
    };
    for (const auto& r : rows) {
        CAPTURE(r.name);
        const auto a = esp_alg(r.name);
        const auto ids = esp_transform_ids(a);
        CHECK(ids.encr == r.encr);
        CHECK(ids.key_bits == r.key_bits);
        CHECK(ids.integ == r.integ);
        const auto back = esp_algorithm(r.encr, r.key_bits, r.integ);
        REQUIRE(back);
        CHECK(*back == a);
    }

    // Every combination the ESP engine supports (an AEAD cipher alone, a
    // classic one with an HMAC) is one of the rows above.
    int supported = 0;
    for (int c = 0; c <= static_cast<int>(esp::Cipher::aes_cbc_256); ++c)
        for (int i = 0; i <= static_cast<int>(esp::Integrity::hmac_sha512_256); ++i) {
            const esp::Algorithm a{static_cast<esp::Cipher>(c), static_cast<esp::Integrity>(i)};
            if (a.is_aead() != (a.integrity == esp::Integrity::none)) continue;
            ++supported;
            CAPTURE(a.name());
            bool listed = false;
            for (const auto& r : rows) listed = listed || esp_alg(r.name) == a;
            CHECK(listed);
            const auto ids = esp_transform_ids(a);
            const auto back = esp_algorithm(ids.encr, ids.key_bits, ids.integ);
            REQUIRE(back);
            CHECK(*back == a);
        }
    CHECK(supported == 13);
}

TEST_CASE("ike proposals: esp_algorithm refuses what the engine cannot run") {
    CHECK_FALSE(esp_algorithm(AES_GCM_16, 128, SHA256_128));  // AEAD with an HMAC (§3.3)
    CHECK_FALSE(esp_algorithm(AES_CBC, 128, INTEG_NONE));     // CBC without integrity
    CHECK_FALSE(esp_algorithm(AES_CBC, 192, SHA256_128));     // AES-192: not built
    CHECK_FALSE(esp_algorithm(AES_CBC, 0, SHA256_128));       // Key Length missing (§3.3.5)
    CHECK_FALSE(esp_algorithm(AES_GCM_16, 0, INTEG_NONE));
    CHECK_FALSE(esp_algorithm(CHACHA20_POLY1305, 256, INTEG_NONE));  // RFC 7634: no Key Length
    CHECK_FALSE(esp_algorithm(3, 0, SHA1_96));                       // ENCR_3DES
    CHECK_FALSE(esp_algorithm(AES_CBC, 128, 5));                     // AUTH_AES_XCBC_96
}

TEST_CASE("ike proposals: suite names use strongSwan's tokens") {
    CHECK(IkeSuite{AES_CBC, 128, SHA256_128, PRF_SHA256, X25519}.name() ==
          "aes128-sha256-prfsha256-x25519");
    CHECK(IkeSuite{AES_GCM_16, 256, 0, PRF_SHA384, ECP384}.name() ==
          "aes256gcm16-prfsha384-ecp384");
    // A child suite's name parses back to the same suite.
    const ChildSuite child{esp_alg("aes256-sha384"), true, ECP256};
    const auto parsed = control::parse_esp_proposal(child.name());
    REQUIRE_MESSAGE(parsed, child.name());
    CHECK(parsed->algorithm == child.algorithm);
    CHECK(parsed->esn == control::EsnPolicy::on);
    REQUIRE(parsed->dh_groups.size() == 1);
    CHECK(parsed->dh_groups[0].id == ECP256);
}

// ---------------------------------------------------------------------------
// Responder: choose_ike
// ---------------------------------------------------------------------------

TEST_CASE("ike proposals: choose_ike takes our first proposal the peer offered") {
    const auto ours = ike_config("aes256-sha256-x25519, aes128gcm16-prfsha256-ecp256");
    // The peer prefers AEAD (its proposal 1), we prefer CBC: our order wins.
    const auto theirs = sa({
        ike_prop(1, {tf(ENCR, AES_GCM_16, 128), tf(PRF, PRF_SHA256), tf(KE, ECP256)}),
        ike_prop(2, {tf(ENCR, AES_CBC, 256), tf(PRF, PRF_SHA256), tf(INTEG, SHA256_128),
                     tf(KE, X25519)}),
    });
    const auto c = choose_ike(ours, theirs, X25519);
    REQUIRE(c);
    CHECK(c->proposal_number == 2);
    check_suite(c->suite, AES_CBC, 256, SHA256_128, PRF_SHA256, X25519);
    CHECK_FALSE(c->suite.aead());

    // Without the CBC proposal the AEAD one is the match.
    const auto only_aead = sa({theirs.proposals[0]});
    const auto a = choose_ike(ours, only_aead, ECP256);
    REQUIRE(a);
    CHECK(a->proposal_number == 1);
    check_suite(a->suite, AES_GCM_16, 128, 0, PRF_SHA256, ECP256);
    CHECK(a->suite.aead());
}

TEST_CASE("ike proposals: choose_ike picks our first transform of each type") {
    const auto ours =
        ike_config("aes256-aes128-sha512-sha256-prfsha512-prfsha256-ecp384-x25519");
    const auto theirs = sa({ike_prop(
        1, {tf(ENCR, AES_CBC, 128), tf(ENCR, AES_CBC, 256), tf(PRF, PRF_SHA256),
            tf(PRF, PRF_SHA512), tf(INTEG, SHA256_128), tf(INTEG, SHA512_256), tf(KE, X25519),
            tf(KE, ECP384)})});
    SUBCASE("KE group we do not take: our first common group") {
        const auto c = choose_ike(ours, theirs, ECP521);
        REQUIRE(c);
        check_suite(c->suite, AES_CBC, 256, SHA512_256, PRF_SHA512, ECP384);
    }
    SUBCASE("no KE group given") {
        const auto c = choose_ike(ours, theirs, 0);
        REQUIRE(c);
        CHECK(c->suite.dh == ECP384);
    }
    SUBCASE("the peer's KE group wins when both sides allow it (saves INVALID_KE_PAYLOAD)") {
        const auto c = choose_ike(ours, theirs, X25519);
        REQUIRE(c);
        check_suite(c->suite, AES_CBC, 256, SHA512_256, PRF_SHA512, X25519);
    }
    SUBCASE("a KE group the peer's proposal does not list is not taken") {
        const auto narrow = sa({ike_prop(1, {tf(ENCR, AES_CBC, 256), tf(PRF, PRF_SHA256),
                                             tf(INTEG, SHA256_128), tf(KE, ECP384)})});
        const auto c = choose_ike(ours, narrow, X25519);
        REQUIRE(c);
        CHECK(c->suite.dh == ECP384);
    }
}

TEST_CASE("ike proposals: choose_ike echoes the peer's proposal number") {
    const auto ours = ike_config("aes128-sha256-ecp256");
    const auto theirs = sa({
        ike_prop(1, {tf(ENCR, AES_CBC, 256), tf(PRF, PRF_SHA384), tf(INTEG, SHA384_192),
                     tf(KE, ECP384)}),
        ike_prop(2, {tf(ENCR, AES_CBC, 128), tf(PRF, PRF_SHA256), tf(INTEG, SHA1_96),
                     tf(KE, ECP256)}),
        ike_prop(3, {tf(ENCR, AES_CBC, 128), tf(PRF, PRF_SHA256), tf(INTEG, SHA256_128),
                     tf(KE, ECP256)}),
    });
    const auto c = choose_ike(ours, theirs, ECP256);
    REQUIRE(c);
    CHECK(c->proposal_number == 3);
    check_suite(c->suite, AES_CBC, 128, SHA256_128, PRF_SHA256, ECP256);
}

TEST_CASE("ike proposals: choose_ike with AEAD proposals and integrity transforms") {
    const auto ours = ike_config("aes256gcm16-prfsha384-ecp384");
    const Tfs base = {tf(ENCR, AES_GCM_16, 256), tf(PRF, PRF_SHA384), tf(KE, ECP384)};
    SUBCASE("no integrity transform: chosen, the suite has none") {
        const auto c = choose_ike(ours, sa({ike_prop(1, base)}), ECP384);
        REQUIRE(c);
        check_suite(c->suite, AES_GCM_16, 256, 0, PRF_SHA384, ECP384);
        CHECK(c->suite.aead());
    }
    SUBCASE("integrity NONE: allowed by §3.3") {
        auto ts = base;
        ts.push_back(tf(INTEG, INTEG_NONE));
        const auto c = choose_ike(ours, sa({ike_prop(1, ts)}), ECP384);
        REQUIRE(c);
        CHECK(c->suite.integ == 0);
    }
    SUBCASE("a real integrity algorithm with AEAD breaks §3.3's MUST: refused") {
        auto ts = base;
        ts.push_back(tf(INTEG, SHA256_128));
        CHECK_FALSE(choose_ike(ours, sa({ike_prop(1, ts)}), ECP384));
        // …while a well-formed second proposal is still taken.
        const auto c = choose_ike(ours, sa({ike_prop(1, ts), ike_prop(2, base)}), ECP384);
        REQUIRE(c);
        CHECK(c->proposal_number == 2);
    }
}

TEST_CASE("ike proposals: choose_ike without a common proposal") {
    const auto ours = ike_config("aes256-sha256-x25519, aes128gcm16-prfsha256-ecp256");
    const auto full = [](uint16_t encr, uint16_t bits, uint16_t prf, uint16_t integ, uint16_t ke) {
        Tfs ts = {tf(ENCR, encr, bits), tf(PRF, prf), tf(KE, ke)};
        if (integ) ts.push_back(tf(INTEG, integ));
        return sa({ike_prop(1, ts)});
    };
    CHECK_FALSE(choose_ike(ours, SaPayload{}, X25519));
    CHECK_FALSE(choose_ike(ours, full(AES_CBC, 256, PRF_SHA256, SHA256_128, MODP2048), MODP2048));
    CHECK_FALSE(choose_ike(ours, full(AES_CBC, 256, PRF_SHA512, SHA256_128, X25519), X25519));
    CHECK_FALSE(choose_ike(ours, full(AES_CBC, 256, PRF_SHA256, SHA1_96, X25519), X25519));
    CHECK_FALSE(choose_ike(ours, full(AES_CBC, 192, PRF_SHA256, SHA256_128, X25519), X25519));
    // §3.3.5: AES without its Key Length attribute is not AES-256.
    CHECK_FALSE(choose_ike(ours, full(AES_CBC, 0, PRF_SHA256, SHA256_128, X25519), X25519));
    CHECK_FALSE(choose_ike(ours, full(AES_GCM_16, 256, PRF_SHA256, 0, ECP256), ECP256));
    // A classic cipher without integrity misses a mandatory type (§3.3.3).
    CHECK_FALSE(choose_ike(ours, full(AES_CBC, 256, PRF_SHA256, 0, X25519), X25519));
    // Missing PRF or KE.
    CHECK_FALSE(choose_ike(
        ours, sa({ike_prop(1, {tf(ENCR, AES_CBC, 256), tf(INTEG, SHA256_128), tf(KE, X25519)})}),
        X25519));
    CHECK_FALSE(choose_ike(
        ours,
        sa({ike_prop(1, {tf(ENCR, AES_CBC, 256), tf(INTEG, SHA256_128), tf(PRF, PRF_SHA256)})}),
        X25519));
    // The right transforms under the wrong protocol.
    auto esp = full(AES_CBC, 256, PRF_SHA256, SHA256_128, X25519);
    esp.proposals[0].protocol = ProtocolId::esp;
    CHECK_FALSE(choose_ike(ours, esp, X25519));
}

// RFC 7296 §3.3.6: "if the responder receives a transform [...] that
// contains a Transform Attribute it does not understand, it MUST consider
// this transform unacceptable; other transforms with the same Transform Type
// are processed as usual."
TEST_CASE("ike proposals: choose_ike never takes a transform with an unknown attribute") {
    const auto ours = ike_config("aes256-aes128-sha256-x25519-ecp256");
    SUBCASE("the only cipher has one: no proposal") {
        const auto theirs = sa({ike_prop(1, {odd(tf(ENCR, AES_CBC, 256)), tf(PRF, PRF_SHA256),
                                             tf(INTEG, SHA256_128), tf(KE, X25519)})});
        CHECK_FALSE(choose_ike(ours, theirs, X25519));
    }
    SUBCASE("the next transform of that type is taken instead") {
        const auto theirs = sa({ike_prop(
            1, {odd(tf(ENCR, AES_CBC, 256)), tf(ENCR, AES_CBC, 128), tf(PRF, PRF_SHA256),
                tf(INTEG, SHA256_128), tf(KE, X25519)})});
        const auto c = choose_ike(ours, theirs, X25519);
        REQUIRE(c);
        check_suite(c->suite, AES_CBC, 128, SHA256_128, PRF_SHA256, X25519);
    }
    SUBCASE("in the PRF, the integrity and the KE transforms too") {
        const auto prf = sa({ike_prop(1, {tf(ENCR, AES_CBC, 256), odd(tf(PRF, PRF_SHA256)),
                                          tf(INTEG, SHA256_128), tf(KE, X25519)})});
        CHECK_FALSE(choose_ike(ours, prf, X25519));
        const auto integ = sa({ike_prop(1, {tf(ENCR, AES_CBC, 256), tf(PRF, PRF_SHA256),
                                            odd(tf(INTEG, SHA256_128)), tf(KE, X25519)})});
        CHECK_FALSE(choose_ike(ours, integ, X25519));
        const auto ke = sa({ike_prop(1, {tf(ENCR, AES_CBC, 256), tf(PRF, PRF_SHA256),
                                         tf(INTEG, SHA256_128), odd(tf(KE, X25519)),
                                         tf(KE, ECP256)})});
        const auto c = choose_ike(ours, ke, X25519);
        REQUIRE(c);
        CHECK(c->suite.dh == ECP256);
    }
}

// §3.3.6: "If the responder receives a proposal that contains a Transform
// Type it does not understand [...] it MUST consider this proposal
// unacceptable; however, other proposals in the same SA payload are
// processed as usual."
TEST_CASE("ike proposals: choose_ike refuses a proposal with an unknown transform type") {
    const auto ours = ike_config("aes256-sha256-x25519");
    const Tfs good = {tf(ENCR, AES_CBC, 256), tf(PRF, PRF_SHA256), tf(INTEG, SHA256_128),
                      tf(KE, X25519)};
    auto strange = good;
    strange.push_back(tf(static_cast<TransformType>(200), 1));
    CHECK_FALSE(choose_ike(ours, sa({ike_prop(1, strange)}), X25519));
    const auto c = choose_ike(ours, sa({ike_prop(1, strange), ike_prop(2, good)}), X25519);
    REQUIRE(c);
    CHECK(c->proposal_number == 2);
}

TEST_CASE("ike proposals: ike_answer holds exactly the chosen transforms") {
    const auto ours = ike_config("aes256-sha256-x25519, aes128gcm16-prfsha256-ecp256");
    const auto theirs = sa({ike_prop(
        4, {tf(ENCR, AES_GCM_16, 128), tf(ENCR, AES_GCM_16, 256), tf(PRF, PRF_SHA384),
            tf(PRF, PRF_SHA256), tf(KE, ECP384), tf(KE, ECP256)})});
    const auto c = choose_ike(ours, theirs, ECP256);
    REQUIRE(c);
    const auto answer = ike_answer(*c);
    REQUIRE(answer.proposals.size() == 1);  // §3.3.6: one proposal…
    const auto& p = answer.proposals[0];
    CHECK(p.number == 4);  // §3.3.1: …with the number of the one accepted
    CHECK(p.protocol == ProtocolId::ike);
    CHECK(p.spi.empty());
    check_transforms(p, {tf(ENCR, AES_GCM_16, 128)}, {tf(PRF, PRF_SHA256)}, {}, {tf(KE, ECP256)},
                     {});
    // What we answer, we would accept as the initiator.
    std::string why;
    const auto back = accept_ike(ours, answer, &why);
    REQUIRE_MESSAGE(back, why);
    check_suite(*back, AES_GCM_16, 128, 0, PRF_SHA256, ECP256);
}

// ---------------------------------------------------------------------------
// Initiator: accept_ike
// ---------------------------------------------------------------------------

TEST_CASE("ike proposals: accept_ike checks the answer against our offer") {
    const auto ours = ike_config("aes256-sha256-x25519, aes128gcm16-prfsha256-ecp256");
    std::string why;
    SUBCASE("a legal CBC answer") {
        const auto s = accept_ike(ours,
                                  sa({ike_prop(1, {tf(ENCR, AES_CBC, 256), tf(PRF, PRF_SHA256),
                                                   tf(INTEG, SHA256_128), tf(KE, X25519)})}),
                                  &why);
        REQUIRE_MESSAGE(s, why);
        check_suite(*s, AES_CBC, 256, SHA256_128, PRF_SHA256, X25519);
    }
    SUBCASE("a legal AEAD answer") {
        const auto s = accept_ike(
            ours,
            sa({ike_prop(2, {tf(ENCR, AES_GCM_16, 128), tf(PRF, PRF_SHA256), tf(KE, ECP256)})}),
            &why);
        REQUIRE_MESSAGE(s, why);
        check_suite(*s, AES_GCM_16, 128, 0, PRF_SHA256, ECP256);
    }
    SUBCASE("two proposals") {
        const Tfs t = {tf(ENCR, AES_CBC, 256), tf(PRF, PRF_SHA256), tf(INTEG, SHA256_128),
                       tf(KE, X25519)};
        CHECK_FALSE(accept_ike(ours, sa({ike_prop(1, t), ike_prop(1, t)}), &why));
        CHECK_FALSE(why.empty());
    }
    SUBCASE("no proposal") {
        CHECK_FALSE(accept_ike(ours, SaPayload{}, &why));
        CHECK_FALSE(why.empty());
    }
    SUBCASE("two transforms of one type") {
        CHECK_FALSE(accept_ike(ours,
                               sa({ike_prop(1, {tf(ENCR, AES_CBC, 256), tf(PRF, PRF_SHA256),
                                                tf(INTEG, SHA256_128), tf(KE, X25519),
                                                tf(KE, X25519)})}),
                               &why));
        CHECK_FALSE(why.empty());
    }
    SUBCASE("a transform we never offered") {
        CHECK_FALSE(accept_ike(ours,
                               sa({ike_prop(1, {tf(ENCR, AES_CBC, 128), tf(PRF, PRF_SHA256),
                                                tf(INTEG, SHA256_128), tf(KE, X25519)})}),
                               &why));
        CHECK_FALSE(why.empty());
        CHECK_FALSE(accept_ike(ours,
                               sa({ike_prop(1, {tf(ENCR, AES_CBC, 256), tf(PRF, PRF_SHA256),
                                                tf(INTEG, SHA256_128), tf(KE, MODP2048)})}),
                               &why));
    }
    SUBCASE("transforms from two of our proposals mixed into one") {
        // Each transform was offered, but never together (§3.3.6: the answer
        // must be consistent with one of our proposals).
        CHECK_FALSE(accept_ike(ours,
                               sa({ike_prop(1, {tf(ENCR, AES_CBC, 256), tf(PRF, PRF_SHA256),
                                                tf(INTEG, SHA256_128), tf(KE, ECP256)})}),
                               &why));
    }
    SUBCASE("a mandatory type missing") {
        CHECK_FALSE(accept_ike(
            ours, sa({ike_prop(1, {tf(ENCR, AES_CBC, 256), tf(PRF, PRF_SHA256), tf(KE, X25519)})}),
            &why));
        CHECK_FALSE(accept_ike(
            ours, sa({ike_prop(2, {tf(ENCR, AES_GCM_16, 128), tf(PRF, PRF_SHA256)})}), &why));
    }
    SUBCASE("an integrity algorithm with the AEAD cipher") {
        CHECK_FALSE(accept_ike(ours,
                               sa({ike_prop(2, {tf(ENCR, AES_GCM_16, 128), tf(PRF, PRF_SHA256),
                                                tf(INTEG, SHA256_128), tf(KE, ECP256)})}),
                               &why));
    }
    SUBCASE("an ESP proposal") {
        auto a = sa({ike_prop(1, {tf(ENCR, AES_CBC, 256), tf(PRF, PRF_SHA256),
                                  tf(INTEG, SHA256_128), tf(KE, X25519)})});
        a.proposals[0].protocol = ProtocolId::esp;
        CHECK_FALSE(accept_ike(ours, a, &why));
    }
}

// §3.3.6: "Any attributes of a selected Transform MUST be returned
// unmodified." We send none but Key Length, so an answer carrying another
// attribute is not one of our transforms.
TEST_CASE("ike proposals: accept_ike refuses a transform with an attribute we never sent") {
    const auto ours = ike_config("aes256-sha256-x25519");
    std::string why;
    CHECK_FALSE(accept_ike(ours,
                           sa({ike_prop(1, {odd(tf(ENCR, AES_CBC, 256)), tf(PRF, PRF_SHA256),
                                            tf(INTEG, SHA256_128), tf(KE, X25519)})}),
                           &why));
}

// ---------------------------------------------------------------------------
// CHILD SAs: choose_esp / accept_esp
// ---------------------------------------------------------------------------

namespace {

Proposal gcm_esp(uint8_t number, const Tfs& esn) {
    Tfs ts = {tf(ENCR, AES_GCM_16, 128)};
    ts.insert(ts.end(), esn.begin(), esn.end());
    return esp_prop(number, kSpi, ts);
}

}  // namespace

TEST_CASE("ike proposals: choose_esp ESN combinations") {
    // Expected per strongSwan: our ESN transforms in our order, the first one
    // the peer offered; a peer proposal without ESN transforms means no ESN.
    struct Row {
        const char* ours;
        Tfs peer;
        int expect;  // -1: no match, 0: no ESN, 1: ESN
    };
    const Row rows[] = {
        {"aes128gcm16", {tf(ESN, WITH_ESN)}, -1},
        {"aes128gcm16", {tf(ESN, NO_ESN)}, 0},
        {"aes128gcm16", {tf(ESN, WITH_ESN), tf(ESN, NO_ESN)}, 0},
        {"aes128gcm16", {}, 0},
        {"aes128gcm16-noesn", {tf(ESN, WITH_ESN)}, -1},
        {"aes128gcm16-noesn", {tf(ESN, NO_ESN), tf(ESN, WITH_ESN)}, 0},
        {"aes128gcm16-esn", {tf(ESN, WITH_ESN)}, 1},
        {"aes128gcm16-esn", {tf(ESN, NO_ESN)}, -1},
        {"aes128gcm16-esn", {tf(ESN, WITH_ESN), tf(ESN, NO_ESN)}, 1},
        {"aes128gcm16-esn", {tf(ESN, NO_ESN), tf(ESN, WITH_ESN)}, 1},
        {"aes128gcm16-esn", {}, -1},
        {"aes128gcm16-esn-noesn", {tf(ESN, WITH_ESN)}, 1},
        {"aes128gcm16-esn-noesn", {tf(ESN, NO_ESN)}, 0},
        {"aes128gcm16-esn-noesn", {}, 0},
    };
    for (const auto& r : rows) {
        CAPTURE(r.ours);
        CAPTURE(r.peer.size());
        CAPTURE(r.expect);
        const auto c = choose_esp(esp_config(r.ours), sa({gcm_esp(1, r.peer)}), false);
        if (r.expect < 0) {
            CHECK_FALSE(c);
            continue;
        }
        REQUIRE(c);
        CHECK(c->suite.esn == (r.expect == 1));
        CHECK(c->suite.algorithm == esp_alg("aes128gcm16"));
    }
}

// strongSwan keeps "-esn-noesn" as two ESN transforms, ESN first, and the
// responder (prefer_configured_proposals) takes the first of ours the peer
// offered: ESN. Our esp_offer lists them in that order as well.
TEST_CASE("ike proposals: choose_esp with -esn-noesn takes ESN when the peer offers both") {
    const auto ours = esp_config("aes128gcm16-esn-noesn");
    const auto a = choose_esp(ours, sa({gcm_esp(1, {tf(ESN, WITH_ESN), tf(ESN, NO_ESN)})}), false);
    REQUIRE(a);
    CHECK(a->suite.esn);
    const auto b = choose_esp(ours, sa({gcm_esp(1, {tf(ESN, NO_ESN), tf(ESN, WITH_ESN)})}), false);
    REQUIRE(b);
    CHECK(b->suite.esn);
}

TEST_CASE("ike proposals: choose_esp AEAD versus CBC+HMAC") {
    const auto ours = esp_config("aes256-sha256, aes128gcm16");
    const auto gcm = esp_prop(1, {0xaa, 0xbb, 0xcc, 0xdd},
                              {tf(ENCR, AES_GCM_16, 128), tf(ESN, NO_ESN)});
    const auto cbc = esp_prop(2, kSpi,
                              {tf(ENCR, AES_CBC, 128), tf(ENCR, AES_CBC, 256),
                               tf(INTEG, SHA1_96), tf(INTEG, SHA256_128), tf(ESN, NO_ESN)});
    SUBCASE("our first proposal wins over the peer's first") {
        const auto c = choose_esp(ours, sa({gcm, cbc}), false);
        REQUIRE(c);
        CHECK(c->proposal_number == 2);
        CHECK(c->peer_spi == 0x11223344);
        CHECK(c->suite.algorithm == esp_alg("aes256-sha256"));
        CHECK_FALSE(c->suite.esn);
        CHECK(c->suite.dh == 0);
    }
    SUBCASE("the AEAD proposal when the CBC one does not fit") {
        auto other = cbc;
        other.transforms = {tf(ENCR, AES_CBC, 256), tf(INTEG, SHA1_96), tf(ESN, NO_ESN)};
        const auto c = choose_esp(ours, sa({other, gcm}), false);
        REQUIRE(c);
        CHECK(c->proposal_number == 1);
        CHECK(c->peer_spi == 0xaabbccdd);
        CHECK(c->suite.algorithm == esp_alg("aes128gcm16"));
    }
    SUBCASE("CBC without any integrity transform") {
        const auto bare = esp_prop(1, kSpi, {tf(ENCR, AES_CBC, 256), tf(ESN, NO_ESN)});
        CHECK_FALSE(choose_esp(esp_config("aes256-sha256"), sa({bare}), false));
    }
    SUBCASE("AEAD with integrity NONE is fine, with an HMAC it is refused (§3.3)") {
        const auto none = esp_prop(
            1, kSpi, {tf(ENCR, AES_GCM_16, 128), tf(INTEG, INTEG_NONE), tf(ESN, NO_ESN)});
        CHECK(choose_esp(esp_config("aes128gcm16"), sa({none}), false));
        const auto hmac = esp_prop(
            1, kSpi, {tf(ENCR, AES_GCM_16, 128), tf(INTEG, SHA256_128), tf(ESN, NO_ESN)});
        CHECK_FALSE(choose_esp(esp_config("aes128gcm16"), sa({hmac}), false));
    }
    SUBCASE("a Key Length we did not configure") {
        const auto g256 = esp_prop(1, kSpi, {tf(ENCR, AES_GCM_16, 256), tf(ESN, NO_ESN)});
        CHECK_FALSE(choose_esp(esp_config("aes128gcm16"), sa({g256}), false));
    }
}

TEST_CASE("ike proposals: choose_esp needs ESP with a 4-byte SPI") {
    const auto ours = esp_config("aes128gcm16");
    const Tfs t = {tf(ENCR, AES_GCM_16, 128), tf(ESN, NO_ESN)};
    CHECK_FALSE(choose_esp(ours, sa({esp_prop(1, {}, t)}), false));
    CHECK_FALSE(choose_esp(ours, sa({esp_prop(1, {1, 2, 3}, t)}), false));
    CHECK_FALSE(choose_esp(ours, sa({esp_prop(1, {1, 2, 3, 4, 5, 6, 7, 8}, t)}), false));
    // AH (protocol 2) with an integrity-only transform set: we only do ESP.
    CHECK_FALSE(choose_esp(
        esp_config("aes128-sha256"),
        sa({esp_prop(1, kSpi, {tf(INTEG, SHA256_128), tf(ESN, NO_ESN)}, ProtocolId::ah)}),
        false));
    CHECK_FALSE(choose_esp(ours, sa({esp_prop(1, kSpi, t, ProtocolId::ah)}), false));
    CHECK_FALSE(choose_esp(ours, sa({esp_prop(1, kSpi, t, ProtocolId::ike)}), false));
    // A good proposal after a bad one is found.
    const auto c =
        choose_esp(ours, sa({esp_prop(1, {1, 2, 3, 4, 5, 6, 7, 8}, t), esp_prop(2, kSpi, t)}),
                   false);
    REQUIRE(c);
    CHECK(c->proposal_number == 2);
    CHECK(c->peer_spi == 0x11223344);
}

TEST_CASE("ike proposals: choose_esp PFS groups") {
    const auto ours = esp_config("aes128gcm16-ecp256-x25519");
    const auto with = [](const Tfs& groups) {
        Tfs ts = {tf(ENCR, AES_GCM_16, 128), tf(ESN, NO_ESN)};
        ts.insert(ts.end(), groups.begin(), groups.end());
        return sa({esp_prop(1, kSpi, ts)});
    };
    SUBCASE("CREATE_CHILD_SA: our first common group") {
        const auto c = choose_esp(ours, with({tf(KE, X25519), tf(KE, ECP256)}), true);
        REQUIRE(c);
        CHECK(c->suite.dh == ECP256);
        const auto d = choose_esp(ours, with({tf(KE, X25519)}), true);
        REQUIRE(d);
        CHECK(d->suite.dh == X25519);
    }
    SUBCASE("CREATE_CHILD_SA: we want PFS, the peer offers none or others") {
        CHECK_FALSE(choose_esp(ours, with({}), true));
        CHECK_FALSE(choose_esp(ours, with({tf(KE, MODP2048)}), true));
    }
    SUBCASE("IKE_AUTH: groups play no part (§1.2), as strongSwan skips them") {
        const auto c = choose_esp(ours, with({tf(KE, MODP2048)}), false);
        REQUIRE(c);
        CHECK(c->suite.dh == 0);
        const auto d = choose_esp(ours, with({}), false);
        REQUIRE(d);
        CHECK(d->suite.dh == 0);
    }
}

TEST_CASE("ike proposals: choose_esp never takes a transform with an unknown attribute") {
    const auto ours = esp_config("aes256gcm16, aes128gcm16");
    const auto only_odd =
        sa({esp_prop(1, kSpi, {odd(tf(ENCR, AES_GCM_16, 256)), tf(ESN, NO_ESN)})});
    CHECK_FALSE(choose_esp(ours, only_odd, false));
    const auto next =
        sa({esp_prop(1, kSpi, {odd(tf(ENCR, AES_GCM_16, 256)), tf(ENCR, AES_GCM_16, 128),
                               tf(ESN, NO_ESN)})});
    const auto c = choose_esp(ours, next, false);
    REQUIRE(c);
    CHECK(c->suite.algorithm == esp_alg("aes128gcm16"));
    const auto odd_esn = sa({esp_prop(1, kSpi, {tf(ENCR, AES_GCM_16, 256), odd(tf(ESN, NO_ESN))})});
    CHECK_FALSE(choose_esp(esp_config("aes256gcm16-noesn"), odd_esn, false));
}

TEST_CASE("ike proposals: choose_esp refuses a proposal with an unknown transform type") {
    const Tfs good = {tf(ENCR, AES_GCM_16, 128), tf(ESN, NO_ESN)};
    auto strange = good;
    strange.push_back(tf(static_cast<TransformType>(200), 1));
    const auto ours = esp_config("aes128gcm16");
    CHECK_FALSE(choose_esp(ours, sa({esp_prop(1, kSpi, strange)}), false));
    const auto c = choose_esp(ours, sa({esp_prop(1, kSpi, strange), esp_prop(2, kSpi, good)}), false);
    REQUIRE(c);
    CHECK(c->proposal_number == 2);
}

TEST_CASE("ike proposals: esp_answer and accept_esp") {
    const auto ours = esp_config("aes256-sha384-esn, aes128gcm16-x25519");
    std::string why;
    SUBCASE("the answer to a choice is accepted by the initiator") {
        const auto theirs = esp_offer(ours, 0x01020304, true);
        const auto c = choose_esp(ours, theirs, true);
        REQUIRE(c);
        CHECK(c->proposal_number == 1);
        CHECK(c->peer_spi == 0x01020304);
        const auto answer = esp_answer(*c, 0xa0b0c0d0);
        REQUIRE(answer.proposals.size() == 1);
        const auto& p = answer.proposals[0];
        CHECK(p.number == 1);
        CHECK(p.protocol == ProtocolId::esp);
        CHECK(p.spi == Bytes{0xa0, 0xb0, 0xc0, 0xd0});  // the responder's inbound SPI
        check_transforms(p, {tf(ENCR, AES_CBC, 256)}, {}, {tf(INTEG, SHA384_192)}, {},
                         {tf(ESN, WITH_ESN)});
        const auto back = accept_esp(ours, answer, true, &why);
        REQUIRE_MESSAGE(back, why);
        CHECK(back->suite.algorithm == esp_alg("aes256-sha384"));
        CHECK(back->suite.esn);
        CHECK(back->peer_spi == 0xa0b0c0d0);
        CHECK(back->proposal_number == 1);
    }
    SUBCASE("a legal AEAD answer with PFS") {
        const auto a = sa({esp_prop(2, kSpi, {tf(ENCR, AES_GCM_16, 128), tf(KE, X25519),
                                              tf(ESN, NO_ESN)})});
        const auto c = accept_esp(ours, a, true, &why);
        REQUIRE_MESSAGE(c, why);
        CHECK(c->suite.algorithm == esp_alg("aes128gcm16"));
        CHECK(c->suite.dh == X25519);
        CHECK_FALSE(c->suite.esn);
        CHECK(c->peer_spi == 0x11223344);
        // esp_answer carries the group and the ESN decision.
        ChildChoice cc;
        cc.suite = c->suite;
        cc.proposal_number = 2;
        check_transforms(esp_answer(cc, 5).proposals.at(0), {tf(ENCR, AES_GCM_16, 128)}, {}, {},
                         {tf(KE, X25519)}, {tf(ESN, NO_ESN)});
    }
    SUBCASE("two proposals") {
        const auto p = esp_prop(1, kSpi, {tf(ENCR, AES_CBC, 256), tf(INTEG, SHA384_192),
                                          tf(ESN, WITH_ESN)});
        CHECK_FALSE(accept_esp(ours, sa({p, p}), false, &why));
        CHECK_FALSE(why.empty());
    }
    SUBCASE("both ESN values: two transforms of one type") {
        CHECK_FALSE(accept_esp(ours,
                               sa({esp_prop(1, kSpi, {tf(ENCR, AES_CBC, 256),
                                                      tf(INTEG, SHA384_192), tf(ESN, WITH_ESN),
                                                      tf(ESN, NO_ESN)})}),
                               false, &why));
        CHECK_FALSE(why.empty());
    }
    SUBCASE("an ESN value we did not offer") {
        CHECK_FALSE(accept_esp(ours,
                               sa({esp_prop(1, kSpi, {tf(ENCR, AES_CBC, 256),
                                                      tf(INTEG, SHA384_192), tf(ESN, NO_ESN)})}),
                               false, &why));
    }
    SUBCASE("a cipher we never offered") {
        CHECK_FALSE(accept_esp(ours,
                               sa({esp_prop(1, kSpi, {tf(ENCR, AES_CBC, 128),
                                                      tf(INTEG, SHA384_192), tf(ESN, WITH_ESN)})}),
                               false, &why));
    }
    SUBCASE("a wrong SPI size or protocol") {
        const Tfs t = {tf(ENCR, AES_CBC, 256), tf(INTEG, SHA384_192), tf(ESN, WITH_ESN)};
        CHECK_FALSE(accept_esp(ours, sa({esp_prop(1, {1, 2, 3, 4, 5, 6, 7, 8}, t)}), false, &why));
        CHECK_FALSE(accept_esp(ours, sa({esp_prop(1, {}, t)}), false, &why));
        CHECK_FALSE(accept_esp(ours, sa({esp_prop(1, kSpi, t, ProtocolId::ah)}), false, &why));
    }
    SUBCASE("an attribute we never sent (§3.3.6)") {
        CHECK_FALSE(accept_esp(ours,
                               sa({esp_prop(1, kSpi, {odd(tf(ENCR, AES_CBC, 256)),
                                                      tf(INTEG, SHA384_192), tf(ESN, WITH_ESN)})}),
                               false, &why));
    }
}
