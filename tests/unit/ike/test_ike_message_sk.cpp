// The Encrypted (SK) payload's place in a message (RFC 7296 §3.14), with a
// stand-in SkProtector: XOR "encryption" and a 16-byte checksum as ICV.
// Only the codec's side of the contract is under test here; the real
// ciphers are tested in the crypto module.
#include "ike/message/message.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <string>

#include "test_ike_message_fixture.h"

using namespace xdpsec::ike;
using namespace ike_message_test;
using Kind = DecodeError::Kind;

namespace {

constexpr std::size_t kIcv = 16;

// Body: plaintext XOR 0x5c, then a 16-byte ICV over message[0, ICV).
class XorProtector : public SkProtector {
public:
    std::size_t body_size(std::size_t plaintext_len) const override { return plaintext_len + kIcv; }

    bool seal(std::span<uint8_t> message, std::size_t body_offset, ByteView plaintext) override {
        ++seals;
        if (refuse) return false;
        REQUIRE(message.size() == body_offset + body_size(plaintext.size()));
        for (std::size_t i = 0; i < plaintext.size(); ++i)
            message[body_offset + i] = plaintext[i] ^ 0x5c;
        const auto icv = checksum(message.first(message.size() - kIcv));
        std::copy(icv.begin(), icv.end(), message.end() - kIcv);
        return true;
    }

    bool open(ByteView message, std::size_t body_offset, Bytes* plaintext,
              std::string* error) const override {
        if (message.size() < body_offset + kIcv) {
            *error = "SK body shorter than its ICV";
            return false;
        }
        const auto icv = checksum(message.first(message.size() - kIcv));
        if (!std::equal(icv.begin(), icv.end(), message.end() - kIcv)) {
            *error = "ICV mismatch";
            return false;
        }
        plaintext->clear();
        for (std::size_t i = body_offset; i < message.size() - kIcv; ++i)
            plaintext->push_back(message[i] ^ 0x5c);
        return true;
    }

    int seals = 0;
    bool refuse = false;

private:
    static std::array<uint8_t, kIcv> checksum(ByteView data) {
        std::array<uint8_t, kIcv> s{};
        uint32_t h = 2166136261u;
        for (std::size_t i = 0; i < data.size(); ++i) {
            h = (h ^ data[i]) * 16777619u;
            s[i % kIcv] = static_cast<uint8_t>(s[i % kIcv] ^ h);
        }
        return s;
    }
};

Message ike_auth_request() {
    Message m;
    m.header.spi_i = 0x0102030405060708;
    m.header.spi_r = 0x1112131415161718;
    m.header.exchange = ExchangeType::ike_auth;
    m.header.flags = kFlagInitiator;
    m.header.message_id = 1;
    SaPayload sa;
    const std::vector<TransformWire> transforms1 = {{TransformType::encr, encr::aes_gcm_16, 256},
                                                    {TransformType::esn, esn::no}};
    sa.proposals.push_back({1, ProtocolId::esp, {0xc1, 0, 0, 1}, transforms1});
    TrafficSelector net, host;  // IPv4, any protocol and port
    net.start = host.start = host.end = ip("10.1.0.0");
    net.end = ip("10.1.255.255");
    m.add(PayloadType::idi, IdPayload{IdType::fqdn, {'m', 'o', 'o', 'n'}})
        .add(AuthPayload{AuthMethod::shared_key_mic, seq(32, 0x90)})
        .add(sa)
        .add(PayloadType::tsi, TsPayload{{net}})
        .add(PayloadType::tsr, TsPayload{{host}});
    return m;
}

}  // namespace

TEST_CASE("ike message sk: protected round trip") {
    XorProtector p;
    const Message m = ike_auth_request();
    std::string error;
    const Bytes wire = encode_protected(m, p, &error);
    REQUIRE_MESSAGE(!wire.empty(), error);
    CHECK(p.seals == 1);

    // Header names SK; SK's Next Payload names the first inner payload
    // (IDi, 35) and its length runs to the end of the message.
    CHECK(wire[16] == 46);
    CHECK(wire[28] == 35);
    CHECK(wire[29] == 0);
    CHECK(static_cast<std::size_t>(wire[30] << 8 | wire[31]) == wire.size() - 28);
    auto h = decode_header(wire);
    REQUIRE(h.ok());
    CHECK(h->length == wire.size());

    // The inner payloads are the plain chain of the same payloads.
    Message inner = m;
    const Bytes plain_msg = encode(inner);
    CHECK(wire.size() == plain_msg.size() + 4 + kIcv);
    for (std::size_t i = 28; i < plain_msg.size(); ++i) CHECK((wire[i + 4] ^ 0x5c) == plain_msg[i]);

    auto back = decode(wire, &p);
    REQUIRE_MESSAGE(back.ok(), back.error().to_string());
    CHECK(back->encrypted());
    CHECK(back->payloads == m.payloads);
    CHECK(back->header.message_id == 1);
    CHECK(back->find<IdPayload>(PayloadType::idi));
    CHECK(back->find<TsPayload>(PayloadType::tsr));
}

