/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.vhostshare.share1.Peer: one vhost-user connection at
 * /org/vhostshare/share1/peer/<id> (bus-paths.h), served as a subtree
 * (bus-subtree.h); InterfacesAdded/Removed and PropertiesChanged from a
 * peer observer. */

#include "bus-manager.h"
#include "bus-paths.h"

typedef struct BusPeers BusPeers;

/* The peer at path, or NULL. */
Peer *bus_peer_find(BusManager *m, const char *path);

/* Registers the subtree and observes the service's peers. 0 or -errno. */
int bus_peer_register(BusManager *m);
void bus_peer_unregister(BusManager *m);
