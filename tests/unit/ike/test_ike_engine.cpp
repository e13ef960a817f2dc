// Two IKE engines negotiating through an in-process network (STYLE.md:
// strongSwan's two peers over a mock sender): whole exchanges, what they
// install in the data plane, failures with the right notification on both
// sides, lost and duplicated messages, retransmission and give-up.
#include "test_ike_engine_fixture.h"

using namespace ike_engine_test;

TEST_CASE("IKE engine: PSK tunnel established between two engines") {
    for (const auto& [ike, esp] : std::vector<std::pair<std::string, std::string>>{
             {"aes128-sha256-x25519", "aes128gcm16"},
             {"aes256gcm16-prfsha384-ecp384", "aes256-sha256"},
             {"chacha20poly1305-prfsha256-x448", "chacha20poly1305"},
             {"aes256-sha512-modp3072", "aes128-sha512-esn"}}) {
        CAPTURE(ike);
        Bed bed;
        add_pair(bed, ike, ike, esp, esp);
        REQUIRE(bed.ea.up("t", bed.now).empty());
        bed.run();
        CHECK(state_of(bed.ea, "t") == TunnelState::established);
        CHECK(state_of(bed.eb, "t") == TunnelState::established);
        check_child_pair(bed);
        CHECK(bed.delivered == 4);  // IKE_SA_INIT and IKE_AUTH, one round trip each

        // tunnel down: DELETE, both data planes empty, both tunnels down.
        REQUIRE(bed.ea.down("t", bed.now).empty());
        bed.run();
        CHECK(bed.a.kernel_.sas.empty());
        CHECK(bed.b.kernel_.sas.empty());
        CHECK(bed.ea.ike_sas().empty());
        CHECK(bed.eb.ike_sas().empty());
    }
}

TEST_CASE("IKE engine: transport mode and narrowing of the responder's selectors") {
    Bed bed;
    add_pair(bed, "aes128-sha256-x25519", "aes128-sha256-x25519", "aes128gcm16-esn",
             "aes128gcm16-esn", "secret one", "transport");
    bed.ea.up("t", bed.now);
    bed.run();
    REQUIRE(state_of(bed.ea, "t") == TunnelState::established);
    check_child_pair(bed);
    for (auto& [k, sa] : bed.a.kernel_.sas) {
        CHECK(sa.config.mode == esp::Mode::transport);
        CHECK(sa.config.esn);
    }

    // The responder allows only a /25 of what the initiator asks for.
    Bed n;
    REQUIRE(n.ea.add_tunnel(tunnel("t", "192.0.2.1", "192.0.2.2", "10.1.0.0/16", "10.2.0.0/16",
                                   "aes128-sha256-x25519", "aes128gcm16", "k"))
                .empty());
    REQUIRE(n.eb.add_tunnel(tunnel("t", "192.0.2.2", "192.0.2.1", "10.2.0.0/25", "10.1.0.0/24",
                                   "aes128-sha256-x25519", "aes128gcm16", "k"))
                .empty());
    n.ea.up("t", n.now);
    n.run();
    REQUIRE(state_of(n.ea, "t") == TunnelState::established);
    for (auto& [k, sa] : n.a.kernel_.sas) {
        REQUIRE(sa.local_ts.size() == 1);
        CHECK(sa.local_ts[0].to_string() == "10.1.0.0/24");
        CHECK(sa.remote_ts[0].to_string() == "10.2.0.0/25");
    }
}

