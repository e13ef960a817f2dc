#include "esp/algorithm.h"

#include <array>
#include <utility>

namespace xdpsec::esp {

namespace {

struct CipherInfo {
    std::string_view token;  // strongSwan name; integrity appended with '-' for CBC
    uint32_t key_len, salt_len, iv_len, icv_len, block_len;
    bool aead, encrypts;
};

constexpr std::array<CipherInfo, 7> kCiphers = {{
    {"aes128gcm16", 16, 4, 8, 16, 4, true, true},
    {"aes256gcm16", 32, 4, 8, 16, 4, true, true},
    {"chacha20poly1305", 32, 4, 8, 16, 4, true, true},
    {"aes128gmac", 16, 4, 8, 16, 4, true, false},
    {"aes256gmac", 32, 4, 8, 16, 4, true, false},
    {"aes128", 16, 0, 16, 0, 16, false, true},
    {"aes256", 32, 0, 16, 0, 16, false, true},
}};

struct IntegInfo {
    std::string_view token;
    uint32_t key_len, icv_len;
};

constexpr std::array<IntegInfo, 5> kIntegs = {{
    {"", 0, 0},
    {"sha1", 20, 12},
    {"sha256", 32, 16},
    {"sha384", 48, 24},
    {"sha512", 64, 32},
}};

const CipherInfo& info(Cipher c) { return kCiphers[static_cast<std::size_t>(c)]; }
const IntegInfo& info(Integrity i) { return kIntegs[static_cast<std::size_t>(i)]; }

}  // namespace

bool Algorithm::is_aead() const { return info(cipher).aead; }
bool Algorithm::encrypts() const { return info(cipher).encrypts; }
uint32_t Algorithm::cipher_key_len() const { return info(cipher).key_len; }
uint32_t Algorithm::salt_len() const { return info(cipher).salt_len; }
uint32_t Algorithm::integ_key_len() const { return info(integrity).key_len; }
uint32_t Algorithm::iv_len() const { return info(cipher).iv_len; }
uint32_t Algorithm::icv_len() const {
    return is_aead() ? info(cipher).icv_len : info(integrity).icv_len;
}
uint32_t Algorithm::block_len() const { return info(cipher).block_len; }

std::string Algorithm::name() const {
    std::string n{info(cipher).token};
    if (!is_aead()) {
        n += '-';
        n += info(integrity).token;
    }
    return n;
}

std::optional<Algorithm> Algorithm::parse(std::string_view proposal) {
    for (std::size_t c = 0; c < kCiphers.size(); ++c) {
        const auto& ci = kCiphers[c];
        if (ci.aead) {
            if (proposal == ci.token) return Algorithm{static_cast<Cipher>(c), Integrity::none};
            continue;
        }
        if (!proposal.starts_with(ci.token) || proposal.size() <= ci.token.size() + 1 ||
            proposal[ci.token.size()] != '-')
            continue;
        auto integ = proposal.substr(ci.token.size() + 1);
        for (std::size_t i = 1; i < kIntegs.size(); ++i) {
            if (integ == kIntegs[i].token)
                return Algorithm{static_cast<Cipher>(c), static_cast<Integrity>(i)};
        }
    }
    return std::nullopt;
}

}  // namespace xdpsec::esp
