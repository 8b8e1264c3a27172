/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.vhostshare.share1.Listener: one listening socket at
 * /org/vhostshare/share1/listener/<id> (bus-paths.h), a child of the
 * manager (bus-subtree.h) that follows the service's listeners:
 * InterfacesAdded and InterfacesRemoved, PropertiesChanged of
 * AcceptedCount. */

#include "bus-subtree.h"

extern const BusSubtreeOps bus_listener_ops;

/* The listener at path, or NULL. */
Listener *bus_listener_find(BusManager *m, const char *path);
