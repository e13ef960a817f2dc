#include "dataplane/netlink.h"

#include <net/if.h>  // before the linux/ headers, which then skip their copies

#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/veth.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace xdpsec {

std::string errno_text(const std::string& what, int err) {
    if (err < 0) err = -err;
    return what + ": " + std::strerror(err);
}

namespace dataplane {

namespace {

// Builds one netlink message in a byte vector.
class Message {
public:
    Message(uint16_t type, uint16_t flags) {
        buf_.resize(NLMSG_HDRLEN);
        auto* h = header();
        h->nlmsg_type = type;
        h->nlmsg_flags = static_cast<uint16_t>(flags | NLM_F_REQUEST | NLM_F_ACK);
    }
    template <typename T>
    T* append_struct() {
        const std::size_t off = buf_.size();
        buf_.resize(off + NLMSG_ALIGN(sizeof(T)), 0);
        update_len();
        return reinterpret_cast<T*>(buf_.data() + off);
    }
    void attr(uint16_t type, const void* data, std::size_t len) {
        const std::size_t off = buf_.size();
        buf_.resize(off + RTA_ALIGN(RTA_LENGTH(len)), 0);
        auto* rta = reinterpret_cast<rtattr*>(buf_.data() + off);
        rta->rta_type = type;
        rta->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
        if (len) std::memcpy(RTA_DATA(rta), data, len);
        update_len();
    }
    void attr_str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
    // Nested attributes: begin returns the offset to pass to end.
    std::size_t begin_nest(uint16_t type) {
        const std::size_t off = buf_.size();
        attr(static_cast<uint16_t>(type | NLA_F_NESTED), nullptr, 0);
        return off;
    }
    void end_nest(std::size_t off) {
        reinterpret_cast<rtattr*>(buf_.data() + off)->rta_len =
            static_cast<uint16_t>(buf_.size() - off);
    }
    std::vector<uint8_t>& bytes() { return buf_; }

private:
    nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
    void update_len() { header()->nlmsg_len = static_cast<uint32_t>(buf_.size()); }
    std::vector<uint8_t> buf_;
};

uint8_t af(const esp::IpAddress& a) { return a.family == 4 ? AF_INET : AF_INET6; }

// Iterates the attributes of a reply message after its fixed header.
template <typename Fixed, typename F>
void for_each_attr(const std::vector<uint8_t>& msg, F&& f) {
    const auto* h = reinterpret_cast<const nlmsghdr*>(msg.data());
    int len = static_cast<int>(h->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof(Fixed)));
    const auto* rta = reinterpret_cast<const rtattr*>(
        reinterpret_cast<const uint8_t*>(NLMSG_DATA(h)) + NLMSG_ALIGN(sizeof(Fixed)));
    for (; len > 0 && RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) f(rta);
}

esp::IpAddress address_from(const rtattr* rta, uint8_t family) {
    esp::IpAddress a;
    a.family = family == AF_INET ? 4 : 6;
    const std::size_t n = std::min<std::size_t>(RTA_PAYLOAD(rta), a.length());
    std::memcpy(a.bytes.data(), RTA_DATA(rta), n);
    return a;
}

}  // namespace

std::optional<Netlink> Netlink::open(std::string* error) {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd) {
        if (error) *error = errno_text("netlink socket", errno);
        return std::nullopt;
    }
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
        if (error) *error = errno_text("netlink bind", errno);
        return std::nullopt;
    }
    timeval tv{2, 0};  // a kernel that never answers must not hang the daemon
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return Netlink(std::move(fd));
}

Status Netlink::transact(std::vector<uint8_t>& request,
                         std::vector<std::vector<uint8_t>>* replies, int* kernel_error) {
    auto* h = reinterpret_cast<nlmsghdr*>(request.data());
    h->nlmsg_seq = ++seq_;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd_.get(), request.data(), request.size(), 0,
                 reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
        return Status::error(errno_text("netlink send", errno));
    std::vector<uint8_t> buf(32768);
    for (;;) {
        const ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
        if (n < 0) return Status::error(errno_text("netlink receive", errno));
        int len = static_cast<int>(n);
        for (auto* r = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(r, len);
             r = NLMSG_NEXT(r, len)) {
            if (r->nlmsg_seq != seq_) continue;
            if (r->nlmsg_type == NLMSG_ERROR) {
                const auto* e = reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(r));
                // An ack: a GET has already returned at its data message (or
                // NLMSG_DONE), so this ends a request that returns no data.
                if (e->error == 0) return {};
                if (kernel_error) *kernel_error = -e->error;
                return Status::error(errno_text("netlink", e->error));
            }
            if (r->nlmsg_type == NLMSG_DONE) return {};
            if (replies) {
                const auto* p = reinterpret_cast<const uint8_t*>(r);
                replies->emplace_back(p, p + r->nlmsg_len);
                if (!(h->nlmsg_flags & NLM_F_DUMP)) return {};
            }
        }
    }
}

