// TRAP policies (RFC 4301 §5.1: an SPD entry that asks IKE for an SA).
// protect drops what meets one, counts it as protect_acquire and reports an
// acquire (inner flow, policy id) through the ring buffer. Then the data
// plane's add_trap/remove_trap, in a network and mount namespace of their
// own: the buckets they write, SAs taking precedence over traps, routes
// kept while anything needs them, and a packet routed into the tunnel
// device coming back as an acquire with the trap's name.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdpsec/bpf_abi.h>

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "dataplane.h"
#include "dataplane/dataplane.h"
#include "dataplane/netlink.h"
#include "dataplane/unique_fd.h"
#include "frames.h"
#include "scenario.h"

using namespace xdpsec::test;
using namespace xdpsec::test::scenario;
namespace dp = xdpsec::dataplane;
namespace esp = xdpsec::esp;
using Event = dp::DataplaneEvent;

namespace {

constexpr std::uint32_t kTrapId4 = 4001;
constexpr std::uint32_t kTrapId6 = 6001;
constexpr std::uint32_t kTrapBesideSa = 4002;

xdpsec_policy trap_policy(const std::string& src, std::uint32_t id) {
    xdpsec_policy p = policy(src, XDPSEC_POLICY_TRAP);
    p.policy_id = id;
    return p;
}

Row acquired(std::string description, Bytes frame) {
    return {std::move(description), std::move(frame), XDP_DROP, XDPSEC_REASON_PROTECT_ACQUIRE};
}

Bytes out4(const char* src, const char* dst, std::uint8_t proto, const Bytes& payload) {
    return pad_to_min_frame(eth(ETH_P_IP) + ipv4(proto, payload, between(src, dst)));
}

// Traps for 10.1.0.0/24 -> 10.9.0.0/16 and 2001:db8:1::/48 -> 2001:db8:9::/48,
// and one beside an SA with the same selectors, in the order the data plane
// writes them (the SA first).
void add_traps(Dataplane& d) {
    bpf_map* out = d.ingress_skel().maps.XDPSEC_MAP_SPD_OUT;
    d.put_spd(out, "10.9.0.0/16", {trap_policy("10.1.0.0/24", kTrapId4)});
    d.put_spd(out, "2001:db8:9::/48", {trap_policy("2001:db8:1::/48", kTrapId6)});
    d.put_spd(out, "10.10.0.0/16",
              {policy("10.1.0.0/24", XDPSEC_POLICY_PROTECT, kSlotNet),
               trap_policy("10.1.0.0/24", kTrapBesideSa)});
}

std::string text(const esp::IpAddress& a) { return a.to_string(); }

}  // namespace

