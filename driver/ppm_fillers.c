// SPDX-License-Identifier: GPL-2.0-only
/*
 * Event parameters. Every event is built in schema order; user memory is read only with the
 * non-faulting accessors (probes run with preemption disabled) and cut at the snaplen.
 */
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/fcntl.h>
#include <linux/pid_namespace.h>
#include <linux/cred.h>
#include <linux/string.h>
#include <linux/audit.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/un.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/af_unix.h>
#include <linux/mman.h>
#include <linux/uio.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/openat2.h>

#include "ppm_events.h"
#include "ppm_flags_conv.h"
#include "ppm_event_params.h"

/* --- building --- */

void eb_start(struct event_builder *b, u16 type, u64 ts, u64 tid)
{
	struct ppm_evt_hdr *hdr = (struct ppm_evt_hdr *)b->buf;

	b->type = type;
	b->nparams = type < PPM_EVENT_MAX ? g_event_info[type].nparams : 0;
	b->cur = 0;
	b->faulted = false;
	b->off = sizeof(*hdr) + b->nparams * sizeof(u16);
	hdr->ts = ts;
	hdr->tid = tid;
	hdr->type = type;
	hdr->nparams = b->nparams;
	hdr->len = b->off;
}

static u16 *eb_lens(struct event_builder *b)
{
	return (u16 *)(b->buf + sizeof(struct ppm_evt_hdr));
}

/* Appends one parameter value; too big for the scratch buffer, it is sent empty. */
void eb_bytes(struct event_builder *b, const void *p, u32 len)
{
	if (b->cur >= b->nparams)
		return;
	if (len > U16_MAX || b->off + len > b->size)
		len = 0;
	if (len)
		memcpy(b->buf + b->off, p, len);
	eb_lens(b)[b->cur++] = len;
	b->off += len;
}

void eb_u8(struct event_builder *b, u8 v)
{
	eb_bytes(b, &v, sizeof(v));
}

void eb_u16(struct event_builder *b, u16 v)
{
	eb_bytes(b, &v, sizeof(v));
}

void eb_u32(struct event_builder *b, u32 v)
{
	eb_bytes(b, &v, sizeof(v));
}

void eb_u64(struct event_builder *b, u64 v)
{
	eb_bytes(b, &v, sizeof(v));
}

void eb_empty(struct event_builder *b)
{
	eb_bytes(b, NULL, 0);
}

void eb_str(struct event_builder *b, const char *s)
{
	eb_bytes(b, s, strnlen(s, PAGE_SIZE) + 1);
}

/*
 * strncpy_from_user_nofault() is not exported to modules; with page faults disabled the exported
 * strncpy_from_user() fails on a missing page instead of sleeping, which is what a probe needs.
 */
static long strncpy_from_user_atomic(char *dst, const char __user *src, long count)
{
	long n;

	pagefault_disable();
	n = strncpy_from_user(dst, src, count);
	pagefault_enable();
	return n;
}

static inline void eb_fault(struct event_builder *b)
{
	b->faulted = true;
}

static inline long read_user(void *dst, unsigned long uptr, u32 len)
{
	return copy_from_user_nofault(dst, (const void __user *)uptr, len);
}

/* A u32 whose value is stored once known; a value that does not fit lands in a dummy. */
static u32 *eb_u32_later(struct event_builder *b)
{
	static u32 dummy;
	u32 *slot = b->off + sizeof(u32) <= b->size ? (u32 *)(b->buf + b->off) : &dummy;

	eb_u32(b, 0);
	return slot;
}

/* Room for a parameter of at most `len` bytes built in place, or NULL when it is sent empty. */
static char *eb_reserve(struct event_builder *b, u32 len)
{
	if (b->cur >= b->nparams)
		return NULL;
	if (b->off + len > b->size) {
		eb_empty(b);
		return NULL;
	}
	return b->buf + b->off;
}

static void eb_commit(struct event_builder *b, u32 n)
{
	eb_lens(b)[b->cur++] = n;
	b->off += n;
}

