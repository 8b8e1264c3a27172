/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one rule for what the service hands to an importer, whoever supplied
 * it: an exporter's GET_SHARED_OBJECT answer (hub), a VMM's answer to the
 * bridge's upstream LOOKUP, a bus client's Export and what Allocate made.
 * An importer maps what it gets as a buffer of a fixed size; anything else
 * (a socket, a pipe, a file that can shrink under the mapping) is refused.
 * Which kinds of buffer pass is a setting (AcceptedBuffers=), per service
 * and per listening socket. */

#include <stdbool.h>

/* The kinds of buffer AcceptedBuffers= names. */
typedef enum {
        BUFFER_KIND_DMABUF = 1u << 0,       /* "dma-buf" */
        BUFFER_KIND_SEALED_MEMFD = 1u << 1, /* "sealed-memfd": F_SEAL_SHRINK|F_SEAL_GROW */
        /* "memfd": any memfd, sealed or not. It may shrink under an
         * importer's mapping: for test rigs of back-end libraries, which
         * export plain memfds, never the default. */
        BUFFER_KIND_MEMFD = 1u << 2,
} BufferKind;

#define BUFFER_KINDS_ALL (BUFFER_KIND_DMABUF | BUFFER_KIND_SEALED_MEMFD | BUFFER_KIND_MEMFD)
#define BUFFER_KINDS_DEFAULT (BUFFER_KIND_DMABUF | BUFFER_KIND_SEALED_MEMFD)
/* Enough for buffer_kinds_to_string() of any set. */
#define BUFFER_KINDS_STRING_MAX 32

/* AcceptedBuffers='s value: names separated by spaces or commas, at least
 * one. 0, or -EINVAL with *bad set to the first word that is no kind
 * (NULL when there was none) and valid until text changes. */
int buffer_kinds_from_string(const char *text, unsigned *ret, const char **bad);
/* "dma-buf sealed-memfd": the names of kinds, in the order above. */
const char *buffer_kinds_to_string(unsigned kinds, char buf[BUFFER_KINDS_STRING_MAX]);

/* 0 when fd may be handed on under accepted (a set of BufferKind; 0: the
 * default). Otherwise -EBADF (not an open descriptor) or -EBADFD (another
 * kind), and *reason says what fd is instead and which setting refused it,
 * for a log line or an error message ("a pipe, neither a dma-buf nor a
 * sealed memfd (AcceptedBuffers=dma-buf sealed-memfd)"); it stays valid
 * until the next call. Never closes fd. */
int buffer_rule_check_accepted(int fd, unsigned accepted, const char **reason);
/* The same under the default: for what the service made itself. */
int buffer_rule_check(int fd, const char **reason);
