// Decapsulation of malformed, truncated, tampered and crafted ESP packets:
// every one is refused with the right reason and counter, the replay window
// moves only for authentic packets, and nothing is read outside the packet
// (decap() puts each packet in a heap block of exactly its size, so the
// sanitizer build reports any overrun).
#include "esp_fixture.h"

#include <doctest/doctest.h>

using namespace esptest;

namespace {

struct Variant {
    Mode mode;
    int family;
    bool udp;
    bool esn;
};

constexpr Variant kVariants[] = {
    {Mode::tunnel, 4, false, false},
    {Mode::tunnel, 6, true, true},
    {Mode::transport, 4, true, false},
    {Mode::transport, 6, false, true},
};

SaOptions options(std::string_view alg, const Variant& v) {
    SaOptions o;
    o.alg = alg;
    o.mode = v.mode;
    o.family = v.family;
    o.udp = v.udp;
    o.esn = v.esn;
    return o;
}

uint32_t ip_len(int family) { return family == 4 ? 20 : 40; }

// A packet the SA carries: tunnel mode crosses families.
Bytes inner_for(const SaOptions& o, uint32_t upper_len, uint8_t seed = 1) {
    if (o.mode == Mode::transport) return transport_packet(o, upper_len, seed);
    const int f = o.family == 4 ? 6 : 4;
    return ip_packet(f, ip_len(f) + upper_len, 0x20, seed);
}

// What the ESP payload carries for a crafted packet: the inner packet in
// tunnel mode, upper-layer bytes in transport mode.
struct Payload {
    Bytes data;
    uint8_t next_header;
};

Payload payload_for(const SaOptions& o, uint32_t len) {
    if (o.mode == Mode::transport) return {pattern(len, 9), kUdp};
    const Bytes p = ip_packet(4, 20 + len, 0, 9);
    return {p, kIpip};
}

// Rewrites the outer IP (and UDP) length fields to match pkt's size.
void fix_lengths(Bytes& pkt, const SaConfig& c) {
    const uint32_t n = u32(pkt.size());
    const uint32_t hl = ip_len(c.local.family);
    if (c.local.family == 4) {
        put16(&pkt[2], n);
        ipv4_fix_checksum(pkt.data());
    } else {
        put16(&pkt[4], n - 40);
    }
    if (c.udp_encap && n >= hl + 8) put16(&pkt[hl + 4], n - hl);
}

std::string describe(const Variant& v) {
    return std::string(v.mode == Mode::tunnel ? "tunnel" : "transport") + " IPv" +
           std::to_string(v.family) + (v.udp ? " UDP" : "") + (v.esn ? " ESN" : "");
}

// pkt must be refused for `want` without touching the replay window, and
// only the `want` counter may move.
void expect_drop(Sa& in, const Bytes& pkt, EspDrop want) {
    const uint64_t top = in.last_seq();
    const SaCounters before = in.counters();
    const DecapOut d = decap(in, pkt);
    CHECK(d.r.drop == want);
    check_one_drop(before, in, want);
    CHECK(in.last_seq() == top);
}

// An authentic packet refused after its ICV verified: RFC 4303 §3.4.3 moves
// the window for it (its sequence number is used), so a replay is refused.
void expect_authentic_drop(Sa& in, const Bytes& pkt, EspDrop want, uint64_t seq) {
    const SaCounters before = in.counters();
    const DecapOut d = decap(in, pkt);
    CHECK(d.r.drop == want);
    check_one_drop(before, in, want);
    CHECK(in.last_seq() == seq);
    CHECK(decap(in, pkt).r.drop == EspDrop::replayed);
}

}  // namespace

