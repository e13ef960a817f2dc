// Exchanges that cross while an IKE SA is rekeyed, between two engines:
// both peers rekeying the IKE SA at once (RFC 7296 §2.8.2), a CHILD SA
// rekey meeting an IKE SA rekey, and the old IKE SA deleted while our own
// rekey of it is in flight (§2.25, §2.25.2).
#include "test_ike_engine_fixture.h"

#include <algorithm>
#include <optional>

using namespace ike_engine_test;

namespace {

// Both ends rekey the IKE SA after 100 s (at most 10 % earlier each). A
// also rekeys its CHILD SA after 150 s and checks liveness after 60 s of
// silence; B does neither.
void collision_bed(Bed& bed) {
    establish(bed, [](auto& a, auto& b) {
        a.ike_rekey_seconds = b.ike_rekey_seconds = 100;
        a.rekey_seconds = 150;
        a.life_seconds = 5000;
        a.dpd_seconds = 60;
        b.rekey_seconds = b.dpd_seconds = 0;
    });
    REQUIRE(bed.a.kernel_.adds == 2);
    REQUIRE(bed.b.kernel_.adds == 2);
}

uint64_t be64(const Bytes& d, std::size_t off) {
    uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | d[off + i];
    return v;
}

// The IKE SA a datagram belongs to, by the SPIs in its header.
bool of_sa(const Packet& p, const IkeSa& sa) {
    return be64(p.data, 0) == sa.spi_i && be64(p.data, 8) == sa.spi_r;
}

bool is_request(const Packet& p, ExchangeType type) {
    return p.data[18] == uint8_t(type) && !(p.data[19] & kFlagResponse);
}

const auto a_addr = *esp::IpAddress::parse("192.0.2.1");

// Each side has exactly one IKE SA, established, with the same SPIs.
void check_one_ike_sa(const Bed& bed, uint64_t spi_i, uint64_t spi_r) {
    REQUIRE(bed.ea.ike_sas().size() == 1);
    REQUIRE(bed.eb.ike_sas().size() == 1);
    for (const auto* sa : {bed.ea.ike_sas().front(), bed.eb.ike_sas().front()}) {
        CHECK(sa->state == IkeSaState::established);
        CHECK(sa->spi_i == spi_i);
        CHECK(sa->spi_r == spi_r);
        CHECK(sa->children.size() == 1);
    }
}

}  // namespace

