/*
 * XDP program on the uplink: classifies every frame, counts it under one
 * enum xdpsec_verdict_reason, and sends ESP for our SAs to the workers.
 *
 * - ESP and ESP-in-UDP/4500 whose {SPI, destination} is in the SAD, whose SA
 *   is ACTIVE and whose sequence number is not left of the replay window go
 *   to the AF_XDP socket of the frame's RX queue, the SA slot in front of
 *   the packet (struct xdpsec_meta). Anything else that is ESP is dropped
 *   and counted: unknown SPIs and replays are a cheap DoS otherwise, and
 *   the kernel has no SA for it either. An unknown SPI also sends the
 *   daemon an event (rate-limited, lib/events.h), for IKE's INVALID_SPI
 *   (RFC 7296 §1.5).
 * - IKE on UDP 500, and on UDP 4500 behind the non-ESP marker, and
 *   NAT-keepalives pass to the daemon's sockets before any policy check.
 * - ICMPv6 neighbour discovery passes before any policy check.
 * - Other plaintext meets the inbound SPD (RFC 4301 §5.2): matching a
 *   PROTECT policy it should have come through an SA and is dropped, a
 *   DISCARD policy drops it, BYPASS or no policy passes it.
 * - IP fragments pass to the kernel to reassemble, unless an inbound
 *   PROTECT or DISCARD policy could claim them whatever their ports; ESP
 *   fragments always pass (they are not plaintext; the kernel drops them).
 * - What cannot be classified (truncated or inconsistent headers, UDP/4500
 *   that is neither IKE, keepalive nor ESP) is dropped as malformed.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include <xdpsec/bpf_abi.h>

#include "lib/esp.h"
#include "lib/events.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/redirect.h"
#include "lib/sad.h"
#include "lib/spd.h"
#include "lib/verdict.h"

static __always_inline int parse_uplink(struct hdr_cursor *c, struct flow *flow)
{
	switch (parse_flow(c, flow)) {
	case PARSE_OK:
		return KEEP_GOING;
	case PARSE_NOT_IP:
		return XDPSEC_REASON_PASS_NOT_IP;
	default:
		return XDPSEC_REASON_DROP_MALFORMED;
	}
}

#define ICMPV6_ND_FIRST 133 /* router solicitation (RFC 4861 §4) */
#define ICMPV6_ND_LAST 137  /* redirect */

/* RFC 4861 messages keep the link working whatever the policies say. */
static __always_inline int pass_neighbour_discovery(struct hdr_cursor *c, const struct flow *flow)
{
	const __u8 *type = c->pos;

	if (flow->family != 6 || flow->proto != IPPROTO_ICMPV6 || flow->ports != FLOW_PORTS_NONE)
		return KEEP_GOING;
	if ((void *)(type + 1) > c->end)
		return XDPSEC_REASON_DROP_MALFORMED;
	if (*type >= ICMPV6_ND_FIRST && *type <= ICMPV6_ND_LAST)
		return XDPSEC_REASON_PASS_NEIGHBOUR_DISCOVERY;
	return KEEP_GOING;
}

static __always_inline int check_inbound_policy(const struct flow *flow)
{
	const struct xdpsec_policy *policy;

	if (flow->proto == IPPROTO_ESP)
		return KEEP_GOING;
	policy = spd_lookup(&XDPSEC_MAP_SPD_IN, flow, SPD_FRAGMENT_FAIL_CLOSED);
	if (!policy)
		return KEEP_GOING;
	switch (policy->action) {
	case XDPSEC_POLICY_BYPASS:
		return KEEP_GOING;
	case XDPSEC_POLICY_PROTECT:
		return XDPSEC_REASON_DROP_PLAINTEXT_POLICY;
	default:
		return XDPSEC_REASON_DROP_DISCARD_POLICY;
	}
}

SEC("xdp")
int ingress(struct xdp_md *ctx)
{
	struct hdr_cursor c = hdr_cursor_of(ctx);
	struct flow flow = {};
	struct esp_ref esp = {};
	__u32 sa_slot = 0, generation = 0;
	int reason;

	reason = parse_uplink(&c, &flow);
	if (reason != KEEP_GOING)
		return finish(ctx, reason);

	reason = find_ipsec(&c, &flow, &esp);
	if (reason != KEEP_GOING)
		return finish(ctx, reason);

	if (esp.found) {
		reason = sad_lookup(&flow, &esp, &sa_slot, &generation);
		if (reason == XDPSEC_REASON_DROP_UNKNOWN_SPI)
			report_unknown_spi(&flow, &esp);
		if (reason != KEEP_GOING)
			return finish(ctx, reason);
		return redirect_to_worker(ctx, &XDPSEC_MAP_XSKS_UP, sa_slot, generation,
					  XDPSEC_REASON_REDIRECT_ESP, XDPSEC_REASON_DROP_NO_SOCKET);
	}

	reason = pass_neighbour_discovery(&c, &flow);
	if (reason != KEEP_GOING)
		return finish(ctx, reason);

	reason = check_inbound_policy(&flow);
	if (reason != KEEP_GOING)
		return finish(ctx, reason);

	return finish(ctx, flow.ports == FLOW_PORTS_UNKNOWN ? XDPSEC_REASON_PASS_FRAGMENT
							    : XDPSEC_REASON_PASS_OTHER);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
