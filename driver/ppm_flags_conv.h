/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Linux flag values to the schema's PPM_* flags, shared by the kernel module and the eBPF probes.
 * The Linux constants come from the kernel's headers in the module and from the UAPI headers in the
 * probes; the names are the same.
 */
#ifndef PPM_FLAGS_CONV_H_
#define PPM_FLAGS_CONV_H_

static inline __u32 open_flags_to_ppm(unsigned long flags)
{
	__u32 res = 0;

	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		res |= PPM_O_RDONLY;
		break;
	case O_WRONLY:
		res |= PPM_O_WRONLY;
		break;
	case O_RDWR:
		res |= PPM_O_RDWR;
		break;
	}
	if (flags & O_CREAT)
		res |= PPM_O_CREAT;
	if (flags & O_APPEND)
		res |= PPM_O_APPEND;
	if (flags & O_DSYNC)
		res |= PPM_O_DSYNC;
	if (flags & O_EXCL)
		res |= PPM_O_EXCL;
	if (flags & O_NONBLOCK)
		res |= PPM_O_NONBLOCK;
	if ((flags & __O_SYNC) == __O_SYNC)
		res |= PPM_O_SYNC;
	if (flags & O_TRUNC)
		res |= PPM_O_TRUNC;
	if (flags & O_DIRECT)
		res |= PPM_O_DIRECT;
	if (flags & O_DIRECTORY)
		res |= PPM_O_DIRECTORY;
	if (flags & O_LARGEFILE)
		res |= PPM_O_LARGEFILE;
	if (flags & O_CLOEXEC)
		res |= PPM_O_CLOEXEC;
	if ((flags & __O_TMPFILE) == __O_TMPFILE)
		res |= PPM_O_TMPFILE;
	return res;
}

/* The mode only matters when a file may be created. */
static inline __u32 open_mode(unsigned long flags, unsigned long mode)
{
	return (flags & (O_CREAT | __O_TMPFILE)) ? (__u32)mode : 0;
}

static inline __u32 clone_flags_to_ppm(unsigned long flags)
{
	__u32 res = 0;

	if (flags & CLONE_FILES)
		res |= PPM_CL_CLONE_FILES;
	if (flags & CLONE_FS)
		res |= PPM_CL_CLONE_FS;
	if (flags & CLONE_IO)
		res |= PPM_CL_CLONE_IO;
	if (flags & CLONE_NEWIPC)
		res |= PPM_CL_CLONE_NEWIPC;
	if (flags & CLONE_NEWNET)
		res |= PPM_CL_CLONE_NEWNET;
	if (flags & CLONE_NEWNS)
		res |= PPM_CL_CLONE_NEWNS;
	if (flags & CLONE_NEWPID)
		res |= PPM_CL_CLONE_NEWPID;
	if (flags & CLONE_NEWUTS)
		res |= PPM_CL_CLONE_NEWUTS;
	if (flags & CLONE_PARENT)
		res |= PPM_CL_CLONE_PARENT;
	if (flags & CLONE_PARENT_SETTID)
		res |= PPM_CL_CLONE_PARENT_SETTID;
	if (flags & CLONE_PTRACE)
		res |= PPM_CL_CLONE_PTRACE;
	if (flags & CLONE_SIGHAND)
		res |= PPM_CL_CLONE_SIGHAND;
	if (flags & CLONE_SYSVSEM)
		res |= PPM_CL_CLONE_SYSVSEM;
	if (flags & CLONE_THREAD)
		res |= PPM_CL_CLONE_THREAD;
	if (flags & CLONE_UNTRACED)
		res |= PPM_CL_CLONE_UNTRACED;
	if (flags & CLONE_VM)
		res |= PPM_CL_CLONE_VM;
	if (flags & CLONE_NEWUSER)
		res |= PPM_CL_CLONE_NEWUSER;
	if (flags & CLONE_CHILD_CLEARTID)
		res |= PPM_CL_CLONE_CHILD_CLEARTID;
	if (flags & CLONE_CHILD_SETTID)
		res |= PPM_CL_CLONE_CHILD_SETTID;
	if (flags & CLONE_SETTLS)
		res |= PPM_CL_CLONE_SETTLS;
	if (flags & CLONE_VFORK)
		res |= PPM_CL_CLONE_VFORK;
	if (flags & CLONE_NEWCGROUP)
		res |= PPM_CL_CLONE_NEWCGROUP;
	return res;
}

