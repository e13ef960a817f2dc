// Behaviour of the ESP engine on well-formed traffic: round trips for every
// algorithm and mode, the wire format the engine produces, ECN/DSCP/DF/TTL,
// IPv6 extension headers and IPv4 options, TFC padding, MTU, sequence
// numbers and ESN, lifetimes, counters, room in the buffer, and what it
// refuses to protect.
#include "esp_fixture.h"

#include <doctest/doctest.h>

#include <limits>

using namespace esptest;

namespace {

struct Combo {
    Mode mode;
    int outer;  // outer family (transport: the packet's)
    int inner;  // inner family
};

constexpr Combo kCombos[] = {
    {Mode::tunnel, 4, 4},    {Mode::tunnel, 4, 6},    {Mode::tunnel, 6, 4},
    {Mode::tunnel, 6, 6},    {Mode::transport, 4, 4}, {Mode::transport, 6, 6},
};

std::string mode_name(Mode m) { return m == Mode::tunnel ? "tunnel" : "transport"; }

SaOptions options(std::string_view alg, const Combo& k, bool udp = false, bool esn = false) {
    SaOptions o;
    o.alg = alg;
    o.mode = k.mode;
    o.family = k.outer;
    o.udp = udp;
    o.esn = esn;
    return o;
}

uint32_t ip_header_len(int family) { return family == 4 ? 20 : 40; }

// An inner packet of `total` bytes that the SA of `o` may carry.
Bytes make_inner(const SaOptions& o, int inner_family, uint32_t total, uint8_t tc = 0,
                 uint8_t seed = 1) {
    if (o.mode == Mode::transport) {
        Bytes p = transport_packet(o, total - ip_header_len(o.family), seed);
        set_traffic_class(p, tc);
        return p;
    }
    return ip_packet(inner_family, total, tc, seed);
}

// Minimal padding for `data` bytes plus the 2-byte trailer (RFC 4303 §2.4).
uint32_t min_pad(uint32_t data, uint32_t block) { return (block - (data + 2) % block) % block; }

// The bytes ESP protects: the whole inner packet in tunnel mode, what follows
// the kept headers in transport mode.
Bytes protected_data(const SaConfig& c, const Bytes& inner, uint32_t keep) {
    if (c.mode == Mode::tunnel) return inner;
    return Bytes(inner.begin() + keep, inner.end());
}

// Wire facts of an encapsulated packet, checked against an independent
// reading of RFC 4303/3948/791/8200. keep: transport-mode header bytes kept in
// front of ESP (0 = the base IP header). tfc_data: the TFC-padded data length.
void check_wire(const SaPair& p, const Bytes& inner, const Bytes& outer, uint64_t seq,
                uint32_t tfc_data = 0) {
    const SaConfig& oc = p.out->config();
    const SaConfig& ic = p.in->config();
    const Algorithm& a = oc.algorithm;
    const bool tunnel = oc.mode == Mode::tunnel;
    const uint32_t keep = tunnel ? 0 : outer_ip_len(oc, inner);
    const uint32_t ip_len = tunnel ? ip_header_len(oc.local.family) : keep;
    const int family = tunnel ? oc.local.family : version(inner);
    const uint8_t proto = oc.udp_encap ? kUdp : kEsp;
    const uint32_t total = u32(outer.size());
    REQUIRE(total > ip_len + 8 + a.iv_len() + a.icv_len());
    const EspLayout l = layout(oc, ip_len, total);

    // Outer / kept IP header.
    REQUIRE(version(outer) == family);
    if (family == 4) {
        CHECK(be16(&outer[2]) == total);
        CHECK(ipv4_checksum_ok(outer.data()));
        CHECK(outer[9] == proto);
        if (tunnel) {
            CHECK(outer[0] == 0x45);
            CHECK(outer[1] == traffic_class(inner));  // DSCP and ECN copied
            CHECK(outer[8] == oc.ttl);
            CHECK((be16(&outer[6]) & 0xbfff) == 0);  // no MF, no offset, reserved clear
            CHECK(std::equal(&outer[12], &outer[16], oc.local.bytes.begin()));
            CHECK(std::equal(&outer[16], &outer[20], oc.remote.bytes.begin()));
        } else {
            for (uint32_t i = 0; i < keep; ++i) {
                if (i == 2 || i == 3 || i == 9 || i == 10 || i == 11) continue;
                CAPTURE(i);
                CHECK(outer[i] == inner[i]);
            }
        }
    } else {
        CHECK(be16(&outer[4]) == total - 40);
        CHECK(outer[6] == proto);
        if (tunnel) {
            CHECK(traffic_class(outer) == traffic_class(inner));
            CHECK(outer[7] == oc.ttl);
            CHECK(std::equal(&outer[8], &outer[24], oc.local.bytes.begin()));
            CHECK(std::equal(&outer[24], &outer[40], oc.remote.bytes.begin()));
        } else {
            for (uint32_t i = 0; i < keep; ++i) {
                if (i == 4 || i == 5 || i == 6) continue;
                CAPTURE(i);
                CHECK(outer[i] == inner[i]);
            }
        }
    }

    // RFC 3948 UDP header.
    if (l.udp) {
        CHECK(be16(&outer[*l.udp]) == kPortA);
        CHECK(be16(&outer[*l.udp + 2]) == kPortB);
        CHECK(be16(&outer[*l.udp + 4]) == total - ip_len);
        if (family == 4) CHECK(be16(&outer[*l.udp + 6]) == 0);
        else CHECK(udp6_checksum_ok(outer, *l.udp));
    }

    // ESP header, IV, sizes.
    CHECK(be32(&outer[l.esp]) == oc.spi);
    CHECK(be32(&outer[l.esp + 4]) == static_cast<uint32_t>(seq));
    if (a.is_aead()) CHECK(be64(&outer[l.iv]) == seq);  // the documented IV choice
    CHECK(l.ct_len % a.block_len() == 0);
    CHECK(l.ct_len % 4 == 0);
    CHECK((total - l.esp) % 4 == 0);

    // Plaintext: data, TFC zeros, padding 1, 2, 3, ..., pad length, next header.
    const auto plain = open_payload(ic, outer, l, seq);
    REQUIRE(plain.has_value());
    const Bytes data = protected_data(oc, inner, keep);
    const uint32_t padded = std::max(u32(data.size()), tfc_data);
    const uint32_t pad = min_pad(padded, a.block_len());
    REQUIRE(plain->size() == padded + pad + 2);
    CHECK(std::equal(data.begin(), data.end(), plain->begin()));
    for (uint32_t i = u32(data.size()); i < padded; ++i) CHECK((*plain)[i] == 0);
    for (uint32_t i = 0; i < pad; ++i) CHECK((*plain)[padded + i] == i + 1);
    CHECK((*plain)[padded + pad] == pad);
    const uint8_t nh = tunnel ? (version(inner) == 4 ? kIpip : kIpv6)
                              : (family == 4 ? inner[9] : inner[6]);
    CHECK((*plain)[padded + pad + 1] == nh);

    // GMAC authenticates only: the payload is on the wire in the clear.
    const bool clear = std::equal(plain->begin(), plain->end(), outer.begin() + l.payload);
    CHECK(clear == !a.encrypts());
}

// The decapsulated packet is the original one.
void check_inner(const SaConfig& c, const Bytes& inner, const DecapOut& d) {
    REQUIRE(d.r);
    if (c.mode == Mode::tunnel) {
        CHECK(d.r.next_header == (version(inner) == 4 ? kIpip : kIpv6));
        CHECK(d.inner == inner);
        return;
    }
    REQUIRE(d.inner.size() == inner.size());
    if (version(inner) == 4) {
        CHECK(d.r.next_header == inner[9]);
        // Transport IPv4: everything but total length and checksum is
        // untouched; those two the engine rewrites and must get right.
        for (std::size_t i = 0; i < inner.size(); ++i) {
            if (i == 2 || i == 3 || i == 10 || i == 11) continue;
            CAPTURE(i);
            REQUIRE(d.inner[i] == inner[i]);
        }
        CHECK(be16(&d.inner[2]) == d.inner.size());
        CHECK(ipv4_checksum_ok(d.inner.data()));
    } else {
        CHECK(d.r.next_header == inner[6]);
    }
    CHECK(d.inner == inner);
}

std::vector<uint32_t> inner_sizes(int family) {
    const uint32_t h = ip_header_len(family);
    std::vector<uint32_t> s;
    for (uint32_t extra : {0u, 1u, 2u, 3u, 4u, 5u, 12u, 13u, 14u, 15u, 16u, 17u, 18u, 31u, 100u,
                           1000u, 1452u})
        s.push_back(h + extra);
    return s;
}

}  // namespace

