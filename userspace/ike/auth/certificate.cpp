#include "ike/auth/certificate.h"

#include "ike/auth/identity.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

namespace xdpsec::ike {

namespace auth_detail {
void X509Free::operator()(X509* x) const { X509_free(x); }
void PkeyFree::operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
void StoreFree::operator()(X509_STORE* s) const { X509_STORE_free(s); }
}  // namespace auth_detail

namespace {

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct NameFree {
    void operator()(X509_NAME* n) const { X509_NAME_free(n); }
};
struct GeneralNamesFree {
    void operator()(GENERAL_NAMES* g) const { GENERAL_NAMES_free(g); }
};
struct StoreCtxFree {
    void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct StackFree {
    // The stack borrows its certificates.
    void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

bool fail(std::string* error, std::string message) {
    // Nothing of OpenSSL's queue is left for the next, unrelated caller.
    ERR_clear_error();
    if (error != nullptr) *error = std::move(message);
    return false;
}

Bio open_file(const std::string& path, std::string* error) {
    Bio bio(BIO_new_file(path.c_str(), "r"));
    if (!bio) fail(error, "cannot open " + path);
    return bio;
}

// Keys are never asked a passphrase for on a terminal: the daemon has none.
int no_passphrase(char*, int, int, void*) { return -1; }

std::optional<KeyType> key_type_of(const EVP_PKEY* key) {
    if (key == nullptr) return std::nullopt;
    if (EVP_PKEY_is_a(key, "RSA")) return KeyType::rsa;
    if (EVP_PKEY_is_a(key, "ED25519")) return KeyType::ed25519;
    if (EVP_PKEY_is_a(key, "EC")) {
        char group[64] = {};
        size_t len = 0;
        if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1) return std::nullopt;
        const int nid = OBJ_txt2nid(group);
        if (nid == NID_X9_62_prime256v1) return KeyType::ecdsa_p256;
        if (nid == NID_secp384r1) return KeyType::ecdsa_p384;
    }
    return std::nullopt;
}

Bytes encode_name(const X509_NAME* name) {
    unsigned char* der = nullptr;
    const int len = i2d_X509_NAME(name, &der);
    if (len <= 0) return {};
    Bytes out(der, der + len);
    OPENSSL_free(der);
    return out;
}

bool equal_ignoring_case(const ASN1_STRING* s, ByteView id) {
    const auto n = static_cast<std::size_t>(ASN1_STRING_length(s));
    if (n != id.size()) return false;
    const unsigned char* p = ASN1_STRING_get0_data(s);
    auto lower = [](uint8_t c) { return c >= 'A' && c <= 'Z' ? uint8_t(c - 'A' + 'a') : c; };
    for (std::size_t i = 0; i < n; ++i)
        if (lower(p[i]) != lower(id[i])) return false;
    return true;
}

bool equal_bytes(const ASN1_STRING* s, ByteView id) {
    const auto n = static_cast<std::size_t>(ASN1_STRING_length(s));
    return n == id.size() && std::memcmp(ASN1_STRING_get0_data(s), id.data(), n) == 0;
}

std::string_view verify_error_words(int err) {
    switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED: return "certificate expired";
    case X509_V_ERR_CERT_NOT_YET_VALID: return "certificate not yet valid";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return "unknown issuer";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: return "self-signed certificate not trusted";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: return "bad certificate signature";
    case X509_V_ERR_INVALID_CA: return "issuer is not a CA";
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN: return "issuer may not sign certificates";
    case X509_V_ERR_PATH_LENGTH_EXCEEDED: return "chain longer than the CA allows";
    case X509_V_ERR_CERT_CHAIN_TOO_LONG: return "chain too long";
    case X509_V_ERR_CERT_REVOKED: return "certificate revoked";
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL: return "key too small";
    case X509_V_ERR_CA_MD_TOO_WEAK: return "signature hash too weak";
    default: return {};
    }
}

std::string subject_of(X509* x) {
    if (x == nullptr) return "?";
    return Identity{IdType::der_asn1_dn, encode_name(X509_get_subject_name(x))}.to_string();
}

}  // namespace

std::string_view key_type_name(KeyType t) {
    switch (t) {
    case KeyType::rsa: return "RSA";
    case KeyType::ecdsa_p256: return "ECDSA P-256";
    case KeyType::ecdsa_p384: return "ECDSA P-384";
    case KeyType::ed25519: return "Ed25519";
    }
    return "?";
}

// ---- Certificate ----

std::optional<Certificate> Certificate::load_pem_file(const std::string& path,
                                                      std::string* error) {
    Bio bio = open_file(path, error);
    if (!bio) return std::nullopt;
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr);
    if (x == nullptr) {
        fail(error, "no PEM certificate in " + path);
        return std::nullopt;
    }
    return Certificate(x);
}

