#include "dataplane.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace xdpsec::test {

IngressSkeleton open_ingress() {
    IngressSkeleton skel{ingress__open()};
    REQUIRE_MESSAGE(skel != nullptr, "ingress__open: ", std::strerror(errno));
    return skel;
}

ProtectSkeleton open_protect() {
    ProtectSkeleton skel{protect__open()};
    REQUIRE_MESSAGE(skel != nullptr, "protect__open: ", std::strerror(errno));
    return skel;
}

bool skip_without_root() {
    if (geteuid() == 0) return false;
    MESSAGE("SKIPPED: needs root (BPF program load and BPF_PROG_TEST_RUN)");
    return true;
}

Prefix parse_prefix(const std::string& text) {
    const auto slash = text.find('/');
    const std::string address = text.substr(0, slash);
    Prefix p;
    if (address.find(':') != std::string::npos) {
        p.family = 6;
        p.addr = v6(address.c_str());
        p.prefixlen = 128;
    } else {
        p.family = 4;
        const std::uint32_t a = htonl(v4(address.c_str()));
        std::memcpy(p.addr.data(), &a, sizeof(a));
        p.prefixlen = 32;
    }
    if (slash != std::string::npos)
        p.prefixlen = static_cast<std::uint8_t>(std::stoi(text.substr(slash + 1)));
    return p;
}

xdpsec_policy policy(const std::string& src, xdpsec_policy_action action, std::uint32_t sa_slot,
                     std::uint8_t proto, PortRange dports, PortRange sports) {
    const Prefix p = parse_prefix(src);
    xdpsec_policy pol{};
    std::memcpy(pol.src.addr, p.addr.data(), sizeof(pol.src.addr));
    pol.src.family = p.family;
    pol.src.prefixlen = p.prefixlen;
    pol.src.proto = proto;
    pol.src.port_lo = sports.lo;
    pol.src.port_hi = sports.hi;
    pol.action = action;
    pol.sa_slot = sa_slot;
    pol.policy_id = 1000 + sa_slot;
    pol.dport_lo = dports.lo;
    pol.dport_hi = dports.hi;
    return pol;
}

xdpsec_sa sa(std::uint32_t spi, xdpsec_direction direction, xdpsec_sa_state state, std::uint32_t flags,
             std::uint32_t replay_window, std::uint64_t replay_bottom) {
    xdpsec_sa s{};
    s.spi = spi;
    s.state = state;
    s.direction = direction;
    s.mode = XDPSEC_MODE_TUNNEL;
    s.alg = XDPSEC_ALG_AES128GCM16;
    s.flags = flags;
    s.replay_window = replay_window;
    s.family = 4;
    s.replay_bottom = replay_bottom;
    return s;
}

Bytes meta_bytes(std::uint32_t sa_slot, std::uint32_t generation) {
    const xdpsec_meta meta{sa_slot, XDPSEC_META_MAGIC, generation};
    Bytes b(sizeof(meta));
    std::memcpy(b.data(), &meta, sizeof(meta));
    return b;
}

std::string reason_name(std::uint32_t reason) {
    return xdpsec_verdict_reason_name(static_cast<xdpsec_verdict_reason>(reason));
}

std::string describe_delta(const std::vector<xdpsec_counter>& before,
                           const std::vector<xdpsec_counter>& after) {
    std::string moved;
    for (std::uint32_t r = 0; r < XDPSEC_REASON_COUNT; ++r) {
        const __u64 packets = after[r].packets - before[r].packets;
        const __u64 bytes = after[r].bytes - before[r].bytes;
        if (packets == 0 && bytes == 0) continue;
        if (!moved.empty()) moved += ", ";
        moved +=
            reason_name(r) + " +" + std::to_string(packets) + " packets +" + std::to_string(bytes) + " bytes";
    }
    return moved.empty() ? "nothing" : moved;
}

