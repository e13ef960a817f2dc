// Each payload against bytes assembled by hand from the RFC 7296 §3 layouts,
// both ways, and each payload's semantic checks.
#include "ike/message/message.h"

#include <doctest/doctest.h>

#include <string>

#include "test_ike_message_fixture.h"

using namespace xdpsec::ike;
using namespace ike_message_test;
using Kind = DecodeError::Kind;

namespace {

// The IKE header (§3.1) this file's messages use, built byte by byte:
// SPIi 0102030405060708, SPIr 1112131415161718, version 2.0, IKE_AUTH,
// Initiator flag, Message ID 1.
Bytes header_bytes(uint8_t next, std::size_t length) {
    Bytes h = hex("0102030405060708 1112131415161718");
    h.push_back(next);
    h.push_back(0x20);
    h.push_back(35);
    h.push_back(0x08);
    for (uint8_t b : hex("00000001")) h.push_back(b);
    for (int shift = 24; shift >= 0; shift -= 8) h.push_back(static_cast<uint8_t>(length >> shift));
    return h;
}

IkeHeader test_header() {
    IkeHeader h;
    h.spi_i = 0x0102030405060708;
    h.spi_r = 0x1112131415161718;
    h.exchange = ExchangeType::ike_auth;
    h.flags = kFlagInitiator;
    h.message_id = 1;
    return h;
}

// A one-payload message as the RFC lays it out: header, generic payload
// header (Next Payload 0, C 0, length), body.
Bytes one_payload_wire(PayloadType type, const Bytes& body) {
    Bytes m = header_bytes(static_cast<uint8_t>(type), 28 + 4 + body.size());
    const std::size_t len = 4 + body.size();
    for (uint8_t b :
         {uint8_t{0}, uint8_t{0}, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)})
        m.push_back(b);
    m.insert(m.end(), body.begin(), body.end());
    return m;
}

// The payload encodes to `body`, a message holding it to the hand-built
// wire form, and that wire form decodes back to the payload.
void check_payload(const Payload& p, const Bytes& body) {
    CHECK(verify(p).empty());
    CHECK(encode_body(p) == body);
    Message m;
    m.header = test_header();
    m.payloads.push_back(p);
    const Bytes wire = one_payload_wire(p.type, body);
    std::string error;
    CHECK(encode(m, &error) == wire);
    CHECK(error.empty());
    auto decoded = decode(wire, nullptr);
    REQUIRE_MESSAGE(decoded.ok(), decoded.error().to_string());
    REQUIRE(decoded->payloads.size() == 1);
    CHECK(decoded->payloads[0] == p);
    CHECK(decoded->header.next_payload == p.type);
    CHECK(decoded->header.length == wire.size());
}

// Decoding `body` as a `type` payload fails with `kind`, naming the payload.
void check_rejected(PayloadType type, const Bytes& body, Kind kind) {
    auto r = decode(one_payload_wire(type, body), nullptr);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == kind);
    CHECK(r.error().payload_type == static_cast<uint8_t>(type));
    CHECK_FALSE(r.error().detail.empty());
}

SaPayload esp_sa() {
    const Bytes spi = hex("12345678");
    SaPayload sa;
    const std::vector<TransformWire> transforms1 = {
        {TransformType::encr, encr::aes_cbc, 256},
        {TransformType::integ, integ::hmac_sha2_256_128},
        {TransformType::esn, esn::no}};
    sa.proposals.push_back({1, ProtocolId::esp, spi, transforms1});
    const std::vector<TransformWire> transforms2 = {{TransformType::encr, encr::aes_gcm_16, 128},
                                                    {TransformType::esn, esn::no}};
    sa.proposals.push_back({2, ProtocolId::esp, spi, transforms2});
    return sa;
}

// §3.3.1/§3.3.2/§3.3.5 by hand.
const char* kEspSaHex =
    // proposal 1: more follows, length 40, #1, ESP, SPI size 4, 3 transforms
    "02 00 00 28  01 03 04 03  12 34 56 78"
    "03 00 00 0c  01 00 00 0c  80 0e 01 00"  // ENCR AES-CBC, Key Length 256 (TV)
    "03 00 00 08  03 00 00 0c"               // INTEG HMAC-SHA2-256-128
    "00 00 00 08  05 00 00 00"               // ESN no, last
    // proposal 2: last, length 32, #2, ESP, SPI size 4, 2 transforms
    "00 00 00 20  02 03 04 02  12 34 56 78"
    "03 00 00 0c  01 00 00 14  80 0e 00 80"  // ENCR AES-GCM-16, Key Length 128
    "00 00 00 08  05 00 00 00";

}  // namespace

