/*
 * Security policy lookup (RFC 4301 §4.4.1): the longest destination prefix
 * in an SPD trie gives a bucket of policies, most specific first; the first
 * one whose source prefix, protocol and ports match the packet wins. The
 * matching rules are spelled out with the SPD maps in include/xdpsec/bpf_abi.h.
 */
#ifndef XDPSEC_BPF_LIB_SPD_H
#define XDPSEC_BPF_LIB_SPD_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include <xdpsec/bpf_abi.h>

#include "parse.h"

#define PORT_ANY_LO 0
#define PORT_ANY_HI 0xffff

/* How a lookup treats a fragment, whose ports are not in it. */
enum spd_fragments {
	/* like a protocol without ports: only policies for all ports match */
	SPD_FRAGMENT_ALL_PORTS_ONLY,
	/* ports are unknown, so any PROTECT or DISCARD policy that could match
	 * does, BYPASS never: a fragment cannot slip past an inbound policy */
	SPD_FRAGMENT_FAIL_CLOSED,
};

static __always_inline bool prefix_covers(const struct xdpsec_selector *sel, const struct flow *flow)
{
	__u32 max_len = flow->family == 4 ? 32 : 128;
	__u32 prefixlen = sel->prefixlen;

	if (prefixlen > max_len)
		return false;
#pragma unroll
	for (__u32 w = 0; w < 4; w++) {
		__u32 bits, mask, word;

		if (prefixlen <= w * 32)
			break;
		bits = prefixlen - w * 32;
		mask = bits >= 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
		__builtin_memcpy(&word, &sel->addr[w * 4], sizeof(word));
		if ((word ^ flow->saddr[w]) & bpf_htonl(mask))
			return false;
	}
	return true;
}

static __always_inline bool all_ports(__u16 lo, __u16 hi)
{
	return lo == PORT_ANY_LO && hi == PORT_ANY_HI;
}

static __always_inline bool policy_matches(const struct xdpsec_policy *pol, const struct flow *flow,
					   enum spd_fragments fragments)
{
	if (pol->src.family != flow->family)
		return false;
	if (pol->src.proto != 0 && pol->src.proto != flow->proto)
		return false;
	if (!prefix_covers(&pol->src, flow))
		return false;

	switch (flow->ports) {
	case FLOW_PORTS_KNOWN:
		return flow->sport >= pol->src.port_lo && flow->sport <= pol->src.port_hi &&
		       flow->dport >= pol->dport_lo && flow->dport <= pol->dport_hi;
	case FLOW_PORTS_UNKNOWN:
		if (fragments == SPD_FRAGMENT_FAIL_CLOSED)
			return pol->action != XDPSEC_POLICY_BYPASS;
		/* fall through */
	default:
		return all_ports(pol->src.port_lo, pol->src.port_hi) &&
		       all_ports(pol->dport_lo, pol->dport_hi);
	}
}

/* The policy of the packet in spd (an XDPSEC_MAP_SPD_* trie), or NULL. */
static __always_inline const struct xdpsec_policy *spd_lookup(void *spd, const struct flow *flow,
							      enum spd_fragments fragments)
{
	struct xdpsec_spd_key key = {
		.prefixlen = 8 + (flow->family == 4 ? 32 : 128),
		.family = flow->family,
	};
	const struct xdpsec_spd_bucket *bucket;

	__builtin_memcpy(key.addr, flow->daddr, sizeof(key.addr));
	bucket = bpf_map_lookup_elem(spd, &key);
	if (!bucket)
		return NULL;

	for (__u32 i = 0; i < XDPSEC_BUCKET_POLICIES; i++) {
		if (i >= bucket->count)
			break;
		if (policy_matches(&bucket->policies[i], flow, fragments))
			return &bucket->policies[i];
	}
	return NULL;
}

#endif /* XDPSEC_BPF_LIB_SPD_H */
