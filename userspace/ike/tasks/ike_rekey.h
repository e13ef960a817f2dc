// Rekeying the IKE SA (RFC 7296 §1.3.2, §2.18), answered: CREATE_CHILD_SA
// with an IKE proposal carrying the initiator's new SPI, a nonce and a KE.
// The new IKE SA takes over the CHILD SAs; the old one lives on until the
// peer deletes it. The new SA is handed to the engine through
// IkeSa::successor. When our own rekey of the IKE SA is under way, the new
// SA waits in IkeSa::peer_successor until ours ends (§2.8.2); a rekey that
// would cross other exchanges is refused with TEMPORARY_FAILURE (§2.25.2).
#pragma once

#include "ike/crypto/key_exchange.h"
#include "ike/tasks/task.h"

namespace xdpsec::ike {

class IkeRekeyResponder final : public ResponderTask {
public:
    IkeRekeyResponder(IkeServices& services, uint64_t new_spi)
        : services_(services), new_spi_(new_spi) {}
    std::string_view name() const override { return "ike_rekey"; }
    TaskStatus process_r(IkeSa& sa, const Message& request) override;
    TaskStatus build_r(IkeSa& sa, Message& response) override;

private:
    IkeServices& services_;
    uint64_t new_spi_;
    uint16_t error_ = 0;
    Bytes error_data_;
    IkeChoice choice_;
    std::unique_ptr<IkeSa> next_;
    Bytes ke_public_;
};

// Rekeying the IKE SA ourselves (§1.3.2): our new SPI, nonce and KE in the
// current suite's group; the new SA (we are its initiator) takes over the
// CHILD SAs and the old one is deleted by us once the new one stands. If
// the peer rekeyed it too meanwhile, the nonces pick the survivor (§2.8.2).
class IkeRekeyInitiator final : public InitiatorTask {
public:
    explicit IkeRekeyInitiator(IkeServices& services) : services_(services) {}
    std::string_view name() const override { return "ike_rekey"; }
    TaskStatus build_i(IkeSa& sa, Message& request) override;
    TaskStatus process_i(IkeSa& sa, const Message& response) override;

private:
    IkeServices& services_;
    uint64_t new_spi_ = 0;
    Bytes ni_;
    std::unique_ptr<KeyExchange> ke_;
};

// True when a CREATE_CHILD_SA request rekeys the IKE SA (its SA payload
// proposes protocol IKE).
bool rekeys_ike_sa(const Message& request);

// `next` replaces `old` (§2.18): the CHILD SAs move to it, `old` is handed
// to the engine rekeyed and waits for its DELETE, which the side that
// started the rekey that made `next` sends (§2.8.2).
void hand_over(IkeSa& old, std::unique_ptr<IkeSa> next);

}  // namespace xdpsec::ike
