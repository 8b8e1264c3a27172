/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>

#include "buffer-pattern.h"
#include "fd-util.h"

static void test_memfd_pattern(void)
{
        const size_t size = 1024 * 1024 + 123; /* not a multiple of any buffer */
        _cleanup_close_ int fd = -1;
        int seals, flags;

        g_assert_cmpint(memfd_new_sealed_pattern("pattern", size, 7, &fd), ==, 0);
        g_assert_cmpint(fd, >=, 0);

        g_assert_cmpint(memfd_verify_pattern(fd, size, 7), ==, 0);
        g_assert_cmpint(memfd_verify_pattern(fd, size, 8), ==, -EBADMSG);
        g_assert_cmpint(memfd_verify_pattern(fd, size - 1, 7), ==, -EBADMSG);
        g_assert_cmpint(memfd_verify_pattern(fd, size + 1, 7), ==, -EBADMSG);

        seals = fcntl(fd, F_GET_SEALS);
        g_assert_cmpint(seals, ==, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
        flags = fcntl(fd, F_GETFD);
        g_assert_true(flags & FD_CLOEXEC);

        /* The seals hold. */
        g_assert_cmpint(pwrite(fd, "x", 1, 0), <, 0);
        g_assert_cmpint(errno, ==, EPERM);
        g_assert_cmpint(ftruncate(fd, 10), <, 0);
        g_assert_cmpint(errno, ==, EPERM);
        g_assert_cmpint(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), <, 0);

        g_assert_cmpint(fd_is_memfd(fd), ==, 1);
        g_assert_cmpint(fd_is_sealed_memfd(fd), ==, 1);
        g_assert_cmpint(fd_is_dmabuf(fd), ==, 0);
}

static void test_memfd_pattern_empty(void)
{
        _cleanup_close_ int fd = -1;

        g_assert_cmpint(memfd_new_sealed_pattern("empty", 0, 1, &fd), ==, 0);
        g_assert_cmpint(memfd_verify_pattern(fd, 0, 1), ==, 0);
        g_assert_cmpint(memfd_verify_pattern(fd, 1, 1), ==, -EBADMSG);
        g_assert_cmpint(memfd_new_sealed_pattern(NULL, 0, 1, &fd), ==, -EINVAL);
}

static void test_pattern_depends_on_seed_and_offset(void)
{
        unsigned differ_seed = 0, differ_next = 0, differ_page = 0;

        for (uint64_t off = 0; off < 8192; off++) {
                differ_seed += memfd_pattern_byte(1, off) != memfd_pattern_byte(2, off);
                differ_next += memfd_pattern_byte(1, off) != memfd_pattern_byte(1, off + 1);
                differ_page += memfd_pattern_byte(1, off) != memfd_pattern_byte(1, off + 4096);
        }
        g_assert_cmpuint(differ_seed, ==, 8192);
        g_assert_cmpuint(differ_next, >, 8000);
        g_assert_cmpuint(differ_page, >, 7000);
}

static void test_verify_detects_one_byte(void)
{
        const size_t size = 70000;
        _cleanup_close_ int fd = memfd_create("writable", MFD_CLOEXEC);
        g_autofree uint8_t *buf = g_malloc(size);
        uint8_t b;

        g_assert_cmpint(fd, >=, 0);
        for (size_t i = 0; i < size; i++)
                buf[i] = memfd_pattern_byte(42, i);
        g_assert_cmpint(pwrite(fd, buf, size, 0), ==, (ssize_t) size);
        g_assert_cmpint(memfd_verify_pattern(fd, size, 42), ==, 0);

        b = buf[size / 2] ^ 0x01;
        g_assert_cmpint(pwrite(fd, &b, 1, size / 2), ==, 1);
        g_assert_cmpint(memfd_verify_pattern(fd, size, 42), ==, -EBADMSG);

        /* verify does not move the file offset. */
        g_assert_cmpint(lseek(fd, 0, SEEK_CUR), ==, 0);
}

static void test_verify_closed_fd(void)
{
        int closed = memfd_create("closed", MFD_CLOEXEC);

        g_assert_cmpint(closed, >=, 0);
        close(closed);
        g_assert_cmpint(memfd_verify_pattern(closed, 1, 1), ==, -EBADF);
}

/* The seed of a UUID's buffer: bytes 0, 7 and 15, so the sample device, the
 * client and the tests agree on a buffer's content. */
static void test_seed(void)
{
        uint8_t u[SHARE_UUID_SIZE] = {0};

        g_assert_cmpuint(buffer_pattern_seed(u), ==, 0);
        u[0] = 0x0f;
        u[7] = 0x78;
        u[15] = 0xf0;
        g_assert_cmpuint(buffer_pattern_seed(u), ==, 0x0f ^ 0x78 ^ 0xf0);
        /* The other bytes do not count... */
        for (int i = 1; i < 15; i++)
                if (i != 7)
                        u[i] = (uint8_t) (i * 37);
        g_assert_cmpuint(buffer_pattern_seed(u), ==, 0x0f ^ 0x78 ^ 0xf0);
        /* ...each of these three does. */
        u[7] ^= 0x01;
        g_assert_cmpuint(buffer_pattern_seed(u), ==, 0x0f ^ 0x79 ^ 0xf0);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/buffer-pattern/memfd-pattern", test_memfd_pattern);
        g_test_add_func("/buffer-pattern/memfd-pattern-empty", test_memfd_pattern_empty);
        g_test_add_func("/buffer-pattern/pattern-depends-on-seed-and-offset",
                        test_pattern_depends_on_seed_and_offset);
        g_test_add_func("/buffer-pattern/verify-detects-one-byte", test_verify_detects_one_byte);
        g_test_add_func("/buffer-pattern/verify-closed-fd", test_verify_closed_fd);
        g_test_add_func("/buffer-pattern/seed", test_seed);
        return g_test_run();
}
