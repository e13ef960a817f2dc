// For tests only ([daemon] key_export): passes CHILD SAs through to the
// data plane and appends each one's keys to a file, so that an independent
// ESP decoder (scapy) can check what the data plane puts on the wire. Off
// unless configured; nothing of it ever reaches the log.
#pragma once

#include "ike/kernel_ipsec.h"

#include <string>

namespace xdpsec::daemon {

class KeyExporter final : public ike::KernelIpsec {
public:
    KeyExporter(ike::KernelIpsec& inner, std::string path) : inner_(inner), path_(std::move(path)) {}
    std::string add_sa(const ike::ChildSaInstall& sa) override;
    void del_sa(uint32_t spi, esp::SaDirection d) override { inner_.del_sa(spi, d); }
    Usage usage(uint32_t spi, esp::SaDirection d) const override { return inner_.usage(spi, d); }
    std::string add_trap(const ike::TrapInstall& t) override { return inner_.add_trap(t); }
    void del_trap(const std::string& name) override { inner_.del_trap(name); }

private:
    ike::KernelIpsec& inner_;
    std::string path_;
};

}  // namespace xdpsec::daemon
