#include "esp/esp_engine.h"

#include "esp/ip_packet.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace xdpsec::esp {

using namespace ip;

namespace {

constexpr uint32_t kEspHeaderLen = 8;  // SPI + sequence number
constexpr uint32_t kTrailerLen = 2;    // pad length + next header

uint32_t outer_header_len(const SaConfig& c) {
    return c.local.family == 4 ? kIpv4HeaderLen : kIpv6HeaderLen;
}

uint32_t front_len(const SaConfig& c) {
    return (c.udp_encap ? kUdpHeaderLen : 0) + kEspHeaderLen + c.algorithm.iv_len();
}

uint32_t pad_len(uint32_t payload_len, uint32_t block) {
    return (block - (payload_len + kTrailerLen) % block) % block;
}

// Largest payload P with roundup(P + 2, block) <= avail.
uint32_t max_payload(uint32_t avail, uint32_t block) {
    const uint32_t fit = avail / block * block;
    return fit >= kTrailerLen ? fit - kTrailerLen : 0;
}

// The IP packet at p: its real length (trimming link-layer padding) and
// header facts; ok=false when it is not a well-formed IPv4/IPv6 packet.
struct IpInfo {
    bool ok = false;
    uint8_t version = 0;
    uint32_t length = 0;
    uint32_t header_len = 0;  // IPv4 IHL; IPv6 fixed header
};

// Always inlined: called out of line, GCC 12 returns IpInfo through a stack
// slot written piecewise and reloaded whole, a store-forwarding stall per call.
[[gnu::always_inline]] inline IpInfo inspect_ip(const uint8_t* p, uint32_t len) {
    IpInfo i;
    if (len < 1) return i;
    i.version = p[0] >> 4;
    if (i.version == 4) {
        if (len < kIpv4HeaderLen) return i;
        i.header_len = (p[0] & 0x0f) * 4u;
        i.length = load16(p + 2);
        if (i.header_len < kIpv4HeaderLen || i.length < i.header_len || i.length > len) return i;
    } else if (i.version == 6) {
        if (len < kIpv6HeaderLen) return i;
        i.header_len = kIpv6HeaderLen;
        i.length = kIpv6HeaderLen + load16(p + 4);
        if (i.length > len) return i;  // also refuses jumbograms (payload length 0 + HBH)
    } else {
        return i;
    }
    i.ok = true;
    return i;
}

uint8_t traffic_class(const uint8_t* p) {
    return p[0] >> 4 == 4 ? p[1] : static_cast<uint8_t>((p[0] & 0x0f) << 4 | p[1] >> 4);
}

void set_traffic_class(uint8_t* p, uint8_t tc) {
    if (p[0] >> 4 == 4) {
        p[1] = tc;
        ipv4_set_checksum(p);
    } else {
        p[0] = static_cast<uint8_t>(0x60 | tc >> 4);
        p[1] = static_cast<uint8_t>((p[1] & 0x0f) | (tc & 0x0f) << 4);
    }
}

constexpr uint8_t kEcnMask = 0x03, kNotEct = 0, kEct1 = 1, kEct0 = 2, kCe = 3;

// RFC 6040 §4.2: the inner ECN field after decapsulation, or nullopt to drop.
std::optional<uint8_t> ecn_decap(uint8_t inner, uint8_t outer) {
    inner &= kEcnMask;
    outer &= kEcnMask;
    if (outer == kCe) return inner == kNotEct ? std::nullopt : std::optional<uint8_t>(kCe);
    if (outer == kEct1 && inner == kEct0) return kEct1;
    return inner;
}

// What the outer header copies from the inner one, read before encryption.
struct InnerFacts {
    uint8_t tc;  // DSCP copied, ECN copied (RFC 6040 normal mode)
    bool df;     // IPv4 DF, or true for IPv6, which routers never fragment either
};

InnerFacts inner_facts(const uint8_t* inner) {
    return {traffic_class(inner), inner[0] >> 4 == 6 || (load16(inner + 6) & 0x4000) != 0};
}

void write_outer_header(const SaConfig& c, uint8_t* o, uint32_t total, InnerFacts inner,
                        uint16_t id) {
    const uint8_t tc = inner.tc;
    const uint8_t proto = c.udp_encap ? kProtoUdp : kProtoEsp;
    if (c.local.family == 4) {
        bool df = false;
        switch (c.df) {
        case DfPolicy::copy: df = inner.df; break;
        case DfPolicy::set: df = true; break;
        case DfPolicy::clear: df = false; break;
        }
        o[0] = 0x45;
        o[1] = tc;
        store16(o + 2, static_cast<uint16_t>(total));
        store16(o + 4, id);
        store16(o + 6, df ? 0x4000 : 0);
        o[8] = c.ttl;
        o[9] = proto;
        std::memcpy(o + 12, c.local.bytes.data(), 4);
        std::memcpy(o + 16, c.remote.bytes.data(), 4);
        ipv4_set_checksum(o);
    } else {
        store32(o, uint32_t{6} << 28 | uint32_t{tc} << 20);
        store16(o + 4, static_cast<uint16_t>(total - kIpv6HeaderLen));
        o[6] = proto;
        o[7] = c.ttl;
        std::memcpy(o + 8, c.local.bytes.data(), 16);
        std::memcpy(o + 24, c.remote.bytes.data(), 16);
    }
}

std::size_t idx(EspDrop d) { return static_cast<std::size_t>(d); }

}  // namespace

