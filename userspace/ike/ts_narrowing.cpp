#include "ike/ts_narrowing.h"

#include <algorithm>

namespace xdpsec::ike {

namespace {

__extension__ typedef unsigned __int128 u128;  // IPv6 address arithmetic

u128 value(const esp::IpAddress& a) {
    u128 v = 0;
    for (uint32_t i = 0; i < a.length(); ++i) v = (v << 8) | a.bytes[i];
    return v;
}

esp::IpAddress address(uint8_t family, u128 v) {
    esp::IpAddress a;
    a.family = family;
    for (int i = static_cast<int>(a.length()) - 1; i >= 0; --i) {
        a.bytes[static_cast<std::size_t>(i)] = static_cast<uint8_t>(v);
        v >>= 8;
    }
    return a;
}

unsigned bits(uint8_t family) { return family == 4 ? 32 : 128; }

u128 host_mask(uint8_t family, unsigned len) {
    const unsigned host = bits(family) - len;
    return host >= 128 ? ~u128{0} : (u128{1} << host) - 1;
}

TsType type_of(uint8_t family) {
    return family == 4 ? TsType::ipv4_addr_range : TsType::ipv6_addr_range;
}

uint8_t family_of(TsType t) { return t == TsType::ipv4_addr_range ? 4 : 6; }

}  // namespace

TrafficSelector selector_of(const esp::IpPrefix& p) {
    TrafficSelector ts;
    ts.type = type_of(p.addr.family);
    ts.ip_protocol = 0;
    ts.start_port = 0;
    ts.end_port = 65535;
    ts.start = p.addr;
    ts.end = address(p.addr.family, value(p.addr) | host_mask(p.addr.family, p.len));
    return ts;
}

TsPayload ts_payload(const std::vector<esp::IpPrefix>& prefixes) {
    TsPayload t;
    for (const auto& p : prefixes) t.selectors.push_back(selector_of(p));
    return t;
}

std::vector<TrafficSelector> narrow(const std::vector<TrafficSelector>& theirs,
                                    const std::vector<esp::IpPrefix>& ours) {
    std::vector<TrafficSelector> out;
    for (const auto& t : theirs)
        for (const auto& p : ours) {
            const auto o = selector_of(p);
            if (o.type != t.type) continue;
            if (t.ip_protocol && o.ip_protocol && t.ip_protocol != o.ip_protocol) continue;
            TrafficSelector r;
            r.type = t.type;
            r.ip_protocol = t.ip_protocol ? t.ip_protocol : o.ip_protocol;
            r.start_port = std::max(t.start_port, o.start_port);
            r.end_port = std::min(t.end_port, o.end_port);
            const u128 s = std::max(value(t.start), value(o.start));
            const u128 e = std::min(value(t.end), value(o.end));
            if (r.start_port > r.end_port || s > e) continue;
            r.start = address(family_of(t.type), s);
            r.end = address(family_of(t.type), e);
            if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
        }
    // Drop selectors another one of the result contains (strongSwan does the
    // same): an initiator's packet-triggered first selector inside its policy.
    const auto contains = [](const TrafficSelector& big, const TrafficSelector& small) {
        return big.type == small.type && (big.ip_protocol == 0 || big.ip_protocol == small.ip_protocol) &&
               big.start_port <= small.start_port && big.end_port >= small.end_port &&
               value(big.start) <= value(small.start) && value(big.end) >= value(small.end);
    };
    std::vector<TrafficSelector> kept;
    for (std::size_t i = 0; i < out.size(); ++i) {
        bool inside = false;
        for (std::size_t j = 0; j < out.size() && !inside; ++j)
            inside = j != i && contains(out[j], out[i]) && !(contains(out[i], out[j]) && j > i);
        if (!inside) kept.push_back(out[i]);
    }
    return kept;
}

bool within(const std::vector<TrafficSelector>& answer, const std::vector<esp::IpPrefix>& ours) {
    for (const auto& a : answer) {
        bool inside = false;
        for (const auto& p : ours) {
            const auto o = selector_of(p);
            inside = inside || (o.type == a.type && value(a.start) >= value(o.start) &&
                                value(a.end) <= value(o.end) && value(a.start) <= value(a.end) &&
                                a.start_port <= a.end_port);
        }
        if (!inside) return false;
    }
    return !answer.empty();
}

std::vector<esp::IpPrefix> prefixes_of(const std::vector<TrafficSelector>& selectors) {
    std::vector<esp::IpPrefix> out;
    for (const uint8_t family : {uint8_t{4}, uint8_t{6}}) {
        // The union of the ranges of this family: sorted, overlapping and
        // adjacent ones merged, then cut into the fewest aligned blocks.
        std::vector<std::pair<u128, u128>> ranges;
        for (const auto& ts : selectors)
            if (family_of(ts.type) == family && value(ts.start) <= value(ts.end))
                ranges.emplace_back(value(ts.start), value(ts.end));
        std::sort(ranges.begin(), ranges.end());
        std::vector<std::pair<u128, u128>> merged;
        for (const auto& r : ranges) {
            if (!merged.empty() && (merged.back().second == host_mask(family, 0) ||
                                    r.first <= merged.back().second + 1)) {
                merged.back().second = std::max(merged.back().second, r.second);
                continue;
            }
            merged.push_back(r);
        }
        for (auto [s, e] : merged) {
            while (s <= e) {
                // The largest block that starts at s and ends by e.
                unsigned len = bits(family);
                while (len > 0) {
                    const u128 m = host_mask(family, len - 1);
                    if ((s & m) != 0 || (s | m) > e) break;
                    --len;
                }
                out.push_back({address(family, s), static_cast<uint8_t>(len)});
                const u128 last = s | host_mask(family, len);
                if (last >= e) break;
                s = last + 1;
            }
        }
    }
    return out;
}

std::string to_string(const TrafficSelector& ts) {
    const auto ps = prefixes_of({ts});
    std::string s;
    for (const auto& p : ps) s += (s.empty() ? "" : " ") + p.to_string();
    if (ts.ip_protocol) s += "[" + std::to_string(ts.ip_protocol) + "]";
    if (ts.start_port != 0 || ts.end_port != 65535)
        s += ":" + std::to_string(ts.start_port) + "-" + std::to_string(ts.end_port);
    return s;
}

}  // namespace xdpsec::ike
