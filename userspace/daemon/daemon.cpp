#include "daemon/daemon.h"

#include "daemon/log.h"
#include "esp/drop_reason.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>

namespace xdpsec::daemon {

using control::ControlResult;
using json = nlohmann::ordered_json;

namespace {

constexpr const char* kNoIke =
    "tunnels are negotiated with IKEv2, which this xdpsecd does not have yet; "
    "use manually keyed [sa.NAME] sections";

json prefix_list(const std::vector<esp::IpPrefix>& ps) {
    json a = json::array();
    for (const auto& p : ps) a.push_back(p.to_string());
    return a;
}

std::string hex_spi(uint32_t spi) {
    char s[11];
    std::snprintf(s, sizeof s, "0x%08x", spi);
    return s;
}

dataplane::XdpMode xdp_mode(control::XdpMode m) {
    switch (m) {
    case control::XdpMode::native: return dataplane::XdpMode::native;
    case control::XdpMode::generic: return dataplane::XdpMode::generic;
    case control::XdpMode::automatic: break;
    }
    return dataplane::XdpMode::automatic;
}

}  // namespace

Daemon::Daemon(control::Config config) : config_(std::move(config)) {}

Daemon::~Daemon() {
    server_.reset();
    dataplane_.reset();
}

bool Daemon::setup(std::string* error) {
    started_ = std::chrono::steady_clock::now();
    const auto& d = config_.daemon;
    dataplane::DataplaneOptions o;
    o.uplink = d.uplink;
    o.tunnel_if = d.tunnel_if;
    o.pin_dir = d.bpffs;
    o.workers = d.workers ? d.workers : 1;  // auto: one queue is all veth and this build serve
    o.mode = xdp_mode(d.xdp_mode);
    o.busy_poll = d.busy_poll;
    dataplane_ = dataplane::Dataplane::create(o, error);
    if (!dataplane_) return false;
    for (const auto& sa : config_.sas) {
        dataplane::SaSpec spec{sa.name, sa.sa, sa.local_ts, sa.remote_ts};
        if (auto s = dataplane_->add_sa(std::move(spec)); !s) {
            *error = config_.source + ":" + std::to_string(sa.line) + ": " + s.message();
            return false;
        }
        log_info("SA " + sa.name + ": SPI " + hex_spi(sa.sa.spi) + " " +
                 (sa.sa.direction == esp::SaDirection::inbound ? "in" : "out") + ", " +
                 sa.sa.algorithm.name() + ", " + std::string(control::to_string(sa.sa.mode)) +
                 ", " + sa.sa.local.to_string() + " <-> " + sa.sa.remote.to_string());
    }
    for (const auto& t : config_.tunnels) log_warning("tunnel " + t.name + ": not started: " + kNoIke);
    if (auto s = dataplane_->start(); !s) {
        *error = s.message();
        return false;
    }
    for (const auto& n : dataplane_->notes()) log_info(n);
    auto server = control::ControlServer::open(d.socket, *this);
    if (!server) {
        *error = server.error();
        return false;
    }
    server_ = std::move(server.value());
    log_info("ready: uplink " + d.uplink + ", tunnel device " + d.tunnel_if + " (MTU " +
             std::to_string(dataplane_->tunnel_mtu()) + "), XDP " + dataplane_->xdp_mode() +
             ", control socket " + d.socket + ", maps in " + d.bpffs);
    return true;
}

int Daemon::run(int signal_fd) {
    auto next_maintenance = std::chrono::steady_clock::now();
    for (;;) {
        pollfd fds[2] = {{signal_fd, POLLIN, 0}, {server_->fd(), POLLIN, 0}};
        ::poll(fds, 2, 1000);
        if (fds[0].revents & POLLIN) {
            signalfd_siginfo si{};
            if (::read(signal_fd, &si, sizeof si) == sizeof si) {
                log_info("signal " + std::to_string(si.ssi_signo) + ": shutting down");
                return 0;
            }
        }
        if (fds[1].revents & POLLIN) server_->handle_readable();
        const auto now = std::chrono::steady_clock::now();
        if (now >= next_maintenance) {
            dataplane_->maintain();
            next_maintenance = now + std::chrono::seconds(1);
        }
    }
}

ControlResult Daemon::status() {
    const auto& d = config_.daemon;
    const auto up = std::chrono::steady_clock::now() - started_;
    return json{{"version", XDPSEC_VERSION},
                {"instance", d.instance},
                {"uplink", d.uplink},
                {"tunnel_if", d.tunnel_if},
                {"tunnel_mtu", dataplane_->tunnel_mtu()},
                {"workers", dataplane_->workers().size()},
                {"xdp_mode", dataplane_->xdp_mode()},
                {"bpffs", d.bpffs},
                {"sas", dataplane_->sa_report().size()},
                {"tunnels", config_.tunnels.size()},
                {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(up).count()}};
}

ControlResult Daemon::tunnel_list() {
    json list = json::array();
    for (const auto& t : config_.tunnels) {
        json lt = json::array(), rt = json::array();
        for (const auto& s : t.local_ts) lt.push_back(s.to_string());
        for (const auto& s : t.remote_ts) rt.push_back(s.to_string());
        list.push_back({{"name", t.name},
                        {"state", "down"},
                        {"local", t.local.to_string()},
                        {"remote", t.remote ? t.remote->to_string() : "%any"},
                        {"mode", control::to_string(t.mode)},
                        {"start", control::to_string(t.start)},
                        {"auth", control::to_string(t.auth)},
                        {"local_ts", lt},
                        {"remote_ts", rt},
                        {"sas", 0}});
    }
    return json{{"tunnels", list}};
}

ControlResult Daemon::tunnel_up(const std::string& name) {
    return control::control_error("tunnel " + name + ": " + kNoIke);
}
ControlResult Daemon::tunnel_down(const std::string& name) {
    return control::control_error("tunnel " + name + ": " + kNoIke);
}
ControlResult Daemon::tunnel_add(const std::string& name, const control::TunnelOptions& options) {
    auto t = control::parse_tunnel_options(name, options);
    if (!t) return control::control_error(control::format_errors(t.error()));
    return control::control_error("tunnel " + name + " is valid, but " + kNoIke);
}
ControlResult Daemon::tunnel_del(const std::string& name) {
    return control::control_error("tunnel " + name + ": " + kNoIke);
}
ControlResult Daemon::reload() {
    return control::control_error("reload is not supported yet: restart xdpsecd to apply a new configuration");
}

ControlResult Daemon::sa_list() {
    json list = json::array();
    for (const auto& r : dataplane_->sa_report()) {
        const auto& c = *r.config;
        json drops = json::object();
        for (std::size_t i = 1; i < esp::kEspDropCount; ++i)
            if (r.live.drops[i]) drops[std::string(esp::to_string(static_cast<esp::EspDrop>(i)))] = r.live.drops[i];
        const bool soft = (c.lifetime.soft_bytes && r.live.bytes >= c.lifetime.soft_bytes) ||
                          (c.lifetime.soft_packets && r.live.packets >= c.lifetime.soft_packets);
        const bool hard = (c.lifetime.hard_bytes && r.live.bytes >= c.lifetime.hard_bytes) ||
                          (c.lifetime.hard_packets && r.live.packets >= c.lifetime.hard_packets);
        json sa{{"tunnel", ""},
                {"name", r.name},
                {"direction", c.direction == esp::SaDirection::inbound ? "in" : "out"},
                {"spi", hex_spi(c.spi)},
                {"mode", control::to_string(c.mode)},
                {"alg", c.algorithm.name()},
                {"local_ts", prefix_list(r.local_ts)},
                {"remote_ts", prefix_list(r.remote_ts)},
                {"packets", r.live.packets},
                {"bytes", r.live.bytes},
                {"state", hard ? "expired" : soft ? "soft_expired" : "active"},
                {"drops", drops},
                {"seq", r.live.seq},
                {"local", c.local.to_string()},
                {"remote", c.remote.to_string()},
                {"encap", c.udp_encap ? json{{"local_port", c.udp_encap->local_port},
                                             {"remote_port", c.udp_encap->remote_port}}
                                      : json(nullptr)},
                {"esn", c.esn},
                {"replay_window", c.direction == esp::SaDirection::inbound ? c.replay_window : 0}};
        if (c.direction == esp::SaDirection::outbound) sa["next_hop"] = r.next_hop;
        else sa["replay_bottom"] = r.live.replay_bottom;
        list.push_back(std::move(sa));
    }
    return json{{"sas", list}};
}

ControlResult Daemon::stats() {
    json xdp = json::object();
    const auto v = dataplane_->verdicts();
    for (uint32_t r = 0; r < XDPSEC_REASON_COUNT; ++r)
        xdp[control::verdict_reason_key(r)] = {{"packets", v[r].packets}, {"bytes", v[r].bytes}};
    json workers = json::array();
    uint32_t id = 0;
    for (const auto& w : dataplane_->workers()) {
        const auto& c = w->counters();
        workers.push_back({{"id", id++},
                           {"queue", w->queue()},
                           {"rx_uplink", c.rx_uplink.load()},
                           {"rx_tunnel", c.rx_tunnel.load()},
                           {"tx_uplink", c.tx_uplink.load()},
                           {"tx_tunnel", c.tx_tunnel.load()},
                           {"encrypted", c.encap_ok.load()},
                           {"decrypted", c.decap_ok.load()},
                           {"esp_dropped", c.esp_dropped.load()},
                           {"no_metadata", c.no_metadata.load()},
                           {"bad_slot", c.bad_slot.load()},
                           {"no_next_hop", c.no_next_hop.load()},
                           {"selector_mismatch", c.selector_mismatch.load()},
                           {"icmp_too_big", c.too_big.load()},
                           {"tx_ring_full", c.tx_ring_full.load()}});
    }
    return json{{"xdp", xdp}, {"workers", workers}};
}

}  // namespace xdpsec::daemon
