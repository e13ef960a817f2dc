#include "ike/auth/psk.h"

#include "ike/auth/auth_prf.h"

#include <openssl/crypto.h>

#include <string_view>

namespace xdpsec::ike {

namespace {
constexpr std::string_view kKeyPad = "Key Pad for IKEv2";
}  // namespace

Bytes psk_auth(uint16_t prf_id, ByteView psk, ByteView octets) {
    const std::size_t mac_len = auth_prf_size(prf_id);
    if (mac_len == 0 || psk.empty()) return {};
    // The inner prf output is as secret as the PSK itself.
    SecretVector inner(mac_len);
    const ByteView pad(reinterpret_cast<const uint8_t*>(kKeyPad.data()), kKeyPad.size());
    if (!auth_prf(prf_id, psk, pad, std::span<uint8_t>(inner.data(), inner.size()))) return {};
    Bytes auth(mac_len);
    if (!auth_prf(prf_id, inner.view(), octets, auth)) return {};
    return auth;
}

bool psk_verify(uint16_t prf_id, ByteView psk, ByteView octets, ByteView received) {
    const Bytes expected = psk_auth(prf_id, psk, octets);
    // The length is public (it follows from the negotiated prf).
    if (expected.empty() || received.size() != expected.size()) return false;
    return CRYPTO_memcmp(expected.data(), received.data(), expected.size()) == 0;
}

}  // namespace xdpsec::ike
