// Shared set-up for the ESP engine unit tests: SA pairs with fixed keys,
// IPv4/IPv6 test packets, frames sized so that ASan sees any read past the
// packet, an independent view of the ESP wire layout and checksums, and a
// crafter that builds arbitrary (also malformed) ESP packets with a valid ICV.
//
// Everything here recomputes wire facts on its own (checksums, offsets,
// padding) instead of calling the engine's helpers, so that a test compares
// the engine against an independent reading of the RFCs.
#pragma once

#include "esp/algorithm.h"
#include "esp/drop_reason.h"
#include "esp/esp_crypto.h"
#include "esp/esp_engine.h"
#include "esp/ip_address.h"
#include "esp/packet_buffer.h"
#include "esp/sa.h"
#include "esp/secret.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xdpsec::esp {
// Readable doctest output for the engine's enums.
inline std::ostream& operator<<(std::ostream& os, EspDrop d) { return os << to_string(d); }
inline std::ostream& operator<<(std::ostream& os, EncapStatus s) {
    switch (s) {
    case EncapStatus::ok: return os << "ok";
    case EncapStatus::too_big: return os << "too_big";
    case EncapStatus::dropped: return os << "dropped";
    }
    return os << "?";
}
}  // namespace xdpsec::esp

namespace esptest {

using namespace xdpsec::esp;
using Bytes = std::vector<uint8_t>;

// Every ESP proposal the engine supports, as strongSwan names them.
inline constexpr std::array<std::string_view, 10> kAlgorithms = {
    "aes128gcm16",   "aes256gcm16",   "chacha20poly1305", "aes128gmac",    "aes256gmac",
    "aes128-sha1",   "aes128-sha256", "aes256-sha256",    "aes128-sha384", "aes256-sha512",
};

inline constexpr uint8_t kIpip = 4, kUdp = 17, kIpv6 = 41, kEsp = 50, kNoNext = 59;
inline constexpr uint8_t kHopByHop = 0, kRouting = 43, kFragment = 44, kDestOpts = 60;

inline uint32_t u32(std::size_t n) { return static_cast<uint32_t>(n); }
inline uint8_t u8(uint32_t n) { return static_cast<uint8_t>(n); }

inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t be32(const uint8_t* p) { return uint32_t{be16(p)} << 16 | be16(p + 2); }
inline void put16(uint8_t* p, uint32_t v) {
    p[0] = u8(v >> 8);
    p[1] = u8(v);
}
inline void put32(uint8_t* p, uint32_t v) {
    put16(p, v >> 16);
    put16(p + 2, v & 0xffff);
}
inline void put64(uint8_t* p, uint64_t v) {
    put32(p, static_cast<uint32_t>(v >> 32));
    put32(p + 4, static_cast<uint32_t>(v));
}
inline uint64_t be64(const uint8_t* p) { return uint64_t{be32(p)} << 32 | be32(p + 4); }

// Deterministic filler, different per seed.
inline Bytes pattern(std::size_t n, uint8_t seed) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 31 + seed * 7 + 3);
    return b;
}

inline uint8_t version(const Bytes& p) { return static_cast<uint8_t>(p.at(0) >> 4); }

// ---------------------------------------------------------------- checksums

// RFC 1071 sum over n bytes, added to sum, not folded.
inline uint32_t sum16(const uint8_t* p, std::size_t n, uint32_t sum = 0) {
    uint64_t s = sum;
    for (std::size_t i = 0; i + 1 < n; i += 2) s += be16(p + i);
    if (n % 2) s += uint32_t{p[n - 1]} << 8;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<uint32_t>(s);
}
inline uint16_t fold(uint32_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(~s & 0xffff);
}

inline uint32_t ipv4_ihl(const uint8_t* p) { return (p[0] & 0x0fu) * 4u; }
inline bool ipv4_checksum_ok(const uint8_t* p) { return fold(sum16(p, ipv4_ihl(p))) == 0; }
inline void ipv4_fix_checksum(uint8_t* p) {
    put16(p + 10, 0);
    put16(p + 10, fold(sum16(p, ipv4_ihl(p))));
}

