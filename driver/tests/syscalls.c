// SPDX-License-Identifier: GPL-2.0-only
/*
 * A second deterministic workload: pipes, dup, chmod family, memory maps, vectored I/O, UDP with
 * sendto/recvfrom and sendmsg/recvmsg, openat2, ptrace of a child, execveat, set*id, and the calls whose
 * arguments only dedicated fillers read (fcntl, links, stat, access, flock, lseek, limits, socketpair,
 * ids, futex, ioctl, mount, unshare, sleep, poll). Prints what the test cannot know in advance (the
 * pipe's inode, the word the tracer peeks, limits, the socketpair's fds).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <time.h>

static unsigned long peeked = 0x5ca9e5ca9e;

/* Paths live on the stack, so that their pages are present when the probes read them. */
static void files_and_fds(void)
{
	char f[] = "/tmp/f", hard[] = "/tmp/f.hard", soft[] = "/tmp/f.soft", hard2[] = "/tmp/f.hard2";
	char soft2[] = "/tmp/f.soft2", cwd[256];
	struct stat st;
	int fd = open(f, O_RDWR);
	int n = 0;

	syscall(SYS_fcntl, fd, F_GETFL);
	syscall(SYS_fcntl, fd, F_DUPFD, 10);
	close(10);
	syscall(SYS_link, f, hard);
	syscall(SYS_linkat, AT_FDCWD, f, AT_FDCWD, hard2, AT_SYMLINK_FOLLOW);
	syscall(SYS_symlink, f, soft);
	syscall(SYS_symlinkat, f, AT_FDCWD, soft2);
	syscall(SYS_stat, f, &st);
	syscall(SYS_lstat, soft, &st);
	syscall(SYS_access, f, R_OK | W_OK);
	syscall(SYS_flock, fd, LOCK_EX | LOCK_NB);
	syscall(SYS_lseek, fd, 5, SEEK_SET);
	syscall(SYS_ioctl, fd, FIONREAD, &n);
	syscall(SYS_getcwd, cwd, sizeof(cwd));
	unlink(hard);
	unlink(hard2);
	unlink(soft);
	unlink(soft2);
	close(fd);
}

static void limits_ids_and_the_rest(void)
{
	char none[] = "none", dir[] = "/nonexistent", type[] = "tmpfs";
	struct rlimit old = { 0 }, core = { 0 };
	struct timespec nap = { 0, 1000 };
	uid_t r, e, s;
	int sv[2] = { -1, -1 };
	int word = 0;
	struct pollfd p[2];

	syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &old);
	syscall(SYS_getrlimit, RLIMIT_CORE, &core);
	printf("nofile_cur=%lld\nnofile_max=%lld\ncore_cur=%lld\ncore_max=%lld\n", (long long)old.rlim_cur,
	       (long long)old.rlim_max, (long long)core.rlim_cur, (long long)core.rlim_max);
	syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv);
	printf("pair_fd1=%d\npair_fd2=%d\n", sv[0], sv[1]);
	p[0].fd = sv[0];
	p[0].events = POLLIN;
	p[1].fd = sv[1];
	p[1].events = POLLOUT;
	syscall(SYS_poll, p, 2, 0);
	close(sv[0]);
	close(sv[1]);
	close(syscall(SYS_eventfd2, 7, 0));
	syscall(SYS_getuid);
	syscall(SYS_geteuid);
	syscall(SYS_getresuid, &r, &e, &s);
	syscall(SYS_setresuid, -1, -1, -1);
	syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	syscall(SYS_mount, none, dir, type, MS_RDONLY, NULL);
	syscall(SYS_umount2, dir, MNT_DETACH);
	syscall(SYS_unshare, CLONE_NEWUTS);
	syscall(SYS_nanosleep, &nap, NULL);
	syscall(SYS_setpgid, 0, 0);
}

/* A child stops for its tracer, which peeks a word of its memory and lets it go on to execveat. */
static void trace_a_child(void)
{
	char *const argv[] = { "true", NULL };
	char *const envp[] = { NULL };
	/* On the stack, so that its page is present: probes read user memory without faulting it in. */
	char path[] = "/bin/true";
	pid_t child = fork();
	int status;

	if (child == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		syscall(SYS_execveat, AT_FDCWD, path, argv, envp, 0);
		_exit(127);
	}
	waitpid(child, &status, 0);
	printf("peek=%ld\n", ptrace(PTRACE_PEEKDATA, child, &peeked, NULL));
	ptrace(PTRACE_CONT, child, NULL, NULL);
	waitpid(child, &status, 0);
}

int main(void)
{
	int p[2], fd, s, r;
	char buf[64];
	struct iovec out[2] = { { "hello ", 6 }, { "world", 5 } };
	struct iovec in[2] = { { buf, 6 }, { buf + 6, 5 } };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(5353) };
	void *m;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (pipe(p) == 0) {
		struct stat st;

		fstat(p[0], &st);
		printf("pipe_ino=%lu\n", (unsigned long)st.st_ino);
		write(p[1], "abc", 3);
		read(p[0], buf, 3);
		dup2(p[0], 10);
		close(10);
	}
	fd = open("/tmp/f", O_CREAT | O_RDWR | O_TRUNC, 0644);
	chmod("/tmp/f", 0600);
	fchmod(fd, 0640);
	chdir("/tmp");
	fchmodat(AT_FDCWD, "f", 0644, 0);
	writev(fd, out, 2);
	lseek(fd, 0, SEEK_SET);
	readv(fd, in, 2);
	close(fd);
	m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(m, 8192, PROT_READ);
	munmap(m, 8192);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	r = socket(AF_INET, SOCK_DGRAM, 0);
	bind(r, (struct sockaddr *)&a, sizeof(a));
	sendto(s, "udp!", 4, 0, (struct sockaddr *)&a, sizeof(a));
	{
		struct sockaddr_in from;
		socklen_t len = sizeof(from);

		recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
	}
	{
		struct sockaddr_in from;
		struct iovec iov[2] = { { "msg", 3 }, { "!!", 2 } };
		struct msghdr out_msg = { .msg_name = &a, .msg_namelen = sizeof(a), .msg_iov = iov, .msg_iovlen = 2 };
		struct iovec rin = { buf, sizeof(buf) };
		struct msghdr in_msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &rin, .msg_iovlen = 1 };

		sendmsg(s, &out_msg, 0);
		recvmsg(r, &in_msg, 0);
	}
	close(s);
	close(r);
	{
		struct open_how how = { .flags = O_RDONLY, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH };

		close(syscall(SYS_openat2, AT_FDCWD, "f", &how, sizeof(how)));
	}
	files_and_fds();
	limits_ids_and_the_rest();
	trace_a_child();
	setgid(0);
	setuid(0);
	return 0;
}
