/*
 * Counting verdicts: one {packets, bytes} cell per reason per CPU, in the
 * XDPSEC_MAP_VERDICTS map (lib/maps.h). Per-CPU cells need no atomics;
 * userspace sums the CPUs when it reads.
 */
#ifndef XDPSEC_BPF_LIB_COUNTERS_H
#define XDPSEC_BPF_LIB_COUNTERS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <xdpsec/bpf_abi.h>

#include "maps.h"

/*
 * Counts the packet under reason and hands back action, so that a program
 * ends with `return count_verdict(ctx, reason, action);`.
 * Not inlined on purpose: clang writes a function's parameter types into
 * BTF, but not those of inlined helpers, and this call is what puts
 * enum xdpsec_verdict_reason into every object's BTF (bpftool btf dump,
 * names for userspace). It costs one BPF-to-BPF call per packet.
 */
static __noinline int count_verdict(struct xdp_md *ctx, enum xdpsec_verdict_reason reason,
				    int action)
{
	__u32 key = reason;
	struct xdpsec_counter *counter = bpf_map_lookup_elem(&XDPSEC_MAP_VERDICTS, &key);

	if (counter) {
		counter->packets += 1;
		counter->bytes += ctx->data_end - ctx->data;
	}
	return action;
}

#endif /* XDPSEC_BPF_LIB_COUNTERS_H */
