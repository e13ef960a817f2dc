// The data plane as the control plane sees it (strongSwan's kernel_ipsec_t
// in spirit): create the tunnel device and the XDP programs, install SAs
// with their policies, run the workers, report state. Nothing above this
// interface knows about BPF maps or AF_XDP.
#pragma once

#include "dataplane/event_reader.h"
#include "dataplane/netlink.h"
#include "dataplane/result.h"
#include "esp/ip_prefix.h"
#include "dataplane/worker.h"
#include "dataplane/xdp_loader.h"
#include "esp/sa.h"

#include <xdpsec/bpf_abi.h>

#include <array>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace xdpsec::dataplane {

struct DataplaneOptions {
    std::string uplink;
    std::string tunnel_if;   // host end; the peer end is tunnel_if + "p"
    std::string pin_dir;
    uint32_t workers = 1;
    XdpMode mode = XdpMode::automatic;
    bool busy_poll = false;
    // NAPI of the tunnel device's host end in a kernel thread: decrypted
    // packets the worker sends into it are taken up by the host in batches
    // (GRO merges them) instead of one softirq per packet inside the
    // worker's sendto(), and the worker goes on while the host's TCP works.
    bool tunnel_napi_threaded = true;
    // The same for the uplink, which is the operator's device: set (and put
    // back as it was at exit) when given, left alone otherwise. On a veth
    // uplink, a thread keeps the sending side's AF_XDP transmit from running
    // the receiving side's XDP program and AF_XDP delivery inline, one packet
    // per softirq.
    std::optional<bool> uplink_napi_threaded;
};

// One SA to install, with the selectors its policies and checks use.
struct SaSpec {
    std::string name;
    esp::SaConfig config;
    std::vector<esp::IpPrefix> local_ts;
    std::vector<esp::IpPrefix> remote_ts;
};

// A snapshot of one installed SA, for `xdpsecctl sa list`. config points
// into the Dataplane: valid until that SA is removed.
struct SaReport {
    std::string name;
    uint32_t slot = 0;
    const esp::SaConfig* config = nullptr;
    std::vector<esp::IpPrefix> local_ts, remote_ts;
    xdpsec_sa live{};          // copied from the SA table (counters, sequence)
    std::string next_hop;      // outbound: resolved MAC or "unresolved"
};

// Counters of one installed SA, as its worker last published them.
struct SaUsage {
    uint64_t packets = 0;
    uint64_t bytes = 0;  // inner packet bytes
};

// An installed trap, for reports: the policy ids are those acquire events carry.
struct TrapReport {
    std::string name;
    std::vector<esp::IpPrefix> local_ts, remote_ts;
    std::vector<uint32_t> policy_ids;
};

// Events of one type (enum xdpsec_event_type), summed over the CPUs.
struct EventCounters {
    uint64_t emitted = 0;       // written to the ring
    uint64_t rate_limited = 0;  // over XDPSEC_EVENT_BUDGET a second on their CPU: not written
    uint64_t ring_full = 0;     // no room in the ring (the daemon is behind): not written
};

// Every method is called from one control thread; the workers run
// concurrently with all of them and take no lock per packet.
class Dataplane {
public:
    static std::unique_ptr<Dataplane> create(const DataplaneOptions& options, std::string* error);
    ~Dataplane();
    Dataplane(const Dataplane&) = delete;
    Dataplane& operator=(const Dataplane&) = delete;

    // Installs an SA, before or after start(): SA table entry, SAD (inbound)
    // or SPD and routes (outbound), the inbound plaintext policy, and the
    // next hop. The worker sees the slot only once all of it is written.
    // SPI and direction, and the name, identify an SA: duplicates are
    // refused. SAs with the same selectors may coexist (make-before-break
    // rekeying, RFC 7296 §2.8): inbound ones side by side, and for outbound
    // ones the SPD names the one installed last; removing it hands its
    // traffic back to the previous one if that one is still installed, or
    // else to a trap with those selectors (add_trap).
    // On error nothing of the SA stays installed.
    Status add_sa(SaSpec spec);
    // Removes an SA: its SAD entry or SPD policies, its inbound plaintext
    // policies, its routes (those no other outbound SA or trap has), its SA
    // table entry; then, once no worker can still be using it (bounded
    // wait; maintain() finishes a wait that timed out), wipes its keys and
    // frees its slot. An error says what could not be undone; the SA is
    // gone from the data path all the same.
    Status remove_sa(uint32_t spi, esp::SaDirection direction);
    Status remove_sa(const std::string& name);
    // Installs a trap (RFC 4301 §5.1, an SPD entry that triggers SA
    // creation): outbound TRAP policies for every pair of a local and a
    // remote selector of the same family, and routes for the remote ones
    // into the tunnel device, but no SA. A packet meeting one is dropped and
    // becomes an acquire event whose DataplaneEvent::trap is this name, the
    // caller's key (the tunnel's name), unique among traps. An outbound SA
    // with the same or more specific selectors takes precedence over a trap
    // whenever both are installed, whichever came first, so the trap can
    // stay while the tunnel is up and catches traffic again once the SA
    // goes. On error nothing of the trap stays installed.
    Status add_trap(const std::string& name, const std::vector<esp::IpPrefix>& local_ts,
                    const std::vector<esp::IpPrefix>& remote_ts);
    // Removes its policies and its routes (those no outbound SA or other
    // trap also has). Unknown names are an error.
    Status remove_trap(const std::string& name);
    bool has_trap(const std::string& name) const { return find_trap(name) != nullptr; }
    std::vector<TrapReport> trap_report() const;