TEST_CASE("IKE engine: failures give the right notification on both sides") {
    SUBCASE("no IKE proposal in common") {
        Bed bed;
        add_pair(bed, "aes128-sha256-x25519", "aes256-sha384-ecp384");
        bed.ea.up("t", bed.now);
        bed.run();
        CHECK(state_of(bed.ea, "t") == TunnelState::failed);
        CHECK(error_of(bed.ea, "t").find("NO_PROPOSAL_CHOSEN") != std::string::npos);
        CHECK(bed.b.logged("no IKE proposal in common"));
        CHECK(bed.eb.ike_sas().empty());
    }
    SUBCASE("no ESP proposal in common: the IKE SA is deleted too") {
        Bed bed;
        add_pair(bed, "aes128-sha256-x25519", "aes128-sha256-x25519", "aes128gcm16", "aes256-sha256");
        bed.ea.up("t", bed.now);
        bed.run();
        CHECK(error_of(bed.ea, "t").find("NO_PROPOSAL_CHOSEN") != std::string::npos);
        CHECK(bed.b.logged("NO_PROPOSAL_CHOSEN"));
        CHECK(bed.a.kernel_.sas.empty());
        CHECK(bed.b.kernel_.sas.empty());
        CHECK(bed.ea.ike_sas().empty());
        CHECK(bed.eb.ike_sas().empty());
    }
    SUBCASE("wrong PSK") {
        Bed bed;
        add_pair(bed, "aes128-sha256-x25519", "aes128-sha256-x25519", "aes128gcm16", "aes128gcm16",
                 "another secret");
        bed.ea.up("t", bed.now);
        bed.run();
        CHECK(error_of(bed.ea, "t").find("AUTHENTICATION_FAILED") != std::string::npos);
        CHECK(bed.b.logged("pre-shared key mismatch"));
        CHECK(bed.a.kernel_.sas.empty());
        CHECK(bed.b.kernel_.sas.empty());
        CHECK(bed.eb.ike_sas().empty());
    }
    SUBCASE("the responder asks for another DH group") {
        Bed bed;
        add_pair(bed, "aes128-sha256-x25519-ecp256", "aes128-sha256-ecp256");
        bed.ea.up("t", bed.now);
        bed.run();
        CHECK(state_of(bed.ea, "t") == TunnelState::established);
        CHECK(bed.a.logged("INVALID_KE_PAYLOAD"));
        CHECK(bed.delivered == 6);
    }
    SUBCASE("traffic selectors that do not meet") {
        Bed bed;
        REQUIRE(bed.ea.add_tunnel(tunnel("t", "192.0.2.1", "192.0.2.2", "10.1.0.0/24", "10.2.0.0/24",
                                         "aes128-sha256-x25519", "aes128gcm16", "k"))
                    .empty());
        REQUIRE(bed.eb.add_tunnel(tunnel("t", "192.0.2.2", "192.0.2.1", "10.9.0.0/24", "10.1.0.0/24",
                                         "aes128-sha256-x25519", "aes128gcm16", "k"))
                    .empty());
        bed.ea.up("t", bed.now);
        bed.run();
        CHECK(error_of(bed.ea, "t").find("TS_UNACCEPTABLE") != std::string::npos);
        CHECK(bed.a.kernel_.sas.empty());
    }
}