static inline __u32 prot_flags_to_ppm(unsigned long prot)
{
	__u32 res = 0;

	if (prot & PROT_READ)
		res |= PPM_PROT_READ;
	if (prot & PROT_WRITE)
		res |= PPM_PROT_WRITE;
	if (prot & PROT_EXEC)
		res |= PPM_PROT_EXEC;
	if (prot & PROT_SEM)
		res |= PPM_PROT_SEM;
	if (prot & PROT_GROWSDOWN)
		res |= PPM_PROT_GROWSDOWN;
	if (prot & PROT_GROWSUP)
		res |= PPM_PROT_GROWSUP;
	return res;
}

static inline __u32 mmap_flags_to_ppm(unsigned long flags)
{
	__u32 res = 0;

	if (flags & MAP_SHARED)
		res |= PPM_MAP_SHARED;
	if (flags & MAP_PRIVATE)
		res |= PPM_MAP_PRIVATE;
	if (flags & MAP_FIXED)
		res |= PPM_MAP_FIXED;
	if (flags & MAP_ANONYMOUS)
		res |= PPM_MAP_ANONYMOUS;
#ifdef MAP_32BIT
	if (flags & MAP_32BIT)
		res |= PPM_MAP_32BIT;
#endif
	if (flags & MAP_NORESERVE)
		res |= PPM_MAP_NORESERVE;
	if (flags & MAP_POPULATE)
		res |= PPM_MAP_POPULATE;
	if (flags & MAP_NONBLOCK)
		res |= PPM_MAP_NONBLOCK;
	if (flags & MAP_GROWSDOWN)
		res |= PPM_MAP_GROWSDOWN;
	if (flags & MAP_DENYWRITE)
		res |= PPM_MAP_DENYWRITE;
	if (flags & MAP_EXECUTABLE)
		res |= PPM_MAP_EXECUTABLE;
	if (flags & MAP_LOCKED)
		res |= PPM_MAP_LOCKED;
	return res;
}

/* struct open_how's resolve flags (linux/openat2.h; the numbers are the ABI's). */
static inline __u32 openat2_resolve_to_ppm(__u64 resolve)
{
	__u32 res = 0;

	if (resolve & 0x01)
		res |= PPM_RESOLVE_NO_XDEV;
	if (resolve & 0x02)
		res |= PPM_RESOLVE_NO_MAGICLINKS;
	if (resolve & 0x04)
		res |= PPM_RESOLVE_NO_SYMLINKS;
	if (resolve & 0x08)
		res |= PPM_RESOLVE_BENEATH;
	if (resolve & 0x10)
		res |= PPM_RESOLVE_IN_ROOT;
	if (resolve & 0x20)
		res |= PPM_RESOLVE_CACHED;
	return res;
}

static inline __u32 execveat_flags_to_ppm(unsigned long flags)
{
	__u32 res = 0;

	if (flags & AT_EMPTY_PATH)
		res |= PPM_EXVAT_AT_EMPTY_PATH;
	if (flags & AT_SYMLINK_NOFOLLOW)
		res |= PPM_EXVAT_AT_SYMLINK_NOFOLLOW;
	return res;
}

/*
 * ptrace requests by their x86-64 ABI numbers (the probes cannot include the arch's ptrace headers
 * next to the kernel's own pt_regs).
 */
static inline __u16 ptrace_request_to_ppm(unsigned long req)
{
	switch (req) {
	case 0:
		return PPM_PTRACE_TRACEME;
	case 1:
		return PPM_PTRACE_PEEKTEXT;
	case 2:
		return PPM_PTRACE_PEEKDATA;
	case 3:
		return PPM_PTRACE_PEEKUSR;
	case 4:
		return PPM_PTRACE_POKETEXT;
	case 5:
		return PPM_PTRACE_POKEDATA;
	case 6:
		return PPM_PTRACE_POKEUSR;
	case 7:
		return PPM_PTRACE_CONT;
	case 8:
		return PPM_PTRACE_KILL;
	case 9:
		return PPM_PTRACE_SINGLESTEP;
	case 12:
		return PPM_PTRACE_GETREGS;
	case 13:
		return PPM_PTRACE_SETREGS;
	case 14:
		return PPM_PTRACE_GETFPREGS;
	case 15:
		return PPM_PTRACE_SETFPREGS;
	case 16:
		return PPM_PTRACE_ATTACH;
	case 17:
		return PPM_PTRACE_DETACH;
	case 18:
		return PPM_PTRACE_GETFPXREGS;
	case 19:
		return PPM_PTRACE_SETFPXREGS;
	case 21:
		return PPM_PTRACE_OLDSETOPTIONS;
	case 24:
		return PPM_PTRACE_SYSCALL;
	case 25:
		return PPM_PTRACE_GET_THREAD_AREA;
	case 26:
		return PPM_PTRACE_SET_THREAD_AREA;
	case 30:
		return PPM_PTRACE_ARCH_PRCTL;
	case 31:
		return PPM_PTRACE_SYSEMU;
	case 32:
		return PPM_PTRACE_SYSEMU_SINGLESTEP;
	case 33:
		return PPM_PTRACE_SINGLEBLOCK;
	case 0x4200:
		return PPM_PTRACE_SETOPTIONS;
	case 0x4201:
		return PPM_PTRACE_GETEVENTMSG;
	case 0x4202:
		return PPM_PTRACE_GETSIGINFO;
	case 0x4203:
		return PPM_PTRACE_SETSIGINFO;
	case 0x4204:
		return PPM_PTRACE_GETREGSET;
	case 0x4205:
		return PPM_PTRACE_SETREGSET;
	case 0x4206:
		return PPM_PTRACE_SEIZE;
	case 0x4207:
		return PPM_PTRACE_INTERRUPT;
	case 0x4208:
		return PPM_PTRACE_LISTEN;
	case 0x4209:
		return PPM_PTRACE_PEEKSIGINFO;
	case 0x420a:
		return PPM_PTRACE_GETSIGMASK;
	case 0x420b:
		return PPM_PTRACE_SETSIGMASK;
	default:
		return PPM_PTRACE_UNKNOWN;
	}
}

