// A CHILD SA (RFC 7296 §1.3, §2.17), here the one IKE_AUTH carries: ESP
// proposal, traffic selectors narrowed per §2.9, USE_TRANSPORT_MODE, KEYMAT,
// and installation of both directions in the data plane (inbound first, so
// that the peer's first packets find their SA). A failure here leaves the
// IKE SA itself intact (§2.21.2); the initiator then deletes it, since a
// tunnel without its CHILD SA carries nothing.
#pragma once

#include "ike/crypto/key_exchange.h"
#include "ike/tasks/task.h"

namespace xdpsec::ike {

class ChildCreate final : public Task {
public:
    // `create_child_sa`: the task runs in a CREATE_CHILD_SA exchange (§1.3)
    // rather than IKE_AUTH: it brings its own nonces, optionally a KE for
    // PFS, and with REKEY_SA replaces an existing CHILD SA (§1.3.3), whose
    // old SAs stay installed until the peer deletes them (make-before-break).
    explicit ChildCreate(IkeServices& services, bool create_child_sa = false)
        : services_(services), create_child_sa_(create_child_sa) {}
    // Initiator of a CHILD SA rekey (§1.3.3): CREATE_CHILD_SA with REKEY_SA
    // naming the old SA (our inbound SPI), its selectors, our ESP proposals
    // with their PFS group.
    static std::unique_ptr<ChildCreate> rekey(IkeServices& services, uint32_t old_spi_in) {
        auto t = std::make_unique<ChildCreate>(services, true);
        t->rekey_of_ = old_spi_in;
        return t;
    }
    std::string_view name() const override { return "child_create"; }
    TaskStatus build_i(IkeSa& sa, Message& request) override;
    TaskStatus process_i(IkeSa& sa, const Message& response) override;
    TaskStatus process_r(IkeSa& sa, const Message& request) override;
    TaskStatus build_r(IkeSa& sa, Message& response) override;

private:
    TaskStatus install(IkeSa& sa);
    IkeServices& services_;
    ChildSa child_;
    bool create_child_sa_;
    uint32_t rekey_of_ = 0;         // initiator: the spi_in of the CHILD SA we rekey
    bool exchange_initiator_ = false;
    Bytes ni_, nr_;                 // CREATE_CHILD_SA nonces
    std::unique_ptr<KeyExchange> ke_;
    SecretVector shared_;           // PFS: the new g^ir
    uint8_t number_ = 0;  // the chosen proposal's
    uint16_t error_ = 0;  // responder: the notification that replaces SA/TS
    Bytes error_data_;
    std::string why_;
};

// Selectors of a tunnel as configured, with the defaults of config.h filled
// in from the IKE SA's addresses (transport mode: the hosts themselves).
std::vector<esp::IpPrefix> local_selectors(const IkeSa& sa);
std::vector<esp::IpPrefix> remote_selectors(const IkeSa& sa);

// Removes a CHILD SA's two directions from the data plane.
void uninstall(IkeServices& services, const ChildSa& child);

// Installs the outbound SA a rekey we answered held back (ChildSa::
// pending_out): traffic switches to the new CHILD SA now.
void activate_outbound(IkeServices& services, const IkeSa& sa, ChildSa& child);
// Before the CHILD SA `replaced` leaves: the SA that rekeyed it takes over
// outbound traffic if it was waiting to.
void hand_over_outbound(IkeServices& services, IkeSa& sa, uint32_t replaced);

// Initiator: DELETE of CHILD SAs by their inbound SPIs (§1.4.1); they leave
// the data plane when the answer comes (the peer's DELETE names its side).
class ChildDelete final : public InitiatorTask {
public:
    ChildDelete(IkeServices& services, std::vector<uint32_t> spis_in)
        : services_(services), spis_(std::move(spis_in)) {}
    std::string_view name() const override { return "child_delete"; }
    TaskStatus build_i(IkeSa& sa, Message& request) override;
    TaskStatus process_i(IkeSa& sa, const Message& response) override;

private:
    IkeServices& services_;
    std::vector<uint32_t> spis_;
};

// After a CHILD SA rekey completed (either side's): the two new SAs of a
// collision are resolved as §2.8.1 says, and the old SA's DELETE is queued
// by whoever has to send it. Returns the inbound SPIs this side must delete.
std::vector<uint32_t> settle_rekey(IkeSa& sa, uint32_t replaced);

}  // namespace xdpsec::ike
