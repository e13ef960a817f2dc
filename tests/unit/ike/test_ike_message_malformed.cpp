// Broken messages: every length field wrong, every truncation, every byte
// flipped. Each must give a DecodeError (or, for flipped bytes, at least
// not crash), never read out of bounds; run under -DXDPSEC_SANITIZE=ON.
#include "ike/message/message.h"

#include <doctest/doctest.h>

#include <string>

#include "test_ike_message_fixture.h"

using namespace xdpsec::ike;
using namespace ike_message_test;

namespace {

// One message with every payload type the codec knows.
Message rich_message() {
    Message m;
    m.header.spi_i = 0x0102030405060708;
    m.header.spi_r = 0x1112131415161718;
    m.header.exchange = ExchangeType::create_child_sa;
    m.header.flags = kFlagInitiator;
    m.header.message_id = 7;
    SaPayload sa;
    const std::vector<TransformWire> transforms1 = {
        {TransformType::encr, encr::aes_cbc, 256},
        {TransformType::integ, integ::hmac_sha2_256_128},
        {TransformType::esn, esn::no}};
    sa.proposals.push_back({1, ProtocolId::esp, {1, 2, 3, 4}, transforms1});
    const std::vector<TransformWire> transforms2 = {{TransformType::encr, encr::aes_gcm_16, 128},
                                                    {TransformType::esn, esn::yes}};
    sa.proposals.push_back({2, ProtocolId::esp, {1, 2, 3, 4}, transforms2});
    m.add(sa)
        .add(KePayload{dh::ecp256, seq(64, 9)})
        .add(NoncePayload{seq(24, 3)})
        .add(PayloadType::idi, IdPayload{IdType::fqdn, {'a', '.', 'b'}})
        .add(PayloadType::idr, IdPayload{IdType::ipv4_addr, {192, 0, 2, 1}})
        .add(CertPayload{CertEncoding::x509_signature, seq(40, 0x30)})
        .add(CertReqPayload{CertEncoding::x509_signature, seq(20, 0x50)})
        .add(AuthPayload{AuthMethod::digital_signature, seq(48, 0x70)})
        .add(NotifyPayload{ProtocolId::esp, {9, 9, 9, 9}, 16393, {}})
        .add(DeletePayload{ProtocolId::esp, 4, {{1, 1, 1, 1}, {2, 2, 2, 2}}})
        .add(VendorPayload{seq(16, 0xa0)})
        .add(PayloadType::tsi,
             TsPayload{
                 {{TsType::ipv4_addr_range, 17, 500, 500, ip("10.0.0.0"), ip("10.0.0.255")},
                  {TsType::ipv6_addr_range, 0, 0, 65535, ip("2001:db8::"), ip("2001:db8::ff")}}})
        .add(PayloadType::tsr, TsPayload{{{TsType::ipv4_addr_range, 0, 0, 65535, ip("0.0.0.0"),
                                           ip("255.255.255.255")}}})
        .add(CpPayload{2, {{1, {10, 0, 0, 2}}, {3, {}}}})
        .add(static_cast<PayloadType>(201), UnknownPayload{201, false, {1, 2, 3}});
    return m;
}

uint16_t get16(const Bytes& b, std::size_t at) {
    return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}
void put16(Bytes& b, std::size_t at, std::size_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}

// Offsets of every 16-bit length field of a well-formed plain message,
// found by walking the RFC 7296 layout: payload lengths (§3.2), proposal
// and transform lengths (§3.3.1, §3.3.2), TLV attribute lengths (§3.3.5),
// selector lengths (§3.13.1), CP attribute lengths (§3.15.1).
std::vector<std::size_t> length_fields(const Bytes& m) {
    std::vector<std::size_t> out;
    uint8_t type = m[16];
    std::size_t pos = 28;
    while (type != 0) {
        const std::size_t len = get16(m, pos + 2);
        out.push_back(pos + 2);
        const std::size_t body = pos + 4, end = pos + len;
        if (type == 33) {
            for (std::size_t p = body; p < end; p += get16(m, p + 2)) {
                out.push_back(p + 2);
                const std::size_t pend = p + get16(m, p + 2);
                for (std::size_t t = p + 8 + m[p + 6]; t < pend; t += get16(m, t + 2)) {
                    out.push_back(t + 2);
                    for (std::size_t a = t + 8; a < t + get16(m, t + 2);) {
                        if (m[a] & 0x80) {
                            a += 4;
                        } else {
                            out.push_back(a + 2);
                            a += 4 + get16(m, a + 2);
                        }
                    }
                }
            }
        } else if (type == 44 || type == 45) {
            for (std::size_t s = body + 4; s < end; s += get16(m, s + 2)) out.push_back(s + 2);
        } else if (type == 47) {
            for (std::size_t a = body + 4; a < end; a += 4 + get16(m, a + 2)) out.push_back(a + 2);
        }
        type = m[pos];
        pos = end;
    }
    return out;
}

void check_lengths(const Bytes& wire) {
    REQUIRE(decode(wire, nullptr).ok());
    // The header's Length.
    for (std::size_t v : {std::size_t{0}, std::size_t{27}, wire.size() - 1, wire.size() + 1,
                          std::size_t{0xffffffff}}) {
        Bytes bad = wire;
        put32(bad, 24, v);
        CAPTURE(v);
        CHECK_FALSE(decode(bad, nullptr).ok());
    }
    const auto fields = length_fields(wire);
    CHECK(fields.size() > 10);
    for (std::size_t at : fields) {
        const std::size_t v = get16(wire, at);
        // Not v + 4: a TLV may then swallow its 4-byte neighbour and still
        // frame, which is a different valid message rather than a broken one.
        for (std::size_t w : {std::size_t{0}, std::size_t{3}, v - 1, v + 1, std::size_t{0xffff}}) {
            if (w == v) continue;
            Bytes bad = wire;
            put16(bad, at, w);
            CAPTURE(at);
            CAPTURE(v);
            CAPTURE(w);
            CHECK_FALSE(decode(bad, nullptr).ok());
        }
    }
}

void check_truncations(const Bytes& wire) {
    for (std::size_t k = 0; k < wire.size(); ++k) {
        CAPTURE(k);
        Bytes cut(wire.begin(), wire.begin() + k);
        CHECK_FALSE(decode(cut, nullptr).ok());
        // With the header Length agreeing, the payload chain itself is cut.
        if (k >= kHeaderSize) {
            put32(cut, 24, k);
            auto r = decode(cut, nullptr);
            REQUIRE_FALSE(r.ok());
            CHECK((r.error().kind == DecodeError::Kind::truncated ||
                   r.error().kind == DecodeError::Kind::bad_length ||
                   r.error().kind == DecodeError::Kind::invalid_syntax));
        }
    }
}

}  // namespace

