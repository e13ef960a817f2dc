// The IKE header, whole plain messages and the payload chain (RFC 7296
// §2.5, §3.1, §3.2).
#include "ike/message/message.h"

#include <doctest/doctest.h>

#include <string>

#include "test_ike_message_fixture.h"

using namespace xdpsec::ike;
using namespace ike_message_test;
using Kind = DecodeError::Kind;

namespace {

// A header followed by `body` (a chain of payloads assembled by hand).
Bytes message_wire(uint8_t first, const Bytes& body) {
    Bytes m = hex("0102030405060708 0000000000000000");
    for (uint8_t b : {first, uint8_t{0x20}, uint8_t{34}, uint8_t{0x08}}) m.push_back(b);
    m.resize(m.size() + 8);
    m.insert(m.end(), body.begin(), body.end());
    put32(m, 24, m.size());
    return m;
}

}  // namespace

TEST_CASE("ike message: decode the IKE_SA_INIT request of a strongSwan initiator") {
    const Bytes wire = hex(kStrongswanInitHex);
    REQUIRE(wire.size() == 312);
    auto m = decode(wire, nullptr);
    REQUIRE_MESSAGE(m.ok(), m.error().to_string());

    const IkeHeader& h = m->header;
    CHECK(h.spi_i == 0xa1b2c3d4e5f60718);
    CHECK(h.spi_r == 0);
    CHECK(h.next_payload == PayloadType::sa);
    CHECK(h.version == 0x20);
    CHECK(h.exchange == ExchangeType::ike_sa_init);
    CHECK(h.initiator());
    CHECK_FALSE(h.response());
    CHECK(h.message_id == 0);
    CHECK(h.length == 312);
    CHECK_FALSE(m->encrypted());

    REQUIRE(m->payloads.size() == 8);
    const SaPayload* sa = m->find<SaPayload>();
    REQUIRE(sa);
    REQUIRE(sa->proposals.size() == 2);
    const Proposal& p1 = sa->proposals[0];
    CHECK(p1.number == 1);
    CHECK(p1.protocol == ProtocolId::ike);
    CHECK(p1.spi.empty());
    const std::vector<TransformWire> t1 = {{TransformType::encr, encr::aes_cbc, 128},
                                           {TransformType::encr, encr::aes_cbc, 256},
                                           {TransformType::integ, integ::hmac_sha2_256_128},
                                           {TransformType::integ, integ::hmac_sha2_384_192},
                                           {TransformType::prf, prf::hmac_sha2_256},
                                           {TransformType::prf, prf::hmac_sha2_384},
                                           {TransformType::dh, dh::curve25519},
                                           {TransformType::dh, dh::ecp256}};
    CHECK(p1.transforms == t1);
    const std::vector<TransformWire> t2 = {{TransformType::encr, encr::aes_gcm_16, 256},
                                           {TransformType::prf, prf::hmac_sha2_256},
                                           {TransformType::dh, dh::curve25519}};
    CHECK(sa->proposals[1].number == 2);
    CHECK(sa->proposals[1].transforms == t2);

    const KePayload* ke = m->find<KePayload>();
    REQUIRE(ke);
    CHECK(ke->group == dh::curve25519);
    CHECK(ke->data == seq(32, 0x40));
    REQUIRE(m->find<NoncePayload>());
    CHECK(m->find<NoncePayload>()->data == seq(32, 0xa0));

    CHECK(m->all<NotifyPayload>().size() == 5);
    const NotifyPayload* natd = m->notify(NotifyType::nat_detection_source_ip);
    REQUIRE(natd);
    CHECK(natd->protocol == ProtocolId::none);
    CHECK(natd->spi.empty());
    CHECK(natd->data == hex("3b8e0c6c1f1ad0a2f5f57f7c0e8b6c1d2e3f4a5b"));
    REQUIRE(m->notify(NotifyType::nat_detection_destination_ip));
    REQUIRE(m->notify(NotifyType::ikev2_fragmentation_supported));
    CHECK(m->notify(NotifyType::ikev2_fragmentation_supported)->data.empty());
    REQUIRE(m->notify(NotifyType::signature_hash_algorithms));
    CHECK(m->notify(NotifyType::signature_hash_algorithms)->data == hex("0002000300040005"));
    CHECK(m->notify(16406));  // REDIRECT_SUPPORTED, unknown to ike_types.h
    CHECK(m->notifies(NotifyType::nat_detection_source_ip).size() == 1);
    CHECK(m->error_notify() == nullptr);
    CHECK(m->first(PayloadType::cert) == nullptr);
    CHECK(m->count(PayloadType::notify) == 5);

    // Our encoder lays the same message out byte for byte.
    std::string error;
    CHECK(encode(*m, &error) == wire);
    CHECK(error.empty());
}

