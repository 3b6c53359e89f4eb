// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CO-RE capture probe: the kernel module's events, recorded from BTF tracepoints into one BPF ring
 * buffer. Each event is built in a per-CPU scratch area (header, parameter lengths, parameters, in
 * schema order, exactly as the module lays them out) and then copied into the ring in one piece.
 *
 * Userspace sets the capture switch, the snaplen, the events of interest and the clock offset in the
 * `settings` map, and reads per-CPU counters from `counters`.
 */
#ifdef PPM_KERNEL_HEADERS
/*
 * The per-kernel probe: built against one kernel's headers (bpf/Makefile, through kbuild), for kernels
 * without BTF. Offsets come from the headers; pointers are followed with plain probe reads and the
 * programs attach to raw tracepoints.
 */
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/mm_types.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/net.h>
#include <linux/ptrace.h>
#include <linux/cred.h>
#include <linux/bpf.h>
#include <linux/tracepoint.h>
#include <net/sock.h>
#include <net/af_unix.h>
#else
#include "vmlinux_min.h"
#endif

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#ifndef READ_ONCE
/* The CO-RE build has no linux/compiler.h: the kernel's accessors, for the __u32s used here. */
#define READ_ONCE(x) (*(const volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, val) (*(volatile typeof(x) *)&(x) = (val))
#endif

#ifndef PPM_KERNEL_HEADERS
#define KREAD BPF_CORE_READ
#elif defined(BPF_PROBE_READ)
#define KREAD BPF_PROBE_READ
#else
/*
 * libbpf 0.3 (bullseye's) has no BPF_PROBE_READ: the same chain of plain kernel reads, one hop per
 * field, for the up to three hops this probe follows. The cast drops a const the field's type may
 * carry (task_struct's cred), as libbpf's own macro does.
 */
#define KREAD_1(src, a)							\
	({								\
		typeof((src)->a) __v;					\
		bpf_probe_read_kernel((void *)&__v, sizeof(__v), &(src)->a); \
		__v;							\
	})
#define KREAD_2(src, a, b) KREAD_1(KREAD_1(src, a), b)
#define KREAD_3(src, a, b, c) KREAD_1(KREAD_2(src, a, b), c)
#define KREAD_N(_1, _2, _3, n, ...) KREAD_##n
#define KREAD(src, ...) KREAD_N(__VA_ARGS__, 3, 2, 1, 0)(src, __VA_ARGS__)
#endif

#define PPM_NO_LINUX_TYPES
#include "../driver/ppm_events_public.h"
#include "../driver/ppm_event_params.h"
#include "../driver/syscall_table.c"

char LICENSE[] SEC("license") = "GPL";

/* An event is built in the lower half of the scratch area; the upper half absorbs the widest write at
 * the highest offset, which is what lets the verifier accept writes at computed offsets. */
#define SCRATCH_HALF 32768
#define SCRATCH_MASK (SCRATCH_HALF - 1)
#define STR_MAX 4096
#define HDR_LEN 26
/* A power of two, so that an index into it can be masked: room for 512 event types. */
#define EVENTS_MASK_WORDS 8

/*
 * Scratch areas per CPU (userspace sizes the map to this many per possible CPU). Where the kernel
 * defines DEFINE_TRACE_SYSCALL (faultable syscall tracepoints: Debian's 7.x, built with
 * CONFIG_PREEMPT_LAZY), the sys_enter and sys_exit programs run with only migration disabled: a task
 * can be preempted half-way through building its event, and the next task on that CPU, entering or
 * leaving a system call, would build its own over it (the reader then sees an event whose header and
 * parameters come from two events). There each event takes a free area of its CPU with a
 * compare-and-swap; one held by a preempted task is skipped. Kernels whose syscall tracepoints run
 * with preemption off (6.12 and older) share the first area of the CPU, as before. The CO-RE probe's
 * faster build (kernels from 6.12, which have the compare-and-swap) always locks; its build for older
 * verifiers never does.
 */
#define SCRATCH_SLOTS 4
#if defined(PPM_KERNEL_HEADERS) ? defined(DEFINE_TRACE_SYSCALL) : !defined(PPM_LAUNDER_OFFSETS)
#define PPM_SCRATCH_LOCK 1
/* The counters are shared by the tasks of a CPU too: preemption would lose increments. */
#define COUNT(x) __sync_fetch_and_add(&(x), 1)
#else
#define PPM_SCRATCH_LOCK 0
#define COUNT(x) ((x)++)
#endif

#if PPM_SCRATCH_LOCK
/*
 * Preemption off for the whole run of a program, where tracepoints leave it on: a task preempted
 * inside a program makes the kernel skip that program for every other task on its CPU until it runs
 * again, and under load several are preempted inside at once. bpf_preempt_disable() and
 * bpf_preempt_enable() are kfuncs (6.10 on); the loader (aya) resolves no __ksym externs, so each
 * call is written as its instruction (BPF_PSEUDO_KFUNC_CALL) with a placeholder id that userspace
 * replaces with the function's BTF id in the running kernel, or the whole call with a no-op where
 * that kernel has none (userspace/scap's `link_kfuncs`, which knows these placeholders).
 */
#define PPM_KFUNC_PREEMPT_DISABLE 0x7ffffd01
#define PPM_KFUNC_PREEMPT_ENABLE 0x7ffffd02
#define KFUNC_CALL_INSN(id) asm volatile(".byte 0x85, 0x20, 0, 0\n\t.long " #id ::: "memory")
#define KFUNC_CALL(id) KFUNC_CALL_INSN(id)

/*
 * Each call in a function of its own: a call clobbers r0-r5, which the compiler then knows (the
 * per-kernel build's front end targets the host, where BPF register names cannot be clobbered).
 */
static __attribute__((__noinline__)) int preempt_off(void)
{
	KFUNC_CALL(PPM_KFUNC_PREEMPT_DISABLE);
	return 0;
}