TEST_CASE("round trip: every algorithm, mode, family, UDP encapsulation and ESN") {
    for (auto alg : kAlgorithms) {
        for (const Combo& k : kCombos) {
            for (bool udp : {false, true}) {
                for (bool esn : {false, true}) {
                    CAPTURE(alg);
                    CAPTURE(mode_name(k.mode));
                    CAPTURE(k.outer);
                    CAPTURE(k.inner);
                    CAPTURE(udp);
                    CAPTURE(esn);
                    SaPair p = make_pair(options(alg, k, udp, esn));
                    uint64_t seq = 0, bytes = 0;
                    uint8_t tc = 0;
                    for (uint32_t size : inner_sizes(k.inner)) {
                        CAPTURE(size);
                        tc = static_cast<uint8_t>(tc + 0x1d);  // all DSCP/ECN mixes over time
                        const Bytes inner = make_inner(p.opts, k.inner, size, tc, u8(size));
                        const auto e = encap(*p.out, inner);
                        REQUIRE(e.r.status == EncapStatus::ok);
                        CHECK(e.r.drop == EspDrop::none);
                        CHECK_FALSE(e.r.soft_expired);
                        ++seq;
                        bytes += size;
                        CHECK(e.pkt.size() == size + esp_overhead(p.out->config(), size));
                        check_wire(p, inner, e.pkt, seq);
                        const DecapOut d = decap(*p.in, e.pkt);
                        CHECK_FALSE(d.r.soft_expired);
                        check_inner(p.in->config(), inner, d);
                    }
                    CHECK(p.out->last_seq() == seq);
                    CHECK(p.in->last_seq() == seq);
                    CHECK(p.out->counters().packets == seq);
                    CHECK(p.in->counters().packets == seq);
                    CHECK(p.out->counters().bytes == bytes);
                    CHECK(p.in->counters().bytes == bytes);
                    CHECK(total_drops(*p.out) == 0);
                    CHECK(total_drops(*p.in) == 0);
                }
            }
        }
    }
}

TEST_CASE("round trip: a receiver without anti-replay accepts everything authentic") {
    for (auto alg : kAlgorithms) {
        CAPTURE(alg);
        SaOptions o = options(alg, kCombos[0]);
        o.window = 0;
        SaPair p = make_pair(o);
        CHECK(p.in->window() == nullptr);
        const Bytes inner = ip_packet(4, 80);
        const Bytes outer = seal(*p.out, inner);
        // Replays are accepted: that is what turning the window off means.
        for (int i = 0; i < 3; ++i) check_inner(p.in->config(), inner, decap(*p.in, outer));
        CHECK(p.in->counters().packets == 3);
    }
}

TEST_CASE("ESP IVs are unique per packet and per SA") {
    for (auto alg : kAlgorithms) {
        CAPTURE(alg);
        const SaOptions o = options(alg, kCombos[0]);
        SaPair p = make_pair(o);
        SaPair twin = make_pair(o);  // same keys
        const Algorithm a = algorithm(alg);
        const Bytes inner = ip_packet(4, 100);
        std::vector<Bytes> ivs;
        for (int i = 0; i < 16; ++i) {
            for (Sa* sa : {p.out.get(), twin.out.get()}) {
                const Bytes outer = seal(*sa, inner);
                ivs.emplace_back(outer.begin() + 28, outer.begin() + 28 + a.iv_len());
            }
        }
        std::sort(ivs.begin(), ivs.end());
        const bool distinct = std::adjacent_find(ivs.begin(), ivs.end()) == ivs.end();
        // Combined-mode IVs are the sequence number (unique per key, RFC 4106
        // §3.1), so the twin SA repeats them; CBC IVs are random-looking.
        CHECK(distinct == !a.is_aead());
        if (a.is_aead()) CHECK(std::unique(ivs.begin(), ivs.end()) - ivs.begin() == 16);
    }
}

TEST_CASE("tunnel outer header: TTL / hop limit from the SA, DF per DfPolicy") {
    for (int outer : {4, 6}) {
        for (int inner_family : {4, 6}) {
            for (DfPolicy df : {DfPolicy::copy, DfPolicy::set, DfPolicy::clear}) {
                for (uint8_t ttl : {uint8_t{1}, uint8_t{17}, uint8_t{255}}) {
                    for (bool inner_df : {false, true}) {
                        CAPTURE(outer);
                        CAPTURE(inner_family);
                        CAPTURE(static_cast<int>(df));
                        CAPTURE(static_cast<int>(ttl));
                        CAPTURE(inner_df);
                        SaOptions o = options("aes256gcm16", {Mode::tunnel, outer, inner_family});
                        o.df = df;
                        o.ttl = ttl;
                        SaPair p = make_pair(o);
                        Bytes inner;
                        if (inner_family == 4) {
                            Ipv4Spec s;
                            s.df = inner_df;
                            s.ttl = 99;
                            inner = ipv4_packet(s);
                        } else {
                            Ipv6Spec s;
                            s.hop_limit = 99;
                            inner = ipv6_packet(s);
                        }
                        const Bytes first = seal(*p.out, inner);
                        const Bytes second = seal(*p.out, inner);
                        if (outer == 4) {
                            // IPv6 inner packets are never fragmented by routers: copy sets DF.
                            const bool want = df == DfPolicy::set ||
                                              (df == DfPolicy::copy && (inner_family == 6 || inner_df));
                            CHECK(((be16(&first[6]) & 0x4000) != 0) == want);
                            CHECK((be16(&first[6]) & 0xbfff) == 0);
                            CHECK(first[8] == ttl);
                            CHECK(be16(&first[4]) != be16(&second[4]));  // fresh IPv4 ID
                        } else {
                            CHECK(first[7] == ttl);
                        }
                        // The inner TTL / hop limit is carried untouched.
                        check_inner(p.in->config(), inner, decap(*p.in, first));
                    }
                }
            }
        }
    }
}

TEST_CASE("tunnel encapsulation copies DSCP and ECN to the outer header (RFC 6040 normal mode)") {
    for (int outer : {4, 6}) {
        for (int inner_family : {4, 6}) {
            CAPTURE(outer);
            CAPTURE(inner_family);
            SaPair p = make_pair(options("chacha20poly1305", {Mode::tunnel, outer, inner_family}));
            for (uint32_t tc = 0; tc < 256; ++tc) {
                CAPTURE(tc);
                const Bytes inner = ip_packet(inner_family, 90, u8(tc));
                const Bytes pkt = seal(*p.out, inner);
                CHECK(traffic_class(pkt) == tc);
                if (outer == 4) CHECK(ipv4_checksum_ok(pkt.data()));
                // Same ECN outside and in: decapsulation changes nothing.
                check_inner(p.in->config(), inner, decap(*p.in, pkt));
            }
        }
    }
}

