#include "xsk_socket.h"

#include <doctest/doctest.h>
#include <linux/if_xdp.h>
#include <sched.h>
#include <sys/mman.h>
#include <xdp/xsk.h>
#include <xdpsec/bpf_abi.h>

#include <cerrno>
#include <cstring>

namespace xdpsec::test {

void enter_private_netns() {
    static const int err = unshare(CLONE_NEWNET) == 0 ? 0 : errno;
    REQUIRE_MESSAGE(err == 0, "unshare(CLONE_NEWNET): ", std::strerror(err));
}

struct XskSocket::Rings {
    xsk_ring_prod fill{};
    xsk_ring_cons completion{};
    xsk_ring_cons rx{};
};

XskSocket::XskSocket() : rings_(std::make_unique<Rings>()) {
    enter_private_netns();

    const std::size_t size = std::size_t{kFrames} * kFrameSize;
    umem_area_ = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE_MESSAGE(umem_area_ != MAP_FAILED, "mmap UMEM: ", std::strerror(errno));

    xsk_umem_config umem_config{};
    umem_config.fill_size = kFrames;
    umem_config.comp_size = kFrames;
    umem_config.frame_size = kFrameSize;
    int err = xsk_umem__create(&umem_, umem_area_, size, &rings_->fill, &rings_->completion, &umem_config);
    REQUIRE_MESSAGE(err == 0, "xsk_umem__create: ", std::strerror(-err));

    xsk_socket_config config{};
    config.rx_size = kFrames;
    config.tx_size = 0;
    config.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // the tests own the XDP programs
    config.bind_flags = XDP_COPY;
    err = xsk_socket__create(&xsk_, "lo", 0, umem_, &rings_->rx, nullptr, &config);
    REQUIRE_MESSAGE(err == 0, "xsk_socket__create(lo, queue 0, XDP_COPY): ", std::strerror(-err));

    __u32 index = 0;
    REQUIRE(xsk_ring_prod__reserve(&rings_->fill, kFrames, &index) == kFrames);
    for (__u32 i = 0; i < kFrames; ++i)
        *xsk_ring_prod__fill_addr(&rings_->fill, index + i) = __u64{i} * kFrameSize;
    xsk_ring_prod__submit(&rings_->fill, kFrames);
}

XskSocket::~XskSocket() {
    if (xsk_) xsk_socket__delete(xsk_);
    if (umem_) xsk_umem__delete(umem_);
    if (umem_area_ && umem_area_ != MAP_FAILED) munmap(umem_area_, std::size_t{kFrames} * kFrameSize);
}

int XskSocket::fd() const { return xsk_socket__fd(xsk_); }

std::vector<XskSocket::Received> XskSocket::receive() {
    std::vector<Received> received;
    __u32 rx_index = 0;
    const __u32 n = xsk_ring_cons__peek(&rings_->rx, kFrames, &rx_index);
    __u32 fill_index = 0;
    REQUIRE(xsk_ring_prod__reserve(&rings_->fill, n, &fill_index) == n);
    for (__u32 i = 0; i < n; ++i) {
        const xdp_desc* desc = xsk_ring_cons__rx_desc(&rings_->rx, rx_index + i);
        const auto* packet = static_cast<const std::uint8_t*>(xsk_umem__get_data(umem_area_, desc->addr));
        const std::uint8_t* meta = packet - sizeof(xdpsec_meta);
        received.push_back({Bytes(meta, packet), Bytes(packet, packet + desc->len)});
        // The worker's duty (bpf_abi.h): clear the magic before the chunk is reused.
        std::memset(const_cast<std::uint8_t*>(meta), 0, sizeof(xdpsec_meta));
        *xsk_ring_prod__fill_addr(&rings_->fill, fill_index + i) = desc->addr - desc->addr % kFrameSize;
    }
    xsk_ring_cons__release(&rings_->rx, n);
    xsk_ring_prod__submit(&rings_->fill, n);
    return received;
}

}  // namespace xdpsec::test