TEST_CASE("the crafter builds packets the engine accepts (so crafted failures mean something)") {
    for (auto alg : kAlgorithms) {
        for (const Variant& v : kVariants) {
            CAPTURE(alg);
            CAPTURE(describe(v));
            SaPair p = make_pair(options(alg, v));
            const SaConfig& ic = p.in->config();
            for (uint32_t len : {0u, 1u, 2u, 3u, 50u, 255u}) {
                CAPTURE(len);
                const Payload pl = payload_for(p.opts, len);
                const uint64_t seq = p.in->last_seq() + 1;
                const Bytes pkt = craft(ic, Craft().seq(seq).data(pl.data).next_header(pl.next_header));
                const DecapOut d = decap(*p.in, pkt);
                REQUIRE(d.r);
                CHECK(d.r.next_header == pl.next_header);
                if (v.mode == Mode::tunnel) {
                    CHECK(d.inner == pl.data);
                } else {
                    CHECK(d.inner.size() == ip_len(v.family) + len);
                    CHECK(std::equal(pl.data.begin(), pl.data.end(), d.inner.begin() + ip_len(v.family)));
                }
                CHECK(p.in->last_seq() == seq);
            }
            // Longer than minimal padding is legal (RFC 4303 §2.4: up to 255 bytes).
            const Payload pl = payload_for(p.opts, 10);
            const uint32_t block = ic.algorithm.block_len();
            const Bytes min = default_pad(ic.algorithm, pl.data.size());
            Bytes pad(min.size() + 8 * block);
            for (std::size_t i = 0; i < pad.size(); ++i) pad[i] = u8(u32(i) + 1);
            const Bytes pkt = craft(ic, Craft().seq(100).data(pl.data).pad(pad).next_header(pl.next_header));
            CHECK(decap(*p.in, pkt).r);
            CHECK(p.in->last_seq() == 100);
        }
    }
}

TEST_CASE("truncation: every prefix of a valid packet is refused") {
    for (auto alg : kAlgorithms) {
        for (const Variant& v : kVariants) {
            CAPTURE(alg);
            CAPTURE(describe(v));
            SaPair p = make_pair(options(alg, v));
            const SaConfig& c = p.in->config();
            const Algorithm& a = c.algorithm;
            const Bytes inner = inner_for(p.opts, 61);
            const Bytes pkt = seal(*p.out, inner);
            const uint32_t hl = ip_len(v.family);
            const uint32_t esp_off = hl + (v.udp ? 8 : 0);
            for (uint32_t t = 0; t < pkt.size(); ++t) {
                CAPTURE(t);
                const Bytes prefix(pkt.begin(), pkt.begin() + t);
                // Cut short: the IP header (if there is one) claims more than arrived.
                expect_drop(*p.in, prefix, EspDrop::truncated);
                if (t < hl) continue;
                // Cut with consistent length fields: the ESP checks see the short packet.
                Bytes cut = prefix;
                fix_lengths(cut, c);
                EspDrop want = EspDrop::auth_failed;
                if (t < esp_off) {
                    want = EspDrop::truncated;
                } else {
                    const uint32_t esp_len = t - esp_off;
                    if (esp_len < 8 + a.iv_len() + 2 + a.icv_len() ||
                        (esp_len - 8 - a.iv_len() - a.icv_len()) % a.block_len() != 0)
                        want = EspDrop::truncated;
                }
                expect_drop(*p.in, cut, want);
            }
            // Nothing above moved the window: the whole packet is still good.
            const DecapOut d = decap(*p.in, pkt);
            REQUIRE(d.r);
            CHECK(p.in->counters().packets == 1);
        }
    }
}

TEST_CASE("extra bytes inside the IP length are refused") {
    for (auto alg : kAlgorithms) {
        for (const Variant& v : kVariants) {
            CAPTURE(alg);
            CAPTURE(describe(v));
            SaPair p = make_pair(options(alg, v));
            const SaConfig& c = p.in->config();
            const Bytes pkt = seal(*p.out, inner_for(p.opts, 40));
            for (uint32_t extra = 1; extra <= 33; ++extra) {
                CAPTURE(extra);
                Bytes longer = pkt;
                longer.resize(pkt.size() + extra, 0x5c);
                fix_lengths(longer, c);
                expect_drop(*p.in, longer,
                            extra % c.algorithm.block_len() ? EspDrop::truncated : EspDrop::auth_failed);
            }
            REQUIRE(decap(*p.in, pkt).r);
        }
    }
}

