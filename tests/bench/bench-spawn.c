/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Child processes of the bench (the daemon, QEMU): started with their
 * output in a log file, stopped by PID with a bounded wait. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

int bench_spawn(char **argv, char **envp, const char *log_path, BenchChild *ret)
{
        pid_t pid;

        /* Only async-signal-safe calls between fork and exec: the bench has threads. */
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (null >= 0)
                        dup2(null, STDIN_FILENO);
                if (log >= 0) {
                        dup2(log, STDOUT_FILENO);
                        dup2(log, STDERR_FILENO);
                }
                execve(argv[0], argv, envp);
                _exit(127);
        }
        ret->pid = pid;
        ret->pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        return 0;
}

bool bench_child_exited(BenchChild *c)
{
        struct pollfd pfd = {.fd = c->pidfd, .events = POLLIN};

        return c->pid <= 0 || (c->pidfd >= 0 && poll(&pfd, 1, 0) == 1);
}

int bench_child_stop(BenchChild *c, int signal_first)
{
        struct pollfd pfd = {.fd = c->pidfd, .events = POLLIN};
        int status = 0;

        if (c->pid <= 0)
                return 0;
        kill(c->pid, signal_first);
        if (c->pidfd >= 0 && poll(&pfd, 1, BENCH_TIMEOUT_MS) != 1) {
                progress("pid %d ignored signal %d; killing it", (int) c->pid, signal_first);
                kill(c->pid, SIGKILL);
        }
        waitpid(c->pid, &status, 0);
        if (c->pidfd >= 0)
                close(c->pidfd);
        c->pid = 0;
        c->pidfd = -1;
        return status;
}
