// Key derivation of IKEv2: the IKE SA's SK_* keys (RFC 7296 §2.14), those
// of an IKE SA made by rekeying (§2.18), the KEYMAT of a CHILD SA (§2.17),
// and the key and ICV sizes of the transforms they feed.
#pragma once

#include "ike/bytes.h"
#include "ike/crypto/prf.h"

#include <cstdint>

namespace xdpsec::ike {

struct IkeKeys {
    SecretVector sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr;
    // True when derivation failed (only OpenSSL failures can cause that).
    bool empty() const { return sk_d.empty(); }
};

// RFC 7296 §2.14: SKEYSEED = prf(Ni | Nr, g^ir), then
// SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr
//     = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).
// integ_key_len is 0 for combined-mode ciphers; encr_key_len includes the
// salt of AEAD ciphers (ike_encr_key_size). SPIs are in host order.
IkeKeys derive_ike_keys(const Prf& prf, ByteView ni, ByteView nr, ByteView shared_secret,
                        uint64_t spi_i, uint64_t spi_r, std::size_t integ_key_len,
                        std::size_t encr_key_len);

// RFC 7296 §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) with the
// OLD IKE SA's prf (the exchange belongs to it), then prf+ as in §2.14 with
// the NEW SA's prf and SPIs. Empty without a shared secret: §2.18 makes
// the new Diffie-Hellman exchange mandatory.
IkeKeys derive_rekeyed_ike_keys(const Prf& old_prf, ByteView old_sk_d, const Prf& new_prf,
                                ByteView shared_secret, ByteView ni, ByteView nr, uint64_t spi_i,
                                uint64_t spi_r, std::size_t integ_key_len,
                                std::size_t encr_key_len);

// RFC 7296 §2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr); pass an
// empty shared secret when the CREATE_CHILD_SA (or IKE_AUTH) had no KE.
// Empty on OpenSSL failure or when length exceeds what prf+ can give.
SecretVector derive_child_keymat(const Prf& prf, ByteView sk_d, ByteView shared_or_empty,
                                 ByteView ni, ByteView nr, std::size_t length);

// Key bytes of an IKE encryption transform with its Key Length attribute,
// salt included for AEAD ciphers (RFC 5282: 4 bytes for AES-GCM;
// RFC 7634 §2: 32 + 4 for ChaCha20-Poly1305, which has no Key Length
// attribute, i.e. key_bits 0). 0 for an unsupported combination.
std::size_t ike_encr_key_size(uint16_t encr_id, uint16_t key_bits);
// Key bytes of an integrity transform (RFC 4868: the hash's output
// size); 0 for INTEG none and for unsupported ids.
std::size_t integ_key_size(uint16_t integ_id);
// ICV bytes (RFC 4868: half the hash's output); 0 as above.
std::size_t integ_icv_size(uint16_t integ_id);

}  // namespace xdpsec::ike
