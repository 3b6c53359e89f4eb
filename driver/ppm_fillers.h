/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The parameters of every system call event, written once for the kernel module and both eBPF probes.
 * Each driver includes this file after its shim, which provides:
 *
 *   FILLER_FN                 how a helper here is declared (static, or static __always_inline)
 *   struct event_builder      the event being built; its ->type is the event's number
 *   struct syscall_ctx        ->args[6], ->id (native number), ->ret (result, for exits)
 *   eb_u8/u16/u32/u64(b, v), eb_empty(b)             a parameter of that width, or empty
 *   eb_user_str(b, uptr), eb_user_buf(b, uptr, len)  user memory, cut at a page and the snaplen
 *   eb_u32_later(b)           writes a u32 and returns where to store its value once it is known
 *   eb_reserve(b, len), eb_commit(b, n)  room for a parameter of at most `len` bytes, built in place
 *   eb_fault(b)               counts the event as having lost data to a page fault
 *   read_user(dst, uptr, len) 0 when `len` bytes of user memory were copied to `dst`
 *   eb_user_sockaddr(b, uptr, len), eb_socktuple(b, fd, peer_uptr, peer_len, inbound)
 *   user_iov_total(b, uiov, n), eb_user_iov(b, uiov, n, len, &total)
 *   eb_dyn(b, index, v)       a PT_DYN parameter
 *   fd_ino(fd), unix_socket_ends(fd, &source, &peer), syscall_code(id), params_of(type), this_task()
 *   fill_execve_exit(b, ret), fill_clone_exit(b, task, ret, flags), eb_vm(b)
 *
 * What one driver cannot read the way the others do is its shim's business, said there; the order and
 * meaning of every parameter are decided here. An event routed in the schema must have a case below
 * (`cargo xtask codegen --check` fails otherwise), unless the rule for events without one fills it
 * whole (see fill_first_param).
 */
#ifndef PPM_FILLERS_H_
#define PPM_FILLERS_H_

#define PPM_FD(x) ((__s64)(int)(x))

/* The leading fields of the user's struct user_msghdr and struct open_how (UAPI layouts). */
struct user_msghdr_head {
	unsigned long name;
	int namelen;
	unsigned long iov;
	unsigned long iovlen;
};

struct user_open_how {
	__u64 flags;
	__u64 mode;
	__u64 resolve;
};

struct user_rlimit {
	__s64 cur;
	__s64 max;
};

struct user_timespec {
	__s64 sec;
	__s64 nsec;
};

struct user_pollfd {
	int fd;
	short events;
	short revents;
};

struct user_sembuf {
	__u16 num;
	__s16 op;
	__s16 flg;
};

/* Reads user memory for a filler: a failed read leaves `dst` zeroed and marks the event. */
FILLER_FN bool eb_read_user(struct event_builder *b, void *dst, unsigned long uptr, __u32 len)
{
	if (uptr && !read_user(dst, uptr, len))
		return true;
	__builtin_memset(dst, 0, len);
	if (uptr)
		eb_fault(b);
	return false;
}

/* sendmsg and recvmsg always pass a message header: a missing one is counted as a fault too. */
FILLER_FN void user_msghdr(struct event_builder *b, unsigned long uptr, struct user_msghdr_head *m)
{
	if (!eb_read_user(b, m, uptr, sizeof(*m)) && !uptr)
		eb_fault(b);
}

/* openat2's flags, mode and resolve, from the user's struct open_how (openat2 refuses a shorter one). */
FILLER_FN void eb_open_how(struct event_builder *b, unsigned long uptr)
{
	struct user_open_how how;

	eb_read_user(b, &how, uptr, sizeof(how));
	eb_u32(b, open_flags_to_ppm(how.flags));
	eb_u32(b, open_mode(how.flags, how.mode));
	eb_u32(b, openat2_resolve_to_ppm(how.resolve));
}

/* A resource limit the user passed or got back: -1, -1 when unread (as libs sends it). */
FILLER_FN void eb_user_rlimit(struct event_builder *b, unsigned long uptr, bool wanted)
{
	struct user_rlimit rl = { -1, -1 };

	if (wanted && !eb_read_user(b, &rl, uptr, sizeof(rl)))
		rl.cur = rl.max = -1;
	eb_u64(b, rl.cur);
	eb_u64(b, rl.max);
}

