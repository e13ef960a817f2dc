/*
 * Handing a frame to the worker: the SA slot goes in front of the packet as
 * struct xdpsec_meta (bpf_xdp_adjust_meta), and the frame to the AF_XDP
 * socket of its RX queue. A queue without a socket drops the frame and
 * counts it: ESP or protected traffic never falls back to the kernel.
 */
#ifndef XDPSEC_BPF_LIB_REDIRECT_H
#define XDPSEC_BPF_LIB_REDIRECT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <xdpsec/bpf_abi.h>

#include "counters.h"

/*
 * A driver without metadata support makes bpf_xdp_adjust_meta fail; the
 * frame then goes without it and the worker, finding no XDPSEC_META_MAGIC,
 * must not trust the bytes in front of the packet.
 */
static __always_inline void set_meta(struct xdp_md *ctx, __u32 sa_slot, __u32 generation)
{
	struct xdpsec_meta *meta;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)))
		return;
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > (void *)(long)ctx->data)
		return;
	meta->sa_slot = sa_slot;
	meta->magic = XDPSEC_META_MAGIC;
	meta->generation = generation;
}

/*
 * Redirects to xsks (an XSKMAP) at the frame's RX queue and counts the frame
 * under redirected, or, when that queue has no socket, drops it and counts
 * it under no_socket. The lookup keeps metadata off frames that are dropped;
 * the XDP_DROP fallback of bpf_redirect_map covers a socket removed between
 * the lookup and the redirect.
 */
static __always_inline int redirect_to_worker(struct xdp_md *ctx, void *xsks, __u32 sa_slot,
					      __u32 generation, enum xdpsec_verdict_reason redirected,
					      enum xdpsec_verdict_reason no_socket)
{
	__u32 queue = ctx->rx_queue_index;
	int action;

	if (!bpf_map_lookup_elem(xsks, &queue))
		return count_verdict(ctx, no_socket, XDP_DROP);
	set_meta(ctx, sa_slot, generation);
	action = bpf_redirect_map(xsks, queue, XDP_DROP);
	return count_verdict(ctx, action == XDP_REDIRECT ? redirected : no_socket, action);
}

#endif /* XDPSEC_BPF_LIB_REDIRECT_H */
