#include "ike/auth/digital_signature.h"

#include "ike/ike_types.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <memory>

namespace xdpsec::ike {

namespace {

// AlgorithmIdentifiers we send. RSASSA-PSS: RFC 7427 App. A.4.3 for SHA-256
// (hashAlgorithm and MGF1 hash with NULL parameters, saltLength = hash
// length, trailerField absent); SHA-384/512 differ in the hash OID's last
// arc and the salt length only.
constexpr uint8_t kRsaPssSha256[] = {
    0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34,
    0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
    0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
    0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
    0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20};
constexpr uint8_t kRsaPssSha384[] = {
    0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34,
    0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
    0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
    0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
    0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x30};
constexpr uint8_t kRsaPssSha512[] = {
    0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34,
    0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
    0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
    0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
    0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x40};
// ecdsa-with-SHA256/384 (RFC 5758 §3.2: parameters absent).
constexpr uint8_t kEcdsaSha256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                    0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
constexpr uint8_t kEcdsaSha384[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                    0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
// id-Ed25519 (RFC 8410 §3: parameters absent).
constexpr uint8_t kEd25519[] = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};

struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct AlgorFree {
    void operator()(X509_ALGOR* a) const { X509_ALGOR_free(a); }
};
struct PssParamsFree {
    void operator()(RSA_PSS_PARAMS* p) const { RSA_PSS_PARAMS_free(p); }
};
using Algor = std::unique_ptr<X509_ALGOR, AlgorFree>;

bool fail(std::string* error, std::string message) {
    ERR_clear_error();
    if (error != nullptr) *error = std::move(message);
    return false;
}

enum class Scheme : uint8_t { rsa_pss, rsa_pkcs1, ecdsa, ed25519 };

std::string_view scheme_name(Scheme s) {
    switch (s) {
    case Scheme::rsa_pss: return "RSASSA-PSS";
    case Scheme::rsa_pkcs1: return "RSA PKCS#1 v1.5";
    case Scheme::ecdsa: return "ECDSA";
    case Scheme::ed25519: return "Ed25519";
    }
    return "?";
}

bool scheme_fits(Scheme s, KeyType k) {
    switch (s) {
    case Scheme::rsa_pss:
    case Scheme::rsa_pkcs1: return k == KeyType::rsa;
    case Scheme::ecdsa: return k == KeyType::ecdsa_p256 || k == KeyType::ecdsa_p384;
    case Scheme::ed25519: return k == KeyType::ed25519;
    }
    return false;
}

struct SignatureAlgorithm {
    Scheme scheme;
    const char* md;  // nullptr for Ed25519, which hashes internally
    int salt_len = 0;  // RSASSA-PSS only
};

const char* sha2_name(int nid) {
    switch (nid) {
    case NID_sha256: return "SHA2-256";
    case NID_sha384: return "SHA2-384";
    case NID_sha512: return "SHA2-512";
    default: return nullptr;
    }
}

// A hash AlgorithmIdentifier inside RSASSA-PSS-params: SHA-2 with NULL or
// absent parameters (RFC 4055 §2.1 allows both).
const char* pss_hash(const X509_ALGOR* a) {
    if (a == nullptr) return nullptr;  // the default, SHA-1, we do not take
    const ASN1_OBJECT* obj = nullptr;
    int ptype = 0;
    X509_ALGOR_get0(&obj, &ptype, nullptr, a);
    if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL) return nullptr;
    return sha2_name(OBJ_obj2nid(obj));
}

std::optional<SignatureAlgorithm> parse_pss_params(const X509_ALGOR* alg, std::string* error) {
    const void* pval = nullptr;
    int ptype = 0;
    X509_ALGOR_get0(nullptr, &ptype, &pval, alg);
    if (ptype != V_ASN1_SEQUENCE) {
        fail(error, "RSASSA-PSS without parameters (SHA-1) is not accepted");
        return std::nullopt;
    }
    std::unique_ptr<RSA_PSS_PARAMS, PssParamsFree> pss(static_cast<RSA_PSS_PARAMS*>(
        ASN1_item_unpack(static_cast<const ASN1_STRING*>(pval), ASN1_ITEM_rptr(RSA_PSS_PARAMS))));
    if (!pss) {
        fail(error, "malformed RSASSA-PSS parameters");
        return std::nullopt;
    }
    const char* md = pss_hash(pss->hashAlgorithm);
    if (md == nullptr) {
        fail(error, "RSASSA-PSS hash is not SHA-256/384/512");
        return std::nullopt;
    }
    // MGF1 with the same hash; its parameters are the hash AlgorithmIdentifier.
    const char* mgf_md = nullptr;
    if (pss->maskGenAlgorithm != nullptr &&
        OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) == NID_mgf1) {
        const void* mval = nullptr;
        int mtype = 0;
        X509_ALGOR_get0(nullptr, &mtype, &mval, pss->maskGenAlgorithm);
        if (mtype == V_ASN1_SEQUENCE) {
            Algor mgf_hash(static_cast<X509_ALGOR*>(ASN1_item_unpack(
                static_cast<const ASN1_STRING*>(mval), ASN1_ITEM_rptr(X509_ALGOR))));
            mgf_md = pss_hash(mgf_hash.get());
        }
    }
    if (mgf_md == nullptr || std::string_view(mgf_md) != md) {
        fail(error, "RSASSA-PSS mask generation is not MGF1 with the signature's hash");
        return std::nullopt;
    }
    int64_t salt = 20;  // RFC 4055 §3.1 default
    if (pss->saltLength != nullptr && ASN1_INTEGER_get_int64(&salt, pss->saltLength) != 1) salt = -1;
    if (salt < 0 || salt > 512) {
        fail(error, "RSASSA-PSS salt length out of range");
        return std::nullopt;
    }
    int64_t trailer = 1;
    if (pss->trailerField != nullptr &&
        (ASN1_INTEGER_get_int64(&trailer, pss->trailerField) != 1 || trailer != 1)) {
        fail(error, "RSASSA-PSS trailer field is not 1");
        return std::nullopt;
    }
    return SignatureAlgorithm{Scheme::rsa_pss, md, static_cast<int>(salt)};
}

