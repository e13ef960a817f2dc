// The cryptographic transform of one ESP SA, through OpenSSL EVP. Contexts
// are keyed once when the SA is created and only re-initialised with a new
// IV per packet: nothing is allocated or fetched on the packet path.
#pragma once

#include "esp/algorithm.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace xdpsec::esp {

// The bytes an ESP packet is made of, as views into the packet buffer.
// header = SPI || SN (8 bytes); iv = explicit IV; payload = plaintext or
// ciphertext incl. padding, pad length and next header; icv follows payload.
struct EspParts {
    uint8_t* header;
    uint8_t* iv;
    uint8_t* payload;
    uint32_t payload_len;
    uint8_t* icv;
};

class EspCrypto {
public:
    enum class Direction : uint8_t { seal, open };

    // Keys: enc_keymat = cipher key || salt; integ_key for CBC suites.
    // Returns nullptr and sets *error when keys have the wrong length or
    // OpenSSL refuses.
    static std::unique_ptr<EspCrypto> create(const Algorithm& alg, Direction dir,
                                             std::span<const uint8_t> enc_keymat,
                                             std::span<const uint8_t> integ_key,
                                             std::string* error);
    ~EspCrypto();
    EspCrypto(const EspCrypto&) = delete;
    EspCrypto& operator=(const EspCrypto&) = delete;

    const Algorithm& algorithm() const { return alg_; }

    // Writes the IV for sequence number seq, encrypts payload in place and
    // writes the ICV. esn_hi: the high 32 bits when ESN is on (RFC 4303 §2.2.1).
    bool seal(const EspParts& p, uint64_t seq, std::optional<uint32_t> esn_hi);

    // As seal, with the IV the caller already wrote to p.iv (known-answer
    // tests, which must reproduce published packets byte for byte).
    bool seal_with_iv(const EspParts& p, std::optional<uint32_t> esn_hi);

    // Verifies the ICV (before anything else) and decrypts payload in place.
    // Returns false when authentication fails.
    bool open(const EspParts& p, std::optional<uint32_t> esn_hi);

private:
    struct Impl;
    EspCrypto(const Algorithm& alg, std::unique_ptr<Impl> impl);
    Algorithm alg_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace xdpsec::esp
