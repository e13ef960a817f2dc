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
};

}  // namespace xdpsec::ike
