// Known-answer tests: published vectors compared byte for byte with what the
// ESP engine computes.
//  - Whole ESP packets (RFC 3602 §4, RFC 7634 Appendix A,
//    draft-mcgrew-gcm-test-01) go through EspCrypto::seal_with_iv with the
//    published IV (the sending side) and through decapsulate() (the receiving
//    side); where the sending side can be run by encapsulate(), which picks
//    its own IV, everything but the ciphertext is compared.
//  - Bare HMAC vectors go through EspCrypto's ICV check when their key has an
//    ESP key size (RFC 2202, RFC 4868); the others (RFC 4231), and the GCM
//    specification's vectors, which have no ESP shape, go through OpenSSL
//    driven exactly as esp_crypto.cpp drives it.
// Each test case says which of these it is.

#include "esp/algorithm.h"
#include "esp/drop_reason.h"
#include "esp/esp_crypto.h"
#include "esp/esp_engine.h"
#include "esp/ip_address.h"
#include "esp/ip_packet.h"
#include "esp/packet_buffer.h"
#include "esp/sa.h"
#include "vectors/gcm.h"
#include "vectors/hmac.h"
#include "vectors/rfc3602_esp.h"
#include "vectors/rfc7634_esp.h"

#include <doctest/doctest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using Bytes = std::vector<uint8_t>;

namespace {

std::string to_hex(const Bytes& b) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s;
    s.reserve(b.size() * 2);
    for (const uint8_t x : b) {
        s += kDigits[x >> 4];
        s += kDigits[x & 0x0f];
    }
    return s;
}

}  // namespace

// A failed byte comparison prints both sides in hex.
namespace doctest {
template <>
struct StringMaker<Bytes> {
    static String convert(const Bytes& b) { return to_hex(b).c_str(); }
};
}  // namespace doctest

