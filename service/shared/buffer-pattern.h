/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Sealed memfds with a known content: the stand-in for a dma-buf in the
 * sample device, the client, the tests and the benchmarks. The content of
 * the buffer of a UUID is derived from it, so an importer can check that
 * it got the right buffer, not only a buffer. */

#include <stddef.h>
#include <stdint.h>

#include "uuid-util.h"

/* The pattern seed of the buffer shared under uuid. */
uint8_t buffer_pattern_seed(const uint8_t uuid[SHARE_UUID_SIZE]);

/* Creates a memfd of size bytes (MFD_ALLOW_SEALING|MFD_CLOEXEC) named name,
 * fills it with the pattern of seed (memfd_pattern_byte) and seals it
 * against shrinking, growing, writing and further sealing. 0 or -errno. */
int memfd_new_sealed_pattern(const char *name, size_t size, uint8_t seed, int *ret_fd);
/* The same with the seals given (F_ADD_SEALS; 0 adds none). */
int memfd_new_pattern(const char *name, size_t size, uint8_t seed, int seals, int *ret_fd);

/* The byte memfd_new_sealed_pattern writes at offset: depends on both seed
 * and offset so that a shifted or foreign buffer does not verify. */
uint8_t memfd_pattern_byte(uint8_t seed, uint64_t offset);

/* Checks that fd holds exactly size bytes of seed's pattern (reads with
 * pread, the file offset is not moved). 0, -EBADMSG when the content or
 * the size differ, or -errno when the fd cannot be read. */
int memfd_verify_pattern(int fd, size_t size, uint8_t seed);