Status Netlink::create_veth(const std::string& name, const std::string& peer) {
    Message m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    m.append_struct<ifinfomsg>()->ifi_family = AF_UNSPEC;
    m.attr_str(IFLA_IFNAME, name);
    const auto linkinfo = m.begin_nest(IFLA_LINKINFO);
    m.attr_str(IFLA_INFO_KIND, "veth");
    const auto data = m.begin_nest(IFLA_INFO_DATA);
    const auto peer_nest = m.begin_nest(VETH_INFO_PEER);
    m.append_struct<ifinfomsg>()->ifi_family = AF_UNSPEC;
    m.attr_str(IFLA_IFNAME, peer);
    m.end_nest(peer_nest);
    m.end_nest(data);
    m.end_nest(linkinfo);
    if (auto s = transact(m.bytes(), nullptr); !s)
        return Status::error("creating veth " + name + "/" + peer + ": " + s.message());
    return {};
}

Status Netlink::delete_link(const std::string& name) {
    Message m(RTM_DELLINK, 0);
    m.append_struct<ifinfomsg>()->ifi_family = AF_UNSPEC;
    m.attr_str(IFLA_IFNAME, name);
    return transact(m.bytes(), nullptr);
}

Status Netlink::set_flags(int ifindex, uint32_t flags) {
    Message m(RTM_NEWLINK, 0);
    auto* ifi = m.append_struct<ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    ifi->ifi_flags = flags;
    ifi->ifi_change = flags;
    return transact(m.bytes(), nullptr);
}

Status Netlink::set_mtu(int ifindex, uint32_t mtu) {
    Message m(RTM_NEWLINK, 0);
    auto* ifi = m.append_struct<ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    m.attr(IFLA_MTU, &mtu, sizeof mtu);
    return transact(m.bytes(), nullptr);
}

Status Netlink::add_route(const esp::IpAddress& prefix, uint8_t len, int ifindex) {
    Message m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
    auto* rt = m.append_struct<rtmsg>();
    rt->rtm_family = af(prefix);
    rt->rtm_dst_len = len;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = RTPROT_STATIC;
    rt->rtm_scope = RT_SCOPE_LINK;
    rt->rtm_type = RTN_UNICAST;
    m.attr(RTA_DST, prefix.bytes.data(), prefix.length());
    const auto oif = static_cast<uint32_t>(ifindex);
    m.attr(RTA_OIF, &oif, sizeof oif);
    if (auto s = transact(m.bytes(), nullptr); !s)
        return Status::error("route " + prefix.to_string() + "/" + std::to_string(len) + ": " +
                             s.message());
    return {};
}

Status Netlink::delete_route(const esp::IpAddress& prefix, uint8_t len, int ifindex) {
    Message m(RTM_DELROUTE, 0);
    auto* rt = m.append_struct<rtmsg>();
    rt->rtm_family = af(prefix);
    rt->rtm_dst_len = len;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_scope = RT_SCOPE_NOWHERE;  // any scope
    m.attr(RTA_DST, prefix.bytes.data(), prefix.length());
    const auto oif = static_cast<uint32_t>(ifindex);
    m.attr(RTA_OIF, &oif, sizeof oif);
    int err = 0;
    auto s = transact(m.bytes(), nullptr, &err);
    if (!s && err != ESRCH)
        return Status::error("removing route " + prefix.to_string() + "/" + std::to_string(len) +
                             ": " + s.message());
    return {};
}

std::optional<NextHop> Netlink::route_to(const esp::IpAddress& dst, int oif, std::string* error) {
    Message m(RTM_GETROUTE, 0);
    auto* rt = m.append_struct<rtmsg>();
    rt->rtm_family = af(dst);
    rt->rtm_dst_len = static_cast<uint8_t>(dst.length() * 8);
    m.attr(RTA_DST, dst.bytes.data(), dst.length());
    if (oif) {
        const auto o = static_cast<uint32_t>(oif);
        m.attr(RTA_OIF, &o, sizeof o);
    }
    std::vector<std::vector<uint8_t>> replies;
    if (auto s = transact(m.bytes(), &replies); !s || replies.empty()) {
        if (error) *error = "no route to " + dst.to_string() + (s ? "" : ": " + s.message());
        return std::nullopt;
    }
    NextHop nh;
    nh.gateway = dst;
    const auto* r = reinterpret_cast<const rtmsg*>(
        NLMSG_DATA(reinterpret_cast<const nlmsghdr*>(replies[0].data())));
    const uint8_t family = r->rtm_family;
    for_each_attr<rtmsg>(replies[0], [&](const rtattr* a) {
        if (a->rta_type == RTA_OIF) nh.ifindex = static_cast<int>(*static_cast<const uint32_t*>(RTA_DATA(a)));
        else if (a->rta_type == RTA_GATEWAY) nh.gateway = address_from(a, family);
        else if (a->rta_type == RTA_PREFSRC) nh.source = address_from(a, family);
    });
    return nh;
}

