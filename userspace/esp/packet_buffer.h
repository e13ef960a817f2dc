// A packet inside a caller-owned frame (an AF_XDP UMEM frame, or a test
// buffer). The engine grows the packet into headroom and tailroom in place
// and never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace xdpsec::esp {

struct PacketBuffer {
    uint8_t* frame = nullptr;  // start of the frame
    uint32_t capacity = 0;     // bytes usable from frame
    uint32_t offset = 0;       // where the packet (its IP header) starts
    uint32_t length = 0;       // packet length

    uint8_t* data() const { return frame + offset; }
    std::span<uint8_t> bytes() const { return {data(), length}; }
    uint32_t headroom() const { return offset; }
    uint32_t tailroom() const { return capacity - offset - length; }
};

}  // namespace xdpsec::esp
