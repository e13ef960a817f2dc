#include "ike/tasks/ike_init.h"

#include "ike/crypto/ike_keys.h"
#include "ike/crypto/key_exchange.h"
#include "ike/crypto/prf.h"
#include "ike/crypto/sk_cipher.h"
#include "ike/auth/digital_signature.h"
#include "ike/tasks/ike_auth.h"

#include <openssl/rand.h>

#include <algorithm>

namespace xdpsec::ike {

namespace {

constexpr std::size_t kNonceSize = 32;  // ≥ half the largest prf key, §2.10

Bytes random_nonce() {
    Bytes n(kNonceSize);
    if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1) n.clear();
    return n;
}

bool group_offered(const control::TunnelConfig& t, uint16_t group) {
    for (const auto& p : t.ike)
        for (const auto& g : p.dh_groups)
            if (g.id == group) return true;
    return false;
}

// Announcements both sides make in IKE_SA_INIT: IKE fragmentation (RFC
// 7383) and the hashes we sign and verify with (RFC 7427 §4).
void add_capabilities(Message& m) {
    add_notify(m, NotifyType::ikev2_fragmentation_supported);
    Bytes algs;
    for (auto h : supported_hash_algorithms()) {
        const auto b = be16(h);
        algs.insert(algs.end(), b.begin(), b.end());
    }
    add_notify(m, NotifyType::signature_hash_algorithms, std::move(algs));
}

void read_capabilities(IkeSa& sa, const Message& m) {
    if (const auto* n = find_notify(m, NotifyType::signature_hash_algorithms))
        for (std::size_t i = 0; i + 1 < n->data.size(); i += 2)
            sa.peer_hash_algorithms.push_back(uint16_t((n->data[i] << 8) | n->data[i + 1]));
    sa.peer_fragmentation = find_notify(m, NotifyType::ikev2_fragmentation_supported) != nullptr;
}

}  // namespace

std::string derive_keys(IkeSa& sa, ByteView shared) {
    sa.prf = Prf::create(sa.suite.prf);
    if (!sa.prf) return "PRF " + std::to_string(sa.suite.prf) + " unsupported";
    const auto encr_len = ike_encr_key_size(sa.suite.encr, sa.suite.key_bits);
    const auto integ_len = sa.suite.integ ? integ_key_size(sa.suite.integ) : 0;
    if (encr_len == 0) return "encryption algorithm unsupported";
    auto keys = derive_ike_keys(*sa.prf, sa.nonce_i, sa.nonce_r, shared, sa.spi_i, sa.spi_r,
                                integ_len, encr_len);
    if (keys.empty()) return "key derivation failed";
    std::string err;
    const bool i = sa.initiator();
    auto out = SkCipher::create(sa.suite.encr, sa.suite.key_bits, sa.suite.integ,
                                (i ? keys.sk_ei : keys.sk_er).view(),
                                (i ? keys.sk_ai : keys.sk_ar).view(), &err);
    auto in = SkCipher::create(sa.suite.encr, sa.suite.key_bits, sa.suite.integ,
                               (i ? keys.sk_er : keys.sk_ei).view(),
                               (i ? keys.sk_ar : keys.sk_ai).view(), &err);
    if (!out || !in) return "cannot set up the IKE SA's cipher: " + err;
    sa.outbound = std::move(out);
    sa.inbound = std::move(in);
    sa.sk_d = std::move(keys.sk_d);
    sa.sk_pi = std::move(keys.sk_pi);
    sa.sk_pr = std::move(keys.sk_pr);
    return {};
}

TaskStatus IkeInit::build_i(IkeSa& sa, Message& request) {
    const auto& t = *sa.tunnel;
    if (!sa.cookie.empty()) add_notify(request, NotifyType::cookie, sa.cookie);  // first, §2.6
    const uint16_t group = sa.ke_group_hint ? sa.ke_group_hint : t.ike.front().dh_groups.front().id;
    std::string err;
    if (!sa.ke || sa.ke->group() != group) sa.ke = KeyExchange::create(group, &err);
    if (!sa.ke) return TaskStatus::fail("key exchange group " + std::to_string(group) + ": " + err);
    if (sa.nonce_i.empty()) sa.nonce_i = random_nonce();
    if (sa.nonce_i.empty()) return TaskStatus::fail("no random bytes for the nonce");
    add_payload(request, PayloadType::sa, ike_offer(t.ike, group));
    add_payload(request, PayloadType::ke, KePayload{group, sa.ke->public_value()});
    add_payload(request, PayloadType::nonce, NoncePayload{sa.nonce_i});
    add_capabilities(request);
    return TaskStatus::ok();
}

