#include "ike/tasks/task.h"

#include <algorithm>

namespace xdpsec::ike {

const NotifyPayload* find_notify(const Message& m, NotifyType type) {
    for (const auto& p : m.payloads)
        if (const auto* n = std::get_if<NotifyPayload>(&p.body); n && n->type == uint16_t(type))
            return n;
    return nullptr;
}

const NotifyPayload* first_error(const Message& m) {
    for (const auto& p : m.payloads)
        if (const auto* n = std::get_if<NotifyPayload>(&p.body); n && is_error_notify(n->type))
            return n;
    return nullptr;
}

void add_notify(Message& m, NotifyType type, Bytes data) {
    NotifyPayload n;
    n.type = uint16_t(type);
    n.data = std::move(data);
    m.payloads.push_back(Payload{PayloadType::notify, std::move(n)});
}

std::string notify_name(uint16_t type) {
    switch (static_cast<NotifyType>(type)) {
    case NotifyType::unsupported_critical_payload: return "UNSUPPORTED_CRITICAL_PAYLOAD";
    case NotifyType::invalid_ike_spi: return "INVALID_IKE_SPI";
    case NotifyType::invalid_major_version: return "INVALID_MAJOR_VERSION";
    case NotifyType::invalid_syntax: return "INVALID_SYNTAX";
    case NotifyType::invalid_message_id: return "INVALID_MESSAGE_ID";
    case NotifyType::invalid_spi: return "INVALID_SPI";
    case NotifyType::no_proposal_chosen: return "NO_PROPOSAL_CHOSEN";
    case NotifyType::invalid_ke_payload: return "INVALID_KE_PAYLOAD";
    case NotifyType::authentication_failed: return "AUTHENTICATION_FAILED";
    case NotifyType::single_pair_required: return "SINGLE_PAIR_REQUIRED";
    case NotifyType::no_additional_sas: return "NO_ADDITIONAL_SAS";
    case NotifyType::internal_address_failure: return "INTERNAL_ADDRESS_FAILURE";
    case NotifyType::failed_cp_required: return "FAILED_CP_REQUIRED";
    case NotifyType::ts_unacceptable: return "TS_UNACCEPTABLE";
    case NotifyType::invalid_selectors: return "INVALID_SELECTORS";
    case NotifyType::temporary_failure: return "TEMPORARY_FAILURE";
    case NotifyType::child_sa_not_found: return "CHILD_SA_NOT_FOUND";
    case NotifyType::cookie: return "COOKIE";
    case NotifyType::use_transport_mode: return "USE_TRANSPORT_MODE";
    default: break;
    }
    return "notify " + std::to_string(type);
}

bool holds_lowest_nonce(ByteView ni_a, ByteView nr_a, ByteView ni_b, ByteView nr_b) {
    const auto less = [](ByteView x, ByteView y) {
        return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end());
    };
    const ByteView a = less(nr_a, ni_a) ? nr_a : ni_a;
    const ByteView b = less(nr_b, ni_b) ? nr_b : ni_b;
    return less(a, b);
}

Bytes be16(uint16_t v) { return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}; }

}  // namespace xdpsec::ike
