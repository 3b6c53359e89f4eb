// SPDX-License-Identifier: GPL-2.0-only
/*
 * A second deterministic workload: pipes, dup, chmod family, memory maps, vectored I/O, UDP with
 * sendto/recvfrom and sendmsg/recvmsg, openat2, ptrace of a child, execveat, set*id. Prints what the
 * test cannot know in advance (the pipe's inode, the word the tracer peeks).
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

static unsigned long peeked = 0x5ca9e5ca9e;

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
	trace_a_child();
	setgid(0);
	setuid(0);
	return 0;
}
