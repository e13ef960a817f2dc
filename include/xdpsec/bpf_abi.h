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
 * under exactly one reason. The prefix says the program and the verdict:
 * ingress (uplink) PASS = XDP_PASS to the kernel, REDIRECT = to an AF_XDP
 * socket, DROP = XDP_DROP; PROTECT_* are the verdicts of the "protect"
 * program on the tunnel device, all XDP_DROP but PROTECT_REDIRECT.
 * Values index XDPSEC_MAP_VERDICTS, so only append; never renumber.
 * xdpsec_verdict_reason_name() below gives each its printed name.
 */
enum xdpsec_verdict_reason {
	/* ingress (uplink) */
	XDPSEC_REASON_PASS_NOT_IP = 0,     /* not IPv4/IPv6 (after at most one 802.1Q tag) */
	XDPSEC_REASON_PASS_IKE,            /* UDP/500, or UDP/4500 with the non-ESP marker
	                                    * or a NAT-keepalive: for the daemon's sockets */
	XDPSEC_REASON_PASS_FRAGMENT,       /* an IP fragment no inbound policy could claim:
	                                    * left to the kernel to reassemble */
	XDPSEC_REASON_PASS_ESP_NO_SAD,     /* retired, never counted: the first ingress had no
	                                    * SAD and passed ESP to the kernel */
	XDPSEC_REASON_PASS_OTHER,          /* any other IP traffic */
	XDPSEC_REASON_REDIRECT_ESP,        /* ESP for a known SPI, to the worker's AF_XDP socket */
	XDPSEC_REASON_DROP_MALFORMED,      /* headers too short or inconsistent to classify
	                                    * (truncated, IPv4 IHL < 5, wrong IP version,
	                                    * UDP/4500 neither IKE, keepalive nor ESP) */
	XDPSEC_REASON_DROP_UNKNOWN_SPI,    /* ESP for an SPI (and destination) not in the SAD */
	XDPSEC_REASON_DROP_REPLAY_TOO_OLD, /* ESP sequence number left of the SA's replay window */
	XDPSEC_REASON_DROP_PLAINTEXT_POLICY, /* plaintext matching an inbound PROTECT policy
	                                      * (RFC 4301 §5.2) */
	XDPSEC_REASON_DROP_NO_SOCKET,      /* should be redirected, but no AF_XDP socket on this queue */
	/* protect (tunnel device) */
	XDPSEC_REASON_PROTECT_REDIRECT,    /* matches a PROTECT policy: to the worker */
	XDPSEC_REASON_PROTECT_DISCARD,     /* matches a DISCARD policy (or one with an unknown
	                                    * action): dropped */
	XDPSEC_REASON_PROTECT_NO_POLICY,   /* matches no policy: dropped (BYPASS is never routed here) */
	/* ingress (uplink), appended */
	XDPSEC_REASON_DROP_SA_NOT_ACTIVE,  /* ESP whose SAD entry names an SA slot that is not
	                                    * ACTIVE (expired, being installed) or out of range */
	XDPSEC_REASON_DROP_DISCARD_POLICY, /* plaintext matching an inbound DISCARD policy */
	/* protect (tunnel device), appended */
	XDPSEC_REASON_PROTECT_MALFORMED,   /* headers too short or inconsistent to select a policy */
	XDPSEC_REASON_PROTECT_NOT_IP,      /* not IPv4/IPv6: ARP and other link chatter */
	XDPSEC_REASON_PROTECT_LINK_LOCAL,  /* to a link-local, multicast or broadcast address
	                                    * (IPv6 ND, router solicitations, MLD, IGMP):
	                                    * never for a remote traffic selector */
	XDPSEC_REASON_PROTECT_BYPASS,      /* matches a BYPASS policy: such traffic must not be
	                                    * routed into the tunnel device; dropped */
	XDPSEC_REASON_PROTECT_SA_NOT_ACTIVE, /* matches a PROTECT policy whose SA slot is not
	                                      * ACTIVE or out of range: dropped */
	XDPSEC_REASON_PROTECT_NO_SOCKET,   /* should be redirected, but no AF_XDP socket on this queue */
	XDPSEC_REASON_PASS_NEIGHBOUR_DISCOVERY, /* ingress: ICMPv6 RS/RA/NS/NA/redirect (RFC 4861),
	                                         * exempt from the inbound policy check so that
	                                         * host-to-host IPv6 SAs do not cut off the link */
	/* protect (tunnel device), appended */
	XDPSEC_REASON_PROTECT_ACQUIRE,     /* matches a TRAP policy: no SA yet; dropped, and
	                                    * an acquire event asks the daemon for one */
	XDPSEC_REASON_COUNT
};