TEST_CASE("IKE engine: lost and duplicated messages, retransmission, give-up") {
    SUBCASE("the first IKE_AUTH request is lost") {
        Bed bed;
        add_pair(bed);
        bed.ea.up("t", bed.now);
        int auth_requests = 0;
        bed.run([&](const Packet& p) {
            // The third datagram is the IKE_AUTH request.
            return p.to.port == 4500 || (p.data.size() > 18 && p.data[18] == 35 && ++auth_requests == 1);
        });
        CHECK(state_of(bed.ea, "t") == TunnelState::connecting);
        bed.now += std::chrono::seconds(3);
        bed.ea.tick(bed.now);
        bed.run();
        CHECK(state_of(bed.ea, "t") == TunnelState::established);
        CHECK(state_of(bed.eb, "t") == TunnelState::established);
    }
    SUBCASE("duplicated requests are answered from the cache, once processed") {
        Bed bed;
        add_pair(bed);
        bed.ea.up("t", bed.now);
        bed.run([&](const Packet& p) {
            // Every request arrives twice.
            if (!(p.data[19] & kFlagResponse)) bed.wire.push_front(p);
            return false;
        }, 20);
        bed.run();
        CHECK(state_of(bed.ea, "t") == TunnelState::established);
        CHECK(bed.b.kernel_.adds == 2);  // the CHILD SA was installed once
        CHECK(bed.a.kernel_.adds == 2);
    }
    SUBCASE("no answer at all: retransmits with back-off, then gives up") {
        Bed bed;
        add_pair(bed);
        bed.ea.up("t", bed.now);
        std::vector<TimePoint> sends;
        for (int i = 0; i < 200 && state_of(bed.ea, "t") == TunnelState::connecting; ++i) {
            while (!bed.wire.empty()) {
                sends.push_back(bed.now);
                bed.wire.pop_front();
            }
            bed.now += std::chrono::milliseconds(500);
            bed.ea.tick(bed.now);
        }
        CHECK(state_of(bed.ea, "t") == TunnelState::failed);
        CHECK(error_of(bed.ea, "t").find("giving up") != std::string::npos);
        REQUIRE(sends.size() == 5);  // the request and 4 retransmissions
        for (std::size_t i = 2; i < sends.size(); ++i)
            CHECK(sends[i] - sends[i - 1] >= 2 * (sends[i - 1] - sends[i - 2]) - std::chrono::milliseconds(500));
    }
    SUBCASE("an unknown critical payload in IKE_SA_INIT is answered and leaves no state") {
        Bed bed;
        add_pair(bed);
        bed.ea.up("t", bed.now);
        REQUIRE(bed.wire.size() == 1);
        Packet p = bed.wire.front();
        bed.wire.clear();
        // Append a payload of unknown type 200 with the critical bit after the
        // last one: chain it from the last payload's Next Payload field.
        std::size_t off = 28;
        uint8_t* next = &p.data[16];
        while (*next != 0) {
            const std::size_t len = (std::size_t(p.data[off + 2]) << 8) | p.data[off + 3];
            next = &p.data[off];
            off += len;
        }
        *next = 200;
        const uint8_t unknown[8] = {0, 0x80, 0, 8, 1, 2, 3, 4};
        p.data.insert(p.data.end(), unknown, unknown + 8);
        const uint32_t total = static_cast<uint32_t>(p.data.size());
        p.data[24] = uint8_t(total >> 24);
        p.data[25] = uint8_t(total >> 16);
        p.data[26] = uint8_t(total >> 8);
        p.data[27] = uint8_t(total);
        bed.eb.receive(p.to, p.from, p.data, bed.now);
        REQUIRE(bed.wire.size() == 1);
        const auto& answer = bed.wire.front().data;
        // A response carrying N(UNSUPPORTED_CRITICAL_PAYLOAD) naming type 200.
        CHECK((answer[19] & kFlagResponse) != 0);
        CHECK(answer[16] == uint8_t(PayloadType::notify));
        CHECK(answer[28 + 6] == 0);
        CHECK(answer[28 + 7] == 1);
        CHECK(answer.back() == 200);
        CHECK(bed.eb.ike_sas().empty());
    }
    SUBCASE("a half-open responder SA times out") {
        Bed bed;
        add_pair(bed);
        bed.ea.up("t", bed.now);
        bed.run([&](const Packet& p) { return p.data[18] == 35; });  // IKE_AUTH never arrives
        REQUIRE(bed.eb.ike_sas().size() == 1);
        CHECK(bed.eb.next_deadline().has_value());
        bed.now += std::chrono::seconds(31);
        bed.eb.tick(bed.now);
        CHECK(bed.eb.ike_sas().empty());
        CHECK(bed.b.logged("timed out before IKE_AUTH"));
    }
    SUBCASE("garbage and unknown SPIs are counted and change nothing") {
        Bed bed;
        add_pair(bed);
        bed.ea.up("t", bed.now);
        bed.run();
        const Bytes junk(40, 0x5a);
        bed.eb.receive({*esp::IpAddress::parse("192.0.2.2"), 500},
                       {*esp::IpAddress::parse("192.0.2.1"), 500}, junk, bed.now);
        CHECK(bed.eb.counters().dropped_malformed == 1);
        CHECK(state_of(bed.eb, "t") == TunnelState::established);
        CHECK(bed.b.kernel_.sas.size() == 2);
    }
}

TEST_CASE("IKE engine: IKE fragmentation (RFC 7383) with lost and duplicated fragments") {
    EngineOptions small;
    small.fragment_ip_size = 180;  // every IKE_AUTH message goes in several fragments
    Bed bed(small);
    add_pair(bed);
    bed.ea.up("t", bed.now);
    int skf = 0, dropped = 0;
    std::size_t largest = 0;
    bed.run([&](const Packet& p) {
        if (p.data[16] != uint8_t(PayloadType::skf)) return false;
        ++skf;
        largest = std::max(largest, p.data.size());
        // The second fragment of the first IKE_AUTH request is lost; the first
        // arrives twice.
        const uint16_t number = uint16_t((p.data[32] << 8) | p.data[33]);
        if (!(p.data[19] & kFlagResponse) && number == 2 && dropped++ == 0) return true;
        if (!(p.data[19] & kFlagResponse) && number == 1 && skf == 1) bed.wire.push_front(p);
        return false;
    });
    CHECK(state_of(bed.ea, "t") == TunnelState::connecting);  // a fragment is missing
    bed.now += std::chrono::seconds(3);
    bed.ea.tick(bed.now);  // the whole request again
    bed.run([&](const Packet& p) {
        if (p.data[16] == uint8_t(PayloadType::skf)) {
            ++skf;
            largest = std::max(largest, p.data.size());
        }
        return false;
    });
    CHECK(skf >= 7);  // request (2+ fragments, one twice) sent twice, response in 2+
    CHECK(state_of(bed.ea, "t") == TunnelState::established);
    CHECK(state_of(bed.eb, "t") == TunnelState::established);
    check_child_pair(bed);
    CHECK(largest <= 180 - 28);  // IPv4 and UDP headers, no NAT-T marker here
}