/*
 * What ptrace's exit reports of its data argument: a PT_DYN value, an index into ptrace_dynamic_param
 * first. A resume reports the signal delivered, the rest a number (a peek: the word read).
 */
static inline __u8 ptrace_data_kind(__u16 ppm_req)
{
	switch (ppm_req) {
	case PPM_PTRACE_CONT:
	case PPM_PTRACE_SYSCALL:
	case PPM_PTRACE_SINGLESTEP:
	case PPM_PTRACE_DETACH:
	case PPM_PTRACE_SYSEMU:
	case PPM_PTRACE_SYSEMU_SINGLESTEP:
	case PPM_PTRACE_SINGLEBLOCK:
		return PPM_PTRACE_IDX_SIGTYPE;
	default:
		return PPM_PTRACE_IDX_UINT64;
	}
}

static inline bool ptrace_is_peek(__u16 ppm_req)
{
	return ppm_req == PPM_PTRACE_PEEKTEXT || ppm_req == PPM_PTRACE_PEEKDATA || ppm_req == PPM_PTRACE_PEEKUSR;
}

static inline __u8 fcntl_cmd_to_ppm(unsigned long cmd)
{
	switch (cmd) {
	case F_DUPFD:
		return PPM_FCNTL_F_DUPFD;
	case F_GETFD:
		return PPM_FCNTL_F_GETFD;
	case F_SETFD:
		return PPM_FCNTL_F_SETFD;
	case F_GETFL:
		return PPM_FCNTL_F_GETFL;
	case F_SETFL:
		return PPM_FCNTL_F_SETFL;
	case F_GETLK:
		return PPM_FCNTL_F_GETLK;
	case F_SETLK:
		return PPM_FCNTL_F_SETLK;
	case F_SETLKW:
		return PPM_FCNTL_F_SETLKW;
	case F_SETOWN:
		return PPM_FCNTL_F_SETOWN;
	case F_GETOWN:
		return PPM_FCNTL_F_GETOWN;
	case F_SETSIG:
		return PPM_FCNTL_F_SETSIG;
	case F_GETSIG:
		return PPM_FCNTL_F_GETSIG;
	case F_SETOWN_EX:
		return PPM_FCNTL_F_SETOWN_EX;
	case F_GETOWN_EX:
		return PPM_FCNTL_F_GETOWN_EX;
	case F_SETLEASE:
		return PPM_FCNTL_F_SETLEASE;
	case F_GETLEASE:
		return PPM_FCNTL_F_GETLEASE;
	case F_CANCELLK:
		return PPM_FCNTL_F_CANCELLK;
	case F_DUPFD_CLOEXEC:
		return PPM_FCNTL_F_DUPFD_CLOEXEC;
	case F_NOTIFY:
		return PPM_FCNTL_F_NOTIFY;
	case F_SETPIPE_SZ:
		return PPM_FCNTL_F_SETPIPE_SZ;
	case F_GETPIPE_SZ:
		return PPM_FCNTL_F_GETPIPE_SZ;
	case F_OFD_GETLK:
		return PPM_FCNTL_F_OFD_GETLK;
	case F_OFD_SETLK:
		return PPM_FCNTL_F_OFD_SETLK;
	case F_OFD_SETLKW:
		return PPM_FCNTL_F_OFD_SETLKW;
	default:
		return PPM_FCNTL_UNKNOWN;
	}
}