TEST_CASE("bit flips: SPI, sequence number, IV, ciphertext and ICV are all covered") {
    for (auto alg : kAlgorithms) {
        for (const Variant& v : kVariants) {
            CAPTURE(alg);
            CAPTURE(describe(v));
            SaPair p = make_pair(options(alg, v));
            const SaConfig& c = p.in->config();
            const Bytes pkt = seal(*p.out, inner_for(p.opts, 45));
            const EspLayout l = layout(c, ip_len(v.family), u32(pkt.size()));
            for (uint32_t byte = l.esp; byte < pkt.size(); ++byte) {
                for (uint32_t bit = 0; bit < 8; ++bit) {
                    CAPTURE(byte);
                    CAPTURE(bit);
                    Bytes flipped = pkt;
                    flipped[byte] ^= u8(1u << bit);
                    EspDrop want = EspDrop::auth_failed;
                    if (byte < l.esp + 4) {
                        want = EspDrop::bad_spi;
                    } else if (byte < l.esp + 8 && be32(&flipped[l.esp + 4]) == 0) {
                        want = EspDrop::too_old;  // sequence number 0 is never valid
                    }
                    expect_drop(*p.in, flipped, want);
                }
            }
            // The ICV alone, byte by byte, replaced wholesale.
            for (uint32_t byte = l.icv; byte < pkt.size(); ++byte) {
                Bytes zeroed = pkt;
                zeroed[byte] = static_cast<uint8_t>(~zeroed[byte]);
                expect_drop(*p.in, zeroed, EspDrop::auth_failed);
            }
            Bytes no_icv = pkt;
            std::fill(no_icv.begin() + l.icv, no_icv.end(), 0);
            expect_drop(*p.in, no_icv, EspDrop::auth_failed);
            REQUIRE(decap(*p.in, pkt).r);
            CHECK(p.in->last_seq() == 1);
        }
    }
}

TEST_CASE("keys: a packet sealed under other keys does not authenticate") {
    for (auto alg : kAlgorithms) {
        for (const Variant& v : kVariants) {
            CAPTURE(alg);
            CAPTURE(describe(v));
            SaOptions o = options(alg, v);
            SaPair p = make_pair(o);
            o.key_seed = 0x11;
            SaPair other = make_pair(o);
            expect_drop(*p.in, seal(*other.out, inner_for(o, 30)), EspDrop::auth_failed);
        }
    }
}

TEST_CASE("padding: wrong pad bytes and impossible pad lengths are refused after authentication") {
    for (auto alg : kAlgorithms) {
        for (const Variant& v : kVariants) {
            CAPTURE(alg);
            CAPTURE(describe(v));
            SaPair p = make_pair(options(alg, v));
            const SaConfig& ic = p.in->config();
            const uint32_t block = ic.algorithm.block_len();
            const Payload pl = payload_for(p.opts, 33);
            uint64_t seq = 0;
            const auto send = [&](Craft k) {
                k.seq(++seq);
                k.data(pl.data);
                k.next_header(pl.next_header);
                return craft(ic, k);
            };
            // Crafts, then expects an authentic drop at the crafted sequence number.
            const auto refuse = [&](Craft k, EspDrop want) {
                const Bytes pkt = send(std::move(k));
                expect_authentic_drop(*p.in, pkt, want, seq);
            };
            // A long, valid padding, then each of its bytes wrong in turn.
            const Bytes min = default_pad(ic.algorithm, pl.data.size());
            Bytes good(min.size() + 2 * block);
            for (std::size_t i = 0; i < good.size(); ++i) good[i] = u8(u32(i) + 1);
            REQUIRE(decap(*p.in, send(Craft().pad(good))).r);
            for (std::size_t i = 0; i < good.size(); ++i) {
                CAPTURE(i);
                Bytes bad = good;
                bad[i] = static_cast<uint8_t>(bad[i] ^ 0x40);
                refuse(Craft().pad(bad), EspDrop::bad_padding);
            }
            // All-zero padding (what some stacks send) is not RFC 4303 padding.
            refuse(Craft().pad(Bytes(good.size(), 0)), EspDrop::bad_padding);
            // The pad length claims more bytes than there are before the trailer.
            const uint32_t ct_len = u32(pl.data.size() + good.size()) + 2;
            for (uint32_t claimed : {ct_len - 1, ct_len, 254u, 255u}) {
                CAPTURE(claimed);
                if (claimed > 255) continue;
                refuse(Craft().pad(good).pad_len(u8(claimed)), EspDrop::bad_padding);
            }
            // The pad length claims more padding than was sent: data bytes are
            // then read as padding and are not 1, 2, 3, ...
            refuse(Craft().pad(good).pad_len(u8(u32(good.size()) + 1)), EspDrop::bad_padding);
            // Less: the padding then starts at 2, not 1.
            refuse(Craft().pad(good).pad_len(u8(u32(good.size()) - 1)), EspDrop::bad_padding);
        }
    }
}

