#include "ike/tasks/ike_rekey.h"

#include "ike/crypto/ike_keys.h"
#include "ike/crypto/key_exchange.h"
#include "ike/crypto/prf.h"
#include "ike/crypto/sk_cipher.h"

#include <openssl/rand.h>

namespace xdpsec::ike {

namespace {

uint64_t spi64(const Bytes& b) {
    uint64_t v = 0;
    for (auto c : b) v = (v << 8) | c;
    return v;
}

Bytes bytes64(uint64_t v) {
    Bytes b(8);
    for (int i = 7; i >= 0; --i, v >>= 8) b[std::size_t(i)] = uint8_t(v);
    return b;
}

// The IKE SA that replaces `sa` (§2.18): SKEYSEED from the old SK_d and
// the new g^ir, keys with the new SPIs and nonces; `initiator`: we started
// the rekey and are the new SA's initiator.
std::unique_ptr<IkeSa> successor(const IkeSa& sa, bool initiator, uint64_t our_spi,
                                 uint64_t their_spi, const IkeSuite& suite, ByteView ni,
                                 ByteView nr, const SecretVector& shared, std::string* why) {
    auto next = std::make_unique<IkeSa>(initiator, our_spi, sa.local, sa.remote, sa.last_activity);
    (initiator ? next->spi_r : next->spi_i) = their_spi;
    next->tunnel = sa.tunnel;
    next->suite = suite;
    next->nonce_i.assign(ni.begin(), ni.end());
    next->nonce_r.assign(nr.begin(), nr.end());
    next->prf = Prf::create(suite.prf);
    if (!next->prf) {
        *why = "PRF unsupported";
        return nullptr;
    }
    const auto encr_len = ike_encr_key_size(suite.encr, suite.key_bits);
    const auto integ_len = suite.integ ? integ_key_size(suite.integ) : 0;
    auto keys = derive_rekeyed_ike_keys(*sa.prf, sa.sk_d.view(), *next->prf, shared.view(),
                                        next->nonce_i, next->nonce_r, next->spi_i, next->spi_r,
                                        integ_len, encr_len);
    if (keys.empty()) {
        *why = "key derivation failed";
        return nullptr;
    }
    next->outbound = SkCipher::create(suite.encr, suite.key_bits, suite.integ,
                                      (initiator ? keys.sk_ei : keys.sk_er).view(),
                                      (initiator ? keys.sk_ai : keys.sk_ar).view(), why);
    next->inbound = SkCipher::create(suite.encr, suite.key_bits, suite.integ,
                                     (initiator ? keys.sk_er : keys.sk_ei).view(),
                                     (initiator ? keys.sk_ar : keys.sk_ai).view(), why);
    if (!next->outbound || !next->inbound) return nullptr;
    next->sk_d = std::move(keys.sk_d);
    next->sk_pi = std::move(keys.sk_pi);
    next->sk_pr = std::move(keys.sk_pr);
    next->nat_here = sa.nat_here;
    next->nat_there = sa.nat_there;
    next->local_id = sa.local_id;
    next->remote_id = sa.remote_id;
    next->peer_hash_algorithms = sa.peer_hash_algorithms;
    next->peer_fragmentation = sa.peer_fragmentation;
    next->state = IkeSaState::established;
    next->established_at = sa.last_activity;
    return next;
}

}  // namespace

void hand_over(IkeSa& old, std::unique_ptr<IkeSa> next) {
    next->children = std::move(old.children);
    old.children.clear();
    for (auto& c : next->children) c.rekeying = false;  // nothing in flight moves along
    next->to_delete = std::move(old.to_delete);
    old.to_delete.clear();
    old.delete_when_succeeded = next->initiator();
    old.state = IkeSaState::rekeyed;
    old.successor = std::move(next);
}

bool rekeys_ike_sa(const Message& request) {
    const auto* sap = first_payload<SaPayload>(request, PayloadType::sa);
    return sap && !sap->proposals.empty() && sap->proposals.front().protocol == ProtocolId::ike;
}

TaskStatus IkeRekeyResponder::process_r(IkeSa& sa, const Message& request) {
    auto refuse = [&](NotifyType n, std::string why, Bytes data = {}) {
        error_ = uint16_t(n);
        error_data_ = std::move(data);
        services_.log(LogLevel::warning, "IKE SA rekey from " + sa.remote.to_string() + " refused (" +
                                             notify_name(error_) + "): " + why);
        return TaskStatus::ok();  // the current IKE SA goes on
    };
    // §2.25.2: not an IKE SA that is closing or was rekeyed already, nor
    // while a CHILD SA rekey of ours, a CHILD SA's DELETE after a rekey or
    // a reauthentication is under way (§2.25: a temporary condition, the
    // peer tries again later): a DELETE crossing the move of the CHILD SAs
    // would miss them. Our own rekey of this IKE SA is no reason: that
    // collision is settled (§2.8.2).
    if (sa.state != IkeSaState::established || sa.peer_successor)
        return refuse(NotifyType::temporary_failure, "the IKE SA is being deleted or rekeyed already");
    for (const auto& c : sa.children)
        if (c.rekeying || c.superseded)
            return refuse(NotifyType::temporary_failure, "a CHILD SA rekey is under way");
    if (sa.reauthenticating)
        return refuse(NotifyType::temporary_failure, "we are reauthenticating it");
    const auto* sap = first_payload<SaPayload>(request, PayloadType::sa);
    const auto* ke = first_payload<KePayload>(request, PayloadType::ke);
    const auto* ni = first_payload<NoncePayload>(request, PayloadType::nonce);
    if (!sap || !ke || !ni) return refuse(NotifyType::invalid_syntax, "no SA, KE or Nonce");
    const auto c = choose_ike(sa.tunnel->ike, *sap, ke->group);
    if (!c) return refuse(NotifyType::no_proposal_chosen, "no IKE proposal in common: " + describe(*sap));
    if (ke->group != c->suite.dh)
        return refuse(NotifyType::invalid_ke_payload, "KE group " + std::to_string(ke->group),
                      be16(c->suite.dh));
    uint64_t their_spi = 0;
    for (const auto& p : sap->proposals)
        if (p.number == c->proposal_number && p.protocol == ProtocolId::ike) their_spi = spi64(p.spi);
    if (their_spi == 0) return refuse(NotifyType::invalid_syntax, "the IKE proposal has no 8-byte SPI");

    std::string why;
    auto kex = KeyExchange::create(c->suite.dh, &why);
    SecretVector shared;
    if (!kex || !kex->compute_shared(ke->data, &shared, &why))
        return refuse(NotifyType::no_proposal_chosen, "key exchange: " + why);
    Bytes nr(32);
    if (RAND_bytes(nr.data(), static_cast<int>(nr.size())) != 1)
        return refuse(NotifyType::no_proposal_chosen, "no random bytes for the nonce");

    auto next = successor(sa, false, new_spi_, their_spi, c->suite, ni->data, nr, shared, &why);
    if (!next) return refuse(NotifyType::no_proposal_chosen, why);
    choice_ = *c;
    ke_public_ = kex->public_value();
    next_ = std::move(next);
    return TaskStatus::ok();
}

TaskStatus IkeRekeyInitiator::build_i(IkeSa& sa, Message& request) {
    if (sa.state != IkeSaState::established || sa.peer_successor) {
        // The peer rekeyed it while ours waited its turn: its new SA stands.
        sa.ike_rekeying = false;
        if (sa.peer_successor) hand_over(sa, std::move(sa.peer_successor));
        TaskStatus s = TaskStatus::fail("IKE SA with " + sa.remote.to_string() +
                                        " rekeyed or deleted by the peer meanwhile; no rekey of ours");
        s.fatal = false;
        return s;
    }
    new_spi_ = services_.new_ike_spi();
    ni_.resize(32);
    std::string why;
    ke_ = KeyExchange::create(sa.suite.dh, &why);
    if (!ke_ || RAND_bytes(ni_.data(), static_cast<int>(ni_.size())) != 1)
        return TaskStatus::fail("IKE SA rekey: " + why);
    SaPayload offer = ike_offer(sa.tunnel->ike, sa.suite.dh);
    for (auto& p : offer.proposals) p.spi = bytes64(new_spi_);
    add_payload(request, PayloadType::sa, std::move(offer));
    add_payload(request, PayloadType::nonce, NoncePayload{ni_});
    add_payload(request, PayloadType::ke, KePayload{ke_->group(), ke_->public_value()});
    return TaskStatus::ok();
}

TaskStatus IkeRekeyInitiator::process_i(IkeSa& sa, const Message& response) {
    sa.ike_rekeying = false;
    auto retry_later = [&](std::string why, bool temporary = false) {
        TaskStatus s = TaskStatus::fail("IKE SA rekey with " + sa.remote.to_string() + ": " + why);
        s.fatal = false;
        if (sa.peer_successor) {
            // Ours failed, the peer's went through: its new SA stands alone.
            services_.log(LogLevel::info, s.why + "; the peer's rekey of it stands");
            hand_over(sa, std::move(sa.peer_successor));
            return TaskStatus::ok();
        }
        // §2.25: after TEMPORARY_FAILURE (or any failure), not at once; a
        // refused rekey nothing schedules (ike_rekey_time = 0, `tunnel
        // rekey`) is not retried.
        sa.ike_rekey_at = temporary || sa.tunnel->ike_rekey_seconds
                              ? sa.last_activity + std::chrono::seconds(10)
                              : TimePoint{};
        return s;
    };
    if (const auto* e = first_error(response))
        return retry_later("the peer answered " + notify_name(e->type),
                           e->type == uint16_t(NotifyType::temporary_failure));
    const auto* sap = first_payload<SaPayload>(response, PayloadType::sa);
    const auto* ke = first_payload<KePayload>(response, PayloadType::ke);
    const auto* nr = first_payload<NoncePayload>(response, PayloadType::nonce);
    if (!sap || !ke || !nr) return retry_later("no SA, KE or Nonce in the answer");
    std::string why;
    const auto suite = accept_ike(sa.tunnel->ike, *sap, &why);
    if (!suite) return retry_later(why);
    if (sap->proposals.front().spi.size() != 8 || ke->group != ke_->group() || suite->dh != ke_->group())
        return retry_later("the answer's SPI or KE group does not fit our offer");
    SecretVector shared;
    if (!ke_->compute_shared(ke->data, &shared, &why)) return retry_later(why);
    auto next = successor(sa, true, new_spi_, spi64(sap->proposals.front().spi), *suite, ni_,
                          nr->data, shared, &why);
    if (!next) return retry_later(why);
    if (sa.peer_successor) {
        // §2.8.2: both sides rekeyed it, two new IKE SAs stand. The one made
        // by the exchange with the lowest of the four nonces is redundant and
        // deleted by the side that started that exchange; the CHILD SAs move
        // to the other, whose maker deletes the old IKE SA.
        auto theirs = std::move(sa.peer_successor);
        const bool ours_lost =
            holds_lowest_nonce(next->nonce_i, next->nonce_r, theirs->nonce_i, theirs->nonce_r);
        auto& loser = ours_lost ? next : theirs;
        auto& winner = ours_lost ? theirs : next;
        services_.log(LogLevel::info, "IKE SA rekey collision with " + sa.remote.to_string() + ": " +
                                          (ours_lost ? "the peer's" : "our") + " new IKE SA stays, " +
                                          (ours_lost ? "ours" : "the peer's") + " is redundant");
        loser->state = IkeSaState::rekeyed;
        sa.redundant = std::move(loser);
        hand_over(sa, std::move(winner));
        return TaskStatus::ok();
    }
    services_.log(LogLevel::info, "IKE SA with " + sa.remote.to_string() + " rekeyed, " +
                                      next->suite.name());
    hand_over(sa, std::move(next));
    return TaskStatus::ok();
}

TaskStatus IkeRekeyResponder::build_r(IkeSa& sa, Message& response) {
    if (error_) {
        add_notify(response, static_cast<NotifyType>(error_), error_data_);
        return TaskStatus::ok();
    }
    add_payload(response, PayloadType::sa, ike_answer(choice_, bytes64(new_spi_)));
    add_payload(response, PayloadType::nonce, NoncePayload{next_->nonce_r});
    add_payload(response, PayloadType::ke, KePayload{choice_.suite.dh, ke_public_});
    if (sa.ike_rekeying) {
        // §2.8.2: we rekey it too; which new SA survives is settled when
        // the answer to ours comes (or the peer deletes the old SA first).
        services_.log(LogLevel::info, "IKE SA with " + sa.remote.to_string() +
                                          " rekeyed by the peer while we rekey it too");
        sa.peer_successor = std::move(next_);
        return TaskStatus::ok();
    }
    // §2.18: the CHILD SAs move to the new IKE SA.
    services_.log(LogLevel::info, "IKE SA with " + sa.remote.to_string() + " rekeyed by the peer, " +
                                      next_->suite.name());
    hand_over(sa, std::move(next_));
    return TaskStatus::ok();
}

}  // namespace xdpsec::ike
