/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Building one event in a per-CPU scratch buffer: the header, the parameter-length array sized from
 * the event table, then each parameter in schema order. Parameters the filler does not write are sent
 * empty, so every event matches its schema entry.
 */
#ifndef PPM_EVENTS_H_
#define PPM_EVENTS_H_

#include <linux/types.h>
#include <linux/sched.h>
#include <linux/ptrace.h>

#include "ppm_events_public.h"

/* Largest event the scratch buffer holds; bigger ones are cut at their last whole parameter. */
#define PPM_SCRATCH_SIZE (64 * 1024)

struct event_builder {
	char *buf;
	u16 type;
	u32 size;
	u32 nparams;	/* from the event table */
	u32 cur;	/* parameters written so far */
	u32 off;	/* where the next value goes */
	u32 snaplen;	/* bytes kept of data buffers */
	bool faulted;	/* a user-memory read faulted: counted as a page-fault drop */
};

/* What the probes know about the syscall being recorded. */
struct syscall_ctx {
	struct pt_regs *regs;
	long id;		/* native syscall number */
	long ret;		/* return value, for exit events */
	unsigned long args[6];
};

/* The PPM_SC_* code of a native system call number. */
static inline u16 syscall_code(long id)
{
	return (unsigned long)id < SYSCALL_TABLE_SIZE ? g_syscall_code_routing_table[id] : PPM_SC_UNKNOWN;
}

void eb_start(struct event_builder *b, u16 type, u64 ts, u64 tid);
u32 eb_finish(struct event_builder *b);
void eb_bytes(struct event_builder *b, const void *p, u32 len);
void eb_u8(struct event_builder *b, u8 v);
void eb_u16(struct event_builder *b, u16 v);
void eb_u32(struct event_builder *b, u32 v);
void eb_u64(struct event_builder *b, u64 v);
void eb_empty(struct event_builder *b);
void eb_str(struct event_builder *b, const char *s);
void eb_user_str(struct event_builder *b, unsigned long uptr);
void eb_user_buf(struct event_builder *b, unsigned long uptr, u64 len);

/*
 * Fills the parameters of a system call event (b->type) for the current task, with the fillers shared
 * by every driver (ppm_fillers.h); main.c builds generic events itself, on a faster path.
 */
void fill_event(struct event_builder *b, const struct syscall_ctx *ctx);
/* A clone exit for `child`, recorded from the parent's context. */
void fill_clone_child(struct event_builder *b, struct task_struct *child);
/* procexit: status, ret, sig, core of the exiting task. */
void fill_task_exit(struct event_builder *b, struct task_struct *p);

#endif /* PPM_EVENTS_H_ */