TEST_CASE("zero-length payloads") {
    for (auto alg : kAlgorithms) {
        for (const Variant& v : kVariants) {
            CAPTURE(alg);
            CAPTURE(describe(v));
            SaPair p = make_pair(options(alg, v));
            const SaConfig& ic = p.in->config();
            const Algorithm& a = ic.algorithm;

            // ESP header, IV and ICV with nothing between: not even a trailer.
            const Bytes pkt = seal(*p.out, inner_for(p.opts, 20));
            const EspLayout l = layout(ic, ip_len(v.family), u32(pkt.size()));
            Bytes empty(pkt.begin(), pkt.begin() + l.payload);
            empty.insert(empty.end(), pkt.begin() + l.icv, pkt.end());
            fix_lengths(empty, ic);
            expect_drop(*p.in, empty, EspDrop::truncated);

            // Only padding and trailer: no data at all.
            uint64_t seq = 1;
            const uint8_t nh = v.mode == Mode::tunnel ? kIpip : kUdp;
            const Bytes trailer_only = craft(ic, Craft().seq(seq).next_header(nh));
            CHECK(trailer_only.size() == l.payload + a.block_len() + a.icv_len());
            if (v.mode == Mode::tunnel) {
                expect_authentic_drop(*p.in, trailer_only, EspDrop::bad_inner_packet, seq);
            } else {
                // Transport mode: an IP packet with an empty upper layer; ESP
                // has nothing against it (the upper layer will refuse it).
                const DecapOut d = decap(*p.in, trailer_only);
                REQUIRE(d.r);
                CHECK(d.inner.size() == ip_len(v.family));
                CHECK(d.r.next_header == kUdp);
                if (v.family == 4) {
                    CHECK(be16(&d.inner[2]) == 20);
                    CHECK(d.inner[9] == kUdp);
                    CHECK(ipv4_checksum_ok(d.inner.data()));
                } else {
                    CHECK(be16(&d.inner[4]) == 0);
                    CHECK(d.inner[6] == kUdp);
                }
            }
            // Everything is padding: pad length = ciphertext - 2.
            Bytes all_pad(2 * a.block_len() - 2);
            for (std::size_t i = 0; i < all_pad.size(); ++i) all_pad[i] = u8(u32(i) + 1);
            const Bytes padded = craft(ic, Craft().seq(++seq).pad(all_pad).next_header(nh));
            if (v.mode == Mode::tunnel) {
                expect_authentic_drop(*p.in, padded, EspDrop::bad_inner_packet, seq);
            } else {
                CHECK(decap(*p.in, padded).r);
            }
            // And as a dummy packet.
            ++seq;
            expect_authentic_drop(*p.in, craft(ic, Craft().seq(seq).next_header(kNoNext)),
                                  EspDrop::dummy_packet, seq);
        }
    }
}

TEST_CASE("next header: tunnel mode accepts only IPv4/IPv6, transport mode refuses ESP in ESP") {
    for (auto alg : kAlgorithms) {
        for (const Variant& v : kVariants) {
            CAPTURE(alg);
            CAPTURE(describe(v));
            SaPair p = make_pair(options(alg, v));
            const SaConfig& ic = p.in->config();
            uint64_t seq = 0;
            const Bytes v4 = ip_packet(4, 60), v6 = ip_packet(6, 60);
            if (v.mode == Mode::tunnel) {
                for (uint8_t nh : {uint8_t{0}, uint8_t{1}, uint8_t{6}, kUdp, kEsp, uint8_t{51}, uint8_t{58},
                                   kDestOpts, uint8_t{255}}) {
                    CAPTURE(static_cast<int>(nh));
                    ++seq;
                    expect_authentic_drop(*p.in, craft(ic, Craft().seq(seq).data(v4).next_header(nh)),
                                          EspDrop::bad_next_header, seq);
                }
                // Next header and inner version disagree.
                ++seq;
                expect_authentic_drop(*p.in, craft(ic, Craft().seq(seq).data(v6).next_header(kIpip)),
                                      EspDrop::bad_inner_packet, seq);
                ++seq;
                expect_authentic_drop(*p.in, craft(ic, Craft().seq(seq).data(v4).next_header(kIpv6)),
                                      EspDrop::bad_inner_packet, seq);
            } else {
                ++seq;
                expect_authentic_drop(*p.in,
                                      craft(ic, Craft().seq(seq).data(pattern(30, 1)).next_header(kEsp)),
                                      EspDrop::bad_next_header, seq);
                // Anything else is the upper layer's business, IP-in-IP included.
                for (uint8_t nh : {uint8_t{6}, kIpip, kIpv6, uint8_t{58}, uint8_t{255}}) {
                    CAPTURE(static_cast<int>(nh));
                    const DecapOut d = decap(*p.in, craft(ic, Craft().seq(++seq).data(v4).next_header(nh)));
                    REQUIRE(d.r);
                    CHECK(d.r.next_header == nh);
                }
            }
        }
    }
}

