// Traps (start = trap, dpd_action = trap) and INVALID_SPI between two
// engines: what the engine asks of the data plane, what it sends when the
// data plane reports an acquire or an unknown SPI.
#include "test_ike_engine_fixture.h"

using namespace ike_engine_test;

namespace {

const esp::IpAddress kA = *esp::IpAddress::parse("192.0.2.1");
const esp::IpAddress kB = *esp::IpAddress::parse("192.0.2.2");
const Endpoint kPeer{kB, 0};  // any port

control::TunnelConfig trapped(const std::string& mode = "tunnel") {
    const bool transport = mode == "transport";
    auto t = tunnel("t", "192.0.2.1", "192.0.2.2", transport ? "192.0.2.1/32" : "10.1.0.0/24",
                    transport ? "192.0.2.2/32" : "10.2.0.0/24", "aes128-sha256-x25519",
                    "aes128gcm16", "k", mode);
    t.start = control::StartAction::trap;
    return t;
}

void add_b(Bed& bed, const std::string& mode = "tunnel") {
    const bool transport = mode == "transport";
    REQUIRE(bed.eb.add_tunnel(tunnel("t", "192.0.2.2", "192.0.2.1",
                                     transport ? "192.0.2.2/32" : "10.2.0.0/24",
                                     transport ? "192.0.2.1/32" : "10.1.0.0/24",
                                     "aes128-sha256-x25519", "aes128gcm16", "k", mode))
                .empty());
}

}  // namespace

TEST_CASE("IKE engine: start = trap waits for traffic, then initiates once") {
    for (const std::string mode : {"tunnel", "transport"}) {
        CAPTURE(mode);
        Bed bed;
        REQUIRE(bed.ea.add_tunnel(trapped(mode)).empty());
        add_b(bed, mode);
        const auto& traps = bed.a.kernel_.traps;
        REQUIRE(traps.count("t") == 1);
        const auto& trap = traps.at("t");
        const std::string lts = mode == "tunnel" ? "10.1.0.0/24" : "192.0.2.1/32";
        const std::string rts = mode == "tunnel" ? "10.2.0.0/24" : "192.0.2.2/32";
        REQUIRE(trap.local_ts.size() == 1);
        REQUIRE(trap.remote_ts.size() == 1);
        CHECK(trap.local_ts[0].to_string() == lts);
        CHECK(trap.remote_ts[0].to_string() == rts);

        bed.ea.start(bed.now);  // trap, not initiate: nothing goes out
        bed.ea.tick(bed.now + std::chrono::seconds(5));
        CHECK(bed.wire.empty());
        CHECK(state_of(bed.ea, "t") == TunnelState::down);

        bed.ea.acquire("t", "10.1.0.5 -> 10.2.0.7 proto 1", bed.now);
        REQUIRE(bed.wire.size() == 1);
        CHECK(bed.wire.front().data[18] == uint8_t(ExchangeType::ike_sa_init));
        bed.ea.acquire("t", "again, while under way", bed.now);  // no second IKE SA
        CHECK(bed.wire.size() == 1);
        bed.run();
        CHECK(state_of(bed.ea, "t") == TunnelState::established);
        check_child_pair(bed);
        bed.ea.acquire("t", "a late one", bed.now);
        CHECK(bed.wire.empty());
        CHECK(bed.ea.counters().acquires == 1);
        CHECK(bed.a.logged("acquire (10.1.0.5 -> 10.2.0.7 proto 1)"));
        bed.ea.acquire("nope", "unknown tunnel", bed.now);  // ignored
        CHECK(bed.wire.empty());

        // The trap outlives the tunnel's SAs and goes with the tunnel.
        REQUIRE(bed.ea.down("t", bed.now).empty());
        bed.run();
        CHECK(traps.count("t") == 1);
        REQUIRE(bed.ea.remove_tunnel("t", bed.now).empty());
        CHECK(traps.empty());
    }
}

TEST_CASE("IKE engine: dpd_action = trap clears the dead peer's SAs and traps its traffic") {
    Bed bed;
    establish(bed, [](auto& a, auto&) {
        a.dpd_seconds = 10;
        a.dpd_action = control::DpdAction::trap;
    });
    CHECK(bed.a.kernel_.traps.empty());  // start = initiate: no trap while the peer lives

    bed.now += std::chrono::seconds(11);
    bed.ea.tick(bed.now);
    for (int i = 0; i < 200 && state_of(bed.ea, "t") == TunnelState::established; ++i) {
        bed.wire.clear();  // the peer is dead
        bed.now += std::chrono::milliseconds(500);
        bed.ea.tick(bed.now);
    }
    CHECK(bed.a.kernel_.sas.empty());
    CHECK(bed.a.kernel_.traps.count("t") == 1);
    CHECK(bed.wire.empty());  // no restart on its own
    bed.ea.tick(bed.now + std::chrono::seconds(30));
    CHECK(bed.wire.empty());

    // Traffic comes: up again.
    bed.ea.acquire("t", "traffic", bed.now);
    REQUIRE(bed.wire.size() == 1);
    CHECK(bed.wire.front().data[18] == uint8_t(ExchangeType::ike_sa_init));
}