// Loads ingress, then protect with every map of ingress reused: what the
// daemon's loader does, so these tests also prove the two objects' map
// definitions are compatible.
Dataplane::Dataplane() : ingress_(open_ingress()), protect_(open_protect()) {
    int err = ingress__load(ingress_.get());
    REQUIRE_MESSAGE(err == 0, "ingress__load: ", std::strerror(-err));

    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, protect_->obj) {
        const bpf_map* shared = bpf_object__find_map_by_name(ingress_->obj, bpf_map__name(map));
        REQUIRE_MESSAGE(shared != nullptr, "ingress lacks protect's map ", bpf_map__name(map));
        err = bpf_map__reuse_fd(map, bpf_map__fd(shared));
        REQUIRE_MESSAGE(err == 0, "bpf_map__reuse_fd(", bpf_map__name(map), "): ", std::strerror(-err));
    }
    err = protect__load(protect_.get());
    REQUIRE_MESSAGE(err == 0, "protect__load: ", std::strerror(-err));
}

int Dataplane::program_fd(Program program) const {
    return program == Program::ingress ? bpf_program__fd(ingress_->progs.ingress)
                                       : bpf_program__fd(protect_->progs.protect);
}

void Dataplane::put_sa(std::uint32_t slot, const xdpsec_sa& value) {
    xdpsec_sa v = value;
    if (v.generation == 0) v.generation = kGeneration + slot;
    generations_[slot] = v.generation;
    REQUIRE(bpf_map__update_elem(ingress_->maps.XDPSEC_MAP_SA, &slot, sizeof(slot), &v, sizeof(v),
                                 BPF_ANY) == 0);
}

void Dataplane::put_sad(std::uint32_t spi, const std::string& daddr, std::uint32_t slot) {
    const Prefix p = parse_prefix(daddr);
    xdpsec_sad_key key{};
    key.spi = htonl(spi);
    key.family = p.family;
    std::memcpy(key.daddr, p.addr.data(), sizeof(key.daddr));
    REQUIRE(bpf_map__update_elem(ingress_->maps.XDPSEC_MAP_SAD, &key, sizeof(key), &slot, sizeof(slot),
                                 BPF_ANY) == 0);
}

void Dataplane::put_spd(bpf_map* spd, const std::string& prefix, const std::vector<xdpsec_policy>& policies,
                        std::optional<std::uint32_t> count) {
    REQUIRE(policies.size() <= XDPSEC_BUCKET_POLICIES);
    const Prefix p = parse_prefix(prefix);
    xdpsec_spd_key key{};
    key.prefixlen = 8u + p.prefixlen;
    key.family = p.family;
    std::memcpy(key.addr, p.addr.data(), sizeof(key.addr));
    xdpsec_spd_bucket bucket{};
    bucket.count = count.value_or(static_cast<std::uint32_t>(policies.size()));
    for (std::size_t i = 0; i < policies.size(); ++i) bucket.policies[i] = policies[i];
    REQUIRE(bpf_map__update_elem(spd, &key, sizeof(key), &bucket, sizeof(bucket), BPF_ANY) == 0);
}

void Dataplane::put_xsk(bpf_map* xsks, std::uint32_t queue, int xsk_fd) {
    const int err = bpf_map__update_elem(xsks, &queue, sizeof(queue), &xsk_fd, sizeof(xsk_fd), BPF_ANY);
    REQUIRE_MESSAGE(err == 0, "XSKMAP update: ", std::strerror(-err));
}

void Dataplane::remove_xsk(bpf_map* xsks, std::uint32_t queue) {
    const int err = bpf_map__delete_elem(xsks, &queue, sizeof(queue), 0);
    REQUIRE_MESSAGE((err == 0 || err == -ENOENT), "XSKMAP delete: ", std::strerror(-err));
}

std::vector<xdpsec_counter> Dataplane::counters() const {
    const int cpus = libbpf_num_possible_cpus();
    REQUIRE(cpus > 0);
    std::vector<xdpsec_counter> per_cpu(static_cast<std::size_t>(cpus));
    std::vector<xdpsec_counter> totals(XDPSEC_REASON_COUNT, xdpsec_counter{0, 0});
    for (__u32 reason = 0; reason < XDPSEC_REASON_COUNT; ++reason) {
        REQUIRE(bpf_map_lookup_elem(bpf_map__fd(ingress_->maps.XDPSEC_MAP_VERDICTS), &reason,
                                    per_cpu.data()) == 0);
        for (const xdpsec_counter& c : per_cpu) {
            totals[reason].packets += c.packets;
            totals[reason].bytes += c.bytes;
        }
    }
    return totals;
}

