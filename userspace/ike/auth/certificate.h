// X.509 for IKE authentication (RFC 7296 §3.6, RFC 4945 for the profile):
// the peer's certificate and the identities it proves, our private key, and
// the CAs we trust. Thin move-only owners of OpenSSL objects.
#pragma once

#include "ike/bytes.h"
#include "ike/ike_types.h"

#include <openssl/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xdpsec::ike {

// The key types we sign and verify RFC 7427 signatures with.
enum class KeyType : uint8_t { rsa, ecdsa_p256, ecdsa_p384, ed25519 };
std::string_view key_type_name(KeyType t);

namespace auth_detail {
struct X509Free {
    void operator()(X509* x) const;
};
struct PkeyFree {
    void operator()(EVP_PKEY* k) const;
};
struct StoreFree {
    void operator()(X509_STORE* s) const;
};
}  // namespace auth_detail

class Certificate {
public:
    // The first certificate of a PEM file.
    static std::optional<Certificate> load_pem_file(const std::string& path, std::string* error);
    // One DER certificate, all of `der` (the CERT payload's data, §3.6).
    static std::optional<Certificate> from_der(ByteView der, std::string* error);

    Bytes der() const;
    Bytes subject_der() const;
    std::string subject() const;  // "C=CH, O=strongSwan, CN=moon"
    // nullopt when the public key is none of KeyType.
    std::optional<KeyType> key_type() const;

    // Whether the certificate proves the identity: IPv4/IPv6 address as an
    // iPAddress, FQDN as a dNSName (case-insensitive), RFC822 address as an
    // rfc822Name (case-insensitive) subjectAltName; a DN equal to the subject
    // (X509_NAME_cmp: DER after canonical string normalisation). A CN in the
    // subject proves no FQDN (RFC 4945 §3.1.2 binds names through SANs).
    bool matches(IdType type, ByteView id_data) const;

    X509* native() const { return cert_.get(); }

private:
    friend class TrustStore;  // wraps the anchors it reads from a PEM file
    explicit Certificate(X509* x) : cert_(x) {}
    std::unique_ptr<X509, auth_detail::X509Free> cert_;
};

class PrivateKey {
public:
    // An unencrypted PEM private key (PKCS#8 or the traditional RSA/EC form).
    static std::optional<PrivateKey> load_pem_file(const std::string& path, std::string* error);

    KeyType type() const { return type_; }
    EVP_PKEY* native() const { return key_.get(); }

private:
    PrivateKey(EVP_PKEY* k, KeyType t) : key_(k), type_(t) {}
    std::unique_ptr<EVP_PKEY, auth_detail::PkeyFree> key_;
    KeyType type_;
};

class TrustStore {
public:
    TrustStore();

    // Adds every certificate of the PEM file as a trust anchor; false when
    // the file holds none.
    bool add_pem_file(const std::string& path, std::string* error);
    bool add(const Certificate& ca, std::string* error);
    std::size_t size() const { return count_; }

    // Builds a chain from `leaf` through `intermediates` (the peer's other
    // CERT payloads) to one of our anchors and checks it at the current
    // time. `error` says why not in an operator's words ("certificate
    // expired", "unknown issuer", ...) with the subject it concerns.
    bool verify(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                std::string* error) const;

private:
    std::unique_ptr<X509_STORE, auth_detail::StoreFree> store_;
    std::size_t count_ = 0;
};

}  // namespace xdpsec::ike
