// IKE_AUTH's authentication (RFC 7296 §2.15, §1.2): identities, AUTH by
// pre-shared key or by RFC 7427 digital signature with X.509 certificates,
// CERT and CERTREQ. A responder picks its tunnel here, by the initiator's
// identity among the tunnels that matched by address.
#pragma once

#include "ike/tasks/task.h"

namespace xdpsec::ike {

class IkeAuth final : public Task {
public:
    explicit IkeAuth(IkeServices& services) : services_(services) {}
    std::string_view name() const override { return "ike_auth"; }
    TaskStatus build_i(IkeSa& sa, Message& request) override;
    TaskStatus process_i(IkeSa& sa, const Message& response) override;
    TaskStatus process_r(IkeSa& sa, const Message& request) override;
    TaskStatus build_r(IkeSa& sa, Message& response) override;

private:
    IkeServices& services_;
};

// CERTREQ naming the tunnel's CA (SHA-1 of its SubjectPublicKeyInfo, §3.7).
void add_certreq(const control::TunnelConfig& tunnel, Message& m);

}  // namespace xdpsec::ike