TEST_CASE("ike message: an IKE_SA_INIT built here matches the hand-assembled layout") {
    Message m;
    m.header.spi_i = 0x1122334455667788;
    m.header.flags = kFlagInitiator;
    SaPayload sa;
    const std::vector<TransformWire> transforms1 = {{TransformType::encr, encr::aes_gcm_16, 256},
                                                    {TransformType::prf, prf::hmac_sha2_256},
                                                    {TransformType::dh, dh::ecp256}};
    sa.proposals.push_back({1, ProtocolId::ike, {}, transforms1});
    m.add(sa).add(KePayload{dh::ecp256, seq(64, 0)}).add(NoncePayload{seq(32, 0x80)});
    Bytes body =
        hex("22 00 00 28"                            // SA, next KE, 40 bytes
            "00 00 00 24  01 01 00 03"               // proposal #1 IKE, 3 transforms
            "03 00 00 0c  01 00 00 14  80 0e 01 00"  // ENCR AES-GCM-16, 256 bits
            "03 00 00 08  02 00 00 05"               // PRF HMAC-SHA2-256
            "00 00 00 08  04 00 00 13"               // DH ECP-256
            "28 00 00 48  00 13 00 00");             // KE, next Nonce, 72 bytes, group 19
    const Bytes ke = seq(64, 0);
    body.insert(body.end(), ke.begin(), ke.end());
    for (uint8_t b : hex("00 00 00 24")) body.push_back(b);  // Nonce, last, 36 bytes
    const Bytes nonce = seq(32, 0x80);
    body.insert(body.end(), nonce.begin(), nonce.end());
    Bytes expected = hex("1122334455667788 0000000000000000 21 20 22 08 00000000");
    expected.resize(28);
    put32(expected, 24, 28 + body.size());
    expected.insert(expected.end(), body.begin(), body.end());
    CHECK(encode(m) == expected);
    auto back = decode(expected, nullptr);
    REQUIRE(back.ok());
    CHECK(back->payloads == m.payloads);
}

TEST_CASE("ike message: header checks") {
    const Bytes wire = hex(kStrongswanInitHex);
    REQUIRE(decode_header(wire).ok());

    auto short_dgram = decode_header(ByteView(wire).first(27));
    REQUIRE_FALSE(short_dgram.ok());
    CHECK(short_dgram.error().kind == Kind::truncated);
    CHECK_FALSE(peek_header(ByteView(wire).first(27)).has_value());

    Bytes v3 = wire;
    v3[17] = 0x30;
    auto r = decode_header(v3);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::version);
    // peek_header still gives what INVALID_MAJOR_VERSION must echo.
    REQUIRE(peek_header(v3).has_value());
    CHECK(peek_header(v3)->spi_i == 0xa1b2c3d4e5f60718);
    CHECK(decode(v3, nullptr).error().kind == Kind::version);

    Bytes v1 = wire;
    v1[17] = 0x10;
    CHECK(decode_header(v1).error().kind == Kind::invalid_syntax);

    // A higher minor version is fine (§2.5).
    Bytes minor = wire;
    minor[17] = 0x21;
    CHECK(decode_header(minor).ok());

    Bytes longer = wire;
    longer.push_back(0);
    CHECK(decode_header(longer).error().kind == Kind::bad_length);
    Bytes big(kMaxMessageSize + 1);
    std::copy(wire.begin(), wire.begin() + 28, big.begin());
    put32(big, 24, big.size());
    CHECK(decode_header(big).error().kind == Kind::bad_length);
}

