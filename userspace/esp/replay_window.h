// Anti-replay window of an inbound SA (RFC 4303 §3.4.3), with the ESN high
// bits inferred per RFC 4303 Appendix A2. check() is read-only; the window
// only moves in accept(), which the caller invokes after the ICV verified.
#pragma once

#include "esp/drop_reason.h"

#include <cstdint>
#include <vector>

namespace xdpsec::esp {

class ReplayWindow {
public:
    static constexpr uint32_t kMinSize = 32;
    static constexpr uint32_t kMaxSize = 65536;

    // size in packets, kMinSize..kMaxSize (checked by SaConfig validation).
    ReplayWindow(uint32_t size, bool esn);

    struct Check {
        EspDrop verdict;  // none, replayed or too_old
        uint64_t seq;     // the full (ESN-inferred) sequence number
    };
    Check check(uint32_t seq_low) const;
    void accept(uint64_t seq);
    // Empties the window and puts its top at seq (see Sa::set_last_seq).
    void restart_at(uint64_t seq);

    uint64_t top() const { return top_; }  // highest authenticated sequence number
    // Lowest sequence number still inside the window (0 before any packet).
    uint64_t bottom() const { return top_ >= size_ ? top_ - size_ + 1 : 0; }
    uint32_t size() const { return size_; }

private:
    bool seen(uint64_t seq) const;

    uint32_t size_;
    bool esn_;
    uint64_t top_ = 0;
    std::vector<uint64_t> bits_;  // ring, bit (seq mod bits) set once seq is accepted
};

}  // namespace xdpsec::esp