/* A relative time the user passed, in nanoseconds. */
FILLER_FN void eb_user_reltime(struct event_builder *b, unsigned long uptr)
{
	struct user_timespec ts;

	eb_read_user(b, &ts, uptr, sizeof(ts));
	eb_u64(b, ts.sec * 1000000000ULL + ts.nsec);
}

/* A 64-bit file position passed in two registers, low half first (preadv, pwritev). */
static inline __u64 split_pos(unsigned long lo, unsigned long hi)
{
	return ((__u64)(__u32)hi << 32) | (__u32)lo;
}

/* A u32 the kernel wrote at `uptr` (getresuid's and getresgid's results). */
FILLER_FN void eb_user_u32(struct event_builder *b, unsigned long uptr)
{
	__u32 v;

	eb_read_user(b, &v, uptr, sizeof(v));
	eb_u32(b, v);
}

/* A file offset the kernel reads or updates through a pointer (sendfile): 0 when there is none. */
FILLER_FN void eb_user_off(struct event_builder *b, unsigned long uptr)
{
	__s64 off = 0;

	if (uptr)
		eb_read_user(b, &off, uptr, sizeof(off));
	eb_u64(b, off);
}

/* The fds poll(2) and ppoll(2) read: a bound for the eBPF verifier, and enough for what they watch. */
#define PPM_POLL_FDS 16

/*
 * An fd list: a count, then each fd (64 bits) and its poll bits, asked for on entry; on exit only the
 * fds that returned something, with what they returned.
 */
FILLER_FN void eb_pollfds(struct event_builder *b, unsigned long uptr, unsigned long nfds, bool returned)
{
	char *out = eb_reserve(b, 2 + PPM_POLL_FDS * 10);
	__u16 *count = (__u16 *)out;
	int i;

	if (!out)
		return;
	/*
	 * The count lives in the event, read back each time: the eBPF verifier then sees one state per
	 * iteration instead of one per possible count, which it could not afford.
	 */
	WRITE_ONCE(*count, 0);
	for (i = 0; i < PPM_POLL_FDS; i++) {
		struct user_pollfd p;
		__u16 n, events;
		__s64 fd;

		if (i >= nfds || read_user(&p, uptr + i * sizeof(p), sizeof(p)))
			break;
		if (returned && !p.revents)
			continue;
		n = READ_ONCE(*count) & (PPM_POLL_FDS - 1);
		fd = p.fd;
		events = poll_events_to_ppm(returned ? p.revents : p.events);
		__builtin_memcpy(out + 2 + n * 10, &fd, sizeof(fd));
		__builtin_memcpy(out + 10 + n * 10, &events, sizeof(events));
		WRITE_ONCE(*count, n + 1);
	}
	eb_commit(b, 2 + (READ_ONCE(*count) & (2 * PPM_POLL_FDS - 1)) * 10);
}

/*
 * The rule for events without a case of their own: an exit whose first parameter is the result gets
 * it, an enter whose first parameter is an fd gets the first argument, and the rest get their type's
 * zero (in eb_finish). The generator decides which rule applies (PPM_FIRST_* in ppm_event_params.h).
 */
FILLER_FN void fill_first_param(struct event_builder *b, const struct syscall_ctx *c)
{
	__u8 first = params_of(b->type)->first;

	if (first == PPM_FIRST_RET)
		eb_u64(b, c->ret);
	else if (first == PPM_FIRST_FD)
		eb_u64(b, PPM_FD(c->args[0]));
}

/* procexit: status, ret, sig, core of the exiting task. */
FILLER_FN void fill_procexit(struct event_builder *b, int code)
{
	eb_u64(b, code);
	eb_u64(b, (code >> 8) & 0xff);
	eb_u8(b, code & 0x7f);
	eb_u8(b, (code & 0x80) ? 1 : 0);
}