TEST_CASE("tunnel decapsulation combines ECN per RFC 6040 §4.2, dropping CE on Not-ECT") {
    constexpr int kDrop = -1;
    // [inner][outer], codepoints Not-ECT 0, ECT(1) 1, ECT(0) 2, CE 3 (RFC 6040 Figure 4).
    constexpr int kTable[4][4] = {
        {0, 0, 0, kDrop},  // inner Not-ECT
        {1, 1, 1, 3},      // inner ECT(1)
        {2, 1, 2, 3},      // inner ECT(0): outer ECT(1) wins
        {3, 3, 3, 3},      // inner CE
    };
    for (int outer : {4, 6}) {
        for (int inner_family : {4, 6}) {
            for (bool udp : {false, true}) {
                CAPTURE(outer);
                CAPTURE(inner_family);
                CAPTURE(udp);
                SaPair p = make_pair(options("aes128-sha256", {Mode::tunnel, outer, inner_family}, udp));
                uint64_t seq = 0;
                for (uint8_t dscp : {uint8_t{0}, uint8_t{0x2e}, uint8_t{0x3f}}) {
                    for (uint8_t in_ecn = 0; in_ecn < 4; ++in_ecn) {
                        for (uint8_t out_ecn = 0; out_ecn < 4; ++out_ecn) {
                            CAPTURE(static_cast<int>(dscp));
                            CAPTURE(static_cast<int>(in_ecn));
                            CAPTURE(static_cast<int>(out_ecn));
                            const Bytes inner = ip_packet(inner_family, 120, u8(dscp << 2 | in_ecn));
                            Bytes pkt = seal(*p.out, inner);
                            ++seq;
                            // The outer header is not covered by the ICV: a router on
                            // the path may legitimately mark it.
                            set_traffic_class(pkt, u8((traffic_class(pkt) & 0xfc) | out_ecn));
                            const SaCounters before = p.in->counters();
                            const DecapOut d = decap(*p.in, pkt);
                            const int want = kTable[in_ecn][out_ecn];
                            if (want == kDrop) {
                                CHECK(d.r.drop == EspDrop::ecn_drop);
                                check_one_drop(before, *p.in, EspDrop::ecn_drop);
                                // Authentic, so its sequence number is used up.
                                CHECK(p.in->last_seq() == seq);
                                CHECK(decap(*p.in, pkt).r.drop == EspDrop::replayed);
                                continue;
                            }
                            REQUIRE(d.r);
                            CHECK(traffic_class(d.inner) == (dscp << 2 | want));
                            Bytes expect = inner;
                            set_traffic_class(expect, u8(dscp << 2 | want));
                            CHECK(d.inner == expect);
                            if (inner_family == 4) CHECK(ipv4_checksum_ok(d.inner.data()));
                        }
                    }
                }
            }
        }
    }
}

TEST_CASE("transport mode leaves ECN alone (no outer header to combine)") {
    for (int family : {4, 6}) {
        SaPair p = make_pair(options("aes128gcm16", {Mode::transport, family, family}));
        for (uint8_t ecn = 0; ecn < 4; ++ecn) {
            const Bytes inner = make_inner(p.opts, family, 100, u8(0xa0 | ecn));
            Bytes pkt = seal(*p.out, inner);
            CHECK(traffic_class(pkt) == (0xa0 | ecn));
            check_inner(p.in->config(), inner, decap(*p.in, pkt));
        }
    }
}

TEST_CASE("GMAC leaves the payload in the clear, other transforms do not") {
    for (auto alg : kAlgorithms) {
        CAPTURE(alg);
        SaPair p = make_pair(options(alg, kCombos[0]));
        const Algorithm a = algorithm(alg);
        const Bytes inner = ip_packet(4, 200, 0, 9);
        const Bytes pkt = seal(*p.out, inner);
        const uint32_t payload = 20 + 8 + a.iv_len();
        const bool clear = std::equal(inner.begin(), inner.end(), pkt.begin() + payload);
        CHECK(clear == !a.encrypts());
        // Even in the clear, the payload is authenticated.
        Bytes tampered = pkt;
        tampered[payload + 50] ^= 0x01;
        CHECK(decap(*p.in, tampered).r.drop == EspDrop::auth_failed);
        check_inner(p.in->config(), inner, decap(*p.in, pkt));
    }
}

TEST_CASE("transport mode IPv6: extension headers stay in place, ESP goes where RFC 4303 §3.1.1 says") {
    struct Case {
        std::vector<Ipv6Ext> ext;
        uint32_t keep;      // bytes in front of ESP
        uint32_t nh_off;    // the byte that names ESP / UDP
        uint8_t trailer_nh; // what ESP's next header names
    };
    const std::vector<Case> cases = {
        {{}, 40, 6, kUdp},
        {{{kHopByHop, 8}}, 48, 40, kUdp},
        {{{kHopByHop, 16}, {kRouting, 24}}, 80, 56, kUdp},
        {{{kRouting, 24}}, 64, 40, kUdp},
        {{{kDestOpts, 16}, {kRouting, 24}}, 80, 56, kUdp},            // dest opts before routing: kept
        {{{kHopByHop, 8}, {kDestOpts, 8}}, 48, 40, kDestOpts},        // final dest opts: behind ESP
        {{{kDestOpts, 24}}, 40, 6, kDestOpts},
        {{{kHopByHop, 8}, {kDestOpts, 8}, {kRouting, 24}, {kDestOpts, 16}}, 80, 56, kDestOpts},
    };
    for (auto alg : kAlgorithms) {
        for (bool udp : {false, true}) {
            for (std::size_t ci = 0; ci < cases.size(); ++ci) {
                const Case& k = cases[ci];
                CAPTURE(alg);
                CAPTURE(udp);
                CAPTURE(ci);
                SaPair p = make_pair(options(alg, {Mode::transport, 6, 6}, udp));
                const SaConfig& oc = p.out->config();
                const Algorithm& a = oc.algorithm;
                Ipv6Spec s;
                s.ext = k.ext;
                s.src = addr_a(6).bytes;
                s.dst = addr_b(6).bytes;
                for (uint32_t upper : {0u, 1u, 27u, 300u}) {
                    CAPTURE(upper);
                    s.payload_len = upper;
                    const Bytes inner = ipv6_packet(s);
                    const auto e = encap(*p.out, inner);
                    REQUIRE(e.r.status == EncapStatus::ok);
                    const Bytes& pkt = e.pkt;
                    const uint32_t data = u32(inner.size()) - k.keep;
                    const uint32_t front = (udp ? 8 : 0) + 8 + a.iv_len();
                    CHECK(pkt.size() ==
                          inner.size() + front + min_pad(data, a.block_len()) + 2 + a.icv_len());
                    CHECK(be16(&pkt[4]) == pkt.size() - 40);
                    CHECK(pkt[k.nh_off] == (udp ? kUdp : kEsp));
                    for (uint32_t i = 0; i < k.keep; ++i) {
                        if (i == 4 || i == 5 || i == k.nh_off) continue;
                        CAPTURE(i);
                        CHECK(pkt[i] == inner[i]);
                    }
                    const EspLayout l = layout(oc, k.keep, u32(pkt.size()));
                    CHECK(be32(&pkt[l.esp]) == oc.spi);
                    if (udp) {
                        CHECK(be16(&pkt[k.keep + 4]) == pkt.size() - k.keep);
                        CHECK(udp6_checksum_ok(pkt, k.keep));
                    }
                    const auto plain = open_payload(p.in->config(), pkt, l, p.out->last_seq());
                    REQUIRE(plain.has_value());
                    CHECK(std::equal(inner.begin() + k.keep, inner.end(), plain->begin()));
                    CHECK(plain->back() == k.trailer_nh);
                    if (k.trailer_nh == kDestOpts) CHECK((*plain)[0] == kUdp);  // the dest opts header

                    const DecapOut d = decap(*p.in, pkt);
                    REQUIRE(d.r);
                    CHECK(d.r.next_header == k.trailer_nh);
                    CHECK(d.inner == inner);
                }
            }
        }
    }
}

