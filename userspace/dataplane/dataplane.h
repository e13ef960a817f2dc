// The data plane as the control plane sees it (strongSwan's kernel_ipsec_t
// in spirit): create the tunnel device and the XDP programs, install SAs
// with their policies, run the workers, report state. Nothing above this
// interface knows about BPF maps or AF_XDP.
#pragma once

#include "dataplane/netlink.h"
#include "dataplane/result.h"
#include "esp/ip_prefix.h"
#include "dataplane/worker.h"
#include "dataplane/xdp_loader.h"
#include "esp/sa.h"

#include <xdpsec/bpf_abi.h>

#include <array>
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
};

// One SA to install, with the selectors its policies and checks use.
struct SaSpec {
    std::string name;
    esp::SaConfig config;
    std::vector<esp::IpPrefix> local_ts;
    std::vector<esp::IpPrefix> remote_ts;
};

// A snapshot of one installed SA, for `xdpsecctl sa list`.
struct SaReport {
    std::string name;
    uint32_t slot = 0;
    const esp::SaConfig* config = nullptr;
    std::vector<esp::IpPrefix> local_ts, remote_ts;
    xdpsec_sa live{};          // copied from the SA table (counters, sequence)
    std::string next_hop;      // outbound: resolved MAC or "unresolved"
};

class Dataplane {
public:
    static std::unique_ptr<Dataplane> create(const DataplaneOptions& options, std::string* error);
    ~Dataplane();
    Dataplane(const Dataplane&) = delete;
    Dataplane& operator=(const Dataplane&) = delete;

    // Installs an SA: SA table entry, SAD (inbound) or SPD and routes
    // (outbound), the inbound plaintext policy, and the next hop.
    Status add_sa(SaSpec spec);
    // Sets the tunnel MTU from the installed SAs and starts the workers.
    Status start();
    // Periodic housekeeping (every second): next hops that are missing or changed.
    void maintain();

    std::vector<SaReport> sa_report() const;
    std::array<xdpsec_counter, XDPSEC_REASON_COUNT> verdicts() const;  // summed over CPUs
    const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }
    const std::vector<std::string>& notes() const { return notes_; }
    const std::string& xdp_mode() const { return programs_->mode(); }
    uint32_t tunnel_mtu() const { return tunnel_mtu_; }

private:
    struct Installed {
        std::string name;
        uint32_t slot;
        std::unique_ptr<esp::Sa> sa;
        std::vector<esp::IpPrefix> local_ts, remote_ts;
        std::optional<NextHop> next_hop;  // outbound
    };
    Dataplane() = default;
    Status add_policy(const char* map, const esp::IpPrefix& dst, const esp::IpPrefix& src, uint32_t slot);
    void resolve(Installed& s);
    bool all_resolved() const;

    DataplaneOptions options_;
    std::optional<Netlink> netlink_;
    bool created_tunnel_ = false;
    int uplink_ifindex_ = 0, tunnel_ifindex_ = 0, peer_ifindex_ = 0;
    uint32_t uplink_mtu_ = 0, tunnel_mtu_ = 0;
    std::unique_ptr<XdpPrograms> programs_;
    std::unique_ptr<std::array<SaSlot, XDPSEC_MAX_SAS>> slots_;
    std::vector<Installed> sas_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::string> notes_;
    uint32_t next_policy_id_ = 1;
};

}  // namespace xdpsec::dataplane
