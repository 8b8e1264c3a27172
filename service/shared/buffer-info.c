/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "buffer-info.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "fd-util.h"
#include "utf8.h"

static void copy_value(char *dst, size_t dst_size, const char *value)
{
        g_autofree char *v = g_strstrip(g_strdup(value));

        utf8_copy_valid(dst, dst_size, v);
}

int share_buffer_info_parse_fdinfo(const char *text, ShareBufferInfo *info)
{
        g_auto(GStrv) lines = NULL;
        bool have_size = false, have_exporter = false, have_name = false;

        if (!text || !info)
                return 0;
        /* The first line of each key counts: the kernel writes size and
         * exp_name before the name, which whoever holds the buffer sets and
         * may end in a line of its own. */
        lines = g_strsplit(text, "\n", -1);
        for (char **l = lines; *l; l++) {
                const char *v;

                if (!have_size && (v = g_str_has_prefix(*l, "size:") ? *l + 5 : NULL)) {
                        char *end;
                        unsigned long long sz;

                        errno = 0;
                        sz = strtoull(v, &end, 10);
                        if (errno == 0 && end != v) {
                                info->size = sz;
                                have_size = true;
                        }
                } else if (!have_exporter &&
                           (v = g_str_has_prefix(*l, "exp_name:") ? *l + 9 : NULL)) {
                        copy_value(info->exporter, sizeof(info->exporter), v);
                        have_exporter = true;
                } else if (!have_name && (v = g_str_has_prefix(*l, "name:") ? *l + 5 : NULL)) {
                        copy_value(info->name, sizeof(info->name), v);
                        have_name = true;
                }
        }
        return have_size + have_exporter + have_name;
}

/* "/memfd:NAME (deleted)" -> "NAME". */
static void memfd_name(int fd, char *out, size_t out_size)
{
        char path[64], target[256];
        const char *name;
        ssize_t n;

        out[0] = '\0';
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                return;
        target[n] = '\0';
        if (!g_str_has_prefix(target, "/memfd:"))
                return;
        name = target + strlen("/memfd:");
        if (g_str_has_suffix(name, " (deleted)"))
                target[n - strlen(" (deleted)")] = '\0';
        utf8_copy_valid(out, out_size, name);
}

int share_buffer_info_from_fd(int fd, ShareBufferInfo *info)
{
        struct stat st;
        int dmabuf, memfd;

        if (!info)
                return -EINVAL;
        if (fd < 0)
                return -EBADF;
        /* Kind first, with calls no file system server answers (fd-util.h);
         * fstat only once the fd is a dma-buf or a memfd. */
        dmabuf = fd_is_dmabuf(fd);
        if (dmabuf < 0)
                return dmabuf;
        memfd = dmabuf ? 0 : fd_is_memfd(fd);
        if (memfd < 0)
                return memfd;
        if (!dmabuf && !memfd)
                return -EBADFD;
        if (fstat(fd, &st) < 0)
                return -errno;

        *info = (ShareBufferInfo){
            .dev = st.st_dev,
            .ino = st.st_ino,
            .size = S_ISREG(st.st_mode) && st.st_size > 0 ? (uint64_t) st.st_size : 0,
        };

        if (dmabuf) {
                char path[64];
                g_autofree char *text = NULL;

                snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
                /* Without fdinfo the buffer still works; only the metadata is
                 * thinner. */
                if (g_file_get_contents(path, &text, NULL, NULL))
                        share_buffer_info_parse_fdinfo(text, info);
                if (info->size == 0 && st.st_size > 0)
                        info->size = (uint64_t) st.st_size;
                return 0;
        }

        g_strlcpy(info->exporter, "memfd", sizeof(info->exporter));
        memfd_name(fd, info->name, sizeof(info->name));
        return 0;
}
