// Helpers shared by the IKE_AUTH tests (test_ike_auth*.cpp): hex known
// answers (test_ike_crypto_hex.h) and ASCII text as bytes.
#pragma once

#include "ike/bytes.h"
#include "test_ike_crypto_hex.h"

#include <string_view>

namespace xdpsec::ike::test {

// The characters of s as bytes (identities, pre-shared keys, messages).
inline Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

}  // namespace xdpsec::ike::test
