/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Listening sockets at paths someone else chose, bound by root without
 * destroying what is there (socket-util.h says the rule). bind() and
 * connect() have no *at() form: they are given /proc/self/fd/DIR/NAME,
 * which the kernel resolves through the directory fd we opened. */
#include "socket-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

#include "fd-util.h"

#define LISTEN_BACKLOG 64

bool socket_path_has_control(const char *path)
{
        for (const unsigned char *p = (const unsigned char *) path; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return true;
        return false;
}

/* "." and ".." would make the directory compared against
 * SocketDirectories= differ from what the path says. */
static bool has_dot_component(const char *path)
{
        g_auto(GStrv) parts = g_strsplit(path, "/", -1);

        for (char **p = parts; *p; p++)
                if (g_str_equal(*p, ".") || g_str_equal(*p, ".."))
                        return true;
        return false;
}

int socket_path_check(const char *path)
{
        size_t n = strlen(path);

        if (socket_path_has_control(path) || !g_utf8_validate(path, -1, NULL))
                return -EILSEQ;
        if (n == 0 || path[n - 1] == '/' || has_dot_component(path))
                return -EINVAL;
        if (n >= sizeof(((struct sockaddr_un *) NULL)->sun_path))
                return -ENAMETOOLONG;
        return 0;
}

/* One component below dir, not following a symlink. */
static int open_component(int dir, const char *name, int *ret)
{
        int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
        struct stat st;

        if (fd >= 0) {
                *ret = fd;
                return 0;
        }
        if (errno != ENOTDIR && errno != ELOOP)
                return -errno;
        /* Tell a symlink from anything else that is no directory. */
        if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                return -ELOOP;
        return -ENOTDIR;
}

int socket_open_directory(const char *path, int *ret_fd)
{
        g_auto(GStrv) parts = g_strsplit(path, "/", -1);
        _cleanup_close_ int fd = -1;
        int r;

        fd = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (char **p = parts; *p; p++) {
                int next = -1;

                if (!**p)
                        continue;
                if (g_str_equal(*p, ".") || g_str_equal(*p, ".."))
                        return -EINVAL;
                r = open_component(fd, *p, &next);
                if (r < 0)
                        return r;
                close(fd);
                fd = next;
        }
        *ret_fd = g_steal_fd(&fd);
        return 0;
}

/* The directory of path, opened safely, and the name in it (a pointer
 * into path). */
static int open_parent(const char *path, int *ret_dir, const char **ret_name)
{
        const char *slash = strrchr(path, '/');
        g_autofree char *dir = NULL;
        int r;

        if (!slash)
                dir = g_strdup(""); /* the working directory */
        else
                dir = slash == path ? g_strdup("/") : g_strndup(path, (gsize) (slash - path));
        r = socket_open_directory(dir, ret_dir);
        if (r < 0)
                return r;
        *ret_name = slash ? slash + 1 : path;
        return 0;
}

/* /proc/self/fd/FD/NAME, or /proc/self/fd/FD without a name. */
static int proc_fd_address(int fd, const char *name, struct sockaddr_un *sa, socklen_t *len)
{
        int n;

        memset(sa, 0, sizeof(*sa));
        sa->sun_family = AF_UNIX;
        if (name)
                n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", fd, name);
        else
                n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d", fd);
        if (n < 0 || (size_t) n >= sizeof(sa->sun_path))
                return -ENAMETOOLONG;
        *len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + (size_t) n + 1);
        return 0;
}

/* 1 when something listens on the socket dir/name, 0 when no one does. */
static int socket_is_live(int dir, const char *name)
{
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa;
        socklen_t len;
        int r;

        r = proc_fd_address(dir, name, &sa, &len);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, len) == 0)
                return 1;
        switch (errno) {
        case ECONNREFUSED:
                return 0;
        case EAGAIN:      /* its backlog is full */
        case EPROTOTYPE:  /* a datagram or seqpacket socket: someone's */
        case EINPROGRESS: /* not for AF_UNIX, but it would mean "live" */
                return 1;
        default:
                return -errno;
        }
}

static bool same_file(const struct stat *st, dev_t dev, ino_t ino)
{
        return st->st_dev == dev && st->st_ino == ino;
}

/* Makes way for a new socket at dir/name: 0 when nothing is there or a
 * stale socket was removed; anything else stays. */