// UDP over IPv6 (RFC 8200 §8.1): the checksum verifies and is not zero.
inline bool udp6_checksum_ok(const Bytes& pkt, uint32_t udp_off) {
    const uint32_t udp_len = u32(pkt.size()) - udp_off;
    if (be16(&pkt[udp_off + 6]) == 0) return false;
    uint32_t s = sum16(&pkt[8], 32) + (udp_len >> 16) + (udp_len & 0xffff) + kUdp;
    s = sum16(&pkt[udp_off], udp_len, s);
    return fold(s) == 0;
}
inline void udp6_fix_checksum(Bytes& pkt, uint32_t udp_off) {
    const uint32_t udp_len = u32(pkt.size()) - udp_off;
    put16(&pkt[udp_off + 6], 0);
    uint32_t s = sum16(&pkt[8], 32) + (udp_len >> 16) + (udp_len & 0xffff) + kUdp;
    s = sum16(&pkt[udp_off], udp_len, s);
    const uint16_t c = fold(s);
    put16(&pkt[udp_off + 6], c == 0 ? 0xffff : c);
}

// ---------------------------------------------------------------- packets

struct Ipv4Spec {
    uint8_t tos = 0;
    uint8_t ttl = 64;
    bool df = true;
    uint16_t frag = 0;  // MF (0x2000) and fragment offset bits
    uint16_t id = 0x4242;
    uint8_t proto = kUdp;
    Bytes options;  // a multiple of 4 bytes, at most 40
    uint32_t payload_len = 64;
    std::array<uint8_t, 4> src{10, 0, 0, 1};
    std::array<uint8_t, 4> dst{10, 0, 1, 1};
    uint8_t seed = 1;
};

inline Bytes ipv4_packet(const Ipv4Spec& s) {
    const uint32_t hl = 20 + u32(s.options.size());
    Bytes p(hl + s.payload_len);
    p[0] = u8(0x40 | hl / 4);
    p[1] = s.tos;
    put16(&p[2], u32(p.size()));
    put16(&p[4], s.id);
    put16(&p[6], (s.df ? 0x4000u : 0u) | s.frag);
    p[8] = s.ttl;
    p[9] = s.proto;
    std::copy(s.src.begin(), s.src.end(), &p[12]);
    std::copy(s.dst.begin(), s.dst.end(), &p[16]);
    std::copy(s.options.begin(), s.options.end(), &p[20]);
    const Bytes body = pattern(s.payload_len, s.seed);
    std::copy(body.begin(), body.end(), p.begin() + hl);
    if (s.proto == kUdp && s.payload_len >= 8) {  // a plausible UDP header
        put16(&p[hl], 1234);
        put16(&p[hl + 2], 5678);
        put16(&p[hl + 4], s.payload_len);
        put16(&p[hl + 6], 0);
    }
    ipv4_fix_checksum(p.data());
    return p;
}

struct Ipv6Ext {
    uint8_t type;   // 0, 43, 44, 60
    uint32_t len;   // bytes, a multiple of 8 (the fragment header is 8)
};

