#include "ike/engine.h"

#include "ike/message/message.h"
#include "ike/tasks/child_create.h"
#include "ike/tasks/ike_auth.h"
#include "ike/tasks/ike_init.h"
#include "ike/tasks/ike_natd.h"
#include "ike/tasks/ike_rekey.h"
#include "ike/tasks/informational.h"

#include "ike/crypto/prf.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>

namespace xdpsec::ike {

// The services the tasks see: the caller's, plus SPIs unique in this engine.
class Engine::Services final : public IkeServices {
public:
    Services(IkeServices& outer, Engine& engine) : outer_(outer), engine_(engine) {}
    KernelIpsec& kernel() override { return outer_.kernel(); }
    void send(const Endpoint& local, const Endpoint& remote, ByteView datagram) override {
        ++engine_.counters_.sent;
        outer_.send(local, remote, datagram);
    }
    uint32_t new_child_spi() override {
        for (;;) {
            uint32_t spi = 0;
            if (RAND_bytes(reinterpret_cast<uint8_t*>(&spi), sizeof spi) != 1) continue;
            if (spi < 256) continue;
            bool used = false;
            for (const auto& e : engine_.sas_)
                for (const auto& c : e.sa->children) used = used || c.spi_in == spi;
            if (!used && !outer_.kernel().usage(spi, esp::SaDirection::inbound).found) return spi;
        }
    }
    uint64_t new_ike_spi() override { return engine_.new_ike_spi(); }
    void send_keepalive(const Endpoint& local, const Endpoint& remote) override {
        outer_.send_keepalive(local, remote);
    }
    void log(LogLevel level, std::string_view text) override { outer_.log(level, text); }
    std::size_t path_mtu(const Endpoint& local, const Endpoint& remote) override {
        return outer_.path_mtu(local, remote);
    }

private:
    IkeServices& outer_;
    Engine& engine_;
};

std::string_view to_string(TunnelState s) {
    switch (s) {
    case TunnelState::down: return "down";
    case TunnelState::connecting: return "connecting";
    case TunnelState::established: return "established";
    case TunnelState::deleting: return "deleting";
    case TunnelState::failed: return "failed";
    }
    return "?";
}

Engine::Engine(IkeServices& services, EngineOptions options)
    : services_(std::make_unique<Services>(services, *this)), options_(options) {}

Engine::~Engine() = default;

uint64_t Engine::new_ike_spi() {
    for (;;) {
        uint64_t spi = 0;
        if (RAND_bytes(reinterpret_cast<uint8_t*>(&spi), sizeof spi) != 1 || spi == 0) continue;
        if (!find_sa(spi)) return spi;
    }
}

Engine::Entry* Engine::find_sa(uint64_t our_spi) {
    for (auto& e : sas_)
        if (e.sa->our_spi() == our_spi) return &e;
    return nullptr;
}

Engine::Entry* Engine::find_half_open(uint64_t spi_i, const Endpoint& remote) {
    for (auto& e : sas_)
        if (!e.sa->initiator() && e.sa->spi_i == spi_i && e.sa->remote.addr == remote.addr) return &e;
    return nullptr;
}

Engine::Entry* Engine::sa_of_tunnel(const control::TunnelConfig* t) {
    for (auto& e : sas_)
        if (e.sa->tunnel == t && e.sa->state != IkeSaState::dead) return &e;
    return nullptr;
}

Engine::Entry& Engine::create_sa(bool initiator, Endpoint local, Endpoint remote, TimePoint now) {
    Entry e;
    e.sa = std::make_unique<IkeSa>(initiator, new_ike_spi(), std::move(local), std::move(remote), now);
    e.tasks = std::make_unique<TaskManager>(*e.sa, *services_, options_.retransmit,
                                            options_.fragment_ip_size);
    sas_.push_back(std::move(e));
    return sas_.back();
}

const control::TunnelConfig* Engine::find_tunnel(const std::string& name) const {
    for (const auto& t : tunnels_)
        if (t->name == name) return t.get();
    return nullptr;
}

std::string Engine::add_tunnel(control::TunnelConfig tunnel) {
    if (find_tunnel(tunnel.name)) return "tunnel " + tunnel.name + " exists";
    if (tunnel.ike.empty() || tunnel.esp.empty()) return "tunnel " + tunnel.name + " has no proposals";
    tunnels_.push_back(std::make_unique<control::TunnelConfig>(std::move(tunnel)));
    const auto& t = *tunnels_.back();
    if (t.start == control::StartAction::trap && t.remote) trap(t);
    return {};
}

// RFC 4301 §5.1: until its CHILD SA stands, the tunnel's traffic meets a
// trap policy, which drops it and tells us (acquire); the SA's own policies
// take precedence once installed, and the trap catches traffic again when
// the SA goes.
void Engine::trap(const control::TunnelConfig& t) {
    if (trapped_[t.name]) return;
    TrapInstall ti;
    ti.name = t.name;
    const bool hosts = t.mode == esp::Mode::transport;
    ti.local_ts = hosts || t.local_ts.empty() ? std::vector{esp::IpPrefix::host(t.local)} : t.local_ts;
    ti.remote_ts = hosts || t.remote_ts.empty() ? std::vector{esp::IpPrefix::host(*t.remote)}
                                                : t.remote_ts;
    if (auto e = services_->kernel().add_trap(ti); !e.empty()) {
        last_error_[t.name] = "trap not installed: " + e;
        services_->log(LogLevel::error, "tunnel " + t.name + ": trap not installed: " + e);
        return;
    }
    trapped_[t.name] = true;
    services_->log(LogLevel::info, "tunnel " + t.name + ": traffic for it is trapped until it is up");
}

void Engine::acquire(const std::string& name, const std::string& what, TimePoint now) {
    const auto* t = find_tunnel(name);
    if (!t || !t->remote) return;
    if (sa_of_tunnel(t)) {
        // Up (or coming up). An IKE SA left without a CHILD SA (the peer
        // deleted it, or it expired unrekeyed) gets a new one.
        for (auto& x : sas_) {
            IkeSa& sa = *x.sa;
            if (sa.tunnel != t || sa.state != IkeSaState::established || !x.tasks->idle()) continue;
            if (std::any_of(sa.children.begin(), sa.children.end(),
                            [](const ChildSa& c) { return !c.superseded && !c.redundant; }))
                continue;
            ++counters_.acquires;
            services_->log(LogLevel::info, "tunnel " + name + ": acquire (" + what +
                                               "): the IKE SA has no CHILD SA; creating one");
            std::vector<std::unique_ptr<Task>> c;
            c.push_back(std::make_unique<ChildCreate>(*services_, true));
            x.tasks->queue(ExchangeType::create_child_sa, std::move(c));
            x.tasks->initiate(now);
            break;
        }
        return;
    }
    // After a failed attempt the peer gets a pause, not an IKE_SA_INIT per packet.
    if (auto f = last_failure_.find(name);
        f != last_failure_.end() && now - f->second < std::chrono::seconds(10)) {
        ++counters_.acquires_held;
        return;
    }
    ++counters_.acquires;
    services_->log(LogLevel::info, "tunnel " + name + ": acquire (" + what + "): initiating");
    last_error_.erase(name);
    initiate(t, now);
    reap(now);
}

void Engine::invalid_spi(const esp::IpAddress& local, const Endpoint& remote, uint32_t spi,
                         TimePoint now) {
    Entry* e = nullptr;
    for (auto& x : sas_)
        if (x.sa->state == IkeSaState::established && x.sa->local.addr == local &&
            x.sa->remote.addr == remote.addr && (remote.port == 0 || x.sa->remote.port == remote.port))
            e = &x;
    if (!e) {
        ++counters_.invalid_spi_no_sa;
        return;
    }
    IkeSa& sa = *e->sa;
    if (sa.last_invalid_spi != TimePoint{} && now - sa.last_invalid_spi < std::chrono::seconds(1)) {
        ++counters_.invalid_spi_limited;
        return;
    }
    sa.last_invalid_spi = now;
    ++counters_.invalid_spi_sent;
    services_->log(LogLevel::info, "ESP from " + remote.addr.to_string() + " with unknown SPI " +
                                       esp::spi_text(spi) + ": INVALID_SPI sent");
    std::vector<std::unique_ptr<Task>> t;
    t.push_back(std::make_unique<InvalidSpiNotify>(spi));
    e->tasks->queue(ExchangeType::informational, std::move(t));
    e->tasks->initiate(now);
}

std::string Engine::remove_tunnel(const std::string& name, TimePoint now) {
    const auto* t = find_tunnel(name);
    if (!t) return "no tunnel " + name;
    down(name, now);
    // Any SA still pointing at the tunnel goes now: the config dies with it.
    for (auto& e : sas_) {
        if (e.sa->tunnel == t || std::find(e.sa->candidates.begin(), e.sa->candidates.end(), t) !=
                                     e.sa->candidates.end()) {
            uninstall_children(*services_, *e.sa);
            e.sa->closing = true;  // reap must not bring back a tunnel that is going away
            e.sa->state = IkeSaState::dead;
        }
    }
    reap(now);
    if (trapped_.erase(name)) services_->kernel().del_trap(name);
    tunnels_.erase(std::remove_if(tunnels_.begin(), tunnels_.end(),
                                  [&](const auto& p) { return p.get() == t; }),
                   tunnels_.end());
    last_error_.erase(name);
    return {};
}

std::string Engine::up(const std::string& name, TimePoint now) {
    const auto* t = find_tunnel(name);
    if (!t) return "no tunnel " + name;
    if (!t->remote) return "tunnel " + name + " accepts any peer (remote = %any): it can only listen";
    if (sa_of_tunnel(t)) return {};
    last_error_.erase(name);
    initiate(t, now);
    reap(now);
    return {};
}

Engine::Entry& Engine::initiate(const control::TunnelConfig* t, TimePoint now) {
    Entry& e = create_sa(true, Endpoint{t->local, kIkePort}, Endpoint{*t->remote, kIkePort}, now);
    e.sa->tunnel = t;
    std::vector<std::unique_ptr<Task>> init, auth;
    init.push_back(std::make_unique<IkeInit>(*services_));
    init.push_back(std::make_unique<IkeNatd>(*services_));
    auth.push_back(std::make_unique<IkeAuth>(*services_));
    auth.push_back(std::make_unique<ChildCreate>(*services_));
    e.tasks->queue(ExchangeType::ike_sa_init, std::move(init));
    e.tasks->queue(ExchangeType::ike_auth, std::move(auth));
    services_->log(LogLevel::info, "tunnel " + t->name + ": initiating IKE SA with " +
                                       e.sa->remote.to_string());
    e.tasks->initiate(now);
    return e;
}

// Reauthentication (RFC 7296 §2.8.3), make-before-break: a new IKE SA with
// its CHILD SA next to the old one; the old one goes once the new stands.
void Engine::start_reauths(TimePoint now) {
    auto due = std::move(reauth_due_);
    reauth_due_.clear();
    for (uint64_t spi : due) {
        Entry* old = find_sa(spi);
        if (!old || !old->sa->tunnel || !old->sa->tunnel->remote) continue;
        services_->log(LogLevel::info, "tunnel " + old->sa->tunnel->name + ": reauthenticating");
        const auto* t = old->sa->tunnel;
        Entry& n = initiate(t, now);  // `old` may move with sas_: not used after this
        n.sa->replaces_ike = spi;
    }
}

std::string Engine::down(const std::string& name, TimePoint now) {
    const auto* t = find_tunnel(name);
    if (!t) return "no tunnel " + name;
    for (auto& e : sas_) {
        if (e.sa->tunnel != t || e.sa->state == IkeSaState::dead) continue;
        e.sa->closing = true;  // no dpd_action when its DELETE goes unanswered
        if (e.sa->state == IkeSaState::established) {
            std::vector<std::unique_ptr<Task>> d;
            d.push_back(std::make_unique<IkeDelete>(*services_));
            e.tasks = std::make_unique<TaskManager>(*e.sa, *services_, options_.retransmit,
                                            options_.fragment_ip_size);
            e.tasks->queue(ExchangeType::informational, std::move(d));
            e.tasks->initiate(now);
            services_->log(LogLevel::info, "tunnel " + name + ": deleting IKE SA with " +
                                               e.sa->remote.to_string());
        } else {
            uninstall_children(*services_, *e.sa);
            e.sa->state = IkeSaState::dead;
        }
    }
    last_error_.erase(name);
    // A trap dpd_action installed goes with an operator's down; a start =
    // trap tunnel keeps its own (the next packet brings it up, as configured).
    if (t->start != control::StartAction::trap && trapped_.erase(name))
        services_->kernel().del_trap(name);
    reap(now);
    return {};
}

std::string Engine::rekey(const std::string& name, bool ike, TimePoint now) {
    const auto* t = find_tunnel(name);
    if (!t) return "no tunnel " + name;
    Entry* e = nullptr;
    for (auto& x : sas_)
        if (x.sa->tunnel == t && x.sa->state == IkeSaState::established && !x.sa->delete_when_succeeded)
            e = &x;
    if (!e) return "tunnel " + name + " has no established IKE SA";
    IkeSa& sa = *e->sa;
    if (ike) {
        if (sa.ike_rekeying) return "tunnel " + name + ": an IKE SA rekey is already under way";
        sa.ike_rekey_at = now;
    } else {
        bool any = false;
        for (auto& c : sa.children)
            if (!c.superseded && !c.rekeying && !c.redundant) {
                c.rekey_at = now;
                any = true;
            }
        if (!any) return "tunnel " + name + ": no CHILD SA to rekey (or its rekey is under way)";
    }
    schedule(*e, now);
    return {};
}

void Engine::start(TimePoint now) {
    for (const auto& t : tunnels_)
        if (t->start == control::StartAction::initiate && t->remote) up(t->name, now);
}

void Engine::shutdown(TimePoint now) {
    for (const auto& t : tunnels_) down(t->name, now);
    for (auto& e : sas_) uninstall_children(*services_, *e.sa);
    sas_.clear();
    for (const auto& [name, on] : trapped_)
        if (on) services_->kernel().del_trap(name);
    trapped_.clear();
}

void Engine::receive(const Endpoint& local, const Endpoint& remote, ByteView datagram, TimePoint now) {
    ++counters_.received;
    auto hdr = decode_header(datagram);
    if (!hdr) {
        ++counters_.dropped_malformed;
        services_->log(LogLevel::debug, "IKE message from " + remote.to_string() + " dropped: " +
                                            hdr.error().to_string());
        return;
    }
    const IkeHeader& h = hdr.value();
    Entry* e = nullptr;
    if (h.exchange == ExchangeType::ike_sa_init && !h.response() && h.spi_r == 0) {
        e = find_half_open(h.spi_i, remote);
        if (!e) {
            std::vector<const control::TunnelConfig*> candidates;
            for (const auto& t : tunnels_)
                if (t->local == local.addr && (!t->remote || *t->remote == remote.addr))
                    candidates.push_back(t.get());
            if (candidates.empty()) {
                ++counters_.dropped_no_tunnel;
                services_->log(LogLevel::warning, "IKE_SA_INIT from " + remote.to_string() + " to " +
                                                      local.addr.to_string() +
                                                      ": no tunnel is configured for this pair of addresses");
                return;
            }
            if (!admit(local, remote, h, datagram, now)) return;
            Entry& n = create_sa(false, local, remote, now);
            n.sa->spi_i = h.spi_i;
            n.sa->candidates = std::move(candidates);
            n.sa->tunnel = n.sa->candidates.front();
            e = &n;
        }
    } else {
        // Our SPI is the responder's in messages from the original initiator.
        const uint64_t ours = h.initiator() ? h.spi_r : h.spi_i;
        e = find_sa(ours);
        if (e && e->sa->initiator() == h.initiator()) e = nullptr;
        if (e && h.exchange == ExchangeType::ike_sa_init && h.response()) {
            if (e->sa->spi_r == 0) e->sa->spi_r = h.spi_r;
        } else if (e && e->sa->peer_spi() != (h.initiator() ? h.spi_i : h.spi_r)) {
            e = nullptr;
        }
    }
    if (!e) {
        ++counters_.dropped_unknown_spi;
        services_->log(LogLevel::debug, "IKE message from " + remote.to_string() +
                                            " for an unknown IKE SA; dropped");
        return;
    }
    const bool plain = h.exchange == ExchangeType::ike_sa_init;
    DecodeResult<Message> m = Message{};
    if (h.next_payload == PayloadType::skf && !plain && e->sa->inbound) {
        auto whole = reassemble(*e, h, datagram);
        if (!whole) return;
        m = std::move(*whole);
    } else {
        m = decode(datagram, plain ? nullptr : e->sa->inbound.get());
    }
    if (!m) {
        ++counters_.dropped_malformed;
        const auto& err = m.error();
        services_->log(LogLevel::warning, "IKE message from " + remote.to_string() + ": " + err.to_string());
        // A half-open SA made for an IKE_SA_INIT that did not decode goes again.
        const bool half_open = plain && e->sa->state == IkeSaState::connecting &&
                               !e->sa->initiator() && e->sa->next_peer_id == 0;
        // §2.5: an unknown critical payload is answered, in IKE_SA_INIT too.
        if (!h.response() && err.kind == DecodeError::Kind::unsupported_critical)
            e->tasks->answer_error(h, local, remote, NotifyType::unsupported_critical_payload,
                                   {err.payload_type});
        else if (!h.response() && !plain && err.kind == DecodeError::Kind::invalid_syntax)
            e->tasks->answer_error(h, local, remote, NotifyType::invalid_syntax, {});
        if (half_open) e->sa->state = IkeSaState::dead;
        reap(now);
        return;
    }
    // The peer's address as seen now: NAT mappings and the move to port 4500
    // (§2.23) follow authenticated messages. IKE_SA_INIT responses keep ours.
    if (!(plain && h.response())) {
        e->sa->local = local;
        e->sa->remote = remote;
    }
    e->tasks->receive(m.value(), datagram, now);
    schedule(*e, now);
    start_reauths(now);  // may move sas_: `e` is not used after this
    reap(now);           // takes over the successors rekeys made first
}

void Engine::queue_delete(Entry& e, TimePoint now) {
    std::vector<std::unique_ptr<Task>> d;
    d.push_back(std::make_unique<IkeDelete>(*services_));
    e.tasks->queue(ExchangeType::informational, std::move(d));
    e.tasks->initiate(now);
}

// RFC 7296 §2.18, §2.8.2: the old IKE SA is deleted by the side whose
// rekey made its successor, the redundant SA of a collision by the side
// that made it; the other side waits for those DELETEs, not forever.
void Engine::take_successors(TimePoint now) {
    std::vector<std::unique_ptr<IkeSa>> fresh;
    for (auto& e : sas_) {
        IkeSa& old = *e.sa;
        if (!old.successor) continue;
        fresh.push_back(std::move(old.successor));
        if (old.redundant) fresh.push_back(std::move(old.redundant));
        if (old.state != IkeSaState::rekeyed) continue;  // the peer deleted it already
        if (old.delete_when_succeeded)
            queue_delete(e, now);
        else
            old.retire_at = now + options_.rekeyed_timeout;
    }
    for (auto& sa : fresh) {
        const bool redundant = sa->state == IkeSaState::rekeyed;
        adopt(std::move(sa));
        if (!redundant) continue;
        Entry& n = sas_.back();
        if (n.sa->initiator())
            queue_delete(n, now);
        else
            n.sa->retire_at = now + options_.rekeyed_timeout;
    }
}

// RFC 3948 §2.3: behind a NAT, a keepalive every 20 s keeps the NAT's
// mapping for IKE and ESP-in-UDP (port 4500) alive.
void Engine::keepalive(Entry& e, TimePoint now) {
    IkeSa& sa = *e.sa;
    if (sa.state != IkeSaState::established || !sa.nat_here || sa.local.port != kNattPort) return;
    if (sa.last_keepalive != TimePoint{} && now - sa.last_keepalive < options_.nat_keepalive) return;
    if (sa.last_keepalive == TimePoint{}) {
        sa.last_keepalive = now;  // the first one a full interval after establishment
        return;
    }
    sa.last_keepalive = now;
    ++counters_.keepalives_sent;
    services_->send_keepalive(sa.local, sa.remote);
}

// Exchanges the SA's state asks for: CHILD SA rekeys that are due (RFC 7296
// §1.3.3), DELETEs of CHILD SAs a rekey left behind.
void Engine::schedule(Entry& e, TimePoint now) {
    IkeSa& sa = *e.sa;
    if (sa.state != IkeSaState::established) return;
    if (sa.replaces_ike) {
        // A reauthentication stands: the SA it replaces goes now.
        for (auto& x : sas_)
            if (x.sa->our_spi() == sa.replaces_ike && x.sa->state == IkeSaState::established) {
                std::vector<std::unique_ptr<Task>> d;
                d.push_back(std::make_unique<IkeDelete>(*services_));
                x.tasks->queue(ExchangeType::informational, std::move(d));
                x.tasks->initiate(now);
            }
        sa.replaces_ike = 0;
    }
    if (sa.initiator() && sa.tunnel && sa.tunnel->reauth_seconds && sa.tunnel->remote &&
        !sa.reauthenticating && !sa.delete_when_succeeded) {
        if (sa.reauth_at == TimePoint{})
            sa.reauth_at = sa.established_at + std::chrono::seconds(sa.tunnel->reauth_seconds);
        if (now >= sa.reauth_at) {
            sa.reauthenticating = true;
            reauth_due_.push_back(sa.our_spi());
        }
    }
    // A CHILD SA a rekey replaced waits for the DELETE its peer owes; one
    // that never comes would hold the SA (and keep IKE SA rekeys refused).
    for (auto& c : sa.children)
        if (c.superseded && c.superseded_at != TimePoint{} &&
            now - c.superseded_at >= std::chrono::seconds(60)) {
            c.superseded_at = TimePoint{};
            sa.to_delete.push_back(c.spi_in);
            services_->log(LogLevel::info, "tunnel " + sa.tunnel->name + ": CHILD SA " +
                                               esp::spi_text(c.spi_in) +
                                               " was rekeyed a minute ago and not deleted; deleting it");
        }
    if (!sa.to_delete.empty()) {
        std::vector<std::unique_ptr<Task>> t;
        t.push_back(std::make_unique<ChildDelete>(*services_, std::move(sa.to_delete)));
        sa.to_delete.clear();
        e.tasks->queue(ExchangeType::informational, std::move(t));
    }
    if (sa.tunnel && !sa.delete_when_succeeded &&
        (sa.tunnel->ike_rekey_seconds || sa.ike_rekey_at != TimePoint{})) {
        if (sa.ike_rekey_at == TimePoint{}) {
            // Up to 10 % earlier at random, like CHILD SAs.
            uint32_t r = 0;
            RAND_bytes(reinterpret_cast<uint8_t*>(&r), sizeof r);
            const uint64_t span_ms = uint64_t(sa.tunnel->ike_rekey_seconds) * 100;
            sa.ike_rekey_at = sa.established_at + std::chrono::seconds(sa.tunnel->ike_rekey_seconds) -
                              std::chrono::milliseconds(span_ms ? r % span_ms : 0);
        }
        const bool child_busy = std::any_of(sa.children.begin(), sa.children.end(),
                                            [](const ChildSa& c) { return c.rekeying; });
        if (!sa.ike_rekeying && !child_busy && now >= sa.ike_rekey_at) {
            sa.ike_rekeying = true;
            std::vector<std::unique_ptr<Task>> t;
            t.push_back(std::make_unique<IkeRekeyInitiator>(*services_));
            e.tasks->queue(ExchangeType::create_child_sa, std::move(t));
            services_->log(LogLevel::info, "tunnel " + sa.tunnel->name + ": rekeying IKE SA");
        }
    }
    // A rekey we answered holds its outbound SA back until the peer deletes
    // the old SA; inbound ESP on the new one shows the peer has it too, and
    // a peer that never deletes is not waited for beyond a few seconds.
    for (auto& c : sa.children)
        if (c.pending_out &&
            (now - c.established >= std::chrono::seconds(5) ||
             services_->kernel().usage(c.spi_in, esp::SaDirection::inbound).packets > 0))
            activate_outbound(*services_, sa, c);
    // The IKE SA's hard lifetime (RFC 7296 §2.8: the SA must not outlive
    // it): reached when neither side rekeyed or reauthenticated it in time.
    if (sa.tunnel && !sa.ike_expired && !sa.delete_when_succeeded) {
        const auto& t = *sa.tunnel;
        const unsigned life = t.ike_life_seconds
                                  ? t.ike_life_seconds
                                  : control::hard_lifetime_after(t.first_ike_replacement(sa.initiator()));
        if (life && now >= sa.established_at + std::chrono::seconds(life)) {
            sa.ike_expired = true;
            sa.failed = sa.closing = true;  // reported, not restarted
            sa.failure = "IKE SA reached its hard lifetime (" + std::to_string(life) +
                         " s) without being rekeyed";
            services_->log(LogLevel::warning, "tunnel " + t.name + ": " + sa.failure + "; deleting it");
            std::vector<std::unique_ptr<Task>> d;
            d.push_back(std::make_unique<IkeDelete>(*services_));
            e.tasks->queue(ExchangeType::informational, std::move(d));
            e.tasks->initiate(now);
            return;
        }
    }
    // Hard lifetimes: a CHILD SA still here then goes, rekeyed or not.
    std::vector<uint32_t> expired;
    for (auto& c : sa.children)
        if (c.expire_at != TimePoint{} && now >= c.expire_at && !c.superseded) {
            c.superseded = true;
            c.expire_at = TimePoint{};
            expired.push_back(c.spi_in);
            services_->log(LogLevel::warning, "tunnel " + sa.tunnel->name + ": CHILD SA " +
                                                  esp::spi_text(c.spi_in) +
                                                  " reached its hard lifetime; deleting it");
        }
    if (!expired.empty()) {
        std::vector<std::unique_ptr<Task>> t;
        t.push_back(std::make_unique<ChildDelete>(*services_, std::move(expired)));
        e.tasks->queue(ExchangeType::informational, std::move(t));
    }
    // One rekey at a time per IKE SA: CHILD SAs wait while the IKE SA moves.
    for (auto& c : sa.children) {
        if (sa.ike_rekeying || sa.delete_when_succeeded) break;
        if (c.rekeying || c.superseded || c.redundant) continue;
        // Soft limits by volume, from the data plane's counters of the
        // outbound SA (RFC 4301 §4.4.2.1).
        bool due = c.rekey_at != TimePoint{} && now >= c.rekey_at;
        if (!due && (sa.tunnel->rekey_bytes || sa.tunnel->rekey_packets)) {
            const auto u = services_->kernel().usage(c.spi_out, esp::SaDirection::outbound);
            due = (sa.tunnel->rekey_bytes && u.bytes >= sa.tunnel->rekey_bytes) ||
                  (sa.tunnel->rekey_packets && u.packets >= sa.tunnel->rekey_packets);
        }
        if (!due) continue;
        c.rekeying = true;
        std::vector<std::unique_ptr<Task>> t;
        t.push_back(ChildCreate::rekey(*services_, c.spi_in));
        e.tasks->queue(ExchangeType::create_child_sa, std::move(t));
        services_->log(LogLevel::info, "tunnel " + sa.tunnel->name + ": rekeying CHILD SA");
    }
    e.tasks->initiate(now);
}

void Engine::adopt(std::unique_ptr<IkeSa> sa) {
    Entry n;
    n.sa = std::move(sa);
    n.tasks = std::make_unique<TaskManager>(*n.sa, *services_, options_.retransmit,
                                            options_.fragment_ip_size);
    sas_.push_back(std::move(n));
}

std::optional<DecodeResult<Message>> Engine::reassemble(Entry& e, const IkeHeader& h,
                                                       ByteView datagram) {
    auto f = decode_fragment(datagram, *e.sa->inbound);
    if (!f) {
        if (f.error().kind == DecodeError::Kind::integrity) {
            ++counters_.dropped_malformed;  // §2.6: unauthenticated fragments are dropped quietly
            return std::nullopt;
        }
        return DecodeResult<Message>(control::unexpected(f.error()));
    }
    // A retransmitted request we answered: the answer again, once per copy.
    if (!h.response()) {
        if (f->number == 1 && e.tasks->answer_retransmission(h.message_id)) return std::nullopt;
        if (h.message_id != e.sa->next_peer_id) return std::nullopt;
    }
    auto& r = e.sa->reassembly[h.response() ? 1 : 0];
    if (!r.active || r.id != h.message_id || r.total != f->total) {
        r = {};
        r.active = true;
        r.id = h.message_id;
        r.total = f->total;
        r.parts.resize(f->total);
    }
    auto& part = r.parts[f->number - 1];
    if (part) return std::nullopt;  // a duplicate
    r.bytes += f->plaintext.size();
    if (r.bytes > kMaxMessageSize) {
        r = {};
        ++counters_.dropped_malformed;
        return std::nullopt;
    }
    if (f->number == 1) r.first_inner = f->first_inner;
    part = std::move(f->plaintext);
    for (const auto& p : r.parts)
        if (!p) return std::nullopt;
    Bytes whole;
    whole.reserve(r.bytes);
    for (const auto& p : r.parts) whole.insert(whole.end(), p->begin(), p->end());
    const PayloadType first = r.first_inner;
    r = {};
    return decode_reassembled(h, first, whole);
}

// RFC 7296 §2.4: after `dpd` seconds without a message or ESP from the
// peer, an empty INFORMATIONAL request; its retransmissions going
// unanswered fail the IKE SA (the tunnel's dpd_action then applies).
void Engine::dead_peer_detection(Entry& e, TimePoint now) {
    IkeSa& sa = *e.sa;
    if (sa.state != IkeSaState::established || !sa.tunnel || sa.tunnel->dpd_seconds == 0) return;
    uint64_t packets = 0;
    for (const auto& c : sa.children)
        packets += services_->kernel().usage(c.spi_in, esp::SaDirection::inbound).packets;
    if (packets != sa.inbound_packets) {
        sa.inbound_packets = packets;
        sa.last_activity = now;
    }
    if (sa.dpd_pending) {
        if (e.tasks->idle()) sa.dpd_pending = false;
        return;
    }
    if (!e.tasks->idle() || now - sa.last_activity < std::chrono::seconds(sa.tunnel->dpd_seconds))
        return;
    std::vector<std::unique_ptr<Task>> t;
    t.push_back(std::make_unique<IkeDpd>());
    e.tasks->queue(ExchangeType::informational, std::move(t));
    sa.dpd_pending = true;
    services_->log(LogLevel::debug, "liveness check of " + sa.remote.to_string());
}

std::size_t Engine::half_open(const esp::IpAddress* from) const {
    std::size_t n = 0;
    for (const auto& e : sas_)
        n += !e.sa->initiator() && e.sa->state == IkeSaState::connecting &&
             (!from || e.sa->remote.addr == *from);
    return n;
}

Bytes Engine::cookie_for(uint32_t version, ByteView nonce, const Endpoint& remote, uint64_t spi_i) {
    // §2.6: Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>),
    // here HMAC-SHA-256 keyed with the secret.
    const auto& secret = version == cookie_version_ ? cookie_secret_ : cookie_previous_;
    Bytes in(nonce.begin(), nonce.end());
    in.insert(in.end(), remote.addr.bytes.begin(), remote.addr.bytes.begin() + remote.addr.length());
    for (int sh = 56; sh >= 0; sh -= 8) in.push_back(uint8_t(spi_i >> sh));
    Bytes out = {uint8_t(version >> 24), uint8_t(version >> 16), uint8_t(version >> 8), uint8_t(version)};
    auto mac = cookie_prf_->compute(secret.view(), in);
    out.insert(out.end(), mac.view().begin(), mac.view().end());
    return out;
}

// DoS protection for a new IKE_SA_INIT (RFC 7296 §2.6): a cap on half-open
// SAs per source address, and above a total of half-open SAs a stateless
// COOKIE the initiator must send back. True when state may be created.
bool Engine::admit(const Endpoint& local, const Endpoint& remote, const IkeHeader& h,
                   ByteView datagram, TimePoint now) {
    if (half_open(&remote.addr) >= options_.half_open_per_source) {
        ++counters_.dropped_half_open_cap;
        return false;
    }
    if (half_open(nullptr) < options_.cookie_threshold) return true;
    if (!cookie_prf_ || now - cookie_rotated_ >= std::chrono::seconds(120)) {
        // A new secret every two minutes; cookies of the previous one still pass.
        if (!cookie_prf_) cookie_prf_ = Prf::create(prf::hmac_sha2_256);
        cookie_previous_ = std::move(cookie_secret_);
        cookie_secret_ = SecretVector(32);
        RAND_bytes(cookie_secret_.data(), 32);
        ++cookie_version_;
        cookie_rotated_ = now;
    }
    auto m = decode(datagram, nullptr);
    if (!m) {
        ++counters_.dropped_malformed;
        return false;
    }
    const auto* ni = m.value().find<NoncePayload>();
    if (!ni) {
        ++counters_.dropped_malformed;
        return false;
    }
    const auto& first = m.value().payloads.front();
    if (const auto* n = std::get_if<NotifyPayload>(&first.body);
        n && n->type == uint16_t(NotifyType::cookie) && n->data.size() > 4) {
        const uint32_t v = (uint32_t(n->data[0]) << 24) | (uint32_t(n->data[1]) << 16) |
                           (uint32_t(n->data[2]) << 8) | n->data[3];
        if ((v == cookie_version_ || v + 1 == cookie_version_) &&
            cookie_for(v, ni->data, remote, h.spi_i) == n->data)
            return true;
    }
    // No state: the answer is the COOKIE alone, from the request's header.
    Message r;
    r.header = h;
    r.header.flags = kFlagResponse;
    r.header.spi_r = 0;
    add_notify(r, NotifyType::cookie, cookie_for(cookie_version_, ni->data, remote, h.spi_i));
    if (Bytes b = encode(r); !b.empty()) {
        ++counters_.cookies_sent;
        services_->send(local, remote, b);
    }
    return false;
}

void Engine::tick(TimePoint now) {
    for (auto& e : sas_) {
        // A responder's IKE SA that never completes IKE_AUTH holds state a
        // peer (or a spoofer) made us create: it goes after a while.
        if (!e.sa->initiator() && e.sa->state == IkeSaState::connecting &&
            now - e.sa->created > options_.half_open_timeout) {
            services_->log(LogLevel::info, "half-open IKE SA from " + e.sa->remote.to_string() +
                                               " timed out before IKE_AUTH");
            e.sa->state = IkeSaState::dead;
            continue;
        }
        if (e.sa->state == IkeSaState::rekeyed && e.sa->retire_at != TimePoint{} &&
            now >= e.sa->retire_at) {
            services_->log(LogLevel::info, "rekeyed IKE SA with " + e.sa->remote.to_string() +
                                               ": no DELETE came; removed");
            e.sa->state = IkeSaState::dead;
            continue;
        }
        dead_peer_detection(e, now);
        keepalive(e, now);
        schedule(e, now);
        e.tasks->tick(now);
    }
    for (auto& e : sas_) e.tasks->initiate(now);
    start_reauths(now);
    reap(now);
}

std::optional<TimePoint> Engine::next_deadline() const {
    std::optional<TimePoint> d;
    const auto earlier = [&](TimePoint x) {
        if (!d || x < *d) d = x;
    };
    for (const auto& e : sas_) {
        if (auto x = e.tasks->deadline()) earlier(*x);
        if (!e.sa->initiator() && e.sa->state == IkeSaState::connecting)
            earlier(e.sa->created + options_.half_open_timeout);
        if (e.sa->state == IkeSaState::rekeyed && e.sa->retire_at != TimePoint{})
            earlier(e.sa->retire_at);
    }
    return d;
}

void Engine::reap(TimePoint now) {
    take_successors(now);  // a successor a task handed over leaves with its owner otherwise
    std::vector<std::string> restart, retrap;
    for (auto& e : sas_) {
        if (e.sa->state != IkeSaState::dead) continue;
        uninstall_children(*services_, *e.sa);
        if (e.sa->replaces_ike)
            for (auto& x : sas_)
                if (x.sa->our_spi() == e.sa->replaces_ike) {
                    x.sa->reauthenticating = false;  // the old SA carries on, tries later
                    x.sa->reauth_at = now + std::chrono::seconds(30);
                }
        const auto* t = e.sa->tunnel;
        if (!t || find_tunnel(t->name) != t || !e.sa->failed) continue;
        last_error_[t->name] = e.sa->failure;
        // A failed attempt (refused, or no answer) holds acquires for a while;
        // a lost established peer does not: the next attempt's own
        // retransmissions pace it.
        if (e.sa->established_at == TimePoint{}) last_failure_[t->name] = now;
        // A tunnel that was up and lost its peer comes back if configured
        // so: at once, or with its next packet. Not when it was closed on
        // purpose, and not while another IKE SA of it stands (a rekey's).
        if (!e.sa->peer_lost || e.sa->closing || e.sa->established_at == TimePoint{} || !t->remote)
            continue;
        if (t->dpd_action == control::DpdAction::restart) restart.push_back(t->name);
        if (t->dpd_action == control::DpdAction::trap) retrap.push_back(t->name);
    }
    sas_.erase(std::remove_if(sas_.begin(), sas_.end(),
                              [](const Entry& e) { return e.sa->state == IkeSaState::dead; }),
               sas_.end());
    for (const auto& name : retrap)
        if (const auto* t = find_tunnel(name); t && !sa_of_tunnel(t)) trap(*t);
    for (const auto& name : restart) {
        const auto* t = find_tunnel(name);
        if (!t || sa_of_tunnel(t)) continue;
        services_->log(LogLevel::info, "tunnel " + name + ": dpd_action restart: initiating again");
        up(name, now);
    }
}

std::vector<TunnelReport> Engine::tunnels() const {
    std::vector<TunnelReport> out;
    for (const auto& t : tunnels_) {
        TunnelReport r;
        r.config = t.get();
        for (const auto& e : sas_)
            if (e.sa->tunnel == t.get() && (e.sa->initiator() || e.sa->state != IkeSaState::connecting) &&
                !(r.ike_sa && r.ike_sa->state == IkeSaState::established &&
                  e.sa->state != IkeSaState::established))
                r.ike_sa = e.sa.get();
        if (r.ike_sa) {
            switch (r.ike_sa->state) {
            case IkeSaState::connecting: r.state = TunnelState::connecting; break;
            case IkeSaState::established: r.state = TunnelState::established; break;
            case IkeSaState::rekeyed:
            case IkeSaState::deleting: r.state = TunnelState::deleting; break;
            case IkeSaState::dead: r.state = TunnelState::down; break;
            }
            r.last_error = r.ike_sa->failure;
        } else if (auto it = last_error_.find(t->name); it != last_error_.end()) {
            r.state = TunnelState::failed;
            r.last_error = it->second;
        }
        out.push_back(r);
    }
    return out;
}

std::vector<const IkeSa*> Engine::ike_sas() const {
    std::vector<const IkeSa*> out;
    for (const auto& e : sas_) out.push_back(e.sa.get());
    return out;
}

}  // namespace xdpsec::ike