static __attribute__((__noinline__)) int preempt_on(void)
{
	KFUNC_CALL(PPM_KFUNC_PREEMPT_ENABLE);
	return 0;
}
#define PREEMPT_OFF() preempt_off()
#define PREEMPT_ON() preempt_on()
#endif

struct settings {
	__u32 capturing;
	__u32 snaplen;
	__u32 consumer_tgid;
	/* Non-zero where the backup system call programs are attached (see handoff). */
	__u32 handoff;
	/* Wall-clock time at boot: event times are boot time plus this. */
	__u64 boot_to_realtime_ns;
	__u64 events[EVENTS_MASK_WORDS];
};

struct counters {
	__u64 n_evts;
	__u64 n_drops_buffer;
	__u64 n_drops_pf;
	__u64 n_drops_scratch;
	/* Occurrences no copy of their program recorded (see handoff): system call entries, exits,
	 * and process events. */
	__u64 n_lost_enter;
	__u64 n_lost_exit;
	__u64 n_lost_process;
};

struct user_iovec {
	unsigned long base;
	unsigned long len;
};

/* Iovecs read per vector (readv, writev, sendmsg, recvmsg): a bound for the verifier. */
#define IOV_READ 8

struct scratch {
	char buf[2 * SCRATCH_HALF];
	/* The build offset and the fault flag pass through here; see eb_len(). */
	__u32 off;
	__u32 faulted;
	/* Non-zero while an event is built here (PPM_SCRATCH_LOCK); 64 bits, which llc's default BPF
	 * CPU can compare-and-swap (a 32-bit one needs -mcpu=v3). */
	__u64 busy;
	/* A vector's iovecs, read from the user (the stack has no room for them). */
	struct user_iovec iov[IOV_READ];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct settings);
} settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counters);
} counters SEC(".maps");

/* SCRATCH_SLOTS scratch areas per CPU, CPU n's at n * SCRATCH_SLOTS; userspace sizes the map to
 * SCRATCH_SLOTS times the number of possible CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 512 * SCRATCH_SLOTS);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* The UAPI (or the kernel's) headers give the Linux flag values the shared conversions use. */
#include <linux/fcntl.h>
#include <linux/mman.h>
#ifndef PPM_KERNEL_HEADERS
#include <linux/sched.h>
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SIGCHLD 17
#define RLIMIT_NOFILE 7
#define PIDTYPE_PGID 2
#define PAGE_SHIFT 12
#endif
#include "../driver/ppm_flags_conv.h"

struct event_builder {
	char *buf;
	struct scratch *sc;
	__u32 off;	/* where the next value goes */
	__u32 cur;	/* parameters written so far */
	__u32 nparams;
	__u32 snaplen;
	__u16 type;
};

struct syscall_ctx {
	unsigned long args[6];
	long id;
	long ret;
};

/* --- building --- */

/*
 * Masks a value in a way the compiler cannot see through, so the verifier sees the bound even where
 * clang has proven (on another register) that the value is already in range and dropped the check.
 */
#define VERIFIER_BOUND(x, mask) asm volatile("%0 &= " #mask : "+r"(x))

_Static_assert(PPM_EVENT_PARAMS_SLOTS >= PPM_EVENT_MAX && PPM_EVENT_PARAMS_SLOTS == 512, "event types are masked with 511");
_Static_assert(EVENTS_MASK_WORDS == 8, "the words of the events mask are indexed masked with 7");

static __always_inline const struct ppm_event_params *params_of(__u32 type)
{
	/* Types past PPM_EVENT_MAX land on zeroed slots: no parameters. */
	VERIFIER_BOUND(type, 511);
	return &g_event_params[type];
}

/*
 * Records the length of the parameter just written. With PPM_LAUNDER_OFFSETS (the per-kernel probe, and
 * the CO-RE probe's build for older verifiers) the new offset goes through memory: the verifier then
 * knows only what the masks tell it, so the paths of a parameter (read, faulted, empty) meet in one
 * state instead of doubling with every variable-length parameter, which the verifiers of older kernels
 * cannot afford. Newer verifiers prune well enough without it, and the round trip costs the probe a
 * third of its overhead.
 */
static __always_inline void eb_len(struct event_builder *b, __u32 len)
{
	*(__u16 *)&b->buf[(HDR_LEN + (b->cur & (PPM_MAX_EVENT_PARAMS - 1)) * 2) & SCRATCH_MASK] = len;
	b->cur++;
#ifdef PPM_LAUNDER_OFFSETS
	WRITE_ONCE(b->sc->off, b->off + len);
	b->off = READ_ONCE(b->sc->off);
#else
	b->off += len;
#endif
}

static __always_inline void eb_fault(struct event_builder *b)
{
	WRITE_ONCE(b->sc->faulted, 1);
}

static __always_inline long read_user(void *dst, unsigned long uptr, __u32 len)
{
	return bpf_probe_read_user(dst, len, (const void *)uptr);
}

/* No room for `len` more bytes: the parameter is sent empty (or not at all past the last one). */
static __always_inline bool eb_full(struct event_builder *b, __u32 len)
{
	if (b->cur >= b->nparams)
		return true;
	if (b->off + len > SCRATCH_HALF) {
		eb_len(b, 0);
		return true;
	}
	return false;
}

static __always_inline void eb_u8(struct event_builder *b, __u8 v)
{
	if (eb_full(b, 1))
		return;
	*(__u8 *)&b->buf[b->off & SCRATCH_MASK] = v;
	eb_len(b, 1);
}

static __always_inline void eb_u16(struct event_builder *b, __u16 v)
{
	if (eb_full(b, 2))
		return;
	*(__u16 *)&b->buf[b->off & SCRATCH_MASK] = v;
	eb_len(b, 2);
}

static __always_inline void eb_u32(struct event_builder *b, __u32 v)
{
	if (eb_full(b, 4))
		return;
	*(__u32 *)&b->buf[b->off & SCRATCH_MASK] = v;
	eb_len(b, 4);
}

