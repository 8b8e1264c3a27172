/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the item types share with the base class and the client. */

#include "vhost-share-item.h"
#include "vhost-share-props.h"

/* Called from a subclass's class_init: one GObject property per row (the
 * table and pspecs must outlive the class: static arrays). */
void vsh_item_class_install(VhostShareItemClass *klass, const VshPropertyDesc *descs,
                            GParamSpec **pspecs, guint n);
/* A new item of type following proxy's properties. */
gpointer vsh_item_new(GType type, GDBusProxy *proxy);

const char *vsh_item_string(gpointer item, guint row);
guint64 vsh_item_uint64(gpointer item, guint row);
guint vsh_item_uint(gpointer item, guint row);
gboolean vsh_item_boolean(gpointer item, guint row);
