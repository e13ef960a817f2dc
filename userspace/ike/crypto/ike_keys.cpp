#include "ike/crypto/ike_keys.h"

#include "ike/ike_types.h"

#include <array>

namespace xdpsec::ike {

namespace {

std::array<uint8_t, 8> be64(uint64_t v) {
    std::array<uint8_t, 8> b{};
    for (int i = 7; i >= 0; --i, v >>= 8) b[static_cast<std::size_t>(i)] = static_cast<uint8_t>(v);
    return b;
}

// The prf+ half of §2.14, shared by the initial and the rekeyed IKE SA.
IkeKeys expand(const Prf& prf, ByteView skeyseed, ByteView ni, ByteView nr, uint64_t spi_i,
               uint64_t spi_r, std::size_t integ_key_len, std::size_t encr_key_len) {
    if (skeyseed.empty()) return {};
    const auto si = be64(spi_i);
    const auto sr = be64(spi_r);
    SecretVector seed;
    seed.append(ni);
    seed.append(nr);
    seed.append(si);
    seed.append(sr);
    const std::size_t prf_key = prf.key_size();
    const std::size_t total = 3 * prf_key + 2 * integ_key_len + 2 * encr_key_len;
    const SecretVector stream = prf.plus(skeyseed, seed.view(), total);
    if (stream.size() != total) return {};
    IkeKeys k;
    std::size_t off = 0;
    auto take = [&](std::size_t n) {
        SecretVector s(stream.sub(off, n));
        off += n;
        return s;
    };
    k.sk_d = take(prf_key);
    k.sk_ai = take(integ_key_len);
    k.sk_ar = take(integ_key_len);
    k.sk_ei = take(encr_key_len);
    k.sk_er = take(encr_key_len);
    k.sk_pi = take(prf_key);
    k.sk_pr = take(prf_key);
    return k;
}

}  // namespace

IkeKeys derive_ike_keys(const Prf& prf, ByteView ni, ByteView nr, ByteView shared_secret,
                        uint64_t spi_i, uint64_t spi_r, std::size_t integ_key_len,
                        std::size_t encr_key_len) {
    // §2.14: HMAC prfs take the whole Ni | Nr as key (no fixed key size).
    SecretVector nonces;
    nonces.append(ni);
    nonces.append(nr);
    const SecretVector skeyseed = prf.compute(nonces.view(), shared_secret);
    return expand(prf, skeyseed.view(), ni, nr, spi_i, spi_r, integ_key_len, encr_key_len);
}

IkeKeys derive_rekeyed_ike_keys(const Prf& old_prf, ByteView old_sk_d, const Prf& new_prf,
                                ByteView shared_secret, ByteView ni, ByteView nr, uint64_t spi_i,
                                uint64_t spi_r, std::size_t integ_key_len,
                                std::size_t encr_key_len) {
    if (shared_secret.empty()) return {};
    const SecretVector skeyseed = old_prf.compute(old_sk_d, {shared_secret, ni, nr});
    return expand(new_prf, skeyseed.view(), ni, nr, spi_i, spi_r, integ_key_len, encr_key_len);
}

SecretVector derive_child_keymat(const Prf& prf, ByteView sk_d, ByteView shared_or_empty,
                                 ByteView ni, ByteView nr, std::size_t length) {
    SecretVector seed;
    seed.append(shared_or_empty);
    seed.append(ni);
    seed.append(nr);
    return prf.plus(sk_d, seed.view(), length);
}

std::size_t ike_encr_key_size(uint16_t encr_id, uint16_t key_bits) {
    switch (encr_id) {
    case encr::aes_cbc: return key_bits == 128 || key_bits == 256 ? key_bits / 8u : 0;
    case encr::aes_gcm_16: return key_bits == 128 || key_bits == 256 ? key_bits / 8u + 4 : 0;
    case encr::chacha20_poly1305:
        // RFC 7634 §2: no Key Length attribute; tolerate an explicit 256.
        return key_bits == 0 || key_bits == 256 ? 32 + 4 : 0;
    default: return 0;
    }
}

std::size_t integ_key_size(uint16_t integ_id) {
    switch (integ_id) {
    case integ::hmac_sha2_256_128: return 32;
    case integ::hmac_sha2_384_192: return 48;
    case integ::hmac_sha2_512_256: return 64;
    default: return 0;
    }
}

std::size_t integ_icv_size(uint16_t integ_id) { return integ_key_size(integ_id) / 2; }

}  // namespace xdpsec::ike