/* A u32 whose value is stored once known; the slot stays inside the scratch area even when the value
 * is not sent (the upper half absorbs the write). */
static __always_inline __u32 *eb_u32_later(struct event_builder *b)
{
	__u32 *slot = (__u32 *)&b->buf[b->off & SCRATCH_MASK];

	eb_u32(b, 0);
	return slot;
}

/* Room for a parameter of at most `len` bytes built in place, or NULL when it is sent empty. */
static __always_inline char *eb_reserve(struct event_builder *b, __u32 len)
{
	if (eb_full(b, len))
		return NULL;
	return &b->buf[b->off & SCRATCH_MASK];
}

static __always_inline void eb_commit(struct event_builder *b, __u32 n)
{
	eb_len(b, n & (STR_MAX * 2 - 1));
}

static __always_inline void eb_u64(struct event_builder *b, __u64 v)
{
	if (eb_full(b, 8))
		return;
	*(__u64 *)&b->buf[b->off & SCRATCH_MASK] = v;
	eb_len(b, 8);
}

static __always_inline void eb_empty(struct event_builder *b)
{
	if (b->cur >= b->nparams)
		return;
	eb_len(b, 0);
}

static __always_inline void eb_str(struct event_builder *b, const char *s)
{
	long n;

	if (eb_full(b, 1))
		return;
	n = bpf_probe_read_kernel_str(&b->buf[b->off & SCRATCH_MASK], 64, s);
	if (n <= 0) {
		b->buf[b->off & SCRATCH_MASK] = 0;
		n = 1;
	}
	eb_len(b, n);
}

static __always_inline void eb_empty_str(struct event_builder *b)
{
	if (eb_full(b, 1))
		return;
	b->buf[b->off & SCRATCH_MASK] = 0;
	eb_len(b, 1);
}

/* A NUL-terminated user string, at most a page; an unreadable one is sent as "". */
static __always_inline void eb_user_str(struct event_builder *b, unsigned long uptr)
{
	long n;

	if (eb_full(b, STR_MAX))
		return;
	if (!uptr) {
		eb_empty_str(b);
		return;
	}
	n = bpf_probe_read_user_str(&b->buf[b->off & SCRATCH_MASK], STR_MAX, (const void *)uptr);
	if (n <= 0) {
		eb_fault(b);
		eb_empty_str(b);
		return;
	}
	eb_len(b, n & (STR_MAX * 2 - 1));
}

/* `len` bytes of user memory, cut at the snaplen. */
static __always_inline void eb_user_buf(struct event_builder *b, unsigned long uptr, __u64 len)
{
	if (b->cur >= b->nparams)
		return;
	if (len > b->snaplen)
		len = b->snaplen;
	if (len > STR_MAX)
		len = STR_MAX;
	if (!uptr || !len || b->off + len > SCRATCH_HALF) {
		eb_empty(b);
		return;
	}
	/* clang drops a mask it can prove redundant; older verifiers need to see it. */
	VERIFIER_BOUND(len, 8191);
	if (bpf_probe_read_user(&b->buf[b->off & SCRATCH_MASK], len, (const void *)uptr)) {
		eb_fault(b);
		eb_empty(b);
		return;
	}
	eb_len(b, len);
}

/* The current process's argv (without argv[0] when `skip_first`) or environment, at most a page. */
static __always_inline void eb_user_area(struct event_builder *b, unsigned long start, unsigned long end, bool skip_first)
{
	unsigned long len;

	if (b->cur >= b->nparams)
		return;
	if (!start || end <= start) {
		eb_empty(b);
		return;
	}
	if (skip_first) {
		/* Past argv[0]: the exe parameter carries it. */
		long n = bpf_probe_read_user_str(&b->buf[b->off & SCRATCH_MASK], STR_MAX, (const void *)start);

		if (n <= 0) {
			eb_fault(b);
			eb_empty(b);
			return;
		}
		start += n;
		if (start >= end) {
			eb_empty(b);
			return;
		}
	}
	len = end - start;
	if (len > STR_MAX)
		len = STR_MAX;
	if (b->off + len > SCRATCH_HALF) {
		eb_empty(b);
		return;
	}
	if (bpf_probe_read_user(&b->buf[b->off & SCRATCH_MASK], len & (STR_MAX * 2 - 1), (const void *)start)) {
		eb_fault(b);
		eb_empty(b);
		return;
	}
	eb_len(b, len);
}

/* Parameters not written get their type's zero (see driver/ppm_event_params.h): their lengths and their zero
 * bytes are copied in from the tables, without a loop the verifier would walk once per filler. */
static __always_inline __u32 eb_finish(struct event_builder *b)
{
	const struct ppm_event_params *p = params_of(b->type);
	__u32 cur = b->cur, n = b->nparams, bytes;

	if (cur < n && n <= PPM_MAX_EVENT_PARAMS) {
		cur &= PPM_MAX_EVENT_PARAMS - 1;
		bytes = p->zero_tail[cur];
		if (b->off + bytes <= SCRATCH_HALF) {
			bpf_probe_read_kernel(&b->buf[(HDR_LEN + cur * 2) & SCRATCH_MASK], ((n - cur) * 2) & 127,
					      &p->zero_len[cur]);
			bpf_probe_read_kernel(&b->buf[b->off & SCRATCH_MASK], bytes & 511, g_zeros);
			b->off += bytes;
			b->cur = n;
		}
	}
	*(__u32 *)&b->buf[16] = b->off;
	return b->off;
}

/* --- process information --- */

static __always_inline struct task_struct *this_task(void)
{
#ifdef PPM_KERNEL_HEADERS
	return (struct task_struct *)bpf_get_current_task();
#else
	return bpf_get_current_task_btf();
#endif
}

static __always_inline void eb_vm(struct event_builder *b)
{
	unsigned long total_vm = KREAD(this_task(), mm, total_vm);

	eb_u32(b, total_vm << (PAGE_SHIFT - 10));
	eb_u32(b, 0);	/* vm_rss: the counters' layout differs across kernels; not read yet */
	eb_u32(b, 0);	/* vm_swap */
}

