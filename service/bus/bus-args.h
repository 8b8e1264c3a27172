/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The checks the Manager's methods make on their arguments before the
 * service sees them. Pure: no bus, no service (an fd is only inspected),
 * so that the unit tests and the fuzz target (tests/fuzz/fuzz-bus-args.c)
 * call these very functions. Each returns 0, or -errno with error set to
 * the D-Bus error the method replies with. */

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "uuid-util.h"

/* A UUID argument (GetObject, Export, Lookup, Remove, Disown): the
 * 36-character form or 32 hex digits, either case, neither nil nor max.
 * -EINVAL with InvalidUuid. */
int bus_args_parse_uuid(const char *s, uint8_t uuid[SHARE_UUID_SIZE], sd_bus_error *error);

/* Export's fd: a dma-buf or a memfd sealed against shrinking and growing,
 * a buffer no one can truncate under an importer. -EBADF with InvalidFd,
 * whose message says what fd is instead (bus_args_describe_fd()). */
int bus_args_check_buffer_fd(int fd, sd_bus_error *error);
/* What fd is, for that message: "a pipe", "a regular file", ... */
const char *bus_args_describe_fd(int fd);

/* Allocate's size: not 0. -EINVAL with InvalidArgs. */
int bus_args_check_size(uint64_t size, sd_bus_error *error);

/* AddPeer's role argument. */
typedef enum {
        BUS_ADD_PEER_CONNECT, /* "connect": to a back-end's socket */
        BUS_ADD_PEER_ACCEPT,  /* "accept": back-ends on a listening socket */
        BUS_ADD_PEER_SERVE,   /* "serve": front-ends (VMMs) on a listening socket */
} BusAddPeerRole;

/* -EINVAL with InvalidArgs unless s is "connect", "accept" or "serve". */
int bus_args_parse_add_peer_role(const char *s, BusAddPeerRole *ret, sd_bus_error *error);
/* AddPeer's socket path: absolute, short enough for a sockaddr_un, no
 * control character (a byte below 0x20 or 0x7f). -EINVAL with
 * InvalidArgs. */
int bus_args_check_socket_path(const char *path, sd_bus_error *error);
