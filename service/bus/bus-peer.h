/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.vhostshare.share1.Peer: one vhost-user connection at
 * /org/vhostshare/share1/peer/<id> (bus-paths.h), a child of the manager
 * (bus-subtree.h) that follows the service's peers: InterfacesAdded and
 * InterfacesRemoved, PropertiesChanged, PeerCount. */

#include "bus-subtree.h"

extern const BusSubtreeOps bus_peer_ops;

/* The peer at path, or NULL. */
Peer *bus_peer_find(BusManager *m, const char *path);