FILLER_FN bool fill_file_events(struct event_builder *b, const struct syscall_ctx *c)
{
	const unsigned long *a = c->args;
	long ret = c->ret;

	switch (b->type) {
	case PPME_SYSCALL_OPEN_E:
		eb_user_str(b, a[0]);
		eb_u32(b, open_flags_to_ppm(a[1]));
		eb_u32(b, open_mode(a[1], a[2]));
		break;
	case PPME_SYSCALL_OPEN_X:
		eb_u64(b, ret);
		eb_user_str(b, a[0]);
		eb_u32(b, open_flags_to_ppm(a[1]));
		eb_u32(b, open_mode(a[1], a[2]));
		eb_u32(b, 0);
		break;
	case PPME_SYSCALL_OPENAT_2_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_user_str(b, a[1]);
		eb_u32(b, open_flags_to_ppm(a[2]));
		eb_u32(b, open_mode(a[2], a[3]));
		break;
	case PPME_SYSCALL_OPENAT_2_X:
		eb_u64(b, ret);
		eb_u64(b, PPM_FD(a[0]));
		eb_user_str(b, a[1]);
		eb_u32(b, open_flags_to_ppm(a[2]));
		eb_u32(b, open_mode(a[2], a[3]));
		eb_u32(b, 0);
		break;
	case PPME_SYSCALL_OPENAT2_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_user_str(b, a[1]);
		eb_open_how(b, a[2]);
		break;
	case PPME_SYSCALL_OPENAT2_X:
		eb_u64(b, ret);
		eb_u64(b, PPM_FD(a[0]));
		eb_user_str(b, a[1]);
		eb_open_how(b, a[2]);
		break;
	case PPME_SYSCALL_CREAT_E:
		eb_user_str(b, a[0]);
		eb_u32(b, a[1]);
		break;
	case PPME_SYSCALL_CREAT_X:
		eb_u64(b, ret);
		eb_user_str(b, a[0]);
		eb_u32(b, a[1]);
		eb_u32(b, 0);
		break;
	case PPME_SYSCALL_UNLINK_2_X:
	case PPME_SYSCALL_RMDIR_2_X:
	case PPME_SYSCALL_MKDIR_2_X:
	case PPME_SYSCALL_CHDIR_X:
	case PPME_SYSCALL_STAT_X:
	case PPME_SYSCALL_LSTAT_X:
	case PPME_SYSCALL_STAT64_X:
	case PPME_SYSCALL_ACCESS_X:
	case PPME_SYSCALL_CHROOT_X:
	case PPME_SYSCALL_GETCWD_X:
	case PPME_SYSCALL_UMOUNT_X:
		eb_u64(b, ret);
		eb_user_str(b, a[0]);
		break;
	case PPME_SYSCALL_MKDIR_2_E:
		eb_u32(b, a[1]);
		break;
	case PPME_SYSCALL_UNLINKAT_2_X:
		eb_u64(b, ret);
		eb_u64(b, PPM_FD(a[0]));
		eb_user_str(b, a[1]);
		eb_u32(b, a[2] & AT_REMOVEDIR ? PPM_AT_REMOVEDIR : 0);
		break;
	case PPME_SYSCALL_MKDIRAT_X:
		eb_u64(b, ret);
		eb_u64(b, PPM_FD(a[0]));
		eb_user_str(b, a[1]);
		eb_u32(b, a[2]);
		break;
	case PPME_SYSCALL_RENAME_X:
	case PPME_SYSCALL_LINK_2_X:
	case PPME_SYSCALL_SYMLINK_X:
		eb_u64(b, ret);
		eb_user_str(b, a[0]);
		eb_user_str(b, a[1]);
		break;
	case PPME_SYSCALL_RENAMEAT_X:
	case PPME_SYSCALL_RENAMEAT2_X:
		eb_u64(b, ret);
		eb_u64(b, PPM_FD(a[0]));
		eb_user_str(b, a[1]);
		eb_u64(b, PPM_FD(a[2]));
		eb_user_str(b, a[3]);
		if (b->type == PPME_SYSCALL_RENAMEAT2_X)
			eb_u32(b, a[4]);
		break;
	case PPME_SYSCALL_CHMOD_X:
		eb_u64(b, ret);
		eb_user_str(b, a[0]);
		eb_u32(b, a[1] & 07777);
		break;
	case PPME_SYSCALL_FCHMOD_X:
		eb_u64(b, ret);
		eb_u64(b, PPM_FD(a[0]));
		eb_u32(b, a[1] & 07777);
		break;
	case PPME_SYSCALL_FCHMODAT_X:
		eb_u64(b, ret);
		eb_u64(b, PPM_FD(a[0]));
		eb_user_str(b, a[1]);
		eb_u32(b, a[2] & 07777);
		break;
	/* Not read yet: the rule fills quotactl's result, the rest is zero. */
	case PPME_SYSCALL_QUOTACTL_E:
	case PPME_SYSCALL_QUOTACTL_X:
		return false;
	case PPME_SYSCALL_LINKAT_2_X:
		eb_u64(b, ret);
		eb_u64(b, PPM_FD(a[0]));
		eb_user_str(b, a[1]);
		eb_u64(b, PPM_FD(a[2]));
		eb_user_str(b, a[3]);
		eb_u32(b, linkat_flags_to_ppm(a[4]));
		break;
	case PPME_SYSCALL_SYMLINKAT_X:
		eb_u64(b, ret);
		eb_user_str(b, a[0]);
		eb_u64(b, PPM_FD(a[1]));
		eb_user_str(b, a[2]);
		break;
	case PPME_SYSCALL_ACCESS_E:
		eb_u32(b, access_flags_to_ppm(a[1]));
		break;
	case PPME_SYSCALL_MOUNT_E:
		eb_u32(b, mount_flags_to_ppm(a[3]));
		break;
	case PPME_SYSCALL_MOUNT_X:
		eb_u64(b, ret);
		eb_user_str(b, a[0]);
		eb_user_str(b, a[1]);
		eb_user_str(b, a[2]);
		break;
	case PPME_SYSCALL_UMOUNT_E:
		/* umount2's flags are libs' PPM_MNT_* bits. */
		eb_u32(b, a[1]);
		break;
	case PPME_SYSCALL_LSEEK_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u64(b, a[1]);
		eb_u8(b, lseek_whence_to_ppm(a[2]));
		break;
	case PPME_SYSCALL_LLSEEK_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u64(b, split_pos(a[2], a[1]));
		eb_u8(b, lseek_whence_to_ppm(a[4]));
		break;
	case PPME_SYSCALL_FCNTL_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u8(b, fcntl_cmd_to_ppm(a[1]));
		break;
	case PPME_SYSCALL_FLOCK_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u32(b, flock_flags_to_ppm(a[1]));
		break;
	case PPME_SYSCALL_IOCTL_3_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u64(b, a[1]);
		eb_u64(b, a[2]);
		break;
	case PPME_SYSCALL_USERFAULTFD_X:
		eb_u64(b, ret);
		eb_u32(b, a[0]);
		break;
	case PPME_SYSCALL_EVENTFD_E:
		eb_u64(b, a[0]);
		/* libs sends no flags (0): its filler never read them. */
		eb_u32(b, 0);
		break;
	case PPME_SYSCALL_SIGNALFD_E:
		/* The mask and flags are libs' defaults, 0. */
		eb_u64(b, PPM_FD(a[0]));
		eb_u32(b, 0);
		eb_u8(b, 0);
		break;
	case PPME_SYSCALL_TIMERFD_CREATE_E:
		eb_u8(b, 0);
		eb_u8(b, 0);
		break;
	case PPME_SYSCALL_INOTIFY_INIT_E:
		eb_u8(b, 0);
		break;
	case PPME_SYSCALL_PIPE_X: {
		int fds[2] = { -1, -1 };

		eb_u64(b, ret);
		if (ret == 0 && !eb_read_user(b, fds, a[0], sizeof(fds)))
			fds[0] = fds[1] = -1;
		eb_u64(b, (__s64)fds[0]);
		eb_u64(b, (__s64)fds[1]);
		eb_u64(b, ret == 0 ? fd_ino(fds[0]) : 0);
		break;
	}
	default:
		return false;
	}
	return true;
}