TEST_CASE("ike message sk: an empty INFORMATIONAL (liveness check)") {
    XorProtector p;
    Message m;
    m.header.exchange = ExchangeType::informational;
    m.header.spi_i = 1;
    m.header.spi_r = 2;
    const Bytes wire = encode_protected(m, p);
    REQUIRE(wire.size() == 28 + 4 + kIcv);
    CHECK(wire[28] == 0);
    auto back = decode(wire, &p);
    REQUIRE(back.ok());
    CHECK(back->payloads.empty());
    CHECK(back->encrypted());
}

TEST_CASE("ike message sk: integrity failure, missing keys, refused seal") {
    XorProtector p;
    const Bytes wire = encode_protected(ike_auth_request(), p);
    REQUIRE(!wire.empty());
    for (std::size_t at : {std::size_t{3}, std::size_t{20}, std::size_t{40}, wire.size() - 1}) {
        Bytes bad = wire;
        bad[at] ^= 0x01;
        auto r = decode(bad, &p);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().kind == Kind::integrity);
        CHECK(r.error().payload_type == 46);
        CHECK(r.error().detail == "ICV mismatch");
    }
    auto r = decode(wire, nullptr);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::no_protector);

    p.refuse = true;
    std::string error;
    CHECK(encode_protected(ike_auth_request(), p, &error).empty());
    CHECK_FALSE(error.empty());

    // An invalid inner payload is refused before sealing.
    XorProtector q;
    Message bad = ike_auth_request();
    bad.add(NoncePayload{seq(4, 0)});
    CHECK(encode_protected(bad, q, &error).empty());
    CHECK(q.seals == 0);
    CHECK(error.find("Nonce") != std::string::npos);
}

TEST_CASE("ike message sk: SK must be the last and only top-level payload") {
    XorProtector p;
    const Bytes wire = encode_protected(ike_auth_request(), p);
    REQUIRE(!wire.empty());

    // Something after SK: a Vendor ID appended, header Length adjusted.
    // The SK payload no longer reaches the end (its Next Payload field is
    // the inner chain's, so nothing can follow it, §3.14).
    Bytes after = wire;
    for (uint8_t b : {uint8_t{0}, uint8_t{0}, uint8_t{0}, uint8_t{4}}) after.push_back(b);
    put32(after, 24, after.size());
    auto r = decode(after, &p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::invalid_syntax);
    CHECK(r.error().payload_type == 46);

    // A plain Vendor ID in front of SK.
    Bytes before(wire.begin(), wire.begin() + 28);
    before[16] = 43;
    for (uint8_t b : {uint8_t{46}, uint8_t{0}, uint8_t{0}, uint8_t{4}}) before.push_back(b);
    before.insert(before.end(), wire.begin() + 28, wire.end());
    put32(before, 24, before.size());
    r = decode(before, &p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::invalid_syntax);
    CHECK(r.error().detail.find("Vendor ID") != std::string::npos);
}

TEST_CASE("ike message sk: inner payloads are checked like plain ones") {
    XorProtector p;
    // Seal hand-made inner chains through the protector directly.
    auto sealed = [&p](uint8_t first_inner, const Bytes& inner) {
        Bytes m(28 + 4 + inner.size() + kIcv);
        m[16] = 46;
        m[17] = 0x20;
        m[18] = 37;
        put32(m, 24, m.size());
        m[28] = first_inner;
        m[30] = static_cast<uint8_t>((m.size() - 28) >> 8);
        m[31] = static_cast<uint8_t>(m.size() - 28);
        REQUIRE(p.seal(m, 32, inner));
        return m;
    };
    // A nested SK payload.
    auto r = decode(sealed(46, {0, 0, 0, 4}), &p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::invalid_syntax);
    CHECK(r.error().payload_type == 46);
    // A Delete whose length runs past the plaintext.
    r = decode(sealed(42, {0, 0, 0, 12, 3, 4, 0, 1, 1, 2, 3, 4, 5}), &p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::bad_length);
    // A critical unknown payload inside.
    r = decode(sealed(222, {0, 0x80, 0, 4}), &p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::unsupported_critical);
    CHECK(r.error().payload_type == 222);
    // Truncated inner chain: Delete says a Notify follows.
    r = decode(sealed(42, {41, 0, 0, 8, 1, 0, 0, 0}), &p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::truncated);
    CHECK(r.error().payload_type == 41);
    // And a good one: Delete of the IKE SA.
    r = decode(sealed(42, {0, 0, 0, 8, 1, 0, 0, 0}), &p);
    REQUIRE(r.ok());
    CHECK(r->find<DeletePayload>()->protocol == ProtocolId::ike);
}
