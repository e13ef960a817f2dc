// Traffic selectors (RFC 7296 §3.13) and narrowing (§2.9). Address ranges
// and prefix covers were computed at test-writing time with Python's
// ipaddress module (ip_network(...)[0]/[-1], summarize_address_range), the
// narrowing rules follow §2.9 and strongSwan's child_cfg selection.
#include "ike/ts_narrowing.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace xdpsec;
using namespace xdpsec::ike;

namespace {

// §3.13.1 TS Type values.
constexpr TsType TS_IPV4 = static_cast<TsType>(7);
constexpr TsType TS_IPV6 = static_cast<TsType>(8);
constexpr uint8_t TCP = 6, UDP = 17;

esp::IpAddress addr(const char* text) {
    auto a = esp::IpAddress::parse(text);
    REQUIRE_MESSAGE(a, text);
    return *a;
}

esp::IpPrefix pfx(const char* text) {
    std::string why;
    auto p = esp::IpPrefix::parse(text, &why);
    REQUIRE_MESSAGE(p, why);
    return *p;
}

TrafficSelector range(const char* start, const char* end, uint8_t protocol = 0,
                      uint16_t start_port = 0, uint16_t end_port = 65535) {
    TrafficSelector t;
    t.start = addr(start);
    t.end = addr(end);
    t.type = t.start.family == 4 ? TS_IPV4 : TS_IPV6;
    t.ip_protocol = protocol;
    t.start_port = start_port;
    t.end_port = end_port;
    return t;
}

// "type proto start-end ports" for one selector; sorted and joined for a
// list, so that the order of a result does not matter and a failed check
// prints what was there.
std::string text(const TrafficSelector& t) {
    return std::to_string(static_cast<int>(t.type)) + " " + std::to_string(t.ip_protocol) + " " +
           t.start.to_string() + "-" + t.end.to_string() + " " + std::to_string(t.start_port) +
           "-" + std::to_string(t.end_port);
}

std::string text(const std::vector<TrafficSelector>& ts) {
    std::vector<std::string> v;
    for (const auto& t : ts) v.push_back(text(t));
    std::sort(v.begin(), v.end());
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

std::string text(const std::vector<esp::IpPrefix>& ps) {
    std::vector<std::string> v;
    for (const auto& p : ps) v.push_back(p.to_string());
    std::sort(v.begin(), v.end());
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
    return s;
}

std::string text(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
    return s;
}

std::vector<esp::IpPrefix> prefixes(std::initializer_list<const char*> texts) {
    std::vector<esp::IpPrefix> out;
    for (const char* t : texts) out.push_back(pfx(t));
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// selector_of / ts_payload
// ---------------------------------------------------------------------------

TEST_CASE("ike ts: selector_of gives the prefix's first and last address, any protocol and port") {
    struct Row {
        const char* prefix;
        TsType type;
        const char* start;
        const char* end;
    };
    const Row rows[] = {
        {"192.0.2.0/24", TS_IPV4, "192.0.2.0", "192.0.2.255"},
        {"172.16.16.0/20", TS_IPV4, "172.16.16.0", "172.16.31.255"},
        {"10.1.2.3/32", TS_IPV4, "10.1.2.3", "10.1.2.3"},
        {"0.0.0.0/0", TS_IPV4, "0.0.0.0", "255.255.255.255"},
        {"128.0.0.0/1", TS_IPV4, "128.0.0.0", "255.255.255.255"},
        {"2001:db8::/32", TS_IPV6, "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
        {"2001:db8:0:1::/64", TS_IPV6, "2001:db8:0:1::", "2001:db8:0:1:ffff:ffff:ffff:ffff"},
        {"2001:db8::/100", TS_IPV6, "2001:db8::", "2001:db8::fff:ffff"},
        {"2001:db8::1/128", TS_IPV6, "2001:db8::1", "2001:db8::1"},
        {"::/0", TS_IPV6, "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.prefix);
        const auto ts = selector_of(pfx(r.prefix));
        CHECK(ts.type == r.type);
        CHECK(ts.ip_protocol == 0);  // §3.13.1: 0 = any protocol
        CHECK(ts.start_port == 0);   // all ports: 0-65535
        CHECK(ts.end_port == 65535);
        CHECK(ts.start == addr(r.start));
        CHECK(ts.end == addr(r.end));
        CHECK(ts.start.to_string() == r.start);
        CHECK(ts.end.to_string() == r.end);
    }
}

TEST_CASE("ike ts: ts_payload holds one selector per prefix, in order") {
    const auto ps = prefixes({"10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"});
    const auto t = ts_payload(ps);
    REQUIRE(t.selectors.size() == 3);
    CHECK(text(t.selectors[0]) == "7 0 10.0.0.0-10.255.255.255 0-65535");
    CHECK(text(t.selectors[1]) == "8 0 2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff 0-65535");
    CHECK(text(t.selectors[2]) == "7 0 192.0.2.7-192.0.2.7 0-65535");
    CHECK(ts_payload({}).selectors.empty());
}

// ---------------------------------------------------------------------------
// narrow (responder)
// ---------------------------------------------------------------------------

TEST_CASE("ike ts: narrow to the overlap of theirs and ours") {
    SUBCASE("partial overlap") {
        const auto r = narrow({range("10.0.0.128", "10.0.1.127")}, prefixes({"10.0.1.0/24"}));
        CHECK(text(r) == "7 0 10.0.1.0-10.0.1.127 0-65535");
    }
    SUBCASE("ours nested in theirs") {
        const auto r = narrow({selector_of(pfx("10.0.0.0/8"))}, prefixes({"10.1.0.0/16"}));
        CHECK(text(r) == "7 0 10.1.0.0-10.1.255.255 0-65535");
    }
    SUBCASE("theirs nested in ours: theirs unchanged") {
        const auto theirs = range("10.1.2.10", "10.1.2.20");
        const auto r = narrow({theirs}, prefixes({"10.0.0.0/8"}));
        CHECK(text(r) == text(std::vector<TrafficSelector>{theirs}));
    }
    SUBCASE("equal") {
        const auto r = narrow({selector_of(pfx("192.0.2.0/24"))}, prefixes({"192.0.2.0/24"}));
        CHECK(text(r) == "7 0 192.0.2.0-192.0.2.255 0-65535");
    }
    SUBCASE("several of ours inside one of theirs") {
        const auto r = narrow({selector_of(pfx("10.0.0.0/8"))},
                              prefixes({"10.1.0.0/16", "192.168.0.0/16", "10.2.0.0/16"}));
        CHECK(text(r) ==
              "7 0 10.1.0.0-10.1.255.255 0-65535, 7 0 10.2.0.0-10.2.255.255 0-65535");
    }
    SUBCASE("IPv6 partial overlap") {
        const auto r = narrow({range("2001:db8::8000", "2001:db8::1:ffff")},
                              prefixes({"2001:db8::/112"}));
        CHECK(text(r) == "8 0 2001:db8::8000-2001:db8::ffff 0-65535");
    }
}

TEST_CASE("ike ts: narrow of disjoint selectors is empty") {
    CHECK(narrow({selector_of(pfx("192.168.0.0/16"))}, prefixes({"10.0.0.0/8"})).empty());
    // Adjacent is not overlapping.
    CHECK(narrow({range("10.0.0.0", "10.0.0.255")}, prefixes({"10.0.1.0/24"})).empty());
    CHECK(narrow({range("10.0.2.0", "10.0.2.255")}, prefixes({"10.0.1.0/24"})).empty());
    CHECK(narrow({}, prefixes({"10.0.0.0/8"})).empty());
    CHECK(narrow({selector_of(pfx("10.0.0.0/8"))}, {}).empty());
}

TEST_CASE("ike ts: narrow keeps the initiator's protocol and port limits") {
    // §2.9: the answer must be a subset of what the initiator proposed; our
    // policy allows any protocol and port, so theirs stay.
    SUBCASE("TCP 443 narrowed in address only") {
        const auto r = narrow({range("10.0.0.0", "10.255.255.255", TCP, 443, 443)},
                              prefixes({"10.1.0.0/16"}));
        CHECK(text(r) == "7 6 10.1.0.0-10.1.255.255 443-443");
    }
    SUBCASE("UDP 500-4500 inside everything") {
        const auto r = narrow({range("192.0.2.1", "192.0.2.1", UDP, 500, 4500)},
                              prefixes({"0.0.0.0/0"}));
        CHECK(text(r) == "7 17 192.0.2.1-192.0.2.1 500-4500");
    }
    SUBCASE("IPv6 with a protocol") {
        const auto r = narrow({range("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 58)},
                              prefixes({"2001:db8::/32"}));
        CHECK(text(r) == "8 58 2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff 0-65535");
    }
}

TEST_CASE("ike ts: narrow never mixes address families") {
    const std::vector<TrafficSelector> both = {selector_of(pfx("0.0.0.0/0")),
                                               selector_of(pfx("::/0"))};
    const auto r = narrow(both, prefixes({"2001:db8::/32", "10.0.0.0/8"}));
    CHECK(text(r) == "7 0 10.0.0.0-10.255.255.255 0-65535, "
                     "8 0 2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff 0-65535");
    for (const auto& t : r) CHECK(t.start.family == t.end.family);
    CHECK(narrow({selector_of(pfx("0.0.0.0/0"))}, prefixes({"2001:db8::/32"})).empty());
    CHECK(narrow({selector_of(pfx("::/0"))}, prefixes({"10.0.0.0/8"})).empty());
    // Every result lies in ours, as the initiator will check.
    CHECK(within(r, prefixes({"2001:db8::/32", "10.0.0.0/8"})));
}

// §2.9: an initiator that starts a CHILD SA for a packet SHOULD put that
// packet's selector first, then its policy (strongSwan does, from a trap
// policy). strongSwan's responder drops selectors contained in another one
// of the result ("remove any redundant traffic selectors"), leaving the
// policy's range alone.
TEST_CASE("ike ts: narrow drops a selector contained in another one of the result") {
    const std::vector<TrafficSelector> theirs = {range("10.1.2.3", "10.1.2.3", TCP, 1234, 1234),
                                                 selector_of(pfx("10.0.0.0/8"))};
    const auto r = narrow(theirs, prefixes({"10.0.0.0/8"}));
    CHECK(text(r) == "7 0 10.0.0.0-10.255.255.255 0-65535");
}

// ---------------------------------------------------------------------------
// within (initiator)
// ---------------------------------------------------------------------------

TEST_CASE("ike ts: within accepts only subsets of our selectors") {
    const auto ours = prefixes({"10.0.0.0/8", "2001:db8::/32"});
    CHECK(within({selector_of(pfx("10.0.0.0/8"))}, ours));
    CHECK(within({range("10.1.2.0", "10.1.2.255", TCP, 80, 80)}, ours));
    CHECK(within({range("10.0.0.0", "10.0.0.0"), range("10.255.255.255", "10.255.255.255")}, ours));
    CHECK(within({range("2001:db8::1", "2001:db8::ff", UDP, 53, 53)}, ours));
    CHECK(within({selector_of(pfx("10.0.0.0/8")), selector_of(pfx("2001:db8::/32"))}, ours));

    CHECK_FALSE(within({selector_of(pfx("10.0.0.0/7"))}, ours));               // wider
    CHECK_FALSE(within({range("9.255.255.0", "10.0.0.255")}, ours));            // sticks out below
    CHECK_FALSE(within({range("10.255.255.0", "11.0.0.0")}, ours));             // sticks out above
    CHECK_FALSE(within({selector_of(pfx("10.1.0.0/16")),
                        selector_of(pfx("192.168.0.0/16"))}, ours));            // one outside
    CHECK_FALSE(within({selector_of(pfx("2001:db9::/32"))}, ours));
    CHECK_FALSE(within({selector_of(pfx("::/0"))}, ours));
    CHECK_FALSE(within({selector_of(pfx("10.0.0.0/8"))}, prefixes({"2001:db8::/32"})));  // family
    CHECK_FALSE(within({selector_of(pfx("2001:db8::/32"))}, prefixes({"10.0.0.0/8"})));
}

// ---------------------------------------------------------------------------
// prefixes_of
// ---------------------------------------------------------------------------

TEST_CASE("ike ts: prefixes_of an exact prefix is that prefix") {
    for (const char* p : {"10.0.0.0/24", "10.1.2.3/32", "0.0.0.0/0", "128.0.0.0/1",
                          "172.16.16.0/20", "2001:db8::/32", "2001:db8::/100", "2001:db8::1/128",
                          "::/0", "8000::/1"}) {
        CAPTURE(p);
        CHECK(text(prefixes_of({selector_of(pfx(p))})) == p);
    }
}

TEST_CASE("ike ts: prefixes_of arbitrary ranges (python ipaddress.summarize_address_range)") {
    struct Row {
        const char* start;
        const char* end;
        std::vector<std::string> cover;
    };
    const Row rows[] = {
        {"10.0.0.1", "10.0.0.6", {"10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"}},
        {"10.0.0.0", "10.0.0.255", {"10.0.0.0/24"}},
        {"192.168.1.100",
         "192.168.2.20",
         {"192.168.1.100/30", "192.168.1.104/29", "192.168.1.112/28", "192.168.1.128/25",
          "192.168.2.0/28", "192.168.2.16/30", "192.168.2.20/32"}},
        {"0.0.0.0", "255.255.255.255", {"0.0.0.0/0"}},
        {"::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", {"::/0"}},
        {"2001:db8::1",
         "2001:db8::ff",
         {"2001:db8::1/128", "2001:db8::2/127", "2001:db8::4/126", "2001:db8::8/125",
          "2001:db8::10/124", "2001:db8::20/123", "2001:db8::40/122", "2001:db8::80/121"}},
        {"::1", "::1", {"::1/128"}},
    };
    for (const auto& r : rows) {
        CAPTURE(r.start);
        CAPTURE(r.end);
        CHECK(text(prefixes_of({range(r.start, r.end)})) == text(r.cover));
    }
}

TEST_CASE("ike ts: prefixes_of ranges that end at the top address") {
    struct Row {
        const char* start;
        const char* end;
        std::vector<std::string> cover;
    };
    const Row rows[] = {
        {"255.255.255.253", "255.255.255.255", {"255.255.255.253/32", "255.255.255.254/31"}},
        {"255.255.255.255", "255.255.255.255", {"255.255.255.255/32"}},
        {"128.0.0.0", "255.255.255.255", {"128.0.0.0/1"}},
        {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0",
         "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
         {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124"}},
        {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
         "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
         {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"}},
        {"8000::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", {"8000::/1"}},
        // Everything but the top address: one prefix per length.
        {"0.0.0.0",
         "255.255.255.254",
         {"0.0.0.0/1",          "128.0.0.0/2",        "192.0.0.0/3",        "224.0.0.0/4",
          "240.0.0.0/5",        "248.0.0.0/6",        "252.0.0.0/7",        "254.0.0.0/8",
          "255.0.0.0/9",        "255.128.0.0/10",     "255.192.0.0/11",     "255.224.0.0/12",
          "255.240.0.0/13",     "255.248.0.0/14",     "255.252.0.0/15",     "255.254.0.0/16",
          "255.255.0.0/17",     "255.255.128.0/18",   "255.255.192.0/19",   "255.255.224.0/20",
          "255.255.240.0/21",   "255.255.248.0/22",   "255.255.252.0/23",   "255.255.254.0/24",
          "255.255.255.0/25",   "255.255.255.128/26", "255.255.255.192/27", "255.255.255.224/28",
          "255.255.255.240/29", "255.255.255.248/30", "255.255.255.252/31", "255.255.255.254/32"}},
    };
    for (const auto& r : rows) {
        CAPTURE(r.start);
        CAPTURE(r.end);
        CHECK(text(prefixes_of({range(r.start, r.end)})) == text(r.cover));
    }
}

TEST_CASE("ike ts: prefixes_of ignores protocol and ports, and takes several selectors") {
    CHECK(text(prefixes_of({range("10.0.0.1", "10.0.0.6", TCP, 80, 80)})) ==
          text({"10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"}));
    CHECK(text(prefixes_of({selector_of(pfx("10.0.0.0/24")), selector_of(pfx("2001:db8::/64")),
                            range("192.0.2.1", "192.0.2.2")})) ==
          text({"10.0.0.0/24", "2001:db8::/64", "192.0.2.1/32", "192.0.2.2/32"}));
    // The same range twice is covered once.
    CHECK(text(prefixes_of({selector_of(pfx("10.0.0.0/24")), selector_of(pfx("10.0.0.0/24"))})) ==
          "10.0.0.0/24");
    CHECK(prefixes_of({}).empty());
}

// The header promises "the smallest set of prefixes covering exactly the
// selectors' address ranges": overlapping or adjacent selectors (as narrow()
// returns for a §2.9 packet selector plus a policy) need no extra prefixes.
TEST_CASE("ike ts: prefixes_of overlapping or adjacent selectors is the smallest cover") {
    CHECK(text(prefixes_of({range("10.1.2.3", "10.1.2.3", TCP, 1234, 1234),
                            selector_of(pfx("10.0.0.0/8"))})) == "10.0.0.0/8");
    CHECK(text(prefixes_of({selector_of(pfx("10.0.0.0/25")), selector_of(pfx("10.0.0.128/25"))})) ==
          "10.0.0.0/24");
}

// ---------------------------------------------------------------------------
// to_string
// ---------------------------------------------------------------------------

TEST_CASE("ike ts: to_string") {
    CHECK(to_string(selector_of(pfx("10.0.0.0/24"))) == "10.0.0.0/24");
    CHECK(to_string(selector_of(pfx("2001:db8::/32"))) == "2001:db8::/32");
    CHECK(to_string(selector_of(pfx("0.0.0.0/0"))) == "0.0.0.0/0");
    const auto odd = to_string(range("10.0.0.1", "10.0.0.6"));
    for (const char* p : {"10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"}) {
        CAPTURE(p);
        CHECK(odd.find(p) != std::string::npos);
    }
    // Protocol and port limits show.
    const auto https = to_string(range("10.0.0.0", "10.0.0.255", TCP, 443, 443));
    CHECK(https != "10.0.0.0/24");
    CHECK(https.find("10.0.0.0/24") != std::string::npos);
    CHECK(https.find("443") != std::string::npos);
    const auto span = to_string(range("10.0.0.0", "10.0.0.255", UDP, 1000, 2000));
    CHECK(span.find("1000") != std::string::npos);
    CHECK(span.find("2000") != std::string::npos);
    CHECK(span.find("17") != std::string::npos);
}
