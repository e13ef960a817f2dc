#include "daemon/daemon.h"

#include "daemon/log.h"
#include "esp/drop_reason.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace xdpsec::daemon {

using control::ControlResult;
using json = nlohmann::ordered_json;

namespace {

json prefix_list(const std::vector<esp::IpPrefix>& ps) {
    json a = json::array();
    for (const auto& p : ps) a.push_back(p.to_string());
    return a;
}

dataplane::XdpMode xdp_mode(control::XdpMode m) {
    switch (m) {
    case control::XdpMode::native: return dataplane::XdpMode::native;
    case control::XdpMode::generic: return dataplane::XdpMode::generic;
    case control::XdpMode::automatic: break;
    }
    return dataplane::XdpMode::automatic;
}

std::string hex_spi64(uint64_t spi) {
    char s[19];
    std::snprintf(s, sizeof s, "0x%016llx", static_cast<unsigned long long>(spi));
    return s;
}

json selector_list(const std::vector<ike::TrafficSelector>& v) {
    json a = json::array();
    for (const auto& t : v) a.push_back(ike::to_string(t));
    return a;
}

}  // namespace

// What the IKE engine needs of the daemon: the data plane, the sockets, the log.
class Daemon::IkeGlue final : public ike::IkeServices {
public:
    IkeGlue(ike::KernelIpsec& kernel, IkeSockets& sockets) : kernel_(kernel), sockets_(sockets) {}
    ike::KernelIpsec& kernel() override { return kernel_; }
    void send(const ike::Endpoint& local, const ike::Endpoint& remote, ike::ByteView d) override {
        sockets_.send(local, remote, d);
    }
    uint32_t new_child_spi() override { return 0; }  // the engine allocates these
    uint64_t new_ike_spi() override { return 0; }
    void send_keepalive(const ike::Endpoint& local, const ike::Endpoint& remote) override {
        sockets_.send_keepalive(local, remote);
    }
    std::size_t path_mtu(const ike::Endpoint&, const ike::Endpoint& remote) override {
        return sockets_.path_mtu(remote);
    }
    void log(ike::LogLevel level, std::string_view text) override {
        switch (level) {
        case ike::LogLevel::debug: break;  // per-message chatter stays out of the log
        case ike::LogLevel::info: log_info(std::string(text)); break;
        case ike::LogLevel::warning: log_warning(std::string(text)); break;
        case ike::LogLevel::error: log_error(std::string(text)); break;
        }
    }

private:
    ike::KernelIpsec& kernel_;
    IkeSockets& sockets_;
};

Daemon::Daemon(control::Config config) : config_(std::move(config)) {}

