/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers for file descriptors: closing, counting, identifying
 * buffer fds (dma-buf, memfd). */

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The dma-buf filesystem magic (DMA_BUF_MAGIC in linux/magic.h). */
#define DMA_BUF_FS_MAGIC 0x444d4142

/* Closes *fd if it is >= 0 and sets it to -1; errno is preserved. Usable
 * as a cleanup function: "_cleanup_close_ int fd = -1;". Hand an fd on
 * with g_steal_fd(&fd). */
void fd_close_safe(int *fd);
#define _cleanup_close_ __attribute__((cleanup(fd_close_safe)))

/* Number of open fds of this process (entries of /proc/self/fd, not
 * counting the one used to read it), or -errno. For leak checks in tests. */
int fd_count_open(void);

/* 1 if fd is a dma-buf (its filesystem is the dma-buf one), 0 if not,
 * -errno if fd is not valid. */
int fd_is_dmabuf(int fd);

/* 1 if fd is a memfd (/proc/self/fd/N links to "/memfd:NAME"; when /proc
 * cannot tell, any fd that answers F_GET_SEALS counts), 0 if not, -errno if
 * fd is not valid. */
int fd_is_memfd(int fd);

/* The seals we require on a memfd that stands in for a dma-buf. */
#define MEMFD_REQUIRED_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)

/* 1 if fd is a memfd sealed with at least F_SEAL_SHRINK|F_SEAL_GROW, 0 if
 * not, -errno if fd is not valid.
 *
 * Why only these two: a fixed size is what protects importers (a mapping
 * of a shrunk file faults with SIGBUS, a grown one changes the buffer's
 * meaning). Content must stay writable by design: a shared buffer is
 * rendered into and read back like a dma-buf, and the kernel's udmabuf even
 * refuses memfds sealed with F_SEAL_WRITE. F_SEAL_WRITE and F_SEAL_SEAL are
 * accepted but not required. */
int fd_is_sealed_memfd(int fd);
