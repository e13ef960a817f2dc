#include "control/proposal.h"

#include <array>

namespace xdpsec::control {

namespace {

constexpr auto E = TransformType::encryption;
constexpr auto P = TransformType::prf;
constexpr auto I = TransformType::integrity;
constexpr auto D = TransformType::dh_group;

// IANA IKEv2 transform ids: ENCR_AES_CBC 12, ENCR_AES_GCM_16 20,
// ENCR_CHACHA20_POLY1305 28; PRF_HMAC_SHA2_* 5-7; AUTH_HMAC_SHA2_*
// 12-14; DH groups 14, 15, 19-21, 31, 32.
constexpr std::array<Transform, 20> kIkeTransforms = {{
    {E, 12, 128, false, "aes128"},
    {E, 12, 256, false, "aes256"},
    {E, 20, 128, true, "aes128gcm16"},
    {E, 20, 256, true, "aes256gcm16"},
    {E, 28, 0, true, "chacha20poly1305"},
    {I, 12, 0, false, "sha256"},
    {I, 13, 0, false, "sha384"},
    {I, 14, 0, false, "sha512"},
    {P, 5, 0, false, "prfsha256"},
    {P, 6, 0, false, "prfsha384"},
    {P, 7, 0, false, "prfsha512"},
    {D, 14, 0, false, "modp2048"},
    {D, 15, 0, false, "modp3072"},
    {D, 19, 0, false, "ecp256"},
    {D, 20, 0, false, "ecp384"},
    {D, 21, 0, false, "ecp521"},
    {D, 31, 0, false, "x25519"},
    {D, 32, 0, false, "x448"},
    {D, 31, 0, false, "curve25519"},  // strongSwan's other names for the same groups
    {D, 32, 0, false, "curve448"},
}};

// ESP tokens that esp::Algorithm::parse understands, to tell an unknown
// token from a known one in an unsupported combination.
constexpr std::array<std::string_view, 11> kEspTokens = {
    "aes128gcm16", "aes256gcm16", "chacha20poly1305", "aes128gmac", "aes256gmac",
    "aes128",      "aes256",      "sha1",             "sha256",     "sha384",
    "sha512",
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    while (true) {
        const auto p = s.find(sep);
        out.push_back(s.substr(0, p));
        if (p == std::string_view::npos) return out;
        s.remove_prefix(p + 1);
    }
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// "unknown token 'x'", plus the proposal when it has more than that token.
std::string unknown_token(std::string_view token, std::string_view proposal) {
    std::string why = "unknown token " + quoted(token);
    if (proposal != token) why += " in " + quoted(proposal);
    return why;
}

void add_unique(std::vector<Transform>& v, const Transform& t) {
    for (const auto& x : v)
        if (x == t) return;
    v.push_back(t);
}

// strongSwan: without an explicit PRF, IKE uses the PRF of its integrity
// algorithm.
std::optional<Transform> prf_for(const Transform& integ) {
    switch (integ.id) {
    case 12: return find_ike_transform("prfsha256");
    case 13: return find_ike_transform("prfsha384");
    case 14: return find_ike_transform("prfsha512");
    default: return std::nullopt;
    }
}

Expected<IkeProposal, std::string> parse_ike_proposal(std::string_view text) {
    IkeProposal p;
    p.text = std::string(text);
    for (auto token : split(text, '-')) {
        if (token.empty()) return unexpected("empty token in " + quoted(text));
        const auto t = find_ike_transform(token);
        if (!t) return unexpected(unknown_token(token, text));
        switch (t->type) {
        case TransformType::encryption: add_unique(p.encryption, *t); break;
        case TransformType::integrity: add_unique(p.integrity, *t); break;
        case TransformType::prf: add_unique(p.prf, *t); break;
        case TransformType::dh_group: add_unique(p.dh_groups, *t); break;
        }
    }
    if (p.encryption.empty()) return unexpected(quoted(text) + " has no encryption algorithm");
    bool any_aead = false, any_classic = false;
    for (const auto& t : p.encryption) (t.aead ? any_aead : any_classic) = true;
    if (any_aead && any_classic)
        return unexpected(quoted(text) +
                          " mixes AEAD and non-AEAD ciphers: write them as separate proposals");
    if (any_aead) {
        if (!p.integrity.empty())
            return unexpected(quoted(text) +
                              ": AEAD ciphers take no integrity algorithm (give the PRF as a prf "
                              "token, e.g. prfsha256)");
        if (p.prf.empty())
            return unexpected(quoted(text) + " needs a PRF (e.g. prfsha256) with an AEAD cipher");
    } else {
        if (p.integrity.empty())
            return unexpected(quoted(text) + " needs an integrity algorithm (e.g. sha256)");
        if (p.prf.empty())
            for (const auto& i : p.integrity)
                if (auto prf = prf_for(i)) add_unique(p.prf, *prf);
    }
    if (p.dh_groups.empty()) return unexpected(quoted(text) + " has no DH group (e.g. x25519)");
    return p;
}

template <class T, class F>
Expected<std::vector<T>, std::string> parse_list(std::string_view list, F parse_one) {
    std::vector<T> out;
    for (auto item : split(list, ',')) {
        item = trim(item);
        if (item.empty()) return unexpected(std::string("empty proposal in the list"));
        auto p = parse_one(item);
        if (!p) return unexpected(p.error());
        out.push_back(std::move(p).value());
    }
    return out;
}

}  // namespace

std::optional<Transform> find_ike_transform(std::string_view token) {
    for (const auto& t : kIkeTransforms)
        if (t.name == token) return t;
    return std::nullopt;
}

Expected<EspProposal, std::string> parse_esp_proposal(std::string_view text) {
    EspProposal p;
    p.text = std::string(text);
    auto tokens = split(text, '-');
    bool esn = false, noesn = false;
    // Modifiers come last: -esn/-noesn and PFS groups, in any order.
    while (tokens.size() > 1) {
        const auto last = tokens.back();
        if (last == "esn") esn = true;
        else if (last == "noesn") noesn = true;
        else if (auto t = find_ike_transform(last); t && t->type == TransformType::dh_group)
            p.dh_groups.insert(p.dh_groups.begin(), *t);
        else break;
        tokens.pop_back();
    }
    p.esn = esn && noesn ? EsnPolicy::either : esn ? EsnPolicy::on : EsnPolicy::off;

    std::string algorithm;
    for (const auto t : tokens) {
        if (t.empty()) return unexpected("empty token in " + quoted(text));
        if (!algorithm.empty()) algorithm += '-';
        algorithm += t;
    }
    if (auto alg = esp::Algorithm::parse(algorithm)) {
        p.algorithm = *alg;
        return p;
    }
    for (const auto t : tokens) {
        bool known = find_ike_transform(t).has_value();
        for (auto k : kEspTokens) known = known || k == t;
        if (!known) return unexpected(unknown_token(t, text));
    }
    if (tokens.size() == 1 && (tokens[0] == "aes128" || tokens[0] == "aes256"))
        return unexpected(quoted(text) + " needs an integrity algorithm (e.g. " +
                          std::string(tokens[0]) + "-sha256)");
    return unexpected("unsupported combination " + quoted(text));
}

Expected<std::vector<IkeProposal>, std::string> parse_ike_proposals(std::string_view list) {
    return parse_list<IkeProposal>(list, parse_ike_proposal);
}

Expected<std::vector<EspProposal>, std::string> parse_esp_proposals(std::string_view list) {
    return parse_list<EspProposal>(list, parse_esp_proposal);
}

}  // namespace xdpsec::control
