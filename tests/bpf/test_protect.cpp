// The protect XDP program (the tunnel device's peer end), run without a NIC
// on the populated scenario: what the host routes into xdpsec0 meets the
// outbound SPD, and only PROTECT with an ACTIVE SA reaches the worker.
#include <doctest/doctest.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <xdpsec/bpf_abi.h>

#include <string>
#include <vector>

#include "dataplane.h"
#include "frames.h"
#include "scenario.h"

using namespace xdpsec::test;
using namespace xdpsec::test::scenario;

namespace {

Row protected_by(std::string description, Bytes frame, std::uint32_t slot) {
    return {std::move(description), std::move(frame), XDP_REDIRECT, XDPSEC_REASON_PROTECT_REDIRECT, slot};
}

Row dropped(std::string description, Bytes frame, xdpsec_verdict_reason reason) {
    return {std::move(description), std::move(frame), XDP_DROP, reason};
}

Bytes out4(const char* src, const char* dst, std::uint8_t proto, const Bytes& payload,
           std::optional<std::uint16_t> vlan = std::nullopt) {
    return pad_to_min_frame(eth(ETH_P_IP, vlan) + ipv4(proto, payload, between(src, dst)));
}

Bytes out6(const char* src, const char* dst, std::uint8_t proto, const Bytes& payload) {
    return eth(ETH_P_IPV6) + ipv6(proto, payload, between6(src, dst));
}

}  // namespace

