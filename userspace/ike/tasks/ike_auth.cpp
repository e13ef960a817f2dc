#include "ike/tasks/ike_auth.h"

#include "ike/auth/certificate.h"
#include "ike/auth/digital_signature.h"
#include "ike/auth/identity.h"
#include "ike/auth/psk.h"
#include "ike/auth/signed_octets.h"
#include "ike/crypto/prf.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <memory>

namespace xdpsec::ike {

namespace {

IdPayload id_payload(const Identity& id) { return IdPayload{id.type, id.data}; }

std::optional<Identity> own_identity(const control::TunnelConfig& t) {
    return Identity::parse(t.local_id.empty() ? t.local.to_string() : t.local_id);
}

bool any_id(const std::string& s) { return s.empty() || s == "%any"; }

// Does the received identity satisfy the tunnel's remote_id?
bool id_acceptable(const control::TunnelConfig& t, const Identity& got) {
    if (any_id(t.remote_id)) return true;
    const auto want = Identity::parse(t.remote_id);
    return want && want->equivalent(got);
}

// AUTH payload for what we sign: psk or digital signature.
std::optional<AuthPayload> make_auth(const IkeSa& sa, const control::TunnelConfig& t,
                                     ByteView octets, std::string* why) {
    if (t.auth == control::AuthMethod::psk)
        return AuthPayload{AuthMethod::shared_key_mic, psk_auth(sa.prf->id(), t.psk.bytes(), octets)};
    auto key = PrivateKey::load_pem_file(t.key, why);
    if (!key) return std::nullopt;
    const auto hash = hash_for_key(*key, sa.peer_hash_algorithms);
    if (!hash) {
        *why = "the peer announced no signature hash algorithm that fits our key";
        return std::nullopt;
    }
    auto sig = sign_digital_signature(*key, octets, *hash, why);
    if (sig.empty()) return std::nullopt;
    return AuthPayload{AuthMethod::digital_signature, std::move(sig)};
}

// Checks the peer's AUTH over `octets`; empty on success, else why not.
std::string check_auth(const IkeSa& sa, const control::TunnelConfig& t, const Message& m,
                       const Identity& peer, ByteView octets) {
    const auto* auth = first_payload<AuthPayload>(m, PayloadType::auth);
    if (!auth) return "no AUTH payload";
    if (t.auth == control::AuthMethod::psk) {
        if (auth->method != AuthMethod::shared_key_mic)
            return "the peer authenticates with method " + std::to_string(int(auth->method)) +
                   ", the tunnel expects a pre-shared key";
        if (!psk_verify(sa.prf->id(), t.psk.bytes(), octets, auth->data))
            return "pre-shared key mismatch (the peer's AUTH does not verify with our PSK)";
        return {};
    }
    if (auth->method != AuthMethod::digital_signature)
        return "the peer authenticates with method " + std::to_string(int(auth->method)) +
               ", the tunnel expects an RFC 7427 digital signature";
    const auto* cert = first_payload<CertPayload>(m, PayloadType::cert);
    if (!cert || cert->encoding != CertEncoding::x509_signature)
        return "the peer sent no X.509 certificate";
    std::string why;
    auto leaf = Certificate::from_der(cert->data, &why);
    if (!leaf) return "the peer's certificate: " + why;
    std::vector<Certificate> intermediates;
    bool first = true;
    for (const auto& p : m.payloads) {
        const auto* c = std::get_if<CertPayload>(&p.body);
        if (!c || p.type != PayloadType::cert) continue;
        if (first) {
            first = false;
            continue;
        }
        if (auto x = Certificate::from_der(c->data, &why)) intermediates.push_back(std::move(*x));
    }
    TrustStore store;
    if (!store.add_pem_file(t.ca, &why)) return "CA " + t.ca + ": " + why;
    if (!store.verify(*leaf, intermediates, &why)) return "the peer's certificate: " + why;
    if (!leaf->matches(peer.type, peer.data))
        return "the peer's certificate does not hold its identity " + peer.to_string();
    if (!verify_digital_signature(*leaf, auth->data, octets, &why))
        return "the peer's signature: " + why;
    return {};
}

Bytes own_cert_der(const control::TunnelConfig& t, std::string* why) {
    auto c = Certificate::load_pem_file(t.cert, why);
    return c ? c->der() : Bytes{};
}

Bytes octets_for(const IkeSa& sa, bool initiator_side, const IdPayload& id) {
    const Bytes body = id_body(id);
    // §2.15: the signer's IKE_SA_INIT message, the other side's nonce,
    // prf(SK_px, IDx').
    return initiator_side
               ? signed_octets(sa.prf->id(), sa.init_request, sa.nonce_r, sa.sk_pi.view(), body)
               : signed_octets(sa.prf->id(), sa.init_response, sa.nonce_i, sa.sk_pr.view(), body);
}

}  // namespace

void add_certreq(const control::TunnelConfig& t, Message& m) {
    FILE* f = std::fopen(t.ca.c_str(), "r");
    if (!f) return;
    Bytes hashes;
    while (X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr)) {
        unsigned char* der = nullptr;
        const int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
        uint8_t h[20];
        unsigned len = 0;
        if (n > 0 && EVP_Digest(der, std::size_t(n), h, &len, EVP_sha1(), nullptr) == 1)
            hashes.insert(hashes.end(), h, h + 20);
        OPENSSL_free(der);
        X509_free(x);
    }
    std::fclose(f);
    if (!hashes.empty())
        add_payload(m, PayloadType::certreq, CertReqPayload{CertEncoding::x509_signature, hashes});
}

