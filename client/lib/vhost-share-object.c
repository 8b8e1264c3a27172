/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vhost-share-object.h"

#include "vhost-share-item-private.h"

/**
 * VhostShareObject:
 *
 * One entry of the service's table of shared objects (virtio-dmabuf), at
 * /org/vhostshare/share1/object/UUID. Everything but #VhostShareObject:lookup-count and
 * #VhostShareObject:owner-bus-name is fixed for the object's lifetime.
 *
 * Every property of the D-Bus interface org.vhostshare.share1.Object is a GObject property of
 * the same name in lower case with dashes; each emits #GObject::notify
 * when the service announces a change. A property the service does not
 * have (an older version) reads as 0, %FALSE or "".
 */

struct _VhostShareObject {
        VhostShareItem parent_instance;
};

G_DEFINE_FINAL_TYPE(VhostShareObject, vhost_share_object, VHOST_SHARE_TYPE_ITEM)

enum {
        ROW_UUID,
        ROW_OBJECT_TYPE,
        ROW_OWNER,
        ROW_OWNER_BUS_NAME,
        ROW_SIZE,
        ROW_EXPORTER,
        ROW_NAME,
        ROW_DEVICE,
        ROW_ALLOCATOR,
        ROW_INODE,
        ROW_INODE_DEVICE,
        ROW_CREATED_TIMESTAMP,
        ROW_LOOKUP_COUNT,
        N_ROWS,
};

static const VshPropertyDesc rows[N_ROWS] = {
    {"Uuid", "uuid", 's', NULL},
    {"Type", "object-type", 's', NULL},
    {"Owner", "owner", 'o', NULL},
    {"OwnerBusName", "owner-bus-name", 's', NULL},
    {"Size", "size", 't', NULL},
    {"Exporter", "exporter", 's', NULL},
    {"Name", "name", 's', NULL},
    {"Device", "device", 's', NULL},
    {"Allocator", "allocator", 's', NULL},
    {"Inode", "inode", 't', NULL},
    {"InodeDevice", "inode-device", 't', NULL},
    {"CreatedTimestamp", "created-timestamp", 't', NULL},
    {"LookupCount", "lookup-count", 't', NULL},
};

static GParamSpec *pspecs[N_ROWS];

/**
 * VhostShareObject:uuid:
 *
 * The UUID, in the 36-character form.
 * D-Bus: org.vhostshare.share1.Object.Uuid.
 */
/**
 * VhostShareObject:object-type:
 *
 * "dma-buf" (the service holds the buffer) or "vhost-device" (a vhost-user back-end holds it and is
 * asked for it on lookup). D-Bus: org.vhostshare.share1.Object.Type.
 */
/**
 * VhostShareObject:owner:
 *
 * The object path of the #VhostSharePeer that owns the object, or "/" when a bus client (see
 * #VhostShareObject:owner-bus-name) or the service owns it. D-Bus:
 * org.vhostshare.share1.Object.Owner.
 */
/**
 * VhostShareObject:owner-bus-name:
 *
 * The unique bus name of the client that owns the object, or "" (changes to "" when the client
 * disowns it). D-Bus: org.vhostshare.share1.Object.OwnerBusName.
 */
/**
 * VhostShareObject:size:
 *
 * Size of the buffer in bytes, 0 when unknown (a "vhost-device" object).
 * D-Bus: org.vhostshare.share1.Object.Size.
 */
/**
 * VhostShareObject:exporter:
 *
 * The dma-buf exporter's name, "memfd" for a sealed memfd, or "" when a back-end holds the buffer.
 * D-Bus: org.vhostshare.share1.Object.Exporter.
 */
/**
 * VhostShareObject:name:
 *
 * The dma-buf's or memfd's name, or "".
 * D-Bus: org.vhostshare.share1.Object.Name.
 */
/**
 * VhostShareObject:device:
 *
 * The device node the service allocated the buffer on ("/dev/dri/card0", "/dev/udmabuf"), or "".
 * D-Bus: org.vhostshare.share1.Object.Device.
 */
/**
 * VhostShareObject:allocator:
 *
 * How the service made the buffer: "drm-dumb", "udmabuf", "memfd", or "" for a buffer handed to it.
 * D-Bus: org.vhostshare.share1.Object.Allocator.
 */
/**
 * VhostShareObject:inode:
 *
 * The buffer's inode number (st_ino), 0 when a back-end holds it.
 * D-Bus: org.vhostshare.share1.Object.Inode.
 */
/**
 * VhostShareObject:inode-device:
 *
 * st_dev of the buffer's inode, 0 when a back-end holds it.
 * D-Bus: org.vhostshare.share1.Object.InodeDevice.
 */
/**
 * VhostShareObject:created-timestamp:
 *
 * When the object entered the table, in microseconds since the epoch.
 * D-Bus: org.vhostshare.share1.Object.CreatedTimestamp.
 */
/**
 * VhostShareObject:lookup-count:
 *
 * How many lookups asked for this object.
 * D-Bus: org.vhostshare.share1.Object.LookupCount.
 */
static void vhost_share_object_class_init(VhostShareObjectClass *klass)
{
        vsh_item_class_install(VHOST_SHARE_ITEM_CLASS(klass), rows, pspecs, N_ROWS);
}

static void vhost_share_object_init(VhostShareObject *self)
{
}

/**
 * vhost_share_object_get_uuid:
 * @self: a #VhostShareObject
 *
 * The #VhostShareObject:uuid property.
 *
 * Returns: (transfer none): The UUID, in the 36-character form.
 */