namespace {

using namespace xdpsec::esp;

// Hex as the RFCs print it: pairs of digits, spaces anywhere between them.
Bytes hex(std::string_view text) {
    Bytes out;
    int high = -1;
    for (const char c : text) {
        if (c == ' ') continue;
        int v = -1;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
        if (v < 0) FAIL("not a hex digit in vector text: ", text);
        if (high < 0) {
            high = v;
        } else {
            out.push_back(static_cast<uint8_t>(high << 4 | v));
            high = -1;
        }
    }
    if (high >= 0) FAIL("odd number of hex digits in vector text: ", text);
    return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

Bytes slice(const Bytes& b, std::size_t from, std::size_t len) {
    REQUIRE(from + len <= b.size());
    return Bytes(b.begin() + from, b.begin() + from + len);
}

Bytes tail(const Bytes& b, std::size_t from) { return slice(b, from, b.size() - from); }

Bytes esp_header(uint32_t spi, uint32_t seq_low) {
    Bytes h(8);
    ip::store32(h.data(), spi);
    ip::store32(h.data() + 4, seq_low);
    return h;
}

// RFC 4303 §2.4: data, padding 1, 2, 3, ... to a multiple of block, pad
// length, next header.
Bytes with_trailer(const Bytes& data, std::size_t block, uint8_t next_header) {
    const std::size_t pad = (block - (data.size() + 2) % block) % block;
    Bytes out = data;
    for (std::size_t i = 1; i <= pad; ++i) out.push_back(static_cast<uint8_t>(i));
    out.push_back(static_cast<uint8_t>(pad));
    out.push_back(next_header);
    return out;
}

std::string drop_name(EspDrop d) { return std::string(to_string(d)); }

IpAddress ipv4_at(const Bytes& header, std::size_t offset) {
    IpAddress a;
    a.family = 4;
    std::copy_n(header.begin() + offset, 4, a.bytes.begin());
    return a;
}

IpAddress address(std::string_view text) {
    const auto a = IpAddress::parse(text);
    REQUIRE(a);
    return *a;
}

// An IPv4 header of our own, for ESP vectors published without one.
Bytes ipv4_header(uint8_t protocol, std::size_t payload_len, const IpAddress& src,
                  const IpAddress& dst) {
    Bytes h(20, 0);
    h[0] = 0x45;
    ip::store16(&h[2], static_cast<uint16_t>(20 + payload_len));
    h[8] = 64;
    h[9] = protocol;
    std::copy_n(src.bytes.begin(), 4, h.begin() + 12);
    std::copy_n(dst.bytes.begin(), 4, h.begin() + 16);
    ip::ipv4_set_checksum(h.data());
    return h;
}

bool ipv4_checksum_ok(const Bytes& packet) {
    return packet.size() >= 20 && ip::checksum_fold(ip::checksum_add(0, packet.data(), 20)) == 0;
}

std::unique_ptr<EspCrypto> make_crypto(const Algorithm& alg, EspCrypto::Direction dir,
                                       const Bytes& enc_keymat, const Bytes& integ_key) {
    std::string error;
    auto crypto = EspCrypto::create(alg, dir, enc_keymat, integ_key, &error);
    INFO(error);
    REQUIRE(crypto);
    return crypto;
}

// Seals SPI/SN, IV and payload laid out in one buffer as in a packet, with
// the IV as given; returns the buffer from the SPI to the ICV.
Bytes seal_with_known_iv(EspCrypto& crypto, const Bytes& header, const Bytes& iv,
                         const Bytes& payload, std::optional<uint32_t> esn_hi) {
    const Algorithm& alg = crypto.algorithm();
    REQUIRE(header.size() == 8);
    REQUIRE(iv.size() == alg.iv_len());
    Bytes buf = cat({header, iv, payload, Bytes(alg.icv_len(), 0)});
    uint8_t* p = buf.data();
    uint8_t* body = p + 8 + alg.iv_len();
    const auto body_len = static_cast<uint32_t>(payload.size());
    const EspParts parts{p, p + 8, body, body_len, body + body_len};
    REQUIRE(crypto.seal_with_iv(parts, esn_hi));
    return buf;
}

// Opens an ESP packet given from the SPI to the ICV: the decrypted payload,
// or nullopt when the ICV is refused.
std::optional<Bytes> open_packet(EspCrypto& crypto, Bytes esp, std::optional<uint32_t> esn_hi) {
    const Algorithm& alg = crypto.algorithm();
    const std::size_t fixed = 8 + alg.iv_len() + alg.icv_len();
    REQUIRE(esp.size() >= fixed);
    uint8_t* p = esp.data();
    uint8_t* body = p + 8 + alg.iv_len();
    const auto body_len = static_cast<uint32_t>(esp.size() - fixed);
    const EspParts parts{p, p + 8, body, body_len, body + body_len};
    if (!crypto.open(parts, esn_hi)) return std::nullopt;
    return Bytes(body, body + body_len);
}

// A caller-owned frame, as a worker has one, with headroom before the packet.
class Frame {
public:
    explicit Frame(const Bytes& packet) {
        REQUIRE(kHeadroom + packet.size() <= mem_.size());
        std::copy(packet.begin(), packet.end(), mem_.begin() + kHeadroom);
        buf.frame = mem_.data();
        buf.capacity = static_cast<uint32_t>(mem_.size());
        buf.offset = kHeadroom;
        buf.length = static_cast<uint32_t>(packet.size());
    }
    Frame(const Frame&) = delete;
    Frame& operator=(const Frame&) = delete;

    Bytes packet() const { return Bytes(buf.data(), buf.data() + buf.length); }

    PacketBuffer buf;

private:
    static constexpr uint32_t kHeadroom = 128;
    std::array<uint8_t, 1024> mem_{};
};

struct SaSpec {
    SaDirection direction;
    Mode mode;
    uint32_t spi;
    Algorithm algorithm;
    Bytes enc_keymat;
    Bytes integ_key;
    IpAddress local;
    IpAddress remote;
    bool esn;
};

std::unique_ptr<Sa> make_sa(const SaSpec& s) {
    SaConfig c;
    c.spi = s.spi;
    c.direction = s.direction;
    c.mode = s.mode;
    c.local = s.local;
    c.remote = s.remote;
    c.algorithm = s.algorithm;
    REQUIRE(c.enc_key.assign(s.enc_keymat));
    REQUIRE(c.integ_key.assign(s.integ_key));
    c.esn = s.esn;
    std::string error;
    auto sa = Sa::create(c, &error);
    INFO(error);
    REQUIRE(sa);
    return sa;
}

// ---------------------------------------------------------------- RFC 3602

const Algorithm kCbc128Sha1{Cipher::aes_cbc_128, Integrity::hmac_sha1_96};
// RFC 3602's packets have no ICV, and the engine has no CBC without
// integrity: HMAC-SHA1-96 runs under this key of ours, and its ICV is never
// compared with anything published.
const Bytes kOurSha1Key(20, 0x5a);
constexpr std::size_t kSha1IcvLen = 12;

// What ESP carries (the data after the IP header in transport mode, the whole
// packet in tunnel mode) with its trailer, padded to the AES block.
Bytes rfc3602_payload(const kat::Rfc3602Packet& v) {
    const Bytes ip_header = hex(v.original_ip);
    const Bytes data = hex(v.original_data);
    if (v.tunnel) return with_trailer(cat({ip_header, data}), 16, ip::kProtoIpip);
    return with_trailer(data, 16, ip_header[9]);
}

// The post-encryption packet as published: IP header, SPI, SN, IV, ciphertext.
Bytes rfc3602_published(const kat::Rfc3602Packet& v) {
    return cat({hex(v.esp_ip), esp_header(v.spi, v.seq), hex(v.iv), hex(v.encrypted)});
}

TEST_CASE("RFC 3602 §4 cases 5-8: seal_with_iv reproduces the published AES-CBC ciphertext") {
    // The cipher layer byte for byte: the published payload layout encrypted
    // under the published key and IV must be the published ciphertext. The 12
    // ICV bytes appended (our key, see kOurSha1Key) are not compared.
    for (const auto& v : kat::kRfc3602Packets) {
        CAPTURE(v.name);
        const Bytes published = rfc3602_published(v);
        auto crypto = make_crypto(kCbc128Sha1, EspCrypto::Direction::seal, hex(v.key), kOurSha1Key);
        // Twice on one context: it is keyed once and must answer the same for every packet.
        for (int packet = 0; packet < 2; ++packet) {
            const Bytes sealed = seal_with_known_iv(*crypto, esp_header(v.spi, v.seq), hex(v.iv),
                                                    rfc3602_payload(v), std::nullopt);
            CHECK(slice(sealed, 0, sealed.size() - kSha1IcvLen) == tail(published, 20));
        }
    }
}

TEST_CASE("RFC 3602 §4 cases 5-8: decapsulate() of the published packet gives the original") {
    // The published packet with an HMAC-SHA1-96 ICV of ours appended (its IP
    // total length and checksum adjusted for those 12 bytes), through an
    // inbound SA of the vector's mode. The result must be the RFC's original
    // packet exactly, in transport mode including the IP header the engine
    // rebuilds (protocol, total length, checksum).
    for (const auto& v : kat::kRfc3602Packets) {
        CAPTURE(v.name);
        auto sealer = make_crypto(kCbc128Sha1, EspCrypto::Direction::seal, hex(v.key), kOurSha1Key);
        const Bytes sealed = seal_with_known_iv(*sealer, esp_header(v.spi, v.seq), hex(v.iv),
                                                rfc3602_payload(v), std::nullopt);
        Bytes packet = cat({rfc3602_published(v), tail(sealed, sealed.size() - kSha1IcvLen)});
        ip::store16(&packet[2], static_cast<uint16_t>(packet.size()));
        ip::ipv4_set_checksum(packet.data());

        const Bytes outer = hex(v.esp_ip);
        auto sa = make_sa({SaDirection::inbound, v.tunnel ? Mode::tunnel : Mode::transport, v.spi,
                           kCbc128Sha1, hex(v.key), kOurSha1Key, ipv4_at(outer, 16),
                           ipv4_at(outer, 12), false});
        Frame frame(packet);
        const DecapResult r = decapsulate(*sa, frame.buf);
        CHECK(drop_name(r.drop) == "none");
        CHECK(r.next_header == (v.tunnel ? ip::kProtoIpip : hex(v.original_ip)[9]));
        CHECK(frame.packet() == cat({hex(v.original_ip), hex(v.original_data)}));
    }
}

TEST_CASE("RFC 3602 §4 cases 5-8: encapsulate() builds the published packet layout") {
    // encapsulate() chooses its own IV, so its ciphertext is not the RFC's.
    // Everything else must be: the ESP header, the payload with the RFC's
    // padding, pad length and next header (read back by decrypting), the
    // packet length (plus our 12-byte ICV) and the IP header fields, less the
    // identification of a tunnel's new outer header and the checksum.
    for (const auto& v : kat::kRfc3602Packets) {
        CAPTURE(v.name);
        const Bytes published = rfc3602_published(v);
        const Bytes outer = hex(v.esp_ip);
        auto sa = make_sa({SaDirection::outbound, v.tunnel ? Mode::tunnel : Mode::transport, v.spi,
                           kCbc128Sha1, hex(v.key), kOurSha1Key, ipv4_at(outer, 12),
                           ipv4_at(outer, 16), false});
        sa->set_last_seq(v.seq - 1);
        Frame frame(cat({hex(v.original_ip), hex(v.original_data)}));
        const EncapResult r = encapsulate(*sa, frame.buf, 0);
        REQUIRE(r.status == EncapStatus::ok);

        const Bytes out = frame.packet();
        REQUIRE(out.size() == published.size() + kSha1IcvLen);
        CHECK(ip::load16(&out[2]) == out.size());
        CHECK(slice(out, 0, 2) == slice(published, 0, 2));
        if (!v.tunnel) CHECK(slice(out, 4, 2) == slice(published, 4, 2));
        CHECK(slice(out, 6, 4) == slice(published, 6, 4));
        CHECK(slice(out, 12, 8) == slice(published, 12, 8));
        CHECK(ipv4_checksum_ok(out));
        CHECK(slice(out, 20, 8) == esp_header(v.spi, v.seq));

        auto opener = make_crypto(kCbc128Sha1, EspCrypto::Direction::open, hex(v.key), kOurSha1Key);
        const auto opened = open_packet(*opener, tail(out, 20), std::nullopt);
        REQUIRE(opened);
        CHECK(*opened == rfc3602_payload(v));
    }
}

// ---------------------------------------------------------------- RFC 7634

const Algorithm kChaCha{Cipher::chacha20_poly1305, Integrity::none};

Bytes rfc7634_esp() {
    using namespace kat::rfc7634;
    return cat({esp_header(kSpi, kSeq), hex(kIv), hex(kCiphertext), hex(kTag)});
}

Bytes rfc7634_payload() {
    return cat({hex(kat::rfc7634::kInnerPacket), hex(kat::rfc7634::kTrailer)});
}

TEST_CASE("RFC 7634 Appendix A: seal_with_iv reproduces the ChaCha20-Poly1305 ESP packet") {
    // Ciphertext and tag byte for byte: key and salt from the KEYMAT, nonce
    // salt || IV, AAD SPI || SN (RFC 7634 §2-3).
    using namespace kat::rfc7634;
    auto crypto = make_crypto(kChaCha, EspCrypto::Direction::seal, hex(kKeymat), {});
    for (int packet = 0; packet < 2; ++packet) {
        CHECK(seal_with_known_iv(*crypto, esp_header(kSpi, kSeq), hex(kIv), rfc7634_payload(),
                                 std::nullopt) == rfc7634_esp());
    }
}

TEST_CASE("RFC 7634 Appendix A: decapsulate() of the published packet gives the inner packet") {
    using namespace kat::rfc7634;
    const Bytes packet = cat({hex(kOuterHeader), rfc7634_esp()});
    const SaSpec spec{SaDirection::inbound, Mode::tunnel, kSpi,          kChaCha, hex(kKeymat),
                      {},                   address(kLocal), address(kRemote), false};
    {
        auto sa = make_sa(spec);
        Frame frame(packet);
        const DecapResult r = decapsulate(*sa, frame.buf);
        CHECK(drop_name(r.drop) == "none");
        CHECK(r.next_header == ip::kProtoIpip);
        CHECK(frame.packet() == hex(kInnerPacket));
    }
    {
        // The same packet with one bit of the tag flipped is refused.
        Bytes bad = packet;
        bad.at(bad.size() - 1) ^= 0x01;
        auto sa = make_sa(spec);
        Frame frame(bad);
        CHECK(drop_name(decapsulate(*sa, frame.buf).drop) == "auth_failed");
    }
}

TEST_CASE("RFC 7634 Appendix A: encapsulate() builds the published packet layout") {
    // The engine's IV is its sequence number, not the appendix's, so the
    // ciphertext differs; the outer header (less identification and
    // checksum), the ESP header, the length and the padded payload must not.
    using namespace kat::rfc7634;
    auto sa = make_sa({SaDirection::outbound, Mode::tunnel, kSpi, kChaCha, hex(kKeymat), {},
                       address(kRemote), address(kLocal), false});
    sa->set_last_seq(kSeq - 1);
    Frame frame(hex(kInnerPacket));
    REQUIRE(encapsulate(*sa, frame.buf, 0).status == EncapStatus::ok);

    const Bytes out = frame.packet();
    const Bytes published = cat({hex(kOuterHeader), rfc7634_esp()});
    REQUIRE(out.size() == published.size());
    CHECK(slice(out, 0, 4) == slice(published, 0, 4));
    CHECK(slice(out, 6, 4) == slice(published, 6, 4));
    CHECK(slice(out, 12, 8) == slice(published, 12, 8));
    CHECK(ipv4_checksum_ok(out));
    CHECK(slice(out, 20, 8) == esp_header(kSpi, kSeq));

    auto opener = make_crypto(kChaCha, EspCrypto::Direction::open, hex(kKeymat), {});
    const auto opened = open_packet(*opener, tail(out, 20), std::nullopt);
    REQUIRE(opened);
    CHECK(*opened == rfc7634_payload());
}

// ---------------------------------------------------------------- GCM, GMAC

Algorithm gcm_algorithm(std::size_t key_len) {
    return {key_len == 16 ? Cipher::aes_gcm_128 : Cipher::aes_gcm_256, Integrity::none};
}

// RFC 4106 §8.1: the keying material is the AES key followed by the salt,
// which is the first 4 bytes of the nonce.
Bytes gcm_keymat(const kat::gcm::EspCase& v) { return cat({hex(v.key), slice(hex(v.nonce), 0, 4)}); }

std::optional<uint32_t> esn_high(const kat::gcm::EspCase& v) {
    if (!v.esn) return std::nullopt;
    return static_cast<uint32_t>(v.seq >> 32);
}

TEST_CASE("draft-mcgrew-gcm-test-01: seal_with_iv reproduces the AES-GCM ESP packets") {
    // Each packet byte for byte from SPI to ICV, with the 12-byte AAD
    // SPI || SN high || SN low where the draft uses an extended sequence
    // number (RFC 4106 §5).
    for (const auto& v : kat::gcm::kEspCases) {
        CAPTURE(v.number);
        const Bytes packet = hex(v.packet);
        // RFC 4106 §4: the nonce is the salt followed by the packet's IV.
        CHECK(slice(packet, 8, 8) == tail(hex(v.nonce), 4));
        const Bytes key = hex(v.key);
        auto crypto = make_crypto(gcm_algorithm(key.size()), EspCrypto::Direction::seal,
                                  gcm_keymat(v), {});
        for (int round = 0; round < 2; ++round) {
            CHECK(seal_with_known_iv(*crypto, slice(packet, 0, 8), slice(packet, 8, 8),
                                     hex(v.plaintext), esn_high(v)) == packet);
        }
    }
}

TEST_CASE("draft-mcgrew-gcm-test-01: EspCrypto::open recovers the plaintexts") {
    // Includes case 4, whose SPI 0 keeps it out of any Sa (RFC 4303 §2.1
    // reserves it) and so out of the decapsulate() test below. A packet with
    // one bit of its ICV flipped is refused.
    for (const auto& v : kat::gcm::kEspCases) {
        CAPTURE(v.number);
        const Bytes key = hex(v.key);
        auto crypto = make_crypto(gcm_algorithm(key.size()), EspCrypto::Direction::open,
                                  gcm_keymat(v), {});
        const auto opened = open_packet(*crypto, hex(v.packet), esn_high(v));
        REQUIRE(opened);
        CHECK(*opened == hex(v.plaintext));

        Bytes bad = hex(v.packet);
        bad.at(bad.size() - 1) ^= 0x01;
        CHECK_FALSE(open_packet(*crypto, bad, esn_high(v)));
    }
}

IpAddress ipv4(std::array<uint8_t, 4> octets) {
    IpAddress a;
    a.family = 4;
    std::copy(octets.begin(), octets.end(), a.bytes.begin());
    return a;
}

Bytes ipv4_bytes(const IpAddress& a) { return Bytes(a.bytes.begin(), a.bytes.begin() + 4); }

// The draft's packets start at the SPI; the outer header in front is ours.
const IpAddress kDocSender = ipv4({192, 0, 2, 1});
const IpAddress kDocReceiver = ipv4({192, 0, 2, 2});

// What transport-mode decapsulation must leave of a plaintext: the bytes
// before the padding (RFC 4303 §2.4-2.6).
Bytes esp_data(const Bytes& plaintext) {
    REQUIRE(plaintext.size() >= 2);
    const std::size_t pad = plaintext[plaintext.size() - 2];
    REQUIRE(pad + 2 <= plaintext.size());
    return slice(plaintext, 0, plaintext.size() - 2 - pad);
}

// Checks a transport-mode result: the outer header we put in front, now
// naming next_header and counting data, followed by data.
void check_transport_result(const Bytes& out, uint8_t next_header, const Bytes& data) {
    REQUIRE(out.size() == 20 + data.size());
    CHECK(out[9] == next_header);
    CHECK(ip::load16(&out[2]) == out.size());
    CHECK(ipv4_checksum_ok(out));
    CHECK(slice(out, 12, 8) == cat({ipv4_bytes(kDocSender), ipv4_bytes(kDocReceiver)}));
    CHECK(tail(out, 20) == data);
}

TEST_CASE("draft-mcgrew-gcm-test-01: decapsulate() of the AES-GCM ESP packets") {
    // Every plaintext of the draft names next header 1, also those that are
    // IPv4 packets, so the SA is in transport mode: the result is our outer
    // header, now with protocol 1, and the plaintext up to its padding. ESN
    // cases start the replay window just below the packet's sequence number
    // so that the engine infers the draft's high 32 bits (RFC 4303 A2).
    for (const auto& v : kat::gcm::kEspCases) {
        CAPTURE(v.number);
        if (v.spi < 256) continue;  // case 4: see the EspCrypto test above
        const Bytes esp = hex(v.packet);
        const Bytes plaintext = hex(v.plaintext);
        const Bytes key = hex(v.key);
        auto sa = make_sa({SaDirection::inbound, Mode::transport, v.spi, gcm_algorithm(key.size()),
                           gcm_keymat(v), {}, kDocReceiver, kDocSender, v.esn});
        sa->set_last_seq(v.seq - 1);
        Frame frame(cat({ipv4_header(ip::kProtoEsp, esp.size(), kDocSender, kDocReceiver), esp}));
        const DecapResult r = decapsulate(*sa, frame.buf);
        CHECK(drop_name(r.drop) == "none");
        CHECK(r.next_header == plaintext.back());
        check_transport_result(frame.packet(), plaintext.back(), esp_data(plaintext));
        CHECK(sa->last_seq() == v.seq);
    }
}

TEST_CASE("draft-mcgrew-gcm-test-01 GMAC case: seal_with_iv and decapsulate()") {
    // RFC 4543 ENCR_NULL_AUTH_AES_GMAC: the payload stays in the clear and the
    // ICV, byte for byte the draft's, covers SPI, SN, IV and payload.
    using namespace kat::gcm::gmac;
    const Algorithm alg{Cipher::aes_gmac_128, Integrity::none};
    const Bytes keymat = cat({hex(kKey), hex(kSalt)});
    const Bytes esp = cat({esp_header(kSpi, kSeq), hex(kIv), hex(kPayload), hex(kIcv)});

    auto crypto = make_crypto(alg, EspCrypto::Direction::seal, keymat, {});
    for (int packet = 0; packet < 2; ++packet) {
        CHECK(seal_with_known_iv(*crypto, esp_header(kSpi, kSeq), hex(kIv), hex(kPayload),
                                 std::nullopt) == esp);
    }

    const SaSpec spec{SaDirection::inbound, Mode::transport, kSpi, alg, keymat, {},
                      kDocReceiver, kDocSender, false};
    const Bytes packet = cat({ipv4_header(ip::kProtoEsp, esp.size(), kDocSender, kDocReceiver), esp});
    {
        auto sa = make_sa(spec);
        Frame frame(packet);
        const DecapResult r = decapsulate(*sa, frame.buf);
        CHECK(drop_name(r.drop) == "none");
        check_transport_result(frame.packet(), 1, esp_data(hex(kPayload)));
    }
    {
        // One bit of the clear payload changed: only the ICV can notice.
        Bytes bad = packet;
        bad[20 + 8 + 8] ^= 0x01;
        auto sa = make_sa(spec);
        Frame frame(bad);
        CHECK(drop_name(decapsulate(*sa, frame.buf).drop) == "auth_failed");
    }
}

struct CipherFree {
    void operator()(EVP_CIPHER* c) const { EVP_CIPHER_free(c); }
};
struct CipherCtxFree {
    void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

int to_int(std::size_t n) { return static_cast<int>(n); }

// An AES-GCM context set up as esp_crypto.cpp sets one up: the cipher fetched
// by name, the IV length set to 12, then the key, once.
CipherCtx keyed_gcm(const Bytes& key, int enc) {
    const char* name = key.size() == 16 ? "AES-128-GCM" : "AES-256-GCM";
    std::unique_ptr<EVP_CIPHER, CipherFree> evp(EVP_CIPHER_fetch(nullptr, name, nullptr));
    REQUIRE(evp);
    CipherCtx c(EVP_CIPHER_CTX_new());
    REQUIRE(c);
    REQUIRE(EVP_CipherInit_ex2(c.get(), evp.get(), nullptr, nullptr, enc, nullptr) == 1);
    REQUIRE(EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) == 1);
    REQUIRE(EVP_CipherInit_ex2(c.get(), nullptr, key.data(), nullptr, enc, nullptr) == 1);
    return c;
}

// One message as esp_crypto.cpp's aead_seal: nonce, AAD, data, 16-byte tag.
// Returns ciphertext || tag.
Bytes gcm_seal(EVP_CIPHER_CTX* c, const Bytes& iv, const Bytes& aad, const Bytes& plaintext) {
    int out = 0;
    Bytes sealed(plaintext.size() + 16);
    REQUIRE(EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, iv.data()) == 1);
    if (!aad.empty()) REQUIRE(EVP_EncryptUpdate(c, nullptr, &out, aad.data(), to_int(aad.size())) == 1);
    if (!plaintext.empty()) {
        REQUIRE(EVP_EncryptUpdate(c, sealed.data(), &out, plaintext.data(),
                                  to_int(plaintext.size())) == 1);
    }
    REQUIRE(EVP_EncryptFinal_ex(c, sealed.data() + plaintext.size(), &out) == 1);
    REQUIRE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, sealed.data() + plaintext.size()) == 1);
    return sealed;
}

