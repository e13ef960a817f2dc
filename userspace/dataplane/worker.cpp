#include "dataplane/worker.h"

#include "esp/esp_engine.h"
#include "esp/ip_packet.h"

#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_xdp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <xdp/xsk.h>

#include <cerrno>
#include <cstring>

namespace xdpsec::dataplane {

namespace {

constexpr uint32_t kFrameSize = XSK_UMEM__DEFAULT_FRAME_SIZE;
constexpr uint32_t kNumFrames = 4096;
constexpr uint32_t kRingSize = 2048;
constexpr uint32_t kBatch = 64;
constexpr uint64_t kFrameMask = ~uint64_t{kFrameSize - 1};
constexpr uint32_t kEthLen = 14;

constexpr uint16_t kEthIpv4 = 0x0800, kEthIpv6 = 0x86dd, kEthVlan = 0x8100;

void write_eth(uint8_t* p, const MacAddress& dst, const MacAddress& src, uint8_t ip_version) {
    std::memcpy(p, dst.data(), 6);
    std::memcpy(p + 6, src.data(), 6);
    esp::ip::store16(p + 12, ip_version == 4 ? kEthIpv4 : kEthIpv6);
}

bool in_any(const std::vector<esp::IpPrefix>& set, uint8_t family, const uint8_t* addr) {
    if (set.empty()) return true;
    for (const auto& p : set)
        if (p.contains(family, addr)) return true;
    return false;
}

}  // namespace

MacAddress unpack_mac(uint64_t v) {
    MacAddress m;
    for (int i = 5; i >= 0; --i) {
        m[static_cast<std::size_t>(i)] = static_cast<uint8_t>(v);
        v >>= 8;
    }
    return m;
}

// Worker counters have one writer: a relaxed load and store is a plain
// increment, with no locked instruction on the packet path.
void bump(std::atomic<uint64_t>& c, uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

uint64_t pack_mac(const MacAddress& mac) {
    uint64_t v = 0;
    for (uint8_t b : mac) v = v << 8 | b;
    return v | uint64_t{1} << 63;  // never 0, even for an all-zero MAC
}

struct Worker::Rings {
    void* area = nullptr;
    std::size_t area_size = 0;
    xsk_umem* umem = nullptr;
    xsk_ring_prod fq_up{}, fq_tun{}, tx_up{}, tx_tun{};
    xsk_ring_cons cq_up{}, cq_tun{}, rx_up{}, rx_tun{};
    xsk_socket* xsk_up = nullptr;
    xsk_socket* xsk_tun = nullptr;
    uint32_t in_flight = 0;  // transmitted frames whose completion has not come back

    ~Rings() {
        if (xsk_tun) xsk_socket__delete(xsk_tun);
        if (xsk_up) xsk_socket__delete(xsk_up);
        if (umem) xsk_umem__delete(umem);
        if (area) ::munmap(area, area_size);
    }
    uint8_t* at(uint64_t addr) const { return static_cast<uint8_t*>(area) + addr; }
};

Worker::Worker(const WorkerConfig& config, SaSlot* slots, xdpsec_sa* sa_table)
    : config_(config), slots_(slots), sa_table_(sa_table), rings_(std::make_unique<Rings>()) {}

Worker::~Worker() { stop(); }

std::unique_ptr<Worker> Worker::create(const WorkerConfig& config, int xsks_uplink_fd,
                                       int xsks_tunnel_fd, SaSlot* slots, xdpsec_sa* sa_table,
                                       std::string* error) {
    auto fail = [&](const std::string& why) -> std::unique_ptr<Worker> {
        if (error) *error = "worker " + std::to_string(config.queue) + ": " + why;
        return nullptr;
    };
    std::unique_ptr<Worker> w(new Worker(config, slots, sa_table));
    Rings& r = *w->rings_;
    r.area_size = std::size_t{kNumFrames} * kFrameSize;
    r.area = ::mmap(nullptr, r.area_size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (r.area == MAP_FAILED) {
        r.area = nullptr;
        return fail(errno_text("UMEM mmap", errno));
    }
    xsk_umem_config ucfg{};
    ucfg.fill_size = kRingSize;
    ucfg.comp_size = kRingSize;
    ucfg.frame_size = kFrameSize;
    ucfg.frame_headroom = 0;  // XDP_PACKET_HEADROOM already leaves room for outer headers
    if (int e = xsk_umem__create(&r.umem, r.area, r.area_size, &r.fq_up, &r.cq_up, &ucfg); e)
        return fail(errno_text("UMEM create", e));

    xsk_socket_config scfg{};
    scfg.rx_size = kRingSize;
    scfg.tx_size = kRingSize;
    scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // our programs, our XSK maps
    scfg.bind_flags = XDP_USE_NEED_WAKEUP;  // zero-copy where the driver can, copy otherwise
    if (int e = xsk_socket__create_shared(&r.xsk_up, config.uplink.c_str(), config.queue, r.umem,
                                          &r.rx_up, &r.tx_up, &r.fq_up, &r.cq_up, &scfg);
        e)
        return fail(errno_text("AF_XDP socket on " + config.uplink, e));
    if (int e = xsk_socket__create_shared(&r.xsk_tun, config.tunnel_peer.c_str(), config.queue,
                                          r.umem, &r.rx_tun, &r.tx_tun, &r.fq_tun, &r.cq_tun, &scfg);
        e)
        return fail(errno_text("AF_XDP socket on " + config.tunnel_peer, e));

    if (config.busy_poll) {
        const int one = 1, usec = 20, budget = kBatch;
        for (xsk_socket* s : {r.xsk_up, r.xsk_tun}) {
            const int fd = xsk_socket__fd(s);
            if (::setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof one) != 0 ||
                ::setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &usec, sizeof usec) != 0 ||
                ::setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof budget) != 0)
                return fail(errno_text("busy polling", errno));
        }
    }