/* One counter cell; XDPSEC_MAP_VERDICTS holds one per reason per CPU. */
struct xdpsec_counter {
	__u64 packets;
	__u64 bytes; /* frame length as the XDP program saw it, Ethernet header included */
};

/* ------------------------------------------------------------------------
 * Security associations and policies (the data plane).
 * Addresses are 16 bytes in network byte order; IPv4 uses the first 4 and
 * leaves the rest zero. Port numbers and SPIs in the SA table are in host
 * byte order so that bpftool prints them as an operator reads them; the SAD
 * key holds the SPI as on the wire, which is what the XDP program has.
 * No map holds key material: keys stay in the daemon's locked memory.
 */

#define XDPSEC_MAX_SAS 1024        /* SA table slots */
#define XDPSEC_MAX_QUEUES 64       /* AF_XDP sockets per device */
#define XDPSEC_MAX_PREFIXES 4096   /* SPD destination prefixes per direction */
#define XDPSEC_BUCKET_POLICIES 8   /* policies sharing one destination prefix */
#define XDPSEC_SA_DROP_SLOTS 24    /* >= the ESP engine's drop reasons (static_assert in C++) */

enum xdpsec_sa_state {
	XDPSEC_SA_STATE_FREE = 0,   /* slot unused */
	XDPSEC_SA_STATE_ACTIVE,     /* carries traffic */
	XDPSEC_SA_STATE_EXPIRED,    /* hard lifetime reached: refuses traffic until deleted */
};

enum xdpsec_direction {
	XDPSEC_DIR_IN = 0,
	XDPSEC_DIR_OUT,
};

enum xdpsec_mode {
	XDPSEC_MODE_TUNNEL = 0,
	XDPSEC_MODE_TRANSPORT,
};

/* ESP transform, for display; the worker holds the real one. */
enum xdpsec_alg {
	XDPSEC_ALG_AES128GCM16 = 0,
	XDPSEC_ALG_AES256GCM16,
	XDPSEC_ALG_CHACHA20POLY1305,
	XDPSEC_ALG_AES128GMAC,
	XDPSEC_ALG_AES256GMAC,
	XDPSEC_ALG_AES128_SHA1,
	XDPSEC_ALG_AES128_SHA256,
	XDPSEC_ALG_AES128_SHA384,
	XDPSEC_ALG_AES128_SHA512,
	XDPSEC_ALG_AES256_SHA1,
	XDPSEC_ALG_AES256_SHA256,
	XDPSEC_ALG_AES256_SHA384,
	XDPSEC_ALG_AES256_SHA512,
};

#define XDPSEC_SA_F_ESN (1u << 0)       /* 64-bit extended sequence numbers */
#define XDPSEC_SA_F_UDP_ENCAP (1u << 1) /* ESP in UDP (RFC 3948) */

/* A traffic selector: an address prefix, a protocol and a port range. */
struct xdpsec_selector {
	__u8 addr[16];
	__u8 family;    /* 4 or 6 */
	__u8 prefixlen;
	__u8 proto;     /* 0 = any */
	__u8 pad;
	__u16 port_lo;  /* host order; 0..65535 = any */
	__u16 port_hi;
};

/*
 * SA table: BPF_MAP_TYPE_ARRAY with BPF_F_MMAPABLE, XDPSEC_MAX_SAS entries,
 * key = slot (__u32).
 * Written by: the daemon (everything but the live fields, when an SA is
 * installed or removed) and the worker that owns the SA (seq, replay_bottom,
 * packets, bytes, drops: plain 64-bit stores through the mmap).
 * Read by: ingress (state, flags, replay_window and replay_bottom, for the
 * cheap replay check), protect (state), bpftool, the daemon
 * (`xdpsecctl sa list`).
 * Ingress drops ESP whose sequence number is below (__u32)replay_bottom only
 * for SAs without XDPSEC_SA_F_ESN and with replay_window != 0: with ESN a
 * sequence number left of the window may belong to the next 2^32 block
 * (RFC 4303 Appendix A2), which only the worker can decide.
 */