/* A NUL-terminated user string, at most a page; an unreadable one is sent as "". */
void eb_user_str(struct event_builder *b, unsigned long uptr)
{
	long n;
	u32 room;

	if (b->cur >= b->nparams)
		return;
	room = min_t(u32, PAGE_SIZE, b->size - b->off);
	if (!uptr || room < 1) {
		eb_str(b, "");
		return;
	}
	n = strncpy_from_user_atomic(b->buf + b->off, (const char __user *)uptr, room);
	if (n < 0) {
		b->faulted = true;
		eb_str(b, "");
		return;
	}
	if ((u32)n == room)
		n = room - 1;
	b->buf[b->off + n] = '\0';
	eb_lens(b)[b->cur++] = n + 1;
	b->off += n + 1;
}

/* `len` bytes of user memory, cut at the snaplen. */
void eb_user_buf(struct event_builder *b, unsigned long uptr, u64 len)
{
	if (b->cur >= b->nparams)
		return;
	len = min3(len, (u64)b->snaplen, (u64)(b->size - b->off));
	if (!uptr || !len) {
		eb_empty(b);
		return;
	}
	if (copy_from_user_nofault(b->buf + b->off, (const void __user *)uptr, len)) {
		b->faulted = true;
		eb_empty(b);
		return;
	}
	eb_lens(b)[b->cur++] = len;
	b->off += len;
}

static inline const struct ppm_event_params *params_of(u32 type)
{
	return &g_event_params[type & (PPM_EVENT_PARAMS_SLOTS - 1)];
}

/*
 * Parameters not written get their type's zero (driver/ppm_event_params.h); returns the event's length.
 * Consumers of the libs era read numbers at their full width whatever the length says, so numbers are
 * never sent empty.
 */
u32 eb_finish(struct event_builder *b)
{
	const struct ppm_event_params *p = params_of(b->type);

	while (b->cur < b->nparams)
		eb_bytes(b, g_zeros, p->zero_len[b->cur]);
	((struct ppm_evt_hdr *)b->buf)->len = b->off;
	return b->off;
}

/* vm_size, vm_rss, vm_swap of the current process, in KiB. */
static void eb_vm(struct event_builder *b)
{
	struct mm_struct *mm = current->mm;

	eb_u32(b, mm ? mm->total_vm << (PAGE_SHIFT - 10) : 0);
	eb_u32(b, mm ? get_mm_rss(mm) << (PAGE_SHIFT - 10) : 0);
	eb_u32(b, mm ? get_mm_counter(mm, MM_SWAPENTS) << (PAGE_SHIFT - 10) : 0);
}

/*
 * The data of a vectored read or write: the segments' bytes back to back, up to `len` and the snaplen.
 * Also returns the total size the iovecs describe.
 */
static void eb_user_iov(struct event_builder *b, unsigned long uiov, unsigned long iovcnt, u64 len, u64 *total)
{
	struct iovec iov[16];
	unsigned long n = min_t(unsigned long, iovcnt, ARRAY_SIZE(iov));
	u32 room, copied = 0;
	unsigned long i;

	*total = 0;
	if (b->cur >= b->nparams)
		return;
	if (!uiov || !n || copy_from_user_nofault(iov, (const void __user *)uiov, n * sizeof(iov[0]))) {
		eb_empty(b);
		return;
	}
	for (i = 0; i < n; i++)
		*total += iov[i].iov_len;
	room = min_t(u64, min_t(u64, len, b->snaplen), b->size - b->off);
	for (i = 0; i < n && copied < room; i++) {
		u32 chunk = min_t(u64, iov[i].iov_len, room - copied);

		if (chunk && copy_from_user_nofault(b->buf + b->off + copied, iov[i].iov_base, chunk)) {
			b->faulted = true;
			break;
		}
		copied += chunk;
	}
	eb_lens(b)[b->cur++] = copied;
	b->off += copied;
}

/* --- process information, shared by execve and clone exits --- */

