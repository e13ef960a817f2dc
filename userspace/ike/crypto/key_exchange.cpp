#include "ike/crypto/key_exchange.h"

#include "ike/crypto/openssl_ptr.h"
#include "ike/ike_types.h"

#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include <algorithm>
#include <array>

namespace xdpsec::ike {

namespace {

enum class Kind : uint8_t { modp, ecp, ecx };

struct Group {
    uint16_t id;
    Kind kind;
    const char* key_type;    // OpenSSL key type
    const char* group_name;  // OSSL_PKEY_PARAM_GROUP_NAME (MODP, ECP)
    int nid;                 // ECP curve, for create_with_private only
    std::size_t public_size;
    std::size_t shared_size;
};

constexpr Group kGroups[] = {
    {dh::modp2048, Kind::modp, "DH", "modp_2048", NID_undef, 256, 256},
    {dh::modp3072, Kind::modp, "DH", "modp_3072", NID_undef, 384, 384},
    {dh::ecp256, Kind::ecp, "EC", "prime256v1", NID_X9_62_prime256v1, 64, 32},
    {dh::ecp384, Kind::ecp, "EC", "secp384r1", NID_secp384r1, 96, 48},
    {dh::ecp521, Kind::ecp, "EC", "secp521r1", NID_secp521r1, 132, 66},
    {dh::curve25519, Kind::ecx, "X25519", nullptr, NID_undef, 32, 32},
    {dh::curve448, Kind::ecx, "X448", nullptr, NID_undef, 56, 56},
};
constexpr std::size_t kMaxEcpPublic = 1 + 132;  // SEC1 uncompressed P-521

const Group* find_group(uint16_t id) {
    for (const Group& g : kGroups) {
        if (g.id == id) return &g;
    }
    return nullptr;
}

template <typename T>
T fail(std::string* error, std::string msg, T result) {
    if (error != nullptr) *error = std::move(msg);
    return result;
}

std::string group_text(uint16_t id) { return "DH group " + std::to_string(id); }

detail::Pkey pkey_from(const char* key_type, int selection, const OSSL_PARAM* params) {
    detail::PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, key_type, nullptr));
    EVP_PKEY* key = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &key, selection, const_cast<OSSL_PARAM*>(params)) != 1)
        return nullptr;
    return detail::Pkey(key);
}

// A key of the group built from its name and, optionally, a private big
// number and a public value (BIGNUM for MODP, SEC1 octets for ECP).
detail::Pkey pkey_with(const Group& g, int selection, const BIGNUM* priv, const BIGNUM* pub_bn,
                       ByteView pub_octets) {
    detail::ParamBld bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, g.group_name,
                                                0) != 1)
        return nullptr;
    if (priv != nullptr && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1)
        return nullptr;
    if (pub_bn != nullptr &&
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub_bn) != 1)
        return nullptr;
    if (!pub_octets.empty() &&
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub_octets.data(),
                                         pub_octets.size()) != 1)
        return nullptr;
    detail::Params params(OSSL_PARAM_BLD_to_param(bld.get()));
    if (!params) return nullptr;
    return pkey_from(g.key_type, selection, params.get());
}

detail::Bn bn_param(const EVP_PKEY* key, const char* name) {
    BIGNUM* b = nullptr;
    if (EVP_PKEY_get_bn_param(key, name, &b) != 1) return nullptr;
    return detail::Bn(b);
}

detail::Pkey generate(const Group& g) {
    detail::PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, g.key_type, nullptr));
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1) return nullptr;
    if (g.group_name != nullptr) {
        const OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                             const_cast<char*>(g.group_name), 0),
            OSSL_PARAM_construct_end(),
        };
        if (EVP_PKEY_CTX_set_params(ctx.get(), params) != 1) return nullptr;
    }
    EVP_PKEY* key = nullptr;
    if (EVP_PKEY_generate(ctx.get(), &key) != 1) return nullptr;
    return detail::Pkey(key);
}

// g^x mod p for a given x: the MODP key pair of create_with_private.
detail::Pkey modp_from_private(const Group& g, ByteView priv) {
    detail::Bn x(BN_bin2bn(priv.data(), static_cast<int>(priv.size()), BN_secure_new()));
    const detail::Pkey domain = pkey_with(g, EVP_PKEY_KEY_PARAMETERS, nullptr, nullptr, {});
    if (!x || BN_is_zero(x.get()) || !domain) return nullptr;
    const detail::Bn p = bn_param(domain.get(), OSSL_PKEY_PARAM_FFC_P);
    const detail::Bn gen = bn_param(domain.get(), OSSL_PKEY_PARAM_FFC_G);
    detail::Bn y(BN_new());
    detail::BnCtx bctx(BN_CTX_new());
    if (!p || !gen || !y || !bctx || BN_cmp(x.get(), p.get()) >= 0) return nullptr;
    BN_set_flags(x.get(), BN_FLG_CONSTTIME);
    if (BN_mod_exp(y.get(), gen.get(), x.get(), p.get(), bctx.get()) != 1) return nullptr;
    return pkey_with(g, EVP_PKEY_KEYPAIR, x.get(), y.get(), {});
}

