/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "async-close.h"
#include "fd-util.h"
#include "fuse-trap.h"
#include "test-timeout.h"

static int open_devnull(void)
{
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        return fd;
}

static bool is_open(int fd)
{
        return fcntl(fd, F_GETFD) >= 0;
}

/* Handed over, closed by a closer: the number is free again once the
 * closers are idle, and nothing else was touched. */
static void test_closes(void)
{
        int before = fd_count_open(), p[2];

        g_assert_cmpint(async_close_init(), ==, 0);
        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        async_close(p[0]);
        async_close(-1);
        g_assert_true(async_close_wait_idle(TEST_TIMEOUT_MS));
        g_assert_false(is_open(p[0]));
        g_assert_true(is_open(p[1]));
        close(p[1]);
        g_assert_cmpint(fd_count_open(), ==, before);
        g_assert_cmpuint(async_close_pending(), ==, 0);
}

static void note_done(void *userdata)
{
        (*(unsigned *) userdata)++;
}

/* Replace: the slot stays open (now /dev/null), the old file is let go (the
 * pipe's other end sees the hangup), done runs from dispatch. */
static void test_replace(void)
{
        unsigned done = 0;
        struct stat st, null_st;
        struct pollfd pfd;
        int p[2];

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        g_assert_cmpint(async_close_replace(-1, note_done, &done), ==, -EINVAL);
        g_assert_cmpint(async_close_replace(p[0], note_done, &done), ==, 0);
        g_assert_true(async_close_wait_idle(TEST_TIMEOUT_MS));
        g_assert_cmpuint(done, ==, 1);
        g_assert_cmpint(fstat(p[0], &st), ==, 0);
        g_assert_cmpint(stat("/dev/null", &null_st), ==, 0);
        g_assert_true(st.st_rdev == null_st.st_rdev && S_ISCHR(st.st_mode));
        pfd = (struct pollfd){.fd = p[1], .events = POLLOUT};
        g_assert_cmpint(poll(&pfd, 1, 0), ==, 1);
        g_assert_true(pfd.revents & POLLERR); /* no reader left */
        close(p[0]);
        close(p[1]);
}

/* A burst of thousands: all closed, none lost. */
static void test_burst(void)
{
        int before = fd_count_open();

        for (int i = 0; i < 5000; i++)
                async_close(open_devnull());
        g_assert_true(async_close_wait_idle(TEST_TIMEOUT_MS));
        g_assert_cmpint(fd_count_open(), ==, before);
}

/* A file whose FUSE server never answers FLUSH: async_close() returns at
 * once, the closer that took it is stuck, and other fds are still closed
 * meanwhile by another closer. */
static void test_fuse_flush_stuck(void)
{
        g_autofree char *dir = g_dir_make_tmp("async-close-XXXXXX", NULL);
        FuseTrap *t = fuse_trap_new(dir);
        int fuse_fd = fuse_trap_open(t), p[2];
        gint64 start;

        g_assert_cmpint(async_close_init(), ==, 0);
        fuse_trap_spring(t, getpid());
        start = g_get_monotonic_time();
        async_close(fuse_fd);
        /* Returned at once; the closer sits in FLUSH. */
        g_assert_true(fuse_trap_wait_stalled(t, 1, TEST_TIMEOUT_MS));
        g_assert_cmpuint(fuse_trap_stalled(t, 0), ==, 1);
        g_test_message(
            "async_close of the trapped file returned; FLUSH stalled after %" G_GINT64_FORMAT " us",
            g_get_monotonic_time() - start);

        /* Another fd is still closed, by another closer. */
        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        async_close(p[0]);
        for (gint64 end = g_get_monotonic_time() + TEST_TIMEOUT_USEC;
             is_open(p[0]) && g_get_monotonic_time() < end;)
                g_usleep(1000);
        g_assert_false(is_open(p[0]));
        close(p[1]);
        g_assert_cmpuint(async_close_pending(), ==, 1);

        /* The server lets go (the connection is aborted): the closer ends. */
        fuse_trap_free(t);
        g_assert_true(async_close_wait_idle(TEST_TIMEOUT_MS));
        g_assert_cmpint(rmdir(dir), ==, 0);
}

/* The process ends at once while its closer is stuck in a FLUSH: a closer
 * thread would keep it (and everything its fd table holds) alive until the
 * FUSE server answered, whatever signal it got. */
static void test_exit_while_stuck(void)
{
        g_autofree char *dir = g_dir_make_tmp("async-close-XXXXXX", NULL);
        FuseTrap *t = fuse_trap_new(dir);
        int fuse_fd = fuse_trap_open(t), go[2], status;
        gint64 start, took;
        pid_t pid;
        char c = 0;

        g_assert_cmpint(pipe2(go, O_CLOEXEC), ==, 0);
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                /* The process under test (after fork, with closers of its
                 * own): hands the file over, waits to be told. */
                close(go[1]);
                async_close(fuse_fd);
                _exit(read(go[0], &c, 1) == 1 ? 0 : 1);
        }
        fuse_trap_spring(t, pid);
        g_assert_true(fuse_trap_wait_stalled(t, 1, TEST_TIMEOUT_MS));
        g_assert_cmpuint(fuse_trap_stalled(t, 25 /* FUSE_FLUSH */), ==, 1);

        start = g_get_monotonic_time();
        g_assert_cmpint(write(go[1], &c, 1), ==, 1);
        while (waitpid(pid, &status, WNOHANG) == 0 &&
               g_get_monotonic_time() - start < TEST_TIMEOUT_USEC)
                g_usleep(1000);
        took = g_get_monotonic_time() - start;
        g_test_message("exited %" G_GINT64_FORMAT " us after being told, its closer stuck", took);
        g_assert_cmpint(took, <, G_USEC_PER_SEC);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

        fuse_trap_free(t); /* the stuck closer ends with the connection */
        close(fuse_fd);
        close(go[0]);
        close(go[1]);
        g_assert_cmpint(rmdir(dir), ==, 0);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/async-close/closes", test_closes);
        g_test_add_func("/async-close/replace", test_replace);
        g_test_add_func("/async-close/burst", test_burst);
        FUSE_TEST_ADD_FUNC("/async-close/fuse-flush-stuck", test_fuse_flush_stuck);
        FUSE_TEST_ADD_FUNC("/async-close/exit-while-stuck", test_exit_while_stuck);
        return g_test_run();
}
