// Drives the exchanges of one IKE SA (RFC 7296 §2.1-2.3): our requests one
// at a time with retransmission and exponential back-off until a final
// give-up; the peer's requests in Message ID order, a retransmitted request
// answered from the cached response; each exchange run as its list of tasks.
#pragma once

#include "ike/ike_sa.h"
#include "ike/message/message.h"
#include "ike/services.h"
#include "ike/tasks/task.h"

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

namespace xdpsec::ike {

struct RetransmitPolicy {
    std::chrono::milliseconds initial{2000};
    unsigned max_retransmits = 4;  // then give up: 2+4+8+16+32 s with the defaults
};

class TaskManager {
public:
    // `fragment_ip_size`: the IP packet size IKE fragments are cut for.
    TaskManager(IkeSa& sa, IkeServices& services, RetransmitPolicy policy,
                std::size_t fragment_ip_size)
        : sa_(sa), services_(services), policy_(policy), fragment_ip_size_(fragment_ip_size) {}

    void queue(ExchangeType exchange, std::vector<std::unique_ptr<Task>> tasks);
    // Sends the next queued request if none is in flight.
    void initiate(TimePoint now);
    // A decoded message of this IKE SA. `raw` is the datagram as received.
    void receive(const Message& m, ByteView raw, TimePoint now);
    // Answers a request that could not be decoded with an error notification
    // (§2.21.2: INVALID_SYNTAX, UNSUPPORTED_CRITICAL_PAYLOAD), protected.
    // The answer goes back to where the request came from.
    void answer_error(const IkeHeader& request, const Endpoint& local, const Endpoint& remote,
                      NotifyType type, Bytes data);
    // A retransmission of the last request the peer sent (by Message ID):
    // answered from the cache. True when it was one.
    bool answer_retransmission(uint32_t id);
    // Retransmits or gives up.
    void tick(TimePoint now);
    std::optional<TimePoint> deadline() const;
    bool idle() const { return !outstanding_ && queued_.empty(); }

private:
    struct Exchange {
        ExchangeType type;
        std::vector<std::unique_ptr<Task>> tasks;
    };
    struct Outstanding {
        Exchange exchange;
        uint32_t id = 0;
        std::vector<Bytes> datagrams;
        unsigned retransmits = 0;
        std::chrono::milliseconds timeout{};
        TimePoint next{};
    };
    bool send_request(Exchange exchange, TimePoint now);
    void handle_response(const Message& m, ByteView raw, TimePoint now);
    void handle_request(const Message& m, ByteView raw);
    // One datagram, or the fragments of a protected message too big for
    // one when the peer supports IKE fragmentation (RFC 7383).
    std::vector<Bytes> encode_message(const Message& m, bool plain);
    void send_all(const std::vector<Bytes>& datagrams, const Endpoint& local, const Endpoint& remote);
    IkeHeader header(ExchangeType type, uint32_t id, bool response) const;
    void fail(const std::string& why);

    IkeSa& sa_;
    IkeServices& services_;
    RetransmitPolicy policy_;
    std::size_t fragment_ip_size_;
    std::deque<Exchange> queued_;
    std::optional<Outstanding> outstanding_;
};

// The tasks of an exchange the peer started.
std::vector<std::unique_ptr<Task>> responder_tasks(const Message& request, IkeServices& services);
std::string_view exchange_name(ExchangeType type);

}  // namespace xdpsec::ike