std::optional<MacAddress> Netlink::neighbour(int ifindex, const esp::IpAddress& addr) {
    Message m(RTM_GETNEIGH, NLM_F_DUMP);
    auto* nd = m.append_struct<ndmsg>();
    nd->ndm_family = af(addr);
    nd->ndm_ifindex = ifindex;
    std::vector<std::vector<uint8_t>> replies;
    if (!transact(m.bytes(), &replies)) return std::nullopt;
    for (const auto& msg : replies) {
        const auto* n = reinterpret_cast<const ndmsg*>(
            NLMSG_DATA(reinterpret_cast<const nlmsghdr*>(msg.data())));
        if (n->ndm_ifindex != ifindex || n->ndm_family != af(addr)) continue;
        if (!(n->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)))
            continue;
        std::optional<esp::IpAddress> dst;
        std::optional<MacAddress> mac;
        for_each_attr<ndmsg>(msg, [&](const rtattr* a) {
            if (a->rta_type == NDA_DST) dst = address_from(a, n->ndm_family);
            if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
                MacAddress m6;
                std::memcpy(m6.data(), RTA_DATA(a), 6);
                mac = m6;
            }
        });
        if (dst && *dst == addr && mac) return mac;
    }
    return std::nullopt;
}

Status Netlink::probe_neighbour(int ifindex, const esp::IpAddress& addr) {
    Message m(RTM_NEWNEIGH, NLM_F_CREATE);
    auto* nd = m.append_struct<ndmsg>();
    nd->ndm_family = af(addr);
    nd->ndm_ifindex = ifindex;
    nd->ndm_flags = NTF_USE;  // neigh_event_send(): resolve now if not valid
    nd->ndm_state = NUD_NONE;
    m.attr(NDA_DST, addr.bytes.data(), addr.length());
    return transact(m.bytes(), nullptr);
}

int interface_index(const std::string& name) { return static_cast<int>(if_nametoindex(name.c_str())); }

namespace {

std::optional<ifreq> interface_ioctl(const std::string& name, unsigned long req) {
    if (name.size() >= IFNAMSIZ) return std::nullopt;
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return std::nullopt;
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, name.c_str(), name.size());
    if (::ioctl(fd.get(), req, &ifr) != 0) return std::nullopt;
    return ifr;
}

}  // namespace

std::optional<MacAddress> interface_mac(const std::string& name) {
    auto ifr = interface_ioctl(name, SIOCGIFHWADDR);
    if (!ifr) return std::nullopt;
    MacAddress mac;
    std::memcpy(mac.data(), ifr->ifr_hwaddr.sa_data, 6);
    return mac;
}

uint32_t interface_mtu(const std::string& name) {
    auto ifr = interface_ioctl(name, SIOCGIFMTU);
    return ifr ? static_cast<uint32_t>(ifr->ifr_mtu) : 0;
}

Status set_offloads(const std::string& name, bool gro) {
    if (name.size() >= IFNAMSIZ) return Status::error("interface name too long: " + name);
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return Status::error(errno_text("socket", errno));
    for (uint32_t cmd : {ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO, ETHTOOL_STXCSUM, ETHTOOL_SSG}) {
        ethtool_value v{cmd, cmd == ETHTOOL_SGRO && gro ? 1u : 0u};
        ifreq ifr{};
        std::memcpy(ifr.ifr_name, name.c_str(), name.size());
        ifr.ifr_data = reinterpret_cast<char*>(&v);
        if (::ioctl(fd.get(), SIOCETHTOOL, &ifr) != 0 && errno != EOPNOTSUPP)
            return Status::error(errno_text("ethtool offloads on " + name, errno));
    }
    return {};
}

namespace {

std::optional<std::string> read_sysfs(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line)) return std::nullopt;
    return line;
}

}  // namespace

Status set_napi_threaded(const std::string& name, int ifindex, const std::string& value,
                         std::string* previous) {
    const std::string dir = "/sys/class/net/" + name + "/";
    const auto index = read_sysfs(dir + "ifindex");
    const auto mac = read_sysfs(dir + "address");
    const auto ours = interface_mac(name);
    if (!index || !mac || !ours || *index != std::to_string(ifindex) || *mac != mac_to_string(*ours))
        return Status::error(dir + " is not this network namespace's " + name +
                             " (sysfs mounted for another namespace?)");
    const auto before = read_sysfs(dir + "threaded");
    if (!before) return Status::error("cannot read " + dir + "threaded");
    if (previous) *previous = *before;
    if (*before == value) return {};
    {
        std::ofstream out(dir + "threaded");
        out << value << std::flush;
        if (!out) return Status::error(errno_text("writing " + dir + "threaded", errno));
    }
    const auto now = read_sysfs(dir + "threaded");
    if (!now || *now != value)
        return Status::error(dir + "threaded reads '" + now.value_or("?") + "' after writing it");
    return {};
}

std::string mac_to_string(const MacAddress& mac) {
    char s[18];
    std::snprintf(s, sizeof s, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                  mac[4], mac[5]);
    return s;
}

}  // namespace dataplane
}  // namespace xdpsec
