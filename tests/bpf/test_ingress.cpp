// The ingress XDP program (uplink), run without a NIC on the populated
// scenario: tables of frames, each with its verdict, reason and, for
// redirects, the SA slot the worker finds in front of the frame.
#include <doctest/doctest.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <xdpsec/bpf_abi.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane.h"
#include "frames.h"
#include "scenario.h"

using namespace xdpsec::test;
using namespace xdpsec::test::scenario;

namespace {

Row redirected(std::string description, Bytes frame, std::uint32_t slot) {
    return {std::move(description), std::move(frame), XDP_REDIRECT, XDPSEC_REASON_REDIRECT_ESP, slot};
}

Row passed(std::string description, Bytes frame, xdpsec_verdict_reason reason) {
    return {std::move(description), std::move(frame), XDP_PASS, reason};
}

Row dropped(std::string description, Bytes frame, xdpsec_verdict_reason reason) {
    return {std::move(description), std::move(frame), XDP_DROP, reason};
}

// Plaintext from src to dst on the uplink.
Bytes plain4(const char* src, const char* dst, std::uint8_t proto, const Bytes& payload,
             std::optional<std::uint16_t> vlan = std::nullopt) {
    return pad_to_min_frame(eth(ETH_P_IP, vlan) + ipv4(proto, payload, between(src, dst)));
}

Bytes plain6(const char* src, const char* dst, std::uint8_t proto, const Bytes& payload) {
    return eth(ETH_P_IPV6) + ipv6(proto, payload, between6(src, dst));
}

Bytes fragment4(const char* src, const char* dst, std::uint8_t proto) {
    return eth(ETH_P_IP) + ipv4(proto, filler(64), with_frag_off(185, between(src, dst)));
}

}  // namespace

