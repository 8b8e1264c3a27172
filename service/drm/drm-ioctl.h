/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one way this layer calls a DRM ioctl: the device list asks a node
 * what it is, allocation makes buffers on it. */

/* ioctl that retries while it fails with EINTR or EAGAIN, as DRM ioctls
 * may. 0 or -errno. */
int drm_ioctl(int fd, unsigned long request, void *arg);
