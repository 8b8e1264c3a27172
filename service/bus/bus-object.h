/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.vhostshare.share1.Object: one table entry at
 * /org/vhostshare/share1/object/<32 lowercase hex digits> (bus-paths.h),
 * served as a subtree (bus-subtree.h); Added/Removed, InterfacesAdded/
 * Removed and LookupCount changes from a table observer. */

#include "bus-manager.h"
#include "bus-paths.h"

typedef struct BusObjects BusObjects;

/* Registers the subtree and observes the table. 0 or -errno. */
int bus_object_register(BusManager *m);
/* Stops observing the table (nothing is announced any more) and removes
 * the subtree. */
void bus_object_unregister(BusManager *m);