FILLER_FN bool fill_io_events(struct event_builder *b, const struct syscall_ctx *c)
{
	const unsigned long *a = c->args;
	long ret = c->ret;

	switch (b->type) {
	case PPME_SYSCALL_READ_E:
	case PPME_SYSCALL_WRITE_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u32(b, a[2]);
		break;
	case PPME_SYSCALL_PREAD_E:
	case PPME_SYSCALL_PWRITE_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u32(b, a[2]);
		eb_u64(b, a[3]);
		break;
	case PPME_SYSCALL_READ_X:
	case PPME_SYSCALL_PREAD_X:
		eb_u64(b, ret);
		eb_user_buf(b, a[1], ret > 0 ? ret : 0);
		break;
	case PPME_SYSCALL_WRITE_X:
	case PPME_SYSCALL_PWRITE_X:
		eb_u64(b, ret);
		eb_user_buf(b, a[1], a[2]);
		break;
	case PPME_SYSCALL_READV_X:
	case PPME_SYSCALL_PREADV_X: {
		__u32 *size;
		__u64 total;

		eb_u64(b, ret);
		/* size precedes data, but is only known once the iovecs are read. */
		size = eb_u32_later(b);
		eb_user_iov(b, a[1], a[2], ret > 0 ? ret : 0, &total);
		*size = total;
		break;
	}
	case PPME_SYSCALL_WRITEV_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u32(b, user_iov_total(b, a[1], a[2]));
		break;
	case PPME_SYSCALL_WRITEV_X:
	case PPME_SYSCALL_PWRITEV_X: {
		__u64 total;

		eb_u64(b, ret);
		eb_user_iov(b, a[1], a[2], (__u32)-1, &total);
		break;
	}
	case PPME_SYSCALL_PREADV_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u64(b, split_pos(a[3], a[4]));
		break;
	case PPME_SYSCALL_PWRITEV_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u32(b, user_iov_total(b, a[1], a[2]));
		eb_u64(b, split_pos(a[3], a[4]));
		break;
	case PPME_SYSCALL_SENDFILE_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u64(b, PPM_FD(a[1]));
		eb_user_off(b, a[2]);
		eb_u64(b, a[3]);
		break;
	case PPME_SYSCALL_SENDFILE_X:
		eb_u64(b, ret);
		eb_user_off(b, a[2]);
		break;
	case PPME_SYSCALL_SPLICE_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u64(b, PPM_FD(a[2]));
		eb_u64(b, a[4]);
		/* The PPM_SPLICE_F_* bits are Linux's own. */
		eb_u32(b, a[5]);
		break;
	case PPME_SYSCALL_COPY_FILE_RANGE_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u64(b, a[1]);
		eb_u64(b, a[4]);
		break;
	case PPME_SYSCALL_COPY_FILE_RANGE_X:
		eb_u64(b, ret);
		eb_u64(b, PPM_FD(a[2]));
		eb_u64(b, a[3]);
		break;
	case PPME_SYSCALL_BRK_4_E:
		eb_u64(b, a[0]);
		break;
	case PPME_SYSCALL_FUTEX_E:
		eb_u64(b, a[0]);
		eb_u16(b, futex_op_to_ppm(a[1]));
		eb_u64(b, a[2]);
		break;
	case PPME_SYSCALL_EPOLLWAIT_E:
		eb_u64(b, (__s64)(int)a[2]);
		break;
	case PPME_SYSCALL_NANOSLEEP_E:
		eb_user_reltime(b, a[0]);
		break;
	case PPME_SYSCALL_POLL_E:
		eb_pollfds(b, a[0], a[1], false);
		eb_u64(b, (__s64)(int)a[2]);
		break;
	case PPME_SYSCALL_PPOLL_E: {
		__u64 sigmask = 0;

		eb_pollfds(b, a[0], a[1], false);
		/* No timeout waits for ever: -1. */
		if (a[2])
			eb_user_reltime(b, a[2]);
		else
			eb_u64(b, (__u64)-1);
		if (a[3])
			eb_read_user(b, &sigmask, a[3], sizeof(sigmask));
		eb_u32(b, sigmask);
		break;
	}
	case PPME_SYSCALL_POLL_X:
	case PPME_SYSCALL_PPOLL_X:
		eb_u64(b, ret);
		eb_pollfds(b, a[0], a[1], true);
		break;
	case PPME_SYSCALL_MMAP_E:
	case PPME_SYSCALL_MMAP2_E:
		eb_u64(b, a[0]);
		eb_u64(b, a[1]);
		eb_u32(b, prot_flags_to_ppm(a[2]));
		eb_u32(b, mmap_flags_to_ppm(a[3]));
		eb_u64(b, PPM_FD(a[4]));
		eb_u64(b, a[5]);
		break;
	case PPME_SYSCALL_MMAP_X:
	case PPME_SYSCALL_MMAP2_X:
	case PPME_SYSCALL_MUNMAP_X:
	case PPME_SYSCALL_BRK_4_X:
		eb_u64(b, ret);
		eb_vm(b);
		break;
	case PPME_SYSCALL_MUNMAP_E:
		eb_u64(b, a[0]);
		eb_u64(b, a[1]);
		break;
	case PPME_SYSCALL_MPROTECT_E:
		eb_u64(b, a[0]);
		eb_u64(b, a[1]);
		eb_u32(b, prot_flags_to_ppm(a[2]));
		break;
	default:
		return false;
	}
	return true;
}