uint32_t esp_overhead(const SaConfig& c, uint32_t inner_len) {
    const bool tunnel = c.mode == Mode::tunnel;
    const uint32_t outer = tunnel ? outer_header_len(c) : 0;
    // Transport mode pads what follows the IP header, not the whole packet:
    // with 16-byte blocks the 20/40-byte header changes the padding.
    const uint32_t base = tunnel ? 0 : std::min(inner_len, outer_header_len(c));
    return outer + front_len(c) + pad_len(inner_len - base, c.algorithm.block_len()) +
           kTrailerLen + c.algorithm.icv_len();
}

struct Engine {
    static EncapResult encapsulate(Sa& sa, PacketBuffer& buf, uint32_t mtu);
    static DecapResult decapsulate(Sa& sa, PacketBuffer& buf);
};

EncapResult Engine::encapsulate(Sa& sa, PacketBuffer& buf, uint32_t mtu) {
    const SaConfig& c = sa.config_;
    const Algorithm& alg = c.algorithm;
    auto drop = [&](EspDrop d) {
        ++sa.counters_.drops[idx(d)];
        return EncapResult{EncapStatus::dropped, d, 0, false};
    };
    if (c.direction != SaDirection::outbound) return drop(EspDrop::crypto_error);

    uint8_t* pkt = buf.data();
    const IpInfo in = inspect_ip(pkt, buf.length);
    if (!in.ok) return drop(EspDrop::not_ip);
    const uint32_t len = in.length;

    const bool tunnel = c.mode == Mode::tunnel;
    uint32_t keep = 0;  // transport mode: header bytes that stay in front of ESP
    uint8_t next_header = in.version == 4 ? kProtoIpip : kProtoIpv6;
    uint32_t nh_offset = 9;  // transport mode: byte naming the protocol after the kept headers
    if (!tunnel) {
        if (in.version != c.local.family) return drop(EspDrop::not_ip);
        if (in.version == 4) {
            // RFC 4303 §3.3: transport mode applies to whole datagrams only.
            if (ipv4_is_fragment(pkt)) return drop(EspDrop::fragment);
            keep = in.header_len;
        } else {
            const Ipv6Walk w = ipv6_walk(pkt, len, true);
            if (!w.ok) return drop(EspDrop::not_ip);
            if (w.fragment) return drop(EspDrop::fragment);
            keep = w.offset;
            nh_offset = w.nh_offset;
        }
        next_header = pkt[nh_offset];
    }

    if (sa.hard_expired()) return drop(EspDrop::lifetime_expired);
    const uint64_t seq_max = c.esn ? std::numeric_limits<uint64_t>::max()
                                   : std::numeric_limits<uint32_t>::max();
    if (sa.last_seq_ >= seq_max) return drop(EspDrop::seq_overflow);

    const uint32_t outer = tunnel ? outer_header_len(c) : keep;
    const uint32_t front = front_len(c);
    const uint32_t icv = alg.icv_len();
    const uint32_t block = alg.block_len();
    const uint32_t data_len = len - keep;  // what ESP carries, before TFC padding
    const uint32_t fixed = outer + front + icv;

    // The outer length fields have 16 bits (IPv4 total length, IPv6 payload
    // length, and the UDP length within either): no packet may outgrow them,
    // whatever the MTU.
    const uint32_t max_total =
        (tunnel ? c.local.family : in.version) == 4 ? 0xffff : 0xffff + kIpv6HeaderLen;
    const uint32_t limit = mtu ? std::min(mtu, max_total) : max_total;
    uint32_t payload_len = data_len;
    if (fixed + data_len + pad_len(data_len, block) + kTrailerLen > limit) {
        // 0 when not even an empty payload fits (rather than the bare kept
        // headers of transport mode, which would not fit either).
        const uint32_t avail = limit > fixed ? limit - fixed : 0;
        const uint32_t fits =
            avail / block * block >= kTrailerLen ? max_payload(avail, block) + keep : 0;
        return EncapResult{EncapStatus::too_big, EspDrop::none, fits, false};
    }
    if (tunnel && c.tfc_pad_to > data_len) {
        // RFC 4303 §2.7: TFC padding never makes the packet exceed the MTU.
        const uint32_t target = std::min<uint32_t>(c.tfc_pad_to, max_payload(limit - fixed, block));
        payload_len = std::max(payload_len, target);
    }
    const uint32_t pad = pad_len(payload_len, block);
    const uint32_t total = fixed + payload_len + pad + kTrailerLen;
    const uint32_t head_needed = tunnel ? outer + front : front;
    const uint32_t tail_needed = total - head_needed - len;
    // Room after the IP packet: link-layer padding behind it counts as free.
    // buf itself stays untouched until the packet is certain to be sent.
    const uint32_t tailroom = buf.capacity - buf.offset - len;
    if (buf.headroom() < head_needed || tailroom < tail_needed) return drop(EspDrop::no_room);

    const InnerFacts facts = inner_facts(pkt);
    uint8_t* start = pkt - head_needed;
    if (!tunnel) std::memmove(start, pkt, keep);
    uint8_t* udp = start + outer;
    uint8_t* esp = udp + (c.udp_encap ? kUdpHeaderLen : 0);
    uint8_t* iv = esp + kEspHeaderLen;
    uint8_t* payload = iv + alg.iv_len();
    std::memset(payload + data_len, 0, payload_len - data_len);
    uint8_t* trailer = payload + payload_len;
    for (uint32_t i = 0; i < pad; ++i) trailer[i] = static_cast<uint8_t>(i + 1);  // RFC 4303 §2.4
    trailer[pad] = static_cast<uint8_t>(pad);
    trailer[pad + 1] = next_header;

    const uint64_t seq = ++sa.last_seq_;
    store32(esp, c.spi);
    store32(esp + 4, static_cast<uint32_t>(seq));
    const EspParts parts{esp, iv, payload, payload_len + pad + kTrailerLen,
                         trailer + pad + kTrailerLen};
    // Default-constructed, then set: GCC 12 passes the optional through the
    // stack, and so without ESN it is one whole store that forwards to the
    // reload (the ternary's partial stores stalled store-to-load forwarding).
    std::optional<uint32_t> esn_hi;
    if (c.esn) esn_hi = static_cast<uint32_t>(seq >> 32);
    if (!sa.crypto_->seal(parts, seq, esn_hi)) return drop(EspDrop::crypto_error);

    const uint8_t proto = c.udp_encap ? kProtoUdp : kProtoEsp;
    if (tunnel) {
        write_outer_header(c, start, total, facts, ++sa.ip_id_);
    } else if (in.version == 4) {
        start[9] = proto;
        store16(start + 2, static_cast<uint16_t>(total));
        ipv4_set_checksum(start);
    } else {
        start[nh_offset] = proto;
        store16(start + 4, static_cast<uint16_t>(total - kIpv6HeaderLen));
    }
    if (c.udp_encap) {
        store16(udp, c.udp_encap->local_port);
        store16(udp + 2, c.udp_encap->remote_port);
        store16(udp + 4, static_cast<uint16_t>(total - outer));
        store16(udp + 6, 0);  // RFC 3948 §2.1: zero over IPv4
        if (c.local.family == 6) udp6_set_checksum(start, udp, total - outer);
    }

    ++sa.counters_.packets;
    sa.counters_.bytes += len;
    buf.offset = static_cast<uint32_t>(start - buf.frame);
    buf.length = total;
    return EncapResult{EncapStatus::ok, EspDrop::none, 0, sa.soft_expired()};
}

