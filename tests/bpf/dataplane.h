// Both XDP programs loaded as the daemon's loader loads them, but not
// attached: ingress first, then protect on ingress's maps (bpf_map__reuse_fd
// for every map), so that one set of SA, SAD, SPD, XSK and counter maps serves
// both. Crafted frames go through BPF_PROG_TEST_RUN as rows of {description,
// frame, expected verdict, expected reason, expected SA slot in the metadata}
// (katran's fixture style). After every frame the per-CPU verdict counters
// must have moved by exactly one packet and the frame's bytes, under the
// expected reason only.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <xdpsec/bpf_abi.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/event_reader.h"
#include "frames.h"
#include "ingress.skel.h"
#include "protect.skel.h"

namespace xdpsec::test {

struct IngressDeleter {
    void operator()(ingress* s) const { ingress__destroy(s); }
};
struct ProtectDeleter {
    void operator()(protect* s) const { protect__destroy(s); }
};
using IngressSkeleton = std::unique_ptr<ingress, IngressDeleter>;
using ProtectSkeleton = std::unique_ptr<protect, ProtectDeleter>;

// Opening parses ELF and BTF only: no privilege needed.
IngressSkeleton open_ingress();
ProtectSkeleton open_protect();

// Loading programs needs root; without it a test prints this and returns.
bool skip_without_root();

enum class Program { ingress, protect };

struct Row {
    std::string description;
    Bytes frame;
    xdp_action verdict;
    xdpsec_verdict_reason reason;
    std::optional<std::uint32_t> sa_slot = std::nullopt;  // redirects: the slot in the metadata
};

// An address prefix as text: "10.2.0.0/24", "2001:db8::/48", "10.1.0.5" (a host).
struct Prefix {
    std::uint8_t family = 0;
    std::uint8_t prefixlen = 0;
    Ipv6Address addr{};
};
Prefix parse_prefix(const std::string& text);

struct PortRange {
    std::uint16_t lo = 0;
    std::uint16_t hi = 65535;
};
inline constexpr PortRange kAnyPort{};
inline PortRange port(std::uint16_t p) { return {p, p}; }

// One SPD entry: source selector, protocol, ports, action.
xdpsec_policy policy(const std::string& src, xdpsec_policy_action action, std::uint32_t sa_slot = 0,
                     std::uint8_t proto = 0, PortRange dports = kAnyPort, PortRange sports = kAnyPort);

// An SA slot as the daemon installs it (no key material: there is no field for it).
xdpsec_sa sa(std::uint32_t spi, xdpsec_direction direction, xdpsec_sa_state state, std::uint32_t flags = 0,
             std::uint32_t replay_window = 64, std::uint64_t replay_bottom = 0);

inline constexpr std::uint32_t kGeneration = 0x47000000;

// The bytes a redirected frame carries in front of it.
Bytes meta_bytes(std::uint32_t sa_slot, std::uint32_t generation);

std::string reason_name(std::uint32_t reason);

class Dataplane {
public:
    Dataplane();

    ingress& ingress_skel() { return *ingress_; }
    protect& protect_skel() { return *protect_; }

    // A generation of 0 in value becomes one of the slot's own (kGeneration +
    // slot), so that every redirect shows which table entry it was read from.
    void put_sa(std::uint32_t slot, const xdpsec_sa& value);
    void put_sad(std::uint32_t spi, const std::string& daddr, std::uint32_t slot);
    // Replaces the bucket of prefix in spd; count defaults to policies.size().
    void put_spd(bpf_map* spd, const std::string& prefix, const std::vector<xdpsec_policy>& policies,
                 std::optional<std::uint32_t> count = std::nullopt);
    void put_xsk(bpf_map* xsks, std::uint32_t queue, int xsk_fd);
    void remove_xsk(bpf_map* xsks, std::uint32_t queue);

    // Per reason, summed over the CPUs.
    std::vector<xdpsec_counter> counters() const;
    // The event budget and counters of one event type, summed over the CPUs
    // (window_end: the largest, window_used: the sum).
    xdpsec_event_limit event_limit(xdpsec_event_type type) const;
    // Sets the budget window of type on every CPU.
    void set_event_window(xdpsec_event_type type, std::uint64_t window_end, std::uint32_t used);
    // Every event in the ring, oldest first; the ring is empty afterwards.
    std::vector<dataplane::DataplaneEvent> drain_events();
    // Runs frame through program repeat times in one BPF_PROG_TEST_RUN, checks nothing; the verdict.
    std::uint32_t run(Program program, const Bytes& frame, std::uint32_t repeat = 1);

    // Runs row.frame through program once and checks verdict, output and counters.
    void check(Program program, const Row& row);
    void check(Program program, const std::vector<Row>& rows) {
        for (const Row& row : rows) check(program, row);
    }

    int program_fd(Program program) const;

private:
    IngressSkeleton ingress_;
    ProtectSkeleton protect_;
    std::unique_ptr<dataplane::EventReader> events_;
    std::map<std::uint32_t, std::uint32_t> generations_;  // by slot, as put_sa wrote them
};

// "redirect_esp +1 packets +60 bytes", or "nothing".
std::string describe_delta(const std::vector<xdpsec_counter>& before,
                           const std::vector<xdpsec_counter>& after);

}  // namespace xdpsec::test
