/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fd-util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <glib.h>

#include "cleanup.h"

void fd_close_safe(int *fd)
{
        int saved = errno;

        if (*fd >= 0)
                close(*fd); /* Linux releases the fd even when close() fails */
        *fd = -1;
        errno = saved;
}

static void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

int fd_count_open(void)
{
        _cleanup_(closedirp) DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        if (!d)
                return -errno;
        errno = 0;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
                        n++;
        if (errno != 0)
                return -errno;
        return n;
}

int fd_is_dmabuf(int fd)
{
        struct statfs sfs;

        if (fstatfs(fd, &sfs) < 0)
                return -errno;
        return sfs.f_type == DMA_BUF_FS_MAGIC;
}

int fd_is_memfd(int fd)
{
        char path[64], target[64];
        ssize_t n;

        if (fcntl(fd, F_GETFD) < 0)
                return -errno;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        n = readlink(path, target, sizeof(target) - 1);
        if (n >= 0) {
                target[n] = '\0';
                return g_str_has_prefix(target, "/memfd:");
        }
        /* No /proc: only shmem files (memfds, and rarely tmpfs files)
         * answer F_GET_SEALS. */
        return fcntl(fd, F_GET_SEALS) >= 0;
}

int fd_is_sealed_memfd(int fd)
{
        int r = fd_is_memfd(fd), seals;

        if (r <= 0)
                return r;
        seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0)
                return errno == EINVAL ? 0 : -errno;
        return (seals & MEMFD_REQUIRED_SEALS) == MEMFD_REQUIRED_SEALS;
}