    const uint32_t key = config.queue;
    const int up_fd = xsk_socket__fd(r.xsk_up), tun_fd = xsk_socket__fd(r.xsk_tun);
    if (bpf_map_update_elem(xsks_uplink_fd, &key, &up_fd, BPF_ANY) != 0)
        return fail(errno_text("registering the uplink socket", errno));
    if (bpf_map_update_elem(xsks_tunnel_fd, &key, &tun_fd, BPF_ANY) != 0)
        return fail(errno_text("registering the tunnel socket", errno));

    w->free_frames_.reserve(kNumFrames);
    for (uint32_t i = 0; i < kNumFrames; ++i)
        w->free_frames_.push_back(uint64_t{i} * kFrameSize);
    w->complete_and_refill();
    return w;
}

std::optional<XskStats> Worker::socket_stats(bool uplink) const {
    xsk_socket* s = uplink ? rings_->xsk_up : rings_->xsk_tun;
    if (!s) return std::nullopt;
    xdp_statistics st{};
    socklen_t len = sizeof st;
    if (::getsockopt(xsk_socket__fd(s), SOL_XDP, XDP_STATISTICS, &st, &len) != 0)
        return std::nullopt;
    XskStats out;
    out.rx_dropped = st.rx_dropped;
    out.rx_ring_full = st.rx_ring_full;
    out.fill_ring_empty = st.rx_fill_ring_empty_descs;
    out.invalid_descs = st.rx_invalid_descs + st.tx_invalid_descs;
    return out;
}

void Worker::start() {
    running_ = true;
    thread_ = std::thread([this] { run(); });
}

void Worker::stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
}

