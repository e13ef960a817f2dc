#include "esp/sa.h"

#include <cstdio>

namespace xdpsec::esp {

std::string spi_text(uint32_t spi) {
    char s[11];
    std::snprintf(s, sizeof s, "0x%08x", spi);
    return s;
}

std::string SaConfig::validate() const {
    if (spi < 256) return "SPI " + std::to_string(spi) + " is reserved (RFC 4303 §2.1: 0-255)";
    if (local.family == 0 || remote.family == 0) return "local and remote addresses are required";
    if (local.family != remote.family) return "local and remote addresses differ in family";
    if (!algorithm.is_aead() && algorithm.integrity == Integrity::none)
        return "cipher " + algorithm.name() + " needs an integrity algorithm";
    if (enc_key.size() != algorithm.enc_keymat_len())
        return "encryption key for " + algorithm.name() + " must be " +
               std::to_string(algorithm.enc_keymat_len()) + " bytes";
    if (integ_key.size() != algorithm.integ_key_len())
        return "integrity key for " + algorithm.name() + " must be " +
               std::to_string(algorithm.integ_key_len()) + " bytes";
    if (direction == SaDirection::inbound && replay_window != 0 &&
        (replay_window < ReplayWindow::kMinSize || replay_window > ReplayWindow::kMaxSize))
        return "replay window must be 0 (off) or " + std::to_string(ReplayWindow::kMinSize) +
               ".." + std::to_string(ReplayWindow::kMaxSize);
    if (direction == SaDirection::inbound && esn && replay_window == 0)
        return "ESN needs the anti-replay window to infer the high sequence bits";
    if (ttl == 0) return "outer TTL must be 1..255";
    if (lifetime.soft_bytes && lifetime.hard_bytes && lifetime.soft_bytes > lifetime.hard_bytes)
        return "soft byte lifetime exceeds the hard one";
    if (lifetime.soft_packets && lifetime.hard_packets &&
        lifetime.soft_packets > lifetime.hard_packets)
        return "soft packet lifetime exceeds the hard one";
    if (tfc_pad_to && mode != Mode::tunnel) return "TFC padding needs tunnel mode";
    return {};
}

std::unique_ptr<Sa> Sa::create(const SaConfig& config, std::string* error) {
    if (auto why = config.validate(); !why.empty()) {
        if (error) *error = why;
        return nullptr;
    }
    std::unique_ptr<Sa> sa(new Sa(config));
    const auto dir = config.direction == SaDirection::outbound ? EspCrypto::Direction::seal
                                                               : EspCrypto::Direction::open;
    sa->crypto_ = EspCrypto::create(config.algorithm, dir, config.enc_key.view(),
                                    config.integ_key.view(), error);
    if (!sa->crypto_) return nullptr;
    if (config.direction == SaDirection::inbound && config.replay_window)
        sa->window_ = std::make_unique<ReplayWindow>(config.replay_window, config.esn);
    return sa;
}

void Sa::set_last_seq(uint64_t seq) {
    if (window_) window_->restart_at(seq);
    else last_seq_ = seq;
}

bool Sa::soft_expired() const {
    const auto& l = config_.lifetime;
    return (l.soft_bytes && counters_.bytes >= l.soft_bytes) ||
           (l.soft_packets && counters_.packets >= l.soft_packets);
}

bool Sa::hard_expired() const {
    const auto& l = config_.lifetime;
    return (l.hard_bytes && counters_.bytes >= l.hard_bytes) ||
           (l.hard_packets && counters_.packets >= l.hard_packets);
}

}  // namespace xdpsec::esp
