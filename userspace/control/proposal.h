// IKE and ESP proposals in strongSwan's syntax ("aes128-sha256-x25519",
// "aes128gcm16-esn"): algorithm tokens joined by '-', proposals separated
// by ','. IKE tokens come from a table of the names strongSwan uses; ESP
// tokens are the ESP engine's (esp::Algorithm::parse).
#pragma once

#include "control/expected.h"
#include "esp/algorithm.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xdpsec::control {

// RFC 7296 §3.3.2 transform types; ids are IANA's "IKEv2 Transform
// Attribute" numbers, so the IKE engine can put them on the wire as they are.
enum class TransformType : uint8_t { encryption = 1, prf = 2, integrity = 3, dh_group = 4 };

struct Transform {
    TransformType type = TransformType::encryption;
    uint16_t id = 0;
    uint16_t key_bits = 0;  // Key Length attribute of AES; 0 where the id fixes it
    bool aead = false;      // encryption only: combined-mode cipher (RFC 5282)
    std::string_view name;  // strongSwan token

    friend bool operator==(const Transform& a, const Transform& b) {
        return a.type == b.type && a.id == b.id && a.key_bits == b.key_bits;
    }
};

// The transform a strongSwan token names, or nullopt.
std::optional<Transform> find_ike_transform(std::string_view token);

struct IkeProposal {
    std::string text;  // as written, for display
    std::vector<Transform> encryption, integrity, prf, dh_groups;
};

enum class EsnPolicy : uint8_t {
    off,     // no suffix, or -noesn (strongSwan's default)
    on,      // -esn
    either,  // -esn-noesn: whatever the peer picks
};

struct EspProposal {
    std::string text;
    esp::Algorithm algorithm;
    std::vector<Transform> dh_groups;  // PFS groups for CHILD SA rekeying; may be empty
    EsnPolicy esn = EsnPolicy::off;
};

// A comma-separated list of proposals. The error names the bad token or the
// missing part, never a whole line.
Expected<std::vector<IkeProposal>, std::string> parse_ike_proposals(std::string_view list);
Expected<std::vector<EspProposal>, std::string> parse_esp_proposals(std::string_view list);
Expected<EspProposal, std::string> parse_esp_proposal(std::string_view text);

}  // namespace xdpsec::control
