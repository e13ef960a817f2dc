#include "ike/auth/signed_octets.h"

#include "ike/auth/auth_prf.h"

namespace xdpsec::ike {

Bytes signed_octets(uint16_t prf_id, ByteView message, ByteView peer_nonce, ByteView sk_p,
                    ByteView id_body) {
    const std::size_t mac_len = auth_prf_size(prf_id);
    // An ID payload body has at least the type and the reserved bytes.
    if (mac_len == 0 || message.empty() || peer_nonce.empty() || sk_p.empty() ||
        id_body.size() < 4)
        return {};
    Bytes octets;
    octets.reserve(message.size() + peer_nonce.size() + mac_len);
    octets.insert(octets.end(), message.begin(), message.end());
    octets.insert(octets.end(), peer_nonce.begin(), peer_nonce.end());
    const std::size_t mac_at = octets.size();
    octets.resize(mac_at + mac_len);
    if (!auth_prf(prf_id, sk_p, id_body, std::span<uint8_t>(octets).subspan(mac_at))) return {};
    return octets;
}

}  // namespace xdpsec::ike
