/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-device.h"

#include <errno.h>
#include <string.h>

#include "bus-paths.h"
#include "log.h"

static void *device_find(BusManager *m, const char *path)
{
        g_autofree char *name = NULL;
        const DrmDevice *d;

        if (!m->drm || bus_device_path_to_sysname(path, &name) < 0)
                return NULL;
        d = drm_device_list_find(m->drm, name);
        /* drm_device_list_find also takes devnodes and syspaths: one path per device. */
        if (!d || strcmp(d->sysname, name) != 0)
                return NULL;
        return (void *) d;
}

static char *device_path(const void *d)
{
        return bus_device_path(((const DrmDevice *) d)->sysname);
}

static bool collect_device_path(const DrmDevice *d, void *paths)
{
        g_ptr_array_add(paths, device_path(d));
        return true;
}

static void device_list(BusManager *m, GPtrArray *paths)
{
        if (m->drm)
                drm_device_list_foreach(m->drm, collect_device_path, paths);
}

/* The getters' userdata is the device at the path: device_find()'s, or
 * the one being announced. */

static int property_get_string(sd_bus *bus, const char *path, const char *interface,
                               const char *property, sd_bus_message *reply, void *userdata,
                               sd_bus_error *error)
{
        const DrmDevice *d = userdata;
        const char *v;

        if (strcmp(property, "DevNode") == 0)
                v = d->devnode;
        else if (strcmp(property, "SysPath") == 0)
                v = d->syspath;
        else if (strcmp(property, "Kind") == 0)
                v = drm_device_kind_to_string(d->kind);
        else if (strcmp(property, "Driver") == 0)
                v = d->driver;
        else if (strcmp(property, "PciSlot") == 0)
                v = d->pci_slot;
        else
                return -EINVAL;
        return sd_bus_message_append(reply, "s", v ?: "");
}

static int property_get_pci_id(sd_bus *bus, const char *path, const char *interface,
                               const char *property, sd_bus_message *reply, void *userdata,
                               sd_bus_error *error)
{
        const DrmDevice *d = userdata;

        if (strcmp(property, "PciVendor") == 0)
                return sd_bus_message_append(reply, "q", d->pci_vendor);
        if (strcmp(property, "PciDevice") == 0)
                return sd_bus_message_append(reply, "q", d->pci_device);
        return -EINVAL;
}

static int property_get_can_allocate(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply, void *userdata,
                                     sd_bus_error *error)
{
        const DrmDevice *d = userdata;

        return sd_bus_message_append(reply, "b", (int) d->can_allocate);
}

static const sd_bus_vtable device_vtable[] = {
    SD_BUS_VTABLE_START(0),
    BUS_PROPERTY_CONST("DevNode", "s", property_get_string),
    BUS_PROPERTY_CONST("SysPath", "s", property_get_string),
    BUS_PROPERTY_CONST("Kind", "s", property_get_string),
    BUS_PROPERTY_CONST("Driver", "s", property_get_string),
    BUS_PROPERTY_CONST("PciSlot", "s", property_get_string),
    BUS_PROPERTY_CONST("PciVendor", "q", property_get_pci_id),
    BUS_PROPERTY_CONST("PciDevice", "q", property_get_pci_id),
    BUS_PROPERTY_CONST("CanAllocate", "b", property_get_can_allocate),
    SD_BUS_VTABLE_END,
};

static void on_drm_event(DrmDeviceList *l, const DrmDevice *d, DrmDeviceEvent ev, void *userdata)
{
        static const BusSubtreeEvent events[] = {
            [DRM_DEVICE_ADDED] = BUS_SUBTREE_ADDED,
            [DRM_DEVICE_REMOVED] = BUS_SUBTREE_REMOVED,
        };
        int r;

        r = bus_subtree_announce(userdata, events[ev], d);
        if (r < 0)
                log_warning_errno(r, "Failed to announce DRM device %s on the bus: %m", d->devnode);
}

/* m->drm is replaced only between bus_subtree_unobserve() and
 * bus_subtree_observe() (bus_manager_set_drm_devices()): the id is always
 * m->drm's. */
static unsigned device_observe(BusManager *m, BusSubtree *st)
{
        return m->drm ? drm_device_list_add_observer(m->drm, on_drm_event, st) : 0;
}

static void device_unobserve(BusManager *m, unsigned id)
{
        drm_device_list_remove_observer(m->drm, id);
}

const BusSubtreeOps bus_device_ops = {
    .prefix = BUS_DEVICE_PREFIX,
    .interface = BUS_DEVICE_INTERFACE,
    .vtable = device_vtable,
    .find = device_find,
    .list = device_list,
    .path = device_path,
    .observe = device_observe,
    .unobserve = device_unobserve,
    .count = BUS_MANAGER_DEVICES,
};
