/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(VHOST_SHARE_INSIDE) && !defined(VHOST_SHARE_COMPILATION)
#error "Only <vhost-share.h> can be included directly."
#endif

#include "vhost-share-item.h"

G_BEGIN_DECLS

#define VHOST_SHARE_TYPE_OBJECT (vhost_share_object_get_type())
G_DECLARE_FINAL_TYPE(VhostShareObject, vhost_share_object, VHOST_SHARE, OBJECT, VhostShareItem)
const char *vhost_share_object_get_uuid(VhostShareObject *self);
const char *vhost_share_object_get_object_type(VhostShareObject *self);
const char *vhost_share_object_get_owner(VhostShareObject *self);
const char *vhost_share_object_get_owner_bus_name(VhostShareObject *self);
guint64 vhost_share_object_get_size(VhostShareObject *self);
const char *vhost_share_object_get_exporter(VhostShareObject *self);
const char *vhost_share_object_get_name(VhostShareObject *self);
const char *vhost_share_object_get_device(VhostShareObject *self);
const char *vhost_share_object_get_allocator(VhostShareObject *self);
guint64 vhost_share_object_get_inode(VhostShareObject *self);
guint64 vhost_share_object_get_inode_device(VhostShareObject *self);
guint64 vhost_share_object_get_created_timestamp(VhostShareObject *self);
guint64 vhost_share_object_get_lookup_count(VhostShareObject *self);

G_END_DECLS
