// INFORMATIONAL exchanges (RFC 7296 §1.4): deleting the IKE SA or CHILD SAs
// and answering whatever a peer asks (deletes, liveness checks, status
// notifications).
#pragma once

#include "ike/tasks/task.h"

namespace xdpsec::ike {

// Initiator: DELETE of the IKE SA (§1.4.1). The CHILD SAs go with it: they
// leave the data plane when the request is sent.
class IkeDelete final : public InitiatorTask {
public:
    explicit IkeDelete(IkeServices& services) : services_(services) {}
    std::string_view name() const override { return "ike_delete"; }
    TaskStatus build_i(IkeSa& sa, Message& request) override;
    TaskStatus process_i(IkeSa& sa, const Message& response) override;

private:
    IkeServices& services_;
};

// Initiator: an empty INFORMATIONAL request, the liveness check of dead-peer
// detection (RFC 7296 §2.4). An answer is all it needs; none, after the
// retransmissions, fails the IKE SA.
class IkeDpd final : public InitiatorTask {
public:
    std::string_view name() const override { return "ike_dpd"; }
    TaskStatus build_i(IkeSa&, Message&) override { return TaskStatus::ok(); }
    TaskStatus process_i(IkeSa&, const Message&) override { return TaskStatus::ok(); }
};

// Initiator: INVALID_SPI for ESP that arrived with an SPI we do not know
// (RFC 7296 §1.5: the SPI in the Notification Data), sent over
// the IKE SA we share with its sender so that a peer with a stale SA learns
// of it. Rate-limited by the engine.
class InvalidSpiNotify final : public InitiatorTask {
public:
    explicit InvalidSpiNotify(uint32_t spi) : spi_(spi) {}
    std::string_view name() const override { return "invalid_spi"; }
    TaskStatus build_i(IkeSa& sa, Message& request) override;
    TaskStatus process_i(IkeSa&, const Message&) override { return TaskStatus::ok(); }

private:
    uint32_t spi_;
};

// Responder side of every INFORMATIONAL request.
class InformationalResponder final : public ResponderTask {
public:
    explicit InformationalResponder(IkeServices& services) : services_(services) {}
    std::string_view name() const override { return "informational"; }
    TaskStatus process_r(IkeSa& sa, const Message& request) override;
    TaskStatus build_r(IkeSa& sa, Message& response) override;

private:
    IkeServices& services_;
    bool delete_ike_ = false;
    std::vector<uint32_t> deleted_in_;  // our inbound SPIs of the CHILD SAs the peer deleted
};

// Removes every CHILD SA of the IKE SA from the data plane.
void uninstall_children(IkeServices& services, IkeSa& sa);

}  // namespace xdpsec::ike
