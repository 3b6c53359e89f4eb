// SPDX-License-Identifier: GPL-2.0-only
/*
 * The benchmark floor: the least a ring-buffer probe can do per system call, reserve and submit a fixed
 * 24-byte record on entry and on exit, without waking the reader (who polls, as the CO-RE probe's does).
 * The CO-RE probe's added cost is measured against this one's.
 */
#include "../vmlinux_min.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct record {
	__u64 ts;
	__u64 pid_tgid;
	__u64 id;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void put(long id)
{
	struct record *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

	if (!r) {
		__u32 zero = 0;
		__u64 *n = bpf_map_lookup_elem(&drops, &zero);

		if (n)
			(*n)++;
		return;
	}
	r->ts = bpf_ktime_get_boot_ns();
	r->pid_tgid = bpf_get_current_pid_tgid();
	r->id = id;
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	put(id);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	put(ret);
	return 0;
}
