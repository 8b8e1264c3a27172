/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* ObjectManager.GetManagedObjects on the manager, answered by the bus
 * layer instead of sd-bus. sd-bus would list every path as a string, find
 * each object again from its path and call a getter per property (9 µs of
 * CPU per object); here the table's objects are appended directly from the
 * entries (bus_object_append_managed()), and in chunks from a defer source,
 * so that back-ends are served between them while a large reply is built.
 *
 * What the reply says: every object that was in the table when the call
 * came and is still there when its chunk is built, with its values then.
 * The table's signals are held meanwhile (bus_events_hold()) and sent
 * after the reply, so a client that applies the reply and then the signals
 * ends with the table as it is. sd-bus allows no vtable for the
 * ObjectManager interface, so a filter takes the call first. Unlike
 * sd-bus's, the reply leaves out the standard interfaces (Peer,
 * Introspectable, Properties), which have no properties: a sixth of the
 * work per object. */

#include "bus-manager.h"

int bus_managed_objects_new(BusManager *m, BusManagedObjects **ret);
/* Replies still being built are dropped (the service is going). NULL-safe. */
void bus_managed_objects_free(BusManagedObjects *mo);