TEST_CASE("protect: a TRAP policy drops, counts protect_acquire and reports the flow") {
    if (skip_without_root()) return;
    Fixture f;
    add_traps(f.dataplane);

    SUBCASE("IPv4 TCP") {
        f.dataplane.check(Program::protect, acquired("TCP 10.1.0.7:40000 -> 10.9.1.2:443",
                                           out4("10.1.0.7", "10.9.1.2", IPPROTO_TCP, tcp(40000, 443))));
        const auto events = f.dataplane.drain_events();
        REQUIRE(events.size() == 1);
        const Event& e = events[0];
        CHECK(e.type == Event::Type::acquire);
        CHECK(e.policy_id == kTrapId4);
        CHECK(text(e.src) == "10.1.0.7");
        CHECK(text(e.dst) == "10.9.1.2");
        CHECK(e.proto == IPPROTO_TCP);
        CHECK(e.has_ports);
        CHECK(e.sport == 40000);
        CHECK(e.dport == 443);
        CHECK(e.spi == 0);
        CHECK_FALSE(e.udp_encap);
        CHECK(e.trap.empty());  // only Dataplane::drain_events knows trap names
    }
    SUBCASE("IPv6 UDP") {
        f.dataplane.check(Program::protect,
                acquired("UDP 2001:db8:1::5:5353 -> 2001:db8:9::1:53",
                         eth(ETH_P_IPV6) + ipv6(IPPROTO_UDP, udp(5353, 53, filler(20)),
                                                between6("2001:db8:1::5", "2001:db8:9::1"))));
        const auto events = f.dataplane.drain_events();
        REQUIRE(events.size() == 1);
        const Event& e = events[0];
        CHECK(e.type == Event::Type::acquire);
        CHECK(e.policy_id == kTrapId6);
        CHECK(text(e.src) == "2001:db8:1::5");
        CHECK(text(e.dst) == "2001:db8:9::1");
        CHECK(e.proto == IPPROTO_UDP);
        CHECK(e.has_ports);
        CHECK(e.sport == 5353);
        CHECK(e.dport == 53);
    }
    SUBCASE("no ports: ICMP, and a fragment") {
        f.dataplane.check(Program::protect,
                {
                    acquired("ICMP echo", out4("10.1.0.7", "10.9.0.1", IPPROTO_ICMP, icmp(8))),
                    acquired("a UDP fragment",
                             eth(ETH_P_IP) + ipv4(IPPROTO_UDP, filler(64),
                                                  with_frag_off(185, between("10.1.0.7", "10.9.0.1")))),
                });
        const auto events = f.dataplane.drain_events();
        REQUIRE(events.size() == 2);
        CHECK(events[0].proto == IPPROTO_ICMP);
        CHECK(events[1].proto == IPPROTO_UDP);
        for (const Event& e : events) {
            CHECK(e.policy_id == kTrapId4);
            CHECK_FALSE(e.has_ports);
            CHECK(e.sport == 0);
            CHECK(e.dport == 0);
        }
    }
    SUBCASE("an SA with the trap's selectors, ahead of it, takes the traffic") {
        f.dataplane.check(Program::protect,
                {
                    {"TCP 10.1.0.7 -> 10.10.0.1", out4("10.1.0.7", "10.10.0.1", IPPROTO_TCP, tcp(40000, 80)),
                     XDP_REDIRECT, XDPSEC_REASON_PROTECT_REDIRECT, kSlotNet},
                    {"from outside the trap's source selector: no policy",
                     out4("10.3.0.1", "10.9.0.1", IPPROTO_TCP, tcp(40000, 80)), XDP_DROP,
                     XDPSEC_REASON_PROTECT_NO_POLICY},
                });
        CHECK(f.dataplane.drain_events().empty());
    }
    SUBCASE("over the acquire budget: still dropped and counted, the event counted as rate-limited") {
        f.dataplane.set_event_window(XDPSEC_EVENT_ACQUIRE, std::numeric_limits<std::uint64_t>::max(),
                                     XDPSEC_EVENT_BUDGET);
        f.dataplane.check(Program::protect,
                acquired("TCP to a trap", out4("10.1.0.7", "10.9.1.2", IPPROTO_TCP, tcp(40000, 443))));
        CHECK(f.dataplane.drain_events().empty());
        CHECK(f.dataplane.event_limit(XDPSEC_EVENT_ACQUIRE).rate_limited == 1);
        CHECK(f.dataplane.event_limit(XDPSEC_EVENT_UNKNOWN_SPI).rate_limited == 0);
    }
}

