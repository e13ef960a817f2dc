// An IKEv2 task: one concern of an exchange (strongSwan's libcharon tasks:
// ike_init, ike_natd, ike_auth, child_create, ike_delete…). An exchange is
// a list of tasks; each adds its payloads to the request or response and
// processes the other side's. The initiator calls build_i then process_i,
// the responder process_r then build_r, each in list order; the first
// failure stops the exchange.
#pragma once

#include "ike/ike_sa.h"
#include "ike/message/message.h"
#include "ike/services.h"

#include <optional>
#include <string>
#include <string_view>

namespace xdpsec::ike {

struct TaskStatus {
    enum class Kind : uint8_t {
        ok,
        failed,   // the exchange failed: `why` for the log; the IKE SA dies if `fatal`
        restart,  // IKE_SA_INIT again (COOKIE, INVALID_KE_PAYLOAD)
    };
    Kind kind = Kind::ok;
    std::string why;
    uint16_t notify = 0;  // responder: the error notification to answer with
    Bytes notify_data;
    bool fatal = true;

    static TaskStatus ok() { return {}; }
    static TaskStatus fail(std::string why, uint16_t notify = 0, Bytes data = {}) {
        return {Kind::failed, std::move(why), notify, std::move(data), true};
    }
    static TaskStatus restart(std::string why) { return {Kind::restart, std::move(why), 0, {}, true}; }
    bool good() const { return kind == Kind::ok; }
};

class Task {
public:
    virtual ~Task() = default;
    virtual std::string_view name() const = 0;
    virtual TaskStatus build_i(IkeSa& sa, Message& request) = 0;
    virtual TaskStatus process_i(IkeSa& sa, const Message& response) = 0;
    virtual TaskStatus process_r(IkeSa& sa, const Message& request) = 0;
    virtual TaskStatus build_r(IkeSa& sa, Message& response) = 0;
};

// A task only an initiator runs (a DELETE, a liveness check, a rekey we
// start): nothing to do as a responder.
class InitiatorTask : public Task {
public:
    TaskStatus process_r(IkeSa&, const Message&) override { return TaskStatus::ok(); }
    TaskStatus build_r(IkeSa&, Message&) override { return TaskStatus::ok(); }
};

// A task only a responder runs (answering what the peer started).
class ResponderTask : public Task {
public:
    TaskStatus build_i(IkeSa&, Message&) override { return TaskStatus::ok(); }
    TaskStatus process_i(IkeSa&, const Message&) override { return TaskStatus::ok(); }
};

// Payload helpers shared by the tasks.
template <class T>
const T* first_payload(const Message& m, PayloadType type) {
    for (const auto& p : m.payloads)
        if (p.type == type)
            if (const auto* b = std::get_if<T>(&p.body)) return b;
    return nullptr;
}
const NotifyPayload* find_notify(const Message& m, NotifyType type);
// The first error notification (type < 16384), if any.
const NotifyPayload* first_error(const Message& m);
void add_notify(Message& m, NotifyType type, Bytes data = {});
template <class T>
void add_payload(Message& m, PayloadType type, T body) {
    m.payloads.push_back(Payload{type, std::move(body)});
}
// "NO_PROPOSAL_CHOSEN", "notify 12345"…
std::string notify_name(uint16_t type);
// RFC 7296 §2.8.1, §2.8.2: of two exchanges that rekeyed the same SA at
// once, true when the first (nonces ni_a, nr_a) holds the lowest of the four
// nonces, which makes the SA it created the redundant one.
bool holds_lowest_nonce(ByteView ni_a, ByteView nr_a, ByteView ni_b, ByteView nr_b);
Bytes be16(uint16_t v);

}  // namespace xdpsec::ike
