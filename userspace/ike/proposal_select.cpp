#include "ike/proposal_select.h"

#include "ike/ike_types.h"

#include <algorithm>

namespace xdpsec::ike {

namespace {

using control::Transform;

struct Named {
    TransformType type;
    uint16_t id, key_bits;
    const char* name;
};

// strongSwan's names, for logs and `sa list`.
constexpr Named kNames[] = {
    {TransformType::encr, encr::aes_cbc, 128, "aes128"},
    {TransformType::encr, encr::aes_cbc, 256, "aes256"},
    {TransformType::encr, encr::aes_gcm_16, 128, "aes128gcm16"},
    {TransformType::encr, encr::aes_gcm_16, 256, "aes256gcm16"},
    {TransformType::encr, encr::chacha20_poly1305, 0, "chacha20poly1305"},
    {TransformType::encr, 21, 128, "aes128gmac"},
    {TransformType::encr, 21, 256, "aes256gmac"},
    {TransformType::integ, 2, 0, "sha1"},
    {TransformType::integ, integ::hmac_sha2_256_128, 0, "sha256"},
    {TransformType::integ, integ::hmac_sha2_384_192, 0, "sha384"},
    {TransformType::integ, integ::hmac_sha2_512_256, 0, "sha512"},
    {TransformType::prf, prf::hmac_sha2_256, 0, "prfsha256"},
    {TransformType::prf, prf::hmac_sha2_384, 0, "prfsha384"},
    {TransformType::prf, prf::hmac_sha2_512, 0, "prfsha512"},
    {TransformType::dh, dh::modp2048, 0, "modp2048"},
    {TransformType::dh, dh::modp3072, 0, "modp3072"},
    {TransformType::dh, dh::ecp256, 0, "ecp256"},
    {TransformType::dh, dh::ecp384, 0, "ecp384"},
    {TransformType::dh, dh::ecp521, 0, "ecp521"},
    {TransformType::dh, dh::curve25519, 0, "x25519"},
    {TransformType::dh, dh::curve448, 0, "x448"},
    {TransformType::esn, esn::yes, 0, "esn"},
    {TransformType::esn, esn::no, 0, "noesn"},
};

std::string name_of(TransformType type, uint16_t id, uint16_t key_bits) {
    for (const auto& n : kNames)
        if (n.type == type && n.id == id && n.key_bits == key_bits) return n.name;
    return "unknown" + std::to_string(static_cast<int>(type)) + ":" + std::to_string(id) +
           (key_bits ? "/" + std::to_string(key_bits) : "");
}

TransformWire wire(const Transform& t) {
    return {static_cast<TransformType>(t.type), t.id, t.key_bits};
}

// §3.3.6: a transform with an attribute we do not know is unacceptable.
bool offers(const Proposal& p, TransformType type, uint16_t id, uint16_t key_bits) {
    return std::any_of(p.transforms.begin(), p.transforms.end(), [&](const TransformWire& t) {
        return t.type == type && t.id == id && t.key_bits == key_bits && !t.unknown_attribute;
    });
}

// §3.3.6: a proposal with a transform type we do not understand is
// unacceptable as a whole.
bool known_types(const Proposal& p) {
    return std::all_of(p.transforms.begin(), p.transforms.end(), [](const TransformWire& t) {
        const auto v = static_cast<uint8_t>(t.type);
        return v >= 1 && v <= 5;
    });
}

bool any_unknown_attribute(const Proposal& p) {
    return std::any_of(p.transforms.begin(), p.transforms.end(),
                       [](const TransformWire& t) { return t.unknown_attribute; });
}

bool has_type(const Proposal& p, TransformType type) {
    return std::any_of(p.transforms.begin(), p.transforms.end(),
                       [&](const TransformWire& t) { return t.type == type; });
}

// The first of ours that the peer's proposal carries.
const Transform* first_common(const std::vector<Transform>& ours, const Proposal& theirs,
                              TransformType type) {
    for (const auto& t : ours)
        if (offers(theirs, type, t.id, t.key_bits)) return &t;
    return nullptr;
}

Bytes spi_bytes(uint32_t spi) {
    return {static_cast<uint8_t>(spi >> 24), static_cast<uint8_t>(spi >> 16),
            static_cast<uint8_t>(spi >> 8), static_cast<uint8_t>(spi)};
}

uint32_t spi_value(const Bytes& b) {
    return b.size() == 4 ? (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) |
                               (uint32_t(b[2]) << 8) | b[3]
                         : 0;
}

bool esn_allowed(control::EsnPolicy policy, bool esn) {
    switch (policy) {
    case control::EsnPolicy::off: return !esn;
    case control::EsnPolicy::on: return esn;
    case control::EsnPolicy::either: return true;
    }
    return false;
}

// One transform per type present, as an answer must have (RFC 7296 §3.3).
bool one_per_type(const Proposal& p, std::string* why) {
    for (const auto& a : p.transforms) {
        const auto n = std::count_if(p.transforms.begin(), p.transforms.end(),
                                     [&](const TransformWire& b) { return b.type == a.type; });
        if (n != 1) {
            *why = "the answer holds more than one transform of type " +
                   std::to_string(static_cast<int>(a.type));
            return false;
        }
    }
    return true;
}

const TransformWire* get(const Proposal& p, TransformType type) {
    for (const auto& t : p.transforms)
        if (t.type == type) return &t;
    return nullptr;
}

}  // namespace

std::string IkeSuite::name() const {
    std::string s = name_of(TransformType::encr, encr, key_bits);
    if (!aead()) s += "-" + name_of(TransformType::integ, integ, 0);
    s += "-" + name_of(TransformType::prf, prf, 0);
    s += "-" + name_of(TransformType::dh, dh, 0);
    return s;
}

std::string ChildSuite::name() const {
    std::string s = algorithm.name();
    if (dh) s += "-" + name_of(TransformType::dh, dh, 0);
    if (esn) s += "-esn";
    return s;
}

EspTransformIds esp_transform_ids(const esp::Algorithm& a) {
    EspTransformIds ids;
    switch (a.cipher) {
    case esp::Cipher::aes_gcm_128: ids = {encr::aes_gcm_16, 128, 0}; break;
    case esp::Cipher::aes_gcm_256: ids = {encr::aes_gcm_16, 256, 0}; break;
    case esp::Cipher::chacha20_poly1305: ids = {encr::chacha20_poly1305, 0, 0}; break;
    case esp::Cipher::aes_gmac_128: ids = {21, 128, 0}; break;  // ENCR_NULL_AUTH_AES_GMAC
    case esp::Cipher::aes_gmac_256: ids = {21, 256, 0}; break;
    case esp::Cipher::aes_cbc_128: ids = {encr::aes_cbc, 128, 0}; break;
    case esp::Cipher::aes_cbc_256: ids = {encr::aes_cbc, 256, 0}; break;
    }
    switch (a.integrity) {
    case esp::Integrity::none: ids.integ = integ::none; break;
    case esp::Integrity::hmac_sha1_96: ids.integ = 2; break;
    case esp::Integrity::hmac_sha256_128: ids.integ = integ::hmac_sha2_256_128; break;
    case esp::Integrity::hmac_sha384_192: ids.integ = integ::hmac_sha2_384_192; break;
    case esp::Integrity::hmac_sha512_256: ids.integ = integ::hmac_sha2_512_256; break;
    }
    return ids;
}

std::optional<esp::Algorithm> esp_algorithm(uint16_t encr_id, uint16_t key_bits, uint16_t integ_id) {
    constexpr esp::Cipher ciphers[] = {
        esp::Cipher::aes_gcm_128, esp::Cipher::aes_gcm_256, esp::Cipher::chacha20_poly1305,
        esp::Cipher::aes_gmac_128, esp::Cipher::aes_gmac_256, esp::Cipher::aes_cbc_128,
        esp::Cipher::aes_cbc_256};
    constexpr esp::Integrity integs[] = {esp::Integrity::none, esp::Integrity::hmac_sha1_96,
                                         esp::Integrity::hmac_sha256_128,
                                         esp::Integrity::hmac_sha384_192,
                                         esp::Integrity::hmac_sha512_256};
    for (auto c : ciphers)
        for (auto i : integs) {
            const esp::Algorithm a{c, i};
            const auto ids = esp_transform_ids(a);
            if (ids.encr != encr_id || ids.key_bits != key_bits || ids.integ != integ_id) continue;
            if (a.is_aead() != (i == esp::Integrity::none)) continue;
            return a;
        }
    return std::nullopt;
}

SaPayload ike_offer(const std::vector<control::IkeProposal>& ours, uint16_t first_dh) {
    SaPayload sa;
    uint8_t number = 1;
    for (const auto& p : ours) {
        Proposal w{number++, ProtocolId::ike, {}, {}};
        for (const auto& t : p.encryption) w.transforms.push_back(wire(t));
        for (const auto& t : p.prf) w.transforms.push_back(wire(t));
        for (const auto& t : p.integrity) w.transforms.push_back(wire(t));
        std::vector<Transform> groups = p.dh_groups;
        std::stable_partition(groups.begin(), groups.end(),
                              [&](const Transform& t) { return t.id == first_dh; });
        for (const auto& t : groups) w.transforms.push_back(wire(t));
        sa.proposals.push_back(std::move(w));
    }
    return sa;
}

SaPayload esp_offer(const std::vector<control::EspProposal>& ours, uint32_t spi, bool with_dh) {
    SaPayload sa;
    uint8_t number = 1;
    for (const auto& p : ours) {
        Proposal w{number++, ProtocolId::esp, spi_bytes(spi), {}};
        const auto ids = esp_transform_ids(p.algorithm);
        w.transforms.push_back({TransformType::encr, ids.encr, ids.key_bits});
        if (ids.integ) w.transforms.push_back({TransformType::integ, ids.integ, 0});
        if (with_dh)
            for (const auto& g : p.dh_groups) w.transforms.push_back(wire(g));
        if (p.esn != control::EsnPolicy::off) w.transforms.push_back({TransformType::esn, esn::yes, 0});
        if (p.esn != control::EsnPolicy::on) w.transforms.push_back({TransformType::esn, esn::no, 0});
        sa.proposals.push_back(std::move(w));
    }
    return sa;
}

std::optional<IkeChoice> choose_ike(const std::vector<control::IkeProposal>& ours,
                                    const SaPayload& theirs, uint16_t ke_group) {
    for (const auto& p : ours)
        for (const auto& q : theirs.proposals) {
            if (q.protocol != ProtocolId::ike || !known_types(q)) continue;
            const auto* e = first_common(p.encryption, q, TransformType::encr);
            const auto* f = first_common(p.prf, q, TransformType::prf);
            const auto* d = first_common(p.dh_groups, q, TransformType::dh);
            if (!e || !f || !d) continue;
            // The group of the peer's KE payload wins when both sides allow it
            // (RFC 7296 §1.2), saving an INVALID_KE_PAYLOAD round trip.
            for (const auto& g : p.dh_groups)
                if (g.id == ke_group && offers(q, TransformType::dh, g.id, 0)) d = &g;
            const Transform* i = nullptr;
            if (!e->aead) {
                i = first_common(p.integrity, q, TransformType::integ);
                if (!i) continue;
            } else if (const auto* qi = get(q, TransformType::integ); qi && qi->id != integ::none) {
                continue;
            }
            IkeChoice c;
            c.suite = {e->id, e->key_bits, i ? i->id : uint16_t{0}, f->id, d->id};
            c.proposal_number = q.number;
            return c;
        }
    return std::nullopt;
}

std::optional<ChildChoice> choose_esp(const std::vector<control::EspProposal>& ours,
                                      const SaPayload& theirs, bool with_dh) {
    for (const auto& p : ours)
        for (const auto& q : theirs.proposals) {
            if (q.protocol != ProtocolId::esp || q.spi.size() != 4 || !known_types(q)) continue;
            const auto ids = esp_transform_ids(p.algorithm);
            if (!offers(q, TransformType::encr, ids.encr, ids.key_bits)) continue;
            if (ids.integ ? !offers(q, TransformType::integ, ids.integ, 0)
                          : (has_type(q, TransformType::integ) &&
                             !offers(q, TransformType::integ, integ::none, 0)))
                continue;
            // No ESN transform means no ESN.
            const bool q_esn = offers(q, TransformType::esn, esn::yes, 0);
            const bool q_noesn = offers(q, TransformType::esn, esn::no, 0) ||
                                 !has_type(q, TransformType::esn);
            // Our order decides, as strongSwan's does: -esn-noesn lists ESN first.
            bool esn;
            if (q_esn && esn_allowed(p.esn, true))
                esn = true;
            else if (q_noesn && esn_allowed(p.esn, false))
                esn = false;
            else
                continue;
            uint16_t group = 0;
            if (with_dh && !p.dh_groups.empty()) {
                const auto* d = first_common(p.dh_groups, q, TransformType::dh);
                if (!d) continue;
                group = d->id;
            }
            ChildChoice c;
            c.suite = {p.algorithm, esn, group};
            c.proposal_number = q.number;
            c.peer_spi = spi_value(q.spi);
            return c;
        }
    return std::nullopt;
}

SaPayload ike_answer(const IkeChoice& c, Bytes spi) {
    Proposal p{c.proposal_number, ProtocolId::ike, std::move(spi), {}};
    p.transforms.push_back({TransformType::encr, c.suite.encr, c.suite.key_bits});
    p.transforms.push_back({TransformType::prf, c.suite.prf, 0});
    if (c.suite.integ) p.transforms.push_back({TransformType::integ, c.suite.integ, 0});
    p.transforms.push_back({TransformType::dh, c.suite.dh, 0});
    return SaPayload{{std::move(p)}};
}

SaPayload esp_answer(const ChildChoice& c, uint32_t our_spi) {
    Proposal p{c.proposal_number, ProtocolId::esp, spi_bytes(our_spi), {}};
    const auto ids = esp_transform_ids(c.suite.algorithm);
    p.transforms.push_back({TransformType::encr, ids.encr, ids.key_bits});
    if (ids.integ) p.transforms.push_back({TransformType::integ, ids.integ, 0});
    if (c.suite.dh) p.transforms.push_back({TransformType::dh, c.suite.dh, 0});
    p.transforms.push_back({TransformType::esn, c.suite.esn ? esn::yes : esn::no, 0});
    return SaPayload{{std::move(p)}};
}

std::optional<IkeSuite> accept_ike(const std::vector<control::IkeProposal>& ours,
                                   const SaPayload& answer, std::string* why) {
    if (answer.proposals.size() != 1 || answer.proposals[0].protocol != ProtocolId::ike) {
        *why = "the answer must hold exactly one IKE proposal";
        return std::nullopt;
    }
    const auto& a = answer.proposals[0];
    if (!one_per_type(a, why)) return std::nullopt;
    if (any_unknown_attribute(a) || !known_types(a)) {
        *why = "the answer carries a transform attribute or type we never sent";
        return std::nullopt;
    }
    const auto* e = get(a, TransformType::encr);
    const auto* f = get(a, TransformType::prf);
    const auto* d = get(a, TransformType::dh);
    const auto* i = get(a, TransformType::integ);
    const auto has = [](const std::vector<Transform>& v, const TransformWire* t) {
        return t && std::any_of(v.begin(), v.end(), [&](const Transform& x) {
                        return x.id == t->id && x.key_bits == t->key_bits;
                    });
    };
    for (const auto& p : ours) {
        if (!has(p.encryption, e) || !has(p.prf, f) || !has(p.dh_groups, d)) continue;
        const bool aead = p.encryption.front().aead;
        if (aead ? (i && i->id != integ::none) : !has(p.integrity, i)) continue;
        return IkeSuite{e->id, e->key_bits, aead ? uint16_t{0} : i->id, f->id, d->id};
    }
    *why = "the peer chose transforms we did not offer: " + describe(answer);
    return std::nullopt;
}

std::optional<ChildChoice> accept_esp(const std::vector<control::EspProposal>& ours,
                                      const SaPayload& answer, bool with_dh, std::string* why) {
    if (answer.proposals.size() != 1 || answer.proposals[0].protocol != ProtocolId::esp ||
        answer.proposals[0].spi.size() != 4) {
        *why = "the answer must hold exactly one ESP proposal with a 4-byte SPI";
        return std::nullopt;
    }
    if (!one_per_type(answer.proposals[0], why)) return std::nullopt;
    if (any_unknown_attribute(answer.proposals[0]) || !known_types(answer.proposals[0])) {
        *why = "the answer carries a transform attribute or type we never sent";
        return std::nullopt;
    }
    auto c = choose_esp(ours, answer, with_dh);
    if (!c) {
        *why = "the peer chose ESP transforms we did not offer: " + describe(answer);
        return std::nullopt;
    }
    return c;
}

std::string describe(const SaPayload& sa) {
    std::string out;
    for (const auto& p : sa.proposals) {
        if (!out.empty()) out += ", ";
        out += p.protocol == ProtocolId::ike ? "IKE:" : p.protocol == ProtocolId::esp ? "ESP:" : "?:";
        bool first = true;
        for (const auto& t : p.transforms) {
            out += first ? "" : "/";
            first = false;
            out += name_of(t.type, t.id, t.key_bits);
        }
    }
    return out.empty() ? "(no proposals)" : out;
}

}  // namespace xdpsec::ike