TEST_CASE("tunnel mode: inner packets with inconsistent headers are refused") {
    const auto v4 = [](auto&& edit) {
        Bytes b = ip_packet(4, 60);
        edit(b);
        return std::pair{b, kIpip};
    };
    const auto v6 = [](auto&& edit) {
        Bytes b = ip_packet(6, 80);
        edit(b);
        return std::pair{b, kIpv6};
    };
    const std::vector<std::pair<const char*, std::pair<Bytes, uint8_t>>> bad = {
        {"IPv4 total length beyond the payload", v4([](Bytes& b) { put16(&b[2], 61); })},
        {"IPv4 total length 0xffff", v4([](Bytes& b) { put16(&b[2], 0xffff); })},
        {"IPv4 total length below the header", v4([](Bytes& b) { put16(&b[2], 19); })},
        {"IPv4 IHL 4", v4([](Bytes& b) { b[0] = 0x44; })},
        {"IPv4 IHL 0", v4([](Bytes& b) { b[0] = 0x40; })},
        {"IPv4 IHL beyond total length", v4([](Bytes& b) { b[0] = 0x4f; put16(&b[2], 40); })},
        {"IPv4 header cut", v4([](Bytes& b) { b.resize(19); })},
        {"version 5", v4([](Bytes& b) { b[0] = 0x55; })},
        {"version 0", v4([](Bytes& b) { b[0] = 0x05; })},
        {"IPv6 payload length beyond the payload", v6([](Bytes& b) { put16(&b[4], 41); })},
        {"IPv6 payload length 0xffff", v6([](Bytes& b) { put16(&b[4], 0xffff); })},
        {"IPv6 header cut", v6([](Bytes& b) { b.resize(39); })},
        {"IPv6 version 4 bits", v6([](Bytes& b) { b[0] = 0x40; })},
        {"one byte", {Bytes{0x45}, kIpip}},
    };
    for (auto alg : kAlgorithms) {
        for (const Variant& v : {kVariants[0], kVariants[1]}) {
            CAPTURE(alg);
            CAPTURE(describe(v));
            SaPair p = make_pair(options(alg, v));
            const SaConfig& ic = p.in->config();
            uint64_t seq = 0;
            for (const auto& [what, inner] : bad) {
                const std::string_view name = what;
                CAPTURE(name);
                ++seq;
                const Bytes pkt = craft(ic, Craft().seq(seq).data(inner.first).next_header(inner.second));
                expect_authentic_drop(*p.in, pkt, EspDrop::bad_inner_packet, seq);
            }
            // An inner packet shorter than the payload is fine: the rest is
            // TFC padding (RFC 4303 §2.7) and is trimmed.
            for (int f : {4, 6}) {
                Bytes inner = ip_packet(f, 70, 0, 3);
                Bytes data = inner;
                data.resize(inner.size() + 29, 0);
                const DecapOut d =
                    decap(*p.in, craft(ic, Craft().seq(++seq).data(data).next_header(f == 4 ? kIpip : kIpv6)));
                REQUIRE(d.r);
                CHECK(d.inner == inner);
            }
        }
    }
}