TEST_CASE("IPv4 options: kept in front of ESP in transport mode, carried in tunnel mode") {
    const std::vector<Bytes> options_list = {
        {0x01, 0x01, 0x01, 0x00},                    // NOP NOP NOP EOL
        {0x94, 0x04, 0x00, 0x00},                    // router alert
        {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00},
        Bytes(40, 0x01),                             // the maximum: 40 bytes of NOP
    };
    for (auto alg : kAlgorithms) {
        for (bool udp : {false, true}) {
            for (const Bytes& opt : options_list) {
                CAPTURE(alg);
                CAPTURE(udp);
                CAPTURE(opt.size());
                Ipv4Spec s;
                s.options = opt;
                s.payload_len = 77;
                std::copy_n(addr_a(4).bytes.begin(), 4, s.src.begin());
                std::copy_n(addr_b(4).bytes.begin(), 4, s.dst.begin());
                const Bytes inner = ipv4_packet(s);
                const uint32_t hl = 20 + u32(opt.size());

                SaPair t = make_pair(options(alg, {Mode::transport, 4, 4}, udp));
                const Bytes pkt = seal(*t.out, inner);
                CHECK((pkt[0] & 0x0f) == hl / 4);
                CHECK(std::equal(opt.begin(), opt.end(), pkt.begin() + 20));
                check_wire(t, inner, pkt, 1);
                CHECK(be32(&pkt[hl + (udp ? 8 : 0)]) == t.out->config().spi);
                check_inner(t.in->config(), inner, decap(*t.in, pkt));

                SaPair u = make_pair(options(alg, {Mode::tunnel, 6, 4}, udp));
                const Bytes tun = seal(*u.out, inner);
                check_wire(u, inner, tun, 1);
                check_inner(u.in->config(), inner, decap(*u.in, tun));
            }
        }
    }
}

TEST_CASE("TFC padding: tunnel packets grow to tfc_pad_to, the receiver trims them back") {
    for (auto alg : kAlgorithms) {
        for (const Combo& k : {kCombos[0], kCombos[1], kCombos[2], kCombos[3]}) {
            for (bool udp : {false, true}) {
                CAPTURE(alg);
                CAPTURE(k.outer);
                CAPTURE(k.inner);
                CAPTURE(udp);
                SaOptions o = options(alg, k, udp);
                o.tfc = 300;
                SaPair p = make_pair(o);
                const Algorithm& a = p.out->config().algorithm;
                const uint32_t fixed = ip_header_len(k.outer) + (udp ? 8 : 0) + 8 + a.iv_len() + a.icv_len();
                uint64_t seq = 0;
                for (uint32_t size : {ip_header_len(k.inner), 61u, 299u, 300u, 301u, 302u, 777u}) {
                    CAPTURE(size);
                    const Bytes inner = ip_packet(k.inner, size, 0x10, u8(size));
                    const auto e = encap(*p.out, inner);
                    REQUIRE(e.r.status == EncapStatus::ok);
                    ++seq;
                    const uint32_t padded = std::max(size, 300u);
                    CHECK(e.pkt.size() == fixed + padded + min_pad(padded, a.block_len()) + 2);
                    check_wire(p, inner, e.pkt, seq, 300);
                    const DecapOut d = decap(*p.in, e.pkt);
                    check_inner(p.in->config(), inner, d);
                    CHECK(d.inner.size() == size);
                }
                // Counters count the real inner bytes, not the TFC padding.
                CHECK(p.out->counters().bytes == p.in->counters().bytes);

                // TFC shrinks to fit the MTU, never exceeds it.
                for (uint32_t mtu : {260u, 299u, 310u, 333u, 400u}) {
                    CAPTURE(mtu);
                    const Bytes inner = ip_packet(k.inner, 100);
                    const auto e = encap(*p.out, inner, mtu);
                    REQUIRE(e.r.status == EncapStatus::ok);
                    ++seq;
                    CHECK(e.pkt.size() <= mtu);
                    const uint32_t full = fixed + 300 + min_pad(300, a.block_len()) + 2;
                    if (full <= mtu) CHECK(e.pkt.size() == full);
                    else CHECK(e.pkt.size() + a.block_len() > mtu);  // as much as fits
                    check_inner(p.in->config(), inner, decap(*p.in, e.pkt));
                }
            }
        }
    }
}

TEST_CASE("MTU: too_big reports exactly the largest inner packet that fits") {
    for (auto alg : kAlgorithms) {
        for (const Combo& k : kCombos) {
            for (bool udp : {false, true}) {
                CAPTURE(alg);
                CAPTURE(mode_name(k.mode));
                CAPTURE(k.outer);
                CAPTURE(k.inner);
                CAPTURE(udp);
                SaPair p = make_pair(options(alg, k, udp));
                const SaConfig& oc = p.out->config();
                const Algorithm& a = oc.algorithm;
                const uint32_t block = a.block_len();
                const uint32_t ip_len = ip_header_len(k.outer);
                const uint32_t keep = k.mode == Mode::tunnel ? 0 : ip_len;
                const uint32_t fixed = ip_len + (udp ? 8 : 0) + 8 + a.iv_len() + a.icv_len();
                for (uint32_t mtu : {576u, 1280u, 1281u, 1282u, 1283u, 1400u, 1499u, 1500u, 9000u}) {
                    CAPTURE(mtu);
                    // Independently: ESP payload + trailer rounded up to the block.
                    const uint32_t expect = keep + (mtu - fixed) / block * block - 2;
                    std::optional<uint32_t> reported;
                    uint32_t largest_ok = 0;
                    for (uint32_t size = expect - 20; size <= expect + 20; ++size) {
                        CAPTURE(size);
                        const Bytes inner = make_inner(p.opts, k.inner, size);
                        Frame f(inner);
                        const uint64_t seq = p.out->last_seq();
                        const SaCounters before = p.out->counters();
                        const EncapResult r = encapsulate(*p.out, f.buf, mtu);
                        if (r.status == EncapStatus::ok) {
                            CHECK_FALSE(reported.has_value());  // sizes grow: no ok after too_big
                            CHECK(f.buf.length <= mtu);
                            CHECK(f.buf.length == size + esp_overhead(oc, size));
                            largest_ok = size;
                            continue;
                        }
                        REQUIRE(r.status == EncapStatus::too_big);
                        CHECK(r.drop == EspDrop::none);
                        if (reported) CHECK(r.inner_mtu == *reported);
                        else reported = r.inner_mtu;
                        // Nothing consumed or changed.
                        CHECK(f.packet() == inner);
                        CHECK(f.buf.offset == 256);
                        CHECK(p.out->last_seq() == seq);
                        CHECK(p.out->counters().packets == before.packets);
                        CHECK(total_drops(*p.out) == 0);
                    }
                    REQUIRE(reported.has_value());
                    CHECK(*reported == expect);
                    CHECK(largest_ok == expect);
                    // The largest packet uses the MTU to within one block.
                    CHECK(largest_ok + esp_overhead(oc, largest_ok) + block > mtu);
                }
            }
        }
    }
}