TEST_CASE("IKE engine: IKE fragments fit the path MTU when it is below the configured size") {
    Bed bed;  // fragment_ip_size 1280: IKE_AUTH fits in one datagram...
    add_pair(bed);
    bed.a.mtu = 200;  // ...but not A's path to B (RFC 7383 §2.5.1)
    bed.ea.up("t", bed.now);
    std::size_t from_a = 0, from_b = 0;  // the largest protected datagram each side sent
    int a_fragments = 0;
    bed.run([&](const Packet& p) {
        if (p.data[18] == uint8_t(ExchangeType::ike_sa_init)) return false;  // never fragmented
        const bool mine = p.from.addr == *esp::IpAddress::parse("192.0.2.1");
        auto& largest = mine ? from_a : from_b;
        largest = std::max(largest, p.data.size());
        if (mine && p.data[16] == uint8_t(PayloadType::skf)) ++a_fragments;
        return false;
    });
    CHECK(state_of(bed.ea, "t") == TunnelState::established);
    check_child_pair(bed);
    CHECK(a_fragments >= 2);
    CHECK(from_a <= 200 - 28);  // IPv4 and UDP headers
    CHECK(from_b > 200 - 28);   // B's path is not limited: its IKE_AUTH answer in one piece
}

TEST_CASE("IKE engine: dead-peer detection clears or restarts the tunnel") {
    for (const std::string action : {"clear", "restart"}) {
        CAPTURE(action);
        Bed bed;
        establish(bed, [&](auto& a, auto&) {
            a.dpd_seconds = 10;
            a.dpd_action = action == "restart" ? control::DpdAction::restart : control::DpdAction::clear;
        });

        // A live peer answers the check and nothing changes.
        bed.now += std::chrono::seconds(11);
        bed.ea.tick(bed.now);
        REQUIRE(bed.wire.size() == 1);
        bed.run();
        CHECK(state_of(bed.ea, "t") == TunnelState::established);

        // Then the peer dies: the check goes unanswered until the give-up.
        bed.now += std::chrono::seconds(11);
        bed.ea.tick(bed.now);
        for (int i = 0; i < 200 && state_of(bed.ea, "t") == TunnelState::established; ++i) {
            bed.wire.clear();
            bed.now += std::chrono::milliseconds(500);
            bed.ea.tick(bed.now);
        }
        CHECK(bed.a.kernel_.sas.empty());
        if (action == "clear") {
            CHECK(state_of(bed.ea, "t") == TunnelState::failed);
            CHECK(error_of(bed.ea, "t").find("giving up") != std::string::npos);
            CHECK(bed.wire.empty());
        } else {
            CHECK(state_of(bed.ea, "t") == TunnelState::connecting);
            REQUIRE(bed.wire.size() == 1);  // a new IKE_SA_INIT
            CHECK(bed.wire.front().data[18] == uint8_t(ExchangeType::ike_sa_init));
        }
    }
}

namespace {

void rekey_bed(Bed& bed, unsigned a_rekey, unsigned b_rekey, const std::string& esp = "aes128gcm16") {
    establish(
        bed,
        [&](auto& a, auto& b) {
            a.rekey_seconds = a_rekey;
            b.rekey_seconds = b_rekey;
            a.dpd_seconds = b.dpd_seconds = 0;
        },
        esp);
}

}  // namespace

TEST_CASE("IKE engine: CHILD SA rekeys we start, with and without PFS") {
    for (const std::string esp : {"aes128gcm16", "aes256-sha256-ecp256"}) {
        CAPTURE(esp);
        Bed bed;
        rekey_bed(bed, 100, 0, esp);
        const auto before = spis(bed.a);
        bed.now += std::chrono::seconds(101);
        bed.ea.tick(bed.now);
        int exchanges = 0;
        bed.run([&](const Packet& p) {
            if (!(p.data[19] & kFlagResponse)) ++exchanges;
            return false;
        });
        CHECK(exchanges == 2);  // CREATE_CHILD_SA, then the DELETE of the old SA
        check_child_pair(bed);   // one pair left, keys matching across the peers
        for (auto spi : spis(bed.a)) CHECK(before.count(spi) == 0);
        CHECK(bed.a.logged("CHILD SA"));
        // The next rekey comes one period later, not at once.
        bed.ea.tick(bed.now + std::chrono::seconds(1));
        CHECK(bed.wire.empty());
    }
}

