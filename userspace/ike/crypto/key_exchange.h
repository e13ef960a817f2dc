// One side of an IKEv2 Diffie-Hellman exchange (RFC 7296 §2.10, KE payload
// §3.4): an ephemeral key pair of one group, its public value in the wire
// encoding, and the shared secret with the peer's value after the checks
// of RFC 6989. Groups: MODP 2048/3072 (14, 15; RFC 3526), ECP 256/384/521
// (19-21; RFC 5903), Curve25519/Curve448 (31, 32; RFC 8031).
#pragma once

#include "ike/bytes.h"

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <string>

namespace xdpsec::ike {

bool key_exchange_supported(uint16_t group);
// Bytes of the KE payload's Key Exchange Data for the group; 0 if unsupported.
std::size_t key_exchange_public_size(uint16_t group);

class KeyExchange {
public:
    // A fresh key pair. nullptr and *error set for an unsupported group or
    // an OpenSSL failure.
    static std::unique_ptr<KeyExchange> create(uint16_t group, std::string* error);

    // Known-answer tests only: the private key is given instead of drawn.
    // MODP: a big-endian exponent; ECP: the big-endian scalar of field size
    // (RFC 5903 §8 "i"/"r"); X25519/X448: the 32/56 raw bytes (RFC 7748).
    static std::unique_ptr<KeyExchange> create_with_private(uint16_t group, ByteView private_key,
                                                            std::string* error);
    ~KeyExchange();
    KeyExchange(const KeyExchange&) = delete;
    KeyExchange& operator=(const KeyExchange&) = delete;

    uint16_t group() const { return group_; }

    // The Key Exchange Data of our KE payload: MODP y left-padded to the
    // prime's length (§3.4); ECP x || y, each of field size, without the
    // SEC1 0x04 prefix (RFC 5903 §7); X25519/X448 the raw u (RFC 8031 §3.1).
    const Bytes& public_value() const { return public_; }

    // g^ir from the peer's Key Exchange Data. The peer's value is checked
    // first (RFC 6989): MODP 1 < y < p-1 (§2.1, enough for these safe-prime
    // groups); ECP the exact length, coordinates below p and the point on
    // the curve (§2.3; the uncompressed encoding cannot name infinity);
    // X25519/X448 the exact length and a non-zero result (RFC 8031 §2).
    // The secret is the MODP value left-padded to the prime's length or the
    // ECP x coordinate (RFC 5903 §7), the X25519/X448 output as is.
    // False with *error set (never key material) when anything fails.
    bool compute_shared(ByteView peer, SecretVector* shared, std::string* error) const;

private:
    struct PkeyFree {
        void operator()(EVP_PKEY* p) const;
    };
    using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
    KeyExchange(uint16_t group, PkeyPtr key, Bytes public_value);
    static std::unique_ptr<KeyExchange> finish(uint16_t group, PkeyPtr key, std::string* error);

    uint16_t group_;
    PkeyPtr key_;
    Bytes public_;
};

}  // namespace xdpsec::ike
