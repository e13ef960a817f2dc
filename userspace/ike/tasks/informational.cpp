#include "ike/tasks/informational.h"

#include "ike/tasks/child_create.h"
#include "ike/tasks/ike_rekey.h"

#include <algorithm>

namespace xdpsec::ike {

namespace {

uint32_t spi_value(const Bytes& b) {
    return b.size() == 4 ? (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3]
                         : 0;
}

Bytes spi_bytes(uint32_t v) {
    return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
}

}  // namespace

void uninstall_children(IkeServices& services, IkeSa& sa) {
    for (const auto& c : sa.children) uninstall(services, c);
    sa.children.clear();
}

TaskStatus IkeDelete::build_i(IkeSa& sa, Message& request) {
    add_payload(request, PayloadType::del, DeletePayload{ProtocolId::ike, 0, {}});
    uninstall_children(services_, sa);
    sa.state = IkeSaState::deleting;
    return TaskStatus::ok();
}

TaskStatus IkeDelete::process_i(IkeSa& sa, const Message&) {
    sa.state = IkeSaState::dead;
    return TaskStatus::ok();
}

TaskStatus InvalidSpiNotify::build_i(IkeSa&, Message& request) {
    // §1.5: the SPI goes in the Notification Data (no Protocol ID, no SPI
    // field: §3.10 keeps that for INVALID_SELECTORS, REKEY_SA and
    // CHILD_SA_NOT_FOUND).
    add_notify(request, NotifyType::invalid_spi,
               {uint8_t(spi_ >> 24), uint8_t(spi_ >> 16), uint8_t(spi_ >> 8), uint8_t(spi_)});
    return TaskStatus::ok();
}

TaskStatus InformationalResponder::process_r(IkeSa& sa, const Message& request) {
    // §1.5: the peer got ESP from us with an SPI it does not know; worth
    // an operator's attention (a CHILD SA the peer lost), nothing to answer.
    for (const auto& p : request.payloads)
        if (const auto* n = std::get_if<NotifyPayload>(&p.body);
            n && n->type == uint16_t(NotifyType::invalid_spi)) {
            uint32_t spi = 0;
            // In the data (§1.5); some put it in the SPI field instead.
            for (auto b : n->data.size() == 4 ? n->data : n->spi) spi = (spi << 8) | b;
            services_.log(LogLevel::warning, "IKE SA with " + sa.remote.to_string() +
                                                 ": the peer reports INVALID_SPI " + esp::spi_text(spi));
        }
    for (const auto& p : request.payloads) {
        const auto* d = std::get_if<DeletePayload>(&p.body);
        if (!d) continue;
        if (d->protocol == ProtocolId::ike) {
            delete_ike_ = true;
            continue;
        }
        if (d->protocol != ProtocolId::esp) continue;
        // §1.4.1: the peer names its inbound SPIs, our outbound ones.
        for (const auto& s : d->spis) {
            const uint32_t out = spi_value(s);
            auto it = std::find_if(sa.children.begin(), sa.children.end(),
                                   [&](const ChildSa& c) { return c.spi_out == out; });
            if (it == sa.children.end()) continue;
            deleted_in_.push_back(it->spi_in);
            hand_over_outbound(services_, sa, it->spi_in);
            uninstall(services_, *it);
            sa.children.erase(it);
        }
    }
    return TaskStatus::ok();
}

TaskStatus InformationalResponder::build_r(IkeSa& sa, Message& response) {
    if (delete_ike_) {
        // §2.25.2: our own rekey of it is forgotten; a rekey of the peer's we
        // answered meanwhile made the IKE SA that takes over.
        if (sa.peer_successor) hand_over(sa, std::move(sa.peer_successor));
        // The peer closed the tunnel on purpose: down, not failed.
        uninstall_children(services_, sa);
        sa.state = IkeSaState::dead;
        services_.log(LogLevel::info, "IKE SA with " + sa.remote.to_string() + " deleted by the peer");
        return TaskStatus::ok();
    }
    if (!deleted_in_.empty()) {
        DeletePayload d{ProtocolId::esp, 4, {}};
        for (auto spi : deleted_in_) d.spis.push_back(spi_bytes(spi));
        add_payload(response, PayloadType::del, std::move(d));
    }
    return TaskStatus::ok();
}

}  // namespace xdpsec::ike