TEST_CASE("ike message payloads: SA with proposals, transforms and key length") {
    check_payload({PayloadType::sa, esp_sa()}, hex(kEspSaHex));
}

TEST_CASE("ike message payloads: SA for IKE_SA_INIT and for an IKE rekey") {
    SaPayload sa;
    const std::vector<TransformWire> transforms1 = {{TransformType::encr, encr::chacha20_poly1305},
                                                    {TransformType::prf, prf::hmac_sha2_512},
                                                    {TransformType::dh, dh::curve448}};
    sa.proposals.push_back({1, ProtocolId::ike, {}, transforms1});
    check_payload({PayloadType::sa, sa}, hex("00 00 00 20  01 01 00 03"
                                             "03 00 00 08  01 00 00 1c"
                                             "03 00 00 08  02 00 00 07"
                                             "00 00 00 08  04 00 00 20"));
    sa.proposals[0].spi = hex("a1a2a3a4a5a6a7a8");
    check_payload({PayloadType::sa, sa}, hex("00 00 00 28  01 01 08 03  a1 a2 a3 a4 a5 a6 a7 a8"
                                             "03 00 00 08  01 00 00 1c"
                                             "03 00 00 08  02 00 00 07"
                                             "00 00 00 08  04 00 00 20"));
}

TEST_CASE("ike message payloads: unknown transform attributes mark the transform") {
    // An attribute of type 99 in TLV form (2 value bytes) after Key Length.
    auto r = decode_body(33, false,
                         hex("00 00 00 1e  01 03 04 01  12 34 56 78"
                             "00 00 00 12  01 00 00 0c  80 0e 00 80  00 63 00 02  ab cd"));
    REQUIRE_MESSAGE(r.ok(), r.error().to_string());
    const auto& t = std::get<SaPayload>(r->body).proposals[0].transforms[0];
    CHECK(t.key_bits == 128);
    CHECK(t.unknown_attribute);
}

TEST_CASE("ike message payloads: SA semantic checks") {
    // Key Length in TLV format (AF=0).
    check_rejected(
        PayloadType::sa,
        hex("00 00 00 1a  01 03 04 01  12 34 56 78  00 00 00 0e  01 00 00 0c  00 0e 00 02 01 00"),
        Kind::invalid_syntax);
    // ESP with a 3-byte SPI.
    check_rejected(PayloadType::sa,
                   hex("00 00 00 13  01 03 03 01  12 34 56  00 00 00 08  01 00 00 0c"),
                   Kind::invalid_syntax);
    // IKE with a 4-byte SPI.
    check_rejected(PayloadType::sa,
                   hex("00 00 00 14  01 01 04 01  12 34 56 78  00 00 00 08  01 00 00 0c"),
                   Kind::invalid_syntax);
    // Proposals numbered 1 then 3.
    check_rejected(PayloadType::sa,
                   hex("02 00 00 10  01 01 00 01  00 00 00 08  01 00 00 0c"
                       "00 00 00 10  03 01 00 01  00 00 00 08  01 00 00 0c"),
                   Kind::invalid_syntax);
    // Two proposals, the first numbered 2.
    check_rejected(PayloadType::sa,
                   hex("02 00 00 10  02 01 00 01  00 00 00 08  01 00 00 0c"
                       "00 00 00 10  03 01 00 01  00 00 00 08  01 00 00 0c"),
                   Kind::invalid_syntax);
    // Last proposal says more follow.
    check_rejected(PayloadType::sa, hex("02 00 00 10  01 01 00 01  00 00 00 08  01 00 00 0c"),
                   Kind::invalid_syntax);
    // Proposal Last Substruc 3 (the transform value).
    check_rejected(PayloadType::sa, hex("03 00 00 10  01 01 00 01  00 00 00 08  01 00 00 0c"),
                   Kind::invalid_syntax);
    // Transform Last Substruc 3 on the last transform.
    check_rejected(PayloadType::sa, hex("00 00 00 10  01 01 00 01  03 00 00 08  01 00 00 0c"),
                   Kind::invalid_syntax);
    // Num Transforms 2 but one present.
    check_rejected(PayloadType::sa, hex("00 00 00 10  01 01 00 02  03 00 00 08  01 00 00 0c"),
                   Kind::bad_length);
    // Num Transforms 1 but two present.
    check_rejected(
        PayloadType::sa,
        hex("00 00 00 18  01 01 00 01  00 00 00 08  01 00 00 0c  00 00 00 08  02 00 00 05"),
        Kind::bad_length);
    // No transforms at all; protocol 0; Key Length 0; Key Length on a PRF.
    check_rejected(PayloadType::sa, hex("00 00 00 08  01 01 00 00"), Kind::invalid_syntax);
    check_rejected(PayloadType::sa, hex("00 00 00 10  01 00 00 01  00 00 00 08  01 00 00 0c"),
                   Kind::invalid_syntax);
    check_rejected(PayloadType::sa,
                   hex("00 00 00 14  01 01 00 01  00 00 00 0c  01 00 00 0c 80 0e 00 00"),
                   Kind::invalid_syntax);
    check_rejected(PayloadType::sa,
                   hex("00 00 00 14  01 01 00 01  00 00 00 0c  02 00 00 05 80 0e 01 00"),
                   Kind::invalid_syntax);
    // Empty SA payload.
    check_rejected(PayloadType::sa, {}, Kind::invalid_syntax);

    // The same rules refuse to encode.
    SaPayload sa = esp_sa();
    sa.proposals[1].number = 3;
    CHECK_FALSE(verify({PayloadType::sa, sa}).empty());
    Message m;
    m.add(sa);
    std::string error;
    CHECK(encode(m, &error).empty());
    CHECK(error.find("SA") != std::string::npos);
}

