#include "daemon/ike_socket.h"

#include "ike/ike_types.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace xdpsec::daemon {

namespace {

constexpr std::size_t kMarker = 4;  // RFC 3948 §2.2 non-ESP marker

int bind_udp(int family, uint16_t port, const std::string& uplink, std::string* why) {
    const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *why = std::strerror(errno);
        return -1;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, uplink.c_str(),
                     static_cast<socklen_t>(uplink.size())) != 0) {
        *why = std::string("binding to ") + uplink + ": " + std::strerror(errno);
        ::close(fd);
        return -1;
    }
    int rc;
    if (family == AF_INET) {
        ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(port);
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    if (rc != 0) {
        *why = std::strerror(errno);
        ::close(fd);
        return -1;
    }
    return fd;
}

// An endpoint as a socket address, and back: the one place that knows the
// two families' layouts.
socklen_t to_sockaddr(const ike::Endpoint& e, sockaddr_storage* out) {
    *out = {};
    if (e.addr.family == 4) {
        auto* a = reinterpret_cast<sockaddr_in*>(out);
        a->sin_family = AF_INET;
        a->sin_port = htons(e.port);
        std::memcpy(&a->sin_addr, e.addr.bytes.data(), 4);
        return sizeof *a;
    }
    auto* a = reinterpret_cast<sockaddr_in6*>(out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(e.port);
    std::memcpy(&a->sin6_addr, e.addr.bytes.data(), 16);
    return sizeof *a;
}

ike::Endpoint from_sockaddr(const sockaddr_storage& s) {
    ike::Endpoint e;
    if (s.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&s);
        e.addr.family = 4;
        std::memcpy(e.addr.bytes.data(), &a->sin_addr, 4);
        e.port = ntohs(a->sin_port);
    } else {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&s);
        e.addr.family = 6;
        std::memcpy(e.addr.bytes.data(), &a->sin6_addr, 16);
        e.port = ntohs(a->sin6_port);
    }
    return e;
}

}  // namespace

bool IkeSockets::open(const std::string& uplink, std::string* error) {
    uplink_ = uplink;
    std::string why;
    for (int family : {AF_INET, AF_INET6})
        for (uint16_t port : {ike::kIkePort, ike::kNattPort}) {
            const int fd = bind_udp(family, port, uplink, &why);
            if (fd < 0) {
                if (!error->empty()) *error += "; ";
                *error += std::string(family == AF_INET ? "IPv4" : "IPv6") + " UDP " +
                          std::to_string(port) + ": " + why;
                continue;
            }
            socks_.push_back({UniqueFd(fd), family, port});
        }
    return !socks_.empty();
}

std::vector<int> IkeSockets::fds() const {
    std::vector<int> v;
    for (const auto& s : socks_) v.push_back(s.fd.get());
    return v;
}

const IkeSockets::Sock* IkeSockets::find(int family, uint16_t port) const {
    for (const auto& s : socks_)
        if (s.family == family && s.port == port) return &s;
    return nullptr;
}

bool IkeSockets::receive(int fd, Datagram* out) {
    const Sock* sock = nullptr;
    for (const auto& s : socks_)
        if (s.fd.get() == fd) sock = &s;
    if (!sock) return false;
    ike::Bytes buf(65536);
    sockaddr_storage from{};
    alignas(cmsghdr) char control[256];
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd, &msg, 0);
    if (n < 0) return false;
    out->local = {};
    out->remote = {};
    out->local.port = sock->port;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            in_pktinfo pi;
            std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
            out->local.addr.family = 4;
            std::memcpy(out->local.addr.bytes.data(), &pi.ipi_addr, 4);
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            in6_pktinfo pi;
            std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
            out->local.addr.family = 6;
            std::memcpy(out->local.addr.bytes.data(), &pi.ipi6_addr, 16);
        }
    }
    out->remote = from_sockaddr(from);
    std::size_t off = 0, len = static_cast<std::size_t>(n);
    if (sock->port == ike::kNattPort) {
        // Only IKE (a zero marker) is ours; a keepalive or stray ESP is not.
        if (len < kMarker + ike::kHeaderSize || std::memcmp(buf.data(), "\0\0\0\0", kMarker) != 0) {
            ++ignored_;
            out->data.clear();
            return true;
        }
        off = kMarker;
    }
    if (out->local.addr.family == 0) {
        ++ignored_;
        out->data.clear();
        return true;
    }
    out->data.assign(buf.begin() + static_cast<std::ptrdiff_t>(off),
                     buf.begin() + static_cast<std::ptrdiff_t>(len));
    return true;
}

void IkeSockets::send_keepalive(const ike::Endpoint& local, const ike::Endpoint& remote) {
    const uint8_t ff = 0xff;
    send_raw(local, remote, ike::ByteView(&ff, 1));
}

void IkeSockets::send(const ike::Endpoint& local, const ike::Endpoint& remote, ike::ByteView data) {
    ike::Bytes buf;
    if (local.port == ike::kNattPort) buf.assign(kMarker, 0);
    buf.insert(buf.end(), data.begin(), data.end());
    send_raw(local, remote, buf);
}

void IkeSockets::send_raw(const ike::Endpoint& local, const ike::Endpoint& remote, ike::ByteView data) {
    const int family = remote.addr.family == 4 ? AF_INET : AF_INET6;
    const Sock* sock = find(family, local.port);
    if (!sock) return;
    ike::Bytes buf(data.begin(), data.end());
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    alignas(cmsghdr) char control[64]{};
    sockaddr_storage to{};
    msg.msg_name = &to;
    msg.msg_namelen = to_sockaddr(remote, &to);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    cmsghdr* c = reinterpret_cast<cmsghdr*>(control);
    if (family == AF_INET) {
        in_pktinfo pi{};
        std::memcpy(&pi.ipi_spec_dst, local.addr.bytes.data(), 4);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof pi);
        std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
        msg.msg_controllen = CMSG_SPACE(sizeof pi);
    } else {
        in6_pktinfo pi{};
        std::memcpy(&pi.ipi6_addr, local.addr.bytes.data(), 16);
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof pi);
        std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
        msg.msg_controllen = CMSG_SPACE(sizeof pi);
    }
    ::sendmsg(sock->fd.get(), &msg, MSG_DONTWAIT);
}

std::size_t IkeSockets::path_mtu(const ike::Endpoint& remote) const {
    // A connected UDP socket on the uplink asks the routing table and the
    // path-MTU cache (ICMP too-big the kernel learnt) for the way to the peer.
    const int family = remote.addr.family == 4 ? AF_INET : AF_INET6;
    UniqueFd fd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return 0;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, uplink_.c_str(),
                     static_cast<socklen_t>(uplink_.size())) != 0)
        return 0;
    sockaddr_storage to{};
    const socklen_t len = to_sockaddr(remote, &to);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), len) != 0) return 0;
    int mtu = 0;
    socklen_t size = sizeof mtu;
    const int rc = family == AF_INET ? ::getsockopt(fd.get(), IPPROTO_IP, IP_MTU, &mtu, &size)
                                     : ::getsockopt(fd.get(), IPPROTO_IPV6, IPV6_MTU, &mtu, &size);
    return rc == 0 && mtu > 0 ? static_cast<std::size_t>(mtu) : 0;
}

}  // namespace xdpsec::daemon
