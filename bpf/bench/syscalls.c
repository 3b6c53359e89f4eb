// SPDX-License-Identifier: GPL-2.0-only
/*
 * Times system calls for the capture-overhead benchmarks: N getppid calls and N/4 open/close pairs of
 * a file, each reported as nanoseconds per call (per pair), best of R rounds.
 * Usage: syscalls [N] [ROUNDS] [FILE]
 *        syscalls pace RATE SECONDS   getppid at RATE calls a second (in 1 ms slices), for a consumer
 *                                     that must keep up with a known event rate
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Calls getppid `rate` times a second for `seconds`: each millisecond's share, then a wait. */
static int pace(long rate, double seconds)
{
	long per_slice = rate / 1000, calls = 0;
	double start = now_ns(), end = start + seconds * 1e9, slice = start;

	while (slice < end) {
		for (long i = 0; i < per_slice; i++)
			getppid();
		calls += per_slice;
		slice += 1e6;
		while (now_ns() < slice)
			;
	}
	printf("paced_calls %ld\npaced_rate %.0f\n", calls, calls / ((now_ns() - start) / 1e9));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "pace"))
		return pace(atol(argv[2]), atof(argv[3]));

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
