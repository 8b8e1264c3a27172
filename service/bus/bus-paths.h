/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The object paths of the manager's children, built and parsed:
 * object/<32 lowercase hex digits of the UUID>, peer/<decimal id>,
 * listener/<decimal id>, device/<sysname escaped by sd_bus_path_encode()>. Each parser accepts
 * exactly the paths its builder makes, so no object answers to two paths.
 * Pure: no bus, no service (the paths come from callers: the fuzz target
 * tests/fuzz/fuzz-bus-args.c runs them too). */

#include <stdint.h>

#include "bus-names.h"
#include "uuid-util.h"

#define BUS_OBJECT_PATH_MAX (sizeof(BUS_OBJECT_PREFIX "/") + 2 * SHARE_UUID_SIZE)
#define BUS_PEER_PATH_MAX (sizeof(BUS_PEER_PREFIX "/") + 20)
#define BUS_LISTENER_PATH_MAX (sizeof(BUS_LISTENER_PREFIX "/") + 20)

void bus_object_path(const uint8_t uuid[SHARE_UUID_SIZE], char out[BUS_OBJECT_PATH_MAX]);
/* -EINVAL unless path is BUS_OBJECT_PREFIX/<32 lowercase hex digits>. */
int bus_object_path_to_uuid(const char *path, uint8_t uuid[SHARE_UUID_SIZE]);

void bus_peer_path(uint64_t id, char out[BUS_PEER_PATH_MAX]);
/* -EINVAL unless path is BUS_PEER_PREFIX/<decimal id>: digits only, no
 * leading zero, at most UINT64_MAX. */
int bus_peer_path_to_id(const char *path, uint64_t *ret);

void bus_listener_path(uint64_t id, char out[BUS_LISTENER_PATH_MAX]);
/* -EINVAL unless path is BUS_LISTENER_PREFIX/<decimal id>, as for peers. */
int bus_listener_path_to_id(const char *path, uint64_t *ret);

/* The path of the DRM device called sysname ("card0": alphanumeric names
 * stay as they are, any other byte becomes _XX). Allocated; never NULL. */
char *bus_device_path(const char *sysname);
/* The sysname of a device path (allocated), or -EINVAL unless path is
 * bus_device_path() of a non-empty name. */
int bus_device_path_to_sysname(const char *path, char **ret);