TEST_CASE("protect: the most specific policy chooses the SA") {
    if (skip_without_root()) return;
    Fixture f;

    f.check(
        Program::protect,
        {
            // 10.2.0.0/24: host+port, then net+port range, then net
            protected_by("TCP/443 from 10.1.0.5: its own SA",
                         out4("10.1.0.5", "10.2.0.9", IPPROTO_TCP, tcp(40000, 443)), kSlotHttps),
            protected_by("TCP/443 from 10.1.0.6: the network's",
                         out4("10.1.0.6", "10.2.0.9", IPPROTO_TCP, tcp(40000, 443)), kSlotNet),
            protected_by("TCP/8080 from 10.1.0.6: the high-ports SA",
                         out4("10.1.0.6", "10.2.0.9", IPPROTO_TCP, tcp(40000, 8080)), kSlotHighPorts),
            protected_by("TCP/8080 from 10.1.0.5: past its host policy to the high-ports SA",
                         out4("10.1.0.5", "10.2.0.9", IPPROTO_TCP, tcp(40000, 8080)), kSlotHighPorts),
            protected_by("TCP/1023 from 10.1.0.6: just below the high ports",
                         out4("10.1.0.6", "10.2.0.9", IPPROTO_TCP, tcp(40000, 1023)), kSlotNet),
            protected_by("TCP/1024 from 10.1.0.6: the first high port",
                         out4("10.1.0.6", "10.2.0.9", IPPROTO_TCP, tcp(40000, 1024)), kSlotHighPorts),
            protected_by("TCP/65535 from 10.1.0.6",
                         out4("10.1.0.6", "10.2.0.9", IPPROTO_TCP, tcp(40000, 65535)), kSlotHighPorts),
            protected_by("UDP/53 from 10.1.0.6: the network's SA before the DISCARD of 10.1.0.0/16",
                         out4("10.1.0.6", "10.2.0.9", IPPROTO_UDP, udp(40000, 53, filler(20))), kSlotNet),
            protected_by("UDP/8080 from 10.1.0.6: the high-ports policy is TCP only",
                         out4("10.1.0.6", "10.2.0.9", IPPROTO_UDP, udp(40000, 8080, filler(20))), kSlotNet),
            protected_by("SCTP/443 from 10.1.0.5: the host policy is TCP only",
                         out4("10.1.0.5", "10.2.0.9", kIpprotoSctp, sctp(40000, 443)), kSlotNet),
            protected_by("ICMP from 10.1.0.5: port policies cannot match it",
                         out4("10.1.0.5", "10.2.0.9", IPPROTO_ICMP, icmp(8)), kSlotNet),
            protected_by("802.1Q-tagged TCP", out4("10.1.0.6", "10.2.0.9", IPPROTO_TCP, tcp(40000, 443), 10),
                         kSlotNet),
            protected_by("IPv4 with options, TCP",
                         eth(ETH_P_IP) + ipv4(IPPROTO_TCP, tcp(40000, 80),
                                              [] {
                                                  Ipv4Fields fields = between("10.1.0.6", "10.2.0.9");
                                                  fields.option_words = 2;
                                                  return fields;
                                              }()),
                         kSlotNet),
            // source ports
            protected_by("UDP from 10.1.7.1 port 5000",
                         out4("10.1.7.1", "10.2.0.9", IPPROTO_UDP, udp(5000, 9, filler(20))),
                         kSlotSourcePort),
            protected_by("UDP from 10.1.7.1 port 5001",
                         out4("10.1.7.1", "10.2.0.9", IPPROTO_UDP, udp(5001, 9, filler(20))),
                         kSlotSourcePort),
            dropped("UDP from 10.1.7.1 port 5002",
                    out4("10.1.7.1", "10.2.0.9", IPPROTO_UDP, udp(5002, 9, filler(20))),
                    XDPSEC_REASON_PROTECT_NO_POLICY),
            dropped("UDP/53 from 10.1.7.1 port 5000: the DISCARD comes first",
                    out4("10.1.7.1", "10.2.0.9", IPPROTO_UDP, udp(5000, 53, filler(20))),
                    XDPSEC_REASON_PROTECT_DISCARD),

            // the longest destination prefix chooses the bucket
            protected_by("to 10.2.0.130: the /25 bucket",
                         out4("10.1.0.6", "10.2.0.130", IPPROTO_TCP, tcp(40000, 443)), kSlotUpperHalf),
            protected_by("to 10.2.0.128: the first address of the /25",
                         out4("10.1.0.6", "10.2.0.128", IPPROTO_TCP, tcp(40000, 443)), kSlotUpperHalf),
            protected_by("to 10.2.0.127: the /24 bucket",
                         out4("10.1.0.6", "10.2.0.127", IPPROTO_TCP, tcp(40000, 443)), kSlotNet),
            protected_by("to 8.8.8.8: the 0.0.0.0/0 bucket",
                         out4("10.1.0.6", "8.8.8.8", IPPROTO_UDP, udp(40000, 53, filler(20))), kSlotDefault),
            dropped("to 8.8.8.8 from 10.9.0.1: no policy in the 0.0.0.0/0 bucket",
                    out4("10.9.0.1", "8.8.8.8", IPPROTO_UDP, udp(40000, 53, filler(20))),
                    XDPSEC_REASON_PROTECT_NO_POLICY),
            protected_by("to 10.7.0.1: the eighth policy of a bucket claiming 200",
                         out4("10.1.0.6", "10.7.0.1", IPPROTO_TCP, tcp(40000, 443)), kSlotNet),

            // IPv6
            protected_by("IPv6 TCP/22 from 2001:db8:1::5: its own SA",
                         out6("2001:db8:1::5", "2001:db8:2::9", IPPROTO_TCP, tcp(40000, 22)), kSlotSsh6),
            protected_by("IPv6 TCP/23 from 2001:db8:1::5",
                         out6("2001:db8:1::5", "2001:db8:2::9", IPPROTO_TCP, tcp(40000, 23)), kSlotNet6),
            protected_by("IPv6 TCP/22 from 2001:db8:1::6",
                         out6("2001:db8:1::6", "2001:db8:2::9", IPPROTO_TCP, tcp(40000, 22)), kSlotNet6),
            protected_by("IPv6 ICMPv6 echo",
                         out6("2001:db8:1::5", "2001:db8:2::9", IPPROTO_ICMPV6, icmp(128)), kSlotNet6),
            protected_by(
                "IPv6 hop-by-hop + routing + UDP",
                eth(ETH_P_IPV6) +
                    ipv6(IPPROTO_HOPOPTS,
                         ipv6_opt(IPPROTO_ROUTING, 0, ipv6_opt(IPPROTO_UDP, 1, udp(40000, 53, filler(20)))),
                         between6("2001:db8:1::5", "2001:db8:2::9")),
                kSlotNet6),
            dropped("IPv6 from 2001:db8:3::1",
                    out6("2001:db8:3::1", "2001:db8:2::9", IPPROTO_TCP, tcp(40000, 22)),
                    XDPSEC_REASON_PROTECT_NO_POLICY),

            // fragments: only policies for all ports
            protected_by("IPv4 later fragment of TCP from 10.1.0.5: past the port policies",
                         eth(ETH_P_IP) + ipv4(IPPROTO_TCP, filler(64),
                                              with_frag_off(185, between("10.1.0.5", "10.2.0.9"))),
                         kSlotNet),
            protected_by("IPv4 first fragment of TCP/443 from 10.1.0.5: like every fragment of its datagram",
                         eth(ETH_P_IP) + ipv4(IPPROTO_TCP, tcp(40000, 443),
                                              with_frag_off(0x2000, between("10.1.0.5", "10.2.0.9"))),
                         kSlotNet),
            dropped("IPv4 fragment of UDP from 10.1.7.1: only port policies would match",
                    eth(ETH_P_IP) +
                        ipv4(IPPROTO_UDP, filler(64), with_frag_off(185, between("10.1.7.1", "10.2.0.9"))),
                    XDPSEC_REASON_PROTECT_NO_POLICY),
            protected_by(
                "IPv6 fragment of TCP from 2001:db8:1::5",
                eth(ETH_P_IPV6) + ipv6(IPPROTO_FRAGMENT, ipv6_frag(IPPROTO_TCP, 175, false, filler(64)),
                                       between6("2001:db8:1::5", "2001:db8:2::9")),
                kSlotNet6),
        });
}

