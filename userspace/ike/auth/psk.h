// Shared-key AUTH, RFC 7296 §2.15:
//   AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <signed octets>)
// The pad string is the 17 ASCII characters, without a terminating NUL.
#pragma once

#include "ike/bytes.h"

#include <cstdint>

namespace xdpsec::ike {

// The AUTH data for `octets` (signed_octets.h). Empty when prf_id is not
// HMAC-SHA2-256/384/512 or the PSK is empty.
Bytes psk_auth(uint16_t prf_id, ByteView psk, ByteView octets);

// Whether `received` is the AUTH data for `octets`; the comparison takes the
// same time wherever the first difference lies (CRYPTO_memcmp).
bool psk_verify(uint16_t prf_id, ByteView psk, ByteView octets, ByteView received);

}  // namespace xdpsec::ike