#define XDPSEC_MAP_SA xdpsec_sa
#define XDPSEC_MAP_SA_NAME XDPSEC_STRINGIFY(XDPSEC_MAP_SA)

struct xdpsec_sa {
	__u32 spi;                       /* host order */
	enum xdpsec_sa_state state;
	enum xdpsec_direction direction;
	enum xdpsec_mode mode;
	enum xdpsec_alg alg;
	__u32 flags;                     /* XDPSEC_SA_F_* */
	__u32 replay_window;             /* inbound: packets; 0 = anti-replay off */
	__u16 encap_local_port;          /* host order, with XDPSEC_SA_F_UDP_ENCAP */
	__u16 encap_remote_port;
	__u8 family;                     /* of the outer addresses */
	__u8 pad[3];
	__u32 generation;                /* which SA holds the slot: new with every install, so
	                                  * a frame queued for the slot's previous SA is known */
	__u8 local[16];                  /* outer addresses */
	__u8 remote[16];
	struct xdpsec_selector local_ts; /* first selector of each side */
	struct xdpsec_selector remote_ts;
	__u64 soft_bytes, hard_bytes, soft_packets, hard_packets; /* 0 = unlimited */
	/* live, written by the owning worker */
	__u64 seq;                       /* outbound: last sent; inbound: window top */
	__u64 replay_bottom;             /* inbound: lowest sequence number still acceptable */
	__u64 packets;
	__u64 bytes;
	__u64 drops[XDPSEC_SA_DROP_SLOTS]; /* by ESP engine drop reason (xdpsecctl prints names) */
};

/*
 * SAD: BPF_MAP_TYPE_HASH, XDPSEC_MAX_SAS entries, struct xdpsec_sad_key ->
 * __u32 slot in XDPSEC_MAP_SA. Inbound SAs only.
 * Written by: the daemon. Read by: ingress (SPI lookup of arriving ESP).
 */
#define XDPSEC_MAP_SAD xdpsec_sad
#define XDPSEC_MAP_SAD_NAME XDPSEC_STRINGIFY(XDPSEC_MAP_SAD)

struct xdpsec_sad_key {
	__u32 spi;       /* network byte order, as on the wire */
	__u8 family;     /* 4 or 6 */
	__u8 pad[3];
	__u8 daddr[16];  /* outer destination: our address */
};

/*
 * SPD: BPF_MAP_TYPE_LPM_TRIE (BPF_F_NO_PREALLOC), XDPSEC_MAX_PREFIXES
 * entries, key struct xdpsec_spd_key (longest destination prefix first),
 * value struct xdpsec_spd_bucket: the policies for that destination prefix,
 * most specific first, so the first one that matches source, protocol and
 * ports wins.
 * XDPSEC_MAP_SPD_OUT is keyed by the remote selector: protect looks up the
 * destination of a packet leaving through the tunnel device.
 * XDPSEC_MAP_SPD_IN is keyed by the local selector: ingress looks up the
 * destination of plaintext arriving on the uplink, and drops what an inbound
 * PROTECT policy says must have come protected (RFC 4301 §5.2).
 * Written by: the daemon. Read by: protect (OUT), ingress (IN).
 *
 * The programs see one bucket only, the one of the longest matching prefix,
 * so a bucket must be complete: it holds every policy whose destination
 * selector covers its prefix, those of shorter prefixes included, most
 * specific first, at most XDPSEC_BUCKET_POLICIES.
 * A policy matches a packet when its src selector has the packet's family,
 * its prefix covers the packet's source, its proto is 0 or the packet's
 * protocol, and the ports fall in src.port_lo..port_hi (source) and
 * dport_lo..dport_hi (destination). Ports exist for TCP, UDP and SCTP only:
 * a packet of another protocol matches only policies whose both ranges are
 * 0..65535. IP fragments carry no ports either: protect matches them like
 * such a protocol; ingress fails closed and drops a plaintext fragment when
 * any PROTECT or DISCARD policy could match it whatever its ports.
 */