DecapResult Engine::decapsulate(Sa& sa, PacketBuffer& buf) {
    const SaConfig& c = sa.config_;
    const Algorithm& alg = c.algorithm;
    auto drop = [&](EspDrop d) {
        ++sa.counters_.drops[idx(d)];
        return DecapResult{d, false, 0};
    };
    if (c.direction != SaDirection::inbound) return drop(EspDrop::crypto_error);

    uint8_t* pkt = buf.data();
    const IpInfo out = inspect_ip(pkt, buf.length);
    if (!out.ok) return drop(EspDrop::truncated);
    const uint32_t len = out.length;

    uint32_t esp_off = 0;   // where UDP or ESP starts
    uint32_t nh_offset = 9; // byte that names it
    uint8_t proto = 0;
    if (out.version == 4) {
        if (ipv4_is_fragment(pkt)) return drop(EspDrop::fragment);
        esp_off = out.header_len;
        proto = pkt[9];
    } else {
        const Ipv6Walk w = ipv6_walk(pkt, len, false);
        if (!w.ok) return drop(EspDrop::truncated);
        if (w.fragment) return drop(EspDrop::fragment);
        esp_off = w.offset;
        nh_offset = w.nh_offset;
        proto = w.proto;
    }
    const uint32_t ip_hdr_len = esp_off;
    if (proto == kProtoUdp) {
        // RFC 3948 §2.1: ESP behind UDP; the ICV makes the UDP checksum moot.
        if (len - esp_off < kUdpHeaderLen) return drop(EspDrop::truncated);
        const uint16_t udp_len = load16(pkt + esp_off + 4);
        if (udp_len != len - esp_off) return drop(EspDrop::truncated);
        esp_off += kUdpHeaderLen;
    } else if (proto != kProtoEsp) {
        return drop(EspDrop::bad_spi);
    }

    const uint32_t iv_len = alg.iv_len();
    const uint32_t icv_len = alg.icv_len();
    const uint32_t esp_len = len - esp_off;
    if (esp_len < kEspHeaderLen + iv_len + kTrailerLen + icv_len) return drop(EspDrop::truncated);
    const uint32_t ct_len = esp_len - kEspHeaderLen - iv_len - icv_len;
    if (ct_len % alg.block_len() != 0) return drop(EspDrop::truncated);

    uint8_t* esp = pkt + esp_off;
    if (load32(esp) != c.spi) return drop(EspDrop::bad_spi);
    const uint32_t seq_low = load32(esp + 4);

    uint64_t seq = seq_low;
    if (sa.window_) {
        const auto chk = sa.window_->check(seq_low);
        if (chk.verdict != EspDrop::none) return drop(chk.verdict);
        seq = chk.seq;
    }
    if (sa.hard_expired()) return drop(EspDrop::lifetime_expired);

    uint8_t* payload = esp + kEspHeaderLen + iv_len;
    const EspParts parts{esp, esp + kEspHeaderLen, payload, ct_len, payload + ct_len};
    std::optional<uint32_t> esn_hi;  // set as in encapsulate, for the same reason
    if (c.esn) esn_hi = static_cast<uint32_t>(seq >> 32);
    // RFC 4303 §3.4.4: authenticate before anything changes; the window moves after.
    if (!sa.crypto_->open(parts, esn_hi)) return drop(EspDrop::auth_failed);
    if (sa.window_) sa.window_->accept(seq);

    const uint8_t pad = payload[ct_len - 2];
    const uint8_t next_header = payload[ct_len - 1];
    if (uint32_t{pad} + kTrailerLen > ct_len) return drop(EspDrop::bad_padding);
    const uint32_t data_len = ct_len - kTrailerLen - pad;
    for (uint32_t i = 0; i < pad; ++i) {
        if (payload[data_len + i] != i + 1) return drop(EspDrop::bad_padding);
    }
    if (next_header == kProtoNone) return drop(EspDrop::dummy_packet);

    if (c.mode == Mode::tunnel) {
        if (next_header != kProtoIpip && next_header != kProtoIpv6)
            return drop(EspDrop::bad_next_header);
        const IpInfo in = inspect_ip(payload, data_len);
        if (!in.ok || (in.version == 4) != (next_header == kProtoIpip))
            return drop(EspDrop::bad_inner_packet);
        const auto ecn = ecn_decap(traffic_class(payload), traffic_class(pkt));
        if (!ecn) return drop(EspDrop::ecn_drop);
        const uint8_t tc = traffic_class(payload);
        if ((tc & kEcnMask) != *ecn) set_traffic_class(payload, static_cast<uint8_t>((tc & ~kEcnMask) | *ecn));
        buf.offset = static_cast<uint32_t>(payload - buf.frame);
        buf.length = in.length;  // drops TFC padding (RFC 4303 §2.7)
    } else {
        if (next_header == kProtoEsp) return drop(EspDrop::bad_next_header);
        uint8_t* start = payload - ip_hdr_len;
        std::memmove(start, pkt, ip_hdr_len);
        const uint32_t total = ip_hdr_len + data_len;
        if (out.version == 4) {
            start[9] = next_header;
            store16(start + 2, static_cast<uint16_t>(total));
            ipv4_set_checksum(start);
        } else {
            start[nh_offset] = next_header;
            store16(start + 4, static_cast<uint16_t>(total - kIpv6HeaderLen));
        }
        buf.offset = static_cast<uint32_t>(start - buf.frame);
        buf.length = total;
    }
    ++sa.counters_.packets;
    sa.counters_.bytes += buf.length;
    return DecapResult{EspDrop::none, sa.soft_expired(), next_header};
}

EncapResult encapsulate(Sa& sa, PacketBuffer& buf, uint32_t mtu) {
    return Engine::encapsulate(sa, buf, mtu);
}

DecapResult decapsulate(Sa& sa, PacketBuffer& buf) { return Engine::decapsulate(sa, buf); }

}  // namespace xdpsec::esp
