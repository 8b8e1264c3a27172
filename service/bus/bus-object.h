/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.vhostshare.share1.Object: one table entry at
 * /org/vhostshare/share1/object/<32 lowercase hex digits> (bus-paths.h), a
 * child of the manager (bus-subtree.h) that follows the table: the
 * manager's Added and Removed with InterfacesAdded and InterfacesRemoved,
 * PropertiesChanged of LookupCount, ObjectCount. */

#include "bus-subtree.h"

extern const BusSubtreeOps bus_object_ops;