namespace {

// A network and a mount namespace for this process until destroyed, with
// a bpffs of its own: the data plane's devices, routes and pins never touch
// the host's. The test binary runs no other thread, as setns() back into
// the mount namespace requires.
class Sandbox {
public:
    Sandbox() : dir_("/tmp/xdpsec-trap-test-" + std::to_string(::getpid())) {
        host_net_ = xdpsec::UniqueFd(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
        host_mnt_ = xdpsec::UniqueFd(::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
        REQUIRE(host_net_.get() >= 0);
        REQUIRE(host_mnt_.get() >= 0);
        REQUIRE(::unshare(CLONE_NEWNET | CLONE_NEWNS) == 0);
        entered_ = true;
        REQUIRE(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
    }
    ~Sandbox() {
        if (entered_) {
            ::setns(host_mnt_.get(), CLONE_NEWNS);
            ::setns(host_net_.get(), CLONE_NEWNET);
        }
        ::rmdir(pin_dir().c_str());
        ::rmdir(dir_.c_str());
    }
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;
    std::string pin_dir() const { return dir_ + "/bpf"; }

private:
    std::string dir_;
    xdpsec::UniqueFd host_net_, host_mnt_;
    bool entered_ = false;
};

esp::IpPrefix prefix(const char* text) {
    std::string why;
    auto p = esp::IpPrefix::parse(text, &why);
    REQUIRE_MESSAGE(p.has_value(), why);
    return *p;
}

esp::IpAddress address(const char* text) {
    auto a = esp::IpAddress::parse(text);
    REQUIRE(a.has_value());
    return *a;
}

// The SPD_OUT map as "prefix" -> bucket, read key by key.
std::map<std::string, xdpsec_spd_bucket> spd_out(const std::string& pin_dir) {
    xdpsec::UniqueFd fd(bpf_obj_get((pin_dir + "/" + XDPSEC_MAP_SPD_OUT_NAME).c_str()));
    REQUIRE(fd.get() >= 0);
    std::map<std::string, xdpsec_spd_bucket> out;
    xdpsec_spd_key key{}, next{};
    bool first = true;
    while (bpf_map_get_next_key(fd.get(), first ? nullptr : &key, &next) == 0) {
        first = false;
        key = next;
        xdpsec_spd_bucket bucket{};
        REQUIRE(bpf_map_lookup_elem(fd.get(), &key, &bucket) == 0);
        esp::IpPrefix p;
        p.addr.family = key.family;
        std::memcpy(p.addr.bytes.data(), key.addr, 16);
        p.len = static_cast<std::uint8_t>(key.prefixlen - 8);
        out[p.to_string()] = bucket;
    }
    return out;
}

// "TRAP 10.1.0.0/24 #7" or "PROTECT 10.1.0.5/32 slot 3", one per policy, in bucket order.
std::vector<std::string> describe(const xdpsec_spd_bucket& b) {
    std::vector<std::string> out;
    for (std::uint32_t i = 0; i < b.count && i < XDPSEC_BUCKET_POLICIES; ++i) {
        const xdpsec_policy& p = b.policies[i];
        esp::IpPrefix src;
        src.addr.family = p.src.family;
        std::memcpy(src.addr.bytes.data(), p.src.addr, 16);
        src.len = p.src.prefixlen;
        if (p.action == XDPSEC_POLICY_TRAP)
            out.push_back("TRAP " + src.to_string() + " #" + std::to_string(p.policy_id));
        else if (p.action == XDPSEC_POLICY_PROTECT)
            out.push_back("PROTECT " + src.to_string() + " slot " + std::to_string(p.sa_slot));
        else out.push_back("action " + std::to_string(p.action));
    }
    return out;
}

std::optional<int> route_dev(dp::Netlink& nl, const char* dst) {
    std::string err;
    auto hop = nl.route_to(address(dst), 0, &err);
    if (!hop) return std::nullopt;
    return hop->ifindex;
}

dp::SaSpec outbound_sa(const std::string& name, std::uint32_t spi, const char* local_ts,
                       const char* remote_ts) {
    dp::SaSpec s;
    s.name = name;
    auto& c = s.config;
    c.spi = spi;
    c.direction = esp::SaDirection::outbound;
    c.mode = esp::Mode::tunnel;
    c.local = address("192.0.2.1");
    c.remote = address("192.0.2.2");
    c.algorithm = *esp::Algorithm::parse("aes128gcm16");
    const std::vector<std::uint8_t> key(20, 0x42);  // test key: AES-128 + 4-byte salt
    c.enc_key.assign(key);
    s.local_ts = {prefix(local_ts)};
    s.remote_ts = {prefix(remote_ts)};
    return s;
}

}  // namespace

TEST_CASE("Dataplane: add_trap and remove_trap, beside SAs") {
    if (skip_without_root()) return;
    Sandbox sandbox;
    std::string err;
    auto nl = dp::Netlink::open(&err);
    REQUIRE_MESSAGE(nl.has_value(), err);
    REQUIRE(nl->create_veth("xtup", "xtupp"));
    for (const char* dev : {"xtup", "xtupp"}) REQUIRE(nl->set_flags(dp::interface_index(dev), IFF_UP));

    dp::DataplaneOptions o;
    o.uplink = "xtup";
    o.tunnel_if = "xttun";
    o.pin_dir = sandbox.pin_dir();
    auto plane = dp::Dataplane::create(o, &err);
    REQUIRE_MESSAGE(plane != nullptr, err);
    const int tun = dp::interface_index("xttun");
    REQUIRE(tun > 0);
    // /sys here is still the host's (a new network namespace, no sysfs of
    // its own): the tunnel device's NAPI setting is refused there, with a
    // note, rather than written to whatever the host has under that name.
    const auto& notes = plane->notes();
    CHECK(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
        return n.find("tunnel device NAPI left as it was: /sys/class/net/xttun/ is not this network "
                      "namespace's xttun") == 0;
    }));