TEST_CASE("protect: what no PROTECT policy with an ACTIVE SA claims is dropped and counted") {
    if (skip_without_root()) return;
    Fixture f;

    f.check(Program::protect,
            {
                dropped("UDP/53 from 10.1.7.1: DISCARD",
                        out4("10.1.7.1", "10.2.0.9", IPPROTO_UDP, udp(40000, 53, filler(20))),
                        XDPSEC_REASON_PROTECT_DISCARD),
                dropped("to 10.3.1.1: DISCARD everything",
                        out4("10.1.0.6", "10.3.1.1", IPPROTO_TCP, tcp(40000, 443)),
                        XDPSEC_REASON_PROTECT_DISCARD),
                dropped("to 10.5.0.1: an action the program does not know is a DISCARD",
                        out4("10.1.0.6", "10.5.0.1", IPPROTO_TCP, tcp(40000, 443)),
                        XDPSEC_REASON_PROTECT_DISCARD),
                dropped("from 192.168.1.1: BYPASS, which must not be routed here",
                        out4("192.168.1.1", "10.2.0.9", IPPROTO_TCP, tcp(40000, 443)),
                        XDPSEC_REASON_PROTECT_BYPASS),
                dropped("ICMP from 10.1.7.1: only port policies for it",
                        out4("10.1.7.1", "10.2.0.9", IPPROTO_ICMP, icmp(8)), XDPSEC_REASON_PROTECT_NO_POLICY),
                dropped("to 10.6.0.1: an empty bucket",
                        out4("10.1.0.6", "10.6.0.1", IPPROTO_TCP, tcp(40000, 443)),
                        XDPSEC_REASON_PROTECT_NO_POLICY),
                dropped("from 172.16.0.1: outside every source selector",
                        out4("172.16.0.1", "10.2.0.9", IPPROTO_TCP, tcp(40000, 443)),
                        XDPSEC_REASON_PROTECT_NO_POLICY),
                dropped("IPv6 to 2001:db8:9::1: no bucket",
                        out6("2001:db8:1::5", "2001:db8:9::1", IPPROTO_TCP, tcp(40000, 22)),
                        XDPSEC_REASON_PROTECT_NO_POLICY),
                dropped("to 10.2.0.200: its SA has EXPIRED",
                        out4("10.1.0.6", "10.2.0.200", IPPROTO_TCP, tcp(40000, 443)),
                        XDPSEC_REASON_PROTECT_SA_NOT_ACTIVE),
                dropped("to 10.2.0.201: its SA slot is beyond the table",
                        out4("10.1.0.6", "10.2.0.201", IPPROTO_TCP, tcp(40000, 443)),
                        XDPSEC_REASON_PROTECT_SA_NOT_ACTIVE),
                dropped("to 10.2.0.202: its SA slot is FREE",
                        out4("10.1.0.6", "10.2.0.202", IPPROTO_TCP, tcp(40000, 443)),
                        XDPSEC_REASON_PROTECT_SA_NOT_ACTIVE),

                // not for a remote selector
                dropped("ARP", pad_to_min_frame(eth(ETH_P_ARP) + arp()), XDPSEC_REASON_PROTECT_NOT_IP),
                dropped("802.1Q-tagged ARP", pad_to_min_frame(eth(ETH_P_ARP, 10) + arp()),
                        XDPSEC_REASON_PROTECT_NOT_IP),
                dropped("LLDP", pad_to_min_frame(eth(0x88cc) + filler(30)), XDPSEC_REASON_PROTECT_NOT_IP),
                dropped("an Ethernet header and nothing else", eth(0x88b5), XDPSEC_REASON_PROTECT_NOT_IP),
                dropped("IPv6 neighbour solicitation to a solicited-node group",
                        out6("fe80::1", "ff02::1:ff00:9", IPPROTO_ICMPV6, icmp(135)),
                        XDPSEC_REASON_PROTECT_LINK_LOCAL),
                dropped("IPv6 router solicitation from ::", out6("::", "ff02::2", IPPROTO_ICMPV6, icmp(133)),
                        XDPSEC_REASON_PROTECT_LINK_LOCAL),
                dropped("MLDv2 report behind a hop-by-hop header",
                        eth(ETH_P_IPV6) + ipv6(IPPROTO_HOPOPTS, ipv6_opt(IPPROTO_ICMPV6, 0, icmp(143)),
                                               between6("fe80::1", "ff02::16")),
                        XDPSEC_REASON_PROTECT_LINK_LOCAL),
                dropped("IPv6 to a global multicast group",
                        out6("2001:db8:1::5", "ff0e::1", IPPROTO_UDP, udp(40000, 9, filler(20))),
                        XDPSEC_REASON_PROTECT_LINK_LOCAL),
                dropped("IPv6 to fe80::2", out6("fe80::1", "fe80::2", IPPROTO_TCP, tcp(40000, 22)),
                        XDPSEC_REASON_PROTECT_LINK_LOCAL),
                dropped("IPv6 to febf::1, the end of fe80::/10",
                        out6("2001:db8:1::5", "febf::1", IPPROTO_TCP, tcp(40000, 22)),
                        XDPSEC_REASON_PROTECT_LINK_LOCAL),
                dropped("IPv6 to fec0::1, past fe80::/10: an ordinary destination",
                        out6("2001:db8:1::5", "fec0::1", IPPROTO_TCP, tcp(40000, 22)),
                        XDPSEC_REASON_PROTECT_NO_POLICY),
                dropped("IGMPv3 report", out4("10.1.0.6", "224.0.0.22", 2, filler(16)),
                        XDPSEC_REASON_PROTECT_LINK_LOCAL),
                dropped("mDNS", out4("10.1.0.6", "224.0.0.251", IPPROTO_UDP, udp(5353, 5353, filler(20))),
                        XDPSEC_REASON_PROTECT_LINK_LOCAL),
                dropped("IPv4 to 239.255.255.255",
                        out4("10.1.0.6", "239.255.255.255", IPPROTO_UDP, udp(40000, 9, filler(20))),
                        XDPSEC_REASON_PROTECT_LINK_LOCAL),
                dropped("IPv4 limited broadcast",
                        out4("0.0.0.0", "255.255.255.255", IPPROTO_UDP, udp(68, 67, filler(20))),
                        XDPSEC_REASON_PROTECT_LINK_LOCAL),
                dropped("IPv4 link-local", out4("169.254.1.1", "169.254.7.7", IPPROTO_TCP, tcp(40000, 22)),
                        XDPSEC_REASON_PROTECT_LINK_LOCAL),
                dropped("IPv4 to 223.255.255.255, below multicast: an ordinary destination",
                        out4("10.9.0.1", "223.255.255.255", IPPROTO_TCP, tcp(40000, 22)),
                        XDPSEC_REASON_PROTECT_NO_POLICY),

                // malformed
                dropped("IPv4 IHL 4", eth(ETH_P_IP) + ipv4(IPPROTO_TCP, tcp(40000, 443), with_ihl(4)),
                        XDPSEC_REASON_PROTECT_MALFORMED),
                dropped("IPv4 ethertype, IPv6 header", eth(ETH_P_IP) + ipv6(IPPROTO_TCP, tcp(40000, 443)),
                        XDPSEC_REASON_PROTECT_MALFORMED),
                dropped("IPv6 ethertype, IPv4 header",
                        eth(ETH_P_IPV6) + ipv4(IPPROTO_TCP, tcp(40000, 443), with_options(5)),
                        XDPSEC_REASON_PROTECT_MALFORMED),
                dropped("TCP shorter than its fixed header",
                        eth(ETH_P_IP) + ipv4(IPPROTO_TCP, filler(19), between("10.1.0.6", "10.2.0.9")),
                        XDPSEC_REASON_PROTECT_MALFORMED),
                dropped("SCTP shorter than its common header",
                        eth(ETH_P_IP) + ipv4(kIpprotoSctp, filler(11), between("10.1.0.6", "10.2.0.9")),
                        XDPSEC_REASON_PROTECT_MALFORMED),
            });
}

