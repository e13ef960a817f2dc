// xdpsecd: owns the data plane built from the configuration and the IKEv2
// engine that negotiates its tunnels, answers the control socket and shuts
// everything down on SIGTERM/SIGINT (deleting its IKE SAs at the peers).
#pragma once

#include "control/config.h"
#include "control/control_handler.h"
#include "control/control_server.h"
#include "daemon/ike_socket.h"
#include "daemon/key_export.h"
#include "dataplane/dataplane.h"
#include "dataplane/kernel_adapter.h"
#include "ike/engine.h"
#include "ike/ts_narrowing.h"

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
    control::ControlResult tunnel_rekey(const std::string& name, bool ike) override;
    control::ControlResult tunnel_add(const std::string& name,
                                      const control::TunnelOptions& options) override;
    control::ControlResult tunnel_del(const std::string& name) override;
    control::ControlResult sa_list() override;
    control::ControlResult stats() override;
    control::ControlResult reload() override;

private:
    class IkeGlue;
    void receive_ike(int fd);
    // What the XDP programs reported: acquires start trapped tunnels,
    // unknown SPIs become INVALID_SPI notifications.
    void dataplane_events();
    control::Config config_;
    std::unique_ptr<dataplane::Dataplane> dataplane_;
    std::unique_ptr<dataplane::KernelAdapter> kernel_;
    std::unique_ptr<KeyExporter> exporter_;
    std::unique_ptr<IkeGlue> glue_;
    std::unique_ptr<ike::Engine> engine_;
    IkeSockets sockets_;
    std::unique_ptr<control::ControlServer> server_;
    std::chrono::steady_clock::time_point started_;
};

}  // namespace xdpsec::daemon
