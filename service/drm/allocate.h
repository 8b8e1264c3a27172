/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Buffers made for a caller: a dumb buffer exported as a dma-buf (PRIME) on
 * a DRM card node of a DrmDeviceList, else a udmabuf over a sealed memfd;
 * a plain sealed memfd only when the caller names "memfd". */

#include <stdint.h>

#include "buffer-info.h"
#include "device-list.h"

typedef enum {
        DRM_EXPORTER_DRM_DUMB, /* dumb buffer + PRIME export on a card node */
        DRM_EXPORTER_UDMABUF,  /* /dev/udmabuf over a sealed memfd */
        DRM_EXPORTER_MEMFD,    /* a sealed memfd standing in for a dma-buf */
} DrmExporter;

const char *drm_exporter_to_string(DrmExporter e); /* "drm-dumb" | "udmabuf" | "memfd" */

typedef struct {
        int fd;               /* the buffer; the caller owns it; -1 when none */
        uint64_t size;        /* bytes actually allocated, >= the request */
        DrmExporter exporter; /* which path made it */
        char device[128];     /* devnode it came from ("/dev/dri/card0",
                                 "/dev/udmabuf"), "" for a plain memfd */
} DrmAllocResult;

/* The device name that asks drm_allocate() for a sealed memfd. */
#define DRM_ALLOCATE_MEMFD "memfd"

/* Allocates a buffer of at least size bytes. With device DRM_ALLOCATE_MEMFD
 * a sealed memfd of exactly size bytes, nothing else. With device (a devnode, syspath
 * or sysname from l) only that device is tried: -ENODEV not in the list (or
 * gone), -EOPNOTSUPP no dumb buffers (render nodes, DRM_CAP_DUMB_BUFFER 0, no
 * PRIME export), -ENOMEM the device is out of memory, -EACCES no
 * permission, -EINVAL the device refused the size, -EFBIG too large for a
 * dumb buffer. With device NULL: the first card node that succeeds, then
 * udmabuf (drm_device_list_udmabuf_path); -ENODEV when there is neither (no
 * memfd in disguise: a caller who wants one names DRM_ALLOCATE_MEMFD), the
 * udmabuf's error when it fails. size 0: -EINVAL. On success out is filled and
 * out->fd is the caller's; on failure out->fd is -1 and nothing is leaked.
 * l may be NULL (no devices known, udmabuf at /dev/udmabuf). */
int drm_allocate(DrmDeviceList *l, const char *device, uint64_t size, DrmAllocResult *out);

/* Closes out->fd if set. */
void drm_alloc_result_clear(DrmAllocResult *out);

/* What the share table should record for an allocated buffer: the fd's own
 * description (share_buffer_info_from_fd: inode, size, dma-buf exp_name
 * or "memfd"), the device it came from, the allocated size when the fd
 * tells none, the exporter path's name ("drm-dumb", ...) as the allocator,
 * and as the exporter too when the fd itself names none. 0 or -errno. */
int drm_alloc_result_buffer_info(const DrmAllocResult *r, ShareBufferInfo *info);