TEST_CASE("SPI: another SA's packets and non-ESP protocols are not this SA's") {
    for (auto alg : kAlgorithms) {
        for (const Variant& v : kVariants) {
            CAPTURE(alg);
            CAPTURE(describe(v));
            SaOptions o = options(alg, v);
            SaPair p = make_pair(o);
            const SaConfig& ic = p.in->config();
            for (uint32_t spi : {o.spi + 1, o.spi ^ 0x80000000u, 256u, 0xffffffffu}) {
                CAPTURE(spi);
                SaOptions other = o;
                other.spi = spi;
                // Same keys, other SPI: refused before any crypto.
                auto sender = make_sa(make_config(other, SaDirection::outbound));
                expect_drop(*p.in, seal(*sender, inner_for(o, 30)), EspDrop::bad_spi);
            }
            const Payload pl = payload_for(o, 8);
            for (uint32_t spi : {0u, 1u, 255u, o.spi - 1}) {
                CAPTURE(spi);
                expect_drop(*p.in,
                            craft(ic, Craft().seq(1).data(pl.data).next_header(pl.next_header).spi(spi)),
                            EspDrop::bad_spi);
            }
            // The outer protocol is neither ESP nor UDP.
            Bytes pkt = seal(*p.out, inner_for(o, 30));
            for (uint8_t proto : {uint8_t{6}, uint8_t{51}, uint8_t{59}, uint8_t{4}}) {
                Bytes q = pkt;
                if (v.family == 4) {
                    q[9] = proto;
                    ipv4_fix_checksum(q.data());
                } else {
                    q[6] = proto;
                }
                expect_drop(*p.in, q, EspDrop::bad_spi);
            }
            if (v.udp) {
                // RFC 3948 §2.2: a non-ESP marker (IKE on port 4500) is not ESP.
                const uint32_t hl = ip_len(v.family);
                Bytes ike(pkt.begin(), pkt.end());
                std::fill(ike.begin() + hl + 8, ike.begin() + hl + 12, 0);
                expect_drop(*p.in, ike, EspDrop::bad_spi);
                // RFC 3948 §2.3: a NAT keepalive (one 0xff byte) is far too short.
                Bytes keepalive(pkt.begin(), pkt.begin() + hl + 8);
                keepalive.push_back(0xff);
                fix_lengths(keepalive, ic);
                expect_drop(*p.in, keepalive, EspDrop::truncated);
            }
            REQUIRE(decap(*p.in, pkt).r);
        }
    }
}

TEST_CASE("UDP encapsulation: a UDP length that disagrees with the IP length is truncated") {
    for (auto alg : kAlgorithms) {
        for (const Variant& v : {kVariants[1], kVariants[2]}) {
            CAPTURE(alg);
            CAPTURE(describe(v));
            SaPair p = make_pair(options(alg, v));
            const Bytes pkt = seal(*p.out, inner_for(p.opts, 50));
            const uint32_t hl = ip_len(v.family);
            const uint32_t udp_len = u32(pkt.size()) - hl;
            for (uint32_t bad : {udp_len + 1, udp_len - 1, udp_len + 16, udp_len - 16, 0u, 7u, 8u, 0xffffu}) {
                CAPTURE(bad);
                Bytes q = pkt;
                put16(&q[hl + 4], bad);
                expect_drop(*p.in, q, EspDrop::truncated);
            }
            REQUIRE(decap(*p.in, pkt).r);
        }
    }
}

TEST_CASE("outer headers that do not parse are truncated, never read beyond") {
    for (std::string_view alg : {"aes128gcm16", "aes128-sha1"}) {
        for (const Variant& v : kVariants) {
            CAPTURE(alg);
            CAPTURE(describe(v));
            SaPair p = make_pair(options(alg, v));
            const Bytes pkt = seal(*p.out, inner_for(p.opts, 50));
            std::vector<Bytes> bad;
            if (v.family == 4) {
                for (uint32_t ihl : {0u, 1u, 4u}) {
                    Bytes q = pkt;
                    q[0] = u8(0x40u | ihl);
                    bad.push_back(q);
                }
                Bytes q = pkt;
                q[0] = 0x4f;  // a 60-byte header in a 59-byte packet
                put16(&q[2], 59);
                q.resize(59);
                bad.push_back(q);
            } else {
                // An extension header chain that runs past the end.
                Bytes q(pkt.begin(), pkt.begin() + 40);
                q[6] = kHopByHop;
                q.push_back(kEsp);
                q.push_back(200);  // 1608 bytes claimed
                q.resize(q.size() + 30, 0);
                put16(&q[4], u32(q.size()) - 40);
                bad.push_back(q);
                // Nine hop-by-hop headers: more than the walker follows.
                Bytes r(pkt.begin(), pkt.begin() + 40);
                r[6] = kHopByHop;
                for (int i = 0; i < 9; ++i) {
                    Bytes h(8, 0);
                    h[0] = i < 8 ? kHopByHop : kEsp;
                    h[2] = 1;
                    h[3] = 4;
                    r.insert(r.end(), h.begin(), h.end());
                }
                r.insert(r.end(), pkt.begin() + 40, pkt.end());
                put16(&r[4], u32(r.size()) - 40);
                bad.push_back(r);
            }
            Bytes wrong_version = pkt;
            wrong_version[0] = u8((wrong_version[0] & 0x0f) | 0x70);
            bad.push_back(wrong_version);
            for (std::size_t i = 0; i < bad.size(); ++i) {
                CAPTURE(i);
                expect_drop(*p.in, bad[i], EspDrop::truncated);
            }
            REQUIRE(decap(*p.in, pkt).r);
        }
    }
}

