// SPDX-License-Identifier: GPL-2.0-only
/* A second deterministic workload: pipes, dup, chmod family, memory maps, vectored I/O, UDP, set*id. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
	int p[2], fd, s, r;
	char buf[64];
	struct iovec out[2] = { { "hello ", 6 }, { "world", 5 } };
	struct iovec in[2] = { { buf, 6 }, { buf + 6, 5 } };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(5353) };
	void *m;

	if (pipe(p) == 0) {
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
	close(s);
	close(r);
	setgid(0);
	setuid(0);
	return 0;
}