void Worker::run() {
    while (running_.load(std::memory_order_relaxed)) {
        // Release: the last iteration's use of its SAs happens before a
        // remover sees the new value. The fence orders the store before this
        // iteration's SA pointer loads: a remover whose fenced epoch read
        // still saw the old value had unpublished its SA before those loads
        // (C++20 [atomics.order], seq_cst fences).
        epoch_.store(epoch_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        poll_once();
    }
    epoch_.store(epoch_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void Worker::poll_once() {
    const uint32_t n = receive(true) + receive(false);
    complete_and_refill();
    Rings& r = *rings_;
    if (n == 0) {
        // Completions wake nobody: while frames are in flight, look again
        // soon; otherwise sleep until a frame arrives (bounded, so that
        // stop() is noticed).
        pollfd fds[2] = {{xsk_socket__fd(r.xsk_up), POLLIN, 0}, {xsk_socket__fd(r.xsk_tun), POLLIN, 0}};
        ::poll(fds, 2, r.in_flight ? 1 : 50);
    }
}

void Worker::complete_and_refill() {
    Rings& r = *rings_;
    for (auto* cq : {&r.cq_up, &r.cq_tun}) {
        uint32_t idx = 0;
        const uint32_t n = xsk_ring_cons__peek(cq, kRingSize, &idx);
        for (uint32_t i = 0; i < n; ++i)
            free_frames_.push_back(*xsk_ring_cons__comp_addr(cq, idx + i) & kFrameMask);
        if (n) xsk_ring_cons__release(cq, n);
        r.in_flight -= std::min(r.in_flight, n);
    }

    for (auto* fq : {&r.fq_up, &r.fq_tun}) {
        const uint32_t want = std::min<uint32_t>(xsk_prod_nb_free(fq, kRingSize),
                                                 static_cast<uint32_t>(free_frames_.size() / 2 + 1));
        const uint32_t give = std::min<uint32_t>(want, static_cast<uint32_t>(free_frames_.size()));
        if (!give) continue;
        uint32_t idx = 0;
        const uint32_t got = xsk_ring_prod__reserve(fq, give, &idx);
        for (uint32_t i = 0; i < got; ++i) {
            *xsk_ring_prod__fill_addr(fq, idx + i) = free_frames_.back();
            free_frames_.pop_back();
        }
        xsk_ring_prod__submit(fq, got);
        if (got && xsk_ring_prod__needs_wakeup(fq)) {
            const int fd = xsk_socket__fd(fq == &r.fq_up ? r.xsk_up : r.xsk_tun);
            ::recvfrom(fd, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
        }
    }
}

uint32_t Worker::receive(bool from_uplink) {
    Rings& r = *rings_;
    xsk_ring_cons* rx = from_uplink ? &r.rx_up : &r.rx_tun;
    uint32_t idx = 0;
    const uint32_t n = xsk_ring_cons__peek(rx, kBatch, &idx);
    if (!n) return 0;

    TxFrame to_up[kBatch], to_tun[kBatch];
    uint32_t n_up = 0, n_tun = 0;
    for (uint32_t i = 0; i < n; ++i) {
        const xdp_desc* d = xsk_ring_cons__rx_desc(rx, idx + i);
        uint64_t out_addr = 0;
        uint32_t out_len = 0;
        bool ok, uplink_out = false;
        if (from_uplink) {
            bump(counters_.rx_uplink);
            ok = handle_inbound(d->addr, d->len, &out_addr, &out_len);
        } else {
            bump(counters_.rx_tunnel);
            ok = handle_outbound(d->addr, d->len, &out_addr, &out_len, &uplink_out);
        }
        if (!ok) free_frames_.push_back(d->addr & kFrameMask);
        else if (uplink_out) to_up[n_up++] = {out_addr, out_len};
        else to_tun[n_tun++] = {out_addr, out_len};
    }
    xsk_ring_cons__release(rx, n);

    transmit(r.tx_up, r.xsk_up, to_up, n_up, counters_.tx_uplink);
    transmit(r.tx_tun, r.xsk_tun, to_tun, n_tun, counters_.tx_tunnel);
    return n;
}

void Worker::transmit(xsk_ring_prod& tx, xsk_socket* xsk, const TxFrame* out, uint32_t count,
                      std::atomic<uint64_t>& sent) {
    if (!count) return;
    uint32_t idx = 0;
    const uint32_t got = xsk_ring_prod__reserve(&tx, count, &idx);
    for (uint32_t i = 0; i < got; ++i) {
        xdp_desc* d = xsk_ring_prod__tx_desc(&tx, idx + i);
        d->addr = out[i].addr;
        d->len = out[i].len;
        d->options = 0;
    }
    xsk_ring_prod__submit(&tx, got);
    for (uint32_t i = got; i < count; ++i) {
        bump(counters_.tx_ring_full);
        free_frames_.push_back(out[i].addr & kFrameMask);
    }
    rings_->in_flight += got;
    bump(sent, got);
    // Copy mode transmits inside sendto(), a bounded batch per call: kick
    // until the kernel has taken every descriptor (or says to come back).
    for (int kicks = 0; kicks < 8 && xsk_prod_nb_free(&tx, kRingSize) < kRingSize; ++kicks) {
        if (!xsk_ring_prod__needs_wakeup(&tx)) break;
        if (::sendto(xsk_socket__fd(xsk), nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0 &&
            errno != EAGAIN && errno != EBUSY && errno != ENOBUFS)
            break;
    }
}

namespace {

// The SA slot named by the metadata the XDP program put before the frame.
// The magic is wiped once read: a driver that cannot carry metadata would
// otherwise leave an earlier frame's bytes there to be taken for ours.
bool read_meta(uint8_t* data, uint32_t* slot, uint32_t* generation) {
    xdpsec_meta m;
    std::memcpy(&m, data - sizeof m, sizeof m);
    std::memset(data - sizeof m, 0, sizeof m);
    if (m.magic != XDPSEC_META_MAGIC || m.sa_slot >= XDPSEC_MAX_SAS) return false;
    *slot = m.sa_slot;
    *generation = m.generation;
    return true;
}

}  // namespace

esp::Sa* Worker::sa_of(uint8_t* data, uint32_t len, esp::SaDirection direction, uint32_t* slot) {
    uint32_t generation = 0;
    if (!read_meta(data, slot, &generation)) {
        bump(counters_.no_metadata);
        return nullptr;
    }
    esp::Sa* sa = slots_[*slot].sa.load(std::memory_order_acquire);
    if (sa && slots_[*slot].generation != generation) {
        // Queued before the slot's SA was removed, read after another took
        // the slot: it belongs to neither.
        bump(counters_.stale_slot);
        return nullptr;
    }
    if (!sa || sa->config().direction != direction || len < kEthLen) {
        bump(counters_.bad_slot);
        return nullptr;
    }
    return sa;
}

bool Worker::handle_inbound(uint64_t addr, uint32_t len, uint64_t* out_addr, uint32_t* out_len) {
    Rings& r = *rings_;
    uint8_t* data = r.at(addr);
    uint32_t slot = 0;
    esp::Sa* sa = sa_of(data, len, esp::SaDirection::inbound, &slot);
    if (!sa) return false;
    // The ingress program accepted at most one 802.1Q tag.
    const uint32_t l2 = esp::ip::load16(data + 12) == kEthVlan ? kEthLen + 4 : kEthLen;
    if (len < l2) {
        bump(counters_.bad_slot);
        return false;
    }
    const uint64_t base = addr & kFrameMask;
    esp::PacketBuffer buf{r.at(base), kFrameSize, static_cast<uint32_t>(addr - base) + l2, len - l2};
    const auto res = esp::decapsulate(*sa, buf);
    publish(slot, *sa, !res);
    if (!res) {
        bump(counters_.esp_dropped);
        return false;
    }
    const uint8_t* inner = buf.data();
    const uint8_t family = inner[0] >> 4;
    const uint8_t* src = inner + (family == 4 ? 12 : 8);
    const uint8_t* dst = inner + (family == 4 ? 16 : 24);
    if (!in_any(slots_[slot].remote_ts, family, src) || !in_any(slots_[slot].local_ts, family, dst)) {
        bump(counters_.selector_mismatch);  // RFC 4301 §5.2 step 4
        return false;
    }
    buf.offset -= kEthLen;
    write_eth(buf.data(), config_.tunnel_host_mac, config_.tunnel_peer_mac, family);
    bump(counters_.decap_ok);
    *out_addr = base + buf.offset;
    *out_len = buf.length + kEthLen;
    return true;
}

bool Worker::handle_outbound(uint64_t addr, uint32_t len, uint64_t* out_addr, uint32_t* out_len,
                             bool* to_uplink) {
    Rings& r = *rings_;
    uint8_t* data = r.at(addr);
    uint32_t slot = 0;
    esp::Sa* sa = sa_of(data, len, esp::SaDirection::outbound, &slot);
    if (!sa) return false;
    const uint64_t next_hop = slots_[slot].next_hop.load(std::memory_order_relaxed);
    if (!next_hop) {
        bump(counters_.no_next_hop);
        return false;
    }
    const uint64_t base = addr & kFrameMask;
    esp::PacketBuffer buf{r.at(base), kFrameSize, static_cast<uint32_t>(addr - base) + kEthLen,
                          len - kEthLen};
    const auto res = esp::encapsulate(*sa, buf, config_.uplink_mtu);
    publish(slot, *sa, res.status == esp::EncapStatus::dropped);
    switch (res.status) {
    case esp::EncapStatus::ok:
        buf.offset -= kEthLen;
        write_eth(buf.data(), unpack_mac(next_hop), config_.uplink_mac, sa->config().local.family);
        bump(counters_.encap_ok);
        *out_addr = base + buf.offset;
        *out_len = buf.length + kEthLen;
        *to_uplink = true;
        return true;
    case esp::EncapStatus::too_big:
        *to_uplink = false;
        return send_too_big(buf.data(), buf.length, res.inner_mtu, out_addr, out_len);
    case esp::EncapStatus::dropped:
        break;
    }
    bump(counters_.esp_dropped);
    return false;
}

// Turns the refused packet into the ICMP error its sender needs (RFC 1191
// frag-needed, RFC 8201 packet-too-big), in place, addressed from the
// packet's destination so the sender's path MTU cache for it is updated.
bool Worker::send_too_big(const uint8_t* inner, uint32_t inner_len, uint32_t mtu,
                          uint64_t* out_addr, uint32_t* out_len) {
    using namespace esp::ip;
    const uint8_t family = inner[0] >> 4;
    if (family != 4 && family != 6) return false;
    if (family == 4 && !(load16(inner + 6) & 0x4000)) return false;  // DF clear: fragmentation's job
    const uint32_t ip_len = family == 4 ? kIpv4HeaderLen : kIpv6HeaderLen;
    const uint32_t quote = std::min(inner_len, family == 4 ? 548u : 1232u);
    const uint32_t total = ip_len + 8 + quote;
    uint8_t* p = const_cast<uint8_t*>(inner) - ip_len - 8;
    uint8_t src[16], dst[16];
    const uint32_t alen = family == 4 ? 4 : 16;
    std::memcpy(src, inner + (family == 4 ? 16 : 24), alen);  // reply from the destination
    std::memcpy(dst, inner + (family == 4 ? 12 : 8), alen);
    uint8_t* icmp = p + ip_len;
    std::memset(p, 0, ip_len + 8);
    if (family == 4) {
        p[0] = 0x45;
        store16(p + 2, static_cast<uint16_t>(total));
        p[8] = 64;
        p[9] = 1;
        std::memcpy(p + 12, src, 4);
        std::memcpy(p + 16, dst, 4);
        ipv4_set_checksum(p);
        icmp[0] = 3;  // destination unreachable
        icmp[1] = 4;  // fragmentation needed and DF set
        store16(icmp + 6, static_cast<uint16_t>(std::max(mtu, 68u)));
        store16(icmp + 2, checksum_fold(checksum_add(0, icmp, 8 + quote)));
    } else {
        store32(p, uint32_t{6} << 28);
        store16(p + 4, static_cast<uint16_t>(8 + quote));
        p[6] = 58;
        p[7] = 64;
        std::memcpy(p + 8, src, 16);
        std::memcpy(p + 24, dst, 16);
        icmp[0] = 2;  // packet too big
        store32(icmp + 4, std::max(mtu, 1280u));
        uint32_t sum = checksum_add(0, p + 8, 32);
        sum += 8 + quote;
        sum += 58;
        store16(icmp + 2, checksum_fold(checksum_add(sum, icmp, 8 + quote)));
    }
    uint8_t* eth = p - kEthLen;
    write_eth(eth, config_.tunnel_host_mac, config_.tunnel_peer_mac, family);
    bump(counters_.too_big);
    *out_addr = static_cast<uint64_t>(eth - static_cast<uint8_t*>(rings_->area));
    *out_len = total + kEthLen;
    return true;
}

// Live SA state goes to the mmapped SA table with relaxed atomic stores:
// plain 64-bit moves that the ingress program, bpftool and the daemon's
// control thread may read at any time. Drop counters only change with a
// drop, so they are copied only then. The caller passes the SA it loaded:
// reloading the slot could find it already unpublished.
void Worker::publish(uint32_t slot, const esp::Sa& sa, bool dropped) {
    xdpsec_sa& e = sa_table_[slot];
    const auto& c = sa.counters();
    auto put = [](__u64& field, uint64_t v) {
        std::atomic_ref<__u64>(field).store(v, std::memory_order_relaxed);
    };
    put(e.seq, sa.last_seq());
    put(e.replay_bottom, sa.window() ? sa.window()->bottom() : 0);
    put(e.packets, c.packets);
    put(e.bytes, c.bytes);
    if (dropped)
        for (std::size_t i = 0; i < esp::kEspDropCount; ++i) put(e.drops[i], c.drops[i]);
}

}  // namespace xdpsec::dataplane