FILLER_FN bool fill_process_events(struct event_builder *b, const struct syscall_ctx *c)
{
	const unsigned long *a = c->args;
	long ret = c->ret;

	switch (b->type) {
	case PPME_SYSCALL_EXECVE_19_E:
		eb_user_str(b, a[0]);
		break;
	case PPME_SYSCALL_EXECVE_19_X:
	case PPME_SYSCALL_EXECVEAT_X:
		fill_execve_exit(b, ret);
		break;
	case PPME_SYSCALL_EXECVEAT_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_user_str(b, a[1]);
		eb_u32(b, execveat_flags_to_ppm(a[4]));
		break;
	case PPME_SYSCALL_CLONE_20_X:
		fill_clone_exit(b, this_task(), ret, a[0]);
		break;
	case PPME_SYSCALL_FORK_20_X:
		fill_clone_exit(b, this_task(), ret, SIGCHLD);
		break;
	case PPME_SYSCALL_VFORK_20_X:
		fill_clone_exit(b, this_task(), ret, CLONE_VM | CLONE_VFORK | SIGCHLD);
		break;
	case PPME_SYSCALL_CLONE3_X: {
		__u64 flags;

		/* struct clone_args starts with its flags. */
		eb_read_user(b, &flags, a[0], sizeof(flags));
		fill_clone_exit(b, this_task(), ret, flags);
		break;
	}
	case PPME_SYSCALL_SETUID_E:
	case PPME_SYSCALL_SETGID_E:
		eb_u32(b, a[0]);
		break;
	case PPME_SYSCALL_SETRESUID_E:
	case PPME_SYSCALL_SETRESGID_E:
		eb_u32(b, a[0]);
		eb_u32(b, a[1]);
		eb_u32(b, a[2]);
		break;
	case PPME_SYSCALL_GETUID_X:
	case PPME_SYSCALL_GETEUID_X:
	case PPME_SYSCALL_GETGID_X:
	case PPME_SYSCALL_GETEGID_X:
		eb_u32(b, ret);
		break;
	case PPME_SYSCALL_GETRESUID_X:
	case PPME_SYSCALL_GETRESGID_X:
		eb_u64(b, ret);
		eb_user_u32(b, a[0]);
		eb_user_u32(b, a[1]);
		eb_user_u32(b, a[2]);
		break;
	case PPME_SYSCALL_SETPGID_E:
		eb_u64(b, (__s64)(int)a[0]);
		eb_u64(b, (__s64)(int)a[1]);
		break;
	case PPME_SYSCALL_GETRLIMIT_E:
	case PPME_SYSCALL_SETRLIMIT_E:
		eb_u8(b, rlimit_resource_to_ppm(a[0]));
		break;
	case PPME_SYSCALL_GETRLIMIT_X:
		eb_u64(b, ret);
		eb_user_rlimit(b, a[1], ret >= 0);
		break;
	case PPME_SYSCALL_SETRLIMIT_X:
		eb_u64(b, ret);
		eb_user_rlimit(b, a[1], true);
		break;
	case PPME_SYSCALL_PRLIMIT_E:
		eb_u64(b, (__s64)(int)a[0]);
		eb_u8(b, rlimit_resource_to_ppm(a[1]));
		break;
	case PPME_SYSCALL_PRLIMIT_X:
		eb_u64(b, ret);
		eb_user_rlimit(b, a[2], ret >= 0 && a[2]);
		eb_user_rlimit(b, a[3], a[3]);
		break;
	case PPME_SYSCALL_TKILL_E:
		eb_u64(b, (__s64)(int)a[0]);
		eb_u8(b, a[1]);
		break;
	case PPME_SYSCALL_TGKILL_E:
		eb_u64(b, (__s64)(int)a[0]);
		eb_u64(b, (__s64)(int)a[1]);
		eb_u8(b, a[2]);
		break;
	case PPME_SYSCALL_UNSHARE_E:
		/* Namespace flags are clone flags. */
		eb_u32(b, clone_flags_to_ppm(a[0]));
		break;
	case PPME_SYSCALL_SETNS_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u32(b, clone_flags_to_ppm(a[1]));
		break;
	case PPME_SYSCALL_SECCOMP_E:
		eb_u64(b, a[0]);
		break;
	case PPME_SYSCALL_BPF_E:
		eb_u64(b, (__s64)(int)a[0]);
		break;
	case PPME_SYSCALL_BPF_X:
		/* A new map or program is an fd; anything else is a result. */
		eb_dyn(b, ret >= 0 && (a[0] == 0 || a[0] == 5) ? PPM_BPF_IDX_FD : PPM_BPF_IDX_RES, ret);
		break;
	case PPME_SYSCALL_SEMGET_E:
		eb_u32(b, a[0]);
		eb_u32(b, a[1]);
		eb_u32(b, semget_flags_to_ppm(a[2]));
		break;
	case PPME_SYSCALL_SEMCTL_E:
		eb_u32(b, a[0]);
		eb_u32(b, a[1]);
		eb_u16(b, semctl_cmd_to_ppm(a[2]));
		/* SETVAL's value; 16 is Linux's SETVAL. */
		eb_u32(b, a[2] == 16 ? a[3] : 0);
		break;
	case PPME_SYSCALL_SEMOP_E:
		eb_u32(b, a[0]);
		break;
	case PPME_SYSCALL_SEMOP_X: {
		struct user_sembuf op;
		int i;

		eb_u64(b, ret);
		eb_u32(b, a[2]);
		/* The first two operations, as the schema has room for. */
		for (i = 0; i < 2; i++) {
			__builtin_memset(&op, 0, sizeof(op));
			if (a[1] && a[2] > i)
				eb_read_user(b, &op, a[1] + i * sizeof(op), sizeof(op));
			eb_u16(b, op.num);
			eb_u16(b, op.op);
			eb_u16(b, semop_flags_to_ppm(op.flg));
		}
		break;
	}
	case PPME_SYSCALL_KILL_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u8(b, a[1]);
		break;
	case PPME_SYSCALL_PTRACE_E:
		eb_u16(b, ptrace_request_to_ppm(a[0]));
		eb_u64(b, PPM_FD(a[1]));
		break;
	case PPME_SYSCALL_PTRACE_X: {
		__u16 req = ptrace_request_to_ppm(a[0]);
		__u64 data = a[3];

		eb_u64(b, ret);
		if (ret < 0) {
			eb_dyn(b, PPM_PTRACE_IDX_UINT64, 0);
			eb_dyn(b, PPM_PTRACE_IDX_UINT64, 0);
			break;
		}
		/* A peek leaves the word it read where data points. */
		if (ptrace_is_peek(req))
			eb_read_user(b, &data, a[3], sizeof(data));
		eb_dyn(b, PPM_PTRACE_IDX_UINT64, a[2]);
		eb_dyn(b, ptrace_data_kind(req), data);
		break;
	}
	default:
		return false;
	}
	return true;
}

