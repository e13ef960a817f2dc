// IKE fragmentation (RFC 7383) in the codec: a protected message cut into
// SKF fragments and put back together, and what a damaged fragment gets.
// (Interop with strongSwan's fragments both ways: tests/interop, RSA case.)
#include "ike/crypto/sk_cipher.h"
#include "ike/message/message.h"

#include <doctest/doctest.h>

using namespace xdpsec;
using namespace xdpsec::ike;

namespace {

Message big_message() {
    Message m;
    m.header.spi_i = 0x1122334455667788ull;
    m.header.spi_r = 0x99aabbccddeeff00ull;
    m.header.exchange = ExchangeType::ike_auth;
    m.header.flags = kFlagInitiator;
    m.header.message_id = 1;
    m.payloads.push_back({PayloadType::idi, IdPayload{IdType::fqdn, Bytes{'a', '.', 'b'}}});
    m.payloads.push_back({PayloadType::cert, CertPayload{CertEncoding::x509_signature, Bytes(1500, 0x42)}});
    m.payloads.push_back({PayloadType::auth, AuthPayload{AuthMethod::shared_key_mic, Bytes(32, 7)}});
    return m;
}

std::unique_ptr<SkCipher> cipher(uint16_t encr, uint16_t integ) {
    std::string err;
    const Bytes ek(encr == encr::aes_gcm_16 ? 20 : 16, 1), ik(integ ? 32 : 0, 2);
    auto c = SkCipher::create(encr, 128, integ, ek, ik, &err);
    REQUIRE_MESSAGE(c, err);
    return c;
}

}  // namespace

TEST_CASE("ike message fragments: split, authenticated one by one, reassembled") {
    for (auto [encr, integ] : {std::pair<uint16_t, uint16_t>{encr::aes_gcm_16, 0},
                               {encr::aes_cbc, integ::hmac_sha2_256_128}}) {
        CAPTURE(encr);
        auto out = cipher(encr, integ);
        auto in = cipher(encr, integ);
        const Message m = big_message();
        std::string err;
        const auto frags = encode_protected_fragments(m, *out, 500, &err);
        REQUIRE_MESSAGE(frags.size() >= 4, err);
        Bytes whole;
        PayloadType first = PayloadType::none;
        for (std::size_t i = 0; i < frags.size(); ++i) {
            CHECK(frags[i].size() <= 500);
            CHECK(frags[i][16] == uint8_t(PayloadType::skf));
            auto f = decode_fragment(frags[i], *in);
            REQUIRE(f.ok());
            CHECK(f.value().number == i + 1);
            CHECK(f.value().total == frags.size());
            if (i == 0) first = f.value().first_inner;
            whole.insert(whole.end(), f.value().plaintext.begin(), f.value().plaintext.end());
        }
        CHECK(first == PayloadType::idi);
        auto r = decode_reassembled(m.header, first, whole);
        REQUIRE(r.ok());
        CHECK(r.value().payloads == m.payloads);

        // Small enough: one ordinary SK message.
        Message small = m;
        small.payloads.erase(small.payloads.begin() + 1);
        const auto one = encode_protected_fragments(small, *out, 500, &err);
        REQUIRE(one.size() == 1);
        CHECK(one[0][16] == uint8_t(PayloadType::sk));

        // Every truncation and every bit flip of a fragment is refused.
        const Bytes& f0 = frags[1];
        for (std::size_t n = 0; n < f0.size(); ++n)
            CHECK_FALSE(decode_fragment(ByteView(f0).first(n), *in).ok());
        for (std::size_t i = 0; i < f0.size(); ++i)
            for (int bit = 0; bit < 8; bit += 3) {
                Bytes bad = f0;
                bad[i] ^= uint8_t(1 << bit);
                auto f = decode_fragment(bad, *in);
                // Flips in the header fields that are not authenticated
                // content still fail a consistency check or the ICV.
                CHECK_FALSE(f.ok());
            }
    }
}

TEST_CASE("ike message fragments: bad fragment numbers and sizes") {
    auto out = cipher(encr::aes_gcm_16, 0);
    auto in = cipher(encr::aes_gcm_16, 0);
    const auto frags = encode_protected_fragments(big_message(), *out, 400);
    REQUIRE(frags.size() > 1);
    auto with_numbers = [&](uint16_t number, uint16_t total) {
        Bytes b = frags[0];
        b[32] = uint8_t(number >> 8);
        b[33] = uint8_t(number);
        b[34] = uint8_t(total >> 8);
        b[35] = uint8_t(total);
        return decode_fragment(b, *in);
    };
    CHECK(with_numbers(0, 3).error().kind == DecodeError::Kind::invalid_syntax);
    CHECK(with_numbers(4, 3).error().kind == DecodeError::Kind::invalid_syntax);
    CHECK(with_numbers(1, 0).error().kind == DecodeError::Kind::invalid_syntax);
    CHECK(with_numbers(1, 65).error().kind == DecodeError::Kind::invalid_syntax);
    // Numbers within range but not the ones sealed: the ICV covers them.
    CHECK(with_numbers(2, uint16_t(frags.size())).error().kind == DecodeError::Kind::integrity);
    // A fragment size that leaves no room at all.
    std::string err;
    CHECK(encode_protected_fragments(big_message(), *out, 60, &err).empty());
    CHECK_FALSE(err.empty());
}