struct Ipv6Spec {
    uint8_t tc = 0;
    uint32_t flow = 0x12345;
    uint8_t hop_limit = 64;
    std::vector<Ipv6Ext> ext;
    uint8_t proto = kUdp;
    uint32_t payload_len = 64;  // upper-layer bytes, after the extension headers
    std::array<uint8_t, 16> src{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    std::array<uint8_t, 16> dst{0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    uint8_t seed = 2;
};

inline uint32_t ext_len(const Ipv6Spec& s) {
    uint32_t n = 0;
    for (const auto& e : s.ext) n += e.len;
    return n;
}

inline Bytes ipv6_packet(const Ipv6Spec& s) {
    const uint32_t el = ext_len(s);
    Bytes p(40 + el + s.payload_len);
    put32(&p[0], uint32_t{6} << 28 | uint32_t{s.tc} << 20 | (s.flow & 0xfffff));
    put16(&p[4], el + s.payload_len);
    p[6] = s.ext.empty() ? s.proto : s.ext[0].type;
    p[7] = s.hop_limit;
    std::copy(s.src.begin(), s.src.end(), &p[8]);
    std::copy(s.dst.begin(), s.dst.end(), &p[24]);
    uint32_t off = 40;
    for (std::size_t i = 0; i < s.ext.size(); ++i) {
        const auto& e = s.ext[i];
        uint8_t* h = &p[off];
        h[0] = i + 1 < s.ext.size() ? s.ext[i + 1].type : s.proto;
        if (e.type == kFragment) {
            h[1] = 0;
            put16(h + 2, 0x0001);  // offset 0, more fragments
            put32(h + 4, 0xabcd1234);
        } else {
            h[1] = u8(e.len / 8 - 1);
            if (e.type == kRouting) {
                h[2] = 4;  // segment routing; segments left 0: the destination is final
                h[3] = 0;
                for (uint32_t k = 4; k < e.len; ++k) h[k] = u8(0x20 + k);
            } else {  // options: one PadN option filling the header
                h[2] = 1;
                h[3] = u8(e.len - 4);
                for (uint32_t k = 4; k < e.len; ++k) h[k] = 0;
            }
        }
        off += e.len;
    }
    const Bytes body = pattern(s.payload_len, s.seed);
    std::copy(body.begin(), body.end(), p.begin() + off);
    if (s.proto == kUdp && s.payload_len >= 8) {
        put16(&p[off], 1234);
        put16(&p[off + 2], 5678);
        put16(&p[off + 4], s.payload_len);
        put16(&p[off + 6], 0x1111);
    }
    return p;
}

// An IP packet of exactly total bytes (>= 20 / 40) with traffic class tc.
inline Bytes ip_packet(int family, uint32_t total, uint8_t tc = 0, uint8_t seed = 1) {
    if (family == 4) {
        Ipv4Spec s;
        s.tos = tc;
        s.payload_len = total - 20;
        s.seed = seed;
        return ipv4_packet(s);
    }
    Ipv6Spec s;
    s.tc = tc;
    s.payload_len = total - 40;
    s.seed = seed;
    return ipv6_packet(s);
}

inline uint8_t traffic_class(const Bytes& p) {
    return version(p) == 4 ? p[1] : u8((p[0] & 0x0fu) << 4 | p[1] >> 4);
}
// Rewrites the traffic class (IPv4: and fixes the header checksum).
inline void set_traffic_class(Bytes& p, uint8_t tc) {
    if (version(p) == 4) {
        p[1] = tc;
        ipv4_fix_checksum(p.data());
    } else {
        p[0] = u8(0x60 | tc >> 4);
        p[1] = u8((p[1] & 0x0fu) | (tc & 0x0fu) << 4);
    }
}

// ---------------------------------------------------------------- SAs

inline IpAddress addr(std::string_view text) {
    auto a = IpAddress::parse(text);
    REQUIRE(a.has_value());
    return *a;
}

// Outer addresses of the pair: A sends with the outbound SA, B receives.
inline IpAddress addr_a(int family) { return addr(family == 4 ? "192.0.2.1" : "2001:db8::a"); }
inline IpAddress addr_b(int family) { return addr(family == 4 ? "198.51.100.2" : "2001:db8:1::b"); }

inline constexpr uint16_t kPortA = 4501, kPortB = 4502;

struct SaOptions {
    std::string_view alg = "aes128gcm16";
    Mode mode = Mode::tunnel;
    int family = 4;  // outer family (tunnel) / packet family (transport)
    bool udp = false;
    bool esn = false;
    uint32_t window = 64;
    Lifetime lifetime;  // both directions
    uint8_t ttl = 64;
    DfPolicy df = DfPolicy::copy;
    uint16_t tfc = 0;
    uint32_t spi = 0xc0ffee01;
    uint8_t key_seed = 0x5a;
};

inline Algorithm algorithm(std::string_view token) {
    const auto a = Algorithm::parse(token);
    REQUIRE_MESSAGE(a.has_value(), token);
    return *a;
}

inline SecretBytes key_bytes(std::size_t n, uint8_t seed) {
    const Bytes b = pattern(n, seed);
    return SecretBytes(b);
}

inline SaConfig make_config(const SaOptions& o, SaDirection dir) {
    SaConfig c;
    c.spi = o.spi;
    c.direction = dir;
    c.mode = o.mode;
    const bool out = dir == SaDirection::outbound;
    c.local = out ? addr_a(o.family) : addr_b(o.family);
    c.remote = out ? addr_b(o.family) : addr_a(o.family);
    if (o.udp) c.udp_encap = UdpEncap{out ? kPortA : kPortB, out ? kPortB : kPortA};
    c.algorithm = algorithm(o.alg);
    c.enc_key = key_bytes(c.algorithm.enc_keymat_len(), o.key_seed);
    c.integ_key = key_bytes(c.algorithm.integ_key_len(), static_cast<uint8_t>(o.key_seed + 1));
    c.esn = o.esn;
    c.replay_window = o.window;
    c.lifetime = o.lifetime;
    c.ttl = o.ttl;
    c.df = o.df;
    c.tfc_pad_to = o.tfc;
    return c;
}

inline std::unique_ptr<Sa> make_sa(const SaConfig& c) {
    std::string err;
    auto sa = Sa::create(c, &err);
    REQUIRE_MESSAGE(sa != nullptr, err);
    return sa;
}

struct SaPair {
    SaOptions opts;
    std::unique_ptr<Sa> out;  // A -> B
    std::unique_ptr<Sa> in;   // at B
};

inline SaPair make_pair(const SaOptions& o) {
    return {o, make_sa(make_config(o, SaDirection::outbound)),
            make_sa(make_config(o, SaDirection::inbound))};
}

// A packet the transport-mode SA may carry: its family, A to B.
inline Bytes transport_packet(const SaOptions& o, uint32_t upper_len, uint8_t seed = 1) {
    if (o.family == 4) {
        Ipv4Spec s;
        s.payload_len = upper_len;
        s.seed = seed;
        std::copy_n(addr_a(4).bytes.begin(), 4, s.src.begin());
        std::copy_n(addr_b(4).bytes.begin(), 4, s.dst.begin());
        return ipv4_packet(s);
    }
    Ipv6Spec s;
    s.payload_len = upper_len;
    s.seed = seed;
    s.src = addr_a(6).bytes;
    s.dst = addr_b(6).bytes;
    return ipv6_packet(s);
}

// ---------------------------------------------------------------- frames

// A packet in a frame of exactly headroom + packet + tailroom bytes, in its
// own heap block: any access beyond the frame is an ASan report.
class Frame {
public:
    explicit Frame(std::span<const uint8_t> pkt, uint32_t headroom = 256, uint32_t tailroom = 256)
        : storage_(headroom + pkt.size() + tailroom) {
        std::copy(pkt.begin(), pkt.end(), storage_.begin() + headroom);
        buf.frame = storage_.data();
        buf.capacity = u32(storage_.size());
        buf.offset = headroom;
        buf.length = u32(pkt.size());
    }
    Frame(const Frame&) = delete;
    Frame& operator=(const Frame&) = delete;

    Bytes packet() const { return Bytes(buf.data(), buf.data() + buf.length); }
    const Bytes& storage() const { return storage_; }

    PacketBuffer buf;

private:
    Bytes storage_;
};

struct EncapOut {
    EncapResult r;
    Bytes pkt;  // the outer packet when r.status == ok
};

inline EncapOut encap(Sa& sa, std::span<const uint8_t> inner, uint32_t mtu = 0) {
    Frame f(inner, 256, 2048);  // tailroom for TFC padding too
    const EncapResult r = encapsulate(sa, f.buf, mtu);
    return {r, r.status == EncapStatus::ok ? f.packet() : Bytes{}};
}

// Encapsulates, insisting on success.
inline Bytes seal(Sa& sa, std::span<const uint8_t> inner) {
    auto e = encap(sa, inner);
    REQUIRE(e.r.status == EncapStatus::ok);
    return e.pkt;
}

struct DecapOut {
    DecapResult r;
    Bytes inner;  // when r is good
};

// Decapsulates pkt from a frame exactly its size: no head- or tailroom.
inline DecapOut decap(Sa& sa, std::span<const uint8_t> pkt) {
    Frame f(pkt, 0, 0);
    const DecapResult r = decapsulate(sa, f.buf);
    return {r, r ? f.packet() : Bytes{}};
}

// ---------------------------------------------------------------- ESP layout

// Where the parts of an ESP packet are, worked out from the SA
// configuration alone. ip_len: IP header bytes before UDP/ESP (the outer
// header in tunnel mode, the kept headers in transport mode).
struct EspLayout {
    uint32_t ip_len = 0;
    std::optional<uint32_t> udp;
    uint32_t esp = 0, iv = 0, payload = 0, ct_len = 0, icv = 0, total = 0;
};

inline EspLayout layout(const SaConfig& c, uint32_t ip_len, uint32_t total) {
    EspLayout l;
    l.ip_len = ip_len;
    l.total = total;
    if (c.udp_encap) l.udp = ip_len;
    l.esp = ip_len + (c.udp_encap ? 8 : 0);
    l.iv = l.esp + 8;
    l.payload = l.iv + c.algorithm.iv_len();
    l.icv = total - c.algorithm.icv_len();
    l.ct_len = l.icv >= l.payload ? l.icv - l.payload : 0;
    return l;
}

// Tunnel mode: outer header length; transport IPv4: IHL.
inline uint32_t outer_ip_len(const SaConfig& c, const Bytes& pkt) {
    if (c.mode == Mode::tunnel) return c.local.family == 4 ? 20 : 40;
    return version(pkt) == 4 ? ipv4_ihl(pkt.data()) : 40;
}

// The ESP plaintext (data, padding, pad length, next header) of pkt,
// opened with a separate EspCrypto keyed like the inbound SA c; nullopt
// if the ICV does not verify. seq: the full sequence number (ESN high bits).
inline std::optional<Bytes> open_payload(const SaConfig& c, Bytes pkt, const EspLayout& l,
                                         uint64_t seq) {
    std::string err;
    auto crypto = EspCrypto::create(c.algorithm, EspCrypto::Direction::open, c.enc_key.view(),
                                    c.integ_key.view(), &err);
    REQUIRE_MESSAGE(crypto != nullptr, err);
    const EspParts parts{&pkt[l.esp], &pkt[l.iv], &pkt[l.payload], l.ct_len, pkt.data() + l.icv};
    const std::optional<uint32_t> hi =
        c.esn ? std::optional<uint32_t>(static_cast<uint32_t>(seq >> 32)) : std::nullopt;
    if (!crypto->open(parts, hi)) return std::nullopt;
    return Bytes(pkt.begin() + l.payload, pkt.begin() + l.payload + l.ct_len);
}

// ---------------------------------------------------------------- crafting

// An ESP packet as the peer of the inbound SA `c` would send it, but with
// every part of the protected payload chosen by the test. The ICV is valid
// (sealed with EspCrypto::seal_with_iv under c's keys).
// Built with setters: Craft().seq(3).data(bytes).next_header(59).
class Craft {
public:
    uint64_t seq_ = 1;
    Bytes data_;                     // protected bytes before the padding
    std::optional<Bytes> pad_;       // default: 1, 2, 3, ... up to the block size
    std::optional<uint8_t> pad_len_; // default: pad_->size()
    uint8_t next_header_ = kIpip;
    uint8_t outer_tc_ = 0;
    std::optional<uint32_t> spi_;    // default: c.spi

    Craft& seq(uint64_t v) { seq_ = v; return *this; }
    Craft& data(Bytes v) { data_ = std::move(v); return *this; }
    Craft& pad(Bytes v) { pad_ = std::move(v); return *this; }
    Craft& pad_len(uint8_t v) { pad_len_ = v; return *this; }
    Craft& next_header(uint8_t v) { next_header_ = v; return *this; }
    Craft& outer_tc(uint8_t v) { outer_tc_ = v; return *this; }
    Craft& spi(uint32_t v) { spi_ = v; return *this; }
};

inline Bytes default_pad(const Algorithm& a, std::size_t data_len) {
    const uint32_t b = a.block_len();
    const uint32_t n = (b - (u32(data_len) + 2) % b) % b;
    Bytes p(n);
    for (uint32_t i = 0; i < n; ++i) p[i] = u8(i + 1);
    return p;
}

inline Bytes craft(const SaConfig& c, const Craft& k) {
    const Algorithm& a = c.algorithm;
    const Bytes pad = k.pad_ ? *k.pad_ : default_pad(a, k.data_.size());
    Bytes plain = k.data_;
    plain.insert(plain.end(), pad.begin(), pad.end());
    plain.push_back(k.pad_len_ ? *k.pad_len_ : u8(u32(pad.size())));
    plain.push_back(k.next_header_);

    const int family = c.local.family;
    const uint32_t ip_len = family == 4 ? 20 : 40;
    const uint32_t udp_len = c.udp_encap ? 8 : 0;
    const uint32_t total = ip_len + udp_len + 8 + a.iv_len() + u32(plain.size()) + a.icv_len();
    Bytes p(total);
    const uint8_t proto = c.udp_encap ? kUdp : kEsp;
    // The sender is c.remote, the receiver c.local.
    if (family == 4) {
        p[0] = 0x45;
        p[1] = k.outer_tc_;
        put16(&p[2], total);
        put16(&p[4], 7);
        p[8] = 64;
        p[9] = proto;
        std::copy_n(c.remote.bytes.begin(), 4, &p[12]);
        std::copy_n(c.local.bytes.begin(), 4, &p[16]);
        ipv4_fix_checksum(p.data());
    } else {
        put32(&p[0], uint32_t{6} << 28 | uint32_t{k.outer_tc_} << 20);
        put16(&p[4], total - 40);
        p[6] = proto;
        p[7] = 64;
        std::copy_n(c.remote.bytes.begin(), 16, &p[8]);
        std::copy_n(c.local.bytes.begin(), 16, &p[24]);
    }
    const EspLayout l = layout(c, ip_len, total);
    if (l.udp) {
        put16(&p[*l.udp], c.udp_encap->remote_port);
        put16(&p[*l.udp + 2], c.udp_encap->local_port);
        put16(&p[*l.udp + 4], total - ip_len);
    }
    put32(&p[l.esp], k.spi_ ? *k.spi_ : c.spi);
    put32(&p[l.esp + 4], static_cast<uint32_t>(k.seq_));
    if (a.is_aead()) {
        put64(&p[l.iv], k.seq_);
    } else {
        const Bytes iv = pattern(a.iv_len(), static_cast<uint8_t>(k.seq_));
        std::copy(iv.begin(), iv.end(), &p[l.iv]);
    }
    std::copy(plain.begin(), plain.end(), &p[l.payload]);

    std::string err;
    auto crypto = EspCrypto::create(a, EspCrypto::Direction::seal, c.enc_key.view(),
                                    c.integ_key.view(), &err);
    REQUIRE_MESSAGE(crypto != nullptr, err);
    const EspParts parts{&p[l.esp], &p[l.iv], &p[l.payload], u32(plain.size()), &p[l.icv]};
    const std::optional<uint32_t> hi =
        c.esn ? std::optional<uint32_t>(static_cast<uint32_t>(k.seq_ >> 32)) : std::nullopt;
    REQUIRE(crypto->seal_with_iv(parts, hi));
    if (family == 6 && l.udp) udp6_fix_checksum(p, *l.udp);
    return p;
}

// ---------------------------------------------------------------- counters

// Checks that exactly one drop counter (`reason`) moved, by one, between
// `before` and the SA's counters now, and that packets/bytes did not.
inline void check_one_drop(const SaCounters& before, const Sa& sa, EspDrop reason) {
    const SaCounters& now = sa.counters();
    CHECK(now.packets == before.packets);
    CHECK(now.bytes == before.bytes);
    for (std::size_t i = 0; i < kEspDropCount; ++i) {
        CAPTURE(to_string(static_cast<EspDrop>(i)));
        CHECK(now.drops[i] == before.drops[i] + (i == static_cast<std::size_t>(reason) ? 1u : 0u));
    }
}

inline uint64_t total_drops(const Sa& sa) {
    uint64_t n = 0;
    for (auto d : sa.counters().drops) n += d;
    return n;
}

}  // namespace esptest
