// What the IKE engine asks of the data plane (strongSwan's kernel_ipsec_t
// in spirit): install and remove CHILD SAs with their selectors. The engine
// knows nothing of BPF maps, AF_XDP or workers; xdpsecd implements this on
// top of dataplane::Dataplane, tests implement it with a recorder.
#pragma once

#include "esp/ip_prefix.h"
#include "esp/sa.h"

#include <cstdint>
#include <string>
#include <vector>

namespace xdpsec::ike {

struct ChildSaInstall {
    std::string name;               // for reports: "TUNNEL/IN/0x…"
    esp::SaConfig config;           // keys included; the data plane owns them from here
    std::vector<esp::IpPrefix> local_ts;   // negotiated selectors (RFC 7296 §2.9)
    std::vector<esp::IpPrefix> remote_ts;
};

// A tunnel's traffic selectors, trapped until its CHILD SA is up (RFC 4301
// §5.1): traffic to them is dropped and reported as an acquire, instead of
// leaving in the clear or being dropped silently.
struct TrapInstall {
    std::string name;               // the tunnel's name: acquires come back with it
    std::vector<esp::IpPrefix> local_ts;   // configured selectors
    std::vector<esp::IpPrefix> remote_ts;
};

class KernelIpsec {
public:
    virtual ~KernelIpsec() = default;
    // Installs one direction of a CHILD SA with its policies (outbound) or
    // its SAD entry and inbound plaintext policy (inbound). Empty string on
    // success, otherwise why not.
    virtual std::string add_sa(const ChildSaInstall& sa) = 0;
    // Removes the SA (SPI, direction, local outer address) and its policies,
    // routes and state; wipes its keys. Removing an unknown SA is not an error.
    virtual void del_sa(uint32_t spi, esp::SaDirection direction) = 0;
    // Counters of an installed SA, for soft lifetimes and `sa list`.
    struct Usage {
        uint64_t packets = 0, bytes = 0;
        bool found = false;
    };
    virtual Usage usage(uint32_t spi, esp::SaDirection direction) const = 0;
    // Installs a trap; outbound SAs with the same or narrower selectors take
    // precedence over it while installed. Empty string on success, otherwise
    // why not.
    virtual std::string add_trap(const TrapInstall& trap) = 0;
    // Removes the trap of that name; an unknown name is not an error.
    virtual void del_trap(const std::string& name) = 0;
};

}  // namespace xdpsec::ike