const char *vhost_share_object_get_uuid(VhostShareObject *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_OBJECT(self), NULL);
        return vsh_item_string(self, ROW_UUID);
}

/**
 * vhost_share_object_get_object_type:
 * @self: a #VhostShareObject
 *
 * The #VhostShareObject:object-type property.
 *
 * Returns: (transfer none): "dma-buf" (the service holds the buffer) or "vhost-device" (a
 * vhost-user back-end holds it and is asked for it on lookup).
 */
const char *vhost_share_object_get_object_type(VhostShareObject *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_OBJECT(self), NULL);
        return vsh_item_string(self, ROW_OBJECT_TYPE);
}

/**
 * vhost_share_object_get_owner:
 * @self: a #VhostShareObject
 *
 * The #VhostShareObject:owner property.
 *
 * Returns: (transfer none): The object path of the #VhostSharePeer that owns the object, or "/"
 * when a bus client (see #VhostShareObject:owner-bus-name) or the service owns it.
 */
const char *vhost_share_object_get_owner(VhostShareObject *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_OBJECT(self), NULL);
        return vsh_item_string(self, ROW_OWNER);
}

/**
 * vhost_share_object_get_owner_bus_name:
 * @self: a #VhostShareObject
 *
 * The #VhostShareObject:owner-bus-name property.
 *
 * Returns: (transfer none): The unique bus name of the client that owns the object, or "" (changes
 * to "" when the client disowns it).
 */
const char *vhost_share_object_get_owner_bus_name(VhostShareObject *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_OBJECT(self), NULL);
        return vsh_item_string(self, ROW_OWNER_BUS_NAME);
}

/**
 * vhost_share_object_get_size:
 * @self: a #VhostShareObject
 *
 * The #VhostShareObject:size property.
 *
 * Returns: Size of the buffer in bytes, 0 when unknown (a "vhost-device" object).
 */
guint64 vhost_share_object_get_size(VhostShareObject *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_OBJECT(self), 0);
        return vsh_item_uint64(self, ROW_SIZE);
}

/**
 * vhost_share_object_get_exporter:
 * @self: a #VhostShareObject
 *
 * The #VhostShareObject:exporter property.
 *
 * Returns: (transfer none): The dma-buf exporter's name, "memfd" for a sealed memfd, or "" when a
 * back-end holds the buffer.
 */
const char *vhost_share_object_get_exporter(VhostShareObject *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_OBJECT(self), NULL);
        return vsh_item_string(self, ROW_EXPORTER);
}

/**
 * vhost_share_object_get_name:
 * @self: a #VhostShareObject
 *
 * The #VhostShareObject:name property.
 *
 * Returns: (transfer none): The dma-buf's or memfd's name, or "".
 */
const char *vhost_share_object_get_name(VhostShareObject *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_OBJECT(self), NULL);
        return vsh_item_string(self, ROW_NAME);
}

/**
 * vhost_share_object_get_device:
 * @self: a #VhostShareObject
 *
 * The #VhostShareObject:device property.
 *
 * Returns: (transfer none): The device node the service allocated the buffer on ("/dev/dri/card0",
 * "/dev/udmabuf"), or "".
 */
const char *vhost_share_object_get_device(VhostShareObject *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_OBJECT(self), NULL);
        return vsh_item_string(self, ROW_DEVICE);
}

/**
 * vhost_share_object_get_allocator:
 * @self: a #VhostShareObject
 *
 * The #VhostShareObject:allocator property.
 *
 * Returns: (transfer none): How the service made the buffer: "drm-dumb", "udmabuf", "memfd", or ""
 * for a buffer handed to it.
 */
const char *vhost_share_object_get_allocator(VhostShareObject *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_OBJECT(self), NULL);
        return vsh_item_string(self, ROW_ALLOCATOR);
}

/**
 * vhost_share_object_get_inode:
 * @self: a #VhostShareObject
 *
 * The #VhostShareObject:inode property.
 *
 * Returns: The buffer's inode number (st_ino), 0 when a back-end holds it.
 */
guint64 vhost_share_object_get_inode(VhostShareObject *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_OBJECT(self), 0);
        return vsh_item_uint64(self, ROW_INODE);
}

/**
 * vhost_share_object_get_inode_device:
 * @self: a #VhostShareObject
 *
 * The #VhostShareObject:inode-device property.
 *
 * Returns: st_dev of the buffer's inode, 0 when a back-end holds it.
 */
guint64 vhost_share_object_get_inode_device(VhostShareObject *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_OBJECT(self), 0);
        return vsh_item_uint64(self, ROW_INODE_DEVICE);
}

/**
 * vhost_share_object_get_created_timestamp:
 * @self: a #VhostShareObject
 *
 * The #VhostShareObject:created-timestamp property.
 *
 * Returns: When the object entered the table, in microseconds since the epoch.
 */
guint64 vhost_share_object_get_created_timestamp(VhostShareObject *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_OBJECT(self), 0);
        return vsh_item_uint64(self, ROW_CREATED_TIMESTAMP);
}

/**
 * vhost_share_object_get_lookup_count:
 * @self: a #VhostShareObject
 *
 * The #VhostShareObject:lookup-count property.
 *
 * Returns: How many lookups asked for this object.
 */
guint64 vhost_share_object_get_lookup_count(VhostShareObject *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_OBJECT(self), 0);
        return vsh_item_uint64(self, ROW_LOOKUP_COUNT);
}
