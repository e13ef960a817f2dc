// The ingress XDP program, run without a NIC: the skeleton is loaded but not
// attached, and crafted frames go through BPF_PROG_TEST_RUN as rows of
// {description, frame, expected verdict, expected reason} (katran's fixture
// style). After every frame the per-CPU verdict counters must have moved by
// exactly one packet and the frame's bytes, under the expected reason only.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <xdpsec/bpf_abi.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <unistd.h>

#include "ingress.skel.h"

#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using Bytes = std::vector<std::uint8_t>;

// ---------------------------------------------------------------- frames ---

constexpr std::size_t kEthernetMinFrame = 60;  // without FCS: shorter frames are padded
constexpr std::uint16_t kIkePort = 500;
constexpr std::uint16_t kNattPort = 4500;

Bytes operator+(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

void put16(Bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void put32(Bytes& b, std::uint32_t v) {
    put16(b, static_cast<std::uint16_t>(v >> 16));
    put16(b, static_cast<std::uint16_t>(v & 0xffff));
}

Bytes filler(std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(0xa0 + i % 32);
    return b;
}

Bytes pad_to_min_frame(Bytes frame) {
    if (frame.size() < kEthernetMinFrame) frame.resize(kEthernetMinFrame, 0);
    return frame;
}

Bytes eth(std::uint16_t ethertype, std::optional<std::uint16_t> vlan_id = std::nullopt) {
    Bytes b = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};  // dst, src
    if (vlan_id) {
        put16(b, ETH_P_8021Q);
        put16(b, *vlan_id);
    }
    put16(b, ethertype);
    return b;
}

struct Ipv4Fields {
    std::uint16_t frag_off = 0x4000;  // DF
    std::uint8_t option_words = 0;    // 32-bit words of options (NOPs)
    std::optional<std::uint8_t> ihl;  // default: 5 + option_words
};

Ipv4Fields with_options(std::uint8_t words) {
    Ipv4Fields f;
    f.option_words = words;
    return f;
}

Ipv4Fields with_frag_off(std::uint16_t frag_off) {
    Ipv4Fields f;
    f.frag_off = frag_off;
    return f;
}

Ipv4Fields with_ihl(std::uint8_t ihl) {
    Ipv4Fields f;
    f.ihl = ihl;
    return f;
}

Bytes ipv4(std::uint8_t protocol, const Bytes& payload, Ipv4Fields f = {}) {
    const std::uint8_t ihl = f.ihl.value_or(static_cast<std::uint8_t>(5 + f.option_words));
    const std::size_t header_len = (5u + f.option_words) * 4u;
    Bytes b;
    b.push_back(static_cast<std::uint8_t>(4 << 4 | ihl));
    b.push_back(0);
    put16(b, static_cast<std::uint16_t>(header_len + payload.size()));
    put16(b, 0x1234);  // identification
    put16(b, f.frag_off);
    b.push_back(64);
    b.push_back(protocol);
    put16(b, 0);              // checksum: the program does not look at it
    put32(b, 0xc0000201);     // 192.0.2.1
    put32(b, 0xc0000202);     // 192.0.2.2
    b.resize(header_len, 0x01);  // options: NOP
    return b + payload;
}

Bytes ipv6(std::uint8_t next_header, const Bytes& payload) {
    Bytes b;
    put32(b, 6u << 28);
    put16(b, static_cast<std::uint16_t>(payload.size()));
    b.push_back(next_header);
    b.push_back(64);
    for (int i = 0; i < 2; ++i) {  // 2001:db8::1, 2001:db8::2
        put32(b, 0x20010db8);
        put32(b, 0);
        put32(b, 0);
        put32(b, static_cast<std::uint32_t>(i + 1));
    }
    return b + payload;
}

// Hop-by-hop, routing or destination options header of (units + 1) * 8 octets.
Bytes ipv6_opt(std::uint8_t next_header, std::uint8_t units, const Bytes& payload) {
    Bytes b = {next_header, units};
    b.resize((units + 1u) * 8u, 0);  // Pad1 options
    return b + payload;
}

Bytes ipv6_frag(std::uint8_t next_header, std::uint16_t offset_units, bool more, const Bytes& payload) {
    Bytes b = {next_header, 0};
    put16(b, static_cast<std::uint16_t>(offset_units << 3 | (more ? 1 : 0)));
    put32(b, 0xcafe);
    return b + payload;
}

Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes& payload,
          std::optional<std::uint16_t> length = std::nullopt) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put16(b, length.value_or(static_cast<std::uint16_t>(8 + payload.size())));
    put16(b, 0);
    return b + payload;
}

