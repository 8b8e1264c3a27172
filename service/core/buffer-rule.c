/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "buffer-rule.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fd-util.h"

#define NOT_A_BUFFER ", neither a dma-buf nor a sealed memfd"

/* What a refused fd is, told by its /proc link and flags only: nothing
 * here asks the fd's file system (a FUSE server could make us wait). */
static const char *describe_refused(int fd)
{
        char path[64], target[64];
        int flags = fcntl(fd, F_GETFL);
        ssize_t n;

        if (flags >= 0 && (flags & O_PATH))
                return "an O_PATH descriptor" NOT_A_BUFFER;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                return "a descriptor of an unknown kind" NOT_A_BUFFER;
        target[n] = '\0';
        if (strncmp(target, "pipe:", 5) == 0)
                return "a pipe" NOT_A_BUFFER;
        if (strncmp(target, "socket:", 7) == 0)
                return "a socket" NOT_A_BUFFER;
        if (strncmp(target, "anon_inode:", 11) == 0)
                return "an anonymous inode (eventfd, timerfd, epoll, ...)" NOT_A_BUFFER;
        if (strncmp(target, "/memfd:", 7) == 0)
                return "a memfd without F_SEAL_SHRINK|F_SEAL_GROW, which may shrink under an "
                       "importer's mapping";
        return "a file, directory or device" NOT_A_BUFFER;
}

int buffer_rule_check(int fd, const char **reason)
{
        if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
                *reason = "not an open descriptor";
                return -EBADF;
        }
        if (fd_is_dmabuf(fd) == 1 || fd_is_sealed_memfd(fd) == 1)
                return 0;
        *reason = describe_refused(fd);
        return -EBADFD;
}