TEST_CASE("ike message malformed: a message with every payload type round-trips") {
    const Message m = rich_message();
    std::string error;
    const Bytes wire = encode(m, &error);
    REQUIRE_MESSAGE(!wire.empty(), error);
    auto back = decode(wire, nullptr);
    REQUIRE_MESSAGE(back.ok(), back.error().to_string());
    CHECK(back->payloads == m.payloads);
    CHECK(back->header.message_id == 7);
    CHECK(encode(*back) == wire);
}

TEST_CASE("ike message malformed: every length field too small or too big") {
    check_lengths(encode(rich_message()));
    check_lengths(hex(kStrongswanInitHex));
}

TEST_CASE("ike message malformed: truncation at every offset") {
    check_truncations(encode(rich_message()));
    check_truncations(hex(kStrongswanInitHex));
}

TEST_CASE("ike message malformed: every byte changed decodes or fails cleanly") {
    const Bytes wire = encode(rich_message());
    std::size_t failures = 0;
    for (std::size_t i = 0; i < wire.size(); ++i) {
        for (uint8_t x : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
            Bytes bad = wire;
            bad[i] ^= x;
            auto r = decode(bad, nullptr);
            if (!r.ok()) {
                ++failures;
                CHECK_FALSE(r.error().detail.empty());
            }
        }
    }
    CHECK(failures > 0);
}
