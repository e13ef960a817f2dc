// ESP transforms: which cipher and integrity algorithm an SA uses, their key
// and ICV sizes, and the strongSwan proposal token that names them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xdpsec::esp {

enum class Cipher : uint8_t {
    aes_gcm_128,        // RFC 4106, 16-byte ICV
    aes_gcm_256,
    chacha20_poly1305,  // RFC 7634
    aes_gmac_128,       // RFC 4543: integrity only, payload in the clear
    aes_gmac_256,
    aes_cbc_128,        // RFC 3602, with a separate integrity algorithm
    aes_cbc_256,
};

enum class Integrity : uint8_t {
    none,               // only with combined-mode ciphers
    hmac_sha1_96,       // RFC 2404: legacy, kept for RFC 3602 §4 vectors
    hmac_sha256_128,    // RFC 4868
    hmac_sha384_192,
    hmac_sha512_256,
};

struct Algorithm {
    Cipher cipher = Cipher::aes_gcm_128;
    Integrity integrity = Integrity::none;

    bool is_aead() const;            // cipher authenticates (GCM, GMAC, ChaCha20-Poly1305)
    bool encrypts() const;           // false for GMAC
    uint32_t cipher_key_len() const; // bytes, without salt
    uint32_t salt_len() const;       // RFC 4106/4543/7634 nonce salt taken from the keymat
    uint32_t enc_keymat_len() const { return cipher_key_len() + salt_len(); }
    uint32_t integ_key_len() const;
    uint32_t iv_len() const;         // explicit IV carried in every packet
    uint32_t icv_len() const;
    uint32_t block_len() const;      // payload + trailer is padded to a multiple of this

    // strongSwan ESP proposal token, e.g. "aes128gcm16", "aes256-sha256".
    std::string name() const;
    // Parses one ESP proposal (without -esn/-noesn); nullopt if unknown.
    static std::optional<Algorithm> parse(std::string_view proposal);

    friend bool operator==(const Algorithm&, const Algorithm&) = default;
};

}  // namespace xdpsec::esp
