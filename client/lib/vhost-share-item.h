/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(VHOST_SHARE_INSIDE) && !defined(VHOST_SHARE_COMPILATION)
#error "Only <vhost-share.h> can be included directly."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

#define VHOST_SHARE_TYPE_ITEM (vhost_share_item_get_type())
G_DECLARE_DERIVABLE_TYPE(VhostShareItem, vhost_share_item, VHOST_SHARE, ITEM, GObject)

/**
 * VhostShareItemClass:
 * @parent_class: the parent class
 *
 * The class of #VhostShareItem.
 */
struct _VhostShareItemClass {
        GObjectClass parent_class;

        /*< private >*/
        gpointer padding[8];
};

const char *vhost_share_item_get_object_path(VhostShareItem *self);
GDBusProxy *vhost_share_item_get_proxy(VhostShareItem *self);

G_END_DECLS