std::optional<SignatureAlgorithm> parse_algorithm(ByteView der, std::string* error) {
    const unsigned char* p = der.data();
    Algor alg(d2i_X509_ALGOR(nullptr, &p, static_cast<long>(der.size())));
    if (!alg || p != der.data() + der.size()) {
        fail(error, "malformed AlgorithmIdentifier");
        return std::nullopt;
    }
    const ASN1_OBJECT* obj = nullptr;
    int ptype = 0;
    X509_ALGOR_get0(&obj, &ptype, nullptr, alg.get());
    const int nid = OBJ_obj2nid(obj);
    const bool absent = ptype == V_ASN1_UNDEF;
    switch (nid) {
    case NID_rsassaPss: return parse_pss_params(alg.get(), error);
    // RFC 4055 §5: NULL parameters; absent ones are common enough to take.
    case NID_sha256WithRSAEncryption:
        if (absent || ptype == V_ASN1_NULL) return SignatureAlgorithm{Scheme::rsa_pkcs1, "SHA2-256"};
        break;
    case NID_sha384WithRSAEncryption:
        if (absent || ptype == V_ASN1_NULL) return SignatureAlgorithm{Scheme::rsa_pkcs1, "SHA2-384"};
        break;
    case NID_sha512WithRSAEncryption:
        if (absent || ptype == V_ASN1_NULL) return SignatureAlgorithm{Scheme::rsa_pkcs1, "SHA2-512"};
        break;
    case NID_ecdsa_with_SHA256:
        if (absent) return SignatureAlgorithm{Scheme::ecdsa, "SHA2-256"};
        break;
    case NID_ecdsa_with_SHA384:
        if (absent) return SignatureAlgorithm{Scheme::ecdsa, "SHA2-384"};
        break;
    case NID_ecdsa_with_SHA512:
        if (absent) return SignatureAlgorithm{Scheme::ecdsa, "SHA2-512"};
        break;
    case NID_ED25519:
        if (absent) return SignatureAlgorithm{Scheme::ed25519, nullptr};
        break;
    default: {
        char oid[80] = {};
        OBJ_obj2txt(oid, sizeof oid, obj, 1);
        fail(error, std::string("unsupported signature algorithm ") + oid);
        return std::nullopt;
    }
    }
    fail(error, "unexpected parameters in the AlgorithmIdentifier");
    return std::nullopt;
}

// What we sign with, per key type and RFC 7427 hash.
struct SignScheme {
    KeyType key;
    uint16_t hash;
    const char* md;  // nullptr for Ed25519
    ByteView alg_id;
};
const SignScheme kSignSchemes[] = {
    {KeyType::rsa, hash::sha2_256, "SHA2-256", kRsaPssSha256},
    {KeyType::rsa, hash::sha2_384, "SHA2-384", kRsaPssSha384},
    {KeyType::rsa, hash::sha2_512, "SHA2-512", kRsaPssSha512},
    {KeyType::ecdsa_p256, hash::sha2_256, "SHA2-256", kEcdsaSha256},
    {KeyType::ecdsa_p384, hash::sha2_384, "SHA2-384", kEcdsaSha384},
    {KeyType::ed25519, hash::identity, nullptr, kEd25519},
};