TEST_CASE("ingress: frames that are not ESP, IKE or plaintext for a policy") {
    if (skip_without_root()) return;
    Fixture f;

    f.check(
        Program::ingress,
        {
            // not IP
            passed("ARP", pad_to_min_frame(eth(ETH_P_ARP) + arp()), XDPSEC_REASON_PASS_NOT_IP),
            passed("802.1Q-tagged ARP", pad_to_min_frame(eth(ETH_P_ARP, 10) + arp()),
                   XDPSEC_REASON_PASS_NOT_IP),
            passed("LLDP", pad_to_min_frame(eth(0x88cc) + filler(30)), XDPSEC_REASON_PASS_NOT_IP),
            passed("an Ethernet header and nothing else", eth(0x88b5), XDPSEC_REASON_PASS_NOT_IP),
            passed("QinQ: only one 802.1Q tag is looked through",
                   pad_to_min_frame(eth(ETH_P_8021Q, 10) + Bytes{0, 20, 0x08, 0x00} +
                                    ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28)))),
                   XDPSEC_REASON_PASS_NOT_IP),

            // IKE
            passed("IPv4 UDP/500", eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28))),
                   XDPSEC_REASON_PASS_IKE),
            passed("IPv4 UDP/500 from an ephemeral port",
                   eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(40000, kIkePort, filler(28))),
                   XDPSEC_REASON_PASS_IKE),
            passed("IPv4 UDP/4500 with the non-ESP marker",
                   eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, non_esp_marker_ike())),
                   XDPSEC_REASON_PASS_IKE),
            passed("IPv4 UDP/4500 NAT-keepalive in a padded frame",
                   pad_to_min_frame(eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, {0xff}))),
                   XDPSEC_REASON_PASS_IKE),
            passed("IPv4 with options, UDP/500",
                   eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28)), with_options(3)),
                   XDPSEC_REASON_PASS_IKE),
            passed("802.1Q-tagged IPv4 UDP/500",
                   eth(ETH_P_IP, 10) + ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28))),
                   XDPSEC_REASON_PASS_IKE),
            passed("IPv6 UDP/500", eth(ETH_P_IPV6) + ipv6(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28))),
                   XDPSEC_REASON_PASS_IKE),
            passed(
                "IPv6 hop-by-hop + destination options + UDP/4500 with the non-ESP marker",
                eth(ETH_P_IPV6) +
                    ipv6(IPPROTO_HOPOPTS,
                         ipv6_opt(IPPROTO_DSTOPTS, 0,
                                  ipv6_opt(IPPROTO_UDP, 2, udp(kNattPort, kNattPort, non_esp_marker_ike())))),
                XDPSEC_REASON_PASS_IKE),
            passed("IPv6 atomic fragment (offset 0, M clear) + UDP/500",
                   eth(ETH_P_IPV6) + ipv6(IPPROTO_FRAGMENT, ipv6_frag(IPPROTO_UDP, 0, false,
                                                                      udp(kIkePort, kIkePort, filler(28)))),
                   XDPSEC_REASON_PASS_IKE),
            passed("IKE from inside a protected prefix: IKE goes before the policy check",
                   plain4("10.2.0.9", "10.1.0.1", IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28))),
                   XDPSEC_REASON_PASS_IKE),
            passed("NAT-keepalive to a protected prefix",
                   plain4("10.2.0.9", "10.1.0.1", IPPROTO_UDP, udp(kNattPort, kNattPort, {0xff})),
                   XDPSEC_REASON_PASS_IKE),

            // fragments no policy claims
            passed("IPv4 first fragment of UDP/500",
                   eth(ETH_P_IP) +
                       ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(64), 1400), with_frag_off(0x2000)),
                   XDPSEC_REASON_PASS_FRAGMENT),
            passed("IPv4 later fragment", eth(ETH_P_IP) + ipv4(IPPROTO_UDP, filler(64), with_frag_off(185)),
                   XDPSEC_REASON_PASS_FRAGMENT),
            passed("IPv4 last fragment of ESP",
                   eth(ETH_P_IP) + ipv4(IPPROTO_ESP, filler(64), with_frag_off(185)),
                   XDPSEC_REASON_PASS_FRAGMENT),
            passed("IPv6 first fragment of UDP/500",
                   eth(ETH_P_IPV6) +
                       ipv6(IPPROTO_FRAGMENT,
                            ipv6_frag(IPPROTO_UDP, 0, true, udp(kIkePort, kIkePort, filler(64), 1400))),
                   XDPSEC_REASON_PASS_FRAGMENT),
            passed("IPv6 later fragment",
                   eth(ETH_P_IPV6) + ipv6(IPPROTO_FRAGMENT, ipv6_frag(IPPROTO_UDP, 175, false, filler(64))),
                   XDPSEC_REASON_PASS_FRAGMENT),

            // other IP
            passed("IPv4 TCP/22", eth(ETH_P_IP) + ipv4(IPPROTO_TCP, tcp(40000, 22)),
                   XDPSEC_REASON_PASS_OTHER),
            passed("IPv4 ICMP", pad_to_min_frame(eth(ETH_P_IP) + ipv4(IPPROTO_ICMP, filler(16))),
                   XDPSEC_REASON_PASS_OTHER),
            passed("IPv4 UDP/53", eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(53000, 53, filler(30))),
                   XDPSEC_REASON_PASS_OTHER),
            passed("IPv4 UDP from port 500 to another port: only the destination counts",
                   eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kIkePort, 40000, filler(28))),
                   XDPSEC_REASON_PASS_OTHER),
            passed("IPv4 AH: not ESP", eth(ETH_P_IP) + ipv4(51, filler(40)), XDPSEC_REASON_PASS_OTHER),
            passed("IPv4 SCTP", eth(ETH_P_IP) + ipv4(kIpprotoSctp, sctp(5000, 5000)),
                   XDPSEC_REASON_PASS_OTHER),
            passed("IPv6 ICMPv6", eth(ETH_P_IPV6) + ipv6(IPPROTO_ICMPV6, filler(16)),
                   XDPSEC_REASON_PASS_OTHER),
            passed("IPv6 no next header", eth(ETH_P_IPV6) + ipv6(59, {}), XDPSEC_REASON_PASS_OTHER),
            passed("IPv6 with six extension headers: longer than RFC 8200 allows, left to the kernel",
                   eth(ETH_P_IPV6) +
                       ipv6(IPPROTO_HOPOPTS,
                            ipv6_opt(IPPROTO_DSTOPTS, 0,
                                     ipv6_opt(IPPROTO_DSTOPTS, 0,
                                              ipv6_opt(IPPROTO_DSTOPTS, 0,
                                                       ipv6_opt(IPPROTO_DSTOPTS, 0,
                                                                ipv6_opt(IPPROTO_DSTOPTS, 0,
                                                                         ipv6_opt(IPPROTO_UDP, 0,
                                                                                  udp(kIkePort, kIkePort,
                                                                                      filler(28))))))))),
                   XDPSEC_REASON_PASS_OTHER),

            // malformed
            dropped("IPv4 ethertype, IPv6 header",
                    eth(ETH_P_IP) + ipv6(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28))),
                    XDPSEC_REASON_DROP_MALFORMED),
            dropped("IPv6 ethertype, IPv4 header",
                    eth(ETH_P_IPV6) + ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(48))),
                    XDPSEC_REASON_DROP_MALFORMED),
            dropped("IPv4 IHL 4",
                    eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28)), with_ihl(4)),
                    XDPSEC_REASON_DROP_MALFORMED),
            dropped("IPv4 IHL 15 beyond the frame",
                    pad_to_min_frame(eth(ETH_P_IP) +
                                     ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, {}), with_ihl(15))),
                    XDPSEC_REASON_DROP_MALFORMED),
            dropped("IPv6 destination options longer than the frame",
                    eth(ETH_P_IPV6) + ipv6(IPPROTO_DSTOPTS, Bytes{IPPROTO_ESP, 20} + filler(30)),
                    XDPSEC_REASON_DROP_MALFORMED),
            dropped("TCP shorter than its fixed header", eth(ETH_P_IP) + ipv4(IPPROTO_TCP, filler(19)),
                    XDPSEC_REASON_DROP_MALFORMED),
            dropped("UDP/4500 empty datagram in a padded frame",
                    pad_to_min_frame(eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, {}))),
                    XDPSEC_REASON_DROP_MALFORMED),
            dropped("UDP/4500 single octet that is not 0xff",
                    pad_to_min_frame(eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, {0x00}))),
                    XDPSEC_REASON_DROP_MALFORMED),
            dropped("UDP/4500 three octets: neither keepalive, marker nor SPI",
                    pad_to_min_frame(eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, {0, 0, 0}))),
                    XDPSEC_REASON_DROP_MALFORMED),
            dropped(
                "UDP/4500 length below the UDP header",
                pad_to_min_frame(eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, filler(8), 4))),
                XDPSEC_REASON_DROP_MALFORMED),
            dropped("UDP/4500 an SPI but no sequence number in the datagram",
                    pad_to_min_frame(eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort,
                                                                           Bytes{0, 0, 0x10, 0, 0, 0, 0}))),
                    XDPSEC_REASON_DROP_MALFORMED),
            dropped("ESP: an SPI and half a sequence number, unpadded",
                    eth(ETH_P_IP) + ipv4(IPPROTO_ESP, Bytes{0, 0, 0x10, 0, 0, 0}),
                    XDPSEC_REASON_DROP_MALFORMED),
        });
}