TEST_CASE("ike message: unknown payloads, critical or not (RFC 7296 §2.5)") {
    // Nonce, then private-use payload 200 with the critical bit, then Notify.
    const Bytes nonce = seq(16, 1);
    Bytes body = hex("c8 00 00 14");
    body.insert(body.end(), nonce.begin(), nonce.end());
    for (uint8_t b : hex("29 80 00 06 ab cd  00 00 00 08 00 00 40 02")) body.push_back(b);
    auto r = decode(message_wire(40, body), nullptr);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::unsupported_critical);
    CHECK(r.error().payload_type == 200);

    // The same without the critical bit: kept, and the chain goes on.
    body[4 + 16 + 1] = 0x00;
    r = decode(message_wire(40, body), nullptr);
    REQUIRE_MESSAGE(r.ok(), r.error().to_string());
    REQUIRE(r->payloads.size() == 3);
    CHECK(r->payloads[1].type == static_cast<PayloadType>(200));
    CHECK(std::get<UnknownPayload>(r->payloads[1].body) == UnknownPayload{200, false, hex("abcd")});
    CHECK(r->notify(16386));

    // Our encoder sets the critical bit of an unknown payload it is given.
    Message m;
    m.add(static_cast<PayloadType>(200), UnknownPayload{200, true, hex("abcd")});
    const Bytes enc = encode(m);
    REQUIRE(enc.size() == 34);
    CHECK(enc[28 + 1] == 0x80);
    r = decode(enc, nullptr);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::unsupported_critical);
    CHECK(r.error().payload_type == 200);

    // The critical bit on a payload we understand is ignored.
    const Bytes critical_nonce = hex("00 80 00 14 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10");
    r = decode(message_wire(40, critical_nonce), nullptr);
    REQUIRE(r.ok());
    CHECK(r->find<NoncePayload>());
}

TEST_CASE("ike message: SKF is recognised but not supported, EAP is unknown") {
    auto r =
        decode(message_wire(53, hex("00 00 00 10  00 01 00 01  00 00 00 00 00 00 00 00")), nullptr);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::invalid_syntax);
    CHECK(r.error().payload_type == 53);
    CHECK(r.error().detail.find("7383") != std::string::npos);

    r = decode(message_wire(48, hex("00 00 00 08 01 01 00 04")), nullptr);
    REQUIRE(r.ok());
    CHECK(std::get<UnknownPayload>(r->payloads[0].body).type == 48);
}

