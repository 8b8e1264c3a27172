/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers for file descriptors: closing, counting, identifying
 * buffer fds (dma-buf, memfd).
 *
 * Telling an untrusted fd's kind never reaches a file system server: a file
 * on a FUSE mount served by the sender answers fstat (GETATTR) and fstatfs
 * (STATFS) only when the sender lets it, so those run only on fds already
 * known to be a dma-buf or a shmem file. What is asked first cannot block:
 * the /proc/self/fd link, /proc/self/fdinfo (FUSE has no fdinfo of its own)
 * and F_GET_SEALS (EINVAL on anything but shmem, answered by the VFS). */

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
 * counting the one used to read it nor those of the closers' plumbing), or
 * -errno. For leak checks in tests: it first waits (up to 30 s) for the
 * closers to finish what async_close() handed them. */
int fd_count_open(void);

/* 1 if fd is a dma-buf (its fdinfo has an exp_name line, which only the
 * dma-buf code writes, and then its file system is the dma-buf one), 0 if
 * not, -errno if fd is not valid. Never reaches a file system server. */
int fd_is_dmabuf(int fd);

/* 1 if fd is a memfd (it answers F_GET_SEALS, so it is shmem, and
 * /proc/self/fd/N links to "/memfd:NAME"; when /proc cannot tell, any fd that
 * answers F_GET_SEALS counts), 0 if not, -errno if fd is not valid. The
 * link alone proves nothing: a file named "memfd:x" at the root of a mount
 * the service cannot reach reads the same. Never reaches a file system
 * server. */
int fd_is_memfd(int fd);

/* The seals we require on a memfd that stands in for a dma-buf. */
#define MEMFD_REQUIRED_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)

/* 1 if fd is a memfd sealed with at least F_SEAL_SHRINK|F_SEAL_GROW, 0 if
 * not, -errno if fd is not valid. Never reaches a file system server.
 *
 * Why only these two: a fixed size is what protects importers (a mapping
 * of a shrunk file faults with SIGBUS, a grown one changes the buffer's
 * meaning). Content must stay writable by design: a shared buffer is
 * rendered into and read back like a dma-buf, and the kernel's udmabuf even
 * refuses memfds sealed with F_SEAL_WRITE. F_SEAL_WRITE and F_SEAL_SEAL are
 * accepted but not required. */
int fd_is_sealed_memfd(int fd);

/* The file type (S_IFMT bits) of fd as the kernel has it cached, or -errno:
 * statx(AT_STATX_DONT_SYNC) asks no file system server. Only for describing
 * an fd that was refused: a cached type is fine for a message, never for a
 * decision. */
int fd_cached_file_type(int fd);
