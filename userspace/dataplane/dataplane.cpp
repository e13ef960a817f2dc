#include "dataplane/dataplane.h"

#include "esp/esp_engine.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace xdpsec::dataplane {

namespace {

xdpsec_alg abi_alg(const esp::Algorithm& a) {
    using esp::Cipher;
    using esp::Integrity;
    switch (a.cipher) {
    case Cipher::aes_gcm_128: return XDPSEC_ALG_AES128GCM16;
    case Cipher::aes_gcm_256: return XDPSEC_ALG_AES256GCM16;
    case Cipher::chacha20_poly1305: return XDPSEC_ALG_CHACHA20POLY1305;
    case Cipher::aes_gmac_128: return XDPSEC_ALG_AES128GMAC;
    case Cipher::aes_gmac_256: return XDPSEC_ALG_AES256GMAC;
    case Cipher::aes_cbc_128:
    case Cipher::aes_cbc_256: {
        const bool big = a.cipher == Cipher::aes_cbc_256;
        switch (a.integrity) {
        case Integrity::hmac_sha1_96: return big ? XDPSEC_ALG_AES256_SHA1 : XDPSEC_ALG_AES128_SHA1;
        case Integrity::hmac_sha384_192: return big ? XDPSEC_ALG_AES256_SHA384 : XDPSEC_ALG_AES128_SHA384;
        case Integrity::hmac_sha512_256: return big ? XDPSEC_ALG_AES256_SHA512 : XDPSEC_ALG_AES128_SHA512;
        case Integrity::hmac_sha256_128:
        case Integrity::none: break;
        }
        return big ? XDPSEC_ALG_AES256_SHA256 : XDPSEC_ALG_AES128_SHA256;
    }
    }
    return XDPSEC_ALG_AES128GCM16;
}

xdpsec_selector abi_selector(const std::vector<esp::IpPrefix>& ts) {
    xdpsec_selector s{};
    if (ts.empty()) return s;
    std::memcpy(s.addr, ts[0].addr.bytes.data(), 16);
    s.family = ts[0].addr.family;
    s.prefixlen = ts[0].len;
    s.port_hi = 65535;
    return s;
}

// Most bytes an SA adds to any packet: padding depends on the length modulo
// the block size, so one block's worth of lengths covers every case.
uint32_t worst_overhead(const esp::SaConfig& c) {
    uint32_t worst = 0;
    for (uint32_t len = 64; len < 64 + c.algorithm.block_len(); ++len)
        worst = std::max(worst, esp::esp_overhead(c, len));
    return worst;
}

}  // namespace

std::unique_ptr<Dataplane> Dataplane::create(const DataplaneOptions& o, std::string* error) {
    auto fail = [&](const std::string& why) -> std::unique_ptr<Dataplane> {
        if (error) *error = why;
        return nullptr;
    };
    if (o.workers != 1)
        return fail("workers = " + std::to_string(o.workers) +
                    ": only 1 is supported yet (an outbound SA's sequence numbers live in one worker)");
    const std::string peer = o.tunnel_if + "p";
    if (o.tunnel_if.empty() || peer.size() >= IFNAMSIZ)
        return fail("tunnel_if '" + o.tunnel_if + "' must be 1 to " + std::to_string(IFNAMSIZ - 2) +
                    " characters");
    std::unique_ptr<Dataplane> d(new Dataplane());
    d->options_ = o;
    d->uplink_ifindex_ = interface_index(o.uplink);
    if (!d->uplink_ifindex_) return fail("uplink " + o.uplink + ": no such interface");
    d->uplink_mtu_ = interface_mtu(o.uplink);
    if (interface_index(o.tunnel_if))
        return fail("tunnel device " + o.tunnel_if +
                    " already exists: another xdpsecd is running, or a crashed one left it "
                    "(ip link del " + o.tunnel_if + ")");
    std::string err;
    d->netlink_ = Netlink::open(&err);
    if (!d->netlink_) return fail(err);
    if (auto s = d->netlink_->create_veth(o.tunnel_if, peer); !s) return fail(s.message());
    d->created_tunnel_ = true;
    d->tunnel_ifindex_ = interface_index(o.tunnel_if);
    d->peer_ifindex_ = interface_index(peer);
    if (auto s = set_offloads(o.tunnel_if, true); !s) return fail(s.message());
    if (auto s = set_offloads(peer, false); !s) return fail(s.message());
    for (int idx : {d->tunnel_ifindex_, d->peer_ifindex_}) {
        if (auto s = d->netlink_->set_flags(idx, IFF_UP | IFF_NOARP); !s)
            return fail("bringing up the tunnel device: " + s.message());
    }

    LoaderOptions lo;
    lo.pin_dir = o.pin_dir;
    lo.uplink_ifindex = d->uplink_ifindex_;
    lo.tunnel_ifindex = d->peer_ifindex_;
    lo.mode = o.mode;
    d->programs_ = XdpPrograms::attach(lo, &err);
    if (!d->programs_) return fail(err);
    d->notes_ = d->programs_->notes();
    d->slots_ = std::make_unique<std::array<SaSlot, XDPSEC_MAX_SAS>>();
    return d;
}

