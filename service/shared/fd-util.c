/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fd-util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <glib.h>

#include "async-close.h"
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
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int n = -async_close_own_fds();

        (void) async_close_wait_idle(30000);
        d = opendir("/proc/self/fd");
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

/* True when the fdinfo text has a line starting with key. */
static bool fdinfo_has_key(const char *text, const char *key)
{
        size_t len = strlen(key);

        for (const char *l = text; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l, key, len) == 0)
                        return true;
        return false;
}

int fd_is_dmabuf(int fd)
{
        char path[64];
        g_autofree char *text = NULL;
        struct statfs sfs;

        if (fcntl(fd, F_GETFD) < 0)
                return -errno;
        snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
        if (!g_file_get_contents(path, &text, NULL, NULL) || !fdinfo_has_key(text, "exp_name:"))
                return 0;
        /* A dma-buf for sure now: its file system has no server to wait for. */
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
        /* Only shmem files (memfds, rarely tmpfs files) answer F_GET_SEALS;
         * for anything else the VFS says EINVAL without asking the file. */
        if (fcntl(fd, F_GET_SEALS) < 0)
                return 0;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        n = readlink(path, target, sizeof(target) - 1);
        if (n < 0) /* no /proc: the seals are all we know */
                return 1;
        target[n] = '\0';
        return g_str_has_prefix(target, "/memfd:");
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

int fd_cached_file_type(int fd)
{
        struct statx stx;

        if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &stx) < 0)
                return -errno;
        if (!(stx.stx_mask & STATX_TYPE))
                return -ENODATA;
        return stx.stx_mode & S_IFMT;
}