FILLER_FN bool fill_socket_events(struct event_builder *b, const struct syscall_ctx *c)
{
	const unsigned long *a = c->args;
	long ret = c->ret;

	switch (b->type) {
	case PPME_SOCKET_SOCKET_E:
	case PPME_SOCKET_SOCKETPAIR_E:
		/* The PPM_AF_* numbers are Linux's own. */
		eb_u32(b, a[0]);
		eb_u32(b, a[1]);
		eb_u32(b, a[2]);
		break;
	/* Not read yet: the rule fills their result, the rest is zero. */
	case PPME_SOCKET_SETSOCKOPT_X:
	case PPME_SOCKET_GETSOCKOPT_X:
		return false;
	case PPME_SOCKET_SOCKETPAIR_X: {
		int fds[2] = { -1, -1 };
		__u64 source = 0, peer = 0;

		eb_u64(b, ret);
		if (ret >= 0 && eb_read_user(b, fds, a[3], sizeof(fds)))
			unix_socket_ends(fds[0], &source, &peer);
		eb_u64(b, (__s64)fds[0]);
		eb_u64(b, (__s64)fds[1]);
		eb_u64(b, source);
		eb_u64(b, peer);
		break;
	}
	case PPME_SOCKET_CONNECT_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_user_sockaddr(b, a[1], a[2]);
		break;
	case PPME_SOCKET_CONNECT_X:
		eb_u64(b, ret);
		eb_socktuple(b, (int)a[0], a[1], a[2], false);
		break;
	case PPME_SOCKET_BIND_X:
		eb_u64(b, ret);
		eb_user_sockaddr(b, a[1], a[2]);
		break;
	case PPME_SOCKET_LISTEN_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u32(b, a[1]);
		break;
	case PPME_SOCKET_ACCEPT4_5_E:
		eb_u32(b, a[3]);
		break;
	case PPME_SOCKET_ACCEPT_5_X:
	case PPME_SOCKET_ACCEPT4_5_X:
		eb_u64(b, ret);
		if (ret >= 0)
			eb_socktuple(b, (int)ret, 0, 0, true);
		else
			eb_empty(b);
		break;
	case PPME_SOCKET_SHUTDOWN_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u8(b, a[1]);
		break;
	case PPME_SOCKET_SENDTO_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u32(b, a[2]);
		eb_socktuple(b, (int)a[0], a[4], a[5], false);
		break;
	case PPME_SOCKET_SENDTO_X:
		eb_u64(b, ret);
		eb_user_buf(b, a[1], a[2]);
		break;
	case PPME_SOCKET_RECVFROM_E:
		eb_u64(b, PPM_FD(a[0]));
		eb_u32(b, a[2]);
		break;
	case PPME_SOCKET_RECVFROM_X: {
		int addrlen = 0;

		eb_u64(b, ret);
		eb_user_buf(b, a[1], ret > 0 ? ret : 0);
		if (ret >= 0 && a[4] && a[5])
			eb_read_user(b, &addrlen, a[5], sizeof(addrlen));
		eb_socktuple(b, (int)a[0], addrlen > 0 ? a[4] : 0, addrlen, true);
		break;
	}
	case PPME_SOCKET_SENDMSG_E: {
		struct user_msghdr_head m;

		user_msghdr(b, a[1], &m);
		eb_u64(b, PPM_FD(a[0]));
		eb_u32(b, user_iov_total(b, m.iov, m.iovlen));
		eb_socktuple(b, (int)a[0], m.name, m.namelen, false);
		break;
	}
	case PPME_SOCKET_SENDMSG_X: {
		struct user_msghdr_head m;
		__u64 total;

		eb_u64(b, ret);
		user_msghdr(b, a[1], &m);
		eb_user_iov(b, m.iov, m.iovlen, ret > 0 ? ret : 0, &total);
		break;
	}
	case PPME_SOCKET_RECVMSG_X: {
		struct user_msghdr_head m;
		__u32 *size;
		__u64 total;

		eb_u64(b, ret);
		user_msghdr(b, a[1], &m);
		/* size precedes data, as in readv. */
		size = eb_u32_later(b);
		eb_user_iov(b, m.iov, m.iovlen, ret > 0 ? ret : 0, &total);
		*size = ret > 0 ? (total < (__u64)ret ? total : ret) : 0;
		eb_socktuple(b, (int)a[0], ret >= 0 ? m.name : 0, m.namelen, true);
		break;
	}
	default:
		return false;
	}
	return true;
}

FILLER_FN bool fill_generic_events(struct event_builder *b, const struct syscall_ctx *c)
{
	switch (b->type) {
	case PPME_GENERIC_E:
		eb_u16(b, syscall_code(c->id));
		eb_u16(b, c->id);
		break;
	case PPME_GENERIC_X:
		eb_u16(b, syscall_code(c->id));
		break;
	default:
		return false;
	}
	return true;
}

/*
 * The parameters of a system call event for the current task. Each category's filler takes the
 * events it knows (a switch a reader can scan); what none takes gets the rule for events without one.
 */
FILLER_ENTRY void fill_event(struct event_builder *b, const struct syscall_ctx *c)
{
	if (fill_generic_events(b, c) || fill_file_events(b, c) || fill_io_events(b, c) ||
	    fill_process_events(b, c) || fill_socket_events(b, c))
		return;
	fill_first_param(b, c);
}

#endif /* PPM_FILLERS_H_ */
