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

static void test_info_other_fds(void)
{
        ShareBufferInfo info;
        int p[2], fd;
        struct stat st;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        g_assert_cmpint(share_buffer_info_from_fd(p[0], &info), ==, 0);
        g_assert_cmpstr(info.exporter, ==, "");
        g_assert_cmpstr(info.name, ==, "");
        g_assert_cmpuint(info.size, ==, 0);
        g_assert_cmpint(fstat(p[0], &st), ==, 0);
        g_assert_true(info.ino == st.st_ino);
        close(p[0]);
        close(p[1]);

        g_assert_cmpint(share_buffer_info_from_fd(-1, &info), ==, -EBADF);
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);
        close(fd);
        g_assert_cmpint(share_buffer_info_from_fd(fd, &info), ==, -EBADF);
        g_assert_cmpint(share_buffer_info_from_fd(0, NULL), ==, -EINVAL);
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

/* A regular file: its size, but no exporter. */
static void test_regular_file(void)
{
        g_autofree char *path = NULL;
        _cleanup_close_ int fd = g_file_open_tmp("buffer-info-XXXXXX", &path, NULL);
        ShareBufferInfo info;

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(unlink(path), ==, 0);
        g_assert_cmpint(write(fd, "0123456789", 10), ==, 10);
        g_assert_cmpint(share_buffer_info_from_fd(fd, &info), ==, 0);
        g_assert_cmpuint(info.size, ==, 10);
        g_assert_cmpstr(info.exporter, ==, "");
        g_assert_cmpstr(info.name, ==, "");
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/buffer-info/memfd", test_memfd);
        g_test_add_func("/buffer-info/regular-file", test_regular_file);
        g_test_add_func("/buffer-info/other-fds", test_info_other_fds);
        g_test_add_func("/buffer-info/parse-fdinfo", test_parse_fdinfo);
        return g_test_run();
}
