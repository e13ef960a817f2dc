#include "esp/esp_crypto.h"

#include "esp/secret.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>

namespace xdpsec::esp {

namespace {

struct CipherCtxFree {
    void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct MacCtxFree {
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
struct CipherFree {
    void operator()(EVP_CIPHER* c) const { EVP_CIPHER_free(c); }
};
struct MacFree {
    void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

const char* evp_cipher_name(Cipher c) {
    switch (c) {
    case Cipher::aes_gcm_128:
    case Cipher::aes_gmac_128: return "AES-128-GCM";
    case Cipher::aes_gcm_256:
    case Cipher::aes_gmac_256: return "AES-256-GCM";
    case Cipher::chacha20_poly1305: return "ChaCha20-Poly1305";
    case Cipher::aes_cbc_128: return "AES-128-CBC";
    case Cipher::aes_cbc_256: return "AES-256-CBC";
    }
    return nullptr;
}

const char* digest_name(Integrity i) {
    switch (i) {
    case Integrity::hmac_sha1_96: return "SHA1";
    case Integrity::hmac_sha256_128: return "SHA2-256";
    case Integrity::hmac_sha384_192: return "SHA2-384";
    case Integrity::hmac_sha512_256: return "SHA2-512";
    case Integrity::none: break;
    }
    return nullptr;
}

void put_be32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

void put_be64(uint8_t* p, uint64_t v) {
    put_be32(p, static_cast<uint32_t>(v >> 32));
    put_be32(p + 4, static_cast<uint32_t>(v));
}

int to_int(uint32_t n) { return static_cast<int>(n); }

}  // namespace

struct EspCrypto::Impl {
    Algorithm alg;
    bool sealing = true;
    CipherCtx cipher;              // GCM / GMAC / ChaCha20-Poly1305 / CBC, keyed
    CipherCtx iv_gen;              // CBC only: AES-ECB under a random key, IV = E(salt||seq)
    MacCtx mac;                    // CBC only: HMAC, keyed
    std::array<uint8_t, 4> salt{};
    std::array<uint8_t, 8> iv_nonce{};  // CBC: random per-SA prefix of the IV generator input

    // AEAD nonce: salt || explicit IV (RFC 4106 §4, RFC 4543 §4, RFC 7634 §2).
    void nonce(const uint8_t* iv, uint8_t out[12]) const {
        std::memcpy(out, salt.data(), 4);
        std::memcpy(out + 4, iv, 8);
    }

    // AAD for combined-mode ciphers: SPI || [ESN high ||] SN low (RFC 4106 §5).
    static uint32_t aad(const uint8_t* header, std::optional<uint32_t> esn_hi, uint8_t out[12]) {
        std::memcpy(out, header, 4);
        if (esn_hi) {
            put_be32(out + 4, *esn_hi);
            std::memcpy(out + 8, header + 4, 4);
            return 12;
        }
        std::memcpy(out + 4, header + 4, 4);
        return 8;
    }

    bool aead_seal(const EspParts& p, std::optional<uint32_t> esn_hi) {
        uint8_t n[12], a[12];
        nonce(p.iv, n);
        const uint32_t alen = aad(p.header, esn_hi, a);
        int out = 0;
        EVP_CIPHER_CTX* c = cipher.get();
        if (EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, n) != 1) return false;
        if (EVP_EncryptUpdate(c, nullptr, &out, a, to_int(alen)) != 1) return false;
        if (alg.encrypts()) {
            if (EVP_EncryptUpdate(c, p.payload, &out, p.payload, to_int(p.payload_len)) != 1)
                return false;
        } else {
            // RFC 4543 §3: GMAC authenticates IV and payload as AAD, encrypts nothing.
            if (EVP_EncryptUpdate(c, nullptr, &out, p.iv, 8) != 1) return false;
            if (EVP_EncryptUpdate(c, nullptr, &out, p.payload, to_int(p.payload_len)) != 1)
                return false;
        }
        if (EVP_EncryptFinal_ex(c, p.payload + p.payload_len, &out) != 1) return false;
        return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, to_int(alg.icv_len()), p.icv) == 1;
    }

