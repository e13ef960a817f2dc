// IKE_SA_INIT (RFC 7296 §1.2): SA, KE and Nonce; the choice of the IKE
// proposal, the Diffie-Hellman exchange and the IKE SA keys (§2.14).
// INVALID_KE_PAYLOAD (§1.2) and COOKIE (§2.6) make the initiator start over.
#pragma once

#include "ike/tasks/task.h"

namespace xdpsec::ike {

class IkeInit final : public Task {
public:
    explicit IkeInit(IkeServices& services) : services_(services) {}
    std::string_view name() const override { return "ike_init"; }
    TaskStatus build_i(IkeSa& sa, Message& request) override;
    TaskStatus process_i(IkeSa& sa, const Message& response) override;
    TaskStatus process_r(IkeSa& sa, const Message& request) override;
    TaskStatus build_r(IkeSa& sa, Message& response) override;

private:
    IkeServices& services_;
    IkeChoice choice_;
};

// Derives SK_* from the exchanged values and sets up the SK protection of
// both directions. Empty on success, otherwise why not.
std::string derive_keys(IkeSa& sa, ByteView shared_secret);

}  // namespace xdpsec::ike
