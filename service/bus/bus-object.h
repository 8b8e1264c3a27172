/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.vhostshare.share1.Object: one table entry at
 * /org/vhostshare/share1/object/<32 lowercase hex digits>, served by a
 * fallback vtable and a node enumerator; Added/Removed, InterfacesAdded/
 * Removed and LookupCount changes from a table observer. */

#include <stdint.h>

#include "bus-manager.h"
#include "share-table.h"

#define BUS_OBJECT_PATH_MAX (sizeof(BUS_OBJECT_PREFIX "/") + 2 * SHARE_UUID_SIZE)

void bus_object_path(const uint8_t uuid[SHARE_UUID_SIZE], char out[BUS_OBJECT_PATH_MAX]);
/* -EINVAL unless path is BUS_OBJECT_PREFIX/<32 lowercase hex digits>. */
int bus_object_path_to_uuid(const char *path, uint8_t uuid[SHARE_UUID_SIZE]);

/* Registers the vtable and enumerator, and the table observer. */
int bus_object_register(BusManager *m);
void bus_object_unregister(BusManager *m);
