// Loads and attaches the two XDP programs through libxdp (ingress on the
// uplink, protect on the tunnel device's peer end), shares their common
// maps, pins every map under the instance's bpffs directory and maps the SA
// table for the workers. The destructor undoes all of it.
#pragma once

#include "dataplane/result.h"

#include <xdpsec/bpf_abi.h>

#include <memory>
#include <string>
#include <vector>

struct ingress;
struct protect;
struct xdp_program;

namespace xdpsec::dataplane {

enum class XdpMode { automatic, native, generic };

struct LoaderOptions {
    std::string pin_dir;  // e.g. /sys/fs/bpf/xdpsec/default (bpffs, created if absent)
    int uplink_ifindex = 0;
    int tunnel_ifindex = 0;  // the peer end, xdpsec0p
    XdpMode mode = XdpMode::automatic;
};

// Makes sure dir exists on a bpffs: mounts one when none is there (inside
// `ip netns exec` /sys/fs/bpf is not mounted). *note says what was done.
Status ensure_bpffs(const std::string& dir, std::string* note);

class XdpPrograms {
public:
    static std::unique_ptr<XdpPrograms> attach(const LoaderOptions& options, std::string* error);
    ~XdpPrograms();
    XdpPrograms(const XdpPrograms&) = delete;
    XdpPrograms& operator=(const XdpPrograms&) = delete;

    int map_fd(const char* name) const;
    xdpsec_sa* sa_table() const { return sa_table_; }
    const std::string& mode() const { return mode_; }  // "native" or "generic", as attached
    const std::vector<std::string>& notes() const { return notes_; }

private:
    XdpPrograms() = default;
    Status attach_one(xdp_program* prog, int ifindex, XdpMode mode, const char* what,
                      int* attached_mode);

    ::ingress* ingress_ = nullptr;
    ::protect* protect_ = nullptr;
    xdp_program* ingress_prog_ = nullptr;
    xdp_program* protect_prog_ = nullptr;
    int uplink_ifindex_ = 0, tunnel_ifindex_ = 0;
    bool ingress_attached_ = false, protect_attached_ = false;
    int ingress_mode_ = 0, protect_mode_ = 0;  // enum xdp_attach_mode used, for detach
    xdpsec_sa* sa_table_ = nullptr;
    std::string pin_dir_;
    std::vector<std::string> pinned_;
    std::vector<std::string> notes_;
    std::string mode_;
};

}  // namespace xdpsec::dataplane