TEST_CASE("MTU: smaller than the fixed overhead, nothing fits") {
    for (auto alg : kAlgorithms) {
        for (const Combo& k : kCombos) {
            CAPTURE(alg);
            CAPTURE(mode_name(k.mode));
            CAPTURE(k.outer);
            SaPair p = make_pair(options(alg, k));
            const Bytes inner = make_inner(p.opts, k.inner, ip_header_len(k.inner));
            for (uint32_t mtu : {1u, 20u, 40u, 60u}) {
                CAPTURE(mtu);
                const auto e = encap(*p.out, inner, mtu);
                if (e.r.status == EncapStatus::ok) {
                    CHECK(e.pkt.size() <= mtu);
                    continue;
                }
                REQUIRE(e.r.status == EncapStatus::too_big);
                // Whatever is reported must really fit (0: nothing does).
                const uint32_t m = e.r.inner_mtu;
                CHECK((m == 0 || m + esp_overhead(p.out->config(), m) <= mtu));
                if (m >= ip_header_len(k.inner)) {
                    const Bytes fits = make_inner(p.opts, k.inner, e.r.inner_mtu);
                    const auto again = encap(*p.out, fits, mtu);
                    CHECK(again.r.status == EncapStatus::ok);
                }
            }
        }
    }
}

TEST_CASE("the 16-bit IP length bounds the outer packet even without an MTU") {
    for (std::string_view alg : {"aes128gcm16", "aes256-sha512", "aes128gmac"}) {
        for (const Combo& k : kCombos) {
            for (bool udp : {false, true}) {
                CAPTURE(alg);
                CAPTURE(mode_name(k.mode));
                CAPTURE(k.outer);
                CAPTURE(k.inner);
                CAPTURE(udp);
                SaPair p = make_pair(options(alg, k, udp));
                // IPv4 total length <= 65535; IPv6 payload length <= 65535.
                const uint32_t max_total = k.outer == 4 ? 0xffff : 0xffff + 40;
                const uint32_t biggest = k.inner == 4 ? 0xffff : 0xffff + 40;
                const auto e = encap(*p.out, make_inner(p.opts, k.inner, biggest));
                REQUIRE(e.r.status == EncapStatus::too_big);
                const uint32_t m = e.r.inner_mtu;
                const uint32_t grown = m + esp_overhead(p.out->config(), m);
                CHECK(grown <= max_total);
                CHECK(grown + p.out->config().algorithm.block_len() > max_total);
                CHECK(p.out->last_seq() == 0);
                const Bytes inner = make_inner(p.opts, k.inner, m);
                const auto ok = encap(*p.out, inner);
                REQUIRE(ok.r.status == EncapStatus::ok);
                CHECK(ok.pkt.size() == grown);
                if (k.outer == 4) CHECK(be16(&ok.pkt[2]) == ok.pkt.size());
                else CHECK(be16(&ok.pkt[4]) == ok.pkt.size() - 40);
                if (udp) {
                    const uint32_t hl = ip_header_len(k.outer);
                    CHECK(be16(&ok.pkt[hl + 4]) == ok.pkt.size() - hl);
                }
                check_inner(p.in->config(), inner, decap(*p.in, ok.pkt));
                CHECK(encap(*p.out, make_inner(p.opts, k.inner, m + 1)).r.status ==
                      EncapStatus::too_big);
            }
        }
    }
}

TEST_CASE("esp_overhead agrees with the growth of real packets") {
    for (auto alg : kAlgorithms) {
        for (const Combo& k : kCombos) {
            for (bool udp : {false, true}) {
                CAPTURE(alg);
                CAPTURE(mode_name(k.mode));
                CAPTURE(k.outer);
                CAPTURE(k.inner);
                CAPTURE(udp);
                SaPair p = make_pair(options(alg, k, udp));
                for (uint32_t size = ip_header_len(k.inner); size < ip_header_len(k.inner) + 40; ++size) {
                    CAPTURE(size);
                    const Bytes outer = seal(*p.out, make_inner(p.opts, k.inner, size));
                    CHECK(outer.size() - size == esp_overhead(p.out->config(), size));
                }
            }
        }
    }
}

TEST_CASE("sequence numbers: start at 1, count up, appear on the wire") {
    for (auto alg : kAlgorithms) {
        CAPTURE(alg);
        SaPair p = make_pair(options(alg, kCombos[0], true));
        CHECK(p.out->last_seq() == 0);
        CHECK(p.in->last_seq() == 0);
        for (uint32_t i = 1; i <= 70; ++i) {
            const Bytes pkt = seal(*p.out, ip_packet(4, 60));
            CHECK(be32(&pkt[28 + 4]) == i);
            CHECK(p.out->last_seq() == i);
            REQUIRE(decap(*p.in, pkt).r);
            CHECK(p.in->last_seq() == i);
        }
    }
}

TEST_CASE("sequence numbers: without ESN the counter stops at 2^32-1, it never wraps") {
    for (auto alg : kAlgorithms) {
        CAPTURE(alg);
        SaPair p = make_pair(options(alg, kCombos[0]));
        p.out->set_last_seq(0xfffffffeull);
        p.in->set_last_seq(0xfffffffeull);
        const Bytes inner = ip_packet(4, 100);
        const Bytes last = seal(*p.out, inner);
        CHECK(be32(&last[24]) == 0xffffffffu);
        CHECK(p.out->last_seq() == 0xffffffffull);
        check_inner(p.in->config(), inner, decap(*p.in, last));
        CHECK(p.in->last_seq() == 0xffffffffull);
        for (uint64_t n = 1; n <= 3; ++n) {
            const SaCounters before = p.out->counters();
            Frame f(inner);
            const EncapResult r = encapsulate(*p.out, f.buf, 0);
            CHECK(r.status == EncapStatus::dropped);
            CHECK(r.drop == EspDrop::seq_overflow);
            check_one_drop(before, *p.out, EspDrop::seq_overflow);
            CHECK(f.packet() == inner);
            CHECK(f.buf.offset == 256);
            CHECK(p.out->last_seq() == 0xffffffffull);
        }
        // Straight at the limit.
        SaPair q = make_pair(options(alg, kCombos[0]));
        q.out->set_last_seq(0xffffffffull);
        CHECK(encap(*q.out, inner).r.drop == EspDrop::seq_overflow);
    }
}

TEST_CASE("sequence numbers: ESN crosses 2^32 and the receiver follows") {
    for (auto alg : kAlgorithms) {
        for (const Combo& k : {kCombos[0], kCombos[5]}) {
            CAPTURE(alg);
            CAPTURE(mode_name(k.mode));
            SaPair p = make_pair(options(alg, k, false, true));
            const uint64_t start = (uint64_t{1} << 32) - 3;
            p.out->set_last_seq(start);
            p.in->set_last_seq(start);
            std::vector<Bytes> inners, pkts;
            for (uint32_t i = 0; i < 12; ++i) {
                inners.push_back(make_inner(p.opts, k.inner, 60 + i, 0, u8(i)));
                pkts.push_back(seal(*p.out, inners.back()));
                const uint64_t seq = start + 1 + i;
                CHECK(p.out->last_seq() == seq);
                check_wire(p, inners.back(), pkts.back(), seq);
            }
            // In order up to just past the boundary.
            for (uint32_t i = 0; i < 6; ++i) {
                CAPTURE(i);
                check_inner(p.in->config(), inners[i], decap(*p.in, pkts[i]));
                CHECK(p.in->last_seq() == start + 1 + i);
            }
            // Reordered, then a replay from before the boundary.
            for (uint32_t i : {9u, 7u, 6u, 11u, 8u, 10u}) {
                CAPTURE(i);
                check_inner(p.in->config(), inners[i], decap(*p.in, pkts[i]));
            }
            CHECK(p.in->last_seq() == start + 12);
            CHECK(decap(*p.in, pkts[1]).r.drop == EspDrop::replayed);  // seq 2^32-1
            CHECK(decap(*p.in, pkts[7]).r.drop == EspDrop::replayed);
            CHECK(p.in->counters().packets == 12);
        }
    }
}

