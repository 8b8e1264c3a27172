/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What can be learnt of a buffer fd without trusting its sender: size,
 * exporter and name (from /proc/self/fdinfo for a dma-buf, from the
 * /proc/self/fd link for a memfd) and inode identity. The table keeps one
 * for every buffer it holds; DRM allocation fills in how it made one. */

#include <stdint.h>
#include <sys/types.h>

/* What is known about a stored buffer. */
typedef struct {
        uint64_t size;     /* bytes, 0 when unknown */
        char exporter[64]; /* dma-buf exp_name, "memfd", or "" */
        char name[64];     /* dma-buf name or memfd name, or "" */
        dev_t dev;         /* inode identity of the buffer */
        ino_t ino;
        char device[128];   /* DRM device it came from, or "" */
        char allocator[16]; /* how the service made it ("drm-dumb", "udmabuf",
                               "memfd"), "" when it was handed in */
} ShareBufferInfo;

/* Fills info from a dma-buf or memfd: size, exporter ("memfd" or dma-buf
 * exp_name from /proc/self/fdinfo), name, inode identity. 0, -EBADFD for
 * any other fd (told apart without reaching a file system server, see
 * fd-util.h), or another -errno. */
int share_buffer_info_from_fd(int fd, ShareBufferInfo *info);
/* Takes size, exp_name and name from the text of /proc/self/fdinfo/N of a
 * dma-buf into info (other fields untouched), the first line of each.
 * Returns how many were found. */
int share_buffer_info_parse_fdinfo(const char *text, ShareBufferInfo *info);