/*
 * res, exe, args, tid, pid, ptid, cwd, fdlimit, pgft_maj, pgft_min, vm_size, vm_rss, vm_swap, comm,
 * cgroups of `t`: the current task, or a child just forked by it (whose comm is still its parent's).
 * User memory is that of the current task, so a child is described only when it has no memory of its
 * own yet (the probe's fork program records nothing else).
 */
static __always_inline void fill_proc_common(struct event_builder *b, struct task_struct *t, long res)
{
	unsigned long arg_start = KREAD(t, mm, arg_start), arg_end = KREAD(t, mm, arg_end);
	char comm[16];

	eb_u64(b, res);
	/* exe: argv[0] */
	if (arg_start && arg_end > arg_start)
		eb_user_str(b, arg_start);
	else
		eb_empty_str(b);
	eb_user_area(b, arg_start, arg_end, true);
	eb_u64(b, KREAD(t, pid));
	eb_u64(b, KREAD(t, tgid));
	eb_u64(b, KREAD(t, real_parent, pid));
	eb_empty_str(b);	/* cwd: userspace tracks it */
	eb_u64(b, KREAD(t, signal, rlim[RLIMIT_NOFILE].rlim_cur));
	eb_u64(b, KREAD(t, maj_flt));
	eb_u64(b, KREAD(t, min_flt));
	eb_vm(b);
	bpf_get_current_comm(comm, sizeof(comm));
	eb_str(b, comm);
	eb_empty(b);	/* cgroups */
}

static __always_inline void fill_execve_exit(struct event_builder *b, long res)
{
	struct task_struct *t = this_task();
	__u32 loginuid = (__u32)-1;

	fill_proc_common(b, t, res);
	eb_user_area(b, KREAD(t, mm, env_start), KREAD(t, mm, env_end), false);
	eb_u32(b, 0);	/* tty */
	eb_u64(b, KREAD(t, signal, pids[PIDTYPE_PGID], numbers[0].nr));
#ifdef PPM_KERNEL_HEADERS
#ifdef CONFIG_AUDIT
	loginuid = KREAD(t, loginuid.val);
#endif
#else
	if (bpf_core_field_exists(t->loginuid))
		loginuid = KREAD(t, loginuid.val);
#endif
	eb_u32(b, loginuid);
	eb_u32(b, 0);	/* flags */
}

static __always_inline void fill_clone_exit(struct event_builder *b, struct task_struct *t, long res,
					    unsigned long clone_flags)
{
	fill_proc_common(b, t, res);
	eb_u32(b, clone_flags_to_ppm(clone_flags));
	eb_u32(b, KREAD(t, cred, euid.val));
	eb_u32(b, KREAD(t, cred, egid.val));
	eb_u64(b, KREAD(t, pid));
	eb_u64(b, KREAD(t, tgid));
}

/* --- sockets --- */

struct sockaddr_buf {
	__u16 family;
	__be16 port;
	__u8 addr[24];
	char path[108];
};

/* A sockaddr from user memory: family byte, then address and port (host order), or the unix path. */
static __always_inline void eb_user_sockaddr(struct event_builder *b, unsigned long uptr, long ulen)
{
	struct sockaddr_buf sa = {};
	char *out;

	if (eb_full(b, 2 + 108) )
		return;
	if (!uptr || ulen < 2 || bpf_probe_read_user(&sa, sizeof(sa), (const void *)uptr)) {
		eb_empty(b);
		return;
	}
	out = &b->buf[b->off & SCRATCH_MASK];
	switch (sa.family) {
	case AF_INET: {
		__u16 port = __builtin_bswap16(sa.port);

		out[0] = PPM_AF_INET;
		__builtin_memcpy(out + 1, sa.addr, 4);
		__builtin_memcpy(out + 5, &port, 2);
		eb_len(b, 7);
		break;
	}
	case AF_INET6: {
		__u16 port = __builtin_bswap16(sa.port);

		/* sin6_flowinfo sits between the port and the address. */
		out[0] = PPM_AF_INET6;
		__builtin_memcpy(out + 1, sa.addr + 4, 16);
		__builtin_memcpy(out + 17, &port, 2);
		eb_len(b, 19);
		break;
	}
	case AF_UNIX: {
		long n;

		out[0] = PPM_AF_UNIX;
		n = bpf_probe_read_kernel_str(out + 1, 108, (char *)&sa + 2);
		if (n <= 0) {
			out[1] = 0;
			n = 1;
		}
		eb_len(b, (n + 1) & 127);
		break;
	}
	default:
		eb_empty(b);
		break;
	}
}

