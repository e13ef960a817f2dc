// End to end into a real AF_XDP socket: with BPF_F_TEST_XDP_LIVE_FRAMES the
// kernel carries out the programs' redirects, so a frame lands in the UMEM
// of a copy-mode socket exactly as on a veth uplink or tunnel device, and
// the worker's view can be checked: the packet unmodified, the RX descriptor
// pointing at it, struct xdpsec_meta right in front of it.
#include <doctest/doctest.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <xdpsec/bpf_abi.h>

#include <cerrno>
#include <cstring>

#include "dataplane.h"
#include "frames.h"
#include "scenario.h"

using namespace xdpsec::test;
using namespace xdpsec::test::scenario;

namespace {

// Runs frame through program once with the kernel acting on the verdict.
void run_live(Dataplane& dataplane, Program program, const Bytes& frame) {
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<__u32>(frame.size());
    opts.repeat = 1;
    opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
    const int err = bpf_prog_test_run_opts(dataplane.program_fd(program), &opts);
    REQUIRE_MESSAGE(err == 0, "bpf_prog_test_run_opts(BPF_F_TEST_XDP_LIVE_FRAMES): ", std::strerror(-err));
}

}  // namespace

TEST_CASE("AF_XDP in copy mode: the worker receives the frame with the SA slot in front of it") {
    if (skip_without_root()) return;
    Fixture f;

    SUBCASE("ingress: ESP") {
        const Bytes frame = eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, 500));
        const auto before = f.dataplane.counters();
        run_live(f.dataplane, Program::ingress, frame);
        CHECK(describe_delta(before, f.dataplane.counters()) ==
              "redirect_esp +1 packets +" + std::to_string(frame.size()) + " bytes");
        const auto received = f.xsk.receive();
        REQUIRE(received.size() == 1);
        CHECK(received[0].frame == frame);
        CHECK(received[0].meta == meta_bytes(kSlotEsp4, kGeneration + kSlotEsp4));
    }

    SUBCASE("ingress: ESP in UDP, still encapsulated") {
        const Bytes frame = eth(ETH_P_IPV6) + ipv6(IPPROTO_UDP, udp(kNattPort, kNattPort, esp(kSpi, 500)));
        run_live(f.dataplane, Program::ingress, frame);
        const auto received = f.xsk.receive();
        REQUIRE(received.size() == 1);
        CHECK(received[0].frame == frame);
        CHECK(received[0].meta == meta_bytes(kSlotEsp6, kGeneration + kSlotEsp6));
    }

    SUBCASE("protect: a packet for a PROTECT policy") {
        const Bytes frame =
            eth(ETH_P_IP) + ipv4(IPPROTO_TCP, tcp(40000, 443), between("10.1.0.5", "10.2.0.9"));
        const auto before = f.dataplane.counters();
        run_live(f.dataplane, Program::protect, frame);
        CHECK(describe_delta(before, f.dataplane.counters()) ==
              "protect_redirect +1 packets +" + std::to_string(frame.size()) + " bytes");
        const auto received = f.xsk.receive();
        REQUIRE(received.size() == 1);
        CHECK(received[0].frame == frame);
        CHECK(received[0].meta == meta_bytes(kSlotHttps, kGeneration + kSlotHttps));
    }

    SUBCASE("dropped and passed frames never reach the socket") {
        run_live(f.dataplane, Program::ingress, eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpiUnknown, 500)));
        run_live(f.dataplane, Program::ingress, eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, 1)));
        run_live(f.dataplane, Program::protect,
                 eth(ETH_P_IP) + ipv4(IPPROTO_TCP, tcp(40000, 443), between("10.1.0.6", "10.3.1.1")));
        CHECK(f.xsk.receive().empty());
    }

    SUBCASE("a burst of frames for several SAs, each with its own slot") {
        const std::vector<std::pair<Bytes, std::uint32_t>> burst = {
            {eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpi, 1000)), kSlotEsp4},
            {eth(ETH_P_IP) + ipv4(IPPROTO_ESP, esp(kSpiEsn, 7)), kSlotEsn},
            {eth(ETH_P_IP) + ipv4(IPPROTO_UDP, udp(kNattPort, kNattPort, esp(kSpiNatt, 1000))), kSlotNatt},
            {eth(ETH_P_IPV6) + ipv6(IPPROTO_ESP, esp(kSpi, 1000)), kSlotEsp6},
        };
        for (const auto& [frame, slot] : burst) run_live(f.dataplane, Program::ingress, frame);
        const auto received = f.xsk.receive();
        REQUIRE(received.size() == burst.size());
        for (std::size_t i = 0; i < burst.size(); ++i) {
            CAPTURE(i);
            CHECK(received[i].frame == burst[i].first);
            CHECK(received[i].meta == meta_bytes(burst[i].second, kGeneration + burst[i].second));
        }
    }
}