Bytes esp(std::uint32_t spi, std::size_t body = 48) {
    Bytes b;
    put32(b, spi);
    put32(b, 1);  // sequence number
    return b + filler(body);
}

Bytes non_esp_marker_ike() { return Bytes{0, 0, 0, 0} + filler(28); }  // marker + IKE header
Bytes arp() { return filler(28); }

// --------------------------------------------------------- the program ---

struct SkeletonDeleter {
    void operator()(ingress* s) const { ingress__destroy(s); }
};
using Skeleton = std::unique_ptr<ingress, SkeletonDeleter>;

Skeleton open_skeleton() {
    Skeleton skel{ingress__open()};
    REQUIRE_MESSAGE(skel != nullptr, "ingress__open: ", std::strerror(errno));
    return skel;
}

Skeleton load_skeleton() {
    Skeleton skel = open_skeleton();
    const int err = ingress__load(skel.get());
    REQUIRE_MESSAGE(err == 0, "ingress__load: ", std::strerror(-err));
    return skel;
}

bool skip_without_root() {
    if (geteuid() == 0) return false;
    MESSAGE("SKIPPED: needs root (BPF program load and BPF_PROG_TEST_RUN)");
    return true;
}

// "XDPSEC_REASON_PASS_IKE" -> "pass_ike", as the CLI will print them.
std::vector<std::string> reason_names_from_btf(const btf* types) {
    std::vector<std::string> names(XDPSEC_REASON_COUNT, "?");
    const int id = btf__find_by_name_kind(types, "xdpsec_verdict_reason", BTF_KIND_ENUM);
    if (id < 0) return names;
    const btf_type* t = btf__type_by_id(types, static_cast<__u32>(id));
    const struct btf_enum* e = btf_enum(t);
    for (std::uint16_t i = 0; i < btf_vlen(t); ++i) {
        if (e[i].val < 0 || e[i].val >= XDPSEC_REASON_COUNT) continue;
        std::string name = btf__name_by_offset(types, e[i].name_off);
        const std::string prefix = "XDPSEC_REASON_";
        if (name.starts_with(prefix)) name.erase(0, prefix.size());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        names[static_cast<std::size_t>(e[i].val)] = name;
    }
    return names;
}

// Sum over the CPUs of every reason's cell.
std::vector<xdpsec_counter> read_verdict_counters(const bpf_map* map) {
    const int cpus = libbpf_num_possible_cpus();
    REQUIRE(cpus > 0);
    std::vector<xdpsec_counter> per_cpu(static_cast<std::size_t>(cpus));
    std::vector<xdpsec_counter> totals(XDPSEC_REASON_COUNT, xdpsec_counter{0, 0});
    for (__u32 reason = 0; reason < XDPSEC_REASON_COUNT; ++reason) {
        REQUIRE(bpf_map_lookup_elem(bpf_map__fd(map), &reason, per_cpu.data()) == 0);
        for (const xdpsec_counter& c : per_cpu) {
            totals[reason].packets += c.packets;
            totals[reason].bytes += c.bytes;
        }
    }
    return totals;
}

// What moved between two reads, e.g. "pass_ike +1 packets +60 bytes".
std::string describe_delta(const std::vector<xdpsec_counter>& before,
                           const std::vector<xdpsec_counter>& after,
                           const std::vector<std::string>& names) {
    std::string moved;
    for (std::size_t r = 0; r < XDPSEC_REASON_COUNT; ++r) {
        const __u64 packets = after[r].packets - before[r].packets;
        const __u64 bytes = after[r].bytes - before[r].bytes;
        if (packets == 0 && bytes == 0) continue;
        if (!moved.empty()) moved += ", ";
        moved += names[r] + " +" + std::to_string(packets) + " packets +" + std::to_string(bytes) +
                 " bytes";
    }
    return moved.empty() ? "nothing" : moved;
}

struct Row {
    std::string description;
    Bytes frame;
    xdp_action verdict;
    xdpsec_verdict_reason reason;
};

class IngressUnderTest {
public:
    IngressUnderTest()
        : skel_(load_skeleton()),
          reason_names_(reason_names_from_btf(bpf_object__btf(skel_->obj))) {}

