// The protection of the Encrypted (SK) payload, RFC 7296 §3.14 and, for
// combined-mode ciphers, RFC 5282 (AES-GCM) and RFC 7634 (ChaCha20-Poly1305).
// The message codec lays out the header and the SK payload header and asks
// this interface to fill in and check the rest; the crypto module
// implements it with OpenSSL (sk_cipher.h). One instance protects one
// direction of one IKE SA.
#pragma once

#include "ike/bytes.h"

#include <string>

namespace xdpsec::ike {

class SkProtector {
public:
    virtual ~SkProtector() = default;

    // Bytes of the SK payload body (IV, ciphertext with padding and the Pad
    // Length byte, ICV) for `plaintext_len` bytes of inner payloads.
    virtual std::size_t body_size(std::size_t plaintext_len) const = 0;

    // `message` is the whole datagram: IKE header and SK generic payload
    // header already written with their final lengths, followed by
    // body_size(plaintext.size()) bytes that this call fills in. The SK body
    // starts at `body_offset`. Integrity (or the AEAD's associated data)
    // covers message[0, body_offset) as RFC 7296 §3.14 / RFC 5282 §5.1 say.
    virtual bool seal(std::span<uint8_t> message, std::size_t body_offset, ByteView plaintext) = 0;

    // Checks and decrypts the SK body message[body_offset, end). On success
    // `plaintext` holds the inner payloads (padding removed). False with
    // `error` set on an integrity failure or a malformed body; nothing is
    // returned then.
    virtual bool open(ByteView message, std::size_t body_offset, Bytes* plaintext,
                      std::string* error) const = 0;
};

}  // namespace xdpsec::ike
