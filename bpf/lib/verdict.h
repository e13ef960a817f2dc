/*
 * How an entry program reads as a pipeline (katran style): every step
 * returns either the final enum xdpsec_verdict_reason of the packet or
 * KEEP_GOING, and the program ends with finish(), which counts the reason
 * and turns it into its XDP action. Redirects are counted by lib/redirect.h,
 * which knows whether the redirect found its socket.
 */
#ifndef XDPSEC_BPF_LIB_VERDICT_H
#define XDPSEC_BPF_LIB_VERDICT_H

#include <linux/bpf.h>

#include <xdpsec/bpf_abi.h>

#include "counters.h"

#define KEEP_GOING (-1) /* not decided yet: on to the next step */

/* PASS_* reasons pass the frame to the kernel; every other reason drops it. */
static __always_inline int finish(struct xdp_md *ctx, int reason)
{
	switch (reason) {
	case XDPSEC_REASON_PASS_NOT_IP:
	case XDPSEC_REASON_PASS_IKE:
	case XDPSEC_REASON_PASS_FRAGMENT:
	case XDPSEC_REASON_PASS_OTHER:
	case XDPSEC_REASON_PASS_NEIGHBOUR_DISCOVERY:
		return count_verdict(ctx, reason, XDP_PASS);
	default:
		return count_verdict(ctx, reason, XDP_DROP);
	}
}

#endif /* XDPSEC_BPF_LIB_VERDICT_H */
