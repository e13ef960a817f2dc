/*
 * XDP program on the tunnel device's peer end (xdpsec0p): every frame the
 * host routes into xdpsec0 arrives here, and the outbound SPD decides it.
 *
 * - A PROTECT policy whose SA is ACTIVE sends the frame to the AF_XDP socket
 *   of its RX queue, the SA slot in front of the packet (struct
 *   xdpsec_meta), for the worker to encapsulate.
 * - A TRAP policy (a tunnel not up yet): dropped, counted, and an acquire
 *   event (rate-limited, lib/events.h) asks the daemon to bring up the SA
 *   (RFC 4301 §5.1, the SPD entry that triggers SA creation).
 * - DISCARD, no policy, a BYPASS policy (the host should never have routed
 *   that here), or a PROTECT policy whose SA is not ACTIVE: dropped and
 *   counted. Nothing is passed: the peer end has no stack to pass to.
 * - Frames that are not for a remote selector at all (ARP, IPv6 ND and
 *   router solicitations, multicast, broadcast) and malformed frames:
 *   dropped and counted under their own reasons.
 * Fragments match only policies for all ports (their ports are not in them).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <xdpsec/bpf_abi.h>

#include "lib/events.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/redirect.h"
#include "lib/sa.h"
#include "lib/scope.h"
#include "lib/spd.h"
#include "lib/verdict.h"

static __always_inline int parse_inner(struct hdr_cursor *c, struct flow *flow)
{
	switch (parse_flow(c, flow)) {
	case PARSE_OK:
		break;
	case PARSE_NOT_IP:
		return XDPSEC_REASON_PROTECT_NOT_IP;
	default:
		return XDPSEC_REASON_PROTECT_MALFORMED;
	}
	if (link_scoped_destination(flow))
		return XDPSEC_REASON_PROTECT_LINK_LOCAL;
	return KEEP_GOING;
}

/* KEEP_GOING with *sa_slot (and its generation) set for a PROTECT policy with an ACTIVE SA, or why not. */
static __always_inline int select_sa(const struct flow *flow, __u32 *sa_slot, __u32 *generation)
{
	const struct xdpsec_policy *policy;
	const struct xdpsec_sa *sa;
	__u32 slot;

	policy = spd_lookup(&XDPSEC_MAP_SPD_OUT, flow, SPD_FRAGMENT_ALL_PORTS_ONLY);
	if (!policy)
		return XDPSEC_REASON_PROTECT_NO_POLICY;
	switch (policy->action) {
	case XDPSEC_POLICY_PROTECT:
		break;
	case XDPSEC_POLICY_BYPASS:
		return XDPSEC_REASON_PROTECT_BYPASS;
	case XDPSEC_POLICY_TRAP:
		report_acquire(flow, policy->policy_id);
		return XDPSEC_REASON_PROTECT_ACQUIRE;
	default:
		return XDPSEC_REASON_PROTECT_DISCARD;
	}
	slot = policy->sa_slot;
	sa = active_sa(slot);
	if (!sa)
		return XDPSEC_REASON_PROTECT_SA_NOT_ACTIVE;
	*sa_slot = slot;
	*generation = sa->generation;
	return KEEP_GOING;
}

SEC("xdp")
int protect(struct xdp_md *ctx)
{
	struct hdr_cursor c = hdr_cursor_of(ctx);
	struct flow flow = {};
	__u32 sa_slot = 0, generation = 0;
	int reason;

	reason = parse_inner(&c, &flow);
	if (reason != KEEP_GOING)
		return finish(ctx, reason);

	reason = select_sa(&flow, &sa_slot, &generation);
	if (reason != KEEP_GOING)
		return finish(ctx, reason);

	return redirect_to_worker(ctx, &XDPSEC_MAP_XSKS_TUN, sa_slot, generation,
				  XDPSEC_REASON_PROTECT_REDIRECT, XDPSEC_REASON_PROTECT_NO_SOCKET);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