// One message as esp_crypto.cpp's aead_open: the plaintext, or nullopt when
// the tag is refused.
std::optional<Bytes> gcm_open(EVP_CIPHER_CTX* c, const Bytes& iv, const Bytes& aad,
                              const Bytes& ciphertext, Bytes tag) {
    int out = 0;
    Bytes plaintext(ciphertext.size());
    REQUIRE(EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, iv.data()) == 1);
    REQUIRE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, to_int(tag.size()), tag.data()) == 1);
    if (!aad.empty()) REQUIRE(EVP_DecryptUpdate(c, nullptr, &out, aad.data(), to_int(aad.size())) == 1);
    if (!ciphertext.empty()) {
        REQUIRE(EVP_DecryptUpdate(c, plaintext.data(), &out, ciphertext.data(),
                                  to_int(ciphertext.size())) == 1);
    }
    uint8_t fin[16];
    if (EVP_DecryptFinal_ex(c, fin, &out) != 1) return std::nullopt;
    return plaintext;
}

TEST_CASE("GCM specification test cases 1-4 and 13-16 through OpenSSL as esp_crypto.cpp uses it") {
    // McGrew & Viega's cases have no AAD or 20 bytes of it; ESP's AAD is 8 or
    // 12 bytes (SPI and sequence number), so EspCrypto cannot run them. This
    // proves the OpenSSL calls esp_crypto.cpp makes compute GCM as specified;
    // the draft-mcgrew-gcm-test-01 packets above prove EspCrypto itself.
    for (const auto& v : kat::gcm::kSpecCases) {
        CAPTURE(v.number);
        const Bytes key = hex(v.key), iv = hex(v.iv), aad = hex(v.aad);
        const Bytes plaintext = hex(v.plaintext), ciphertext = hex(v.ciphertext), tag = hex(v.tag);

        auto sealer = keyed_gcm(key, 1);
        for (int message = 0; message < 2; ++message) {
            CHECK(gcm_seal(sealer.get(), iv, aad, plaintext) == cat({ciphertext, tag}));
        }

        auto opener = keyed_gcm(key, 0);
        const auto opened = gcm_open(opener.get(), iv, aad, ciphertext, tag);
        REQUIRE(opened);
        CHECK(*opened == plaintext);
        Bytes bad_tag = tag;
        bad_tag[0] ^= 0x01;
        CHECK_FALSE(gcm_open(opener.get(), iv, aad, ciphertext, bad_tag));
    }
}