/* The current process's argv (exe, then the rest) or environment, from its own memory. */
static void eb_user_area(struct event_builder *b, unsigned long start, unsigned long end, bool skip_first)
{
	unsigned long len;
	u32 room;

	if (b->cur >= b->nparams)
		return;
	if (!start || end <= start) {
		eb_empty(b);
		return;
	}
	len = end - start;
	room = min_t(u32, PAGE_SIZE, b->size - b->off);
	len = min_t(unsigned long, len, room);
	if (copy_from_user_nofault(b->buf + b->off, (const void __user *)start, len)) {
		b->faulted = true;
		eb_empty(b);
		return;
	}
	if (skip_first) {
		/* Drop argv[0]: the exe parameter carries it. */
		u32 first = strnlen(b->buf + b->off, len);

		if (first < len)
			first++;
		memmove(b->buf + b->off, b->buf + b->off + first, len - first);
		len -= first;
	}
	eb_lens(b)[b->cur++] = len;
	b->off += len;
}

/*
 * exe, args, tid, pid, ptid, cwd, fdlimit, pgft_maj, pgft_min, vm_size, vm_rss, vm_swap, comm, cgroups.
 * Memory is read only for the current task: another task's address space is not ours to touch.
 */
static void fill_proc_common(struct event_builder *b, struct task_struct *task, long res)
{
	struct mm_struct *mm = task == current ? task->mm : NULL;
	unsigned long arg_start = 0, arg_end = 0;
	u32 vm_size = 0, vm_rss = 0, vm_swap = 0;

	eb_u64(b, res);
	if (mm) {
		arg_start = mm->arg_start;
		arg_end = mm->arg_end;
		vm_size = mm->total_vm << (PAGE_SHIFT - 10);
		vm_rss = get_mm_rss(mm) << (PAGE_SHIFT - 10);
		vm_swap = get_mm_counter(mm, MM_SWAPENTS) << (PAGE_SHIFT - 10);
	}
	/* exe: argv[0]. */
	if (arg_start && arg_end > arg_start) {
		u32 before = b->off;

		eb_user_area(b, arg_start, min(arg_end, arg_start + 256), false);
		if (b->off > before) {
			/* Keep only argv[0] and its NUL. */
			u32 n = strnlen(b->buf + before, b->off - before);

			if (n < b->off - before) {
				eb_lens(b)[b->cur - 1] = n + 1;
				b->off = before + n + 1;
			}
		}
	} else {
		eb_str(b, "");
	}
	eb_user_area(b, arg_start, arg_end, true);
	eb_u64(b, task->pid);
	eb_u64(b, task->tgid);
	rcu_read_lock();
	eb_u64(b, task->real_parent ? rcu_dereference(task->real_parent)->pid : 0);
	rcu_read_unlock();
	eb_str(b, "");	/* cwd: userspace tracks it */
	eb_u64(b, task_rlimit(task, RLIMIT_NOFILE));
	eb_u64(b, task->maj_flt);
	eb_u64(b, task->min_flt);
	eb_u32(b, vm_size);
	eb_u32(b, vm_rss);
	eb_u32(b, vm_swap);
	eb_str(b, task->comm);
	eb_empty(b);	/* cgroups */
}

static void fill_execve_exit(struct event_builder *b, long res)
{
	struct task_struct *task = current;
	struct mm_struct *mm = task->mm;
	u32 flags = 0;

	fill_proc_common(b, task, res);
	if (mm)
		eb_user_area(b, mm->env_start, mm->env_end, false);
	else
		eb_empty(b);
	eb_u32(b, 0);				/* tty */
	eb_u64(b, task_pgrp_vnr(task));		/* pgid */
	eb_u32(b, from_kuid(&init_user_ns, audit_get_loginuid(task)));
	eb_u32(b, flags);
}