    void check(const Row& row) {
        CAPTURE(row.description);
        CAPTURE(row.frame.size());
        const auto before = read_verdict_counters(skel_->maps.XDPSEC_MAP_VERDICTS);

        Bytes out(row.frame.size() + 64);
        bpf_test_run_opts opts{};
        opts.sz = sizeof(opts);
        opts.data_in = row.frame.data();
        opts.data_size_in = static_cast<__u32>(row.frame.size());
        opts.data_out = out.data();
        opts.data_size_out = static_cast<__u32>(out.size());
        opts.repeat = 1;
        const int err = bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.ingress), &opts);
        REQUIRE_MESSAGE(err == 0, "bpf_prog_test_run_opts: ", std::strerror(-err));

        CHECK(opts.retval == static_cast<__u32>(row.verdict));
        out.resize(opts.data_size_out);
        CHECK_MESSAGE(out == row.frame, "the program must not modify the frame");

        const auto after = read_verdict_counters(skel_->maps.XDPSEC_MAP_VERDICTS);
        const std::string expected = reason_names_[row.reason] + " +1 packets +" +
                                     std::to_string(row.frame.size()) + " bytes";
        CHECK(describe_delta(before, after, reason_names_) == expected);
    }

private:
    Skeleton skel_;
    std::vector<std::string> reason_names_;
};

}  // namespace

TEST_CASE("the ingress object carries the bpf_abi.h types and map in its BTF") {
    // bpf_abi.h static_asserts the layouts in every C++ (and BPF) translation
    // unit, this one included; this checks what clang -target bpf actually
    // wrote into the object. Opening parses ELF and BTF only: no privilege needed.
    Skeleton skel = open_skeleton();
    const btf* types = bpf_object__btf(skel->obj);
    REQUIRE(types != nullptr);

    SUBCASE("struct xdpsec_counter: clang -target bpf laid it out as the C++ compiler did") {
        const int id = btf__find_by_name_kind(types, "xdpsec_counter", BTF_KIND_STRUCT);
        REQUIRE(id > 0);
        const btf_type* t = btf__type_by_id(types, static_cast<__u32>(id));
        CHECK(t->size == sizeof(xdpsec_counter));
        REQUIRE(btf_vlen(t) == 2);
        const btf_member* m = btf_members(t);
        CHECK(std::string(btf__name_by_offset(types, m[0].name_off)) == "packets");
        CHECK(btf_member_bit_offset(t, 0) / 8 == offsetof(xdpsec_counter, packets));
        CHECK(std::string(btf__name_by_offset(types, m[1].name_off)) == "bytes");
        CHECK(btf_member_bit_offset(t, 1) / 8 == offsetof(xdpsec_counter, bytes));
    }

    SUBCASE("enum xdpsec_verdict_reason: every value is a counter index, names intact") {
        const int id = btf__find_by_name_kind(types, "xdpsec_verdict_reason", BTF_KIND_ENUM);
        REQUIRE(id > 0);
        const btf_type* t = btf__type_by_id(types, static_cast<__u32>(id));
        CHECK(t->size == sizeof(xdpsec_verdict_reason));
        REQUIRE(btf_vlen(t) == XDPSEC_REASON_COUNT + 1);
        const struct btf_enum* e = btf_enum(t);
        for (int i = 0; i <= XDPSEC_REASON_COUNT; ++i) CHECK(e[i].val == i);
        CHECK(std::string(btf__name_by_offset(types, e[XDPSEC_REASON_COUNT].name_off)) ==
              "XDPSEC_REASON_COUNT");
        const auto names = reason_names_from_btf(types);
        CHECK(names[XDPSEC_REASON_PASS_NOT_IP] == "pass_not_ip");
        CHECK(names[XDPSEC_REASON_DROP_MALFORMED] == "drop_malformed");
        CHECK(names[XDPSEC_REASON_PROTECT_NO_POLICY] == "protect_no_policy");
    }

    SUBCASE("the verdict counter map is found by its bpf_abi.h name") {
        const bpf_map* map = bpf_object__find_map_by_name(skel->obj, XDPSEC_MAP_VERDICTS_NAME);
        REQUIRE(map != nullptr);
        CHECK(map == skel->maps.XDPSEC_MAP_VERDICTS);
        CHECK(bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_ARRAY);
        CHECK(bpf_map__key_size(map) == sizeof(__u32));
        CHECK(bpf_map__value_size(map) == sizeof(xdpsec_counter));
        CHECK(bpf_map__max_entries(map) == XDPSEC_REASON_COUNT);
    }
}

