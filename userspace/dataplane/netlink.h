// The few rtnetlink and ethtool operations the data plane needs: the tunnel
// veth pair, its routes, and the outer next hop (route + neighbour).
#pragma once

#include "dataplane/result.h"
#include "dataplane/unique_fd.h"
#include "esp/ip_address.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xdpsec::dataplane {

using MacAddress = std::array<uint8_t, 6>;

struct NextHop {
    int ifindex = 0;
    esp::IpAddress gateway;  // the neighbour to resolve: the route's gateway or the destination
    esp::IpAddress source;   // preferred source address, if the route names one
};

class Netlink {
public:
    static std::optional<Netlink> open(std::string* error);

    Status create_veth(const std::string& name, const std::string& peer);
    Status delete_link(const std::string& name);
    // Sets link flags: IFF_UP, and IFF_NOARP for the tunnel device, whose
    // peer is our XDP program rather than a host that answers ARP/ND.
    Status set_flags(int ifindex, uint32_t flags);
    Status set_mtu(int ifindex, uint32_t mtu);
    // A route to prefix/len through ifindex (device route, scope link).
    Status add_route(const esp::IpAddress& prefix, uint8_t len, int ifindex);
    // Removes that route; one already gone is not an error.
    Status delete_route(const esp::IpAddress& prefix, uint8_t len, int ifindex);
    // The kernel's route to dst, restricted to oif when oif != 0.
    std::optional<NextHop> route_to(const esp::IpAddress& dst, int oif, std::string* error);
    // The link-layer address of a resolved neighbour, if the kernel has one.
    std::optional<MacAddress> neighbour(int ifindex, const esp::IpAddress& addr);
    // Asks the kernel to resolve addr on ifindex (NTF_USE starts ARP/ND).
    Status probe_neighbour(int ifindex, const esp::IpAddress& addr);

private:
    explicit Netlink(UniqueFd fd) : fd_(std::move(fd)) {}
    // Sends one request and collects the replies (all parts of a dump).
    // *kernel_error, if given, receives the errno the kernel refused it with.
    Status transact(std::vector<uint8_t>& request, std::vector<std::vector<uint8_t>>* replies,
                    int* kernel_error = nullptr);

    UniqueFd fd_;
    uint32_t seq_ = 1;
};

int interface_index(const std::string& name);
std::optional<MacAddress> interface_mac(const std::string& name);
uint32_t interface_mtu(const std::string& name);
// Switches off TSO, GSO and TX checksum offload, so that the worker sees
// whole, checksummed packets, and sets GRO as asked: on for the host end of
// the tunnel device, where it merges decrypted TCP segments for the host.
Status set_offloads(const std::string& name, bool gro);
// Runs the device's NAPI polling in kernel threads ("1") or in softirq
// context ("0"), or puts back what *previous once received
// (/sys/class/net/NAME/threaded). The device must have NAPI instances (a veth
// has them once XDP or GRO is on). Refused when sysfs shows another device
// under that name (sysfs mounted for another network namespace): ifindex and
// MAC must match.
Status set_napi_threaded(const std::string& name, int ifindex, const std::string& value,
                         std::string* previous = nullptr);
std::string mac_to_string(const MacAddress& mac);

}  // namespace xdpsec::dataplane
