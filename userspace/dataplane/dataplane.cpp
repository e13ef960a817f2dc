#include "dataplane/dataplane.h"

#include "esp/esp_engine.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <tuple>
#include <utility>
#include <cerrno>
#include <cstdio>
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

// The most any SA the ESP engine can run adds: every transform, in tunnel
// mode, in UDP (RFC 3948) with an IPv6 outer header. Cipher::aes_cbc_256
// and Integrity::hmac_sha512_256 are the last enumerators.
uint32_t worst_overhead_any() {
    esp::SaConfig c;
    c.mode = esp::Mode::tunnel;
    c.local.family = 6;
    c.udp_encap = esp::UdpEncap{};
    uint32_t worst = 0;
    for (int ci = 0; ci <= static_cast<int>(esp::Cipher::aes_cbc_256); ++ci) {
        c.algorithm.cipher = static_cast<esp::Cipher>(ci);
        for (int ii = 0; ii <= static_cast<int>(esp::Integrity::hmac_sha512_256); ++ii) {
            c.algorithm.integrity = static_cast<esp::Integrity>(ii);
            if (c.algorithm.is_aead() != (c.algorithm.integrity == esp::Integrity::none)) continue;
            worst = std::max(worst, worst_overhead(c));
        }
    }
    return worst;
}

// a covers b: every address of b lies in a.
bool covers(const esp::IpPrefix& a, const esp::IpPrefix& b) {
    return a.len <= b.len && a.contains(b.addr.family, b.addr.bytes.data());
}

const char* spd_map(esp::SaDirection d) {
    return d == esp::SaDirection::inbound ? XDPSEC_MAP_SPD_IN_NAME : XDPSEC_MAP_SPD_OUT_NAME;
}

xdpsec_spd_key spd_key(const esp::IpPrefix& dst) {
    xdpsec_spd_key key{};
    key.prefixlen = 8u + dst.len;
    key.family = dst.addr.family;
    std::memcpy(key.addr, dst.addr.bytes.data(), 16);
    return key;
}

xdpsec_sad_key sad_key(const esp::SaConfig& c) {
    xdpsec_sad_key key{};
    key.spi = htonl(c.spi);
    key.family = c.local.family;
    std::memcpy(key.daddr, c.local.bytes.data(), 16);
    return key;
}

// Everything but the live fields and the state, which add_sa stores last.
void fill_entry(xdpsec_sa& e, const esp::SaConfig& c, const std::vector<esp::IpPrefix>& local_ts,
                const std::vector<esp::IpPrefix>& remote_ts) {
    e = {};
    e.spi = c.spi;
    e.state = XDPSEC_SA_STATE_FREE;
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
    e.local_ts = abi_selector(local_ts);
    e.remote_ts = abi_selector(remote_ts);
    e.soft_bytes = c.lifetime.soft_bytes;
    e.hard_bytes = c.lifetime.hard_bytes;
    e.soft_packets = c.lifetime.soft_packets;
    e.hard_packets = c.lifetime.hard_packets;
}

void set_state(xdpsec_sa& e, xdpsec_sa_state state) {
    std::atomic_ref<xdpsec_sa_state>(e.state).store(state, std::memory_order_release);
}

uint64_t live(__u64& field) { return std::atomic_ref<__u64>(field).load(std::memory_order_relaxed); }

// Bounds remove_sa's wait for the workers: they go round their poll loop at
// least every 50 ms (Worker::poll_once).
constexpr int kQuiesceWaitMs = 100;

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
    // The host end's NAPI came with GRO (set_offloads). Only the host end:
    // the peer end polled in the sender's softirq is what holds back a host
    // sending faster than the workers encrypt (an unlimited UDP sender lost
    // a quarter of its throughput with both ends threaded).
    if (auto s = set_napi_threaded(o.tunnel_if, d->tunnel_ifindex_, o.tunnel_napi_threaded ? "1" : "0"); !s)
        d->notes_.push_back("tunnel device NAPI left as it was: " + s.message());
    if (o.uplink_napi_threaded) {
        // After the attach, which gave a veth uplink its NAPI instances.
        const std::string want = *o.uplink_napi_threaded ? "1" : "0";
        std::string before;
        const auto s = set_napi_threaded(o.uplink, d->uplink_ifindex_, want, &before);
        // Put back at exit whatever was there, even after a write that the
        // kernel took but that did not read back as written.
        if (!before.empty() && before != want) d->uplink_napi_before_ = before;
        if (!s)
            return fail("uplink_napi: " + s.message() +
                        " (a veth has NAPI only with native XDP or with GRO on)");
    }
    d->events_ = EventReader::open(d->programs_->map_fd(XDPSEC_MAP_EVENTS_NAME), &err);
    if (!d->events_) return fail(err);
    d->slots_ = std::make_unique<std::array<SaSlot, XDPSEC_MAX_SAS>>();
    for (uint32_t i = 0; i < XDPSEC_MAX_SAS; ++i) d->free_slots_.push_back(i);
    return d;
}

