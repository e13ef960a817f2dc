#include "ike/crypto/sk_cipher.h"

#include "ike/crypto/ike_keys.h"
#include "ike/crypto/openssl_ptr.h"
#include "ike/ike_types.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <climits>
#include <cstring>

namespace xdpsec::ike {

namespace {

constexpr std::size_t kBlock = 16;      // AES block (RFC 3602)
constexpr std::size_t kCbcIv = 16;      // RFC 7296 §3.14: one block
constexpr std::size_t kAeadIv = 8;      // RFC 5282, RFC 7634 §3
constexpr std::size_t kAeadIcv = 16;    // AES-GCM-16, Poly1305
constexpr std::size_t kSalt = 4;        // RFC 5282, RFC 7634 §2
constexpr std::size_t kMaxDigest = 64;  // SHA2-512

template <typename T>
T fail(std::string* error, std::string msg, T result) {
    if (error != nullptr) *error = std::move(msg);
    return result;
}

int to_int(std::size_t n) { return static_cast<int>(n); }

}  // namespace

void SkCipher::CipherFree::operator()(EVP_CIPHER* c) const { EVP_CIPHER_free(c); }
void SkCipher::MacFree::operator()(EVP_MAC* m) const { EVP_MAC_free(m); }

SkCipher::~SkCipher() = default;

std::unique_ptr<SkCipher> SkCipher::create(uint16_t encr_id, uint16_t key_bits, uint16_t integ_id,
                                           ByteView encr_key, ByteView integ_key,
                                           std::string* error) {
    const std::size_t encr_len = ike_encr_key_size(encr_id, key_bits);
    if (encr_len == 0) {
        return fail(error,
                    "ENCR " + std::to_string(encr_id) + " with " + std::to_string(key_bits) +
                        "-bit keys is not supported",
                    nullptr);
    }
    if (encr_key.size() != encr_len) {
        return fail(error,
                    "ENCR " + std::to_string(encr_id) + " takes " + std::to_string(encr_len) +
                        " key bytes, got " + std::to_string(encr_key.size()),
                    nullptr);
    }
    std::unique_ptr<SkCipher> c(new SkCipher());
    const char* cipher_name = nullptr;
    if (encr_id == encr::aes_cbc) {
        c->mode_ = Mode::cbc_hmac;
        cipher_name = key_bits == 128 ? "AES-128-CBC" : "AES-256-CBC";
        switch (integ_id) {
        case integ::hmac_sha2_256_128: c->digest_ = "SHA2-256"; break;
        case integ::hmac_sha2_384_192: c->digest_ = "SHA2-384"; break;
        case integ::hmac_sha2_512_256: c->digest_ = "SHA2-512"; break;
        default:
            return fail(error,
                        "AES-CBC needs HMAC-SHA2 integrity, got INTEG " + std::to_string(integ_id),
                        nullptr);
        }
        if (integ_key.size() != integ_key_size(integ_id)) {
            return fail(error,
                        "INTEG " + std::to_string(integ_id) + " takes " +
                            std::to_string(integ_key_size(integ_id)) + " key bytes, got " +
                            std::to_string(integ_key.size()),
                        nullptr);
        }
        c->mac_.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
        if (!c->mac_) return fail(error, "OpenSSL has no HMAC", nullptr);
        c->iv_size_ = kCbcIv;
        c->icv_size_ = integ_icv_size(integ_id);
        c->encr_key_ = SecretVector(encr_key);
        c->integ_key_ = SecretVector(integ_key);
    } else {
        // RFC 7296 §3.3: combined-mode ciphers come without an integrity transform.
        if (integ_id != integ::none || !integ_key.empty()) {
            return fail(error,
                        "ENCR " + std::to_string(encr_id) +
                            " is combined-mode and takes no integrity transform",
                        nullptr);
        }
        c->mode_ = Mode::aead;
        if (encr_id == encr::aes_gcm_16)
            cipher_name = key_bits == 128 ? "AES-128-GCM" : "AES-256-GCM";
        else
            cipher_name = "ChaCha20-Poly1305";
        c->iv_size_ = kAeadIv;
        c->icv_size_ = kAeadIcv;
        c->encr_key_ = SecretVector(encr_key.first(encr_len - kSalt));
        c->salt_ = SecretVector(encr_key.last(kSalt));
        if (RAND_bytes(reinterpret_cast<uint8_t*>(&c->next_iv_), sizeof c->next_iv_) != 1)
            return fail(error, "no random bytes for the IV counter", nullptr);
    }
    c->cipher_.reset(EVP_CIPHER_fetch(nullptr, cipher_name, nullptr));
    if (!c->cipher_) return fail(error, std::string("OpenSSL has no ") + cipher_name, nullptr);
    return c;
}

std::size_t SkCipher::padded_size(std::size_t plaintext_len) const {
    // RFC 7296 §3.14: payloads + Padding + Pad Length fill whole blocks for
    // CBC; the AEADs are stream ciphers and need no padding (RFC 5282),
    // but the Pad Length byte is still there.
    if (mode_ == Mode::cbc_hmac) return (plaintext_len + 1 + kBlock - 1) / kBlock * kBlock;
    return plaintext_len + 1;
}

std::size_t SkCipher::body_size(std::size_t plaintext_len) const {
    return iv_size_ + padded_size(plaintext_len) + icv_size_;
}

bool SkCipher::hmac(ByteView covered, uint8_t* icv) const {
    detail::MacCtx ctx(EVP_MAC_CTX_new(mac_.get()));
    if (!ctx) return false;
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_), 0),
        OSSL_PARAM_construct_end(),
    };
    std::array<uint8_t, kMaxDigest> full{};
    std::size_t len = 0;
    if (EVP_MAC_init(ctx.get(), integ_key_.data(), integ_key_.size(), params) != 1 ||
        EVP_MAC_update(ctx.get(), covered.data(), covered.size()) != 1 ||
        EVP_MAC_final(ctx.get(), full.data(), &len, full.size()) != 1 || len < icv_size_)
        return false;
    // RFC 4868: the ICV is the leftmost half of the HMAC output.
    std::memcpy(icv, full.data(), icv_size_);
    return true;
}