TEST_CASE("IKE engine: rekeys on demand (xdpsecctl tunnel rekey) with rekeying off") {
    Bed bed;
    rekey_bed(bed, 0, 0);
    CHECK(bed.ea.rekey("nope", false, bed.now) == "no tunnel nope");
    const auto children = spis(bed.a);
    const uint64_t ike_spi = bed.ea.ike_sas().front()->spi_i;

    REQUIRE(bed.eb.rekey("t", false, bed.now).empty());  // the responder may start it too
    CHECK(bed.eb.rekey("t", false, bed.now) ==
          "tunnel t: no CHILD SA to rekey (or its rekey is under way)");
    bed.run();
    check_child_pair(bed);
    for (auto spi : spis(bed.a)) CHECK(children.count(spi) == 0);
    CHECK(bed.ea.ike_sas().front()->spi_i == ike_spi);

    REQUIRE(bed.ea.rekey("t", true, bed.now).empty());
    CHECK(bed.ea.rekey("t", true, bed.now) == "tunnel t: an IKE SA rekey is already under way");
    bed.run();
    REQUIRE(bed.ea.ike_sas().size() == 1);
    REQUIRE(bed.eb.ike_sas().size() == 1);
    CHECK(bed.ea.ike_sas().front()->spi_i != ike_spi);
    CHECK(bed.ea.ike_sas().front()->spi_i == bed.eb.ike_sas().front()->spi_i);
    check_child_pair(bed);
    // Nothing more comes by itself: CHILD SA rekeying is off (the IKE SA's
    // comes after ike_rekey_time, 4 h).
    bed.now += std::chrono::hours(1);
    bed.ea.tick(bed.now);
    bed.eb.tick(bed.now);
    CHECK(bed.wire.empty());

    REQUIRE(bed.ea.down("t", bed.now).empty());
    bed.run();
    CHECK(bed.ea.rekey("t", false, bed.now) == "tunnel t has no established IKE SA");
}

TEST_CASE("IKE engine: answering a CHILD SA rekey, outbound traffic moves once the peer has the SA") {
    // Make-before-break on the responder: the new outbound SA waits for the
    // initiator's DELETE of the old one (or, failing that, a few seconds).
    for (const bool delete_arrives : {true, false}) {
        CAPTURE(delete_arrives);
        Bed bed;
        rekey_bed(bed, 100, 0);
        const auto before_a = spis(bed.a);
        uint32_t a_old_in = 0;
        for (const auto& [k, sa] : bed.a.kernel_.sas)
            if (k.second == esp::SaDirection::inbound) a_old_in = k.first;
        bed.now += std::chrono::seconds(101);
        bed.ea.tick(bed.now);
        REQUIRE(bed.wire.size() == 1);
        bed.deliver(bed.wire.front());  // the request: B answers
        bed.wire.pop_front();
        REQUIRE(bed.wire.size() == 1);
        bed.deliver(bed.wire.front());  // the answer: A installs both, sends DELETE
        bed.wire.pop_front();
        uint32_t a_new_in = 0, a_new_out = 0;
        for (const auto& [k, sa] : bed.a.kernel_.sas)
            if (!before_a.count(k.first))
                (k.second == esp::SaDirection::inbound ? a_new_in : a_new_out) = k.first;
        REQUIRE(a_new_in != 0);
        REQUIRE(a_new_out != 0);
        CHECK(bed.b.kernel_.sas.count({a_new_out, esp::SaDirection::inbound}) == 1);
        CHECK(bed.b.kernel_.sas.count({a_new_in, esp::SaDirection::outbound}) == 0);
        CHECK(bed.b.kernel_.sas.count({a_old_in, esp::SaDirection::outbound}) == 1);  // still carrying
        REQUIRE(bed.wire.size() == 1);  // A's DELETE of the old CHILD SA
        if (delete_arrives) {
            bed.run();
        } else {
            bed.wire.clear();
            bed.eb.tick(bed.now + std::chrono::seconds(1));
            CHECK(bed.b.kernel_.sas.count({a_new_in, esp::SaDirection::outbound}) == 0);
            bed.eb.tick(bed.now + std::chrono::seconds(6));
        }
        CHECK(bed.b.kernel_.sas.count({a_new_in, esp::SaDirection::outbound}) == 1);
        if (delete_arrives) check_child_pair(bed);
    }
}

