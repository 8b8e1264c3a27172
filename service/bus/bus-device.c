/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-device.h"

#include <errno.h>
#include <string.h>

#include "bus-paths.h"
#include "bus-subtree.h"
#include "log.h"

struct BusDevices {
        BusSubtree *subtree;
        unsigned observer; /* on the manager's list, m->drm */
        bool observing;
};

static void *device_find(void *userdata, const char *path)
{
        BusManager *m = userdata;
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

static bool collect_device_path(const DrmDevice *d, void *userdata)
{
        g_ptr_array_add(userdata, bus_device_path(d->sysname));
        return true;
}

static void device_list(void *userdata, GPtrArray *paths)
{
        BusManager *m = userdata;

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

static const BusSubtreeOps device_ops = {
    .prefix = BUS_DEVICE_PREFIX,
    .interface = BUS_DEVICE_INTERFACE,
    .vtable = device_vtable,
    .find = device_find,
    .list = device_list,
};

static int announce(BusManager *m, DrmDeviceEvent ev, const char *path)
{
        int r;

        /* Deferred: the Devices property changes after these signals. */
        r = bus_manager_note_changed(m, BUS_MANAGER_DEVICES);
        if (r < 0)
                return r;
        if (ev == DRM_DEVICE_ADDED)
                return sd_bus_emit_object_added(m->bus, path);
        return sd_bus_emit_object_removed(m->bus, path);
}

static void on_drm_event(DrmDeviceList *l, const DrmDevice *d, DrmDeviceEvent ev, void *userdata)
{
        BusManager *m = userdata;
        g_autofree char *path = bus_device_path(d->sysname);
        BusSubtreeMark saved;
        int r;

        saved = bus_subtree_begin_announce(m->devices->subtree, path, (void *) d);
        r = announce(m, ev, path);
        bus_subtree_end_announce(m->devices->subtree, saved);
        if (r < 0)
                log_warning_errno(r, "Failed to announce DRM device %s on the bus: %m", d->devnode);
}

int bus_device_register(BusManager *m)
{
        m->devices = g_new0(BusDevices, 1);
        return bus_subtree_new(m->bus, &device_ops, m, &m->devices->subtree);
}

void bus_device_set_list(BusManager *m, DrmDeviceList *l)
{
        BusDevices *b = m->devices;

        if (b->observing)
                drm_device_list_remove_observer(m->drm, b->observer);
        b->observing = false;
        m->drm = l;
        if (l) {
                b->observer = drm_device_list_add_observer(l, on_drm_event, m);
                b->observing = true;
        }
}

void bus_device_unregister(BusManager *m)
{
        if (!m->devices)
                return;
        bus_device_set_list(m, NULL);
        bus_subtree_free(m->devices->subtree);
        g_clear_pointer(&m->devices, g_free);
}