bool SkCipher::seal(std::span<uint8_t> message, std::size_t body_offset, ByteView plaintext) {
    std::array<uint8_t, kCbcIv> iv{};
    if (mode_ == Mode::cbc_hmac) {
        if (RAND_bytes(iv.data(), to_int(kCbcIv)) != 1) return false;
    } else {
        uint64_t n = next_iv_++;
        for (std::size_t i = kAeadIv; i-- > 0; n >>= 8) iv[i] = static_cast<uint8_t>(n);
    }
    return seal_with_iv(message, body_offset, plaintext, ByteView(iv.data(), iv_size_));
}

bool SkCipher::cbc(int encrypt, const uint8_t* iv, const uint8_t* in, uint8_t* out,
                   std::size_t len) const {
    detail::CipherCtx ctx(EVP_CIPHER_CTX_new());
    int n = 0;
    if (!ctx ||
        EVP_CipherInit_ex2(ctx.get(), cipher_.get(), encr_key_.data(), iv, encrypt, nullptr) != 1)
        return false;
    // The SK payload's padding is ours to write and check (RFC 7296 §3.14).
    if (EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1) return false;
    if (EVP_CipherUpdate(ctx.get(), out, &n, in, to_int(len)) != 1 || n != to_int(len))
        return false;
    return EVP_CipherFinal_ex(ctx.get(), out + len, &n) == 1 && n == 0;
}

bool SkCipher::aead(int encrypt, const uint8_t* iv, ByteView aad, const uint8_t* in, uint8_t* out,
                    std::size_t len, uint8_t* tag) const {
    // RFC 5282 / RFC 7634 §3: nonce = salt || IV.
    std::array<uint8_t, kSalt + kAeadIv> nonce{};
    std::memcpy(nonce.data(), salt_.data(), kSalt);
    std::memcpy(nonce.data() + kSalt, iv, kAeadIv);
    detail::CipherCtx ctx(EVP_CIPHER_CTX_new());
    int n = 0;
    if (!ctx || EVP_CipherInit_ex2(ctx.get(), cipher_.get(), encr_key_.data(), nonce.data(),
                                   encrypt, nullptr) != 1)
        return false;
    if (!encrypt &&
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, to_int(kAeadIcv), tag) != 1)
        return false;
    if (!aad.empty() &&
        EVP_CipherUpdate(ctx.get(), nullptr, &n, aad.data(), to_int(aad.size())) != 1)
        return false;
    if (len > 0 && (EVP_CipherUpdate(ctx.get(), out, &n, in, to_int(len)) != 1 || n != to_int(len)))
        return false;
    // Decrypting, this is where the tag is checked.
    std::array<uint8_t, kBlock> fin{};
    if (EVP_CipherFinal_ex(ctx.get(), fin.data(), &n) != 1) return false;
    return !encrypt ||
           EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, to_int(kAeadIcv), tag) == 1;
}