TEST_CASE("protect: a queue without an AF_XDP socket drops, never passes") {
    if (skip_without_root()) return;
    Fixture f;
    bpf_map* xsks = f.dataplane.ingress_skel().maps.XDPSEC_MAP_XSKS_TUN;
    const Bytes frame = out4("10.1.0.6", "10.2.0.9", IPPROTO_TCP, tcp(40000, 443));

    f.dataplane.remove_xsk(xsks, 0);
    f.check(Program::protect,
            {
                dropped("TCP for a PROTECT policy, no socket", frame, XDPSEC_REASON_PROTECT_NO_SOCKET),
                dropped("a DISCARD policy decides before the socket",
                        out4("10.1.0.6", "10.3.1.1", IPPROTO_TCP, tcp(40000, 443)),
                        XDPSEC_REASON_PROTECT_DISCARD),
            });
    f.dataplane.put_xsk(xsks, 3, f.xsk.fd());
    f.check(Program::protect, {dropped("a socket on queue 3 only", frame, XDPSEC_REASON_PROTECT_NO_SOCKET)});
    f.dataplane.put_xsk(f.dataplane.ingress_skel().maps.XDPSEC_MAP_XSKS_UP, 0, f.xsk.fd());
    f.check(Program::protect,
            {dropped("a socket on the uplink's queue 0 only", frame, XDPSEC_REASON_PROTECT_NO_SOCKET)});
    f.dataplane.put_xsk(xsks, 0, f.xsk.fd());
    f.check(Program::protect, {protected_by("the socket back on queue 0", frame, kSlotNet)});
}