/* The PPM_LOCK_* bits are flock's own. */
static inline __u32 flock_flags_to_ppm(unsigned long op)
{
	return op & (PPM_LOCK_SH | PPM_LOCK_EX | PPM_LOCK_NB | PPM_LOCK_UN);
}

/* The command (FUTEX_CMD_MASK) keeps its number; the private and clock bits keep theirs. */
static inline __u16 futex_op_to_ppm(unsigned long op)
{
	__u16 cmd = op & 127;

	if (cmd > PPM_FU_FUTEX_CMP_REQUEUE_PI)
		cmd = 0;
	return cmd | (op & (PPM_FU_FUTEX_PRIVATE_FLAG | PPM_FU_FUTEX_CLOCK_REALTIME));
}

/* SEEK_SET, SEEK_CUR and SEEK_END are 0, 1, 2 in both; others (SEEK_DATA, SEEK_HOLE) are sent as 0. */
static inline __u8 lseek_whence_to_ppm(unsigned long whence)
{
	return whence <= PPM_SEEK_END ? whence : 0;
}

/* The resource numbers are Linux's own, up to RLIMIT_RTTIME. */
static inline __u8 rlimit_resource_to_ppm(unsigned long resource)
{
	return resource <= PPM_RLIMIT_RTTIME ? resource : PPM_RLIMIT_UNKNOWN;
}

/* access(2)'s R_OK, W_OK, X_OK (4, 2, 1) are the PPM bits; F_OK (0) is PPM_F_OK. */
static inline __u32 access_flags_to_ppm(unsigned long mode)
{
	return mode & (PPM_R_OK | PPM_W_OK | PPM_X_OK);
}

static inline __u32 linkat_flags_to_ppm(unsigned long flags)
{
	__u32 res = 0;

	if (flags & AT_SYMLINK_FOLLOW)
		res |= PPM_AT_SYMLINK_FOLLOW;
	if (flags & AT_EMPTY_PATH)
		res |= PPM_AT_EMPTY_PATH;
	return res;
}

/* mount(2) ignores a magic number in the top half of its flags (MS_MGC_VAL, from before 2.4). */
static inline __u32 mount_flags_to_ppm(unsigned long flags)
{
	if ((flags & 0xffff0000) == 0xc0ed0000)
		flags &= 0xffff;
	return flags;
}

/* The semctl(2) commands of libs' table (IPC_* from linux/ipc.h, the rest from linux/sem.h). */
static inline __u16 semctl_cmd_to_ppm(unsigned long cmd)
{
	switch (cmd) {
	case 0:
		return PPM_IPC_RMID;
	case 1:
		return PPM_IPC_SET;
	case 2:
		return PPM_IPC_STAT;
	case 3:
		return PPM_IPC_INFO;
	case 18:
		return PPM_SEM_STAT;
	case 19:
		return PPM_SEM_INFO;
	case 11:
		return PPM_GETPID;
	case 12:
		return PPM_GETVAL;
	case 13:
		return PPM_GETALL;
	case 14:
		return PPM_GETNCNT;
	case 15:
		return PPM_GETZCNT;
	case 16:
		return PPM_SETVAL;
	case 17:
		return PPM_SETALL;
	default:
		return 0;
	}
}

/* IPC_CREAT (01000) and IPC_EXCL (02000). */
static inline __u32 semget_flags_to_ppm(unsigned long flags)
{
	__u32 res = 0;

	if (flags & 01000)
		res |= PPM_IPC_CREAT;
	if (flags & 02000)
		res |= PPM_IPC_EXCL;
	return res;
}

/* IPC_NOWAIT (04000) and SEM_UNDO (0x1000). */
static inline __u16 semop_flags_to_ppm(unsigned long flags)
{
	__u16 res = 0;

	if (flags & 04000)
		res |= PPM_IPC_NOWAIT;
	if (flags & 0x1000)
		res |= PPM_SEM_UNDO;
	return res;
}

/* poll(2)'s event bits (asm-generic/poll.h values) to libs' order. */
static inline __u16 poll_events_to_ppm(unsigned long events)
{
	__u16 res = events & (PPM_POLLIN | PPM_POLLPRI | PPM_POLLOUT);

	if (events & 0x2000)
		res |= PPM_POLLRDHUP;
	/* POLLERR through POLLWRBAND (0x8 to 0x200) sit one bit lower than libs' bits. */
	res |= (events & 0x3f8) << 1;
	return res;
}

#endif /* PPM_FLAGS_CONV_H_ */