TEST_CASE("IKE engine: simultaneous IKE SA rekeys settle on one new IKE SA (RFC 7296 §2.8.2)") {
    // Random nonces decide whose new IKE SA is redundant: run until both
    // orders were seen (the chance of missing one in 64 rounds is 2^-63).
    bool a_lost_seen = false, b_lost_seen = false;
    for (int round = 0; round < 64 && !(a_lost_seen && b_lost_seen); ++round) {
        CAPTURE(round);
        Bed bed;
        collision_bed(bed);
        const IkeSa& old = *bed.ea.ike_sas().front();
        const uint64_t old_i = old.spi_i, old_r = old.spi_r;
        const auto children = spis(bed.a);

        bed.now += std::chrono::seconds(101);
        bed.a.kernel_.packets = 1;  // ESP keeps arriving: A checks no liveness yet
        bed.ea.tick(bed.now);
        bed.eb.tick(bed.now);
        // Both requests are on the wire before either arrives.
        REQUIRE(bed.wire.size() == 2);
        for (const auto& p : bed.wire) CHECK(is_request(p, ExchangeType::create_child_sa));

        // The requests cross, then the answers: each side now has the old
        // IKE SA and the two new ones.
        bed.run([](const Packet&) { return false; }, 4);
        REQUIRE(bed.ea.ike_sas().size() == 3);
        REQUIRE(bed.eb.ike_sas().size() == 3);
        const IkeSa *by_a = nullptr, *by_b = nullptr;  // on A, the new SAs by who made them
        for (const auto* s : bed.ea.ike_sas())
            if (s->spi_i != old_i) (s->initiator() ? by_a : by_b) = s;
        REQUIRE(by_a);
        REQUIRE(by_b);
        // §2.8.2: the new SA whose exchange holds the lowest of the four
        // nonces is redundant.
        const auto lowest = [](const IkeSa* s) { return std::min(s->nonce_i, s->nonce_r); };
        const bool a_lost = lowest(by_a) < lowest(by_b);
        (a_lost ? a_lost_seen : b_lost_seen) = true;
        CAPTURE(a_lost);
        const IkeSa& redundant = a_lost ? *by_a : *by_b;
        const IkeSa& survivor = a_lost ? *by_b : *by_a;
        const uint64_t new_i = survivor.spi_i, new_r = survivor.spi_r;

        // Two DELETEs follow: the redundant SA's from the side that made it,
        // the old SA's from the side whose rekey made the survivor.
        REQUIRE(bed.wire.size() == 2);
        int deletes_of_redundant = 0, deletes_of_old = 0;
        for (const auto& p : bed.wire) {
            REQUIRE(is_request(p, ExchangeType::informational));
            const bool from_a = p.from.addr == a_addr;
            if (of_sa(p, redundant)) {
                ++deletes_of_redundant;
                CHECK(from_a == a_lost);
            } else {
                CHECK(be64(p.data, 0) == old_i);
                CHECK(be64(p.data, 8) == old_r);
                ++deletes_of_old;
                CHECK(from_a == !a_lost);
            }
        }
        CHECK(deletes_of_redundant == 1);
        CHECK(deletes_of_old == 1);

        bed.run();
        check_one_ike_sa(bed, new_i, new_r);
        CHECK(new_i != old_i);
        CHECK(state_of(bed.ea, "t") == TunnelState::established);
        CHECK(state_of(bed.eb, "t") == TunnelState::established);
        // The CHILD SA moved, installed once on each side and never again.
        CHECK(spis(bed.a) == children);
        CHECK(bed.a.kernel_.adds == 2);
        CHECK(bed.b.kernel_.adds == 2);
        check_child_pair(bed);

        // The surviving IKE SA carries on: A's liveness check after 60 s of
        // silence, then the CHILD SA rekey, due since 150 s at the latest.
        bed.a.kernel_.packets = 0;
        bed.now += std::chrono::seconds(61);
        bed.ea.tick(bed.now);
        bed.eb.tick(bed.now);
        REQUIRE(bed.wire.size() == 1);
        CHECK(is_request(bed.wire.front(), ExchangeType::informational));
        CHECK(be64(bed.wire.front().data, 0) == new_i);
        CHECK(be64(bed.wire.front().data, 8) == new_r);
        bed.run();
        check_one_ike_sa(bed, new_i, new_r);
        for (auto spi : spis(bed.a)) CHECK(children.count(spi) == 0);
        CHECK(bed.a.kernel_.adds == 4);
        CHECK(bed.b.kernel_.adds == 4);
        check_child_pair(bed);
    }
    CHECK(a_lost_seen);
    CHECK(b_lost_seen);
}

TEST_CASE("IKE engine: a CHILD SA rekey and an IKE SA rekey that cross are put off (RFC 7296 §2.25.2)") {
    Bed bed;
    establish(bed, [](auto& a, auto& b) {
        a.ike_rekey_seconds = 100;  // A rekeys the IKE SA, B the CHILD SA
        a.rekey_seconds = a.dpd_seconds = 0;
        b.rekey_seconds = 100;
        b.life_seconds = 5000;
        b.ike_rekey_seconds = b.dpd_seconds = 0;
    });
    const uint64_t old_i = bed.ea.ike_sas().front()->spi_i;
    const uint64_t old_r = bed.ea.ike_sas().front()->spi_r;
    const auto children = spis(bed.a);

    bed.now += std::chrono::seconds(101);
    bed.ea.tick(bed.now);
    bed.eb.tick(bed.now);
    REQUIRE(bed.wire.size() == 2);
    for (const auto& p : bed.wire) CHECK(is_request(p, ExchangeType::create_child_sa));
    bed.run();
    // Each refused the other's with TEMPORARY_FAILURE: nothing changed.
    CHECK(bed.a.logged("TEMPORARY_FAILURE"));
    CHECK(bed.b.logged("TEMPORARY_FAILURE"));
    check_one_ike_sa(bed, old_i, old_r);
    CHECK(spis(bed.a) == children);
    CHECK(bed.a.kernel_.adds == 2);
    CHECK(bed.b.kernel_.adds == 2);
    // §2.25: neither tries again at once.
    bed.ea.tick(bed.now);
    bed.eb.tick(bed.now);
    CHECK(bed.wire.empty());

    // A little later both go through, one after the other.
    for (int s = 0; s < 30; ++s) {
        bed.now += std::chrono::seconds(1);
        bed.ea.tick(bed.now);
        bed.eb.tick(bed.now);
        bed.run();
    }
    REQUIRE(bed.ea.ike_sas().size() == 1);
    const IkeSa& now_a = *bed.ea.ike_sas().front();
    CHECK(now_a.spi_i != old_i);
    check_one_ike_sa(bed, now_a.spi_i, now_a.spi_r);
    for (auto spi : spis(bed.a)) CHECK(children.count(spi) == 0);
    CHECK(bed.a.kernel_.adds == 4);
    CHECK(bed.b.kernel_.adds == 4);
    check_child_pair(bed);
}