TEST_CASE("sequence numbers: the ESN high half is authenticated") {
    for (auto alg : kAlgorithms) {
        CAPTURE(alg);
        SaPair p = make_pair(options(alg, kCombos[0], false, true));
        p.out->set_last_seq(uint64_t{5} << 32);
        const Bytes pkt = seal(*p.out, ip_packet(4, 80));  // seq 5*2^32 + 1, low half 1
        // The receiver is still in the first 2^32 block: it infers high = 0,
        // and the ICV, computed with high = 5, does not verify.
        const SaCounters before = p.in->counters();
        CHECK(decap(*p.in, pkt).r.drop == EspDrop::auth_failed);
        check_one_drop(before, *p.in, EspDrop::auth_failed);
        CHECK(p.in->last_seq() == 0);
        p.in->set_last_seq(uint64_t{5} << 32);
        CHECK(decap(*p.in, pkt).r);
        CHECK(p.in->last_seq() == (uint64_t{5} << 32) + 1);
    }
}

TEST_CASE("sequence numbers: with ESN the counter stops at 2^64-1") {
    for (auto alg : kAlgorithms) {
        CAPTURE(alg);
        SaPair p = make_pair(options(alg, kCombos[0], false, true));
        constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
        p.out->set_last_seq(kMax - 1);
        p.in->set_last_seq(kMax - 1);
        const Bytes inner = ip_packet(4, 64);
        const Bytes pkt = seal(*p.out, inner);
        check_inner(p.in->config(), inner, decap(*p.in, pkt));
        CHECK(p.in->last_seq() == kMax);
        const SaCounters before = p.out->counters();
        CHECK(encap(*p.out, inner).r.drop == EspDrop::seq_overflow);
        check_one_drop(before, *p.out, EspDrop::seq_overflow);
        CHECK(p.out->last_seq() == kMax);
    }
}

TEST_CASE("lifetimes: soft limits raise the flag, hard limits refuse, in both directions") {
    for (auto alg : kAlgorithms) {
        for (const Combo& k : {kCombos[0], kCombos[3], kCombos[4], kCombos[5]}) {
            for (bool by_bytes : {false, true}) {
                CAPTURE(alg);
                CAPTURE(mode_name(k.mode));
                CAPTURE(k.outer);
                CAPTURE(by_bytes);
                SaOptions o = options(alg, k);
                // Packets of 100 bytes: soft after the 2nd, hard after the 3rd.
                o.lifetime = by_bytes ? Lifetime{200, 300, 0, 0} : Lifetime{0, 0, 2, 3};
                SaPair p = make_pair(o);
                // A sender without limits feeds the receiver beyond its hard limit.
                SaOptions free_o = o;
                free_o.lifetime = {};
                auto feeder = make_sa(make_config(free_o, SaDirection::outbound));

                const Bytes inner = make_inner(o, k.inner, 100);
                for (int i = 1; i <= 3; ++i) {
                    CAPTURE(i);
                    const auto e = encap(*p.out, inner);
                    REQUIRE(e.r.status == EncapStatus::ok);
                    CHECK(e.r.soft_expired == (i >= 2));
                    CHECK(p.out->soft_expired() == (i >= 2));
                    CHECK(p.out->hard_expired() == (i >= 3));
                    const Bytes fed = seal(*feeder, inner);
                    const DecapOut d = decap(*p.in, fed);
                    REQUIRE(d.r);
                    CHECK(d.r.soft_expired == (i >= 2));
                    CHECK(p.in->hard_expired() == (i >= 3));
                }
                for (int i = 4; i <= 5; ++i) {
                    CAPTURE(i);
                    SaCounters before = p.out->counters();
                    Frame f(inner);
                    const EncapResult r = encapsulate(*p.out, f.buf, 0);
                    CHECK(r.status == EncapStatus::dropped);
                    CHECK(r.drop == EspDrop::lifetime_expired);
                    check_one_drop(before, *p.out, EspDrop::lifetime_expired);
                    CHECK(f.packet() == inner);
                    CHECK(p.out->last_seq() == 3);

                    const Bytes fed = seal(*feeder, inner);
                    before = p.in->counters();
                    CHECK(decap(*p.in, fed).r.drop == EspDrop::lifetime_expired);
                    check_one_drop(before, *p.in, EspDrop::lifetime_expired);
                    CHECK(p.in->last_seq() == 3);  // refused before the window moved
                }
            }
        }
    }
}

TEST_CASE("counters: packets and inner bytes on success, one counter per drop reason") {
    SaPair p = make_pair(options("aes256-sha256", kCombos[0]));
    const Bytes a = ip_packet(4, 60), b = ip_packet(4, 100), c = ip_packet(4, 1000);
    const Bytes pa = seal(*p.out, a), pb = seal(*p.out, b), pc = seal(*p.out, c);
    CHECK(p.out->counters().packets == 3);
    CHECK(p.out->counters().bytes == 1160);
    for (const Bytes* x : {&pa, &pb, &pc}) REQUIRE(decap(*p.in, *x).r);
    CHECK(p.in->counters().packets == 3);
    CHECK(p.in->counters().bytes == 1160);

    SaCounters before = p.in->counters();
    CHECK(decap(*p.in, pb).r.drop == EspDrop::replayed);
    check_one_drop(before, *p.in, EspDrop::replayed);

    Bytes bad = seal(*p.out, a);
    bad.back() ^= 0x80;
    before = p.in->counters();
    CHECK(decap(*p.in, bad).r.drop == EspDrop::auth_failed);
    check_one_drop(before, *p.in, EspDrop::auth_failed);

    Bytes spi = seal(*p.out, a);
    spi[20] ^= 0x01;
    before = p.in->counters();
    CHECK(decap(*p.in, spi).r.drop == EspDrop::bad_spi);
    check_one_drop(before, *p.in, EspDrop::bad_spi);

    for (int i = 0; i < 100; ++i) REQUIRE(decap(*p.in, seal(*p.out, a)).r);
    before = p.in->counters();
    CHECK(decap(*p.in, pa).r.drop == EspDrop::too_old);
    check_one_drop(before, *p.in, EspDrop::too_old);

    CHECK(p.in->counters().packets == 103);
    CHECK(p.in->counters().bytes == 1160 + 100 * 60);
    CHECK(p.out->counters().packets == 105);
    CHECK(total_drops(*p.out) == 0);
    CHECK(total_drops(*p.in) == 4);
}

TEST_CASE("no room: too little head- or tailroom is a no_room drop that leaves the buffer alone") {
    for (auto alg : kAlgorithms) {
        for (const Combo& k : kCombos) {
            for (bool udp : {false, true}) {
                CAPTURE(alg);
                CAPTURE(mode_name(k.mode));
                CAPTURE(k.outer);
                CAPTURE(k.inner);
                CAPTURE(udp);
                SaPair p = make_pair(options(alg, k, udp));
                const Algorithm& a = p.out->config().algorithm;
                const Bytes inner = make_inner(p.opts, k.inner, 203);
                const uint32_t total = 203 + esp_overhead(p.out->config(), 203);
                const uint32_t head = (k.mode == Mode::tunnel ? ip_header_len(k.outer) : 0) +
                                      (udp ? 8 : 0) + 8 + a.iv_len();
                const uint32_t tail = total - head - 203;
                for (auto [h, t] : {std::pair{head - 1, tail}, std::pair{head, tail - 1},
                                    std::pair{0u, 0u}, std::pair{head - 1, tail - 1},
                                    std::pair{0u, 1000u}, std::pair{1000u, 0u}}) {
                    CAPTURE(h);
                    CAPTURE(t);
                    Frame f(inner, h, t);
                    const Bytes storage = f.storage();
                    const SaCounters before = p.out->counters();
                    const EncapResult r = encapsulate(*p.out, f.buf, 0);
                    CHECK(r.status == EncapStatus::dropped);
                    CHECK(r.drop == EspDrop::no_room);
                    check_one_drop(before, *p.out, EspDrop::no_room);
                    CHECK(f.storage() == storage);
                    CHECK(f.buf.offset == h);
                    CHECK(f.buf.length == 203);
                    CHECK(p.out->last_seq() == 0);
                }
                // Exactly enough room on both sides.
                Frame f(inner, head, tail);
                const EncapResult r = encapsulate(*p.out, f.buf, 0);
                REQUIRE(r.status == EncapStatus::ok);
                CHECK(f.buf.offset == 0);
                CHECK(f.buf.length == total);
                CHECK(f.buf.tailroom() == 0);
                check_wire(p, inner, f.packet(), 1);
                check_inner(p.in->config(), inner, decap(*p.in, f.packet()));
            }
        }
    }
}

