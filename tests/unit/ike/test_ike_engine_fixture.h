// The in-process network of two IKE engines that the engine tests share
// (STYLE.md: strongSwan's two peers over a mock sender): a wire both engines
// send into, a data plane that records what is installed, and helpers to set
// up a tunnel between them and check what they agreed on.
#pragma once

#include "control/config.h"
#include "ike/engine.h"

#include <doctest/doctest.h>

#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace ike_engine_test {

using namespace xdpsec;
using namespace xdpsec::ike;

struct Packet {
    Endpoint from, to;
    Bytes data;
};

class RecordingKernel final : public KernelIpsec {
public:
    std::string add_sa(const ChildSaInstall& sa) override {
        sas[{sa.config.spi, sa.config.direction}] = sa;
        ++adds;
        return {};
    }
    void del_sa(uint32_t spi, esp::SaDirection dir) override { sas.erase({spi, dir}); }
    Usage usage(uint32_t spi, esp::SaDirection dir) const override {
        return {packets, 0, sas.count({spi, dir}) != 0};
    }
    std::string add_trap(const TrapInstall& trap) override {
        traps[trap.name] = trap;
        return {};
    }
    void del_trap(const std::string& name) override { traps.erase(name); }
    uint64_t packets = 0;  // what every SA reports having carried
    std::map<std::pair<uint32_t, esp::SaDirection>, ChildSaInstall> sas;
    std::map<std::string, TrapInstall> traps;
    int adds = 0;
};

class Peer final : public IkeServices {
public:
    explicit Peer(std::deque<Packet>& wire) : wire_(wire) {}
    KernelIpsec& kernel() override { return kernel_; }
    void send(const Endpoint& local, const Endpoint& remote, ByteView d) override {
        wire_.push_back({local, remote, Bytes(d.begin(), d.end())});
    }
    uint32_t new_child_spi() override { return 0; }  // the engine's own allocators are used
    uint64_t new_ike_spi() override { return 0; }
    void send_keepalive(const Endpoint& local, const Endpoint& remote) override {
        keepalives.push_back({local, remote, {}});
    }
    std::vector<Packet> keepalives;
    void log(LogLevel, std::string_view text) override { logs.emplace_back(text); }
    std::size_t path_mtu(const Endpoint&, const Endpoint&) override { return mtu; }
    std::size_t mtu = 0;  // path_mtu's answer: 0 = unknown
    bool logged(std::string_view what) const {
        for (const auto& l : logs)
            if (l.find(what) != std::string::npos) return true;
        return false;
    }
    RecordingKernel kernel_;
    std::vector<std::string> logs;

private:
    std::deque<Packet>& wire_;
};

inline control::TunnelConfig tunnel(const std::string& name, const std::string& local,
                                    const std::string& remote, const std::string& lts,
                                    const std::string& rts, const std::string& ike,
                                    const std::string& esp, const std::string& psk,
                                    const std::string& extra_mode = "tunnel") {
    control::TunnelOptions o = {{"local", local},     {"remote", remote}, {"local_ts", lts},
                                {"remote_ts", rts},   {"auth", "psk"},    {"psk", psk},
                                {"ike", ike},         {"esp", esp},       {"mode", extra_mode}};
    auto r = control::parse_tunnel_options(name, o);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : control::format_errors(r.error())));
    return std::move(r).value();
}

struct Bed {
    explicit Bed(EngineOptions o = {}) : ea(a, o), eb(b, o) {}
    std::deque<Packet> wire;
    Peer a{wire}, b{wire};
    Engine ea, eb;
    TimePoint now = Clock::now();
    int delivered = 0;

    // Delivers packets until the wire is empty; `drop` may eat some.
    template <class Drop>
    void run(Drop drop, int limit = 100) {
        while (!wire.empty() && limit-- > 0) {
            Packet p = std::move(wire.front());
            wire.pop_front();
            if (drop(p)) continue;
            deliver(p);
        }
    }
    // One packet to the engine it is addressed to.
    void deliver(const Packet& p) {
        ++delivered;
        Engine& to = p.to.addr == *esp::IpAddress::parse("192.0.2.1") ? ea : eb;
        to.receive(p.to, p.from, p.data, now);
    }
    void run() {
        run([](const Packet&) { return false; });
    }
};