Dataplane::~Dataplane() {
    for (auto& w : workers_) w->stop();
    workers_.clear();
    programs_.reset();
    if (created_tunnel_ && netlink_) (void)netlink_->delete_link(options_.tunnel_if);
}

Status Dataplane::add_policy(const char* map, const esp::IpPrefix& dst, const esp::IpPrefix& src, uint32_t slot) {
    const int fd = programs_->map_fd(map);
    xdpsec_spd_key key{};
    key.prefixlen = 8u + dst.len;
    key.family = dst.addr.family;
    std::memcpy(key.addr, dst.addr.bytes.data(), 16);
    xdpsec_spd_bucket bucket{};
    if (bpf_map_lookup_elem(fd, &key, &bucket) != 0) bucket = {};
    if (bucket.count >= XDPSEC_BUCKET_POLICIES)
        return Status::error("more than " + std::to_string(XDPSEC_BUCKET_POLICIES) +
                             " policies for destination " + dst.to_string());
    xdpsec_policy& p = bucket.policies[bucket.count++];
    p = {};
    std::memcpy(p.src.addr, src.addr.bytes.data(), 16);
    p.src.family = src.addr.family;
    p.src.prefixlen = src.len;
    p.src.port_hi = 65535;
    p.action = XDPSEC_POLICY_PROTECT;
    p.sa_slot = slot;
    p.policy_id = next_policy_id_++;
    p.dport_hi = 65535;
    // Most specific source first: the XDP program takes the first match.
    std::stable_sort(bucket.policies, bucket.policies + bucket.count,
                     [](const xdpsec_policy& a, const xdpsec_policy& b) {
                         return a.src.prefixlen > b.src.prefixlen;
                     });
    if (bpf_map_update_elem(fd, &key, &bucket, BPF_ANY) != 0)
        return Status::error(errno_text(std::string("installing policy in ") + map, errno));
    return {};
}

