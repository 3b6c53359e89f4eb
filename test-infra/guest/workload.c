/* SPDX-License-Identifier: Apache-2.0
 *
 * The guest workload of `drivers test`: system calls whose number and arguments are known, so that a
 * capture can be checked exactly on the host. The counts come from the build (-D flags written by
 * test-infra/src/drivertest.rs, where the host's expectations live), so the two cannot drift apart.
 * It prints nothing: a write to the console would be one more call to account for.
 *
 *   workload          the counted run
 *   workload child    what the counted run's fork execs: exits with CHILD_STATUS
 *   workload storm    STORM_CALLS getppid, as fast as they go
 *   workload ping     PING_CALLS getppid: a few events to prove a capture sees anything
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef OPENS
#error "build through test_infra::drivertest, which passes the counts"
#endif

static int counted(const char *self) {
    static const char payload[] = PAYLOAD;
    char buf[64];
    /* The file the reads read: created and written once. */
    int fd = open(DATA_FILE, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0 || write(fd, payload, sizeof payload - 1) != (ssize_t)(sizeof payload - 1))
        return 2;
    close(fd);
    for (int i = 0; i < OPENS; i++) {
        fd = open(DATA_FILE, O_RDONLY);
        if (fd < 0)
            return 3;
        if (read(fd, buf, sizeof buf) != (ssize_t)(sizeof payload - 1))
            return 4;
        close(fd);
    }
    for (int i = 0; i < FAILED_OPENS; i++)
        if (open(MISSING_FILE, O_RDONLY) >= 0)
            return 5;
    for (int i = 0; i < GETPPIDS; i++)
        syscall(SYS_getppid);
    if (rename(DATA_FILE, RENAMED_FILE) != 0 || unlink(RENAMED_FILE) != 0)
        return 6;

    int l = socket(AF_INET, SOCK_STREAM, 0), s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(TCP_PORT)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l, (void *)&a, sizeof a) != 0 || listen(l, 1) != 0 || connect(s, (void *)&a, sizeof a) != 0)
        return 7;
    int c = accept(l, NULL, NULL);
    if (c < 0 || write(s, TCP_MESSAGE, sizeof TCP_MESSAGE - 1) != sizeof TCP_MESSAGE - 1 ||
        read(c, buf, sizeof TCP_MESSAGE - 1) != sizeof TCP_MESSAGE - 1)
        return 8;
    close(c);
    close(s);
    close(l);

    pid_t p = fork();
    if (p == 0) {
        execl(self, self, "child", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (p < 0 || waitpid(p, &status, 0) != p || !WIFEXITED(status) || WEXITSTATUS(status) != CHILD_STATUS)
        return 9;
    return 0;
}

static void calls(long n) {
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return CHILD_STATUS;
    if (argc > 1 && strcmp(argv[1], "storm") == 0) {
        calls(STORM_CALLS);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "ping") == 0) {
        calls(PING_CALLS);
        return 0;
    }
    return counted(argv[0]);
}