#define XDPSEC_MAP_SPD_OUT xdpsec_spd_out
#define XDPSEC_MAP_SPD_OUT_NAME XDPSEC_STRINGIFY(XDPSEC_MAP_SPD_OUT)
#define XDPSEC_MAP_SPD_IN xdpsec_spd_in
#define XDPSEC_MAP_SPD_IN_NAME XDPSEC_STRINGIFY(XDPSEC_MAP_SPD_IN)

struct xdpsec_spd_key {
	__u32 prefixlen; /* bits of data[] that count: 8 (family) + address prefix */
	__u8 family;     /* 4 or 6: first byte, so IPv4 and IPv6 prefixes never mix */
	__u8 addr[16];
	__u8 pad[3];
};

enum xdpsec_policy_action {
	XDPSEC_POLICY_PROTECT = 0, /* through the SA in sa_slot */
	XDPSEC_POLICY_DISCARD,     /* drop */
	XDPSEC_POLICY_BYPASS,      /* let through in the clear */
	XDPSEC_POLICY_TRAP,        /* outbound: no SA yet; drop and send an acquire event
	                            * (RFC 4301 §5.1: the SPD entry triggers SA creation) */
};

struct xdpsec_policy {
	struct xdpsec_selector src;         /* the other end: source of the packet */
	enum xdpsec_policy_action action;
	__u32 sa_slot;                      /* PROTECT, outbound: the SA to use */
	__u32 policy_id;                    /* daemon's id, for logs and dumps */
	__u16 dport_lo;                     /* destination ports, host order */
	__u16 dport_hi;
};

struct xdpsec_spd_bucket {
	__u32 count;                        /* used entries, <= XDPSEC_BUCKET_POLICIES */
	__u32 pad;
	struct xdpsec_policy policies[XDPSEC_BUCKET_POLICIES];
};

/*
 * AF_XDP sockets: BPF_MAP_TYPE_XSKMAP, XDPSEC_MAX_QUEUES entries, key = RX
 * queue index. XSKS_UP serves ingress on the uplink, XSKS_TUN protect on the
 * tunnel device's peer end.
 * Written by: the daemon (one socket per worker per device). Read by: the
 * XDP programs (bpf_redirect_map, key = the frame's rx_queue_index; no
 * socket there is a counted drop, never a pass).
 */
#define XDPSEC_MAP_XSKS_UP xdpsec_xsks_up
#define XDPSEC_MAP_XSKS_UP_NAME XDPSEC_STRINGIFY(XDPSEC_MAP_XSKS_UP)
#define XDPSEC_MAP_XSKS_TUN xdpsec_xsks_tun
#define XDPSEC_MAP_XSKS_TUN_NAME XDPSEC_STRINGIFY(XDPSEC_MAP_XSKS_TUN)

/*
 * Metadata an XDP program puts in front of a redirected frame
 * (bpf_xdp_adjust_meta); AF_XDP copies it with the frame, so the worker finds
 * it in the sizeof(struct xdpsec_meta) bytes before the packet (the RX
 * descriptor's addr points at the packet, the metadata ends there).
 * Copy mode copies it too (net/xdp/xsk.c __xsk_rcv copies from data_meta).
 * A driver without metadata support gets the frame redirected without it:
 * the bytes before the packet are then whatever the UMEM chunk held, so the
 * worker must clear magic before it gives a chunk back to the fill ring.
 */
#define XDPSEC_META_MAGIC 0x78647073u /* "xdps" */

struct xdpsec_meta {
	__u32 sa_slot;    /* the SA to run the frame through */
	__u32 magic;      /* XDPSEC_META_MAGIC: metadata present and ours */
	__u32 generation; /* the slot's xdpsec_sa.generation when the frame was classified: a
	                   * frame still queued when the slot was freed and reused meets an SA
	                   * of another generation and is dropped, never run through it */
};

