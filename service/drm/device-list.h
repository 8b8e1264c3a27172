/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The machine's DRM devices. A DrmDeviceList enumerates the card and render
 * nodes of subsystem "drm" with sd-device (connectors such as
 * card0-HDMI-A-1 are not devices here) and, when given an sd-event loop,
 * follows hotplug through an sd-device monitor, telling observers of every
 * device that comes and goes. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct DrmDeviceList DrmDeviceList;

typedef enum {
        DRM_DEVICE_CARD,   /* /dev/dri/cardN: modesetting, dumb buffers */
        DRM_DEVICE_RENDER, /* /dev/dri/renderDN: rendering only, no dumb buffers */
} DrmDeviceKind;

/* One device as it was read when found. The list owns it and hands it out
 * only as const: a plain description, read directly, valid until the list
 * drops the device (after its DRM_DEVICE_REMOVED). */
typedef struct DrmDevice {
        char *syspath;
        char *sysname; /* "card0", "renderD128" */
        char *devnode; /* "/dev/dri/card0" */
        DrmDeviceKind kind;
        unsigned minor; /* the number in the sysname */
        /* Kernel driver: DRM_IOCTL_VERSION on the node, else the sysfs driver
         * link of the nearest parent that has one; "" when neither told. */
        char *driver;
        /* PCI parent: slot name ("0000:00:02.0") and ids; "" and 0 when not on PCI. */
        char *pci_slot;
        uint16_t pci_vendor;
        uint16_t pci_device;
        /* A card node that reported DRM_CAP_DUMB_BUFFER when it was found: the
         * devices drm_allocate() can expect to serve (it asks them again). */
        bool can_allocate;
} DrmDevice;

typedef enum {
        DRM_DEVICE_ADDED,   /* called once the device is in the list */
        DRM_DEVICE_REMOVED, /* called once it is out, before it is freed */
} DrmDeviceEvent;

typedef void (*DrmDeviceObserverFn)(DrmDeviceList *l, const DrmDevice *d, DrmDeviceEvent ev,
                                    void *userdata);

/* Enumerates the devices now. With ev, also starts a monitor on ev that keeps
 * the list current (the list does not take ev's reference, but holds the
 * monitor's). With ev NULL the list is a snapshot. 0 or -errno. */
int drm_device_list_new(sd_event *ev, DrmDeviceList **ret);
/* Must not be called from an observer of l. */
void drm_device_list_free(DrmDeviceList *l);

/* Where drm_allocate()'s udmabuf fallback looks; "/dev/udmabuf" by default,
 * NULL to skip that step (a test that wants the memfd fallback on any
 * machine). An absolute path or NULL; -EINVAL otherwise. */
int drm_device_list_set_udmabuf_path(DrmDeviceList *l, const char *path);
const char *drm_device_list_udmabuf_path(const DrmDeviceList *l);

/* Observers (shared/observer-list.h's rule): called in the order added; one
 * added from a callback starts with the next device event, one removed is
 * not called again. Returns an id (never 0). */
unsigned drm_device_list_add_observer(DrmDeviceList *l, DrmDeviceObserverFn fn, void *userdata);
void drm_device_list_remove_observer(DrmDeviceList *l, unsigned id);

unsigned drm_device_list_size(const DrmDeviceList *l);
/* Devices ordered card nodes first, then render nodes, each by minor number.
 * fn returns false to stop. The list must not change from fn. */
void drm_device_list_foreach(DrmDeviceList *l, bool (*fn)(const DrmDevice *d, void *userdata),
                             void *userdata);
/* By devnode ("/dev/dri/card0"), syspath or sysname ("card0"); NULL if none. */
const DrmDevice *drm_device_list_find(const DrmDeviceList *l, const char *name);

const char *drm_device_kind_to_string(DrmDeviceKind k); /* "card" | "render" */
