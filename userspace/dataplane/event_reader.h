// The daemon's end of the XDP programs' event ring (XDPSEC_MAP_EVENTS):
// unknown SPIs seen by ingress, acquires from TRAP policies in protect.
// The BPF side limits them to XDPSEC_EVENT_BUDGET a second per CPU and type,
// so draining them all at once is cheap. One control thread, like the
// Dataplane.
#pragma once

#include "esp/ip_address.h"

#include <xdpsec/bpf_abi.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

struct ring_buffer;

namespace xdpsec::dataplane {

struct DataplaneEvent {
    enum class Type { unknown_spi, acquire };
    Type type = Type::unknown_spi;
    // Unknown SPI: the outer addresses, src the peer that sent the ESP.
    // Acquire: the inner addresses of the trapped packet.
    esp::IpAddress src, dst;
    uint8_t proto = 0;  // unknown SPI: IPPROTO_ESP or IPPROTO_UDP; acquire: inner protocol
    // Unknown SPI.
    uint32_t spi = 0;             // host order
    bool udp_encap = false;       // came as ESP in UDP (RFC 3948): the ports below are set
    uint16_t encap_sport = 0, encap_dport = 0;
    // Acquire.
    uint32_t policy_id = 0;       // the TRAP policy the packet met
    std::string trap;             // its trap's name (Dataplane::drain_events); empty when removed since
    bool has_ports = false;       // TCP, UDP or SCTP and not a fragment
    uint16_t sport = 0, dport = 0;
};

// One ring record as a DataplaneEvent; nullopt when it is too short or of
// an unknown type (a newer BPF object than this daemon).
std::optional<DataplaneEvent> decode_event(const void* data, std::size_t size);

class EventReader {
public:
    // ring_fd: the XDPSEC_MAP_EVENTS map; the reader keeps its own reference.
    static std::unique_ptr<EventReader> open(int ring_fd, std::string* error);
    ~EventReader();
    EventReader(const EventReader&) = delete;
    EventReader& operator=(const EventReader&) = delete;

    // Readable (epoll/poll) when events are pending.
    int fd() const;
    // Hands every pending event to on_event, in ring order; returns how many.
    std::size_t drain(const std::function<void(const DataplaneEvent&)>& on_event);
    // Records decode_event refused, since open.
    uint64_t undecodable() const { return undecodable_; }

private:
    EventReader() = default;
    static int on_record(void* ctx, void* data, std::size_t size);

    ring_buffer* ring_ = nullptr;
    const std::function<void(const DataplaneEvent&)>* sink_ = nullptr;  // during drain only
    std::size_t drained_ = 0;
    uint64_t undecodable_ = 0;
};

}  // namespace xdpsec::dataplane
