/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.vhostshare.share1.Object: one table entry at
 * /org/vhostshare/share1/object/<32 lowercase hex digits> (bus-paths.h), a
 * child of the manager (bus-subtree.h) that follows the table: the
 * manager's Added and Removed with InterfacesAdded and InterfacesRemoved,
 * PropertiesChanged of LookupCount, ObjectCount. Its observer only queues
 * them (bus-events.h), so that the answer to a back-end leaves first; the
 * changes of an object's LookupCount and of ObjectCount go out at most once
 * per 100 ms. */

#include "bus-object-view.h"
#include "bus-subtree.h"

extern const BusSubtreeOps bus_object_ops;

/* OwnerBusName of e changed (Disown()): announced in order with the table's
 * events. */
void bus_object_announce_owner(BusManager *m, const ShareEntry *e);

/* Appends e's entry of GetManagedObjects (oa{sa{sv}}) to reply, inside
 * its open array, with no callback per property. 0 or -errno. */
int bus_object_append_managed(sd_bus_message *reply, const ShareEntry *e, BusObjectViews *views);
/* Appends e's entry of ListObjects ((sso): UUID, type, path) the same way. */
int bus_object_append_listed(sd_bus_message *reply, const ShareEntry *e, BusObjectViews *views);
