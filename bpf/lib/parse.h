/*
 * Header parsing: Ethernet (with at most one 802.1Q tag), IPv4, IPv6 with its
 * extension headers, the ports of TCP, UDP and SCTP. Each parse_* reads the
 * header at the cursor, checks it lies wholly before the end of the packet
 * (which is also what the verifier demands), and moves the cursor past it
 * (parse_ports excepted: the transport header is left for the caller).
 * parse_flow() runs them all and gathers the selectors the SAD and SPD
 * compare into a struct flow.
 */
#ifndef XDPSEC_BPF_LIB_PARSE_H
#define XDPSEC_BPF_LIB_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* What parse_* return; parse_eth returns the ethertype (>= 0) instead of PARSE_OK. */
#define PARSE_OK 0
#define PARSE_MALFORMED (-1) /* header truncated or inconsistent */
#define PARSE_NOT_IP (-2)    /* parse_flow: neither IPv4 nor IPv6 */

/* RFC 8200 §4.1: each extension header at most once, destination options at
 * most twice, so five is the longest chain in front of a transport header. */
#define PARSE_IPV6_EXT_HDRS_MAX 5

#define IPV4_MORE_FRAGMENTS 0x2000
#define IPV4_FRAG_OFFSET 0x1fff

struct hdr_cursor {
	void *pos;
	void *end;
};

enum flow_ports {
	FLOW_PORTS_NONE = 0, /* a protocol without ports (ICMP, ESP, ...) */
	FLOW_PORTS_KNOWN,    /* TCP, UDP or SCTP: sport and dport hold them */
	FLOW_PORTS_UNKNOWN,  /* an IP fragment: its datagram has ports or not, they are not here */
};

/* The selectors of a packet, in the byte orders the SAD and SPD keep them. */
struct flow {
	__u32 saddr[4]; /* network order; IPv4 in saddr[0], the rest zero */
	__u32 daddr[4];
	__u16 sport;    /* host order, with FLOW_PORTS_KNOWN */
	__u16 dport;
	__u8 family;    /* 4 or 6 */
	__u8 proto;     /* IP protocol; of a fragment, the one its datagram carries */
	__u8 ports;     /* enum flow_ports */
};

/* The fixed part of the transport headers that have ports, which come first. */
struct l4_ports {
	__be16 source;
	__be16 dest;
};
#define SCTP_COMMON_HDR_LEN 12 /* RFC 9260 §3.1: ports, verification tag, checksum */

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

/* Fills the addresses and protocol of flow, skips the options. */
static __always_inline int parse_ipv4(struct hdr_cursor *c, struct flow *flow)
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
	flow->family = 4;
	flow->proto = ip->protocol;
	flow->saddr[0] = ip->saddr;
	flow->daddr[0] = ip->daddr;
	if (ip->frag_off & bpf_htons(IPV4_MORE_FRAGMENTS | IPV4_FRAG_OFFSET))
		flow->ports = FLOW_PORTS_UNKNOWN;
	c->pos += hdr_len;
	return PARSE_OK;
}

/*
 * Fills the addresses of flow and, as its protocol, the one after the
 * extension headers, which are skipped. An atomic fragment (offset 0, M
 * clear, RFC 6946) holds the whole datagram and is parsed through; a real
 * fragment ends the chain with the fragment header's next header. A chain
 * longer than PARSE_IPV6_EXT_HDRS_MAX leaves the extension header it
 * stopped at as the protocol.
 */
static __always_inline int parse_ipv6(struct hdr_cursor *c, struct flow *flow)
{
	struct ipv6hdr *ip6 = c->pos;
	struct ipv6_opt_hdr *opt;
	struct ipv6_frag_hdr *frag;
	__u8 next;

	if ((void *)(ip6 + 1) > c->end)
		return PARSE_MALFORMED;
	if (ip6->version != 6)
		return PARSE_MALFORMED;
	flow->family = 6;
	__builtin_memcpy(flow->saddr, &ip6->saddr, sizeof(flow->saddr));
	__builtin_memcpy(flow->daddr, &ip6->daddr, sizeof(flow->daddr));
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
			next = frag->nexthdr;
			c->pos = frag + 1;
			if (frag->frag_off & bpf_htons(IPV6_FRAG_OFFSET_AND_MORE)) {
				flow->ports = FLOW_PORTS_UNKNOWN;
				goto done;
			}
			break;
		default:
			goto done;
		}
	}
done:
	flow->proto = next;
	return PARSE_OK;
}

/*
 * Reads the ports of TCP, UDP and SCTP, whose fixed header must be whole;
 * other protocols have none. The cursor stays on the transport header.
 */
static __always_inline int parse_ports(struct hdr_cursor *c, struct flow *flow)
{
	const struct l4_ports *ports = c->pos;
	__u32 fixed_len;

	if (flow->ports == FLOW_PORTS_UNKNOWN)
		return PARSE_OK;
	switch (flow->proto) {
	case IPPROTO_TCP:
		fixed_len = sizeof(struct tcphdr);
		break;
	case IPPROTO_UDP:
		fixed_len = sizeof(struct udphdr);
		break;
	case IPPROTO_SCTP:
		fixed_len = SCTP_COMMON_HDR_LEN;
		break;
	default:
		return PARSE_OK;
	}
	if ((void *)(ports + 1) > c->end || c->pos + fixed_len > c->end)
		return PARSE_MALFORMED;
	flow->sport = bpf_ntohs(ports->source);
	flow->dport = bpf_ntohs(ports->dest);
	flow->ports = FLOW_PORTS_KNOWN;
	return PARSE_OK;
}

/*
 * Parses a frame from Ethernet to the transport ports into flow, which the
 * caller zeroes. Returns PARSE_OK with the cursor on the transport header,
 * PARSE_NOT_IP or PARSE_MALFORMED.
 */
static __always_inline int parse_flow(struct hdr_cursor *c, struct flow *flow)
{
	int ret;

	switch (parse_eth(c)) {
	case PARSE_MALFORMED:
		return PARSE_MALFORMED;
	case ETH_P_IP:
		ret = parse_ipv4(c, flow);
		break;
	case ETH_P_IPV6:
		ret = parse_ipv6(c, flow);
		break;
	default:
		return PARSE_NOT_IP;
	}
	if (ret != PARSE_OK)
		return ret;
	return parse_ports(c, flow);
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
