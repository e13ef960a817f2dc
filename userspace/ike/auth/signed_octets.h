// The octets an IKE_AUTH AUTH payload is computed over, RFC 7296 §2.15:
//   <the signer's IKE_SA_INIT message, as sent> | <the other party's Ni/Nr
//   nonce data> | prf(SK_pi or SK_pr, <the signer's ID payload body>)
// The same octets feed PSK AUTH (psk.h) and signatures (digital_signature.h).
#pragma once

#include "ike/bytes.h"

#include <cstdint>

namespace xdpsec::ike {

// `message`: the first message the signer sent (IKE_SA_INIT request for the
// initiator, response for the responder), header included. `peer_nonce`:
// the Nonce Data of the other party. `sk_p`: SK_pi for the initiator, SK_pr
// for the responder. `id_body`: the signer's ID payload after the generic
// payload header (ID Type, 3 reserved bytes, identification data).
// Empty when prf_id is not HMAC-SHA2-256/384/512 or an input is empty.
Bytes signed_octets(uint16_t prf_id, ByteView message, ByteView peer_nonce, ByteView sk_p,
                    ByteView id_body);

}  // namespace xdpsec::ike
