/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.vhostshare.share1.Device: one DRM device node at
 * /org/vhostshare/share1/device/<sysname> ("card0", "renderD128";
 * bus-paths.h), a child of the manager (bus-subtree.h) that follows the
 * manager's DrmDeviceList, m->drm (none: no devices): InterfacesAdded and
 * InterfacesRemoved and a change of the manager's Devices property when
 * the list's monitor sees a device come or go. */

#include "bus-subtree.h"
#include "drm-device.h"

extern const BusSubtreeOps bus_device_ops;
