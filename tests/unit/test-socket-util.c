/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shared/socket-util: path rules, the listen rule on each kind of file at
 * the path, unlinking only the bound inode, SocketDirectories= matching on
 * inodes, creating a directory. In a temporary directory, as root or not
 * (modes and owners are checked only where they need no privilege). */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "socket-util.h"

static const SocketAccess default_access = {0660, (uid_t) -1, (gid_t) -1};

static char *tmpdir(void)
{
        g_autoptr(GError) error = NULL;
        char *d = g_dir_make_tmp("socket-util-XXXXXX", &error);

        g_assert_no_error(error);
        return d;
}

static void rm_rf(const char *path)
{
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", path);

        g_assert_cmpint(system(cmd), ==, 0);
}

static void test_path_check(void)
{
        g_autofree char *long_path = g_strnfill(108, 'a');

        g_assert_cmpint(socket_path_check("/run/vhost-share/hub.sock"), ==, 0);
        g_assert_cmpint(socket_path_check("relative.sock"), ==, 0);
        g_assert_cmpint(socket_path_check("//double//slash.sock"), ==, 0);
        g_assert_cmpint(socket_path_check("/a\nb"), ==, -EILSEQ);
        g_assert_cmpint(socket_path_check("/a\x7f"), ==, -EILSEQ);
        g_assert_cmpint(socket_path_check("/a\x1f"), ==, -EILSEQ);
        /* Shown on D-Bus (SocketPath), where every string is UTF-8. */
        g_assert_cmpint(socket_path_check("/run/a\xff.sock"), ==, -EILSEQ);
        g_assert_cmpint(socket_path_check("/run/\xc3\xa9.sock"), ==, 0);
        g_assert_cmpint(socket_path_check(""), ==, -EINVAL);
        g_assert_cmpint(socket_path_check("/run/"), ==, -EINVAL);
        g_assert_cmpint(socket_path_check("/run/../etc/x"), ==, -EINVAL);
        g_assert_cmpint(socket_path_check("/run/./x"), ==, -EINVAL);
        g_assert_cmpint(socket_path_check(".."), ==, -EINVAL);
        g_assert_cmpint(socket_path_check("/run/..x/x...y"), ==, 0);
        g_assert_cmpint(socket_path_check(long_path), ==, -ENAMETOOLONG);
}

static void test_escape(void)
{
        g_autofree char *a = socket_path_escape("/a\n<0>b\\c\x7f\"d\xc3\xa4");

        g_assert_cmpstr(a, ==, "/a\\n<0>b\\\\c\\177\"d\xc3\xa4");
}

/* Listens, is live, is replaced once stale, is unlinked only as itself. */
static void test_listen_and_unlink(void)
{
        g_autofree char *dir = tmpdir();
        g_autofree char *path = g_build_filename(dir, "s.sock", NULL);
        SocketFile file, file2;
        int fd = -1, fd2 = -1;
        struct stat st;

        g_assert_cmpint(socket_listen_at(path, &default_access, &fd, &file), ==, 0);
        g_assert_cmpint(lstat(path, &st), ==, 0);
        g_assert_true(S_ISSOCK(st.st_mode));
        g_assert_cmpint(st.st_mode & 07777, ==, 0660);
        g_assert_cmpuint(st.st_ino, ==, file.ino);
        g_assert_cmpint(fcntl(fd, F_GETFL) & O_NONBLOCK, !=, 0);

        /* Live: refused. */
        g_assert_cmpint(socket_listen_at(path, &default_access, &fd2, &file2), ==, -EADDRINUSE);
        /* Stale (closed without unlink): replaced. */
        close(fd);
        g_assert_cmpint(socket_listen_at(path, &default_access, &fd2, &file2), ==, 0);
        /* The old inode is not ours any more (even if tmpfs reused its number,
         * a different one must not be unlinked). */
        file.ino = file2.ino + 1;
        g_assert_cmpint(socket_unlink_if_same(path, &file), ==, 0);
        g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
        g_assert_cmpint(socket_unlink_if_same(path, &file2), ==, 1);
        g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
        g_assert_cmpint(socket_unlink_if_same(path, &file2), ==, 0);
        close(fd2);
        rm_rf(dir);
}