    bool aead_open(const EspParts& p, std::optional<uint32_t> esn_hi) {
        uint8_t n[12], a[12];
        nonce(p.iv, n);
        const uint32_t alen = aad(p.header, esn_hi, a);
        int out = 0;
        EVP_CIPHER_CTX* c = cipher.get();
        if (EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, n) != 1) return false;
        if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, to_int(alg.icv_len()), p.icv) != 1)
            return false;
        if (EVP_DecryptUpdate(c, nullptr, &out, a, to_int(alen)) != 1) return false;
        if (alg.encrypts()) {
            // Decrypting in place before the tag check is safe: on failure the
            // caller drops the packet and no SA state has changed.
            if (EVP_DecryptUpdate(c, p.payload, &out, p.payload, to_int(p.payload_len)) != 1)
                return false;
        } else {
            if (EVP_DecryptUpdate(c, nullptr, &out, p.iv, 8) != 1) return false;
            if (EVP_DecryptUpdate(c, nullptr, &out, p.payload, to_int(p.payload_len)) != 1)
                return false;
        }
        uint8_t fin[16];
        return EVP_DecryptFinal_ex(c, fin, &out) == 1;
    }

    // RFC 4303 §2.2.1 / §3.3.2.1: the ICV covers SPI, SN, IV and ciphertext;
    // with ESN the high 32 bits are appended for the computation only.
    bool hmac(const EspParts& p, std::optional<uint32_t> esn_hi, uint8_t* out) {
        EVP_MAC_CTX* m = mac.get();
        if (EVP_MAC_init(m, nullptr, 0, nullptr) != 1) return false;
        const std::size_t covered = static_cast<std::size_t>(p.payload + p.payload_len - p.header);
        if (EVP_MAC_update(m, p.header, covered) != 1) return false;
        if (esn_hi) {
            uint8_t hi[4];
            put_be32(hi, *esn_hi);
            if (EVP_MAC_update(m, hi, 4) != 1) return false;
        }
        std::size_t len = 0;
        return EVP_MAC_final(m, out, &len, 64) == 1;
    }

    // RFC 3602 §3: the IV must be unpredictable; encrypting a per-SA random
    // prefix with the sequence number under a random key gives that.
    bool cbc_iv(uint64_t seq, uint8_t* iv) {
        uint8_t block[16];
        std::memcpy(block, iv_nonce.data(), 8);
        put_be64(block + 8, seq);
        int out = 0;
        return EVP_EncryptUpdate(iv_gen.get(), iv, &out, block, 16) == 1;
    }

    bool cbc_seal(const EspParts& p, std::optional<uint32_t> esn_hi) {
        int out = 0;
        EVP_CIPHER_CTX* c = cipher.get();
        if (EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, p.iv) != 1) return false;
        if (EVP_EncryptUpdate(c, p.payload, &out, p.payload, to_int(p.payload_len)) != 1)
            return false;
        uint8_t full[64];
        if (!hmac(p, esn_hi, full)) return false;
        std::memcpy(p.icv, full, alg.icv_len());
        return true;
    }

    bool cbc_open(const EspParts& p, std::optional<uint32_t> esn_hi) {
        uint8_t full[64];
        if (!hmac(p, esn_hi, full)) return false;
        if (CRYPTO_memcmp(full, p.icv, alg.icv_len()) != 0) return false;
        EVP_CIPHER_CTX* c = cipher.get();
        int out = 0;
        if (EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, p.iv) != 1) return false;
        return EVP_DecryptUpdate(c, p.payload, &out, p.payload, to_int(p.payload_len)) == 1;
    }
};

EspCrypto::EspCrypto(const Algorithm& alg, std::unique_ptr<Impl> impl)
    : alg_(alg), impl_(std::move(impl)) {}

EspCrypto::~EspCrypto() = default;

