/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The DRM layer in one include, for the layers above: the machine's DRM
 * devices and their hotplug (device-list.h) and buffer allocation on them
 * (allocate.h). Nothing in this layer knows D-Bus or the share table; the
 * allocator describes its buffers in shared/buffer-info.h's terms. */

#include "allocate.h"
#include "device-list.h"
