// A real AF_XDP socket for the tests: an XSKMAP accepts only bound sockets,
// and BPF_F_TEST_XDP_LIVE_FRAMES delivers redirected frames to one. It is
// bound in copy mode to queue 0 of the loopback device, which is where
// BPF_PROG_TEST_RUN frames come from, inside a network namespace of the test
// process's own, so it touches no interface of the host and vanishes with
// the process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "frames.h"

struct xsk_socket;
struct xsk_umem;

namespace xdpsec::test {

// Moves the test process into a fresh network namespace (once).
void enter_private_netns();

class XskSocket {
public:
    struct Received {
        Bytes meta;   // the sizeof(struct xdpsec_meta) bytes in front of the packet
        Bytes frame;  // what the RX descriptor points at
    };

    XskSocket();  // lo, queue 0, XDP_COPY; every UMEM frame on the fill ring
    ~XskSocket();
    XskSocket(const XskSocket&) = delete;
    XskSocket& operator=(const XskSocket&) = delete;

    int fd() const;
    // Takes what the RX ring holds, and gives the frames back to the fill ring.
    std::vector<Received> receive();

private:
    struct Rings;
    static constexpr std::uint32_t kFrames = 64;
    static constexpr std::uint32_t kFrameSize = 4096;

    void* umem_area_ = nullptr;
    std::unique_ptr<Rings> rings_;
    xsk_umem* umem_ = nullptr;
    xsk_socket* xsk_ = nullptr;
};

}  // namespace xdpsec::test