/* ------------------------------------------------------------------------
 * Events: what the XDP programs tell the daemon about, never a payload byte.
 */

/*
 * BPF_MAP_TYPE_RINGBUF of XDPSEC_EVENTS_BYTES, records struct xdpsec_event.
 * Written by: ingress (XDPSEC_EVENT_UNKNOWN_SPI: ESP for an SPI not in the
 * SAD, so that IKE can send INVALID_SPI, RFC 7296 §1.5) and protect
 * (XDPSEC_EVENT_ACQUIRE: a packet met a TRAP policy, so that IKE can bring
 * the tunnel up), each at most XDPSEC_EVENT_BUDGET per second per CPU.
 * Read by: the daemon (dataplane::EventReader). The packet that caused an
 * event is dropped and counted under its verdict reason all the same.
 */
#define XDPSEC_MAP_EVENTS xdpsec_events
#define XDPSEC_MAP_EVENTS_NAME XDPSEC_STRINGIFY(XDPSEC_MAP_EVENTS)
#define XDPSEC_EVENTS_BYTES (64 * 1024) /* a power of two pages: 1024 events */

/*
 * Event rate limit and counters: BPF_MAP_TYPE_PERCPU_ARRAY of
 * XDPSEC_EVENT_TYPE_COUNT struct xdpsec_event_limit, key = enum
 * xdpsec_event_type as __u32. Each type has its own budget, so a flood of
 * bogus ESP cannot starve acquires: XDPSEC_EVENT_BUDGET events per CPU in
 * each window of a second (fixed windows, bpf_ktime_get_ns), the rest only
 * counted. 64 a second per CPU is more than IKE needs (one INVALID_SPI hint
 * per lost SA, RFC 7296 §1.5; one acquire per tunnel to bring up) and far
 * less than the ring holds.
 * Written by: the XDP programs, per event. Read by: the daemon (sums the
 * CPUs for `xdpsecctl stats`); tests/bpf also writes window_end.
 */
#define XDPSEC_MAP_EVENT_LIMIT xdpsec_ev_limit
#define XDPSEC_MAP_EVENT_LIMIT_NAME XDPSEC_STRINGIFY(XDPSEC_MAP_EVENT_LIMIT)
#define XDPSEC_EVENT_BUDGET 64
#define XDPSEC_EVENT_WINDOW_NS 1000000000ull

/* Values index XDPSEC_MAP_EVENT_LIMIT, so only append; never renumber. */
enum xdpsec_event_type {
	XDPSEC_EVENT_UNKNOWN_SPI = 0, /* ingress: ESP for an SPI (and destination) not in the SAD */
	XDPSEC_EVENT_ACQUIRE,         /* protect: a packet matched a TRAP policy */
	XDPSEC_EVENT_TYPE_COUNT
};

#define XDPSEC_EVENT_F_UDP_ENCAP (1u << 0) /* unknown SPI: the ESP came in UDP (RFC 3948) */
#define XDPSEC_EVENT_F_PORTS (1u << 1)     /* acquire: sport and dport hold the packet's
                                            * ports (TCP, UDP, SCTP, not a fragment) */

/*
 * Addresses as in the SAD and SPD: 16 bytes, network order, IPv4 in the
 * first 4. Unknown SPI: the outer addresses (saddr = the sender), the SPI,
 * and with XDPSEC_EVENT_F_UDP_ENCAP the UDP ports. Acquire: the inner
 * addresses, protocol and ports, and the TRAP policy's policy_id. Fields
 * that do not apply are zero.
 */
struct xdpsec_event {
	enum xdpsec_event_type type;
	__u8 family;       /* 4 or 6 */
	__u8 proto;        /* IP protocol: unknown SPI ESP or UDP, acquire the inner one */
	__u8 flags;        /* XDPSEC_EVENT_F_* */
	__u8 pad;
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 spi;         /* unknown SPI: host order */
	__u32 policy_id;   /* acquire: the TRAP policy's xdpsec_policy.policy_id */
	__u16 encap_sport; /* unknown SPI with XDPSEC_EVENT_F_UDP_ENCAP: host order */
	__u16 encap_dport;
	__u16 sport;       /* acquire with XDPSEC_EVENT_F_PORTS: host order */
	__u16 dport;
};