static int clear_stale(int dir, const char *name)
{
        struct stat st, again;
        int r;

        if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return -ENOTSOCK;
        r = socket_is_live(dir, name);
        if (r < 0)
                return r;
        if (r > 0)
                return -EADDRINUSE;
        /* Remove the very socket that refused, not what replaced it since. */
        if (fstatat(dir, name, &again, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!same_file(&again, st.st_dev, st.st_ino))
                return -EADDRINUSE;
        if (unlinkat(dir, name, 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

static int bind_at(int fd, int dir, const char *name, mode_t mode)
{
        struct sockaddr_un sa;
        socklen_t len;
        mode_t old;
        int r = 0;

        r = proc_fd_address(dir, name, &sa, &len);
        if (r < 0)
                return r;
        /* The file is born no wider than mode (nor than the umask). */
        old = umask(0777);
        umask(old | (~mode & 0777));
        if (bind(fd, (struct sockaddr *) &sa, len) < 0)
                r = -errno;
        umask(old);
        return r;
}

/* Mode, owner and group of the socket just bound at dir/name, through an
 * O_PATH fd of it, so a file swapped in meanwhile is not changed. Sets
 * *file once the socket is known to be there. */
static int set_access(int dir, const char *name, const SocketAccess *access, SocketFile *file)
{
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa;
        socklen_t len;
        struct stat st;
        int r;

        fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISSOCK(st.st_mode))
                return -ENOTSOCK;
        *file = (SocketFile){st.st_dev, st.st_ino};
        /* Only when it changes something: the shipped unit forbids chown, and
         * its Group= already gives new files the privileged group. */
        if (((access->uid != (uid_t) -1 && access->uid != st.st_uid) ||
             (access->gid != (gid_t) -1 && access->gid != st.st_gid)) &&
            fchownat(fd, "", access->uid, access->gid, AT_EMPTY_PATH) < 0)
                return -errno;
        r = proc_fd_address(fd, NULL, &sa, &len);
        if (r < 0)
                return r;
        if (chmod(sa.sun_path, access->mode) < 0)
                return -errno;
        return 0;
}

static int unlink_if_same_at(int dir, const char *name, const SocketFile *file)
{
        struct stat st;

        if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode) || !same_file(&st, file->dev, file->ino))
                return 0;
        if (unlinkat(dir, name, 0) < 0)
                return errno == ENOENT ? 0 : -errno;
        return 1;
}

int socket_listen_at(const char *path, const SocketAccess *access, int *ret_fd,
                     SocketFile *ret_file)
{
        _cleanup_close_ int dir = -1, fd = -1;
        SocketFile file = {0};
        const char *name;
        int r;

        r = socket_path_check(path);
        if (r < 0)
                return r;
        r = open_parent(path, &dir, &name);
        if (r < 0)
                return r;
        r = clear_stale(dir, name);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        r = bind_at(fd, dir, name, access->mode);
        if (r < 0)
                return r;
        r = set_access(dir, name, access, &file);
        if (r >= 0 && listen(fd, LISTEN_BACKLOG) < 0)
                r = -errno;
        if (r < 0) {
                if (file.ino != 0)
                        (void) unlink_if_same_at(dir, name, &file);
                return r;
        }
        *ret_fd = g_steal_fd(&fd);
        *ret_file = file;
        return 0;
}

int socket_unlink_if_same(const char *path, const SocketFile *file)
{
        _cleanup_close_ int dir = -1;
        const char *name;
        int r;

        r = open_parent(path, &dir, &name);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        return unlink_if_same_at(dir, name, file);
}

int socket_path_in_directories(const char *path, const char *const *dirs)
{
        g_autoptr(GArray) ids = g_array_new(false, false, sizeof(struct stat));
        _cleanup_close_ int fd = -1;
        const char *name;
        int r;

        for (const char *const *d = dirs; d && *d; d++) {
                _cleanup_close_ int dfd = -1;
                struct stat st;

                if (socket_open_directory(*d, &dfd) >= 0 && fstat(dfd, &st) == 0)
                        g_array_append_val(ids, st);
        }
        r = open_parent(path, &fd, &name);
        if (r < 0)
                return r;
        /* Up through ".." to the root, which is its own parent. */
        for (;;) {
                struct stat st, up;
                int parent;

                if (fstat(fd, &st) < 0)
                        return -errno;
                for (guint i = 0; i < ids->len; i++) {
                        const struct stat *id = &g_array_index(ids, struct stat, i);

                        if (same_file(&st, id->st_dev, id->st_ino))
                                return 1;
                }
                parent = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (parent < 0)
                        return -errno;
                close(fd);
                fd = parent;
                if (fstat(fd, &up) < 0)
                        return -errno;
                if (same_file(&up, st.st_dev, st.st_ino))
                        return 0;
        }
}

int socket_directory_create(const char *path, mode_t mode)
{
        g_autofree char *trimmed = g_strdup(path);
        _cleanup_close_ int dir = -1, fd = -1;
        struct sockaddr_un sa;
        const char *name;
        struct stat st;
        socklen_t len;
        size_t n;
        int r;

        /* "/run/vhost-share/" names the same directory. */
        for (n = strlen(trimmed); n > 1 && trimmed[n - 1] == '/'; n--)
                trimmed[n - 1] = '\0';
        r = open_parent(trimmed, &dir, &name);
        if (r < 0)
                return r;
        if (!*name || g_str_equal(name, ".") || g_str_equal(name, ".."))
                return -EINVAL;
        if (mkdirat(dir, name, 0700) < 0) {
                if (errno != EEXIST)
                        return -errno;
                if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                return S_ISDIR(st.st_mode) ? 0 : S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
        }
        /* Born 0700, then opened up: never wider than mode meanwhile. */
        r = open_component(dir, name, &fd);
        if (r < 0)
                return r;
        r = proc_fd_address(fd, NULL, &sa, &len);
        if (r < 0)
                return r;
        if (chmod(sa.sun_path, mode) < 0)
                return -errno;
        return 1;
}

char *socket_path_escape(const char *path)
{
        char keep[130], *k = keep;

        /* UTF-8 and quotes as they are; control bytes and backslashes escaped. */
        for (int c = 0x80; c <= 0xff; c++)
                *k++ = (char) c;
        *k++ = '"';
        *k = '\0';
        return g_strescape(path, keep);
}

const char *socket_error_to_string(int error)
{
        switch (error < 0 ? -error : error) {
        case ENOTSOCK:
                return "something other than a socket is there; it is left alone";
        case EADDRINUSE:
                return "another process already listens there; it is left alone";
        case ELOOP:
                return "a directory on the way is a symbolic link; give the path it points to";
        case EILSEQ:
                return "the path has a control character or is not UTF-8";
        default:
                return g_strerror(error < 0 ? -error : error);
        }
}
