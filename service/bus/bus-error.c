/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socket-util.h"

/* Order matters: see bus-error.h. */
const sd_bus_error_map bus_error_map[] = {
    SD_BUS_ERROR_MAP(BUS_ERROR_NOT_FOUND, ENOENT),
    SD_BUS_ERROR_MAP(BUS_ERROR_EXISTS, EEXIST),
    SD_BUS_ERROR_MAP(BUS_ERROR_NOT_OWNER, EPERM),
    SD_BUS_ERROR_MAP(BUS_ERROR_ACCESS_DENIED, EACCES),
    SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_FD, EBADF),
    SD_BUS_ERROR_MAP(BUS_ERROR_UNSUPPORTED, EOPNOTSUPP),
    SD_BUS_ERROR_MAP(BUS_ERROR_TIMEOUT, ETIMEDOUT),
    SD_BUS_ERROR_MAP(BUS_ERROR_QUOTA_EXCEEDED, EDQUOT), /* core/quota.h */
    SD_BUS_ERROR_MAP(BUS_ERROR_LIMIT_REACHED, EBUSY),   /* too many pending lookups */
    SD_BUS_ERROR_MAP(BUS_ERROR_LIMIT_REACHED, EUSERS),  /* too many peers */
    SD_BUS_ERROR_MAP(BUS_ERROR_PEER_GONE, ECONNRESET),
    SD_BUS_ERROR_MAP(BUS_ERROR_PEER_GONE, ENOTCONN),
    SD_BUS_ERROR_MAP(BUS_ERROR_PEER_GONE, EPIPE),
    SD_BUS_ERROR_MAP(BUS_ERROR_NO_DEVICE, ENODEV),
    SD_BUS_ERROR_MAP(BUS_ERROR_NO_MEMORY, ENOMEM),
    SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_SIZE, EFBIG), /* a device refused the size */
    SD_BUS_ERROR_MAP(BUS_ERROR_NOT_A_SOCKET, ENOTSOCK),
    SD_BUS_ERROR_MAP(BUS_ERROR_ADDRESS_IN_USE, EADDRINUSE),
    SD_BUS_ERROR_MAP(BUS_ERROR_UNSAFE_PATH, ELOOP),
    SD_BUS_ERROR_MAP(BUS_ERROR_LOOKUP_CYCLE, EDEADLK), /* core/lookup.c */
    SD_BUS_ERROR_MAP(BUS_ERROR_FAILED, EIO),
    SD_BUS_ERROR_MAP(BUS_ERROR_FAILED, EBADFD), /* the answer was no buffer (buffer-rule.h) */
    SD_BUS_ERROR_MAP(BUS_ERROR_FAILED, EPROTO), /* the answer named another object */
    SD_BUS_ERROR_MAP(BUS_ERROR_NOT_A_SOCKET, ENOTSOCK),
    SD_BUS_ERROR_MAP(BUS_ERROR_NOT_A_SOCKET, EPROTOTYPE), /* a socket, but not a stream one */
    SD_BUS_ERROR_MAP(BUS_ERROR_NOT_FOUND, ENOTDIR),       /* a file where a directory should be */
    /* Name -> errno only. */
    SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_UUID, EINVAL),
    SD_BUS_ERROR_MAP_END,
};

int bus_error_register_map(void)
{
        /* sd-bus ignores a map it already has: 0 then, 1 when added. */
        return sd_bus_error_add_map(bus_error_map);
}

const char *bus_error_name_from_errno(int error)
{
        int e = abs(error);

        for (const sd_bus_error_map *m = bus_error_map; m->name; m++) {
                if (strcmp(m->name, BUS_ERROR_INVALID_UUID) == 0)
                        continue;
                if (m->code == e)
                        return m->name;
        }
        return NULL;
}

int bus_error_set_errno(sd_bus_error *e, int error, const char *fmt, ...)
{
        const char *name = bus_error_name_from_errno(error);
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        error = abs(error);
        if (!name)
                /* sd-bus's own names: EINVAL -> InvalidArgs, ... */
                return sd_bus_error_set_errnof(e, error, "%s: %s", msg,
                                               socket_error_to_string(error));
        sd_bus_error_setf(e, name, "%s: %s", msg, socket_error_to_string(error));
        return -error;
}
