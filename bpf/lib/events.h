/*
 * Telling the daemon what the data plane saw: one struct xdpsec_event per
 * unknown SPI or acquire into the XDPSEC_MAP_EVENTS ring, never a payload
 * byte. Each event type has a per-CPU budget of XDPSEC_EVENT_BUDGET events a
 * second (XDPSEC_MAP_EVENT_LIMIT), so that a flood of bogus ESP or of
 * trapped traffic costs the daemon at most that many wake-ups; what is over
 * the budget, or finds the ring full, is only counted. The packet itself is
 * dropped and counted by its verdict either way.
 */
#ifndef XDPSEC_BPF_LIB_EVENTS_H
#define XDPSEC_BPF_LIB_EVENTS_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

#include <xdpsec/bpf_abi.h>

#include "esp.h"
#include "maps.h"
#include "parse.h"

/*
 * Takes one event of type from this CPU's budget: the type's cell when the
 * event may be sent, NULL when not. Fixed windows of XDPSEC_EVENT_WINDOW_NS;
 * a per-CPU cell needs no atomics.
 */
static __always_inline struct xdpsec_event_limit *event_budget(__u32 type)
{
	struct xdpsec_event_limit *limit = bpf_map_lookup_elem(&XDPSEC_MAP_EVENT_LIMIT, &type);
	__u64 now;

	if (!limit)
		return NULL;
	now = bpf_ktime_get_ns();
	if (now >= limit->window_end) {
		limit->window_end = now + XDPSEC_EVENT_WINDOW_NS;
		limit->window_used = 0;
	}
	if (limit->window_used >= XDPSEC_EVENT_BUDGET) {
		limit->rate_limited += 1;
		return NULL;
	}
	limit->window_used += 1;
	return limit;
}

/*
 * A full ring is a counted miss: the daemon is behind, the packet is dropped
 * anyway. Not inlined, like count_verdict (lib/counters.h): the call puts
 * struct xdpsec_event into every object's BTF. Events are rare; the call is
 * cheap.
 */
static __noinline void send_event(struct xdpsec_event_limit *limit, const struct xdpsec_event *event)
{
	if (bpf_ringbuf_output(&XDPSEC_MAP_EVENTS, (void *)event, sizeof(*event), 0) == 0)
		limit->emitted += 1;
	else
		limit->ring_full += 1;
}

static __always_inline void event_addresses(struct xdpsec_event *event, const struct flow *flow)
{
	event->family = flow->family;
	__builtin_memcpy(event->saddr, flow->saddr, sizeof(event->saddr));
	__builtin_memcpy(event->daddr, flow->daddr, sizeof(event->daddr));
}

/* ESP whose SPI the SAD does not know: the outer flow, the SPI, the UDP ports if encapsulated. */
static __always_inline void report_unknown_spi(const struct flow *flow, const struct esp_ref *esp)
{
	struct xdpsec_event event = {.type = XDPSEC_EVENT_UNKNOWN_SPI};
	struct xdpsec_event_limit *limit = event_budget(XDPSEC_EVENT_UNKNOWN_SPI);

	if (!limit)
		return;
	event_addresses(&event, flow);
	event.proto = flow->proto;
	event.spi = bpf_ntohl(esp->spi);
	if (flow->proto == IPPROTO_UDP) {
		event.flags = XDPSEC_EVENT_F_UDP_ENCAP;
		event.encap_sport = flow->sport;
		event.encap_dport = flow->dport;
	}
	send_event(limit, &event);
}

/* A packet that met a TRAP policy: the inner flow and the policy's id. */
static __always_inline void report_acquire(const struct flow *flow, __u32 policy_id)
{
	struct xdpsec_event event = {.type = XDPSEC_EVENT_ACQUIRE};
	struct xdpsec_event_limit *limit = event_budget(XDPSEC_EVENT_ACQUIRE);

	if (!limit)
		return;
	event_addresses(&event, flow);
	event.proto = flow->proto;
	event.policy_id = policy_id;
	if (flow->ports == FLOW_PORTS_KNOWN) {
		event.flags = XDPSEC_EVENT_F_PORTS;
		event.sport = flow->sport;
		event.dport = flow->dport;
	}
	send_event(limit, &event);
}

#endif /* XDPSEC_BPF_LIB_EVENTS_H */