TEST_CASE("IKE engine: acquires wait 10 s after an attempt the peer refused") {
    Bed bed;
    REQUIRE(bed.ea.add_tunnel(trapped()).empty());
    REQUIRE(bed.eb.add_tunnel(tunnel("t", "192.0.2.2", "192.0.2.1", "10.2.0.0/24", "10.1.0.0/24",
                                     "aes128-sha256-x25519", "aes128gcm16", "another key"))
                .empty());
    bed.ea.acquire("t", "first packet", bed.now);
    bed.run();  // AUTHENTICATION_FAILED
    CHECK(state_of(bed.ea, "t") == TunnelState::failed);
    bed.ea.acquire("t", "a packet 5 s later", bed.now + std::chrono::seconds(5));
    CHECK(bed.wire.empty());
    CHECK(bed.ea.counters().acquires_held == 1);
    bed.ea.acquire("t", "a packet 11 s later", bed.now + std::chrono::seconds(11));
    REQUIRE(bed.wire.size() == 1);
    CHECK(bed.wire.front().data[18] == uint8_t(ExchangeType::ike_sa_init));
    CHECK(bed.ea.counters().acquires == 2);
}

TEST_CASE("IKE engine: an acquire for an IKE SA without a CHILD SA creates one") {
    Bed bed;
    REQUIRE(bed.ea.add_tunnel(trapped()).empty());
    add_b(bed);
    bed.ea.acquire("t", "first packet", bed.now);
    bed.run();
    REQUIRE(state_of(bed.ea, "t") == TunnelState::established);
    check_child_pair(bed);
    // The peer deletes the CHILD SA alone; the IKE SA stays.
    const auto b_in = bed.b.kernel_.sas.begin()->first.second == esp::SaDirection::inbound
                          ? bed.b.kernel_.sas.begin()->first.first
                          : std::next(bed.b.kernel_.sas.begin())->first.first;
    REQUIRE(bed.eb.ike_sas().size() == 1);
    const_cast<IkeSa*>(bed.eb.ike_sas().front())->to_delete.push_back(b_in);
    bed.eb.tick(bed.now);
    bed.run();
    CHECK(bed.a.kernel_.sas.empty());
    CHECK(state_of(bed.ea, "t") == TunnelState::established);
    bed.ea.acquire("t", "next packet", bed.now);
    REQUIRE(bed.wire.size() == 1);
    CHECK(bed.wire.front().data[18] == uint8_t(ExchangeType::create_child_sa));
    bed.run();
    check_child_pair(bed);
    CHECK(bed.ea.counters().acquires == 2);
}

TEST_CASE("IKE engine: tunnel down or del after a failed rekey neither restarts nor traps") {
    for (const bool del : {false, true}) {
        CAPTURE(del);
        Bed bed;
        establish(bed, [](auto& a, auto& b) {
            a.dpd_action = control::DpdAction::restart;
            a.ike_rekey_seconds = 100;
            a.rekey_seconds = a.dpd_seconds = 0;
            b.rekey_seconds = 50;
            b.ike_rekey_seconds = b.dpd_seconds = 0;
        });
        // B's CHILD SA rekey is under way (its request lost), so B refuses
        // A's IKE SA rekey with TEMPORARY_FAILURE: a failure on a live SA.
        bed.now += std::chrono::seconds(60);
        bed.eb.tick(bed.now);
        REQUIRE(bed.wire.size() == 1);
        bed.wire.clear();
        bed.now += std::chrono::seconds(45);
        bed.ea.tick(bed.now);
        bed.run();
        REQUIRE(bed.ea.ike_sas().size() == 1);
        REQUIRE(bed.ea.ike_sas().front()->failure.find("TEMPORARY_FAILURE") != std::string::npos);

        REQUIRE((del ? bed.ea.remove_tunnel("t", bed.now) : bed.ea.down("t", bed.now)).empty());
        int inits = 0;
        const auto count_inits = [&] {
            for (const auto& p : bed.wire) inits += p.data[18] == uint8_t(ExchangeType::ike_sa_init);
            bed.wire.clear();
        };
        for (int i = 0; i < 100; ++i) {  // the DELETE goes unanswered: retransmitted, given up
            count_inits();
            bed.now += std::chrono::seconds(1);
            bed.ea.tick(bed.now);
        }
        count_inits();
        CHECK(bed.ea.ike_sas().empty());
        CHECK(inits == 0);  // closed on purpose: dpd_action = restart does not apply
        CHECK(bed.a.kernel_.traps.empty());
        CHECK(bed.a.kernel_.sas.empty());
    }
}
