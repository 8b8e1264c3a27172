/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fd-util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <glib.h>

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
        __attribute__((cleanup(closedirp))) DIR *d = opendir("/proc/self/fd");
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

uint8_t memfd_pattern_byte(uint8_t seed, uint64_t offset)
{
        /* Mixes all offset bytes in, so a buffer read at a page-aligned shift
         * still differs. */
        uint64_t x = (offset + 1) * 0x9e3779b97f4a7c15ULL;

        return (uint8_t) (seed ^ (x >> 56) ^ (x >> 24) ^ offset);
}

static void fill_pattern(uint8_t *buf, size_t n, uint8_t seed, uint64_t offset)
{
        for (size_t i = 0; i < n; i++)
                buf[i] = memfd_pattern_byte(seed, offset + i);
}

int memfd_new_sealed_pattern(const char *name, size_t size, uint8_t seed, int *ret_fd)
{
        _cleanup_close_ int fd = -1;
        uint8_t buf[16384];

        if (!name || !ret_fd)
                return -EINVAL;
        fd = memfd_create(name, MFD_ALLOW_SEALING | MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (ftruncate(fd, (off_t) size) < 0)
                return -errno;
        for (size_t off = 0; off < size;) {
                size_t n = MIN(sizeof(buf), size - off);
                ssize_t w;

                fill_pattern(buf, n, seed, off);
                w = pwrite(fd, buf, n, (off_t) off);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                off += (size_t) w;
        }
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return -errno;
        *ret_fd = g_steal_fd(&fd);
        return 0;
}

int memfd_verify_pattern(int fd, size_t size, uint8_t seed)
{
        uint8_t buf[16384], want[16384];
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size < 0 || (uint64_t) st.st_size != (uint64_t) size)
                return -EBADMSG;
        for (size_t off = 0; off < size;) {
                size_t n = MIN(sizeof(buf), size - off);
                ssize_t r = pread(fd, buf, n, (off_t) off);

                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (r == 0)
                        return -EBADMSG; /* shorter than it claims */
                fill_pattern(want, (size_t) r, seed, off);
                if (memcmp(buf, want, (size_t) r) != 0)
                        return -EBADMSG;
                off += (size_t) r;
        }
        return 0;
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