Dataplane::~Dataplane() {
    for (auto& w : workers_) w->stop();
    workers_.clear();
    events_.reset();
    // While the XDP program still gives a veth uplink its NAPI instances.
    if (!uplink_napi_before_.empty())
        (void)set_napi_threaded(options_.uplink, uplink_ifindex_, uplink_napi_before_);
    programs_.reset();
    if (created_tunnel_ && netlink_) (void)netlink_->delete_link(options_.tunnel_if);
}

Dataplane::Installed* Dataplane::find(uint32_t spi, esp::SaDirection direction) {
    for (auto& s : sas_)
        if (s.sa->config().spi == spi && s.sa->config().direction == direction) return &s;
    return nullptr;
}

std::vector<Dataplane::Policy> Dataplane::make_policies(const std::vector<esp::IpPrefix>& dsts,
                                                       const std::vector<esp::IpPrefix>& srcs) {
    std::vector<Policy> out;
    for (const auto& dst : dsts)
        for (const auto& src : srcs)
            if (dst.addr.family == src.addr.family) out.push_back({dst, src, next_policy_id_++});
    return out;
}

template <class F>
void Dataplane::for_each_policy(esp::SaDirection direction, Pending extra, F&& f) const {
    auto sa = [&](const Installed& s) {
        if (s.sa->config().direction != direction) return;
        for (const auto& p : s.policies) f(p, s.slot, false);
    };
    auto trap = [&](const Trap& t) {
        if (direction != esp::SaDirection::outbound) return;
        for (const auto& p : t.policies) f(p, 0u, true);
    };
    for (const auto& s : sas_) sa(s);
    for (const auto& t : traps_) trap(t);
    if (extra.sa) sa(*extra.sa);
    if (extra.trap) trap(*extra.trap);
}

Status Dataplane::build_bucket(esp::SaDirection direction, const esp::IpPrefix& dst, Pending extra,
                               xdpsec_spd_bucket* bucket) const {
    struct Chosen {
        const Policy* policy;
        uint32_t slot;
        bool trap;
    };
    std::vector<Chosen> chosen;
    for_each_policy(direction, extra, [&](const Policy& p, uint32_t slot, bool trap) {
        // The programs see this bucket alone for dst: it takes every policy
        // whose destination covers dst, those of shorter prefixes too.
        if (!covers(p.dst, dst)) return;
        // Same selectors twice. An SA beats a trap: once the tunnel is up
        // its traffic goes through the SA, and back to the trap when the SA
        // goes. Of two SAs (a rekeyed SA and its successor), the newer takes
        // the traffic (RFC 7296 §2.8: the new SA is used as soon as it is
        // installed), the older keeps only what is in flight.
        auto same = std::find_if(chosen.begin(), chosen.end(), [&](const Chosen& q) {
            return q.policy->src == p.src && q.policy->dst == p.dst;
        });
        if (same == chosen.end()) chosen.push_back({&p, slot, trap});
        else if (std::pair(!same->trap, same->policy->id) < std::pair(!trap, p.id)) *same = {&p, slot, trap};
    });
    if (chosen.size() > XDPSEC_BUCKET_POLICIES)
        return Status::error("more than " + std::to_string(XDPSEC_BUCKET_POLICIES) +
                             " policies for destination " + dst.to_string());
    // Most specific first, destination then source: the XDP programs take
    // the first match. At equal selectors an SA comes before a trap.
    std::sort(chosen.begin(), chosen.end(), [](const Chosen& a, const Chosen& b) {
        const auto &pa = *a.policy, &pb = *b.policy;
        return std::tuple(pa.dst.len, pa.src.len, !a.trap, pa.id) >
               std::tuple(pb.dst.len, pb.src.len, !b.trap, pb.id);
    });
    *bucket = {};
    for (const Chosen& c : chosen) {
        const Policy& p = *c.policy;
        xdpsec_policy& e = bucket->policies[bucket->count++];
        std::memcpy(e.src.addr, p.src.addr.bytes.data(), 16);
        e.src.family = p.src.addr.family;
        e.src.prefixlen = p.src.len;
        e.src.port_hi = 65535;
        e.action = c.trap ? XDPSEC_POLICY_TRAP : XDPSEC_POLICY_PROTECT;
        e.sa_slot = c.slot;
        e.policy_id = p.id;
        e.dport_hi = 65535;
    }
    return {};
}

