/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one rule for what the service hands to an importer, whoever supplied
 * it: an exporter's GET_SHARED_OBJECT answer (hub), a VMM's answer to the
 * bridge's upstream LOOKUP, a bus client's Export and what Allocate made.
 * An importer maps what it gets as a buffer of a fixed size; anything else
 * (a socket, a pipe, a file that can shrink under the mapping) is refused. */

/* 0 when fd may be handed on: a dma-buf, or a memfd sealed against
 * shrinking and growing (F_SEAL_WRITE and F_SEAL_SEAL are allowed too).
 * Otherwise -EBADF (not an open fd) or -EBADFD (another kind), and *reason
 * says what fd is instead, for a log line or an error message ("a pipe,
 * neither a dma-buf nor a sealed memfd"). Never closes fd. */
int buffer_rule_check(int fd, const char **reason);
