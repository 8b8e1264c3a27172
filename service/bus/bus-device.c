/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-device.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bus-error.h"
#include "log.h"

struct BusDevices {
        DrmDeviceList *list;
        unsigned observer;
        bool observing;
        sd_bus_slot *vtable_slot;
        sd_bus_slot *enumerator_slot;
        /* A removed device is already out of the list while InterfacesRemoved
         * is built; the find callback still knows it through this. */
        const DrmDevice *announcing;
};

char *bus_device_path(const DrmDevice *d)
{
        char *path = NULL;

        /* Sysnames of DRM nodes are alphanumeric; the encoding keeps any
         * other name a valid path too. */
        if (sd_bus_path_encode(BUS_DEVICE_PREFIX, drm_device_sysname(d), &path) < 0)
                return NULL;
        return path;
}

static const DrmDevice *device_from_path(BusDevices *b, const char *path)
{
        g_autofree char *name = NULL;
        const DrmDevice *d;

        if (sd_bus_path_decode(path, BUS_DEVICE_PREFIX, &name) <= 0 || !name[0])
                return NULL;
        if (b->announcing && strcmp(drm_device_sysname(b->announcing), name) == 0)
                return b->announcing;
        d = b->list ? drm_device_list_find(b->list, name) : NULL;
        /* drm_device_list_find also takes devnodes and syspaths: one path per device. */
        if (!d || strcmp(drm_device_sysname(d), name) != 0)
                return NULL;
        return d;
}

static int device_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                       void **found, sd_bus_error *error)
{
        BusManager *m = userdata;
        const DrmDevice *d = device_from_path(m->devices, path);

        if (!d)
                return 0;
        *found = (void *) d;
        return 1;
}

static bool collect_device_path(const DrmDevice *d, void *userdata)
{
        char *path = bus_device_path(d);

        if (path)
                g_ptr_array_add(userdata, path);
        return true;
}

static int device_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                            sd_bus_error *error)
{
        BusManager *m = userdata;
        /* sd_bus_path_encode allocates with malloc, and sd-bus frees the strv
         * with free(): glib's allocator is malloc as well. */
        GPtrArray *paths = g_ptr_array_new();

        if (m->devices->list)
                drm_device_list_foreach(m->devices->list, collect_device_path, paths);
        g_ptr_array_add(paths, NULL);
        *ret_nodes = (char **) g_ptr_array_free(paths, false);
        return 0;
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface,
                               const char *property, sd_bus_message *reply, void *userdata,
                               sd_bus_error *error)
{
        const DrmDevice *d = userdata;
        const char *v;

        if (strcmp(property, "DevNode") == 0)
                v = drm_device_devnode(d);
        else if (strcmp(property, "SysPath") == 0)
                v = drm_device_syspath(d);
        else if (strcmp(property, "Kind") == 0)
                v = drm_device_kind_to_string(drm_device_kind(d));
        else if (strcmp(property, "Driver") == 0)
                v = drm_device_driver(d);
        else if (strcmp(property, "PciSlot") == 0)
                v = drm_device_pci_slot(d);
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
                return sd_bus_message_append(reply, "q", drm_device_pci_vendor(d));
        if (strcmp(property, "PciDevice") == 0)
                return sd_bus_message_append(reply, "q", drm_device_pci_device(d));
        return -EINVAL;
}

static int property_get_can_allocate(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply, void *userdata,
                                     sd_bus_error *error)
{
        return sd_bus_message_append(reply, "b", (int) drm_device_can_allocate(userdata));
}

#define CONST_PROPERTY(name, sig, getter)                                                          \
        SD_BUS_PROPERTY(name, sig, getter, 0, SD_BUS_VTABLE_PROPERTY_CONST)