TEST_CASE("IKE engine: the old IKE SA deleted while our rekey of it is in flight (RFC 7296 §2.25.2)") {
    for (const bool delete_first : {true, false}) {
        CAPTURE(delete_first);
        Bed bed;
        collision_bed(bed);
        const uint64_t old_i = bed.ea.ike_sas().front()->spi_i;
        const auto children = spis(bed.a);

        bed.now += std::chrono::seconds(101);
        bed.a.kernel_.packets = 1;
        bed.ea.tick(bed.now);
        bed.eb.tick(bed.now);
        REQUIRE(bed.wire.size() == 2);
        const Packet req_b = bed.wire.back();
        bed.wire.pop_back();
        // A's request and its answer pass before B's request arrives: A
        // sees no collision, takes its new IKE SA and deletes the old one.
        bed.run([](const Packet&) { return false; }, 2);
        REQUIRE(bed.wire.size() == 1);
        CHECK(is_request(bed.wire.front(), ExchangeType::informational));
        CHECK(be64(bed.wire.front().data, 0) == old_i);
        // B's request reaches the IKE SA A is deleting: TEMPORARY_FAILURE.
        bed.deliver(req_b);
        REQUIRE(bed.wire.size() == 2);
        CHECK(bed.a.logged("TEMPORARY_FAILURE"));
        // B gets A's DELETE of the old IKE SA, or the refusal of its rekey,
        // first; either way it keeps the IKE SA A's rekey made.
        if (!delete_first) std::swap(bed.wire.front(), bed.wire.back());
        bed.run();
        REQUIRE(bed.ea.ike_sas().size() == 1);
        const IkeSa& now_a = *bed.ea.ike_sas().front();
        CHECK(now_a.initiator());
        CHECK(now_a.spi_i != old_i);
        check_one_ike_sa(bed, now_a.spi_i, now_a.spi_r);
        CHECK(spis(bed.a) == children);
        CHECK(bed.a.kernel_.adds == 2);
        CHECK(bed.b.kernel_.adds == 2);
        check_child_pair(bed);
        // B's rekey died with the old IKE SA: nothing is retransmitted.
        bed.now += std::chrono::seconds(5);
        bed.ea.tick(bed.now);
        bed.eb.tick(bed.now);
        CHECK(bed.wire.empty());
    }
}

TEST_CASE("IKE engine: a rekeyed IKE SA goes even if the peer's DELETE of it never comes") {
    Bed bed;
    establish(bed, [](auto& a, auto& b) {
        a.ike_rekey_seconds = 300;
        a.rekey_seconds = b.rekey_seconds = 0;
        a.dpd_seconds = b.dpd_seconds = b.ike_rekey_seconds = 0;
    });

    // Every DELETE A sends is lost.
    const auto lose_deletes = [](const Packet& p) {
        return p.from.addr == a_addr && is_request(p, ExchangeType::informational);
    };
    bed.now += std::chrono::seconds(301);
    bed.ea.tick(bed.now);
    bed.run(lose_deletes);
    REQUIRE(bed.eb.ike_sas().size() == 2);  // B's old IKE SA waits for its DELETE
    // It goes after EngineOptions::rekeyed_timeout (90 s), not before.
    const auto waited = bed.now;
    std::optional<std::chrono::seconds> gone_after;
    for (int s = 0; s < 100; ++s) {
        bed.now += std::chrono::seconds(1);
        bed.ea.tick(bed.now);
        bed.eb.tick(bed.now);
        bed.run(lose_deletes);
        if (!gone_after && bed.eb.ike_sas().size() == 1)
            gone_after = std::chrono::duration_cast<std::chrono::seconds>(bed.now - waited);
    }
    REQUIRE(gone_after);
    CHECK(gone_after->count() == 90);
    CHECK(bed.b.logged("no DELETE came"));
    REQUIRE(bed.ea.ike_sas().size() == 1);
    const IkeSa& now_a = *bed.ea.ike_sas().front();
    check_one_ike_sa(bed, now_a.spi_i, now_a.spi_r);
    check_child_pair(bed);
}
