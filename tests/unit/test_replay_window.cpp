#include "esp/replay_window.h"

#include <doctest/doctest.h>

#include <cstdint>

using xdpsec::esp::EspDrop;
using xdpsec::esp::ReplayWindow;

namespace {

// Runs one packet through the window as decapsulation does: check, then
// accept only what passed (the ICV is assumed good here).
EspDrop receive(ReplayWindow& w, uint32_t seq_low) {
    const auto c = w.check(seq_low);
    if (c.verdict == EspDrop::none) w.accept(c.seq);
    return c.verdict;
}

}  // namespace

TEST_CASE("replay window: in order, duplicates, reordering, too old") {
    for (uint32_t size : {32u, 64u, 4096u}) {
        CAPTURE(size);
        ReplayWindow w(size, false);
        CHECK(receive(w, 0) == EspDrop::too_old);  // sequence numbers start at 1
        for (uint32_t s = 1; s <= 3 * size; ++s) REQUIRE(receive(w, s) == EspDrop::none);
        CHECK(w.top() == 3 * size);
        CHECK(w.bottom() == 2 * size + 1);
        CHECK(receive(w, 3 * size) == EspDrop::replayed);
        CHECK(receive(w, 2 * size + 1) == EspDrop::replayed);  // bottom edge, seen
        CHECK(receive(w, 2 * size) == EspDrop::too_old);       // just left of the window

        // A jump leaves a hole that late packets may fill exactly once.
        const uint32_t top = 3 * size + size / 2;
        REQUIRE(receive(w, top) == EspDrop::none);
        for (uint32_t s = top - 1; s > top - size; --s) {
            REQUIRE(receive(w, s) == (s <= 3 * size ? EspDrop::replayed : EspDrop::none));
        }
        for (uint32_t s = top - 1; s > top - size; --s) REQUIRE(receive(w, s) == EspDrop::replayed);
        CHECK(receive(w, top - size + 1) == EspDrop::replayed);
        CHECK(receive(w, top - size) == EspDrop::too_old);
    }
}

TEST_CASE("replay window: check alone never moves the window") {
    ReplayWindow w(64, false);
    REQUIRE(receive(w, 100) == EspDrop::none);
    const auto c = w.check(200);  // e.g. the ICV then fails: accept() is not called
    CHECK(c.verdict == EspDrop::none);
    CHECK(w.top() == 100);
    CHECK(receive(w, 50) == EspDrop::none);  // still inside the unmoved window
}

TEST_CASE("replay window: a jump larger than the window clears it") {
    ReplayWindow w(64, false);
    for (uint32_t s = 1; s <= 64; ++s) REQUIRE(receive(w, s) == EspDrop::none);
    REQUIRE(receive(w, 1000) == EspDrop::none);
    for (uint32_t s = 937; s < 1000; ++s) REQUIRE(receive(w, s) == EspDrop::none);
    CHECK(receive(w, 936) == EspDrop::too_old);
}

TEST_CASE("replay window: ESN high bits inferred across 2^32 (RFC 4303 A2)") {
    for (uint32_t size : {32u, 64u, 4096u}) {
        CAPTURE(size);
        ReplayWindow w(size, true);
        const uint64_t start = 0xffffffffull - size / 2;
        // Walk the window up to just below the boundary.
        for (uint64_t s = start - size; s <= start; ++s)
            REQUIRE(receive(w, static_cast<uint32_t>(s)) == EspDrop::none);
        // Crossing: low halves wrap to 0, the window infers high = 1.
        for (uint64_t s = start + 1; s <= 0x100000000ull + size / 4; ++s) {
            const auto c = w.check(static_cast<uint32_t>(s));
            REQUIRE(c.verdict == EspDrop::none);
            REQUIRE(c.seq == s);
            w.accept(c.seq);
        }
        CHECK(w.top() == 0x100000000ull + size / 4);
        // The window now straddles the boundary (case B): late packets from
        // below 2^32 are inferred with high = 0 and are replays or fill holes.
        const auto late = w.check(0xffffffffu);
        CHECK(late.seq == 0xffffffffull);
        CHECK(late.verdict == EspDrop::replayed);
        // Left of the window the RFC infers the next subspace (A2.1): such a
        // packet counts as far ahead, and only its ICV (computed with the
        // wrong high bits) rejects it; the window itself must not move.
        const uint32_t left = static_cast<uint32_t>(0x100000000ull + size / 4 - size);
        const auto old = w.check(left);
        CHECK(old.seq == 0x100000000ull * 2 - (size - size / 4));
        CHECK(old.seq == (uint64_t{1} << 32 | left));
        CHECK(w.top() == 0x100000000ull + size / 4);
        // A low value just above the top belongs to the new subspace.
        const auto next = w.check(static_cast<uint32_t>(size / 4 + 1));
        CHECK(next.seq == 0x100000000ull + size / 4 + 1);
        CHECK(next.verdict == EspDrop::none);
    }
}

TEST_CASE("replay window: ESN before the first 2^32 does not invent a negative subspace") {
    ReplayWindow w(64, true);
    REQUIRE(receive(w, 5) == EspDrop::none);
    CHECK(w.check(0xfffffff0u).verdict == EspDrop::too_old);
    const auto c = w.check(6);
    CHECK(c.verdict == EspDrop::none);
    CHECK(c.seq == 6);
}