TEST_CASE("ingress: verdict and reason of well-formed and malformed frames") {
    if (skip_without_root()) return;
    IngressUnderTest program;

    const std::vector<Row> rows = {
        // not IP
        {"ARP", pad_to_min_frame(eth(ETH_P_ARP) + arp()), XDP_PASS, XDPSEC_REASON_PASS_NOT_IP},
        {"802.1Q-tagged ARP", pad_to_min_frame(eth(ETH_P_ARP, 10) + arp()), XDP_PASS,
         XDPSEC_REASON_PASS_NOT_IP},
        {"LLDP", pad_to_min_frame(eth(0x88cc) + filler(30)), XDP_PASS, XDPSEC_REASON_PASS_NOT_IP},
        {"an Ethernet header and nothing else", eth(0x88b5), XDP_PASS, XDPSEC_REASON_PASS_NOT_IP},
        {"QinQ: only one 802.1Q tag is looked through",
         pad_to_min_frame(eth(ETH_P_8021Q, 10) + Bytes{0, 20, 0x08, 0x00} +
                          ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28)))),
         XDP_PASS, XDPSEC_REASON_PASS_NOT_IP},

        // IKE
        {"IPv4 UDP/500", eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28))),
         XDP_PASS, XDPSEC_REASON_PASS_IKE},
        {"IPv4 UDP/500 from an ephemeral port",
         eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(40000, kIkePort, filler(28))), XDP_PASS,
         XDPSEC_REASON_PASS_IKE},
        {"IPv4 UDP/4500 with the non-ESP marker",
         eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, non_esp_marker_ike())), XDP_PASS,
         XDPSEC_REASON_PASS_IKE},
        {"IPv4 UDP/4500 NAT-keepalive in a padded frame",
         pad_to_min_frame(eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, {0xff}))),
         XDP_PASS, XDPSEC_REASON_PASS_IKE},
        {"IPv4 with options, UDP/500",
         eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28)), with_options(3)),
         XDP_PASS, XDPSEC_REASON_PASS_IKE},
        {"802.1Q-tagged IPv4 UDP/500",
         eth(ETH_P_IP, 10) + ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28))), XDP_PASS,
         XDPSEC_REASON_PASS_IKE},
        {"IPv6 UDP/500", eth(ETH_P_IPV6) + ipv6(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28))),
         XDP_PASS, XDPSEC_REASON_PASS_IKE},
        {"IPv6 hop-by-hop + destination options + UDP/4500 with the non-ESP marker",
         eth(ETH_P_IPV6) +
             ipv6(IPPROTO_HOPOPTS,
                  ipv6_opt(IPPROTO_DSTOPTS, 0,
                           ipv6_opt(IPPROTO_UDP, 2, udp(kNattPort, kNattPort, non_esp_marker_ike())))),
         XDP_PASS, XDPSEC_REASON_PASS_IKE},
        {"IPv6 atomic fragment (offset 0, M clear) + UDP/500",
         eth(ETH_P_IPV6) +
             ipv6(IPPROTO_FRAGMENT, ipv6_frag(IPPROTO_UDP, 0, false, udp(kIkePort, kIkePort, filler(28)))),
         XDP_PASS, XDPSEC_REASON_PASS_IKE},

        // ESP: no SAD yet, so it goes to the kernel
        {"IPv4 ESP", eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(0x1000)), XDP_PASS,
         XDPSEC_REASON_PASS_ESP_NO_SAD},
        {"IPv4 UDP/4500 ESP", eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, esp(0x1000))),
         XDP_PASS, XDPSEC_REASON_PASS_ESP_NO_SAD},
        {"IPv4 UDP/4500 ESP from a NAT-mapped port",
         eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(61000, kNattPort, esp(0x1000))), XDP_PASS,
         XDPSEC_REASON_PASS_ESP_NO_SAD},
        {"802.1Q-tagged IPv4 UDP/4500 ESP",
         eth(ETH_P_IP, 4094) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, esp(0x1000))), XDP_PASS,
         XDPSEC_REASON_PASS_ESP_NO_SAD},
        {"IPv6 ESP", eth(ETH_P_IPV6) + ipv6(IPPROTO_ESP, esp(0x1000)), XDP_PASS,
         XDPSEC_REASON_PASS_ESP_NO_SAD},
        {"IPv6 routing header + ESP",
         eth(ETH_P_IPV6) + ipv6(IPPROTO_ROUTING, ipv6_opt(IPPROTO_ESP, 1, esp(0x1000))), XDP_PASS,
         XDPSEC_REASON_PASS_ESP_NO_SAD},
        {"802.1Q-tagged IPv6 UDP/4500 ESP",
         eth(ETH_P_IPV6, 10) + ipv6(IPPROTO_UDP, udp(kNattPort, kNattPort, esp(0x1000))), XDP_PASS,
         XDPSEC_REASON_PASS_ESP_NO_SAD},

        // fragments: the transport header may not be there
        {"IPv4 first fragment of UDP/500",
         eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(64), 1400), with_frag_off(0x2000)),
         XDP_PASS, XDPSEC_REASON_PASS_FRAGMENT},
        {"IPv4 later fragment", eth(ETH_P_IP) + ipv4(IPPROTO_UDP, filler(64), with_frag_off(185)),
         XDP_PASS, XDPSEC_REASON_PASS_FRAGMENT},
        {"IPv4 last fragment of ESP", eth(ETH_P_IP) + ipv4(IPPROTO_ESP, filler(64), with_frag_off(185)),
         XDP_PASS, XDPSEC_REASON_PASS_FRAGMENT},
        {"IPv6 first fragment of UDP/500",
         eth(ETH_P_IPV6) +
             ipv6(IPPROTO_FRAGMENT, ipv6_frag(IPPROTO_UDP, 0, true, udp(kIkePort, kIkePort, filler(64), 1400))),
         XDP_PASS, XDPSEC_REASON_PASS_FRAGMENT},
        {"IPv6 later fragment",
         eth(ETH_P_IPV6) + ipv6(IPPROTO_FRAGMENT, ipv6_frag(IPPROTO_UDP, 175, false, filler(64))),
         XDP_PASS, XDPSEC_REASON_PASS_FRAGMENT},

        // other IP
        {"IPv4 TCP/22", eth(ETH_P_IP) + ipv4(IPPROTO_TCP, filler(40)), XDP_PASS,
         XDPSEC_REASON_PASS_OTHER},
        {"IPv4 ICMP", pad_to_min_frame(eth(ETH_P_IP) + ipv4(IPPROTO_ICMP, filler(16))), XDP_PASS,
         XDPSEC_REASON_PASS_OTHER},
        {"IPv4 UDP/53", eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(53000, 53, filler(30))), XDP_PASS,
         XDPSEC_REASON_PASS_OTHER},
        {"IPv4 UDP from port 500 to another port: only the destination counts",
         eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kIkePort, 40000, filler(28))), XDP_PASS,
         XDPSEC_REASON_PASS_OTHER},
        {"IPv4 AH: not ESP", eth(ETH_P_IP) + ipv4(51, filler(40)), XDP_PASS, XDPSEC_REASON_PASS_OTHER},
        {"IPv6 ICMPv6", eth(ETH_P_IPV6) + ipv6(IPPROTO_ICMPV6, filler(16)), XDP_PASS,
         XDPSEC_REASON_PASS_OTHER},
        {"IPv6 no next header", eth(ETH_P_IPV6) + ipv6(59, {}), XDP_PASS, XDPSEC_REASON_PASS_OTHER},
        {"IPv6 with six extension headers: longer than RFC 8200 allows, left to the kernel",
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
         XDP_PASS, XDPSEC_REASON_PASS_OTHER},

        // malformed
        {"IPv4 ethertype, IPv6 header", eth(ETH_P_IP) + ipv6(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28))),
         XDP_DROP, XDPSEC_REASON_DROP_MALFORMED},
        {"IPv6 ethertype, IPv4 header",
         eth(ETH_P_IPV6) + ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(48))), XDP_DROP,
         XDPSEC_REASON_DROP_MALFORMED},
        {"IPv4 IHL 4", eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28)), with_ihl(4)),
         XDP_DROP, XDPSEC_REASON_DROP_MALFORMED},
        {"IPv4 IHL 15 beyond the frame",
         pad_to_min_frame(eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, {}), with_ihl(15))),
         XDP_DROP, XDPSEC_REASON_DROP_MALFORMED},
        {"IPv6 destination options longer than the frame",
         eth(ETH_P_IPV6) + ipv6(IPPROTO_DSTOPTS, Bytes{IPPROTO_ESP, 20} + filler(30)), XDP_DROP,
         XDPSEC_REASON_DROP_MALFORMED},
        {"UDP/4500 empty datagram in a padded frame",
         pad_to_min_frame(eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, {}))), XDP_DROP,
         XDPSEC_REASON_DROP_MALFORMED},
        {"UDP/4500 single octet that is not 0xff",
         pad_to_min_frame(eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, {0x00}))),
         XDP_DROP, XDPSEC_REASON_DROP_MALFORMED},
        {"UDP/4500 three octets: neither keepalive, marker nor SPI",
         pad_to_min_frame(eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, {0, 0, 0}))),
         XDP_DROP, XDPSEC_REASON_DROP_MALFORMED},
        {"UDP/4500 length below the UDP header",
         pad_to_min_frame(eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, filler(8), 4))),
         XDP_DROP, XDPSEC_REASON_DROP_MALFORMED},
    };

    for (const Row& row : rows) program.check(row);
}

