#include "ike/tasks/child_create.h"

#include "ike/crypto/ike_keys.h"
#include "ike/crypto/prf.h"
#include "ike/ts_narrowing.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>

namespace xdpsec::ike {

namespace {

std::string ts_text(const std::vector<TrafficSelector>& v) {
    std::string s;
    for (const auto& t : v) s += (s.empty() ? "" : ",") + to_string(t);
    return s;
}

}  // namespace

std::vector<esp::IpPrefix> local_selectors(const IkeSa& sa) {
    const auto& t = *sa.tunnel;
    if (t.mode == esp::Mode::transport || t.local_ts.empty())
        return {esp::IpPrefix::host(sa.local.addr)};
    return t.local_ts;
}

std::vector<esp::IpPrefix> remote_selectors(const IkeSa& sa) {
    const auto& t = *sa.tunnel;
    if (t.mode == esp::Mode::transport || t.remote_ts.empty())
        return {esp::IpPrefix::host(sa.remote.addr)};
    return t.remote_ts;
}

void uninstall(IkeServices& services, const ChildSa& child) {
    if (!child.installed) return;
    services.kernel().del_sa(child.spi_out, esp::SaDirection::outbound);
    services.kernel().del_sa(child.spi_in, esp::SaDirection::inbound);
}

void activate_outbound(IkeServices& services, const IkeSa& sa, ChildSa& child) {
    if (!child.pending_out || child.redundant) return;
    const auto out = std::move(child.pending_out);
    child.pending_out.reset();
    if (auto e = services.kernel().add_sa(*out); !e.empty()) {
        services.log(LogLevel::error, "tunnel " + sa.tunnel->name + ": installing outbound SA " +
                                          esp::spi_text(child.spi_out) + ": " + e);
        return;
    }
    services.log(LogLevel::debug, "tunnel " + sa.tunnel->name + ": outbound traffic on CHILD SA " +
                                      esp::spi_text(child.spi_in) + " now");
}

void hand_over_outbound(IkeServices& services, IkeSa& sa, uint32_t replaced) {
    for (auto& c : sa.children)
        if (c.replaces == replaced) activate_outbound(services, sa, c);
}

TaskStatus ChildCreate::build_i(IkeSa& sa, Message& request) {
    const auto& t = *sa.tunnel;
    exchange_initiator_ = true;
    child_.mode = t.mode;
    const ChildSa* old = nullptr;
    if (rekey_of_) {
        for (auto& c : sa.children)
            if (c.spi_in == rekey_of_ && !c.superseded) old = &c;
        if (!old) {
            // The peer rekeyed (or deleted) it while ours waited its turn.
            for (auto& c : sa.children)
                if (c.spi_in == rekey_of_) c.rekeying = false;
            TaskStatus s = TaskStatus::fail("CHILD SA " + esp::spi_text(rekey_of_) + " is gone; no rekey");
            s.fatal = false;
            return s;
        }
        // §1.3.3: REKEY_SA names the SA being rekeyed by our inbound SPI.
        NotifyPayload n;
        n.protocol = ProtocolId::esp;
        n.spi = {uint8_t(rekey_of_ >> 24), uint8_t(rekey_of_ >> 16), uint8_t(rekey_of_ >> 8),
                 uint8_t(rekey_of_)};
        n.type = uint16_t(NotifyType::rekey_sa);
        request.payloads.push_back(Payload{PayloadType::notify, std::move(n)});
        child_.mode = old->mode;
        child_.replaces = rekey_of_;
    }
    child_.spi_in = services_.new_child_spi();
    if (child_.mode == esp::Mode::transport) add_notify(request, NotifyType::use_transport_mode);
    add_payload(request, PayloadType::sa, esp_offer(t.esp, child_.spi_in, create_child_sa_));
    if (create_child_sa_) {
        ni_.resize(32);
        if (RAND_bytes(ni_.data(), static_cast<int>(ni_.size())) != 1)
            return TaskStatus::fail("no random bytes for the nonce");
        add_payload(request, PayloadType::nonce, NoncePayload{ni_});
        // PFS with the first group of our first proposal that has one.
        for (const auto& p : t.esp)
            if (!p.dh_groups.empty()) {
                std::string why;
                ke_ = KeyExchange::create(p.dh_groups.front().id, &why);
                if (!ke_) return TaskStatus::fail("PFS key exchange: " + why);
                add_payload(request, PayloadType::ke, KePayload{ke_->group(), ke_->public_value()});
                break;
            }
    }
    if (old) {
        add_payload(request, PayloadType::tsi, TsPayload{old->local_ts});
        add_payload(request, PayloadType::tsr, TsPayload{old->remote_ts});
    } else {
        add_payload(request, PayloadType::tsi, ts_payload(local_selectors(sa)));
        add_payload(request, PayloadType::tsr, ts_payload(remote_selectors(sa)));
    }
    return TaskStatus::ok();
}

TaskStatus ChildCreate::process_i(IkeSa& sa, const Message& response) {
    const auto& t = *sa.tunnel;
    auto child_failed = [&](std::string why) {
        TaskStatus s = TaskStatus::fail("CHILD SA of tunnel " + t.name + ": " + why);
        s.fatal = false;
        return s;
    };
    ChildSa* old = nullptr;
    for (auto& c : sa.children)
        if (rekey_of_ && c.spi_in == rekey_of_) old = &c;
    if (old) old->rekeying = false;
    if (const auto* e = first_error(response)) {
        if (old) {
            // §2.25: TEMPORARY_FAILURE (the peer is busy with this SA): try
            // again shortly; anything else: no more tries on this SA.
            const bool again = e->type == uint16_t(NotifyType::temporary_failure);
            old->rekey_at = again ? sa.last_activity + std::chrono::seconds(5) : TimePoint{};
            if (again) {
                services_.log(LogLevel::info, "tunnel " + t.name + ": rekey of CHILD SA " +
                                                  esp::spi_text(rekey_of_) + " deferred (TEMPORARY_FAILURE)");
                return TaskStatus::ok();
            }
        }
        std::string why = "the responder answered " + notify_name(e->type);
        if (e->type == uint16_t(NotifyType::no_proposal_chosen)) {
            std::string ours;
            for (const auto& p : t.esp) ours += (ours.empty() ? "" : ",") + p.text;
            why += ": it accepts none of our ESP proposals (" + ours + ")" +
                   (t.mode == esp::Mode::transport ? " in transport mode" : "");
        } else if (e->type == uint16_t(NotifyType::ts_unacceptable)) {
            why += ": its policy allows none of our traffic selectors";
        }
        return child_failed(why);
    }
    const auto* sap = first_payload<SaPayload>(response, PayloadType::sa);
    const auto* tsi = first_payload<TsPayload>(response, PayloadType::tsi);
    const auto* tsr = first_payload<TsPayload>(response, PayloadType::tsr);
    if (!sap || !tsi || !tsr) return child_failed("the response has no SA, TSi or TSr");
    std::string why;
    const auto c = accept_esp(t.esp, *sap, ke_ != nullptr, &why);
    if (!c) return child_failed(why);
    if (create_child_sa_) {
        const auto* nr = first_payload<NoncePayload>(response, PayloadType::nonce);
        if (!nr) return child_failed("the response has no nonce");
        nr_ = nr->data;
        if (ke_) {
            const auto* ke = first_payload<KePayload>(response, PayloadType::ke);
            if (!ke || ke->group != ke_->group() || c->suite.dh != ke_->group())
                return child_failed("the response's KE does not match our PFS group");
            if (!ke_->compute_shared(ke->data, &shared_, &why))
                return child_failed("the responder's KE payload: " + why);
        }
    }
    if (!within(tsi->selectors, local_selectors(sa)) || !within(tsr->selectors, remote_selectors(sa)))
        return child_failed("the responder's traffic selectors " + ts_text(tsi->selectors) +
                            " === " + ts_text(tsr->selectors) + " are not within ours");
    const bool transport = find_notify(response, NotifyType::use_transport_mode) != nullptr;
    if (transport != (t.mode == esp::Mode::transport))
        return child_failed(std::string("the responder wants ") +
                            (transport ? "transport" : "tunnel") + " mode, the tunnel is configured for " +
                            (t.mode == esp::Mode::transport ? "transport" : "tunnel") + " mode");
    child_.suite = c->suite;
    child_.spi_out = c->peer_spi;
    child_.local_ts = tsi->selectors;
    child_.remote_ts = tsr->selectors;
    return install(sa);
}

TaskStatus ChildCreate::process_r(IkeSa& sa, const Message& request) {
    const auto& t = *sa.tunnel;
    const auto* sap = first_payload<SaPayload>(request, PayloadType::sa);
    const auto* tsi = first_payload<TsPayload>(request, PayloadType::tsi);
    const auto* tsr = first_payload<TsPayload>(request, PayloadType::tsr);
    auto refuse = [&](NotifyType n, std::string why) {
        error_ = uint16_t(n);
        why_ = "CHILD SA of tunnel " + t.name + " refused (" + notify_name(error_) + "): " + why;
        services_.log(LogLevel::warning, why_);
        return TaskStatus::ok();  // the IKE SA goes on; build_r answers with the notification
    };
    if (!sap || !tsi || !tsr) return refuse(NotifyType::invalid_syntax, "no SA, TSi or TSr");
    // §2.25.2: no CHILD SA is created or rekeyed while the IKE SA is rekeyed
    // (our rekey of it under way) or closing; the peer tries again later.
    if (create_child_sa_ && (sa.ike_rekeying || sa.state != IkeSaState::established))
        return refuse(NotifyType::temporary_failure, "the IKE SA is being rekeyed or deleted");
    const bool transport = find_notify(request, NotifyType::use_transport_mode) != nullptr;
    if (transport != (t.mode == esp::Mode::transport))
        return refuse(NotifyType::no_proposal_chosen,
                      std::string("the initiator asks for ") + (transport ? "transport" : "tunnel") +
                          " mode, the tunnel is configured for " +
                          (t.mode == esp::Mode::transport ? "transport" : "tunnel") + " mode");
    const auto* ke = first_payload<KePayload>(request, PayloadType::ke);
    if (const auto* r = find_notify(request, NotifyType::rekey_sa); r && create_child_sa_) {
        // The peer names the SA by its inbound SPI: our outbound one.
        const uint32_t spi = r->spi.size() == 4 ? (uint32_t(r->spi[0]) << 24) | (uint32_t(r->spi[1]) << 16) |
                                                      (uint32_t(r->spi[2]) << 8) | r->spi[3]
                                                : 0;
        ChildSa* old = nullptr;
        for (auto& c : sa.children)
            if (c.spi_out == spi) old = &c;
        if (!old) return refuse(NotifyType::child_sa_not_found, "REKEY_SA names no CHILD SA of ours");
        if (old->superseded)
            return refuse(NotifyType::temporary_failure, "that CHILD SA was rekeyed already");
        if (old->rekeying) old->collision = true;  // §2.8.1: both sides rekey it
        child_.replaces = old->spi_in;
        child_.mode = old->mode;
    }
    if (create_child_sa_) {
        const auto* ni = first_payload<NoncePayload>(request, PayloadType::nonce);
        if (!ni) return refuse(NotifyType::invalid_syntax, "CREATE_CHILD_SA without a nonce");
        ni_ = ni->data;
    } else {
        ke = nullptr;  // §1.2: no KE in IKE_AUTH
    }
    const auto c = choose_esp(t.esp, *sap, ke != nullptr);
    if (!c) return refuse(NotifyType::no_proposal_chosen, "no ESP proposal in common; the peer offered " + describe(*sap));
    if (ke) {
        // PFS (§1.3.1): a fresh exchange in the chosen group.
        if (c->suite.dh == 0)
            return refuse(NotifyType::no_proposal_chosen,
                          "the peer wants PFS but our ESP proposals have no DH group");
        if (ke->group != c->suite.dh) {
            error_data_ = be16(c->suite.dh);
            return refuse(NotifyType::invalid_ke_payload,
                          "the peer's KE uses group " + std::to_string(ke->group) +
                              "; asking for group " + std::to_string(c->suite.dh));
        }
        std::string why;
        ke_ = KeyExchange::create(c->suite.dh, &why);
        if (!ke_ || !ke_->compute_shared(ke->data, &shared_, &why))
            return refuse(NotifyType::no_proposal_chosen, "PFS key exchange: " + why);
    }
    if (create_child_sa_) {
        nr_.resize(32);
        if (RAND_bytes(nr_.data(), static_cast<int>(nr_.size())) != 1)
            return refuse(NotifyType::no_proposal_chosen, "no random bytes for the nonce");
    }
    // The initiator's TSi is its side: our remote selectors, and TSr ours.
    auto their = narrow(tsi->selectors, remote_selectors(sa));
    auto ours = narrow(tsr->selectors, local_selectors(sa));
    if (their.empty() || ours.empty())
        return refuse(NotifyType::ts_unacceptable, "the initiator's selectors " + ts_text(tsi->selectors) +
                                                       " === " + ts_text(tsr->selectors) +
                                                       " do not meet ours");
    child_.mode = t.mode;
    child_.suite = c->suite;
    child_.spi_out = c->peer_spi;
    child_.spi_in = services_.new_child_spi();
    child_.local_ts = std::move(ours);
    child_.remote_ts = std::move(their);
    number_ = c->proposal_number;
    return TaskStatus::ok();
}

TaskStatus ChildCreate::build_r(IkeSa& sa, Message& response) {
    if (error_) {
        add_notify(response, static_cast<NotifyType>(error_), error_data_);
        return TaskStatus::ok();
    }
    // Installed before the answer goes out, so that the initiator's first
    // packets find their SA.
    if (auto s = install(sa); !s.good()) {
        services_.log(LogLevel::error, s.why);
        add_notify(response, NotifyType::no_proposal_chosen);
        return TaskStatus::ok();
    }
    if (child_.mode == esp::Mode::transport) add_notify(response, NotifyType::use_transport_mode);
    ChildChoice choice{child_.suite, number_, child_.spi_out};
    add_payload(response, PayloadType::sa, esp_answer(choice, child_.spi_in));
    if (create_child_sa_) {
        add_payload(response, PayloadType::nonce, NoncePayload{nr_});
        if (ke_) add_payload(response, PayloadType::ke, KePayload{ke_->group(), ke_->public_value()});
    }
    add_payload(response, PayloadType::tsi, TsPayload{child_.remote_ts});
    add_payload(response, PayloadType::tsr, TsPayload{child_.local_ts});
    return TaskStatus::ok();
}

TaskStatus ChildCreate::install(IkeSa& sa) {
    const auto& t = *sa.tunnel;
    const auto& alg = child_.suite.algorithm;
    const std::size_t enc = alg.enc_keymat_len(), integ = alg.integ_key_len();
    // §2.17: initiator-to-responder keys first, each encryption key before
    // its integrity key.
    // KEYMAT from this exchange's nonces (and new g^ir with PFS) in
    // CREATE_CHILD_SA, from IKE_SA_INIT's in IKE_AUTH. In a CREATE_CHILD_SA
    // we answer, the peer is the initiator of the exchange.
    const ByteView ni = create_child_sa_ ? ByteView(ni_) : ByteView(sa.nonce_i);
    const ByteView nr = create_child_sa_ ? ByteView(nr_) : ByteView(sa.nonce_r);
    const auto keymat = derive_child_keymat(*sa.prf, sa.sk_d.view(), shared_.view(), ni, nr,
                                            2 * (enc + integ));
    if (keymat.size() != 2 * (enc + integ)) return TaskStatus::fail("CHILD SA key derivation failed");
    const ByteView i_enc = keymat.sub(0, enc), i_int = keymat.sub(enc, integ);
    const ByteView r_enc = keymat.sub(enc + integ, enc), r_int = keymat.sub(2 * enc + integ, integ);
    // The initiator of this exchange owns the first keys: in CREATE_CHILD_SA
    // that is the peer whenever we answer (§2.17).
    const bool initiator = create_child_sa_ ? exchange_initiator_ : sa.initiator();
    child_.udp_encap = sa.nat();

    auto config = [&](esp::SaDirection dir, uint32_t spi, ByteView ek, ByteView ik) {
        esp::SaConfig c;
        c.spi = spi;
        c.direction = dir;
        c.mode = child_.mode;
        c.local = sa.local.addr;
        c.remote = sa.remote.addr;
        if (child_.udp_encap) c.udp_encap = esp::UdpEncap{sa.local.port, sa.remote.port};
        c.algorithm = alg;
        c.enc_key.assign(ek);
        c.integ_key.assign(ik);
        c.esn = child_.suite.esn;
        return c;
    };
    ChildSaInstall in{t.name + "/in/" + esp::spi_text(child_.spi_in),
                      config(esp::SaDirection::inbound, child_.spi_in, initiator ? r_enc : i_enc,
                             initiator ? r_int : i_int),
                      prefixes_of(child_.local_ts), prefixes_of(child_.remote_ts)};
    ChildSaInstall out{t.name + "/out/" + esp::spi_text(child_.spi_out),
                       config(esp::SaDirection::outbound, child_.spi_out, initiator ? i_enc : r_enc,
                              initiator ? i_int : r_int),
                       prefixes_of(child_.local_ts), prefixes_of(child_.remote_ts)};
    if (auto e = services_.kernel().add_sa(in); !e.empty()) {
        TaskStatus s = TaskStatus::fail("installing inbound SA " + esp::spi_text(child_.spi_in) + ": " + e);
        s.fatal = false;
        return s;
    }
    // Make-before-break (RFC 7296 §2.8): answering a rekey, we switch our
    // outbound traffic only once the peer has the new SA installed, which
    // it shows by deleting the old one or by sending on the new one; until
    // then the old SA carries it. The initiator installs both at once.
    if (create_child_sa_ && child_.replaces && !exchange_initiator_) {
        child_.pending_out = std::make_shared<const ChildSaInstall>(std::move(out));
    } else if (auto e = services_.kernel().add_sa(out); !e.empty()) {
        services_.kernel().del_sa(child_.spi_in, esp::SaDirection::inbound);
        TaskStatus s = TaskStatus::fail("installing outbound SA " + esp::spi_text(child_.spi_out) + ": " + e);
        s.fatal = false;
        return s;
    }
    if (child_.replaces)
        for (auto& c : sa.children)
            if (c.spi_in == child_.replaces) {
                c.superseded = true;  // make-before-break: it waits for its DELETE
                c.superseded_at = sa.last_activity;
            }
    child_.installed = true;
    child_.established = sa.last_activity;  // the time of the message that made it
    child_.we_initiated = exchange_initiator_;
    child_.ni = ni_;
    child_.nr = nr_;
    // Hard lifetime (RFC 4301 §4.4.2.1): life_time, or the default after rekey_time.
    const unsigned life = t.life_seconds ? t.life_seconds : control::hard_lifetime_after(t.rekey_seconds);
    if (life) child_.expire_at = sa.last_activity + std::chrono::seconds(life);
    if (t.rekey_seconds) {
        // Up to 10 % earlier, so that both ends rarely rekey at once.
        uint32_t r = 0;
        RAND_bytes(reinterpret_cast<uint8_t*>(&r), sizeof r);
        const auto span = std::chrono::milliseconds(uint64_t(t.rekey_seconds) * 100);
        child_.rekey_at = sa.last_activity + std::chrono::seconds(t.rekey_seconds) -
                          std::chrono::milliseconds(span.count() ? r % span.count() : 0);
    }
    sa.children.push_back(child_);
    services_.log(LogLevel::info,
                  "tunnel " + t.name + ": CHILD SA installed, " + child_.suite.name() + ", " +
                      (child_.mode == esp::Mode::transport ? "transport" : "tunnel") + " mode" +
                      (child_.udp_encap ? " in UDP" : "") + ", SPIs in " + esp::spi_text(child_.spi_in) +
                      " out " + esp::spi_text(child_.spi_out) + ", " + ts_text(child_.local_ts) + " === " +
                      ts_text(child_.remote_ts));
    if (child_.replaces) {
        for (auto spi : settle_rekey(sa, child_.replaces)) sa.to_delete.push_back(spi);
        const ChildSa *loser = nullptr, *winner = nullptr;
        for (const auto& c : sa.children)
            if (c.replaces == child_.replaces) (c.redundant ? loser : winner) = &c;
        if (loser && winner) {
            services_.log(LogLevel::info, "tunnel " + t.name + ": CHILD SA rekey collision: " +
                                              esp::spi_text(winner->spi_in) + " stays, " +
                                              esp::spi_text(loser->spi_in) + " is redundant");
            // Our traffic leaves the redundant SA now, not when its DELETE is
            // answered: the peer may drop its side of it as soon as the DELETE
            // arrives. Its inbound side stays until then.
            services_.kernel().del_sa(loser->spi_out, esp::SaDirection::outbound);
        }
    }
    return TaskStatus::ok();
}

std::vector<uint32_t> settle_rekey(IkeSa& sa, uint32_t replaced) {
    const ChildSa* old = nullptr;
    std::vector<ChildSa*> made;
    for (auto& c : sa.children) {
        if (c.spi_in == replaced) old = &c;
        if (c.replaces == replaced) made.push_back(&c);
    }
    // Our own rekey of it still in flight: decide once it ends.
    if (old && old->rekeying) return {};
    std::vector<uint32_t> out;
    const ChildSa* winner = made.empty() ? nullptr : made.front();
    if (made.size() >= 2) {
        // §2.8.1: the SA whose exchange holds the lowest of the four nonces
        // is redundant; the side that started that exchange deletes it.
        ChildSa* loser =
            holds_lowest_nonce(made[0]->ni, made[0]->nr, made[1]->ni, made[1]->nr) ? made[0] : made[1];
        winner = loser == made[0] ? made[1] : made[0];
        loser->redundant = true;  // never carries our outbound traffic
        if (loser->we_initiated) out.push_back(loser->spi_in);
    }
    // The old SA goes once its successor is settled; its DELETE comes from
    // the side that started the surviving rekey.
    if (old && winner && winner->we_initiated) out.push_back(replaced);
    return out;
}

TaskStatus ChildDelete::build_i(IkeSa& sa, Message& request) {
    DeletePayload d{ProtocolId::esp, 4, {}};
    for (auto spi : spis_)
        for (const auto& c : sa.children)
            if (c.spi_in == spi)
                d.spis.push_back({uint8_t(spi >> 24), uint8_t(spi >> 16), uint8_t(spi >> 8), uint8_t(spi)});
    if (d.spis.empty()) return TaskStatus::ok();  // gone already: an empty INFORMATIONAL
    add_payload(request, PayloadType::del, std::move(d));
    return TaskStatus::ok();
}

TaskStatus ChildDelete::process_i(IkeSa& sa, const Message&) {
    // §1.4.1: the answer names the peer's side; ours go either way.
    for (auto spi : spis_) {
        auto it = std::find_if(sa.children.begin(), sa.children.end(),
                               [&](const ChildSa& c) { return c.spi_in == spi; });
        if (it == sa.children.end()) continue;
        hand_over_outbound(services_, sa, it->spi_in);
        uninstall(services_, *it);
        services_.log(LogLevel::info, "tunnel " + sa.tunnel->name + ": CHILD SA " + esp::spi_text(spi) +
                                          " deleted");
        sa.children.erase(it);
    }
    return TaskStatus::ok();
}

}  // namespace xdpsec::ike
