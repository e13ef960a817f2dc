#include "esp/replay_window.h"

namespace xdpsec::esp {

ReplayWindow::ReplayWindow(uint32_t size, bool esn)
    : size_(size), esn_(esn), bits_((size + 63) / 64, 0) {}

bool ReplayWindow::seen(uint64_t seq) const {
    const uint64_t bit = seq % (bits_.size() * 64);
    return (bits_[bit / 64] >> (bit % 64)) & 1u;
}

ReplayWindow::Check ReplayWindow::check(uint32_t seq_low) const {
    uint64_t seq = seq_low;
    if (esn_) {
        // RFC 4303 A2.1: pick the high half that puts seq_low nearest the window.
        const auto tl = static_cast<uint32_t>(top_);
        const auto th = static_cast<uint32_t>(top_ >> 32);
        const uint32_t bl = tl - size_ + 1;  // low half of the bottom, modulo 2^32
        uint32_t sh;
        if (tl >= size_ - 1) {
            sh = seq_low >= bl ? th : th + 1;  // window inside one 2^32 subspace
        } else {
            sh = seq_low >= bl ? th - 1 : th;  // window straddles two subspaces
        }
        if (tl < size_ - 1 && th == 0 && seq_low >= bl) {
            return {EspDrop::too_old, seq_low};  // would be below 2^0 subspace: impossible
        }
        seq = (static_cast<uint64_t>(sh) << 32) | seq_low;
    }
    if (seq == 0) return {EspDrop::too_old, 0};  // sequence numbers start at 1 (RFC 4303 §3.3.3)
    if (seq > top_) return {EspDrop::none, seq};
    if (top_ - seq >= size_) return {EspDrop::too_old, seq};
    if (seen(seq)) return {EspDrop::replayed, seq};
    return {EspDrop::none, seq};
}

void ReplayWindow::restart_at(uint64_t seq) {
    for (auto& w : bits_) w = 0;
    top_ = seq;
}

void ReplayWindow::accept(uint64_t seq) {
    const uint64_t nbits = bits_.size() * 64;
    if (seq > top_) {
        const uint64_t advance = seq - top_;
        if (advance >= nbits) {
            for (auto& w : bits_) w = 0;
        } else {
            // Count the bits to clear rather than compare s with seq: s wraps
            // to 0 after seq = 2^64-1, and `s <= seq` would never end.
            uint64_t s = top_ + 1;
            for (uint64_t left = advance; left > 0;) {
                const uint64_t bit = s % nbits;
                if (bit % 64 == 0 && left >= 64) {
                    bits_[bit / 64] = 0;  // whole word leaves the window
                    s += 64;
                    left -= 64;
                } else {
                    bits_[bit / 64] &= ~(uint64_t{1} << (bit % 64));
                    ++s;
                    --left;
                }
            }
        }
        top_ = seq;
    }
    const uint64_t bit = seq % nbits;
    bits_[bit / 64] |= uint64_t{1} << (bit % 64);
}

}  // namespace xdpsec::esp