struct xdpsec_event_limit {
	__u64 window_end;   /* bpf_ktime_get_ns() at which the current window ends */
	__u32 window_used;  /* events emitted in the current window */
	__u32 pad;
	__u64 emitted;      /* events written to the ring */
	__u64 rate_limited; /* events over the budget: not written */
	__u64 ring_full;    /* events the ring had no room for: not written */
};

#ifndef __bpf__
/*
 * The name xdpsecctl prints for a reason: the enumerator without its
 * XDPSEC_REASON_ prefix, in lower case. No default case, so that the
 * compiler (-Wswitch) flags a reason appended without a name.
 */
static inline const char *xdpsec_verdict_reason_name(enum xdpsec_verdict_reason reason)
{
	switch (reason) {
	case XDPSEC_REASON_PASS_NOT_IP: return "pass_not_ip";
	case XDPSEC_REASON_PASS_IKE: return "pass_ike";
	case XDPSEC_REASON_PASS_FRAGMENT: return "pass_fragment";
	case XDPSEC_REASON_PASS_ESP_NO_SAD: return "pass_esp_no_sad";
	case XDPSEC_REASON_PASS_OTHER: return "pass_other";
	case XDPSEC_REASON_REDIRECT_ESP: return "redirect_esp";
	case XDPSEC_REASON_DROP_MALFORMED: return "drop_malformed";
	case XDPSEC_REASON_DROP_UNKNOWN_SPI: return "drop_unknown_spi";
	case XDPSEC_REASON_DROP_REPLAY_TOO_OLD: return "drop_replay_too_old";
	case XDPSEC_REASON_DROP_PLAINTEXT_POLICY: return "drop_plaintext_policy";
	case XDPSEC_REASON_DROP_NO_SOCKET: return "drop_no_socket";
	case XDPSEC_REASON_PROTECT_REDIRECT: return "protect_redirect";
	case XDPSEC_REASON_PROTECT_DISCARD: return "protect_discard";
	case XDPSEC_REASON_PROTECT_NO_POLICY: return "protect_no_policy";
	case XDPSEC_REASON_DROP_SA_NOT_ACTIVE: return "drop_sa_not_active";
	case XDPSEC_REASON_DROP_DISCARD_POLICY: return "drop_discard_policy";
	case XDPSEC_REASON_PROTECT_MALFORMED: return "protect_malformed";
	case XDPSEC_REASON_PROTECT_NOT_IP: return "protect_not_ip";
	case XDPSEC_REASON_PROTECT_LINK_LOCAL: return "protect_link_local";
	case XDPSEC_REASON_PROTECT_BYPASS: return "protect_bypass";
	case XDPSEC_REASON_PROTECT_SA_NOT_ACTIVE: return "protect_sa_not_active";
	case XDPSEC_REASON_PROTECT_NO_SOCKET: return "protect_no_socket";
	case XDPSEC_REASON_PASS_NEIGHBOUR_DISCOVERY: return "pass_neighbour_discovery";
	case XDPSEC_REASON_PROTECT_ACQUIRE: return "protect_acquire";
	case XDPSEC_REASON_COUNT: break;
	}
	return "unknown";
}

/* The name xdpsecctl prints for an event type, as for verdict reasons. */
static inline const char *xdpsec_event_type_name(enum xdpsec_event_type type)
{
	switch (type) {
	case XDPSEC_EVENT_UNKNOWN_SPI: return "unknown_spi";
	case XDPSEC_EVENT_ACQUIRE: return "acquire";
	case XDPSEC_EVENT_TYPE_COUNT: break;
	}
	return "unknown";
}
#endif /* !__bpf__ */

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

