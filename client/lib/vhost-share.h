/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libvhostshare-1: a GObject client of vhost-shared's D-Bus API
 * (org.vhostshare.share1). The one header to include. */

#define VHOST_SHARE_INSIDE
#include "vhost-share-client.h"
#include "vhost-share-device.h"
#include "vhost-share-error.h"
#include "vhost-share-item.h"
#include "vhost-share-object.h"
#include "vhost-share-peer.h"
#include "vhost-share-version.h"
#undef VHOST_SHARE_INSIDE