TaskStatus IkeAuth::build_i(IkeSa& sa, Message& request) {
    const auto& t = *sa.tunnel;
    const auto me = own_identity(t);
    if (!me) return TaskStatus::fail("local_id '" + t.local_id + "' is not a usable identity");
    const IdPayload idi = id_payload(*me);
    add_payload(request, PayloadType::idi, idi);
    std::string why;
    if (t.auth == control::AuthMethod::pubkey) {
        auto der = own_cert_der(t, &why);
        if (der.empty()) return TaskStatus::fail("certificate " + t.cert + ": " + why);
        add_payload(request, PayloadType::cert, CertPayload{CertEncoding::x509_signature, der});
        add_certreq(t, request);
    }
    if (!any_id(t.remote_id))
        if (const auto r = Identity::parse(t.remote_id)) add_payload(request, PayloadType::idr, id_payload(*r));
    auto auth = make_auth(sa, t, octets_for(sa, true, idi), &why);
    if (!auth) return TaskStatus::fail("cannot sign our AUTH: " + why);
    add_payload(request, PayloadType::auth, std::move(*auth));
    sa.local_id = me->to_string();
    return TaskStatus::ok();
}

TaskStatus IkeAuth::process_i(IkeSa& sa, const Message& response) {
    const auto& t = *sa.tunnel;
    if (const auto* e = first_error(response);
        e && (e->type == uint16_t(NotifyType::authentication_failed) ||
              !first_payload<AuthPayload>(response, PayloadType::auth))) {
        std::string why = "the responder answered " + notify_name(e->type);
        if (e->type == uint16_t(NotifyType::authentication_failed))
            why += ": it did not accept our authentication (check the PSK, certificate and "
                   "identities on both sides)";
        return TaskStatus::fail(why);
    }
    const auto* idr = first_payload<IdPayload>(response, PayloadType::idr);
    if (!idr) return TaskStatus::fail("IKE_AUTH response without IDr");
    const Identity peer{idr->type, idr->data};
    if (!id_acceptable(t, peer))
        return TaskStatus::fail("the responder identifies as " + peer.to_string() +
                                ", the tunnel expects " + t.remote_id);
    if (auto why = check_auth(sa, t, response, peer, octets_for(sa, false, *idr)); !why.empty())
        return TaskStatus::fail("authentication of the responder " + peer.to_string() +
                                " failed: " + why);
    sa.remote_id = peer.to_string();
    return TaskStatus::ok();
}

TaskStatus IkeAuth::process_r(IkeSa& sa, const Message& request) {
    const auto* idi = first_payload<IdPayload>(request, PayloadType::idi);
    if (!idi || !first_payload<AuthPayload>(request, PayloadType::auth))
        return TaskStatus::fail("IKE_AUTH request without IDi or AUTH",
                                uint16_t(NotifyType::authentication_failed));
    const Identity peer{idi->type, idi->data};
    const auto* idr = first_payload<IdPayload>(request, PayloadType::idr);
    // The tunnel: the first candidate whose remote_id accepts the peer and
    // whose identity is the one asked for, if any was; then its IKE
    // proposals must include the suite already chosen.
    const control::TunnelConfig* chosen = nullptr;
    for (const auto* t : sa.candidates) {
        if (!id_acceptable(*t, peer)) continue;
        if (idr) {
            const auto me = own_identity(*t);
            if (!me || me->type != idr->type || me->data != idr->data) continue;
        }
        if (!choose_ike(t->ike, ike_answer({sa.suite, 1}), sa.suite.dh)) continue;
        chosen = t;
        break;
    }
    if (!chosen)
        return TaskStatus::fail("no tunnel accepts the initiator's identity " + peer.to_string() +
                                    (idr ? " asking for " + Identity{idr->type, idr->data}.to_string()
                                         : std::string()),
                                uint16_t(NotifyType::authentication_failed));
    sa.tunnel = chosen;
    if (auto why = check_auth(sa, *chosen, request, peer, octets_for(sa, true, *idi)); !why.empty())
        return TaskStatus::fail("authentication of the initiator " + peer.to_string() +
                                    " for tunnel " + chosen->name + " failed: " + why,
                                uint16_t(NotifyType::authentication_failed));
    sa.remote_id = peer.to_string();
    return TaskStatus::ok();
}

TaskStatus IkeAuth::build_r(IkeSa& sa, Message& response) {
    const auto& t = *sa.tunnel;
    const auto me = own_identity(t);
    if (!me)
        return TaskStatus::fail("local_id '" + t.local_id + "' is not a usable identity",
                                uint16_t(NotifyType::authentication_failed));
    const IdPayload idr = id_payload(*me);
    add_payload(response, PayloadType::idr, idr);
    std::string why;
    if (t.auth == control::AuthMethod::pubkey) {
        auto der = own_cert_der(t, &why);
        if (der.empty())
            return TaskStatus::fail("certificate " + t.cert + ": " + why,
                                    uint16_t(NotifyType::authentication_failed));
        add_payload(response, PayloadType::cert, CertPayload{CertEncoding::x509_signature, der});
    }
    auto auth = make_auth(sa, t, octets_for(sa, false, idr), &why);
    if (!auth)
        return TaskStatus::fail("cannot sign our AUTH: " + why,
                                uint16_t(NotifyType::authentication_failed));
    add_payload(response, PayloadType::auth, std::move(*auth));
    sa.local_id = me->to_string();
    return TaskStatus::ok();
}

}  // namespace xdpsec::ike