// The buckets a policy for dst lands in: its own and those of the longer
// prefixes it covers.
std::vector<esp::IpPrefix> Dataplane::buckets_under(esp::SaDirection direction, const esp::IpPrefix& dst,
                                                    Pending extra) const {
    std::vector<esp::IpPrefix> out{dst};
    for_each_policy(direction, extra, [&](const Policy& p, uint32_t, bool) {
        if (covers(dst, p.dst) && std::find(out.begin(), out.end(), p.dst) == out.end()) out.push_back(p.dst);
    });
    return out;
}

Status Dataplane::check_buckets(esp::SaDirection direction, const std::vector<Policy>& policies,
                                Pending extra) const {
    for (const auto& p : policies)
        for (const auto& dst : buckets_under(direction, p.dst, extra)) {
            xdpsec_spd_bucket unused;
            if (auto st = build_bucket(direction, dst, extra, &unused); !st) return st;
        }
    return {};
}

// One map update replaces the whole bucket: the XDP programs see the old
// one or the new one, never a mix. A bucket lives as long as a policy has
// exactly its prefix; shorter ones reach the addresses under it anyway.
Status Dataplane::write_bucket(esp::SaDirection direction, const esp::IpPrefix& dst) {
    bool keyed = false;
    for_each_policy(direction, {}, [&](const Policy& p, uint32_t, bool) { keyed = keyed || p.dst == dst; });
    xdpsec_spd_bucket bucket{};
    if (keyed)
        if (auto st = build_bucket(direction, dst, {}, &bucket); !st) return st;
    const char* map = spd_map(direction);
    const int fd = programs_->map_fd(map);
    const xdpsec_spd_key key = spd_key(dst);
    if (bucket.count == 0) {
        if (bpf_map_delete_elem(fd, &key) != 0 && errno != ENOENT)
            return Status::error(errno_text(std::string("removing policies for ") + dst.to_string() +
                                                " from " + map, errno));
        return {};
    }
    if (bpf_map_update_elem(fd, &key, &bucket, BPF_ANY) != 0)
        return Status::error(errno_text(std::string("installing policy in ") + map, errno));
    return {};
}

// Rewrites every bucket the policies touch; the first error is kept, the
// other buckets are written all the same.
Status Dataplane::write_buckets(esp::SaDirection direction, const std::vector<Policy>& policies) {
    Status result;
    std::vector<esp::IpPrefix> done;
    for (const auto& p : policies)
        for (const auto& dst : buckets_under(direction, p.dst, {})) {
            if (std::find(done.begin(), done.end(), dst) != done.end()) continue;
            done.push_back(dst);
            if (auto st = write_bucket(direction, dst); !st && result) result = std::move(st);
        }
    return result;
}

bool Dataplane::route_needed(const esp::IpPrefix& dst) const {
    auto has = [&](const std::vector<esp::IpPrefix>& ts) {
        return std::find(ts.begin(), ts.end(), dst) != ts.end();
    };
    return std::any_of(sas_.begin(), sas_.end(),
                       [&](const Installed& o) {
                           return o.sa->config().direction == esp::SaDirection::outbound && has(o.remote_ts);
                       }) ||
           std::any_of(traps_.begin(), traps_.end(), [&](const Trap& t) { return has(t.remote_ts); });
}

Status Dataplane::withdraw_routes(const std::vector<esp::IpPrefix>& remote_ts) {
    Status result;
    for (const auto& dst : remote_ts)
        if (!route_needed(dst))
            if (auto st = netlink_->delete_route(dst.addr, dst.len, tunnel_ifindex_); !st && result)
                result = std::move(st);
    return result;
}

