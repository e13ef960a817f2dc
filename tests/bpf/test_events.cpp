// Events from ingress to the daemon: ESP for an unknown SPI is dropped and
// counted as before, and also reported (outer addresses, SPI, UDP ports)
// through the ring buffer, at most XDPSEC_EVENT_BUDGET a second per CPU;
// what is over the budget or finds the ring full is counted instead.
#include <doctest/doctest.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sched.h>
#include <xdpsec/bpf_abi.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "dataplane.h"
#include "frames.h"
#include "scenario.h"

using namespace xdpsec::test;
using namespace xdpsec::test::scenario;
using Event = xdpsec::dataplane::DataplaneEvent;

namespace {

constexpr std::uint64_t kWindowNeverEnds = std::numeric_limits<std::uint64_t>::max();

Row unknown_spi(std::string description, Bytes frame) {
    return {std::move(description), std::move(frame), XDP_DROP, XDPSEC_REASON_DROP_UNKNOWN_SPI};
}

std::string text(const xdpsec::esp::IpAddress& a) { return a.to_string(); }

// Keeps this thread on the CPU it runs on, so that every BPF_PROG_TEST_RUN
// meets the same per-CPU budget; restores the affinity afterwards.
class PinnedToOneCpu {
public:
    PinnedToOneCpu() {
        REQUIRE(sched_getaffinity(0, sizeof(saved_), &saved_) == 0);
        const int cpu = sched_getcpu();
        REQUIRE(cpu >= 0);
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        REQUIRE(sched_setaffinity(0, sizeof(one), &one) == 0);
    }
    ~PinnedToOneCpu() { sched_setaffinity(0, sizeof(saved_), &saved_); }
    PinnedToOneCpu(const PinnedToOneCpu&) = delete;
    PinnedToOneCpu& operator=(const PinnedToOneCpu&) = delete;

private:
    cpu_set_t saved_{};
};

}  // namespace

TEST_CASE("ingress: an unknown SPI is dropped, counted and reported with its outer flow") {
    if (skip_without_root()) return;
    Fixture f;

    SUBCASE("IPv4 ESP") {
        f.dataplane.check(Program::ingress, unknown_spi("IPv4 ESP, SPI not in the SAD",
                                              eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpiUnknown, 500),
                                                                   between("198.51.100.7", "192.0.2.2"))));
        const auto events = f.dataplane.drain_events();
        REQUIRE(events.size() == 1);
        const Event& e = events[0];
        CHECK(e.type == Event::Type::unknown_spi);
        CHECK(text(e.src) == "198.51.100.7");
        CHECK(text(e.dst) == "192.0.2.2");
        CHECK(e.spi == kSpiUnknown);
        CHECK(e.proto == IPPROTO_ESP);
        CHECK_FALSE(e.udp_encap);
        CHECK(e.encap_sport == 0);
        CHECK(e.encap_dport == 0);
        CHECK(e.policy_id == 0);
        CHECK_FALSE(e.has_ports);
    }
    SUBCASE("IPv4 ESP in UDP from a NAT-mapped port") {
        f.dataplane.check(Program::ingress,
                unknown_spi("IPv4 UDP/4500 ESP, SPI not in the SAD",
                            eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(61000, kNattPort, esp(0xdeadbeef, 200)),
                                                 between("203.0.113.9", "192.0.2.2"))));
        const auto events = f.dataplane.drain_events();
        REQUIRE(events.size() == 1);
        const Event& e = events[0];
        CHECK(e.type == Event::Type::unknown_spi);
        CHECK(text(e.src) == "203.0.113.9");
        CHECK(text(e.dst) == "192.0.2.2");
        CHECK(e.spi == 0xdeadbeef);
        CHECK(e.proto == IPPROTO_UDP);
        CHECK(e.udp_encap);
        CHECK(e.encap_sport == 61000);
        CHECK(e.encap_dport == kNattPort);
    }
    SUBCASE("IPv6 ESP, a known SPI for another destination") {
        f.dataplane.check(Program::ingress,
                unknown_spi("IPv6 ESP to 2001:db8::3",
                            eth(ETH_P_IPV6) + ipv6(IPPROTO_ESP, esp(kSpi, 500),
                                                   between6("2001:db8:ff::1", "2001:db8::3"))));
        const auto events = f.dataplane.drain_events();
        REQUIRE(events.size() == 1);
        const Event& e = events[0];
        CHECK(e.type == Event::Type::unknown_spi);
        CHECK(text(e.src) == "2001:db8:ff::1");
        CHECK(text(e.dst) == "2001:db8::3");
        CHECK(e.spi == kSpi);
        CHECK_FALSE(e.udp_encap);
    }
    SUBCASE("IPv6 ESP in UDP") {
        f.dataplane.check(Program::ingress,
                unknown_spi("IPv6 UDP/4500 ESP, SPI not in the SAD",
                            eth(ETH_P_IPV6) + ipv6(IPPROTO_UDP, udp(4501, kNattPort, esp(0x01020304, 7)))));
        const auto events = f.dataplane.drain_events();
        REQUIRE(events.size() == 1);
        const Event& e = events[0];
        CHECK(text(e.src) == "2001:db8::1");
        CHECK(text(e.dst) == "2001:db8::2");
        CHECK(e.spi == 0x01020304);
        CHECK(e.udp_encap);
        CHECK(e.encap_sport == 4501);
        CHECK(e.encap_dport == kNattPort);
    }
    SUBCASE("only unknown SPIs are reported") {
        const std::uint32_t bottom = static_cast<std::uint32_t>(kReplayBottom);
        f.dataplane.check(Program::ingress,
                {
                    {"known SPI", eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, bottom)), XDP_REDIRECT,
                     XDPSEC_REASON_REDIRECT_ESP, kSlotEsp4},
                    {"replayed", eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, 1)), XDP_DROP,
                     XDPSEC_REASON_DROP_REPLAY_TOO_OLD},
                    {"EXPIRED SA", eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpiExpired, 500)), XDP_DROP,
                     XDPSEC_REASON_DROP_SA_NOT_ACTIVE},
                    {"IKE", eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kIkePort, kIkePort, filler(28))), XDP_PASS,
                     XDPSEC_REASON_PASS_IKE},
                    {"UDP/4500 too short for ESP",
                     pad_to_min_frame(eth(ETH_P_IP) +
                                      ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, {1, 2, 3, 4, 5}))),
                     XDP_DROP, XDPSEC_REASON_DROP_MALFORMED},
                });
        CHECK(f.dataplane.drain_events().empty());
        const auto limit = f.dataplane.event_limit(XDPSEC_EVENT_UNKNOWN_SPI);
        CHECK(limit.emitted == 0);
        CHECK(limit.rate_limited == 0);
    }
    const auto limit = f.dataplane.event_limit(XDPSEC_EVENT_UNKNOWN_SPI);
    CHECK(limit.ring_full == 0);
    CHECK(limit.rate_limited == 0);
}

