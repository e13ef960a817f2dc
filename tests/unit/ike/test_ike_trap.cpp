// Traps (start = trap, dpd_action = trap) and INVALID_SPI between two
// engines: what the engine asks of the data plane, what it sends when the
// data plane reports an acquire or an unknown SPI.
#include "test_ike_engine_fixture.h"

using namespace ike_engine_test;

namespace {

const esp::IpAddress kA = *esp::IpAddress::parse("192.0.2.1");
const esp::IpAddress kB = *esp::IpAddress::parse("192.0.2.2");

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

TEST_CASE("IKE engine: INVALID_SPI over the IKE SA with the sender, once a second") {
    Bed bed;
    add_pair(bed);
    bed.ea.up("t", bed.now);
    bed.run();
    REQUIRE(state_of(bed.ea, "t") == TunnelState::established);

    bed.ea.invalid_spi(kA, kB, 0xdeadbeef, bed.now);
    REQUIRE(bed.wire.size() == 1);
    CHECK(bed.wire.front().data[18] == uint8_t(ExchangeType::informational));
    bed.run();
    CHECK(bed.b.logged("the peer reports INVALID_SPI 0xdeadbeef"));
    CHECK(state_of(bed.eb, "t") == TunnelState::established);

    for (int i = 0; i < 5; ++i)
        bed.ea.invalid_spi(kA, kB, 0xdeadbeef, bed.now + std::chrono::milliseconds(100 * i));
    CHECK(bed.wire.empty());
    bed.ea.invalid_spi(kA, kB, 0x01020304, bed.now + std::chrono::milliseconds(1001));
    CHECK(bed.wire.size() == 1);
    bed.run();
    CHECK(bed.b.logged("INVALID_SPI 0x01020304"));

    // Not from a peer we share an IKE SA with: nothing sent.
    const auto later = bed.now + std::chrono::seconds(5);
    bed.ea.invalid_spi(kA, *esp::IpAddress::parse("198.51.100.9"), 0xdeadbeef, later);
    bed.ea.invalid_spi(kB, kA, 0xdeadbeef, later);  // wrong way round
    CHECK(bed.wire.empty());
    const auto& c = bed.ea.counters();
    CHECK(c.invalid_spi_sent == 2);
    CHECK(c.invalid_spi_limited == 5);
    CHECK(c.invalid_spi_no_sa == 2);
}