TEST_CASE("ike message payloads: KE") {
    const Bytes data = seq(32, 0x40);
    Bytes body = hex("00 1f 00 00");
    body.insert(body.end(), data.begin(), data.end());
    check_payload({PayloadType::ke, KePayload{dh::curve25519, data}}, body);
    check_rejected(PayloadType::ke, hex("00 1f 00 00"), Kind::invalid_syntax);        // no data
    check_rejected(PayloadType::ke, hex("00 00 00 00 01 02"), Kind::invalid_syntax);  // group 0
    check_rejected(PayloadType::ke, hex("00 1f 00"), Kind::bad_length);
}

TEST_CASE("ike message payloads: Nonce is 16..256 bytes") {
    check_payload({PayloadType::nonce, NoncePayload{seq(16, 1)}}, seq(16, 1));
    check_payload({PayloadType::nonce, NoncePayload{seq(256, 7)}}, seq(256, 7));
    check_rejected(PayloadType::nonce, seq(15, 1), Kind::invalid_syntax);
    check_rejected(PayloadType::nonce, seq(257, 1), Kind::invalid_syntax);
    CHECK_FALSE(verify({PayloadType::nonce, NoncePayload{seq(8, 1)}}).empty());
}

TEST_CASE("ike message payloads: IDi and IDr, and the body AUTH signs") {
    const std::string fqdn = "vpn.example.com";
    const IdPayload id{IdType::fqdn, Bytes(fqdn.begin(), fqdn.end())};
    const Bytes body = hex("02 00 00 00 76 70 6e 2e 65 78 61 6d 70 6c 65 2e 63 6f 6d");
    check_payload({PayloadType::idi, id}, body);
    CHECK(id_body(id) == body);
    check_payload({PayloadType::idr, IdPayload{IdType::ipv4_addr, hex("c0000201")}},
                  hex("01 00 00 00 c0 00 02 01"));
    check_payload(
        {PayloadType::idr, IdPayload{IdType::ipv6_addr, hex("20010db8000000000000000000000001")}},
        hex("05 00 00 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"));
    check_rejected(PayloadType::idi, hex("01 00 00 00 c0 00 02 01 00"), Kind::invalid_syntax);
    check_rejected(PayloadType::idi, hex("02 00 00 00"), Kind::invalid_syntax);
    check_rejected(PayloadType::idr, hex("02 00 00"), Kind::bad_length);
    // An IdPayload must be IDi or IDr.
    CHECK_FALSE(verify({PayloadType::auth, id}).empty());
}