Daemon::~Daemon() {
    if (engine_) engine_->shutdown(ike::Clock::now());
    engine_.reset();
    server_.reset();
    kernel_.reset();
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
    o.tunnel_napi_threaded = d.tunnel_napi_threaded;
    o.uplink_napi_threaded = d.uplink_napi_threaded;
    dataplane_ = dataplane::Dataplane::create(o, error);
    if (!dataplane_) return false;
    for (const auto& sa : config_.sas) {
        dataplane::SaSpec spec{sa.name, sa.sa, sa.local_ts, sa.remote_ts};
        if (auto s = dataplane_->add_sa(std::move(spec)); !s) {
            *error = config_.source + ":" + std::to_string(sa.line) + ": " + s.message();
            return false;
        }
        log_info("SA " + sa.name + ": SPI " + esp::spi_text(sa.sa.spi) + " " +
                 (sa.sa.direction == esp::SaDirection::inbound ? "in" : "out") + ", " +
                 sa.sa.algorithm.name() + ", " + std::string(control::to_string(sa.sa.mode)) +
                 ", " + sa.sa.local.to_string() + " <-> " + sa.sa.remote.to_string());
    }
    if (auto s = dataplane_->start(); !s) {
        *error = s.message();
        return false;
    }
    for (const auto& n : dataplane_->notes()) log_info(n);
    kernel_ = std::make_unique<dataplane::KernelAdapter>(*dataplane_, [](const std::string& w) { log_warning(w); });
    ike::KernelIpsec* kernel = kernel_.get();
    if (!d.key_export.empty()) {
        exporter_ = std::make_unique<KeyExporter>(*kernel_, d.key_export);
        kernel = exporter_.get();
        log_warning("key_export is on: CHILD SA keys are written to a file (for tests only)");
    }
    glue_ = std::make_unique<IkeGlue>(*kernel, sockets_);
    ike::EngineOptions eo;
    eo.retransmit.initial = std::chrono::milliseconds(d.retransmit_timeout_ms);
    eo.retransmit.max_retransmits = d.retransmit_tries;
    engine_ = std::make_unique<ike::Engine>(*glue_, eo);
    std::string sock_error;
    if (!sockets_.open(d.uplink, &sock_error)) {
        if (!config_.tunnels.empty()) {
            *error = "IKE sockets: " + sock_error;
            return false;
        }
        log_warning("IKE sockets: " + sock_error + "; tunnels cannot be negotiated");
    } else if (!sock_error.empty()) {
        log_warning("IKE sockets: " + sock_error);
    }
    for (auto& t : config_.tunnels)
        if (auto e = engine_->add_tunnel(t); !e.empty()) {
            *error = config_.source + ":" + std::to_string(t.line) + ": " + e;
            return false;
        }
    auto server = control::ControlServer::open(d.socket, *this);
    if (!server) {
        *error = server.error();
        return false;
    }
    server_ = std::move(server.value());
    log_info("ready: uplink " + d.uplink + ", tunnel device " + d.tunnel_if + " (MTU " +
             std::to_string(dataplane_->tunnel_mtu()) + "), XDP " + dataplane_->xdp_mode() +
             ", control socket " + d.socket + ", maps in " + d.bpffs);
    engine_->start(ike::Clock::now());
    return true;
}

void Daemon::receive_ike(int fd) {
    IkeSockets::Datagram dg;
    for (int i = 0; i < 64 && sockets_.receive(fd, &dg); ++i)
        if (!dg.data.empty()) engine_->receive(dg.local, dg.remote, dg.data, ike::Clock::now());
}

void Daemon::dataplane_events() {
    const auto now = ike::Clock::now();
    dataplane_->drain_events([&](const dataplane::DataplaneEvent& e) {
        if (e.type == dataplane::DataplaneEvent::Type::acquire) {
            if (e.trap.empty()) return;  // its trap went meanwhile
            std::string what = e.src.to_string() + " -> " + e.dst.to_string() + " proto " +
                               std::to_string(e.proto);
            if (e.has_ports) what += " ports " + std::to_string(e.sport) + " -> " + std::to_string(e.dport);
            engine_->acquire(e.trap, what, now);
        } else {
            engine_->invalid_spi(e.dst, ike::Endpoint{e.src, e.udp_encap ? e.encap_sport : uint16_t(0)},
                                 e.spi, now);
        }
    });
}

int Daemon::run(int signal_fd) {
    auto next_maintenance = std::chrono::steady_clock::now();
    const auto ike_fds = sockets_.fds();
    std::vector<pollfd> fds = {{signal_fd, POLLIN, 0}, {server_->fd(), POLLIN, 0},
                               {dataplane_->event_fd(), POLLIN, 0}};
    for (int fd : ike_fds) fds.push_back({fd, POLLIN, 0});
    for (;;) {
        int timeout = 1000;
        if (auto d = engine_->next_deadline()) {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                *d - std::chrono::steady_clock::now()).count();
            timeout = static_cast<int>(std::clamp<long long>(ms + 1, 0, 1000));
        }
        ::poll(fds.data(), fds.size(), timeout);
        if (fds[0].revents & POLLIN) {
            signalfd_siginfo si{};
            if (::read(signal_fd, &si, sizeof si) == sizeof si) {
                log_info("signal " + std::to_string(si.ssi_signo) + ": shutting down");
                engine_->shutdown(ike::Clock::now());
                return 0;
            }
        }
        if (fds[1].revents & POLLIN) server_->handle_readable();
        if (fds[2].revents & POLLIN) dataplane_events();
        for (std::size_t i = 3; i < fds.size(); ++i)
            if (fds[i].revents & POLLIN) receive_ike(fds[i].fd);
        engine_->tick(std::chrono::steady_clock::now());
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
                {"tunnels", engine_->tunnels().size()},
                {"ike_sas", engine_->ike_sas().size()},
                {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(up).count()}};
}