Status Dataplane::add_sa(SaSpec spec) {
    const auto& c = spec.config;
    const bool inbound = c.direction == esp::SaDirection::inbound;
    const char* dir = inbound ? "in" : "out";
    if (find(c.spi, c.direction))
        return Status::error("SA " + spec.name + ": an SA with SPI " + esp::spi_text(c.spi) + " " + dir +
                             " is already installed");
    for (const auto& s : sas_)
        if (s.name == spec.name) return Status::error("SA " + spec.name + " is already installed");
    reap();
    if (free_slots_.empty())
        return Status::error("SA " + spec.name + ": SA table full (" +
                             std::to_string(XDPSEC_MAX_SAS) + " slots, " +
                             std::to_string(retired_.size()) + " of them still draining)");
    std::string err;
    auto sa = esp::Sa::create(c, &err);
    if (!sa) return Status::error("SA " + spec.name + ": " + err);

    Installed inst{spec.name, free_slots_.front(), std::move(sa), spec.local_ts, spec.remote_ts,
                   {}, false, std::nullopt};
    // Inbound plaintext policies are keyed by our side, outbound ones by
    // the peer's: each is the destination of the packets it is about.
    inst.policies = inbound ? make_policies(spec.local_ts, spec.remote_ts)
                            : make_policies(spec.remote_ts, spec.local_ts);
    if (auto st = check_buckets(c.direction, inst.policies, {&inst, nullptr}); !st)
        return Status::error("SA " + spec.name + ": " + st.message());
    free_slots_.pop_front();

    // The slot is unpublished and no worker has touched it since it was
    // freed: write everything the worker and the XDP programs read, then
    // publish the SA pointer, and only then point the SAD or SPD at it.
    xdpsec_sa& e = programs_->sa_table()[inst.slot];
    fill_entry(e, c, spec.local_ts, spec.remote_ts);
    SaSlot& slot = (*slots_)[inst.slot];
    // A frame the programs queued for this slot's previous SA carries the
    // previous generation in its metadata: the worker drops it.
    if (++next_generation_ == 0) ++next_generation_;
    e.generation = slot.generation = next_generation_;
    set_state(e, XDPSEC_SA_STATE_ACTIVE);
    slot.local_ts = spec.local_ts;
    slot.remote_ts = spec.remote_ts;
    // In transport mode the peer itself is one of the selectors: resolve
    // its next hop before the routes send it into the tunnel device.
    if (!inbound) resolve(inst);
    slot.sa.store(inst.sa.get(), std::memory_order_release);
    sas_.push_back(std::move(inst));
    Installed& s = sas_.back();

    auto undo = [&](const std::string& why) {
        (void)remove_at(sas_.size() - 1);
        return Status::error("SA " + spec.name + ": " + why);
    };
    if (inbound) {
        const xdpsec_sad_key key = sad_key(c);
        if (bpf_map_update_elem(programs_->map_fd(XDPSEC_MAP_SAD_NAME), &key, &s.slot, BPF_NOEXIST) != 0)
            return undo(errno_text("SAD entry for SPI " + esp::spi_text(c.spi), errno));
        s.in_sad = true;
    }
    if (auto st = write_buckets(c.direction, s.policies); !st) return undo(st.message());
    if (!inbound)
        for (const auto& dst : spec.remote_ts)
            if (auto st = netlink_->add_route(dst.addr, dst.len, tunnel_ifindex_); !st)
                return undo(st.message());
    return {};
}

Status Dataplane::remove_sa(uint32_t spi, esp::SaDirection direction) {
    for (std::size_t i = 0; i < sas_.size(); ++i) {
        const auto& c = sas_[i].sa->config();
        if (c.spi == spi && c.direction == direction) return remove_at(i);
    }
    return Status::error("no SA with SPI " + esp::spi_text(spi) +
                         (direction == esp::SaDirection::inbound ? " in" : " out"));
}

Status Dataplane::remove_sa(const std::string& name) {
    for (std::size_t i = 0; i < sas_.size(); ++i)
        if (sas_[i].name == name) return remove_at(i);
    return Status::error("no SA named " + name);
}

Status Dataplane::withdraw(Installed& s) {
    const auto& c = s.sa->config();
    Status result;
    auto keep_first = [&](Status st) {
        if (!st && result) result = std::move(st);
    };
    if (s.in_sad) {
        const xdpsec_sad_key key = sad_key(c);
        if (bpf_map_delete_elem(programs_->map_fd(XDPSEC_MAP_SAD_NAME), &key) != 0 && errno != ENOENT)
            keep_first(Status::error(errno_text("removing the SAD entry", errno)));
    }
    // s is out of sas_ already: each bucket is rebuilt without it, and an
    // older SA, or a trap, with the same selectors gets its traffic back.
    keep_first(write_buckets(c.direction, s.policies));
    if (c.direction == esp::SaDirection::outbound) keep_first(withdraw_routes(s.remote_ts));
    return result;
}