// d * G for a given scalar d in [1, n-1]: the ECP key pair of
// create_with_private.
detail::Pkey ecp_from_private(const Group& g, ByteView priv) {
    if (priv.size() != g.shared_size) return nullptr;
    struct GroupFree {
        void operator()(EC_GROUP* p) const { EC_GROUP_free(p); }
    };
    struct PointFree {
        void operator()(EC_POINT* p) const { EC_POINT_free(p); }
    };
    std::unique_ptr<EC_GROUP, GroupFree> curve(EC_GROUP_new_by_curve_name(g.nid));
    detail::Bn d(BN_bin2bn(priv.data(), static_cast<int>(priv.size()), BN_secure_new()));
    detail::BnCtx bctx(BN_CTX_new());
    if (!curve || !d || !bctx || BN_is_zero(d.get()) ||
        BN_cmp(d.get(), EC_GROUP_get0_order(curve.get())) >= 0)
        return nullptr;
    std::unique_ptr<EC_POINT, PointFree> q(EC_POINT_new(curve.get()));
    std::array<uint8_t, kMaxEcpPublic> enc{};
    if (!q || EC_POINT_mul(curve.get(), q.get(), d.get(), nullptr, nullptr, bctx.get()) != 1)
        return nullptr;
    const std::size_t len = EC_POINT_point2oct(curve.get(), q.get(), POINT_CONVERSION_UNCOMPRESSED,
                                               enc.data(), enc.size(), bctx.get());
    if (len != 1 + g.public_size) return nullptr;
    return pkey_with(g, EVP_PKEY_KEYPAIR, d.get(), nullptr, ByteView(enc.data(), len));
}

// Our public value in the KE payload's encoding (see public_value()).
bool encode_public(const Group& g, const EVP_PKEY* key, Bytes* out) {
    out->assign(g.public_size, 0);
    switch (g.kind) {
    case Kind::modp: {
        const detail::Bn y = bn_param(key, OSSL_PKEY_PARAM_PUB_KEY);
        return y && BN_bn2binpad(y.get(), out->data(), static_cast<int>(out->size())) ==
                        static_cast<int>(out->size());
    }
    case Kind::ecp: {
        std::array<uint8_t, kMaxEcpPublic> enc{};
        std::size_t len = 0;
        if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, enc.data(),
                                            enc.size(), &len) != 1 ||
            len != 1 + g.public_size || enc[0] != POINT_CONVERSION_UNCOMPRESSED)
            return false;
        // RFC 5903 §7: x || y without the SEC1 point format octet.
        std::copy_n(enc.begin() + 1, g.public_size, out->begin());
        return true;
    }
    case Kind::ecx: {
        std::size_t len = out->size();
        return EVP_PKEY_get_raw_public_key(key, out->data(), &len) == 1 && len == out->size();
    }
    }
    return false;
}

}  // namespace

bool key_exchange_supported(uint16_t group) { return find_group(group) != nullptr; }

std::size_t key_exchange_public_size(uint16_t group) {
    const Group* g = find_group(group);
    return g != nullptr ? g->public_size : 0;
}

void KeyExchange::PkeyFree::operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }

KeyExchange::KeyExchange(uint16_t group, PkeyPtr key, Bytes public_value)
    : group_(group), key_(std::move(key)), public_(std::move(public_value)) {}

KeyExchange::~KeyExchange() = default;

std::unique_ptr<KeyExchange> KeyExchange::finish(uint16_t group, PkeyPtr key, std::string* error) {
    const Group& g = *find_group(group);
    Bytes pub;
    if (!encode_public(g, key.get(), &pub))
        return fail(error, group_text(group) + ": cannot encode the public value", nullptr);
    return std::unique_ptr<KeyExchange>(new KeyExchange(group, std::move(key), std::move(pub)));
}

std::unique_ptr<KeyExchange> KeyExchange::create(uint16_t group, std::string* error) {
    const Group* g = find_group(group);
    if (g == nullptr) return fail(error, group_text(group) + " is not supported", nullptr);
    detail::Pkey key = generate(*g);
    if (!key) return fail(error, group_text(group) + ": key generation failed", nullptr);
    return finish(group, PkeyPtr(key.release()), error);
}

