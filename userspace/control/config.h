// xdpsecd's configuration: the INI file of DESIGN.md ([daemon],
// [tunnel.NAME], and [sa.NAME] for manually keyed SAs), and the same tunnel
// keys given as `xdpsecctl tunnel add NAME --KEY VALUE …`. Both are
// validated by one code path; every error says where (FILE:LINE) and why,
// and no error ever quotes key material.
//
// [daemon]
//   uplink      interface carrying ESP and IKE (required)
//   tunnel_if   route-based tunnel device (default xdpsec0)
//   socket      control socket (default /run/xdpsec/xdpsecd.sock for
//               instance "default", /run/xdpsec/INSTANCE.sock otherwise)
//   bpffs       pin directory (default /sys/fs/bpf/xdpsec/INSTANCE)
//   workers     1..64, or auto = one per uplink RX queue (default auto)
//   xdp_mode    native | generic | auto (default auto: native, else generic)
//   busy_poll   yes | no (default no): AF_XDP sockets ask for busy polling
//   tunnel_napi threaded | softirq (default threaded): where the kernel
//               polls the tunnel device's host end for decrypted packets, in
//               its own thread or in the softirq of the worker's sendto()
//   uplink_napi threaded | softirq | keep (default keep): the same for the
//               uplink, which is the operator's device (put back at exit)
//   instance    name of this agent, for the defaults above (default "default")
//   retransmit_timeout  seconds before the first IKE retransmission, doubled
//               for each next one (default 2.0; 0.1..60)
//   retransmit_tries    retransmissions before giving up (default 4; 0..10)
//   key_export  FOR TESTS ONLY: a file to which the keys of every CHILD SA IKE
//               installs are appended (one JSON object per line, mode 0600),
//               so that an independent decoder (scapy) can check captured
//               ESP. Absent by default; the log only says that it is on.
//
// [tunnel.NAME]: local, remote (address or %any), local_id, remote_id,
//   local_ts, remote_ts (comma-separated prefixes), auth (psk | pubkey),
//   psk or psk_file, cert/key/ca (auth = pubkey), ike and esp (strongSwan
//   proposals, comma-separated), mode (tunnel | transport), start
//   (initiate | listen), dpd (seconds without a message from the peer
//   before a liveness check, RFC 7296 §2.4; 0 = off, default 30) and
//   dpd_action (clear | restart: what to do when the peer does not answer),
//   rekey_time (seconds after which a CHILD SA is rekeyed, less up to 10 %
//   of jitter; 0 = never; default 3600, strongSwan's), ike_rekey_time (the
//   same for the IKE SA; default 14400), life_time (seconds after which a
//   CHILD SA that was not rekeyed is deleted; default rekey_time + 10 %,
//   strongSwan's, and at least 60 s more; 0 = never), rekey_bytes and rekey_packets (rekey a CHILD
//   SA once its outbound SA carried this much, from the data plane's
//   counters; 0 = no limit), reauth_time (seconds after which the IKE SA
//   is replaced by a fresh IKE_SA_INIT/IKE_AUTH, make-before-break; 0 = never,
//   the default).
//
// [sa.NAME], like `ip xfrm state add`: spi (0x hex or decimal), direction
//   (in | out), esp (one ESP token: aes128gcm16, aes256-sha256, ...),
//   enc_key (hex: cipher key || salt as RFC 4106/7634 define it), integ_key
//   (hex, CBC suites only), mode, local and remote (outer addresses: local is
//   this host whichever the direction), local_ts and remote_ts (default: the
//   host prefix of local/remote), encap (udp | none), encap_ports
//   (SPORT:DPORT of the ESP-in-UDP packets this SA carries, as ip xfrm's
//   "encap espinudp SPORT DPORT"; default 4500:4500), esn (yes | no),
//   replay_window (packets; inbound only; default 64, 0 = off), soft_bytes,
//   hard_bytes, soft_packets, hard_packets (0 = unlimited).
#pragma once

#include "control/control_protocol.h"
#include "control/expected.h"
#include "control/proposal.h"
#include "control/secret_string.h"
#include "esp/ip_address.h"
#include "esp/ip_prefix.h"
#include "esp/sa.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xdpsec::control {

inline constexpr std::string_view kDefaultInstance = "default";

struct ConfigError {
    std::string source;  // the file, or "tunnel add NAME"
    unsigned line = 0;   // 0: about the source as a whole
    std::string reason;

    // "FILE:LINE: reason", or "SOURCE: reason" without a line.
    std::string to_string() const;
};
using ConfigErrors = std::vector<ConfigError>;

// One per line, each with its trailing newline.
std::string format_errors(const ConfigErrors& errors);

enum class XdpMode : uint8_t { native, generic, automatic };
std::string_view to_string(XdpMode m);

