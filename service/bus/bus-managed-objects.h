/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* ObjectManager.GetManagedObjects on the manager, answered by the bus
 * layer instead of sd-bus: sd-bus would list every path as a string, find
 * each object again from its path and call a getter per property (9 µs of
 * CPU per object); the table's objects are appended directly from the
 * entries instead (bus_object_append_managed()). sd-bus allows no vtable
 * for that interface, so a filter takes the call before sd-bus sees it. */

#include "bus-manager.h"

int bus_managed_objects_install(BusManager *m);