TEST_CASE("ingress: ESP and ESP-in-UDP by SAD entry, SA state and replay window") {
    if (skip_without_root()) return;
    Fixture f;
    const std::uint32_t bottom = static_cast<std::uint32_t>(kReplayBottom);

    f.check(
        Program::ingress,
        {
            // known SPI
            redirected("IPv4 ESP, sequence number at the window bottom",
                       eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, bottom)), kSlotEsp4),
            redirected("IPv4 ESP, the highest sequence number",
                       eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, 0xffffffff)), kSlotEsp4),
            redirected("IPv4 with options, ESP",
                       eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, 500), with_options(2)), kSlotEsp4),
            redirected("802.1Q-tagged IPv4 ESP", eth(ETH_P_IP, 4094) + ipv4(IPPROTO_ESP, esp(kSpi, 500)),
                       kSlotEsp4),
            redirected("IPv4 ESP, only the headers: the worker judges the rest",
                       pad_to_min_frame(eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, 500, 0))), kSlotEsp4),
            redirected("IPv6 ESP", eth(ETH_P_IPV6) + ipv6(IPPROTO_ESP, esp(kSpi, 500)), kSlotEsp6),
            redirected("IPv6 routing header + ESP",
                       eth(ETH_P_IPV6) + ipv6(IPPROTO_ROUTING, ipv6_opt(IPPROTO_ESP, 1, esp(kSpi, 500))),
                       kSlotEsp6),
            redirected(
                "IPv6 atomic fragment + ESP",
                eth(ETH_P_IPV6) + ipv6(IPPROTO_FRAGMENT, ipv6_frag(IPPROTO_ESP, 0, false, esp(kSpi, 500))),
                kSlotEsp6),
            redirected("ESN: a sequence number left of the window may be the next 2^32 block's",
                       eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpiEsn, 1)), kSlotEsn),
            redirected("anti-replay off: no window to be left of",
                       eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpiNoReplay, 1)), kSlotNoReplay),

            // ESP in UDP: the same SAD, the frame goes as it is
            redirected("IPv4 UDP/4500 ESP",
                       eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, esp(kSpiNatt, 200))),
                       kSlotNatt),
            redirected("IPv4 UDP/4500 ESP from a NAT-mapped port",
                       eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(61000, kNattPort, esp(kSpiNatt, 200))),
                       kSlotNatt),
            redirected("802.1Q-tagged IPv4 UDP/4500 ESP",
                       eth(ETH_P_IP, 4094) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, esp(kSpiNatt, 200))),
                       kSlotNatt),
            redirected("IPv4 UDP/4500 ESP, the SA without UDP encapsulation: the worker decides",
                       eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, esp(kSpi, 200))),
                       kSlotEsp4),
            redirected("IPv4 UDP/4500 ESP with only SPI and sequence number",
                       pad_to_min_frame(eth(ETH_P_IP) +
                                        ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, esp(kSpiNatt, 200, 0)))),
                       kSlotNatt),
            redirected("802.1Q-tagged IPv6 UDP/4500 ESP",
                       eth(ETH_P_IPV6, 10) + ipv6(IPPROTO_UDP, udp(kNattPort, kNattPort, esp(kSpi, 200))),
                       kSlotEsp6),

            // unknown SPI
            dropped("IPv4 ESP, SPI not in the SAD", eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpiUnknown, 500)),
                    XDPSEC_REASON_DROP_UNKNOWN_SPI),
            dropped("IPv4 ESP, SPI 0 (reserved)", eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(0, 500)),
                    XDPSEC_REASON_DROP_UNKNOWN_SPI),
            dropped("IPv4 ESP, a known SPI for another destination",
                    eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, 500), between("192.0.2.1", "192.0.2.99")),
                    XDPSEC_REASON_DROP_UNKNOWN_SPI),
            dropped(
                "IPv6 ESP, a known SPI for another destination",
                eth(ETH_P_IPV6) + ipv6(IPPROTO_ESP, esp(kSpi, 500), between6("2001:db8::1", "2001:db8::3")),
                XDPSEC_REASON_DROP_UNKNOWN_SPI),
            dropped("IPv4 ESP, an SPI only an IPv4 SA has, to IPv6",
                    eth(ETH_P_IPV6) + ipv6(IPPROTO_ESP, esp(kSpiNatt, 500)), XDPSEC_REASON_DROP_UNKNOWN_SPI),
            dropped("IPv4 UDP/4500 ESP, SPI not in the SAD",
                    eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, esp(kSpiUnknown, 200))),
                    XDPSEC_REASON_DROP_UNKNOWN_SPI),
            dropped("ESP to a protected prefix is still ESP: looked up, not policy-checked",
                    plain4("10.2.0.9", "10.1.0.1", IPPROTO_ESP, esp(kSpi, 500)),
                    XDPSEC_REASON_DROP_UNKNOWN_SPI),

            // SA not active
            dropped("SAD entry for an EXPIRED SA", eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpiExpired, 500)),
                    XDPSEC_REASON_DROP_SA_NOT_ACTIVE),
            dropped("SAD entry for a FREE slot", eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpiFreeSlot, 500)),
                    XDPSEC_REASON_DROP_SA_NOT_ACTIVE),
            dropped("SAD entry for a slot beyond the SA table",
                    eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpiBadSlot, 500)),
                    XDPSEC_REASON_DROP_SA_NOT_ACTIVE),

            // replay
            dropped("IPv4 ESP one below the window bottom",
                    eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, bottom - 1)),
                    XDPSEC_REASON_DROP_REPLAY_TOO_OLD),
            dropped("IPv4 ESP sequence number 1", eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, 1)),
                    XDPSEC_REASON_DROP_REPLAY_TOO_OLD),
            dropped("IPv4 ESP sequence number 0", eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, 0)),
                    XDPSEC_REASON_DROP_REPLAY_TOO_OLD),
            dropped("IPv6 ESP below the window bottom", eth(ETH_P_IPV6) + ipv6(IPPROTO_ESP, esp(kSpi, 5)),
                    XDPSEC_REASON_DROP_REPLAY_TOO_OLD),
            dropped("IPv4 UDP/4500 ESP below the window bottom",
                    eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, esp(kSpiNatt, 50))),
                    XDPSEC_REASON_DROP_REPLAY_TOO_OLD),
        });
}