TEST_CASE("ike message payloads: AUTH") {
    const Bytes mac = seq(32, 0x80);
    Bytes body = hex("02 00 00 00");
    body.insert(body.end(), mac.begin(), mac.end());
    check_payload({PayloadType::auth, AuthPayload{AuthMethod::shared_key_mic, mac}}, body);
    check_payload({PayloadType::auth, AuthPayload{AuthMethod::digital_signature, hex("0101")}},
                  hex("0e 00 00 00 01 01"));
    check_rejected(PayloadType::auth, hex("02 00 00 00"), Kind::invalid_syntax);
}

TEST_CASE("ike message payloads: Notify") {
    // NAT_DETECTION_SOURCE_IP: no SPI, 20 bytes of data.
    const Bytes hash = seq(20, 0x30);
    Bytes body = hex("00 00 40 04");
    body.insert(body.end(), hash.begin(), hash.end());
    check_payload({PayloadType::notify, NotifyPayload{ProtocolId::none, {}, 16388, hash}}, body);
    // REKEY_SA for an ESP SA: 4-byte SPI, no data.
    check_payload({PayloadType::notify, NotifyPayload{ProtocolId::esp, hex("c0ffee01"), 16393, {}}},
                  hex("03 04 40 09 c0 ff ee 01"));
    // INVALID_KE_PAYLOAD naming group 19.
    check_payload({PayloadType::notify, NotifyPayload{ProtocolId::none, {}, 17, hex("0013")}},
                  hex("00 00 00 11 00 13"));
    // ESP with a 3-byte SPI; SPI Size beyond the payload; type 0.
    check_rejected(PayloadType::notify, hex("03 03 40 09 c0 ff ee"), Kind::invalid_syntax);
    check_rejected(PayloadType::notify, hex("03 04 40 09 c0 ff"), Kind::bad_length);
    check_rejected(PayloadType::notify, hex("00 00 00 00"), Kind::invalid_syntax);
    check_rejected(PayloadType::notify, hex("00 00 40"), Kind::bad_length);
}

TEST_CASE("ike message payloads: Delete") {
    check_payload(
        {PayloadType::del, DeletePayload{ProtocolId::esp, 4, {hex("11223344"), hex("55667788")}}},
        hex("03 04 00 02 11 22 33 44 55 66 77 88"));
    check_payload({PayloadType::del, DeletePayload{ProtocolId::ike, 0, {}}}, hex("01 00 00 00"));
    check_rejected(PayloadType::del, hex("03 04 00 02 11 22 33 44"), Kind::bad_length);
    check_rejected(PayloadType::del, hex("03 08 00 01 11 22 33 44 55 66 77 88"),
                   Kind::invalid_syntax);
    check_rejected(PayloadType::del, hex("01 04 00 01 11 22 33 44"), Kind::invalid_syntax);
    check_rejected(PayloadType::del, hex("03 04 00 00"), Kind::invalid_syntax);
    check_rejected(PayloadType::del, hex("03 00 ff ff"), Kind::invalid_syntax);
    check_rejected(PayloadType::del, hex("00 04 00 01 11 22 33 44"), Kind::invalid_syntax);
    CHECK_FALSE(
        verify({PayloadType::del, DeletePayload{ProtocolId::esp, 4, {hex("112233")}}}).empty());
}