XDPSEC_ABI_ASSERT(sizeof(struct xdpsec_selector) == 24, "xdpsec_selector layout changed");
XDPSEC_ABI_ASSERT(sizeof(struct xdpsec_sa) % 8 == 0, "xdpsec_sa must keep 8-byte alignment");
XDPSEC_ABI_ASSERT(__builtin_offsetof(struct xdpsec_sa, seq) % 8 == 0, "live SA fields must be 8-byte aligned");
XDPSEC_ABI_ASSERT(__builtin_offsetof(struct xdpsec_sa, local) == 40, "xdpsec_sa layout changed");
XDPSEC_ABI_ASSERT(sizeof(struct xdpsec_sad_key) == 24, "xdpsec_sad_key layout changed");
XDPSEC_ABI_ASSERT(sizeof(struct xdpsec_spd_key) == 24, "xdpsec_spd_key layout changed");
XDPSEC_ABI_ASSERT(sizeof(struct xdpsec_policy) == 40, "xdpsec_policy layout changed");
XDPSEC_ABI_ASSERT(sizeof(struct xdpsec_meta) == 12, "xdpsec_meta layout changed");
XDPSEC_ABI_ASSERT(sizeof(struct xdpsec_meta) % 4 == 0, "bpf_xdp_adjust_meta wants multiples of 4");
XDPSEC_ABI_ASSERT(sizeof(XDPSEC_MAP_SA_NAME) <= 16, "map name longer than the kernel keeps");
XDPSEC_ABI_ASSERT(sizeof(XDPSEC_MAP_SAD_NAME) <= 16, "map name longer than the kernel keeps");
XDPSEC_ABI_ASSERT(sizeof(XDPSEC_MAP_SPD_OUT_NAME) <= 16, "map name longer than the kernel keeps");
XDPSEC_ABI_ASSERT(sizeof(XDPSEC_MAP_SPD_IN_NAME) <= 16, "map name longer than the kernel keeps");
XDPSEC_ABI_ASSERT(sizeof(XDPSEC_MAP_XSKS_UP_NAME) <= 16, "map name longer than the kernel keeps");
XDPSEC_ABI_ASSERT(sizeof(XDPSEC_MAP_XSKS_TUN_NAME) <= 16, "map name longer than the kernel keeps");
/* The LPM trie compares prefixlen bits from family on: family + an IPv6 address. */
XDPSEC_ABI_ASSERT(sizeof(struct xdpsec_spd_key) - 4 >= 1 + 16, "xdpsec_spd_key too small for an IPv6 prefix");
XDPSEC_ABI_ASSERT(sizeof(enum xdpsec_alg) == sizeof(__u32), "enums are 32-bit fields");

XDPSEC_ABI_ASSERT(sizeof(enum xdpsec_event_type) == sizeof(__u32), "event types are __u32 map keys");
XDPSEC_ABI_ASSERT(sizeof(struct xdpsec_event) == 56, "xdpsec_event layout changed");
XDPSEC_ABI_ASSERT(__builtin_offsetof(struct xdpsec_event, saddr) == 8, "xdpsec_event layout changed");
XDPSEC_ABI_ASSERT(__builtin_offsetof(struct xdpsec_event, spi) == 40, "xdpsec_event layout changed");
XDPSEC_ABI_ASSERT(__builtin_offsetof(struct xdpsec_event, encap_sport) == 48, "xdpsec_event layout changed");
XDPSEC_ABI_ASSERT(__builtin_offsetof(struct xdpsec_event, dport) == 54, "xdpsec_event layout changed");
XDPSEC_ABI_ASSERT(sizeof(struct xdpsec_event_limit) == 40, "xdpsec_event_limit layout changed");
XDPSEC_ABI_ASSERT(__builtin_offsetof(struct xdpsec_event_limit, emitted) == 16,
		  "xdpsec_event_limit layout changed");
XDPSEC_ABI_ASSERT(sizeof(XDPSEC_MAP_EVENTS_NAME) <= 16, "map name longer than the kernel keeps");
XDPSEC_ABI_ASSERT(sizeof(XDPSEC_MAP_EVENT_LIMIT_NAME) <= 16, "map name longer than the kernel keeps");
/* The kernel wants a ring buffer of a power of two pages. */
XDPSEC_ABI_ASSERT((XDPSEC_EVENTS_BYTES & (XDPSEC_EVENTS_BYTES - 1)) == 0 && XDPSEC_EVENTS_BYTES >= 4096,
		  "ring buffer size must be a power of two pages");

#undef XDPSEC_ABI_ASSERT

#endif /* XDPSEC_BPF_ABI_H */
