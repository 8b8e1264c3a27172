/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(VHOST_SHARE_INSIDE) && !defined(VHOST_SHARE_COMPILATION)
#error "Only <vhost-share.h> can be included directly."
#endif

#include "vhost-share-item.h"

G_BEGIN_DECLS

#define VHOST_SHARE_TYPE_DEVICE (vhost_share_device_get_type())
G_DECLARE_FINAL_TYPE(VhostShareDevice, vhost_share_device, VHOST_SHARE, DEVICE, VhostShareItem)
const char *vhost_share_device_get_dev_node(VhostShareDevice *self);
const char *vhost_share_device_get_sys_path(VhostShareDevice *self);
const char *vhost_share_device_get_kind(VhostShareDevice *self);
const char *vhost_share_device_get_driver(VhostShareDevice *self);
const char *vhost_share_device_get_pci_slot(VhostShareDevice *self);
guint vhost_share_device_get_pci_vendor(VhostShareDevice *self);
guint vhost_share_device_get_pci_device(VhostShareDevice *self);
gboolean vhost_share_device_get_can_allocate(VhostShareDevice *self);

G_END_DECLS
