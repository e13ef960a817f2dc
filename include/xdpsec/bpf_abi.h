/*
 * Everything the BPF programs (bpf/) and the C++ side (userspace/, tests/)
 * must agree on: map names, counter keys and map value layouts. One
 * definition, compiled by both clang -target bpf (C) and the C++20 compiler,
 * so it sticks to plain C: <linux/types.h> fixed-width types, padding
 * spelled out as fields wherever a struct needs it, no C++-only constructs. The layout asserts at the end run on both
 * sides, so a struct cannot silently differ between the two compilers.
 */
#ifndef XDPSEC_BPF_ABI_H
#define XDPSEC_BPF_ABI_H

#include <linux/types.h>

#define XDPSEC_STRINGIFY_(x) #x
#define XDPSEC_STRINGIFY(x) XDPSEC_STRINGIFY_(x)

/*
 * Map names. XDPSEC_MAP_<X> is the identifier the BPF side declares the map
 * with (and so the skeleton member name); XDPSEC_MAP_<X>_NAME is the same name
 * as a string, for bpf_object__find_map_by_name() and pin paths.
 */

/*
 * Per-CPU {packets, bytes} per verdict reason: a BPF_MAP_TYPE_PERCPU_ARRAY
 * of XDPSEC_REASON_COUNT struct xdpsec_counter, key = enum
 * xdpsec_verdict_reason as __u32.
 * Written by: the XDP programs, once per packet (bpf/lib/counters.h).
 * Read by: userspace only — the daemon sums the CPUs for `xdpsecctl stats`;
 * tests/bpf checks it after every BPF_PROG_TEST_RUN.
 */
#define XDPSEC_MAP_VERDICTS xdpsec_verdicts
#define XDPSEC_MAP_VERDICTS_NAME XDPSEC_STRINGIFY(XDPSEC_MAP_VERDICTS)

/*
 * Why an XDP program returned the verdict it did. Every packet is counted
 * under exactly one reason. The prefix says the verdict (PASS = XDP_PASS to
 * the kernel, REDIRECT = to an AF_XDP socket, DROP = XDP_DROP); PROTECT_* are
 * the verdicts of the "protect" program on the tunnel device.
 * Values index XDPSEC_MAP_VERDICTS, so only append; never renumber.
 */
enum xdpsec_verdict_reason {
	/* ingress (uplink) */
	XDPSEC_REASON_PASS_NOT_IP = 0,     /* not IPv4/IPv6 (after at most one 802.1Q tag) */
	XDPSEC_REASON_PASS_IKE,            /* UDP/500, or UDP/4500 with the non-ESP marker
	                                    * or a NAT-keepalive: for the daemon's sockets */
	XDPSEC_REASON_PASS_FRAGMENT,       /* an IP fragment: left to the kernel to reassemble */
	XDPSEC_REASON_PASS_ESP_NO_SAD,     /* ESP or ESP-in-UDP seen by a program without an
	                                    * SAD to look the SPI up in: left to the kernel */
	XDPSEC_REASON_PASS_OTHER,          /* any other IP traffic */
	XDPSEC_REASON_REDIRECT_ESP,        /* ESP for a known SPI, to the worker's AF_XDP socket */
	XDPSEC_REASON_DROP_MALFORMED,      /* headers too short or inconsistent to classify
	                                    * (truncated, IPv4 IHL < 5, wrong IP version,
	                                    * UDP/4500 neither IKE, keepalive nor ESP) */
	XDPSEC_REASON_DROP_UNKNOWN_SPI,    /* ESP for an SPI that is not in the SAD */
	XDPSEC_REASON_DROP_REPLAY_TOO_OLD, /* ESP sequence number left of the SA's replay window */
	XDPSEC_REASON_DROP_PLAINTEXT_POLICY, /* plaintext matching an inbound PROTECT policy
	                                      * (RFC 4301 §5.2) */
	XDPSEC_REASON_DROP_NO_SOCKET,      /* should be redirected, but no AF_XDP socket on this queue */
	/* protect (tunnel device) */
	XDPSEC_REASON_PROTECT_REDIRECT,    /* matches a PROTECT policy: to the worker */
	XDPSEC_REASON_PROTECT_DISCARD,     /* matches a DISCARD policy: dropped */
	XDPSEC_REASON_PROTECT_NO_POLICY,   /* matches no policy: dropped (BYPASS is never routed here) */
	XDPSEC_REASON_COUNT
};

/* One counter cell; XDPSEC_MAP_VERDICTS holds one per reason per CPU. */
struct xdpsec_counter {
	__u64 packets;
	__u64 bytes; /* frame length as the XDP program saw it, Ethernet header included */
};

#ifdef __cplusplus
#define XDPSEC_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define XDPSEC_ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

XDPSEC_ABI_ASSERT(sizeof(struct xdpsec_counter) == 16, "xdpsec_counter layout changed");
XDPSEC_ABI_ASSERT(__builtin_offsetof(struct xdpsec_counter, packets) == 0,
		  "xdpsec_counter layout changed");
XDPSEC_ABI_ASSERT(__builtin_offsetof(struct xdpsec_counter, bytes) == 8,
		  "xdpsec_counter layout changed");
/* The kernel keeps BPF_OBJ_NAME_LEN - 1 = 15 characters of a map name. */
XDPSEC_ABI_ASSERT(sizeof(XDPSEC_MAP_VERDICTS_NAME) <= 16, "map name longer than the kernel keeps");
/* Reasons are the keys of an array map, which are __u32. */
XDPSEC_ABI_ASSERT(sizeof(enum xdpsec_verdict_reason) == sizeof(__u32),
		  "verdict reasons must fit a __u32 map key");

#undef XDPSEC_ABI_ASSERT

#endif /* XDPSEC_BPF_ABI_H */