struct DaemonConfig {
    std::string uplink;
    std::string tunnel_if = "xdpsec0";
    std::string socket;
    std::string bpffs;
    unsigned workers = 0;  // 0: one per uplink RX queue
    XdpMode xdp_mode = XdpMode::automatic;
    bool busy_poll = false;  // AF_XDP sockets with SO_PREFER_BUSY_POLL
    bool tunnel_napi_threaded = true;
    std::optional<bool> uplink_napi_threaded;  // nullopt: keep
    std::string key_export;  // tests only: CHILD SA keys appended here; empty = off
    unsigned retransmit_timeout_ms = 2000;
    unsigned retransmit_tries = 4;
    std::string instance{kDefaultInstance};
    unsigned line = 0;
};

enum class AuthMethod : uint8_t { psk, pubkey };
// trap: the tunnel comes up when traffic for its selectors first appears
// (an acquire from the data plane's trap policy), like strongSwan's start_action = trap.
enum class StartAction : uint8_t { initiate, listen, trap };
// trap: a dead peer's SAs go and the tunnel's traffic is trapped again, so
// the next packet brings the tunnel back up.
enum class DpdAction : uint8_t { clear, restart, trap };
std::string_view to_string(AuthMethod a);
std::string_view to_string(StartAction s);
std::string_view to_string(esp::Mode m);

// The default hard lifetime after a planned replacement at `soft` seconds:
// strongSwan's 10 % more, but at least a minute, so that a replacement held
// up by another exchange or a slow peer still has time; 0 when none.
inline unsigned hard_lifetime_after(unsigned soft) { return soft ? soft + std::max(soft / 10, 60u) : 0; }

struct TunnelConfig {
    std::string name;
    unsigned line = 0;  // of the section header; 0 for tunnel add
    esp::IpAddress local;
    std::optional<esp::IpAddress> remote;  // nullopt: %any (a responder accepting any peer)
    std::string local_id, remote_id;       // default: the addresses ("%any" for any peer)
    std::vector<esp::IpPrefix> local_ts;          // default: the host prefix of local
    std::vector<esp::IpPrefix> remote_ts;         // default: the host prefix of remote; empty with
                                           // %any: the peer's address once it is known
    AuthMethod auth = AuthMethod::psk;
    SecretString psk;                      // auth = psk: from psk, or read from psk_file
    std::string psk_file;
    std::string cert, key, ca;             // auth = pubkey: absolute paths
    std::vector<IkeProposal> ike;
    std::vector<EspProposal> esp;
    esp::Mode mode = esp::Mode::tunnel;
    StartAction start = StartAction::initiate;
    unsigned dpd_seconds = 30;  // 0: no liveness checks
    DpdAction dpd_action = DpdAction::clear;
    unsigned rekey_seconds = 3600;  // CHILD SA rekey; 0: only when the peer rekeys
    unsigned ike_rekey_seconds = 14400;  // IKE SA rekey; 0: only when the peer rekeys
    unsigned life_seconds = 0;           // CHILD SA hard lifetime; 0: rekey_time + max(10 %, 60 s)
    uint64_t rekey_bytes = 0, rekey_packets = 0;  // CHILD SA soft limits; 0: none
    unsigned reauth_seconds = 0;         // reauthentication; 0: never
    // IKE SA hard lifetime; 0: the sooner of ike_rekey_time and reauth_time
    // (those set) + max(10 %, 60 s); none when neither is set.
    unsigned ike_life_seconds = 0;

    // When the IKE SA is first replaced: its rekey, or its reauthentication
    // if sooner (the original initiator's to start); 0 when neither is set.
    unsigned first_ike_replacement(bool initiator) const {
        const unsigned r = ike_rekey_seconds, a = initiator ? reauth_seconds : 0;
        return r && a ? std::min(r, a) : std::max(r, a);
    }
};

// A manually keyed SA: the ESP engine's configuration (validated with
// SaConfig::validate) and the selectors the daemon installs with it.
struct ManualSaConfig {
    std::string name;
    unsigned line = 0;
    esp::SaConfig sa;
    std::vector<esp::IpPrefix> local_ts, remote_ts;
};

struct Config {
    std::string source;
    DaemonConfig daemon;
    std::vector<TunnelConfig> tunnels;  // in file order
    std::vector<ManualSaConfig> sas;    // in file order
};

// All errors of the text, in line order. `source` names it in errors.
Expected<Config, ConfigErrors> parse_config(std::string_view text, std::string_view source);
// Reads and parses a file (at most 1 MiB); the buffer is wiped afterwards.
Expected<Config, ConfigErrors> load_config(const std::string& path);

// `tunnel add NAME --KEY VALUE …`: keys as the user wrote them without the
// leading "--", '-' and '_' alike ("local-ts" is local_ts). In order, so
// that a repeated key is reported.
using TunnelOptions = std::vector<std::pair<std::string, std::string>>;
Expected<TunnelConfig, ConfigErrors> parse_tunnel_options(std::string_view name,
                                                          const TunnelOptions& options);

}  // namespace xdpsec::control