TaskStatus IkeInit::process_i(IkeSa& sa, const Message& response) {
    const auto& t = *sa.tunnel;
    if (const auto* c = find_notify(response, NotifyType::cookie)) {
        if (!sa.cookie.empty() && sa.cookie == c->data)
            return TaskStatus::fail("the responder keeps asking for the same COOKIE");
        sa.cookie = c->data;
        return TaskStatus::restart("the responder asks for a COOKIE (RFC 7296 §2.6)");
    }
    if (const auto* n = find_notify(response, NotifyType::invalid_ke_payload)) {
        const uint16_t g = n->data.size() == 2 ? uint16_t((n->data[0] << 8) | n->data[1]) : 0;
        if (g == 0 || g == sa.ke_group_hint || !group_offered(t, g) || (sa.ke && g == sa.ke->group()))
            return TaskStatus::fail("the responder wants DH group " + std::to_string(g) +
                                    ", which our IKE proposals do not allow");
        sa.ke_group_hint = g;
        return TaskStatus::restart("the responder wants DH group " + std::to_string(g) +
                                   " (INVALID_KE_PAYLOAD); retrying with it");
    }
    if (const auto* e = first_error(response)) {
        std::string why = "the responder answered " + notify_name(e->type);
        if (e->type == uint16_t(NotifyType::no_proposal_chosen)) {
            std::string ours;
            for (const auto& p : t.ike) ours += (ours.empty() ? "" : ",") + p.text;
            why += ": it accepts none of our IKE proposals (" + ours + ")";
        }
        return TaskStatus::fail(why);
    }
    const auto* sap = first_payload<SaPayload>(response, PayloadType::sa);
    const auto* ke = first_payload<KePayload>(response, PayloadType::ke);
    const auto* nr = first_payload<NoncePayload>(response, PayloadType::nonce);
    if (!sap || !ke || !nr) return TaskStatus::fail("IKE_SA_INIT response without SA, KE or Nonce");
    std::string why;
    const auto suite = accept_ike(t.ike, *sap, &why);
    if (!suite) return TaskStatus::fail(why);
    if (suite->dh != sa.ke->group() || ke->group != sa.ke->group())
        return TaskStatus::fail("the responder's KE group " + std::to_string(ke->group) +
                                " is not the one we sent (" + std::to_string(sa.ke->group()) + ")");
    sa.suite = *suite;
    sa.nonce_r = nr->data;
    SecretVector shared;
    if (!sa.ke->compute_shared(ke->data, &shared, &why))
        return TaskStatus::fail("the responder's KE payload: " + why);
    sa.ke.reset();
    read_capabilities(sa, response);
    if (auto e = derive_keys(sa, shared.view()); !e.empty()) return TaskStatus::fail(e);
    return TaskStatus::ok();
}

TaskStatus IkeInit::process_r(IkeSa& sa, const Message& request) {
    const auto* sap = first_payload<SaPayload>(request, PayloadType::sa);
    const auto* ke = first_payload<KePayload>(request, PayloadType::ke);
    const auto* ni = first_payload<NoncePayload>(request, PayloadType::nonce);
    if (!sap || !ke || !ni)
        return TaskStatus::fail("IKE_SA_INIT request without SA, KE or Nonce",
                                uint16_t(NotifyType::invalid_syntax));
    // The first candidate tunnel whose proposals match: strongSwan picks its
    // IKE config by address the same way, before identities are known.
    std::optional<IkeChoice> choice;
    for (const auto* t : sa.candidates) {
        choice = choose_ike(t->ike, *sap, ke->group);
        if (choice) {
            sa.tunnel = t;
            break;
        }
    }
    if (!choice)
        return TaskStatus::fail("no IKE proposal in common; the peer offered " + describe(*sap),
                                uint16_t(NotifyType::no_proposal_chosen));
    if (ke->group != choice->suite.dh)
        return TaskStatus::fail("the initiator's KE uses group " + std::to_string(ke->group) +
                                    "; asking for group " + std::to_string(choice->suite.dh),
                                uint16_t(NotifyType::invalid_ke_payload), be16(choice->suite.dh));
    choice_ = *choice;
    sa.suite = choice->suite;
    sa.nonce_i = ni->data;
    sa.nonce_r = random_nonce();
    std::string why;
    sa.ke = KeyExchange::create(sa.suite.dh, &why);
    if (!sa.ke || sa.nonce_r.empty())
        return TaskStatus::fail("key exchange: " + why, uint16_t(NotifyType::no_proposal_chosen));
    SecretVector shared;
    if (!sa.ke->compute_shared(ke->data, &shared, &why))
        return TaskStatus::fail("the initiator's KE payload: " + why,
                                uint16_t(NotifyType::invalid_syntax));
    read_capabilities(sa, request);
    if (auto e = derive_keys(sa, shared.view()); !e.empty())
        return TaskStatus::fail(e, uint16_t(NotifyType::no_proposal_chosen));
    return TaskStatus::ok();
}

TaskStatus IkeInit::build_r(IkeSa& sa, Message& response) {
    add_payload(response, PayloadType::sa, ike_answer(choice_));
    add_payload(response, PayloadType::ke, KePayload{sa.suite.dh, sa.ke->public_value()});
    add_payload(response, PayloadType::nonce, NoncePayload{sa.nonce_r});
    sa.ke.reset();
    add_capabilities(response);
    if (sa.tunnel->auth == control::AuthMethod::pubkey) add_certreq(*sa.tunnel, response);
    return TaskStatus::ok();
}

}  // namespace xdpsec::ike
