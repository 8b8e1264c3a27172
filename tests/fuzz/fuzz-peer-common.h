/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the whole-peer fuzz targets (fuzz-hub-peer, fuzz-bridge-peer):
 * a Service on its own sd-event loop, driven in-process through socketpairs,
 * and the input framing both targets read.
 *
 * Input: one configuration byte (small quotas and lookup caps; bit 7: two
 * peers instead of one), then chunks until the input ends:
 *   op byte   bits 0-1: 0 write to the main socket, 1 write to the back-end
 *                       channel (main when there is none yet), 2 a table
 *                       action, 3 a hang-up
 *             bits 2-5: the fds attached to the write (FuzzFdKind); for a
 *                       hang-up, bits 2-3: 0 close the channel, 1 close
 *                       both sockets, 2 / 3 stop reading the channel / main
 *                       socket (shutdown SHUT_RD: only sends notice)
 *             bit 6:    which peer (with two)
 *   len byte  then len bytes (fewer at the end of the input)
 * A table action reads an action byte (0 export a memfd, 1 remove, 2 look up)
 * and 16 uuid bytes. After every chunk the loop runs until idle and whatever
 * the service sent is read (fds received are closed, a new back-end channel
 * is kept), then the invariants are checked: every entry belongs to a
 * peer or to the test's owner, counts agree, quotas hold. At the end the
 * sockets close, the peers must go, their entries with them, and after
 * service_free() no fd may be left open. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "service.h"

typedef enum {
        FUZZ_FD_NONE,
        FUZZ_FD_MEMFD_SEALED,   /* F_SEAL_SHRINK|F_SEAL_GROW, 4 KiB */
        FUZZ_FD_MEMFD_UNSEALED, /* no seals */
        FUZZ_FD_MEMFD_EMPTY,    /* sealed, size 0 */
        FUZZ_FD_EVENTFD,
        FUZZ_FD_PIPE,   /* the read end */
        FUZZ_FD_SOCKET, /* one end of a new socketpair, the other kept */
        FUZZ_FD_DEVNULL,
        FUZZ_FD_TMPFILE, /* O_TMPFILE regular file */
        FUZZ_FD_DIRECTORY,
        FUZZ_FD_EPOLL,
        FUZZ_FD_TIMERFD,
        FUZZ_FD_FLOOD,    /* eight memfds, the most a message can carry */
        FUZZ_FD_OVERFLOW, /* twelve /dev/null fds: more than the transport takes */
        FUZZ_FD_TWO,      /* a memfd and a /dev/null */
        _FUZZ_FD_MAX,
} FuzzFdKind;

/* Makes one fd of kind (not NONE, FLOOD, OVERFLOW or TWO). For
 * FUZZ_FD_SOCKET *ret_other gets the other end. Returns the fd or -errno. */
int fuzz_make_fd(FuzzFdKind kind, int *ret_other);
const char *fuzz_fd_kind_name(FuzzFdKind kind);

typedef struct {
        Role role;
        /* For the bridge: a socketpair sent in a write becomes the channel. */
        bool socket_fd_is_channel;
} FuzzPeerSpec;

/* Runs one input through a fresh service with one peer of spec->role.
 * Aborts on a broken invariant or a leaked fd. */
void fuzz_peer_run(const FuzzPeerSpec *spec, const uint8_t *data, size_t size);
