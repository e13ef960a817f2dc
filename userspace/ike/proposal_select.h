// SA payload proposals from the configuration, and the choice between
// proposals (RFC 7296 §2.7, §3.3): the responder picks one proposal with
// one transform of each type; the initiator checks that what came back is
// one of the things it offered.
#pragma once

#include "control/proposal.h"
#include "esp/algorithm.h"
#include "ike/message/payloads.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xdpsec::ike {

// The transforms of an IKE SA.
struct IkeSuite {
    uint16_t encr = 0;
    uint16_t key_bits = 0;  // 0 where the cipher fixes it
    uint16_t integ = 0;     // 0 with an AEAD cipher
    uint16_t prf = 0;
    uint16_t dh = 0;
    bool aead() const { return integ == 0; }
    std::string name() const;  // strongSwan syntax: "aes128-sha256-prfsha256-x25519"
};

// The transforms of a CHILD SA.
struct ChildSuite {
    esp::Algorithm algorithm;
    bool esn = false;
    uint16_t dh = 0;  // PFS group (CREATE_CHILD_SA only)
    std::string name() const;
};

// ESP transform ids of an esp::Algorithm, and back.
struct EspTransformIds {
    uint16_t encr = 0, key_bits = 0, integ = 0;
};
EspTransformIds esp_transform_ids(const esp::Algorithm& a);
std::optional<esp::Algorithm> esp_algorithm(uint16_t encr, uint16_t key_bits, uint16_t integ);

// Our offer. IKE proposals carry no SPI in IKE_SA_INIT (RFC 7296 §3.3.1);
// ESP proposals carry our inbound SPI. `with_dh` adds the configured PFS
// groups to ESP proposals (CREATE_CHILD_SA; never in IKE_AUTH, §1.2).
// `first_dh` moves that group to the front, after INVALID_KE_PAYLOAD.
SaPayload ike_offer(const std::vector<control::IkeProposal>& ours, uint16_t first_dh = 0);
SaPayload esp_offer(const std::vector<control::EspProposal>& ours, uint32_t spi, bool with_dh);

// Responder: the first of our proposals (our preference order, as strongSwan
// does by default) that the peer offered as well. The chosen proposal's
// number is returned so the answer can carry it.
struct IkeChoice {
    IkeSuite suite;
    uint8_t proposal_number = 0;
};
// `ke_group`: the group of the peer's KE payload, preferred when acceptable.
std::optional<IkeChoice> choose_ike(const std::vector<control::IkeProposal>& ours,
                                    const SaPayload& theirs, uint16_t ke_group);
struct ChildChoice {
    ChildSuite suite;
    uint8_t proposal_number = 0;
    uint32_t peer_spi = 0;
};
std::optional<ChildChoice> choose_esp(const std::vector<control::EspProposal>& ours,
                                      const SaPayload& theirs, bool with_dh);

// The SA payload a responder answers with: exactly the chosen transforms.
SaPayload ike_answer(const IkeChoice& c, Bytes spi = {});
SaPayload esp_answer(const ChildChoice& c, uint32_t our_spi);

// Initiator: the answer must hold one proposal with one transform per type,
// all of them offered by us. nullopt with *why set otherwise.
std::optional<IkeSuite> accept_ike(const std::vector<control::IkeProposal>& ours,
                                   const SaPayload& answer, std::string* why);
std::optional<ChildChoice> accept_esp(const std::vector<control::EspProposal>& ours,
                                      const SaPayload& answer, bool with_dh, std::string* why);

// For logs: the peer's proposals in strongSwan syntax.
std::string describe(const SaPayload& sa);

}  // namespace xdpsec::ike
