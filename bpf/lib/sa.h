/*
 * The SA table as the XDP programs see it: read-only, and only to check an
 * SA slot can carry traffic before a frame is handed to the worker.
 */
#ifndef XDPSEC_BPF_LIB_SA_H
#define XDPSEC_BPF_LIB_SA_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <xdpsec/bpf_abi.h>

#include "maps.h"

/* The SA in slot, or NULL when the slot is out of range or not ACTIVE. */
static __always_inline const struct xdpsec_sa *active_sa(__u32 slot)
{
	const struct xdpsec_sa *sa = bpf_map_lookup_elem(&XDPSEC_MAP_SA, &slot);

	if (!sa || sa->state != XDPSEC_SA_STATE_ACTIVE)
		return NULL;
	return sa;
}

#endif /* XDPSEC_BPF_LIB_SA_H */
