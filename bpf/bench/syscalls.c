// SPDX-License-Identifier: GPL-2.0-only
/*
 * Times system calls for the capture-overhead benchmarks: N getppid calls and N open/close pairs of a
 * file, each reported as nanoseconds per call (per pair), best of R rounds.
 * Usage: syscalls [N] [ROUNDS] [FILE]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	const char *file = argc > 3 ? argv[3] : "/etc/hostname";
	double best_getppid = 1e18, best_open = 1e18;

	for (int r = 0; r < rounds; r++) {
		double t0 = now_ns();

		for (long i = 0; i < n; i++)
			getppid();
		double t1 = now_ns();

		for (long i = 0; i < n / 4; i++)
			close(open(file, O_RDONLY));
		double t2 = now_ns();

		if ((t1 - t0) / n < best_getppid)
			best_getppid = (t1 - t0) / n;
		if ((t2 - t1) / (n / 4) < best_open)
			best_open = (t2 - t1) / (n / 4);
	}
	printf("getppid_ns %.1f\nopen_close_ns %.1f\nsyscalls %ld\n", best_getppid, best_open,
	       (long)rounds * (n + n / 2));
	return 0;
}
