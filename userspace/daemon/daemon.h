// xdpsecd: owns the data plane built from the configuration, answers the
// control socket and shuts everything down on SIGTERM/SIGINT.
#pragma once

#include "control/config.h"
#include "control/control_handler.h"
#include "control/control_server.h"
#include "dataplane/dataplane.h"

#include <chrono>
#include <memory>

namespace xdpsec::daemon {

class Daemon final : public control::ControlHandler {
public:
    explicit Daemon(control::Config config);
    ~Daemon() override;

    // Builds the data plane and the control socket. False with *error set
    // when something the operator must fix is wrong.
    bool setup(std::string* error);
    // Serves until SIGTERM or SIGINT (blocked by the caller, read via signalfd).
    int run(int signal_fd);

    control::ControlResult status() override;
    control::ControlResult tunnel_list() override;
    control::ControlResult tunnel_up(const std::string& name) override;
    control::ControlResult tunnel_down(const std::string& name) override;
    control::ControlResult tunnel_add(const std::string& name,
                                      const control::TunnelOptions& options) override;
    control::ControlResult tunnel_del(const std::string& name) override;
    control::ControlResult sa_list() override;
    control::ControlResult stats() override;
    control::ControlResult reload() override;

private:
    control::Config config_;
    std::unique_ptr<dataplane::Dataplane> dataplane_;
    std::unique_ptr<control::ControlServer> server_;
    std::chrono::steady_clock::time_point started_;
};

}  // namespace xdpsec::daemon
