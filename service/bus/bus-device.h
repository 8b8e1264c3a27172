/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.vhostshare.share1.Device: one DRM device node at
 * /org/vhostshare/share1/device/<sysname> ("card0", "renderD128"), served by
 * a fallback vtable and a node enumerator over the DrmDeviceList the manager
 * was given; InterfacesAdded/Removed when the device list's monitor sees a
 * device come or go. Also turns drm_allocate()'s errors into named errors. */

#include <stdint.h>

#include "bus-manager.h"
#include "drm-device.h"

/* The object path of d (allocated), or NULL on ENOMEM. */
char *bus_device_path(const DrmDevice *d);

/* Registers the vtable and enumerator (no devices until a list is set). */
int bus_device_register(BusManager *m);
void bus_device_unregister(BusManager *m);
/* Follows l (NULL: none) from now on: objects for its devices, signals for
 * its hotplug events. Switching lists announces nothing. */
void bus_device_set_list(BusManager *m, DrmDeviceList *l);

/* Sets error to the named error for a failed drm_allocate(l, device, size)
 * that returned r (< 0) and returns r: NoDevice, Unsupported, AccessDenied,
 * NoMemory, InvalidSize (the device refused the size, or too large for a
 * dumb buffer), Failed. device is "" when none was named. */
int bus_device_set_allocate_error(sd_bus_error *error, int r, uint64_t size, const char *device);
