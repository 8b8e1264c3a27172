/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "fd-util.h"
#include "fuse-trap.h"
#include "test-timeout.h"

static int open_devnull(void)
{
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        return fd;
}

static void test_close_safe(void)
{
        int fd = open_devnull(), none = -1;

        errno = 1234;
        fd_close_safe(&fd);
        g_assert_cmpint(fd, ==, -1);
        g_assert_cmpint(errno, ==, 1234);

        fd_close_safe(&none);
        g_assert_cmpint(none, ==, -1);
        g_assert_cmpint(errno, ==, 1234);
}

static void test_close_safe_closes(void)
{
        int fd = open_devnull(), copy = fd;

        fd_close_safe(&fd);
        g_assert_cmpint(fcntl(copy, F_GETFD), <, 0);
        g_assert_cmpint(errno, ==, EBADF);
}

static void test_cleanup_close(void)
{
        int before = fd_count_open(), number;

        g_assert_cmpint(before, >, 0);
        {
                _cleanup_close_ int fd = open_devnull();

                number = fd;
                g_assert_cmpint(fd_count_open(), ==, before + 1);
        }
        g_assert_cmpint(fd_count_open(), ==, before);
        g_assert_cmpint(fcntl(number, F_GETFD), <, 0);

        /* g_steal_fd hands the fd on: the cleanup leaves it alone. */
        {
                _cleanup_close_ int fd = open_devnull();

                number = g_steal_fd(&fd);
        }
        g_assert_cmpint(fcntl(number, F_GETFD), >=, 0);
        g_assert_cmpint(fd_count_open(), ==, before + 1);
        close(number);
}

static void test_count_open(void)
{
        int before = fd_count_open(), p[2];

        g_assert_cmpint(before, >=, 0);
        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        g_assert_cmpint(fd_count_open(), ==, before + 2);
        close(p[0]);
        g_assert_cmpint(fd_count_open(), ==, before + 1);
        close(p[1]);
        g_assert_cmpint(fd_count_open(), ==, before);
}

static int memfd_with_seals(int seals)
{
        int fd = memfd_create("seals", MFD_ALLOW_SEALING | MFD_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(ftruncate(fd, 4096), ==, 0);
        if (seals)
                g_assert_cmpint(fcntl(fd, F_ADD_SEALS, seals), ==, 0);
        return fd;
}

static void test_is_sealed_memfd(void)
{
        _cleanup_close_ int none = memfd_with_seals(0);
        _cleanup_close_ int shrink = memfd_with_seals(F_SEAL_SHRINK);
        _cleanup_close_ int grow = memfd_with_seals(F_SEAL_GROW);
        _cleanup_close_ int both = memfd_with_seals(F_SEAL_SHRINK | F_SEAL_GROW);
        _cleanup_close_ int no_sealing = memfd_create("no-sealing", MFD_CLOEXEC);

        g_assert_cmpint(fd_is_memfd(none), ==, 1);
        g_assert_cmpint(fd_is_sealed_memfd(none), ==, 0);
        g_assert_cmpint(fd_is_sealed_memfd(shrink), ==, 0);
        g_assert_cmpint(fd_is_sealed_memfd(grow), ==, 0);
        /* Writable but fixed in size: accepted on purpose (see fd-util.h). */
        g_assert_cmpint(fd_is_sealed_memfd(both), ==, 1);
        g_assert_cmpint(pwrite(both, "x", 1, 0), ==, 1);
        /* Created without MFD_ALLOW_SEALING: only F_SEAL_SEAL. */
        g_assert_cmpint(fd_is_memfd(no_sealing), ==, 1);
        g_assert_cmpint(fd_is_sealed_memfd(no_sealing), ==, 0);
}

static void test_not_buffers(void)
{
        g_autofree char *path = NULL;
        _cleanup_close_ int file = -1;
        _cleanup_close_ int dn = open_devnull();
        int p[2], closed;

        file = g_file_open_tmp("fd-util-XXXXXX", &path, NULL);
        g_assert_cmpint(file, >=, 0);
        g_unlink(path);
        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);

        for (int i = 0; i < 3; i++) {
                int fd = i == 0 ? file : i == 1 ? p[0] : dn;

                g_assert_cmpint(fd_is_memfd(fd), ==, 0);
                g_assert_cmpint(fd_is_sealed_memfd(fd), ==, 0);
                g_assert_cmpint(fd_is_dmabuf(fd), ==, 0);
        }
        close(p[0]);
        close(p[1]);

        closed = open_devnull();
        close(closed);
        g_assert_cmpint(fd_is_memfd(closed), ==, -EBADF);
        g_assert_cmpint(fd_is_sealed_memfd(closed), ==, -EBADF);
        g_assert_cmpint(fd_is_dmabuf(closed), ==, -EBADF);
}

typedef struct {
        int fd;
        int dmabuf, memfd, sealed, type;
} FuseKinds;

static void kinds_of_fuse_file(void *userdata)
{
        FuseKinds *k = userdata;

        k->dmabuf = fd_is_dmabuf(k->fd);
        k->memfd = fd_is_memfd(k->fd);
        k->sealed = fd_is_sealed_memfd(k->fd);
        k->type = fd_cached_file_type(k->fd);
}

/* A file on a FUSE mount whose server stops answering: told apart from a
 * buffer without a single request (STATFS, GETATTR) to that server. */
static void test_fuse_file(void)
{
        g_autofree char *dir = g_dir_make_tmp("fd-util-XXXXXX", NULL);
        FuseTrap *t = fuse_trap_new(dir);
        FuseKinds k = {.fd = fuse_trap_open(t), -1, -1, -1, -1};
        bool in_time = fuse_trap_call(t, kinds_of_fuse_file, &k, TEST_TIMEOUT_MS);
        unsigned stalled = fuse_trap_stalled(t, 0);

        fuse_trap_free(t);
        close(k.fd);
        g_assert_cmpint(rmdir(dir), ==, 0);
        g_assert_cmpuint(stalled, ==, 0);
        g_assert_true(in_time);
        g_assert_cmpint(k.dmabuf, ==, 0);
        g_assert_cmpint(k.memfd, ==, 0);
        g_assert_cmpint(k.sealed, ==, 0);
        g_assert_cmpint(k.type, ==, S_IFREG);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/fd-util/close-safe", test_close_safe);
        g_test_add_func("/fd-util/close-safe-closes", test_close_safe_closes);
        g_test_add_func("/fd-util/cleanup-close", test_cleanup_close);
        g_test_add_func("/fd-util/count-open", test_count_open);
        g_test_add_func("/fd-util/is-sealed-memfd", test_is_sealed_memfd);
        g_test_add_func("/fd-util/not-buffers", test_not_buffers);
        FUSE_TEST_ADD_FUNC("/fd-util/fuse-file", test_fuse_file);
        return g_test_run();
}
