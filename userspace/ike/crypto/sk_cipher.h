// SkProtector with OpenSSL: AES-CBC-128/256 with HMAC-SHA2-256-128,
// 384-192 or 512-256 (RFC 7296 §3.14, RFC 4868), AES-GCM with a 16-byte ICV
// (RFC 5282) and ChaCha20-Poly1305 (RFC 7634).
//
// IVs: CBC takes 16 random bytes per message (RFC 7296 §3.14: the IV MUST
// be unpredictable). The AEADs take an 8-byte counter that starts at a
// random value and is incremented per message; one instance holds one
// direction's key, so every nonce is unique under its key.
#pragma once

#include "ike/bytes.h"
#include "ike/sk_protector.h"

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <string>

namespace xdpsec::ike {

class SkCipher final : public SkProtector {
public:
    // encr_key is SK_ei or SK_er, salt included for AEADs (its last 4
    // bytes; ike_encr_key_size gives the length); integ_key is SK_ai/SK_ar
    // for CBC and must be empty with integ::none for AEADs (RFC 7296
    // §3.3). nullptr with *error set for other transforms or key lengths.
    static std::unique_ptr<SkCipher> create(uint16_t encr_id, uint16_t key_bits, uint16_t integ_id,
                                            ByteView encr_key, ByteView integ_key,
                                            std::string* error);
    ~SkCipher() override;
    SkCipher(const SkCipher&) = delete;
    SkCipher& operator=(const SkCipher&) = delete;

    std::size_t iv_size() const { return iv_size_; }
    std::size_t icv_size() const { return icv_size_; }

    std::size_t body_size(std::size_t plaintext_len) const override;
    bool seal(std::span<uint8_t> message, std::size_t body_offset, ByteView plaintext) override;
    bool open(ByteView message, std::size_t body_offset, Bytes* plaintext,
              std::string* error) const override;

    // As seal, with the IV given (iv_size() bytes) instead of chosen: for
    // known-answer tests only, since a repeated AEAD nonce gives the key away.
    bool seal_with_iv(std::span<uint8_t> message, std::size_t body_offset, ByteView plaintext,
                      ByteView iv);

private:
    enum class Mode : uint8_t { cbc_hmac, aead };
    struct CipherFree {
        void operator()(EVP_CIPHER* c) const;
    };
    struct MacFree {
        void operator()(EVP_MAC* m) const;
    };

    SkCipher() = default;
    std::size_t padded_size(std::size_t plaintext_len) const;
    bool hmac(ByteView covered, uint8_t* icv) const;
    // One AES-CBC pass over whole blocks, no OpenSSL padding.
    bool cbc(int encrypt, const uint8_t* iv, const uint8_t* in, uint8_t* out,
             std::size_t len) const;
    // One AEAD pass; tag is written when encrypting, checked when decrypting.
    bool aead(int encrypt, const uint8_t* iv, ByteView aad, const uint8_t* in, uint8_t* out,
              std::size_t len, uint8_t* tag) const;

    Mode mode_ = Mode::aead;
    std::size_t iv_size_ = 0;
    std::size_t icv_size_ = 0;
    std::unique_ptr<EVP_CIPHER, CipherFree> cipher_;
    std::unique_ptr<EVP_MAC, MacFree> mac_;  // CBC only
    const char* digest_ = nullptr;           // CBC only
    SecretVector encr_key_;                  // without the salt
    SecretVector salt_;                      // AEAD only, RFC 5282 / RFC 7634 §2
    SecretVector integ_key_;                 // CBC only
    uint64_t next_iv_ = 0;                   // AEAD only
};

}  // namespace xdpsec::ike
