/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-args.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <glib.h>

#include "buffer-rule.h"
#include "bus-names.h"
#include "fd-util.h"
#include "socket-util.h"

int bus_args_parse_uuid(const char *s, uint8_t uuid[SHARE_UUID_SIZE], sd_bus_error *error)
{
        if (share_uuid_from_string(s, uuid) < 0 || !share_uuid_is_valid(uuid)) {
                sd_bus_error_setf(error, BUS_ERROR_INVALID_UUID,
                                  "\"%s\" is not a valid UUID (nil and max are reserved)", s);
                return -EINVAL;
        }
        return 0;
}

const char *bus_args_describe_fd(int fd)
{
        int flags = fcntl(fd, F_GETFL), type;

        if (flags >= 0 && (flags & O_PATH))
                return "an O_PATH descriptor";
        /* Not fstat: a FUSE file's sender could keep it from returning. */
        type = fd_cached_file_type(fd);
        if (type < 0)
                return "not a valid descriptor";
        switch (type) {
        case S_IFSOCK:
                return "a socket";
        case S_IFIFO:
                return "a pipe";
        case S_IFDIR:
                return "a directory";
        case S_IFCHR:
        case S_IFBLK:
                return "a device node";
        case S_IFREG:
                return fd_is_memfd(fd) > 0 ? "a memfd without F_SEAL_SHRINK|F_SEAL_GROW"
                                           : "a regular file";
        default:
                return "not a buffer";
        }
}

int bus_args_check_buffer_fd(int fd, sd_bus_error *error)
{
        const char *why;

        if (buffer_rule_check(fd, &why) == 0)
                return 0;
        sd_bus_error_setf(error, BUS_ERROR_INVALID_FD,
                          "The descriptor is %s, not a dma-buf or a sealed memfd",
                          bus_args_describe_fd(fd));
        return -EBADF;
}

int bus_args_check_size(uint64_t size, sd_bus_error *error)
{
        if (size > 0)
                return 0;
        sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Size must not be 0");
        return -EINVAL;
}

int bus_args_parse_add_peer_role(const char *s, BusAddPeerRole *ret, sd_bus_error *error)
{
        static const char *const names[] = {
            [BUS_ADD_PEER_CONNECT] = "connect",
            [BUS_ADD_PEER_ACCEPT] = "accept",
            [BUS_ADD_PEER_SERVE] = "serve",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
                if (strcmp(s, names[i]) == 0) {
                        *ret = (BusAddPeerRole) i;
                        return 0;
                }
        sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                          "Unknown role \"%s\" (connect, accept or serve)", s);
        return -EINVAL;
}

int bus_args_check_socket_path(const char *path, sd_bus_error *error)
{
        /* Not even quoted in the message: it would reach logs and terminals. */
        if (socket_path_has_control(path)) {
                sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                 "The socket path has a control character");
                return -EINVAL;
        }
        if (path[0] == '/' && strlen(path) < sizeof(((struct sockaddr_un *) NULL)->sun_path))
                return 0;
        sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                          "\"%s\" is not an absolute socket path that fits sockaddr_un", path);
        return -EINVAL;
}