/* The file behind an fd of the current task, or NULL (not fd_file(): 6.12 defines that macro). */
static __always_inline struct file *file_of_fd(int fd)
{
	struct task_struct *t = this_task();
	struct file **fds = KREAD(t, files, fdt, fd);
	unsigned int max_fds = KREAD(t, files, fdt, max_fds);
	struct file *f = NULL;

	if (fd < 0 || fd >= max_fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline struct sock *fd_sock(int fd)
{
	struct file *f = file_of_fd(fd);
	struct socket *sock;

	if (!f)
		return NULL;
	sock = KREAD(f, private_data);
	return sock ? KREAD(sock, sk) : NULL;
}

/* The kernel addresses of a unix socket and of its peer, as libs reports socketpair's ends. */
static __always_inline void unix_socket_ends(int fd, __u64 *source, __u64 *peer)
{
	struct sock *sk = fd_sock(fd);

	*source = (unsigned long)sk;
	*peer = sk ? (unsigned long)KREAD((struct unix_sock *)sk, peer) : 0;
}

static __always_inline __u64 fd_ino(int fd)
{
	struct file *f = file_of_fd(fd);

	return f ? KREAD(f, f_inode, i_ino) : 0;
}

/*
 * The connection tuple of the socket behind `fd`: family, source, destination; the remote end is the
 * socket's peer, or the user's sockaddr at `peer` when given; `inbound` puts the remote end first.
 */
static __always_inline void eb_socktuple(struct event_builder *b, int fd, unsigned long peer, long peerlen, bool inbound)
{
	struct sock *sk = fd_sock(fd);
	struct sockaddr_buf sa = {};
	unsigned short family;
	char *out;

	if (eb_full(b, 37))
		return;
	if (!sk) {
		eb_empty(b);
		return;
	}
	family = KREAD(sk, __sk_common.skc_family);
	if (peer && peerlen >= 2 && bpf_probe_read_user(&sa, sizeof(sa), (const void *)peer))
		sa.family = 0;
	out = &b->buf[b->off & SCRATCH_MASK];
	if (family == AF_INET) {
		__be32 laddr = KREAD(sk, __sk_common.skc_rcv_saddr);
		__be32 raddr = KREAD(sk, __sk_common.skc_daddr);
		__u16 lport = KREAD(sk, __sk_common.skc_num);
		__u16 rport = __builtin_bswap16(KREAD(sk, __sk_common.skc_dport));

		if (peer && sa.family == AF_INET) {
			__builtin_memcpy(&raddr, sa.addr, 4);
			rport = __builtin_bswap16(sa.port);
		}
		out[0] = PPM_AF_INET;
		__builtin_memcpy(out + 1, inbound ? &raddr : &laddr, 4);
		__builtin_memcpy(out + 5, inbound ? &rport : &lport, 2);
		__builtin_memcpy(out + 7, inbound ? &laddr : &raddr, 4);
		__builtin_memcpy(out + 11, inbound ? &lport : &rport, 2);
		eb_len(b, 13);
	} else if (family == AF_INET6) {
		struct in6_addr laddr = KREAD(sk, __sk_common.skc_v6_rcv_saddr);
		struct in6_addr raddr = KREAD(sk, __sk_common.skc_v6_daddr);
		__u16 lport = KREAD(sk, __sk_common.skc_num);
		__u16 rport = __builtin_bswap16(KREAD(sk, __sk_common.skc_dport));

		if (peer && sa.family == AF_INET6) {
			__builtin_memcpy(&raddr, sa.addr + 4, 16);
			rport = __builtin_bswap16(sa.port);
		}
		out[0] = PPM_AF_INET6;
		__builtin_memcpy(out + 1, inbound ? &raddr : &laddr, 16);
		__builtin_memcpy(out + 17, inbound ? &rport : &lport, 2);
		__builtin_memcpy(out + 19, inbound ? &laddr : &raddr, 16);
		__builtin_memcpy(out + 35, inbound ? &lport : &rport, 2);
		eb_len(b, 37);
	} else {
		eb_empty(b);
	}
}

/* --- vectors, messages, dynamic values --- */

/* Reads the first IOV_READ iovecs of a vector into the scratch area; the bytes they describe. */
static __always_inline __u32 user_iov_total(struct event_builder *b, unsigned long uiov, unsigned long iovcnt)
{
	struct user_iovec *iov = b->sc->iov;
	__u32 n = iovcnt > IOV_READ ? IOV_READ : iovcnt, total = 0, i, size;

	size = n * sizeof(*iov);
	VERIFIER_BOUND(size, 255);
	if (!uiov || !n || bpf_probe_read_user(iov, size, (const void *)uiov))
		return 0;
#pragma unroll
	for (i = 0; i < IOV_READ; i++)
		if (i < n)
			total += iov[i].len;
	return total;
}

/* The data of an iovec array, at most `len` bytes and the snaplen; `*total` gets what it describes. */
static __always_inline void eb_user_iov(struct event_builder *b, unsigned long uiov, unsigned long iovcnt, __u64 len,
					__u64 *total)
{
	struct user_iovec *iov = b->sc->iov;
	__u32 n = iovcnt > IOV_READ ? IOV_READ : iovcnt, room, copied = 0, i;

	*total = user_iov_total(b, uiov, iovcnt);
	if (b->cur >= b->nparams)
		return;
	room = len < b->snaplen ? len : b->snaplen;
	if (room > STR_MAX)
		room = STR_MAX;
	if (!*total || b->off + room > SCRATCH_HALF) {
		eb_empty(b);
		return;
	}
#pragma unroll
	for (i = 0; i < IOV_READ; i++) {
		__u32 chunk;

		if (i >= n || copied >= room)
			break;
		chunk = iov[i].len < room - copied ? iov[i].len : room - copied;
		VERIFIER_BOUND(chunk, 8191);
		if (bpf_probe_read_user(&b->buf[(b->off + copied) & SCRATCH_MASK], chunk, (const void *)iov[i].base)) {
			eb_fault(b);
			break;
		}
		copied += chunk;
	}
	eb_len(b, copied & (STR_MAX * 2 - 1));
}

/* A PT_DYN parameter: its index into the dynamic table, then the value in that entry's width. */
static __always_inline void eb_dyn(struct event_builder *b, __u8 index, __u64 v)
{
	if (eb_full(b, 9))
		return;
	b->buf[b->off & SCRATCH_MASK] = index;
	if (index == PPM_PTRACE_IDX_SIGTYPE) {
		b->buf[(b->off + 1) & SCRATCH_MASK] = (__u8)v;
		eb_len(b, 2);
		return;
	}
	__builtin_memcpy(&b->buf[(b->off + 1) & SCRATCH_MASK], &v, sizeof(v));
	eb_len(b, 9);
}

/* --- per event --- */

static __always_inline __u16 syscall_code(long id)
{
	__u32 i = id;

	if (id < 0 || id >= SYSCALL_TABLE_SIZE)
		return PPM_SC_UNKNOWN;
	VERIFIER_BOUND(i, 511);
	return g_syscall_code_routing_table[i];
}

#define FILLER_FN static __always_inline
#define FILLER_ENTRY static __always_inline
#include "../driver/ppm_fillers.h"

/* --- recording --- */

static __always_inline const struct settings *wanted(__u16 type)
{
	__u32 zero = 0;
	const struct settings *s = bpf_map_lookup_elem(&settings, &zero);
	__u32 word = type / 64;

	if (!s || !s->capturing || type >= PPM_EVENT_MAX)
		return NULL;
	/*
	 * clang 21 drops a plain mask here, having proven the range on a register it then reloads
	 * from the stack, and the verifier sees an unbounded index.
	 */
	VERIFIER_BOUND(word, 7);
	if (!(s->events[word] & (1ULL << (type % 64))))
		return NULL;
	if ((bpf_get_current_pid_tgid() >> 32) == s->consumer_tgid)
		return NULL;
	return s;
}

/*
 * Records one event of the current task's system call (`c`), or, without one, an event about `t`: its
 * exit, or its creation seen from its parent.
 */
static __always_inline void record(__u16 type, const struct syscall_ctx *c, struct task_struct *t)
{
	const struct settings *s = wanted(type);
	__u32 zero = 0, cpu = bpf_get_smp_processor_id(), key;
	struct counters *n;
	struct scratch *sc = NULL;
	struct event_builder b = {};
	__u32 len;

	if (!s)
		return;
	n = bpf_map_lookup_elem(&counters, &zero);
	if (!n)
		return;
	COUNT(n->n_evts);
#if PPM_SCRATCH_LOCK
#pragma unroll
	for (int i = 0; i < SCRATCH_SLOTS; i++) {
		key = cpu * SCRATCH_SLOTS + i;
		sc = bpf_map_lookup_elem(&scratch, &key);
		if (sc && __sync_val_compare_and_swap(&sc->busy, 0, 1) == 0)
			break;
		sc = NULL;
	}
#else
	key = cpu * SCRATCH_SLOTS;
	sc = bpf_map_lookup_elem(&scratch, &key);
#endif
	if (!sc) {
		/* Every area of this CPU is held by a preempted task (or the map is too small). */
		COUNT(n->n_drops_scratch);
		return;
	}
	b.buf = sc->buf;
	b.sc = sc;
	sc->faulted = 0;
	b.type = type;
	b.nparams = params_of(type)->nparams;
	b.snaplen = s->snaplen;
	b.off = HDR_LEN + b.nparams * 2;
	*(__u64 *)&b.buf[0] = bpf_ktime_get_boot_ns() + s->boot_to_realtime_ns;
	*(__u64 *)&b.buf[8] = t ? (__u32)KREAD(t, pid) : (__u32)bpf_get_current_pid_tgid();
	*(__u16 *)&b.buf[20] = type;
	*(__u32 *)&b.buf[22] = b.nparams;
	if (type == PPME_PROCEXIT_1_E && t) {
		fill_procexit(&b, KREAD(t, exit_code));
	} else if (t) {
		/* The child's side of a clone made outside a system call: it returns 0, flags unknown. */
		fill_clone_exit(&b, t, 0, 0);
	} else if (c) {
		fill_event(&b, c);
	}
	len = eb_finish(&b);
	if (READ_ONCE(sc->faulted))
		COUNT(n->n_drops_pf);
	/* Waking the reader for every event costs more than the event; the reader polls instead. */
	if (bpf_ringbuf_output(&events, b.buf, len & (SCRATCH_HALF * 2 - 1), BPF_RB_NO_WAKEUP))
		COUNT(n->n_drops_buffer);
#if PPM_SCRATCH_LOCK
	/* Only once the ring has its copy: a task preempted during the copy still holds the area. */
	WRITE_ONCE(sc->busy, 0);
#endif
}

static __always_inline __u16 route(long id, bool enter)
{
	const struct syscall_evt_pair *pair;

	if (id < 0 || id >= SYSCALL_TABLE_SIZE)
		return enter ? PPME_GENERIC_E : PPME_GENERIC_X;
	VERIFIER_BOUND(id, 511);
	pair = &g_syscall_table[id];
	if (!(pair->flags & UF_USED))
		return enter ? PPME_GENERIC_E : PPME_GENERIC_X;
	return enter ? pair->enter_event_type : pair->exit_event_type;
}

/*
 * The saved user registers. BTF tracepoints hand the probe a pointer it may load from directly (one
 * instruction each); raw tracepoints only an address, read with a helper call.
 */
#ifdef PPM_KERNEL_HEADERS
#define REG(regs, r) KREAD(regs, r)
#else
#define REG(regs, r) ((regs)->r)
#endif

static __always_inline void read_args(struct pt_regs *regs, struct syscall_ctx *c)
{
	c->args[0] = REG(regs, di);
	c->args[1] = REG(regs, si);
	c->args[2] = REG(regs, dx);
	c->args[3] = REG(regs, r10);
	c->args[4] = REG(regs, r8);
	c->args[5] = REG(regs, r9);
}

static __always_inline void on_sys_enter(struct pt_regs *regs, long id)
{
	struct syscall_ctx c = { .id = id };

	read_args(regs, &c);
	record(route(id, true), &c, NULL);
}

static __always_inline void on_sys_exit(struct pt_regs *regs, long ret)
{
	struct syscall_ctx c = { .ret = ret };

	c.id = REG(regs, orig_ax);
	read_args(regs, &c);
	record(route(c.id, false), &c, NULL);
}

/*
 * A child forked by a system call reports its own clone exit when it first returns through sys_exit.
 * A user-mode task that a kernel thread creates (call_usermodehelper: modprobe, core dump pipes,
 * hotplug helpers) is made by no system call: it is recorded here, from its parent's side, as the
 * module does. Kernel threads themselves are not recorded.
 */
static __always_inline void on_process_fork(struct task_struct *parent, struct task_struct *child)
{
	if (!(KREAD(parent, flags) & PF_KTHREAD) || (KREAD(child, flags) & PF_KTHREAD))
		return;
	record(PPME_SYSCALL_CLONE_20_X, NULL, child);
}

/*
 * An exec outside the execve and execveat system calls (kernel_execve(), how user-mode helpers start
 * their program) has no sys_exit of its own: it is recorded as that call's exit, successful.
 */
static __always_inline void on_process_exec(struct pt_regs *user_regs)
{
	struct syscall_ctx c = { .id = __NR_execve, .ret = 0 };
	long nr = KREAD(user_regs, orig_ax);

	if (nr == __NR_execve || nr == __NR_execveat)
		return;
	record(PPME_SYSCALL_EXECVE_19_X, &c, NULL);
}

#if PPM_SCRATCH_LOCK
/*
 * Where tracepoints are preemptible (syscall ones from 6.13, every one on 7.x), the kernel skips a
 * program's run on a CPU while another task is inside the same program there, preempted on its way
 * in or out (bpf_prog_info.recursion_misses): that task's event would go unrecorded. Backup copies
 * of each program, attached after it to the same tracepoint, record what the copies before them
 * skipped. Bits per thread tell a backup whether an earlier copy took this occurrence: for system
 * calls the other edge's bit is cleared at each edge, so a bit never outlives its system call; a
 * process event (exit, fork, exec) happens at most once between two edges, and the tally clears its
 * bit. A tally program, attached last, counts the occurrences no copy took: the events lost. The
 * copies' own skipped runs are no measure of that, since most were runs an earlier copy made
 * needless.
 */
#define HANDOFF_ENTER 1
#define HANDOFF_EXIT 2
#define HANDOFF_PROCESS 4
#define HANDOFF_BITS 4
/* HANDOFF_BITS bits for each of PID_MAX_LIMIT (2^22) thread ids, 16 threads a word. */
#define HANDOFF_WORDS (1 << 18)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HANDOFF_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} handoff SEC(".maps");

/* The current thread's handoff word and the shift of its bits; NULL unless the backups are attached. */
static __always_inline __u64 *handoff_word(__u32 *shift)
{
	__u32 zero = 0, tid = (__u32)bpf_get_current_pid_tgid();
	__u32 key = (tid >> 4) & (HANDOFF_WORDS - 1);
	const struct settings *s = bpf_map_lookup_elem(&settings, &zero);

	*shift = (tid & 15) * HANDOFF_BITS;
	if (!s || !s->handoff)
		return NULL;
	return bpf_map_lookup_elem(&handoff, &key);
}

/* Marks the thread's system call `edge` taken and its other edge not. */
static __always_inline void handoff_take_edge(__u64 *word, __u32 shift, __u64 edge)
{
	__sync_fetch_and_or(word, edge << shift);
	__sync_fetch_and_and(word, ~((edge ^ (HANDOFF_ENTER | HANDOFF_EXIT)) << shift));
}

/*
 * Claims the current thread's system call `edge` for the calling copy; false when `backup` and an
 * earlier copy already took it. Does nothing (true) unless userspace attached the backups.
 */
static __always_inline bool handoff_claim(__u64 edge, bool backup)
{
	__u32 shift;
	__u64 *word = handoff_word(&shift);

	if (!word)
		return true;
	if (backup && (READ_ONCE(*word) & (edge << shift)))
		return false;
	handoff_take_edge(word, shift, edge);
	return true;
}

/* The same for a process event: its bit stays set until the tally. */
static __always_inline bool handoff_claim_process(bool backup)
{
	__u32 shift;
	__u64 *word = handoff_word(&shift);
	__u64 bit;

	if (!word)
		return true;
	bit = (__u64)HANDOFF_PROCESS << shift;
	if (backup && (READ_ONCE(*word) & bit))
		return false;
	__sync_fetch_and_or(word, bit);
	return true;
}

/* Counts the current occurrence of `edge` as lost when no copy took it, and takes it. */
static __always_inline void handoff_tally_syscall(__u64 edge)
{
	__u32 zero = 0, shift;
	__u64 *word = handoff_word(&shift);
	struct counters *n;

	if (!word || (READ_ONCE(*word) & (edge << shift)))
		return;
	n = bpf_map_lookup_elem(&counters, &zero);
	if (n && edge == HANDOFF_ENTER)
		COUNT(n->n_lost_enter);
	else if (n)
		COUNT(n->n_lost_exit);
	handoff_take_edge(word, shift, edge);
}

/* Counts the current process event as lost when no copy took it, and clears its bit. */
static __always_inline void handoff_tally_process(void)
{
	__u32 zero = 0, shift;
	__u64 *word = handoff_word(&shift);
	struct counters *n;
	__u64 bit;

	if (!word)
		return;
	bit = (__u64)HANDOFF_PROCESS << shift;
	if (__sync_fetch_and_and(word, ~bit) & bit)
		return;
	n = bpf_map_lookup_elem(&counters, &zero);
	if (n)
		COUNT(n->n_lost_process);
}
#define ON_SYS_ENTER(regs, id, backup)					\
	do {								\
		PREEMPT_OFF();						\
		if (handoff_claim(HANDOFF_ENTER, backup))		\
			on_sys_enter(regs, id);				\
		PREEMPT_ON();						\
	} while (0)
#define ON_SYS_EXIT(regs, ret, backup)					\
	do {								\
		PREEMPT_OFF();						\
		if (handoff_claim(HANDOFF_EXIT, backup))		\
			on_sys_exit(regs, ret);				\
		PREEMPT_ON();						\
	} while (0)
#define ON_PROCESS(call, backup)					\
	do {								\
		PREEMPT_OFF();						\
		if (handoff_claim_process(backup))			\
			call;						\
		PREEMPT_ON();						\
	} while (0)
#else
#define ON_SYS_ENTER(regs, id, backup) on_sys_enter(regs, id)
#define ON_SYS_EXIT(regs, ret, backup) on_sys_exit(regs, ret)
#define ON_PROCESS(call, backup) call
#endif

#ifdef PPM_KERNEL_HEADERS
SEC("raw_tracepoint/sys_enter")
int sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	ON_SYS_ENTER((struct pt_regs *)ctx->args[0], (long)ctx->args[1], false);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	ON_SYS_EXIT((struct pt_regs *)ctx->args[0], (long)ctx->args[1], false);
	return 0;
}

#if PPM_SCRATCH_LOCK
#define BACKUPS(n)							\
SEC("raw_tracepoint/sys_enter")						\
int sys_enter_backup##n(struct bpf_raw_tracepoint_args *ctx)		\
{									\
	ON_SYS_ENTER((struct pt_regs *)ctx->args[0], (long)ctx->args[1], true); \
	return 0;							\
}									\
SEC("raw_tracepoint/sys_exit")						\
int sys_exit_backup##n(struct bpf_raw_tracepoint_args *ctx)		\
{									\
	ON_SYS_EXIT((struct pt_regs *)ctx->args[0], (long)ctx->args[1], true); \
	return 0;							\
}
BACKUPS(1)
BACKUPS(2)
BACKUPS(3)

SEC("raw_tracepoint/sys_enter")
int sys_enter_tally(struct bpf_raw_tracepoint_args *ctx)
{
	handoff_tally_syscall(HANDOFF_ENTER);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int sys_exit_tally(struct bpf_raw_tracepoint_args *ctx)
{
	handoff_tally_syscall(HANDOFF_EXIT);
	return 0;
}
#endif

static __always_inline void on_raw_process_exec(void)
{
	struct task_struct *t = this_task();
	void *stack = KREAD(t, stack);

	/* task_pt_regs(), spelled with reads the verifier allows. */
	on_process_exec((struct pt_regs *)(stack + THREAD_SIZE - TOP_OF_KERNEL_STACK_PADDING) - 1);
}

#define PROCESS_PROGRAMS(suffix, backup)				\
SEC("raw_tracepoint/sched_process_exit")				\
int sched_process_exit##suffix(struct bpf_raw_tracepoint_args *ctx)	\
{									\
	ON_PROCESS(record(PPME_PROCEXIT_1_E, NULL,			\
			  (struct task_struct *)ctx->args[0]), backup);	\
	return 0;							\
}									\
SEC("raw_tracepoint/sched_process_fork")				\
int sched_process_fork##suffix(struct bpf_raw_tracepoint_args *ctx)	\
{									\
	ON_PROCESS(on_process_fork((struct task_struct *)ctx->args[0],	\
				   (struct task_struct *)ctx->args[1]),	\
		   backup);						\
	return 0;							\
}									\
SEC("raw_tracepoint/sched_process_exec")				\
int sched_process_exec##suffix(struct bpf_raw_tracepoint_args *ctx)	\
{									\
	ON_PROCESS(on_raw_process_exec(), backup);			\
	return 0;							\
}
PROCESS_PROGRAMS(, false)
#if PPM_SCRATCH_LOCK
PROCESS_PROGRAMS(_backup1, true)
PROCESS_PROGRAMS(_backup2, true)

SEC("raw_tracepoint/sched_process_exit")
int sched_process_exit_tally(struct bpf_raw_tracepoint_args *ctx)
{
	handoff_tally_process();
	return 0;
}

SEC("raw_tracepoint/sched_process_fork")
int sched_process_fork_tally(struct bpf_raw_tracepoint_args *ctx)
{
	handoff_tally_process();
	return 0;
}

SEC("raw_tracepoint/sched_process_exec")
int sched_process_exec_tally(struct bpf_raw_tracepoint_args *ctx)
{
	handoff_tally_process();
	return 0;
}
#endif
#else
SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	ON_SYS_ENTER(regs, id, false);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	ON_SYS_EXIT(regs, ret, false);
	return 0;
}

#if PPM_SCRATCH_LOCK
#define BACKUPS(n)							\
SEC("tp_btf/sys_enter")							\
int BPF_PROG(sys_enter_backup##n, struct pt_regs *regs, long id)	\
{									\
	ON_SYS_ENTER(regs, id, true);					\
	return 0;							\
}									\
SEC("tp_btf/sys_exit")							\
int BPF_PROG(sys_exit_backup##n, struct pt_regs *regs, long ret)	\
{									\
	ON_SYS_EXIT(regs, ret, true);					\
	return 0;							\
}
BACKUPS(1)
BACKUPS(2)
BACKUPS(3)

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter_tally)
{
	handoff_tally_syscall(HANDOFF_ENTER);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_tally)
{
	handoff_tally_syscall(HANDOFF_EXIT);
	return 0;
}
#endif

#define PROCESS_PROGRAMS(suffix, backup)				\
SEC("tp_btf/sched_process_exit")					\
int BPF_PROG(sched_process_exit##suffix, struct task_struct *p)		\
{									\
	ON_PROCESS(record(PPME_PROCEXIT_1_E, NULL, p), backup);		\
	return 0;							\
}									\
SEC("tp_btf/sched_process_fork")					\
int BPF_PROG(sched_process_fork##suffix, struct task_struct *parent,	\
	     struct task_struct *child)					\
{									\
	ON_PROCESS(on_process_fork(parent, child), backup);		\
	return 0;							\
}									\
SEC("tp_btf/sched_process_exec")					\
int BPF_PROG(sched_process_exec##suffix, struct task_struct *p,	\
	     int old_pid, void *bprm)					\
{									\
	ON_PROCESS(on_process_exec((struct pt_regs *)			\
		   bpf_task_pt_regs(bpf_get_current_task_btf())), backup); \
	return 0;							\
}
PROCESS_PROGRAMS(, false)
#if PPM_SCRATCH_LOCK
PROCESS_PROGRAMS(_backup1, true)
PROCESS_PROGRAMS(_backup2, true)

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit_tally)
{
	handoff_tally_process();
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork_tally)
{
	handoff_tally_process();
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec_tally)
{
	handoff_tally_process();
	return 0;
}
#endif
#endif
