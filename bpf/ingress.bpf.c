/*
 * XDP program on the uplink: classifies every frame and counts it under one
 * enum xdpsec_verdict_reason.
 *
 * This first version owns no SAs, so it passes everything it can classify to
 * the kernel, ESP included (PASS_ESP_NO_SAD makes that ESP visible: a kernel
 * without an ESP module drops it silently). It drops only what it cannot
 * classify (DROP_MALFORMED): truncated or inconsistent headers, which the
 * kernel would discard too, and UDP/4500 datagrams that are neither IKE, a
 * NAT-keepalive nor ESP, which no socket of ours wants. Dropping them here
 * makes those discards counted.
 * The SAD lookup and the redirect to AF_XDP come with the data plane.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include <xdpsec/bpf_abi.h>

#include "lib/counters.h"
#include "lib/parse.h"

#define IKE_PORT 500       /* RFC 7296 §2 */
#define IKE_NATT_PORT 4500 /* RFC 3948 §2, RFC 7296 §2.23 */
#define NATT_KEEPALIVE 0xff /* RFC 3948 §2.3: the whole payload of a NAT-keepalive */

/*
 * RFC 3948 §2.2 / RFC 7296 §2.23: on port 4500 a datagram is IKE when it
 * starts with the four-zero-octet non-ESP marker (no ESP SPI is zero), a
 * NAT-keepalive when it is the single octet 0xff, and ESP otherwise.
 * Sizes come from the UDP length, not the frame: short frames carry Ethernet
 * padding that is not part of the datagram.
 */
static __always_inline enum xdpsec_verdict_reason classify_natt(struct hdr_cursor *c,
								const struct udphdr *udp)
{
	__u16 udp_len = bpf_ntohs(udp->len);
	const __u8 *payload = c->pos;
	__u32 marker;

	if (udp_len == sizeof(*udp) + 1) {
		if ((void *)(payload + 1) > c->end)
			return XDPSEC_REASON_DROP_MALFORMED;
		return payload[0] == NATT_KEEPALIVE ? XDPSEC_REASON_PASS_IKE
						    : XDPSEC_REASON_DROP_MALFORMED;
	}
	if (udp_len < sizeof(*udp) + sizeof(marker))
		return XDPSEC_REASON_DROP_MALFORMED;
	if ((void *)(payload + sizeof(marker)) > c->end)
		return XDPSEC_REASON_DROP_MALFORMED;
	__builtin_memcpy(&marker, payload, sizeof(marker));
	return marker == 0 ? XDPSEC_REASON_PASS_IKE : XDPSEC_REASON_PASS_ESP_NO_SAD;
}

static __always_inline enum xdpsec_verdict_reason classify_transport(struct hdr_cursor *c,
								     int protocol)
{
	struct udphdr *udp;

	switch (protocol) {
	case PARSE_MALFORMED:
		return XDPSEC_REASON_DROP_MALFORMED;
	case PARSE_FRAGMENT:
		return XDPSEC_REASON_PASS_FRAGMENT;
	case IPPROTO_ESP:
		return XDPSEC_REASON_PASS_ESP_NO_SAD;
	case IPPROTO_UDP:
		udp = parse_udp(c);
		if (!udp)
			return XDPSEC_REASON_DROP_MALFORMED;
		if (udp->dest == bpf_htons(IKE_PORT))
			return XDPSEC_REASON_PASS_IKE;
		if (udp->dest == bpf_htons(IKE_NATT_PORT))
			return classify_natt(c, udp);
		return XDPSEC_REASON_PASS_OTHER;
	default:
		return XDPSEC_REASON_PASS_OTHER;
	}
}

static __always_inline enum xdpsec_verdict_reason classify(struct xdp_md *ctx)
{
	struct hdr_cursor c = hdr_cursor_of(ctx);

	switch (parse_eth(&c)) {
	case PARSE_MALFORMED:
		return XDPSEC_REASON_DROP_MALFORMED;
	case ETH_P_IP:
		return classify_transport(&c, parse_ipv4(&c));
	case ETH_P_IPV6:
		return classify_transport(&c, parse_ipv6(&c));
	default:
		return XDPSEC_REASON_PASS_NOT_IP;
	}
}

SEC("xdp")
int ingress(struct xdp_md *ctx)
{
	enum xdpsec_verdict_reason reason = classify(ctx);

	return count_verdict(ctx, reason,
			     reason == XDPSEC_REASON_DROP_MALFORMED ? XDP_DROP : XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
