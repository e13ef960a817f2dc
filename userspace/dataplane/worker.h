// One data-plane worker: a thread that owns an AF_XDP socket on an uplink
// RX queue and one on the tunnel device's peer, both on one UMEM, so a frame
// goes from RX to TX without a copy. Inbound ESP from the uplink is
// decapsulated and sent into the tunnel device; packets the host routes into
// the tunnel device are encapsulated and sent out of the uplink.
#pragma once

#include "dataplane/netlink.h"
#include "dataplane/result.h"
#include "esp/ip_prefix.h"
#include "esp/sa.h"

#include <xdpsec/bpf_abi.h>

struct xsk_ring_prod;
struct xsk_socket;

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace xdpsec::dataplane {

// What the worker knows of one SA slot. The control thread writes a slot
// only while sa is null and every worker has quiesced since it became null
// (Worker::epoch), then publishes sa with release; the worker reads the
// other fields only after an acquire load of sa returned non-null. Only
// next_hop changes while the slot is published.
struct SaSlot {
    std::atomic<esp::Sa*> sa{nullptr};      // owned by the Dataplane; published with release
    std::vector<esp::IpPrefix> local_ts;           // inbound: inner destination must be in one
    std::vector<esp::IpPrefix> remote_ts;          // inbound: inner source must be in one
    std::atomic<uint64_t> next_hop{0};      // outbound: MAC of the next hop, 0 = unresolved
    uint32_t generation = 0;                // as in the SA table: which install holds the slot
};

// A MAC address in one atomic word: the worker reads it per packet while
// the control thread may replace it.
uint64_t pack_mac(const MacAddress& mac);
MacAddress unpack_mac(uint64_t packed);

void bump(std::atomic<uint64_t>& counter, uint64_t n = 1);

// Written by the worker thread only, read by the control thread.
struct WorkerCounters {
    std::atomic<uint64_t> rx_uplink{0}, rx_tunnel{0};
    std::atomic<uint64_t> tx_uplink{0}, tx_tunnel{0};
    std::atomic<uint64_t> decap_ok{0}, encap_ok{0};
    std::atomic<uint64_t> esp_dropped{0};     // refused by the ESP engine (per SA reason in the SA table)
    std::atomic<uint64_t> no_metadata{0};     // frame without our XDP metadata
    std::atomic<uint64_t> bad_slot{0};        // metadata names no SA of the right direction
    std::atomic<uint64_t> stale_slot{0};      // classified for the slot's previous SA, freed since
    std::atomic<uint64_t> no_next_hop{0};     // outbound SA whose next hop is unresolved
    std::atomic<uint64_t> selector_mismatch{0}; // inner packet outside the SA's selectors
    std::atomic<uint64_t> too_big{0};         // ICMP frag-needed / packet-too-big sent
    std::atomic<uint64_t> tx_ring_full{0};
};

// The kernel's counters of one AF_XDP socket (XDP_STATISTICS): frames the
// XDP program redirected to the socket but the kernel dropped, e.g. because
// the worker fell behind and its RX ring was full. The verdict counters
// count those as redirected.
struct XskStats {
    uint64_t rx_dropped = 0;          // dropped for other reasons (copy mode: no frame, too big)
    uint64_t rx_ring_full = 0;        // the RX ring was full
    uint64_t fill_ring_empty = 0;     // no frame in the fill ring to receive into
    uint64_t invalid_descs = 0;       // RX and TX descriptors the kernel refused
};

struct WorkerConfig {
    uint32_t queue = 0;
    std::string uplink;          // interface names
    std::string tunnel_peer;     // xdpsec0p: carries the protect program
    MacAddress uplink_mac{};
    MacAddress tunnel_host_mac{};  // xdpsec0: destination of decrypted frames
    MacAddress tunnel_peer_mac{};
    uint32_t uplink_mtu = 1500;  // bound for the outer packet
    bool busy_poll = false;
};

class Worker {
public:
    // Creates the UMEM and both sockets and registers them in the XSK maps.
    static std::unique_ptr<Worker> create(const WorkerConfig& config, int xsks_uplink_fd,
                                          int xsks_tunnel_fd, SaSlot* slots, xdpsec_sa* sa_table,
                                          std::string* error);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    void start();
    void stop();  // joins the thread
    const WorkerCounters& counters() const { return counters_; }
    // The kernel's counters of the uplink or the tunnel socket; any thread
    // may ask (a getsockopt). nullopt when the kernel would not say.
    std::optional<XskStats> socket_stats(bool uplink) const;
    uint32_t queue() const { return config_.queue; }
    // Moves once per poll-loop iteration (and when the thread ends), and the
    // worker holds no SA pointer across that point: once it has moved past
    // the value read after an SA was unpublished (with a seq_cst fence in
    // between), the worker can no longer be using that SA. An RCU grace
    // period without a lock or an atomic read-modify-write per packet.
    uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }

private:
    struct Rings;
    struct TxFrame {
        uint64_t addr;
        uint32_t len;
    };
    Worker(const WorkerConfig& config, SaSlot* slots, xdpsec_sa* sa_table);
    void run();
    void poll_once();
    uint32_t receive(bool from_uplink);
    // The SA the frame's metadata names, if it is one of this direction.
    esp::Sa* sa_of(uint8_t* data, uint32_t len, esp::SaDirection direction, uint32_t* slot);
    bool handle_inbound(uint64_t addr, uint32_t len, uint64_t* out_addr, uint32_t* out_len);
    bool handle_outbound(uint64_t addr, uint32_t len, uint64_t* out_addr, uint32_t* out_len,
                         bool* to_uplink);
    bool send_too_big(const uint8_t* inner, uint32_t inner_len, uint32_t mtu, uint64_t* out_addr,
                      uint32_t* out_len);
    void transmit(xsk_ring_prod& tx, xsk_socket* xsk, const TxFrame* out, uint32_t count,
                  std::atomic<uint64_t>& sent);
    void publish(uint32_t slot, const esp::Sa& sa, bool dropped);
    void complete_and_refill();

    WorkerConfig config_;
    SaSlot* slots_;
    xdpsec_sa* sa_table_;
    std::unique_ptr<Rings> rings_;
    std::vector<uint64_t> free_frames_;
    std::atomic<bool> running_{false};
    std::atomic<uint64_t> epoch_{0};
    std::thread thread_;
    WorkerCounters counters_;
};

}  // namespace xdpsec::dataplane