ControlResult Daemon::tunnel_list() {
    json list = json::array();
    for (const auto& r : engine_->tunnels()) {
        const auto& t = *r.config;
        json lt = json::array(), rt = json::array();
        for (const auto& s : t.local_ts) lt.push_back(s.to_string());
        for (const auto& s : t.remote_ts) rt.push_back(s.to_string());
        std::string ike, esp;
        for (const auto& p : t.ike) ike += (ike.empty() ? "" : ",") + p.text;
        for (const auto& p : t.esp) esp += (esp.empty() ? "" : ",") + p.text;
        json e{{"name", t.name},
               {"state", ike::to_string(r.state)},
               {"local", t.local.to_string()},
               {"remote", t.remote ? t.remote->to_string() : "%any"},
               {"mode", control::to_string(t.mode)},
               {"start", control::to_string(t.start)},
               {"auth", control::to_string(t.auth)},
               {"ike", ike},
               {"esp", esp},
               {"local_ts", lt},
               {"remote_ts", rt},
               {"sas", r.ike_sa ? r.ike_sa->children.size() * 2 : 0}};
        if (!r.last_error.empty()) e["error"] = r.last_error;
        list.push_back(std::move(e));
    }
    return json{{"tunnels", list}};
}

ControlResult Daemon::tunnel_up(const std::string& name) {
    if (auto e = engine_->up(name, ike::Clock::now()); !e.empty()) return control::control_error(e);
    return json{{"tunnel", name}, {"result", "initiating"}};
}

ControlResult Daemon::tunnel_down(const std::string& name) {
    if (auto e = engine_->down(name, ike::Clock::now()); !e.empty()) return control::control_error(e);
    return json{{"tunnel", name}, {"result", "down"}};
}

ControlResult Daemon::tunnel_rekey(const std::string& name, bool ike) {
    if (auto e = engine_->rekey(name, ike, ike::Clock::now()); !e.empty())
        return control::control_error(e);
    return json{{"tunnel", name}, {"result", ike ? "rekeying IKE SA" : "rekeying CHILD SAs"}};
}

ControlResult Daemon::tunnel_add(const std::string& name, const control::TunnelOptions& options) {
    auto t = control::parse_tunnel_options(name, options);
    if (!t) return control::control_error(control::format_errors(t.error()));
    const bool initiate = t.value().start == control::StartAction::initiate && t.value().remote;
    if (auto e = engine_->add_tunnel(std::move(t).value()); !e.empty()) return control::control_error(e);
    log_info("tunnel " + name + " added from the control socket");
    if (initiate) engine_->up(name, ike::Clock::now());
    return json{{"tunnel", name}, {"result", initiate ? "added, initiating" : "added"}};
}