TEST_CASE("events: at most XDPSEC_EVENT_BUDGET a second per CPU, the rest counted") {
    if (skip_without_root()) return;
    Fixture f;
    PinnedToOneCpu pinned;
    const Bytes frame = eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpiUnknown, 500));
    constexpr std::uint32_t kOver = 10;

    SUBCASE("a burst within one window") {
        f.dataplane.set_event_window(XDPSEC_EVENT_UNKNOWN_SPI, kWindowNeverEnds, 0);
        const auto before = f.dataplane.counters();
        for (std::uint32_t i = 0; i < XDPSEC_EVENT_BUDGET + kOver; ++i)
            REQUIRE(f.dataplane.run(Program::ingress, frame) == XDP_DROP);
        const auto after = f.dataplane.counters();
        // Every packet is still dropped and counted under its reason.
        const auto dropped = after[XDPSEC_REASON_DROP_UNKNOWN_SPI].packets -
                             before[XDPSEC_REASON_DROP_UNKNOWN_SPI].packets;
        CHECK(dropped == XDPSEC_EVENT_BUDGET + kOver);
        const auto events = f.dataplane.drain_events();
        CHECK(events.size() == XDPSEC_EVENT_BUDGET);
        const auto limit = f.dataplane.event_limit(XDPSEC_EVENT_UNKNOWN_SPI);
        CHECK(limit.emitted == XDPSEC_EVENT_BUDGET);
        CHECK(limit.rate_limited == kOver);
        CHECK(limit.ring_full == 0);
        CHECK(limit.window_used == XDPSEC_EVENT_BUDGET);
    }
    SUBCASE("each event type has its own budget") {
        f.dataplane.set_event_window(XDPSEC_EVENT_UNKNOWN_SPI, kWindowNeverEnds, XDPSEC_EVENT_BUDGET);
        f.dataplane.run(Program::ingress, frame);
        CHECK(f.dataplane.drain_events().empty());
        CHECK(f.dataplane.event_limit(XDPSEC_EVENT_UNKNOWN_SPI).rate_limited == 1);
        CHECK(f.dataplane.event_limit(XDPSEC_EVENT_ACQUIRE).window_used == 0);
    }
    SUBCASE("a window that has ended starts a new one with a full budget") {
        f.dataplane.set_event_window(XDPSEC_EVENT_UNKNOWN_SPI, 1, XDPSEC_EVENT_BUDGET);
        f.dataplane.run(Program::ingress, frame, 3);
        CHECK(f.dataplane.drain_events().size() == 3);
        const auto limit = f.dataplane.event_limit(XDPSEC_EVENT_UNKNOWN_SPI);
        CHECK(limit.rate_limited == 0);
        CHECK(limit.window_end > 1);  // this CPU's new window
    }
    SUBCASE("a full ring is a counted miss, never a failure") {
        // Refill the budget between bursts until the unread ring overflows.
        const std::uint32_t bursts = XDPSEC_EVENTS_BYTES / sizeof(xdpsec_event) / XDPSEC_EVENT_BUDGET + 1;
        for (std::uint32_t i = 0; i < bursts; ++i) {
            f.dataplane.set_event_window(XDPSEC_EVENT_UNKNOWN_SPI, kWindowNeverEnds, 0);
            REQUIRE(f.dataplane.run(Program::ingress, frame, XDPSEC_EVENT_BUDGET) == XDP_DROP);
        }
        const auto limit = f.dataplane.event_limit(XDPSEC_EVENT_UNKNOWN_SPI);
        CHECK(limit.ring_full > 0);
        CHECK(limit.rate_limited == 0);
        CHECK(limit.emitted + limit.ring_full == std::uint64_t{bursts} * XDPSEC_EVENT_BUDGET);
        const auto events = f.dataplane.drain_events();
        CHECK(events.size() == limit.emitted);
        // Drained, the ring takes events again.
        f.dataplane.set_event_window(XDPSEC_EVENT_UNKNOWN_SPI, kWindowNeverEnds, 0);
        f.dataplane.run(Program::ingress, frame);
        CHECK(f.dataplane.drain_events().size() == 1);
    }
}
