#include "scenario.h"

#include <netinet/in.h>

#include <cstring>

namespace xdpsec::test::scenario {

namespace {

void populate_sas(Dataplane& dp) {
    dp.put_sa(kSlotEsp4, sa(kSpi, XDPSEC_DIR_IN, XDPSEC_SA_STATE_ACTIVE, 0, 64, kReplayBottom));
    dp.put_sa(kSlotEsp6, sa(kSpi, XDPSEC_DIR_IN, XDPSEC_SA_STATE_ACTIVE, 0, 64, kReplayBottom));
    dp.put_sa(kSlotEsn, sa(kSpiEsn, XDPSEC_DIR_IN, XDPSEC_SA_STATE_ACTIVE, XDPSEC_SA_F_ESN, 64,
                           (std::uint64_t{1} << 32) + kReplayBottom));
    dp.put_sa(kSlotNoReplay, sa(kSpiNoReplay, XDPSEC_DIR_IN, XDPSEC_SA_STATE_ACTIVE, 0, 0, kReplayBottom));
    dp.put_sa(kSlotExpired, sa(kSpiExpired, XDPSEC_DIR_IN, XDPSEC_SA_STATE_EXPIRED, 0, 64, 0));
    dp.put_sa(kSlotNatt,
              sa(kSpiNatt, XDPSEC_DIR_IN, XDPSEC_SA_STATE_ACTIVE, XDPSEC_SA_F_UDP_ENCAP, 64, kReplayBottom));

    dp.put_sad(kSpi, "192.0.2.2", kSlotEsp4);
    dp.put_sad(kSpi, "2001:db8::2", kSlotEsp6);
    dp.put_sad(kSpiEsn, "192.0.2.2", kSlotEsn);
    dp.put_sad(kSpiNoReplay, "192.0.2.2", kSlotNoReplay);
    dp.put_sad(kSpiExpired, "192.0.2.2", kSlotExpired);
    dp.put_sad(kSpiFreeSlot, "192.0.2.2", kSlotFree);
    dp.put_sad(kSpiBadSlot, "192.0.2.2", kSlotOutOfRange);
    dp.put_sad(kSpiNatt, "192.0.2.2", kSlotNatt);

    for (std::uint32_t slot : {kSlotNet, kSlotHttps, kSlotHighPorts, kSlotUpperHalf, kSlotSourcePort,
                               kSlotNet6, kSlotSsh6, kSlotDefault})
        dp.put_sa(slot, sa(0x80000000u + slot, XDPSEC_DIR_OUT, XDPSEC_SA_STATE_ACTIVE));
    dp.put_sa(kSlotOutExpired, sa(0x80000000u + kSlotOutExpired, XDPSEC_DIR_OUT, XDPSEC_SA_STATE_EXPIRED));
}

// Inbound policies, keyed by our (local) prefixes. Buckets are complete: the
// /32 bucket repeats the policies of the /24 it lies in that concern it.
void populate_spd_in(Dataplane& dp) {
    bpf_map* in = dp.ingress_skel().maps.XDPSEC_MAP_SPD_IN;
    dp.put_spd(
        in, "10.1.0.0/24",
        {
            policy("10.2.0.7", XDPSEC_POLICY_BYPASS, 0, IPPROTO_TCP, port(22)),
            policy("10.2.0.0/24", XDPSEC_POLICY_PROTECT, kSlotEsp4),
            policy("10.3.0.0/16", XDPSEC_POLICY_PROTECT, kSlotEsp4, IPPROTO_UDP, kAnyPort, {5000, 5001}),
            policy("10.8.0.0/16", XDPSEC_POLICY_PROTECT, kSlotEsp4, 0, port(443)),
            policy("10.0.0.0/8", XDPSEC_POLICY_DISCARD, 0, IPPROTO_UDP, port(53)),
            policy("10.0.0.0/8", XDPSEC_POLICY_PROTECT, kSlotEsp4, IPPROTO_TCP, {8000, 8999}),
            policy("10.16.0.0/12", XDPSEC_POLICY_PROTECT, kSlotEsp4),
        });
    dp.put_spd(in, "10.1.0.5",
               {
                   policy("10.2.0.0/24", XDPSEC_POLICY_BYPASS, 0, IPPROTO_ICMP),
                   policy("10.2.0.0/24", XDPSEC_POLICY_PROTECT, kSlotEsp4),
               });
    dp.put_spd(in, "10.1.9.0/24", {}, 0);
    dp.put_spd(in, "2001:db8:1::/48",
               {
                   policy("2001:db8:2::/48", XDPSEC_POLICY_BYPASS, 0, IPPROTO_ICMPV6),
                   policy("2001:db8:2::/48", XDPSEC_POLICY_PROTECT, kSlotEsp6),
                   policy("2001:db8:4:8000::/49", XDPSEC_POLICY_DISCARD),
               });
}

// Outbound policies, keyed by the remote prefixes.
void populate_spd_out(Dataplane& dp) {
    bpf_map* out = dp.ingress_skel().maps.XDPSEC_MAP_SPD_OUT;
    dp.put_spd(out, "10.2.0.0/24",
               {
                   policy("10.1.0.5", XDPSEC_POLICY_PROTECT, kSlotHttps, IPPROTO_TCP, port(443)),
                   policy("10.1.0.0/24", XDPSEC_POLICY_PROTECT, kSlotHighPorts, IPPROTO_TCP, {1024, 65535}),
                   policy("10.1.0.0/24", XDPSEC_POLICY_PROTECT, kSlotNet),
                   policy("10.1.0.0/16", XDPSEC_POLICY_DISCARD, 0, IPPROTO_UDP, port(53)),
                   policy("192.168.0.0/16", XDPSEC_POLICY_BYPASS),
                   policy("10.1.0.0/16", XDPSEC_POLICY_PROTECT, kSlotSourcePort, IPPROTO_UDP, kAnyPort,
                          {5000, 5001}),
               });
    dp.put_spd(out, "10.2.0.128/25", {policy("10.1.0.0/24", XDPSEC_POLICY_PROTECT, kSlotUpperHalf)});
    dp.put_spd(out, "10.2.0.200", {policy("10.1.0.0/24", XDPSEC_POLICY_PROTECT, kSlotOutExpired)});
    dp.put_spd(out, "10.2.0.201", {policy("10.1.0.0/24", XDPSEC_POLICY_PROTECT, kSlotOutOfRange)});
    dp.put_spd(out, "10.2.0.202", {policy("10.1.0.0/24", XDPSEC_POLICY_PROTECT, kSlotOutFree)});
    dp.put_spd(out, "10.3.0.0/16", {policy("0.0.0.0/0", XDPSEC_POLICY_DISCARD)});
    // An action this program version does not know, as a newer daemon might write.
    xdpsec_policy unknown_action = policy("0.0.0.0/0", XDPSEC_POLICY_PROTECT, kSlotNet);
    const std::uint32_t action = 7;
    std::memcpy(&unknown_action.action, &action, sizeof(action));
    dp.put_spd(out, "10.5.0.0/16", {unknown_action});
    dp.put_spd(out, "10.6.0.0/16", {}, 0);
    // A corrupt count: the scan still stops after XDPSEC_BUCKET_POLICIES.
    std::vector<xdpsec_policy> full;
    for (int i = 0; i < XDPSEC_BUCKET_POLICIES - 1; ++i)
        full.push_back(policy("172.16.0.0/12", XDPSEC_POLICY_DISCARD));
    full.push_back(policy("0.0.0.0/0", XDPSEC_POLICY_PROTECT, kSlotNet));
    dp.put_spd(out, "10.7.0.0/16", full, 200);
    dp.put_spd(out, "0.0.0.0/0", {policy("10.1.0.0/24", XDPSEC_POLICY_PROTECT, kSlotDefault)});
    dp.put_spd(out, "2001:db8:2::/48",
               {
                   policy("2001:db8:1::5", XDPSEC_POLICY_PROTECT, kSlotSsh6, IPPROTO_TCP, port(22)),
                   policy("2001:db8:1::/48", XDPSEC_POLICY_PROTECT, kSlotNet6),
               });
}

}  // namespace

void populate(Dataplane& dataplane) {
    populate_sas(dataplane);
    populate_spd_in(dataplane);
    populate_spd_out(dataplane);
}

Fixture::Fixture() {
    populate(dataplane);
    dataplane.put_xsk(dataplane.ingress_skel().maps.XDPSEC_MAP_XSKS_UP, 0, xsk.fd());
    dataplane.put_xsk(dataplane.ingress_skel().maps.XDPSEC_MAP_XSKS_TUN, 0, xsk.fd());
}

}  // namespace xdpsec::test::scenario