Status Dataplane::add_sa(SaSpec spec) {
    if (!workers_.empty()) return Status::error("SAs can only be added before the workers start");
    if (sas_.size() >= XDPSEC_MAX_SAS) return Status::error("SA table full");
    const auto& c = spec.config;
    std::string err;
    auto sa = esp::Sa::create(c, &err);
    if (!sa) return Status::error("SA " + spec.name + ": " + err);
    const uint32_t slot = static_cast<uint32_t>(sas_.size());

    xdpsec_sa& e = programs_->sa_table()[slot];
    e = {};
    e.spi = c.spi;
    e.state = XDPSEC_SA_STATE_ACTIVE;
    e.direction = c.direction == esp::SaDirection::inbound ? XDPSEC_DIR_IN : XDPSEC_DIR_OUT;
    e.mode = c.mode == esp::Mode::tunnel ? XDPSEC_MODE_TUNNEL : XDPSEC_MODE_TRANSPORT;
    e.alg = abi_alg(c.algorithm);
    e.flags = (c.esn ? XDPSEC_SA_F_ESN : 0u) | (c.udp_encap ? XDPSEC_SA_F_UDP_ENCAP : 0u);
    e.replay_window = c.direction == esp::SaDirection::inbound ? c.replay_window : 0;
    if (c.udp_encap) {
        e.encap_local_port = c.udp_encap->local_port;
        e.encap_remote_port = c.udp_encap->remote_port;
    }
    e.family = c.local.family;
    std::memcpy(e.local, c.local.bytes.data(), 16);
    std::memcpy(e.remote, c.remote.bytes.data(), 16);
    e.local_ts = abi_selector(spec.local_ts);
    e.remote_ts = abi_selector(spec.remote_ts);
    e.soft_bytes = c.lifetime.soft_bytes;
    e.hard_bytes = c.lifetime.hard_bytes;
    e.soft_packets = c.lifetime.soft_packets;
    e.hard_packets = c.lifetime.hard_packets;

    SaSlot& s = (*slots_)[slot];
    s.local_ts = spec.local_ts;
    s.remote_ts = spec.remote_ts;

    Installed inst{spec.name, slot, std::move(sa), spec.local_ts, spec.remote_ts, std::nullopt};
    if (c.direction == esp::SaDirection::inbound) {
        xdpsec_sad_key key{};
        key.spi = htonl(c.spi);
        key.family = c.local.family;
        std::memcpy(key.daddr, c.local.bytes.data(), 16);
        if (bpf_map_update_elem(programs_->map_fd(XDPSEC_MAP_SAD_NAME), &key, &slot, BPF_NOEXIST) != 0)
            return Status::error(errno_text("SA " + spec.name + ": SAD entry for SPI", errno));
        for (const auto& dst : spec.local_ts)
            for (const auto& src : spec.remote_ts)
                if (auto st = add_policy(XDPSEC_MAP_SPD_IN_NAME, dst, src, slot); !st) return st;
    } else {
        // Resolve the next hop before routing the selectors into the tunnel:
        // in transport mode the peer itself becomes one of them.
        resolve(inst);
        for (const auto& dst : spec.remote_ts) {
            for (const auto& src : spec.local_ts)
                if (auto st = add_policy(XDPSEC_MAP_SPD_OUT_NAME, dst, src, slot); !st) return st;
            if (auto st = netlink_->add_route(dst.addr, dst.len, tunnel_ifindex_); !st) return st;
        }
    }
    s.sa.store(inst.sa.get(), std::memory_order_release);
    sas_.push_back(std::move(inst));
    return {};
}

void Dataplane::resolve(Installed& s) {
    const auto& c = s.sa->config();
    if (!s.next_hop) {
        std::string err;
        s.next_hop = netlink_->route_to(c.remote, uplink_ifindex_, &err);
        if (!s.next_hop) {
            notes_.push_back("SA " + s.name + ": " + err);
            return;
        }
    }
    auto mac = netlink_->neighbour(uplink_ifindex_, s.next_hop->gateway);
    if (!mac) {
        (void)netlink_->probe_neighbour(uplink_ifindex_, s.next_hop->gateway);
        return;
    }
    (*slots_)[s.slot].next_hop.store(pack_mac(*mac), std::memory_order_relaxed);
}