TEST_CASE("ike message: at most 64 payloads, 64 proposals, 64 transforms, 64 selectors") {
    auto vendors = [](std::size_t n) {
        Bytes body;
        for (std::size_t i = 0; i < n; ++i)
            for (uint8_t b :
                 {static_cast<uint8_t>(i + 1 < n ? 43 : 0), uint8_t{0}, uint8_t{0}, uint8_t{4}})
                body.push_back(b);
        return body;
    };
    CHECK(decode(message_wire(43, vendors(64)), nullptr).ok());
    auto r = decode(message_wire(43, vendors(65)), nullptr);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::invalid_syntax);

    Message m;
    for (int i = 0; i < 65; ++i) m.add(VendorPayload{});
    std::string error;
    CHECK(encode(m, &error).empty());
    CHECK_FALSE(error.empty());
    m.payloads.pop_back();
    CHECK(encode(m).size() == 28 + 64 * 4);

    // One SA payload of n single-transform proposals.
    auto proposals = [](std::size_t n) {
        Bytes body;
        const std::size_t len = 4 + n * 16;
        body = {0, 0, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
        for (std::size_t i = 0; i < n; ++i)
            for (uint8_t b : {static_cast<uint8_t>(i + 1 < n ? 2 : 0), uint8_t{0}, uint8_t{0},
                              uint8_t{16}, static_cast<uint8_t>(i + 1), uint8_t{1}, uint8_t{0},
                              uint8_t{1}, uint8_t{0}, uint8_t{0}, uint8_t{0}, uint8_t{8},
                              uint8_t{1}, uint8_t{0}, uint8_t{0}, uint8_t{20}})
                body.push_back(b);
        return body;
    };
    CHECK(decode(message_wire(33, proposals(64)), nullptr).ok());
    r = decode(message_wire(33, proposals(65)), nullptr);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::invalid_syntax);
    CHECK(r.error().payload_type == 33);

    auto transforms = [](std::size_t n) {
        const std::size_t plen = 8 + n * 8;
        Bytes body = {0,
                      0,
                      static_cast<uint8_t>((plen + 4) >> 8),
                      static_cast<uint8_t>(plen + 4),
                      0,
                      0,
                      static_cast<uint8_t>(plen >> 8),
                      static_cast<uint8_t>(plen),
                      1,
                      1,
                      0,
                      static_cast<uint8_t>(n)};
        for (std::size_t i = 0; i < n; ++i)
            for (uint8_t b : {static_cast<uint8_t>(i + 1 < n ? 3 : 0), uint8_t{0}, uint8_t{0},
                              uint8_t{8}, uint8_t{1}, uint8_t{0}, uint8_t{0}, uint8_t{20}})
                body.push_back(b);
        return body;
    };
    CHECK(decode(message_wire(33, transforms(64)), nullptr).ok());
    CHECK(decode(message_wire(33, transforms(65)), nullptr).error().kind == Kind::invalid_syntax);

    auto selectors = [](std::size_t n) {
        const std::size_t len = 4 + 4 + n * 16;
        Bytes body = {0,
                      0,
                      static_cast<uint8_t>(len >> 8),
                      static_cast<uint8_t>(len),
                      static_cast<uint8_t>(n),
                      0,
                      0,
                      0};
        for (std::size_t i = 0; i < n; ++i)
            for (uint8_t b : hex("07 00 00 10  00 00 ff ff  0a 00 00 00  0a 00 00 ff"))
                body.push_back(b);
        return body;
    };
    CHECK(decode(message_wire(44, selectors(64)), nullptr).ok());
    CHECK(decode(message_wire(44, selectors(65)), nullptr).error().kind == Kind::invalid_syntax);
}

TEST_CASE("ike message: finders tell IDi from IDr and TSi from TSr") {
    Message m;
    m.add(PayloadType::idi, IdPayload{IdType::fqdn, {'a'}})
        .add(PayloadType::idr, IdPayload{IdType::fqdn, {'b'}})
        .add(NotifyPayload{ProtocolId::none, {}, 16384, {}})
        .add(NotifyPayload{ProtocolId::none, {}, 24, {}})
        .add(PayloadType::tsr, TsPayload{});
    REQUIRE(m.find<IdPayload>(PayloadType::idr));
    CHECK(m.find<IdPayload>(PayloadType::idr)->data == Bytes{'b'});
    CHECK(m.find<IdPayload>()->data == Bytes{'a'});
    CHECK(m.find<TsPayload>(PayloadType::tsi) == nullptr);
    CHECK(m.find<TsPayload>(PayloadType::tsr));
    REQUIRE(m.error_notify());
    CHECK(m.error_notify()->type == 24);
    CHECK(m.all<IdPayload>().size() == 2);
}

TEST_CASE("ike message: decode errors read as operator messages") {
    auto r = decode(message_wire(40, hex("00 00 00 0c 01 02 03 04 05 06 07 08")), nullptr);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::invalid_syntax);
    CHECK(r.error().to_string() ==
          "invalid syntax in Nonce payload: Nonce Data of 8 bytes, must be 16..256 (§3.9)");
}