static void fill_clone_exit(struct event_builder *b, struct task_struct *task, long res,
			    unsigned long clone_flags)
{
	const struct cred *cred;
	kuid_t euid;
	kgid_t egid;

	rcu_read_lock();
	cred = __task_cred(task);
	euid = cred->euid;
	egid = cred->egid;
	rcu_read_unlock();
	fill_proc_common(b, task, res);
	eb_u32(b, clone_flags_to_ppm(clone_flags));
	eb_u32(b, from_kuid_munged(&init_user_ns, euid));
	eb_u32(b, from_kgid_munged(&init_user_ns, egid));
	eb_u64(b, task_pid_vnr(task));
	eb_u64(b, task_tgid_vnr(task));
}

/* --- sockets --- */

/*
 * A sockaddr parameter: the family byte (libs' numbers are Linux's for these families), then the
 * address in network byte order and the port in host order, or the unix path.
 */
static void eb_sockaddr(struct event_builder *b, const struct sockaddr_storage *ss, int len)
{
	char out[1 + UNIX_PATH_MAX + 1];
	u32 n = 0;

	if (len <= 0) {
		eb_empty(b);
		return;
	}
	switch (ss->ss_family) {
	case AF_INET: {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		u16 port = ntohs(in->sin_port);

		out[0] = PPM_AF_INET;
		memcpy(out + 1, &in->sin_addr.s_addr, 4);
		memcpy(out + 5, &port, 2);
		n = 7;
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		u16 port = ntohs(in6->sin6_port);

		out[0] = PPM_AF_INET6;
		memcpy(out + 1, &in6->sin6_addr, 16);
		memcpy(out + 17, &port, 2);
		n = 19;
		break;
	}
	case AF_UNIX: {
		const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
		u32 plen = strnlen(un->sun_path, min_t(int, UNIX_PATH_MAX, len - (int)sizeof(sa_family_t)));

		out[0] = PPM_AF_UNIX;
		memcpy(out + 1, un->sun_path, plen);
		out[1 + plen] = '\0';
		n = plen + 2;
		break;
	}
	default:
		eb_empty(b);
		return;
	}
	eb_bytes(b, out, n);
}

/* A sockaddr from user memory (connect's and bind's argument). */
static int user_sockaddr(unsigned long uptr, unsigned long ulen, struct sockaddr_storage *ss)
{
	int len = min_t(unsigned long, ulen, sizeof(*ss));

	memset(ss, 0, sizeof(*ss));
	if (!uptr || len <= 0)
		return -EINVAL;
	if (copy_from_user_nofault(ss, (const void __user *)uptr, len))
		return -EFAULT;
	return len;
}

static void eb_user_sockaddr(struct event_builder *b, unsigned long uptr, unsigned long ulen)
{
	struct sockaddr_storage ss;

	eb_sockaddr(b, &ss, user_sockaddr(uptr, ulen, &ss));
}

/*
 * A connection tuple of the socket behind `fd`: family, then source and destination. The kernel's own
 * view of the local end is read from the socket without taking its lock (probes may not sleep); the
 * remote end is the socket's peer, or the user's sockaddr at `peer_uptr` when given (a connect that
 * has not completed).
 * `inbound` puts the remote end first, as accepted connections are shown.
 */