std::unique_ptr<EspCrypto> EspCrypto::create(const Algorithm& alg, Direction dir,
                                             std::span<const uint8_t> enc_keymat,
                                             std::span<const uint8_t> integ_key,
                                             std::string* error) {
    auto fail = [&](const std::string& why) -> std::unique_ptr<EspCrypto> {
        if (error) *error = why;
        return nullptr;
    };
    if (enc_keymat.size() != alg.enc_keymat_len())
        return fail("encryption key for " + alg.name() + " must be " +
                    std::to_string(alg.enc_keymat_len()) + " bytes, got " +
                    std::to_string(enc_keymat.size()));
    if (integ_key.size() != alg.integ_key_len())
        return fail("integrity key for " + alg.name() + " must be " +
                    std::to_string(alg.integ_key_len()) + " bytes, got " +
                    std::to_string(integ_key.size()));

    auto impl = std::make_unique<Impl>();
    impl->alg = alg;
    impl->sealing = dir == Direction::seal;

    std::unique_ptr<EVP_CIPHER, CipherFree> evp(
        EVP_CIPHER_fetch(nullptr, evp_cipher_name(alg.cipher), nullptr));
    if (!evp) return fail("OpenSSL has no cipher " + std::string(evp_cipher_name(alg.cipher)));
    impl->cipher.reset(EVP_CIPHER_CTX_new());
    if (!impl->cipher) return fail("out of memory");

    const uint8_t* key = enc_keymat.data();
    const int enc = impl->sealing ? 1 : 0;
    if (alg.is_aead()) {
        std::memcpy(impl->salt.data(), enc_keymat.data() + alg.cipher_key_len(), 4);
        if (EVP_CipherInit_ex2(impl->cipher.get(), evp.get(), nullptr, nullptr, enc, nullptr) != 1 ||
            EVP_CIPHER_CTX_ctrl(impl->cipher.get(), EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) != 1 ||
            EVP_CipherInit_ex2(impl->cipher.get(), nullptr, key, nullptr, enc, nullptr) != 1)
            return fail("OpenSSL refused the " + alg.name() + " key");
    } else {
        if (EVP_CipherInit_ex2(impl->cipher.get(), evp.get(), key, nullptr, enc, nullptr) != 1 ||
            EVP_CIPHER_CTX_set_padding(impl->cipher.get(), 0) != 1)
            return fail("OpenSSL refused the " + alg.name() + " key");

        std::unique_ptr<EVP_MAC, MacFree> hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
        if (!hmac) return fail("OpenSSL has no HMAC");
        impl->mac.reset(EVP_MAC_CTX_new(hmac.get()));
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                             const_cast<char*>(digest_name(alg.integrity)), 0),
            OSSL_PARAM_construct_end()};
        if (!impl->mac || EVP_MAC_init(impl->mac.get(), integ_key.data(), integ_key.size(), params) != 1)
            return fail("OpenSSL refused the HMAC key");

        if (impl->sealing) {
            SecretBytes iv_key;
            std::array<uint8_t, 16> rnd{};
            if (RAND_bytes(rnd.data(), 16) != 1 || RAND_bytes(impl->iv_nonce.data(), 8) != 1)
                return fail("no randomness for the IV generator");
            iv_key.assign(rnd);
            OPENSSL_cleanse(rnd.data(), rnd.size());
            std::unique_ptr<EVP_CIPHER, CipherFree> ecb(EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr));
            impl->iv_gen.reset(EVP_CIPHER_CTX_new());
            if (!ecb || !impl->iv_gen ||
                EVP_CipherInit_ex2(impl->iv_gen.get(), ecb.get(), iv_key.view().data(), nullptr, 1, nullptr) != 1 ||
                EVP_CIPHER_CTX_set_padding(impl->iv_gen.get(), 0) != 1)
                return fail("OpenSSL refused the IV generator");
        }
    }
    return std::unique_ptr<EspCrypto>(new EspCrypto(alg, std::move(impl)));
}

bool EspCrypto::seal(const EspParts& p, uint64_t seq, std::optional<uint32_t> esn_hi) {
    if (alg_.is_aead()) {
        // RFC 4106 §3.1: the IV only has to be unique per key; the 64-bit
        // sequence number is, since it never wraps.
        put_be64(p.iv, seq);
    } else if (!impl_->cbc_iv(seq, p.iv)) {
        return false;
    }
    return seal_with_iv(p, esn_hi);
}

bool EspCrypto::seal_with_iv(const EspParts& p, std::optional<uint32_t> esn_hi) {
    return alg_.is_aead() ? impl_->aead_seal(p, esn_hi) : impl_->cbc_seal(p, esn_hi);
}

bool EspCrypto::open(const EspParts& p, std::optional<uint32_t> esn_hi) {
    return alg_.is_aead() ? impl_->aead_open(p, esn_hi) : impl_->cbc_open(p, esn_hi);
}

}  // namespace xdpsec::esp