TEST_CASE("no room: link-layer padding behind the packet counts as tailroom, and stays on a drop") {
    SaPair p = make_pair(options("aes128-sha256", kCombos[0]));
    const Bytes inner = ip_packet(4, 100);
    const uint32_t total = 100 + esp_overhead(p.out->config(), 100);
    const uint32_t head = 20 + 8 + 16;
    const uint32_t tail = total - head - 100;
    Bytes padded = inner;
    padded.resize(100 + tail, 0xee);  // the frame's padding covers the whole tail
    {
        Frame f(padded, head - 1, 0);
        const Bytes storage = f.storage();
        CHECK(encapsulate(*p.out, f.buf, 0).drop == EspDrop::no_room);
        CHECK(f.storage() == storage);
        CHECK(f.buf.length == padded.size());  // not trimmed on a drop
        CHECK(f.buf.offset == head - 1);
    }
    Frame f(padded, head, 0);
    REQUIRE(encapsulate(*p.out, f.buf, 0).status == EncapStatus::ok);
    CHECK(f.buf.length == total);
    check_inner(p.in->config(), inner, decap(*p.in, f.packet()));
}

TEST_CASE("encapsulation refuses what is not an IP packet it can protect") {
    Bytes v4 = ip_packet(4, 60), v6 = ip_packet(6, 80);
    std::vector<std::pair<const char*, Bytes>> garbage = {
        {"empty", {}},
        {"one byte", {0x45}},
        {"short IPv4 header", Bytes(v4.begin(), v4.begin() + 19)},
        {"short IPv6 header", Bytes(v6.begin(), v6.begin() + 39)},
        {"version 0", Bytes(60, 0)},
        {"version 5", [&] { Bytes b = v4; b[0] = 0x55; return b; }()},
        {"version 15", [&] { Bytes b = v6; b[0] = 0xf0; return b; }()},
        {"IHL 4", [&] { Bytes b = v4; b[0] = 0x44; return b; }()},
        {"IHL beyond total length", [&] { Bytes b = v4; b[0] = 0x4f; put16(&b[2], 40); return b; }()},
        {"IPv4 total length beyond buffer", [&] { Bytes b = v4; put16(&b[2], 61); return b; }()},
        {"IPv4 total length below header", [&] { Bytes b = v4; put16(&b[2], 19); return b; }()},
        {"IPv6 payload length beyond buffer", [&] { Bytes b = v6; put16(&b[4], 41); return b; }()},
        {"IPv6 jumbogram", [&] { Bytes b = v6; put16(&b[4], 0); b[6] = 0; return b; }()},
    };
    for (std::string_view alg : {"aes128gcm16", "aes256-sha512"}) {
        for (const Combo& k : kCombos) {
            SaPair p = make_pair(options(alg, k));
            for (const auto& [what, pkt] : garbage) {
                CAPTURE(alg);
                CAPTURE(mode_name(k.mode));
                CAPTURE(k.outer);
                const std::string_view name = what;
                CAPTURE(name);
                Frame f(pkt, 256, 256);
                const Bytes storage = f.storage();
                const SaCounters before = p.out->counters();
                const EncapResult r = encapsulate(*p.out, f.buf, 0);
                const bool jumbo = std::string_view(what) == "IPv6 jumbogram";
                if (jumbo && k.mode == Mode::tunnel) {
                    // A 40-byte IPv6 header with payload length 0 is a valid
                    // (empty) packet to a tunnel: it need not look further.
                    CHECK(r.status == EncapStatus::ok);
                    continue;
                }
                CHECK(r.status == EncapStatus::dropped);
                CHECK(r.drop == EspDrop::not_ip);
                check_one_drop(before, *p.out, EspDrop::not_ip);
                CHECK(f.storage() == storage);
                CHECK(p.out->last_seq() == 0);
            }
        }
    }
    // Transport mode protects only packets of its own family.
    for (int family : {4, 6}) {
        SaPair p = make_pair(options("aes128gcm16", {Mode::transport, family, family}));
        const SaCounters before = p.out->counters();
        CHECK(encap(*p.out, family == 4 ? v6 : v4).r.drop == EspDrop::not_ip);
        check_one_drop(before, *p.out, EspDrop::not_ip);
    }
    // Transport IPv6: an extension header chain the engine does not walk to
    // its end, or one that runs off the packet.
    SaPair p = make_pair(options("aes128gcm16", {Mode::transport, 6, 6}));
    Ipv6Spec s;
    for (int i = 0; i < 9; ++i) s.ext.push_back({kHopByHop, 8});
    CHECK(encap(*p.out, ipv6_packet(s)).r.drop == EspDrop::not_ip);
    s.ext = {{kHopByHop, 8}, {kRouting, 64}};
    Bytes cut = ipv6_packet(s);
    cut.resize(40 + 8 + 32);
    put16(&cut[4], 40);
    CHECK(encap(*p.out, cut).r.drop == EspDrop::not_ip);
    CHECK(p.out->counters().drops[static_cast<std::size_t>(EspDrop::not_ip)] == 2);
}

