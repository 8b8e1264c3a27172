/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one buffer rule (core/buffer-rule.h): which fds may reach an
 * importer, and what the refusal says about the others. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buffer-pattern.h"
#include "buffer-rule.h"
#include "fd-util.h"

static int memfd_sealed(unsigned seals)
{
        int fd = memfd_create("rule", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(ftruncate(fd, 4096), ==, 0);
        if (seals)
                g_assert_cmpint(fcntl(fd, F_ADD_SEALS, seals), ==, 0);
        return fd;
}

/* fd is refused with error and a reason containing what; fd is closed. */
static void assert_refused(int fd, int error, const char *what)
{
        const char *why = NULL;

        g_assert_cmpint(buffer_rule_check(fd, &why), ==, error);
        g_assert_nonnull(why);
        if (!g_strrstr(why, what))
                g_error("reason \"%s\" does not say \"%s\"", why, what);
        if (fd >= 0)
                close(fd);
}

static void assert_accepted(int fd)
{
        const char *why = NULL;

        g_assert_cmpint(buffer_rule_check(fd, &why), ==, 0);
        g_assert_null(why);
        close(fd);
}

static void test_accepts_buffers(void)
{
        int fd;

        g_assert_cmpint(memfd_new_sealed_pattern("rule", 4096, 1, &fd), ==, 0);
        assert_accepted(fd);
        assert_accepted(memfd_sealed(F_SEAL_SHRINK | F_SEAL_GROW));
        /* Read-only for importers: vhost-sharectl export --read-only. */
        assert_accepted(memfd_sealed(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL));
}

static void test_refuses_the_rest(void)
{
        int pair[2];

        g_assert_cmpint(pipe2(pair, O_CLOEXEC), ==, 0);
        assert_refused(pair[0], -EBADFD, "a pipe, neither a dma-buf nor a sealed memfd");
        assert_refused(pair[1], -EBADFD, "a pipe");
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
        assert_refused(pair[0], -EBADFD, "a socket");
        close(pair[1]);
        assert_refused(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), -EBADFD,
                       "a file, directory or device");
        assert_refused(open("/dev/zero", O_RDWR | O_CLOEXEC), -EBADFD,
                       "a file, directory or device");
        assert_refused(open("/", O_PATH | O_CLOEXEC), -EBADFD, "an O_PATH descriptor");
        assert_refused(memfd_sealed(0), -EBADFD, "a memfd without F_SEAL_SHRINK|F_SEAL_GROW");
        assert_refused(memfd_sealed(F_SEAL_SHRINK), -EBADFD, "a memfd without");
        assert_refused(memfd_sealed(F_SEAL_GROW | F_SEAL_WRITE), -EBADFD, "a memfd without");
        assert_refused(-1, -EBADF, "not an open descriptor");
}

static void assert_refused_under(int fd, unsigned accepted, const char *what)
{
        const char *why = NULL;

        g_assert_cmpint(buffer_rule_check_accepted(fd, accepted, &why), ==, -EBADFD);
        if (!g_strrstr(why, what))
                g_error("reason \"%s\" does not say \"%s\"", why, what);
        close(fd);
}

static void assert_accepted_under(int fd, unsigned accepted)
{
        const char *why = NULL;

        g_assert_cmpint(buffer_rule_check_accepted(fd, accepted, &why), ==, 0);
        close(fd);
}

/* AcceptedBuffers=: the refusal names the setting; "memfd" lets a plain
 * memfd through, for test rigs; a set without sealed-memfd refuses those. */
static void test_accepted_setting(void)
{
        assert_refused_under(memfd_sealed(0), BUFFER_KINDS_DEFAULT,
                             "a memfd without F_SEAL_SHRINK|F_SEAL_GROW, which may shrink under "
                             "an importer's mapping (AcceptedBuffers=dma-buf sealed-memfd)");
        assert_accepted_under(memfd_sealed(0), BUFFER_KINDS_DEFAULT | BUFFER_KIND_MEMFD);
        assert_accepted_under(memfd_sealed(F_SEAL_SHRINK | F_SEAL_GROW), BUFFER_KIND_MEMFD);
        assert_refused_under(memfd_sealed(F_SEAL_SHRINK | F_SEAL_GROW), BUFFER_KIND_DMABUF,
                             "a sealed memfd (AcceptedBuffers=dma-buf)");
        /* 0 is the default. */
        assert_refused_under(memfd_sealed(0), 0, "(AcceptedBuffers=dma-buf sealed-memfd)");
        /* A pipe is no memfd. */
        int pair[2];
        g_assert_cmpint(pipe2(pair, O_CLOEXEC), ==, 0);
        close(pair[1]);
        assert_refused_under(pair[0], BUFFER_KINDS_ALL, "a pipe");
}

static void test_kinds_text(void)
{
        char buf[BUFFER_KINDS_STRING_MAX];
        const char *bad;
        unsigned k = 0;

        g_assert_cmpint(buffer_kinds_from_string("dma-buf sealed-memfd", &k, &bad), ==, 0);
        g_assert_cmpuint(k, ==, BUFFER_KINDS_DEFAULT);
        g_assert_cmpint(buffer_kinds_from_string(" memfd,,dma-buf\t", &k, &bad), ==, 0);
        g_assert_cmpuint(k, ==, BUFFER_KIND_MEMFD | BUFFER_KIND_DMABUF);
        g_assert_cmpint(buffer_kinds_from_string("dma-buf memfds", &k, &bad), ==, -EINVAL);
        g_assert_cmpstr(bad, ==, "memfds");
        g_assert_cmpint(buffer_kinds_from_string("", &k, &bad), ==, -EINVAL);
        g_assert_null(bad);
        g_assert_cmpstr(buffer_kinds_to_string(BUFFER_KINDS_ALL, buf), ==,
                        "dma-buf sealed-memfd memfd");
        g_assert_cmpstr(buffer_kinds_to_string(BUFFER_KIND_MEMFD, buf), ==, "memfd");
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/buffer-rule/accepts-buffers", test_accepts_buffers);
        g_test_add_func("/buffer-rule/refuses-the-rest", test_refuses_the_rest);
        g_test_add_func("/buffer-rule/accepted-setting", test_accepted_setting);
        g_test_add_func("/buffer-rule/kinds-text", test_kinds_text);
        return g_test_run();
}
