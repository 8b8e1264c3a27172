/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.vhostshare.share1.Device: one DRM device node at
 * /org/vhostshare/share1/device/<sysname> ("card0", "renderD128";
 * bus-paths.h), served as a subtree (bus-subtree.h) over the DrmDeviceList
 * the manager was given; InterfacesAdded/Removed and a change of the
 * manager's Devices property when the list's monitor sees a device come or
 * go. */

#include "bus-manager.h"
#include "drm-device.h"

typedef struct BusDevices BusDevices;

/* Registers the subtree (no devices until a list is set). 0 or -errno. */
int bus_device_register(BusManager *m);
void bus_device_unregister(BusManager *m);
/* Makes l (NULL: none) the manager's list, m->drm, and follows it from now
 * on: objects for its devices, signals for its hotplug events. Switching
 * lists announces nothing. */
void bus_device_set_list(BusManager *m, DrmDeviceList *l);
