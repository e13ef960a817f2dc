#include "dataplane/kernel_adapter.h"

#include <utility>

namespace xdpsec::dataplane {

KernelAdapter::KernelAdapter(Dataplane& dataplane, std::function<void(const std::string&)> warn)
    : dataplane_(dataplane), warn_(std::move(warn)) {}

std::string KernelAdapter::add_sa(const ike::ChildSaInstall& sa) {
    auto st = dataplane_.add_sa(SaSpec{sa.name, sa.config, sa.local_ts, sa.remote_ts});
    return st ? std::string() : st.message();
}

void KernelAdapter::del_sa(uint32_t spi, esp::SaDirection direction) {
    // An SA the data plane does not have is already gone: not an error.
    if (!dataplane_.usage(spi, direction)) return;
    if (auto st = dataplane_.remove_sa(spi, direction); !st && warn_) warn_(st.message());
}

ike::KernelIpsec::Usage KernelAdapter::usage(uint32_t spi, esp::SaDirection direction) const {
    Usage u;
    if (auto live = dataplane_.usage(spi, direction)) {
        u.packets = live->packets;
        u.bytes = live->bytes;
        u.found = true;
    }
    return u;
}

std::string KernelAdapter::add_trap(const ike::TrapInstall& trap) {
    auto st = dataplane_.add_trap(trap.name, trap.local_ts, trap.remote_ts);
    return st ? std::string() : st.message();
}

void KernelAdapter::del_trap(const std::string& name) {
    // A trap the data plane does not have is already gone: not an error.
    if (!dataplane_.has_trap(name)) return;
    if (auto st = dataplane_.remove_trap(name); !st && warn_) warn_(st.message());
}

}  // namespace xdpsec::dataplane