Status Dataplane::start() {
    uint32_t overhead = 0;
    for (const auto& s : sas_) overhead = std::max(overhead, worst_overhead(s.sa->config()));
    if (!overhead) overhead = 128;  // no SA yet: room for the largest transform
    tunnel_mtu_ = uplink_mtu_ > overhead + 576 ? uplink_mtu_ - overhead : 576;
    if (auto st = netlink_->set_mtu(tunnel_ifindex_, tunnel_mtu_); !st) return st;
    if (auto st = netlink_->set_mtu(peer_ifindex_, tunnel_mtu_); !st) return st;

    WorkerConfig wc;
    wc.queue = 0;
    wc.uplink = options_.uplink;
    wc.tunnel_peer = options_.tunnel_if + "p";
    auto up_mac = interface_mac(options_.uplink);
    auto host_mac = interface_mac(options_.tunnel_if);
    auto peer_mac = interface_mac(wc.tunnel_peer);
    if (!up_mac || !host_mac || !peer_mac) return Status::error("reading interface MAC addresses");
    wc.uplink_mac = *up_mac;
    wc.tunnel_host_mac = *host_mac;
    wc.tunnel_peer_mac = *peer_mac;
    wc.uplink_mtu = uplink_mtu_;
    wc.busy_poll = options_.busy_poll;
    std::string err;
    auto w = Worker::create(wc, programs_->map_fd(XDPSEC_MAP_XSKS_UP_NAME),
                            programs_->map_fd(XDPSEC_MAP_XSKS_TUN_NAME), slots_->data(),
                            programs_->sa_table(), &err);
    if (!w) return Status::error(err);
    w->start();
    workers_.push_back(std::move(w));

    // Give ARP/ND a moment so that the first packets find their next hop;
    // maintain() keeps trying afterwards for those still unresolved.
    for (int i = 0; i < 20 && !all_resolved(); ++i) {
        ::usleep(100 * 1000);
        maintain();
    }
    for (const auto& s : sas_)
        if (s.sa->config().direction == esp::SaDirection::outbound && !(*slots_)[s.slot].next_hop.load())
            notes_.push_back("SA " + s.name + ": next hop " +
                             (s.next_hop ? s.next_hop->gateway.to_string() : s.sa->config().remote.to_string()) +
                             " not resolved yet; still trying");
    return {};
}

bool Dataplane::all_resolved() const {
    for (const auto& s : sas_)
        if (s.sa->config().direction == esp::SaDirection::outbound && !(*slots_)[s.slot].next_hop.load())
            return false;
    return true;
}

void Dataplane::maintain() {
    for (auto& s : sas_)
        if (s.sa->config().direction == esp::SaDirection::outbound) resolve(s);
}

std::vector<SaReport> Dataplane::sa_report() const {
    std::vector<SaReport> out;
    for (const auto& s : sas_) {
        SaReport r;
        r.name = s.name;
        r.slot = s.slot;
        r.config = &s.sa->config();
        r.local_ts = s.local_ts;
        r.remote_ts = s.remote_ts;
        xdpsec_sa& e = programs_->sa_table()[s.slot];
        r.live = e;  // identity fields never change after add_sa
        auto get = [](__u64& f) { return std::atomic_ref<__u64>(f).load(std::memory_order_relaxed); };
        r.live.seq = get(e.seq);
        r.live.replay_bottom = get(e.replay_bottom);
        r.live.packets = get(e.packets);
        r.live.bytes = get(e.bytes);
        for (std::size_t i = 0; i < XDPSEC_SA_DROP_SLOTS; ++i) r.live.drops[i] = get(e.drops[i]);
        if (r.config->direction == esp::SaDirection::outbound) {
            const uint64_t nh = (*slots_)[s.slot].next_hop.load(std::memory_order_relaxed);
            r.next_hop = nh ? mac_to_string(unpack_mac(nh)) : "unresolved";
        }
        out.push_back(std::move(r));
    }
    return out;
}

std::array<xdpsec_counter, XDPSEC_REASON_COUNT> Dataplane::verdicts() const {
    std::array<xdpsec_counter, XDPSEC_REASON_COUNT> sum{};
    const int fd = programs_->map_fd(XDPSEC_MAP_VERDICTS_NAME);
    const int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return sum;
    std::vector<xdpsec_counter> per_cpu(static_cast<std::size_t>(ncpu));
    for (uint32_t k = 0; k < XDPSEC_REASON_COUNT; ++k) {
        if (bpf_map_lookup_elem(fd, &k, per_cpu.data()) != 0) continue;
        for (const auto& c : per_cpu) {
            sum[k].packets += c.packets;
            sum[k].bytes += c.bytes;
        }
    }
    return sum;
}

}  // namespace xdpsec::dataplane
