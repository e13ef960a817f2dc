#include "dataplane/event_reader.h"

#include "dataplane/result.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

namespace xdpsec::dataplane {

namespace {

esp::IpAddress address(uint8_t family, const uint8_t (&bytes)[16]) {
    esp::IpAddress a;
    a.family = family;
    std::memcpy(a.bytes.data(), bytes, family == 4 ? 4 : 16);
    return a;
}

}  // namespace

std::optional<DataplaneEvent> decode_event(const void* data, std::size_t size) {
    xdpsec_event e;
    if (size < sizeof e) return std::nullopt;
    std::memcpy(&e, data, sizeof e);
    if (e.family != 4 && e.family != 6) return std::nullopt;
    DataplaneEvent out;
    out.src = address(e.family, e.saddr);
    out.dst = address(e.family, e.daddr);
    out.proto = e.proto;
    switch (e.type) {
    case XDPSEC_EVENT_UNKNOWN_SPI:
        out.type = DataplaneEvent::Type::unknown_spi;
        out.spi = e.spi;
        out.udp_encap = (e.flags & XDPSEC_EVENT_F_UDP_ENCAP) != 0;
        if (out.udp_encap) {
            out.encap_sport = e.encap_sport;
            out.encap_dport = e.encap_dport;
        }
        return out;
    case XDPSEC_EVENT_ACQUIRE:
        out.type = DataplaneEvent::Type::acquire;
        out.policy_id = e.policy_id;
        out.has_ports = (e.flags & XDPSEC_EVENT_F_PORTS) != 0;
        if (out.has_ports) {
            out.sport = e.sport;
            out.dport = e.dport;
        }
        return out;
    case XDPSEC_EVENT_TYPE_COUNT:
        break;
    }
    return std::nullopt;
}

std::unique_ptr<EventReader> EventReader::open(int ring_fd, std::string* error) {
    std::unique_ptr<EventReader> r(new EventReader());
    r->ring_ = ring_buffer__new(ring_fd, &EventReader::on_record, r.get(), nullptr);
    if (!r->ring_) {
        if (error) *error = errno_text("opening the event ring buffer", errno);
        return nullptr;
    }
    return r;
}

EventReader::~EventReader() {
    if (ring_) ring_buffer__free(ring_);
}

int EventReader::fd() const { return ring_buffer__epoll_fd(ring_); }

int EventReader::on_record(void* ctx, void* data, std::size_t size) {
    auto* self = static_cast<EventReader*>(ctx);
    const auto event = decode_event(data, size);
    if (!event) {
        ++self->undecodable_;
        return 0;
    }
    ++self->drained_;
    if (self->sink_) (*self->sink_)(*event);
    return 0;
}

std::size_t EventReader::drain(const std::function<void(const DataplaneEvent&)>& on_event) {
    sink_ = &on_event;
    drained_ = 0;
    // Consumes what is in the ring now; the callback never fails, so
    // neither does this but for a ring that vanished (nothing to do then).
    (void)ring_buffer__consume(ring_);
    sink_ = nullptr;
    return drained_;
}

}  // namespace xdpsec::dataplane
