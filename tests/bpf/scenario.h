// The SAs, SAD entries and policies every table runs against: what the
// daemon would install for a site-to-site tunnel 10.1.0.0/24 (here) <->
// 10.2.0.0/24 (there) over 192.0.2.1 <-> 192.0.2.2, an IPv6 twin, and the
// odd entries each verdict needs. Frames use the default addresses of
// frames.h (192.0.2.1 -> 192.0.2.2, 2001:db8::1 -> 2001:db8::2) for the
// outer header, so ESP arrives at our uplink addresses 192.0.2.2 and
// 2001:db8::2.
#pragma once

#include <xdpsec/bpf_abi.h>

#include <cstdint>

#include "dataplane.h"
#include "xsk_socket.h"

namespace xdpsec::test::scenario {

// Inbound SAs, looked up by ingress.
inline constexpr std::uint64_t kReplayBottom = 100;  // lowest sequence number still acceptable
inline constexpr std::uint32_t kSpi = 0x1000;        // ACTIVE, window 64
inline constexpr std::uint32_t kSlotEsp4 = 3;        //   for 192.0.2.2
inline constexpr std::uint32_t kSlotEsp6 = 8;        //   for 2001:db8::2
inline constexpr std::uint32_t kSpiEsn = 0x2000;     // ACTIVE, ESN
inline constexpr std::uint32_t kSlotEsn = 4;
inline constexpr std::uint32_t kSpiNoReplay = 0x3000;  // ACTIVE, anti-replay off
inline constexpr std::uint32_t kSlotNoReplay = 5;
inline constexpr std::uint32_t kSpiExpired = 0x4000;  // EXPIRED
inline constexpr std::uint32_t kSlotExpired = 6;
inline constexpr std::uint32_t kSpiFreeSlot = 0x5000;  // the SAD names a FREE slot
inline constexpr std::uint32_t kSlotFree = 7;
inline constexpr std::uint32_t kSpiBadSlot = 0x6000;  // the SAD names a slot beyond the table
inline constexpr std::uint32_t kSlotOutOfRange = XDPSEC_MAX_SAS + 100;
inline constexpr std::uint32_t kSpiNatt = 0x7000;  // ACTIVE, UDP-encapsulated
inline constexpr std::uint32_t kSlotNatt = 9;
inline constexpr std::uint32_t kSpiUnknown = 0x9999;

// Outbound SAs, chosen by protect's policies.
inline constexpr std::uint32_t kSlotNet = 10;         // 10.1.0.0/24 -> 10.2.0.0/24, any
inline constexpr std::uint32_t kSlotHttps = 11;       // 10.1.0.5 -> 10.2.0.0/24 TCP/443
inline constexpr std::uint32_t kSlotHighPorts = 12;   // 10.1.0.0/24 -> 10.2.0.0/24 TCP/1024-65535
inline constexpr std::uint32_t kSlotUpperHalf = 13;   // 10.1.0.0/24 -> 10.2.0.128/25
inline constexpr std::uint32_t kSlotOutExpired = 14;  // 10.1.0.0/24 -> 10.2.0.200, EXPIRED
inline constexpr std::uint32_t kSlotSourcePort = 15;  // 10.1.0.0/16 UDP from 5000-5001 -> 10.2.0.0/24
inline constexpr std::uint32_t kSlotNet6 = 16;        // 2001:db8:1::/48 -> 2001:db8:2::/48
inline constexpr std::uint32_t kSlotSsh6 = 17;        // 2001:db8:1::5 -> 2001:db8:2::/48 TCP/22
inline constexpr std::uint32_t kSlotDefault = 18;     // 10.1.0.0/24 -> 0.0.0.0/0
inline constexpr std::uint32_t kSlotOutFree = 20;     // never installed

void populate(Dataplane& dataplane);

// A populated data plane with one AF_XDP socket on queue 0 of both devices.
struct Fixture {
    Dataplane dataplane;
    XskSocket xsk;

    Fixture();
    void check(Program program, const std::vector<Row>& rows) { dataplane.check(program, rows); }
};

}  // namespace xdpsec::test::scenario