Status Dataplane::remove_at(std::size_t index) {
    Installed s = std::move(sas_[index]);
    sas_.erase(sas_.begin() + static_cast<std::ptrdiff_t>(index));
    Status st = withdraw(s);
    if (!st) st = Status::error("SA " + s.name + ": " + st.message());
    // Maps first, then the state: an XDP program that still found the slot
    // in an old bucket now drops instead of redirecting (XDPSEC_REASON_*_SA_NOT_ACTIVE).
    set_state(programs_->sa_table()[s.slot], XDPSEC_SA_STATE_FREE);
    (*slots_)[s.slot].sa.store(nullptr, std::memory_order_release);
    // Pairs with the fence after each worker's epoch store (Worker::run):
    // a worker whose epoch moves past what is read here loads the null.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    Retired r{std::move(s.sa), s.slot, {}, st.ok()};
    for (const auto& w : workers_) r.epochs.push_back(w->epoch());
    const uint32_t slot = r.slot;
    retired_.push_back(std::move(r));
    auto pending = [&] {
        return std::any_of(retired_.begin(), retired_.end(),
                           [&](const Retired& x) { return x.slot == slot; });
    };
    for (int ms = 0; ms <= kQuiesceWaitMs; ++ms) {
        reap();
        if (!pending()) break;
        ::usleep(1000);
    }
    return st;
}

// Frees the retired SAs no worker can still be using: their table entries
// are zeroed (the worker wrote counters there until then), their keys wiped.
void Dataplane::reap() {
    for (auto it = retired_.begin(); it != retired_.end();) {
        bool quiet = true;
        for (std::size_t i = 0; i < it->epochs.size() && i < workers_.size(); ++i)
            if (workers_[i]->epoch() == it->epochs[i]) quiet = false;
        if (!quiet) {
            ++it;
            continue;
        }
        std::memset(&programs_->sa_table()[it->slot], 0, sizeof(xdpsec_sa));
        SaSlot& slot = (*slots_)[it->slot];
        slot.local_ts.clear();
        slot.remote_ts.clear();
        slot.next_hop.store(0, std::memory_order_relaxed);
        it->sa.reset();
        if (it->reuse_slot) free_slots_.push_back(it->slot);
        it = retired_.erase(it);
    }
}

Status Dataplane::add_trap(const std::string& name, const std::vector<esp::IpPrefix>& local_ts,
                           const std::vector<esp::IpPrefix>& remote_ts) {
    auto fail = [&](const std::string& why) { return Status::error("trap " + name + ": " + why); };
    if (name.empty()) return Status::error("a trap needs a name");
    if (find_trap(name)) return fail("already installed");
    if (local_ts.empty() || remote_ts.empty()) return fail("needs local and remote selectors");
    Trap trap{name, local_ts, remote_ts, make_policies(remote_ts, local_ts)};
    if (trap.policies.empty()) return fail("no local and remote selector of the same address family");
    if (auto st = check_buckets(esp::SaDirection::outbound, trap.policies, {nullptr, &trap}); !st)
        return fail(st.message());
    traps_.push_back(std::move(trap));
    const Trap& t = traps_.back();
    auto undo = [&](const Status& why) {
        (void)remove_trap(name);
        return fail(why.message());
    };
    if (auto st = write_buckets(esp::SaDirection::outbound, t.policies); !st) return undo(st);
    for (const auto& dst : remote_ts)
        if (auto st = netlink_->add_route(dst.addr, dst.len, tunnel_ifindex_); !st) return undo(st);
    return {};
}

Status Dataplane::remove_trap(const std::string& name) {
    auto it = std::find_if(traps_.begin(), traps_.end(), [&](const Trap& t) { return t.name == name; });
    if (it == traps_.end()) return Status::error("no trap named " + name);
    Trap t = std::move(*it);
    traps_.erase(it);
    Status st = write_buckets(esp::SaDirection::outbound, t.policies);
    Status routes = withdraw_routes(t.remote_ts);
    if (st && !routes) st = std::move(routes);
    if (!st) return Status::error("trap " + name + ": " + st.message());
    return {};
}

const Dataplane::Trap* Dataplane::find_trap(const std::string& name) const {
    for (const auto& t : traps_)
        if (t.name == name) return &t;
    return nullptr;
}