static void eb_socktuple(struct event_builder *b, int fd, unsigned long peer_uptr, long peer_len, bool inbound)
{
	char out[1 + 16 + 2 + 16 + 2];
	struct sockaddr_storage ss;
	const struct sockaddr_storage *peer = NULL;
	struct socket *sock;
	struct sock *sk;
	int err;
	u32 n = 0;

	if (peer_uptr && peer_len > 0 && user_sockaddr(peer_uptr, peer_len, &ss) > 0)
		peer = &ss;
	sock = sockfd_lookup(fd, &err);
	if (!sock || !sock->sk) {
		if (sock)
			sockfd_put(sock);
		eb_empty(b);
		return;
	}
	sk = sock->sk;
	if (sk->sk_family == AF_INET) {
		__be32 laddr = sk->sk_rcv_saddr, raddr = sk->sk_daddr;
		u16 lport = sk->sk_num, rport = ntohs(sk->sk_dport);

		if (peer && peer->ss_family == AF_INET) {
			raddr = ((const struct sockaddr_in *)peer)->sin_addr.s_addr;
			rport = ntohs(((const struct sockaddr_in *)peer)->sin_port);
		}
		out[0] = PPM_AF_INET;
		memcpy(out + 1, inbound ? &raddr : &laddr, 4);
		memcpy(out + 5, inbound ? &rport : &lport, 2);
		memcpy(out + 7, inbound ? &laddr : &raddr, 4);
		memcpy(out + 11, inbound ? &lport : &rport, 2);
		n = 13;
#if IS_ENABLED(CONFIG_IPV6)
	} else if (sk->sk_family == AF_INET6) {
		struct in6_addr laddr = sk->sk_v6_rcv_saddr, raddr = sk->sk_v6_daddr;
		u16 lport = sk->sk_num, rport = ntohs(sk->sk_dport);

		if (peer && peer->ss_family == AF_INET6) {
			raddr = ((const struct sockaddr_in6 *)peer)->sin6_addr;
			rport = ntohs(((const struct sockaddr_in6 *)peer)->sin6_port);
		}
		out[0] = PPM_AF_INET6;
		memcpy(out + 1, inbound ? &raddr : &laddr, 16);
		memcpy(out + 17, inbound ? &rport : &lport, 2);
		memcpy(out + 19, inbound ? &laddr : &raddr, 16);
		memcpy(out + 35, inbound ? &lport : &rport, 2);
		n = 37;
#endif
	}
	sockfd_put(sock);
	if (n)
		eb_bytes(b, out, n);
	else
		eb_empty(b);
}

/* A PT_DYN parameter: its index into the dynamic table, then the value in that entry's width. */
static void eb_dyn(struct event_builder *b, u8 index, u64 v)
{
	char out[1 + sizeof(v)];

	out[0] = index;
	if (index == PPM_PTRACE_IDX_SIGTYPE) {
		out[1] = (u8)v;
		eb_bytes(b, out, 2);
		return;
	}
	memcpy(out + 1, &v, sizeof(v));
	eb_bytes(b, out, sizeof(out));
}

/* The kernel addresses of a unix socket and of its peer, as libs reports socketpair's ends. */
static void unix_socket_ends(int fd, u64 *source, u64 *peer)
{
	struct socket *sock;
	int err;

	*source = 0;
	*peer = 0;
	sock = sockfd_lookup(fd, &err);
	if (!sock)
		return;
	if (sock->sk && sock->sk->sk_family == AF_UNIX) {
		*source = (unsigned long)unix_sk(sock->sk);
		*peer = (unsigned long)READ_ONCE(unix_sk(sock->sk)->peer);
	}
	sockfd_put(sock);
}

/* The inode number behind an fd of the current task, 0 when it has none. */
static u64 fd_ino(int fd)
{
	struct file *f;
	u64 ino = 0;

	if (fd < 0)
		return 0;
	f = fget(fd);
	if (f) {
		ino = file_inode(f)->i_ino;
		fput(f);
	}
	return ino;
}

/* The bytes an iovec array describes, at most its first 16 entries. */
static u32 user_iov_total(struct event_builder *b, unsigned long uiov, unsigned long iovcnt)
{
	struct iovec iov[16];
	unsigned long n = min_t(unsigned long, iovcnt, ARRAY_SIZE(iov)), i;
	u32 total = 0;

	if (uiov && n && !copy_from_user_nofault(iov, (const void __user *)uiov, n * sizeof(iov[0])))
		for (i = 0; i < n; i++)
			total += iov[i].iov_len;
	return total;
}

/* --- the shared fillers --- */

static inline struct task_struct *this_task(void)
{
	return current;
}

#define FILLER_FN static
#define FILLER_ENTRY
#include "ppm_fillers.h"

void fill_task_exit(struct event_builder *b, struct task_struct *p)
{
	fill_procexit(b, p->exit_code);
}

/* The child's side of a clone the parent made outside a system call: it returns 0, flags unknown. */
void fill_clone_child(struct event_builder *b, struct task_struct *child)
{
	fill_clone_exit(b, child, 0, 0);
}