std::unique_ptr<KeyExchange> KeyExchange::create_with_private(uint16_t group, ByteView private_key,
                                                              std::string* error) {
    const Group* g = find_group(group);
    if (g == nullptr) return fail(error, group_text(group) + " is not supported", nullptr);
    detail::Pkey key;
    switch (g->kind) {
    case Kind::modp: key = modp_from_private(*g, private_key); break;
    case Kind::ecp: key = ecp_from_private(*g, private_key); break;
    case Kind::ecx:
        if (private_key.size() == g->public_size)
            key.reset(EVP_PKEY_new_raw_private_key_ex(nullptr, g->key_type, nullptr,
                                                      private_key.data(), private_key.size()));
        break;
    }
    if (!key) return fail(error, group_text(group) + ": unusable private key", nullptr);
    return finish(group, PkeyPtr(key.release()), error);
}

bool KeyExchange::compute_shared(ByteView peer, SecretVector* shared, std::string* error) const {
    const Group& g = *find_group(group_);
    if (peer.size() != g.public_size) {
        return fail(error,
                    group_text(group_) + ": peer's KE data has " + std::to_string(peer.size()) +
                        " bytes, expected " + std::to_string(g.public_size),
                    false);
    }
    detail::Pkey peer_key;
    switch (g.kind) {
    case Kind::modp: {
        // RFC 6989 §2.1: 1 < y < p-1 rules out the values that force the
        // shared secret into {1, p-1}; with safe primes nothing else is needed.
        const detail::Bn y(BN_bin2bn(peer.data(), static_cast<int>(peer.size()), nullptr));
        const detail::Bn p = bn_param(key_.get(), OSSL_PKEY_PARAM_FFC_P);
        detail::Bn p_minus_1(p ? BN_dup(p.get()) : nullptr);
        if (!y || !p_minus_1 || BN_sub_word(p_minus_1.get(), 1) != 1)
            return fail(error, group_text(group_) + ": OpenSSL failure", false);
        if (BN_cmp(y.get(), BN_value_one()) <= 0 || BN_cmp(y.get(), p_minus_1.get()) >= 0)
            return fail(error, group_text(group_) + ": peer's value is not in 1 < y < p-1", false);
        peer_key = pkey_with(g, EVP_PKEY_PUBLIC_KEY, nullptr, y.get(), {});
        break;
    }
    case Kind::ecp: {
        std::array<uint8_t, kMaxEcpPublic> enc{};
        enc[0] = POINT_CONVERSION_UNCOMPRESSED;
        std::copy(peer.begin(), peer.end(), enc.begin() + 1);
        // OpenSSL's import refuses coordinates >= p and points off the curve.
        peer_key = pkey_with(g, EVP_PKEY_PUBLIC_KEY, nullptr, nullptr,
                             ByteView(enc.data(), 1 + peer.size()));
        if (!peer_key)
            return fail(error, group_text(group_) + ": peer's value is not a point on the curve",
                        false);
        break;
    }
    case Kind::ecx:
        peer_key.reset(
            EVP_PKEY_new_raw_public_key_ex(nullptr, g.key_type, nullptr, peer.data(), peer.size()));
        break;
    }
    if (!peer_key) return fail(error, group_text(group_) + ": peer's value refused", false);

    detail::PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1)
        return fail(error, group_text(group_) + ": OpenSSL failure", false);
    // RFC 7296 §2.14: g^ir is padded to the length of the modulus.
    if (g.kind == Kind::modp && EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1) != 1)
        return fail(error, group_text(group_) + ": OpenSSL failure", false);
    // ECP points get OpenSSL's full public key check on top of the import's.
    if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer_key.get(), g.kind == Kind::ecp ? 1 : 0) != 1)
        return fail(error, group_text(group_) + ": peer's value refused", false);
    std::size_t len = 0;
    if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1 || len != g.shared_size)
        return fail(error, group_text(group_) + ": OpenSSL failure", false);
    SecretVector out(len);
    bool ok = EVP_PKEY_derive(ctx.get(), out.data(), &len) == 1 && len == g.shared_size;
    if (ok && g.kind == Kind::ecx) {
        // OpenSSL refuses an all-zero X25519/X448 result itself (RFC 7748
        // §6.1), so this only keeps the rule independent of its version.
        uint8_t any = 0;
        for (std::size_t i = 0; i < len; ++i) any |= out.data()[i];
        ok = any != 0;
    }
    if (!ok) {
        // For X25519/X448 the only way to fail here is a small-order peer value.
        return fail(
            error,
            group_text(group_) + (g.kind == Kind::ecx ? ": all-zero shared secret (RFC 8031 §2)"
                                                      : ": no shared secret with the peer's value"),
            false);
    }
    *shared = std::move(out);
    return true;
}

}  // namespace xdpsec::ike
