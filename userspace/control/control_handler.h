// What the control socket asks of the daemon. xdpsecd implements it; the
// ControlServer calls it from the daemon's poll loop, one request at a time,
// so an implementation needs no locking against the server. Each method
// returns the JSON document of control_protocol.h, or the reason it failed
// (sent as {"error": reason}). Exceptions are caught and answered as errors,
// but should not be relied on.
#pragma once

#include "control/config.h"
#include "control/expected.h"

#include <nlohmann/json.hpp>

#include <string>

namespace xdpsec::control {

// ordered_json, so that a reply's keys reach xdpsecctl in the order the
// daemon wrote them (status prints them as they come).
using ControlResult = Expected<nlohmann::ordered_json, std::string>;

inline ControlResult control_error(std::string why) { return unexpected(std::move(why)); }

class ControlHandler {
public:
    virtual ~ControlHandler() = default;

    virtual ControlResult status() = 0;
    virtual ControlResult tunnel_list() = 0;
    virtual ControlResult tunnel_up(const std::string& name) = 0;
    virtual ControlResult tunnel_down(const std::string& name) = 0;
    // Rekeys the tunnel's CHILD SAs, or its IKE SA when `ike`, now.
    virtual ControlResult tunnel_rekey(const std::string& name, bool ike) = 0;
    // `options` as typed after NAME; parse_tunnel_options() validates them.
    virtual ControlResult tunnel_add(const std::string& name, const TunnelOptions& options) = 0;
    virtual ControlResult tunnel_del(const std::string& name) = 0;
    virtual ControlResult sa_list() = 0;
    virtual ControlResult stats() = 0;
    virtual ControlResult reload() = 0;
};

}  // namespace xdpsec::control
