// What the two BPF objects share with C++ and with each other, checked in
// what clang -target bpf actually wrote: the struct layouts and the reason
// enum in BTF, and the map definitions the loader relies on. bpf_abi.h
// static_asserts the layouts in every C++ (and BPF) translation unit; this
// checks the two compilers agree. Opening parses ELF and BTF only: most of
// this needs no privilege.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <doctest/doctest.h>
#include <linux/bpf.h>
#include <xdpsec/bpf_abi.h>

#include <cctype>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "dataplane.h"

using namespace xdpsec::test;

namespace {

struct Member {
    std::string name;
    std::size_t offset;
};

struct Layout {
    std::string name;
    std::size_t size;
    std::vector<Member> members;
};

#define XDPSEC_MEMBER(type, field) \
    Member { #field, offsetof(type, field) }

std::vector<Layout> shared_layouts() {
    return {
        {"xdpsec_counter",
         sizeof(xdpsec_counter),
         {XDPSEC_MEMBER(xdpsec_counter, packets), XDPSEC_MEMBER(xdpsec_counter, bytes)}},
        {"xdpsec_selector",
         sizeof(xdpsec_selector),
         {XDPSEC_MEMBER(xdpsec_selector, addr), XDPSEC_MEMBER(xdpsec_selector, family),
          XDPSEC_MEMBER(xdpsec_selector, prefixlen), XDPSEC_MEMBER(xdpsec_selector, proto),
          XDPSEC_MEMBER(xdpsec_selector, pad), XDPSEC_MEMBER(xdpsec_selector, port_lo),
          XDPSEC_MEMBER(xdpsec_selector, port_hi)}},
        {"xdpsec_sa",
         sizeof(xdpsec_sa),
         {XDPSEC_MEMBER(xdpsec_sa, spi),
          XDPSEC_MEMBER(xdpsec_sa, state),
          XDPSEC_MEMBER(xdpsec_sa, direction),
          XDPSEC_MEMBER(xdpsec_sa, mode),
          XDPSEC_MEMBER(xdpsec_sa, alg),
          XDPSEC_MEMBER(xdpsec_sa, flags),
          XDPSEC_MEMBER(xdpsec_sa, replay_window),
          XDPSEC_MEMBER(xdpsec_sa, encap_local_port),
          XDPSEC_MEMBER(xdpsec_sa, encap_remote_port),
          XDPSEC_MEMBER(xdpsec_sa, family),
          XDPSEC_MEMBER(xdpsec_sa, pad),
          XDPSEC_MEMBER(xdpsec_sa, generation),
          XDPSEC_MEMBER(xdpsec_sa, local),
          XDPSEC_MEMBER(xdpsec_sa, remote),
          XDPSEC_MEMBER(xdpsec_sa, local_ts),
          XDPSEC_MEMBER(xdpsec_sa, remote_ts),
          XDPSEC_MEMBER(xdpsec_sa, soft_bytes),
          XDPSEC_MEMBER(xdpsec_sa, hard_bytes),
          XDPSEC_MEMBER(xdpsec_sa, soft_packets),
          XDPSEC_MEMBER(xdpsec_sa, hard_packets),
          XDPSEC_MEMBER(xdpsec_sa, seq),
          XDPSEC_MEMBER(xdpsec_sa, replay_bottom),
          XDPSEC_MEMBER(xdpsec_sa, packets),
          XDPSEC_MEMBER(xdpsec_sa, bytes),
          XDPSEC_MEMBER(xdpsec_sa, drops)}},
        {"xdpsec_sad_key",
         sizeof(xdpsec_sad_key),
         {XDPSEC_MEMBER(xdpsec_sad_key, spi), XDPSEC_MEMBER(xdpsec_sad_key, family),
          XDPSEC_MEMBER(xdpsec_sad_key, pad), XDPSEC_MEMBER(xdpsec_sad_key, daddr)}},
        {"xdpsec_spd_key",
         sizeof(xdpsec_spd_key),
         {XDPSEC_MEMBER(xdpsec_spd_key, prefixlen), XDPSEC_MEMBER(xdpsec_spd_key, family),
          XDPSEC_MEMBER(xdpsec_spd_key, addr), XDPSEC_MEMBER(xdpsec_spd_key, pad)}},
        {"xdpsec_policy",
         sizeof(xdpsec_policy),
         {XDPSEC_MEMBER(xdpsec_policy, src), XDPSEC_MEMBER(xdpsec_policy, action),
          XDPSEC_MEMBER(xdpsec_policy, sa_slot), XDPSEC_MEMBER(xdpsec_policy, policy_id),
          XDPSEC_MEMBER(xdpsec_policy, dport_lo), XDPSEC_MEMBER(xdpsec_policy, dport_hi)}},
        {"xdpsec_spd_bucket",
         sizeof(xdpsec_spd_bucket),
         {XDPSEC_MEMBER(xdpsec_spd_bucket, count), XDPSEC_MEMBER(xdpsec_spd_bucket, pad),
          XDPSEC_MEMBER(xdpsec_spd_bucket, policies)}},
        {"xdpsec_event",
         sizeof(xdpsec_event),
         {XDPSEC_MEMBER(xdpsec_event, type), XDPSEC_MEMBER(xdpsec_event, family),
          XDPSEC_MEMBER(xdpsec_event, proto), XDPSEC_MEMBER(xdpsec_event, flags),
          XDPSEC_MEMBER(xdpsec_event, pad), XDPSEC_MEMBER(xdpsec_event, saddr),
          XDPSEC_MEMBER(xdpsec_event, daddr), XDPSEC_MEMBER(xdpsec_event, spi),
          XDPSEC_MEMBER(xdpsec_event, policy_id), XDPSEC_MEMBER(xdpsec_event, encap_sport),
          XDPSEC_MEMBER(xdpsec_event, encap_dport), XDPSEC_MEMBER(xdpsec_event, sport),
          XDPSEC_MEMBER(xdpsec_event, dport)}},
        {"xdpsec_event_limit",
         sizeof(xdpsec_event_limit),
         {XDPSEC_MEMBER(xdpsec_event_limit, window_end), XDPSEC_MEMBER(xdpsec_event_limit, window_used),
          XDPSEC_MEMBER(xdpsec_event_limit, pad), XDPSEC_MEMBER(xdpsec_event_limit, emitted),
          XDPSEC_MEMBER(xdpsec_event_limit, rate_limited), XDPSEC_MEMBER(xdpsec_event_limit, ring_full)}},
    };
}

void check_layout(const btf* types, const Layout& layout) {
    CAPTURE(layout.name);
    const int id = btf__find_by_name_kind(types, layout.name.c_str(), BTF_KIND_STRUCT);
    REQUIRE(id > 0);
    const btf_type* t = btf__type_by_id(types, static_cast<__u32>(id));
    CHECK(t->size == layout.size);
    REQUIRE(btf_vlen(t) == layout.members.size());
    const btf_member* m = btf_members(t);
    for (std::uint32_t i = 0; i < btf_vlen(t); ++i) {
        CAPTURE(layout.members[i].name);
        CHECK(std::string(btf__name_by_offset(types, m[i].name_off)) == layout.members[i].name);
        CHECK(btf_member_bitfield_size(t, i) == 0);
        CHECK(btf_member_bit_offset(t, i) / 8 == layout.members[i].offset);
    }
}

// "XDPSEC_REASON_PASS_IKE" -> "pass_ike", per value, from the object's BTF:
// the enumerators of enum_name without prefix, in lower case.
std::map<std::int64_t, std::string> enum_names_in_btf(const btf* types, const char* enum_name,
                                                      const std::string& prefix) {
    std::map<std::int64_t, std::string> names;
    const int id = btf__find_by_name_kind(types, enum_name, BTF_KIND_ENUM);
    REQUIRE(id > 0);
    const btf_type* t = btf__type_by_id(types, static_cast<__u32>(id));
    CHECK(t->size == sizeof(__u32));
    const struct btf_enum* e = btf_enum(t);
    for (std::uint16_t i = 0; i < btf_vlen(t); ++i) {
        std::string name = btf__name_by_offset(types, e[i].name_off);
        REQUIRE(name.starts_with(prefix));
        name.erase(0, prefix.size());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        names[e[i].val] = name;
    }
    return names;
}

// The names of the members of type and of the structs and arrays it holds.
void collect_member_names(const btf* types, __u32 id, std::set<std::string>& names) {
    const btf_type* t = btf__type_by_id(types, btf__resolve_type(types, id));
    if (btf_is_array(t)) {
        collect_member_names(types, btf_array(t)->type, names);
    } else if (btf_is_struct(t)) {
        const btf_member* m = btf_members(t);
        for (std::uint16_t i = 0; i < btf_vlen(t); ++i) {
            names.insert(btf__name_by_offset(types, m[i].name_off));
            collect_member_names(types, m[i].type, names);
        }
    }
}

struct MapSpec {
    bpf_map_type type;
    std::uint32_t key_size;
    std::uint32_t value_size;
    std::uint32_t max_entries;
    std::uint32_t flags;
    std::string value_type;  // in BTF; "" for maps the kernel takes without BTF
};

const std::map<std::string, MapSpec>& map_specs() {
    static const std::map<std::string, MapSpec> specs = {
        {XDPSEC_MAP_VERDICTS_NAME,
         {BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(xdpsec_counter), XDPSEC_REASON_COUNT, 0, "xdpsec_counter"}},
        {XDPSEC_MAP_SA_NAME,
         {BPF_MAP_TYPE_ARRAY, 4, sizeof(xdpsec_sa), XDPSEC_MAX_SAS, BPF_F_MMAPABLE, "xdpsec_sa"}},
        {XDPSEC_MAP_SAD_NAME, {BPF_MAP_TYPE_HASH, sizeof(xdpsec_sad_key), 4, XDPSEC_MAX_SAS, 0, "__u32"}},
        {XDPSEC_MAP_SPD_OUT_NAME,
         {BPF_MAP_TYPE_LPM_TRIE, sizeof(xdpsec_spd_key), sizeof(xdpsec_spd_bucket), XDPSEC_MAX_PREFIXES,
          BPF_F_NO_PREALLOC, "xdpsec_spd_bucket"}},
        {XDPSEC_MAP_SPD_IN_NAME,
         {BPF_MAP_TYPE_LPM_TRIE, sizeof(xdpsec_spd_key), sizeof(xdpsec_spd_bucket), XDPSEC_MAX_PREFIXES,
          BPF_F_NO_PREALLOC, "xdpsec_spd_bucket"}},
        {XDPSEC_MAP_XSKS_UP_NAME, {BPF_MAP_TYPE_XSKMAP, 4, 4, XDPSEC_MAX_QUEUES, 0, ""}},
        {XDPSEC_MAP_XSKS_TUN_NAME, {BPF_MAP_TYPE_XSKMAP, 4, 4, XDPSEC_MAX_QUEUES, 0, ""}},
        {XDPSEC_MAP_EVENTS_NAME, {BPF_MAP_TYPE_RINGBUF, 0, 0, XDPSEC_EVENTS_BYTES, 0, ""}},
        {XDPSEC_MAP_EVENT_LIMIT_NAME,
         {BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(xdpsec_event_limit), XDPSEC_EVENT_TYPE_COUNT, 0,
          "xdpsec_event_limit"}},
    };
    return specs;
}

void check_maps(bpf_object* obj) {
    std::set<std::string> seen;
    bpf_map* map = nullptr;
    const btf* types = bpf_object__btf(obj);
    bpf_object__for_each_map(map, obj) {
        const std::string name = bpf_map__name(map);
        CAPTURE(name);
        seen.insert(name);
        const auto spec = map_specs().find(name);
        REQUIRE_MESSAGE(spec != map_specs().end(), "a map bpf_abi.h does not document");
        CHECK(bpf_map__type(map) == spec->second.type);
        CHECK(bpf_map__key_size(map) == spec->second.key_size);
        CHECK(bpf_map__value_size(map) == spec->second.value_size);
        CHECK(bpf_map__max_entries(map) == spec->second.max_entries);
        CHECK(bpf_map__map_flags(map) == spec->second.flags);
        CHECK(bpf_map__pin_path(map) == nullptr);  // the loader pins, per instance

        if (spec->second.value_type.empty()) continue;
        const __u32 value_id = bpf_map__btf_value_type_id(map);
        REQUIRE_MESSAGE(value_id != 0, "no BTF: bpftool map dump would print raw bytes");
        const btf_type* value = btf__type_by_id(types, value_id);
        CHECK(std::string(btf__name_by_offset(types, value->name_off)) == spec->second.value_type);

        // No key material in any map: nothing in a value is even named like it.
        std::set<std::string> members;
        collect_member_names(types, value_id, members);
        for (const std::string& member : members) {
            CAPTURE(member);
            CHECK(member.find("key") == std::string::npos);
            CHECK(member.find("secret") == std::string::npos);
        }
    }
    CHECK(seen.size() == map_specs().size());
}

}  // namespace

TEST_CASE("both objects carry the bpf_abi.h structs in their BTF, laid out as the C++ compiler did") {
    IngressSkeleton ingress = open_ingress();
    ProtectSkeleton protect = open_protect();
    for (bpf_object* obj : {ingress->obj, protect->obj}) {
        CAPTURE(bpf_object__name(obj));
        const btf* types = bpf_object__btf(obj);
        REQUIRE(types != nullptr);
        for (const Layout& layout : shared_layouts()) check_layout(types, layout);
    }
}

TEST_CASE("enum xdpsec_verdict_reason: counter indexes, BTF names and the C++ names agree") {
    IngressSkeleton ingress = open_ingress();
    ProtectSkeleton protect = open_protect();
    for (bpf_object* obj : {ingress->obj, protect->obj}) {
        CAPTURE(bpf_object__name(obj));
        const auto names = enum_names_in_btf(bpf_object__btf(obj), "xdpsec_verdict_reason", "XDPSEC_REASON_");
        REQUIRE(names.size() == XDPSEC_REASON_COUNT + 1);
        for (std::int64_t value = 0; value < XDPSEC_REASON_COUNT; ++value) {
            CAPTURE(value);
            REQUIRE(names.count(value) == 1);
            CHECK(names.at(value) == xdpsec_verdict_reason_name(static_cast<xdpsec_verdict_reason>(value)));
        }
        CHECK(names.at(XDPSEC_REASON_COUNT) == "count");
    }
    CHECK(std::string(xdpsec_verdict_reason_name(XDPSEC_REASON_COUNT)) == "unknown");
    CHECK(std::string(xdpsec_verdict_reason_name(XDPSEC_REASON_DROP_UNKNOWN_SPI)) == "drop_unknown_spi");
    CHECK(std::string(xdpsec_verdict_reason_name(XDPSEC_REASON_PROTECT_NO_SOCKET)) == "protect_no_socket");
    CHECK(std::string(xdpsec_verdict_reason_name(XDPSEC_REASON_PROTECT_ACQUIRE)) == "protect_acquire");
}

TEST_CASE("enum xdpsec_event_type: budget indexes, BTF names and the C++ names agree") {
    IngressSkeleton ingress = open_ingress();
    ProtectSkeleton protect = open_protect();
    for (bpf_object* obj : {ingress->obj, protect->obj}) {
        CAPTURE(bpf_object__name(obj));
        const auto names = enum_names_in_btf(bpf_object__btf(obj), "xdpsec_event_type", "XDPSEC_EVENT_");
        REQUIRE(names.size() == XDPSEC_EVENT_TYPE_COUNT + 1);
        for (std::int64_t value = 0; value < XDPSEC_EVENT_TYPE_COUNT; ++value) {
            CAPTURE(value);
            REQUIRE(names.count(value) == 1);
            CHECK(names.at(value) == xdpsec_event_type_name(static_cast<xdpsec_event_type>(value)));
        }
        CHECK(names.at(XDPSEC_EVENT_TYPE_COUNT) == "type_count");
    }
    CHECK(std::string(xdpsec_event_type_name(XDPSEC_EVENT_UNKNOWN_SPI)) == "unknown_spi");
    CHECK(std::string(xdpsec_event_type_name(XDPSEC_EVENT_ACQUIRE)) == "acquire");
}

TEST_CASE("both objects declare every map, with the definitions bpf_abi.h documents") {
    IngressSkeleton ingress = open_ingress();
    ProtectSkeleton protect = open_protect();
    SUBCASE("ingress") { check_maps(ingress->obj); }
    SUBCASE("protect") { check_maps(protect->obj); }
    SUBCASE("the skeletons name the maps as bpf_abi.h does") {
        CHECK(ingress->maps.XDPSEC_MAP_SA == bpf_object__find_map_by_name(ingress->obj, XDPSEC_MAP_SA_NAME));
        CHECK(protect->maps.XDPSEC_MAP_SA == bpf_object__find_map_by_name(protect->obj, XDPSEC_MAP_SA_NAME));
        CHECK(ingress->maps.XDPSEC_MAP_VERDICTS ==
              bpf_object__find_map_by_name(ingress->obj, XDPSEC_MAP_VERDICTS_NAME));
        CHECK(protect->maps.XDPSEC_MAP_XSKS_TUN ==
              bpf_object__find_map_by_name(protect->obj, XDPSEC_MAP_XSKS_TUN_NAME));
    }
}

TEST_CASE("protect loads on the maps of ingress: one set of maps serves both programs") {
    if (skip_without_root()) return;
    Dataplane dataplane;  // fails to load unless every map can be shared
    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, dataplane.protect_skel().obj) {
        CAPTURE(bpf_map__name(map));
        const bpf_map* shared =
            bpf_object__find_map_by_name(dataplane.ingress_skel().obj, bpf_map__name(map));
        bpf_map_info mine{}, theirs{};
        __u32 len = sizeof(mine);
        REQUIRE(bpf_obj_get_info_by_fd(bpf_map__fd(map), &mine, &len) == 0);
        len = sizeof(theirs);
        REQUIRE(bpf_obj_get_info_by_fd(bpf_map__fd(shared), &theirs, &len) == 0);
        CHECK(mine.id == theirs.id);
    }
}
