/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "buffer-info.h"
#include "buffer-pattern.h"
#include "fd-util.h"
#include "fuse-trap.h"
#include "test-timeout.h"

/* Anything but a dma-buf or a memfd is refused (docs/security.md). */
static void test_info_other_fds(void)
{
        g_autofree char *path = NULL;
        _cleanup_close_ int file = g_file_open_tmp("buffer-info-XXXXXX", &path, NULL);
        _cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        ShareBufferInfo info;
        int p[2], fd;

        g_assert_cmpint(file, >=, 0);
        g_assert_cmpint(unlink(path), ==, 0);
        g_assert_cmpint(write(file, "0123456789", 10), ==, 10);
        g_assert_cmpint(share_buffer_info_from_fd(file, &info), ==, -EBADFD);
        g_assert_cmpint(share_buffer_info_from_fd(devnull, &info), ==, -EBADFD);
        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        g_assert_cmpint(share_buffer_info_from_fd(p[0], &info), ==, -EBADFD);
        close(p[0]);
        close(p[1]);

        g_assert_cmpint(share_buffer_info_from_fd(-1, &info), ==, -EBADF);
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);
        close(fd);
        g_assert_cmpint(share_buffer_info_from_fd(fd, &info), ==, -EBADF);
        g_assert_cmpint(share_buffer_info_from_fd(0, NULL), ==, -EINVAL);
}

typedef struct {
        int fd;
        int r;
} FuseCall;

static void info_of_fuse_file(void *userdata)
{
        FuseCall *c = userdata;
        ShareBufferInfo info;

        c->r = share_buffer_info_from_fd(c->fd, &info);
}

/* A file on a FUSE mount whose server stops answering: refused at once,
 * without a request (GETATTR, STATFS) the server could sit on. */
static void test_fuse_file(void)
{
        g_autofree char *dir = g_dir_make_tmp("buffer-info-XXXXXX", NULL);
        FuseTrap *t = fuse_trap_new(dir);
        FuseCall c = {.fd = fuse_trap_open(t), .r = 1};
        bool in_time = fuse_trap_call(t, info_of_fuse_file, &c, TEST_TIMEOUT_MS);
        unsigned stalled = fuse_trap_stalled(t, 0);

        fuse_trap_free(t);
        close(c.fd);
        g_assert_cmpint(rmdir(dir), ==, 0);
        g_assert_cmpuint(stalled, ==, 0);
        g_assert_true(in_time);
        g_assert_cmpint(c.r, ==, -EBADFD);
}
static void test_parse_fdinfo(void)
{
        /* The shape of /proc/self/fdinfo/N for a dma-buf (Linux 6.x). */
        const char *text = "pos:\t0\n"
                           "flags:\t02000002\n"
                           "mnt_id:\t15\n"
                           "ino:\t1057\n"
                           "size:\t8294400\n"
                           "count:\t3\n"
                           "exp_name:\tvirtio_gpu\n"
                           "name:\tframe 12\n";
        ShareBufferInfo info = {0};

        g_assert_cmpint(share_buffer_info_parse_fdinfo(text, &info), ==, 3);
        g_assert_cmpuint(info.size, ==, 8294400);
        g_assert_cmpstr(info.exporter, ==, "virtio_gpu");
        g_assert_cmpstr(info.name, ==, "frame 12");

        /* A buffer without a name, and a name longer than the field. */
        memset(&info, 0, sizeof(info));
        g_assert_cmpint(share_buffer_info_parse_fdinfo("size:\t4096\nexp_name:\tudmabuf\n", &info),
                        ==, 2);
        g_assert_cmpuint(info.size, ==, 4096);
        g_assert_cmpstr(info.exporter, ==, "udmabuf");
        g_assert_cmpstr(info.name, ==, "");
        {
                g_autofree char *longname = g_strnfill(200, 'n');
                g_autofree char *t2 = g_strdup_printf("name:\t%s\n", longname);

                g_assert_cmpint(share_buffer_info_parse_fdinfo(t2, &info), ==, 1);
                g_assert_cmpuint(strlen(info.name), ==, sizeof(info.name) - 1);
        }
        g_assert_cmpint(share_buffer_info_parse_fdinfo("size:\tjunk\n", &info), ==, 0);
        g_assert_cmpint(share_buffer_info_parse_fdinfo(NULL, &info), ==, 0);
}