    // Readable (poll/epoll) when the XDP programs have sent events.
    int event_fd() const;
    // Hands every pending event to on_event, acquires with the name of the
    // trap whose policy they met; returns how many.
    std::size_t drain_events(const std::function<void(const DataplaneEvent&)>& on_event);
    std::array<EventCounters, XDPSEC_EVENT_TYPE_COUNT> event_counters() const;

    // Counters of an installed SA, nullopt for an unknown one.
    std::optional<SaUsage> usage(uint32_t spi, esp::SaDirection direction) const;
    // Sets the tunnel MTU and starts the workers; works with no SA at all.
    Status start();
    // Periodic housekeeping (every second): next hops that are missing or
    // changed, removed SAs whose keys may now be wiped.
    void maintain();

    std::vector<SaReport> sa_report() const;
    std::array<xdpsec_counter, XDPSEC_REASON_COUNT> verdicts() const;  // summed over CPUs
    const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }
    const std::vector<std::string>& notes() const { return notes_; }
    const std::string& xdp_mode() const { return programs_->mode(); }
    uint32_t tunnel_mtu() const { return tunnel_mtu_; }

private:
    // One SPD entry of an SA or a trap: destination prefix (the map key)
    // and source. Ids grow with every install, so the larger id is the
    // newer policy; SAs and traps draw from the same ids.
    struct Policy {
        esp::IpPrefix dst, src;
        uint32_t id;
    };
    struct Installed {
        std::string name;
        uint32_t slot;
        std::unique_ptr<esp::Sa> sa;
        std::vector<esp::IpPrefix> local_ts, remote_ts;
        std::vector<Policy> policies;  // in SPD_IN (inbound) or SPD_OUT (outbound)
        bool in_sad = false;           // inbound: its SAD entry was written
        std::optional<NextHop> next_hop;  // outbound
    };
    struct Trap {
        std::string name;
        std::vector<esp::IpPrefix> local_ts, remote_ts;
        std::vector<Policy> policies;  // in SPD_OUT
    };
    // A policy set not installed yet, which a bucket is built with as if it were.
    struct Pending {
        const Installed* sa = nullptr;
        const Trap* trap = nullptr;
    };
    // A removed SA that a worker may still hold: its keys live until every
    // worker's epoch has moved past the one read after it was unpublished.
    struct Retired {
        std::unique_ptr<esp::Sa> sa;
        uint32_t slot;
        std::vector<uint64_t> epochs;  // per worker
        bool reuse_slot;               // false when a map may still name the slot
    };
    Dataplane() = default;
    Installed* find(uint32_t spi, esp::SaDirection direction);
    const Trap* find_trap(const std::string& name) const;
    // A policy for every {dst, src} pair of one address family, with new ids.
    std::vector<Policy> make_policies(const std::vector<esp::IpPrefix>& dsts,
                                      const std::vector<esp::IpPrefix>& srcs);
    // f(policy, SA slot, is a trap) for the installed SAs and traps of a direction, and extra.
    template <class F>
    void for_each_policy(esp::SaDirection direction, Pending extra, F&& f) const;
    // The SPD bucket for dst from the installed SAs and traps (and extra);
    // an error when it would hold too many policies.
    Status build_bucket(esp::SaDirection direction, const esp::IpPrefix& dst, Pending extra,
                        xdpsec_spd_bucket* bucket) const;
    std::vector<esp::IpPrefix> buckets_under(esp::SaDirection direction, const esp::IpPrefix& dst,
                                             Pending extra) const;
    // Whether every bucket the policies would touch, with extra installed, has room.
    Status check_buckets(esp::SaDirection direction, const std::vector<Policy>& policies,
                         Pending extra) const;
    Status write_bucket(esp::SaDirection direction, const esp::IpPrefix& dst);
    Status write_buckets(esp::SaDirection direction, const std::vector<Policy>& policies);
    // Whether an outbound SA or a trap still has dst among its remote selectors.
    bool route_needed(const esp::IpPrefix& dst) const;
    Status withdraw_routes(const std::vector<esp::IpPrefix>& remote_ts);
    template <class Cell, std::size_t N, class Add>
    void sum_per_cpu(const char* map, Add&& add) const;
    Status remove_at(std::size_t index);
    Status withdraw(Installed& s);  // from the maps and routes; s is no longer in sas_
    void reap();
    void resolve(Installed& s);
    bool all_resolved() const;

    DataplaneOptions options_;
    std::optional<Netlink> netlink_;
    bool created_tunnel_ = false;
    std::string uplink_napi_before_;  // the uplink's NAPI setting to put back, if we changed it
    int uplink_ifindex_ = 0, tunnel_ifindex_ = 0, peer_ifindex_ = 0;
    uint32_t uplink_mtu_ = 0, tunnel_mtu_ = 0;
    std::unique_ptr<XdpPrograms> programs_;
    std::unique_ptr<std::array<SaSlot, XDPSEC_MAX_SAS>> slots_;
    // Oldest freed first: a slot is reused as late as possible, so that a
    // frame the XDP programs queued for its previous SA, still unread in a
    // worker's RX ring, is long gone before the slot names another SA.
    std::deque<uint32_t> free_slots_;
    std::vector<Installed> sas_;
    std::vector<Trap> traps_;
    std::unique_ptr<EventReader> events_;
    std::vector<Retired> retired_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::string> notes_;
    uint32_t next_policy_id_ = 1;
    uint32_t next_generation_ = 0;  // of SA slots (xdpsec_sa.generation); never 0 once installed
};

}  // namespace xdpsec::dataplane
