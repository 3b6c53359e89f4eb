// SPDX-License-Identifier: GPL-2.0-only
/*
 * A minimal consumer of the driver for tests in a VM: maps /dev/<dev>0, enables capture, runs a
 * command, then counts the recorded events by type and prints a few of them.
 * Usage: reader DEVICE COMMAND [ARGS...]
 */
#include <fcntl.h>
#include <linux/types.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../ppm_ioctl.h"
#include "../ppm_ringbuffer.h"

#define RING (8 * 1024 * 1024)

struct __attribute__((packed)) hdr {
	uint64_t ts, tid;
	uint32_t len;
	uint16_t type;
	uint32_t nparams;
};

int main(int argc, char **argv)
{
	static unsigned long counts[400];
	struct ppm_ring_buffer_info *info;
	uint64_t api = 0;
	char *buf;
	int fd, status;
	pid_t child;

	if (argc < 3)
		return 2;
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	info = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	buf = mmap(NULL, 2 * RING, PROT_READ, MAP_SHARED, fd, 0);
	if (info == MAP_FAILED || buf == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (ioctl(fd, PPM_IOCTL_GET_API_VERSION, &api) || ioctl(fd, PPM_IOCTL_ENABLE_CAPTURE, 0)) {
		perror("ioctl");
		return 1;
	}
	printf("RESULT api %llu.%llu.%llu\n", (unsigned long long)(api >> 44),
	       (unsigned long long)((api >> 24) & 0xfffff), (unsigned long long)(api & 0xffffff));
	child = fork();
	if (child == 0) {
		execv(argv[2], argv + 2);
		_exit(127);
	}
	waitpid(child, &status, 0);
	ioctl(fd, PPM_IOCTL_DISABLE_CAPTURE, 0);
	{
		uint32_t tail = info->tail, head = info->head;
		unsigned long total = 0, bad = 0;

		while (tail != head) {
			struct hdr *h = (struct hdr *)(buf + tail);

			if (h->len < sizeof(*h) || h->type >= 400) {
				bad++;
				break;
			}
			if (h->tid == (uint64_t)child)
				counts[h->type]++;
			total++;
			tail = (tail + h->len) % RING;
		}
		info->tail = tail;
		printf("RESULT total %lu\nRESULT bad %lu\n", total, bad);
		printf("RESULT drops %llu\n", (unsigned long long)info->n_drops_buffer);
	}
	for (int i = 0; i < 400; i++)
		if (counts[i])
			printf("RESULT type%d %lu\n", i, counts[i]);
	return 0;
}