xdpsec_event_limit Dataplane::event_limit(xdpsec_event_type type) const {
    const int cpus = libbpf_num_possible_cpus();
    REQUIRE(cpus > 0);
    std::vector<xdpsec_event_limit> per_cpu(static_cast<std::size_t>(cpus));
    const __u32 key = type;
    const int fd = bpf_map__fd(ingress_->maps.XDPSEC_MAP_EVENT_LIMIT);
    REQUIRE(bpf_map_lookup_elem(fd, &key, per_cpu.data()) == 0);
    xdpsec_event_limit sum{};
    for (const xdpsec_event_limit& c : per_cpu) {
        sum.window_end = std::max(sum.window_end, c.window_end);
        sum.window_used += c.window_used;
        sum.emitted += c.emitted;
        sum.rate_limited += c.rate_limited;
        sum.ring_full += c.ring_full;
    }
    return sum;
}

void Dataplane::set_event_window(xdpsec_event_type type, std::uint64_t window_end, std::uint32_t used) {
    const int cpus = libbpf_num_possible_cpus();
    REQUIRE(cpus > 0);
    const int fd = bpf_map__fd(ingress_->maps.XDPSEC_MAP_EVENT_LIMIT);
    std::vector<xdpsec_event_limit> per_cpu(static_cast<std::size_t>(cpus));
    const __u32 key = type;
    REQUIRE(bpf_map_lookup_elem(fd, &key, per_cpu.data()) == 0);
    for (xdpsec_event_limit& c : per_cpu) {
        c.window_end = window_end;
        c.window_used = used;
    }
    REQUIRE(bpf_map_update_elem(fd, &key, per_cpu.data(), BPF_ANY) == 0);
}

std::vector<dataplane::DataplaneEvent> Dataplane::drain_events() {
    if (!events_) {
        std::string error;
        events_ = dataplane::EventReader::open(bpf_map__fd(ingress_->maps.XDPSEC_MAP_EVENTS), &error);
        REQUIRE_MESSAGE(events_ != nullptr, error);
    }
    std::vector<dataplane::DataplaneEvent> out;
    events_->drain([&](const dataplane::DataplaneEvent& e) { out.push_back(e); });
    CHECK(events_->undecodable() == 0);
    return out;
}

std::uint32_t Dataplane::run(Program program, const Bytes& frame, std::uint32_t repeat) {
    Bytes copy = frame;
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = copy.data();
    opts.data_size_in = static_cast<__u32>(copy.size());
    opts.repeat = repeat;
    const int err = bpf_prog_test_run_opts(program_fd(program), &opts);
    REQUIRE_MESSAGE(err == 0, "bpf_prog_test_run_opts: ", std::strerror(-err));
    return opts.retval;
}

void Dataplane::check(Program program, const Row& row) {
    CAPTURE(row.description);
    CAPTURE(row.frame.size());
    const auto before = counters();

    Bytes out(row.frame.size() + 64);
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = row.frame.data();
    opts.data_size_in = static_cast<__u32>(row.frame.size());
    opts.data_out = out.data();
    opts.data_size_out = static_cast<__u32>(out.size());
    opts.repeat = 1;
    const int err = bpf_prog_test_run_opts(program_fd(program), &opts);
    REQUIRE_MESSAGE(err == 0, "bpf_prog_test_run_opts: ", std::strerror(-err));

    CHECK(opts.retval == static_cast<__u32>(row.verdict));
    // The kernel returns the frame from data_meta on: a redirect shows its
    // metadata in front, every other verdict the untouched frame alone.
    out.resize(opts.data_size_out);
    if (row.sa_slot) {
        const std::uint32_t generation = generations_.count(*row.sa_slot) ? generations_[*row.sa_slot] : 0;
        CHECK_MESSAGE(out == meta_bytes(*row.sa_slot, generation) + row.frame, "expected {sa_slot ",
                      *row.sa_slot, ", XDPSEC_META_MAGIC, generation ", generation,
                      "} then the frame unmodified");
    } else {
        CHECK_MESSAGE(out == row.frame, "the program must neither modify the frame nor add metadata");
    }

    const auto after = counters();
    const std::string expected =
        reason_name(row.reason) + " +1 packets +" + std::to_string(row.frame.size()) + " bytes";
    CHECK(describe_delta(before, after) == expected);
}

}  // namespace xdpsec::test