TEST_CASE("ingress: the worker moves the replay window through the mmap of the SA table") {
    if (skip_without_root()) return;
    Fixture f;
    const int fd = bpf_map__fd(f.dataplane.ingress_skel().maps.XDPSEC_MAP_SA);
    const std::size_t size = sizeof(xdpsec_sa) * XDPSEC_MAX_SAS;
    void* mapped = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    REQUIRE_MESSAGE(mapped != MAP_FAILED, "mmap of the SA table: ", std::strerror(errno));
    auto* table = static_cast<xdpsec_sa*>(mapped);
    CHECK(table[kSlotEsp4].spi == kSpi);
    CHECK(table[kSlotEsp4].replay_bottom == kReplayBottom);

    const Bytes frame = eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, 150));
    f.check(Program::ingress, {redirected("sequence number 150, window bottom 100", frame, kSlotEsp4)});
    table[kSlotEsp4].replay_bottom = 151;
    f.check(Program::ingress, {dropped("sequence number 150, window bottom moved to 151", frame,
                                       XDPSEC_REASON_DROP_REPLAY_TOO_OLD)});
    table[kSlotEsp4].state = XDPSEC_SA_STATE_EXPIRED;
    f.check(Program::ingress, {dropped("the SA expired meanwhile", frame, XDPSEC_REASON_DROP_SA_NOT_ACTIVE)});
    munmap(mapped, size);
}

