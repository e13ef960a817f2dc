// The protocol between xdpsecctl and xdpsecd on the control socket
// (SOCK_STREAM, default /run/xdpsec/xdpsecd.sock, mode 0600).
//
// One request per connection. The client sends one JSON object on one line,
//     {"cmd": "tunnel up", "args": ["site-b"]}\n
// at most kMaxRequestBytes long, and reads one JSON document back until the
// server closes the connection. "cmd" is the CLI's command words joined by
// one space; "args" (optional when empty) holds strings only:
//
//   cmd            args
//   "status"       []
//   "tunnel list"  []
//   "tunnel up"    [NAME]
//   "tunnel down"  [NAME]
//   "tunnel rekey" [NAME] or [NAME, "child"|"ike"]   (default child)
//   "tunnel add"   [NAME, KEY, VALUE, KEY, VALUE, ...]  keys as typed without
//                  the "--" ("local-ts"); config.h parse_tunnel_options reads them
//   "tunnel del"   [NAME]
//   "sa list"      []
//   "stats"        []
//   "reload"       []
//
// A failed request, whatever the command, is answered with
//     {"error": "why, for an operator"}
// and a successful one with the command's document:
//
// status:
//   {"version": "0.1.0", "instance": "default", "uplink": "eth0",
//    "tunnel_if": "xdpsec0", "workers": 1, "xdp_mode": "native|generic|auto",
//    "sas": 2, "tunnels": 1, "uptime_s": 3600}
//   (xdp_mode: the mode in use once attached, else the configured one)
//
// tunnel list:
//   {"tunnels": [{"name": "site-b", "state": "up|down|connecting|...",
//     "local": "192.0.2.1", "remote": "192.0.2.2" or "%any",
//     "mode": "tunnel|transport", "start": "initiate|listen", "auth": "psk|pubkey",
//     "local_ts": ["10.1.0.0/24"], "remote_ts": ["10.2.0.0/24"],
//     "ike": "aes128-sha256-x25519", "esp": "aes128gcm16", "sas": 2}]}
//
// sa list: every SA, CHILD SAs of tunnels and manually keyed ones:
//   {"sas": [{"tunnel": "site-b" (manual SAs: ""), "name": "site-b{1}-in",
//     "direction": "in|out", "spi": "0x0000c001", "mode": "tunnel|transport",
//     "alg": "aes128gcm16", "local_ts": ["10.1.0.0/24"], "remote_ts": [...],
//     "packets": 10, "bytes": 840, "state": "active|soft_expired|expired",
//     "drops": {"auth_failed": 1, ...}   (esp::EspDrop names; zeros may be left out),
//     "seq": 10 (outbound: last sent; inbound: window top),
//     "local": "192.0.2.1", "remote": "192.0.2.2",
//     "encap": null or {"local_port": 4500, "remote_port": 4500},
//     "esn": false, "replay_window": 64}]}
//
// stats:
//   {"xdp": {"pass_ike": {"packets": 4, "bytes": 512}, ...} (every
//     verdict_reason_name(), summed over CPUs),
//    "workers": [{"id": 0, "queue": 0, "rx_packets": N, "tx_packets": N,
//     "encrypted": N, "decrypted": N, "dropped": N, ...}]}
//   A worker object holds "id" and any number of counters: xdpsecctl
//   prints every key it finds.
//
// tunnel up, tunnel down, tunnel add, tunnel del, reload:
//   {"ok": true, "message": "optional text for the operator"}
#pragma once

#include "control/expected.h"

#include <xdpsec/bpf_abi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xdpsec::control {

inline constexpr std::string_view kDefaultSocket = "/run/xdpsec/xdpsecd.sock";
inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;

struct ControlRequest {
    std::string cmd;
    std::vector<std::string> args;
};

// One request line, with its trailing '\n'.
std::string encode_request(const ControlRequest& request);
// A request line (without the '\n'); the error says what is wrong with it.
Expected<ControlRequest, std::string> decode_request(std::string_view line);

// The name `stats` uses for an XDP verdict reason: the enum's name in
// lower case without the XDPSEC_REASON_ prefix ("drop_unknown_spi"); empty
// for a value without a name (verdict_reason_key() then says "reason_N").
std::string_view verdict_reason_name(enum xdpsec_verdict_reason reason);
// The key of reason `r` in the "xdp" object of `stats`.
std::string verdict_reason_key(uint32_t r);
// "free", "active", "expired".
std::string_view sa_state_name(enum xdpsec_sa_state state);

}  // namespace xdpsec::control
