// The prf of the AUTH computations, for the prf transforms IKE negotiates
// with us: HMAC-SHA2-256/384/512 (RFC 4868, prf ids 5/6/7), through EVP_MAC.
#pragma once

#include "ike/bytes.h"

#include <cstdint>

namespace xdpsec::ike {

// Output length of the prf, 0 when prf_id is not one of the above.
std::size_t auth_prf_size(uint16_t prf_id);

// out.size() must be auth_prf_size(prf_id). False when the prf is unknown or
// OpenSSL refuses; out is zeroed then.
bool auth_prf(uint16_t prf_id, ByteView key, ByteView data, std::span<uint8_t> out);

}  // namespace xdpsec::ike