// Every prefix of a frame, from the shortest the kernel accepts for a test
// run (ETH_HLEN) up to the whole frame: a prefix that ends before the bytes
// the classification reads is malformed, one that holds them is classified
// like the whole frame (the program trusts no length field to be complete).
TEST_CASE("ingress: frames truncated at every offset") {
    if (skip_without_root()) return;
    IngressUnderTest program;

    struct Template {
        std::string description;
        Bytes frame;
        std::size_t classifying_bytes;  // prefix length from which the verdict is known
        xdp_action verdict;
        xdpsec_verdict_reason reason;
    };
    const std::vector<Template> templates = {
        {"802.1Q-tagged ARP", eth(ETH_P_ARP, 10) + arp(), 18, XDP_PASS, XDPSEC_REASON_PASS_NOT_IP},
        {"802.1Q-tagged IPv4 with options, UDP/4500 with the non-ESP marker",
         eth(ETH_P_IP, 10) +
             ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, non_esp_marker_ike()), with_options(2)),
         18 + 28 + 8 + 4, XDP_PASS, XDPSEC_REASON_PASS_IKE},
        {"IPv4 UDP/4500 ESP", eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, esp(0x1000))),
         14 + 20 + 8 + 4, XDP_PASS, XDPSEC_REASON_PASS_ESP_NO_SAD},
        {"IPv4 UDP/4500 NAT-keepalive", eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, {0xff})),
         14 + 20 + 8 + 1, XDP_PASS, XDPSEC_REASON_PASS_IKE},
        {"IPv4 ESP", eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(0x1000)), 14 + 20, XDP_PASS,
         XDPSEC_REASON_PASS_ESP_NO_SAD},
        {"IPv6 hop-by-hop + atomic fragment + UDP/500",
         eth(ETH_P_IPV6) +
             ipv6(IPPROTO_HOPOPTS,
                  ipv6_opt(IPPROTO_FRAGMENT, 1,
                           ipv6_frag(IPPROTO_UDP, 0, false, udp(kIkePort, kIkePort, filler(28))))),
         14 + 40 + 16 + 8 + 8, XDP_PASS, XDPSEC_REASON_PASS_IKE},
        {"802.1Q-tagged IPv6 ESP", eth(ETH_P_IPV6, 10) + ipv6(IPPROTO_ESP, esp(0x1000)), 18 + 40,
         XDP_PASS, XDPSEC_REASON_PASS_ESP_NO_SAD},
        {"IPv6 TCP", eth(ETH_P_IPV6) + ipv6(IPPROTO_TCP, filler(40)), 14 + 40, XDP_PASS,
         XDPSEC_REASON_PASS_OTHER},
    };

    for (const Template& t : templates) {
        REQUIRE(t.classifying_bytes <= t.frame.size());
        for (std::size_t len = ETH_HLEN; len <= t.frame.size(); ++len) {
            const bool classifiable = len >= t.classifying_bytes;
            program.check({t.description + " cut to " + std::to_string(len) + " of " +
                               std::to_string(t.frame.size()) + " bytes",
                           Bytes(t.frame.begin(), t.frame.begin() + static_cast<std::ptrdiff_t>(len)),
                           classifiable ? t.verdict : XDP_DROP,
                           classifiable ? t.reason : XDPSEC_REASON_DROP_MALFORMED});
        }
    }
}