std::vector<TrapReport> Dataplane::trap_report() const {
    std::vector<TrapReport> out;
    for (const auto& t : traps_) {
        TrapReport r{t.name, t.local_ts, t.remote_ts, {}};
        for (const auto& p : t.policies) r.policy_ids.push_back(p.id);
        out.push_back(std::move(r));
    }
    return out;
}

int Dataplane::event_fd() const { return events_->fd(); }

std::size_t Dataplane::drain_events(const std::function<void(const DataplaneEvent&)>& on_event) {
    return events_->drain([&](const DataplaneEvent& e) {
        if (e.type != DataplaneEvent::Type::acquire) return on_event(e);
        DataplaneEvent named = e;
        for (const auto& t : traps_)
            for (const auto& p : t.policies)
                if (p.id == e.policy_id) named.trap = t.name;
        on_event(named);
    });
}

std::optional<SaUsage> Dataplane::usage(uint32_t spi, esp::SaDirection direction) const {
    for (const auto& s : sas_) {
        const auto& c = s.sa->config();
        if (c.spi != spi || c.direction != direction) continue;
        xdpsec_sa& e = programs_->sa_table()[s.slot];
        return SaUsage{live(e.packets), live(e.bytes)};
    }
    return std::nullopt;
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
    // The tunnel MTU is the uplink's less what ESP adds at most. With SAs
    // configured before start (manually keyed), theirs. With none yet (IKE
    // installs them later, while the device carries traffic), the most any
    // transform can add (worst_overhead_any), so that no negotiated SA finds
    // the MTU too large. An SA added later that needs more than the MTU
    // leaves still works: the worker answers larger packets with ICMP
    // frag-needed / packet-too-big (RFC 1191, RFC 8201).
    uint32_t overhead = 0;
    for (const auto& s : sas_) overhead = std::max(overhead, worst_overhead(s.sa->config()));
    if (!overhead) overhead = worst_overhead_any();
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
    reap();
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
        r.live.seq = live(e.seq);
        r.live.replay_bottom = live(e.replay_bottom);
        r.live.packets = live(e.packets);
        r.live.bytes = live(e.bytes);
        for (std::size_t i = 0; i < XDPSEC_SA_DROP_SLOTS; ++i) r.live.drops[i] = live(e.drops[i]);
        if (r.config->direction == esp::SaDirection::outbound) {
            const uint64_t nh = (*slots_)[s.slot].next_hop.load(std::memory_order_relaxed);
            r.next_hop = nh ? mac_to_string(unpack_mac(nh)) : "unresolved";
        }
        out.push_back(std::move(r));
    }
    return out;
}

// Calls add(key, cell) for every CPU's cell of every key of a per-CPU array.
template <class Cell, std::size_t N, class Add>
void Dataplane::sum_per_cpu(const char* map, Add&& add) const {
    const int fd = programs_->map_fd(map);
    const int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return;
    std::vector<Cell> per_cpu(static_cast<std::size_t>(ncpu));
    for (uint32_t k = 0; k < N; ++k) {
        if (bpf_map_lookup_elem(fd, &k, per_cpu.data()) != 0) continue;
        for (const auto& c : per_cpu) add(k, c);
    }
}

std::array<xdpsec_counter, XDPSEC_REASON_COUNT> Dataplane::verdicts() const {
    std::array<xdpsec_counter, XDPSEC_REASON_COUNT> sum{};
    sum_per_cpu<xdpsec_counter, XDPSEC_REASON_COUNT>(XDPSEC_MAP_VERDICTS_NAME,
                                                     [&](uint32_t k, const xdpsec_counter& c) {
                                                         sum[k].packets += c.packets;
                                                         sum[k].bytes += c.bytes;
                                                     });
    return sum;
}

std::array<EventCounters, XDPSEC_EVENT_TYPE_COUNT> Dataplane::event_counters() const {
    std::array<EventCounters, XDPSEC_EVENT_TYPE_COUNT> sum{};
    sum_per_cpu<xdpsec_event_limit, XDPSEC_EVENT_TYPE_COUNT>(
        XDPSEC_MAP_EVENT_LIMIT_NAME, [&](uint32_t k, const xdpsec_event_limit& c) {
            sum[k].emitted += c.emitted;
            sum[k].rate_limited += c.rate_limited;
            sum[k].ring_full += c.ring_full;
        });
    return sum;
}

}  // namespace xdpsec::dataplane