inline TunnelState state_of(const Engine& e, const std::string& name) {
    for (const auto& t : e.tunnels())
        if (t.config->name == name) return t.state;
    return TunnelState::down;
}

inline std::string error_of(const Engine& e, const std::string& name) {
    for (const auto& t : e.tunnels())
        if (t.config->name == name) return t.last_error;
    return {};
}

inline void add_pair(Bed& bed, const std::string& ike_a = "aes128-sha256-x25519",
                     const std::string& ike_b = "aes128-sha256-x25519",
                     const std::string& esp_a = "aes128gcm16",
                     const std::string& esp_b = "aes128gcm16",
                     const std::string& psk_b = "secret one", const std::string& mode = "tunnel") {
    const bool transport = mode == "transport";
    REQUIRE(bed.ea.add_tunnel(tunnel("t", "192.0.2.1", "192.0.2.2",
                                     transport ? "192.0.2.1/32" : "10.1.0.0/24",
                                     transport ? "192.0.2.2/32" : "10.2.0.0/24", ike_a, esp_a,
                                     "secret one", mode))
                .empty());
    REQUIRE(bed.eb.add_tunnel(tunnel("t", "192.0.2.2", "192.0.2.1",
                                     transport ? "192.0.2.2/32" : "10.2.0.0/24",
                                     transport ? "192.0.2.1/32" : "10.1.0.0/24", ike_b, esp_b,
                                     psk_b, mode))
                .empty());
}

// Both directions of the CHILD SA agree: A's outbound is B's inbound with
// the same keys, and the selectors mirror each other.
// The usual pair, A 192.0.2.1 (10.1.0.0/24) and B 192.0.2.2 (10.2.0.0/24)
// with one PSK; `tweak(a, b)` adjusts both configurations before they are
// added. A initiates; both end up established.
template <class Tweak>
void establish(Bed& bed, Tweak&& tweak, const std::string& esp = "aes128gcm16") {
    auto a = tunnel("t", "192.0.2.1", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24",
                    "aes128-sha256-x25519", esp, "k");
    auto b = tunnel("t", "192.0.2.2", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24",
                    "aes128-sha256-x25519", esp, "k");
    tweak(a, b);
    REQUIRE(bed.ea.add_tunnel(a).empty());
    REQUIRE(bed.eb.add_tunnel(b).empty());
    bed.ea.up("t", bed.now);
    bed.run();
    REQUIRE(state_of(bed.ea, "t") == TunnelState::established);
    REQUIRE(state_of(bed.eb, "t") == TunnelState::established);
}

inline void check_child_pair(Bed& bed) {
    REQUIRE(bed.a.kernel_.sas.size() == 2);
    REQUIRE(bed.b.kernel_.sas.size() == 2);
    for (auto& [key, sa] : bed.a.kernel_.sas) {
        const auto other_dir = key.second == esp::SaDirection::inbound ? esp::SaDirection::outbound
                                                                         : esp::SaDirection::inbound;
        auto it = bed.b.kernel_.sas.find({key.first, other_dir});
        REQUIRE(it != bed.b.kernel_.sas.end());
        const auto& o = it->second;
        CHECK(sa.config.algorithm == o.config.algorithm);
        CHECK(std::equal(sa.config.enc_key.view().begin(), sa.config.enc_key.view().end(),
                         o.config.enc_key.view().begin(), o.config.enc_key.view().end()));
        CHECK(std::equal(sa.config.integ_key.view().begin(), sa.config.integ_key.view().end(),
                         o.config.integ_key.view().begin(), o.config.integ_key.view().end()));
        CHECK(sa.config.local == o.config.remote);
        CHECK(sa.local_ts == o.remote_ts);
        CHECK(sa.remote_ts == o.local_ts);
        CHECK(sa.config.mode == o.config.mode);
        CHECK(sa.config.esn == o.config.esn);
    }
}

// The SPIs a peer has in its data plane, either direction.
inline std::set<uint32_t> spis(const Peer& p) {
    std::set<uint32_t> s;
    for (const auto& [k, sa] : p.kernel_.sas) s.insert(k.first);
    return s;
}

}  // namespace ike_engine_test
