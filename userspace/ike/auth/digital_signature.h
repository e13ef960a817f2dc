// The "Digital Signature" AUTH method (14) of RFC 7427: AUTH data is
//   <1-byte length> | <ASN.1 AlgorithmIdentifier, DER> | <signature value>
// over the signed octets (signed_octets.h). What we sign with:
//   RSA          RSASSA-PSS, SHA-256/384/512, MGF1 with the same hash, salt =
//                hash length (RFC 7427 App. A.4.3 form, as strongSwan sends)
//   ECDSA P-256  ecdsa-with-SHA256, P-384 ecdsa-with-SHA384; the value is the
//                DER Ecdsa-Sig-Value (RFC 7427 §3, RFC 5480)
//   Ed25519      id-Ed25519 over the octets themselves (RFC 8420)
// Verification also takes RSA PKCS#1 v1.5 with SHA-256/384/512 and ECDSA
// with any of the three hashes; nothing else.
#pragma once

#include "ike/auth/certificate.h"
#include "ike/bytes.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace xdpsec::ike {

// What we announce in SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4): SHA2-256,
// SHA2-384, SHA2-512, Identity.
std::vector<uint16_t> supported_hash_algorithms();

// The hash to sign with `key` given what the peer announced: Identity for
// Ed25519, the curve's hash for ECDSA, for RSA the first of SHA2-256/384/512
// the peer takes. nullopt when the peer takes none that fits.
std::optional<uint16_t> hash_for_key(const PrivateKey& key,
                                     std::span<const uint16_t> peer_hash_algs);

// The AUTH data for `octets`. Empty with `error` set when `hash_alg` does not
// fit the key (ECDSA P-256 only with SHA2-256, P-384 with SHA2-384, Ed25519
// only with Identity) or OpenSSL refuses.
Bytes sign_digital_signature(const PrivateKey& key, ByteView octets, uint16_t hash_alg,
                             std::string* error);

// Checks AUTH data against the signer's certificate: the AlgorithmIdentifier
// must be one of those above and fit the certificate's key type.
bool verify_digital_signature(const Certificate& signer, ByteView auth_data, ByteView octets,
                              std::string* error);

}  // namespace xdpsec::ike
