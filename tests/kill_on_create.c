/*
 * Helper of test_kill.sh and test_interrupt.sh: sends a process SIGKILL (or
 * another signal) the moment a file
 * whose name starts with a prefix is created in a folder (as clcnn_net_save
 * creates its temporary file), after an optional delay, so that the kill
 * lands inside the save: during the write, the fsync or the rename. A shell
 * loop polling for the file is far too slow to catch a save of a few
 * milliseconds. Linux only (inotify).
 *
 * Usage: kill_on_create DIR PREFIX PID DELAY_US TIMEOUT_S [SIGNAL_NUMBER]
 * Exit: 0 signalled after a creation, 1 signalled at the timeout, 2 usage or
 * system error, 3 the process ended before.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: kill_on_create DIR PREFIX PID DELAY_US TIMEOUT_S "
                        "[SIGNAL_NUMBER]\n");
        return 2;
    }
    int sig = argc == 7 ? atoi(argv[6]) : SIGKILL;
    const char *dir = argv[1], *prefix = argv[2];
    pid_t pid = (pid_t)atol(argv[3]);
    long delay_us = atol(argv[4]);
    int timeout_ms = atoi(argv[5]) * 1000;
    int fd = inotify_init1(IN_CLOEXEC);
    if (fd < 0 || inotify_add_watch(fd, dir, IN_CREATE) < 0) {
        fprintf(stderr, "kill_on_create: inotify on %s: %s\n", dir, strerror(errno));
        return 2;
    }
    size_t prefix_len = strlen(prefix);
    union {
        struct inotify_event first; /* aligns the buffer for the events */
        char bytes[4096];
    } buf;
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        if (kill(pid, 0) != 0)
            return 3;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(fd, buf.bytes, sizeof buf.bytes);
        for (ssize_t at = 0; at < n;) {
            const struct inotify_event *e = (const struct inotify_event *)(buf.bytes + at);
            if (e->len && strncmp(e->name, prefix, prefix_len) == 0) {
                if (delay_us > 0)
                    nanosleep(&(struct timespec){delay_us / 1000000, delay_us % 1000000 * 1000},
                              NULL);
                kill(pid, sig);
                return 0;
            }
            at += (ssize_t)sizeof *e + e->len;
        }
    }
    kill(pid, sig);
    return 1;
}