bool configure_pss(EVP_PKEY_CTX* pctx, const char* md, int salt_len) {
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, md, nullptr) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_len) > 0;
}

}  // namespace

std::vector<uint16_t> supported_hash_algorithms() {
    return {hash::sha2_256, hash::sha2_384, hash::sha2_512, hash::identity};
}

std::optional<uint16_t> hash_for_key(const PrivateKey& key,
                                     std::span<const uint16_t> peer_hash_algs) {
    auto offered = [&](uint16_t h) {
        return std::find(peer_hash_algs.begin(), peer_hash_algs.end(), h) != peer_hash_algs.end();
    };
    std::optional<uint16_t> want;
    switch (key.type()) {
    case KeyType::rsa:
        for (const uint16_t h : {hash::sha2_256, hash::sha2_384, hash::sha2_512})
            if (offered(h)) return h;
        return std::nullopt;
    case KeyType::ecdsa_p256: want = hash::sha2_256; break;
    case KeyType::ecdsa_p384: want = hash::sha2_384; break;
    case KeyType::ed25519: want = hash::identity; break;
    }
    if (want && offered(*want)) return want;
    return std::nullopt;
}

Bytes sign_digital_signature(const PrivateKey& key, ByteView octets, uint16_t hash_alg,
                             std::string* error) {
    const auto scheme = std::find_if(std::begin(kSignSchemes), std::end(kSignSchemes),
                                     [&](const SignScheme& s) {
                                         return s.key == key.type() && s.hash == hash_alg;
                                     });
    if (scheme == std::end(kSignSchemes)) {
        fail(error, "hash algorithm " + std::to_string(hash_alg) + " does not fit a " +
                        std::string(key_type_name(key.type())) + " key");
        return {};
    }
    const char* md = scheme->md;
    const ByteView alg_id = scheme->alg_id;

    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    if (!ctx || EVP_DigestSignInit_ex(ctx.get(), &pctx, md, nullptr, nullptr, key.native(),
                                      nullptr) != 1 ||
        (key.type() == KeyType::rsa && !configure_pss(pctx, md, RSA_PSS_SALTLEN_DIGEST))) {
        fail(error, "cannot set up the signature");
        return {};
    }
    const int max_len = EVP_PKEY_get_size(key.native());
    if (max_len <= 0) {
        fail(error, "cannot size the signature");
        return {};
    }
    Bytes auth(1 + alg_id.size() + static_cast<std::size_t>(max_len));
    auth[0] = static_cast<uint8_t>(alg_id.size());
    std::copy(alg_id.begin(), alg_id.end(), auth.begin() + 1);
    const std::size_t sig_at = 1 + alg_id.size();
    size_t sig_len = static_cast<std::size_t>(max_len);
    if (EVP_DigestSign(ctx.get(), auth.data() + sig_at, &sig_len, octets.data(), octets.size()) != 1) {
        fail(error, "signing failed");
        return {};
    }
    auth.resize(sig_at + sig_len);
    return auth;
}

bool verify_digital_signature(const Certificate& signer, ByteView auth_data, ByteView octets,
                              std::string* error) {
    // RFC 7427 §3: the length octet, the AlgorithmIdentifier, a signature.
    if (auth_data.size() < 2) return fail(error, "AUTH data too short");
    const std::size_t alg_len = auth_data[0];
    if (alg_len == 0 || 1 + alg_len >= auth_data.size())
        return fail(error, "AlgorithmIdentifier length exceeds the AUTH data");
    const auto alg = parse_algorithm(auth_data.subspan(1, alg_len), error);
    if (!alg) return false;
    const ByteView signature = auth_data.subspan(1 + alg_len);

    const auto key_type = signer.key_type();
    if (!key_type) return fail(error, "certificate key type not supported");
    if (!scheme_fits(alg->scheme, *key_type))
        return fail(error, "signature algorithm " + std::string(scheme_name(alg->scheme)) +
                               " does not fit the certificate's " +
                               std::string(key_type_name(*key_type)) + " key");

    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    EVP_PKEY* key = X509_get0_pubkey(signer.native());
    bool ready = ctx && key != nullptr &&
                 EVP_DigestVerifyInit_ex(ctx.get(), &pctx, alg->md, nullptr, nullptr, key,
                                         nullptr) == 1;
    if (ready && alg->scheme == Scheme::rsa_pss) ready = configure_pss(pctx, alg->md, alg->salt_len);
    if (ready && alg->scheme == Scheme::rsa_pkcs1)
        ready = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
    if (!ready) return fail(error, "cannot set up signature verification");
    if (EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), octets.data(),
                         octets.size()) != 1)
        return fail(error, "signature does not verify");
    return true;
}

}  // namespace xdpsec::ike