TEST_CASE("protect: frames truncated at every offset") {
    if (skip_without_root()) return;
    Fixture f;

    struct Template {
        std::string description;
        Bytes frame;
        std::size_t classifying_bytes;
        xdp_action verdict;
        xdpsec_verdict_reason reason;
        std::optional<std::uint32_t> sa_slot = std::nullopt;
    };
    const std::vector<Template> templates = {
        {"IPv4 TCP", eth(ETH_P_IP) + ipv4(IPPROTO_TCP, tcp(40000, 443), between("10.1.0.5", "10.2.0.9")),
         14 + 20 + 20, XDP_REDIRECT, XDPSEC_REASON_PROTECT_REDIRECT, kSlotHttps},
        {"IPv4 ICMP", eth(ETH_P_IP) + ipv4(IPPROTO_ICMP, icmp(8), between("10.1.0.5", "10.2.0.9")), 14 + 20,
         XDP_REDIRECT, XDPSEC_REASON_PROTECT_REDIRECT, kSlotNet},
        {"802.1Q-tagged IPv6 UDP",
         eth(ETH_P_IPV6, 10) +
             ipv6(IPPROTO_UDP, udp(40000, 53, filler(20)), between6("2001:db8:1::5", "2001:db8:2::9")),
         18 + 40 + 8, XDP_REDIRECT, XDPSEC_REASON_PROTECT_REDIRECT, kSlotNet6},
        {"IPv6 hop-by-hop + TCP/22",
         eth(ETH_P_IPV6) + ipv6(IPPROTO_HOPOPTS, ipv6_opt(IPPROTO_TCP, 0, tcp(40000, 22)),
                                between6("2001:db8:1::5", "2001:db8:2::9")),
         14 + 40 + 8 + 20, XDP_REDIRECT, XDPSEC_REASON_PROTECT_REDIRECT, kSlotSsh6},
        {"IPv4 SCTP, DISCARD",
         eth(ETH_P_IP) + ipv4(kIpprotoSctp, sctp(40000, 443), between("10.1.0.6", "10.3.0.9")), 14 + 20 + 12,
         XDP_DROP, XDPSEC_REASON_PROTECT_DISCARD},
        {"IPv6 neighbour solicitation", out6("fe80::1", "ff02::1:ff00:9", IPPROTO_ICMPV6, icmp(135)), 14 + 40,
         XDP_DROP, XDPSEC_REASON_PROTECT_LINK_LOCAL},
        {"802.1Q-tagged ARP", eth(ETH_P_ARP, 10) + arp(), 18, XDP_DROP, XDPSEC_REASON_PROTECT_NOT_IP},
    };

    for (const Template& t : templates) {
        REQUIRE(t.classifying_bytes <= t.frame.size());
        for (std::size_t len = ETH_HLEN; len <= t.frame.size(); ++len) {
            const bool classifiable = len >= t.classifying_bytes;
            f.dataplane.check(Program::protect, Row{t.description + " cut to " + std::to_string(len) +
                                                        " of " + std::to_string(t.frame.size()) + " bytes",
                                                    prefix(t.frame, len), classifiable ? t.verdict : XDP_DROP,
                                                    classifiable ? t.reason : XDPSEC_REASON_PROTECT_MALFORMED,
                                                    classifiable ? t.sa_slot : std::nullopt});
        }
    }
}
