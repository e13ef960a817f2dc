/*
 * Every map of the data plane, defined once. Both programs include this
 * header, so both objects declare all the maps with identical definitions:
 * the loader creates them with the first object and hands them to the other
 * with bpf_map__reuse_fd(), and pins each once per instance. Who writes and
 * who reads each map, and its key and value, is documented next to its name
 * in include/xdpsec/bpf_abi.h.
 * No pinning attribute: the loader chooses the per-instance pin directory.
 */
#ifndef XDPSEC_BPF_LIB_MAPS_H
#define XDPSEC_BPF_LIB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <xdpsec/bpf_abi.h>

/* Per-CPU verdict counters: XDP programs count, userspace sums the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPSEC_REASON_COUNT);
	__type(key, __u32);
	__type(value, struct xdpsec_counter);
} XDPSEC_MAP_VERDICTS SEC(".maps");

/* SA table: the daemon installs SAs, workers write live counters through mmap. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XDPSEC_MAX_SAS);
	__type(key, __u32);
	__type(value, struct xdpsec_sa);
} XDPSEC_MAP_SA SEC(".maps");

/* SAD: {SPI, destination} of inbound SAs -> SA slot; the daemon writes, ingress reads. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDPSEC_MAX_SAS);
	__type(key, struct xdpsec_sad_key);
	__type(value, __u32);
} XDPSEC_MAP_SAD SEC(".maps");

/* SPD, outbound: remote prefix -> policies; the daemon writes, protect reads. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* the kernel refuses a preallocated trie */
	__uint(max_entries, XDPSEC_MAX_PREFIXES);
	__type(key, struct xdpsec_spd_key);
	__type(value, struct xdpsec_spd_bucket);
} XDPSEC_MAP_SPD_OUT SEC(".maps");

/* SPD, inbound: local prefix -> policies; the daemon writes, ingress reads. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XDPSEC_MAX_PREFIXES);
	__type(key, struct xdpsec_spd_key);
	__type(value, struct xdpsec_spd_bucket);
} XDPSEC_MAP_SPD_IN SEC(".maps");

/*
 * AF_XDP sockets by RX queue: the daemon inserts its workers' sockets, the
 * programs redirect to them. libbpf creates XSKMAPs without BTF key and
 * value types (as every map of kernel objects), so they are plain sizes.
 */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XDPSEC_MAX_QUEUES);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} XDPSEC_MAP_XSKS_UP SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XDPSEC_MAX_QUEUES);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} XDPSEC_MAP_XSKS_TUN SEC(".maps");

/* Events for the daemon (unknown SPIs, acquires); the programs write, the daemon reads. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, XDPSEC_EVENTS_BYTES);
} XDPSEC_MAP_EVENTS SEC(".maps");

/* Per-CPU event budget and counters by event type; the programs write, the daemon sums. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPSEC_EVENT_TYPE_COUNT);
	__type(key, __u32);
	__type(value, struct xdpsec_event_limit);
} XDPSEC_MAP_EVENT_LIMIT SEC(".maps");

#endif /* XDPSEC_BPF_LIB_MAPS_H */
