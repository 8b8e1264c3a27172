/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.vhostshare.share1.Peer: one vhost-user connection at
 * /org/vhostshare/share1/peer/<id>, served by a fallback vtable and a node
 * enumerator; InterfacesAdded/Removed and PropertiesChanged from a peer
 * observer. */

#include <stdint.h>

#include "bus-manager.h"

#define BUS_PEER_PATH_MAX (sizeof(BUS_PEER_PREFIX "/") + 20)

void bus_peer_path(const Peer *p, char out[BUS_PEER_PATH_MAX]);
/* -EINVAL unless path is BUS_PEER_PREFIX/<decimal id>. */
int bus_peer_path_to_id(const char *path, uint64_t *ret);
/* The peer at path, or NULL. */
Peer *bus_peer_find(BusManager *m, const char *path);

int bus_peer_register(BusManager *m);
void bus_peer_unregister(BusManager *m);
