/*
 * Telling IPsec traffic apart on the uplink: ESP (IP protocol 50), ESP in
 * UDP on port 4500 (RFC 3948), and IKE on UDP 500 and 4500 (RFC 7296 §2,
 * §2.23) with its NAT-keepalives. Finds the ESP header for the SAD lookup;
 * an ESP-in-UDP frame is redirected as it is, the worker strips the UDP header.
 */
#ifndef XDPSEC_BPF_LIB_ESP_H
#define XDPSEC_BPF_LIB_ESP_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <stdbool.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include <xdpsec/bpf_abi.h>

#include "parse.h"
#include "verdict.h"

#define IKE_PORT 500        /* RFC 7296 §2 */
#define IKE_NATT_PORT 4500  /* RFC 3948 §2, RFC 7296 §2.23 */
#define NATT_KEEPALIVE 0xff /* RFC 3948 §2.3: the whole payload of a NAT-keepalive */

/* The ESP header fields ingress needs (RFC 4303 §2). */
struct esp_ref {
	__be32 spi; /* as on the wire: the SAD key holds it so */
	__u32 seq;  /* host order; the low 32 bits with ESN */
	bool found; /* the frame is ESP or ESP-in-UDP */
};

static __always_inline int read_esp(struct hdr_cursor *c, struct esp_ref *esp)
{
	const struct ip_esp_hdr *hdr = c->pos;

	if ((void *)(hdr + 1) > c->end)
		return XDPSEC_REASON_DROP_MALFORMED;
	esp->spi = hdr->spi;
	esp->seq = bpf_ntohl(hdr->seq_no);
	esp->found = true;
	return KEEP_GOING;
}

/*
 * RFC 3948 §2.2 / RFC 7296 §2.23: on port 4500 a datagram is IKE when it
 * starts with the four-zero-octet non-ESP marker (no ESP SPI is zero), a
 * NAT-keepalive when it is the single octet 0xff, and ESP otherwise.
 * Sizes come from the UDP length, not the frame: short frames carry Ethernet
 * padding that is not part of the datagram.
 */
static __always_inline int classify_natt(struct hdr_cursor *c, const struct udphdr *udp,
					 struct esp_ref *esp)
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
	if (marker == 0)
		return XDPSEC_REASON_PASS_IKE;
	if (udp_len < sizeof(*udp) + sizeof(struct ip_esp_hdr))
		return XDPSEC_REASON_DROP_MALFORMED;
	return read_esp(c, esp);
}

/*
 * PASS_IKE for IKE and keepalives, DROP_MALFORMED for a truncated ESP header
 * or an unclassifiable UDP/4500 datagram, else KEEP_GOING, with esp->found
 * set for ESP. Fragments are neither: their headers may be elsewhere.
 */
static __always_inline int find_ipsec(struct hdr_cursor *c, const struct flow *flow,
				      struct esp_ref *esp)
{
	struct udphdr *udp;

	if (flow->ports == FLOW_PORTS_UNKNOWN)
		return KEEP_GOING;
	switch (flow->proto) {
	case IPPROTO_ESP:
		return read_esp(c, esp);
	case IPPROTO_UDP:
		if (flow->dport == IKE_PORT)
			return XDPSEC_REASON_PASS_IKE;
		if (flow->dport != IKE_NATT_PORT)
			return KEEP_GOING;
		udp = parse_udp(c);
		if (!udp)
			return XDPSEC_REASON_DROP_MALFORMED;
		return classify_natt(c, udp, esp);
	default:
		return KEEP_GOING;
	}
}

#endif /* XDPSEC_BPF_LIB_ESP_H */