TEST_CASE("ike message payloads: TS for IPv4 and IPv6") {
    TrafficSelector v4{TsType::ipv4_addr_range, 0, 0, 65535, ip("192.0.2.0"), ip("192.0.2.255")};
    check_payload({PayloadType::tsi, TsPayload{{v4}}},
                  hex("01 00 00 00  07 00 00 10  00 00 ff ff  c0 00 02 00  c0 00 02 ff"));
    TrafficSelector v6{TsType::ipv6_addr_range,  6, 443, 443, ip("2001:db8::"),
                       ip("2001:db8::ffff:ffff")};
    check_payload({PayloadType::tsr, TsPayload{{v6}}},
                  hex("01 00 00 00  08 06 00 28  01 bb 01 bb"
                      "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 00"
                      "20 01 0d b8 00 00 00 00 00 00 00 00 ff ff ff ff"));
    check_payload({PayloadType::tsr, TsPayload{{v4, v6}}},
                  hex("02 00 00 00  07 00 00 10  00 00 ff ff  c0 00 02 00  c0 00 02 ff"
                      "08 06 00 28  01 bb 01 bb"
                      "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 00"
                      "20 01 0d b8 00 00 00 00 00 00 00 00 ff ff ff ff"));
    // OPAQUE ports (§3.13.1) are start 65535, end 0.
    TrafficSelector opaque = v4;
    opaque.start_port = 65535;
    opaque.end_port = 0;
    check_payload({PayloadType::tsi, TsPayload{{opaque}}},
                  hex("01 00 00 00  07 00 00 10  ff ff 00 00  c0 00 02 00  c0 00 02 ff"));

    // Start address above end; start port above end; Selector Length
    // wrong; unknown TS Type; no selectors; count above the selectors.
    check_rejected(PayloadType::tsi,
                   hex("01 00 00 00  07 00 00 10  00 00 ff ff  c0 00 02 ff  c0 00 02 00"),
                   Kind::invalid_syntax);
    check_rejected(PayloadType::tsi,
                   hex("01 00 00 00  07 00 00 10  00 50 00 10  c0 00 02 00  c0 00 02 ff"),
                   Kind::invalid_syntax);
    check_rejected(PayloadType::tsi,
                   hex("01 00 00 00  07 00 00 28  00 00 ff ff  c0 00 02 00  c0 00 02 ff"),
                   Kind::bad_length);
    check_rejected(PayloadType::tsi,
                   hex("01 00 00 00  09 00 00 10  00 00 ff ff  c0 00 02 00  c0 00 02 ff"),
                   Kind::invalid_syntax);
    check_rejected(PayloadType::tsi, hex("00 00 00 00"), Kind::invalid_syntax);
    check_rejected(PayloadType::tsi,
                   hex("02 00 00 00  07 00 00 10  00 00 ff ff  c0 00 02 00  c0 00 02 ff"),
                   Kind::bad_length);

    // An IPv6 address in an IPv4 selector cannot be encoded.
    TrafficSelector mixed = v4;
    mixed.end = ip("2001:db8::1");
    CHECK_FALSE(verify({PayloadType::tsi, TsPayload{{mixed}}}).empty());
}

TEST_CASE("ike message payloads: CERT and CERTREQ") {
    const Bytes der = hex("30 82 01 0a 02 82 01 01 00 c3");
    Bytes body = {4};
    body.insert(body.end(), der.begin(), der.end());
    check_payload({PayloadType::cert, CertPayload{CertEncoding::x509_signature, der}}, body);
    const Bytes hashes = seq(40, 0x10);
    body = {4};
    body.insert(body.end(), hashes.begin(), hashes.end());
    check_payload({PayloadType::certreq, CertReqPayload{CertEncoding::x509_signature, hashes}},
                  body);
    check_rejected(PayloadType::cert, hex("04"), Kind::invalid_syntax);
    check_rejected(PayloadType::certreq, hex("04 01 02 03"), Kind::invalid_syntax);
    check_rejected(PayloadType::cert, {}, Kind::bad_length);
}

TEST_CASE("ike message payloads: Vendor ID, CP and unknown payloads") {
    check_payload({PayloadType::vendor, VendorPayload{hex("882fe56d6fd20dbc2251613b2ebe5beb")}},
                  hex("882fe56d6fd20dbc2251613b2ebe5beb"));
    // CFG_REQUEST for INTERNAL_IP4_ADDRESS (1) and INTERNAL_IP4_DNS (3).
    check_payload({PayloadType::cp, CpPayload{1, {{1, {}}, {3, {}}}}},
                  hex("01 00 00 00  00 01 00 00  00 03 00 00"));
    check_payload({PayloadType::cp, CpPayload{2, {{1, hex("0a000001")}}}},
                  hex("02 00 00 00  00 01 00 04  0a 00 00 01"));
    check_rejected(PayloadType::cp, hex("05 00 00 00"), Kind::invalid_syntax);
    check_rejected(PayloadType::cp, hex("01 00 00 00  00 01 00 04  0a 00"), Kind::bad_length);
    // A private-use payload type, not critical: kept as it was.
    check_payload({static_cast<PayloadType>(200), UnknownPayload{200, false, hex("de ad be ef")}},
                  hex("de ad be ef"));
}
