// The daemon's IKE sockets: UDP 500 and 4500 on IPv4 and IPv6 (RFC 7296
// §2, RFC 3948). Datagrams on 4500 carry IKE behind a four-byte zero
// non-ESP marker; ESP-in-UDP never gets here (the ingress XDP program takes
// it) and NAT keepalives (one 0xFF byte) are ignored. IP_PKTINFO tells which
// local address a datagram came to, and answers leave from that address.
#pragma once

#include "dataplane/unique_fd.h"
#include "ike/bytes.h"
#include "ike/ike_sa.h"

#include <string>
#include <vector>

namespace xdpsec::daemon {

class IkeSockets {
public:
    // Binds what it can; fails only when no socket at all could be bound.
    // The sockets are bound to the uplink device (SO_BINDTODEVICE): routes
    // into the tunnel device (a transport-mode peer, remote selectors that
    // cover the peer) must not capture IKE itself, which always travels in
    // the clear, as XFRM's per-socket bypass policies arrange in the kernel.
    bool open(const std::string& uplink, std::string* error);
    std::vector<int> fds() const;

    struct Datagram {
        ike::Endpoint local, remote;
        ike::Bytes data;  // the IKE message, marker removed
    };
    // Reads what is pending on fd; false when nothing (more) is there.
    bool receive(int fd, Datagram* out);
    void send(const ike::Endpoint& local, const ike::Endpoint& remote, ike::ByteView data);
    // RFC 3948 §2.3: a NAT keepalive, one 0xFF byte from port 4500.
    void send_keepalive(const ike::Endpoint& local, const ike::Endpoint& remote);
    // The IP MTU towards the peer through the uplink (route and path-MTU
    // cache); 0 when unknown.
    std::size_t path_mtu(const ike::Endpoint& remote) const;

    uint64_t ignored() const { return ignored_; }  // keepalives, ESP, runts

private:
    struct Sock {
        UniqueFd fd;
        int family;
        uint16_t port;
    };
    const Sock* find(int family, uint16_t port) const;
    void send_raw(const ike::Endpoint& local, const ike::Endpoint& remote, ike::ByteView data);
    std::vector<Sock> socks_;
    std::string uplink_;
    uint64_t ignored_ = 0;
};

}  // namespace xdpsec::daemon
