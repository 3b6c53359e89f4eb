/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The page each per-CPU device maps at offset 0 with a length of at most one page: the producer moves
 * head, the consumer moves tail, both are byte offsets into the data buffer. The layout is the libs
 * kmod interface's, so existing libscap consumers read this driver.
 */
#ifndef PPM_RINGBUFFER_H_
#define PPM_RINGBUFFER_H_

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <linux/types.h>
#endif

struct ppm_ring_buffer_info {
	volatile __u32 head;
	volatile __u32 tail;
	volatile __u64 n_evts;			/* events the driver saw */
	volatile __u64 n_drops_buffer;		/* lost: buffer full */
	volatile __u64 n_drops_pf;		/* lost: page fault reading user memory */
	volatile __u64 n_preemptions;		/* lost: the CPU was busy with another event */
	volatile __u64 n_context_switches;
};

#endif /* PPM_RINGBUFFER_H_ */
