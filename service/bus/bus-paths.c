/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-paths.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include <glib.h>

/* What follows "prefix/" in path, or NULL when path does not start so. */
static const char *path_child(const char *path, const char *prefix)
{
        size_t n = strlen(prefix);

        if (strncmp(path, prefix, n) != 0 || path[n] != '/')
                return NULL;
        return path + n + 1;
}

/* Without snprintf: whole-table replies build one per object. */
void bus_object_path(const uint8_t uuid[SHARE_UUID_SIZE], char out[BUS_OBJECT_PATH_MAX])
{
        static const char prefix[] = BUS_OBJECT_PREFIX "/";

        memcpy(out, prefix, sizeof(prefix) - 1);
        share_uuid_to_hex(uuid, out + sizeof(prefix) - 1);
}

int bus_object_path_to_uuid(const char *path, uint8_t uuid[SHARE_UUID_SIZE])
{
        const char *hex = path_child(path, BUS_OBJECT_PREFIX);

        /* share_uuid_from_string() also takes uppercase and the dashed form:
         * only the one form bus_object_path() writes names an object. */
        if (!hex || strlen(hex) != 2 * SHARE_UUID_SIZE ||
            strspn(hex, "0123456789abcdef") != 2 * SHARE_UUID_SIZE)
                return -EINVAL;
        return share_uuid_from_string(hex, uuid);
}

void bus_peer_path(uint64_t id, char out[BUS_PEER_PATH_MAX])
{
        snprintf(out, BUS_PEER_PATH_MAX, BUS_PEER_PREFIX "/%" PRIu64, id);
}

/* The id of prefix/<decimal id>: digits only, no sign, no spaces, no
 * leading zeros (one path per id). */
static int path_to_id(const char *path, const char *prefix, uint64_t *ret)
{
        const char *p = path_child(path, prefix);
        unsigned long long v;
        char *end;

        if (!p || *p < '0' || *p > '9' || (p[0] == '0' && p[1]))
                return -EINVAL;
        errno = 0;
        v = strtoull(p, &end, 10);
        if (errno != 0 || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int bus_peer_path_to_id(const char *path, uint64_t *ret)
{
        return path_to_id(path, BUS_PEER_PREFIX, ret);
}

void bus_listener_path(uint64_t id, char out[BUS_LISTENER_PATH_MAX])
{
        snprintf(out, BUS_LISTENER_PATH_MAX, BUS_LISTENER_PREFIX "/%" PRIu64, id);
}

int bus_listener_path_to_id(const char *path, uint64_t *ret)
{
        return path_to_id(path, BUS_LISTENER_PREFIX, ret);
}

char *bus_device_path(const char *sysname)
{
        char *path = NULL;

        /* Fails only when out of memory (the prefix is a valid path), and we
         * abort then, as glib's allocators do. */
        if (sd_bus_path_encode(BUS_DEVICE_PREFIX, sysname, &path) < 0)
                abort();
        return path;
}

int bus_device_path_to_sysname(const char *path, char **ret)
{
        g_autofree char *name = NULL, *canonical = NULL;
        int r;

        r = sd_bus_path_decode(path, BUS_DEVICE_PREFIX, &name);
        if (r == -ENOMEM)
                abort(); /* as in bus_device_path() */
        /* 0: not below the prefix; -EINVAL: not a valid object path. */
        if (r <= 0 || !name[0])
                return -EINVAL;
        /* Decoding also takes "card_30" for "card0": one path per device. */
        canonical = bus_device_path(name);
        if (strcmp(canonical, path) != 0)
                return -EINVAL;
        *ret = g_steal_pointer(&name);
        return 0;
}