ControlResult Daemon::tunnel_del(const std::string& name) {
    if (auto e = engine_->remove_tunnel(name, ike::Clock::now()); !e.empty())
        return control::control_error(e);
    log_info("tunnel " + name + " deleted from the control socket");
    return json{{"tunnel", name}, {"result", "deleted"}};
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
        // IKE names its SAs TUNNEL/in|out/SPI; manual ones have no tunnel.
        const auto slash = r.name.find('/');
        json sa{{"tunnel", slash == std::string::npos ? "" : r.name.substr(0, slash)},
                {"name", r.name},
                {"direction", c.direction == esp::SaDirection::inbound ? "in" : "out"},
                {"spi", esp::spi_text(c.spi)},
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
    const auto now = ike::Clock::now();
    const auto age = [&](ike::TimePoint t) {
        return std::chrono::duration_cast<std::chrono::seconds>(now - t).count();
    };
    json ikes = json::array();
    for (const auto* i : engine_->ike_sas()) {
        json children = json::array();
        for (const auto& c : i->children)
            children.push_back({{"spi_in", esp::spi_text(c.spi_in)},
                                {"spi_out", esp::spi_text(c.spi_out)},
                                {"alg", c.suite.name()},
                                {"mode", control::to_string(c.mode)},
                                {"encap", c.udp_encap},
                                {"local_ts", selector_list(c.local_ts)},
                                {"remote_ts", selector_list(c.remote_ts)},
                                {"age_s", age(c.established)}});
        ikes.push_back({{"tunnel", i->tunnel ? i->tunnel->name : ""},
                        {"role", i->initiator() ? "initiator" : "responder"},
                        {"state", ike::to_string(i->state)},
                        {"spi_i", hex_spi64(i->spi_i)},
                        {"spi_r", hex_spi64(i->spi_r)},
                        {"local", i->local.to_string()},
                        {"remote", i->remote.to_string()},
                        {"local_id", i->local_id},
                        {"remote_id", i->remote_id},
                        {"alg", i->state == ike::IkeSaState::connecting ? "" : i->suite.name()},
                        {"nat", i->nat()},
                        {"age_s", age(i->created)},
                        {"child_sas", children}});
    }
    return json{{"sas", list}, {"ike_sas", ikes}};
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
                           {"stale_slot", c.stale_slot.load()},
                           {"no_next_hop", c.no_next_hop.load()},
                           {"selector_mismatch", c.selector_mismatch.load()},
                           {"icmp_too_big", c.too_big.load()},
                           {"tx_ring_full", c.tx_ring_full.load()}});
        // The kernel's drops at the sockets, after the XDP verdict counted
        // the frame as redirected.
        for (const auto& [name, uplink] : {std::pair{"uplink", true}, std::pair{"tunnel", false}}) {
            const auto s = w->socket_stats(uplink);
            const std::string p = std::string("xsk_") + name + "_";
            auto& row = workers.back();
            if (!s) {
                row[p + "stats"] = "unavailable";
                continue;
            }
            row[p + "rx_dropped"] = s->rx_dropped;
            row[p + "rx_ring_full"] = s->rx_ring_full;
            row[p + "fill_empty"] = s->fill_ring_empty;
            row[p + "invalid_descs"] = s->invalid_descs;
        }
    }
    const auto& c = engine_->counters();
    json ike{{"received", c.received},
             {"sent", c.sent},
             {"dropped_malformed", c.dropped_malformed},
             {"dropped_unknown_spi", c.dropped_unknown_spi},
             {"dropped_no_tunnel", c.dropped_no_tunnel},
             {"dropped_half_open_cap", c.dropped_half_open_cap},
             {"cookies_sent", c.cookies_sent},
             {"nat_keepalives_sent", c.keepalives_sent},
             {"acquires", c.acquires},
             {"acquires_held", c.acquires_held},
             {"invalid_spi_sent", c.invalid_spi_sent},
             {"invalid_spi_no_ike_sa", c.invalid_spi_no_sa},
             {"invalid_spi_rate_limited", c.invalid_spi_limited},
             {"ignored_on_sockets", sockets_.ignored()}};
    // The XDP programs' reports to the daemon, by type (xdpsec_event_type).
    json events = json::object();
    const auto ev = dataplane_->event_counters();
    for (uint32_t t = 0; t < XDPSEC_EVENT_TYPE_COUNT; ++t)
        events[xdpsec_event_type_name(static_cast<xdpsec_event_type>(t))] = {
            {"emitted", ev[t].emitted}, {"rate_limited", ev[t].rate_limited},
            {"ring_full", ev[t].ring_full}};
    return json{{"xdp", xdp}, {"workers", workers}, {"ike", ike}, {"events", events}};
}

}  // namespace xdpsec::daemon