    REQUIRE(plane->add_trap("site-b", {prefix("10.1.0.0/24")}, {prefix("10.2.0.0/24")}));
    const auto traps = plane->trap_report();
    REQUIRE(traps.size() == 1);
    REQUIRE(traps[0].policy_ids.size() == 1);
    const std::string trap = "TRAP 10.1.0.0/24 #" + std::to_string(traps[0].policy_ids[0]);

    SUBCASE("the trap: one TRAP policy and a route into the tunnel device") {
        const auto spd = spd_out(sandbox.pin_dir());
        REQUIRE(spd.size() == 1);
        CHECK(describe(spd.at("10.2.0.0/24")) == std::vector<std::string>{trap});
        CHECK(route_dev(*nl, "10.2.0.9") == tun);
        CHECK(plane->has_trap("site-b"));
    }
    SUBCASE("names are unique, selectors required") {
        CHECK_FALSE(plane->add_trap("site-b", {prefix("10.1.0.0/24")}, {prefix("10.3.0.0/24")}));
        CHECK_FALSE(plane->add_trap("empty", {}, {prefix("10.3.0.0/24")}));
        CHECK_FALSE(plane->add_trap("mixed", {prefix("10.1.0.0/24")}, {prefix("2001:db8:2::/48")}));
        CHECK_FALSE(plane->remove_trap("nonesuch"));
        CHECK(spd_out(sandbox.pin_dir()).size() == 1);
        CHECK_FALSE(route_dev(*nl, "10.3.0.1").has_value());
    }
    SUBCASE("an SA with the same selectors replaces the trap's entry, and gives it back") {
        REQUIRE(plane->add_sa(outbound_sa("site-b/out", 0x1001, "10.1.0.0/24", "10.2.0.0/24")));
        const auto slot = plane->sa_report().at(0).slot;
        CHECK(describe(spd_out(sandbox.pin_dir()).at("10.2.0.0/24")) ==
              std::vector<std::string>{"PROTECT 10.1.0.0/24 slot " + std::to_string(slot)});
        REQUIRE(plane->remove_sa("site-b/out"));
        CHECK(describe(spd_out(sandbox.pin_dir()).at("10.2.0.0/24")) == std::vector<std::string>{trap});
        CHECK(route_dev(*nl, "10.2.0.9") == tun);  // the trap still needs it
    }
    SUBCASE("an SA installed before the trap still wins over it") {
        REQUIRE(plane->remove_trap("site-b"));
        REQUIRE(plane->add_sa(outbound_sa("site-b/out", 0x1001, "10.1.0.0/24", "10.2.0.0/24")));
        REQUIRE(plane->add_trap("site-b", {prefix("10.1.0.0/24")}, {prefix("10.2.0.0/24")}));
        const auto slot = plane->sa_report().at(0).slot;
        CHECK(describe(spd_out(sandbox.pin_dir()).at("10.2.0.0/24")) ==
              std::vector<std::string>{"PROTECT 10.1.0.0/24 slot " + std::to_string(slot)});
        REQUIRE(plane->remove_trap("site-b"));
        CHECK(describe(spd_out(sandbox.pin_dir()).at("10.2.0.0/24")) ==
              std::vector<std::string>{"PROTECT 10.1.0.0/24 slot " + std::to_string(slot)});
        CHECK(route_dev(*nl, "10.2.0.9") == tun);  // the SA still needs it
    }
    SUBCASE("a narrower SA comes first, and the trap stays in its bucket for the rest") {
        REQUIRE(plane->add_sa(outbound_sa("narrow/out", 0x1002, "10.1.0.5/32", "10.2.0.0/25")));
        const auto slot = plane->sa_report().at(0).slot;
        const auto spd = spd_out(sandbox.pin_dir());
        REQUIRE(spd.size() == 2);
        CHECK(describe(spd.at("10.2.0.0/25")) ==
              std::vector<std::string>{"PROTECT 10.1.0.5/32 slot " + std::to_string(slot), trap});
        CHECK(describe(spd.at("10.2.0.0/24")) == std::vector<std::string>{trap});
        REQUIRE(plane->remove_sa("narrow/out"));
        const auto after = spd_out(sandbox.pin_dir());
        CHECK(after.size() == 1);
        CHECK(after.count("10.2.0.0/25") == 0);
        CHECK(route_dev(*nl, "10.2.0.9") == tun);  // the trap's /24
    }
    SUBCASE("removing the trap removes its policies and its route") {
        REQUIRE(plane->remove_trap("site-b"));
        CHECK(spd_out(sandbox.pin_dir()).empty());
        CHECK_FALSE(route_dev(*nl, "10.2.0.9").has_value());
        CHECK(plane->trap_report().empty());
    }
    SUBCASE("a packet routed into the tunnel device comes back as an acquire with the trap's name") {
        // Sent from 10.1.0.1, in the trap's local selector, an address of the uplink here.
        xdpsec::UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        REQUIRE(s.get() >= 0);
        sockaddr_in from{};
        from.sin_family = AF_INET;
        from.sin_port = htons(40000);
        inet_pton(AF_INET, "10.1.0.1", &from.sin_addr);
        ifreq ifr{};
        std::strncpy(ifr.ifr_name, "xtup", IFNAMSIZ - 1);
        std::memcpy(&ifr.ifr_addr, &from, sizeof from);
        REQUIRE(::ioctl(s.get(), SIOCSIFADDR, &ifr) == 0);
        REQUIRE(::bind(s.get(), reinterpret_cast<sockaddr*>(&from), sizeof from) == 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(9);
        inet_pton(AF_INET, "10.2.0.5", &to.sin_addr);
        const char payload[] = "acquire";
        REQUIRE(::sendto(s.get(), payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
                static_cast<ssize_t>(sizeof payload));

        std::vector<Event> events;
        pollfd p{plane->event_fd(), POLLIN, 0};
        for (int i = 0; i < 50 && events.empty(); ++i) {  // bounded: 50 polls of 100 ms
            if (::poll(&p, 1, 100) > 0) plane->drain_events([&](const Event& e) { events.push_back(e); });
        }
        REQUIRE(events.size() == 1);
        const Event& e = events[0];
        CHECK(e.type == Event::Type::acquire);
        CHECK(e.trap == "site-b");
        CHECK(e.policy_id == traps[0].policy_ids[0]);
        CHECK(text(e.src) == "10.1.0.1");
        CHECK(text(e.dst) == "10.2.0.5");
        CHECK(e.proto == IPPROTO_UDP);
        CHECK(e.sport == 40000);
        CHECK(e.dport == 9);
        CHECK(plane->verdicts()[XDPSEC_REASON_PROTECT_ACQUIRE].packets == 1);
        CHECK(plane->event_counters()[XDPSEC_EVENT_ACQUIRE].emitted == 1);
    }
    plane.reset();
    (void)nl->delete_link("xtup");
}
