/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "buffer-pattern.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "fd-util.h"

uint8_t buffer_pattern_seed(const uint8_t uuid[SHARE_UUID_SIZE])
{
        return (uint8_t) (uuid[0] ^ uuid[7] ^ uuid[15]);
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
        return memfd_new_pattern(name, size, seed,
                                 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL, ret_fd);
}

int memfd_new_pattern(const char *name, size_t size, uint8_t seed, int seals, int *ret_fd)
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
        if (seals && fcntl(fd, F_ADD_SEALS, seals) < 0)
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
