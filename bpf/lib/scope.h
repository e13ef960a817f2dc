/*
 * Address scope: destinations that belong to the link itself and never to a
 * remote traffic selector. The host emits such packets on any interface it
 * brings up, the tunnel device included: IPv6 neighbour and router
 * solicitations, MLD reports, IGMP, broadcasts.
 */
#ifndef XDPSEC_BPF_LIB_SCOPE_H
#define XDPSEC_BPF_LIB_SCOPE_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "parse.h"

/*
 * IPv6: link-local unicast fe80::/10 and multicast ff00::/8 (RFC 4291 §2.4).
 * IPv4: link-local 169.254.0.0/16 (RFC 3927), multicast 224.0.0.0/4 and the
 * limited broadcast 255.255.255.255 (RFC 1122 §3.2.1.3).
 */
static __always_inline bool link_scoped_destination(const struct flow *flow)
{
	__u32 dst = bpf_ntohl(flow->daddr[0]);

	if (flow->family == 6)
		return (dst & 0xffc00000u) == 0xfe800000u || (dst & 0xff000000u) == 0xff000000u;
	return (dst & 0xffff0000u) == 0xa9fe0000u || (dst & 0xf0000000u) == 0xe0000000u ||
	       dst == 0xffffffffu;
}

#endif /* XDPSEC_BPF_LIB_SCOPE_H */