/* A dma-buf's name is whatever its holder set, newlines included: a line of
 * it must not pass for the size or the exporter the kernel wrote first. */
static void test_parse_fdinfo_first_line(void)
{
        const char *text = "size:\t4096\n"
                           "count:\t1\n"
                           "exp_name:\tudmabuf\n"
                           "name:\tx\n"
                           "size:\t999999999999\n"
                           "exp_name:\ti915\n"
                           "name:\ty\n";
        ShareBufferInfo info = {0};

        g_assert_cmpint(share_buffer_info_parse_fdinfo(text, &info), ==, 3);
        g_assert_cmpuint(info.size, ==, 4096);
        g_assert_cmpstr(info.exporter, ==, "udmabuf");
        g_assert_cmpstr(info.name, ==, "x");
}

/* Straight from the fd, without the table: a memfd names itself. */
static void test_memfd(void)
{
        _cleanup_close_ int fd = -1;
        ShareBufferInfo info;
        struct stat st;

        g_assert_cmpint(memfd_new_sealed_pattern("frame-9", 8192 + 3, 9, &fd), ==, 0);
        g_assert_cmpint(fstat(fd, &st), ==, 0);
        memset(&info, 0x5a, sizeof(info)); /* everything is written */
        g_assert_cmpint(share_buffer_info_from_fd(fd, &info), ==, 0);
        g_assert_cmpuint(info.size, ==, 8192 + 3);
        g_assert_cmpstr(info.exporter, ==, "memfd");
        g_assert_cmpstr(info.name, ==, "frame-9");
        g_assert_cmpstr(info.device, ==, "");
        g_assert_cmpstr(info.allocator, ==, "");
        g_assert_true(info.dev == st.st_dev);
        g_assert_true(info.ino == st.st_ino);
        /* Reading it neither moves nor takes the fd. */
        g_assert_cmpint(lseek(fd, 0, SEEK_CUR), ==, 0);
        g_assert_cmpint(memfd_verify_pattern(fd, 8192 + 3, 9), ==, 0);
}

/* Names are whatever bytes the buffer's maker chose; what the service
 * keeps must be valid UTF-8 (every D-Bus string is checked, and one bad
 * name would fail a whole GetManagedObjects) and never end inside a
 * character. */
static void test_names_valid_utf8(void)
{
        /* Not UTF-8 at all; then 40 two-byte characters, cut at 63 bytes. */
        const char *names[] = {"bad\xff\xfe-name",
                               "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
                               "\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                               "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
                               "\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                               "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
                               "\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"};

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                _cleanup_close_ int fd = -1;
                g_autofree char *fdinfo =
                    g_strdup_printf("size:\t4096\nexp_name:\t%s\nname:\t%s\n", names[i], names[i]);
                ShareBufferInfo info = {0};

                g_assert_cmpint(memfd_new_sealed_pattern(names[i], 4096, 1, &fd), ==, 0);
                g_assert_cmpint(share_buffer_info_from_fd(fd, &info), ==, 0);
                g_assert_true(g_utf8_validate(info.name, -1, NULL));
                g_assert_cmpuint(strlen(info.name), >, 0);
                memset(&info, 0, sizeof(info));
                g_assert_cmpint(share_buffer_info_parse_fdinfo(fdinfo, &info), ==, 3);
                g_assert_true(g_utf8_validate(info.name, -1, NULL));
                g_assert_true(g_utf8_validate(info.exporter, -1, NULL));
                g_assert_cmpuint(strlen(info.exporter), >, 0);
        }
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/buffer-info/memfd", test_memfd);
        g_test_add_func("/buffer-info/other-fds", test_info_other_fds);
        g_test_add_func("/buffer-info/parse-fdinfo", test_parse_fdinfo);
        g_test_add_func("/buffer-info/parse-fdinfo-first-line", test_parse_fdinfo_first_line);
        g_test_add_func("/buffer-info/names-valid-utf8", test_names_valid_utf8);
        FUSE_TEST_ADD_FUNC("/buffer-info/fuse-file", test_fuse_file);
        return g_test_run();
}