std::optional<Certificate> Certificate::from_der(ByteView der, std::string* error) {
    if (der.empty() || der.size() > 65535) {
        fail(error, "certificate of " + std::to_string(der.size()) + " bytes");
        return std::nullopt;
    }
    const unsigned char* p = der.data();
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
    if (x == nullptr || p != der.data() + der.size()) {
        X509_free(x);
        fail(error, "malformed DER certificate");
        return std::nullopt;
    }
    return Certificate(x);
}

Bytes Certificate::der() const {
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert_.get(), &der);
    if (len <= 0) return {};
    Bytes out(der, der + len);
    OPENSSL_free(der);
    return out;
}

Bytes Certificate::subject_der() const { return encode_name(X509_get_subject_name(cert_.get())); }

std::string Certificate::subject() const { return subject_of(cert_.get()); }

std::optional<KeyType> Certificate::key_type() const {
    return key_type_of(X509_get0_pubkey(cert_.get()));
}

bool Certificate::matches(IdType type, ByteView id_data) const {
    if (id_data.empty()) return false;
    if (type == IdType::der_asn1_dn) {
        const unsigned char* p = id_data.data();
        std::unique_ptr<X509_NAME, NameFree> name(
            d2i_X509_NAME(nullptr, &p, static_cast<long>(id_data.size())));
        const bool ok = name && p == id_data.data() + id_data.size() &&
                        X509_NAME_cmp(X509_get_subject_name(cert_.get()), name.get()) == 0;
        ERR_clear_error();
        return ok;
    }

    int wanted = -1;
    switch (type) {
    case IdType::ipv4_addr:
        if (id_data.size() != 4) return false;
        wanted = GEN_IPADD;
        break;
    case IdType::ipv6_addr:
        if (id_data.size() != 16) return false;
        wanted = GEN_IPADD;
        break;
    case IdType::fqdn: wanted = GEN_DNS; break;
    case IdType::rfc822_addr: wanted = GEN_EMAIL; break;
    default: return false;
    }
    std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> sans(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert_.get(), NID_subject_alt_name, nullptr, nullptr)));
    if (!sans) return false;
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
        int gn_type = -1;
        const auto* value = static_cast<const ASN1_STRING*>(
            GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(sans.get(), i), &gn_type));
        if (gn_type != wanted || value == nullptr) continue;
        if (wanted == GEN_IPADD ? equal_bytes(value, id_data) : equal_ignoring_case(value, id_data))
            return true;
    }
    return false;
}

// ---- PrivateKey ----

std::optional<PrivateKey> PrivateKey::load_pem_file(const std::string& path, std::string* error) {
    Bio bio = open_file(path, error);
    if (!bio) return std::nullopt;
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
    if (key == nullptr) {
        fail(error, "no unencrypted PEM private key in " + path);
        return std::nullopt;
    }
    const auto type = key_type_of(key);
    if (!type) {
        EVP_PKEY_free(key);
        fail(error, "unsupported key type in " + path +
                        " (RSA, ECDSA P-256, ECDSA P-384 and Ed25519 are supported)");
        return std::nullopt;
    }
    return PrivateKey(key, *type);
}

// ---- TrustStore ----

TrustStore::TrustStore() : store_(X509_STORE_new()) {}

bool TrustStore::add(const Certificate& ca, std::string* error) {
    if (!store_ || X509_STORE_add_cert(store_.get(), ca.native()) != 1)
        return fail(error, "cannot add CA " + ca.subject());
    ++count_;
    return true;
}

bool TrustStore::add_pem_file(const std::string& path, std::string* error) {
    Bio bio = open_file(path, error);
    if (!bio) return false;
    std::size_t added = 0;
    while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)) {
        const Certificate ca(x);
        if (!add(ca, error)) return false;
        ++added;
    }
    // The loop ends on "no start line" at the end of the file.
    ERR_clear_error();
    if (added == 0) return fail(error, "no PEM certificate in " + path);
    return true;
}

bool TrustStore::verify(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                        std::string* error) const {
    if (!store_ || count_ == 0) return fail(error, "no trusted CA configured");
    std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
    std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
    if (!untrusted || !ctx) return fail(error, "out of memory");
    for (const Certificate& c : intermediates)
        if (sk_X509_push(untrusted.get(), c.native()) <= 0) return fail(error, "out of memory");
    if (X509_STORE_CTX_init(ctx.get(), store_.get(), leaf.native(), untrusted.get()) != 1)
        return fail(error, "cannot set up chain verification");
    if (X509_verify_cert(ctx.get()) == 1) {
        ERR_clear_error();
        return true;
    }
    const int err = X509_STORE_CTX_get_error(ctx.get());
    std::string words(verify_error_words(err));
    if (words.empty()) words = X509_verify_cert_error_string(err);
    return fail(error, words + " (depth " + std::to_string(X509_STORE_CTX_get_error_depth(ctx.get())) +
                           ": " + subject_of(X509_STORE_CTX_get_current_cert(ctx.get())) + ")");
}

}  // namespace xdpsec::ike