// ---------------------------------------------------------------- HMAC

// True when EspCrypto::open accepts icv as the ICV of data. EspCrypto's ICV
// covers one contiguous run, from the start of the ESP header to the end of
// the payload (RFC 4303 §2.8); here that run is exactly data: EspParts::header
// points at its first byte and the payload is its last whole 16-byte blocks
// (none when it is 8 bytes), so that CBC decryption, which open() does after
// the ICV check, has whole blocks. The IV it decrypts with lies outside the
// run. The cipher key is ours and the decrypted bytes are not looked at.
bool icv_accepted(const Algorithm& alg, const Bytes& integ_key, Bytes data, Bytes icv) {
    REQUIRE(data.size() >= 8);
    REQUIRE(icv.size() == alg.icv_len());
    auto crypto = make_crypto(alg, EspCrypto::Direction::open, Bytes(alg.enc_keymat_len(), 0x11),
                              integ_key);
    Bytes iv(alg.iv_len(), 0);
    const auto payload_len = static_cast<uint32_t>((data.size() - 8) / 16 * 16);
    uint8_t* payload = data.data() + (data.size() - payload_len);
    const EspParts parts{data.data(), iv.data(), payload, payload_len, icv.data()};
    return crypto->open(parts, std::nullopt);
}

TEST_CASE("RFC 2202 HMAC-SHA-1 cases 1, 3, 5 as HMAC-SHA1-96 ICVs of EspCrypto") {
    // The published MAC cut to 96 bits (RFC 2404 §2) must be accepted, and
    // refused with one bit flipped.
    for (const auto& v : kat::hmac::kRfc2202) {
        CAPTURE(v.number);
        const Bytes icv = slice(hex(v.mac), 0, kSha1IcvLen);
        CHECK(icv_accepted(kCbc128Sha1, hex(v.key), hex(v.data), icv));
        Bytes bad = icv;
        bad.at(bad.size() - 1) ^= 0x01;
        CHECK_FALSE(icv_accepted(kCbc128Sha1, hex(v.key), hex(v.data), bad));
    }
}