bool SkCipher::seal_with_iv(std::span<uint8_t> message, std::size_t body_offset, ByteView plaintext,
                            ByteView iv) {
    if (iv.size() != iv_size_ || body_offset > message.size() ||
        message.size() - body_offset != body_size(plaintext.size()) || message.size() > INT_MAX)
        return false;
    uint8_t* body = message.data() + body_offset;
    uint8_t* ct = body + iv_size_;
    const std::size_t padded = padded_size(plaintext.size());
    const std::size_t pad = padded - plaintext.size() - 1;
    uint8_t* icv = ct + padded;
    // memmove: the codec may have laid the inner payloads out in place.
    if (!plaintext.empty()) std::memmove(ct, plaintext.data(), plaintext.size());
    std::memset(ct + plaintext.size(), 0, pad);
    ct[padded - 1] = static_cast<uint8_t>(pad);
    std::memcpy(body, iv.data(), iv_size_);

    bool ok = false;
    if (mode_ == Mode::cbc_hmac) {
        // RFC 7296 §3.14: the checksum covers the message from the IKE
        // header through the ciphertext.
        ok = cbc(1, body, ct, ct, padded) &&
             hmac(ByteView(message.data(), body_offset + iv_size_ + padded), icv);
    } else {
        // RFC 5282 §5.1: the AAD is the message up to the end of the SK
        // payload header.
        ok = aead(1, body, ByteView(message.data(), body_offset), ct, ct, padded, icv);
    }
    // Never leave plaintext behind in a buffer someone may still send.
    if (!ok) OPENSSL_cleanse(body, message.size() - body_offset);
    return ok;
}

bool SkCipher::open(ByteView message, std::size_t body_offset, Bytes* plaintext,
                    std::string* error) const {
    if (body_offset > message.size() || message.size() > INT_MAX)
        return fail(error, "SK payload outside the message", false);
    const std::size_t body = message.size() - body_offset;
    if (body < iv_size_ + icv_size_) {
        return fail(
            error,
            "SK payload body of " + std::to_string(body) + " bytes is shorter than IV and ICV",
            false);
    }
    const uint8_t* iv = message.data() + body_offset;
    const uint8_t* ct = iv + iv_size_;
    const std::size_t ct_len = body - iv_size_ - icv_size_;
    std::array<uint8_t, kMaxDigest> icv{};
    std::memcpy(icv.data(), ct + ct_len, icv_size_);
    Bytes out(ct_len);

    if (mode_ == Mode::cbc_hmac) {
        // RFC 7296 §3.14: integrity first, decryption only of authentic data.
        std::array<uint8_t, kMaxDigest> expect{};
        if (!hmac(ByteView(message.data(), message.size() - icv_size_), expect.data()))
            return fail(error, "OpenSSL failure", false);
        if (CRYPTO_memcmp(expect.data(), icv.data(), icv_size_) != 0)
            return fail(error, "SK payload integrity check failed", false);
        if (ct_len == 0 || ct_len % kBlock != 0) {
            return fail(error,
                        "SK ciphertext of " + std::to_string(ct_len) +
                            " bytes is not a whole number of blocks",
                        false);
        }
        if (!cbc(0, iv, ct, out.data(), ct_len)) return fail(error, "OpenSSL failure", false);
    } else {
        // The tag check and the decryption are one step; `out` is not looked
        // at unless the tag is right.
        if (!aead(0, iv, ByteView(message.data(), body_offset), ct, out.data(), ct_len,
                  icv.data())) {
            OPENSSL_cleanse(out.data(), out.size());
            return fail(error, "SK payload integrity check failed", false);
        }
        if (ct_len == 0) return fail(error, "SK payload has no Pad Length byte", false);
    }

    const std::size_t pad = out.back();
    if (pad + 1 > ct_len) {
        return fail(error,
                    "SK Pad Length " + std::to_string(pad) + " exceeds the " +
                        std::to_string(ct_len) + " decrypted bytes",
                    false);
    }
    out.resize(ct_len - pad - 1);
    *plaintext = std::move(out);
    return true;
}

}  // namespace xdpsec::ike
