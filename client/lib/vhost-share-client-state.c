/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the client knows without a call: the manager's properties, the
 * lists of items, finding one. */
#include "vhost-share-client-private.h"

#include <string.h>

#include "bus-names.h"

/**
 * vhost_share_client_get_connection:
 * @self: a #VhostShareClient
 *
 * Returns: (transfer none): the bus connection
 */
GDBusConnection *vhost_share_client_get_connection(VhostShareClient *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), NULL);
        return self->connection;
}

/**
 * vhost_share_client_get_name_owner:
 * @self: a #VhostShareClient
 *
 * Returns: (transfer full) (nullable): the unique name of the running
 *   service, or %NULL when it does not run
 */
char *vhost_share_client_get_name_owner(VhostShareClient *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), NULL);
        if (!self->manager)
                return NULL;
        return g_dbus_object_manager_client_get_name_owner(
            G_DBUS_OBJECT_MANAGER_CLIENT(self->manager));
}

/**
 * vhost_share_client_get_version:
 * @self: a #VhostShareClient
 *
 * Returns: the service's version (#VhostShareClient:version), "" while
 *   it does not run
 */
const char *vhost_share_client_get_version(VhostShareClient *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), NULL);
        return self->props.proxy ? vsh_properties_get_string(&self->props, ROW_VERSION) : "";
}

/**
 * vhost_share_client_get_object_count:
 * @self: a #VhostShareClient
 *
 * Returns: the number of objects in the table (#VhostShareClient:object-count)
 */
guint vhost_share_client_get_object_count(VhostShareClient *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), 0);
        return self->props.proxy ? vsh_properties_get_uint(&self->props, ROW_OBJECT_COUNT) : 0;
}

/**
 * vhost_share_client_get_peer_count:
 * @self: a #VhostShareClient
 *
 * Returns: the number of vhost-user peers (#VhostShareClient:peer-count)
 */
guint vhost_share_client_get_peer_count(VhostShareClient *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), 0);
        return self->props.proxy ? vsh_properties_get_uint(&self->props, ROW_PEER_COUNT) : 0;
}

static int compare_objects(gconstpointer a, gconstpointer b)
{
        VhostShareObject *x = *(VhostShareObject **) a, *y = *(VhostShareObject **) b;
        guint64 tx = vhost_share_object_get_created_timestamp(x);
        guint64 ty = vhost_share_object_get_created_timestamp(y);

        if (tx != ty)
                return tx < ty ? -1 : 1;
        return strcmp(vhost_share_object_get_uuid(x), vhost_share_object_get_uuid(y));
}

/* Paths ending in numbers in numeric order ("peer/9" before "peer/10"). */
static int compare_paths(gconstpointer a, gconstpointer b)
{
        const char *x = vhost_share_item_get_object_path(*(VhostShareItem **) a);
        const char *y = vhost_share_item_get_object_path(*(VhostShareItem **) b);
        size_t lx = strlen(x), ly = strlen(y);

        if (lx != ly)
                return lx < ly ? -1 : 1;
        return strcmp(x, y);
}

static GPtrArray *list_sorted(GHashTable *table, GCompareFunc compare)
{
        GPtrArray *list = g_ptr_array_new_full(g_hash_table_size(table), g_object_unref);
        GHashTableIter iter;
        gpointer item;

        g_hash_table_iter_init(&iter, table);
        while (g_hash_table_iter_next(&iter, NULL, &item))
                g_ptr_array_add(list, g_object_ref(item));
        g_ptr_array_sort(list, compare);
        return list;
}

/**
 * vhost_share_client_list_objects:
 * @self: a #VhostShareClient
 *
 * Returns: (transfer container) (element-type VhostShareObject): the
 *   shared objects, oldest first
 */
GPtrArray *vhost_share_client_list_objects(VhostShareClient *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), NULL);
        return list_sorted(self->objects, compare_objects);
}

/**
 * vhost_share_client_list_peers:
 * @self: a #VhostShareClient
 *
 * Returns: (transfer container) (element-type VhostSharePeer): the
 *   vhost-user peers, in the order they appeared
 */
GPtrArray *vhost_share_client_list_peers(VhostShareClient *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), NULL);
        return list_sorted(self->peers, compare_paths);
}

/**
 * vhost_share_client_list_devices:
 * @self: a #VhostShareClient
 *
 * Returns: (transfer container) (element-type VhostShareDevice): the DRM
 *   devices
 */
GPtrArray *vhost_share_client_list_devices(VhostShareClient *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), NULL);
        return list_sorted(self->devices, compare_paths);
}

/**
 * vhost_share_client_get_object:
 * @self: a #VhostShareClient
 * @uuid: a UUID, in the 36-character form or as 32 hexadecimal digits
 *
 * Finds a shared object among those the client follows (no D-Bus call).
 *
 * Returns: (transfer none) (nullable): the object, or %NULL when the
 *   table has none of that UUID (or @uuid is not one)
 */
VhostShareObject *vhost_share_client_get_object(VhostShareClient *self, const char *uuid)
{
        g_autofree char *path = NULL;
        char hex[33];
        size_t n = 0;

        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), NULL);
        g_return_val_if_fail(uuid != NULL, NULL);
        for (const char *c = uuid; *c; c++) {
                if (*c == '-')
                        continue;
                if (!g_ascii_isxdigit(*c) || n == 32)
                        return NULL;
                hex[n++] = g_ascii_tolower(*c);
        }
        if (n != 32)
                return NULL;
        hex[n] = '\0';
        path = g_strconcat(BUS_OBJECT_PREFIX "/", hex, NULL);
        return g_hash_table_lookup(self->objects, path);
}

/**
 * vhost_share_client_get_peer:
 * @self: a #VhostShareClient
 * @object_path: a peer's object path, e.g. the #VhostShareObject:owner of
 *   an object
 *
 * Returns: (transfer none) (nullable): the peer, or %NULL
 */
VhostSharePeer *vhost_share_client_get_peer(VhostShareClient *self, const char *object_path)
{
        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), NULL);
        g_return_val_if_fail(object_path != NULL, NULL);
        return g_hash_table_lookup(self->peers, object_path);
}

/**
 * vhost_share_client_get_device:
 * @self: a #VhostShareClient
 * @dev_node: a device node, e.g. "/dev/dri/card0" (the
 *   #VhostShareObject:device of an allocated object)
 *
 * Returns: (transfer none) (nullable): the device, or %NULL
 */
VhostShareDevice *vhost_share_client_get_device(VhostShareClient *self, const char *dev_node)
{
        GHashTableIter iter;
        gpointer device;

        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), NULL);
        g_return_val_if_fail(dev_node != NULL, NULL);
        g_hash_table_iter_init(&iter, self->devices);
        while (g_hash_table_iter_next(&iter, NULL, &device))
                if (strcmp(vhost_share_device_get_dev_node(device), dev_node) == 0)
                        return device;
        return NULL;
}