TEST_CASE("IKE engine: simultaneous CHILD SA rekeys settle on one pair (RFC 7296 §2.8.1)") {
    for (int round = 0; round < 8; ++round) {  // random nonces decide who loses
        CAPTURE(round);
        Bed bed;
        rekey_bed(bed, 100, 100);
        const auto before = spis(bed.a);
        bed.now += std::chrono::seconds(101);
        bed.ea.tick(bed.now);
        bed.eb.tick(bed.now);  // both requests are on the wire before either arrives
        REQUIRE(bed.wire.size() == 2);
        bed.run();
        check_child_pair(bed);
        for (auto spi : spis(bed.a)) CHECK(before.count(spi) == 0);
        // Two new pairs were made; the redundant one and the old one were
        // deleted, each by one side.
        int deletes = 0;
        for (const auto* p : {&bed.a, &bed.b})
            for (const auto& l : p->logs) deletes += l.find(" deleted") != std::string::npos;
        CHECK(deletes == 2);
        CHECK(state_of(bed.ea, "t") == TunnelState::established);
        CHECK(state_of(bed.eb, "t") == TunnelState::established);
    }
}

TEST_CASE("IKE engine: COOKIE above the half-open threshold, a cap per source (RFC 7296 §2.6)") {
    SUBCASE("cookies on: the initiator comes back with the cookie and gets in") {
        EngineOptions o;
        o.cookie_threshold = 0;  // every new IKE_SA_INIT must bring a cookie
        Bed bed(o);
        add_pair(bed);
        bed.ea.up("t", bed.now);
        // The first answer carries only the COOKIE and leaves no state.
        REQUIRE(bed.wire.size() == 1);
        bed.run([](const Packet&) { return false; }, 1);
        CHECK(bed.eb.ike_sas().empty());
        CHECK(bed.eb.counters().cookies_sent == 1);
        bed.run();
        CHECK(state_of(bed.ea, "t") == TunnelState::established);
        CHECK(state_of(bed.eb, "t") == TunnelState::established);
        CHECK(bed.delivered == 6);
        check_child_pair(bed);
    }
    SUBCASE("a wrong cookie gets a new one, never state") {
        EngineOptions o;
        o.cookie_threshold = 0;
        Bed bed(o);
        add_pair(bed);
        bed.ea.up("t", bed.now);
        bed.run([](const Packet&) { return false; }, 2);  // request, COOKIE answer
        REQUIRE(bed.wire.size() == 1);                   // the retry, cookie first
        Packet p = bed.wire.front();
        bed.wire.clear();
        // The cookie's last byte sits before the SA payload; flip one in the
        // notify data (first payload: 4 header + 4 notify fields, data at 36).
        p.data[40] ^= 1;
        bed.eb.receive(p.to, p.from, p.data, bed.now);
        CHECK(bed.eb.ike_sas().empty());
        CHECK(bed.eb.counters().cookies_sent == 2);
    }
    SUBCASE("half-open SAs per source are capped") {
        EngineOptions o;
        o.half_open_per_source = 1;
        Bed bed(o);
        add_pair(bed);
        REQUIRE(bed.ea.add_tunnel(tunnel("u", "192.0.2.1", "192.0.2.2", "10.1.1.0/24", "10.2.1.0/24",
                                         "aes128-sha256-x25519", "aes128gcm16", "k"))
                    .empty());
        bed.ea.up("t", bed.now);
        bed.ea.up("u", bed.now);
        REQUIRE(bed.wire.size() == 2);
        // Both requests reach B before any IKE_AUTH: the second is one too many.
        bed.run([](const Packet&) { return false; }, 2);
        CHECK(bed.eb.ike_sas().size() == 1);
        CHECK(bed.eb.counters().dropped_half_open_cap == 1);
    }
}

TEST_CASE("IKE engine: behind a NAT: port 4500, ESP in UDP with the mapped port, keepalives") {
    Bed bed;
    add_pair(bed);
    bed.ea.up("t", bed.now);
    const auto a_addr = *esp::IpAddress::parse("192.0.2.1");
    // A NAT in front of A maps its ports 500 -> 30500 and 4500 -> 34500.
    const auto translate = [&](Packet& p) {
        if (p.from.addr == a_addr) p.from.port = uint16_t(p.from.port + 30000);
        if (p.to.addr == a_addr) p.to.port = uint16_t(p.to.port - 30000);
    };
    for (int i = 0; i < 50 && !bed.wire.empty(); ++i) {
        Packet p = std::move(bed.wire.front());
        bed.wire.pop_front();
        translate(p);
        (p.to.addr == a_addr ? bed.ea : bed.eb).receive(p.to, p.from, p.data, bed.now);
    }
    REQUIRE(state_of(bed.ea, "t") == TunnelState::established);
    const auto* a = bed.ea.ike_sas().front();
    const auto* b = bed.eb.ike_sas().front();
    CHECK(a->nat_here);
    CHECK_FALSE(a->nat_there);
    CHECK(b->nat_there);
    CHECK(a->local.port == 4500);
    CHECK(b->remote.port == 34500);  // B answers the mapping
    // ESP in UDP: B sends to the mapped port, A from 4500 to 4500.
    for (const auto& [k, sa] : bed.b.kernel_.sas) {
        REQUIRE(sa.config.udp_encap);
        CHECK(sa.config.udp_encap->remote_port == 34500);
    }
    for (const auto& [k, sa] : bed.a.kernel_.sas) {
        REQUIRE(sa.config.udp_encap);
        CHECK(sa.config.udp_encap->local_port == 4500);
    }
    // Keepalives from A (behind the NAT) every 20 s; none from B.
    for (int s = 0; s < 61; ++s) {
        bed.now += std::chrono::seconds(1);
        bed.ea.tick(bed.now);
        bed.eb.tick(bed.now);
    }
    CHECK(bed.a.keepalives.size() == 3);
    CHECK(bed.b.keepalives.empty());
    if (!bed.a.keepalives.empty()) CHECK(bed.a.keepalives.front().from.port == 4500);
}

