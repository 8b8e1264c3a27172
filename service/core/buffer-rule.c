/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "buffer-rule.h"

#include <errno.h>
#include <glib.h>
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

static const char *const kind_names[] = {"dma-buf", "sealed-memfd", "memfd"};

int buffer_kinds_from_string(const char *text, unsigned *ret, const char **bad)
{
        static char word[64];
        unsigned kinds = 0;
        const char *p = text;

        *bad = NULL;
        while (*p) {
                size_t n = strcspn(p, " \t,");
                unsigned i;

                for (i = 0; i < G_N_ELEMENTS(kind_names); i++)
                        if (n > 0 && strlen(kind_names[i]) == n &&
                            strncmp(kind_names[i], p, n) == 0)
                                break;
                if (n > 0 && i == G_N_ELEMENTS(kind_names)) {
                        g_strlcpy(word, p, MIN(n + 1, sizeof(word)));
                        *bad = word;
                        return -EINVAL;
                }
                if (n > 0)
                        kinds |= 1u << i;
                p += n;
                p += strspn(p, " \t,");
        }
        if (kinds == 0)
                return -EINVAL;
        *ret = kinds;
        return 0;
}

const char *buffer_kinds_to_string(unsigned kinds, char buf[BUFFER_KINDS_STRING_MAX])
{
        buf[0] = '\0';
        for (unsigned i = 0; i < G_N_ELEMENTS(kind_names); i++)
                if (kinds & (1u << i)) {
                        if (buf[0])
                                g_strlcat(buf, " ", BUFFER_KINDS_STRING_MAX);
                        g_strlcat(buf, kind_names[i], BUFFER_KINDS_STRING_MAX);
                }
        return buf;
}

static bool accepted_kind(int fd, unsigned accepted)
{
        if ((accepted & BUFFER_KIND_DMABUF) && fd_is_dmabuf(fd) == 1)
                return true;
        if ((accepted & BUFFER_KIND_SEALED_MEMFD) && fd_is_sealed_memfd(fd) == 1)
                return true;
        return (accepted & BUFFER_KIND_MEMFD) && fd_is_memfd(fd) == 1;
}

int buffer_rule_check_accepted(int fd, unsigned accepted, const char **reason)
{
        /* The service runs its rule on one thread: one text at a time. */
        static char text[256];
        char kinds[BUFFER_KINDS_STRING_MAX];

        if (accepted == 0)
                accepted = BUFFER_KINDS_DEFAULT;
        if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
                *reason = "not an open descriptor";
                return -EBADF;
        }
        if (accepted_kind(fd, accepted))
                return 0;
        snprintf(text, sizeof(text), "%s (AcceptedBuffers=%s)",
                 fd_is_dmabuf(fd) == 1         ? "a dma-buf"
                 : fd_is_sealed_memfd(fd) == 1 ? "a sealed memfd"
                                               : describe_refused(fd),
                 buffer_kinds_to_string(accepted, kinds));
        *reason = text;
        return -EBADFD;
}

int buffer_rule_check(int fd, const char **reason)
{
        return buffer_rule_check_accepted(fd, BUFFER_KINDS_DEFAULT, reason);
}
