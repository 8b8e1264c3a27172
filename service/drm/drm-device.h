/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The machine's DRM devices and buffer allocation on them.
 *
 * A DrmDeviceList enumerates the card and render nodes of subsystem "drm"
 * with sd-device (connectors such as card0-HDMI-A-1 are not devices here)
 * and, when given an sd-event loop, follows hotplug through an sd-device
 * monitor, telling observers of every device that comes and goes.
 *
 * drm_allocate() makes a buffer for a caller: a dumb buffer exported as a
 * dma-buf on a DRM card node, else a udmabuf over a sealed memfd, else the
 * sealed memfd itself. Nothing here knows D-Bus or the share table. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "buffer-info.h"

typedef struct DrmDevice DrmDevice;
typedef struct DrmDeviceList DrmDeviceList;

typedef enum {
        DRM_DEVICE_CARD,   /* /dev/dri/cardN: modesetting, dumb buffers */
        DRM_DEVICE_RENDER, /* /dev/dri/renderDN: rendering only, no dumb buffers */
} DrmDeviceKind;

typedef enum {
        DRM_DEVICE_ADDED,
        DRM_DEVICE_REMOVED, /* called before the device is freed */
} DrmDeviceEvent;

typedef enum {
        DRM_EXPORTER_DRM_DUMB, /* dumb buffer + PRIME export on a card node */
        DRM_EXPORTER_UDMABUF,  /* /dev/udmabuf over a sealed memfd */
        DRM_EXPORTER_MEMFD,    /* a sealed memfd standing in for a dma-buf */
} DrmExporter;

typedef void (*DrmDeviceObserverFn)(DrmDeviceList *l, const DrmDevice *d, DrmDeviceEvent ev,
                                    void *userdata);

/* Enumerates the devices now. With ev, also starts a monitor on ev that keeps
 * the list current (the list does not take ev's reference, but holds the
 * monitor's). With ev NULL the list is a snapshot. 0 or -errno. */
int drm_device_list_new(sd_event *ev, DrmDeviceList **ret);
void drm_device_list_free(DrmDeviceList *l);

/* Where the udmabuf fallback looks; "/dev/udmabuf" by default, NULL to skip
 * that step (a test that wants the memfd fallback on any machine). */
int drm_device_list_set_udmabuf_path(DrmDeviceList *l, const char *path);

/* Observers are called in the order added; returns an id (never 0). */
unsigned drm_device_list_add_observer(DrmDeviceList *l, DrmDeviceObserverFn fn, void *userdata);
void drm_device_list_remove_observer(DrmDeviceList *l, unsigned id);

unsigned drm_device_list_size(const DrmDeviceList *l);
/* Devices ordered card nodes first, then render nodes, each by minor number.
 * fn returns false to stop. The list must not change from fn. */
void drm_device_list_foreach(DrmDeviceList *l, bool (*fn)(const DrmDevice *d, void *userdata),
                             void *userdata);
/* By devnode ("/dev/dri/card0"), syspath or sysname ("card0"); NULL if none. */
const DrmDevice *drm_device_list_find(const DrmDeviceList *l, const char *name);

const char *drm_device_syspath(const DrmDevice *d);
const char *drm_device_sysname(const DrmDevice *d); /* "card0", "renderD128" */
const char *drm_device_devnode(const DrmDevice *d); /* "/dev/dri/card0" */
DrmDeviceKind drm_device_kind(const DrmDevice *d);
/* Kernel driver: DRM_IOCTL_VERSION on the node, else the sysfs driver link of
 * the nearest parent that has one; "" when neither told. */
const char *drm_device_driver(const DrmDevice *d);
/* PCI parent: slot name ("0000:00:02.0") and ids; "" and 0 when not on PCI. */
const char *drm_device_pci_slot(const DrmDevice *d);
uint16_t drm_device_pci_vendor(const DrmDevice *d);
uint16_t drm_device_pci_device(const DrmDevice *d);

/* A card node that reported DRM_CAP_DUMB_BUFFER when it was found: the
 * devices drm_allocate() can expect to serve (it asks them again). */
bool drm_device_can_allocate(const DrmDevice *d);

const char *drm_device_kind_to_string(DrmDeviceKind k); /* "card" | "render" */
const char *drm_exporter_to_string(DrmExporter e);      /* "drm-dumb" | "udmabuf" | "memfd" */

typedef struct {
        int fd;               /* the buffer; the caller owns it; -1 when none */
        uint64_t size;        /* bytes actually allocated, >= the request */
        DrmExporter exporter; /* which path made it */
        char device[128];     /* devnode it came from ("/dev/dri/card0",
                                 "/dev/udmabuf"), "" for a plain memfd */
} DrmAllocResult;

/* Allocates a buffer of at least size bytes. With device (a devnode, syspath
 * or sysname from l) only that device is tried: -ENODEV not in the list (or
 * gone), -EOPNOTSUPP no dumb buffers (render nodes, DRM_CAP_DUMB_BUFFER 0, no
 * PRIME export), -ENOMEM, -EACCES no permission, -EINVAL the device refused
 * the size, -EFBIG too large for a dumb buffer. With device NULL: the first
 * card node that succeeds, then udmabuf, then a sealed memfd; errors only
 * when even the memfd fails. size 0: -EINVAL. On success out is filled and
 * out->fd is the caller's; on failure out->fd is -1 and nothing is leaked.
 * l may be NULL (no devices known). */
int drm_allocate(DrmDeviceList *l, const char *device, uint64_t size, DrmAllocResult *out);

/* Closes out->fd if set. */
void drm_alloc_result_clear(DrmAllocResult *out);

/* What the share table should record for an allocated buffer: the fd's own
 * description (share_buffer_info_from_fd: inode, dma-buf exp_name or
 * "memfd"), the device it came from, the allocated size, the exporter
 * path's name ("drm-dumb", ...) as the allocator, and as the exporter too
 * when the fd itself names none. 0 or -errno. */
int drm_alloc_result_buffer_info(const DrmAllocResult *r, ShareBufferInfo *info);
