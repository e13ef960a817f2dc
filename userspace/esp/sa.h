// One ESP security association: its configuration, its keyed crypto
// transform, its sequence number or replay window, and its counters.
// An Sa is used by one worker thread at a time; nothing in it is shared.
#pragma once

#include "esp/algorithm.h"
#include "esp/drop_reason.h"
#include "esp/esp_crypto.h"
#include "esp/ip_address.h"
#include "esp/replay_window.h"
#include "esp/secret.h"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace xdpsec::esp {

enum class Mode : uint8_t { tunnel, transport };
enum class SaDirection : uint8_t { inbound, outbound };
// Outer IPv4 DF bit in tunnel mode (RFC 4301 §8.1).
enum class DfPolicy : uint8_t { copy, set, clear };

struct UdpEncap {  // RFC 3948
    uint16_t local_port = 4500;
    uint16_t remote_port = 4500;
};

// Zero means unlimited. Soft limits ask the control plane to rekey; hard
// limits make the SA refuse traffic (RFC 4301 §4.4.2.1).
struct Lifetime {
    uint64_t soft_bytes = 0, hard_bytes = 0;
    uint64_t soft_packets = 0, hard_packets = 0;
};

// An SPI as operators and strongSwan's logs write it: "0x0000a0b1".
std::string spi_text(uint32_t spi);

struct SaConfig {
    uint32_t spi = 0;
    SaDirection direction = SaDirection::outbound;
    Mode mode = Mode::tunnel;
    IpAddress local;   // outer addresses: local is our end, whichever the direction
    IpAddress remote;
    std::optional<UdpEncap> udp_encap;
    Algorithm algorithm;
    SecretBytes enc_key;    // cipher key || salt
    SecretBytes integ_key;  // empty for combined-mode ciphers
    bool esn = false;
    uint32_t replay_window = 64;  // inbound: packets; 0 disables anti-replay (not with ESN)
    Lifetime lifetime;
    uint8_t ttl = 64;             // outer TTL / hop limit in tunnel mode
    DfPolicy df = DfPolicy::copy;
    uint16_t tfc_pad_to = 0;      // tunnel mode: pad the inner packet to this size (RFC 4303 §2.7)

    // Empty when consistent, otherwise why not.
    std::string validate() const;
};

struct SaCounters {
    uint64_t packets = 0;
    uint64_t bytes = 0;  // inner packet bytes
    std::array<uint64_t, kEspDropCount> drops{};
};

class Sa {
public:
    // nullptr with *error set when the configuration or its keys are refused.
    static std::unique_ptr<Sa> create(const SaConfig& config, std::string* error);

    const SaConfig& config() const { return config_; }
    const SaCounters& counters() const { return counters_; }
    bool soft_expired() const;
    bool hard_expired() const;

    // Outbound: the last sequence number sent. Inbound: the window top.
    uint64_t last_seq() const { return window_ ? window_->top() : last_seq_; }
    const ReplayWindow* window() const { return window_.get(); }

    // Continue numbering after `seq`: outbound, the next packet sends seq+1;
    // inbound, the window top becomes seq with nothing below it seen. Used to
    // test the 2^32 boundary without sending four billion packets.
    void set_last_seq(uint64_t seq);

private:
    friend struct Engine;
    explicit Sa(const SaConfig& config) : config_(config) {}

    SaConfig config_;
    std::unique_ptr<EspCrypto> crypto_;
    std::unique_ptr<ReplayWindow> window_;  // inbound with anti-replay only
    uint64_t last_seq_ = 0;
    uint16_t ip_id_ = 0;  // outer IPv4 identification
    SaCounters counters_;
};

}  // namespace xdpsec::esp
