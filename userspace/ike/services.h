// What the engine gives the IKE SAs and their tasks: the data plane, the
// network, fresh SPIs and a log. Tests supply a mock; xdpsecd the real ones.
#pragma once

#include "ike/bytes.h"
#include "ike/ike_sa.h"
#include "ike/kernel_ipsec.h"

#include <cstdint>
#include <string_view>

namespace xdpsec::ike {

enum class LogLevel : uint8_t { debug, info, warning, error };

class IkeServices {
public:
    virtual ~IkeServices() = default;
    virtual KernelIpsec& kernel() = 0;
    // Sends one IKE message (without the non-ESP marker: the transport adds
    // it on port 4500, RFC 3948 §2.2).
    virtual void send(const Endpoint& local, const Endpoint& remote, ByteView datagram) = 0;
    // A NAT keepalive (RFC 3948 §2.3): one 0xFF byte, no marker.
    virtual void send_keepalive(const Endpoint& local, const Endpoint& remote) = 0;
    // A fresh inbound ESP SPI, unique among the installed SAs, never 0..255
    // (reserved, RFC 4303 §2.1).
    virtual uint32_t new_child_spi() = 0;
    // A fresh IKE SPI, unique among the engine's IKE SAs (rekeying).
    virtual uint64_t new_ike_spi() = 0;
    virtual void log(LogLevel level, std::string_view text) = 0;
    // The IP MTU of the path to the peer, 0 when unknown: IKE fragments
    // (RFC 7383 §2.5.1) are cut to fit it when it is below the engine's size.
    virtual std::size_t path_mtu(const Endpoint& local, const Endpoint& remote) = 0;
};

}  // namespace xdpsec::ike