TEST_CASE("ingress: ESP for a queue without an AF_XDP socket is dropped, never passed") {
    if (skip_without_root()) return;
    Fixture f;
    bpf_map* xsks = f.dataplane.ingress_skel().maps.XDPSEC_MAP_XSKS_UP;
    const Bytes esp4 = eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, 500));
    const Bytes natt = eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, esp(kSpiNatt, 500)));

    f.dataplane.remove_xsk(xsks, 0);
    f.check(
        Program::ingress,
        {
            dropped("IPv4 ESP, no socket at all", esp4, XDPSEC_REASON_DROP_NO_SOCKET),
            dropped("IPv4 UDP/4500 ESP, no socket at all", natt, XDPSEC_REASON_DROP_NO_SOCKET),
            dropped("unknown SPI: the SAD decides first",
                    eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpiUnknown, 500)), XDPSEC_REASON_DROP_UNKNOWN_SPI),
            passed("IKE does not need the socket",
                   eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28))),
                   XDPSEC_REASON_PASS_IKE),
        });
    f.dataplane.put_xsk(xsks, 1, f.xsk.fd());
    f.check(Program::ingress,
            {dropped("IPv4 ESP on queue 0, a socket on queue 1 only", esp4, XDPSEC_REASON_DROP_NO_SOCKET)});
    f.dataplane.put_xsk(f.dataplane.ingress_skel().maps.XDPSEC_MAP_XSKS_TUN, 0, f.xsk.fd());
    f.check(Program::ingress, {dropped("IPv4 ESP, a socket on the tunnel device's queue 0 only", esp4,
                                       XDPSEC_REASON_DROP_NO_SOCKET)});
    f.dataplane.put_xsk(xsks, 0, f.xsk.fd());
    f.check(Program::ingress, {redirected("IPv4 ESP, the socket back on queue 0", esp4, kSlotEsp4)});
}

