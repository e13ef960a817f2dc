/*
 * Header parsing: Ethernet (with at most one 802.1Q tag), IPv4, IPv6 with its
 * extension headers, UDP. Each parse_* reads the header at the cursor,
 * checks it lies wholly before the end of the packet (which is also what the
 * verifier demands), and moves the cursor past it.
 */
#ifndef XDPSEC_BPF_LIB_PARSE_H
#define XDPSEC_BPF_LIB_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* What parse_* return instead of an ethertype or protocol number (>= 0). */
#define PARSE_MALFORMED (-1) /* header truncated or inconsistent */
#define PARSE_FRAGMENT (-2)  /* an IP fragment: the transport header may not be in it */

/* RFC 8200 §4.1: each extension header at most once, destination options at
 * most twice, so five is the longest chain in front of a transport header. */
#define PARSE_IPV6_EXT_HDRS_MAX 5

#define IPV4_MORE_FRAGMENTS 0x2000
#define IPV4_FRAG_OFFSET 0x1fff

struct hdr_cursor {
	void *pos;
	void *end;
};

/* IEEE 802.1Q tag, after the source MAC. (The kernel's struct vlan_hdr is not UAPI.) */
struct vlan_tag {
	__be16 tci;
	__be16 encapsulated_proto;
};

/* RFC 8200 §4.5 (the kernel's struct frag_hdr is not UAPI). */
struct ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset in 8-octet units << 3 | M flag in bit 0 */
	__be32 identification;
};
#define IPV6_FRAG_OFFSET_AND_MORE 0xfff9

static __always_inline struct hdr_cursor hdr_cursor_of(struct xdp_md *ctx)
{
	struct hdr_cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	return c;
}

/* Returns the ethertype (host order) after at most one 802.1Q tag. */
static __always_inline int parse_eth(struct hdr_cursor *c)
{
	struct ethhdr *eth = c->pos;
	struct vlan_tag *vlan;
	__u16 proto;

	if ((void *)(eth + 1) > c->end)
		return PARSE_MALFORMED;
	proto = bpf_ntohs(eth->h_proto);
	c->pos = eth + 1;

	if (proto == ETH_P_8021Q) {
		vlan = c->pos;
		if ((void *)(vlan + 1) > c->end)
			return PARSE_MALFORMED;
		proto = bpf_ntohs(vlan->encapsulated_proto);
		c->pos = vlan + 1;
	}
	return proto;
}

/* Returns the IP protocol of the payload, options skipped. */
static __always_inline int parse_ipv4(struct hdr_cursor *c)
{
	struct iphdr *ip = c->pos;
	__u32 hdr_len;

	if ((void *)(ip + 1) > c->end)
		return PARSE_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return PARSE_MALFORMED;
	hdr_len = ip->ihl * 4;
	if (c->pos + hdr_len > c->end)
		return PARSE_MALFORMED;
	if (ip->frag_off & bpf_htons(IPV4_MORE_FRAGMENTS | IPV4_FRAG_OFFSET))
		return PARSE_FRAGMENT;
	c->pos += hdr_len;
	return ip->protocol;
}

/*
 * Returns the protocol after the extension headers, which are skipped. An
 * atomic fragment (offset 0, M clear, RFC 6946) holds the whole datagram and
 * is parsed through. A chain longer than PARSE_IPV6_EXT_HDRS_MAX returns the
 * extension header it stopped at.
 */
static __always_inline int parse_ipv6(struct hdr_cursor *c)
{
	struct ipv6hdr *ip6 = c->pos;
	struct ipv6_opt_hdr *opt;
	struct ipv6_frag_hdr *frag;
	__u8 next;

	if ((void *)(ip6 + 1) > c->end)
		return PARSE_MALFORMED;
	if (ip6->version != 6)
		return PARSE_MALFORMED;
	next = ip6->nexthdr;
	c->pos = ip6 + 1;

#pragma unroll
	for (int i = 0; i < PARSE_IPV6_EXT_HDRS_MAX; i++) {
		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			opt = c->pos;
			if ((void *)(opt + 1) > c->end)
				return PARSE_MALFORMED;
			next = opt->nexthdr;
			/* RFC 8200 §4.3: length in 8-octet units, not counting the first 8 */
			c->pos += (opt->hdrlen + 1) * 8;
			if (c->pos > c->end)
				return PARSE_MALFORMED;
			break;
		case IPPROTO_FRAGMENT:
			frag = c->pos;
			if ((void *)(frag + 1) > c->end)
				return PARSE_MALFORMED;
			if (frag->frag_off & bpf_htons(IPV6_FRAG_OFFSET_AND_MORE))
				return PARSE_FRAGMENT;
			next = frag->nexthdr;
			c->pos = frag + 1;
			break;
		default:
			return next;
		}
	}
	return next;
}

static __always_inline struct udphdr *parse_udp(struct hdr_cursor *c)
{
	struct udphdr *udp = c->pos;

	if ((void *)(udp + 1) > c->end)
		return NULL;
	c->pos = udp + 1;
	return udp;
}

#endif /* XDPSEC_BPF_LIB_PARSE_H */
