#include "ike/task_manager.h"

#include "ike/tasks/child_create.h"
#include "ike/tasks/ike_auth.h"
#include "ike/tasks/ike_init.h"
#include "ike/tasks/ike_natd.h"
#include "ike/tasks/ike_rekey.h"
#include "ike/tasks/informational.h"

namespace xdpsec::ike {

std::string_view exchange_name(ExchangeType type) {
    switch (type) {
    case ExchangeType::ike_sa_init: return "IKE_SA_INIT";
    case ExchangeType::ike_auth: return "IKE_AUTH";
    case ExchangeType::create_child_sa: return "CREATE_CHILD_SA";
    case ExchangeType::informational: return "INFORMATIONAL";
    }
    return "exchange";
}

std::vector<std::unique_ptr<Task>> responder_tasks(const Message& request, IkeServices& services) {
    std::vector<std::unique_ptr<Task>> t;
    switch (request.header.exchange) {
    case ExchangeType::ike_sa_init:
        t.push_back(std::make_unique<IkeInit>(services));
        t.push_back(std::make_unique<IkeNatd>(services));
        break;
    case ExchangeType::ike_auth:
        t.push_back(std::make_unique<IkeAuth>(services));
        t.push_back(std::make_unique<ChildCreate>(services));
        break;
    case ExchangeType::informational:
        t.push_back(std::make_unique<InformationalResponder>(services));
        break;
    case ExchangeType::create_child_sa:
        if (rekeys_ike_sa(request))
            t.push_back(std::make_unique<IkeRekeyResponder>(services, services.new_ike_spi()));
        else
            t.push_back(std::make_unique<ChildCreate>(services, true));
        break;
    }
    return t;
}

void TaskManager::queue(ExchangeType exchange, std::vector<std::unique_ptr<Task>> tasks) {
    queued_.push_back({exchange, std::move(tasks)});
}

IkeHeader TaskManager::header(ExchangeType type, uint32_t id, bool response) const {
    IkeHeader h;
    h.spi_i = sa_.spi_i;
    h.spi_r = sa_.spi_r;
    h.exchange = type;
    h.message_id = id;
    // §3.1: I marks messages of the original initiator, R responses.
    h.flags = static_cast<uint8_t>((sa_.initiator() ? kFlagInitiator : 0) | (response ? kFlagResponse : 0));
    return h;
}

namespace {

// The IKE message size that fills an IP packet of `ip_size` bytes.
std::size_t max_datagram(std::size_t ip_size, const Endpoint& local, const Endpoint& remote) {
    const std::size_t ip = remote.addr.family == 6 ? 40 : 20;
    const std::size_t marker = local.port == kNattPort ? 4 : 0;  // RFC 3948 non-ESP marker
    return ip_size > ip + 8 + marker ? ip_size - ip - 8 - marker : 0;
}

}  // namespace

std::vector<Bytes> TaskManager::encode_message(const Message& m, bool plain) {
    std::string err;
    std::vector<Bytes> out;
    if (plain) {
        Bytes b = encode(m, &err);
        if (!b.empty()) out.push_back(std::move(b));
    } else if (sa_.outbound) {
        if (sa_.peer_fragmentation) {
            std::size_t ip_size = fragment_ip_size_;
            if (const auto mtu = services_.path_mtu(sa_.local, sa_.remote); mtu && mtu < ip_size)
                ip_size = mtu;
            out = encode_protected_fragments(m, *sa_.outbound,
                                             max_datagram(ip_size, sa_.local, sa_.remote), &err);
        }
        else if (Bytes b = encode_protected(m, *sa_.outbound, &err); !b.empty())
            out.push_back(std::move(b));
    }
    if (out.empty())
        services_.log(LogLevel::error, std::string("cannot encode ") +
                                           std::string(exchange_name(m.header.exchange)) + ": " + err);
    return out;
}

void TaskManager::send_all(const std::vector<Bytes>& datagrams, const Endpoint& local,
                           const Endpoint& remote) {
    for (const auto& d : datagrams) services_.send(local, remote, d);
}

void TaskManager::fail(const std::string& why) {
    services_.log(LogLevel::error, why);
    sa_.failure = why;
    sa_.failed = true;
    uninstall_children(services_, sa_);
    sa_.state = IkeSaState::dead;
    outstanding_.reset();
    queued_.clear();
}

bool TaskManager::send_request(Exchange exchange, TimePoint now) {
    Message m;
    m.header = header(exchange.type, sa_.next_request_id, false);
    for (auto& t : exchange.tasks) {
        auto st = t->build_i(sa_, m);
        if (st.good()) continue;
        if (st.fatal) {
            fail(std::string(exchange_name(exchange.type)) + ": " + st.why);
        } else {
            // Nothing left to ask (the SA to rekey went meanwhile): no exchange.
            services_.log(LogLevel::info, st.why);
        }
        return false;
    }
    const bool plain = exchange.type == ExchangeType::ike_sa_init;
    auto datagrams = encode_message(m, plain);
    if (datagrams.empty()) {
        fail(std::string("cannot build the ") + std::string(exchange_name(exchange.type)) + " request");
        return false;
    }
    if (plain) sa_.init_request = datagrams.front();
    send_all(datagrams, sa_.local, sa_.remote);
    Outstanding o;
    o.exchange = std::move(exchange);
    o.id = sa_.next_request_id;
    o.datagrams = std::move(datagrams);
    o.timeout = policy_.initial;
    o.next = now + o.timeout;
    outstanding_ = std::move(o);
    return true;
}

void TaskManager::initiate(TimePoint now) {
    while (!outstanding_ && !queued_.empty() && sa_.state != IkeSaState::dead) {
        Exchange e = std::move(queued_.front());
        queued_.pop_front();
        send_request(std::move(e), now);
    }
}

void TaskManager::receive(const Message& m, ByteView raw, TimePoint now) {
    sa_.last_activity = now;
    if (m.header.response())
        handle_response(m, raw, now);
    else
        handle_request(m, raw);
}

void TaskManager::handle_response(const Message& m, ByteView raw, TimePoint now) {
    if (!outstanding_ || m.header.message_id != outstanding_->id ||
        m.header.exchange != outstanding_->exchange.type) {
        services_.log(LogLevel::debug, "response with message ID " + std::to_string(m.header.message_id) +
                                           " matches no request in flight; dropped");
        return;
    }
    Outstanding o = std::move(*outstanding_);
    outstanding_.reset();
    const auto type = o.exchange.type;
    if (type == ExchangeType::ike_sa_init) sa_.init_response.assign(raw.begin(), raw.end());
    bool child_failed = false;
    for (auto& t : o.exchange.tasks) {
        auto st = t->process_i(sa_, m);
        if (st.kind == TaskStatus::Kind::restart) {
            services_.log(LogLevel::info, st.why);
            sa_.spi_r = 0;
            sa_.init_response.clear();
            queued_.push_front(std::move(o.exchange));
            initiate(now);
            return;
        }
        if (st.kind == TaskStatus::Kind::failed) {
            if (st.fatal) {
                fail(std::string(exchange_name(type)) + ": " + st.why);
                return;
            }
            services_.log(LogLevel::error, st.why);
            sa_.failure = st.why;
            child_failed = true;
            break;
        }
    }
    ++sa_.next_request_id;
    if (type == ExchangeType::ike_auth && sa_.state == IkeSaState::connecting) {
        sa_.state = IkeSaState::established;
        sa_.established_at = now;
        services_.log(LogLevel::info, "IKE SA established with " + sa_.remote.to_string() + " (" +
                                          sa_.remote_id + "), " + sa_.suite.name());
        if (child_failed) {
            // A tunnel without its CHILD SA carries nothing: close the IKE SA,
            // reported as failed (but no peer was lost: no dpd_action).
            sa_.failed = sa_.closing = true;
            queued_.clear();
            std::vector<std::unique_ptr<Task>> d;
            d.push_back(std::make_unique<IkeDelete>(services_));
            queue(ExchangeType::informational, std::move(d));
        }
    }
    initiate(now);
}

bool TaskManager::answer_retransmission(uint32_t id) {
    if (!sa_.last_response.valid || id != sa_.last_response.id) return false;
    send_all(sa_.last_response.datagrams, sa_.local, sa_.remote);  // §2.1
    return true;
}

void TaskManager::handle_request(const Message& m, ByteView raw) {
    const uint32_t id = m.header.message_id;
    if (answer_retransmission(id)) return;
    if (id != sa_.next_peer_id) {
        services_.log(LogLevel::debug, "request with message ID " + std::to_string(id) + ", expected " +
                                           std::to_string(sa_.next_peer_id) + "; dropped");
        return;
    }
    const auto type = m.header.exchange;
    if (type == ExchangeType::ike_sa_init) sa_.init_request.assign(raw.begin(), raw.end());
    if (type != ExchangeType::ike_sa_init && type != ExchangeType::informational &&
        sa_.state == IkeSaState::connecting && type != ExchangeType::ike_auth) {
        services_.log(LogLevel::debug, "request before the IKE SA is established; dropped");
        return;
    }
    Message r;
    r.header = header(type, id, true);
    auto tasks = responder_tasks(m, services_);
    std::optional<TaskStatus> failure;
    for (auto& t : tasks) {
        auto st = t->process_r(sa_, m);
        if (!st.good()) {
            failure = std::move(st);
            break;
        }
    }
    if (!failure)
        for (auto& t : tasks) {
            auto st = t->build_r(sa_, r);
            if (!st.good()) {
                failure = std::move(st);
                break;
            }
        }
    if (failure) {
        r.payloads.clear();
        if (failure->notify) add_notify(r, static_cast<NotifyType>(failure->notify), failure->notify_data);
    }
    const bool plain = type == ExchangeType::ike_sa_init;
    auto datagrams = (failure && !failure->notify) ? std::vector<Bytes>{} : encode_message(r, plain);
    if (!datagrams.empty()) {
        send_all(datagrams, sa_.local, sa_.remote);
        if (plain) sa_.init_response = datagrams.front();
        sa_.last_response = {id, std::move(datagrams), true};
    }
    ++sa_.next_peer_id;
    if (failure) {
        std::string why = std::string(exchange_name(type)) + " from " + sa_.remote.to_string() +
                          ": " + failure->why;
        if (failure->notify) why += "; answered " + notify_name(failure->notify);
        if (failure->fatal)
            fail(why);
        else
            services_.log(LogLevel::error, why);
        return;
    }
    if (type == ExchangeType::ike_auth && sa_.state == IkeSaState::connecting) {
        sa_.state = IkeSaState::established;
        sa_.established_at = sa_.last_activity;
        services_.log(LogLevel::info, "IKE SA established with " + sa_.remote.to_string() + " (" +
                                          sa_.remote_id + "), " + sa_.suite.name());
    }
}

void TaskManager::answer_error(const IkeHeader& request, const Endpoint& local,
                               const Endpoint& remote, NotifyType type, Bytes data) {
    if (request.response() || request.message_id != sa_.next_peer_id) return;
    Message r;
    r.header = header(request.exchange, request.message_id, true);
    add_notify(r, type, std::move(data));
    auto datagrams = encode_message(r, request.exchange == ExchangeType::ike_sa_init);
    if (datagrams.empty()) return;
    send_all(datagrams, local, remote);
    sa_.last_response = {request.message_id, std::move(datagrams), true};
    ++sa_.next_peer_id;
}

void TaskManager::tick(TimePoint now) {
    if (!outstanding_ || now < outstanding_->next) return;
    if (outstanding_->retransmits >= policy_.max_retransmits) {
        const auto type = outstanding_->exchange.type;
        if (type == ExchangeType::informational && sa_.state == IkeSaState::deleting) {
            sa_.state = IkeSaState::dead;  // our DELETE went unanswered: gone anyway
            outstanding_.reset();
            return;
        }
        fail("no answer from " + sa_.remote.to_string() + " to " + std::string(exchange_name(type)) +
             " after " + std::to_string(policy_.max_retransmits) + " retransmissions; giving up");
        sa_.peer_lost = true;
        return;
    }
    ++outstanding_->retransmits;
    outstanding_->timeout *= 2;
    outstanding_->next = now + outstanding_->timeout;
    services_.log(LogLevel::debug, "retransmitting " + std::string(exchange_name(outstanding_->exchange.type)) +
                                       " (" + std::to_string(outstanding_->retransmits) + ")");
    send_all(outstanding_->datagrams, sa_.local, sa_.remote);
}

std::optional<TimePoint> TaskManager::deadline() const {
    if (!outstanding_) return std::nullopt;
    return outstanding_->next;
}

}  // namespace xdpsec::ike