TEST_CASE("ingress: plaintext against the inbound policies (RFC 4301 §5.2)") {
    if (skip_without_root()) return;
    Fixture f;

    f.check(
        Program::ingress,
        {
            // 10.1.0.0/24, most specific policy first
            dropped("TCP from the protected peer prefix",
                    plain4("10.2.0.9", "10.1.0.1", IPPROTO_TCP, tcp(40000, 80)),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            passed("TCP/22 from the one host a BYPASS policy lets in",
                   plain4("10.2.0.7", "10.1.0.1", IPPROTO_TCP, tcp(40000, 22)), XDPSEC_REASON_PASS_OTHER),
            dropped("TCP/23 from that host: the BYPASS is for port 22 only",
                    plain4("10.2.0.7", "10.1.0.1", IPPROTO_TCP, tcp(40000, 23)),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            dropped("UDP/22 from that host: the BYPASS is for TCP only",
                    plain4("10.2.0.7", "10.1.0.1", IPPROTO_UDP, udp(40000, 22, filler(20))),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            dropped("ICMP from the protected peer prefix",
                    plain4("10.2.0.9", "10.1.0.1", IPPROTO_ICMP, icmp(8)),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            dropped("802.1Q-tagged TCP from the protected peer prefix",
                    plain4("10.2.0.9", "10.1.0.1", IPPROTO_TCP, tcp(40000, 80), 10),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            // source ports
            dropped("UDP from source port 5000 (policy 5000-5001)",
                    plain4("10.3.1.1", "10.1.0.1", IPPROTO_UDP, udp(5000, 9, filler(20))),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            dropped("UDP from source port 5001",
                    plain4("10.3.1.1", "10.1.0.1", IPPROTO_UDP, udp(5001, 9, filler(20))),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            passed("UDP from source port 4999",
                   plain4("10.3.1.1", "10.1.0.1", IPPROTO_UDP, udp(4999, 9, filler(20))),
                   XDPSEC_REASON_PASS_OTHER),
            passed("UDP from source port 5002",
                   plain4("10.3.1.1", "10.1.0.1", IPPROTO_UDP, udp(5002, 9, filler(20))),
                   XDPSEC_REASON_PASS_OTHER),
            // a port policy for any protocol: ports only exist for TCP, UDP, SCTP
            dropped("TCP/443 (policy: any protocol, port 443)",
                    plain4("10.8.1.1", "10.1.0.1", IPPROTO_TCP, tcp(40000, 443)),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            dropped("SCTP/443", plain4("10.8.1.1", "10.1.0.1", kIpprotoSctp, sctp(40000, 443)),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            passed("TCP/444", plain4("10.8.1.1", "10.1.0.1", IPPROTO_TCP, tcp(40000, 444)),
                   XDPSEC_REASON_PASS_OTHER),
            passed("ICMP: no ports, so the port-443 policy cannot match",
                   plain4("10.8.1.1", "10.1.0.1", IPPROTO_ICMP, icmp(8)), XDPSEC_REASON_PASS_OTHER),
            passed("GRE: no ports either", plain4("10.8.1.1", "10.1.0.1", 47, filler(24)),
                   XDPSEC_REASON_PASS_OTHER),
            // DISCARD, destination port ranges
            dropped("UDP/53 from 10.0.0.0/8: DISCARD",
                    plain4("10.9.0.1", "10.1.0.1", IPPROTO_UDP, udp(40000, 53, filler(20))),
                    XDPSEC_REASON_DROP_DISCARD_POLICY),
            passed("UDP/54 from 10.0.0.0/8",
                   plain4("10.9.0.1", "10.1.0.1", IPPROTO_UDP, udp(40000, 54, filler(20))),
                   XDPSEC_REASON_PASS_OTHER),
            passed("TCP/7999", plain4("10.9.0.1", "10.1.0.1", IPPROTO_TCP, tcp(40000, 7999)),
                   XDPSEC_REASON_PASS_OTHER),
            dropped("TCP/8000 (policy 8000-8999)",
                    plain4("10.9.0.1", "10.1.0.1", IPPROTO_TCP, tcp(40000, 8000)),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            dropped("TCP/8999", plain4("10.9.0.1", "10.1.0.1", IPPROTO_TCP, tcp(40000, 8999)),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            passed("TCP/9000", plain4("10.9.0.1", "10.1.0.1", IPPROTO_TCP, tcp(40000, 9000)),
                   XDPSEC_REASON_PASS_OTHER),
            // a prefix that ends inside a byte: 10.16.0.0/12
            dropped("from 10.16.0.1 (in 10.16.0.0/12)",
                    plain4("10.16.0.1", "10.1.0.1", IPPROTO_ICMP, icmp(8)),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            dropped("from 10.31.255.255 (in 10.16.0.0/12)",
                    plain4("10.31.255.255", "10.1.0.1", IPPROTO_ICMP, icmp(8)),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            passed("from 10.32.0.1 (past 10.16.0.0/12)",
                   plain4("10.32.0.1", "10.1.0.1", IPPROTO_ICMP, icmp(8)), XDPSEC_REASON_PASS_OTHER),
            passed("from 10.15.255.255 (before 10.16.0.0/12)",
                   plain4("10.15.255.255", "10.1.0.1", IPPROTO_ICMP, icmp(8)), XDPSEC_REASON_PASS_OTHER),
            passed("from 10.2.1.1: outside 10.2.0.0/24",
                   plain4("10.2.1.1", "10.1.0.1", IPPROTO_ICMP, icmp(8)), XDPSEC_REASON_PASS_OTHER),

            // the longest destination prefix chooses the bucket
            passed("ICMP to 10.1.0.5: its /32 bucket bypasses ICMP",
                   plain4("10.2.0.9", "10.1.0.5", IPPROTO_ICMP, icmp(8)), XDPSEC_REASON_PASS_OTHER),
            dropped("ICMP to 10.1.0.6: the /24 bucket", plain4("10.2.0.9", "10.1.0.6", IPPROTO_ICMP, icmp(8)),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            dropped("TCP to 10.1.0.5: the /32 bucket's PROTECT",
                    plain4("10.2.0.9", "10.1.0.5", IPPROTO_TCP, tcp(40000, 80)),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            passed("TCP/8000 to 10.1.0.5: only that bucket counts, and it has no such policy",
                   plain4("10.9.0.1", "10.1.0.5", IPPROTO_TCP, tcp(40000, 8000)), XDPSEC_REASON_PASS_OTHER),
            passed("to 10.1.9.5: an empty bucket",
                   plain4("10.2.0.9", "10.1.9.5", IPPROTO_TCP, tcp(40000, 80)), XDPSEC_REASON_PASS_OTHER),
            passed("to 10.1.1.1: no bucket", plain4("10.2.0.9", "10.1.1.1", IPPROTO_TCP, tcp(40000, 80)),
                   XDPSEC_REASON_PASS_OTHER),

            // IPv6
            dropped("IPv6 TCP from the protected peer prefix",
                    plain6("2001:db8:2::5", "2001:db8:1::1", IPPROTO_TCP, tcp(40000, 80)),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            dropped("IPv6 hop-by-hop + TCP from the protected peer prefix",
                    eth(ETH_P_IPV6) + ipv6(IPPROTO_HOPOPTS, ipv6_opt(IPPROTO_TCP, 0, tcp(40000, 80)),
                                           between6("2001:db8:2::5", "2001:db8:1::1")),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            passed("IPv6 ICMPv6 from the protected peer prefix: BYPASS",
                   plain6("2001:db8:2::5", "2001:db8:1::1", IPPROTO_ICMPV6, icmp(128)),
                   XDPSEC_REASON_PASS_OTHER),
            passed("IPv6 TCP from 2001:db8:9::1",
                   plain6("2001:db8:9::1", "2001:db8:1::1", IPPROTO_TCP, tcp(40000, 80)),
                   XDPSEC_REASON_PASS_OTHER),
            dropped("IPv6 from 2001:db8:4:8000::1 (in 2001:db8:4:8000::/49): DISCARD",
                    plain6("2001:db8:4:8000::1", "2001:db8:1::1", IPPROTO_UDP, udp(40000, 9, filler(20))),
                    XDPSEC_REASON_DROP_DISCARD_POLICY),
            dropped(
                "IPv6 from 2001:db8:4:ffff:ffff::1",
                plain6("2001:db8:4:ffff:ffff::1", "2001:db8:1::1", IPPROTO_UDP, udp(40000, 9, filler(20))),
                XDPSEC_REASON_DROP_DISCARD_POLICY),
            passed("IPv6 neighbour solicitation from a DISCARD prefix: ND is exempt (RFC 4861)",
                   plain6("2001:db8:4:8000::1", "2001:db8:1::1", IPPROTO_ICMPV6, icmp(135)),
                   XDPSEC_REASON_PASS_NEIGHBOUR_DISCOVERY),
            passed("IPv6 router advertisement from a DISCARD prefix: ND is exempt",
                   plain6("2001:db8:4:8000::1", "2001:db8:1::1", IPPROTO_ICMPV6, icmp(134)),
                   XDPSEC_REASON_PASS_NEIGHBOUR_DISCOVERY),
            dropped("IPv6 echo request from a DISCARD prefix: only ND is exempt",
                    plain6("2001:db8:4:8000::1", "2001:db8:1::1", IPPROTO_ICMPV6, icmp(128)),
                    XDPSEC_REASON_DROP_DISCARD_POLICY),
            dropped("IPv6 ICMPv6 without its type byte",
                    plain6("2001:db8:4:8000::1", "2001:db8:1::1", IPPROTO_ICMPV6, Bytes{}),
                    XDPSEC_REASON_DROP_MALFORMED),
            passed("IPv6 from 2001:db8:4:7fff::1 (before the /49)",
                   plain6("2001:db8:4:7fff::1", "2001:db8:1::1", IPPROTO_UDP, udp(40000, 9, filler(20))),
                   XDPSEC_REASON_PASS_OTHER),
            passed("IPv4 10.1.0.1 never matches an IPv6 prefix, nor the other way round",
                   plain6("2001:db8:2::5", "::ffff:10.1.0.1", IPPROTO_TCP, tcp(40000, 80)),
                   XDPSEC_REASON_PASS_OTHER),

            // fragments: ports unknown, so any PROTECT or DISCARD policy that could match does
            dropped("IPv4 TCP fragment from the protected peer prefix",
                    fragment4("10.2.0.9", "10.1.0.1", IPPROTO_TCP), XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            dropped("IPv4 TCP fragment from the BYPASS host: the bypass is port-specific",
                    fragment4("10.2.0.7", "10.1.0.1", IPPROTO_TCP), XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            dropped("IPv4 TCP fragment from 10.8.1.1: could be port 443",
                    fragment4("10.8.1.1", "10.1.0.1", IPPROTO_TCP), XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            dropped("IPv4 UDP fragment from 10.9.0.1: could be port 53",
                    fragment4("10.9.0.1", "10.1.0.1", IPPROTO_UDP), XDPSEC_REASON_DROP_DISCARD_POLICY),
            dropped("IPv4 first fragment of TCP/80 from 10.9.0.1: could be 8000-8999 for all the frame says",
                    eth(ETH_P_IP) + ipv4(IPPROTO_TCP, tcp(40000, 80),
                                         with_frag_off(0x2000, between("10.9.0.1", "10.1.0.1"))),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            passed("IPv4 TCP fragment from 172.16.0.1: no policy could match",
                   fragment4("172.16.0.1", "10.1.0.1", IPPROTO_TCP), XDPSEC_REASON_PASS_FRAGMENT),
            passed("IPv4 ICMP fragment from 10.9.0.1: the UDP and TCP policies cannot match",
                   fragment4("10.9.0.1", "10.1.0.1", IPPROTO_ICMP), XDPSEC_REASON_PASS_FRAGMENT),
            passed("IPv4 ESP fragment to a protected prefix: ESP is not plaintext",
                   fragment4("10.2.0.9", "10.1.0.1", IPPROTO_ESP), XDPSEC_REASON_PASS_FRAGMENT),
            dropped("IPv6 TCP fragment from the protected peer prefix",
                    eth(ETH_P_IPV6) + ipv6(IPPROTO_FRAGMENT, ipv6_frag(IPPROTO_TCP, 175, false, filler(64)),
                                           between6("2001:db8:2::5", "2001:db8:1::1")),
                    XDPSEC_REASON_DROP_PLAINTEXT_POLICY),
            passed("IPv6 TCP fragment from 2001:db8:9::1",
                   eth(ETH_P_IPV6) + ipv6(IPPROTO_FRAGMENT, ipv6_frag(IPPROTO_TCP, 175, false, filler(64)),
                                          between6("2001:db8:9::1", "2001:db8:1::1")),
                   XDPSEC_REASON_PASS_FRAGMENT),
        });
}

// Every prefix of a frame, from the shortest the kernel accepts for a test
// run (ETH_HLEN) up to the whole frame: a prefix that ends before the bytes
// the classification reads is malformed, one that holds them is classified
// like the whole frame (the program trusts no length field to be complete).
TEST_CASE("ingress: frames truncated at every offset") {
    if (skip_without_root()) return;
    Fixture f;

    struct Template {
        std::string description;
        Bytes frame;
        std::size_t classifying_bytes;  // prefix length from which the verdict is known
        xdp_action verdict;
        xdpsec_verdict_reason reason;
        std::optional<std::uint32_t> sa_slot = std::nullopt;
    };
    const std::vector<Template> templates = {
        {"802.1Q-tagged ARP", eth(ETH_P_ARP, 10) + arp(), 18, XDP_PASS, XDPSEC_REASON_PASS_NOT_IP},
        {"802.1Q-tagged IPv4 with options, UDP/4500 with the non-ESP marker",
         eth(ETH_P_IP, 10) +
             ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, non_esp_marker_ike()), with_options(2)),
         18 + 28 + 8 + 4, XDP_PASS, XDPSEC_REASON_PASS_IKE},
        {"IPv4 UDP/4500 NAT-keepalive", eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, {0xff})),
         14 + 20 + 8 + 1, XDP_PASS, XDPSEC_REASON_PASS_IKE},
        {"IPv4 ESP", eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, 500)), 14 + 20 + 8, XDP_REDIRECT,
         XDPSEC_REASON_REDIRECT_ESP, kSlotEsp4},
        {"IPv4 ESP, unknown SPI", eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpiUnknown, 500)), 14 + 20 + 8,
         XDP_DROP, XDPSEC_REASON_DROP_UNKNOWN_SPI},
        {"IPv4 ESP, replayed", eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, 1)), 14 + 20 + 8, XDP_DROP,
         XDPSEC_REASON_DROP_REPLAY_TOO_OLD},
        {"IPv4 UDP/4500 ESP",
         eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, esp(kSpiNatt, 200))), 14 + 20 + 8 + 8,
         XDP_REDIRECT, XDPSEC_REASON_REDIRECT_ESP, kSlotNatt},
        {"802.1Q-tagged IPv6 ESP", eth(ETH_P_IPV6, 10) + ipv6(IPPROTO_ESP, esp(kSpi, 500)), 18 + 40 + 8,
         XDP_REDIRECT, XDPSEC_REASON_REDIRECT_ESP, kSlotEsp6},
        {"IPv6 destination options + UDP/4500 ESP",
         eth(ETH_P_IPV6) +
             ipv6(IPPROTO_DSTOPTS, ipv6_opt(IPPROTO_UDP, 1, udp(kNattPort, kNattPort, esp(kSpi, 200)))),
         14 + 40 + 16 + 8 + 8, XDP_REDIRECT, XDPSEC_REASON_REDIRECT_ESP, kSlotEsp6},
        {"IPv6 hop-by-hop + atomic fragment + UDP/500",
         eth(ETH_P_IPV6) + ipv6(IPPROTO_HOPOPTS, ipv6_opt(IPPROTO_FRAGMENT, 1,
                                                          ipv6_frag(IPPROTO_UDP, 0, false,
                                                                    udp(kIkePort, kIkePort, filler(28))))),
         14 + 40 + 16 + 8 + 8, XDP_PASS, XDPSEC_REASON_PASS_IKE},
        {"IPv4 TCP from the protected peer prefix",
         eth(ETH_P_IP) + ipv4(IPPROTO_TCP, tcp(40000, 80), between("10.2.0.9", "10.1.0.1")), 14 + 20 + 20,
         XDP_DROP, XDPSEC_REASON_DROP_PLAINTEXT_POLICY},
        {"IPv6 TCP", eth(ETH_P_IPV6) + ipv6(IPPROTO_TCP, tcp(40000, 80)), 14 + 40 + 20, XDP_PASS,
         XDPSEC_REASON_PASS_OTHER},
    };

    for (const Template& t : templates) {
        REQUIRE(t.classifying_bytes <= t.frame.size());
        for (std::size_t len = ETH_HLEN; len <= t.frame.size(); ++len) {
            const bool classifiable = len >= t.classifying_bytes;
            f.dataplane.check(Program::ingress, Row{t.description + " cut to " + std::to_string(len) +
                                                        " of " + std::to_string(t.frame.size()) + " bytes",
                                                    prefix(t.frame, len), classifiable ? t.verdict : XDP_DROP,
                                                    classifiable ? t.reason : XDPSEC_REASON_DROP_MALFORMED,
                                                    classifiable ? t.sa_slot : std::nullopt});
        }
    }
}