TEST_CASE("IKE engine: IKE SA rekeys we start; the CHILD SAs move along") {
    Bed bed;
    establish(bed, [](auto& a, auto& b) {
        a.ike_rekey_seconds = 100;
        a.rekey_seconds = 1000;
        a.life_seconds = 5000;
        a.dpd_seconds = 0;
        b.ike_rekey_seconds = b.rekey_seconds = b.dpd_seconds = 0;
    });
    const auto old_spi = bed.ea.ike_sas().front()->spi_i;
    const auto children = spis(bed.a);

    bed.now += std::chrono::seconds(101);
    bed.ea.tick(bed.now);
    bed.run();
    REQUIRE(bed.ea.ike_sas().size() == 1);
    REQUIRE(bed.eb.ike_sas().size() == 1);
    const auto* na = bed.ea.ike_sas().front();
    const auto* nb = bed.eb.ike_sas().front();
    CHECK(na->spi_i != old_spi);
    CHECK(na->initiator());
    CHECK(na->spi_i == nb->spi_i);
    CHECK(na->spi_r == nb->spi_r);
    CHECK(na->children.size() == 1);
    CHECK(nb->children.size() == 1);
    CHECK(spis(bed.a) == children);  // the CHILD SAs stayed installed
    check_child_pair(bed);

    // The new IKE SA carries the next exchanges: a CHILD SA rekey (once the
    // IKE SA's own second rekey, due too, is done), then DELETE.
    bed.now += std::chrono::seconds(1000);
    bed.ea.tick(bed.now);
    bed.run();
    bed.ea.tick(bed.now);
    bed.run();
    check_child_pair(bed);
    CHECK(spis(bed.a) != children);
    REQUIRE(bed.ea.down("t", bed.now).empty());
    bed.run();
    CHECK(bed.a.kernel_.sas.empty());
    CHECK(bed.b.kernel_.sas.empty());
    CHECK(bed.eb.ike_sas().empty());
}

TEST_CASE("IKE engine: an IKE SA nobody rekeyed is deleted at its hard lifetime") {
    Bed bed;
    control::TunnelOptions o = {{"local", "192.0.2.1"},        {"remote", "192.0.2.2"},
                                {"local_ts", "10.1.0.0/24"},   {"remote_ts", "10.2.0.0/24"},
                                {"auth", "psk"},               {"psk", "k"},
                                {"ike", "aes128-sha256-x25519"}, {"esp", "aes128gcm16"},
                                {"ike_rekey_time", "0"},       {"ike_life_time", "200"},
                                {"dpd", "0"}};
    auto a = control::parse_tunnel_options("t", o);
    REQUIRE(a.ok());
    CHECK(a.value().ike_life_seconds == 200);
    REQUIRE(bed.ea.add_tunnel(std::move(a).value()).empty());
    auto b = tunnel("t", "192.0.2.2", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24",
                    "aes128-sha256-x25519", "aes128gcm16", "k");
    b.ike_rekey_seconds = 0;
    b.dpd_seconds = 0;
    REQUIRE(bed.eb.add_tunnel(b).empty());
    bed.ea.up("t", bed.now);
    bed.run();
    REQUIRE(state_of(bed.ea, "t") == TunnelState::established);

    bed.ea.tick(bed.now + std::chrono::seconds(199));
    CHECK(bed.wire.empty());
    bed.now += std::chrono::seconds(200);
    bed.ea.tick(bed.now);
    REQUIRE(bed.wire.size() == 1);  // the DELETE of the IKE SA
    bed.run();
    CHECK(bed.a.kernel_.sas.empty());
    CHECK(bed.b.kernel_.sas.empty());
    CHECK(bed.ea.ike_sas().empty());
    CHECK(bed.eb.ike_sas().empty());
    CHECK(state_of(bed.ea, "t") == TunnelState::failed);
    CHECK(error_of(bed.ea, "t").find("hard lifetime (200 s)") != std::string::npos);

    // Not before the first planned replacement: it would never happen.
    o.back() = {"ike_rekey_time", "1000"};
    o[o.size() - 3] = {"dpd", "0"};  // was ike_rekey_time
    o[o.size() - 2] = {"ike_life_time", "900"};
    const auto refused = control::parse_tunnel_options("d", o);
    REQUIRE_FALSE(refused.ok());
    CHECK(control::format_errors(refused.error()) ==
          "tunnel add d: --ike-life-time: must be longer than ike_rekey_time (or reauth_time, if "
          "sooner)\n");
}