TEST_CASE("fragments: transport mode refuses them, tunnel mode carries them, outer fragments are dropped") {
    for (auto alg : kAlgorithms) {
        CAPTURE(alg);
        // Transport IPv4: MF set, or a non-zero offset.
        for (uint16_t frag : {uint16_t{0x2000}, uint16_t{0x0001}, uint16_t{0x1fff}, uint16_t{0x2010}}) {
            CAPTURE(frag);
            Ipv4Spec s;
            s.frag = frag;
            s.df = false;
            const Bytes inner = ipv4_packet(s);
            SaPair t = make_pair(options(alg, kCombos[4]));
            Frame f(inner);
            const SaCounters before = t.out->counters();
            const EncapResult r = encapsulate(*t.out, f.buf, 0);
            CHECK(r.drop == EspDrop::fragment);
            check_one_drop(before, *t.out, EspDrop::fragment);
            CHECK(f.packet() == inner);
            // Tunnel mode protects the fragment as any packet.
            SaPair u = make_pair(options(alg, kCombos[0]));
            const Bytes pkt = seal(*u.out, inner);
            CHECK((be16(&pkt[6]) & 0x3fff) == 0);  // the outer packet is not a fragment
            check_inner(u.in->config(), inner, decap(*u.in, pkt));
        }
        // Transport IPv6 with a fragment header anywhere in front of ESP's place.
        for (const auto& ext : std::vector<std::vector<Ipv6Ext>>{
                 {{kFragment, 8}},
                 {{kHopByHop, 8}, {kFragment, 8}},
                 {{kHopByHop, 8}, {kRouting, 24}, {kFragment, 8}},
                 {{kFragment, 8}, {kDestOpts, 8}}}) {
            CAPTURE(ext.size());
            Ipv6Spec s;
            s.ext = ext;
            SaPair t = make_pair(options(alg, kCombos[5]));
            const SaCounters before = t.out->counters();
            CHECK(encap(*t.out, ipv6_packet(s)).r.drop == EspDrop::fragment);
            check_one_drop(before, *t.out, EspDrop::fragment);
        }
        // Decapsulation: an outer IPv4 fragment.
        for (const Combo& k : {kCombos[0], kCombos[4]}) {
            for (uint16_t frag : {uint16_t{0x2000}, uint16_t{0x0003}}) {
                SaPair p = make_pair(options(alg, k));
                Bytes pkt = seal(*p.out, make_inner(p.opts, 4, 100));
                put16(&pkt[6], be16(&pkt[6]) | frag);
                ipv4_fix_checksum(pkt.data());
                const SaCounters before = p.in->counters();
                CHECK(decap(*p.in, pkt).r.drop == EspDrop::fragment);
                check_one_drop(before, *p.in, EspDrop::fragment);
                CHECK(p.in->last_seq() == 0);
            }
        }
        // Decapsulation: an outer IPv6 packet with a fragment header.
        for (const Combo& k : {kCombos[3], kCombos[5]}) {
            for (bool udp : {false, true}) {
                SaPair p = make_pair(options(alg, k, udp));
                Bytes pkt = seal(*p.out, make_inner(p.opts, 6, 100));
                Bytes frag(8, 0);
                frag[0] = pkt[6];
                put16(&frag[2], 0x0001);
                pkt.insert(pkt.begin() + 40, frag.begin(), frag.end());
                pkt[6] = kFragment;
                put16(&pkt[4], be16(&pkt[4]) + 8u);
                const SaCounters before = p.in->counters();
                CHECK(decap(*p.in, pkt).r.drop == EspDrop::fragment);
                check_one_drop(before, *p.in, EspDrop::fragment);
                CHECK(p.in->last_seq() == 0);
            }
        }
    }
}

TEST_CASE("outer IPv6 extension headers in front of ESP are walked on receive") {
    for (auto alg : kAlgorithms) {
        for (bool udp : {false, true}) {
            CAPTURE(alg);
            CAPTURE(udp);
            SaPair p = make_pair(options(alg, kCombos[3], udp));
            const Bytes inner = ip_packet(6, 150);
            Bytes pkt = seal(*p.out, inner);
            // A router alert hop-by-hop header and destination options, as a
            // path may add to the outer packet.
            for (uint8_t type : {kDestOpts, kHopByHop}) {
                Bytes ext(16, 0);
                ext[0] = pkt[6];
                ext[1] = 1;
                ext[2] = 1;  // PadN
                ext[3] = 12;
                pkt.insert(pkt.begin() + 40, ext.begin(), ext.end());
                pkt[6] = type;
                put16(&pkt[4], be16(&pkt[4]) + 16u);
            }
            check_inner(p.in->config(), inner, decap(*p.in, pkt));
        }
    }
}

TEST_CASE("link-layer padding after the IP packet is ignored in both directions") {
    for (auto alg : kAlgorithms) {
        for (const Combo& k : kCombos) {
            CAPTURE(alg);
            CAPTURE(mode_name(k.mode));
            CAPTURE(k.outer);
            CAPTURE(k.inner);
            SaPair p = make_pair(options(alg, k, k.outer == 6));
            const Bytes inner = make_inner(p.opts, k.inner, ip_header_len(k.inner) + 6);
            Bytes padded = inner;
            padded.resize(inner.size() + 18, 0xee);  // Ethernet minimum-frame padding
            const auto e = encap(*p.out, padded);
            REQUIRE(e.r.status == EncapStatus::ok);
            CHECK(e.pkt.size() == inner.size() + esp_overhead(p.out->config(), u32(inner.size())));
            check_wire(p, inner, e.pkt, 1);
            CHECK(p.out->counters().bytes == inner.size());

            Bytes trailing = e.pkt;
            trailing.resize(e.pkt.size() + 7, 0xee);
            const DecapOut d = decap(*p.in, trailing);
            check_inner(p.in->config(), inner, d);
            CHECK(p.in->counters().bytes == inner.size());
        }
    }
}

TEST_CASE("dummy packets (next header 59) are authenticated, counted and discarded") {
    for (auto alg : kAlgorithms) {
        for (const Combo& k : kCombos) {
            for (bool udp : {false, true}) {
                CAPTURE(alg);
                CAPTURE(mode_name(k.mode));
                CAPTURE(k.outer);
                CAPTURE(udp);
                SaPair p = make_pair(options(alg, k, udp));
                const SaConfig& ic = p.in->config();
                for (uint32_t len : {0u, 1u, 40u, 333u}) {
                    CAPTURE(len);
                    const uint64_t seq = p.in->last_seq() + 1;
                    const Bytes dummy = craft(ic, Craft().seq(seq).data(pattern(len, 3)).next_header(kNoNext));
                    const SaCounters before = p.in->counters();
                    const DecapOut d = decap(*p.in, dummy);
                    CHECK(d.r.drop == EspDrop::dummy_packet);
                    check_one_drop(before, *p.in, EspDrop::dummy_packet);
                    // Authentic: its sequence number is used, a replay is refused.
                    CHECK(p.in->last_seq() == seq);
                    CHECK(decap(*p.in, dummy).r.drop == EspDrop::replayed);
                }
                // Real traffic continues after them.
                p.out->set_last_seq(p.in->last_seq());
                const Bytes inner = make_inner(p.opts, k.inner, 90);
                check_inner(ic, inner, decap(*p.in, seal(*p.out, inner)));
            }
        }
    }
}

TEST_CASE("an SA refuses the direction it was not made for") {
    SaPair p = make_pair(options("aes128gcm16", kCombos[0]));
    const Bytes inner = ip_packet(4, 80);
    const Bytes pkt = seal(*p.out, inner);
    SaCounters before = p.in->counters();
    CHECK(encap(*p.in, inner).r.drop == EspDrop::crypto_error);
    check_one_drop(before, *p.in, EspDrop::crypto_error);
    before = p.out->counters();
    CHECK(decap(*p.out, pkt).r.drop == EspDrop::crypto_error);
    check_one_drop(before, *p.out, EspDrop::crypto_error);
    check_inner(p.in->config(), inner, decap(*p.in, pkt));
}

TEST_CASE("drop reasons have their enumerator's name") {
    const std::pair<EspDrop, std::string_view> names[] = {
        {EspDrop::none, "none"},
        {EspDrop::truncated, "truncated"},
        {EspDrop::bad_spi, "bad_spi"},
        {EspDrop::auth_failed, "auth_failed"},
        {EspDrop::replayed, "replayed"},
        {EspDrop::too_old, "too_old"},
        {EspDrop::bad_padding, "bad_padding"},
        {EspDrop::bad_next_header, "bad_next_header"},
        {EspDrop::bad_inner_packet, "bad_inner_packet"},
        {EspDrop::ecn_drop, "ecn_drop"},
        {EspDrop::dummy_packet, "dummy_packet"},
        {EspDrop::fragment, "fragment"},
        {EspDrop::not_ip, "not_ip"},
        {EspDrop::no_room, "no_room"},
        {EspDrop::seq_overflow, "seq_overflow"},
        {EspDrop::lifetime_expired, "lifetime_expired"},
        {EspDrop::crypto_error, "crypto_error"},
    };
    static_assert(std::size(names) == kEspDropCount);
    for (const auto& [d, n] : names) CHECK(to_string(d) == n);
    CHECK(to_string(EspDrop::count_) == "unknown");
}