static const sd_bus_vtable device_vtable[] = {
    SD_BUS_VTABLE_START(0),
    CONST_PROPERTY("DevNode", "s", property_get_string),
    CONST_PROPERTY("SysPath", "s", property_get_string),
    CONST_PROPERTY("Kind", "s", property_get_string),
    CONST_PROPERTY("Driver", "s", property_get_string),
    CONST_PROPERTY("PciSlot", "s", property_get_string),
    CONST_PROPERTY("PciVendor", "q", property_get_pci_id),
    CONST_PROPERTY("PciDevice", "q", property_get_pci_id),
    CONST_PROPERTY("CanAllocate", "b", property_get_can_allocate),
    SD_BUS_VTABLE_END,
};

static void on_drm_event(DrmDeviceList *l, const DrmDevice *d, DrmDeviceEvent ev, void *userdata)
{
        BusManager *m = userdata;
        g_autofree char *path = bus_device_path(d);
        int r;

        if (!path)
                return;
        if (ev == DRM_DEVICE_ADDED)
                /* The device is in the list already: find sees it. */
                r = sd_bus_emit_object_added(m->bus, path);
        else {
                const DrmDevice *saved = m->devices->announcing;

                m->devices->announcing = d;
                r = sd_bus_emit_object_removed(m->bus, path);
                m->devices->announcing = saved;
        }
        if (r < 0)
                log_warning_errno(r, "Failed to announce DRM device %s on the bus",
                                  drm_device_devnode(d));
}

int bus_device_register(BusManager *m)
{
        int r;

        m->devices = g_new0(BusDevices, 1);
        r = sd_bus_add_fallback_vtable(m->bus, &m->devices->vtable_slot, BUS_DEVICE_PREFIX,
                                       BUS_DEVICE_INTERFACE, device_vtable, device_find, m);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(m->bus, &m->devices->enumerator_slot, BUS_DEVICE_PREFIX,
                                          device_enumerate, m);
}

void bus_device_set_list(BusManager *m, DrmDeviceList *l)
{
        BusDevices *b = m->devices;

        if (!b)
                return;
        if (b->observing)
                drm_device_list_remove_observer(b->list, b->observer);
        b->observing = false;
        b->list = l;
        if (l) {
                b->observer = drm_device_list_add_observer(l, on_drm_event, m);
                b->observing = true;
        }
}

void bus_device_unregister(BusManager *m)
{
        BusDevices *b = m->devices;

        if (!b)
                return;
        bus_device_set_list(m, NULL);
        sd_bus_slot_unref(b->vtable_slot);
        sd_bus_slot_unref(b->enumerator_slot);
        g_free(b);
        m->devices = NULL;
}

int bus_device_set_allocate_error(sd_bus_error *error, int r, uint64_t size, const char *device)
{
        const char *on = device && device[0] ? device : "any device";

        switch (-r) {
        case ENODEV:
                sd_bus_error_setf(error, BUS_ERROR_NO_DEVICE,
                                  "No DRM device \"%s\" (see the Devices property)", on);
                return r;
        case EOPNOTSUPP:
                sd_bus_error_setf(error, BUS_ERROR_UNSUPPORTED,
                                  "%s cannot allocate dumb buffers with a PRIME export", on);
                return r;
        case EACCES:
                sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED,
                                  "The service may not allocate on %s", on);
                return r;
        case ENOMEM:
                sd_bus_error_setf(error, BUS_ERROR_NO_MEMORY,
                                  "Out of memory for %" PRIu64 " bytes on %s", size, on);
                return r;
        case EINVAL:
        case EFBIG:
                /* size 0 is refused before drm_allocate: this is the device's word. */
                sd_bus_error_setf(error, BUS_ERROR_INVALID_SIZE,
                                  "%s refuses a buffer of %" PRIu64 " bytes%s", on, size,
                                  r == -EFBIG ? " (over the dumb-buffer limit)" : "");
                return r;
        default:
                return bus_error_set_errno(error, r, "Cannot allocate %" PRIu64 " bytes on %s",
                                           size, on);
        }
}
