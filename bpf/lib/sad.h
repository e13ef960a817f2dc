/*
 * Inbound SA lookup for ESP arriving on the uplink: the SPI and destination
 * find the SA slot (RFC 4301 §4.1), and a sequence number already left
 * behind by the SA's replay window is dropped before it costs the worker a
 * decryption. The worker does the real anti-replay check after the ICV
 * (RFC 4303 §3.4.3); this one only reads the window bottom it publishes.
 */
#ifndef XDPSEC_BPF_LIB_SAD_H
#define XDPSEC_BPF_LIB_SAD_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

#include <xdpsec/bpf_abi.h>

#include "esp.h"
#include "maps.h"
#include "parse.h"
#include "sa.h"
#include "verdict.h"

/*
 * Without ESN a sequence number below the window bottom can only be old.
 * With ESN it may be the next 2^32 block's (RFC 4303 Appendix A2): only the
 * worker, which reconstructs the high bits, can tell, so it is let through.
 * The worker stores replay_bottom with plain 64-bit stores: read it once.
 */
static __always_inline bool replay_too_old(const struct xdpsec_sa *sa, __u32 seq)
{
	__u64 bottom;

	if (sa->replay_window == 0 || (sa->flags & XDPSEC_SA_F_ESN))
		return false;
	bottom = *(volatile const __u64 *)&sa->replay_bottom;
	return seq < (__u32)bottom;
}

/* KEEP_GOING with *slot set to the SA of the ESP packet, or why it is dropped. */
static __always_inline int sad_lookup(const struct flow *flow, const struct esp_ref *esp,
				      __u32 *slot, __u32 *generation)
{
	struct xdpsec_sad_key key = {
		.spi = esp->spi,
		.family = flow->family,
	};
	const struct xdpsec_sa *sa;
	__u32 *found;
	__u32 sa_slot;

	__builtin_memcpy(key.daddr, flow->daddr, sizeof(key.daddr));
	found = bpf_map_lookup_elem(&XDPSEC_MAP_SAD, &key);
	if (!found)
		return XDPSEC_REASON_DROP_UNKNOWN_SPI;
	sa_slot = *found;
	sa = active_sa(sa_slot);
	if (!sa)
		return XDPSEC_REASON_DROP_SA_NOT_ACTIVE;
	if (replay_too_old(sa, esp->seq))
		return XDPSEC_REASON_DROP_REPLAY_TOO_OLD;
	*slot = sa_slot;
	*generation = sa->generation;
	return KEEP_GOING;
}

#endif /* XDPSEC_BPF_LIB_SAD_H */