TEST_CASE("replays and old packets are refused before the ICV is even checked") {
    for (auto alg : kAlgorithms) {
        for (const Variant& v : kVariants) {
            CAPTURE(alg);
            CAPTURE(describe(v));
            SaPair p = make_pair(options(alg, v));
            std::vector<Bytes> pkts;
            for (int i = 0; i < 100; ++i) pkts.push_back(seal(*p.out, inner_for(p.opts, 10)));
            REQUIRE(decap(*p.in, pkts[0]).r);
            REQUIRE(decap(*p.in, pkts[99]).r);  // top 100, window 37..100
            // With ESN, left of the window means the next 2^32 block (RFC 4303
            // A2.1): the ICV, computed with other high bits, then fails.
            const EspDrop old = v.esn ? EspDrop::auth_failed : EspDrop::too_old;
            expect_drop(*p.in, pkts[0], old);
            expect_drop(*p.in, pkts[35], old);
            expect_drop(*p.in, pkts[99], EspDrop::replayed);
            // A replay with a broken ICV is still a replay: no crypto is spent.
            Bytes broken = pkts[99];
            broken.back() ^= 1;
            expect_drop(*p.in, broken, EspDrop::replayed);
            REQUIRE(decap(*p.in, pkts[36]).r);  // bottom edge, unseen
            expect_drop(*p.in, pkts[36], EspDrop::replayed);
        }
    }
}

TEST_CASE("random corruption never crashes and never moves the window without authentication") {
    uint64_t state = 0x9e3779b97f4a7c15ull;
    const auto rnd = [&](uint32_t n) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return static_cast<uint32_t>(state % n);
    };
    for (auto alg : kAlgorithms) {
        for (const Variant& v : kVariants) {
            CAPTURE(alg);
            CAPTURE(describe(v));
            SaPair p = make_pair(options(alg, v));
            const SaConfig& c = p.in->config();
            const Bytes pkt = seal(*p.out, inner_for(p.opts, 70));
            for (int iter = 0; iter < 400; ++iter) {
                CAPTURE(iter);
                Bytes q = pkt;
                const uint32_t edits = 1 + rnd(4);
                for (uint32_t e = 0; e < edits; ++e) {
                    switch (rnd(4)) {
                    case 0: q[rnd(u32(q.size()))] = u8(rnd(256)); break;
                    case 1: q.resize(rnd(u32(q.size()) + 1)); break;
                    case 2: q.resize(q.size() + rnd(40), u8(rnd(256))); break;
                    default: q[rnd(std::min(u32(q.size()), 48u))] ^= u8(1u << rnd(8)); break;
                    }
                    if (q.empty()) break;
                }
                if (q.size() >= ip_len(v.family) && rnd(2)) fix_lengths(q, c);
                const uint64_t top = p.in->last_seq();
                const uint64_t drops = total_drops(*p.in);
                const DecapOut d = decap(*p.in, q);
                if (d.r) {
                    p.in->set_last_seq(0);  // keep the original sequence number usable
                    continue;
                }
                CHECK(total_drops(*p.in) == drops + 1);
                const uint64_t after = p.in->last_seq();
                p.in->set_last_seq(0);
                switch (d.r.drop) {
                case EspDrop::truncated:
                case EspDrop::bad_spi:
                case EspDrop::auth_failed:
                case EspDrop::replayed:
                case EspDrop::too_old:
                case EspDrop::fragment:
                    CHECK(after == top);
                    break;
                default:
                    break;
                }
            }
            REQUIRE(decap(*p.in, pkt).r);
        }
    }
}