TEST_CASE("IKE engine: reauth_time sets no hard lifetime on the responder, which never reauthenticates") {
    Bed bed;
    establish(bed, [](auto& a, auto& b) {
        a.ike_rekey_seconds = a.rekey_seconds = a.dpd_seconds = 0;
        b.reauth_seconds = 100;  // B answers: reauthenticating is A's to do
        b.ike_rekey_seconds = b.rekey_seconds = b.dpd_seconds = 0;
    });
    bed.now += std::chrono::seconds(1000);
    bed.eb.tick(bed.now);
    CHECK(bed.wire.empty());
    CHECK(state_of(bed.eb, "t") == TunnelState::established);
    CHECK(bed.b.kernel_.sas.size() == 2);
}

TEST_CASE("IKE engine: CHILD SA lifetimes: rekey on packets, delete at the hard lifetime") {
    SUBCASE("rekey_packets from the data plane's counters") {
        Bed bed;
        establish(bed, [](auto& a, auto&) {
            a.rekey_packets = 1000;
            a.dpd_seconds = 0;
        });
        const auto before = spis(bed.a);
        bed.a.kernel_.packets = 999;
        bed.ea.tick(bed.now);
        CHECK(bed.wire.empty());
        bed.a.kernel_.packets = 1000;
        bed.ea.tick(bed.now);
        REQUIRE(bed.wire.size() == 1);
        CHECK(bed.wire.front().data[18] == uint8_t(ExchangeType::create_child_sa));
        bed.a.kernel_.packets = 0;  // the new SA has carried nothing yet
        bed.run();
        check_child_pair(bed);
        for (auto spi : spis(bed.a)) CHECK(before.count(spi) == 0);
    }
    SUBCASE("a CHILD SA not rekeyed by its hard lifetime is deleted") {
        Bed bed;
        establish(bed, [](auto& a, auto&) {
            a.rekey_seconds = 0;  // nobody rekeys
            a.life_seconds = 50;
            a.dpd_seconds = 0;
        });
        bed.now += std::chrono::seconds(49);
        bed.ea.tick(bed.now);
        CHECK(bed.wire.empty());
        bed.now += std::chrono::seconds(2);
        bed.ea.tick(bed.now);
        bed.run();
        CHECK(bed.a.kernel_.sas.empty());
        CHECK(bed.b.kernel_.sas.empty());
        CHECK(bed.a.logged("hard lifetime"));
    }
}

TEST_CASE("IKE engine: reauthentication builds a new IKE SA before the old one goes") {
    Bed bed;
    establish(bed, [](auto& a, auto&) {
        a.reauth_seconds = 100;
        a.rekey_seconds = a.ike_rekey_seconds = a.dpd_seconds = 0;
    });
    const auto old_spi = bed.ea.ike_sas().front()->spi_i;
    const auto old_children = spis(bed.a);

    bed.now += std::chrono::seconds(101);
    bed.ea.tick(bed.now);
    // The new IKE_SA_INIT goes out while the old SA and its CHILD SA stay.
    REQUIRE(bed.wire.size() == 1);
    CHECK(bed.wire.front().data[18] == uint8_t(ExchangeType::ike_sa_init));
    CHECK(state_of(bed.ea, "t") == TunnelState::established);
    CHECK(bed.a.kernel_.sas.size() == 2);
    bed.run();
    REQUIRE(bed.ea.ike_sas().size() == 1);
    REQUIRE(bed.eb.ike_sas().size() == 1);
    CHECK(bed.ea.ike_sas().front()->spi_i != old_spi);
    CHECK(state_of(bed.ea, "t") == TunnelState::established);
    check_child_pair(bed);
    for (auto spi : spis(bed.a)) CHECK(old_children.count(spi) == 0);
}
