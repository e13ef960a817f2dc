#include "esp/ip_packet.h"

namespace xdpsec::esp::ip {

uint32_t checksum_add(uint32_t sum, const uint8_t* p, uint32_t len) {
    uint64_t s = sum;
    while (len >= 2) {
        s += load16(p);
        p += 2;
        len -= 2;
    }
    if (len) s += uint32_t{p[0]} << 8;
    while (s >> 32) s = (s & 0xffffffff) + (s >> 32);
    return static_cast<uint32_t>(s);
}

uint16_t checksum_fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

void ipv4_set_checksum(uint8_t* hdr) {
    const uint32_t ihl = (hdr[0] & 0x0f) * 4u;
    store16(hdr + 10, 0);
    store16(hdr + 10, checksum_fold(checksum_add(0, hdr, ihl)));
}

void udp6_set_checksum(const uint8_t* ip6, uint8_t* udp, uint32_t udp_len) {
    store16(udp + 6, 0);
    uint32_t sum = checksum_add(0, ip6 + 8, 32);  // source and destination
    sum += udp_len;
    sum += kProtoUdp;
    sum = checksum_add(sum, udp, udp_len);
    uint16_t c = checksum_fold(sum);
    store16(udp + 6, c == 0 ? 0xffff : c);  // RFC 8200 §8.1: zero is sent as all ones
}

Ipv6Walk ipv6_walk(const uint8_t* ip6, uint32_t len, bool insertion_point) {
    Ipv6Walk w;
    if (len < kIpv6HeaderLen) return w;
    uint8_t nh = ip6[6];
    uint32_t nh_off = 6;
    uint32_t off = kIpv6HeaderLen;
    for (int hops = 0; hops < 8; ++hops) {
        const bool ext = nh == 0 || nh == 43 || nh == 44 || nh == 60;
        if (!ext) break;
        if (off + 8 > len) return w;
        const uint32_t hlen = nh == 44 ? 8u : (ip6[off + 1] + 1u) * 8u;
        if (off + hlen > len) return w;
        if (nh == 60 && insertion_point) {
            // Destination options before a routing header stay in front of ESP;
            // the final ones are end-to-end and go behind it.
            if (ip6[off] != 43) break;
        }
        if (nh == 44) w.fragment = true;
        nh_off = off;
        nh = ip6[off];
        off += hlen;
    }
    const bool still_ext = nh == 0 || nh == 43 || nh == 44 || (nh == 60 && !insertion_point);
    if (still_ext) return w;  // more extension headers than we walk: refuse
    w.ok = true;
    w.proto = nh;
    w.offset = off;
    w.nh_offset = nh_off;
    return w;
}

}  // namespace xdpsec::esp::ip