/* What is at the path (relative to a fresh directory) and the refusal. */
static void test_refusals(void)
{
        static const struct {
                const char *rel;
                int error;
        } cases[] = {
            {"file", -ENOTSOCK},     {"sub", -ENOTSOCK},        {"link", -ENOTSOCK},
            {"link/x.sock", -ELOOP}, {"file/x.sock", -ENOTDIR}, {"missing/x.sock", -ENOENT},
        };
        g_autofree char *dir = tmpdir();
        g_autofree char *file = g_build_filename(dir, "file", NULL);
        g_autofree char *sub = g_build_filename(dir, "sub", NULL);
        g_autofree char *link = g_build_filename(dir, "link", NULL);

        g_assert_true(g_file_set_contents(file, "data", -1, NULL));
        g_assert_cmpint(mkdir(sub, 0755), ==, 0);
        g_assert_cmpint(symlink(sub, link), ==, 0);
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *path = g_build_filename(dir, cases[i].rel, NULL);
                SocketFile f;
                int fd = -1;

                g_assert_cmpint(socket_listen_at(path, &default_access, &fd, &f), ==,
                                cases[i].error);
                g_assert_cmpint(fd, ==, -1);
        }
        g_assert_false(g_file_test(file, G_FILE_TEST_IS_DIR));
        g_assert_false(g_file_test(sub, G_FILE_TEST_IS_SYMLINK));
        rm_rf(dir);
}

static void test_in_directories(void)
{
        g_autofree char *dir = tmpdir();
        g_autofree char *allowed = g_build_filename(dir, "allowed", NULL);
        g_autofree char *deeper = g_build_filename(allowed, "deeper", NULL);
        g_autofree char *other = g_build_filename(dir, "other", NULL);
        g_autofree char *link = g_build_filename(dir, "link", NULL);
        g_autofree char *in = g_build_filename(allowed, "a.sock", NULL);
        g_autofree char *in_deeper = g_build_filename(deeper, "a.sock", NULL);
        g_autofree char *out = g_build_filename(other, "a.sock", NULL);
        g_autofree char *via_link = g_build_filename(link, "a.sock", NULL);
        g_autofree char *slashed = g_strdup_printf("%s//", allowed);
        const char *const dirs[] = {"/nonexistent-vhost-share", slashed, NULL};
        const char *const none[] = {NULL};

        g_assert_cmpint(g_mkdir_with_parents(deeper, 0755), ==, 0);
        g_assert_cmpint(mkdir(other, 0755), ==, 0);
        g_assert_cmpint(symlink(allowed, link), ==, 0);
        g_assert_cmpint(socket_path_in_directories(in, dirs), ==, 1);
        g_assert_cmpint(socket_path_in_directories(in_deeper, dirs), ==, 1);
        g_assert_cmpint(socket_path_in_directories(out, dirs), ==, 0);
        g_assert_cmpint(socket_path_in_directories(in, none), ==, 0);
        g_assert_cmpint(socket_path_in_directories("/a.sock", dirs), ==, 0);
        /* A string prefix is not enough, nor is a symlink into it. */
        g_assert_cmpint(socket_path_in_directories(via_link, dirs), ==, -ELOOP);
        rm_rf(dir);
}

static void test_directory_create(void)
{
        g_autofree char *dir = tmpdir();
        g_autofree char *run = g_build_filename(dir, "run", NULL);
        g_autofree char *run_slash = g_strdup_printf("%s/", run);
        g_autofree char *file = g_build_filename(dir, "file", NULL);
        g_autofree char *link = g_build_filename(dir, "link", NULL);
        mode_t old = umask(0077);
        struct stat st;

        g_assert_cmpint(socket_directory_create(run_slash, 0755), ==, 1);
        umask(old);
        g_assert_cmpint(lstat(run, &st), ==, 0);
        g_assert_true(S_ISDIR(st.st_mode));
        g_assert_cmpint(st.st_mode & 07777, ==, 0755);
        g_assert_cmpint(socket_directory_create(run, 0755), ==, 0);
        g_assert_true(g_file_set_contents(file, "data", -1, NULL));
        g_assert_cmpint(socket_directory_create(file, 0755), ==, -ENOTDIR);
        g_assert_cmpint(symlink(run, link), ==, 0);
        g_assert_cmpint(socket_directory_create(link, 0755), ==, -ELOOP);
        rm_rf(dir);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/socket-util/path-check", test_path_check);
        g_test_add_func("/socket-util/escape", test_escape);
        g_test_add_func("/socket-util/listen-and-unlink", test_listen_and_unlink);
        g_test_add_func("/socket-util/refusals", test_refusals);
        g_test_add_func("/socket-util/in-directories", test_in_directories);
        g_test_add_func("/socket-util/directory-create", test_directory_create);
        return g_test_run();
}
