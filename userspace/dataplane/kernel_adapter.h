// The IKE engine's view of the data plane (ike::KernelIpsec) on top of a
// Dataplane: a CHILD SA installed by IKE becomes an SaSpec, a deletion a
// remove_sa, a trap add_trap. Same thread rules as the Dataplane: one
// control thread.
#pragma once

#include "dataplane/dataplane.h"
#include "ike/kernel_ipsec.h"

#include <functional>
#include <string>

namespace xdpsec::dataplane {

class KernelAdapter : public ike::KernelIpsec {
public:
    // warn receives what del_sa could not undo (del_sa returns nothing).
    explicit KernelAdapter(Dataplane& dataplane, std::function<void(const std::string&)> warn = {});

    std::string add_sa(const ike::ChildSaInstall& sa) override;
    void del_sa(uint32_t spi, esp::SaDirection direction) override;
    Usage usage(uint32_t spi, esp::SaDirection direction) const override;
    std::string add_trap(const ike::TrapInstall& trap) override;
    void del_trap(const std::string& name) override;

private:
    Dataplane& dataplane_;
    std::function<void(const std::string&)> warn_;
};

}  // namespace xdpsec::dataplane