TEST_CASE("RFC 4868 §2.7.2 authenticator vectors as ICVs of EspCrypto") {
    // HMAC-SHA-256-128, -384-192, -512-256: the left half of the published
    // PRF output (RFC 4868 §2.3) must be accepted by EspCrypto keyed with the
    // published key, and refused with one bit flipped.
    for (const auto& v : kat::hmac::kRfc4868) {
        CAPTURE(v.name);
        const Algorithm alg{Cipher::aes_cbc_128, v.integrity};
        const Bytes prf = hex(v.prf);
        REQUIRE(alg.icv_len() * 2 == prf.size());
        const Bytes icv = slice(prf, 0, alg.icv_len());
        CHECK(icv_accepted(alg, hex(v.key), hex(v.data), icv));
        Bytes bad = icv;
        bad.front() ^= 0x80;
        CHECK_FALSE(icv_accepted(alg, hex(v.key), hex(v.data), bad));
    }
}

struct MacFree {
    void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
};
struct MacCtxFree {
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

// HMAC as esp_crypto.cpp computes it: EVP_MAC "HMAC" keyed once with the
// digest by name, re-initialised without a key for each message.
Bytes hmac_like_esp_crypto(const char* digest, const Bytes& key, const Bytes& data) {
    std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    REQUIRE(mac);
    std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(mac.get()));
    REQUIRE(ctx);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
        OSSL_PARAM_construct_end()};
    REQUIRE(EVP_MAC_init(ctx.get(), key.data(), key.size(), params) == 1);
    REQUIRE(EVP_MAC_init(ctx.get(), nullptr, 0, nullptr) == 1);
    REQUIRE(EVP_MAC_update(ctx.get(), data.data(), data.size()) == 1);
    Bytes out(64);
    std::size_t len = 0;
    REQUIRE(EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) == 1);
    out.resize(len);
    return out;
}

TEST_CASE("RFC 4231 HMAC-SHA-256/384/512 test cases 1-7 through OpenSSL as esp_crypto.cpp uses it") {
    // RFC 4231's keys are 4 to 131 bytes long, none of them an ESP key size
    // (RFC 4868 §2.1.1), which EspCrypto::create refuses. The digest names are
    // esp_crypto.cpp's. Case 5 is published truncated to 128 bits.
    for (const auto& v : kat::hmac::kRfc4231) {
        CAPTURE(v.number);
        const Bytes key = hex(v.key), data = hex(v.data);
        const std::pair<const char*, std::string_view> digests[] = {
            {"SHA2-256", v.sha256}, {"SHA2-384", v.sha384}, {"SHA2-512", v.sha512}};
        for (const auto& [digest, published] : digests) {
            CAPTURE(digest);
            const Bytes expected = hex(published);
            const Bytes mac = hmac_like_esp_crypto(digest, key, data);
            CHECK(slice(mac, 0, expected.size()) == expected);
        }
    }
}

}  // namespace
